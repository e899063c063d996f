//! A `tracesynth daemon` process with its own Unix socket (beside its data directory)
//! and data directory; with `--listen` in its flags, also on TCP.
use std::{
    io::{BufRead, BufReader},
    path::Path,
    process::{Child, Command, Stdio},
};

/// What went wrong starting a daemon.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// It could not be started.
    #[error("starting {binary}: {source}")]
    Spawn {
        /// The binary.
        binary: String,
        /// The error.
        source: std::io::Error,
    },
    /// It exited before listening.
    #[error("tracesynth daemon exited before listening:\n{0}")]
    Exited(String),
}

/// A running daemon, killed on drop.
pub struct DaemonProcess {
    /// The process.
    pub child: Child,
    /// Its Unix socket address (`unix:PATH`).
    pub url: String,
    /// Its TCP address (`http://HOST:PORT`), when it was given `--listen`.
    pub http_url: Option<String>,
}

impl DaemonProcess {
    /// Starts `binary daemon` with its socket beside `data_dir` and `flags`, and waits
    /// until it listens (on TCP too, with `--listen`). Its later log lines (warnings,
    /// unless `RUST_LOG` says otherwise) go to stderr, prefixed `daemon: `.
    ///
    /// # Errors
    /// The daemon does not start or exits first.
    pub fn spawn(binary: &Path, data_dir: &Path, flags: &[&str]) -> Result<Self, DaemonError> {
        let mut child = Command::new(binary)
            .arg("daemon")
            .arg("--socket")
            .arg(data_dir.with_file_name("api.sock"))
            .arg("--data-dir")
            .arg(data_dir)
            .args(flags)
            .env("RUST_LOG", std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()))
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| DaemonError::Spawn { binary: binary.display().to_string(), source })?;
        let Some(stderr) = child.stderr.take() else { return Err(DaemonError::Exited("no stderr".into())) };
        let mut stderr = BufReader::new(stderr);
        let wants_tcp = flags.contains(&"--listen");
        let (mut url, mut http_url, mut seen) = (None, None, String::new());
        while url.is_none() || (wants_tcp && http_url.is_none()) {
            let mut line = String::new();
            if stderr.read_line(&mut line).unwrap_or(0) == 0 {
                let _ = child.kill();
                let _ = child.wait();
                return Err(DaemonError::Exited(seen));
            }
            seen.push_str(&line);
            if let Some(rest) = line.strip_prefix("listening on ") {
                let address = rest.split_whitespace().next().unwrap_or_default().to_owned();
                if address.starts_with("http://") {
                    http_url = Some(address);
                } else {
                    url = Some(address);
                }
            }
        }
        std::thread::spawn(move || {
            let mut line = String::new();
            while stderr.read_line(&mut line).is_ok_and(|n| n > 0) {
                eprint!("daemon: {line}");
                line.clear();
            }
        });
        Ok(Self { child, url: url.unwrap_or_default(), http_url })
    }

    /// [`Self::spawn`] for tests: panics on failure.
    ///
    /// # Panics
    /// When the daemon does not start.
    #[must_use]
    pub fn start(binary: &Path, data_dir: &Path, flags: &[&str]) -> Self {
        Self::spawn(binary, data_dir, flags).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Stops it with SIGTERM (it detaches and flushes) and reaps it.
    pub fn terminate(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let _ = self.child.wait();
    }

    /// Kills it with SIGKILL (no flush, no detach) and reaps it.
    ///
    /// # Panics
    /// When `kill` cannot be run.
    pub fn kill_9(&mut self) {
        let status = Command::new("kill").args(["-9", &self.child.id().to_string()]).status();
        assert!(status.is_ok_and(|s| s.success()), "kill -9 {}", self.child.id());
        let _ = self.child.wait();
    }
}

impl Drop for DaemonProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
