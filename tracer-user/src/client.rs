//! `tracesynth daemon` and the verbs that talk to it over HTTP (`attach`, `sessions`,
//! `detach`, `traces`, `export --session`), with a small blocking client: hyper over the
//! daemon's Unix socket (`unix:PATH`, the default), ureq over TCP (`http://HOST:PORT`).
use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    process::ExitCode,
    sync::Arc,
};

use anyhow::{bail, Context as _};
use clap::Args;
use serde_json::Value as Json;

use crate::{
    api::{self, ApiState},
    cli::CaptureArgs,
    daemon::{default_data_dir, Sessions},
    store::Store,
};

/// Default Unix socket of the daemon.
pub const DEFAULT_SOCKET: &str = "/run/tracesynth/api.sock";

/// `tracesynth daemon` flags.
#[derive(Debug, Args)]
pub struct DaemonArgs {
    /// Unix socket to serve the API on. Each caller is known by its credentials: root and
    /// CAP_SYS_PTRACE may do everything; other users may trace only processes they could
    /// ptrace themselves and see only their own sessions.
    #[arg(long, default_value = DEFAULT_SOCKET)]
    pub socket: PathBuf,
    /// Group whose members may connect to the socket (mode 0660). When no such group
    /// exists the socket is root's alone (0600).
    #[arg(long, default_value = "tracesynth")]
    pub socket_group: String,
    /// Also serve the API on this TCP address; needs --token-file, loopback included
    /// (the token holder may do everything).
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// Where traces are stored (default: $XDG_DATA_HOME/tracesynth or
    /// ~/.local/share/tracesynth).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// File holding a bearer token; every route but /v1/health then needs
    /// `Authorization: Bearer TOKEN`.
    #[arg(long)]
    pub token_file: Option<PathBuf>,
}

/// Where the daemon is, for the client verbs.
#[derive(Debug, Args)]
pub struct DaemonUrl {
    /// Daemon address: unix:PATH or http://HOST:PORT (default: $TRACESYNTH_DAEMON, else
    /// unix:/run/tracesynth/api.sock).
    #[arg(long = "daemon")]
    pub url: Option<String>,
    /// File holding the daemon's bearer token.
    #[arg(long)]
    pub token_file: Option<PathBuf>,
}

/// `tracesynth attach` flags.
#[derive(Debug, Args)]
pub struct AttachArgs {
    #[command(flatten)]
    capture: CaptureArgs,
    /// Stop after this many seconds.
    #[arg(long)]
    duration: Option<f64>,
    /// Stop after this many completed calls.
    #[arg(long)]
    calls: Option<u64>,
    /// Store at most this many calls of each function.
    #[arg(long)]
    calls_per_function: Option<u64>,
    /// Also count every basic block (GET /v1/traces/ID/cfg gives the graphs with hits).
    #[arg(long)]
    blocks: bool,
    #[command(flatten)]
    daemon: DaemonUrl,
}

/// `tracesynth detach` flags.
#[derive(Debug, Args)]
pub struct DetachArgs {
    /// Session id.
    id: u64,
    #[command(flatten)]
    daemon: DaemonUrl,
}

/// `tracesynth cfg` output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum CfgOutput {
    /// The graphs as JSON.
    Json,
    /// Graphviz DOT (render with `dot -Tsvg`).
    Dot,
}

/// `tracesynth cfg` flags.
#[derive(Debug, Args)]
pub struct CfgArgs {
    /// Trace (session) id, recorded with `attach --blocks`.
    pub id: u64,
    /// Only this function's graph.
    #[arg(long)]
    pub function: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "json")]
    pub format: CfgOutput,
    /// Write to this file instead of stdout.
    #[arg(short = 'o', long = "output")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    daemon: DaemonUrl,
}

fn read_token(path: &Path) -> anyhow::Result<String> {
    let token = std::fs::read_to_string(path).with_context(|| format!("reading token file {}", path.display()))?;
    let token = token.trim().to_string();
    if token.is_empty() {
        bail!("token file {} is empty", path.display());
    }
    Ok(token)
}

