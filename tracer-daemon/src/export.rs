//! Where a daemon sends the traces of its sessions: OTLP receivers (`--export otlp=URL`
//! over HTTP, `--export otlp-grpc=URL` over gRPC, or the standard `OTEL_EXPORTER_OTLP_*`
//! variables) and ClickHouse servers (`--export clickhouse=URL`,
//! [`tracer_export::clickhouse`]), over TLS for `https://` URLs (`--export-ca` adds a CA),
//! each trace once its session has ended, with the operator's labels as resource
//! attributes and string values redacted. What was sent, or why not, is kept per session
//! for the session view.
//!
//! Store and forward: a session is marked pending in the store before its export and
//! cleared once every receiver took it, so a trace a receiver could not take (down,
//! refusing, or a daemon that stopped first) is sent again by [`Exports::retry_pending`],
//! which the daemon runs every `--export-retry-secs`. The trace itself is the spool: it is
//! in the store already. Span ids derive from the recording, so a resend carries the
//! same ids.
//!
//! The spool is capped at `--export-spool-calls` calls waiting: past it the oldest waiting
//! sessions are given up for export (their traces stay in the store). Calls are counted so
//! that, since the daemon started, `produced = exported + spooled + dropped` (on
//! `/metrics`): produced when a session's trace is first handed to export (or found
//! waiting at start), exported when every receiver took it, spooled while it waits,
//! dropped when given up.
use std::{
    cell::RefCell,
    collections::{HashMap, HashSet},
    path::Path,
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Mutex,
    },
};

use serde::Serialize;
use tracer_export::{
    clickhouse, otlp,
    redact::Redactor,
    resource,
    tls::{ClientTls, TlsError},
    values::ExportValues,
};
use tracer_probe::trace::Trace;

use crate::{locks::lock, store::Store};

/// A sink given on the command line that this daemon cannot send to.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Not `KIND=URL`, or a kind not supported.
    #[error(
        "--export {0:?}: give otlp=URL (an OTLP/HTTP receiver such as http://HOST:4318), otlp-grpc=URL \
         (an OTLP/gRPC receiver such as http://HOST:4317) or clickhouse=URL (a ClickHouse HTTP interface \
         such as http://HOST:8123); https:// for TLS"
    )]
    Sink(String),
    /// The standard OTLP variables name a receiver that cannot be used.
    #[error("OTEL_EXPORTER_OTLP_*: {0}")]
    Otlp(#[from] otlp::OtlpError),
    /// The CA file cannot be used.
    #[error("--export-ca: {0}")]
    Tls(#[from] TlsError),
}

/// Calls read from the store and sent at a time.
const PIECE_CALLS: usize = 10_000;

/// Calls kept waiting for a receiver by default.
pub const DEFAULT_SPOOL_CALLS: u64 = 10_000_000;

/// Calls through the export, since the daemon started (see the module documentation).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CallCounts {
    /// Handed to export.
    pub produced: u64,
    /// Taken by every receiver.
    pub exported: u64,
    /// Given up at the spool cap.
    pub dropped: u64,
}

/// The daemon's sinks and labels.
#[derive(Debug)]
pub struct Exports {
    /// OTLP receivers.
    pub otlp: Vec<otlp::Receiver>,
    /// ClickHouse servers (HTTP interface).
    pub clickhouse: Vec<clickhouse::Server>,
    /// What `https://` connections to the OTLP receivers trust.
    pub tls: ClientTls,
    /// Resource attributes that name this host or service (`host.name=web-7`).
    pub labels: Vec<(String, String)>,
    /// Applied to every string value a session exports.
    pub redactor: Redactor,
    outcomes: Mutex<HashMap<u64, ExportOutcome>>,
    /// Sessions being sent now (a retry round skips them).
    in_flight: Mutex<HashSet<u64>>,
    stopped: AtomicBool,
    /// Spans receivers accepted since the daemon started.
    spans_sent: AtomicU64,
    /// Attempts a receiver refused or missed since the daemon started.
    failed_attempts: AtomicU64,
    /// Most calls waiting for a receiver ([`DEFAULT_SPOOL_CALLS`]).
    pub spool_calls: u64,
    /// Calls through the export, and the sessions already counted as produced.
    counts: Mutex<(CallCounts, HashSet<u64>)>,
}

