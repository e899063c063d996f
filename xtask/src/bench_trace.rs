//! `cargo xtask bench trace`: cost per traced call of this tracer vs bpftrace, on the same
//! fixture in one run, and ring-buffer throughput.
use std::{
    io::{BufRead, BufReader},
    path::Path,
    process::{Child, Command, Stdio},
    time::Duration,
};

use anyhow::{bail, Context as _, Result};

use crate::median;
use test_support::fixture::Fixture;

/// Runs `bench F N` on `target` and returns (wall-clock ns, on-CPU ns) per call.
fn bench(target: &mut Fixture, shape: &str, calls: u64) -> Result<(f64, f64)> {
    let before = target.cpu_ns()?;
    let wall = target.timed(&format!("bench {shape} {calls}"))?;
    let cpu = target.cpu_ns()? - before;
    Ok((wall / calls as f64, cpu as f64 / calls as f64))
}

/// Runs `work` on `target` while `tracesynth record FLAGS --func FUNC -o TRACE` records it;
/// returns what `work` measured and the trace.
fn while_recording<T>(
    tracesynth: &Path,
    target: &mut Fixture,
    flags: &[&str],
    func: &str,
    trace: &Path,
    work: impl FnOnce(&mut Fixture) -> Result<T>,
) -> Result<(T, serde_json::Value)> {
    let pid = target.pid().to_string();
    let mut rec = Command::new(tracesynth)
        .args(["record", "--quiet"])
        .args(flags)
        .args(["--pid", &pid, "--func", func, "-o"])
        .arg(trace)
        .stderr(Stdio::piped())
        .spawn()?;
    let mut err = BufReader::new(rec.stderr.take().context("stderr")?);
    wait_for(&mut err, "attached")?;
    let measured = work(target)?;
    interrupt(&mut rec)?;
    Ok((measured, serde_json::from_slice(&std::fs::read(trace)?)?))
}

/// Records `func` with `tracesynth record FLAGS` while `bench SHAPE CALLS` runs; returns
/// (wall ns per call, on-CPU ns per call, the trace).
fn recorded(
    tracesynth: &Path,
    target: &mut Fixture,
    flags: &[&str],
    func: &str,
    shape: &str,
    calls: u64,
    trace: &Path,
) -> Result<(f64, f64, serde_json::Value)> {
    let ((wall, on_cpu), doc) =
        while_recording(tracesynth, target, flags, func, trace, |target| bench(target, shape, calls))?;
    let got = doc["calls"].as_array().map_or(0, Vec::len) as u64;
    if got != calls {
        eprintln!("warning: {func} {flags:?}: recorded {got} of {calls} calls (loss {})", doc["loss"]);
    }
    if flags.contains(&"--fast-entry") {
        let patched = doc["warnings"]
            .as_array()
            .is_some_and(|w| w.iter().any(|w| w.as_str().is_some_and(|w| w.contains(": patched 5 bytes"))));
        if !patched {
            bail!("{func} was not patched by --fast-entry: {}", doc["warnings"]);
        }
    }
    Ok((wall, on_cpu, doc))
}

/// Starts bpftrace with `script` on `pid` and returns once its probes are attached.
pub(crate) fn bpftrace_attached(pid: &str, script: &str) -> Result<Child> {
    let mut bt = Command::new("bpftrace")
        .args(["-p", pid, "-e", script])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let mut out = BufReader::new(bt.stdout.take().context("stdout")?);
    wait_for(&mut out, "Attaching")?;
    std::thread::sleep(Duration::from_millis(300));
    Ok(bt)
}

fn wait_for(reader: &mut impl BufRead, needle: &str) -> Result<()> {
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            bail!("tracer exited before printing {needle:?}");
        }
        if line.contains(needle) {
            return Ok(());
        }
    }
}

pub(crate) fn interrupt(child: &mut Child) -> Result<()> {
    Command::new("kill").args(["-INT", &child.id().to_string()]).status()?;
    child.wait()?;
    Ok(())
}

