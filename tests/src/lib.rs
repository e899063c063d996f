//! Helpers for tracesynth's integration tests: build the C fixtures with gcc, start them,
//! drive them over stdin, and run the `tracesynth` binary.
use std::{
    io::{BufRead, BufReader, Write},
    path::{Path, PathBuf},
    process::{Child, ChildStdin, ChildStdout, Command, Stdio},
    sync::OnceLock,
};

/// Whether eBPF tests can run here (root). Where they cannot, they say so loudly; with
/// `CI` set, that is a failure instead of a skip.
pub fn require_root(test: &str) -> bool {
    if rustix_is_root() {
        return true;
    }
    let msg = format!("SKIPPED {test}: eBPF tests need root (uprobes and CAP_BPF)");
    if std::env::var_os("CI").is_some() {
        panic!("{msg}, and CI is set: failing instead of skipping");
    }
    eprintln!("{msg}");
    false
}

fn rustix_is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find_map(|l| l.strip_prefix("Uid:")).map(str::to_owned))
        .and_then(|l| l.split_whitespace().nth(1).map(|euid| euid == "0"))
        .unwrap_or(false)
}

/// Workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace").to_path_buf()
}

/// The `tracesynth` binary (this package's copy of it; see `src/bin`). Integration tests
/// pass their `env!("CARGO_BIN_EXE_tracesynth-under-test")` through [`set_binary`].
pub fn tracesynth() -> PathBuf {
    BIN.get().cloned().unwrap_or_else(|| {
        // target/debug/deps/<test> -> target/debug/<bin>
        let exe = std::env::current_exe().expect("current exe");
        let dir = exe.parent().and_then(Path::parent).expect("target dir");
        dir.join("tracesynth-under-test")
    })
}

static BIN: OnceLock<PathBuf> = OnceLock::new();

/// Sets the binary path from the test's `CARGO_BIN_EXE_*`.
pub fn set_binary(path: &str) {
    let _ = BIN.set(PathBuf::from(path));
}

/// Compiles `tests/fixtures/NAME.c` with gcc and `flags` into a temporary directory.
pub fn build_fixture(name: &str, flags: &[&str], out_dir: &Path) -> PathBuf {
    let src = workspace().join("tests/fixtures").join(format!("{name}.c"));
    let tag: String = flags.join("").chars().filter(char::is_ascii_alphanumeric).collect();
    let out = out_dir.join(format!("{name}-{tag}"));
    let status = Command::new("gcc").args(flags).arg("-o").arg(&out).arg(&src).status().expect("run gcc");
    assert!(status.success(), "gcc {flags:?} {} failed", src.display());
    out
}

