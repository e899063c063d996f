//! Compiles and runs emitted code with its tests in a sandbox, lints it, and
//! reports the result.
//!
//! Every child process runs under command-line wrappers (no `unsafe`
//! `pre_exec`): `timeout` for the wall clock, `prlimit` for address space and
//! CPU time, and `unshare --net` for an empty network namespace (needs root;
//! when it fails, the run goes on without it and the report says so).
//! Tools: `clippy-driver` (falls back to `rustc`), `python3` with `ruff` or
//! `pyflakes` when installed, `gcc -Wall -Wextra`.

use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use serde::Serialize;
use thiserror::Error;

use crate::emit::Lang;

/// A verification that could not run at all.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The temporary directory could not be created or written.
    #[error("cannot prepare the temporary directory: {0}")]
    TempDir(#[source] std::io::Error),
}

/// Limits for each child process.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyLimits {
    /// Wall-clock limit for compiling (and linting).
    pub compile_timeout: Duration,
    /// Wall-clock limit for running the tests.
    pub run_timeout: Duration,
    /// Address-space limit for running the tests, in bytes.
    pub memory_bytes: u64,
    /// Whether to isolate the network (`unshare --net`).
    pub isolate_network: bool,
}

impl Default for VerifyLimits {
    fn default() -> VerifyLimits {
        VerifyLimits {
            compile_timeout: Duration::from_secs(120),
            run_timeout: Duration::from_secs(10),
            memory_bytes: 1 << 30,
            isolate_network: true,
        }
    }
}

/// The quality report of one verification.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct QualityReport {
    /// Language.
    pub lang: String,
    /// Whether the code and tests compiled (always true for Python when it parses).
    pub compiled: bool,
    /// Tests that passed.
    pub tests_passed: usize,
    /// Tests in total.
    pub tests_total: usize,
    /// Compiler and linter warnings, one per entry.
    pub warnings: Vec<String>,
    /// Linter used (`clippy`, `gcc -Wall -Wextra`, `ruff`, `pyflakes`), if any.
    pub linter: Option<String>,
    /// Size of the solution term (filled in by the caller).
    pub term_size: Option<usize>,
    /// Depth of the solution term (filled in by the caller).
    pub term_depth: Option<usize>,
    /// Whether a step ran out of time.
    pub timed_out: bool,
    /// Sandbox notes (e.g. network isolation unavailable).
    pub notes: Vec<String>,
    /// The tail of the compiler or test output when something failed.
    pub log: String,
}

impl QualityReport {
    /// Whether everything compiled and every test passed.
    #[must_use]
    pub fn passed(&self) -> bool {
        self.compiled && self.tests_total > 0 && self.tests_passed == self.tests_total
    }
}

fn have(tool: &str, arg: &str) -> bool {
    Command::new(tool).arg(arg).output().is_ok_and(|o| o.status.success())
}

fn net_isolation_works() -> bool {
    static OK: OnceLock<bool> = OnceLock::new();
    *OK.get_or_init(|| Command::new("unshare").args(["--net", "true"]).output().is_ok_and(|o| o.status.success()))
}

struct Run {
    ok: bool,
    timed_out: bool,
    out: String,
}

fn sandboxed(
    dir: &Path,
    argv: &[&str],
    timeout: Duration,
    memory: Option<u64>,
    limits: &VerifyLimits,
    notes: &mut Vec<String>,
) -> Run {
    let secs = timeout.as_secs().max(1).to_string();
    let mut cmd = Command::new("timeout");
    cmd.args(["-k", "2", &secs]);
    if limits.isolate_network {
        if net_isolation_works() {
            cmd.args(["unshare", "--net", "--"]);
        } else {
            let note = "network isolation unavailable (unshare --net failed; not root?): ran without it".to_string();
            if !notes.contains(&note) {
                notes.push(note);
            }
        }
    }
    if have("prlimit", "--version") {
        cmd.args(["prlimit", &format!("--cpu={secs}")]);
        if let Some(m) = memory {
            cmd.arg(format!("--as={m}"));
        }
        cmd.arg("--");
    }
    cmd.args(argv).current_dir(dir);
    match cmd.output() {
        Ok(o) => {
            let mut out = String::from_utf8_lossy(&o.stdout).into_owned();
            out.push_str(&String::from_utf8_lossy(&o.stderr));
            let code = o.status.code();
            Run { ok: o.status.success(), timed_out: matches!(code, Some(124 | 137)), out }
        }
        Err(e) => Run { ok: false, timed_out: false, out: format!("cannot run {}: {e}", argv[0]) },
    }
}

fn tail(s: &str) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

/// Parses `passed N/M` (our runners) or libtest's `N passed; M failed`.
fn parse_counts(out: &str) -> Option<(usize, usize)> {
    for line in out.lines().rev() {
        if let Some(rest) = line.trim().strip_prefix("passed ") {
            if let Some((a, b)) = rest.split_once('/') {
                if let (Ok(a), Ok(b)) = (a.trim().parse(), b.trim().parse()) {
                    return Some((a, b));
                }
            }
        }
        if let Some(pos) = line.find("test result:") {
            let words: Vec<&str> = line[pos..].split([' ', ';', '.']).filter(|w| !w.is_empty()).collect();
            let num_before = |label: &str| -> Option<usize> {
                words
                    .iter()
                    .position(|w| *w == label)
                    .and_then(|i| i.checked_sub(1))
                    .and_then(|i| words[i].parse().ok())
            };
            let p = num_before("passed")?;
            let f = num_before("failed")?;
            return Some((p, p + f));
        }
    }
    None
}

