//! Recorded calls into ClickHouse over HTTP (the `clickhouse` crate, `RowBinary`), so a
//! fleet's calls can be queried across hosts.
//!
//! Schema (created on first use; it runs on ClickHouse 18.16 and on current releases):
//!
//! | table | one row per | key |
//! |---|---|---|
//! | `tracesynth_calls` | completed call: `host`, `host_id`, `service`, `build_id`, `pid`, `recording`, `function`, `seq`, `tid`, `depth`, `parent` (-1: none), `entry_ns`, `duration_ns`, `cpu_ns`, `args` and `ret` (the trace's JSON values, strings redacted; empty unless values are exported) | (`host_id`, `recording`, `seq`) |
//! | `tracesynth_functions` | function of a recording: `host`, `host_id`, `service`, `build_id`, `recording`, `function`, `signature`, `calls` | (`host_id`, `build_id`, `function`, `recording`) |
//!
//! Times are nanoseconds as `UInt64` (18.16 has no `DateTime64`). Both tables are
//! `ReplacingMergeTree`s on their key, so a batch sent again (a retry after a failure,
//! a daemon restart) replaces itself instead of counting twice; queries read them with
//! `FINAL`. Schema validation (`RowBinaryWithNamesAndTypes`, which 18.16 lacks) is off.
use clickhouse::{Client, Row};
use opentelemetry_proto::tonic::{common::v1::any_value, resource::v1::Resource};
use serde::{Deserialize, Serialize};
use tracer_probe::trace::{Trace, Value};

use crate::redact::Redactor;

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
    /// No runtime for the client could be started.
    #[error("cannot start the ClickHouse client: {0}")]
    Runtime(std::io::Error),
}

/// The tables, created when missing.
pub const SCHEMA: [&str; 2] = [
    "CREATE TABLE IF NOT EXISTS tracesynth_calls (host String, host_id String, service String, build_id String, \
     pid UInt32, recording UInt64, function String, seq UInt64, tid UInt32, depth UInt32, parent Int64, \
     entry_ns UInt64, duration_ns UInt64, cpu_ns UInt64, args String, ret String) \
     ENGINE = ReplacingMergeTree() ORDER BY (host_id, recording, seq)",
    "CREATE TABLE IF NOT EXISTS tracesynth_functions (host String, host_id String, service String, \
     build_id String, recording UInt64, function String, signature String, calls UInt64) \
     ENGINE = ReplacingMergeTree() ORDER BY (host_id, build_id, function, recording)",
];

/// A row of `tracesynth_calls`.
#[derive(Clone, Debug, PartialEq, Eq, Row, Serialize, Deserialize)]
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
}

/// What goes with the calls.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Argument and return values (strings redacted); off by default.
    pub with_values: bool,
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
        other => other.clone(),
    }
}

