//! The daemon's tracing sessions: each attaches a [`Plan`] and runs the recorder
//! ([`record::record_into`]) on its own thread, streaming completed calls into the
//! [`Store`] in batches.
//!
//! Pipeline, one direction: ring-buffer reader → crossbeam channel → trace builder (on the
//! session thread) → bounded crossbeam channel → writer thread (one sled batch per
//! wake-up, coalescing what queued up). Every stage blocks on a bounded channel, so memory
//! stays bounded and the kernel drops (and counts) what does not fit in the ring.
use std::{
    collections::{HashMap, VecDeque},
    path::PathBuf,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex,
    },
    thread,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use crate::export::Exports;
use crate::locks::lock;
use crate::store::{SessionLimits, SessionRecord, SessionState, Store, StoreError};
use tracer_probe::{
    probes::{
        self,
        arg_overrides::{ArgOverride, ArgOverrideError},
        cfg::{CallBlocks, Cfg, CfgError},
        Plan, PlanError,
    },
    procfs::{self, ResourceSample},
    record::{self, RecordConfig, RecordError, RecordSink, RecordStatus},
    trace::{Call, EndReason, Loss, OnCpu, RetMode, Trace, SCHEMA_VERSION},
};

/// How many resource samples a live session keeps for `GET /v1/sessions/{id}`.
pub const RESOURCE_TAIL: usize = 20;

