//! Project automation: `cargo xtask setup | test | demo | bench ...`.
use std::{path::PathBuf, process::Command};

use anyhow::{bail, Context as _, Result};
use clap::{Parser, Subcommand};

mod bench_budget;
mod bench_daemon;
mod bench_fleet;
mod bench_generalize;
mod bench_lists;
mod bench_rules;
mod bench_synth;
mod bench_trace;
mod daemon;
mod e2e;
mod gpu_check;
mod lint;
mod model;
mod setup;
mod sygus_task;

#[derive(Parser)]
#[command(name = "xtask")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Install everything a fresh machine needs (idempotent): apt packages, rust-src for
    /// nightly, bpf-linker, bpftrace, cvc5.
    Setup,
    /// Set up, check formatting (rustfmt) and lints (clippy, warnings denied, every crate),
    /// then run the whole test suite (what CI runs).
    Test,
    /// Set up, build, start the bundled demo process and the daemon, attach by PID, record,
    /// and print the synthesized Rust of each demo function with its verification report.
    Demo,
    /// Train the learned search guide (synth-model) and write its weights and model card;
    /// with `--rl`, fine-tune it from search rewards (expert iteration) and compare; with
    /// `--decoder`, train the program decoder on the committed guide; with `--lists`, the
    /// list search's guide.
    Train {
        /// Fine-tune the trained guide by expert iteration (`synth-model rl`) instead.
        #[arg(long, conflicts_with_all = ["decoder", "lists"])]
        rl: bool,
        /// Train the program decoder (`synth-model train-decoder`) instead.
        #[arg(long, conflicts_with = "lists")]
        decoder: bool,
        /// Train the list search's guides, the operator model then the value model
        /// (`synth-model train-lists`, e.g. `--tasks 400000 --epochs 10 --value-tasks 20000`)
        /// instead.
        #[arg(long)]
        lists: bool,
        /// Passed to `synth-model train` (e.g. `--epochs 4 --draws 60000`), `synth-model rl`
        /// (e.g. `--tasks 240 --rounds 2`) or `synth-model train-decoder` (`--epochs 10`).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Regenerate synth-model's reference sentence embeddings with sentence-transformers.
    RefVectors {
        /// Throw-away virtual environment for sentence-transformers (several GB).
        #[arg(long, default_value = "/tmp/tracesynth-st-venv")]
        venv: PathBuf,
    },
    /// Build synth-model with its `gpu` feature (burn's wgpu backend) and compare held-out
    /// evaluation and training steps on the CPU and on the GPU wgpu finds. Installs a Vulkan
    /// loader and mesa's drivers, so a machine without a GPU checks on lavapipe (software).
    GpuCheck {
        /// Training steps timed on each device.
        #[arg(long, default_value_t = 20)]
        steps: usize,
    },
    /// Benchmarks.
    Bench {
        #[command(subcommand)]
        which: Bench,
    },
}

/// A suite of examples tasks with held-out cases (`bench lists`, `bench text`).
#[derive(Debug, clap::Args)]
struct SuiteArgs {
    /// Folder of `TASK.json` files, each with `TASK.tests.json` beside it.
    #[arg(long)]
    suite: Option<PathBuf>,
    /// Seconds per task.
    #[arg(long, default_value_t = 10)]
    timeout: u64,
    /// Repetitions (medians are reported).
    #[arg(long, default_value_t = 1)]
    runs: usize,
    /// Only every Nth task (1: all).
    #[arg(long, default_value_t = 1)]
    every: usize,
    /// Guides compared: `default` (for lists the core-first operator prior, for text the
    /// learned guide) and `uniform` costs.
    #[arg(long, default_values_t = ["default".to_string(), "uniform".to_string()])]
    guide: Vec<String>,
}