/// The rows for `trace` from the host and process `resource` describes.
#[must_use]
pub fn rows(trace: &Trace, resource: &Resource, options: &Options) -> (Vec<CallRow>, Vec<FunctionRow>) {
    let (host, host_id, service, build_id) = (
        attribute(resource, "host.name"),
        attribute(resource, "host.id"),
        attribute(resource, "service.name"),
        attribute(resource, "process.executable.build_id.gnu"),
    );
    let recording = crate::otlp::recording_key(trace);
    let json = |v: &Value| serde_json::to_string(&redacted(v, &options.redactor)).unwrap_or_default();
    let calls: Vec<CallRow> = trace
        .calls
        .iter()
        .filter(|c| c.is_complete())
        .map(|c| CallRow {
            host: host.clone(),
            host_id: host_id.clone(),
            service: service.clone(),
            build_id: build_id.clone(),
            pid: trace.pid,
            recording,
            function: trace.functions.get(c.function as usize).map(|f| f.name.clone()).unwrap_or_default(),
            seq: c.seq,
            tid: c.tid,
            depth: c.depth,
            parent: c.parent.and_then(|p| i64::try_from(p).ok()).unwrap_or(-1),
            entry_ns: c.entry_ns,
            duration_ns: c.duration_ns.unwrap_or(0),
            cpu_ns: c.cpu_ns.unwrap_or(0),
            args: if options.with_values {
                serde_json::to_string(&c.args.iter().map(|a| redacted(a, &options.redactor)).collect::<Vec<_>>())
                    .unwrap_or_default()
            } else {
                String::new()
            },
            ret: match (&c.ret, options.with_values) {
                (Some(r), true) => json(r),
                _ => String::new(),
            },
        })
        .collect();
    let functions = trace
        .functions
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let params: Vec<String> = f.params.iter().map(|p| format!("{} {}", p.ctype.name, p.name)).collect();
            FunctionRow {
                host: host.clone(),
                host_id: host_id.clone(),
                service: service.clone(),
                build_id: build_id.clone(),
                recording,
                function: f.name.clone(),
                signature: format!("{} {}({})", f.ret.name, f.name, params.join(", ")),
                calls: trace.calls.iter().filter(|c| c.is_complete() && c.function as usize == i).count() as u64,
            }
        })
        .collect();
    (calls, functions)
}

/// Runs `work` on a one-thread runtime (the exporters run on plain threads).
fn block_on<T>(work: impl std::future::Future<Output = T>) -> Result<T, ClickHouseError> {
    let runtime =
        tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(ClickHouseError::Runtime)?;
    Ok(runtime.block_on(work))
}

fn client(url: &str) -> Client {
    Client::default().with_url(url).with_validation(false)
}

/// Sends `trace` to the ClickHouse server at `url` (an HTTP URL such as
/// `http://HOST:8123`), creating the tables first; returns the calls inserted.
///
/// # Errors
/// The server cannot be reached or refuses a statement.
pub fn send(url: &str, trace: &Trace, resource: &Resource, options: &Options) -> Result<usize, ClickHouseError> {
    let (calls, functions) = rows(trace, resource, options);
    let err = |source| ClickHouseError::Server { url: url.into(), source };
    block_on(async {
        let client = client(url);
        for statement in SCHEMA {
            client.query(statement).execute().await.map_err(err)?;
        }
        let mut insert = client.insert::<CallRow>("tracesynth_calls").await.map_err(err)?;
        for row in &calls {
            insert.write(row).await.map_err(err)?;
        }
        insert.end().await.map_err(err)?;
        let mut insert = client.insert::<FunctionRow>("tracesynth_functions").await.map_err(err)?;
        for row in &functions {
            insert.write(row).await.map_err(err)?;
        }
        insert.end().await.map_err(err)?;
        Ok(calls.len())
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

/// The hosts that sent calls, by name.
///
/// # Errors
/// The server cannot be reached or has no tables yet.
pub fn hosts(url: &str) -> Result<Vec<HostSummary>, ClickHouseError> {
    let err = |source| ClickHouseError::Server { url: url.into(), source };
    block_on(async {
        client(url)
            .query(
                "SELECT host, host_id, count() AS calls, uniqExact(function) AS functions \
                 FROM tracesynth_calls FINAL GROUP BY host, host_id ORDER BY host, host_id",
            )
            .fetch_all::<HostSummary>()
            .await
            .map_err(err)
    })?
}

/// The functions seen, per build, with how many hosts and calls.
///
/// # Errors
/// The server cannot be reached or has no tables yet.
pub fn functions(url: &str) -> Result<Vec<FunctionSummary>, ClickHouseError> {
    let err = |source| ClickHouseError::Server { url: url.into(), source };
    block_on(async {
        client(url)
            .query(
                "SELECT function, build_id, uniqExact(host, host_id) AS hosts, count() AS calls \
                 FROM tracesynth_calls FINAL GROUP BY function, build_id ORDER BY function, build_id",
            )
            .fetch_all::<FunctionSummary>()
            .await
            .map_err(err)
    })?
}
