//! `cargo xtask bench lists` and `bench text`: tasks synthesized from their examples and
//! checked on held-out test cases they never saw, list tasks (DeepCoder/LambdaBeam style)
//! and text tasks (the BUSTLE/CrossBeam kind, with a description).
//!
//! For every `TASK.json` of the suite with a `TASK.tests.json` beside it,
//! `$TRACESYNTH_BIN synth [--domain lists] --examples TASK.json --lang python --timeout T --out DIR` runs
//! once per repeat; a task is *solved* when the emitted Python passes the examples (the
//! tool's own verification), and *correct* when that same emitted file, run by
//! `python3`, also returns the expected output on every held-out case. Times include
//! the process, the search and the verification; a task without an answer counts at
//! the limit for the median.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context, Result};

use crate::median;
use crate::sygus_task::run_limited;

/// Checks an emitted `solution.py` against held-out cases: prints `correct K/N`.
const CHECKER: &str = r#"
import json, sys
sys.path.insert(0, sys.argv[1])
import solution
fn = getattr(solution, sys.argv[3])
cases = json.load(open(sys.argv[2]))["tests"]
ok = 0
for c in cases:
    try:
        if fn(*c["args"]) == c["output"]:
            ok += 1
    except Exception:
        pass
print(f"correct {ok}/{len(cases)}")
"#;

struct Outcome {
    solved: bool,
    correct: bool,
    seconds: f64,
    program: String,
    size: Option<u64>,
}

/// Which language a suite's tasks are searched in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Domain {
    /// The list language, forced (`--domain lists`): the integer-only tasks have Python's
    /// semantics.
    Lists,
    /// Whatever `synth --examples` chooses from the types (text here).
    Auto,
}

fn solve(
    bin: &Path,
    task: &Path,
    tests: &Path,
    (timeout, guide, domain): (u64, &str, Domain),
    dir: &Path,
) -> Result<Outcome> {
    let _ = std::fs::remove_dir_all(dir);
    let mut cmd = Command::new(bin);
    cmd.arg("synth");
    if domain == Domain::Lists {
        cmd.args(["--domain", "lists"]);
    }
    cmd.arg("--examples").arg(task);
    if guide != "default" {
        cmd.args(["--guide", guide]);
    }
    cmd.args(["--lang", "python", "--timeout", &timeout.to_string()]);
    cmd.arg("--out").arg(dir);
    let (_out, _err, seconds, _killed) = run_limited(cmd, Duration::from_secs(timeout + 20))?;
    let report: Option<serde_json::Value> =
        std::fs::read_to_string(dir.join("report.json")).ok().and_then(|t| serde_json::from_str(&t).ok());
    let Some(report) = report else {
        return Ok(Outcome { solved: false, correct: false, seconds, program: String::new(), size: None });
    };
    let q = &report["report"];
    let solved = q["tests_total"].as_u64().is_some_and(|t| t > 0 && q["tests_passed"].as_u64() == Some(t));
    let function: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(task)?)?;
    let fname = function["function"].as_str().unwrap_or("f").to_string();
    let checker = dir.join("check_held_out.py");
    std::fs::write(&checker, CHECKER)?;
    let mut py = Command::new("python3");
    py.arg(&checker).arg(dir).arg(tests).arg(&fname);
    let (out, _e, _t, _k) = run_limited(py, Duration::from_secs(30))?;
    let correct = solved
        && out
            .lines()
            .rev()
            .find_map(|l| l.strip_prefix("correct "))
            .is_some_and(|r| r.split_once('/').is_some_and(|(a, b)| a.trim() == b.trim() && b.trim() != "0"));
    Ok(Outcome {
        solved,
        correct,
        seconds,
        // The list report names the program and its size; the scalar one the term.
        program: report["program"].as_str().or_else(|| report["term"].as_str()).unwrap_or_default().to_string(),
        size: report["size"].as_u64().or_else(|| q["term_size"].as_u64()),
    })
}

/// Runs the benchmark; see the module documentation. `guides`: `default` (the core-first
/// prior for lists, the learned guide for text) and/or `uniform`, each a pass over every
/// task in the same run.
///
/// # Errors
///
/// An unreadable suite, a binary that cannot be started, or no tasks.
pub fn run(suite: &Path, domain: Domain, timeout: u64, runs: usize, every: usize, guides: &[String]) -> Result<()> {
    let bin = PathBuf::from(std::env::var("TRACESYNTH_BIN").unwrap_or_else(|_| "target/release/tracesynth".into()));
    if !bin.exists() {
        bail!("{} not found: build it with `cargo build --release` or set TRACESYNTH_BIN", bin.display());
    }
    let mut tasks: Vec<PathBuf> = std::fs::read_dir(suite)
        .with_context(|| format!("cannot read {}", suite.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            name.ends_with(".json") && !name.ends_with(".tests.json")
        })
        .collect();
    tasks.sort();
    tasks = tasks.into_iter().step_by(every.max(1)).collect();
    if tasks.is_empty() {
        bail!("no TASK.json files in {}", suite.display());
    }
    let tmp = tempfile::tempdir()?;
    print!("| task |");
    for g in guides {
        print!(" {g}: solved | correct | time (s) | program |");
    }
    println!();
    println!("|---|{}", "---|---|---|---|".repeat(guides.len()));
    // Per guide and run: tasks solved and correct; per guide: each task's median time.
    let mut solved = vec![vec![0usize; runs]; guides.len()];
    let mut correct = vec![vec![0usize; runs]; guides.len()];
    let mut medians = vec![Vec::new(); guides.len()];
    for task in &tasks {
        let tests = task.with_extension("tests.json");
        if !tests.exists() {
            bail!("{} has no held-out cases beside it ({})", task.display(), tests.display());
        }
        let name = task.file_stem().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        print!("| {name} |");
        for (g, guide) in guides.iter().enumerate() {
            let mut times = Vec::new();
            let mut last = None;
            let (mut s_n, mut c_n) = (0, 0);
            for r in 0..runs {
                let o = solve(&bin, task, &tests, (timeout, guide, domain), &tmp.path().join(&name))?;
                solved[g][r] += usize::from(o.solved);
                correct[g][r] += usize::from(o.correct);
                s_n += usize::from(o.solved);
                c_n += usize::from(o.correct);
                times.push(if o.solved { o.seconds } else { timeout as f64 });
                last = Some(o);
            }
            let t = median(times);
            medians[g].push(t);
            let o = last.expect("runs >= 1");
            let size = o.size.map_or(String::new(), |s| format!(" ({s} nodes)"));
            print!(" {s_n}/{runs} | {c_n}/{runs} | {t:.2} | `{}`{size} |", o.program);
        }
        println!();
    }
    let n = tasks.len();
    let med = |v: &[usize]| median(v.iter().map(|&x| x as f64).collect());
    println!();
    println!("{n} tasks, {timeout} s each, {runs} run(s); medians over runs; unsolved tasks count at the limit.");
    println!();
    println!("| guide | solved | correct on held-out | median time (s) |");
    println!("|---|---|---|---|");
    for (g, guide) in guides.iter().enumerate() {
        println!("| {guide} | {} | {} | {:.2} |", med(&solved[g]), med(&correct[g]), median(medians[g].clone()));
    }
    Ok(())
}
