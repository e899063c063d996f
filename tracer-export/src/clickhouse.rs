//! Recorded calls into ClickHouse over HTTP (the `clickhouse` crate, `RowBinary`), so a
//! fleet's calls can be queried across hosts.
//!
//! Schema (created on first use; it runs on ClickHouse 18.16 and on current releases):
//!
//! | table | one row per | key |
//! |---|---|---|
//! | `tracesynth_calls` | completed call: `host`, `host_id`, `service`, `build_id`, `pid`, `recording`, `function`, `seq`, `tid`, `depth`, `parent` (-1: none), `entry_ns`, `duration_ns`, `cpu_ns`, `args` and `ret` (the trace's JSON values, strings redacted; empty unless values are exported), `sample_weight` (how many calls it stands for when an overhead budget or `--sample-every` sampled the recording; 1 otherwise) | (`host_id`, `recording`, `seq`) |
//! | `tracesynth_functions` | function of a recording: `host`, `host_id`, `service`, `build_id`, `recording`, `function`, `signature`, `calls`, `info` (the trace's function record as JSON: parameters with their DWARF types) | (`host_id`, `build_id`, `function`, `recording`) |
//! | `tracesynth_edges` | control-flow edge of a function in a recording with block probes: `host`, `host_id`, `service`, `build_id`, `recording`, `function`, `from_offset` and `to_offset` (block offsets in the function), `count` (times followed), `back_edge`, `observed_only` (0/1) | (`host_id`, `recording`, `function`, `from_offset`, `to_offset`) |
//!
//! Times are nanoseconds as `UInt64` (18.16 has no `DateTime64`). The tables are
//! `ReplacingMergeTree`s on their key, so a batch sent again (a retry after a failure,
//! a daemon restart) replaces itself instead of counting twice; queries read them with
//! `FINAL`. Schema validation (`RowBinaryWithNamesAndTypes`, which 18.16 lacks) is off.
use clickhouse::{Client, Row};
use opentelemetry_proto::tonic::{common::v1::any_value, resource::v1::Resource};
use serde::{Deserialize, Serialize};
use tracer_probe::{
    probes::{cfg::Cfg, FunctionInfo},
    trace::{Call, EndReason, Loss, OnCpu, Trace, Value, SCHEMA_VERSION},
};

use crate::{
    redact::Redactor,
    tls::{ClientTls, TlsError},
    values::ExportValues,
};

/// A ClickHouse server that could not take or answer.
#[derive(Debug, thiserror::Error)]
pub enum ClickHouseError {
    /// The server refused or could not be reached.
    #[error("ClickHouse at {url}: {source}")]
    Server {
        /// Its URL.
        url: String,
        /// What went wrong.
        source: clickhouse::error::Error,
    },
    /// The TLS configuration cannot be used.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// No runtime for the client could be started.
    #[error("cannot start the ClickHouse client: {0}")]
    Runtime(std::io::Error),
    /// No host exported the function.
    #[error("no host exported calls of `{0}` to this ClickHouse")]
    NotSeen(String),
    /// The function was seen in several builds and none was chosen.
    #[error("`{function}` was seen in {} builds; choose one with --build-id: {}", builds.len(), builds.join(", "))]
    SeveralBuilds {
        /// Function.
        function: String,
        /// Its builds (GNU build ids).
        builds: Vec<String>,
    },
    /// The calls are there without their values.
    #[error(
        "no calls of `{0}` were exported with their argument values; export them (\"export_values\": true, \
         attach --export-args) for fleet synthesis"
    )]
    NoValues(String),
    /// A stored row that does not decode.
    #[error("a stored row of `{function}` does not decode: {detail}")]
    BadRow {
        /// Function.
        function: String,
        /// What failed.
        detail: String,
    },
}