impl Default for Exports {
    fn default() -> Self {
        Self {
            otlp: Vec::new(),
            clickhouse: Vec::new(),
            tls: ClientTls::default(),
            labels: Vec::new(),
            redactor: Redactor::default(),
            outcomes: Mutex::new(HashMap::new()),
            in_flight: Mutex::new(HashSet::new()),
            stopped: AtomicBool::new(false),
            spans_sent: AtomicU64::new(0),
            failed_attempts: AtomicU64::new(0),
            spool_calls: DEFAULT_SPOOL_CALLS,
            counts: Mutex::new((CallCounts::default(), HashSet::new())),
        }
    }
}

/// What became of one session's export.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ExportOutcome {
    /// Spans the receivers accepted (summed over receivers).
    pub spans_sent: u64,
    /// Calls ClickHouse servers took (summed over servers).
    pub rows_sent: u64,
    /// Why a receiver did not take them (the first failure of the latest attempt).
    pub error: Option<String>,
    /// Attempts so far (the first, then retries while a receiver has not taken it).
    pub attempts: u32,
    /// Given up for export at the spool cap (the trace stays in the local store).
    pub dropped: bool,
    /// Milliseconds the latest attempt took, reading the trace from the store included.
    pub ms: u64,
}

impl Exports {
    /// Sinks from `--export KIND=URL` arguments (the standard OTLP variables when there
    /// are none), trusting the CAs in `ca_file` (or in `$OTEL_EXPORTER_OTLP_CERTIFICATE`)
    /// besides the public roots over TLS, and labels from `--label`.
    ///
    /// # Errors
    /// A sink that is not `otlp=URL`, `otlp-grpc=URL` or `clickhouse=URL`; an unusable
    /// CA file; an OTLP protocol other than `http/protobuf` or `grpc` in the variables.
    pub fn new(sinks: &[String], labels: Vec<(String, String)>, ca_file: Option<&Path>) -> Result<Self, ExportError> {
        let ca_file = ca_file.map(Path::to_path_buf).or_else(otlp::ca_file_from_env);
        let tls = ClientTls::trusting(ca_file.as_deref())?;
        let (mut receivers, mut servers) = (Vec::new(), Vec::new());
        for sink in sinks {
            let web = |url: &str| url.starts_with("http://") || url.starts_with("https://");
            match sink.split_once('=') {
                Some(("otlp", url)) if web(url) => {
                    receivers.push(otlp::Receiver::new(url, otlp::Protocol::HttpProtobuf))
                }
                Some(("otlp-grpc", url)) if web(url) => receivers.push(otlp::Receiver::new(url, otlp::Protocol::Grpc)),
                Some(("clickhouse", url)) if web(url) => {
                    servers.push(clickhouse::Server::new(url).with_tls(tls.clone()))
                }
                _ => return Err(ExportError::Sink(sink.clone())),
            }
        }
        if sinks.is_empty() {
            receivers.extend(otlp::receiver_from_env()?);
        }
        Ok(Self { otlp: receivers, clickhouse: servers, tls, labels, ..Self::default() })
    }

    /// Where the sinks are, for the log.
    #[must_use]
    pub fn destinations(&self) -> Vec<String> {
        let otlp = self.otlp.iter().map(ToString::to_string);
        otlp.chain(self.clickhouse.iter().map(|s| s.url.clone())).collect()
    }

    /// Whether there is anywhere to send.
    #[must_use]
    pub fn any(&self) -> bool {
        !self.otlp.is_empty() || !self.clickhouse.is_empty()
    }