/// Runs the benchmark and prints the tables.
pub fn run(calls: u64, runs: usize) -> Result<()> {
    let tracesynth = crate::build_tracesynth()?;
    let dir = tempfile::tempdir()?;
    let bin = dir.path().join("calls");
    crate::gcc("calls", &["-O2", "-g"], &bin)?;
    let bpftrace = Command::new("bpftrace").arg("--version").output().is_ok();
    println!(
        "## Probe cost per call (entry + return; --fast-entry: one probe per call for these leaves), \
         median of {runs} runs of {calls} calls\n"
    );
    let header = "| function starts with | no probe ns | tracesynth ns | --fast-entry ns | --fast-entry --no-call-through ns \
                  | bpftrace count() ns | bpftrace/ours | bpftrace/fast-entry | bpftrace/fast-entry --no-call-through |\n\
                  |---|---|---|---|---|---|---|---|---|";
    println!("{header}");
    let mut throughput = Vec::new();
    let mut cpu_rows = Vec::new();
    for (shape, func, what) in [
        ("lea", "lea_fn", "`lea` (single-stepped)"),
        ("push", "push_fn", "`push %rbx` (emulated)"),
        ("nop5", "nop5_fn", "5-byte nop (optimized)"),
    ] {
        // no probe, ours, fast-entry, fast-entry without call-through, bpftrace
        let mut wall: [Vec<f64>; 5] = Default::default();
        let mut cpu: [Vec<f64>; 5] = Default::default();
        for _ in 0..runs {
            let mut target = Fixture::spawn(&bin)?;
            let pid = target.pid().to_string();
            let (w, c) = bench(&mut target, shape, calls)?;
            wall[0].push(w);
            cpu[0].push(c);

            let trace = dir.path().join(format!("{func}.json"));
            let (w, c, doc) = recorded(&tracesynth, &mut target, &[], func, shape, calls, &trace)?;
            wall[1].push(w);
            cpu[1].push(c);
            if shape == "nop5" {
                let loss = &doc["loss"];
                let received = loss["received"].as_u64().unwrap_or(0);
                let dropped = loss["dropped"].as_u64().unwrap_or(0);
                let got = doc["calls"].as_array().map_or(0, Vec::len) as u64;
                let secs = w * calls as f64 / 1e9;
                throughput.push((received as f64 / secs, received, dropped, got));
            }
            for (i, flags) in [(2, &["--fast-entry"][..]), (3, &["--fast-entry", "--no-call-through"])] {
                let trace = dir.path().join(format!("{func}-fast{i}.json"));
                let (w, c, _) = recorded(&tracesynth, &mut target, flags, func, shape, calls, &trace)?;
                wall[i].push(w);
                cpu[i].push(c);
            }

            if bpftrace {
                let script = format!(
                    "uprobe:{b}:{func} {{ @entries = count(); }} uretprobe:{b}:{func} {{ @returns = count(); }}",
                    b = bin.display()
                );
                let mut bt = bpftrace_attached(&pid, &script)?;
                let (w, c) = bench(&mut target, shape, calls)?;
                wall[4].push(w);
                cpu[4].push(c);
                interrupt(&mut bt)?;
            }
        }
        let row = |v: [Vec<f64>; 5]| {
            let [n, o, f, u, t] = v.map(median);
            format!(
                "| {what} | {n:.1} | {o:.1} | {f:.1} | {u:.1} | {t:.1} | {:.2}× | {:.2}× | {:.2}× |",
                (t - n) / (o - n),
                (t - n) / (f - n),
                (t - n) / (u - n)
            )
        };
        println!("{}", row(wall));
        cpu_rows.push(row(cpu));
    }
    println!("\n## The same runs, on-CPU time of the target's thread per call (/proc/PID/schedstat; waiting for a CPU excluded)\n");
    println!("{header}");
    for row in cpu_rows {
        println!("{row}");
    }
    deep_capture(&tracesynth, &bin, dir.path(), calls, runs, bpftrace)?;
    paced_deep_capture(&tracesynth, &bin, dir.path(), runs)?;
    refusal_rate(&tracesynth, dir.path())?;
    println!("\n## Ring buffer at the fixture's highest rate (nop5 function, entry + return events)\n");
    println!("| run | events/s received | received | dropped | calls paired |");
    println!("|---|---|---|---|---|");
    for (i, (rate, received, dropped, got)) in throughput.iter().enumerate() {
        println!("| {} | {:.0} | {received} | {dropped} | {got} |", i + 1, rate);
    }
    Ok(())
}

