//! Recorded calls as OTLP spans, sent as protobuf over HTTP (`POST /v1/traces`) or over
//! gRPC (`TraceService/Export`), with TLS on `https://` endpoints.
//!
//! Each completed call is a span named after its function. A call nested in another
//! traced call on the same thread is that call's child span and shares its trace; each
//! outermost call starts a trace of its own. Span and trace ids are derived from the
//! recording (pid, start time, executable) and the call's sequence number, so sending
//! the same recording twice gives the same ids. Times are the recording's wall-clock
//! start plus each call's monotonic offset. Arguments and return values are attributes
//! only when asked for ([`Options::values`]).
use std::{
    collections::HashMap,
    hash::{DefaultHasher, Hash, Hasher},
};

use opentelemetry_proto::tonic::{
    collector::trace::v1::ExportTraceServiceRequest,
    common::v1::{any_value, AnyValue, InstrumentationScope, KeyValue},
    resource::v1::Resource,
    trace::v1::{span::SpanKind, status::StatusCode, ResourceSpans, ScopeSpans, Span, Status},
};
use prost::Message as _;
use tracer_probe::trace::{Call, Trace, Value};

use crate::{
    redact::Redactor,
    resource::{attribute, int, text},
    tls::{ClientTls, TlsError},
    values::ExportValues,
};

/// Errors sending spans.
#[derive(Debug, thiserror::Error)]
pub enum OtlpError {
    /// The receiver could not be reached.
    #[error("OTLP receiver {url}: {message}")]
    Transport {
        /// Where.
        url: String,
        /// What went wrong.
        message: String,
    },
    /// A gRPC receiver refused the spans.
    #[error("OTLP receiver {url} (gRPC) answered {code}: {message}")]
    GrpcRefused {
        /// Where.
        url: String,
        /// The gRPC status code.
        code: String,
        /// Its message.
        message: String,
    },
    /// A transport that is not supported.
    #[error("OTLP protocol {0:?}: give http/protobuf or grpc")]
    Protocol(String),
    /// The TLS configuration cannot be used.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The receiver refused the spans.
    #[error("OTLP receiver {url} answered {status}: {body}")]
    Refused {
        /// Where.
        url: String,
        /// HTTP status.
        status: u16,
        /// Its answer.
        body: String,
    },
}

/// What goes into the spans.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Whose argument and return values become span attributes (`tracesynth.arg.NAME`,
    /// `tracesynth.return`); none by default, since they may be data that must not leave
    /// the host.
    pub values: ExportValues,
    /// Applied to every string value before it goes into a span.
    pub redactor: Redactor,
}

/// Spans per request sent over HTTP.
pub const BATCH: usize = 1000;

/// `trace`'s calls as OTLP requests of at most `batch` spans each, under `resource`.
#[must_use]
pub fn requests(trace: &Trace, resource: &Resource, options: &Options, batch: usize) -> Vec<ExportTraceServiceRequest> {
    let roots = Roots::of(trace.calls.iter().map(|c| (c.seq, c.parent)));
    requests_for(trace, &trace.calls, &roots, resource, options, batch)
}

/// Some of a recording's calls as OTLP requests of at most `batch` spans each: `header` is
/// the recording (its functions and times; its own calls are not read), `roots` holds every
/// call's outermost enclosing call, from the whole recording, so the spans of one trace
/// keep one trace id however the calls are cut into pieces.
#[must_use]
pub fn requests_for(
    header: &Trace,
    calls: &[Call],
    roots: &Roots,
    resource: &Resource,
    options: &Options,
    batch: usize,
) -> Vec<ExportTraceServiceRequest> {
    let key = recording_key(header);
    let spans: Vec<Span> =
        calls.iter().filter(|c| c.is_complete()).map(|c| span(header, c, key, roots.root(c.seq), options)).collect();
    spans
        .chunks(batch.max(1))
        .map(|chunk| ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(resource.clone()),
                scope_spans: vec![ScopeSpans {
                    scope: Some(InstrumentationScope {
                        name: "tracesynth".into(),
                        version: env!("CARGO_PKG_VERSION").into(),
                        ..InstrumentationScope::default()
                    }),
                    spans: chunk.to_vec(),
                    ..ScopeSpans::default()
                }],
                ..ResourceSpans::default()
            }],
        })
        .collect()
}