/// The tables, created when missing.
pub const SCHEMA: [&str; 3] = [
    "CREATE TABLE IF NOT EXISTS tracesynth_calls (host String, host_id String, service String, build_id String, \
     pid UInt32, recording UInt64, function String, seq UInt64, tid UInt32, depth UInt32, parent Int64, \
     entry_ns UInt64, duration_ns UInt64, cpu_ns UInt64, args String, ret String, sample_weight Float64) \
     ENGINE = ReplacingMergeTree() ORDER BY (host_id, recording, seq)",
    "CREATE TABLE IF NOT EXISTS tracesynth_functions (host String, host_id String, service String, \
     build_id String, recording UInt64, function String, signature String, calls UInt64, info String) \
     ENGINE = ReplacingMergeTree() ORDER BY (host_id, build_id, function, recording)",
    "CREATE TABLE IF NOT EXISTS tracesynth_edges (host String, host_id String, service String, build_id String, \
     recording UInt64, function String, from_offset UInt64, to_offset UInt64, count UInt64, back_edge UInt8, \
     observed_only UInt8) \
     ENGINE = ReplacingMergeTree() ORDER BY (host_id, recording, function, from_offset, to_offset)",
];

/// Columns added to tables of earlier releases: table, column, type with default. Added
/// when missing (checked in `system.columns`, which every release has, where 18.16 lacks
/// `ADD COLUMN IF NOT EXISTS`).
const ADDED_COLUMNS: [(&str, &str, &str); 1] = [("tracesynth_calls", "sample_weight", "Float64 DEFAULT 1")];

/// A row of `tracesynth_calls`.
#[derive(Clone, Debug, PartialEq, Row, Serialize, Deserialize)]
pub struct CallRow {
    /// `host.name`.
    pub host: String,
    /// `host.id` (machine id).
    pub host_id: String,
    /// `service.name`.
    pub service: String,
    /// The executable's GNU build id (hex), or empty.
    pub build_id: String,
    /// Process id.
    pub pid: u32,
    /// Identifies the recording on its host.
    pub recording: u64,
    /// Function name.
    pub function: String,
    /// Call number in the recording.
    pub seq: u64,
    /// Thread id.
    pub tid: u32,
    /// Nesting depth among traced calls.
    pub depth: u32,
    /// `seq` of the enclosing traced call, -1 for none.
    pub parent: i64,
    /// Entry time (CLOCK_MONOTONIC ns).
    pub entry_ns: u64,
    /// Duration in ns.
    pub duration_ns: u64,
    /// On-CPU time in ns (0 when unknown).
    pub cpu_ns: u64,
    /// Arguments as JSON (the trace's values), or empty.
    pub args: String,
    /// Return value as JSON, or empty.
    pub ret: String,
    /// How many calls this one stands for (1 unless the recording was sampled).
    pub sample_weight: f64,
}

/// A row of `tracesynth_functions`.
#[derive(Clone, Debug, PartialEq, Eq, Row, Serialize, Deserialize)]
pub struct FunctionRow {
    /// `host.name`.
    pub host: String,
    /// `host.id`.
    pub host_id: String,
    /// `service.name`.
    pub service: String,
    /// GNU build id, or empty.
    pub build_id: String,
    /// Identifies the recording on its host.
    pub recording: u64,
    /// Function name.
    pub function: String,
    /// C signature, from DWARF.
    pub signature: String,
    /// Completed calls in the recording.
    pub calls: u64,
    /// The trace's `FunctionInfo` as JSON (parameter types, for fleet synthesis).
    pub info: String,
}

/// A row of `tracesynth_edges`.
#[derive(Clone, Debug, PartialEq, Eq, Row, Serialize, Deserialize)]
pub struct EdgeRow {
    /// `host.name`.
    pub host: String,
    /// `host.id`.
    pub host_id: String,
    /// `service.name`.
    pub service: String,
    /// GNU build id, or empty.
    pub build_id: String,
    /// Identifies the recording on its host.
    pub recording: u64,
    /// Function name.
    pub function: String,
    /// Source block offset in the function.
    pub from_offset: u64,
    /// Target block offset in the function.
    pub to_offset: u64,
    /// Times followed in the recording.
    pub count: u64,
    /// 1 when the edge closes a loop.
    pub back_edge: u8,
    /// 1 when seen at run time but not in the static graph.
    pub observed_only: u8,
}

/// What goes with the calls.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Whose argument and return values go with the calls (strings redacted); none by
    /// default.
    pub values: ExportValues,
    /// Applied to every string value.
    pub redactor: Redactor,
}

