//! `cargo xtask bench generalize`: does a program synthesized from a few examples agree
//! with the examples it never saw?
//!
//! Every SyGuS PBE task under the suites whose constraints are at least
//! [`MIN_EXAMPLES`] ground examples is cut to its first `k` examples (`k` = 3 and 2);
//! `$TRACESYNTH_BIN synth --sygus CUT --guide G` solves the cut file under the time limit,
//! for `G` uniform and learned, and the answer is checked against the remaining examples.
//! A task counts as correct only when every held-out example holds; an answer that fits
//! the `k` examples but misses a held-out one is wrong, no answer is none.
//!
//! The SyGuS tasks carry no natural-language description, so there is no with/without
//! description comparison here (`bench guide` and `bench rules` have descriptions).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use synth_engine::dsl::{sexpr, SExpr};

use synth_engine::spec::sygus;

use crate::sygus_task::{check, has_vars, read_task, run_limited, solution, Task};

/// Fewest examples a task needs to take part (3 to synthesize from, 3 held out).
pub const MIN_EXAMPLES: usize = 6;

/// How one solve of a cut task ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Verdict {
    /// An answer that holds on every held-out example.
    Correct,
    /// An answer that misses at least one held-out example.
    Wrong,
    /// No answer within the limit.
    None,
}

/// `src` with only its first `k` constraints (every other command kept, in order).
fn cut(cmds: &[SExpr], k: usize) -> String {
    let mut seen = 0;
    let mut out = String::new();
    for c in cmds {
        if c.list().and_then(|l| l.first()).and_then(SExpr::atom) == Some("constraint") {
            seen += 1;
            if seen > k {
                continue;
            }
        }
        out.push_str(&c.to_string());
        out.push('\n');
    }
    out
}

fn solve(bin: &Path, file: &Path, guide: &str, timeout: u64, held_out: &Task) -> Result<(Verdict, f64, Option<usize>)> {
    let mut cmd = Command::new(bin);
    cmd.args(["synth", "--sygus"]).arg(file).args(["--timeout", &timeout.to_string(), "--guide", guide]);
    let (out, _err, time, _killed) = run_limited(cmd, Duration::from_secs(timeout) + Duration::from_secs(3))?;
    Ok(match solution(&out, &held_out.fname) {
        Some(sol) if check(held_out, &sol) => (Verdict::Correct, time, Some(sol.body.size())),
        Some(sol) => (Verdict::Wrong, time, Some(sol.body.size())),
        None => (Verdict::None, time, None),
    })
}

/// Runs the benchmark; see the module documentation.
///
/// # Errors
///
/// An unreadable suite or a binary that cannot be started.
pub fn run(suites: &[PathBuf], timeout: u64, every: usize, guides: &[String]) -> Result<()> {
    let bin = PathBuf::from(std::env::var("TRACESYNTH_BIN").unwrap_or_else(|_| "target/release/tracesynth".into()));
    if !bin.exists() {
        bail!("{} not found: build it with `cargo build --release` or set TRACESYNTH_BIN", bin.display());
    }
    let mut files = Vec::new();
    for s in suites {
        sygus::collect_files(s, &mut files).with_context(|| format!("cannot read {}", s.display()))?;
    }
    files.sort();
    let tmp = tempfile::tempdir()?;
    let ks = [3usize, 2];
    let configs: Vec<(usize, &str)> = ks.iter().flat_map(|k| guides.iter().map(move |g| (*k, g.as_str()))).collect();
    print!("| task | examples |");
    for (k, g) in &configs {
        print!(" from {k}, {g} |");
    }
    println!();
    println!("|---|---|{}", "---|".repeat(configs.len()));
    let mut tallies = vec![[0usize; 3]; configs.len()];
    let mut eligible = 0usize;
    for f in &files {
        let src = std::fs::read_to_string(f).with_context(|| format!("cannot read {}", f.display()))?;
        let (Ok(cmds), Ok(task)) = (sexpr::parse_all(&src), read_task(&src)) else { continue };
        if task.constraints.len() < MIN_EXAMPLES || task.constraints.iter().any(has_vars) {
            continue;
        }
        eligible += 1;
        if !(eligible - 1).is_multiple_of(every.max(1)) {
            continue;
        }
        let name = f.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        print!("| {name} | {} |", task.constraints.len());
        for (i, (k, guide)) in configs.iter().enumerate() {
            let path = tmp.path().join(format!("k{k}.sl"));
            std::fs::write(&path, cut(&cmds, *k))?;
            let held_out = Task { constraints: task.constraints[*k..].to_vec(), ..read_task(&src)? };
            let (verdict, time, size) = solve(&bin, &path, guide, timeout, &held_out)?;
            tallies[i][verdict as usize] += 1;
            let size = size.map_or(String::new(), |s| format!(", size {s}"));
            print!(" {verdict:?} ({time:.1} s{size}) |");
        }
        println!();
    }
    let ran = tallies.first().map_or(0, |t| t.iter().sum::<usize>());
    println!();
    println!(
        "{eligible} tasks with at least {MIN_EXAMPLES} examples; ran {ran} (every {}th), {timeout} s each",
        every.max(1)
    );
    println!();
    println!("| from | guide | correct on held-out | wrong | no answer |");
    println!("|---|---|---|---|---|");
    for ((k, g), t) in configs.iter().zip(&tallies) {
        let pct = |n: usize| if ran == 0 { 0.0 } else { 100.0 * n as f64 / ran as f64 };
        println!("| {k} | {g} | {}/{ran} ({:.1} %) | {} ({:.1} %) | {} |", t[0], pct(t[0]), t[1], pct(t[1]), t[2]);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cut_keeps_every_command_and_only_the_first_examples() {
        let src = "(set-logic BV)(synth-fun f ((x (_ BitVec 64))) (_ BitVec 64))\
                   (constraint (= (f #x0000000000000001) #x0000000000000002))\
                   (constraint (= (f #x0000000000000002) #x0000000000000004))\
                   (constraint (= (f #x0000000000000003) #x0000000000000006))(check-synth)";
        let cmds = sexpr::parse_all(src).unwrap();
        let two = cut(&cmds, 2);
        assert_eq!(two.matches("(constraint").count(), 2, "{two}");
        assert!(two.contains("#x0000000000000004") && !two.contains("#x0000000000000006"), "{two}");
        assert!(two.starts_with("(set-logic BV)") && two.trim_end().ends_with("(check-synth)"), "{two}");
        let task = read_task(&two).unwrap();
        assert_eq!((task.fname.as_str(), task.constraints.len()), ("f", 2));
    }
}