/// How spans travel to a receiver: the two OTLP transports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Protocol {
    /// Protobuf over HTTP, `POST /v1/traces` (port 4318 by convention).
    #[default]
    HttpProtobuf,
    /// gRPC, `TraceService/Export` (port 4317 by convention).
    Grpc,
}

impl Protocol {
    /// The protocol named as `OTEL_EXPORTER_OTLP_PROTOCOL` names it: `http/protobuf` (also
    /// `http`) or `grpc`.
    ///
    /// # Errors
    /// Any other name (`http/json` included: not supported), with what to give instead.
    pub fn parse(name: &str) -> Result<Self, OtlpError> {
        match name.trim() {
            "http/protobuf" | "http" => Ok(Self::HttpProtobuf),
            "grpc" => Ok(Self::Grpc),
            other => Err(OtlpError::Protocol(other.to_owned())),
        }
    }
}

/// An OTLP receiver: where, and over which transport.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Receiver {
    /// `http(s)://HOST:PORT`; for HTTP also the full `.../v1/traces` URL.
    pub endpoint: String,
    /// The transport.
    pub protocol: Protocol,
}

impl Receiver {
    /// The receiver at `endpoint` over `protocol`.
    #[must_use]
    pub fn new(endpoint: &str, protocol: Protocol) -> Self {
        Self { endpoint: endpoint.to_owned(), protocol }
    }

    /// Where requests go, for messages: the traces URL over HTTP, the endpoint over gRPC.
    #[must_use]
    pub fn url(&self) -> String {
        match self.protocol {
            Protocol::HttpProtobuf => traces_url(&self.endpoint),
            Protocol::Grpc => grpc_endpoint(&self.endpoint),
        }
    }
}

impl std::fmt::Display for Receiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.protocol {
            Protocol::HttpProtobuf => write!(f, "{}", self.url()),
            Protocol::Grpc => write!(f, "{} (gRPC)", self.url()),
        }
    }
}

/// Sends `requests` to `receiver`, trusting what `tls` trusts on `https://` endpoints.
/// Returns the number of spans sent.
///
/// # Errors
/// The receiver cannot be reached (TLS included) or refuses a request.
pub fn send(receiver: &Receiver, tls: &ClientTls, requests: &[ExportTraceServiceRequest]) -> Result<usize, OtlpError> {
    match receiver.protocol {
        Protocol::HttpProtobuf => send_http(&receiver.url(), tls, requests),
        Protocol::Grpc => {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| OtlpError::Transport { url: receiver.url(), message: e.to_string() })?;
            runtime.block_on(send_grpc(&receiver.url(), tls, requests))
        }
    }
}

fn spans_in(request: &ExportTraceServiceRequest) -> usize {
    request.resource_spans.iter().flat_map(|r| &r.scope_spans).map(|s| s.spans.len()).sum()
}

fn send_http(url: &str, tls: &ClientTls, requests: &[ExportTraceServiceRequest]) -> Result<usize, OtlpError> {
    let url = url.to_owned();
    let mut agent = ureq::AgentBuilder::new().timeout(std::time::Duration::from_secs(30));
    if url.starts_with("https://") {
        agent = agent.tls_config(tls.rustls_config()?);
    }
    let agent = agent.build();
    let mut sent = 0;
    for request in requests {
        let body = request.encode_to_vec();
        match agent.post(&url).set("Content-Type", "application/x-protobuf").send_bytes(&body) {
            Ok(_) => {}
            Err(ureq::Error::Status(status, response)) => {
                let body = response.into_string().unwrap_or_default();
                return Err(OtlpError::Refused { url, status, body });
            }
            Err(e) => return Err(OtlpError::Transport { url, message: e.to_string() }),
        }
        sent += spans_in(request);
    }
    Ok(sent)
}

