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

/// Linux's clock tick for `/proc/PID/stat` times (`sysconf(_SC_CLK_TCK)`, 100 on every
/// Linux target this project builds for).
const CLOCK_TICKS_PER_S: f64 = 100.0;

/// CPU seconds `pid` has used, user and system (`/proc/PID/stat` fields 14 and 15).
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces), from field 3 on.
    let fields: Vec<&str> = stat.rsplit_once(')').map_or("", |(_, rest)| rest).split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / CLOCK_TICKS_PER_S
}

/// The share of one core `pid` uses over `over`, in percent.
fn idle_cpu_percent(pid: u32, over: Duration) -> f64 {
    let before = cpu_seconds(pid);
    std::thread::sleep(over);
    (cpu_seconds(pid) - before) / over.as_secs_f64() * 100.0
}

/// Runs the benchmark: `runs` sessions of `calls` calls of `nop5_fn`, each exported when it
/// ends.
///
/// # Errors
/// ClickHouse, the daemon or the fixture cannot start, or an export fails.
pub fn run(calls: u64, runs: usize, budget_secs: f64) -> Result<()> {
    let tracesynth = crate::build_tracesynth()?;
    let dir = tempfile::tempdir()?;
    let bin = dir.path().join("calls");
    crate::gcc("calls", &["-O2", "-g"], &bin)?;
    let server = ClickHouseServer::start(&dir.path().join("clickhouse")).context("starting ClickHouse")?;
    let export = format!("clickhouse={}", server.url);
    let daemon = Daemon::start_with(&tracesynth, &dir.path().join("data"), &["--export", &export])?;
    let idle = memory_mib(daemon.pid());
    let idle_cpu = idle_cpu_percent(daemon.pid(), Duration::from_secs(5));
    println!("#### Export into ClickHouse: sessions of {calls} calls of `nop5_fn`, {runs} runs\n");
    println!("| run | calls inserted | export s | calls/s | of the 200k/s goal | daemon CPU s (record, store, export) | CPU µs per call |");
    println!("|---|---|---|---|---|---|---|");
    let mut rates = Vec::new();
    let mut after_each = Vec::new();
    for run in 1..=runs {
        let mut target = Fixture::spawn(&bin)?;
        let cpu_before = cpu_seconds(daemon.pid());
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
        let cpu = cpu_seconds(daemon.pid()) - cpu_before;
        println!(
            "| {run} | {rows} | {seconds:.2} | {rate:.0} | {:.2}× | {cpu:.2} | {:.2} |",
            rate / GOAL_CALLS_PER_S,
            cpu * 1e6 / rows.max(1) as f64
        );
        after_each.push(during.rss);
        rates.push(rate);
    }
    let rate = median(rates);
    println!("| median | | | {rate:.0} | {:.2}× | | |", rate / GOAL_CALLS_PER_S);
    let end = memory_mib(daemon.pid());
    let idle_cpu_after = idle_cpu_percent(daemon.pid(), Duration::from_secs(5));
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
    println!(
        "Daemon CPU at idle (share of one core over 5 s): {idle_cpu:.2} % before any session, \
         {idle_cpu_after:.2} % after the runs."
    );
    crate::bench_budget::run(&daemon, &bin, budget_secs)
}
