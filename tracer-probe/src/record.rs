//! A recording session: attach a plan, read the ring buffer on a thread, build calls,
//! sample resources, stop on a limit, Ctrl-C or target exit, and assemble the [`Trace`].
use std::{
    io::IsTerminal as _,
    sync::{
        atomic::{AtomicBool, AtomicU8, Ordering},
        Arc,
    },
    thread,
    time::{Duration, Instant},
};

use aya::maps::{MapData, RingBuf};
use crossbeam_channel::{bounded, RecvTimeoutError, Sender};

use crate::{
    budget::{Decision, Governor},
    builder::TraceBuilder,
    probes::{cfg::CallBlocks, loader, loader::LoadError, Plan},
    procfs,
    trace::{Call, EndReason, Loss, MinDuration, Trace, SCHEMA_VERSION},
};

/// Settings of one recording.
#[derive(Clone, Debug)]
pub struct RecordConfig {
    /// Stop after this long.
    pub duration: Option<Duration>,
    /// Stop after this many completed calls.
    pub max_calls: Option<u64>,
    /// Stop once this many distinct argument tuples have been seen (over all functions)...
    pub max_distinct_inputs: Option<usize>,
    /// ...and, with block probes, no new block has been reached for this long (coverage
    /// has stopped growing).
    pub coverage_stable: Option<Duration>,
    /// Resource sampling interval.
    pub resource_interval: Duration,
    /// Ring buffer size in bytes (power of two, multiple of the page size).
    pub ring_bytes: u32,
    /// Show a live progress line on stderr.
    pub progress: bool,
    /// Print "attached N probes to PID P" on stderr once the probes are in place.
    pub announce: bool,
    /// Keep the probes' cost to the target within this fraction of its own CPU time (0.01
    /// is 1 %) by sampling calls in the kernel and removing the probes part of the time
    /// (see [`crate::budget`]); `None`: record every call.
    pub max_overhead: Option<f64>,
    /// Record one call in this many of every function, sampled in the kernel (per CPU);
    /// `None`: every call, or what [`Self::max_overhead`] decides.
    pub sample_every: Option<u32>,
    /// Leave out calls shorter than this, in the kernel where the entry reads only
    /// registers (see [`loader::KernelFilters::min_duration_ns`]); `None`: every call.
    pub min_duration: Option<Duration>,
}

impl Default for RecordConfig {
    fn default() -> Self {
        Self {
            duration: None,
            max_calls: None,
            max_distinct_inputs: None,
            coverage_stable: None,
            resource_interval: Duration::from_millis(100),
            ring_bytes: 16 * 1024 * 1024,
            progress: true,
            announce: false,
            max_overhead: None,
            sample_every: None,
            min_duration: None,
        }
    }
}

/// Records delimited in one contiguous buffer, to move many events per channel message.
#[derive(Debug, Default)]
pub struct Batch {
    data: Vec<u8>,
    ends: Vec<u32>,
}

impl Batch {
    fn push(&mut self, record: &[u8]) {
        self.data.extend_from_slice(record);
        self.ends.push(self.data.len() as u32);
    }
    fn len(&self) -> usize {
        self.ends.len()
    }
    /// The records in order.
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> {
        let mut start = 0usize;
        self.ends.iter().map(move |&end| {
            let r = &self.data[start..end as usize];
            start = end as usize;
            r
        })
    }
}

/// Records per batch the reader sends.
const BATCH_RECORDS: usize = 4096;
/// Batches waiting for the recording thread.
const READER_BATCHES: usize = 32;

/// How long a stopping recording waits for the calls in flight to return.
const IN_FLIGHT_WAIT: Duration = Duration::from_millis(500);
/// How far past `--duration` a recording may end before the trace says why.
const DURATION_SLACK: Duration = Duration::from_millis(250);

const RUNNING: u8 = 0;
const FINAL_DRAIN: u8 = 1;

/// The ring-buffer reader thread: polls on an adaptive interval (the probes submit with
/// `BPF_RB_NO_WAKEUP`) and forwards batches; on [`FINAL_DRAIN`] empties the ring and ends.
pub struct Reader {
    phase: Arc<AtomicU8>,
    handle: Option<thread::JoinHandle<()>>,
}