async fn send_grpc(url: &str, tls: &ClientTls, requests: &[ExportTraceServiceRequest]) -> Result<usize, OtlpError> {
    use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
    use tonic::transport::{Certificate, ClientTlsConfig, Endpoint};

    let transport = |e: &dyn std::fmt::Display| OtlpError::Transport { url: url.to_owned(), message: e.to_string() };
    let mut endpoint = Endpoint::from_shared(url.to_owned())
        .map_err(|e| transport(&e))?
        .connect_timeout(std::time::Duration::from_secs(10))
        .timeout(std::time::Duration::from_secs(30));
    if url.starts_with("https://") {
        let mut config = ClientTlsConfig::new().with_webpki_roots();
        if tls.has_ca() {
            config = config.ca_certificate(Certificate::from_pem(tls.ca_pem()));
        }
        endpoint = endpoint.tls_config(config).map_err(|e| transport(&e))?;
    }
    // The transport error's own text is "transport error"; its source says what failed.
    let channel = endpoint.connect().await.map_err(|e| transport(&error_chain(&e)))?;
    let mut client = TraceServiceClient::new(channel);
    let mut sent = 0;
    for request in requests {
        client.export(request.clone()).await.map_err(|status| OtlpError::GrpcRefused {
            url: url.to_owned(),
            code: format!("{:?}", status.code()),
            message: status.message().to_owned(),
        })?;
        sent += spans_in(request);
    }
    Ok(sent)
}

/// `error` and its sources, joined with `: `.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// The traces URL for an endpoint: `/v1/traces` appended unless it is already there.
#[must_use]
pub fn traces_url(endpoint: &str) -> String {
    let endpoint = endpoint.trim_end_matches('/');
    if endpoint.ends_with("/v1/traces") {
        endpoint.to_owned()
    } else {
        format!("{endpoint}/v1/traces")
    }
}

/// A gRPC endpoint: the scheme and authority (gRPC names the method itself; a path given
/// by habit, such as `/v1/traces`, is left out).
fn grpc_endpoint(endpoint: &str) -> String {
    let (scheme, rest) = endpoint.split_once("://").unwrap_or(("http", endpoint));
    let authority = rest.split('/').next().unwrap_or(rest);
    format!("{scheme}://{authority}")
}

/// The receiver named by the standard variables: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`
/// (used as it is) or `OTEL_EXPORTER_OTLP_ENDPOINT` (with `/v1/traces` added over HTTP),
/// over `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL` or `OTEL_EXPORTER_OTLP_PROTOCOL`
/// (`http/protobuf` when neither is set).
///
/// # Errors
/// A protocol other than `http/protobuf` or `grpc`.
pub fn receiver_from_env() -> Result<Option<Receiver>, OtlpError> {
    let Some(endpoint) = otel_var("TRACES_ENDPOINT").or_else(|| otel_var("ENDPOINT")) else {
        return Ok(None);
    };
    Ok(Some(Receiver::new(&endpoint, protocol_from_env()?)))
}

/// The protocol the standard variables name (`OTEL_EXPORTER_OTLP_TRACES_PROTOCOL`,
/// `OTEL_EXPORTER_OTLP_PROTOCOL`), `http/protobuf` when neither is set.
///
/// # Errors
/// A protocol other than `http/protobuf` or `grpc`.
pub fn protocol_from_env() -> Result<Protocol, OtlpError> {
    match otel_var("TRACES_PROTOCOL").or_else(|| otel_var("PROTOCOL")) {
        Some(name) => Protocol::parse(&name),
        None => Ok(Protocol::default()),
    }
}

/// The CA file the standard variables name for the receiver's certificate
/// (`OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE`, `OTEL_EXPORTER_OTLP_CERTIFICATE`).
#[must_use]
pub fn ca_file_from_env() -> Option<std::path::PathBuf> {
    otel_var("TRACES_CERTIFICATE").or_else(|| otel_var("CERTIFICATE")).map(Into::into)
}

/// `OTEL_EXPORTER_OTLP_{suffix}` when set and not blank.
fn otel_var(suffix: &str) -> Option<String> {
    std::env::var(format!("OTEL_EXPORTER_OTLP_{suffix}")).ok().filter(|v| !v.trim().is_empty())
}

