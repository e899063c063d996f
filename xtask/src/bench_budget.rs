//! The overhead budget of `cargo xtask bench fleet`: a target calling a traced function as
//! fast as it can (`push_fn`, a few ns a call), traced by a daemon session with
//! `max_overhead` 1 % and 5 %; the slowdown measured on the target's own work, against the
//! same calls untraced, and against bpftrace and this tracer without a budget.
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use serde_json::json;
use test_support::fixture::Fixture;

use crate::{bench_trace::bpftrace_attached, daemon::Daemon, median};

/// Calls per timed chunk of the target's work (a few tenths of a second untraced).
const CHUNK: u64 = 200_000_000;
/// Calls timed with every call probed (no budget).
const PROBED: u64 = 200_000;

/// ns per call of `calls` calls of `push_fn`.
fn per_call(target: &mut Fixture, calls: u64) -> Result<f64> {
    Ok(target.timed(&format!("bench push {calls}"))? / calls as f64)
}

/// Prints the budget table: for each budget, `seconds` of chunks under a session.
///
/// # Errors
/// The fixture or the daemon fail.
pub fn run(daemon: &Daemon, bin: &std::path::Path, seconds: f64) -> Result<()> {
    let mut target = Fixture::spawn(bin)?;
    let pid = target.pid();
    let base = median((0..5).map(|_| per_call(&mut target, CHUNK)).collect::<Result<Vec<_>>>()?);
    // Every call probed: this tracer without a budget, and bpftrace counting calls.
    let session = daemon.post("/v1/sessions", &json!({"pid": pid, "functions": ["push_fn"], "max_overhead": 0}))?;
    let id = session["id"].as_u64().context("session id")?;
    std::thread::sleep(Duration::from_millis(300));
    let ours = per_call(&mut target, PROBED)?;
    daemon.delete(&format!("/v1/sessions/{id}"))?;
    let bpftrace =
        match bpftrace_attached(&pid.to_string(), &format!("uprobe:{}:push_fn {{ @n = count(); }}", bin.display())) {
            Ok(mut bt) => {
                let t = per_call(&mut target, PROBED)?;
                crate::bench_trace::interrupt(&mut bt)?;
                Some(t)
            }
            Err(e) => {
                println!("(bpftrace unavailable: {e})");
                None
            }
        };
    println!(
        "\n#### Overhead budget: `push_fn` ({base:.2} ns a call untraced) called as fast as the target can\n\n\
         Every call probed, no budget: this tracer {ours:.0} ns a call ({:.0}× slower){}.\n",
        ours / base,
        bpftrace
            .map_or_else(String::new, |b| format!(", bpftrace `count()` {b:.0} ns a call ({:.0}× slower)", b / base))
    );
    println!("| budget | run s | slowdown of the target's work | slowdown / budget | windows attached | time attached | calls recorded | daemon's estimate |");
    println!("|---|---|---|---|---|---|---|---|");
    for budget in [1.0, 5.0] {
        let session =
            daemon.post("/v1/sessions", &json!({"pid": pid, "functions": ["push_fn"], "max_overhead": budget}))?;
        let id = session["id"].as_u64().context("session id")?;
        let start = Instant::now();
        let (mut ns, mut chunks) = (0.0, 0u64);
        while start.elapsed().as_secs_f64() < seconds {
            ns += target.timed(&format!("bench push {CHUNK}"))?;
            chunks += 1;
        }
        let run = start.elapsed().as_secs_f64();
        let slowdown = ns / (chunks as f64 * CHUNK as f64 * base) - 1.0;
        daemon.delete(&format!("/v1/sessions/{id}"))?;
        let trace = daemon.get(&format!("/v1/traces/{id}"))?;
        let windows = trace["sampling"].as_array().map_or(0, Vec::len);
        let warning = trace["warnings"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|w| w.as_str())
            .find(|w| w.starts_with("the overhead budget"))
            .unwrap_or("");
        // "... probes attached X % of the time, estimated overhead Y %; ..."
        let after =
            |key: &str| warning.split(key).nth(1).and_then(|r| r.split_whitespace().next()).unwrap_or("?").to_string();
        println!(
            "| {budget:.0} % | {run:.0} | {:.2} % | {:.2} | {windows} | {} % | {} | {} % |",
            slowdown * 100.0,
            slowdown * 100.0 / budget,
            after("probes attached "),
            trace["calls"].as_array().map_or(0, Vec::len),
            after("estimated overhead "),
        );
    }
    Ok(())
}