impl Reader {
    /// Starts the thread. Sending blocks when the channel is full, so memory stays bounded;
    /// the kernel then drops (and counts) what does not fit in the ring.
    pub fn spawn(mut ring: RingBuf<MapData>, tx: Sender<Batch>) -> Self {
        let phase = Arc::new(AtomicU8::new(RUNNING));
        let p = phase.clone();
        let handle = thread::Builder::new()
            .name("ringbuf-reader".into())
            .spawn(move || {
                let mut sleep_ms = 1u64;
                loop {
                    let draining = p.load(Ordering::Acquire) == FINAL_DRAIN;
                    let mut batch = Batch::default();
                    let mut total = 0usize;
                    while let Some(item) = ring.next() {
                        batch.push(&item);
                        total += 1;
                        if batch.len() >= BATCH_RECORDS && tx.send(std::mem::take(&mut batch)).is_err() {
                            return;
                        }
                    }
                    if batch.len() > 0 && tx.send(batch).is_err() {
                        return;
                    }
                    if draining {
                        return;
                    }
                    sleep_ms = if total > 2048 { 1 } else { (sleep_ms * 2).min(16) };
                    thread::sleep(Duration::from_millis(sleep_ms));
                }
            })
            .expect("spawn reader thread");
        Self { phase, handle: Some(handle) }
    }

    /// Asks for a last drain; the thread ends when the ring is empty.
    pub fn final_drain(&mut self) {
        self.phase.store(FINAL_DRAIN, Ordering::Release);
    }

    /// Waits for the thread.
    pub fn join(&mut self) {
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// Errors of a recording.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// Loading or attaching failed.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// Block probes and a minimum duration together: a held entry's block hits would
    /// arrive before it.
    #[error("a minimum duration cannot go with block probes (--blocks): give one or the other")]
    BlocksWithMinDuration,
}

/// Live numbers for a progress display.
#[derive(Clone, Debug, Default)]
pub struct Progress {
    /// Records received so far.
    pub received: u64,
    /// Completed calls per function.
    pub calls: Vec<u64>,
    /// Dropped events so far (kernel counter).
    pub dropped: u64,
    /// Events per second over the last interval.
    pub events_per_sec: f64,
}

/// `ns` as a person would write it: `50 µs`, `2 ms`, `1.5 s`.
fn format_ns(ns: u64) -> String {
    match ns {
        0..=9_999 => format!("{ns} ns"),
        10_000..=9_999_999 => format!("{} µs", ns as f64 / 1e3),
        10_000_000..=9_999_999_999 => format!("{} ms", ns as f64 / 1e6),
        _ => format!("{} s", ns as f64 / 1e9),
    }
}

/// Attaches `plan`, records until a limit, `stop`, or the target's exit, and returns the
/// trace. Calls already captured are kept whatever ends the recording.
///
/// # Errors
/// When the probes cannot be loaded or attached (nothing is recorded then).
pub fn record(plan: &Plan, config: &RecordConfig, stop: &AtomicBool) -> Result<Trace, RecordError> {
    let mut keep = KeepCalls(Vec::new(), Vec::new());
    let mut trace = record_into(plan, config, stop, &mut keep)?;
    trace.calls = keep.0;
    trace.calls.sort_by_key(|c| c.seq);
    Ok(trace)
}

/// Where [`record_into`] sends what it captures, on the recording thread.
pub trait RecordSink {
    /// The probes are attached; calls follow.
    fn attached(&mut self) {}
    /// Calls completed since the last delivery, in completion order.
    fn calls(&mut self, calls: Vec<Call>);
    /// Block paths of the calls just delivered to [`Self::calls`] (only with block
    /// probes, see [`Plan::cfg`]).
    fn call_blocks(&mut self, _paths: Vec<CallBlocks>) {}
    /// Live numbers, once per resource interval, with the newest resource sample.
    fn status(&mut self, _status: &RecordStatus) {}
}

/// Keeps every call in memory (what [`record`] does), and the block paths when there are
/// block probes ([`record_with_paths`]).
struct KeepCalls(Vec<Call>, Vec<CallBlocks>);

impl RecordSink for KeepCalls {
    fn calls(&mut self, calls: Vec<Call>) {
        self.0.extend(calls);
    }

