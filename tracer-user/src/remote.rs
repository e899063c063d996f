//! The verbs that talk to the daemon (`attach`, `sessions`, `detach`, `traces`, `cfg`,
//! `export --session`, `synth --session`).
use std::{path::PathBuf, process::ExitCode};

use anyhow::Context as _;
use clap::Args;
use serde_json::Value as Json;
use tracer_daemon::{
    api,
    client::{Client, DaemonUrl},
};
use tracer_export::values::ExportValues;

use crate::capture::CaptureArgs;

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
    /// When the daemon exports traces (`daemon --export`): send argument and return values
    /// with the calls too (they may be data that must not leave the host): of every
    /// function, or with `--export-args F,G` only of those.
    #[arg(long, num_args = 0.., value_delimiter = ',', value_name = "FUNCTION")]
    export_args: Option<Vec<String>>,
    /// Ring buffer size in MiB (a power of two up to 1024; the daemon's default is 16).
    /// Resident while the session runs, twice over: the kernel maps its pages twice.
    #[arg(long)]
    ring_mb: Option<u32>,
    /// Keep the probes' cost to the target within this percentage of its own CPU time,
    /// sampling calls in the kernel (default: the daemon's `--max-overhead`; 0: record
    /// every call).
    #[arg(long, value_parser = tracer_daemon::server::parse_percent, value_name = "PERCENT")]
    max_overhead: Option<f64>,
    /// Leave out calls shorter than this (`50us`, `2ms`): in the kernel for functions whose
    /// entry reads only registers, before any event is built.
    #[arg(long, value_parser = crate::cli::parse_min_duration, value_name = "DURATION", conflicts_with = "blocks")]
    min_duration: Option<std::time::Duration>,
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

/// `tracesynth attach`.
///
/// # Errors
/// Bad flags; the daemon's refusal.
pub fn run_attach(args: &AttachArgs) -> anyhow::Result<ExitCode> {
    let request = api::CreateSession {
        pid: args.capture.pid,
        functions: args.capture.functions.clone(),
        blocks: args.blocks,
        limits: tracer_daemon::store::SessionLimits {
            max_calls: args.calls,
            max_seconds: args.duration,
            max_calls_per_function: args.calls_per_function,
        },
        ret_probes: Some(args.capture.ret_probes.into()),
        fast_entry: args.capture.fast_entry,
        call_through: !args.capture.no_call_through,
        export_values: match &args.export_args {
            None => ExportValues::default(),
            Some(names) if names.is_empty() => ExportValues::all(),
            Some(names) => ExportValues::Only(names.clone()),
        },
        array_cap: Some(args.capture.array_cap),
        ring_mb: args.ring_mb,
        max_overhead: args.max_overhead,
        min_duration_us: args.min_duration.map(|d| d.as_secs_f64() * 1e6),
        args: args.capture.arg_overrides.iter().map(ToString::to_string).collect(),
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
pub fn run_synth_job(url: &DaemonUrl, job: &tracer_daemon::jobs::SynthesizeRequest) -> anyhow::Result<Json> {
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
