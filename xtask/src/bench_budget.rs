//! The overhead budget of `cargo xtask bench fleet`: a target calling a traced function as
//! fast as it can (`push_fn`, a few ns a call), traced by a daemon session with
//! `max_overhead` 1 % and 5 %, and for reference bpftrace and this tracer without a budget.
//!
//! The target works in chunks of calls, timed one by one. Under a budget most chunks run
//! with the probes removed, so the median chunk of the same run is the untraced speed (this
//! VM's speed drifts by more than the budgets between runs); the slowdown is the time the
//! chunks took beyond that median. A control run (a session on a function the target never
//! calls) gives the same figure's noise.
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
    let base = median((0..3).map(|_| per_call(&mut target, CHUNK)).collect::<Result<Vec<_>>>()?);
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
    println!(
        "| session | run s | chunks | median chunk ms | slowdown beyond the median | minus the control's | \
         / budget | windows attached | time attached | calls recorded | daemon's estimate |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    let mut control = 0.0;
    for (function, budget) in [("add_push", 1.0), ("push_fn", 1.0), ("push_fn", 5.0)] {
        let session =
            daemon.post("/v1/sessions", &json!({"pid": pid, "functions": [function], "max_overhead": budget}))?;
        let id = session["id"].as_u64().context("session id")?;
        let start = Instant::now();
        let mut chunks = Vec::new();
        while start.elapsed().as_secs_f64() < seconds {
            chunks.push(target.timed(&format!("bench push {CHUNK}"))?);
        }
        let run = start.elapsed().as_secs_f64();
        let typical = median(chunks.clone());
        let slowdown = chunks.iter().map(|t| t - typical).sum::<f64>() / (chunks.len() as f64 * typical);
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
            |key: &str| warning.split(key).nth(1).and_then(|r| r.split_whitespace().next()).unwrap_or("-").to_string();
        let name = if function == "push_fn" { format!("`push_fn`, {budget:.0} %") } else { "control".into() };
        let (net, ratio) = if function == "push_fn" {
            let net = slowdown - control;
            (format!("{:.2} %", net * 100.0), format!("{:.2}", net * 100.0 / budget))
        } else {
            control = slowdown;
            ("-".into(), "-".into())
        };
        println!(
            "| {name} | {run:.0} | {} | {:.1} | {:.2} % | {net} | {ratio} | {windows} | {} % | {} | {} % |",
            chunks.len(),
            typical / 1e6,
            slowdown * 100.0,
            after("probes attached "),
            trace["calls"].as_array().map_or(0, Vec::len),
            after("estimated overhead "),
        );
    }
    Ok(())
}
