//! `cargo xtask bench synth --suite DIR --timeout N [--limit K] [--filter SUBSTR]`
//!
//! Runs our engine (`$TRACESYNTH_BIN synth --sygus FILE --timeout N`, default
//! `target/release/tracesynth`) and cvc5 on every `.sl` file under DIR, one
//! task at a time, each under the same wall-clock limit. cvc5 gets the flags
//! of its SyGuS-Comp scripts: `--lang=sygus2 --sygus-si=none`, plus
//! `--sygus-fair=direct` for string logics. Every solution (ours and cvc5's)
//! is then checked independently against the task's own constraints: PBE
//! constraints are evaluated directly; constraints over declared variables
//! are evaluated on edge values and 20 000 seeded random inputs.
//!
//! Prints a markdown table per task, totals, median times and their ratio.
//! This is a side-by-side comparison, not a timed test.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context, Result};

use synth_engine::spec::sygus;

use crate::sygus_task::{check, read_task, run_limited, solution, Task};

/// One solver's result on one task.
#[derive(Clone, Debug, Default)]
struct Outcome {
    solved: bool,
    time: f64,
    size: Option<usize>,
    /// `Some(true)` when the solution satisfies the constraints.
    checked: Option<bool>,
    note: String,
}

fn run_ours(bin: &Path, file: &Path, timeout: u64, task: &Task) -> Result<Outcome> {
    let mut cmd = Command::new(bin);
    cmd.args(["synth", "--sygus"]).arg(file).args(["--timeout", &timeout.to_string()]);
    let (out, err, time, killed) = run_limited(cmd, Duration::from_secs(timeout) + Duration::from_secs(2))?;
    Ok(judge(&out, &err, time, killed, task))
}

fn run_cvc5(file: &Path, timeout: u64, task: &Task) -> Result<Outcome> {
    let mut cmd = Command::new("cvc5");
    cmd.args(["--lang=sygus2", "--sygus-si=none"]);
    if task.logic.contains('S') {
        cmd.arg("--sygus-fair=direct");
    }
    cmd.arg(format!("--tlimit={}", timeout * 1000)).arg(file);
    let (out, err, time, killed) = run_limited(cmd, Duration::from_secs(timeout) + Duration::from_secs(2))?;
    Ok(judge(&out, &err, time, killed, task))
}

fn judge(out: &str, err: &str, time: f64, killed: bool, task: &Task) -> Outcome {
    match solution(out, &task.fname) {
        Some(sol) => Outcome {
            solved: true,
            time,
            size: Some(sol.body.size()),
            checked: Some(check(task, &sol)),
            note: String::new(),
        },
        None => {
            let note = if killed {
                "timeout".to_string()
            } else {
                let text = format!("{out} {err}");
                let first = text.split_whitespace().take(8).collect::<Vec<_>>().join(" ");
                first.chars().take(60).collect()
            };
            Outcome { solved: false, time, size: None, checked: None, note }
        }
    }
}

fn cell(o: &Outcome) -> String {
    if o.solved {
        let ck = match o.checked {
            Some(true) => "ok",
            Some(false) => "WRONG",
            None => "?",
        };
        format!("{ck} | {:.2} | {}", o.time, o.size.map_or("-".into(), |s| s.to_string()))
    } else {
        format!("- {} | {:.2} | -", o.note, o.time)
    }
}

/// Runs the side-by-side benchmark; see the module documentation.
///
/// # Errors
///
/// An unreadable suite directory or a solver that cannot be started.
pub fn run(suite: &Path, timeout_secs: u64, limit: Option<usize>, filter: Option<&str>) -> Result<()> {
    let bin = PathBuf::from(std::env::var("TRACESYNTH_BIN").unwrap_or_else(|_| "target/release/tracesynth".into()));
    if !bin.exists() {
        bail!("{} not found: build it with `cargo build --release` or set TRACESYNTH_BIN", bin.display());
    }
    let have_cvc5 = Command::new("cvc5").arg("--version").output().is_ok();
    if !have_cvc5 {
        eprintln!("warning: cvc5 not found; only our engine runs");
    }
    let mut files = Vec::new();
    sygus::collect_files(suite, &mut files).with_context(|| format!("cannot read {}", suite.display()))?;
    files.sort();
    if let Some(f) = filter {
        files.retain(|p| p.to_string_lossy().contains(f));
    }
    if let Some(k) = limit {
        files.truncate(k);
    }
    println!("| task | ours | time s | size | cvc5 | time s | size |");
    println!("|---|---|---|---|---|---|---|");
    let mut rows: Vec<(Outcome, Outcome)> = Vec::new();
    for f in &files {
        let name = f.strip_prefix(suite).unwrap_or(f).display().to_string();
        let src = std::fs::read_to_string(f).with_context(|| format!("cannot read {}", f.display()))?;
        let task = match read_task(&src) {
            Ok(t) => t,
            Err(e) => {
                println!("| {name} | unreadable: {e} | | | | | |");
                continue;
            }
        };
        let ours = run_ours(&bin, f, timeout_secs, &task)?;
        let theirs = if have_cvc5 { run_cvc5(f, timeout_secs, &task)? } else { Outcome::default() };
        println!("| {name} | {} | {} |", cell(&ours), if have_cvc5 { cell(&theirs) } else { "n/a | | ".into() });
        rows.push((ours, theirs));
    }
    let n = rows.len();
    let solved = |pick: &dyn Fn(&(Outcome, Outcome)) -> &Outcome| {
        rows.iter().filter(|r| pick(r).solved && pick(r).checked != Some(false)).count()
    };
    let ours_ok = solved(&|r| &r.0);
    let ours_wrong = rows.iter().filter(|r| r.0.checked == Some(false)).count();
    let cvc_ok = solved(&|r| &r.1);
    let cvc_wrong = rows.iter().filter(|r| r.1.checked == Some(false)).count();
    let t = timeout_secs as f64;
    let med_solved = |pick: &dyn Fn(&(Outcome, Outcome)) -> &Outcome| {
        test_support::median(rows.iter().map(pick).filter(|o| o.solved).map(|o| o.time).collect())
    };
    let med_all = |pick: &dyn Fn(&(Outcome, Outcome)) -> &Outcome| {
        test_support::median(rows.iter().map(pick).map(|o| if o.solved { o.time } else { t }).collect())
    };
    let fmt = |m: Option<f64>| m.map_or("-".to_string(), |x| format!("{x:.3} s"));
    println!();
    println!("| | ours | cvc5 |");
    println!("|---|---|---|");
    println!("| solved and checked | {ours_ok}/{n} | {cvc_ok}/{n} |");
    println!("| solutions failing the check | {ours_wrong} | {cvc_wrong} |");
    println!("| median time, solved tasks | {} | {} |", fmt(med_solved(&|r| &r.0)), fmt(med_solved(&|r| &r.1)));
    println!(
        "| median time, all tasks (unsolved = {timeout_secs} s) | {} | {} |",
        fmt(med_all(&|r| &r.0)),
        fmt(med_all(&|r| &r.1))
    );
    if let (Some(a), Some(b)) = (med_all(&|r| &r.0), med_all(&|r| &r.1)) {
        if a > 0.0 {
            println!("| cvc5 / ours median time (all tasks) | {:.1}x | |", b / a);
        }
    }
    Ok(())
}
