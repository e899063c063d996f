//! `synth-model train | rl | bench | eval | embed`: trains the guide (run by
//! `cargo xtask train`), fine-tunes it from search rewards (`cargo xtask train
//! --rl`), compares learned and uniform guides (run by `cargo xtask bench
//! guide`), prints the held-out metrics of trained weights, and prints sentence
//! embeddings (used by `cargo xtask ref-vectors` checks).

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context as _, Result};
use burn::prelude::*;
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use synth_model::data::{generate, DataConfig, Task};
use synth_model::device::ComputeDevice;
use synth_model::fuse::BehaviourEncoderConfig;
use synth_model::model::{default_weights_dir, load_model, GuideModelConfig};
use synth_model::text::TextEncoder;
use synth_model::trace::TraceEncoderConfig;
use synth_model::train::TextTable;

use bench::{run_bench, GuideSettings};
#[cfg(feature = "decoder")]
use decoder::run_train_decoder;
use device_check::device_check;
#[cfg(feature = "decoder")]
use rl::{run_rl, RlArgs};
use train::{evaluate_views, metrics_table, run_train};

mod bench;
#[cfg(feature = "decoder")]
mod decoder;
mod device_check;
mod lists;
#[cfg(feature = "decoder")]
mod rl;
mod train;

#[derive(Parser)]
#[command(name = "synth-model")]
struct Cli {
    /// Where training and evaluation run (search-time guidance is always on the CPU).
    #[arg(long, global = true, value_enum, default_value_t)]
    device: ComputeDevice,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate tasks, embed their descriptions, train, evaluate, write weights and a model card.
    Train {
        /// Programs drawn before deduplication.
        #[arg(long, default_value_t = 600_000)]
        draws: usize,
        /// Passes over the training tasks.
        #[arg(long, default_value_t = 5)]
        epochs: usize,
        /// Stop after this many steps (0 = no limit).
        #[arg(long, default_value_t = 0)]
        max_steps: usize,
        /// Where to write the weights, configuration and model card.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Where to keep the description embeddings between runs.
        #[arg(long, default_value = "target/synth-model-cache")]
        cache: PathBuf,
    },
    /// Fine-tune the trained guide from search rewards (expert iteration), then compare
    /// it with the model it started from and with uniform costs on held-out tasks.
    #[cfg(feature = "decoder")]
    Rl {
        /// Synthetic training tasks searched per round.
        #[arg(long, default_value_t = 240)]
        tasks: usize,
        /// Rounds of search and fine-tuning.
        #[arg(long, default_value_t = 2)]
        rounds: usize,
        /// Search limit per task while collecting, in seconds.
        #[arg(long, default_value_t = 1.0)]
        timeout: f64,
        /// Fine-tuning passes over each round's solved tasks.
        #[arg(long, default_value_t = 3)]
        epochs: usize,
        /// Fine-tuning learning rate.
        #[arg(long, default_value_t = 3e-4)]
        learning_rate: f64,
        /// Held-out tasks in the comparison.
        #[arg(long, default_value_t = 60)]
        bench_limit: usize,
        /// Search limit per held-out task, in seconds.
        #[arg(long, default_value_t = 2.0)]
        bench_timeout: f64,
        /// Smallest program size among the tasks.
        #[arg(long, default_value_t = 4)]
        min_size: usize,
        /// Weights to start from.
        #[arg(long)]
        weights: Option<PathBuf>,
        /// Where to write the fine-tuned weights and their card.
        #[arg(long, default_value = "target/synth-model-rl")]
        out: PathBuf,
        /// Where to keep the description embeddings between runs.
        #[arg(long, default_value = "target/synth-model-cache")]
        cache: PathBuf,
    },
    /// Learned vs uniform guide on held-out synthetic tasks and SyGuS suites.
    Bench {
        /// SyGuS suites (folders of `.sl`, searched recursively).
        #[arg(long = "suite")]
        suites: Vec<PathBuf>,
        /// Seconds per task.
        #[arg(long, default_value_t = 10.0)]
        timeout: f64,
        /// Tasks per suite (synthetic and each SyGuS suite).
        #[arg(long, default_value_t = 40)]
        limit: usize,
        /// Smallest synthetic program size of a slice; one slice per value. Larger
        /// tasks search longer, so the description's guide (≈ 20 ms) can arrive in time.
        #[arg(long = "min-size", default_values_t = [4, 7])]
        min_sizes: Vec<usize>,
        /// Weights directory.
        #[arg(long)]
        weights: Option<PathBuf>,
        /// Cost per nat of −ln p (the learned guide's default is 0.5).
        #[arg(long)]
        cost_scale: Option<f32>,
        /// Least probability at which the learned guide proposes a common constant.
        #[arg(long)]
        propose_min_p: Option<f32>,
        /// Skip the synthetic tasks.
        #[arg(long)]
        no_synthetic: bool,
        /// Runs of each search that solves its task; the task's time is their median.
        #[arg(long, default_value_t = 3)]
        repeat: usize,
    },
    /// Generate the synthetic tasks and print counts and a few samples.
    Data {
        /// Programs drawn before deduplication.
        #[arg(long, default_value_t = 600_000)]
        draws: usize,
    },
    /// The same held-out evaluation and a few training steps on the CPU and on `--device`
    /// (default `gpu`): times, and whether the metrics agree. Fails if they differ.
    DeviceCheck {
        /// Weights directory.
        #[arg(long)]
        weights: Option<PathBuf>,
        /// Training steps timed on each device (batch 32, from the same seed).
        #[arg(long, default_value_t = 20)]
        steps: usize,
        /// Where to keep the description embeddings between runs.
        #[arg(long, default_value = "target/synth-model-cache")]
        cache: PathBuf,
    },
    /// Train the program decoder on the frozen guide model, evaluate its beam search on
    /// the held-out tasks, and write its weights and card.
    #[cfg(feature = "decoder")]
    TrainDecoder {
        /// Passes over the training sequences (the committed weights: 10).
        #[arg(long, default_value_t = 10)]
        epochs: usize,
        /// Stop after this many steps (0 = no limit).
        #[arg(long, default_value_t = 0)]
        max_steps: usize,
        /// The guide model it reads.
        #[arg(long)]
        weights: Option<PathBuf>,
        /// Where to write the decoder's weights, configuration and card.
        #[arg(long, default_value = "target/synth-model-decoder")]
        out: PathBuf,
        /// Beam widths evaluated on the held-out tasks.
        #[arg(long = "width", default_values_t = [16, 64, 256])]
        widths: Vec<usize>,
    },
    /// Train the list search's guides on random list programs (the operator model, then the
    /// value model); write their weights and cards.
    TrainLists {
        /// Random tasks trained on.
        #[arg(long, default_value_t = 400_000)]
        tasks: usize,
        /// Passes over them.
        #[arg(long, default_value_t = 10)]
        epochs: usize,
        /// Random tasks whose searched values train the value model.
        #[arg(long, default_value_t = 20_000)]
        value_tasks: usize,
        /// Train only the value model (the operator model's weights stay).
        #[arg(long)]
        values_only: bool,
        /// Where to write the weights, configuration and model card.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Write a suite of random list tasks with held-out cases (`plain/` and `described/`).
    ListSuite {
        /// Where to write it.
        #[arg(long)]
        out: PathBuf,
        /// Tasks.
        #[arg(long, default_value_t = 100)]
        count: usize,
        /// Smallest program size.
        #[arg(long, default_value_t = 8)]
        min_size: usize,
        /// Largest program size.
        #[arg(long, default_value_t = 15)]
        max_size: usize,
        /// Seed (the training tasks' is 7, the model card's held-out 1000003).
        #[arg(long, default_value_t = 2027)]
        seed: u64,
    },
    /// The list search under uniform, core-first and learned prices on a suite, checked on
    /// its held-out cases in this process.
    BenchLists {
        /// Folder of `TASK.json` with `TASK.tests.json` beside each.
        #[arg(long)]
        suite: PathBuf,
        /// Seconds per task and guide.
        #[arg(long, default_value_t = 10.0)]
        timeout: f64,
        /// Weights directory.
        #[arg(long)]
        weights: Option<PathBuf>,
        /// Only every Nth task.
        #[arg(long, default_value_t = 1)]
        every: usize,
        /// Each factor of this below certainty adds 1 to a price.
        #[arg(long, default_value_t = synth_model::lists::guide::PRICE_BASE)]
        price_base: f32,
        /// The highest price.
        #[arg(long, default_value_t = synth_model::lists::guide::MAX_PRICE)]
        max_price: u32,
        /// The value model's thresholds (probabilities, descending).
        #[arg(long = "value-cut", default_values_t = synth_model::lists::values::VALUE_CUTS)]
        value_cuts: Vec<f32>,
        /// Only these guides (uniform, core-first, learned, values, core+values,
        /// learned+values, default: what `tracesynth synth` uses); all by default.
        #[arg(long = "guide")]
        guides: Vec<String>,
    },
    /// Print sentence embeddings as JSON.
    Embed {
        /// Sentences.
        sentences: Vec<String>,
    },
    /// Held-out metrics of trained weights, with and without descriptions.
    Eval {
        /// Weights directory.
        #[arg(long)]
        weights: Option<PathBuf>,
        /// Where to keep the description embeddings between runs.
        #[arg(long, default_value = "target/synth-model-cache")]
        cache: PathBuf,
    },
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::TrainLists { tasks, epochs, value_tasks, values_only, out } => {
            let out = out.unwrap_or_else(default_weights_dir);
            if !values_only {
                let config = synth_model::lists::net::ListTrainingConfig::new().with_tasks(tasks).with_epochs(epochs);
                lists::run_train_lists(&config, &out, cli.device)?;
            }
            let config = synth_model::lists::values::ValueTrainingConfig::new();
            lists::run_train_list_values(&config, value_tasks, &out, cli.device)
        }
        Command::BenchLists { suite, timeout, weights, every, price_base, max_price, value_cuts, guides } => {
            let weights = weights.unwrap_or_else(default_weights_dir);
            lists::run_bench_lists(&suite, timeout, &weights, every, (price_base, max_price), &value_cuts, &guides)
        }
        Command::ListSuite { out, count, min_size, max_size, seed } => {
            lists::run_list_suite(&out, count, min_size, max_size, seed)
        }
        Command::Train { draws, epochs, max_steps, out, cache } => {
            run_train(draws, epochs, max_steps, &out.unwrap_or_else(default_weights_dir), &cache, cli.device)
        }
        #[cfg(feature = "decoder")]
        Command::Rl {
            tasks,
            rounds,
            timeout,
            epochs,
            learning_rate,
            bench_limit,
            bench_timeout,
            min_size,
            weights,
            out,
            cache,
        } => run_rl(&RlArgs {
            tasks,
            rounds,
            timeout,
            epochs,
            learning_rate,
            bench_limit,
            bench_timeout,
            min_size,
            weights: weights.unwrap_or_else(default_weights_dir),
            out,
            cache,
        }),
        Command::Bench {
            suites,
            timeout,
            limit,
            min_sizes,
            weights,
            cost_scale,
            propose_min_p,
            no_synthetic,
            repeat,
        } => run_bench(
            &suites,
            timeout,
            if no_synthetic { 0 } else { limit },
            limit,
            &min_sizes,
            &weights.unwrap_or_else(default_weights_dir),
            GuideSettings { cost_scale, propose_min_p, repeat },
        ),
        Command::Data { draws } => {
            let data = generate(&data_config(draws))?;
            let mut fam: std::collections::BTreeMap<&str, (usize, usize)> = std::collections::BTreeMap::new();
            for t in &data.train {
                fam.entry(t.family).or_default().0 += 1;
            }
            for t in &data.test {
                fam.entry(t.family).or_default().1 += 1;
            }
            println!("{} train, {} test", data.train.len(), data.test.len());
            for (k, (a, b)) in fam {
                println!("{k}: {a} train, {b} test");
            }
            for t in data.train.iter().step_by((data.train.len() / 12).max(1)) {
                println!("[{}] size {} {}  --  {}", t.family, t.size, t.program, t.description());
            }
            Ok(())
        }
        Command::Eval { weights, cache } => {
            let dir = weights.unwrap_or_else(default_weights_dir);
            let device = cli.device.device()?;
            let data = generate(&DataConfig::default())?;
            let texts = text_table(&data.test.iter().collect::<Vec<_>>(), &cache)?;
            let (model, config) = load_model(&dir, &Device::flex())?;
            let t0 = Instant::now();
            let metrics = evaluate_views(&model, &config, &data.test, &texts, &device)?;
            let secs = t0.elapsed().as_secs_f64();
            println!(
                "{}: {} held-out tasks on {:?} ({secs:.1} s)\n\n{}",
                dir.display(),
                data.test.len(),
                cli.device,
                metrics_table(&metrics)
            );
            Ok(())
        }
        Command::DeviceCheck { weights, steps, cache } => {
            let other = if cli.device == ComputeDevice::Cpu { ComputeDevice::Gpu } else { cli.device };
            device_check(&weights.unwrap_or_else(default_weights_dir), steps, &cache, other)
        }
        #[cfg(feature = "decoder")]
        Command::TrainDecoder { epochs, max_steps, weights, out, widths } => {
            run_train_decoder(epochs, max_steps, &weights.unwrap_or_else(default_weights_dir), &out, &widths)
        }
        Command::Embed { sentences } => {
            let enc = TextEncoder::load_default(&Device::flex())?;
            let refs: Vec<&str> = sentences.iter().map(String::as_str).collect();
            println!("{}", serde_json::to_string(&enc.embed(&refs)?)?);
            Ok(())
        }
    }
}

