//! Command-line interface: flags are parsed by clap, validated, and handed to the library.
use std::{
    path::PathBuf,
    process::ExitCode,
    sync::{atomic::AtomicBool, OnceLock},
    time::Duration,
};

use anyhow::{bail, Context as _};
use clap::{Args, Parser, Subcommand, ValueEnum};

use tracer_probe::{
    probes,
    record::{self, RecordConfig},
    trace::Trace,
};

use crate::capture::CaptureArgs;

/// Watch a running process's functions with eBPF uprobes and synthesize code that does
/// what they do.
#[derive(Debug, Parser)]
#[command(name = "tracesynth", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Attach to a running process and record calls of the named functions.
    Record(RecordArgs),
    /// Convert a trace to another format.
    Export(ExportArgs),
    /// Print a summary of a trace file.
    Show(ShowArgs),
    /// Synthesize a program from a SyGuS file or from input/output examples.
    Synth(SynthArgs),
    /// Run the tracing daemon (HTTP API; sessions and traces stored with sled).
    Daemon(tracer_daemon::server::DaemonArgs),
    /// Start a tracing session in the daemon (prints its id).
    Attach(crate::remote::AttachArgs),
    /// List the daemon's sessions.
    Sessions(tracer_daemon::client::DaemonUrl),
    /// Detach a daemon session (its trace stays).
    Detach(crate::remote::DetachArgs),
    /// List the daemon's stored traces.
    Traces(tracer_daemon::client::DaemonUrl),
    /// Print a trace's control-flow graphs (edge counts, branch ratios, loops) as JSON or
    /// Graphviz DOT; the trace must have been recorded with `attach --blocks`.
    Cfg(crate::remote::CfgArgs),
    /// Check that this machine and this user can trace: kernel, BTF, uprobes,
    /// capabilities, perf_event_paranoid, Yama; says what is missing.
    Doctor,
    /// Query what a fleet's daemons exported to ClickHouse (`daemon --export clickhouse=URL`).
    #[command(subcommand)]
    Fleet(crate::fleet::FleetQuery),
}

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("spec").required(true).args(["sygus", "examples", "pid", "session", "clickhouse"]))]
struct SynthArgs {
    /// Synthesize from every host's calls a fleet's daemons exported to this ClickHouse
    /// (`daemon --export clickhouse=URL`, sessions exporting values), with --func.
    #[arg(long, requires = "func")]
    clickhouse: Option<String>,
    /// With an `https://` --clickhouse: a PEM file of certificate authorities its
    /// certificate may be signed by, besides the public roots.
    #[arg(long, requires = "clickhouse", value_name = "FILE")]
    clickhouse_ca: Option<PathBuf>,
    /// With --clickhouse: the build (GNU build id) whose calls to use, when the function
    /// was seen in several.
    #[arg(long, requires = "clickhouse")]
    build_id: Option<String>,
    /// Watch this running process (with --func) and synthesize from its calls.
    #[arg(long, requires = "func")]
    pid: Option<u32>,
    /// Synthesize in the daemon from this session's (or stored trace's) calls (with --func).
    #[arg(long, requires = "func")]
    session: Option<u64>,
    #[command(flatten)]
    daemon: tracer_daemon::client::DaemonUrl,
    /// The function to watch (with --pid, --session or --clickhouse).
    #[arg(long, short = 'f')]
    func: Option<String>,
    /// With --pid or --session: most refinement iterations.
    #[arg(long, default_value_t = 4)]
    max_iterations: u32,
    /// With --pid: stop recording after this many distinct inputs...
    #[arg(long, default_value_t = 256)]
    distinct: usize,
    /// ...or after this many seconds.
    #[arg(long, default_value_t = 10.0)]
    max_seconds: f64,
    /// A SyGuS-IF v2 file; prints the solution as `(define-fun ...)`.
    #[arg(long)]
    sygus: Option<PathBuf>,
    /// A JSON file of typed input/output examples.
    #[arg(long)]
    examples: Option<PathBuf>,
    /// Language of the emitted code (with --examples).
    #[arg(long, value_enum, default_value_t = LangArg::Rust)]
    lang: LangArg,
    /// What the function does, in plain English.
    #[arg(long)]
    describe: Option<String>,
    /// With --examples: `lists` searches the list language (Python's integer semantics:
    /// flooring division, negative indices) even when no type is a list; `auto` does so
    /// only for specs that name `list[int]`.
    #[arg(long, value_enum, default_value_t = DomainArg::Auto)]
    domain: DomainArg,
    /// Write code, tests and report.json into this directory (with --pid over arrays and
    /// structs also examples.json, the calls synthesized from, which --examples reads).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Search budget in seconds (with --pid or --session: for the whole refinement loop).
    #[arg(long, default_value_t = 10.0)]
    timeout: f64,
    /// Search guide: `learned` (synth-model: also proposes constants the examples do not
    /// show; needs the encoder from `cargo xtask setup`) or `uniform` costs. Default:
    /// learned, or uniform costs when it is not installed (with --sygus/--examples it loads
    /// while the search starts without it).
    #[arg(long, value_enum)]
    guide: Option<carving::guide_choice::GuideChoice>,
    /// With --pid: `fork` asks the running binary itself about inputs where the candidate
    /// could be wrong, calling the original in forked copies of the process (pure functions
    /// only: a call that makes a system call is stopped before it runs and the oracle is
    /// refused; the process is paused while it is asked).
    #[arg(long, value_enum, requires = "pid")]
    oracle: Option<OracleChoice>,
    /// With --pid: what the DWARF heuristics cannot know about a pointer parameter
    /// (repeatable), as `record --arg` takes it: `NAME:len=PARAM`, `NAME:out`, `NAME:in`.
    #[arg(long = "arg", value_name = "NAME:SPEC", requires = "pid")]
    arg_overrides: Vec<tracer_probe::probes::arg_overrides::ArgOverride>,
}

