//! `cargo xtask bench fleet`: calls per second one daemon exports into ClickHouse (Debian's
//! 18.16, started on loopback), from the end of a session to every call inserted, and the
//! daemon's memory (median over runs; release build).
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _, Result};
use serde_json::json;
use test_support::{clickhouse::ClickHouseServer, fixture::Fixture};

use crate::{daemon::Daemon, median};

/// The goal: calls exported per second by one daemon.
const GOAL_CALLS_PER_S: f64 = 200_000.0;

/// Memory of a process, in MiB, from `/proc/PID/status`.
struct Memory {
    /// `VmHWM`: the peak resident set.
    peak: f64,
    /// `VmRSS`: resident now.
    rss: f64,
    /// `RssAnon`: the process's own heap and stacks.
    anon: f64,
    /// `RssFile` + `RssShmem`: its binary and shared mappings (a BPF ring buffer's pages
    /// count here, twice, as the kernel maps them twice).
    mapped: f64,
}

fn memory_mib(pid: u32) -> Memory {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    };
    Memory {
        peak: field("VmHWM:"),
        rss: field("VmRSS:"),
        anon: field("RssAnon:"),
        mapped: field("RssFile:") + field("RssShmem:"),
    }
}

/// Runs the benchmark: `runs` sessions of `calls` calls of `nop5_fn`, each exported when it
/// ends.
///
/// # Errors
/// ClickHouse, the daemon or the fixture cannot start, or an export fails.
pub fn run(calls: u64, runs: usize) -> Result<()> {
    let tracesynth = crate::build_tracesynth()?;
    let dir = tempfile::tempdir()?;
    let bin = dir.path().join("calls");
    crate::gcc("calls", &["-O2", "-g"], &bin)?;
    let server = ClickHouseServer::start(&dir.path().join("clickhouse")).context("starting ClickHouse")?;
    let export = format!("clickhouse={}", server.url);
    let daemon = Daemon::start_with(&tracesynth, &dir.path().join("data"), &["--export", &export])?;
    let idle = memory_mib(daemon.pid());
    println!("#### Export into ClickHouse: sessions of {calls} calls of `nop5_fn`, {runs} runs\n");
    println!("| run | calls inserted | export s | calls/s | of the 200k/s goal |");
    println!("|---|---|---|---|---|");
    let mut rates = Vec::new();
    let mut after_each = Vec::new();
    for run in 1..=runs {
        let mut target = Fixture::spawn(&bin)?;
        let session = daemon.post(
            "/v1/sessions",
            &json!({"pid": target.pid(), "functions": ["nop5_fn"], "limits": {"max_calls": calls}}),
        )?;
        let id = session["id"].as_u64().context("session id")?;
        target.timed(&format!("bench nop5 {calls}"))?;
        let start = Instant::now();
        let view = loop {
            let view = daemon.get(&format!("/v1/sessions/{id}"))?;
            if view.get("export").is_some() {
                break view;
            }
            if start.elapsed() > Duration::from_secs(600) {
                bail!("session {id} was not exported within 600 s");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let export = &view["export"];
        if let Some(error) = export["error"].as_str() {
            bail!("the export of session {id} failed: {error}");
        }
        let rows = export["rows_sent"].as_u64().unwrap_or(0);
        let seconds = export["ms"].as_u64().unwrap_or(0) as f64 / 1e3;
        let rate = rows as f64 / seconds.max(1e-3);
        let during = memory_mib(daemon.pid());
        println!("| {run} | {rows} | {seconds:.2} | {rate:.0} | {:.2}× |", rate / GOAL_CALLS_PER_S);
        after_each.push(during.rss);
        rates.push(rate);
    }
    let rate = median(rates);
    println!("| median | | | {rate:.0} | {:.2}× |", rate / GOAL_CALLS_PER_S);
    let end = memory_mib(daemon.pid());
    let after_each: Vec<String> = after_each.iter().map(|m| format!("{m:.0}")).collect();
    println!(
        "\nDaemon memory (MiB; the goal is at most 100 resident): {:.0} resident at idle (before any \
         session); {} after each run's export; after the runs {:.0} resident, of which {:.0} its own \
         (RssAnon) and {:.0} mapped (binary, BPF maps); {:.0} at its peak (VmHWM).",
        idle.rss,
        after_each.join(", "),
        end.rss,
        end.anon,
        end.mapped,
        end.peak,
    );
    Ok(())
}
