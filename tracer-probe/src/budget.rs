//! Keeping a recording's cost to its target inside an overhead budget (`--max-overhead`).
//!
//! A probe hit costs the target a trap into the kernel (how much depends on the probed
//! instruction, see [`SiteCost`]) and, for a recorded call, building its events. What a
//! call costs is measured once per process by [`call_costs`]: probes on three functions of
//! this process, one per [`SiteCost`], timed with and without them. Each control window a
//! [`Controller`] prices the hits the probes counted against the target's own CPU time in
//! that window and picks what to do next:
//!
//! - within the budget: record every call;
//! - over it, but the traps alone fit: record one call in N per function, in the kernel,
//!   before any event is built ([`crate::probes::loader::Attached::set_sample_every`]);
//! - the traps alone do not fit: record every call, but only a fraction of the time (the
//!   duty cycle): the probes are removed for the rest, so the target runs at full speed.
//!
//! Every recorded call stands for `sample_every / duty` calls (its weight); the trace keeps
//! the sampling in force over time ([`crate::trace::Sampling`]).
use std::{
    sync::OnceLock,
    time::{Duration, Instant},
};

use tracer_common::EventKind;

use crate::{
    builder::TraceBuilder,
    probes::{
        self,
        loader::{self, Attached, LoadError},
        site::SiteCost,
        Plan, RetMode,
    },
    procfs,
    trace::Sampling,
};