fn attribute(resource: &Resource, key: &str) -> String {
    resource
        .attributes
        .iter()
        .find(|a| a.key == key)
        .and_then(|a| a.value.as_ref()?.value.as_ref())
        .map(|v| match v {
            any_value::Value::StringValue(s) => s.clone(),
            any_value::Value::IntValue(i) => i.to_string(),
            other => format!("{other:?}"),
        })
        .unwrap_or_default()
}

/// `value` with every string rewritten by `redactor`.
fn redacted(value: &Value, redactor: &Redactor) -> Value {
    match value {
        Value::Str { ptr, value: Some(s), truncated } => {
            Value::Str { ptr: *ptr, value: Some(redactor.apply(s)), truncated: *truncated }
        }
        Value::Array { ptr, count, items, truncated, fault } => Value::Array {
            ptr: *ptr,
            count: *count,
            items: items.iter().map(|v| redacted(v, redactor)).collect(),
            truncated: *truncated,
            fault: fault.clone(),
        },
        Value::Written { before, after } => {
            Value::Written { before: Box::new(redacted(before, redactor)), after: Box::new(redacted(after, redactor)) }
        }
        Value::Record { ptr, ty, fields, truncated, fault } => Value::Record {
            ptr: *ptr,
            ty: ty.clone(),
            fields: fields
                .iter()
                .map(|f| tracer_probe::trace::FieldValue {
                    name: f.name.clone(),
                    ctype: f.ctype.clone(),
                    value: redacted(&f.value, redactor),
                })
                .collect(),
            truncated: *truncated,
            fault: fault.clone(),
        },
        other => other.clone(),
    }
}

/// Where the rows come from: the host, service and build `resource` names, and the recording.
struct Origin {
    host: String,
    host_id: String,
    service: String,
    build_id: String,
    recording: u64,
    pid: u32,
}

impl Origin {
    fn of(header: &Trace, resource: &Resource) -> Origin {
        Origin {
            host: attribute(resource, "host.name"),
            host_id: attribute(resource, "host.id"),
            service: attribute(resource, "service.name"),
            build_id: attribute(resource, "process.executable.build_id.gnu"),
            recording: crate::otlp::recording_key(header),
            pid: header.pid,
        }
    }

    /// The rows of the completed ones of `calls` (of the recording `header`).
    fn call_rows(&self, header: &Trace, calls: &[Call], options: &Options) -> Vec<CallRow> {
        let json = |v: &Value| serde_json::to_string(&redacted(v, &options.redactor)).unwrap_or_default();
        calls
            .iter()
            .filter(|c| c.is_complete())
            .map(|c| (c, header.functions.get(c.function as usize).map(|f| f.name.clone()).unwrap_or_default()))
            .map(|(c, function)| CallRow {
                host: self.host.clone(),
                host_id: self.host_id.clone(),
                service: self.service.clone(),
                build_id: self.build_id.clone(),
                pid: self.pid,
                recording: self.recording,
                args: if options.values.allows(&function) {
                    serde_json::to_string(&c.args.iter().map(|a| redacted(a, &options.redactor)).collect::<Vec<_>>())
                        .unwrap_or_default()
                } else {
                    String::new()
                },
                ret: match &c.ret {
                    Some(r) if options.values.allows(&function) => json(r),
                    _ => String::new(),
                },
                sample_weight: header.weight(c),
                function,
                seq: c.seq,
                tid: c.tid,
                depth: c.depth,
                parent: c.parent.and_then(|p| i64::try_from(p).ok()).unwrap_or(-1),
                entry_ns: c.entry_ns,
                duration_ns: c.duration_ns.unwrap_or(0),
                cpu_ns: c.cpu_ns.unwrap_or(0),
            })
            .collect()
    }