/// `--domain`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum DomainArg {
    /// The list language for specs with a list type, the scalar engine otherwise.
    Auto,
    /// The list language.
    Lists,
}

/// `--oracle`.
#[derive(Clone, Copy, Debug, ValueEnum)]
enum OracleChoice {
    /// Call the original in forked copies of the process.
    Fork,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum LangArg {
    Rust,
    Python,
    C,
}

impl From<LangArg> for synth_engine::emit::Lang {
    fn from(l: LangArg) -> Self {
        match l {
            LangArg::Rust => Self::Rust,
            LangArg::Python => Self::Python,
            LangArg::C => Self::C,
        }
    }
}

#[derive(Debug, Args)]
struct RecordArgs {
    #[command(flatten)]
    capture: CaptureArgs,
    /// Stop after this many seconds.
    #[arg(long, conflicts_with = "calls")]
    duration: Option<f64>,
    /// Stop after this many completed calls.
    #[arg(long)]
    calls: Option<u64>,
    /// Output file: `.json` for JSON, anything else for bincode.
    #[arg(long, short)]
    output: Option<PathBuf>,
    /// Print the probe plan (sites, costs and reasons) and exit without attaching.
    #[arg(long)]
    explain: bool,
    /// Resource sampling interval in milliseconds.
    #[arg(long, default_value_t = 100)]
    interval_ms: u64,
    /// Ring buffer size in MiB (power of two).
    #[arg(long, default_value_t = 16)]
    ring_mb: u32,
    /// Keep the probes' cost to the target within this percentage of its own CPU time:
    /// calls are sampled in the kernel, and the probes removed part of the time when even
    /// their traps cost too much; the trace records the sampling in force (0 or absent:
    /// record every call).
    #[arg(long, value_parser = tracer_daemon::server::parse_percent, value_name = "PERCENT")]
    max_overhead: Option<f64>,
    /// Record one call in N of each function, sampled in the kernel before any event is
    /// built (per CPU); the trace records the rate, so counts can be scaled.
    #[arg(long, value_name = "N", conflicts_with = "max_overhead", value_parser = clap::value_parser!(u32).range(1..))]
    sample_every: Option<u32>,
    /// Leave out calls shorter than this (`50us`, `2ms`): for functions whose entry reads
    /// only registers the kernel holds the entry until the return and drops both when the
    /// call was shorter, before any event is built; the rest are left out after the ring.
    #[arg(long, value_parser = parse_min_duration, value_name = "DURATION")]
    min_duration: Option<Duration>,
    /// No live progress line.
    #[arg(long)]
    quiet: bool,
}

#[derive(Debug, Args)]
struct ExportArgs {
    /// Output format.
    #[arg(long, value_enum)]
    format: ExportFormat,
    /// Trace file to read.
    #[arg(required_unless_present = "session", conflicts_with = "session")]
    input: Option<PathBuf>,
    /// Export the daemon's trace of this session instead of a file.
    #[arg(long)]
    session: Option<u64>,
    #[command(flatten)]
    daemon: tracer_daemon::client::DaemonUrl,
    /// Output file (with `--format otlp`: one protobuf `ExportTraceServiceRequest`).
    #[arg(long, short)]
    output: Option<PathBuf>,
    /// With `--format otlp`: send the spans to this OTLP receiver (`http://HOST:4318`
    /// over HTTP, `http://HOST:4317` with `--protocol grpc`; `https://` for TLS); default
    /// `$OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, else `$OTEL_EXPORTER_OTLP_ENDPOINT`.
    #[arg(long, conflicts_with = "output")]
    to: Option<String>,
    /// With `--to`: `http/protobuf` or `grpc` (default `$OTEL_EXPORTER_OTLP_PROTOCOL`,
    /// else `http/protobuf`).
    #[arg(long, requires = "to")]
    protocol: Option<String>,
    /// With an `https://` receiver: a PEM file of certificate authorities its certificate
    /// may be signed by, besides the public roots (default `$OTEL_EXPORTER_OTLP_CERTIFICATE`).
    #[arg(long, value_name = "FILE")]
    ca: Option<PathBuf>,
    /// With `--format otlp`: a resource attribute `KEY=VALUE` (repeatable), e.g.
    /// `host.name=web-7` or `service.name=billing`; it replaces the one tracesynth finds.
    #[arg(long = "label", value_parser = tracer_export::resource::parse_label)]
    labels: Vec<(String, String)>,
    /// With `--format otlp`: put argument and return values in the spans (they may be
    /// data that must not leave the host). E-mail addresses, card numbers and bearer
    /// tokens in strings are replaced, and strings cut to 256 characters.
    #[arg(long)]
    with_values: bool,
    /// With `--with-values`: one more rewrite of string values, `PATTERN=>REPLACEMENT`
    /// (a regular expression; repeatable).
    #[arg(long = "redact", requires = "with_values")]
    redact: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ExportFormat {
    /// Chrome trace-event JSON (Perfetto, chrome://tracing).
    Chrome,
    /// The trace schema as JSON.
    Json,
    /// The trace schema as bincode.
    Bincode,
    /// OpenTelemetry spans (OTLP protobuf), one per completed call.
    Otlp,
}

#[derive(Debug, Args)]
struct ShowArgs {
    /// Trace file.
    input: PathBuf,
    /// Also list every call.
    #[arg(long)]
    calls: bool,
}

/// Parses a minimum call duration: a positive time with its unit (`50us`, `2ms`, `1s`).
///
/// # Errors
/// Anything else, with what to give instead.
pub fn parse_min_duration(s: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(s.trim()).map_err(|e| format!("{s:?}: {e}; give a time such as 50us or 2ms"))?;
    if d.is_zero() {
        return Err(format!("{s:?}: give a time above zero, such as 50us"));
    }
    Ok(d)
}

/// Set by the Ctrl-C / SIGTERM handler.
pub fn stop_flag() -> &'static AtomicBool {
    static STOP: OnceLock<&'static AtomicBool> = OnceLock::new();
    STOP.get_or_init(|| {
        let flag: &'static AtomicBool = Box::leak(Box::new(AtomicBool::new(false)));
        let _ = ctrlc::set_handler(move || flag.store(true, std::sync::atomic::Ordering::SeqCst));
        flag
    })
}

/// The whole `tracesynth` program: runs [`run`] and turns an error into a message on
/// stderr and a failure exit code.
pub fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {}", message(&error));
            ExitCode::FAILURE
        }
    }
}

