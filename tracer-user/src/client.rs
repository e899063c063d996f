//! `tracesynth daemon` and the verbs that talk to it over HTTP (`attach`, `sessions`,
//! `detach`, `traces`, `export --session`), with a small blocking client (ureq).
use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    process::ExitCode,
    sync::Arc,
};

use anyhow::{bail, Context as _};
use clap::Args;
use serde_json::{json, Value as Json};

use crate::{
    api::{self, ApiState},
    cli::CaptureArgs,
    daemon::{default_data_dir, Sessions},
    store::Store,
    trace::RetMode,
};

/// Default address of the daemon.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:7878";

/// `tracesynth daemon` flags.
#[derive(Debug, Args)]
pub struct DaemonArgs {
    /// Address to listen on. A non-loopback address needs --token-file.
    #[arg(long, default_value = DEFAULT_LISTEN)]
    pub listen: SocketAddr,
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
    /// Daemon URL (default: $TRACESYNTH_DAEMON or http://127.0.0.1:7878).
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
    if !api::is_loopback(&args.listen) && token.is_none() {
        bail!(
            "refusing to listen on non-loopback address {} without --token-file (anyone who \
             can reach it could attach probes to processes as this user)",
            args.listen
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
    let listen = args.listen;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        let local = listener.local_addr()?;
        eprintln!("listening on http://{local} (data in {})", dir.display());
        tracing::info!(%local, data_dir = %dir.display(), "daemon listening");
        api::serve(listener, state, shutdown_signal()).await?;
        anyhow::Ok(())
    })?;
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
    base: String,
    token: Option<String>,
    agent: ureq::Agent,
}

impl Client {
    /// A client for the daemon named by `url` (or the default).
    ///
    /// # Errors
    /// An unreadable token file.
    pub fn new(url: &DaemonUrl) -> anyhow::Result<Self> {
        let base = url
            .url
            .clone()
            .or_else(|| std::env::var("TRACESYNTH_DAEMON").ok().filter(|s| !s.is_empty()))
            .unwrap_or_else(|| format!("http://{DEFAULT_LISTEN}"));
        let base = base.trim_end_matches('/').to_string();
        let token = url.token_file.as_deref().map(read_token).transpose()?;
        Ok(Self { base, token, agent: ureq::AgentBuilder::new().build() })
    }

    fn request(&self, method: &str, path: &str) -> ureq::Request {
        let r = self.agent.request(method, &format!("{}{path}", self.base));
        match &self.token {
            Some(t) => r.set("Authorization", &format!("Bearer {t}")),
            None => r,
        }
    }

    fn check(&self, result: Result<ureq::Response, ureq::Error>) -> anyhow::Result<ureq::Response> {
        match result {
            Ok(r) => Ok(r),
            Err(ureq::Error::Status(code, r)) => {
                let body = r.into_string().unwrap_or_default();
                let msg = serde_json::from_str::<Json>(&body)
                    .ok()
                    .and_then(|v| v["error"].as_str().map(str::to_owned))
                    .unwrap_or(body);
                bail!("daemon answered {code}: {msg}")
            }
            Err(e) => bail!("cannot reach the daemon at {}: {e} (is `tracesynth daemon` running?)", self.base),
        }
    }

    /// GET `path` as JSON.
    ///
    /// # Errors
    /// Transport errors and 4xx/5xx answers (with the daemon's message).
    pub fn get_json(&self, path: &str) -> anyhow::Result<Json> {
        Ok(self.check(self.request("GET", path).call())?.into_json()?)
    }

    /// GET `path` as bytes.
    ///
    /// # Errors
    /// As [`Client::get_json`].
    pub fn get_bytes(&self, path: &str) -> anyhow::Result<Vec<u8>> {
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut self.check(self.request("GET", path).call())?.into_reader(), &mut out)?;
        Ok(out)
    }

    /// POST JSON to `path`.
    ///
    /// # Errors
    /// As [`Client::get_json`].
    pub fn post_json(&self, path: &str, body: &Json) -> anyhow::Result<Json> {
        Ok(self.check(self.request("POST", path).send_json(body))?.into_json()?)
    }

    /// DELETE `path`.
    ///
    /// # Errors
    /// As [`Client::get_json`].
    pub fn delete(&self, path: &str) -> anyhow::Result<Json> {
        Ok(self.check(self.request("DELETE", path).call())?.into_json()?)
    }
}

/// `tracesynth attach`.
///
/// # Errors
/// Bad flags; the daemon's refusal.
pub fn run_attach(args: &AttachArgs) -> anyhow::Result<ExitCode> {
    let ret: RetMode = args.capture.ret_probes.into();
    let body = json!({
        "pid": args.capture.pid,
        "functions": args.capture.functions,
        "ret_probes": ret,
        "blocks": args.blocks,
        "fast_entry": args.capture.fast_entry,
        "call_through": !args.capture.no_call_through,
        "limits": {
            "max_calls": args.calls,
            "max_seconds": args.duration,
            "max_calls_per_function": args.calls_per_function,
        },
    });
    let session = Client::new(&args.daemon)?.post_json("/v1/sessions", &body)?;
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
    eprintln!("session {} {}; its trace stays (tracesynth export --session {})", args.id, s["state"].as_str().unwrap_or("?"), args.id);
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
        println!("{:>6} {:>8} {:<15} {:>10}  {}", t["id"], t["pid"], t["state"].as_str().unwrap_or("?"), t["calls"], functions.join(", "));
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

/// A synthesis job to run in the daemon (`tracesynth synth --session`).
#[derive(Debug)]
pub struct SynthJob<'a> {
    /// Session (or trace) id.
    pub session: u64,
    /// Function.
    pub function: &'a str,
    /// Description.
    pub describe: Option<&'a str>,
    /// `rust`, `python` or `c`.
    pub language: &'a str,
    /// Budget.
    pub budget: std::time::Duration,
    /// Most refinement iterations.
    pub max_iterations: u32,
    /// Search guide (`None`: the daemon's default, uniform).
    pub guide: Option<crate::guide_choice::GuideChoice>,
}

/// Starts a synthesis job and polls it to the end with a progress line; returns the job's
/// final view (`state` verified, partial, failed or cancelled; `result` with the report).
///
/// # Errors
/// Transport errors and the daemon's refusals (unknown session, function never called...).
pub fn run_synth_job(url: &DaemonUrl, job: &SynthJob<'_>) -> anyhow::Result<Json> {
    let client = Client::new(url)?;
    let budget_ms = u64::try_from(job.budget.as_millis()).unwrap_or(u64::MAX).max(1);
    let body = json!({
        "session_id": job.session,
        "function": job.function,
        "description": job.describe,
        "language": job.language,
        "budget_ms": budget_ms,
        "max_iterations": job.max_iterations,
        "guide": job.guide,
    });
    let started = client.post_json("/v1/synthesize", &body)?;
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
