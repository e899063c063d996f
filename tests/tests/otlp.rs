//! `tracesynth export --format otlp` on a live recording: an OTLP/HTTP receiver built from
//! the official protobuf definitions gets one span per call, nested calls as child spans,
//! the process and host as resource attributes, and argument values only when asked.
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use opentelemetry_proto::tonic::{
    collector::trace::v1::{
        trace_service_server::{TraceService, TraceServiceServer},
        ExportTraceServiceRequest, ExportTraceServiceResponse,
    },
    common::v1::{any_value::Value as V, KeyValue},
    trace::v1::Span,
};
use prost::Message as _;
use serde_json::{json, Value as Json};
use tests::pki::{arg, TestPki};
use tests::{
    build_fixture, require_root, run_tracesynth, session_when, set_binary, start_daemon, DaemonClient, Fixture,
    Recording,
};
use tracer_daemon::client::Client;

/// How long a test waits for an export to happen or fail.
const EXPORT_WAIT: std::time::Duration = std::time::Duration::from_secs(20);

/// An OTLP/HTTP receiver on loopback keeping what it is sent.
struct Receiver {
    url: String,
    received: Arc<Mutex<Vec<ExportTraceServiceRequest>>>,
    _runtime: tokio::runtime::Runtime,
}

fn receiver() -> Receiver {
    receiver_on("127.0.0.1:0")
}

fn receiver_on(address: &str) -> Receiver {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let listener = runtime.block_on(tokio::net::TcpListener::bind(address)).unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let received = Arc::new(Mutex::new(Vec::new()));
    let app = http_receiver(Arc::clone(&received));
    runtime.spawn(async move { axum::serve(listener, app).await });
    Receiver { url, received, _runtime: runtime }
}

/// The OTLP/HTTP routes, keeping what they are sent in `keep`.
fn http_receiver(keep: Arc<Mutex<Vec<ExportTraceServiceRequest>>>) -> axum::Router {
    axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(move |body: axum::body::Bytes| {
            let keep = Arc::clone(&keep);
            async move {
                match ExportTraceServiceRequest::decode(body) {
                    Ok(request) => {
                        keep.lock().unwrap().push(request);
                        axum::http::StatusCode::OK
                    }
                    Err(_) => axum::http::StatusCode::BAD_REQUEST,
                }
            }
        }),
    )
}

/// An OTLP/HTTP receiver over TLS with `pki`'s server certificate.
fn https_receiver(pki: &TestPki) -> Receiver {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("https://{}", listener.local_addr().unwrap());
    let received = Arc::new(Mutex::new(Vec::new()));
    let app = http_receiver(Arc::clone(&received));
    let tls = tracer_export::tls::server_config(&pki.server_cert, &pki.server_key, None).unwrap();
    let _context = runtime.enter();
    let server =
        axum_server::from_tcp_rustls(listener, axum_server::tls_rustls::RustlsConfig::from_config(tls)).unwrap();
    runtime.spawn(server.serve(app.into_make_service()));
    drop(_context);
    Receiver { url, received, _runtime: runtime }
}

/// Keeps what an OTLP/gRPC receiver is sent.
struct Keep(Arc<Mutex<Vec<ExportTraceServiceRequest>>>);

