//! The time-stamp counter the call-through trampolines read (`rdtsc`), and its rate in
//! CLOCK_MONOTONIC nanoseconds, measured once per process.
use std::{
    sync::OnceLock,
    time::{Duration, Instant},
};

/// The TSC now.
#[cfg(target_arch = "x86_64")]
fn ticks() -> u64 {
    // SAFETY: `rdtsc` has no preconditions on x86-64.
    #[allow(unused_unsafe)]
    unsafe {
        core::arch::x86_64::_rdtsc()
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn ticks() -> u64 {
    0
}

/// A (ns since `origin`, TSC) pair read as close together as this thread can: the TSC
/// between the two clock reads of the fastest of a few tries.
fn pair(origin: Instant) -> (u64, u64) {
    let ns = || origin.elapsed().as_nanos() as u64;
    (0..8)
        .map(|_| {
            let before = ns();
            let tsc = ticks();
            let after = ns();
            (after - before, before + (after - before) / 2, tsc)
        })
        .min_by_key(|&(spread, _, _)| spread)
        .map(|(_, ns, tsc)| (ns, tsc))
        .unwrap_or_default()
}

/// CLOCK_MONOTONIC nanoseconds per TSC tick, measured over 20 ms the first time it is
/// asked for (the kernel's clocksource is the TSC on such machines, so the rate is fixed).
pub fn ns_per_tick() -> f64 {
    static RATE: OnceLock<f64> = OnceLock::new();
    *RATE.get_or_init(|| {
        let origin = Instant::now();
        let (ns0, tsc0) = pair(origin);
        std::thread::sleep(Duration::from_millis(20));
        let (ns1, tsc1) = pair(origin);
        if tsc1 > tsc0 && ns1 > ns0 {
            (ns1 - ns0) as f64 / (tsc1 - tsc0) as f64
        } else {
            1.0
        }
    })
}

/// Whether the TSC runs at a fixed rate through frequency changes and idle states
/// (`constant_tsc` and `nonstop_tsc` in `/proc/cpuinfo`), so ticks measure time; why not
/// otherwise. Read once.
pub fn reliable() -> Result<(), String> {
    static RELIABLE: OnceLock<Result<(), String>> = OnceLock::new();
    RELIABLE
        .get_or_init(|| {
            let info =
                std::fs::read_to_string("/proc/cpuinfo").map_err(|e| format!("cannot read /proc/cpuinfo: {e}"))?;
            let flags = info.lines().find(|l| l.starts_with("flags")).unwrap_or_default();
            let has = |flag: &str| flags.split_whitespace().any(|f| f == flag);
            match ["constant_tsc", "nonstop_tsc"].into_iter().find(|f| !has(f)) {
                Some(missing) => Err(format!("the CPU's TSC lacks `{missing}`, so its ticks may not measure time")),
                None => Ok(()),
            }
        })
        .clone()
}

/// `ticks` as nanoseconds.
pub fn ticks_to_ns(ticks: u64) -> u64 {
    (ticks as f64 * ns_per_tick()).round() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn the_rate_converts_a_sleep_to_its_length() {
        let t0 = ticks();
        std::thread::sleep(Duration::from_millis(30));
        let ns = ticks_to_ns(ticks() - t0);
        assert!((29_000_000..200_000_000).contains(&ns), "30 ms measured as {ns} ns");
    }
}
