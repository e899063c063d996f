//! The C fixtures of `tests/fixtures/`: built with gcc, started, and driven by lines on
//! stdin. A fixture says `ready PID` when it starts; a reply ends with a line starting
//! `done`, `bye`, `= ` (an evaluation's value) or `error`.
use std::{
    io::{BufRead, BufReader, Write},
    path::{Path, PathBuf},
    process::{Child, ChildStdin, ChildStdout, Command, Stdio},
};

/// What went wrong with a fixture.
#[derive(Debug, thiserror::Error)]
pub enum FixtureError {
    /// gcc could not be run or failed.
    #[error("gcc {flags:?} {src}: {why}")]
    Build {
        /// The source file.
        src: String,
        /// The flags.
        flags: Vec<String>,
        /// What happened.
        why: String,
    },
    /// The process could not be started or spoken to.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The error.
        source: std::io::Error,
    },
    /// The fixture said something unexpected, or nothing.
    #[error("{0}")]
    Protocol(String),
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> FixtureError {
    let what = what.into();
    move |source| FixtureError::Io { what, source }
}

/// Compiles `tests/fixtures/NAME.c` with gcc and `flags` into `out_dir`.
///
/// # Errors
/// gcc missing or failing.
pub fn build(name: &str, flags: &[&str], out_dir: &Path) -> Result<PathBuf, FixtureError> {
    let src = crate::workspace().join("tests/fixtures").join(format!("{name}.c"));
    let tag: String = flags.join("").chars().filter(char::is_ascii_alphanumeric).collect();
    let out = out_dir.join(format!("{name}-{tag}"));
    let build_error = |why: String| FixtureError::Build {
        src: src.display().to_string(),
        flags: flags.iter().map(|f| (*f).to_owned()).collect(),
        why,
    };
    let status = Command::new("gcc")
        .args(flags)
        .arg("-o")
        .arg(&out)
        .arg(&src)
        .status()
        .map_err(|e| build_error(e.to_string()))?;
    if !status.success() {
        return Err(build_error(status.to_string()));
    }
    Ok(out)
}

/// A running fixture process, killed on drop.
pub struct Fixture {
    /// The process.
    pub child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Fixture {
    /// Starts `binary` and waits for its `ready` line.
    ///
    /// # Errors
    /// The binary does not start or does not say `ready`.
    pub fn spawn(binary: &Path) -> Result<Self, FixtureError> {
        let mut child = Command::new(binary)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(io(format!("starting {}", binary.display())))?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err(FixtureError::Protocol("the fixture's pipes are missing".into()));
        };
        let mut fixture = Self { child, stdin, stdout: BufReader::new(stdout) };
        let line = fixture.next_line()?;
        if !line.starts_with("ready") {
            return Err(FixtureError::Protocol(format!("{} said {line:?} instead of ready", binary.display())));
        }
        Ok(fixture)
    }

    /// [`Self::spawn`] for tests: panics on failure.
    ///
    /// # Panics
    /// When the fixture does not start.
    #[must_use]
    pub fn start(binary: &Path) -> Self {
        Self::spawn(binary).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Process id.
    #[must_use]
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Writes one command line.
    ///
    /// # Errors
    /// The fixture's stdin is closed.
    pub fn write_line(&mut self, line: &str) -> Result<(), FixtureError> {
        writeln!(self.stdin, "{line}").and_then(|()| self.stdin.flush()).map_err(io(format!("sending {line:?}")))
    }

    /// The next output line, without its line end.
    ///
    /// # Errors
    /// The fixture exited.
    pub fn next_line(&mut self) -> Result<String, FixtureError> {
        let mut line = String::new();
        if self.stdout.read_line(&mut line).map_err(io("reading the fixture"))? == 0 {
            return Err(FixtureError::Protocol("the fixture exited".into()));
        }
        Ok(line.trim_end().to_owned())
    }

    /// Sends `line` and returns every reply line, through the one that ends the reply.
    ///
    /// # Errors
    /// The fixture exited.
    pub fn exchange(&mut self, line: &str) -> Result<Vec<String>, FixtureError> {
        self.write_line(line)?;
        let mut replies = Vec::new();
        loop {
            let reply = self.next_line()?;
            let last = ["done", "bye", "= ", "error"].iter().any(|end| reply.starts_with(end));
            replies.push(reply);
            if last {
                return Ok(replies);
            }
        }
    }

    /// Sends a timed command (`bench F N`, `time N`, ...) and returns the nanoseconds its
    /// loop took, from its `ns T` line.
    ///
    /// # Errors
    /// The fixture exited or gave no timing.
    pub fn timed(&mut self, command: &str) -> Result<f64, FixtureError> {
        let replies = self.exchange(command)?;
        replies
            .iter()
            .find_map(|l| l.strip_prefix("ns "))
            .and_then(|ns| ns.parse().ok())
            .ok_or_else(|| FixtureError::Protocol(format!("no timing in {replies:?}")))
    }

    /// Nanoseconds the fixture's main thread has run on a CPU (`/proc/PID/schedstat`),
    /// uprobe handling in the kernel included; time spent waiting for a CPU is not.
    ///
    /// # Errors
    /// The process is gone.
    pub fn cpu_ns(&self) -> Result<u64, FixtureError> {
        let path = format!("/proc/{}/schedstat", self.child.id());
        let stat = std::fs::read_to_string(&path).map_err(io(format!("reading {path}")))?;
        stat.split_whitespace()
            .next()
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| FixtureError::Protocol(format!("{path}: {stat:?}")))
    }

    /// Sends a command and waits for its `done` (or `bye`); for tests.
    ///
    /// # Panics
    /// When the reply ends otherwise.
    pub fn command(&mut self, cmd: &str) {
        let _ = self.command_reply(cmd);
    }

    /// Sends a command and returns the line that ended its reply, which must start with
    /// `done` or `bye`; for tests.
    ///
    /// # Panics
    /// When the reply ends otherwise.
    pub fn command_reply(&mut self, cmd: &str) -> String {
        let replies = self.exchange(cmd).unwrap_or_else(|e| panic!("{cmd}: {e}"));
        let last = replies.last().cloned().unwrap_or_default();
        assert!(last.starts_with("done") || last.starts_with("bye"), "{cmd}: the fixture said {replies:?}");
        last
    }

    /// Sends a line and returns the fixture's next line (for commands like `eval`); for
    /// tests.
    ///
    /// # Panics
    /// When the fixture exited.
    pub fn ask(&mut self, line: &str) -> String {
        self.send(line);
        self.read_line()
    }

    /// Sends a command without waiting for its answer (read it with
    /// [`Self::read_line`]); for tests.
    ///
    /// # Panics
    /// When the fixture's stdin is closed.
    pub fn send(&mut self, cmd: &str) {
        self.write_line(cmd).unwrap_or_else(|e| panic!("{e}"));
    }

    /// The next output line; for tests.
    ///
    /// # Panics
    /// When the fixture exited.
    pub fn read_line(&mut self) -> String {
        self.next_line().unwrap_or_else(|e| panic!("{e}"))
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