#[tonic::async_trait]
impl TraceService for Keep {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        self.0.lock().unwrap().push(request.into_inner());
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

/// An OTLP/gRPC receiver (tonic, the official service definition) on loopback; over TLS
/// with `pki`'s server certificate when given.
fn grpc_receiver(pki: Option<&TestPki>) -> Receiver {
    use tonic::transport::{server::TcpIncoming, Identity, Server, ServerTlsConfig};
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let scheme = if pki.is_some() { "https" } else { "http" };
    let url = format!("{scheme}://{}", listener.local_addr().unwrap());
    let received = Arc::new(Mutex::new(Vec::new()));
    let mut server = Server::builder();
    if let Some(pki) = pki {
        let identity =
            Identity::from_pem(std::fs::read(&pki.server_cert).unwrap(), std::fs::read(&pki.server_key).unwrap());
        server = server.tls_config(ServerTlsConfig::new().identity(identity)).unwrap();
    }
    let router = server.add_service(TraceServiceServer::new(Keep(Arc::clone(&received))));
    runtime.spawn(router.serve_with_incoming(TcpIncoming::from(listener)));
    Receiver { url, received, _runtime: runtime }
}

impl Receiver {
    /// The requests received so far.
    fn requests(&self) -> Vec<ExportTraceServiceRequest> {
        self.received.lock().unwrap().clone()
    }
}

/// Every span of `requests`.
fn all_spans(requests: &[ExportTraceServiceRequest]) -> Vec<&Span> {
    requests.iter().flat_map(|r| &r.resource_spans).flat_map(|r| &r.scope_spans).flat_map(|s| &s.spans).collect()
}

/// A loopback address with nothing listening on it (yet).
fn free_loopback_address() -> String {
    test_support::free_loopback_address().unwrap().to_string()
}

/// Session `id`'s view once `ready` holds for it.
fn attr<'a>(attrs: &'a [KeyValue], key: &str) -> Option<&'a V> {
    attrs.iter().find(|a| a.key == key).and_then(|a| a.value.as_ref()).and_then(|v| v.value.as_ref())
}

