//! `cargo xtask bench rules`: the business-rules check from a live PID
//! (`../shared/bench/business/check_rules.py`) with a release `tracesynth`, summarized:
//! functions that agree with the original on every fresh input, terms within twice the
//! natural size, and functions reported `verified` while wrong.
use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context as _, Result};

/// One function's line of `check_rules.py`.
#[derive(Debug, PartialEq)]
struct Row {
    name: String,
    agree: (u32, u32),
    size: Option<u32>,
    natural: u32,
    status: String,
}

fn parse(line: &str) -> Option<Row> {
    // "NAME: A/B agree, term size S (natural N), reported STATUS (Ts)"
    let (name, rest) = line.split_once(": ")?;
    let (agree, rest) = rest.split_once(" agree, term size ")?;
    let (a, b) = agree.split_once('/')?;
    let (size, rest) = rest.split_once(" (natural ")?;
    let (natural, rest) = rest.split_once("), reported ")?;
    let status = rest.split_whitespace().next()?;
    Some(Row {
        name: name.to_owned(),
        agree: (a.parse().ok()?, b.parse().ok()?),
        size: size.parse().ok(),
        natural: natural.parse().ok()?,
        status: status.to_owned(),
    })
}

/// One pass of the check with `bin` as the `tracesynth` it runs: its lines, echoed.
fn check(script: &Path, bin: &Path) -> Result<Vec<Row>> {
    let out = Command::new("python3").arg(script).arg(bin).output().context("running check_rules.py")?;
    let text = String::from_utf8_lossy(&out.stdout);
    print!("{text}");
    if !out.status.success() {
        bail!("check_rules.py failed: {}\n{}", out.status, String::from_utf8_lossy(&out.stderr));
    }
    let total = text.lines().filter(|l| l.contains(": ") && !l.starts_with("rules:")).count();
    let rows: Vec<Row> = text.lines().filter_map(parse).collect();
    let agree = rows.iter().filter(|r| r.agree.0 == r.agree.1).count();
    let small = rows.iter().filter(|r| r.agree.0 == r.agree.1 && r.size.is_some_and(|s| s <= 2 * r.natural)).count();
    let wrong_verified: Vec<&str> =
        rows.iter().filter(|r| r.status == "verified" && r.agree.0 < r.agree.1).map(|r| r.name.as_str()).collect();
    println!(
        "bench rules: {agree}/{total} agree on every fresh input, {small}/{total} also within 2x the natural size; \
         {} reported verified while wrong{}",
        wrong_verified.len(),
        if wrong_verified.is_empty() { String::new() } else { format!(" ({})", wrong_verified.join(", ")) }
    );
    Ok(rows)
}

/// Writes an executable wrapper around `bin` that appends `extra` to its arguments and
/// keeps the standard error of every failed run in `failures`, as the check drops it.
fn wrapper(path: &Path, bin: &Path, extra: &str, failures: &Path) -> Result<()> {
    let err = path.with_extension("err");
    std::fs::write(
        path,
        format!(
            "#!/bin/sh\n'{bin}' \"$@\" {extra} 2>'{err}'\nrc=$?\n\
             if [ $rc -ne 0 ]; then {{ echo \"--- tracesynth $* (rc=$rc)\"; tail -n 20 '{err}'; }} >>'{failures}'; fi\n\
             exit $rc\n",
            bin = bin.display(),
            err = err.display(),
            failures = failures.display(),
        ),
    )?;
    let mut perms = std::fs::metadata(path)?.permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(path, perms)?;
    Ok(())
}

/// Runs the check and prints the summary; then one more pass per entry of `with`, whose
/// arguments are appended to every `tracesynth synth` (through a wrapper script, as the
/// check's command line is fixed). The standard error of a failed synth is printed after
/// its pass.
pub fn run(with: &[String]) -> Result<()> {
    let bin = crate::build_tracesynth()?;
    let script = crate::root().join("../shared/bench/business/check_rules.py");
    if !script.exists() {
        bail!("{} not found (the shared benchmarks sit beside the repository)", script.display());
    }
    let dir = tempfile::tempdir()?;
    let passes = std::iter::once(String::new()).chain(with.iter().cloned());
    for (i, extra) in passes.enumerate() {
        let failures = dir.path().join(format!("failures-{i}"));
        let wrapped = dir.path().join(format!("tracesynth-{i}"));
        wrapper(&wrapped, &bin, &extra, &failures)?;
        if !extra.is_empty() {
            println!("\nwith {extra}:");
        }
        check(&script, &wrapped)?;
        if let Ok(text) = std::fs::read_to_string(&failures) {
            println!("standard error of the failed runs:\n{text}");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_check_s_lines() {
        let row = parse("pages: 1470/2000 agree, term size 203 (natural 7), reported verified (2s)").unwrap();
        assert_eq!(
            row,
            Row { name: "pages".into(), agree: (1470, 2000), size: Some(203), natural: 7, status: "verified".into() }
        );
        let row = parse("sign: 2000/2000 agree, term size None (natural 9), reported fits-observed (1s)").unwrap();
        assert_eq!((row.size, row.status.as_str()), (None, "fits-observed"));
        assert!(parse("celsius_to_f: synth failed rc=1 (11s)").is_none());
    }
}
