//! Helpers for tracesynth's integration tests, over the workspace's `test-support`: the
//! `tracesynth` binary under test, recordings and daemons started with it.
use std::{
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::OnceLock,
};

pub mod pki;

pub use test_support::{ci::require_root, daemon::DaemonProcess, fixture::Fixture, wait_for, workspace};

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

/// Compiles `tests/fixtures/NAME.c` with gcc and `flags` into `out_dir`.
///
/// # Panics
/// When gcc fails.
#[must_use]
pub fn build_fixture(name: &str, flags: &[&str], out_dir: &Path) -> PathBuf {
    test_support::fixture::build(name, flags, out_dir).unwrap_or_else(|e| panic!("{e}"))
}

/// Starts `tracesynth daemon` with `flags`, its socket beside `data_dir`.
#[must_use]
pub fn start_daemon(data_dir: &Path, flags: &[&str]) -> DaemonProcess {
    DaemonProcess::start(&tracesynth(), data_dir, flags)
}

/// A client of a test's daemon.
pub trait DaemonClient {
    /// A client of this daemon.
    fn client(&self) -> tracer_daemon::client::Client;
}

impl DaemonClient for DaemonProcess {
    fn client(&self) -> tracer_daemon::client::Client {
        tracer_daemon::client::Client::new(&tracer_daemon::client::DaemonUrl::at(&self.url)).expect("client")
    }
}

/// Session `id`'s view once `ready` holds for it, polled within `timeout`.
///
/// # Panics
/// When the daemon does not answer, or `ready` does not hold in time.
pub fn session_when(
    client: &tracer_daemon::client::Client,
    id: u64,
    what: &str,
    timeout: std::time::Duration,
    ready: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    wait_for(what, timeout, || {
        let s = client.get_json(&format!("/v1/sessions/{id}")).unwrap();
        ready(&s).then_some(s)
    })
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