    /// Sends session `id`'s stored trace to every receiver (values only when
    /// `with_values`), with the session marked pending in `store` until they all took it;
    /// records the outcome. Returns whether they did.
    pub fn export_session(&self, store: &Store, id: u64, values: &ExportValues) -> bool {
        if !self.any() {
            return true;
        }
        if !lock(&self.in_flight).insert(id) {
            return false;
        }
        let previous = self.outcome(id);
        if previous.as_ref().is_some_and(|o| o.dropped || (o.error.is_none() && o.attempts > 0)) {
            // Given up at the spool cap, or delivered already (a retry round read the
            // waiting list before): neither is sent again, nor counted again.
            lock(&self.in_flight).remove(&id);
            return true;
        }
        if let Err(e) = store.mark_export_pending(id, values) {
            tracing::error!(id, error = %e, "marking the export pending");
        }
        let calls = store.count_calls(id, None) as u64;
        {
            let mut counts = lock(&self.counts);
            if counts.1.insert(id) {
                counts.0.produced += calls;
            }
        }
        // Over the cap, the oldest waiting sessions give way, this one included.
        if self.enforce_spool_cap(store, id) {
            lock(&self.in_flight).remove(&id);
            return false;
        }
        let attempts = previous.map_or(0, |o| o.attempts) + 1;
        let started = std::time::Instant::now();
        let mut outcome = ExportOutcome { attempts, ..ExportOutcome::default() };
        match store.trace_header(id) {
            Ok(Some(header)) => self.send_stored(store, id, &header, values, &mut outcome),
            Ok(None) => outcome.error = Some("the session stored no trace".into()),
            Err(e) => outcome.error = Some(format!("reading the trace: {e}")),
        }
        outcome.ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let delivered = outcome.error.is_none();
        self.spans_sent.fetch_add(outcome.spans_sent, Ordering::Relaxed);
        if !delivered {
            self.failed_attempts.fetch_add(1, Ordering::Relaxed);
        }
        if delivered {
            tracing::info!(id, spans = outcome.spans_sent, "session exported");
            if let Err(e) = store.clear_export_pending(id) {
                tracing::error!(id, error = %e, "clearing the export mark");
            }
            lock(&self.counts).0.exported += calls;
        }
        lock(&self.outcomes).insert(id, outcome);
        lock(&self.in_flight).remove(&id);
        delivered
    }

    /// Sends session `id`'s stored calls (of the recording `header`) to every receiver,
    /// [`PIECE_CALLS`] at a time from the store, so the daemon never holds a whole trace;
    /// counts what each took into `outcome` and keeps the first failure.
    fn send_stored(&self, store: &Store, id: u64, header: &Trace, values: &ExportValues, outcome: &mut ExportOutcome) {
        let resource = resource::describe(header, &self.labels);
        // A read that fails part way is the attempt's failure: the session stays pending.
        let read_error: RefCell<Option<String>> = RefCell::new(None);
        let pieces = || {
            store.call_pieces(id, PIECE_CALLS).map_while(|piece| {
                piece.map_err(|e| *read_error.borrow_mut() = Some(format!("reading the trace: {e}"))).ok()
            })
        };
        if !self.otlp.is_empty() {
            let roots = otlp::Roots::of(pieces().flatten().map(|c| (c.seq, c.parent)));
            let options = otlp::Options { values: values.clone(), redactor: self.redactor.clone() };
            for receiver in &self.otlp {
                let sent = pieces().try_fold(0u64, |sent, piece| {
                    let requests = otlp::requests_for(header, &piece, &roots, &resource, &options, otlp::BATCH);
                    otlp::send(receiver, &self.tls, &requests).map(|n| sent + n as u64)
                });
                match sent {
                    Ok(n) => outcome.spans_sent += n,
                    Err(e) => {
                        tracing::warn!(id, error = %e, "export failed");
                        outcome.error.get_or_insert_with(|| e.to_string());
                    }
                }
            }
        }
        let options = clickhouse::Options { values: values.clone(), redactor: self.redactor.clone() };
        let cfg = if self.clickhouse.is_empty() {
            None
        } else {
            store.cfg(id).unwrap_or_else(|e| {
                *read_error.borrow_mut() = Some(format!("reading the control-flow graphs: {e}"));
                None
            })
        };
        for server in &self.clickhouse {
            match clickhouse::send_pieces(server, header, &resource, &options, &mut pieces(), cfg.as_ref()) {
                Ok(n) => outcome.rows_sent += n as u64,
                Err(e) => {
                    tracing::warn!(id, error = %e, "export failed");
                    outcome.error.get_or_insert_with(|| e.to_string());
                }
            }
        }
        if let Some(e) = read_error.into_inner() {
            outcome.error.get_or_insert(e);
        }
    }

