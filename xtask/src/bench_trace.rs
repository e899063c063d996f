//! `cargo xtask bench trace`: cost per traced call of this tracer vs bpftrace, on the same
//! fixture in one run, and ring-buffer throughput.
use std::{
    io::{BufRead, BufReader, Write},
    path::Path,
    process::{Child, ChildStdin, ChildStdout, Command, Stdio},
    time::Duration,
};

use anyhow::{bail, Context as _, Result};

struct Target {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Target {
    fn start(bin: &Path) -> Result<Self> {
        let mut child = Command::new(bin).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn()?;
        let stdin = child.stdin.take().context("stdin")?;
        let mut stdout = BufReader::new(child.stdout.take().context("stdout")?);
        let mut line = String::new();
        stdout.read_line(&mut line)?;
        Ok(Self { child, stdin, stdout })
    }

    /// Runs `bench F N` and returns ns per call.
    fn bench(&mut self, shape: &str, calls: u64) -> Result<f64> {
        writeln!(self.stdin, "bench {shape} {calls}")?;
        self.stdin.flush()?;
        let mut line = String::new();
        self.stdout.read_line(&mut line)?;
        let ns: f64 = line.trim().strip_prefix("ns ").context("bench reply")?.parse()?;
        line.clear();
        self.stdout.read_line(&mut line)?; // done
        Ok(ns / calls as f64)
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
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

fn interrupt(child: &mut Child) -> Result<()> {
    Command::new("kill").args(["-INT", &child.id().to_string()]).status()?;
    child.wait()?;
    Ok(())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Runs the benchmark and prints the tables.
pub fn run(calls: u64, runs: usize) -> Result<()> {
    let tracesynth = crate::build_tracesynth()?;
    let dir = tempfile::tempdir()?;
    let bin = dir.path().join("calls");
    crate::gcc("calls", &["-O2", "-g"], &bin)?;
    let bpftrace = Command::new("bpftrace").arg("--version").output().is_ok();
    println!("## Probe cost per call (entry + return), median of {runs} runs of {calls} calls\n");
    println!("| function starts with | no probe ns | tracesynth ns | bpftrace count() ns | overhead ratio bpftrace/ours |");
    println!("|---|---|---|---|---|");
    let mut throughput = Vec::new();
    for (shape, func, what) in [("lea", "lea_fn", "`lea` (single-stepped)"), ("push", "push_fn", "`push %rbx` (emulated)"), ("nop5", "nop5_fn", "5-byte nop (optimized)")] {
        let (mut none, mut ours, mut theirs) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..runs {
            let mut target = Target::start(&bin)?;
            let pid = target.child.id().to_string();
            none.push(target.bench(shape, calls)?);

            let trace = dir.path().join(format!("{func}.json"));
            let mut rec = Command::new(&tracesynth)
                .args(["record", "--quiet", "--pid", &pid, "--func", func, "-o"])
                .arg(&trace)
                .stderr(Stdio::piped())
                .spawn()?;
            let mut err = BufReader::new(rec.stderr.take().context("stderr")?);
            wait_for(&mut err, "attached")?;
            let per_call = target.bench(shape, calls)?;
            ours.push(per_call);
            interrupt(&mut rec)?;
            let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&trace)?)?;
            let got = doc["calls"].as_array().map_or(0, Vec::len) as u64;
            let loss = &doc["loss"];
            if shape == "nop5" {
                let received = loss["received"].as_u64().unwrap_or(0);
                let dropped = loss["dropped"].as_u64().unwrap_or(0);
                let secs = per_call * calls as f64 / 1e9;
                throughput.push((received as f64 / secs, received, dropped, got));
            }
            if got != calls {
                eprintln!("warning: {func}: recorded {got} of {calls} calls (loss {loss})");
            }

            if bpftrace {
                let script = format!(
                    "uprobe:{b}:{func} {{ @entries = count(); }} uretprobe:{b}:{func} {{ @returns = count(); }}",
                    b = bin.display()
                );
                let mut bt = Command::new("bpftrace")
                    .args(["-p", &pid, "-e", &script])
                    .stdout(Stdio::piped())
                    .stderr(Stdio::null())
                    .spawn()?;
                let mut out = BufReader::new(bt.stdout.take().context("stdout")?);
                wait_for(&mut out, "Attaching")?;
                std::thread::sleep(Duration::from_millis(300));
                theirs.push(target.bench(shape, calls)?);
                interrupt(&mut bt)?;
            }
        }
        let (n, o) = (median(none), median(ours));
        let t = if theirs.is_empty() { f64::NAN } else { median(theirs) };
        println!(
            "| {what} | {n:.1} | {o:.1} | {t:.1} | {:.2}× |",
            (t - n) / (o - n)
        );
    }
    println!("\n## Ring buffer at the fixture's highest rate (nop5 function, entry + return events)\n");
    println!("| run | events/s received | received | dropped | calls paired |");
    println!("|---|---|---|---|---|");
    for (i, (rate, received, dropped, got)) in throughput.iter().enumerate() {
        println!("| {} | {:.0} | {received} | {dropped} | {got} |", i + 1, rate);
    }
    Ok(())
}
