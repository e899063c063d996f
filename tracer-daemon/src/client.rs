//! A small blocking client of the daemon: hyper over its Unix socket (`unix:PATH`, the
//! default), ureq over TCP (`http://HOST:PORT`, or `https://HOST:PORT` with rustls).
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};
use clap::Args;
use serde_json::Value as Json;

/// Default Unix socket of the daemon.
pub const DEFAULT_SOCKET: &str = "/run/tracesynth/api.sock";

/// Where the daemon is, for the client verbs.
#[derive(Debug, Args)]
pub struct DaemonUrl {
    /// Daemon address: unix:PATH, http://HOST:PORT or https://HOST:PORT (default:
    /// $TRACESYNTH_DAEMON, else unix:/run/tracesynth/api.sock).
    #[arg(long = "daemon")]
    pub url: Option<String>,
    /// File holding the daemon's bearer token.
    #[arg(long)]
    pub token_file: Option<PathBuf>,
    /// With an https:// daemon: a PEM file of certificate authorities its certificate may
    /// be signed by, besides the public roots.
    #[arg(long, value_name = "FILE")]
    pub daemon_ca: Option<PathBuf>,
    /// With an https:// daemon that asks for one: this client certificate (PEM).
    #[arg(long, value_name = "FILE", requires = "client_key")]
    pub client_cert: Option<PathBuf>,
    /// The private key (PEM) of --client-cert.
    #[arg(long, value_name = "FILE", requires = "client_cert")]
    pub client_key: Option<PathBuf>,
}

impl DaemonUrl {
    /// The daemon at `url` (`unix:PATH`, `http://` or `https://`), with no token or TLS
    /// files.
    #[must_use]
    pub fn at(url: &str) -> Self {
        Self { url: Some(url.to_owned()), token_file: None, daemon_ca: None, client_cert: None, client_key: None }
    }

    /// What an https:// connection trusts and presents.
    fn tls(&self) -> anyhow::Result<tracer_export::tls::ClientTls> {
        let mut tls = tracer_export::tls::ClientTls::trusting(self.daemon_ca.as_deref()).context("--daemon-ca")?;
        if let (Some(cert), Some(key)) = (&self.client_cert, &self.client_key) {
            tls = tls.with_identity(cert, key).context("--client-cert")?;
        }
        Ok(tls)
    }
}

/// A blocking client of the daemon.
pub struct Client {
    target: Target,
    token: Option<String>,
}

/// Where the daemon is.
enum Target {
    /// `http://HOST:PORT`.
    Tcp { base: String, agent: ureq::Agent },
    /// `unix:PATH`: hyper on a one-thread runtime, one connection per request.
    Unix { path: PathBuf, runtime: tokio::runtime::Runtime },
}

impl Client {
    /// A client for the daemon named by `url` (or the default: `$TRACESYNTH_DAEMON`, else
    /// the Unix socket [`DEFAULT_SOCKET`]).
    ///
    /// # Errors
    /// An unreadable token file; a URL that is neither `unix:PATH` nor `http://...`.
    pub fn new(url: &DaemonUrl) -> anyhow::Result<Self> {
        let base = url
            .url
            .clone()
            .or_else(|| std::env::var("TRACESYNTH_DAEMON").ok().filter(|s| !s.is_empty()))
            .unwrap_or_else(|| format!("unix:{DEFAULT_SOCKET}"));
        let target = if let Some(path) = base.strip_prefix("unix:") {
            let path = PathBuf::from(path.strip_prefix("//").unwrap_or(path));
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_io()
                .build()
                .context("starting the client's async runtime")?;
            Target::Unix { path, runtime }
        } else if base.starts_with("http://") {
            Target::Tcp { base: base.trim_end_matches('/').to_string(), agent: ureq::AgentBuilder::new().build() }
        } else if base.starts_with("https://") {
            let agent = ureq::AgentBuilder::new().tls_config(url.tls()?.rustls_config()?).build();
            Target::Tcp { base: base.trim_end_matches('/').to_string(), agent }
        } else {
            bail!("daemon address {base:?} is neither unix:PATH nor http(s)://HOST:PORT");
        };
        let token = url.token_file.as_deref().map(read_token).transpose()?;
        Ok(Self { target, token })
    }

    /// Where the daemon is, for messages.
    fn address(&self) -> String {
        match &self.target {
            Target::Tcp { base, .. } => base.clone(),
            Target::Unix { path, .. } => format!("unix:{}", path.display()),
        }
    }