    /// A row per edge of each function of `cfg`.
    fn edge_rows(&self, cfg: &Cfg) -> Vec<EdgeRow> {
        cfg.functions
            .iter()
            .flat_map(|f| {
                f.edges.iter().map(|e| EdgeRow {
                    host: self.host.clone(),
                    host_id: self.host_id.clone(),
                    service: self.service.clone(),
                    build_id: self.build_id.clone(),
                    recording: self.recording,
                    function: f.function.clone(),
                    from_offset: e.from,
                    to_offset: e.to,
                    count: e.count,
                    back_edge: u8::from(e.back_edge),
                    observed_only: u8::from(e.observed_only),
                })
            })
            .collect()
    }

    /// A row per function of `header`, with `completed[i]` completed calls of function `i`.
    fn function_rows(&self, header: &Trace, completed: &[u64]) -> Vec<FunctionRow> {
        header
            .functions
            .iter()
            .enumerate()
            .map(|(i, f)| FunctionRow {
                host: self.host.clone(),
                host_id: self.host_id.clone(),
                service: self.service.clone(),
                build_id: self.build_id.clone(),
                recording: self.recording,
                function: f.name.clone(),
                signature: f.signature(),
                calls: completed.get(i).copied().unwrap_or(0),
                info: serde_json::to_string(f).unwrap_or_default(),
            })
            .collect()
    }
}

/// Completed calls among `calls` per function of `header`.
fn completed_per_function(header: &Trace, calls: &[Call]) -> Vec<u64> {
    let mut completed = vec![0u64; header.functions.len()];
    for c in calls.iter().filter(|c| c.is_complete()) {
        if let Some(n) = completed.get_mut(c.function as usize) {
            *n += 1;
        }
    }
    completed
}

/// Runs `work` on a one-thread runtime (the exporters run on plain threads).
fn block_on<T>(work: impl std::future::Future<Output = T>) -> Result<T, ClickHouseError> {
    let runtime =
        tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(ClickHouseError::Runtime)?;
    Ok(runtime.block_on(work))
}

/// The rows of `sql`, its `?`s bound to `binds` in order, from the server at `url`.
fn fetch_all<T: clickhouse::RowOwned + clickhouse::RowRead>(
    server: &Server,
    sql: &str,
    binds: &[&str],
) -> Result<Vec<T>, ClickHouseError> {
    let query = binds.iter().fold(client(server)?.query(sql), |q, b| q.bind(*b));
    block_on(query.fetch_all::<T>())?.map_err(|source| ClickHouseError::Server { url: server.url.clone(), source })
}

/// A ClickHouse server's HTTP interface: its URL, and over `https://` what the client trusts.
#[derive(Clone, Debug)]
pub struct Server {
    /// `http://HOST:8123` or `https://HOST:8443`.
    pub url: String,
    /// What an `https://` connection trusts (the public roots unless a CA is added).
    pub tls: ClientTls,
}

impl Server {
    /// The server at `url`, trusting the public roots.
    #[must_use]
    pub fn new(url: &str) -> Self {
        Self { url: url.to_owned(), tls: ClientTls::default() }
    }

    /// The same server, trusting what `tls` trusts.
    #[must_use]
    pub fn with_tls(self, tls: ClientTls) -> Self {
        Self { tls, ..self }
    }
}

fn client(server: &Server) -> Result<Client, ClickHouseError> {
    let client = if server.url.starts_with("https://") {
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config((*server.tls.rustls_config()?).clone())
            .https_only()
            .enable_http1()
            .build();
        let http = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            // Under the server's own keep-alive timeout (3 s by default).
            .pool_idle_timeout(std::time::Duration::from_secs(2))
            .build(connector);
        Client::with_http_client(http)
    } else {
        Client::default()
    };
    Ok(client.with_url(&server.url).with_validation(false))
}