/// What identifies the recording, for ids.
pub(crate) fn recording_key(trace: &Trace) -> u64 {
    let mut h = DefaultHasher::new();
    (trace.pid, trace.start_unix_ms, trace.start_ns, &trace.exe).hash(&mut h);
    h.finish()
}

/// Each nested call's outermost enclosing call (its trace); a call not nested in another is
/// its own. Kept for nested calls only, so a recording of flat calls costs nothing here.
#[derive(Clone, Debug, Default)]
pub struct Roots(HashMap<u64, u64>);

impl Roots {
    /// From every call's `(seq, parent)`, in any order.
    #[must_use]
    pub fn of(links: impl IntoIterator<Item = (u64, Option<u64>)>) -> Roots {
        let parent: HashMap<u64, u64> = links.into_iter().filter_map(|(seq, p)| Some((seq, p?))).collect();
        let mut roots = HashMap::with_capacity(parent.len());
        for (&seq, &first) in &parent {
            let mut root = first;
            // Parents come before children, so the walk ends; the bound guards a corrupt trace.
            for _ in 0..parent.len() {
                match parent.get(&root) {
                    Some(&p) => root = p,
                    None => break,
                }
            }
            roots.insert(seq, root);
        }
        Roots(roots)
    }

    /// The outermost call enclosing call `seq` (itself when it is not nested).
    #[must_use]
    pub fn root(&self, seq: u64) -> u64 {
        self.0.get(&seq).copied().unwrap_or(seq)
    }
}

fn id_bytes(key: u64, salt: u64, seq: u64) -> [u8; 8] {
    let mut h = DefaultHasher::new();
    (key, salt, seq).hash(&mut h);
    // Never all zero: that means "no id" in OTLP.
    h.finish().max(1).to_be_bytes()
}

fn span_id(key: u64, seq: u64) -> Vec<u8> {
    id_bytes(key, 1, seq).to_vec()
}

fn trace_id(key: u64, root: u64) -> Vec<u8> {
    let mut id = id_bytes(key, 2, root).to_vec();
    id.extend(id_bytes(key, 3, root));
    id
}

fn span(trace: &Trace, call: &Call, key: u64, root: u64, options: &Options) -> Span {
    let function = trace.functions.get(call.function as usize);
    let name = function.map_or_else(|| format!("function {}", call.function), |f| f.name.clone());
    let wall = |ns: u64| trace.start_unix_ms * 1_000_000 + ns.saturating_sub(trace.start_ns);
    let mut attributes = vec![
        text("code.function.name", name.clone()),
        int("thread.id", i64::from(call.tid)),
        int("tracesynth.depth", i64::from(call.depth)),
    ];
    if let Some(cpu) = call.cpu_ns {
        attributes.push(int("tracesynth.on_cpu_ns", i64::try_from(cpu).unwrap_or(i64::MAX)));
    }
    if !trace.sampling.is_empty() {
        // How many calls this span stands for, so counts can be scaled.
        attributes.push(attribute("tracesynth.sample_weight", any_value::Value::DoubleValue(trace.weight(call))));
    }
    if options.values.allows(&name) {
        let names = function.map(|f| f.params.iter().map(|p| p.name.clone()).collect::<Vec<_>>()).unwrap_or_default();
        for (i, value) in call.args.iter().enumerate() {
            let name = names.get(i).cloned().unwrap_or_else(|| format!("arg{i}"));
            attributes.push(KeyValue {
                key: format!("tracesynth.arg.{name}"),
                value: Some(any(value, &options.redactor)),
                ..KeyValue::default()
            });
        }
        if let Some(ret) = &call.ret {
            attributes.push(KeyValue { value: Some(any(ret, &options.redactor)), ..text("tracesynth.return", "") });
        }
    }
    Span {
        trace_id: trace_id(key, root),
        span_id: span_id(key, call.seq),
        parent_span_id: call.parent.map(|p| span_id(key, p)).unwrap_or_default(),
        name,
        kind: SpanKind::Internal as i32,
        start_time_unix_nano: wall(call.entry_ns),
        end_time_unix_nano: wall(call.exit_ns.unwrap_or(call.entry_ns)),
        attributes,
        status: Some(Status { code: StatusCode::Unset as i32, ..Status::default() }),
        ..Span::default()
    }
}