/// The ring buffer's goal: 1M calls of `sum_ints` over 16 ints (64 bytes read per call),
/// paced at 200k calls/s by the fixture (`arrpace`), recorded with `--fast-entry` (its entry
/// instruction is single-stepped otherwise, which caps the function far below that rate):
/// records produced, received and dropped, and calls recorded, per run. The counts are read
/// from the recorder's summary and the trace is written as bincode to a tmpfs: as JSON 1M
/// calls are 1.5 GB written to disk and parsed between runs, work (and writeback) that
/// competes with the next run on this machine and is no part of what is measured.
fn paced_deep_capture(tracesynth: &Path, bin: &Path, dir: &Path, runs: usize) -> Result<()> {
    const CALLS: u64 = 1_000_000;
    const RATE: u64 = 200_000;
    println!("\n## Deep capture at 200k calls/s: `sum_ints` over 16 ints, {CALLS} calls, `--fast-entry`\n");
    println!("| run | calls/s reached | records produced | received | dropped | calls recorded |");
    println!("|---|---|---|---|---|---|");
    for run in 1..=runs {
        let mut target = Fixture::spawn(bin)?;
        let pid = target.pid().to_string();
        // In memory where there is a tmpfs: nothing for the kernel to write back later.
        let shm = Path::new("/dev/shm");
        let trace = if shm.is_dir() {
            shm.join(format!("tracesynth-paced-{}.bin", std::process::id()))
        } else {
            dir.join("paced.bin")
        };
        let mut rec = Command::new(tracesynth)
            .args(["record", "--quiet", "--fast-entry", "--pid", &pid, "--func", "sum_ints", "-o"])
            .arg(&trace)
            .stderr(Stdio::piped())
            .spawn()?;
        let mut err = BufReader::new(rec.stderr.take().context("stderr")?);
        wait_for(&mut err, "attached")?;
        let ns = target.timed(&format!("arrpace 16 {CALLS} {RATE}"))?;
        interrupt(&mut rec)?;
        let mut summary = String::new();
        std::io::Read::read_to_string(&mut err, &mut summary)?;
        // "events: produced P = received R + dropped D" and "recorded N calls ...".
        let number_after = |key: &str| -> Result<u64> {
            let rest = summary.split(key).nth(1).with_context(|| format!("no {key:?} in: {summary}"))?;
            Ok(rest.split_whitespace().next().unwrap_or("").parse()?)
        };
        println!(
            "| {run} | {:.0} | {} | {} | {} | {} |",
            CALLS as f64 / (ns / 1e9),
            number_after("produced ")?,
            number_after("received ")?,
            number_after("dropped ")?,
            number_after("recorded ")?
        );
        let _ = std::fs::remove_file(&trace);
    }
    Ok(())
}

/// Reading the ints behind `sum_ints(const int *a, int n)` at entry: the cost per call
/// over no probe, for n = 16 and 256, of scalar capture (`--array-cap 0`), deep capture
/// (with the entry probe where the function starts, and with `--fast-entry`),
/// and bpftrace reading the same bytes into a map (`@last = buf(arg0, 4n)`, which bpftrace
/// can do for 64 bytes, not for 1 KiB).
fn deep_capture(tracesynth: &Path, bin: &Path, dir: &Path, calls: u64, runs: usize, bpftrace: bool) -> Result<()> {
    println!(
        "\n## Deep capture: `sum_ints(const int *a, int n)`, ns per call over no probe, median of {runs} runs of {calls} calls\n"
    );
    println!(
        "| n (bytes) | no probe ns | scalar (--array-cap 0) | deep | deep --fast-entry | bpftrace buf() | deep/scalar \
         | bpftrace/deep | bpftrace/deep --fast-entry | dropped (deep) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for n in [16u64, 256] {
        // no probe, scalar, deep, bpftrace, deep with --fast-entry
        let mut wall: [Vec<f64>; 5] = Default::default();
        let mut dropped = 0u64;
        for _ in 0..runs {
            let mut target = Fixture::spawn(bin)?;
            let pid = target.pid().to_string();
            let arrbench = |target: &mut Fixture| -> Result<f64> {
                Ok(target.timed(&format!("arrbench {n} {calls}"))? / calls as f64)
            };
            wall[0].push(arrbench(&mut target)?);
            for (i, flags) in [(1, &["--array-cap", "0"][..]), (2, &[][..]), (4, &["--fast-entry"][..])] {
                let trace = dir.join(format!("sum_ints-{n}-{i}.json"));
                let (w, doc) = while_recording(tracesynth, &mut target, flags, "sum_ints", &trace, arrbench)?;
                wall[i].push(w);
                if i != 1 {
                    if i == 2 {
                        dropped += doc["loss"]["dropped"].as_u64().unwrap_or(0);
                    }
                    let first = &doc["calls"][0]["args"][0]["array"];
                    if first["items"].as_array().map_or(0, Vec::len) as u64 != n {
                        bail!("deep capture of sum_ints did not read {n} ints: {first}");
                    }
                }
            }
            // bpftrace's buf() is built on the BPF stack (512 bytes): it reads 64 bytes by
            // default and fails to load for 1 KiB, so it takes part at n = 16 only.
            if bpftrace && n * 4 <= 64 {
                let script = format!(
                    "uprobe:{b}:sum_ints {{ @last = buf(arg0, {bytes}); }} uretprobe:{b}:sum_ints {{ @returns = count(); }}",
                    b = bin.display(),
                    bytes = n * 4
                );
                let mut bt = bpftrace_attached(&pid, &script)?;
                wall[3].push(arrbench(&mut target)?);
                interrupt(&mut bt)?;
            }
        }
        let [none, scalar, deep, bt, fast] = wall.map(median);
        let (bt, ratio, fast_ratio) = if bt.is_nan() {
            ("cannot (BPF stack)".to_string(), "—".to_string(), "—".to_string())
        } else {
            (
                format!("{bt:.1}"),
                format!("{:.2}×", (bt - none) / (deep - none)),
                format!("{:.2}×", (bt - none) / (fast - none)),
            )
        };
        println!(
            "| {n} ({}) | {none:.1} | {scalar:.1} | {deep:.1} | {fast:.1} | {bt} | {:.2}× | {ratio} | {fast_ratio} | {dropped} |",
            n * 4,
            (deep - none) / (scalar - none),
        );
    }
    Ok(())
}