/// Sends a recording to the ClickHouse server at `url` (an HTTP URL such as
/// `http://HOST:8123`) piece by piece as `pieces` yields its calls, in one insert that
/// streams each piece's rows as they come, so one piece at a time is in memory; then a row
/// per function, and a row per control-flow edge when the recording had block probes
/// (`cfg`). `header` is the recording (its functions and identity; its own calls are not
/// read). Creates the tables first. Returns the calls inserted.
///
/// # Errors
/// The server cannot be reached or refuses a statement.
pub fn send_pieces(
    server: &Server,
    header: &Trace,
    resource: &Resource,
    options: &Options,
    pieces: &mut dyn Iterator<Item = Vec<Call>>,
    cfg: Option<&Cfg>,
) -> Result<usize, ClickHouseError> {
    let origin = Origin::of(header, resource);
    let err = |source| ClickHouseError::Server { url: server.url.clone(), source };
    block_on(async {
        let client = client(server)?;
        for statement in SCHEMA {
            client.query(statement).execute().await.map_err(err)?;
        }
        for (table, column, ty) in ADDED_COLUMNS {
            let present = client
                .query(
                    "SELECT count() FROM system.columns WHERE database = currentDatabase() AND table = ? AND name = ?",
                )
                .bind(table)
                .bind(column)
                .fetch_one::<u64>()
                .await
                .map_err(err)?;
            if present == 0 {
                let alter = format!("ALTER TABLE {table} ADD COLUMN {column} {ty}");
                client.query(&alter).execute().await.map_err(err)?;
            }
        }
        let mut completed = vec![0u64; header.functions.len()];
        let mut sent = 0usize;
        let mut insert = client.insert::<CallRow>("tracesynth_calls").await.map_err(err)?;
        for piece in pieces {
            for (total, n) in completed.iter_mut().zip(completed_per_function(header, &piece)) {
                *total += n;
            }
            let rows = origin.call_rows(header, &piece, options);
            for row in &rows {
                insert.write(row).await.map_err(err)?;
            }
            sent += rows.len();
        }
        insert.end().await.map_err(err)?;
        let mut insert = client.insert::<FunctionRow>("tracesynth_functions").await.map_err(err)?;
        for row in &origin.function_rows(header, &completed) {
            insert.write(row).await.map_err(err)?;
        }
        insert.end().await.map_err(err)?;
        let edges = cfg.map(|c| origin.edge_rows(c)).unwrap_or_default();
        if !edges.is_empty() {
            let mut insert = client.insert::<EdgeRow>("tracesynth_edges").await.map_err(err)?;
            for row in &edges {
                insert.write(row).await.map_err(err)?;
            }
            insert.end().await.map_err(err)?;
        }
        Ok(sent)
    })?
}

/// One host of the fleet, as `tracesynth fleet hosts` lists it.
#[derive(Clone, Debug, PartialEq, Eq, Row, Serialize, Deserialize)]
pub struct HostSummary {
    /// `host.name`.
    pub host: String,
    /// `host.id`.
    pub host_id: String,
    /// Calls stored.
    pub calls: u64,
    /// Distinct functions seen.
    pub functions: u64,
}

/// One function of one build, as `tracesynth fleet functions` lists it.
#[derive(Clone, Debug, PartialEq, Eq, Row, Serialize, Deserialize)]
pub struct FunctionSummary {
    /// Function name.
    pub function: String,
    /// GNU build id, or empty.
    pub build_id: String,
    /// Hosts it was seen on.
    pub hosts: u64,
    /// Calls stored.
    pub calls: u64,
}

/// The calls of one function on one host, as `tracesynth fleet calls` lists them.
#[derive(Clone, Debug, PartialEq, Eq, Row, Serialize, Deserialize)]
pub struct CallRate {
    /// Function name.
    pub function: String,
    /// `host.name`.
    pub host: String,
    /// `host.id`.
    pub host_id: String,
    /// Calls stored.
    pub calls: u64,
    /// Recordings they came from.
    pub recordings: u64,
    /// Calls of the recordings with at least two calls: the ones a rate is taken over.
    pub timed_calls: u64,
    /// Nanoseconds from the first to the last entry, summed over those recordings.
    pub span_ns: u64,
    /// Nanoseconds in the calls, summed.
    pub duration_ns: u64,
    /// Calls made, estimated: the calls stored weighed by the sampling of their recording
    /// (equal to `calls` unless recordings were sampled).
    pub made: u64,
}

impl CallRate {
    /// Calls per second while recorded, when a recording had two calls or more.
    #[must_use]
    pub fn per_second(&self) -> Option<f64> {
        (self.span_ns > 0).then(|| self.timed_calls as f64 * 1e9 / self.span_ns as f64)
    }