/// Runs the daemon until Ctrl-C or SIGTERM.
///
/// # Errors
/// Bad flags, an unusable data directory, a busy address.
pub fn run_daemon(args: &DaemonArgs) -> anyhow::Result<ExitCode> {
    let token = args.token_file.as_deref().map(read_token).transpose()?;
    if let (Some(listen), None) = (args.listen, &token) {
        let who = if api::is_loopback(&listen) { "any local user" } else { "anyone who can reach it" };
        bail!(
            "refusing to listen on {listen} without --token-file ({who} could attach probes to \
             processes as this user); local users connect to the Unix socket {}",
            args.socket.display()
        );
    }
    let dir = args.data_dir.clone().unwrap_or_else(default_data_dir);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating data directory {}", dir.display()))?;
    let store = Store::open(&dir)?;
    let sessions = Sessions::new(store)?;
    let jobs = crate::jobs::Jobs::default();
    // Jobs use the learned guide by default: load it now, off the request path.
    std::thread::spawn(crate::guide_choice::preload_model);
    let state = ApiState { sessions: sessions.clone(), jobs: jobs.clone(), token: token.map(Arc::from) };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let (listen, socket_path, group) = (args.listen, args.socket.clone(), args.socket_group.clone());
    let served = runtime.block_on(async move {
        let socket = crate::socket::ApiSocket::bind(&socket_path, &group)?;
        eprintln!("listening on unix:{} ({}; data in {})", socket_path.display(), socket.access, dir.display());
        tracing::info!(socket = %socket_path.display(), data_dir = %dir.display(), "daemon listening");
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let stopped = move || {
            let mut rx = stop_rx.clone();
            async move {
                let _ = rx.wait_for(|stop| *stop).await;
            }
        };
        let tcp = match listen {
            Some(listen) => {
                let listener = tokio::net::TcpListener::bind(listen)
                    .await
                    .with_context(|| format!("cannot listen on {listen}"))?;
                let local = listener.local_addr()?;
                eprintln!("listening on http://{local} (bearer token required)");
                Some(tokio::spawn(api::serve(listener, state.clone(), stopped())))
            }
            None => None,
        };
        let mut unix = tokio::spawn(api::serve_unix(socket.listener, state, stopped()));
        tokio::select! {
            () = shutdown_signal() => {}
            ended = &mut unix => {
                ended??;
                bail!("the API server on the Unix socket stopped");
            }
        }
        let _ = stop_tx.send(true);
        unix.await??;
        if let Some(tcp) = tcp {
            tcp.await??;
        }
        anyhow::Ok(())
    });
    crate::socket::remove(&args.socket);
    served?;
    tracing::info!("shutting down: cancelling jobs, detaching sessions");
    jobs.cancel_all();
    sessions.shutdown();
    eprintln!("daemon stopped");
    Ok(ExitCode::SUCCESS)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
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
        } else if base.starts_with("http://") || base.starts_with("https://") {
            Target::Tcp { base: base.trim_end_matches('/').to_string(), agent: ureq::AgentBuilder::new().build() }
        } else {
            bail!("daemon address {base:?} is neither unix:PATH nor http://HOST:PORT");
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

/// `tracesynth attach`.
///
/// # Errors
/// Bad flags; the daemon's refusal.
pub fn run_attach(args: &AttachArgs) -> anyhow::Result<ExitCode> {
    let request = api::CreateSession {
        pid: args.capture.pid,
        functions: args.capture.functions.clone(),
        blocks: args.blocks,
        limits: crate::store::SessionLimits {
            max_calls: args.calls,
            max_seconds: args.duration,
            max_calls_per_function: args.calls_per_function,
        },
        ret_probes: Some(args.capture.ret_probes.into()),
        fast_entry: args.capture.fast_entry,
        call_through: !args.capture.no_call_through,
    };
    let session = Client::new(&args.daemon)?.post_json("/v1/sessions", &serde_json::to_value(&request)?)?;
    println!("{}", session["id"]);
    eprintln!("session {} attached to PID {}", session["id"], args.capture.pid);
    Ok(ExitCode::SUCCESS)
}

/// `tracesynth sessions`.
///
/// # Errors
/// The daemon's refusal.
pub fn run_sessions(url: &DaemonUrl) -> anyhow::Result<ExitCode> {
    let list = Client::new(url)?.get_json("/v1/sessions")?;
    println!("{:>6} {:>8} {:<15} {:>10}  functions", "id", "pid", "state", "calls");
    for s in list.as_array().into_iter().flatten() {
        let calls: u64 = s["calls_per_function"].as_array().into_iter().flatten().filter_map(Json::as_u64).sum();
        let functions: Vec<&str> = s["functions"].as_array().into_iter().flatten().filter_map(Json::as_str).collect();
        println!(
            "{:>6} {:>8} {:<15} {:>10}  {}",
            s["id"],
            s["pid"],
            s["state"].as_str().unwrap_or("?"),
            calls,
            functions.join(", ")
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `tracesynth detach`.
///
/// # Errors
/// Unknown id; the daemon's refusal.
pub fn run_detach(args: &DetachArgs) -> anyhow::Result<ExitCode> {
    let s = Client::new(&args.daemon)?.delete(&format!("/v1/sessions/{}", args.id))?;
    eprintln!(
        "session {} {}; its trace stays (tracesynth export --session {})",
        args.id,
        s["state"].as_str().unwrap_or("?"),
        args.id
    );
    Ok(ExitCode::SUCCESS)
}

/// `tracesynth traces`.
///
/// # Errors
/// The daemon's refusal.
pub fn run_traces(url: &DaemonUrl) -> anyhow::Result<ExitCode> {
    let list = Client::new(url)?.get_json("/v1/traces")?;
    println!("{:>6} {:>8} {:<15} {:>10}  functions", "id", "pid", "state", "calls");
    for t in list.as_array().into_iter().flatten() {
        let functions: Vec<&str> = t["functions"].as_array().into_iter().flatten().filter_map(Json::as_str).collect();
        println!(
            "{:>6} {:>8} {:<15} {:>10}  {}",
            t["id"],
            t["pid"],
            t["state"].as_str().unwrap_or("?"),
            t["calls"],
            functions.join(", ")
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `tracesynth cfg`: a trace's control-flow graphs with edge counts, as JSON or DOT.
///
/// # Errors
/// Unknown id or function, a trace without block probes, an unwritable output file.
pub fn run_cfg(args: &CfgArgs) -> anyhow::Result<ExitCode> {
    let format = match args.format {
        CfgOutput::Json => "json",
        CfgOutput::Dot => "dot",
    };
    let mut path = format!("/v1/traces/{}/cfg?format={format}", args.id);
    if let Some(f) = &args.function {
        path.push_str("&function=");
        for b in f.bytes() {
            if b.is_ascii_alphanumeric() || b"_.-~".contains(&b) {
                path.push(char::from(b));
            } else {
                path.push_str(&format!("%{b:02X}"));
            }
        }
    }
    let bytes = Client::new(&args.daemon)?.get_bytes(&path)?;
    match &args.output {
        Some(out) => {
            std::fs::write(out, &bytes).with_context(|| format!("writing {}", out.display()))?;
            eprintln!("wrote {} ({format})", out.display());
        }
        None => {
            use std::io::Write as _;
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(&bytes)?;
            if !bytes.ends_with(b"\n") {
                stdout.write_all(b"\n")?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Downloads trace `id` in `format` (`json`, `bincode` or `chrome`).
///
/// # Errors
/// Unknown id; the daemon's refusal.
pub fn fetch_trace(url: &DaemonUrl, id: u64, format: &str) -> anyhow::Result<Vec<u8>> {
    Client::new(url)?.get_bytes(&format!("/v1/traces/{id}?format={format}"))
}

/// Starts a synthesis job and polls it to the end with a progress line; returns the job's
/// final view (`state` verified, partial, failed or cancelled; `result` with the report).
///
/// # Errors
/// Transport errors and the daemon's refusals (unknown session, function never called...).
pub fn run_synth_job(url: &DaemonUrl, job: &crate::jobs::SynthesizeRequest) -> anyhow::Result<Json> {
    let client = Client::new(url)?;
    let started = client.post_json("/v1/synthesize", &serde_json::to_value(job)?)?;
    let id = started["id"].as_u64().context("the daemon's reply has no job id")?;
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} [{elapsed_precise}] {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    loop {
        let view = client.get_json(&format!("/v1/jobs/{id}"))?;
        let state = view["state"].as_str().unwrap_or("?").to_string();
        let p = &view["progress"];
        bar.set_message(format!(
            "job {id} `{}`: {state}, iteration {}, {} candidates, best reward {:.3}",
            job.function,
            p["iteration"].as_u64().unwrap_or(0),
            p["candidates_tried"].as_u64().unwrap_or(0),
            p["best_reward"].as_f64().unwrap_or(0.0)
        ));
        bar.tick();
        if !matches!(state.as_str(), "queued" | "running") {
            bar.finish_and_clear();
            return Ok(view);
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}
