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
    /// Read flags from this TOML file first, each key a flag's long name: `export =
    /// ["clickhouse=http://CH:8123"]`, `label = ["host.name=web-7"]`, `max-overhead = 1`,
    /// `data-dir = "/var/lib/tracesynth"`. Flags given on the command line win (repeatable
    /// ones add to the file's).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
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
    /// (the token holder may do everything), and --tls-cert beyond loopback.
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// Serve --listen over TLS with the certificate chain in this PEM file.
    #[arg(long, value_name = "FILE", requires_all = ["listen", "tls_key"])]
    pub tls_cert: Option<PathBuf>,
    /// The private key (PEM) of --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Require a client certificate signed by one of the CAs in this PEM file from every
    /// TLS client (besides the bearer token).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_client_ca: Option<PathBuf>,
    /// Where traces are stored (default: $XDG_DATA_HOME/tracesynth or
    /// ~/.local/share/tracesynth).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// File holding a bearer token; every route but /v1/health then needs
    /// `Authorization: Bearer TOKEN`.
    #[arg(long)]
    pub token_file: Option<PathBuf>,
    /// Send each ended session's trace to this sink (repeatable): `otlp=URL`, an
    /// OTLP/HTTP receiver (`http://HOST:4318`), `otlp-grpc=URL`, an OTLP/gRPC receiver
    /// (`http://HOST:4317`), or `clickhouse=URL`, a ClickHouse HTTP interface
    /// (`http://HOST:8123`; tables created on first use); `https://` for TLS. Without it,
    /// `$OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or `$OTEL_EXPORTER_OTLP_ENDPOINT` when set,
    /// over `$OTEL_EXPORTER_OTLP_PROTOCOL` (`http/protobuf` or `grpc`).
    #[arg(long = "export")]
    pub exports: Vec<String>,
    /// A PEM file of certificate authorities the sinks' TLS certificates may be signed by,
    /// besides the public roots (default: `$OTEL_EXPORTER_OTLP_CERTIFICATE`).
    #[arg(long, value_name = "FILE")]
    pub export_ca: Option<PathBuf>,
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