/// `--fast-entry` on every function of the capture fixtures, per build: how many would be
/// patched, how many of those run through a call-through trampoline (one probe per call),
/// and why the others are refused (from `record --explain --fast-entry`).
fn refusal_rate(tracesynth: &Path, dir: &Path) -> Result<()> {
    println!("\n## --fast-entry on the fixtures' functions (`record --explain --fast-entry`)\n");
    println!("| fixture | gcc flags | functions | patched | of which called through | refused | refusals |");
    println!("|---|---|---|---|---|---|---|");
    let (mut all, mut refused_all, mut through_all) = (0usize, 0usize, 0usize);
    for fixture in ["calls", "fastentry"] {
        for flags in [&["-O2", "-g"][..], &["-O2", "-g", "-fcf-protection=full"], &["-O0", "-g"]] {
            let bin = dir.join(format!("{fixture}-{}", flags.join("").replace(['-', '='], "")));
            crate::gcc(fixture, flags, &bin)?;
            let nm = Command::new("nm").args(["--defined-only"]).arg(&bin).output().context("running nm")?;
            let functions: Vec<String> = String::from_utf8_lossy(&nm.stdout)
                .lines()
                .filter_map(|l| {
                    let mut f = l.split_whitespace();
                    let (_, kind, name) = (f.next()?, f.next()?, f.next()?);
                    let runtime = name.starts_with('_')
                        || matches!(name, "main" | "frame_dummy" | "register_tm_clones" | "deregister_tm_clones");
                    (matches!(kind, "T" | "t") && !runtime).then(|| name.to_owned())
                })
                .collect();
            let target = Fixture::spawn(&bin)?;
            let mut args = vec![
                "record".to_owned(),
                "--explain".into(),
                "--fast-entry".into(),
                "--pid".into(),
                target.pid().to_string(),
            ];
            for f in &functions {
                args.extend(["--func".to_owned(), f.clone()]);
            }
            let out = Command::new(tracesynth).args(&args).output()?;
            let text = String::from_utf8_lossy(&out.stdout);
            let refusals: Vec<String> = text
                .lines()
                .filter_map(|l| l.strip_prefix("fast-entry: "))
                .filter(|l| l.contains(": refused"))
                .map(|l| {
                    let (name, why) = l.split_once(": refused, probed the normal way: ").unwrap_or((l, ""));
                    let why = why.split(':').next().unwrap_or(why);
                    format!("{name} ({why})")
                })
                .collect();
            let patched = text.lines().filter(|l| l.starts_with("fast-entry: ") && l.contains(": would move")).count();
            let through = text
                .lines()
                .filter(|l| l.starts_with("fast-entry: ") && l.contains("calls would run through it"))
                .count();
            if patched + refusals.len() != functions.len() {
                bail!(
                    "explain covered {} of {} functions: {text}{}",
                    patched + refusals.len(),
                    functions.len(),
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            all += functions.len();
            refused_all += refusals.len();
            through_all += through;
            println!(
                "| {fixture}.c | `{}` | {} | {patched} | {through} | {} | {} |",
                flags.join(" "),
                functions.len(),
                refusals.len(),
                refusals.join("; ")
            );
        }
    }
    println!(
        "\nRefusal rate: {refused_all} of {all} functions ({:.0}%); called through: {through_all} of {all}",
        100.0 * refused_all as f64 / all.max(1) as f64
    );
    Ok(())
}