fn bar(len: u64, what: &str) -> ProgressBar {
    let pb = ProgressBar::new(len);
    pb.set_style(
        ProgressStyle::with_template(&format!(
            "{what:>10} [{{elapsed_precise}}] {{bar:40}} {{pos}}/{{len}} {{msg}} (eta {{eta}})"
        ))
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    pb
}

/// The model configuration trained by `cargo xtask train`.
fn model_config() -> GuideModelConfig {
    GuideModelConfig::new(BehaviourEncoderConfig::new(TraceEncoderConfig::new())).with_lexicon(true)
}

fn data_config(draws: usize) -> DataConfig {
    DataConfig { draws, ..DataConfig::default() }
}

fn text_table(tasks: &[&Task], cache: &Path) -> Result<TextTable> {
    let path = cache.join("description-embeddings.bin");
    let mut table = if path.is_file() { TextTable::load(&path).unwrap_or_default() } else { TextTable::default() };
    let enc =
        TextEncoder::load_default(&Device::flex()).context("the pretrained text encoder is needed for training")?;
    let pb = bar(0, "embed");
    table.fill(&enc, tasks.iter().map(|t| t.description()), &mut |done, total| {
        pb.set_length(total as u64);
        pb.set_position(done as u64);
    })?;
    pb.finish();
    table.save(&path)?;
    Ok(table)
}