    /// Sends a request; the body of a 2xx answer, else the daemon's message as the error.
    fn send(&self, method: &str, path: &str, body: Option<&Json>) -> anyhow::Result<Vec<u8>> {
        let unreachable = |e: &dyn std::fmt::Display| {
            anyhow::anyhow!("cannot reach the daemon at {}: {e} (is `tracesynth daemon` running?)", self.address())
        };
        let (status, bytes) = match &self.target {
            Target::Tcp { base, agent } => {
                let mut request = agent.request(method, &format!("{base}{path}"));
                if let Some(t) = &self.token {
                    request = request.set("Authorization", &format!("Bearer {t}"));
                }
                let result = match body {
                    Some(b) => request.send_json(b),
                    None => request.call(),
                };
                let response = match result {
                    Ok(r) | Err(ureq::Error::Status(_, r)) => r,
                    Err(e) => return Err(unreachable(&e)),
                };
                let status = response.status();
                let mut out = Vec::new();
                std::io::Read::read_to_end(&mut response.into_reader(), &mut out)?;
                (status, out)
            }
            Target::Unix { path: socket, runtime } => runtime
                .block_on(unix_request(socket, method, path, body, self.token.as_deref()))
                .map_err(|e| unreachable(&format!("{e:#}")))?,
        };
        if (200..300).contains(&status) {
            return Ok(bytes);
        }
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let msg = serde_json::from_str::<Json>(&text)
            .ok()
            .and_then(|v| v["error"].as_str().map(str::to_owned))
            .unwrap_or(text);
        bail!("daemon answered {status}: {msg}")
    }

    /// GET `path` as JSON.
    ///
    /// # Errors
    /// Transport errors and 4xx/5xx answers (with the daemon's message).
    pub fn get_json(&self, path: &str) -> anyhow::Result<Json> {
        Ok(serde_json::from_slice(&self.send("GET", path, None)?)?)
    }

    /// GET `path` as bytes.
    ///
    /// # Errors
    /// As [`Client::get_json`].
    pub fn get_bytes(&self, path: &str) -> anyhow::Result<Vec<u8>> {
        self.send("GET", path, None)
    }

    /// POST JSON to `path`.
    ///
    /// # Errors
    /// As [`Client::get_json`].
    pub fn post_json(&self, path: &str, body: &Json) -> anyhow::Result<Json> {
        Ok(serde_json::from_slice(&self.send("POST", path, Some(body))?)?)
    }

    /// DELETE `path`.
    ///
    /// # Errors
    /// As [`Client::get_json`].
    pub fn delete(&self, path: &str) -> anyhow::Result<Json> {
        Ok(serde_json::from_slice(&self.send("DELETE", path, None)?)?)
    }
}

/// One HTTP/1.1 request over a new connection to the Unix socket `socket`: (status, body).
async fn unix_request(
    socket: &Path,
    method: &str,
    path: &str,
    body: Option<&Json>,
    token: Option<&str>,
) -> anyhow::Result<(u16, Vec<u8>)> {
    use http_body_util::{BodyExt as _, Full};
    use hyper::{body::Bytes, header};

    let stream = tokio::net::UnixStream::connect(socket).await?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
    let connection = tokio::spawn(connection);
    let mut request = hyper::Request::builder()
        .method(hyper::Method::from_bytes(method.as_bytes())?)
        .uri(path)
        .header(header::HOST, "localhost");
    if let Some(t) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let bytes = match body {
        Some(b) => {
            request = request.header(header::CONTENT_TYPE, "application/json");
            Bytes::from(serde_json::to_vec(b)?)
        }
        None => Bytes::new(),
    };
    let response = sender.send_request(request.body(Full::new(bytes))?).await?;
    let status = response.status().as_u16();
    let body = response.into_body().collect().await?.to_bytes().to_vec();
    drop(sender);
    let _ = connection.await;
    Ok((status, body))
}

/// Reads a bearer token from `path`, trimmed.
///
/// # Errors
/// An unreadable or empty file.
pub fn read_token(path: &Path) -> anyhow::Result<String> {
    let token = std::fs::read_to_string(path).with_context(|| format!("reading token file {}", path.display()))?;
    let token = token.trim().to_string();
    if token.is_empty() {
        bail!("token file {} is empty", path.display());
    }
    Ok(token)
}
