//! A C fixture from `tests/fixtures/` running under the benchmarks and the demo, driven by
//! commands on stdin (`ready PID` at start; `done`, `= VALUE` or `error ...` ends a reply).
use std::{
    io::{BufRead, BufReader, Write},
    path::Path,
    process::{Child, ChildStdin, ChildStdout, Command, Stdio},
};

use anyhow::{bail, Context as _, Result};

/// A running fixture process, killed on drop.
pub struct Fixture {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Fixture {
    /// Starts `bin` and waits for its `ready` line.
    pub fn start(bin: &Path) -> Result<Fixture> {
        let mut child = Command::new(bin)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let stdin = child.stdin.take().context("stdin")?;
        let mut stdout = BufReader::new(child.stdout.take().context("stdout")?);
        let mut line = String::new();
        stdout.read_line(&mut line)?;
        if !line.starts_with("ready") {
            bail!("{} said {line:?}", bin.display());
        }
        Ok(Fixture { child, stdin, stdout })
    }

    /// Process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends a line; returns every reply line up to `done` (or the single `=` line of eval).
    pub fn ask(&mut self, line: &str) -> Result<Vec<String>> {
        writeln!(self.stdin, "{line}")?;
        self.stdin.flush()?;
        let mut replies = Vec::new();
        loop {
            let mut reply = String::new();
            if self.stdout.read_line(&mut reply)? == 0 {
                bail!("the fixture exited");
            }
            let reply = reply.trim_end().to_string();
            let last = reply == "done" || reply.starts_with("= ") || reply.starts_with("error");
            replies.push(reply);
            if last {
                return Ok(replies);
            }
        }
    }

    /// Sends a timed command (`bench F N`, `time N`, `oddbench K N`) and returns the
    /// nanoseconds its loop took, from the `ns T` line.
    pub fn timed(&mut self, command: &str) -> Result<f64> {
        let replies = self.ask(command)?;
        let ns =
            replies.iter().find_map(|l| l.strip_prefix("ns ")).with_context(|| format!("no timing in {replies:?}"))?;
        Ok(ns.parse()?)
    }

    /// Nanoseconds the fixture's (only) thread has run on a CPU (`/proc/PID/schedstat`),
    /// uprobe handling in the kernel included; time spent waiting for a CPU is not.
    pub fn cpu_ns(&self) -> Result<u64> {
        let stat = std::fs::read_to_string(format!("/proc/{}/schedstat", self.child.id()))?;
        Ok(stat.split_whitespace().next().context("schedstat")?.parse()?)
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