    /// Mean duration of a call in nanoseconds.
    #[must_use]
    pub fn mean_ns(&self) -> f64 {
        self.duration_ns as f64 / self.calls.max(1) as f64
    }
}

/// Calls per function and host (of `function` only, when given), with their rates:
/// calls per second over each recording's span, summed.
///
/// # Errors
/// The server cannot be reached or has no tables yet.
pub fn call_rates(server: &Server, function: Option<&str>) -> Result<Vec<CallRate>, ClickHouseError> {
    let name = function.unwrap_or("");
    fetch_all(
        server,
        "SELECT function, host, host_id, toUInt64(sum(n)) AS calls, toUInt64(count()) AS recordings, \
         toUInt64(sumIf(n, n > 1)) AS timed_calls, toUInt64(sum(span)) AS span_ns, \
         toUInt64(sum(busy)) AS duration_ns, toUInt64(round(sum(weighed))) AS made FROM (SELECT function, host, \
         host_id, recording, count() AS n, toUInt64(max(entry_ns) - min(entry_ns)) AS span, \
         sum(duration_ns) AS busy, sum(sample_weight) AS weighed FROM tracesynth_calls FINAL \
         WHERE ? = '' OR function = ? GROUP BY function, host, host_id, recording) \
         GROUP BY function, host, host_id ORDER BY function, host, host_id",
        &[name, name],
    )
}

/// A control-flow edge of one function of one build, summed over the fleet, as
/// `tracesynth fleet edges` lists it.
#[derive(Clone, Debug, PartialEq, Eq, Row, Serialize, Deserialize)]
pub struct FleetEdge {
    /// GNU build id, or empty.
    pub build_id: String,
    /// Source block offset in the function.
    pub from_offset: u64,
    /// Target block offset in the function.
    pub to_offset: u64,
    /// Times followed, summed over hosts and recordings.
    pub count: u64,
    /// Hosts it was followed on.
    pub hosts: u64,
    /// 1 when the edge closes a loop.
    pub back_edge: u8,
}

/// The control-flow edges of `function` recorded with block probes on any host, per build,
/// with the times each was followed.
///
/// # Errors
/// The server cannot be reached or has no tables yet.
pub fn fleet_edges(server: &Server, function: &str) -> Result<Vec<FleetEdge>, ClickHouseError> {
    fetch_all(
        server,
        "SELECT build_id, from_offset, to_offset, toUInt64(sum(count)) AS count, \
         toUInt64(uniqExact(host, host_id)) AS hosts, toUInt8(max(back_edge)) AS back_edge \
         FROM tracesynth_edges FINAL WHERE function = ? \
         GROUP BY build_id, from_offset, to_offset ORDER BY build_id, from_offset, to_offset",
        &[function],
    )
}

/// The hosts that sent calls, by name.
///
/// # Errors
/// The server cannot be reached or has no tables yet.
pub fn hosts(server: &Server) -> Result<Vec<HostSummary>, ClickHouseError> {
    fetch_all(
        server,
        "SELECT host, host_id, count() AS calls, uniqExact(function) AS functions \
         FROM tracesynth_calls FINAL GROUP BY host, host_id ORDER BY host, host_id",
        &[],
    )
}

/// The functions seen, per build, with how many hosts and calls.
///
/// # Errors
/// The server cannot be reached or has no tables yet.
pub fn functions(server: &Server) -> Result<Vec<FunctionSummary>, ClickHouseError> {
    fetch_all(
        server,
        "SELECT function, build_id, uniqExact(host, host_id) AS hosts, count() AS calls \
         FROM tracesynth_calls FINAL GROUP BY function, build_id ORDER BY function, build_id",
        &[],
    )
}

/// A build of a function, as fleet synthesis picks it.
#[derive(Row, Deserialize)]
struct BuildRow {
    build_id: String,
    info: String,
    hosts: u64,
}

/// A call of a function with its values, from any host.
#[derive(Row, Deserialize)]
struct ValuesRow {
    tid: u32,
    entry_ns: u64,
    duration_ns: u64,
    cpu_ns: u64,
    args: String,
    ret: String,
}