/// A captured value as an attribute value, strings redacted.
fn any(value: &Value, redactor: &Redactor) -> AnyValue {
    use opentelemetry_proto::tonic::common::v1::any_value::Value as V;
    let v = match value {
        Value::Int(i) => V::IntValue(*i),
        Value::Uint(u) => i64::try_from(*u).map_or_else(|_| V::StringValue(u.to_string()), V::IntValue),
        Value::Bool(b) => V::BoolValue(*b),
        Value::Ptr(p) | Value::Raw(p) => V::StringValue(format!("{p:#x}")),
        Value::Str { value: Some(s), truncated, .. } => {
            let s = redactor.apply(s);
            V::StringValue(if *truncated && !s.ends_with('…') { format!("{s}…") } else { s })
        }
        Value::Str { value: None, ptr, .. } => V::StringValue(format!("<unreadable {ptr:#x}>")),
        Value::Unavailable(why) => V::StringValue(format!("<unavailable: {why}>")),
        Value::Written { before, after } => {
            use opentelemetry_proto::tonic::common::v1::{KeyValue, KeyValueList};
            let pair = |key: &str, v: &Value| KeyValue {
                key: key.into(),
                value: Some(any(v, redactor)),
                ..KeyValue::default()
            };
            V::KvlistValue(KeyValueList { values: vec![pair("before", before), pair("after", after)] })
        }
        Value::Array { fault: Some(why), .. } => V::StringValue(format!("<{why}>")),
        Value::Array { items, .. } => {
            use opentelemetry_proto::tonic::common::v1::ArrayValue;
            V::ArrayValue(ArrayValue { values: items.iter().map(|i| any(i, redactor)).collect() })
        }
        Value::Record { fault: Some(why), .. } => V::StringValue(format!("<{why}>")),
        Value::Record { fields, .. } => {
            use opentelemetry_proto::tonic::common::v1::{KeyValue, KeyValueList};
            V::KvlistValue(KeyValueList {
                values: fields
                    .iter()
                    .map(|f| KeyValue {
                        key: f.name.clone(),
                        value: Some(any(&f.value, redactor)),
                        ..KeyValue::default()
                    })
                    .collect(),
            })
        }
    };
    AnyValue { value: Some(v) }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sample trace with `greet` calling itself once: seq 0 encloses seq 1.
    fn nested() -> Trace {
        let mut t = Trace::sample();
        let mut inner = t.calls[0].clone();
        inner.seq = 1;
        inner.depth = 1;
        inner.parent = Some(0);
        inner.entry_ns = 2_200;
        inner.exit_ns = Some(2_400);
        t.calls.push(inner);
        let mut lost = t.calls[0].clone();
        lost.seq = 2;
        lost.exit_ns = None;
        lost.incomplete = Some(tracer_probe::trace::Incomplete::StillRunning);
        t.calls.push(lost);
        t
    }

    #[test]
    fn receivers_name_their_protocol_and_where_requests_go() {
        assert_eq!(Protocol::parse("grpc").unwrap(), Protocol::Grpc);
        assert_eq!(Protocol::parse("http/protobuf").unwrap(), Protocol::HttpProtobuf);
        let err = Protocol::parse("http/json").unwrap_err().to_string();
        assert!(err.contains("give http/protobuf or grpc"), "{err}");
        let http = Receiver::new("https://collector:4318/", Protocol::HttpProtobuf);
        assert_eq!(http.url(), "https://collector:4318/v1/traces");
        let grpc = Receiver::new("http://collector:4317/v1/traces", Protocol::Grpc);
        assert_eq!(grpc.url(), "http://collector:4317", "gRPC names its own path");
        assert_eq!(grpc.to_string(), "http://collector:4317 (gRPC)");
    }

    #[test]
    fn an_unreachable_grpc_receiver_is_an_error_that_says_where() {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let receiver = Receiver::new(&format!("http://127.0.0.1:{port}"), Protocol::Grpc);
        let t = nested();
        let requests = requests(&t, &crate::resource::describe(&t, &[]), &Options::default(), BATCH);
        let err = send(&receiver, &ClientTls::default(), &requests).unwrap_err().to_string();
        assert!(err.contains(&format!("127.0.0.1:{port}")) && err.to_lowercase().contains("refused"), "{err}");
    }

    #[test]
    fn nested_calls_are_child_spans_of_one_trace_and_values_stay_home_by_default() {
        let t = nested();
        let resource = crate::resource::describe(&t, &[]);
        let rs = requests(&t, &resource, &Options::default(), BATCH);
        assert_eq!(rs.len(), 1);
        let spans = &rs[0].resource_spans[0].scope_spans[0].spans;
        assert_eq!(spans.len(), 2, "the incomplete call is left out");
        let (outer, inner) = (&spans[0], &spans[1]);
        assert_eq!((outer.name.as_str(), inner.name.as_str()), ("greet", "greet"));
        assert!(outer.parent_span_id.is_empty());
        assert_eq!(inner.parent_span_id, outer.span_id);
        assert_eq!(inner.trace_id, outer.trace_id);
        assert_eq!((outer.trace_id.len(), outer.span_id.len()), (16, 8));
        assert_eq!(outer.start_time_unix_nano, 1_000, "wall start + (2000 - 1000) ns");
        assert_eq!(outer.end_time_unix_nano - outer.start_time_unix_nano, 1_000);
        assert!(outer.attributes.iter().all(|a| !a.key.starts_with("tracesynth.arg")));
        let with = requests(&t, &resource, &Options { values: ExportValues::all(), ..Options::default() }, BATCH);
        let attrs = &with[0].resource_spans[0].scope_spans[0].spans[0].attributes;
        let arg = attrs.iter().find(|a| a.key == "tracesynth.arg.name").expect("argument exported");
        let bob = Value::Str { ptr: 0, value: Some("bob".into()), truncated: false };
        assert_eq!(arg.value, Some(any(&bob, &Redactor::default())));
        assert!(attrs.iter().any(|a| a.key == "tracesynth.return"));
        // The same recording gives the same ids.
        assert_eq!(requests(&t, &resource, &Options::default(), BATCH), rs);
        assert!(outer.attributes.iter().all(|a| a.key != "tracesynth.sample_weight"), "unsampled: no weight");
        // A sampled recording: each span says how many calls it stands for.
        let mut sampled = t.clone();
        sampled.sampling = vec![tracer_probe::trace::Sampling { from_ns: 0, sample_every: vec![8], duty: 0.5 }];
        let rs = requests(&sampled, &resource, &Options::default(), BATCH);
        let weight = rs[0].resource_spans[0].scope_spans[0].spans[0]
            .attributes
            .iter()
            .find(|a| a.key == "tracesynth.sample_weight")
            .and_then(|a| a.value.clone());
        assert_eq!(weight, Some(AnyValue { value: Some(any_value::Value::DoubleValue(16.0)) }));
        // Sent a call at a time (as the daemon streams a stored trace), the spans are the same.
        let roots = Roots::of(t.calls.iter().map(|c| (c.seq, c.parent)));
        let pieces: Vec<Span> = t
            .calls
            .chunks(1)
            .flat_map(|piece| requests_for(&t, piece, &roots, &resource, &Options::default(), BATCH))
            .flat_map(|r| r.resource_spans[0].scope_spans[0].spans.clone())
            .collect();
        assert_eq!(&pieces, spans);
    }

    #[test]
    fn a_call_s_root_is_its_outermost_enclosing_call() {
        let roots = Roots::of([(3, None), (2, Some(1)), (1, Some(0)), (0, None), (4, Some(3))]);
        assert_eq!([0, 1, 2, 3, 4].map(|s| roots.root(s)), [0, 0, 0, 3, 3]);
        // A call whose parent was not recorded counts from the parent it names.
        assert_eq!(Roots::of([(9, Some(7))]).root(9), 7);
    }

    #[test]
    fn traces_urls() {
        assert_eq!(traces_url("http://h:4318"), "http://h:4318/v1/traces");
        assert_eq!(traces_url("http://h:4318/v1/traces/"), "http://h:4318/v1/traces");
    }
}
