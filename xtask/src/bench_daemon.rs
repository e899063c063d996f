//! `cargo xtask bench daemon`: sustained ingest into sled through `tracesynth daemon`,
//! latency of `GET /v1/traces/{id}/calls`, and the cost of block mode per call, in one run
//! (release build, medians over runs).
use std::{
    path::Path,
    time::{Duration, Instant},
};

use anyhow::{bail, Context as _, Result};
use serde_json::json;

use crate::{daemon::Daemon, median};
use test_support::fixture::Fixture;

/// Session and store queries the benchmark needs.
trait BenchQueries {
    fn attach(&self, pid: u32, function: &str, blocks: bool) -> Result<u64>;
    fn stored(&self, id: u64) -> Result<u64>;
}

impl BenchQueries for Daemon {
    fn attach(&self, pid: u32, function: &str, blocks: bool) -> Result<u64> {
        let s = self.post("/v1/sessions", &json!({"pid": pid, "functions": [function], "blocks": blocks}))?;
        s["id"].as_u64().context("session id")
    }

    /// Calls of trace `id` stored in sled.
    fn stored(&self, id: u64) -> Result<u64> {
        let list = self.get("/v1/traces")?;
        Ok(list.as_array().into_iter().flatten().find(|t| t["id"] == id).and_then(|t| t["calls"].as_u64()).unwrap_or(0))
    }
}

fn percentile(sorted: &[f64], p: usize) -> f64 {
    sorted[(sorted.len() * p / 100).min(sorted.len() - 1)]
}

struct Ingest {
    loop_s: f64,
    produced_per_s: f64,
    stored_per_s: f64,
    produced: u64,
    received: u64,
    dropped: u64,
    stored: u64,
}