    /// Sends again every trace still pending in `store`, oldest first; stops at the first
    /// that a receiver still does not take (the rest wait for the next round).
    pub fn retry_pending(&self, store: &Store) {
        let pending = match store.export_pending() {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(error = %e, "reading the pending exports");
                return;
            }
        };
        for (id, values) in pending {
            if self.is_stopped() || !self.export_session(store, id, &values) {
                return;
            }
        }
    }

    /// Gives up the oldest waiting sessions (not being sent by another thread) until the
    /// calls waiting fit [`Self::spool_calls`]; returns whether `current` was one of them.
    fn enforce_spool_cap(&self, store: &Store, current: u64) -> bool {
        let pending = match store.export_pending() {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(error = %e, "reading the pending exports");
                return false;
            }
        };
        let sizes: Vec<(u64, u64)> = pending.iter().map(|(id, _)| (*id, store.count_calls(*id, None) as u64)).collect();
        let mut waiting: u64 = sizes.iter().map(|(_, n)| n).sum();
        let mut gave_up_current = false;
        for (id, n) in sizes {
            if waiting <= self.spool_calls {
                break;
            }
            if id != current && lock(&self.in_flight).contains(&id) {
                continue;
            }
            if let Err(e) = store.clear_export_pending(id) {
                tracing::error!(id, error = %e, "clearing the export mark");
                continue;
            }
            waiting -= n;
            lock(&self.counts).0.dropped += n;
            tracing::warn!(id, calls = n, cap = self.spool_calls, "export given up: the spool is full");
            let mut outcomes = lock(&self.outcomes);
            let outcome = outcomes.entry(id).or_default();
            outcome.dropped = true;
            outcome.error = Some(format!(
                "given up for export: more than {} calls were waiting for a receiver (--export-spool-calls); \
                 the trace stays in the local store",
                self.spool_calls
            ));
            gave_up_current |= id == current;
        }
        gave_up_current
    }

    /// Calls through the export since the daemon started, and the calls waiting in `store`:
    /// `produced = exported + spooled + dropped`.
    ///
    /// # Errors
    /// Store errors reading what waits.
    pub fn call_counts(&self, store: &Store) -> Result<(CallCounts, u64), crate::store::StoreError> {
        let counts = lock(&self.counts).0;
        let spooled = store.export_pending()?.iter().map(|(id, _)| store.count_calls(*id, None) as u64).sum();
        Ok((counts, spooled))
    }

    /// Spans receivers accepted and attempts that failed, since the daemon started.
    #[must_use]
    pub fn totals(&self) -> (u64, u64) {
        (self.spans_sent.load(Ordering::Relaxed), self.failed_attempts.load(Ordering::Relaxed))
    }

    /// Ends the retries (the daemon is stopping).
    pub fn stop(&self) {
        self.stopped.store(true, Ordering::SeqCst);
    }

    /// Whether [`Self::stop`] was called.
    #[must_use]
    pub fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::SeqCst)
    }

    /// Session `id`'s export outcome, once it has been tried.
    #[must_use]
    pub fn outcome(&self, id: u64) -> Option<ExportOutcome> {
        lock(&self.outcomes).get(&id).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sinks_are_otlp_and_clickhouse_urls() {
        let e = Exports::new(&["otlp=http://127.0.0.1:4318".into()], Vec::new(), None).unwrap();
        assert_eq!(e.otlp, [otlp::Receiver::new("http://127.0.0.1:4318", otlp::Protocol::HttpProtobuf)]);
        let e = Exports::new(&["otlp-grpc=https://collector:4317".into()], Vec::new(), None).unwrap();
        assert_eq!(e.otlp, [otlp::Receiver::new("https://collector:4317", otlp::Protocol::Grpc)]);
        assert_eq!(e.destinations(), ["https://collector:4317 (gRPC)"]);
        let e = Exports::new(&["clickhouse=http://127.0.0.1:8123".into()], Vec::new(), None).unwrap();
        assert_eq!(e.clickhouse[0].url, "http://127.0.0.1:8123");
        for bad in ["clickhouse=tcp://h:9000", "otlp", "otlp=ftp://x", "otlp-http=http://x"] {
            let err = Exports::new(&[bad.into()], Vec::new(), None).unwrap_err().to_string();
            assert!(err.contains("otlp-grpc=URL"), "{bad}: {err}");
        }
        let err = Exports::new(&[], Vec::new(), Some(Path::new("/nonexistent/ca.pem"))).unwrap_err().to_string();
        assert!(err.starts_with("--export-ca: /nonexistent/ca.pem: cannot read"), "{err}");
    }
}