#[derive(Subcommand)]
enum Bench {
    /// Export into ClickHouse (Debian's 18.16 on loopback): calls/s one daemon sends, and
    /// its memory.
    Fleet {
        /// Calls per session.
        #[arg(long, default_value_t = 200_000)]
        calls: u64,
        /// Repetitions (the median is reported).
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// Seconds the target works under each overhead budget.
        #[arg(long, default_value_t = 60.0)]
        budget_secs: f64,
    },
    /// The daemon: sustained ingest into sled, `GET /v1/traces/{id}/calls` latency, and
    /// block-mode overhead per call.
    Daemon {
        /// Calls per ingest run (two events each).
        #[arg(long, default_value_t = 200_000)]
        calls: u64,
        /// Requests per latency measurement.
        #[arg(long, default_value_t = 300)]
        requests: usize,
        /// Calls per block-mode measurement.
        #[arg(long, default_value_t = 20_000)]
        block_calls: u64,
        /// Repetitions (medians are reported).
        #[arg(long, default_value_t = 3)]
        runs: usize,
    },
    /// The main job per demo function: calls observed, distinct inputs, overhead per call
    /// while recording, time to verified code, iterations, fresh-input agreement, size.
    E2e {
        /// Repetitions (medians are reported).
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// Fresh random inputs checked against the original per function.
        #[arg(long, default_value_t = 10_000)]
        fresh: usize,
    },
    /// Probe cost per call vs bpftrace, and ring-buffer throughput.
    Trace {
        /// Calls per measurement.
        #[arg(long, default_value_t = 200_000)]
        calls: u64,
        /// Repetitions (the median is reported).
        #[arg(long, default_value_t = 3)]
        runs: usize,
    },
    /// This engine vs cvc5 on every `.sl` of a SyGuS suite, one task at a time.
    Synth {
        /// Folder of `.sl` files (searched recursively).
        #[arg(long)]
        suite: PathBuf,
        /// Seconds per task, for both solvers.
        #[arg(long, default_value_t = 10)]
        timeout: u64,
        /// Only the first K tasks.
        #[arg(long)]
        limit: Option<usize>,
        /// Only tasks whose path contains this.
        #[arg(long)]
        filter: Option<String>,
    },
    /// Generalization: SyGuS PBE tasks with at least 6 examples, synthesized from the
    /// first 3 (and 2) and checked on the rest, with the uniform and the learned guide.
    Generalize {
        /// Folders of `.sl` files (searched recursively); default: the development PBE suites.
        #[arg(long)]
        suite: Vec<PathBuf>,
        /// Seconds per solve.
        #[arg(long, default_value_t = 10)]
        timeout: u64,
        /// Only every Nth eligible task (1: all).
        #[arg(long, default_value_t = 1)]
        every: usize,
        /// Guides compared.
        #[arg(long, default_values_t = ["uniform".to_string(), "learned".to_string()])]
        guide: Vec<String>,
    },
    /// List tasks from examples, checked on held-out cases: solved, correct, median time.
    Lists(SuiteArgs),
    /// Text tasks with a description (`xtask/text-tasks/`, our own: 65 everyday string
    /// transformations), synthesized from their first 3 or 4 examples and checked on the rest.
    Text(SuiteArgs),
    /// Business rules from a live PID (`../shared/bench/business/check_rules.py`): agreement
    /// with the original on fresh inputs, term size, and whether `verified` was earned.
    Rules {
        /// A further pass in the same run with these arguments appended to each `tracesynth
        /// synth` (repeatable), e.g. `--with "--oracle fork" --with "--guide uniform"`.
        #[arg(long = "with", allow_hyphen_values = true)]
        with: Vec<String>,
    },
    /// Learned vs uniform guide: held-out synthetic tasks (with and without descriptions) and
    /// ../shared/bench/sygus/{pbe_bv,pbe_slia,hd}.
    Guide {
        /// Seconds per task.
        #[arg(long, default_value_t = 10.0)]
        timeout: f64,
        /// Tasks per suite.
        #[arg(long, default_value_t = 40)]
        limit: usize,
    },
}