    fn call_blocks(&mut self, paths: Vec<CallBlocks>) {
        self.1.extend(paths);
    }
}

/// [`record`] for a plan with block probes ([`Plan::cfg`]): also the block path of every
/// call.
///
/// # Errors
/// As [`record`].
pub fn record_with_paths(
    plan: &Plan,
    config: &RecordConfig,
    stop: &AtomicBool,
) -> Result<(Trace, Vec<CallBlocks>), RecordError> {
    let mut keep = KeepCalls(Vec::new(), Vec::new());
    let mut trace = record_into(plan, config, stop, &mut keep)?;
    trace.calls = keep.0;
    trace.calls.sort_by_key(|c| c.seq);
    Ok((trace, keep.1))
}

/// Live numbers of a running recording, handed to [`RecordSink::status`].
#[derive(Clone, Debug, Default)]
pub struct RecordStatus {
    /// Completed calls per function.
    pub calls_per_function: Vec<u64>,
    /// Events the probes tried to emit (kernel counter).
    pub produced: u64,
    /// Records received.
    pub received: u64,
    /// Events dropped because the ring buffer was full.
    pub dropped: u64,
    /// Events per second over the last half second or so.
    pub events_per_sec: f64,
    /// The newest resource sample of the target, if one was taken this interval.
    pub resource: Option<procfs::ResourceSample>,
    /// Hits per probe id (block probes, and entry probes standing for entry blocks; see
    /// [`crate::probes::cfg`]).
    pub block_hits: Vec<u64>,
    /// Block hits with no open call of their function on their thread.
    pub unattributed_blocks: u64,
    /// Calls skipped by in-kernel sampling (kernel counter).
    pub sampled_out: u64,
    /// The overhead budget's newest decision, when there is a budget.
    pub budget: Option<Decision>,
}

/// Like [`record`], but hands completed calls to `sink` as they are built instead of
/// keeping them: the returned trace has no calls, everything else is filled in.
///
/// # Errors
/// When the probes cannot be loaded or attached (nothing is recorded then).
pub fn record_into(
    plan: &Plan,
    config: &RecordConfig,
    stop: &AtomicBool,
    sink: &mut dyn RecordSink,
) -> Result<Trace, RecordError> {
    let start_ns = procfs::monotonic_ns();
    let start_unix_ms =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
    // Measured before the probes go on (once per process), so it costs the target nothing.
    let costs = config.max_overhead.map(|_| crate::budget::call_costs());
    let attaching = Instant::now();
    let sample_every = config.sample_every.unwrap_or(1).max(1);
    let min_duration_ns = config.min_duration.map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
    if min_duration_ns > 0 && plan.points.iter().any(|p| p.kind == tracer_common::EventKind::Block) {
        return Err(RecordError::BlocksWithMinDuration);
    }
    let filters = loader::KernelFilters { sample_every, min_duration_ns };
    let (mut attached, ring) = loader::attach_filtered(plan, config.ring_bytes, filters)?;
    // The recording starts when `record` is called: capture stops the time attaching took
    // before `--duration` (at half of it at the latest), and the trace says when stopping
    // then overran it.
    let attach_took = attaching.elapsed();
    let capture_for = config.duration.map(|d| d.saturating_sub(attach_took).max(d / 2));
    if config.announce {
        eprintln!("attached {} probes to PID {}", plan.points.len(), plan.pid);
    }
    sink.attached();
    // At most about as many records waiting here as the ring holds: the ring is the buffer.
    let (tx, rx) = bounded::<Batch>(READER_BATCHES);
    let mut reader = Reader::spawn(ring, tx);
    let mut builder = TraceBuilder::new(&plan.functions, &plan.points).with_layouts(&plan.layouts);
    builder.set_min_duration(min_duration_ns);
    builder.entries_attached_at(procfs::monotonic_ns());
    if let Some(cfg) = &plan.cfg {
        builder.track_blocks(cfg);
    }
    let mut fixed_sampling = Vec::new();
    if sample_every > 1 {
        fixed_sampling.push(crate::trace::Sampling {
            from_ns: start_ns,
            sample_every: vec![sample_every; plan.functions.len()],
            duty: 1.0,
        });
    }
    let mut governor = config.max_overhead.zip(costs).map(|(max, costs)| Governor::new(plan, max, costs, &attached));
    let mut resources = Vec::new();
    if let Ok(s) = procfs::sample(plan.pid) {
        resources.push(s);
    }

    let bar = (config.progress && std::io::stderr().is_terminal()).then(|| {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} [{elapsed_precise}] {msg}").expect("valid template"),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    });

    let mut distinct_inputs = std::collections::HashSet::new();
    // Blocks reached so far, and when that last grew.
    let mut coverage = (0usize, Instant::now());
    let started = Instant::now();
    let mut last_sample = Instant::now();
    let mut last_rate = (Instant::now(), 0u64);
    let mut rate = 0.0;
    let end_reason = loop {
        match rx.recv_timeout(Duration::from_millis(10)) {
            Ok(batch) => {
                for r in batch.iter() {
                    builder.push_bytes(r);
                }
                let ready = builder.take_ready();
                if config.max_distinct_inputs.is_some() {
                    for c in ready.iter().filter(|c| c.is_complete()) {
                        distinct_inputs.insert(format!("{}{:?}", c.function, c.args));
                    }
                }
                deliver(sink, ready);
                deliver_paths(sink, builder.take_ready_paths());
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break EndReason::Error("ring buffer reader stopped".into()),
        }
        if let Some(governor) = &mut governor {
            if let Err(e) = governor.tick(&mut attached, &mut builder) {
                break EndReason::Error(format!("overhead budget: cannot switch the probes: {e}"));
            }
        }
        if let Some(max) = config.max_calls {
            if builder.completed() >= max {
                break EndReason::CallLimit;
            }
        }
        if config.coverage_stable.is_some() {
            let reached = builder.block_hits.iter().filter(|h| **h > 0).count();
            if reached > coverage.0 {
                coverage = (reached, Instant::now());
            }
        }
        let coverage_done = config.coverage_stable.is_none_or(|d| coverage.1.elapsed() >= d);
        if config.max_distinct_inputs.is_some_and(|n| distinct_inputs.len() >= n) && coverage_done {
            break EndReason::CallLimit;
        }
        if capture_for.is_some_and(|d| started.elapsed() >= d) {
            break EndReason::Duration;
        }
        if stop.load(Ordering::Relaxed) {
            break EndReason::Interrupted;
        }
        if last_sample.elapsed() >= config.resource_interval {
            last_sample = Instant::now();
            let mut newest = None;
            match procfs::sample(plan.pid) {
                Ok(s) => {
                    newest = Some(s);
                    resources.push(s);
                }
                Err(_) if !procfs::process_alive(plan.pid) => break EndReason::TargetExited,
                Err(_) => {}
            }
            let elapsed = last_rate.0.elapsed().as_secs_f64();
            if elapsed >= 0.5 {
                rate = (builder.received - last_rate.1) as f64 / elapsed;
                last_rate = (Instant::now(), builder.received);
            }
            let (produced, dropped) = attached.counters();
            sink.status(&RecordStatus {
                calls_per_function: builder.calls_per_function.clone(),
                produced,
                received: builder.received,
                dropped,
                events_per_sec: rate,
                resource: newest,
                block_hits: builder.block_hits.clone(),
                unattributed_blocks: builder.unattributed_blocks,
                sampled_out: attached.sampled_out(),
                budget: governor.as_ref().and_then(|g| g.last.clone()),
            });
            if let Some(bar) = &bar {
                let (_, dropped) = attached.counters();
                bar.set_message(progress_line(plan, &builder.calls_per_function, rate, dropped));
            }
        }
    };

    // Stop: no new calls (entry probes off), let the calls in flight return through the
    // return probes still attached (bounded), then detach those and drain everything left.
    let detaching = Instant::now();
    if let Some(governor) = &mut governor {
        governor.finish();
    }
    builder.entries_detached_at(procfs::monotonic_ns());
    if let Err(e) = attached.switch_entries_off() {
        tracing::warn!(error = %e, "cannot switch the entry probes off; removing them instead");
        attached.detach_entries();
    }
    // Events stamped after this were produced after every entry probe was gone.
    let detached_ns = procfs::monotonic_ns();
    let in_flight_until = Instant::now() + IN_FLIGHT_WAIT;
    let mut quiet_since = Instant::now();
    while Instant::now() < in_flight_until {
        match rx.recv_timeout(Duration::from_millis(5)) {
            Ok(batch) => {
                for r in batch.iter() {
                    builder.push_bytes(r);
                }
                deliver(sink, builder.take_ready());
                deliver_paths(sink, builder.take_ready_paths());
                quiet_since = Instant::now();
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
        // Everything produced before the entry probes went has been read once an event
        // from after it has (give or take another CPU's late reservation), or once the
        // ring stays quiet for longer than the reader's longest poll.
        let caught_up =
            builder.newest_ns > detached_ns + 1_000_000 || quiet_since.elapsed() >= Duration::from_millis(40);
        if builder.open_calls() == 0 && caught_up {
            break;
        }
    }
    let waited = detaching.elapsed();
    attached.detach();
    let detach_took = detaching.elapsed() - waited;
    let draining = Instant::now();
    thread::sleep(Duration::from_millis(20));
    reader.final_drain();
    // The reader drops its sender when the ring is empty, which ends this loop.
    for batch in rx.iter() {
        for r in batch.iter() {
            builder.push_bytes(r);
        }
        deliver(sink, builder.take_ready());
        deliver_paths(sink, builder.take_ready_paths());
    }
    reader.join();
    let drain_took = draining.elapsed();
    deliver(sink, builder.finish_all());
    deliver_paths(sink, builder.take_ready_paths());
    let (produced, dropped) = attached.counters();
    // Last numbers, after the final drain.
    sink.status(&RecordStatus {
        calls_per_function: builder.calls_per_function.clone(),
        produced,
        received: builder.received,
        dropped,
        events_per_sec: 0.0,
        resource: None,
        block_hits: builder.block_hits.clone(),
        unattributed_blocks: builder.unattributed_blocks,
        sampled_out: attached.sampled_out(),
        budget: governor.as_ref().and_then(|g| g.last.clone()),
    });
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let mut warnings = plan.warnings.clone();
    if let Some(asked) = config.duration {
        let took = started.elapsed() + attach_took;
        if took > asked + DURATION_SLACK {
            warnings.push(format!(
                "the recording took {:.1} s, more than --duration {:.1} s: attaching took {:.1} s, \
                 waiting for the calls in flight to return {:.1} s, removing {} probes {:.1} s (the \
                 kernel waits for an RCU grace period per probe), and reading the events still \
                 buffered {:.1} s",
                took.as_secs_f64(),
                asked.as_secs_f64(),
                attach_took.as_secs_f64(),
                waited.as_secs_f64(),
                plan.points.len(),
                detach_took.as_secs_f64(),
                drain_took.as_secs_f64(),
            ));
        }
    }
    let [lost, still_running] = builder.incomplete;
    if lost + still_running > 0 {
        warnings.push(format!(
            "{} calls are marked incomplete and left out of carving: {lost} whose return was lost \
             (dropped events, longjmp, exceptions), {still_running} still running when the return \
             probes were removed",
            lost + still_running
        ));
    }
    if dropped > 0 {
        warnings.push(format!(
            "{dropped} events were dropped because the ring buffer was full (per CPU: {:?})",
            attached.dropped_per_cpu()
        ));
    }
    if min_duration_ns > 0 {
        warnings.push(format!(
            "calls shorter than {} were left out: {} in the kernel, {} after it (functions that read memory at entry)",
            format_ns(min_duration_ns),
            attached.filtered_short(),
            builder.left_out_short
        ));
    }
    let sampling = governor.map(|g| {
        if !g.timeline.is_empty() {
            let sampled_out = attached.sampled_out();
            let most = g.timeline.iter().flat_map(|s| s.sample_every.iter().copied()).max().unwrap_or(1);
            warnings.push(format!(
                "the overhead budget of {:.2} % sampled the calls: at most 1 in {most} recorded in the kernel \
                 ({sampled_out} skipped), probes attached {:.2} % of the time, estimated overhead \
                 {:.2} %; each call's weight (calls it stands for) is in the trace's sampling timeline",
                g.max() * 100.0,
                g.duty_so_far() * 100.0,
                g.overhead_so_far() * 100.0,
            ));
        }
        g.timeline
    });
    Ok(Trace {
        schema_version: SCHEMA_VERSION,
        tracer_version: env!("CARGO_PKG_VERSION").into(),
        pid: plan.pid,
        exe: procfs::exe(plan.pid).unwrap_or_else(|_| plan.functions[0].object.clone()),
        cmdline: procfs::cmdline(plan.pid),
        start_ns,
        end_ns: procfs::monotonic_ns(),
        start_unix_ms,
        end_reason,
        functions: plan.functions.clone(),
        calls: Vec::new(),
        resources,
        resource_interval_ms: config.resource_interval.as_millis() as u64,
        loss: Loss {
            produced,
            received: builder.received,
            dropped,
            unmatched_returns: builder.unmatched_returns,
            incomplete_calls: builder.incomplete.iter().sum(),
        },
        on_cpu: attached.on_cpu.clone(),
        warnings,
        sampling: sampling.unwrap_or(fixed_sampling),
        min_duration: (min_duration_ns > 0)
            .then(|| MinDuration { ns: min_duration_ns, left_out: attached.filtered_short() + builder.left_out_short }),
    })
}

fn deliver(sink: &mut dyn RecordSink, calls: Vec<Call>) {
    if !calls.is_empty() {
        sink.calls(calls);
    }
}

fn deliver_paths(sink: &mut dyn RecordSink, paths: Vec<CallBlocks>) {
    if !paths.is_empty() {
        sink.call_blocks(paths);
    }
}

/// One line of live status: events/s, calls per function, dropped.
pub fn progress_line(plan: &Plan, calls: &[u64], events_per_sec: f64, dropped: u64) -> String {
    let per_function: Vec<String> = plan.functions.iter().zip(calls).map(|(f, n)| format!("{} {n}", f.name)).collect();
    format!("{events_per_sec:.0} events/s | calls: {} | dropped {dropped}", per_function.join(", "))
}
