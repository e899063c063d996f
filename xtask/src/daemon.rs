//! A `tracesynth daemon` for the demo and the benchmarks: started on a free loopback port
//! (with a bearer token) with its own data directory, spoken to over keep-alive HTTP,
//! stopped with SIGTERM.
use std::{path::Path, time::Duration};

use anyhow::{bail, Context as _, Result};
use serde_json::Value as Json;
use test_support::daemon::DaemonProcess;

/// A running daemon.
pub struct Daemon {
    process: DaemonProcess,
    /// Its base URL.
    pub url: String,
    token: String,
    agent: ureq::Agent,
}

impl Daemon {
    /// Starts `tracesynth daemon` and waits until it listens; its warnings go to stderr.
    pub fn start(tracesynth: &Path, data: &Path) -> Result<Daemon> {
        Self::start_with(tracesynth, data, &[])
    }

    /// [`Daemon::start`] with more daemon flags (`--export clickhouse=URL`).
    pub fn start_with(tracesynth: &Path, data: &Path, extra: &[&str]) -> Result<Daemon> {
        // TCP needs a token; its holder may do everything, as root on the socket may.
        let token_file = data.with_file_name("token");
        let token = format!("bench-{}", std::process::id());
        std::fs::write(&token_file, &token).context("writing the daemon's token")?;
        let token_path = token_file.to_str().context("the token file's path is UTF-8")?;
        let mut flags = vec!["--listen", "127.0.0.1:0", "--token-file", token_path];
        flags.extend_from_slice(extra);
        let process = DaemonProcess::spawn(tracesynth, data, &flags)?;
        let url = process.http_url.clone().context("the daemon did not say its TCP address")?;
        Ok(Daemon { process, url, token, agent: ureq::AgentBuilder::new().timeout(Duration::from_secs(60)).build() })
    }

    /// `method path` with an optional JSON body; a 4xx/5xx is an error with the daemon's body.
    pub fn call(&self, method: &str, path: &str, body: Option<&Json>) -> Result<Json> {
        let request = self
            .agent
            .request(method, &format!("{}{path}", self.url))
            .set("Authorization", &format!("Bearer {}", self.token));
        let response = match body {
            Some(b) => request.send_json(b.clone()),
            None => request.call(),
        };
        match response {
            Ok(r) => Ok(r.into_json()?),
            Err(ureq::Error::Status(code, r)) => {
                bail!("{method} {path}: {code} {}", r.into_string().unwrap_or_default())
            }
            Err(e) => bail!("{method} {path}: {e}"),
        }
    }

    /// GET `path`.
    pub fn get(&self, path: &str) -> Result<Json> {
        self.call("GET", path, None)
    }

    /// POST `body` to `path`.
    pub fn post(&self, path: &str, body: &Json) -> Result<Json> {
        self.call("POST", path, Some(body))
    }

    /// The daemon's process id.
    pub fn pid(&self) -> u32 {
        self.process.child.id()
    }

    /// DELETE `path`.
    pub fn delete(&self, path: &str) -> Result<Json> {
        self.call("DELETE", path, None)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.process.terminate();
    }
}