/// One ingest run: `bench nop5 N` under a function-only session; events/s from the loop's
/// start until every call is in sled.
fn ingest(daemon: &Daemon, bin: &Path, calls: u64) -> Result<(u64, Ingest)> {
    let mut target = Fixture::spawn(bin)?;
    let id = daemon.attach(target.pid(), "nop5_fn", false)?;
    let start = Instant::now();
    let loop_ns = target.timed(&format!("bench nop5 {calls}"))?;
    // Until every call is in sled, or (events were lost) the count stops growing for 2 s.
    let mut stored = 0;
    let mut last_change = (Instant::now(), start.elapsed());
    while stored < calls && last_change.0.elapsed() < Duration::from_secs(2) {
        let now = daemon.stored(id)?;
        if now != stored {
            stored = now;
            last_change = (Instant::now(), start.elapsed());
        }
        if stored < calls {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    let into_sled = last_change.1.as_secs_f64();
    let ended = daemon.delete(&format!("/v1/sessions/{id}"))?;
    let loss = &ended["loss"];
    let events = 2.0 * stored as f64;
    Ok((
        id,
        Ingest {
            loop_s: loop_ns / 1e9,
            produced_per_s: events / (loop_ns / 1e9),
            stored_per_s: events / into_sled,
            produced: loss["produced"].as_u64().unwrap_or(0),
            received: loss["received"].as_u64().unwrap_or(0),
            dropped: loss["dropped"].as_u64().unwrap_or(0),
            stored: daemon.stored(id)?,
        },
    ))
}

/// Latency of `requests` sequential `GET /v1/traces/{id}/calls` (limit 100) at offset 0 and
/// at pseudo-random offsets: (p50, p99) in ms for each.
fn latency(daemon: &Daemon, id: u64, total: u64, requests: usize) -> Result<[(f64, f64); 2]> {
    let mut out = [(0.0, 0.0); 2];
    let mut state = 0x2545_f491_u64;
    for (i, random) in [false, true].into_iter().enumerate() {
        let mut times = Vec::with_capacity(requests);
        for _ in 0..requests {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            let offset = if random { (state >> 33) % total.saturating_sub(100).max(1) } else { 0 };
            let t = Instant::now();
            let page = daemon.get(&format!("/v1/traces/{id}/calls?offset={offset}&limit=100"))?;
            times.push(t.elapsed().as_secs_f64() * 1e3);
            if page["calls"].as_array().map_or(0, Vec::len) != 100 {
                bail!("short page at offset {offset}");
            }
        }
        times.sort_by(f64::total_cmp);
        out[i] = (percentile(&times, 50), percentile(&times, 99));
    }
    Ok(out)
}

/// ns per call of `count_odd(k)`: untraced, with a function-only session, with a block
/// session; and (blocks entered per call, block hits with no call, dropped) of the last.
fn block_overhead(daemon: &Daemon, bin: &Path, k: u64, calls: u64) -> Result<([f64; 3], u64, u64)> {
    let mut target = Fixture::spawn(bin)?;
    let command = format!("oddbench {k} {calls}");
    let none = target.timed(&command)? / calls as f64;
    let id = daemon.attach(target.pid(), "count_odd", false)?;
    let function_only = target.timed(&command)? / calls as f64;
    daemon.delete(&format!("/v1/sessions/{id}"))?;
    let id = daemon.attach(target.pid(), "count_odd", true)?;
    let blocks = target.timed(&command)? / calls as f64;
    let ended = daemon.delete(&format!("/v1/sessions/{id}"))?;
    let cfg = daemon.get(&format!("/v1/traces/{id}/cfg?function=count_odd"))?;
    let f = &cfg["functions"][0];
    if f["calls"].as_u64() != Some(calls) {
        bail!("block session counted {} of {calls} calls", f["calls"]);
    }
    let hits: u64 = f["blocks"].as_array().into_iter().flatten().filter_map(|b| b["hits"].as_u64()).sum();
    Ok(([none, function_only, blocks], hits / calls, ended["loss"]["dropped"].as_u64().unwrap_or(0)))
}

/// Runs the benchmark and prints the tables.
pub fn run(calls: u64, requests: usize, block_calls: u64, runs: usize) -> Result<()> {
    let tracesynth = crate::build_tracesynth()?;
    let dir = tempfile::tempdir()?;
    let bin = dir.path().join("calls");
    crate::gcc("calls", &["-O2", "-g"], &bin)?;
    let daemon = Daemon::start(&tracesynth, &dir.path().join("data"))?;

    let mut ingests = Vec::new();
    let mut latencies = Vec::new();
    for _ in 0..runs {
        let (id, run) = ingest(&daemon, &bin, calls)?;
        latencies.push(latency(&daemon, id, run.stored, requests)?);
        ingests.push(run);
    }
    println!("#### Sustained ingest: `bench nop5 {calls}` under a session (entry + return events), {runs} runs\n");
    println!(
        "| run | loop s | events/s produced | events/s into sled | produced | received | dropped | calls in sled |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for (i, r) in ingests.iter().enumerate() {
        println!(
            "| {} | {:.2} | {:.0} | {:.0} | {} | {} | {} | {} |",
            i + 1,
            r.loop_s,
            r.produced_per_s,
            r.stored_per_s,
            r.produced,
            r.received,
            r.dropped,
            r.stored
        );
    }
    println!(
        "| median | {:.2} | {:.0} | {:.0} | | | | |",
        median(ingests.iter().map(|r| r.loop_s).collect()),
        median(ingests.iter().map(|r| r.produced_per_s).collect()),
        median(ingests.iter().map(|r| r.stored_per_s).collect()),
    );

    println!("\n#### `GET /v1/traces/{{id}}/calls?limit=100` on a {calls}-call trace: {requests} sequential keep-alive requests per run, median of {runs} runs\n");
    println!("| page | p50 ms | p99 ms |");
    println!("|---|---|---|");
    for (i, what) in ["offset 0", "random offset"].into_iter().enumerate() {
        println!(
            "| {what} | {:.2} | {:.2} |",
            median(latencies.iter().map(|l| l[i].0).collect()),
            median(latencies.iter().map(|l| l[i].1).collect())
        );
    }

    let k = 4;
    let mut modes = [Vec::new(), Vec::new(), Vec::new()];
    let mut per_call = 0;
    let mut dropped = 0;
    for _ in 0..runs {
        let (ns, blocks, d) = block_overhead(&daemon, &bin, k, block_calls)?;
        for (m, v) in modes.iter_mut().zip(ns) {
            m.push(v);
        }
        per_call = blocks;
        dropped += d;
    }
    let [none, function_only, blocks] = modes.map(median);
    let (f_over, b_over) = (function_only - none, blocks - none);
    println!(
        "\n#### Block mode: `count_odd({k})` ({per_call} blocks entered per call, the entry block counted by the entry probe), {block_calls} calls, median of {runs} runs\n"
    );
    println!("| mode | ns per call | overhead ns per call | overhead vs function-only |");
    println!("|---|---|---|---|");
    println!("| untraced | {none:.0} | | |");
    println!("| function only (entry + uretprobe) | {function_only:.0} | {f_over:.0} | 1.00× |");
    println!("| blocks: true | {blocks:.0} | {b_over:.0} | {:.2}× |", b_over / f_over);
    println!(
        "\nper block hit: {:.0} ns ((blocks − function only) / {} probed block entries per call); events dropped in block sessions: {dropped}",
        (blocks - function_only) / (per_call.saturating_sub(1)).max(1) as f64,
        per_call.saturating_sub(1)
    );
    Ok(())
}