/// `args` with the flags of their `--config` file added: the file's as if given first on
/// the command line `argv` (the whole process's, `tracesynth ... daemon ...`), so the
/// command line's win.
///
/// # Errors
/// An unreadable file, invalid TOML, a key that is no flag, a value of the wrong kind.
pub fn with_config_file(args: DaemonArgs, argv: &[String]) -> anyhow::Result<DaemonArgs> {
    use clap::{Args as _, FromArgMatches as _};
    let Some(path) = args.config.clone() else { return Ok(args) };
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let table: toml::Table = text.parse().with_context(|| format!("{} is not valid TOML", path.display()))?;
    let command = DaemonArgs::augment_args(clap::Command::new("daemon").no_binary_name(true).args_override_self(true));
    let mut from_file = Vec::new();
    for (key, value) in &table {
        let known = command.get_arguments().any(|a| a.get_long() == Some(key.as_str()) && key != "config");
        if !known {
            bail!(
                "{}: `{key}` is not a daemon flag (keys are the flags' long names, like `max-overhead`)",
                path.display()
            );
        }
        let values = match value {
            toml::Value::Array(items) => items.clone(),
            one => vec![one.clone()],
        };
        for v in values {
            let text = match v {
                toml::Value::String(s) => s,
                toml::Value::Integer(i) => i.to_string(),
                toml::Value::Float(f) => f.to_string(),
                other => bail!("{}: `{key}` = {other}: give a string or a number", path.display()),
            };
            from_file.push(format!("--{key}"));
            from_file.push(text);
        }
    }
    // The command line's own daemon flags, after the file's.
    let given = argv.iter().position(|a| a == "daemon").map_or(&[][..], |i| &argv[i + 1..]);
    let matches = command
        .try_get_matches_from(from_file.iter().chain(given))
        .with_context(|| format!("the flags in {}", path.display()))?;
    Ok(DaemonArgs::from_arg_matches(&matches)?)
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
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(
            tracer_export::tls::server_config(cert, key, args.tls_client_ca.as_deref())
                .context("the API's TLS certificate")?,
        ),
        _ => None,
    };
    if let (Some(listen), None) = (args.listen, &tls) {
        if !api::is_loopback(&listen) {
            bail!(
                "refusing to listen on {listen} without TLS (the bearer token and the traces would cross the \
                 network in clear): give --tls-cert and --tls-key, or listen on loopback"
            );
        }
    }
    let dir = args.data_dir.clone().unwrap_or_else(default_data_dir);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating data directory {}", dir.display()))?;
    let store = Store::open(&dir)?;
    let mut exports = crate::export::Exports::new(&args.exports, args.labels.clone(), args.export_ca.as_deref())?;
    for rule in &args.redact {
        exports.redactor.add(rule)?;
    }
    exports.spool_calls = args.export_spool_calls;
    if exports.any() {
        eprintln!("exporting ended sessions to {}", exports.destinations().join(", "));
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
    let args_client_ca = args.tls_client_ca.is_some();
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
                match tls {
                    Some(tls) => {
                        let clients = if args_client_ca { "; client certificate required" } else { "" };
                        eprintln!("listening on https://{local} (bearer token required{clients})");
                        Some(tokio::spawn(api::serve_tls(listener, tls, state.clone(), stopped())))
                    }
                    None => {
                        eprintln!("listening on http://{local} (bearer token required)");
                        Some(tokio::spawn(api::serve(listener, state.clone(), stopped())))
                    }
                }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(file: &str, argv: &[&str]) -> anyhow::Result<DaemonArgs> {
        use clap::{Args as _, FromArgMatches as _};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("daemon.toml");
        std::fs::write(&path, file).unwrap();
        let mut argv: Vec<String> = argv.iter().map(|s| (*s).to_string()).collect();
        argv.extend(["--config".to_string(), path.display().to_string()]);
        let command = DaemonArgs::augment_args(clap::Command::new("daemon").no_binary_name(true));
        let given = argv.iter().position(|a| a == "daemon").map_or(&[][..], |i| &argv[i + 1..]);
        let args = DaemonArgs::from_arg_matches(&command.try_get_matches_from(given).unwrap()).unwrap();
        with_config_file(args, &argv)
    }

    #[test]
    fn a_config_file_gives_the_flags_and_the_command_line_wins() {
        let file = r#"
            export = ["clickhouse=http://ch:8123", "otlp=http://collector:4318"]
            label = ["host.name=web-7"]
            max-overhead = 1
            data-dir = "/var/lib/tracesynth"
            export-retry-secs = 2.5
        "#;
        let args =
            parsed(file, &["tracesynth", "daemon", "--max-overhead", "5", "--label", "service.name=shop"]).unwrap();
        assert_eq!(args.exports, ["clickhouse=http://ch:8123", "otlp=http://collector:4318"]);
        assert_eq!(args.max_overhead, Some(5.0), "the command line wins");
        assert_eq!(args.data_dir, Some(PathBuf::from("/var/lib/tracesynth")));
        assert_eq!(args.export_retry_secs, 2.5);
        let labels: Vec<&str> = args.labels.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(labels, ["host.name", "service.name"], "repeatable flags add up");
    }

    #[test]
    fn a_bad_config_file_says_what_is_wrong() {
        let err = parsed("exports = [\"x\"]", &["tracesynth", "daemon"]).unwrap_err();
        assert!(err.to_string().contains("`exports` is not a daemon flag"), "{err}");
        let err = parsed("max-overhead = 250", &["tracesynth", "daemon"]).unwrap_err();
        assert!(format!("{err:#}").contains("0 to 100"), "{err:#}");
        let err = parsed("max-overhead = [", &["tracesynth", "daemon"]).unwrap_err();
        assert!(err.to_string().contains("is not valid TOML"), "{err}");
        let err = parsed("listen = true", &["tracesynth", "daemon"]).unwrap_err();
        assert!(err.to_string().contains("give a string or a number"), "{err}");
    }
}