/// Every host's calls of `function` in one build (`build_id`, or the only one there is)
/// as one trace, for synthesis: its function record, and the calls exported with their
/// values, numbered anew. Its first warning says how many hosts and calls it gathers.
///
/// # Errors
/// The server cannot be reached; the function was never exported, was seen in several
/// builds and none was chosen, or has no calls with values.
pub fn fleet_trace(server: &Server, function: &str, build_id: Option<&str>) -> Result<Trace, ClickHouseError> {
    let err = |source| ClickHouseError::Server { url: server.url.clone(), source };
    let bad = |detail: String| ClickHouseError::BadRow { function: function.into(), detail };
    let (builds, rows) = block_on(async {
        let client = client(server)?;
        let builds = client
            .query(
                "SELECT build_id, any(info) AS info, uniqExact(host, host_id) AS hosts FROM tracesynth_functions FINAL \
                 WHERE function = ? GROUP BY build_id ORDER BY build_id",
            )
            .bind(function)
            .fetch_all::<BuildRow>()
            .await
            .map_err(err)?;
        let chosen = match (build_id, builds.as_slice()) {
            (Some(id), _) => id.to_owned(),
            (None, [only]) => only.build_id.clone(),
            (None, []) => return Ok((builds, Vec::new())),
            (None, _) => {
                return Err(ClickHouseError::SeveralBuilds {
                    function: function.into(),
                    builds: builds.iter().map(|b| b.build_id.clone()).collect(),
                })
            }
        };
        let rows = client
            .query(
                "SELECT ?fields FROM tracesynth_calls FINAL WHERE function = ? AND build_id = ? AND args != '' \
                 ORDER BY host_id, recording, seq",
            )
            .bind(function)
            .bind(chosen.as_str())
            .fetch_all::<ValuesRow>()
            .await
            .map_err(err)?;
        Ok((builds.into_iter().filter(|b| b.build_id == chosen).collect(), rows))
    })??;
    let Some(build) = builds.first() else { return Err(ClickHouseError::NotSeen(function.into())) };
    if rows.is_empty() {
        return Err(ClickHouseError::NoValues(function.into()));
    }
    let info: FunctionInfo = serde_json::from_str(&build.info).map_err(|e| bad(format!("function record: {e}")))?;
    let mut calls = Vec::with_capacity(rows.len());
    for (seq, row) in rows.iter().enumerate() {
        let args: Vec<Value> = serde_json::from_str(&row.args).map_err(|e| bad(format!("arguments: {e}")))?;
        let ret: Option<Value> = if row.ret.is_empty() {
            None
        } else {
            Some(serde_json::from_str(&row.ret).map_err(|e| bad(format!("return value: {e}")))?)
        };
        calls.push(Call {
            seq: seq as u64,
            function: 0,
            tid: row.tid,
            depth: 0,
            parent: None,
            entry_ns: row.entry_ns,
            exit_ns: Some(row.entry_ns + row.duration_ns),
            duration_ns: Some(row.duration_ns),
            cpu_ns: (row.cpu_ns > 0).then_some(row.cpu_ns),
            args,
            ret,
            incomplete: None,
        });
    }
    let build_shown = if build.build_id.is_empty() { "unknown" } else { build.build_id.as_str() };
    Ok(Trace {
        schema_version: SCHEMA_VERSION,
        tracer_version: env!("CARGO_PKG_VERSION").into(),
        pid: 0,
        exe: info.object.clone(),
        cmdline: String::new(),
        start_ns: 0,
        end_ns: 0,
        start_unix_ms: 0,
        end_reason: EndReason::Detached,
        warnings: vec![format!(
            "{} calls of {function} from {} hosts (build {build_shown}), from ClickHouse at {}",
            calls.len(),
            build.hosts,
            server.url
        )],
        functions: vec![info],
        calls,
        resources: Vec::new(),
        resource_interval_ms: 0,
        loss: Loss::default(),
        on_cpu: OnCpu { available: false, detail: "calls gathered from a fleet".into() },
        sampling: Vec::new(),
        min_duration: None,
    })
}
