//! Where a daemon sends the traces of its sessions: OTLP receivers (`--export
//! otlp=URL`, or `$OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` / `$OTEL_EXPORTER_OTLP_ENDPOINT`),
//! each trace once its session has ended, with the operator's labels as resource
//! attributes and string values redacted. What was sent, or why not, is kept per session for the session view.
use std::{collections::HashMap, sync::Mutex};

use serde::Serialize;
use tracer_export::{otlp, redact::Redactor, resource};

use crate::{locks::lock, store::Store};

/// A sink given on the command line that this daemon cannot send to.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Not `KIND=URL`, or a kind not supported.
    #[error("--export {0:?}: give otlp=URL (an OTLP/HTTP receiver such as http://HOST:4318)")]
    Sink(String),
}

/// The daemon's sinks and labels.
#[derive(Debug, Default)]
pub struct Exports {
    /// OTLP/HTTP receivers.
    pub otlp: Vec<String>,
    /// Resource attributes that name this host or service (`host.name=web-7`).
    pub labels: Vec<(String, String)>,
    /// Applied to every string value a session exports.
    pub redactor: Redactor,
    outcomes: Mutex<HashMap<u64, ExportOutcome>>,
}

/// What became of one session's export.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ExportOutcome {
    /// Spans the receivers accepted (summed over receivers).
    pub spans_sent: u64,
    /// Why a receiver did not take them (the first failure).
    pub error: Option<String>,
}

impl Exports {
    /// Sinks from `--export KIND=URL` arguments (the standard OTLP variables when there
    /// are none) and labels from `--label`.
    ///
    /// # Errors
    /// A sink that is not `otlp=URL`.
    pub fn new(sinks: &[String], labels: Vec<(String, String)>) -> Result<Self, ExportError> {
        let mut otlp = Vec::new();
        for sink in sinks {
            match sink.split_once('=') {
                Some(("otlp", url)) if url.starts_with("http://") || url.starts_with("https://") => {
                    otlp.push(url.to_owned());
                }
                _ => return Err(ExportError::Sink(sink.clone())),
            }
        }
        if sinks.is_empty() {
            otlp.extend(otlp::endpoint_from_env());
        }
        Ok(Self { otlp, labels, redactor: Redactor::default(), outcomes: Mutex::new(HashMap::new()) })
    }

    /// Whether there is anywhere to send.
    #[must_use]
    pub fn any(&self) -> bool {
        !self.otlp.is_empty()
    }

    /// Sends session `id`'s stored trace to every receiver, with argument and return
    /// values only when `with_values`; records the outcome.
    pub fn export_session(&self, store: &Store, id: u64, with_values: bool) {
        if !self.any() {
            return;
        }
        let mut outcome = ExportOutcome::default();
        match store.trace(id) {
            Ok(Some(trace)) => {
                let resource = resource::describe(&trace, &self.labels);
                let options = otlp::Options { with_values, redactor: self.redactor.clone() };
                let requests = otlp::requests(&trace, &resource, &options, otlp::BATCH);
                for url in &self.otlp {
                    match otlp::send(url, &requests) {
                        Ok(n) => outcome.spans_sent += n as u64,
                        Err(e) => {
                            tracing::warn!(id, error = %e, "export failed");
                            outcome.error.get_or_insert_with(|| e.to_string());
                        }
                    }
                }
            }
            Ok(None) => outcome.error = Some("the session stored no trace".into()),
            Err(e) => outcome.error = Some(format!("reading the trace: {e}")),
        }
        tracing::info!(id, spans = outcome.spans_sent, "session exported");
        lock(&self.outcomes).insert(id, outcome);
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
    fn sinks_are_otlp_urls() {
        let e = Exports::new(&["otlp=http://127.0.0.1:4318".into()], Vec::new()).unwrap();
        assert_eq!(e.otlp, ["http://127.0.0.1:4318"]);
        for bad in ["clickhouse=http://h:8123", "otlp", "otlp=ftp://x"] {
            assert!(Exports::new(&[bad.into()], Vec::new()).is_err(), "{bad}");
        }
    }
}