/// Compiles and runs `code` with `tests` (as produced by
/// [`crate::emit::emit_function`] and [`crate::emit::emit_tests`]) in a
/// temporary directory, and lints the code.
///
/// # Errors
///
/// Only when the temporary directory cannot be prepared; tool failures are
/// reported in the [`QualityReport`].
pub fn verify(lang: Lang, code: &str, tests: &str, limits: &VerifyLimits) -> Result<QualityReport, VerifyError> {
    let dir = tempfile::tempdir().map_err(VerifyError::TempDir)?;
    let d = dir.path();
    let write = |name: &str, text: &str| std::fs::write(d.join(name), text).map_err(VerifyError::TempDir);
    let mut r = QualityReport { lang: lang.to_string(), ..QualityReport::default() };
    let mut notes = Vec::new();
    match lang {
        Lang::Rust => {
            write("main.rs", &format!("{code}\n{tests}"))?;
            let clippy = have("clippy-driver", "--version");
            let tool = if clippy { "clippy-driver" } else { "rustc" };
            let mut argv = vec![tool, "--edition", "2021", "--test", "main.rs", "-o", "tests_bin"];
            if clippy {
                argv.extend(["-W", "clippy::all"]);
                r.linter = Some("clippy".into());
            }
            let c = sandboxed(d, &argv, limits.compile_timeout, None, limits, &mut notes);
            r.warnings = c
                .out
                .lines()
                .filter(|l| {
                    l.starts_with("warning") && !l.contains("warning emitted") && !l.contains("warnings emitted")
                })
                .map(str::to_string)
                .collect();
            r.compiled = c.ok;
            r.timed_out |= c.timed_out;
            if !c.ok {
                r.log = tail(&c.out);
            } else {
                let run = sandboxed(
                    d,
                    &["./tests_bin", "--test-threads=1"],
                    limits.run_timeout,
                    Some(limits.memory_bytes),
                    limits,
                    &mut notes,
                );
                r.timed_out |= run.timed_out;
                if let Some((p, t)) = parse_counts(&run.out) {
                    r.tests_passed = p;
                    r.tests_total = t;
                }
                if !run.ok {
                    r.log = tail(&run.out);
                }
            }
        }
        Lang::Python => {
            write("solution.py", code)?;
            write("test_solution.py", tests)?;
            let c = sandboxed(
                d,
                &["python3", "-m", "py_compile", "solution.py", "test_solution.py"],
                limits.compile_timeout,
                None,
                limits,
                &mut notes,
            );
            r.compiled = c.ok;
            if !c.ok {
                r.log = tail(&c.out);
            } else {
                let run = sandboxed(
                    d,
                    &["python3", "test_solution.py"],
                    limits.run_timeout,
                    Some(limits.memory_bytes),
                    limits,
                    &mut notes,
                );
                r.timed_out |= run.timed_out;
                if let Some((p, t)) = parse_counts(&run.out) {
                    r.tests_passed = p;
                    r.tests_total = t;
                }
                if !run.ok {
                    r.log = tail(&run.out);
                }
            }
            let lint: Option<(&str, Vec<&str>)> = if have("ruff", "--version") {
                Some((
                    "ruff",
                    vec!["ruff", "check", "--quiet", "--no-cache", "--output-format", "concise", "solution.py"],
                ))
            } else if have("python3", "-c")
                && Command::new("python3").args(["-c", "import pyflakes"]).output().is_ok_and(|o| o.status.success())
            {
                Some(("pyflakes", vec!["python3", "-m", "pyflakes", "solution.py"]))
            } else {
                notes.push("no python linter found (pip install ruff)".into());
                None
            };
            if let Some((name, argv)) = lint {
                r.linter = Some(name.into());
                let l = sandboxed(d, &argv, limits.compile_timeout, None, limits, &mut notes);
                r.warnings = l.out.lines().filter(|x| x.contains("solution.py:")).map(str::to_string).collect();
            }
        }
        Lang::C => {
            write("solution.c", code)?;
            write("test_solution.c", tests)?;
            r.linter = Some("gcc -Wall -Wextra".into());
            let c = sandboxed(
                d,
                &["gcc", "-std=c11", "-O1", "-Wall", "-Wextra", "solution.c", "test_solution.c", "-o", "tests_bin"],
                limits.compile_timeout,
                None,
                limits,
                &mut notes,
            );
            r.warnings = c.out.lines().filter(|l| l.contains("warning:")).map(str::to_string).collect();
            r.compiled = c.ok;
            r.timed_out |= c.timed_out;
            if !c.ok {
                r.log = tail(&c.out);
            } else {
                let run =
                    sandboxed(d, &["./tests_bin"], limits.run_timeout, Some(limits.memory_bytes), limits, &mut notes);
                r.timed_out |= run.timed_out;
                if let Some((p, t)) = parse_counts(&run.out) {
                    r.tests_passed = p;
                    r.tests_total = t;
                }
                if !run.ok {
                    r.log = tail(&run.out);
                }
            }
        }
    }
    r.notes = notes;
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_test_counts() {
        assert_eq!(parse_counts("x\npassed 3/4\n"), Some((3, 4)));
        assert_eq!(parse_counts("test result: FAILED. 2 passed; 1 failed; 0 ignored; 0 measured"), Some((2, 3)));
        assert_eq!(parse_counts("nothing"), None);
    }
}