/// A running fixture process driven over stdin/stdout.
pub struct Fixture {
    /// The process.
    pub child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Fixture {
    /// Starts `binary` and waits for its `ready` line.
    pub fn start(binary: &Path) -> Self {
        let mut child =
            Command::new(binary).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().expect("start fixture");
        let stdin = child.stdin.take().expect("stdin");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = String::new();
        stdout.read_line(&mut line).expect("read ready");
        assert!(line.starts_with("ready"), "fixture said {line:?}");
        Self { child, stdin, stdout }
    }

    /// Process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends a command and returns its reply line (which must start with `done` or `bye`).
    pub fn command_reply(&mut self, cmd: &str) -> String {
        writeln!(self.stdin, "{cmd}").expect("write command");
        self.stdin.flush().expect("flush");
        let mut line = String::new();
        self.stdout.read_line(&mut line).expect("read reply");
        assert!(line.starts_with("done") || line.starts_with("bye"), "fixture said {line:?}");
        line.trim_end().to_owned()
    }

    /// Sends a command without waiting for its answer (read it later with
    /// [`Self::read_line`]).
    pub fn send(&mut self, cmd: &str) {
        writeln!(self.stdin, "{cmd}").expect("write command");
        self.stdin.flush().expect("flush");
    }

    /// Reads the fixture's next output line.
    pub fn read_line(&mut self) -> String {
        let mut line = String::new();
        self.stdout.read_line(&mut line).expect("read line");
        line.trim_end().to_owned()
    }

    /// Sends a command and waits for its `done` (or `bye`).
    pub fn command(&mut self, cmd: &str) {
        writeln!(self.stdin, "{cmd}").expect("write command");
        self.stdin.flush().expect("flush");
        let mut line = String::new();
        self.stdout.read_line(&mut line).expect("read reply");
        assert!(line.starts_with("done") || line.starts_with("bye"), "fixture said {line:?}");
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A `tracesynth record` running in the background.
pub struct Recording {
    /// The process.
    pub child: Child,
    /// Where the trace goes.
    pub output: PathBuf,
}

impl Recording {
    /// Starts `tracesynth record` with `args` and waits until the probes are attached.
    pub fn start(args: &[&str], output: &Path) -> Self {
        let mut child = Command::new(tracesynth())
            .arg("record")
            .args(args)
            .arg("--quiet")
            .arg("-o")
            .arg(output)
            .stderr(Stdio::piped())
            .spawn()
            .expect("start tracesynth record");
        let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
        let mut seen = String::new();
        loop {
            let mut line = String::new();
            if stderr.read_line(&mut line).expect("read stderr") == 0 {
                panic!("tracesynth record exited before attaching:\n{seen}");
            }
            seen.push_str(&line);
            if line.starts_with("attached") {
                break;
            }
        }
        // Keep draining stderr so the recorder never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut sink = String::new();
            while stderr.read_line(&mut sink).map(|n| n > 0).unwrap_or(false) {
                sink.clear();
            }
        });
        Self { child, output: output.to_path_buf() }
    }

    /// Waits for the recorder to exit and parses the trace as JSON.
    pub fn finish(mut self) -> serde_json::Value {
        let status = self.child.wait().expect("wait for tracesynth");
        assert!(status.success(), "tracesynth record failed: {status}");
        let text = std::fs::read_to_string(&self.output).expect("read trace");
        serde_json::from_str(&text).expect("trace is JSON")
    }
}

/// Runs `tracesynth` with `args` to completion: (exit code, stdout, stderr).
pub fn run_tracesynth(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(tracesynth()).args(args).output().expect("run tracesynth");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

impl Fixture {
    /// Sends a line and returns the fixture's one-line answer (for commands like `eval`
    /// that answer with something other than `done`).
    pub fn ask(&mut self, line: &str) -> String {
        writeln!(self.stdin, "{line}").expect("write command");
        self.stdin.flush().expect("flush");
        let mut reply = String::new();
        self.stdout.read_line(&mut reply).expect("read reply");
        reply.trim_end().to_owned()
    }
}

/// A `tracesynth daemon` on its own Unix socket with its own data directory.
pub struct DaemonProcess {
    /// The process.
    pub child: Child,
    /// Its address (`unix:PATH`).
    pub url: String,
}

impl DaemonProcess {
    /// Starts the daemon with its Unix socket beside `data_dir` and waits for its
    /// `listening on` line; its later log lines go to this test's stderr.
    pub fn start(data_dir: &Path) -> Self {
        Self::start_with(data_dir, &[])
    }

    /// [`Self::start`] with more daemon flags.
    pub fn start_with(data_dir: &Path, flags: &[&str]) -> Self {
        let mut child = Command::new(tracesynth())
            .arg("daemon")
            .arg("--socket")
            .arg(data_dir.with_file_name("api.sock"))
            .arg("--data-dir")
            .arg(data_dir)
            .args(flags)
            .stderr(Stdio::piped())
            .spawn()
            .expect("start tracesynth daemon");
        let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
        let mut seen = String::new();
        let url = loop {
            let mut line = String::new();
            if stderr.read_line(&mut line).expect("read stderr") == 0 {
                panic!("tracesynth daemon exited before listening:\n{seen}");
            }
            seen.push_str(&line);
            if let Some(rest) = line.strip_prefix("listening on ") {
                break rest.split_whitespace().next().expect("url").to_string();
            }
        };
        std::thread::spawn(move || {
            let mut line = String::new();
            while stderr.read_line(&mut line).map(|n| n > 0).unwrap_or(false) {
                eprint!("daemon: {line}");
                line.clear();
            }
        });
        Self { child, url }
    }
}

impl DaemonProcess {
    /// A client of this daemon.
    pub fn client(&self) -> tracer_daemon::client::Client {
        tracer_daemon::client::Client::new(&tracer_daemon::client::DaemonUrl {
            url: Some(self.url.clone()),
            token_file: None,
        })
        .expect("client")
    }

    /// Kills it with SIGKILL (no flush, no detach) and reaps it.
    pub fn kill_9(&mut self) {
        let status = Command::new("kill").args(["-9", &self.child.id().to_string()]).status().expect("run kill");
        assert!(status.success());
        let _ = self.child.wait();
    }
}

impl Drop for DaemonProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `check` every 50 ms until it gives a value; fails the test after `timeout`.
pub fn wait_for<T>(what: &str, timeout: std::time::Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let start = std::time::Instant::now();
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}