/// Errors of the session layer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DaemonError {
    /// The request was invalid (the message says why).
    #[error("{0}")]
    Invalid(String),
    /// Attaching to the daemon itself.
    #[error("refusing to attach to the daemon's own PID {0}")]
    OwnPid(u32),
    /// A feature needs a capability the daemon does not have.
    #[error("{feature} needs {capability}, which this daemon does not have (see `tracesynth doctor`)")]
    Lacks {
        /// The feature asked for.
        feature: &'static str,
        /// The capability it needs.
        capability: &'static str,
    },
    /// Finding basic blocks failed.
    #[error(transparent)]
    Cfg(#[from] CfgError),
    /// Fast-entry patching failed as a whole (per-function refusals are warnings).
    #[error(transparent)]
    FastEntry(#[from] tracer_patch::fastentry::FastEntryError),
    /// Resolving the functions failed (no such PID, no such function, ...).
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// Loading or attaching failed.
    #[error(transparent)]
    Record(#[from] RecordError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The session thread ended before reporting.
    #[error("session thread ended unexpectedly: {0}")]
    Thread(String),
}

/// A request to start a session.
#[derive(Clone, Debug)]
pub struct SessionRequest {
    /// Target PID.
    pub pid: u32,
    /// Function names.
    pub functions: Vec<String>,
    /// Also probe every basic block and keep the control-flow graph with hit counts.
    pub blocks: bool,
    /// Limits.
    pub limits: SessionLimits,
    /// Return capture mode.
    pub ret_mode: RetMode,
    /// Patch nop5 trampolines so every function gets a cheap entry probe
    /// ([`tracer_patch::fastentry`]); restored when the session ends.
    pub fast_entry: bool,
    /// With `fast_entry`: call leaves through their trampolines (one probe per call).
    pub call_through: bool,
    /// The local user who asked (`None`: an operator over TCP); only they and operators
    /// see the session and its trace.
    pub owner_uid: Option<u32>,
    /// Whose argument and return values go with the calls when the trace is exported.
    pub export_values: tracer_export::values::ExportValues,
    /// Bytes read at most behind each pointer argument (`None`: the default).
    pub array_cap: Option<u32>,
    /// `--arg` overrides of pointer parameters ([`ArgOverride`]), as given.
    pub args: Vec<String>,
    /// Ring buffer size in MiB (`None`: [`RecordConfig`]'s default).
    pub ring_mb: Option<u32>,
    /// Overhead budget in percent of the target's own CPU time (`None`: the daemon's
    /// default; 0: record every call).
    pub max_overhead: Option<f64>,
    /// Calls shorter than this many µs are left out (`None`: every call).
    pub min_duration_us: Option<f64>,
}

impl SessionRequest {
    /// Checks everything that can be checked without touching the target.
    ///
    /// # Errors
    /// [`DaemonError::Invalid`], [`DaemonError::OwnPid`].
    pub fn validate(&self) -> Result<(), DaemonError> {
        const MAX: u64 = 1_000_000_000_000;
        let invalid = |m: String| Err(DaemonError::Invalid(m));
        if self.pid == 0 {
            return invalid("pid must be a positive process id".into());
        }
        if self.pid == std::process::id() {
            return Err(DaemonError::OwnPid(self.pid));
        }
        if self.max_overhead.is_some_and(|p| !(0.0..=100.0).contains(&p)) {
            return invalid("max_overhead must be a percentage in 0..=100 (0: record every call)".into());
        }
        if let Some(us) = self.min_duration_us {
            if !(0.0..=3.6e9).contains(&us) {
                return invalid(format!("min_duration_us must be a number of µs from 0 to 3.6e9 (an hour), not {us}"));
            }
            if us > 0.0 && self.blocks {
                return invalid("min_duration_us cannot go with blocks: give one or the other".into());
            }
        }
        if self.functions.is_empty() {
            return invalid("functions must name at least one function".into());
        }
        if self.functions.len() > 64 {
            return invalid(format!("at most 64 functions per session, got {}", self.functions.len()));
        }
        if let Some(f) = self.functions.iter().find(|f| f.is_empty() || f.len() > 512) {
            return invalid(format!("function names must be 1 to 512 bytes, got {} bytes", f.len()));
        }
        let l = &self.limits;
        if l.max_calls.is_some_and(|n| n == 0 || n > MAX) {
            return invalid(format!("limits.max_calls must be in 1..={MAX}"));
        }
        if l.max_calls_per_function.is_some_and(|n| n == 0 || n > MAX) {
            return invalid(format!("limits.max_calls_per_function must be in 1..={MAX}"));
        }
        if let Some(s) = l.max_seconds {
            if !(s.is_finite() && s > 0.0 && s <= 30.0 * 86_400.0) {
                return invalid(format!("limits.max_seconds must be in (0, 2592000], got {s}"));
            }
        }
        if let Some(cap) = self.array_cap.filter(|&c| c > probes::MAX_ARRAY_CAP) {
            return invalid(format!("array_cap is at most {} bytes, got {cap}", probes::MAX_ARRAY_CAP));
        }
        if let Some(mb) = self.ring_mb.filter(|&mb| !mb.is_power_of_two() || mb > 1024) {
            return invalid(format!("ring_mb must be a power of two up to 1024, got {mb}"));
        }
        if let Some(name) = self.export_values.unknown(&self.functions).first() {
            return invalid(format!(
                "export_values names `{name}`, which the session does not trace (it traces {})",
                self.functions.join(", ")
            ));
        }
        self.arg_overrides()?;
        Ok(())
    }

    /// [`Self::args`], parsed.
    ///
    /// # Errors
    /// [`DaemonError::Invalid`] for one that does not parse.
    pub fn arg_overrides(&self) -> Result<Vec<ArgOverride>, DaemonError> {
        self.args.iter().map(|a| a.parse().map_err(|e: ArgOverrideError| DaemonError::Invalid(e.to_string()))).collect()
    }
}

/// Live numbers of a running session.
#[derive(Clone, Debug, Default)]
pub struct LiveStatus {
    /// Completed calls per function so far.
    pub calls_per_function: Vec<u64>,
    /// Events per second.
    pub events_per_sec: f64,
    /// Newest resource samples, oldest first.
    pub resources: VecDeque<ResourceSample>,
}

struct LiveSession {
    stop: Arc<AtomicBool>,
    detach: Arc<AtomicBool>,
    status: Arc<Mutex<LiveStatus>>,
    thread: Option<thread::JoinHandle<()>>,
}

/// The daemon's sessions and store. Cheap to clone.
#[derive(Clone)]
pub struct Sessions {
    store: Store,
    live: Arc<Mutex<HashMap<u64, LiveSession>>>,
    exports: Arc<Exports>,
    /// The overhead budget (percent) of sessions that name none.
    default_max_overhead: Option<f64>,
}

fn unix_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

impl Sessions {
    /// Sessions over `store`. Sessions the store says are running were cut off by a
    /// previous daemon's end: they are marked [`SessionState::DaemonStopped`].
    ///
    /// # Errors
    /// Store errors.
    pub fn new(store: Store) -> Result<Self, StoreError> {
        for mut r in store.sessions()? {
            if r.state == SessionState::Running {
                r.state = SessionState::DaemonStopped;
                r.ended_unix_ms.get_or_insert_with(unix_ms);
                store.put_session(&r)?;
            }
        }
        store.flush()?;
        Ok(Self {
            store,
            live: Arc::new(Mutex::new(HashMap::new())),
            exports: Arc::new(Exports::default()),
            default_max_overhead: None,
        })
    }

    /// These sessions keeping their cost within `percent` of the target's own CPU time
    /// unless a session says otherwise (`daemon --max-overhead`).
    #[must_use]
    pub fn with_default_max_overhead(mut self, percent: Option<f64>) -> Self {
        self.default_max_overhead = percent.filter(|p| *p > 0.0);
        self
    }

    /// These sessions sending each ended session's trace to `exports`.
    #[must_use]
    pub fn exporting(mut self, exports: Exports) -> Self {
        self.exports = Arc::new(exports);
        self
    }

    /// Where ended sessions go, and what became of each.
    #[must_use]
    pub fn exports(&self) -> &Exports {
        &self.exports
    }

    /// Retries the exports a receiver has not taken every `interval`, on a thread of its
    /// own, until [`Exports::stop`]; the first round runs at once (traces a stopped
    /// daemon left pending).
    ///
    /// # Errors
    /// The thread cannot start.
    pub fn start_export_retries(&self, interval: Duration) -> Result<(), DaemonError> {
        if !self.exports.any() {
            return Ok(());
        }
        let (exports, store) = (Arc::clone(&self.exports), self.store.clone());
        thread::Builder::new()
            .name("export-retries".into())
            .spawn(move || {
                while !exports.is_stopped() {
                    exports.retry_pending(&store);
                    let mut waited = Duration::ZERO;
                    while waited < interval && !exports.is_stopped() {
                        thread::sleep(Duration::from_millis(100));
                        waited += Duration::from_millis(100);
                    }
                }
            })
            .map(drop)
            .map_err(|e| DaemonError::Thread(e.to_string()))
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Resolves the functions, attaches, and starts capturing on a new thread. Returns
    /// once the probes are attached (or attaching failed).
    ///
    /// Blocking: call it from a blocking context.
    ///
    /// # Errors
    /// Invalid requests, plan errors (no such PID or function), attach errors.
    pub fn attach(&self, request: &SessionRequest) -> Result<SessionRecord, DaemonError> {
        request.validate()?;
        let mut plan = probes::plan(request.pid, &request.functions, request.ret_mode)?;
        plan.apply_arg_overrides(&request.arg_overrides()?).map_err(|e| DaemonError::Invalid(e.to_string()))?;
        if let Some(cap) = request.array_cap {
            plan.set_array_cap(cap);
        }
        let cfg = if request.blocks { Some(probes::cfg::add_block_points(&mut plan)?) } else { None };
        let ptrace_capable = rustix::process::geteuid().is_root()
            || tracer_probe::procfs::has_capability("self", tracer_probe::procfs::CAP_SYS_PTRACE);
        if request.fast_entry && !ptrace_capable {
            return Err(DaemonError::Lacks {
                feature: "fast_entry (patching the target)",
                capability: "CAP_SYS_PTRACE",
            });
        }
        let mut fast_entry = if request.fast_entry {
            let options = tracer_patch::fastentry::Options {
                call_through: request.call_through,
                ..tracer_patch::fastentry::Options::default()
            };
            Some(tracer_patch::fastentry::FastEntry::install(&mut plan, &options)?)
        } else {
            None
        };
        let id = self.store.next_id()?;
        let record = SessionRecord {
            id,
            pid: plan.pid,
            functions: plan.functions.iter().map(|f| f.name.clone()).collect(),
            state: SessionState::Running,
            limits: request.limits,
            started_unix_ms: unix_ms(),
            ended_unix_ms: None,
            calls_per_function: vec![0; plan.functions.len()],
            loss: Loss::default(),
            error: None,
            owner_uid: request.owner_uid,
            max_overhead_percent: request.max_overhead.or(self.default_max_overhead).filter(|p| *p > 0.0),
            sampled_out: 0,
            sampling: None,
        };
        let defaults = RecordConfig::default();
        let config = RecordConfig {
            duration: request.limits.max_seconds.map(Duration::from_secs_f64),
            max_calls: request.limits.max_calls,
            progress: false,
            announce: false,
            ring_bytes: request.ring_mb.map_or(defaults.ring_bytes, |mb| mb << 20),
            max_overhead: record.max_overhead_percent.map(|p| p / 100.0),
            min_duration: request.min_duration_us.filter(|us| *us > 0.0).map(|us| Duration::from_secs_f64(us / 1e6)),
            ..defaults
        };
        let stop = Arc::new(AtomicBool::new(false));
        let detach = Arc::new(AtomicBool::new(false));
        let status = Arc::new(Mutex::new(LiveStatus::default()));
        let (tx, rx) = crossbeam_channel::bounded::<Result<(), RecordError>>(1);
        let (writer_tx, writer) = spawn_writer(self.store.clone(), id, stop.clone())?;
        let mut sink = StoreSink {
            writer_tx: Some(writer_tx),
            writer: Some(writer),
            store: self.store.clone(),
            record: record.clone(),
            plan: plan.clone(),
            stop: stop.clone(),
            status: status.clone(),
            attached: Some(tx),
            stored: vec![0; plan.functions.len()],
            cap: request.limits.max_calls_per_function,
            cap_reached: false,
            cfg,
            capped_seqs: Vec::new(),
            failed: None,
            statuses: 0,
        };
        let (stop_t, detach_t) = (stop.clone(), detach.clone());
        let (exports, store, export_values) =
            (Arc::clone(&self.exports), self.store.clone(), request.export_values.clone());
        let handle = thread::Builder::new()
            .name(format!("session-{id}"))
            .spawn(move || {
                let span = tracing::info_span!("session", id, pid = plan.pid);
                let _enter = span.enter();
                let mut result = record::record_into(&plan, &config, &stop_t, &mut sink);
                let restored = fast_entry.as_mut().map(tracer_patch::fastentry::FastEntry::restore).unwrap_or_default();
                for line in &restored {
                    tracing::info!("{line}");
                }
                if let Ok(trace) = &mut result {
                    trace.warnings.extend(restored);
                }
                sink.finish(result, detach_t.load(Ordering::SeqCst));
                crate::heap::release_free_pages();
                // On a thread of its own: a slow receiver must not hold up a detach or
                // the daemon's shutdown, which wait for this thread.
                if exports.any() {
                    let exporting = thread::Builder::new().name(format!("export-{id}")).spawn(move || {
                        exports.export_session(&store, id, &export_values);
                        crate::heap::release_free_pages();
                    });
                    if let Err(e) = exporting {
                        tracing::error!(id, error = %e, "cannot start the export");
                    }
                }
            })
            .map_err(|e| DaemonError::Thread(e.to_string()))?;
        match rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                let _ = handle.join();
                return Err(e.into());
            }
            Err(_) => {
                let _ = handle.join();
                return Err(DaemonError::Thread("the session ended before attaching".into()));
            }
        }
        tracing::info!(id, pid = request.pid, functions = ?request.functions, "session attached");
        let mut live = lock(&self.live);
        // Forget sessions that ended by themselves (their state is in the store).
        live.retain(|_, s| s.thread.as_ref().is_some_and(|h| !h.is_finished()));
        live.insert(id, LiveSession { stop, detach, status, thread: Some(handle) });
        Ok(record)
    }

    /// Detaches session `id` and waits for its last calls to be stored. `None` when no
    /// session has that id; a session that already ended is returned as it is.
    ///
    /// Blocking.
    ///
    /// # Errors
    /// Store errors.
    pub fn detach(&self, id: u64) -> Result<Option<SessionRecord>, StoreError> {
        let live = lock(&self.live).remove(&id);
        if let Some(mut s) = live {
            s.detach.store(true, Ordering::SeqCst);
            s.stop.store(true, Ordering::SeqCst);
            if let Some(h) = s.thread.take() {
                let _ = h.join();
            }
        }
        self.store.get_session(id)
    }

    /// Session `id` with live numbers (events/s, newest resource samples).
    ///
    /// # Errors
    /// Store errors.
    pub fn get(&self, id: u64) -> Result<Option<(SessionRecord, LiveStatus)>, StoreError> {
        let Some(record) = self.store.get_session(id)? else { return Ok(None) };
        let live = lock(&self.live).get(&id).map(|s| lock(&s.status).clone());
        let mut record = record;
        let status = match live {
            Some(s) if record.state == SessionState::Running => {
                if s.calls_per_function.len() == record.calls_per_function.len() {
                    record.calls_per_function.clone_from(&s.calls_per_function);
                }
                s
            }
            _ => LiveStatus {
                events_per_sec: 0.0,
                resources: self.store.resources(id, Some(RESOURCE_TAIL))?.into(),
                ..LiveStatus::default()
            },
        };
        Ok(Some((record, status)))
    }

    /// Sum of events/s over live sessions.
    pub fn events_per_sec(&self) -> f64 {
        lock(&self.live).values().map(|s| lock(&s.status).events_per_sec).sum()
    }

    /// Stops every session and flushes the store (daemon shutdown).
    pub fn shutdown(&self) {
        let all: Vec<LiveSession> = lock(&self.live).drain().map(|(_, s)| s).collect();
        for s in &all {
            s.stop.store(true, Ordering::SeqCst);
        }
        for mut s in all {
            if let Some(h) = s.thread.take() {
                let _ = h.join();
            }
        }
        if let Err(e) = self.store.flush() {
            tracing::error!(error = %e, "flushing the store at shutdown");
        }
    }
}

/// Streams a session's capture into the store.
struct StoreSink {
    writer_tx: Option<crossbeam_channel::Sender<WriterItem>>,
    writer: Option<Writer>,
    store: Store,
    record: SessionRecord,
    plan: Plan,
    stop: Arc<AtomicBool>,
    status: Arc<Mutex<LiveStatus>>,
    attached: Option<crossbeam_channel::Sender<Result<(), RecordError>>>,
    stored: Vec<u64>,
    cap: Option<u64>,
    cap_reached: bool,
    cfg: Option<Cfg>,
    /// Seqs of the calls the per-function cap kept out of the last delivery (their block
    /// paths are counted in the graphs but not stored).
    capped_seqs: Vec<u64>,
    failed: Option<String>,
    statuses: u64,
}

impl StoreSink {
    fn fail(&mut self, what: &str, e: &StoreError) {
        tracing::error!(error = %e, "{what}");
        self.failed.get_or_insert_with(|| format!("{what}: {e}"));
        self.stop.store(true, Ordering::SeqCst);
    }

    fn header(&self) -> Trace {
        let pid = self.plan.pid;
        Trace {
            schema_version: SCHEMA_VERSION,
            tracer_version: env!("CARGO_PKG_VERSION").into(),
            pid,
            exe: procfs::exe(pid).unwrap_or_else(|_| self.plan.functions[0].object.clone()),
            cmdline: procfs::cmdline(pid),
            start_ns: procfs::monotonic_ns(),
            end_ns: 0,
            start_unix_ms: self.record.started_unix_ms,
            end_reason: EndReason::Interrupted,
            functions: self.plan.functions.clone(),
            calls: Vec::new(),
            resources: Vec::new(),
            resource_interval_ms: 100,
            loss: Loss::default(),
            on_cpu: OnCpu { available: false, detail: "session still running".into() },
            warnings: self.plan.warnings.clone(),
            sampling: Vec::new(),
            min_duration: None,
        }
    }

    fn finish(&mut self, result: Result<Trace, RecordError>, detached: bool) {
        // The writer stores what is queued and ends when its channel closes.
        self.writer_tx = None;
        if let Some(w) = self.writer.take() {
            match w.join() {
                Ok(Some(e)) => {
                    self.failed.get_or_insert(e);
                }
                Ok(None) => {}
                Err(_) => {
                    self.failed.get_or_insert_with(|| "the writer thread panicked".into());
                }
            }
        }
        let mut trace = match result {
            Ok(t) => t,
            Err(e) => {
                let msg = e.to_string();
                if let Some(tx) = self.attached.take() {
                    let _ = tx.send(Err(e));
                    return;
                }
                self.record.state = SessionState::Failed;
                self.record.error = Some(msg);
                let _ = self.store.put_session(&self.record);
                return;
            }
        };
        self.record.state = if let Some(f) = &self.failed {
            self.record.error = Some(f.clone());
            SessionState::Failed
        } else if detached {
            trace.end_reason = EndReason::Detached;
            SessionState::Detached
        } else {
            match &trace.end_reason {
                EndReason::TargetExited => SessionState::TargetExited,
                EndReason::CallLimit => SessionState::CallLimit,
                EndReason::Duration => SessionState::Duration,
                EndReason::Interrupted if self.cap_reached => {
                    trace.end_reason = EndReason::CallLimit;
                    SessionState::CallLimit
                }
                EndReason::Interrupted | EndReason::Detached => SessionState::DaemonStopped,
                EndReason::Error(e) => {
                    self.record.error = Some(e.clone());
                    SessionState::Failed
                }
            }
        };
        self.record.loss = trace.loss;
        self.record.ended_unix_ms = Some(unix_ms());
        let result = self
            .store
            .put_trace_header(self.record.id, &trace)
            .and_then(|()| self.store.put_session(&self.record))
            .and_then(|()| self.store.flush());
        if let Err(e) = result {
            tracing::error!(error = %e, "storing the end of the session");
        }
        tracing::info!(state = ?self.record.state, calls = ?self.record.calls_per_function, "session ended");
    }
}

impl RecordSink for StoreSink {
    fn attached(&mut self) {
        let header = self.header();
        let result = self
            .store
            .put_trace_header(self.record.id, &header)
            .and_then(|()| self.store.put_session(&self.record))
            .and_then(|()| self.cfg.as_ref().map_or(Ok(()), |c| self.store.put_cfg(self.record.id, c)));
        if let Err(e) = result {
            self.fail("storing the session", &e);
        }
        if let Some(tx) = self.attached.take() {
            let _ = tx.send(Ok(()));
        }
    }

    fn calls(&mut self, mut calls: Vec<Call>) {
        for c in &calls {
            if let Some(n) = self.record.calls_per_function.get_mut(c.function as usize) {
                *n += 1;
            }
        }
        self.capped_seqs.clear();
        if let Some(cap) = self.cap {
            let stored = &mut self.stored;
            let capped = &mut self.capped_seqs;
            calls.retain(|c| {
                let n = &mut stored[c.function as usize];
                *n += 1;
                if *n > cap {
                    capped.push(c.seq);
                }
                *n <= cap
            });
            if !self.cap_reached && self.stored.iter().all(|&n| n >= cap) {
                self.cap_reached = true;
                self.stop.store(true, Ordering::SeqCst);
            }
        }
        lock(&self.status).calls_per_function.clone_from(&self.record.calls_per_function);
        if let Some(tx) = &self.writer_tx {
            if !calls.is_empty() && tx.send(WriterItem::Calls(calls)).is_err() {
                self.stop.store(true, Ordering::SeqCst);
            }
        }
    }

    fn call_blocks(&mut self, mut paths: Vec<CallBlocks>) {
        let Some(cfg) = &mut self.cfg else { return };
        for p in &paths {
            cfg.add_call(p);
        }
        if !self.capped_seqs.is_empty() {
            paths.retain(|p| !self.capped_seqs.contains(&p.seq));
        }
        if let Some(tx) = &self.writer_tx {
            if !paths.is_empty() && tx.send(WriterItem::Paths(paths)).is_err() {
                self.stop.store(true, Ordering::SeqCst);
            }
        }
    }

    fn status(&mut self, status: &RecordStatus) {
        self.record.loss.produced = status.produced;
        self.record.loss.received = status.received;
        self.record.loss.dropped = status.dropped;
        self.record.sampled_out = status.sampled_out;
        if status.budget.is_some() {
            self.record.sampling.clone_from(&status.budget);
        }
        {
            let mut live = lock(&self.status);
            live.events_per_sec = status.events_per_sec;
            if let Some(s) = status.resource {
                live.resources.push_back(s);
                if live.resources.len() > RESOURCE_TAIL {
                    live.resources.pop_front();
                }
            }
        }
        if let Some(s) = &status.resource {
            if let Err(e) = self.store.put_resource(self.record.id, s) {
                self.fail("storing a resource sample", &e);
            }
        }
        self.statuses += 1;
        if let Some(cfg) = &mut self.cfg {
            cfg.set_hits(&status.block_hits);
            cfg.unattributed_blocks = status.unattributed_blocks;
        }
        if self.statuses >= 5 || status.resource.is_none() {
            self.statuses = 0;
            let stored = self.cfg.as_ref().map_or(Ok(()), |c| self.store.put_cfg(self.record.id, c));
            if let Err(e) = stored {
                self.fail("storing block hits", &e);
            }
            if let Err(e) = self.store.put_session(&self.record) {
                self.fail("storing the session", &e);
            }
        }
    }
}

/// Deliveries of calls waiting for the writer thread (each a few thousand calls at most).
const WRITER_QUEUE: usize = 16;
/// Calls and block paths the writer stores in one sled batch at most.
const WRITE_BATCH: usize = 16_384;

/// The writer thread; it returns the store error that stopped it, if any.
type Writer = thread::JoinHandle<Option<String>>;

/// What the writer thread stores.
enum WriterItem {
    Calls(Vec<Call>),
    Paths(Vec<CallBlocks>),
}

/// Starts the thread that stores a session's calls: it takes whatever queued up, writes it
/// as one sled batch, and ends when the channel closes. On a store error it stops the
/// session and returns the message.
fn spawn_writer(
    store: Store,
    id: u64,
    stop: Arc<AtomicBool>,
) -> Result<(crossbeam_channel::Sender<WriterItem>, Writer), DaemonError> {
    let (tx, rx) = crossbeam_channel::bounded::<WriterItem>(WRITER_QUEUE);
    let handle = thread::Builder::new()
        .name(format!("session-{id}-writer"))
        .spawn(move || {
            let mut failed = None;
            while let Ok(first) = rx.recv() {
                let (mut calls, mut paths) = (Vec::new(), Vec::new());
                let mut item = Some(first);
                while let Some(next) = item.take() {
                    match next {
                        WriterItem::Calls(c) => calls.extend(c),
                        WriterItem::Paths(p) => paths.extend(p),
                    }
                    if calls.len() + paths.len() < WRITE_BATCH {
                        item = rx.try_recv().ok();
                    }
                }
                if failed.is_some() {
                    continue;
                }
                let result = store.put_calls(id, &calls).and_then(|()| store.put_call_blocks(id, &paths));
                if let Err(e) = result {
                    tracing::error!(error = %e, id, "storing calls");
                    failed = Some(format!("storing calls: {e}"));
                    stop.store(true, Ordering::SeqCst);
                }
            }
            failed
        })
        .map_err(|e| DaemonError::Thread(e.to_string()))?;
    Ok((tx, handle))
}

/// The default data directory: `$XDG_DATA_HOME/tracesynth`, else
/// `~/.local/share/tracesynth`.
pub fn default_data_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("XDG_DATA_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(d).join("tracesynth");
    }
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("/root"), PathBuf::from);
    home.join(".local/share/tracesynth")
}