/// `error` and its causes joined by `: `, leaving out a cause whose text an outer message
/// already quotes (most error types here name their cause in their own message).
fn message(error: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

/// Parses the command line and runs the command.
///
/// # Errors
/// Any failure, with a message for the user.
pub fn run() -> anyhow::Result<ExitCode> {
    init_logging();
    let cli = Cli::parse();
    match cli.command {
        Command::Record(args) => run_record(args),
        Command::Export(args) => run_export(&args),
        Command::Show(args) => run_show(&args),
        Command::Synth(args) => run_synth(&args),
        Command::Daemon(args) => {
            let argv: Vec<String> = std::env::args_os().map(|a| a.to_string_lossy().into_owned()).collect();
            tracer_daemon::server::run_daemon(&tracer_daemon::server::with_config_file(args, &argv)?)
        }
        Command::Attach(args) => crate::remote::run_attach(&args),
        Command::Sessions(url) => crate::remote::run_sessions(&url),
        Command::Detach(args) => crate::remote::run_detach(&args),
        Command::Traces(url) => crate::remote::run_traces(&url),
        Command::Cfg(args) => crate::remote::run_cfg(&args),
        Command::Fleet(query) => crate::fleet::run(&query),
        Command::Doctor => {
            let checks = crate::doctor::checks();
            for c in &checks {
                println!("{c}");
            }
            Ok(if crate::doctor::ready(&checks) { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
    }
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(
            "tracer_user=info,tracer_probe=info,tracer_patch=info,carving=info,tracer_daemon=info",
        )
    });
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}

fn run_record(args: RecordArgs) -> anyhow::Result<ExitCode> {
    if args.output.is_none() && !args.explain {
        bail!("give an output file with -o/--output (e.g. -o trace.json), or use --explain");
    }
    if let Some(d) = args.duration {
        if !(d.is_finite() && d > 0.0) {
            bail!("--duration must be a positive number of seconds, got {d}");
        }
    }
    if args.calls == Some(0) {
        bail!("--calls must be at least 1");
    }
    if !args.ring_mb.is_power_of_two() || args.ring_mb > 1024 {
        bail!("--ring-mb must be a power of two up to 1024, got {}", args.ring_mb);
    }
    if args.interval_ms == 0 {
        bail!("--interval-ms must be at least 1");
    }
    let fast_entry_options = tracer_patch::fastentry::Options {
        call_through: !args.capture.no_call_through,
        ..tracer_patch::fastentry::Options::default()
    };
    let stop = stop_flag();
    let mut plan = probes::plan(args.capture.pid, &args.capture.functions, args.capture.ret_probes.into())?;
    plan.apply_arg_overrides(&args.capture.arg_overrides)?;
    let max_cap = probes::MAX_ARRAY_CAP;
    if args.capture.array_cap > max_cap {
        bail!("--array-cap is at most {max_cap} bytes, got {}", args.capture.array_cap);
    }
    plan.set_array_cap(args.capture.array_cap);
    if args.explain {
        print!("{}", plan.explain());
        if args.capture.fast_entry {
            print!("{}", tracer_patch::fastentry::explain(&plan, &fast_entry_options));
        }
        return Ok(ExitCode::SUCCESS);
    }
    let output = args.output.expect("checked above");
    if let Some(dir) = output.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.is_dir() {
            bail!("cannot write {}: directory {} does not exist", output.display(), dir.display());
        }
    }
    let mut fast_entry = if args.capture.fast_entry {
        Some(tracer_patch::fastentry::FastEntry::install(&mut plan, &fast_entry_options)?)
    } else {
        None
    };
    for w in &plan.warnings {
        eprintln!("warning: {w}");
    }
    let config = RecordConfig {
        duration: args.duration.map(Duration::from_secs_f64),
        max_calls: args.calls,
        max_distinct_inputs: None,
        coverage_stable: None,
        resource_interval: Duration::from_millis(args.interval_ms),
        ring_bytes: args.ring_mb * 1024 * 1024,
        progress: !args.quiet,
        announce: true,
        max_overhead: args.max_overhead.filter(|p| *p > 0.0).map(|p| p / 100.0),
        sample_every: args.sample_every,
        min_duration: args.min_duration,
    };
    let recorded = record::record(&plan, &config, stop);
    let restored = fast_entry.as_mut().map(tracer_patch::fastentry::FastEntry::restore).unwrap_or_default();
    for line in &restored {
        eprintln!("{line}");
    }
    let mut trace = recorded?;
    trace.warnings.extend(restored);
    trace.write(&output)?;
    eprintln!("{}", summary(&trace));
    eprintln!("wrote {}", output.display());
    Ok(ExitCode::SUCCESS)
}

/// A short human summary of a trace.
pub fn summary(trace: &Trace) -> String {
    let secs = trace.end_ns.saturating_sub(trace.start_ns) as f64 / 1e9;
    let mut out = format!(
        "recorded {} calls from PID {} in {secs:.2} s (ended: {:?})\n",
        trace.calls.len(),
        trace.pid,
        trace.end_reason
    );
    for (i, f) in trace.functions.iter().enumerate() {
        let calls: Vec<_> = trace.calls_of(i as u32).collect();
        let durations: Vec<u64> = calls.iter().filter_map(|c| c.duration_ns).collect();
        let mean = if durations.is_empty() { 0 } else { durations.iter().sum::<u64>() / durations.len() as u64 };
        let made = if trace.sampling.is_empty() {
            String::new()
        } else {
            format!("  (sampled: about {:.0} made)", calls.iter().map(|c| trace.weight(c)).sum::<f64>())
        };
        out.push_str(&format!(
            "  {:<24} {:>8} calls  mean {:>8} ns  probe +{:#x} ({:?}){made}\n",
            f.name,
            calls.len(),
            mean,
            f.entry_site.offset,
            f.entry_site.cost
        ));
    }
    let l = &trace.loss;
    out.push_str(&format!(
        "events: produced {} = received {} + dropped {}{}",
        l.produced,
        l.received,
        l.dropped,
        if l.produced == l.received + l.dropped { "" } else { "  (MISMATCH)" }
    ));
    if l.unmatched_returns > 0 || l.incomplete_calls > 0 {
        out.push_str(&format!(
            "\ncalls: {} incomplete (return not observed; marked, not carved), {} returns without an entry",
            l.incomplete_calls, l.unmatched_returns
        ));
    }
    if !trace.on_cpu.available {
        out.push_str(&format!("\non-CPU time not available: {}", trace.on_cpu.detail));
    }
    out
}

fn run_export(args: &ExportArgs) -> anyhow::Result<ExitCode> {
    let (trace, input) = match (&args.input, args.session) {
        (Some(input), _) => (Trace::read(input)?, input.display().to_string()),
        (None, Some(id)) => {
            let bytes = crate::remote::fetch_trace(&args.daemon, id, "bincode")?;
            (Trace::from_bytes(&bytes, std::path::Path::new("daemon"))?, format!("session {id}"))
        }
        (None, None) => bail!("give a trace file or --session ID"),
    };
    let bytes = match args.format {
        ExportFormat::Chrome => serde_json::to_vec(&tracer_probe::chrome::to_chrome(&trace))?,
        ExportFormat::Json => trace.to_bytes(tracer_probe::trace::Encoding::Json),
        ExportFormat::Bincode => trace.to_bytes(tracer_probe::trace::Encoding::Bincode),
        ExportFormat::Otlp => {
            use tracer_export::otlp;
            let resource = tracer_export::resource::describe(&trace, &args.labels);
            let mut redactor = tracer_export::redact::Redactor::default();
            for rule in &args.redact {
                redactor.add(rule)?;
            }
            let values = tracer_export::values::ExportValues::All(args.with_values);
            let options = otlp::Options { values, redactor };
            if args.output.is_none() {
                let receiver = match &args.to {
                    Some(to) => {
                        let protocol = match &args.protocol {
                            Some(name) => otlp::Protocol::parse(name)?,
                            None => otlp::protocol_from_env()?,
                        };
                        otlp::Receiver::new(to, protocol)
                    }
                    None => match otlp::receiver_from_env()? {
                        Some(receiver) => receiver,
                        None => bail!("give -o FILE, --to URL or set OTEL_EXPORTER_OTLP_ENDPOINT"),
                    },
                };
                let ca_file = args.ca.clone().or_else(otlp::ca_file_from_env);
                let tls = tracer_export::tls::ClientTls::trusting(ca_file.as_deref())?;
                let requests = otlp::requests(&trace, &resource, &options, otlp::BATCH);
                let sent = otlp::send(&receiver, &tls, &requests).with_context(|| format!("exporting {input}"))?;
                eprintln!("sent {sent} spans to {receiver}");
                return Ok(ExitCode::SUCCESS);
            }
            let mut all = otlp::requests(&trace, &resource, &options, usize::MAX);
            prost::Message::encode_to_vec(&all.pop().unwrap_or_default())
        }
    };
    if args.format != ExportFormat::Otlp
        && (args.to.is_some() || !args.labels.is_empty() || args.with_values || args.ca.is_some())
    {
        bail!("--to, --ca, --label and --with-values go with --format otlp");
    }
    let Some(output) = &args.output else { bail!("give -o FILE") };
    tracer_probe::trace::write_atomic(output, &bytes).with_context(|| format!("exporting {input}"))?;
    eprintln!("wrote {}", output.display());
    Ok(ExitCode::SUCCESS)
}

fn run_show(args: &ShowArgs) -> anyhow::Result<ExitCode> {
    let trace = Trace::read(&args.input)?;
    println!("{}", summary(&trace));
    if args.calls {
        for c in &trace.calls {
            let f = &trace.functions[c.function as usize];
            let args: Vec<String> = c.args.iter().map(ToString::to_string).collect();
            let end = match (c.incomplete, &c.ret) {
                (None, Some(ret)) => format!("-> {ret}"),
                (None, None) => "-> (void)".to_string(),
                (Some(why), _) => format!("[incomplete: {why:?}]"),
            };
            println!(
                "{:>6} tid {} {}{}({}) {end}",
                c.seq,
                c.tid,
                "  ".repeat(c.depth as usize),
                f.name,
                args.join(", ")
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn run_synth(args: &SynthArgs) -> anyhow::Result<ExitCode> {
    if !(args.timeout.is_finite() && args.timeout > 0.0) {
        bail!("--timeout must be a positive number of seconds, got {}", args.timeout);
    }
    let timeout = Duration::from_secs_f64(args.timeout);
    if let Some(pid) = args.pid {
        return run_live_synth(args, pid, timeout);
    }
    if let Some(session) = args.session {
        return run_session_synth(args, session, timeout);
    }
    if let Some(url) = &args.clickhouse {
        return run_fleet_synth(args, url, timeout);
    }
    if let Some(path) = &args.sygus {
        let guides = carving::guide_choice::GuideSource::new(args.guide);
        let solution = synth_engine::cli::run_sygus_guided(path, timeout, &|p, l| guides.synthesize(p, l))?;
        println!("{solution}");
        return Ok(ExitCode::SUCCESS);
    }
    let path = args.examples.as_ref().expect("clap requires --sygus or --examples");
    if args.domain == DomainArg::Lists || synth_engine::cli::is_list_task(path)? {
        let guide = carving::guide_choice::list_guide(args.guide);
        let run = synth_engine::cli::run_list_examples(
            path,
            args.lang.into(),
            args.describe.as_deref(),
            args.out.as_deref(),
            timeout,
            guide,
        )?;
        return print_examples_run(args.out.as_deref(), &run.code, &run.tests, &run.report);
    }
    let limits = synth_engine::search::SearchLimits::for_examples(timeout);
    let guides = carving::guide_choice::GuideSource::new(args.guide);
    let run = synth_engine::cli::run_examples_guided(
        path,
        args.lang.into(),
        args.describe.as_deref(),
        args.out.as_deref(),
        &limits,
        &|p, l| guides.synthesize(p, l),
    )?;
    print_examples_run(args.out.as_deref(), &run.code, &run.tests, &run.report)
}

/// What `synth --examples` prints: the code and tests (unless written to `out`), then the
/// verification report; success only when every test passed.
fn print_examples_run(
    out: Option<&std::path::Path>,
    code: &str,
    tests: &str,
    report: &synth_engine::verify::QualityReport,
) -> anyhow::Result<ExitCode> {
    if let Some(dir) = out {
        eprintln!("wrote code, tests and report.json to {}", dir.display());
    } else {
        println!("{code}");
        println!("{tests}");
    }
    eprintln!("{}", serde_json::to_string_pretty(report)?);
    Ok(if report.tests_passed == report.tests_total { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn run_live_synth(args: &SynthArgs, pid: u32, budget: Duration) -> anyhow::Result<ExitCode> {
    if !(args.max_seconds.is_finite() && args.max_seconds > 0.0) {
        bail!("--max-seconds must be a positive number, got {}", args.max_seconds);
    }
    if args.distinct == 0 {
        bail!("--distinct must be at least 1");
    }
    let config = carving::live::LiveConfig {
        pid,
        oracle: args.oracle.is_some(),
        arg_overrides: args.arg_overrides.clone(),
        distinct_inputs: args.distinct,
        max_record: Duration::from_secs_f64(args.max_seconds),
        synth: synth_options(args, budget)?,
    };
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} [{elapsed_precise}] {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    let mut candidates = 0u64;
    let mut best = 0.0f64;
    let on_iteration = &mut |it: &synth_engine::refine::IterationRecord| {
        candidates += it.terms_enumerated;
        best = best.max(it.reward.total);
        bar.set_message(format!("iteration {}: {candidates} candidates, best reward {best:.3}", it.iteration));
        bar.tick();
    };
    // A function over arrays is a list task: its own search and emitters.
    let plan = carving::live::plan(&config)?;
    if plan.functions.first().is_some_and(carving::lists::is_list_task) {
        bar.set_message("recording (a function over arrays: the list language)");
        let outcome = carving::lists::run(&config, &plan, stop_flag());
        bar.finish_and_clear();
        let (result, _trace) = outcome?;
        return print_list_synthesis(&result, config.synth.lang, args.out.as_deref());
    }
    let guides = carving::guide_choice::GuideSource::new(args.guide);
    // The learned guide is needed only after the trace is captured: load it meanwhile.
    if args.guide != Some(carving::guide_choice::GuideChoice::Uniform) {
        std::thread::spawn(carving::guide_choice::preload_model);
    }
    let outcome = carving::live::run(&config, plan, &guides, stop_flag(), on_iteration);
    bar.finish_and_clear();
    let (result, _trace) = outcome?;
    print_synthesis(&result, config.synth.lang, args.out.as_deref())
}

fn print_list_synthesis(
    result: &carving::lists::ListSynthesis,
    lang: synth_engine::emit::Lang,
    out: Option<&std::path::Path>,
) -> anyhow::Result<ExitCode> {
    if let Some(dir) = out {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        for (name, body) in [
            (lang.code_file(), result.code.clone()),
            (lang.test_file(), result.tests.clone()),
            ("report.json", serde_json::to_string_pretty(result)?),
            ("examples.json", serde_json::to_string_pretty(&result.examples)?),
        ] {
            let path = dir.join(name);
            std::fs::write(&path, body).with_context(|| format!("cannot write {}", path.display()))?;
        }
        eprintln!("wrote code, tests, report.json and examples.json (the calls synthesized from) to {}", dir.display());
    }
    println!("{}", result.code);
    let (agree, held) = result.held_out_agree;
    eprintln!(
        "{}: {} — {} calls, {} distinct inputs, {} trained on, held-out {agree}/{held}; program {} \
         (recorded {:.1} s, synthesized {:.1} s)",
        result.function,
        result.status,
        result.calls_observed,
        result.distinct_inputs,
        result.training,
        result.program,
        result.record_secs,
        result.synth_secs
    );
    if let Some(why) = &result.status_reason {
        eprintln!("  not verified: {why}");
    }
    Ok(if result.status == "verified" { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn run_session_synth(args: &SynthArgs, session: u64, budget: Duration) -> anyhow::Result<ExitCode> {
    let lang: synth_engine::emit::Lang = args.lang.into();
    let function = args.func.as_deref().expect("clap requires --func with --session");
    let job = tracer_daemon::jobs::SynthesizeRequest {
        session_id: Some(session),
        trace_id: None,
        function: function.to_owned(),
        description: args.describe.clone(),
        language: match lang {
            synth_engine::emit::Lang::Rust => tracer_daemon::jobs::Language::Rust,
            synth_engine::emit::Lang::Python => tracer_daemon::jobs::Language::Python,
            synth_engine::emit::Lang::C => tracer_daemon::jobs::Language::C,
        },
        budget_ms: Some(u64::try_from(budget.as_millis()).unwrap_or(u64::MAX).max(1)),
        max_iterations: Some(args.max_iterations),
        guide: args.guide,
    };
    let view = crate::remote::run_synth_job(&args.daemon, &job)?;
    match view["state"].as_str() {
        Some("verified" | "partial") => {}
        Some("cancelled") => bail!("job {} was cancelled", view["id"]),
        _ => bail!("{}", view["error"].as_str().unwrap_or("the synthesis job failed")),
    }
    // A function over arrays or structs has the list language's report.
    if view["result"].get("program").is_some() {
        let result: carving::lists::ListSynthesis = serde_json::from_value(view["result"].clone())
            .context("the daemon's job result is not a list synthesis report")?;
        return print_list_synthesis(&result, lang, args.out.as_deref());
    }
    let result: carving::live::SynthesisReport =
        serde_json::from_value(view["result"].clone()).context("the daemon's job result is not a synthesis report")?;
    print_synthesis(&result, lang, args.out.as_deref())
}

/// The refinement loop's options from `synth --func F ... --pid | --clickhouse`.
fn synth_options(args: &SynthArgs, budget: Duration) -> anyhow::Result<carving::live::SynthOptions> {
    if args.max_iterations == 0 {
        bail!("--max-iterations must be at least 1");
    }
    Ok(carving::live::SynthOptions {
        function: args.func.clone().context("--func names the function to synthesize")?,
        lang: args.lang.into(),
        describe: args.describe.clone(),
        budget,
        max_iterations: args.max_iterations,
        guide: args.guide,
    })
}

/// `synth --clickhouse URL --func F`: the refinement loop over every host's calls of `F`.
fn run_fleet_synth(args: &SynthArgs, url: &str, budget: Duration) -> anyhow::Result<ExitCode> {
    let options = synth_options(args, budget)?;
    let server = crate::fleet::server(url, args.clickhouse_ca.as_deref())?;
    let trace = tracer_export::clickhouse::fleet_trace(&server, &options.function, args.build_id.as_deref())?;
    for w in &trace.warnings {
        eprintln!("{w}");
    }
    let guides = carving::guide_choice::GuideSource::new(args.guide);
    let cancel = synth_engine::search::CancelToken::new();
    let result = carving::live::synthesize_from_trace(&trace, &options, &guides, &cancel, &mut |_| {})?;
    print_synthesis(&result, options.lang, args.out.as_deref())
}

/// Prints (or writes) a synthesis report: code and tests on stdout, the summary and the
/// verification report on stderr. Fails (exit 1) unless the code is verified.
fn print_synthesis(
    result: &carving::live::SynthesisReport,
    lang: synth_engine::emit::Lang,
    out: Option<&std::path::Path>,
) -> anyhow::Result<ExitCode> {
    eprintln!(
        "{}: {} calls, {} distinct inputs{}; {} after {} iteration(s) in {:.2} s with the {} guide (reward {:.3}); held-out calls reproduced {}/{}",
        result.function,
        result.calls_observed,
        result.distinct_inputs,
        if result.record_secs > 0.0 { format!(" in {:.1} s", result.record_secs) } else { String::new() },
        match (&result.status, &result.status_reason) {
            (synth_engine::refine::RefineStatus::Verified, _) => "verified".to_owned(),
            (_, Some(why)) => format!("NOT verified, fits the observed calls only ({why})"),
            _ => "NOT verified: best partial result".to_owned(),
        },
        result.history.len(),
        result.synth_secs,
        match result.guide {
            carving::guide_choice::GuideChoice::Learned => "learned",
            carving::guide_choice::GuideChoice::Uniform => "uniform",
        },
        result.reward.total,
        result.held_out_agree.0,
        result.held_out_agree.1
    );
    if let Some(o) = &result.oracle {
        match &o.refused {
            Some(why) => eprintln!("  oracle: not used: {why}"),
            None => eprintln!(
                "  oracle: asked the binary {} inputs in {} round(s): {} disagreed with the candidate of the time, {} failed; the returned program {}",
                o.queries,
                o.rounds,
                o.disagreements,
                o.failed,
                if o.confirmed { "agreed with every answer of the last round" } else { "was not confirmed" }
            ),
        }
    }
    for inv in &result.invariants {
        eprintln!("  invariant: {inv}");
    }
    if let Some(why) = result.coverage.as_ref().and_then(tracer_probe::coverage::BranchCoverage::one_way) {
        eprintln!("  note: {why}");
    }
    match out {
        Some(dir) => {
            carving::live::write_out(result, lang, dir).with_context(|| format!("writing to {}", dir.display()))?;
            eprintln!("wrote code, tests, regression_{}.c and report.json to {}", result.function, dir.display());
        }
        None => {
            println!("{}", result.code);
            println!("{}", result.tests);
        }
    }
    eprintln!("{}", serde_json::to_string_pretty(&result.report)?);
    Ok(if result.verified() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_names_each_cause_once() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "No such file or directory");
        let e =
            anyhow::Error::new(tracer_probe::trace::TraceError::Io { action: "read", path: "/x".into(), source: io })
                .context("exporting /x");
        assert_eq!(message(&e), "exporting /x: cannot read /x: No such file or directory");
    }
}