fn main() -> Result<()> {
    match Cli::parse().task {
        Task::Setup => setup::run(),
        Task::Test => {
            setup::run()?;
            lint::run()?;
            // With synth-model's `decoder` feature, so its tests run in the same build (a
            // build of synth-model alone would compile burn a second time).
            cargo(&["test", "--no-fail-fast", "--features", "synth-model/decoder"])
        }
        Task::Demo => {
            setup::run()?;
            e2e::demo()
        }
        Task::Train { rl, decoder, lists, args } => {
            let what = if rl {
                "rl"
            } else if decoder {
                "train-decoder"
            } else if lists {
                "train-lists"
            } else {
                "train"
            };
            // The list guide reads no text encoder.
            if !lists {
                setup::run()?;
            }
            model::train(what, &args)
        }
        Task::RefVectors { venv } => model::ref_vectors(&venv),
        Task::GpuCheck { steps } => {
            setup::run()?;
            gpu_check::gpu_check(steps)
        }
        Task::Bench { which: Bench::Rules { with } } => {
            setup::run()?;
            bench_rules::run(&with)
        }
        Task::Bench { which: Bench::Guide { timeout, limit } } => {
            setup::run()?;
            model::bench_guide(timeout, limit)
        }
        Task::Bench { which: Bench::Fleet { calls, runs, budget_secs } } => {
            setup::run()?;
            bench_fleet::run(calls, runs.max(1), budget_secs)
        }
        Task::Bench { which: Bench::Daemon { calls, requests, block_calls, runs } } => {
            setup::run()?;
            bench_daemon::run(calls, requests, block_calls, runs.max(1))
        }
        Task::Bench { which: Bench::E2e { runs, fresh } } => {
            setup::run()?;
            e2e::bench(runs.max(1), fresh)
        }
        Task::Bench { which: Bench::Trace { calls, runs } } => {
            setup::run()?;
            bench_trace::run(calls, runs)
        }
        Task::Bench { which: Bench::Generalize { suite, timeout, every, guide } } => {
            setup::run()?;
            let bin = build_tracesynth()?;
            if std::env::var_os("TRACESYNTH_BIN").is_none() {
                std::env::set_var("TRACESYNTH_BIN", &bin);
            }
            let suites = if suite.is_empty() {
                let shared = root().join("../shared/bench/sygus");
                vec![shared.join("pbe_slia"), shared.join("pbe_bv")]
            } else {
                suite
            };
            bench_generalize::run(&suites, timeout, every, &guide)
        }
        Task::Bench { which: Bench::Lists(args) } => {
            run_suite(args, "../shared/bench/lists", bench_lists::Domain::Lists)
        }
        Task::Bench { which: Bench::Text(args) } => run_suite(args, "xtask/text-tasks", bench_lists::Domain::Auto),
        Task::Bench { which: Bench::Synth { suite, timeout, limit, filter } } => {
            setup::run()?;
            let bin = build_tracesynth()?;
            if std::env::var_os("TRACESYNTH_BIN").is_none() {
                std::env::set_var("TRACESYNTH_BIN", &bin);
            }
            bench_synth::run(&suite, timeout, limit, filter.as_deref())
        }
    }
}

/// `bench lists` / `bench text`: the release binary, then the suite (`default` under the
/// workspace root unless `--suite` names one).
fn run_suite(args: SuiteArgs, default: &str, domain: bench_lists::Domain) -> Result<()> {
    let bin = build_tracesynth()?;
    if std::env::var_os("TRACESYNTH_BIN").is_none() {
        std::env::set_var("TRACESYNTH_BIN", &bin);
    }
    let suite = args.suite.unwrap_or_else(|| root().join(default));
    bench_lists::run(&suite, domain, args.timeout, args.runs.max(1), args.every, &args.guide)
}

/// The workspace root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace").to_path_buf()
}

/// Runs cargo in the workspace root.
pub fn cargo(args: &[&str]) -> Result<()> {
    let status = Command::new(env!("CARGO")).args(args).current_dir(root()).status().context("running cargo")?;
    if !status.success() {
        bail!("cargo {} failed: {status}", args.join(" "));
    }
    Ok(())
}

/// Builds release `tracesynth` and returns its path.
pub fn build_tracesynth() -> Result<PathBuf> {
    cargo(&["build", "--release", "-p", "tracer-user", "--bin", "tracesynth"])?;
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root().join("target"), PathBuf::from);
    Ok(target.join("release/tracesynth"))
}

/// Compiles `tests/fixtures/NAME.c` into `out`.
pub fn gcc(name: &str, flags: &[&str], out: &std::path::Path) -> Result<()> {
    let status = Command::new("gcc")
        .args(flags)
        .arg("-o")
        .arg(out)
        .arg(root().join("tests/fixtures").join(format!("{name}.c")))
        .status()
        .context("running gcc")?;
    if !status.success() {
        bail!("gcc failed for {name}");
    }
    Ok(())
}

/// The median of a sample ([`test_support::median`]); NaN when it is empty.
pub fn median(v: Vec<f64>) -> f64 {
    test_support::median(v).unwrap_or(f64::NAN)
}
