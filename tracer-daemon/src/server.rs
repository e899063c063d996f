//! `tracesynth daemon`: the store, the sessions and the jobs behind the HTTP API, served
//! on a Unix socket (and on TCP with a bearer token) until Ctrl-C or SIGTERM.
use std::{net::SocketAddr, path::PathBuf, process::ExitCode, sync::Arc};

use anyhow::{bail, Context as _};
use clap::Args;

use crate::{
    api::{self, ApiState},
    client::{self, DEFAULT_SOCKET},
    daemon::{default_data_dir, Sessions},
    store::Store,
};

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
    /// Send each ended session's trace to this sink (repeatable): `otlp=URL`, an
    /// OTLP/HTTP receiver (`http://HOST:4318`), or `clickhouse=URL`, a ClickHouse HTTP
    /// interface (`http://HOST:8123`; tables created on first use). Without it,
    /// `$OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or `$OTEL_EXPORTER_OTLP_ENDPOINT` when set.
    #[arg(long = "export")]
    pub exports: Vec<String>,
    /// A resource attribute for exported traces, `KEY=VALUE` (repeatable), e.g.
    /// `host.name=web-7`; it replaces the one the daemon finds.
    #[arg(long = "label", value_parser = tracer_export::resource::parse_label)]
    pub labels: Vec<(String, String)>,
    /// One more rewrite of exported string values, `PATTERN=>REPLACEMENT` (a regular
    /// expression; repeatable). E-mail addresses, card numbers and bearer tokens are
    /// always replaced, and strings cut to 256 characters.
    #[arg(long = "redact")]
    pub redact: Vec<String>,
    /// Seconds between attempts to send again what a receiver has not taken (it stays in
    /// the store meanwhile, across daemon restarts too).
    #[arg(long, default_value_t = 10.0)]
    pub export_retry_secs: f64,
    /// Most calls kept waiting for a receiver; past it the oldest waiting sessions are
    /// given up (counted as dropped on /metrics; their traces stay in the local store).
    #[arg(long, default_value_t = crate::export::DEFAULT_SPOOL_CALLS)]
    pub export_spool_calls: u64,
    /// Overhead budget of sessions that name none (`max_overhead` in the session request;
    /// 0 there records every call): the probes' cost to a target is kept within this
    /// percentage of its own CPU time by sampling calls in the kernel and, when even the
    /// probes' traps cost too much, removing them part of the time. Calls then carry the
    /// weight they stand for. 1 is a good setting for production hosts.
    #[arg(long, value_parser = parse_percent, value_name = "PERCENT")]
    pub max_overhead: Option<f64>,
}

/// Parses an overhead budget flag: a percentage in 0..=100, `%` allowed (0: no budget).
///
/// # Errors
/// Anything else, with what to give instead.
pub fn parse_percent(s: &str) -> Result<f64, String> {
    let p: f64 = s.trim_end_matches('%').parse().map_err(|_| format!("{s:?} is not a percentage"))?;
    if !(0.0..=100.0).contains(&p) {
        return Err(format!("{s}: give a percentage from 0 to 100 (0: record every call)"));
    }
    Ok(p)
}

/// Runs the daemon until Ctrl-C or SIGTERM.
///
/// # Errors
/// Bad flags, an unusable data directory, a busy address.
pub fn run_daemon(args: &DaemonArgs) -> anyhow::Result<ExitCode> {
    let token = args.token_file.as_deref().map(client::read_token).transpose()?;
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
    let mut exports = crate::export::Exports::new(&args.exports, args.labels.clone())?;
    for rule in &args.redact {
        exports.redactor.add(rule)?;
    }
    exports.spool_calls = args.export_spool_calls;
    if exports.any() {
        let sinks: Vec<&str> = exports.otlp.iter().chain(&exports.clickhouse).map(String::as_str).collect();
        eprintln!("exporting ended sessions to {}", sinks.join(", "));
    }
    let sessions = Sessions::new(store)?.exporting(exports).with_default_max_overhead(args.max_overhead);
    if !(args.export_retry_secs > 0.0 && args.export_retry_secs.is_finite()) {
        bail!("--export-retry-secs must be a positive number of seconds");
    }
    sessions.start_export_retries(std::time::Duration::from_secs_f64(args.export_retry_secs))?;
    let jobs = crate::jobs::Jobs::default();
    // Jobs use the learned guide by default; it is loaded by the first job that needs it,
    // so a daemon that only records (a fleet agent) never holds the model.
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
    sessions.exports().stop();
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