/// Errors measuring what probes cost.
#[derive(Debug, thiserror::Error)]
pub enum BudgetError {
    /// The calibration functions could not be planned (no symbols in this binary?).
    #[error("cannot plan probes on this process's calibration functions: {0}")]
    Plan(#[from] probes::PlanError),
    /// The probes could not be attached.
    #[error("cannot attach the calibration probes: {0}")]
    Load(#[from] loader::LoadError),
}

/// Extra CPU time per traced call in ns, by the cost class of the entry probe's site
/// (indexed by [`class`]): entry and return probes both.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CallCosts {
    /// A recorded call.
    pub recorded_ns: [f64; 3],
    /// A call sampling skipped (the traps, and the probe program's first lines).
    pub skipped_ns: [f64; 3],
    /// Whether these were measured here; `false`: conservative defaults, because measuring
    /// failed (see the warning logged then).
    pub measured: bool,
}

impl CallCosts {
    /// What a call costs when measuring is impossible: on the high side of what was
    /// measured on the VMs this was built on, so a budget errs towards less overhead.
    pub const FALLBACK: Self =
        Self { recorded_ns: [1_500.0, 2_500.0, 30_000.0], skipped_ns: [1_000.0, 2_000.0, 29_000.0], measured: false };
}

/// The index of a cost class in [`CallCosts`].
#[must_use]
pub fn class(cost: SiteCost) -> usize {
    match cost {
        SiteCost::Optimized => 0,
        SiteCost::Emulated => 1,
        SiteCost::SingleStep => 2,
    }
}

std::arch::global_asm!(
    ".globl tracesynth_calibration_optimized",
    ".type tracesynth_calibration_optimized,@function",
    "tracesynth_calibration_optimized:",
    // nopl 0x0(%rax,%rax,1): the 5-byte nop the kernel rewrites into a call.
    ".byte 0x0f, 0x1f, 0x44, 0x00, 0x00",
    "lea rax, [rdi + 1]",
    "ret",
    ".size tracesynth_calibration_optimized, .-tracesynth_calibration_optimized",
    ".globl tracesynth_calibration_emulated",
    ".type tracesynth_calibration_emulated,@function",
    "tracesynth_calibration_emulated:",
    "push rbp",
    "lea rax, [rdi + 1]",
    "pop rbp",
    "ret",
    ".size tracesynth_calibration_emulated, .-tracesynth_calibration_emulated",
    ".globl tracesynth_calibration_stepped",
    ".type tracesynth_calibration_stepped,@function",
    "tracesynth_calibration_stepped:",
    // Writes its argument register first, so the entry probe must sit on this instruction.
    "lea rdi, [rdi + 1]",
    "mov rax, rdi",
    "ret",
    ".size tracesynth_calibration_stepped, .-tracesynth_calibration_stepped",
);

extern "C" {
    fn tracesynth_calibration_optimized(x: u64) -> u64;
    fn tracesynth_calibration_emulated(x: u64) -> u64;
    fn tracesynth_calibration_stepped(x: u64) -> u64;
}

/// A calibration function: its symbol, and a safe way to call it.
type CalibrationFn = (&'static str, fn(u64) -> u64);

/// The calibration functions.
const CALIBRATION: [CalibrationFn; 3] = [
    // SAFETY (all three): the functions above take and return a u64 in the System V
    // registers and touch nothing else but rax, rdi and the stack.
    ("tracesynth_calibration_optimized", |x| unsafe { tracesynth_calibration_optimized(x) }),
    ("tracesynth_calibration_emulated", |x| unsafe { tracesynth_calibration_emulated(x) }),
    ("tracesynth_calibration_stepped", |x| unsafe { tracesynth_calibration_stepped(x) }),
];

/// Calls per timing.
const CALIBRATION_CALLS: u64 = 2_000;

/// ns per call of `f` over [`CALIBRATION_CALLS`] calls.
fn time_calls(f: fn(u64) -> u64) -> f64 {
    let start = Instant::now();
    let mut x = 0u64;
    for _ in 0..CALIBRATION_CALLS {
        x = std::hint::black_box(f(std::hint::black_box(x)));
    }
    std::hint::black_box(x);
    start.elapsed().as_nanos() as f64 / CALIBRATION_CALLS as f64
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Measures [`CallCosts`] on this process: probes on three functions whose entry sites
/// fall in the three cost classes, each called with every call recorded and with every
/// call sampled out, median of three timings minus the same calls unprobed.
///
/// # Errors
/// When the functions cannot be found or probed (no privileges, stripped binary).
pub fn calibrate() -> Result<CallCosts, BudgetError> {
    let names: Vec<String> = CALIBRATION.iter().map(|(n, _)| (*n).to_string()).collect();
    let plan = probes::plan(std::process::id(), &names, RetMode::Uretprobe)?;
    let plain: Vec<f64> = CALIBRATION.iter().map(|(_, f)| median((0..3).map(|_| time_calls(*f)).collect())).collect();
    let (mut attached, ring) = loader::attach(&plan, 1 << 22)?;
    // Read as a recording reads them, on another thread: the events' cache lines then move
    // between CPUs as they do in a session.
    let (tx, rx) = crossbeam_channel::bounded(64);
    let mut reader = crate::record::Reader::spawn(ring, tx);
    let consumer = std::thread::spawn(move || rx.iter().map(|b: crate::record::Batch| b.iter().count()).sum::<usize>());
    let mut costs = CallCosts { measured: true, ..CallCosts::FALLBACK };
    let mut seen = [false; 3];
    for skipped in [false, true] {
        for f in 0..CALIBRATION.len() as u32 {
            attached.set_sample_every(f, if skipped { u32::MAX } else { 1 })?;
        }
        for (i, (_, f)) in CALIBRATION.iter().enumerate() {
            let timed = median((0..3).map(|_| time_calls(*f)).collect());
            let c = class(plan.functions[i].entry_site.cost);
            let per_call = (timed - plain[i]).max(0.0);
            if skipped {
                costs.skipped_ns[c] = per_call;
            } else {
                costs.recorded_ns[c] = per_call;
                seen[c] = true;
            }
        }
    }
    drop(attached);
    reader.final_drain();
    reader.join();
    let _ = consumer.join();
    // A class no calibration function landed in keeps the fallback cost.
    if !seen.iter().all(|s| *s) {
        tracing::debug!(?seen, "not every probe cost class was calibrated");
    }
    for c in 0..3 {
        costs.skipped_ns[c] = costs.skipped_ns[c].min(costs.recorded_ns[c]);
    }
    Ok(costs)
}

/// [`calibrate`], once per process; [`CallCosts::FALLBACK`] with a warning when it fails.
pub fn call_costs() -> CallCosts {
    static COSTS: OnceLock<CallCosts> = OnceLock::new();
    *COSTS.get_or_init(|| match calibrate() {
        Ok(costs) => {
            tracing::info!(?costs, "measured what a traced call costs");
            costs
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot measure what a traced call costs; assuming the fallback costs");
            CallCosts::FALLBACK
        }
    })
}

/// What the probes saw in one control window while attached.
#[derive(Clone, Debug, Default)]
pub struct Window {
    /// Target CPU time (all threads) while the probes were attached, ns.
    pub cpu_ns: u64,
    /// Calls entered per function while attached (recorded and sampled out).
    pub calls: Vec<u64>,
}

/// The sampling to apply next.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Decision {
    /// One call in this many recorded, per function.
    pub sample_every: Vec<u32>,
    /// Whether even the probes' traps cost more than the budget: the probes are then
    /// removed whenever the budget is spent, and attached again once the target's own work
    /// has earned it back (the duty cycle).
    pub duty_cycle: bool,
    /// The overhead expected while the probes are attached, as a fraction of the target's
    /// own CPU time.
    pub expected: f64,
    /// The overhead measured in the window decided on (at the sampling then in force).
    pub measured: f64,
}

/// Picks the sampling that keeps a recording within its overhead budget.
#[derive(Clone, Debug)]
pub struct Controller {
    /// The budget: extra CPU time as a fraction of the target's own.
    max: f64,
    /// Cost class of each function's entry site.
    classes: Vec<usize>,
    costs: CallCosts,
    /// The sampling in force.
    sample_every: Vec<u32>,
}

/// How long the probes stay attached in one duty cycle (attaching and removing them
/// takes longer still).
pub const MIN_ON: Duration = Duration::from_millis(50);
/// A control window while the probes stay attached.
pub const CYCLE: Duration = Duration::from_millis(250);

impl Controller {
    /// A controller for functions whose entry sites have `site_costs`, within `max` (a
    /// fraction: 0.01 is 1 %).
    #[must_use]
    pub fn new(max: f64, site_costs: &[SiteCost], costs: CallCosts) -> Self {
        Self {
            max,
            classes: site_costs.iter().map(|c| class(*c)).collect(),
            costs,
            sample_every: vec![1; site_costs.len()],
        }
    }

    /// The budget, as a fraction.
    #[must_use]
    pub fn max(&self) -> f64 {
        self.max
    }

    /// Decides the sampling for the next window from what the last one saw, at the
    /// sampling then in force (`duty` does not change what a window sees while attached).
    pub fn decide(&mut self, window: &Window) -> Decision {
        let recorded = |f: usize| self.costs.recorded_ns[self.classes[f]];
        let skipped = |f: usize| self.costs.skipped_ns[self.classes[f]];
        let calls = |f: usize| window.calls.get(f).copied().unwrap_or(0) as f64;
        let n = self.classes.len();
        // What the probes cost in the window, and so the target's own work then.
        let spent = self.price(&window.calls);
        let own = (window.cpu_ns as f64 - spent).max(window.cpu_ns as f64 * 0.01).max(1.0);
        let measured = spent / own;
        // Overhead per unit of own work: everything recorded, and every call skipped.
        let all: f64 = (0..n).map(|f| calls(f) * recorded(f)).sum::<f64>() / own;
        let traps: f64 = (0..n).map(|f| calls(f) * skipped(f)).sum::<f64>() / own;
        let (every, duty_cycle, expected) = if all <= self.max {
            (1, false, all)
        } else if traps < self.max * 0.8 {
            // Sampling alone: traps + (recorded - traps) / N <= max.
            let needed = ((all - traps) / (self.max - traps)).ceil().clamp(1.0, f64::from(u32::MAX)) as u32;
            // Sampled more than needed, but not by much (one step, or a fifth): kept, so a
            // load that wavers does not change the rate (and add to the trace's timeline)
            // every window.
            let now = self.sample_every.iter().copied().max().unwrap_or(1);
            let close = needed + 1 >= now || f64::from(needed) > f64::from(now) * 0.8;
            let every = if needed < now && close { now } else { needed };
            (every, false, traps + (all - traps) / f64::from(every))
        } else {
            (1, true, all)
        };
        self.sample_every = vec![every; n];
        Decision { sample_every: self.sample_every.clone(), duty_cycle, expected, measured }
    }

    /// ns of target CPU time `calls` (entered per function) cost at the sampling in force.
    #[must_use]
    pub fn price(&self, calls: &[u64]) -> f64 {
        calls
            .iter()
            .enumerate()
            .map(|(f, &n)| {
                let class = self.classes[f];
                let kept = n as f64 / f64::from(self.sample_every[f]);
                kept * self.costs.recorded_ns[class] + (n as f64 - kept) * self.costs.skipped_ns[class]
            })
            .sum()
    }
}

/// Where a [`Governor`] is in its duty cycle.
#[derive(Debug)]
enum Phase {
    /// Probes attached since `since` (when attaching began; `since_ns` on the event
    /// clock), until the window ends at `until`.
    On { since: Instant, since_ns: u64, until: Instant },
    /// Entry probes switched off at the end of a window; the calls in flight return until
    /// `until`, then the probes are removed. `cpu_ns`: the target's CPU time then; `share`:
    /// the part of it the probes took in the window.
    Draining { since: Instant, since_ns: u64, until: Instant, cpu_ns: u64, share: f64 },
    /// Probes removed since `since`, until the target's own work has earned the budget
    /// spent back.
    Off { since: Instant },
}

/// How long the calls in flight get to return before the probes are removed.
const DRAIN: Duration = Duration::from_millis(10);
/// The first control window: short, so a costly recording is reined in quickly.
const FIRST_WINDOW: Duration = Duration::from_millis(100);

/// Runs a [`Controller`] against a live recording: prices the probes' hits, applies the
/// sampling in the kernel, and when even the traps cost too much removes the probes until
/// the target's own CPU time (measured) has grown enough to pay for what they cost:
/// `spent <= max × (target CPU - spent)` over the whole recording, attaching and removing
/// included (the probes fire meanwhile, and their hits are counted).
#[derive(Debug)]
pub struct Governor {
    controller: Controller,
    pid: u32,
    /// Function of each probe point that counts a call (entry and whole-call points), by
    /// the point's index in the plan; `None` for the others.
    call_points: Vec<Option<u32>>,
    phase: Phase,
    /// Target CPU time when the recording began, ns.
    cpu_start: u64,
    /// What the probes cost the target so far (priced hits), ns.
    spent_ns: f64,
    /// Hits per point when last priced.
    hits: Vec<u64>,
    /// Target CPU time when the current window began.
    window_cpu: u64,
    /// Calls entered per function in the current window.
    window_calls: Vec<u64>,
    /// The sampling in force over time.
    pub timeline: Vec<Sampling>,
    /// The newest decision.
    pub last: Option<Decision>,
    /// Time the probes were attached (attaching and removing included).
    pub attached: Duration,
    /// Time they were removed.
    pub removed: Duration,
    /// How long the last window was attached.
    last_on: Duration,
}

impl Governor {
    /// A governor for `plan`'s recording within `max` (a fraction), with `costs` from
    /// [`call_costs`], starting now with every call recorded; call it with the probes just
    /// attached.
    #[must_use]
    pub fn new(plan: &Plan, max: f64, costs: CallCosts, attached: &Attached) -> Self {
        let sites: Vec<SiteCost> = plan.functions.iter().map(|f| f.entry_site.cost).collect();
        let call_points = plan
            .points
            .iter()
            .map(|p| matches!(p.kind, EventKind::Entry | EventKind::Call).then_some(p.function))
            .collect();
        let now = Instant::now();
        let cpu = procfs::cpu_ns(plan.pid).unwrap_or(0);
        Self {
            controller: Controller::new(max, &sites, costs),
            pid: plan.pid,
            call_points,
            phase: Phase::On { since: now, since_ns: procfs::monotonic_ns(), until: now + FIRST_WINDOW },
            cpu_start: cpu,
            spent_ns: 0.0,
            hits: attached.hits(),
            window_cpu: cpu,
            window_calls: vec![0; plan.functions.len()],
            timeline: Vec::new(),
            last: None,
            attached: Duration::ZERO,
            removed: Duration::ZERO,
            last_on: Duration::ZERO,
        }
    }

    /// The fraction of the recording's time the probes were attached so far.
    #[must_use]
    pub fn duty_so_far(&self) -> f64 {
        let total = self.attached + self.removed;
        if total.is_zero() {
            1.0
        } else {
            self.attached.as_secs_f64() / total.as_secs_f64()
        }
    }

    /// Prices the hits since the last call at the sampling in force.
    fn account(&mut self, attached: &Attached) {
        let now = attached.hits();
        let mut calls = vec![0u64; self.window_calls.len()];
        for (i, f) in self.call_points.iter().enumerate() {
            if let Some(f) = f {
                calls[*f as usize] += now[i].saturating_sub(self.hits.get(i).copied().unwrap_or(0));
            }
        }
        self.spent_ns += self.controller.price(&calls);
        for (w, c) in self.window_calls.iter_mut().zip(calls) {
            *w += c;
        }
        self.hits = now;
    }

    /// Records in the timeline the window attached from `since_ns` for `on`, just removed:
    /// its calls stand for themselves until [`Self::settle_off`] knows how long the probes
    /// stay off after it.
    fn close_window(&mut self, since_ns: u64, on: Duration) {
        self.attached += on;
        self.last_on = on;
        self.timeline.push(Sampling {
            from_ns: since_ns,
            sample_every: self.controller.sample_every.clone(),
            duty: 1.0,
        });
    }

    /// The probes were off for `off` after the last window: its calls stand for the calls
    /// of that time too.
    fn settle_off(&mut self, off: Duration) {
        self.removed += off;
        let on = self.last_on;
        if let Some(last) = self.timeline.last_mut() {
            last.duty = on.as_secs_f64() / (on + off).as_secs_f64().max(1e-9);
        }
    }

    /// Moves the duty cycle on; call it often (every few ms) from the recording loop.
    ///
    /// # Errors
    /// When the probes cannot be switched, removed or attached again.
    pub fn tick(&mut self, attached: &mut Attached, builder: &mut TraceBuilder) -> Result<(), LoadError> {
        let now = Instant::now();
        match self.phase {
            Phase::On { since, since_ns, until } if now >= until => {
                let Ok(cpu_now) = procfs::cpu_ns(self.pid) else { return Ok(()) };
                self.account(attached);
                let window = Window {
                    cpu_ns: cpu_now.saturating_sub(self.window_cpu),
                    calls: std::mem::take(&mut self.window_calls),
                };
                self.window_calls = vec![0; window.calls.len()];
                self.window_cpu = cpu_now;
                let before = self.controller.sample_every.clone();
                let share = (self.controller.price(&window.calls) / window.cpu_ns.max(1) as f64).min(1.0);
                let decision = self.controller.decide(&window);
                for (f, every) in decision.sample_every.iter().enumerate() {
                    if attached.sample_every().get(f) != Some(every) {
                        attached.set_sample_every(f as u32, *every)?;
                    }
                }
                self.phase = if decision.duty_cycle {
                    builder.entries_detached_at(procfs::monotonic_ns());
                    attached.switch_entries_off()?;
                    Phase::Draining { since, since_ns, until: now + DRAIN, cpu_ns: cpu_now, share }
                } else {
                    self.attached += now - since;
                    if decision.sample_every != before {
                        // The new sampling holds from here.
                        self.timeline.push(Sampling {
                            from_ns: procfs::monotonic_ns(),
                            sample_every: decision.sample_every.clone(),
                            duty: 1.0,
                        });
                    }
                    Phase::On { since: now, since_ns: procfs::monotonic_ns(), until: now + CYCLE }
                };
                self.last = Some(decision);
            }
            Phase::Draining { since, since_ns, until, cpu_ns, share } if now >= until || builder.open_calls() == 0 => {
                let removing = Instant::now();
                attached.pause();
                let removal = removing.elapsed();
                // Removing a uprobe unlinks its program and then waits for RCU grace periods
                // with the breakpoint still in place: hits then trap unseen (and cost more
                // than a calibrated hit). The target's CPU time since the entries went off
                // is priced instead, at the probes' share of it in the window.
                self.hits = attached.hits();
                let cpu_now = procfs::cpu_ns(self.pid).unwrap_or(cpu_ns);
                self.spent_ns += share * cpu_now.saturating_sub(cpu_ns) as f64;
                let on = since.elapsed();
                tracing::debug!(?on, ?removal, spent_ms = self.spent_ns / 1e6, "overhead budget: probes removed");
                self.close_window(since_ns, on);
                self.phase = Phase::Off { since: Instant::now() };
            }
            Phase::Off { since } => {
                let Ok(cpu_now) = procfs::cpu_ns(self.pid) else { return Ok(()) };
                let own = cpu_now.saturating_sub(self.cpu_start) as f64 - self.spent_ns;
                if self.spent_ns > self.controller.max * own {
                    return Ok(());
                }
                self.settle_off(since.elapsed());
                let since = Instant::now();
                let since_ns = procfs::monotonic_ns();
                self.window_cpu = cpu_now;
                self.window_calls.iter_mut().for_each(|n| *n = 0);
                attached.resume()?;
                tracing::debug!(attaching = ?since.elapsed(), "overhead budget: probes attached");
                builder.entries_attached_at(procfs::monotonic_ns());
                self.phase = Phase::On { since, since_ns, until: Instant::now() + MIN_ON };
            }
            _ => {}
        }
        Ok(())
    }

    /// Ends the timeline when the recording stops (the window in progress).
    pub fn finish(&mut self) {
        match self.phase {
            Phase::On { since, since_ns, .. } | Phase::Draining { since, since_ns, .. } => {
                // Attached to the end: its calls stand for themselves, at the sampling in
                // force (already in the timeline unless windows came before it).
                let on = since.elapsed();
                if self.removed > Duration::ZERO {
                    self.close_window(since_ns, on);
                } else {
                    self.attached += on;
                }
            }
            Phase::Off { since } => self.settle_off(since.elapsed()),
        }
        self.phase = Phase::Off { since: Instant::now() };
    }

    /// The overhead measured over the whole recording so far: what the probes cost as a
    /// fraction of the target's own CPU time.
    #[must_use]
    pub fn overhead_so_far(&self) -> f64 {
        let cpu = procfs::cpu_ns(self.pid).unwrap_or(self.window_cpu).saturating_sub(self.cpu_start) as f64;
        self.spent_ns / (cpu - self.spent_ns).max(1.0)
    }

    /// The budget, as a fraction.
    #[must_use]
    pub fn max(&self) -> f64 {
        self.controller.max()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const COSTS: CallCosts =
        CallCosts { recorded_ns: [1_000.0, 2_000.0, 20_000.0], skipped_ns: [500.0, 1_000.0, 19_000.0], measured: true };

    #[test]
    fn within_budget_records_everything() {
        let mut c = Controller::new(0.01, &[SiteCost::Emulated], COSTS);
        // 1,000 calls × 2 µs = 2 ms of 1 s: 0.2 %.
        let d = c.decide(&Window { cpu_ns: 1_000_000_000, calls: vec![1_000] });
        assert_eq!(d.sample_every, vec![1]);
        assert!(!d.duty_cycle);
        assert!((d.expected - 0.002).abs() < 1e-4, "{d:?}");
    }

    #[test]
    fn cheap_traps_are_sampled_in_the_kernel() {
        let mut c = Controller::new(0.05, &[SiteCost::Emulated], COSTS);
        // 30,000 calls, all recorded: 60 ms of a 1 s window, 6.4 % of own work; their traps
        // alone 3.2 %: one call in 2 recorded costs 4.8 %.
        let d = c.decide(&Window { cpu_ns: 1_000_000_000, calls: vec![30_000] });
        assert_eq!(d.sample_every, vec![2]);
        assert!(d.sample_every[0] > 1, "{d:?}");
        assert!(!d.duty_cycle);
        assert!(d.expected <= 0.05 + 1e-9, "{d:?}");
    }

    #[test]
    fn a_wavering_load_keeps_its_sampling_rate() {
        let mut c = Controller::new(0.05, &[SiteCost::Emulated], COSTS);
        let first = c.decide(&Window { cpu_ns: 1_000_000_000, calls: vec![33_000] }).sample_every[0];
        assert!(first > 1);
        // A little less load: the rate stays; much less: it goes down; more: up at once.
        assert_eq!(c.decide(&Window { cpu_ns: 1_000_000_000, calls: vec![31_000] }).sample_every[0], first);
        assert_eq!(c.decide(&Window { cpu_ns: 1_000_000_000, calls: vec![10_000] }).sample_every[0], 1);
        let up = c.decide(&Window { cpu_ns: 1_000_000_000, calls: vec![34_000] });
        assert!(up.sample_every[0] >= first && up.expected <= 0.05 + 1e-9, "{up:?}");
    }

    #[test]
    fn expensive_traps_are_duty_cycled() {
        let mut c = Controller::new(0.01, &[SiteCost::SingleStep], COSTS);
        // 25,000 single-stepped calls: 500 ms of a 1 s window, 100 % of own work.
        let d = c.decide(&Window { cpu_ns: 1_000_000_000, calls: vec![25_000] });
        assert_eq!(d.sample_every, vec![1]);
        assert!(d.duty_cycle, "{d:?}");
        assert!((d.measured - 1.0).abs() < 0.01, "{d:?}");
    }

    #[test]
    fn an_idle_window_lifts_sampling() {
        let mut c = Controller::new(0.01, &[SiteCost::Emulated, SiteCost::Optimized], COSTS);
        c.decide(&Window { cpu_ns: 1_000_000_000, calls: vec![100_000, 0] });
        let d = c.decide(&Window { cpu_ns: 0, calls: vec![0, 0] });
        assert_eq!(d.sample_every, vec![1, 1]);
        assert!(!d.duty_cycle);
    }
}
