//! The main job on the bundled demo (`tests/fixtures/demo.c`): `cargo xtask demo` prints the
//! synthesized Rust of each demo function with its verification report; `cargo xtask bench
//! e2e` measures the whole path per function.
use std::{
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use anyhow::{bail, Context as _, Result};
use serde_json::{json, Value as Json};

use crate::{build_tracesynth, daemon::Daemon, gcc, median};
use test_support::fixture::Fixture;

/// A demo function: what to ask for, and how to draw fresh inputs like the demo's own.
struct DemoFunction {
    name: &'static str,
    describe: &'static str,
    params: &'static [(&'static str, &'static str)],
    output_type: &'static str,
    fresh: fn(&mut Rng) -> Vec<Json>,
}

const FUNCTIONS: &[DemoFunction] = &[
    DemoFunction {
        name: "clear_lowest_bit",
        describe: "clear the lowest set bit",
        params: &[("x", "u32")],
        output_type: "u32",
        fresh: |r| vec![json!(if r.below(2) == 0 { r.next() & 0xffff_ffff } else { r.below(4096) })],
    },
    DemoFunction {
        name: "bulk_price",
        describe: "price with the bulk discount",
        params: &[("qty", "i32"), ("unit", "i32")],
        output_type: "i32",
        fresh: |r| vec![json!(r.below(40)), json!(r.below(500))],
    },
    DemoFunction {
        name: "greeting",
        describe: "greet the name",
        params: &[("name", "string")],
        output_type: "string",
        fresh: |r| {
            let len = 1 + r.below(12);
            vec![json!((0..len).map(|_| char::from(b'a' + r.below(26) as u8)).collect::<String>())]
        },
    },
];

/// xorshift64*: reproducible inputs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// The original function's answer, from the demo's `eval` command.
fn eval(demo: &mut Fixture, f: &DemoFunction, args: &[Json]) -> Result<Json> {
    let words: Vec<String> = args.iter().map(|a| a.as_str().map_or_else(|| a.to_string(), str::to_owned)).collect();
    let replies = demo.exchange(&format!("eval {} {}", f.name, words.join(" ")))?;
    let value = replies.last().and_then(|l| l.strip_prefix("= ")).with_context(|| format!("demo said {replies:?}"))?;
    Ok(if f.output_type == "string" { json!(value) } else { json!(value.parse::<i64>()?) })
}

/// What the demo and the benchmark ask of the daemon.
trait DemoSessions {
    fn record(
        &self,
        pid: u32,
        functions: &[&str],
        calls: u64,
        fast_entry: bool,
        drive: impl FnOnce() -> Result<()>,
    ) -> Result<u64>;
    fn synthesize(&self, session: u64, f: &DemoFunction, lang: &str, guide: Option<&str>) -> Result<(Json, f64)>;
}

impl DemoSessions for Daemon {
    /// Attaches to `pid`'s `functions`, runs `drive`, and waits until each has `calls` calls,
    /// or, when the ring buffer dropped events, until the counts stop growing (the
    /// session keeps what arrived; the loss is reported).
    fn record(
        &self,
        pid: u32,
        functions: &[&str],
        calls: u64,
        fast_entry: bool,
        drive: impl FnOnce() -> Result<()>,
    ) -> Result<u64> {
        let body = json!({"pid": pid, "functions": functions, "fast_entry": fast_entry});
        let session = self.call("POST", "/v1/sessions", Some(&body))?;
        let id = session["id"].as_u64().context("no session id")?;
        drive()?;
        let started = Instant::now();
        let (mut last, mut changed) = (Vec::new(), Instant::now());
        loop {
            let s = self.call("GET", &format!("/v1/sessions/{id}"), None)?;
            let counts: Vec<u64> = s["calls_per_function"]
                .as_array()
                .map_or_else(Vec::new, |a| a.iter().map(|c| c.as_u64().unwrap_or(0)).collect());
            if counts.iter().all(|&c| c >= calls) {
                break;
            }
            if counts != last {
                (last, changed) = (counts.clone(), Instant::now());
            }
            let dropped = s["loss"]["dropped"].as_u64().unwrap_or(0);
            if dropped > 0 && changed.elapsed() > Duration::from_secs(2) {
                eprintln!(
                    "session {id}: {dropped} events dropped by the ring buffer; {counts:?} of {calls} calls arrived"
                );
                break;
            }
            if started.elapsed() > Duration::from_secs(30) {
                bail!("the calls did not arrive in 30 s: {s}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        self.call("DELETE", &format!("/v1/sessions/{id}"), None)?;
        Ok(id)
    }

    /// Runs a synthesis job to the end (with the daemon's default guide unless `guide`);
    /// returns its final view and wall time.
    fn synthesize(&self, session: u64, f: &DemoFunction, lang: &str, guide: Option<&str>) -> Result<(Json, f64)> {
        let started = Instant::now();
        let mut body = json!({"session_id": session, "function": f.name, "description": f.describe, "language": lang, "budget_ms": 120_000});
        if let Some(g) = guide {
            body["guide"] = json!(g);
        }
        let job = self.call("POST", "/v1/synthesize", Some(&body))?;
        let id = job["id"].as_u64().context("no job id")?;
        loop {
            let view = self.call("GET", &format!("/v1/jobs/{id}"), None)?;
            if !matches!(view["state"].as_str(), Some("queued" | "running")) {
                return Ok((view, started.elapsed().as_secs_f64()));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn build_demo(dir: &Path) -> Result<PathBuf> {
    let bin = dir.join("demo");
    gcc("demo", &["-O2", "-g"], &bin)?;
    Ok(bin)
}

/// `cargo xtask demo`: the README's first command.
pub fn demo() -> Result<()> {
    let tracesynth = build_tracesynth()?;
    let dir = tempfile::tempdir()?;
    let mut demo = Fixture::spawn(&build_demo(dir.path())?)?;
    println!("demo process: PID {} (a shop with clear_lowest_bit, bulk_price, greeting)", demo.pid());
    let daemon = Daemon::start(&tracesynth, &dir.path().join("data"))?;
    println!("daemon: {}", daemon.url);
    let names: Vec<&str> = FUNCTIONS.iter().map(|f| f.name).collect();
    let session = daemon.record(demo.pid(), &names, 300, false, || Ok(demo.exchange("run 300").map(drop)?))?;
    println!("recorded 300 calls of each function by PID, then detached (session {session})\n");
    let out = crate::root().join("target/demo");
    std::fs::create_dir_all(&out)?;
    let mut failed = Vec::new();
    for f in FUNCTIONS {
        let (view, secs) = daemon.synthesize(session, f, "rust", None)?;
        let r = &view["result"];
        println!("── {} (\"{}\") ── {} in {secs:.1} s", f.name, f.describe, view["state"].as_str().unwrap_or("?"));
        if r.is_null() {
            println!("   {}", view["error"].as_str().unwrap_or("no result"));
            failed.push(f.name);
            continue;
        }
        println!("{}", r["code"].as_str().unwrap_or_default().trim_end());
        let report = &r["report"];
        println!(
            "   verification: compiled {}, tests {}/{}, held-out calls {}/{}, {} lint warnings ({}), reward {:.3} after {} iteration(s)",
            report["compiled"],
            report["tests_passed"],
            report["tests_total"],
            r["held_out_agree"][0],
            r["held_out_agree"][1],
            report["warnings"].as_array().map_or(0, Vec::len),
            report["linter"].as_str().unwrap_or("none"),
            r["reward"]["total"].as_f64().unwrap_or(0.0),
            r["history"].as_array().map_or(0, Vec::len),
        );
        if let Some(inv) = r["invariants"].as_array().filter(|i| !i.is_empty()) {
            let inv: Vec<&str> = inv.iter().filter_map(Json::as_str).collect();
            println!("   invariants on all calls: {}", inv.join("; "));
        }
        std::fs::write(out.join(format!("{}.rs", f.name)), r["code"].as_str().unwrap_or_default())?;
        std::fs::write(out.join(format!("{}_tests.rs", f.name)), r["tests"].as_str().unwrap_or_default())?;
        std::fs::write(
            out.join(format!("regression_{}.c", f.name)),
            r["regression_test"].as_str().unwrap_or_default(),
        )?;
        std::fs::write(out.join(format!("{}.report.json", f.name)), serde_json::to_vec_pretty(r)?)?;
        println!();
        if view["state"] != "verified" {
            failed.push(f.name);
        }
    }
    println!("code, tests, regression tests and reports: {}", out.display());
    if !failed.is_empty() {
        bail!("not verified: {}", failed.join(", "));
    }
    Ok(())
}

/// Lines of the C function `name` in demo.c, from its signature to its closing brace.
fn original_lines(name: &str) -> usize {
    let src = std::fs::read_to_string(crate::root().join("tests/fixtures/demo.c")).unwrap_or_default();
    let lines: Vec<&str> = src.lines().collect();
    let Some(start) = lines
        .iter()
        .position(|l| (l.contains(&format!(" {name}(")) || l.contains(&format!("*{name}("))) && l.contains('{'))
    else {
        return 0;
    };
    if lines[start].trim_end().ends_with('}') {
        return 1;
    }
    lines[start..].iter().position(|l| *l == "}").map_or(0, |end| end + 1)
}

/// Lines of the emitted function itself (helpers excluded).
fn emitted_lines(code: &str, name: &str) -> usize {
    let lines: Vec<&str> = code.lines().collect();
    let Some(start) = lines.iter().position(|l| l.contains(&format!("fn {name}("))) else { return 0 };
    lines[start..].iter().position(|l| *l == "}").map_or(0, |end| end + 1)
}

/// The guides `bench e2e` compares, in its column order.
const GUIDES: [&str; 2] = ["uniform", "learned"];

/// `cargo xtask bench e2e`.
pub fn bench(runs: usize, fresh: usize) -> Result<()> {
    let tracesynth = build_tracesynth()?;
    let dir = tempfile::tempdir()?;
    let bin = build_demo(dir.path())?;
    let daemon = Daemon::start(&tracesynth, &dir.path().join("data"))?;
    let rounds = 100_000u64;
    println!("bench e2e: demo functions, release build, median of {runs} runs for times; {fresh} fresh inputs per function\n");
    println!(
        "| function | calls observed | distinct inputs | overhead/call recording (uprobes) | (--fast-entry) | time to verified code, uniform / learned guide | iterations | agreement on distinct fresh inputs | emitted lines (Rust) vs original C | term size |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for f in FUNCTIONS {
        let mut demo = Fixture::spawn(&bin)?;
        // Overhead: the same rounds without and with this one function traced, with plain
        // uprobes and with --fast-entry trampolines.
        let mut overhead = [Vec::new(), Vec::new()];
        let mut session = 0;
        for _ in 0..runs {
            for (i, fast_entry) in [false, true].into_iter().enumerate() {
                let plain = demo.timed(&format!("time {rounds}"))?;
                let mut traced = 0.0;
                session = daemon.record(demo.pid(), &[f.name], rounds, fast_entry, || {
                    traced = demo.timed(&format!("time {rounds}"))?;
                    Ok(())
                })?;
                overhead[i].push((traced - plain) / rounds as f64);
            }
        }
        // Each guide in turn, `runs` times (the daemon loads the model once, at its start).
        let mut by_guide = Vec::new();
        for guide in GUIDES {
            let mut times = Vec::new();
            let mut last = Json::Null;
            for _ in 0..runs {
                let (view, secs) = daemon.synthesize(session, f, "rust", Some(guide))?;
                if view["state"] != "verified" {
                    bail!("{} not verified with the {guide} guide: {view}", f.name);
                }
                if view["result"]["guide"] != guide {
                    bail!(
                        "asked for the {guide} guide, the job used {} (run `cargo xtask setup`)",
                        view["result"]["guide"]
                    );
                }
                times.push(secs);
                last = view;
            }
            by_guide.push((median(times), last));
        }
        // Fresh inputs: the original's answers against the emitted Rust.
        let mut seen = std::collections::HashSet::new();
        let mut examples = Vec::with_capacity(fresh);
        for _ in 0..fresh * 20 {
            let args = (f.fresh)(&mut rng);
            if examples.len() == fresh {
                break;
            }
            if seen.insert(Json::Array(args.clone()).to_string()) {
                let out = eval(&mut demo, f, &args)?;
                examples.push(json!({"args": args, "output": out}));
            }
        }
        let params: Vec<Json> = f.params.iter().map(|(n, t)| json!({"name": n, "type": t})).collect();
        let spec = json!({"function": f.name, "params": params, "output_type": f.output_type, "examples": examples});
        let problem = synth_engine::spec::Examples::from_json(&spec.to_string())?.to_problem()?;
        let mut cells = Vec::new();
        for (_, view) in &by_guide {
            let r = &view["result"];
            let code = r["code"].as_str().unwrap_or_default();
            let term: synth_engine::dsl::Term = r["term"].as_str().unwrap_or_default().parse()?;
            let tests =
                synth_engine::emit::emit_tests(synth_engine::emit::Lang::Rust, &problem, &term, &problem.examples)?;
            let limits =
                synth_engine::verify::VerifyLimits { compile_timeout: Duration::from_secs(600), ..Default::default() };
            let report = synth_engine::verify::verify(synth_engine::emit::Lang::Rust, code, &tests, &limits)?;
            cells.push((
                r["history"].as_array().map_or(0, Vec::len),
                format!("{}/{}", report.tests_passed, report.tests_total),
                emitted_lines(code, f.name),
                term.size(),
            ));
        }
        let r = &by_guide[0].1["result"];
        let pair = |f: &dyn Fn(usize) -> String| format!("{} / {}", f(0), f(1));
        println!(
            "| `{}` | {} | {} | {:.0} ns | {:.0} ns | {} | {} | {} | {} vs {} | {} |",
            f.name,
            r["calls_observed"],
            r["distinct_inputs"],
            median(overhead[0].clone()),
            median(overhead[1].clone()),
            pair(&|i| format!("{:.2} s", by_guide[i].0)),
            pair(&|i| cells[i].0.to_string()),
            pair(&|i| cells[i].1.clone()),
            pair(&|i| cells[i].2.to_string()),
            original_lines(f.name),
            pair(&|i| cells[i].3.to_string()),
        );
    }
    Ok(())
}
