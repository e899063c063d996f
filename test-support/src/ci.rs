//! The one rule for a test that cannot run here: under CI (`CI` set to anything but
//! empty, `0` or `false`) it fails, since CI installs everything; elsewhere it skips and
//! writes `SKIPPED` straight to the terminal, past the test harness's capture.
use std::io::Write as _;

/// Whether this is a CI run.
#[must_use]
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !matches!(v.trim(), "" | "0" | "false"))
}

/// `test` cannot run because of `why`: panics under CI; elsewhere says `SKIPPED` on the
/// terminal and returns `false`, for `if !unavailable(..) { return; }`.
///
/// # Panics
/// Under CI.
pub fn skip(test: &str, why: &str) -> bool {
    let msg = format!("SKIPPED {test}: {why}");
    assert!(!in_ci(), "{msg}, and CI is set: failing instead of skipping");
    let _ = writeln!(std::io::stderr(), "{msg}");
    false
}

/// Whether `test` can run as this user: root (eBPF, other users' credentials). Follows
/// [`skip`] when it cannot.
///
/// # Panics
/// Under CI, when not root.
pub fn require_root(test: &str) -> bool {
    is_root() || skip(test, "it needs root (uprobes, CAP_BPF, other users' credentials)")
}

/// Whether `tool` runs here (`tool --version`). Follows [`skip`] when it does not.
///
/// # Panics
/// Under CI, when the tool is missing.
pub fn require_tool(test: &str, tool: &str) -> bool {
    let runs = std::process::Command::new(tool).arg("--version").output().is_ok();
    runs || skip(test, &format!("`{tool}` is not installed"))
}

/// Whether `path` exists. Follows [`skip`] when it does not; `hint` says how to get it.
///
/// # Panics
/// Under CI, when the file is missing.
pub fn require_file(test: &str, path: &std::path::Path, hint: &str) -> bool {
    path.exists() || skip(test, &format!("{} is missing: {hint}", path.display()))
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find_map(|l| l.strip_prefix("Uid:")).map(str::to_owned))
        .and_then(|l| l.split_whitespace().nth(1).map(|euid| euid == "0"))
        .unwrap_or(false)
}