#[test]
fn spans_nest_name_the_process_and_keep_values_home_unless_asked() {
    set_binary(env!("CARGO_BIN_EXE_tracesynth-under-test"));
    if !require_root("spans_nest_name_the_process_and_keep_values_home_unless_asked") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = build_fixture("calls", &["-O2", "-g"], dir.path());
    let mut fixture = Fixture::start(&bin);
    let pid = fixture.pid().to_string();
    let out = dir.path().join("trace.json");
    let recording = Recording::start(&["--pid", &pid, "--func", "outer", "--func", "inner", "--calls", "6"], &out);
    fixture.command("nest");
    fixture.command("nest");
    let trace = recording.finish();
    assert_eq!(trace["calls"].as_array().unwrap().len(), 6, "outer(5) twice, each calling inner twice");
    let trace_file = out.to_str().unwrap();

    let plain = receiver();
    let (code, _, err) = run_tracesynth(&[
        "export",
        "--format",
        "otlp",
        "--to",
        &plain.url,
        "--label",
        "host.name=test-host",
        trace_file,
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("sent 6 spans"), "{err}");
    let requests = plain.requests();
    let resource_spans: Vec<_> = requests.iter().flat_map(|r| &r.resource_spans).collect();
    let resource = resource_spans[0].resource.as_ref().unwrap();
    assert_eq!(attr(&resource.attributes, "host.name"), Some(&V::StringValue("test-host".into())));
    assert_eq!(attr(&resource.attributes, "process.pid"), Some(&V::IntValue(i64::from(fixture.pid()))));
    let service = bin.file_name().unwrap().to_string_lossy().into_owned();
    assert_eq!(attr(&resource.attributes, "service.name"), Some(&V::StringValue(service)));
    assert!(attr(&resource.attributes, "process.executable.build_id.gnu").is_some(), "gcc links a build id");
    let spans = all_spans(&requests);
    assert_eq!(spans.len(), 6);
    let by_id: HashMap<&[u8], &Span> = spans.iter().map(|s| (s.span_id.as_slice(), *s)).collect();
    let (outers, inners): (Vec<&&Span>, Vec<&&Span>) = spans.iter().partition(|s| s.name == "outer");
    assert_eq!((outers.len(), inners.len()), (2, 4));
    for inner in &inners {
        let parent = by_id[inner.parent_span_id.as_slice()];
        assert_eq!(parent.name, "outer");
        assert_eq!(parent.trace_id, inner.trace_id);
        assert!(parent.start_time_unix_nano <= inner.start_time_unix_nano);
        assert!(inner.end_time_unix_nano <= parent.end_time_unix_nano);
    }
    assert!(outers.iter().all(|o| o.parent_span_id.is_empty()));
    assert_ne!(outers[0].trace_id, outers[1].trace_id, "each outermost call is a trace of its own");
    assert!(spans.iter().all(|s| s.attributes.iter().all(|a| !a.key.starts_with("tracesynth.arg"))), "no values");

    let valued = receiver();
    let (code, _, err) =
        run_tracesynth(&["export", "--format", "otlp", "--to", &valued.url, "--with-values", trace_file]);
    assert_eq!(code, 0, "{err}");
    let requests = valued.requests();
    let spans = all_spans(&requests);
    let outer = spans.iter().find(|s| s.name == "outer").unwrap();
    assert_eq!(attr(&outer.attributes, "tracesynth.arg.x"), Some(&V::IntValue(5)));
    assert_eq!(attr(&outer.attributes, "tracesynth.return"), Some(&V::IntValue(5 * 2 + 6 * 2)));

    // A receiver that is not there is an error, not a silent loss.
    let (code, _, err) = run_tracesynth(&["export", "--format", "otlp", "--to", "http://127.0.0.1:9", trace_file]);
    assert_ne!(code, 0);
    assert!(err.contains("OTLP receiver http://127.0.0.1:9/v1/traces"), "{err}");
}

/// Runs `tracesynth ARGS` with `env` set.
fn run_with_env(args: &[&str], env: &[(&str, &str)]) -> (i32, String) {
    let out = std::process::Command::new(tests::tracesynth()).args(args).envs(env.iter().copied()).output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn spans_go_over_grpc_and_tls_trusting_the_operators_ca_and_nothing_else() {
    set_binary(env!("CARGO_BIN_EXE_tracesynth-under-test"));
    let dir = tempfile::tempdir().unwrap();
    let pki = TestPki::create(dir.path());
    let trace = tracer_probe::trace::Trace::sample();
    let file = dir.path().join("trace.json");
    std::fs::write(&file, trace.to_bytes(tracer_probe::trace::Encoding::Json)).unwrap();
    let file = arg(&file);
    let calls = trace.calls.iter().filter(|c| c.is_complete()).count();
    let export = |to: &str, extra: &[&str]| {
        let mut args = vec!["export", "--format", "otlp", "--to", to];
        args.extend_from_slice(extra);
        args.push(file);
        run_tracesynth(&args)
    };

    let plain = grpc_receiver(None);
    let (code, _, err) = export(&plain.url, &["--protocol", "grpc"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains(&format!("sent {calls} spans to {} (gRPC)", plain.url)), "{err}");
    let spans = all_spans(&plain.requests()).iter().map(|s| s.name.clone()).collect::<Vec<_>>();
    assert_eq!(spans.len(), calls);
    assert!(spans.iter().all(|n| n == "greet"), "{spans:?}");

    let tls = grpc_receiver(Some(&pki));
    let (code, _, err) = export(&tls.url, &["--protocol", "grpc"]);
    assert_ne!(code, 0, "a certificate no trusted CA signed");
    assert!(err.contains(&tls.url) && err.to_lowercase().contains("certificate"), "{err}");
    let (code, _, err) = export(&tls.url, &["--protocol", "grpc", "--ca", arg(&pki.other_ca)]);
    assert_ne!(code, 0, "another CA: {err}");
    assert!(tls.requests().is_empty());
    let (code, _, err) = export(&tls.url, &["--protocol", "grpc", "--ca", arg(&pki.ca)]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(all_spans(&tls.requests()).len(), calls);

    let https = https_receiver(&pki);
    let (code, _, err) = export(&https.url, &["--ca", arg(&pki.other_ca)]);
    assert_ne!(code, 0);
    assert!(err.contains("UnknownIssuer"), "{err}");
    let (code, _, err) = export(&https.url, &["--ca", arg(&pki.ca)]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(all_spans(&https.requests()).len(), calls);

    // The standard variables say all of it.
    let by_env = grpc_receiver(Some(&pki));
    let (code, err) = run_with_env(
        &["export", "--format", "otlp", file],
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", by_env.url.as_str()),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
            ("OTEL_EXPORTER_OTLP_CERTIFICATE", arg(&pki.ca)),
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(all_spans(&by_env.requests()).len(), calls);
    let (code, err) = run_with_env(
        &["export", "--format", "otlp", file],
        &[("OTEL_EXPORTER_OTLP_ENDPOINT", by_env.url.as_str()), ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")],
    );
    assert_ne!(code, 0);
    assert!(err.contains("give http/protobuf or grpc"), "{err}");
}

#[test]
fn a_daemon_exports_each_ended_session_with_its_labels() {
    set_binary(env!("CARGO_BIN_EXE_tracesynth-under-test"));
    if !require_root("a_daemon_exports_each_ended_session_with_its_labels") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = build_fixture("calls", &["-O2", "-g"], dir.path());
    let mut fixture = Fixture::start(&bin);
    let sink = receiver();
    let export = format!("otlp={}", sink.url);
    // And a gRPC receiver over TLS whose certificate the operator's own CA signed.
    let pki = TestPki::create(dir.path());
    let grpc = grpc_receiver(Some(&pki));
    let grpc_export = format!("otlp-grpc={}", grpc.url);
    let daemon = start_daemon(
        &dir.path().join("data"),
        &["--export", &export, "--export", &grpc_export, "--export-ca", arg(&pki.ca), "--label", "host.name=fleet-1"],
    );
    let client = daemon.client();
    // Values of `outer` only (`export_args`, also spelt `export_values`).
    let body = json!({"pid": fixture.pid(), "functions": ["outer", "inner"], "limits": {"max_calls": 6}, "export_args": ["outer"]});
    let id = client.post_json("/v1/sessions", &body).unwrap()["id"].as_u64().unwrap();
    fixture.command("nest");
    fixture.command("nest");
    let view = session_when(&client, id, "the export", EXPORT_WAIT, |s| s.get("export").is_some());
    assert_eq!(view["state"], "call-limit");
    let export = &view["export"];
    assert_eq!((export["spans_sent"].as_u64(), export["rows_sent"].as_u64()), (Some(12), Some(0)), "{view}");
    assert_eq!((&export["error"], &export["attempts"], &export["dropped"]), (&Json::Null, &json!(1), &json!(false)));
    assert!(export["ms"].is_u64(), "{view}");
    let requests = sink.requests();
    let ids = |requests: &[ExportTraceServiceRequest]| {
        let mut ids: Vec<Vec<u8>> = all_spans(requests).iter().map(|s| s.span_id.clone()).collect();
        ids.sort();
        ids
    };
    assert_eq!(ids(&grpc.requests()), ids(&requests), "the same spans over gRPC and TLS");
    let resource = requests[0].resource_spans[0].resource.clone().unwrap();
    assert_eq!(attr(&resource.attributes, "host.name"), Some(&V::StringValue("fleet-1".into())));
    let spans = all_spans(&requests);
    assert_eq!(spans.len(), 6);
    let outer = spans.iter().find(|s| s.name == "outer").unwrap();
    assert_eq!(attr(&outer.attributes, "tracesynth.arg.x"), Some(&V::IntValue(5)), "the session asked for values");
    let inner = spans.iter().find(|s| s.name == "inner").unwrap();
    assert_eq!(attr(&inner.attributes, "tracesynth.arg.x"), None, "values of `outer` only");
    assert_eq!(attr(&inner.attributes, "tracesynth.return"), None, "values of `outer` only");
}

#[test]
fn string_values_leave_the_host_redacted() {
    set_binary(env!("CARGO_BIN_EXE_tracesynth-under-test"));
    if !require_root("string_values_leave_the_host_redacted") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = build_fixture("calls", &["-O2", "-g"], dir.path());
    let mut fixture = Fixture::start(&bin);
    let pid = fixture.pid().to_string();
    let out = dir.path().join("trace.json");
    let recording = Recording::start(&["--pid", &pid, "--func", "greet", "--calls", "1"], &out);
    fixture.command("secret");
    let trace = recording.finish();
    assert_eq!(trace["calls"][0]["args"][0]["str"]["value"], "write to bob@example.com", "{trace}");
    let sink = receiver();
    let file = out.to_str().unwrap();
    let (code, _, err) = run_tracesynth(&[
        "export",
        "--format",
        "otlp",
        "--to",
        &sink.url,
        "--with-values",
        "--redact",
        "write=>send",
        file,
    ]);
    assert_eq!(code, 0, "{err}");
    let requests = sink.requests();
    let span = &requests[0].resource_spans[0].scope_spans[0].spans[0];
    assert_eq!(attr(&span.attributes, "tracesynth.arg.name"), Some(&V::StringValue("send to <email>".into())));
    let wire: Vec<u8> = requests.iter().flat_map(prost::Message::encode_to_vec).collect();
    assert!(!String::from_utf8_lossy(&wire).contains("example.com"), "the address never leaves");
    let (code, _, err) =
        run_tracesynth(&["export", "--format", "otlp", "--to", &sink.url, "--with-values", "--redact", "(=>x", file]);
    assert_ne!(code, 0);
    assert!(err.contains("--redact \"(=>x\""), "{err}");
}

#[test]
fn a_receiver_that_was_down_gets_the_trace_once_it_is_up() {
    set_binary(env!("CARGO_BIN_EXE_tracesynth-under-test"));
    if !require_root("a_receiver_that_was_down_gets_the_trace_once_it_is_up") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = build_fixture("calls", &["-O2", "-g"], dir.path());
    let mut fixture = Fixture::start(&bin);
    // A loopback port with nothing listening yet.
    let address = free_loopback_address();
    let export = format!("otlp=http://{address}");
    let daemon = start_daemon(&dir.path().join("data"), &["--export", &export, "--export-retry-secs", "0.5"]);
    let client = daemon.client();
    let body = json!({"pid": fixture.pid(), "functions": ["outer", "inner"], "limits": {"max_calls": 3}});
    let id = client.post_json("/v1/sessions", &body).unwrap()["id"].as_u64().unwrap();
    fixture.command("nest");
    let failed = session_when(&client, id, "a failed export", EXPORT_WAIT, |s| s["export"]["error"].is_string());
    assert_eq!(failed["export"]["spans_sent"], 0);
    let sink = receiver_on(&address);
    let delivered = session_when(&client, id, "the retry", EXPORT_WAIT, |s| s["export"]["error"].is_null());
    assert_eq!(delivered["export"]["spans_sent"], 3);
    assert!(delivered["export"]["attempts"].as_u64().unwrap() >= 2);
    let spans = all_spans(&sink.requests()).len();
    assert_eq!(spans, 3, "delivered once");
    let metrics = String::from_utf8(client.get_bytes("/metrics").unwrap()).unwrap();
    for line in [
        "tracesynth_exported_spans_total 3",
        "tracesynth_export_pending_sessions 0",
        "tracesynth_export_failed_attempts_total",
    ] {
        assert!(metrics.contains(line), "{line} in\n{metrics}");
    }
    assert!(!metrics.contains("tracesynth_export_failed_attempts_total 0\n"), "the failures are counted:\n{metrics}");
}

/// The export counters of `/metrics`: produced, exported, spooled, dropped.
fn export_counts(client: &Client) -> [u64; 4] {
    let metrics = String::from_utf8(client.get_bytes("/metrics").unwrap()).unwrap();
    let value = |name: &str| -> u64 {
        let line = metrics.lines().find(|l| l.starts_with(&format!("{name} "))).unwrap_or_else(|| panic!("{name}"));
        line.rsplit(' ').next().unwrap().parse().unwrap()
    };
    [
        value("tracesynth_export_calls_produced_total"),
        value("tracesynth_export_calls_exported_total"),
        value("tracesynth_export_calls_spooled"),
        value("tracesynth_export_calls_dropped_total"),
    ]
}

#[test]
fn the_spool_is_capped_and_every_call_is_accounted_for() {
    set_binary(env!("CARGO_BIN_EXE_tracesynth-under-test"));
    if !require_root("the_spool_is_capped_and_every_call_is_accounted_for") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = build_fixture("calls", &["-O2", "-g"], dir.path());
    let mut fixture = Fixture::start(&bin);
    let address = free_loopback_address();
    let export = format!("otlp=http://{address}");
    // Room for one session of 3 calls waiting, not two.
    let daemon = start_daemon(
        &dir.path().join("data"),
        &["--export", &export, "--export-retry-secs", "0.5", "--export-spool-calls", "4"],
    );
    let client = daemon.client();
    let body = json!({"pid": fixture.pid(), "functions": ["outer", "inner"], "limits": {"max_calls": 3}});
    let first = client.post_json("/v1/sessions", &body).unwrap()["id"].as_u64().unwrap();
    fixture.command("nest");
    session_when(&client, first, "a failed export", EXPORT_WAIT, |s| s["export"]["error"].is_string());
    assert_eq!(export_counts(&client), [3, 0, 3, 0]);
    let second = client.post_json("/v1/sessions", &body).unwrap()["id"].as_u64().unwrap();
    fixture.command("nest");
    session_when(&client, second, "a failed export", EXPORT_WAIT, |s| s["export"]["error"].is_string());
    // The older session gave way: counted as dropped, its trace still at home.
    let view = session_when(&client, first, "the spool cap", EXPORT_WAIT, |s| s["export"]["dropped"] == true);
    assert!(view["export"]["error"].as_str().unwrap().contains("--export-spool-calls"), "{view}");
    assert_eq!(export_counts(&client), [6, 0, 3, 3]);
    let calls = client.get_json(&format!("/v1/traces/{first}/calls?limit=10")).unwrap();
    assert_eq!(calls["calls"].as_array().map(Vec::len), Some(3), "{calls}");
    // The receiver comes up: the waiting session goes, once; the dropped one never.
    let sink = receiver_on(&address);
    session_when(&client, second, "the retry", EXPORT_WAIT, |s| s["export"]["spans_sent"] == 3);
    assert_eq!(all_spans(&sink.requests()).len(), 3);
    let [produced, exported, spooled, dropped] = export_counts(&client);
    assert_eq!((produced, exported, spooled, dropped), (6, 3, 0, 3));
    assert_eq!(produced, exported + spooled + dropped);
}

#[test]
fn a_trace_left_pending_by_a_killed_daemon_is_sent_by_the_next_one() {
    set_binary(env!("CARGO_BIN_EXE_tracesynth-under-test"));
    if !require_root("a_trace_left_pending_by_a_killed_daemon_is_sent_by_the_next_one") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = build_fixture("calls", &["-O2", "-g"], dir.path());
    let mut fixture = Fixture::start(&bin);
    let address = free_loopback_address();
    let export = format!("otlp=http://{address}");
    let flags = ["--export", export.as_str(), "--export-retry-secs", "0.5"];
    let data = dir.path().join("data");
    let mut first = start_daemon(&data, &flags);
    let client = first.client();
    let body = json!({"pid": fixture.pid(), "functions": ["outer", "inner"], "limits": {"max_calls": 3}});
    let id = client.post_json("/v1/sessions", &body).unwrap()["id"].as_u64().unwrap();
    fixture.command("nest");
    session_when(&client, id, "a failed export", EXPORT_WAIT, |s| s["export"]["error"].is_string());
    first.kill_9();
    let sink = receiver_on(&address);
    let second = start_daemon(&data, &flags);
    let client = second.client();
    let view =
        session_when(&client, id, "the export after the restart", EXPORT_WAIT, |s| s["export"]["spans_sent"] == 3);
    assert_eq!(view["export"]["error"], Json::Null);
    let spans = all_spans(&sink.requests()).len();
    assert_eq!(spans, 3);
}
