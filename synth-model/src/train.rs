//! Training, kept apart from the model: configuration, the text-embedding
//! table of the descriptions, the Adam loop on an autodiff device, and
//! held-out metrics.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::Path;

use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use burn::tensor::activation::{log_sigmoid, log_softmax};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use synth_engine::dsl::Sort;
use synth_engine::search::{default_grammar, Guide as _};
use synth_engine::spec::Problem;
use thiserror::Error;

use crate::data::Task;
use crate::labels::{label_count, label_index, value_label, LABELS};
use crate::model::{behaviour_input, predict_with, without_description, GuideModel, GuideModelConfig, MAX_SIZE_CLASS};
use crate::pricing::LearnedGuide;
use crate::text::{TextEncoder, TextError, TEXT_DIM};
use crate::trace::{TraceError, TraceFeatures};

/// Errors of training.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum TrainError {
    /// Nothing to train on.
    #[error("no training tasks")]
    NoData,
    /// Task weights that do not match the tasks.
    #[error("{weights} task weights for {tasks} tasks")]
    Weights {
        /// Tasks given.
        tasks: usize,
        /// Weights given.
        weights: usize,
    },
    /// A task's examples could not be encoded.
    #[error(transparent)]
    Trace(#[from] TraceError),
    /// The text encoder failed.
    #[error(transparent)]
    Text(#[from] TextError),
    /// A file could not be read or written.
    #[error("{}: {message}", path.display())]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// What went wrong.
        message: String,
    },
    /// A tensor could not be read back.
    #[error("reading model output: {0}")]
    Output(String),
}

/// Training settings.
#[derive(Config, Debug)]
pub struct TrainingConfig {
    /// The model.
    pub model: GuideModelConfig,
    /// Passes over the training tasks.
    #[config(default = 6)]
    pub epochs: usize,
    /// Tasks per step.
    #[config(default = 32)]
    pub batch_size: usize,
    /// Adam learning rate.
    #[config(default = 1e-3)]
    pub learning_rate: f64,
    /// Probability of hiding a task's description during training, so the
    /// model also works without one (and its examples' encoder learns from half the
    /// tasks, not only from what the description's words leave unexplained).
    #[config(default = 0.5)]
    pub text_dropout: f64,
    /// Probability of hiding the sentence embedding of a description that is
    /// shown, so the model also works from its words alone (as it does until the
    /// sentence encoder is done).
    #[config(default = 0.4)]
    pub sentence_dropout: f64,
    /// Probability that a description shown as words only is replaced by a fresh
    /// phrasing of the same program ([`Task::rephrase`]), so the words are learnt
    /// from more than one phrasing per task.
    #[config(default = 0.5)]
    pub rephrase: f64,
    /// Weight of the size loss against the label loss.
    #[config(default = 0.3)]
    pub size_weight: f64,
    /// Stop after this many steps (0 = no limit).
    #[config(default = 0)]
    pub max_steps: usize,
    /// Seed for initialisation and shuffling.
    #[config(default = 42)]
    pub seed: u64,
}

/// Sentence embeddings of descriptions, by text.
#[derive(Clone, Debug, Default)]
pub struct TextTable {
    vectors: HashMap<String, Vec<f32>>,
}

impl TextTable {
    /// Embedding of a sentence, if computed.
    #[must_use]
    pub fn get(&self, s: &str) -> Option<&[f32]> {
        self.vectors.get(s).map(Vec::as_slice)
    }

    /// Number of sentences.
    #[must_use]
    pub fn len(&self) -> usize {
        self.vectors.len()
    }

    /// Whether the table is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.vectors.is_empty()
    }

    /// Embeds every sentence not yet in the table, in batches of 32;
    /// `progress` is told how many are done.
    ///
    /// # Errors
    ///
    /// A tokenizer failure.
    pub fn fill<'a>(
        &mut self,
        encoder: &TextEncoder,
        sentences: impl IntoIterator<Item = &'a str>,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<(), TextError> {
        let mut todo: Vec<&str> = sentences.into_iter().filter(|s| !self.vectors.contains_key(*s)).collect();
        todo.sort_unstable();
        todo.dedup();
        // Similar lengths batch together with less padding.
        todo.sort_by_key(|s| s.len());
        let total = todo.len();
        for (i, chunk) in todo.chunks(32).enumerate() {
            let v = encoder.embed(chunk)?;
            for (s, e) in chunk.iter().zip(v) {
                self.vectors.insert((*s).to_string(), e);
            }
            progress((i * 32 + chunk.len()).min(total), total);
        }
        Ok(())
    }

    /// Writes the table (a JSON list of sentences, then little-endian f32s).
    ///
    /// # Errors
    ///
    /// An unwritable file.
    pub fn save(&self, path: &Path) -> Result<(), TrainError> {
        let io = |e: std::io::Error| TrainError::Io { path: path.to_path_buf(), message: e.to_string() };
        let mut keys: Vec<&String> = self.vectors.keys().collect();
        keys.sort();
        let head = serde_json::to_vec(&keys)
            .map_err(|e| TrainError::Io { path: path.to_path_buf(), message: e.to_string() })?;
        let mut out = Vec::with_capacity(8 + head.len() + keys.len() * TEXT_DIM * 4);
        out.extend((head.len() as u64).to_le_bytes());
        out.extend(head);
        for k in keys {
            for x in &self.vectors[k] {
                out.extend(x.to_le_bytes());
            }
        }
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        std::fs::write(path, out).map_err(io)
    }

    /// Reads a table written by [`TextTable::save`].
    ///
    /// # Errors
    ///
    /// An unreadable or malformed file.
    pub fn load(path: &Path) -> Result<TextTable, TrainError> {
        let bad = |m: String| TrainError::Io { path: path.to_path_buf(), message: m };
        let bytes = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
        let n =
            u64::from_le_bytes(bytes.get(..8).ok_or_else(|| bad("truncated".into()))?.try_into().unwrap_or_default())
                as usize;
        let head = bytes.get(8..8 + n).ok_or_else(|| bad("truncated".into()))?;
        let keys: Vec<String> = serde_json::from_slice(head).map_err(|e| bad(e.to_string()))?;
        let body = &bytes[8 + n..];
        if body.len() != keys.len() * TEXT_DIM * 4 {
            return Err(bad("size does not match the sentence list".into()));
        }
        let floats: Vec<f32> = body.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
        let vectors = keys.into_iter().zip(floats.chunks(TEXT_DIM).map(<[f32]>::to_vec)).collect();
        Ok(TextTable { vectors })
    }
}

/// Progress of one training step.
#[derive(Clone, Copy, Debug)]
pub struct StepReport {
    /// Step number (1-based).
    pub step: usize,
    /// Total steps planned.
    pub total: usize,
    /// Epoch (1-based).
    pub epoch: usize,
    /// Loss of this batch.
    pub loss: f32,
}

/// Held-out quality of a model.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct EvalMetrics {
    /// Tasks evaluated.
    pub tasks: usize,
    /// Mean label binary cross-entropy.
    pub label_bce: f64,
    /// Share of a solution's labels among the model's top-|labels| guesses.
    pub label_recall: f64,
    /// Size predicted exactly.
    pub size_exact: f64,
    /// Size predicted within ±1.
    pub size_within_1: f64,
    /// Mean guide cost of the labels the solution uses.
    pub cost_of_used: f64,
    /// Mean guide cost of the labels it does not use.
    pub cost_of_unused: f64,
    /// Common constants the guide proposes (see `LearnedGuide::proposed_constants`)
    /// that the solution uses, over all it proposes.
    pub constant_precision: f64,
    /// Common constants the solution uses that the guide proposes, over all it uses.
    pub constant_recall: f64,
}

/// What training produced.
#[derive(Debug)]
pub struct TrainOutcome {
    /// The trained model (on a plain device).
    pub model: GuideModel,
    /// Loss of the first and last 50 steps (at most half the run each), averaged.
    pub first_loss: f32,
    /// See `first_loss`.
    pub last_loss: f32,
    /// Steps run.
    pub steps: usize,
}

/// The binary cross-entropy of predicting `prob` for a label that is `used` (or not),
/// the probability kept off 0 and 1.
pub(crate) fn label_bce(prob: f32, used: bool) -> f64 {
    let q = f64::from(prob.clamp(1e-6, 1.0 - 1e-6));
    -if used { q.ln() } else { (1.0 - q).ln() }
}

fn targets(tasks: &[&Task], device: &Device) -> (Tensor<2>, Tensor<2>) {
    let v = label_count();
    let mut y = vec![0.0f32; tasks.len() * v];
    let mut s = vec![0.0f32; tasks.len() * MAX_SIZE_CLASS];
    for (i, t) in tasks.iter().enumerate() {
        for l in &t.labels {
            y[i * v + l] = 1.0;
        }
        s[i * MAX_SIZE_CLASS + t.size.clamp(1, MAX_SIZE_CLASS) - 1] = 1.0;
    }
    (
        Tensor::from_data(TensorData::new(y, [tasks.len(), v]), device),
        Tensor::from_data(TensorData::new(s, [tasks.len(), MAX_SIZE_CLASS]), device),
    )
}

/// Label BCE and size cross-entropy of a batch, each a mean over its tasks weighted by
/// `weights` (one per task).
/// `problems[i]` is `tasks[i]`'s problem as the model is shown it.
fn losses(
    model: &GuideModel,
    config: &GuideModelConfig,
    tasks: &[&Task],
    problems: &[&Problem],
    texts: &[Option<&[f32]>],
    weights: &[f32],
    device: &Device,
) -> Result<(Tensor<1>, Tensor<1>), TraceError> {
    let feats: Vec<&TraceFeatures> = tasks.iter().map(|t| &t.features).collect();
    let input = behaviour_input(config, problems, texts, &feats, device)?;
    let out = model.forward(input);
    let (y, s) = targets(tasks, device);
    let total: f32 = weights.iter().sum::<f32>().max(1e-6);
    let w = Tensor::<1>::from_data(
        TensorData::new(weights.iter().map(|x| x / total).collect::<Vec<f32>>(), [weights.len()]),
        device,
    );
    let z = out.label_logits;
    let bce_each = logit_bce(z, y).mean_dim(1).squeeze_dim::<1>(1);
    let ce_each = (log_softmax(out.size_logits, 1) * s).sum_dim(1).squeeze_dim::<1>(1).neg();
    Ok(((bce_each * w.clone()).sum(), (ce_each * w).sum()))
}

/// Trains a guide model from scratch on `tasks`; `progress` is called after every step.
///
/// # Errors
///
/// [`TrainError::NoData`], or a task whose examples cannot be encoded.
pub fn train(
    config: &TrainingConfig,
    tasks: &[Task],
    texts: &TextTable,
    device: &Device,
    progress: &mut dyn FnMut(StepReport),
) -> Result<TrainOutcome, TrainError> {
    device.seed(config.seed);
    let model = config.model.init(&device.clone().autodiff());
    fit(model, config, tasks, &vec![1.0; tasks.len()], texts, device, progress)
}

/// Continues training `model` on `tasks`, each weighted by `weights` (e.g. the reward
/// of the search that produced its targets: expert iteration).
///
/// # Errors
///
/// [`TrainError::NoData`], [`TrainError::Weights`], or a task whose examples cannot be
/// encoded.
pub fn fine_tune(
    model: GuideModel,
    config: &TrainingConfig,
    tasks: &[Task],
    weights: &[f32],
    texts: &TextTable,
    progress: &mut dyn FnMut(StepReport),
) -> Result<TrainOutcome, TrainError> {
    let device = Device::flex();
    device.seed(config.seed);
    fit(model.train(), config, tasks, weights, texts, &device, progress)
}

/// The Adam loop shared by [`train`] and [`fine_tune`]; `model` is on `device`
/// with autodiff. The trained model comes back on the CPU.
fn fit(
    mut model: GuideModel,
    config: &TrainingConfig,
    tasks: &[Task],
    weights: &[f32],
    texts: &TextTable,
    plain: &Device,
    progress: &mut dyn FnMut(StepReport),
) -> Result<TrainOutcome, TrainError> {
    if tasks.is_empty() {
        return Err(TrainError::NoData);
    }
    if weights.len() != tasks.len() {
        return Err(TrainError::Weights { tasks: tasks.len(), weights: weights.len() });
    }
    let device = plain.clone().autodiff();
    let mut optim = AdamConfig::new().init();
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let per_epoch = tasks.len().div_ceil(config.batch_size);
    let mut total = per_epoch * config.epochs;
    if config.max_steps > 0 {
        total = total.min(config.max_steps);
    }
    let mut order: Vec<usize> = (0..tasks.len()).collect();
    let mut history: Vec<f32> = Vec::with_capacity(total);
    let mut step = 0;
    'outer: for epoch in 1..=config.epochs {
        order.shuffle(&mut rng);
        for chunk in order.chunks(config.batch_size) {
            if step >= total {
                break 'outer;
            }
            step += 1;
            let batch: Vec<&Task> = chunk.iter().map(|i| &tasks[*i]).collect();
            let batch_weights: Vec<f32> = chunk.iter().map(|i| weights[*i]).collect();
            // What each task shows of its description: nothing, its words, or its words
            // and its sentence embedding.
            let mut problems: Vec<Cow<'_, Problem>> = Vec::with_capacity(batch.len());
            let mut text: Vec<Option<&[f32]>> = Vec::with_capacity(batch.len());
            for t in &batch {
                if rng.gen_bool(config.text_dropout) {
                    problems.push(Cow::Owned(without_description(&t.problem)));
                    text.push(None);
                } else if rng.gen_bool(config.sentence_dropout) {
                    let fresh = if rng.gen_bool(config.rephrase) { t.rephrase(&mut rng) } else { None };
                    problems.push(match fresh {
                        Some(d) => Cow::Owned(Problem { description: Some(d), ..t.problem.clone() }),
                        None => Cow::Borrowed(&t.problem),
                    });
                    text.push(None);
                } else {
                    problems.push(Cow::Borrowed(&t.problem));
                    text.push(texts.get(t.description()));
                }
            }
            let problems: Vec<&Problem> = problems.iter().map(AsRef::as_ref).collect();
            let lr = warm_down(config.learning_rate, step, total);
            let (bce, ce) = losses(&model, &config.model, &batch, &problems, &text, &batch_weights, &device)?;
            let loss = bce + ce.mul_scalar(config.size_weight);
            let value: f32 = loss.clone().into_scalar::<f32>();
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(lr, model, grads);
            history.push(value);
            progress(StepReport { step, total, epoch, loss: value });
        }
    }
    let (first_loss, last_loss) = first_and_last_loss(&history);
    Ok(TrainOutcome { model: model.valid().to_device(&Device::flex()), first_loss, last_loss, steps: step })
}

/// Binary cross-entropy of each logit in `z` against its 0/1 target in `y`.
pub(crate) fn logit_bce(z: Tensor<2>, y: Tensor<2>) -> Tensor<2> {
    (y.clone() * log_sigmoid(z.clone()) + (y.ones_like() - y) * log_sigmoid(z.neg())).neg()
}

/// The learning rate at `step` of `total`: a linear warm-down from `lr` to a tenth of it.
pub(crate) fn warm_down(lr: f64, step: usize, total: usize) -> f64 {
    lr * (1.0 - 0.9 * (step as f64 / total as f64))
}

/// Mean loss of the first and of the last 50 steps of a run (at most half the run each).
pub fn first_and_last_loss(history: &[f32]) -> (f32, f32) {
    let k = (history.len() / 2).clamp(1, 50);
    let mean = |xs: &[f32]| xs.iter().sum::<f32>() / xs.len().max(1) as f32;
    (mean(&history[..k.min(history.len())]), mean(&history[history.len().saturating_sub(k)..]))
}

/// Held-out metrics, computed on `device`; `view` chooses how much of each
/// description the model is shown.
///
/// # Errors
///
/// A task whose examples cannot be encoded, or an unreadable output.
pub fn evaluate(
    model: &GuideModel,
    config: &GuideModelConfig,
    tasks: &[Task],
    texts: &TextTable,
    view: DescriptionView,
    device: &Device,
) -> Result<EvalMetrics, TrainError> {
    let model = &model.clone().to_device(device);
    let mut m = EvalMetrics { tasks: tasks.len(), ..EvalMetrics::default() };
    let (mut used_n, mut unused_n) = (0usize, 0usize);
    let (mut proposed_n, mut needed_n, mut hits) = (0usize, 0usize, 0usize);
    for t in tasks {
        let (problem, text) = match view {
            DescriptionView::Hidden => (Cow::Owned(without_description(&t.problem)), None),
            DescriptionView::Words => (Cow::Borrowed(&t.problem), None),
            DescriptionView::Full => (Cow::Borrowed(&t.problem), texts.get(t.description())),
        };
        let p = predict_with(model, config, &problem, text, &t.features, device)
            .map_err(|e| TrainError::Output(e.to_string()))?;
        let guide = LearnedGuide { cost_scale: 1.0, ..LearnedGuide::new(p.clone()) };
        let mut bce = 0.0f64;
        for (i, prob) in p.label_probs.iter().enumerate() {
            let y = t.labels.contains(&i);
            bce += label_bce(*prob, y);
            let c = f64::from(guide.label_cost(LABELS[i]));
            if y {
                m.cost_of_used += c;
                used_n += 1;
            } else {
                m.cost_of_unused += c;
                unused_n += 1;
            }
        }
        m.label_bce += bce / p.label_probs.len() as f64;
        let mut ranked: Vec<usize> = (0..p.label_probs.len()).collect();
        ranked.sort_by(|a, b| p.label_probs[*b].total_cmp(&p.label_probs[*a]));
        let top: Vec<usize> = ranked[..t.labels.len()].to_vec();
        m.label_recall += t.labels.iter().filter(|l| top.contains(l)).count() as f64 / t.labels.len().max(1) as f64;
        // What the guide would add to the grammar the search builds: its constants
        // for the sorts that grammar has.
        let mut sorts: Vec<Sort> = Vec::new();
        for nt in default_grammar(&t.problem).nonterminals {
            if !sorts.contains(&nt.sort) {
                sorts.push(nt.sort);
            }
        }
        let proposed: Vec<usize> = sorts
            .into_iter()
            .flat_map(|s| guide.proposed_constants(s))
            .filter_map(|v| value_label(&v).and_then(label_index))
            .collect();
        let needed: Vec<&usize> = t.labels.iter().filter(|&&i| LABELS[i].contains('=')).collect();
        proposed_n += proposed.len();
        needed_n += needed.len();
        hits += needed.iter().filter(|i| proposed.contains(i)).count();
        let s = p.likely_size();
        m.size_exact += f64::from(u8::from(s == t.size));
        m.size_within_1 += f64::from(u8::from(s.abs_diff(t.size) <= 1));
    }
    let n = tasks.len().max(1) as f64;
    m.label_bce /= n;
    m.label_recall /= n;
    m.size_exact /= n;
    m.size_within_1 /= n;
    m.cost_of_used /= used_n.max(1) as f64;
    m.cost_of_unused /= unused_n.max(1) as f64;
    m.constant_precision = hits as f64 / proposed_n.max(1) as f64;
    m.constant_recall = hits as f64 / needed_n.max(1) as f64;
    Ok(m)
}

/// How much of a task's description the model is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DescriptionView {
    /// None of it.
    Hidden,
    /// Its words (see [`crate::words`]), as when the sentence encoder is not done yet.
    Words,
    /// Its words and its sentence embedding.
    Full,
}

/// A small model for unit tests.
#[cfg(test)]
pub(crate) fn tiny_model_config() -> GuideModelConfig {
    use crate::fuse::BehaviourEncoderConfig;
    use crate::trace::TraceEncoderConfig;
    GuideModelConfig::new(
        BehaviourEncoderConfig::new(
            TraceEncoderConfig::new()
                .with_d_model(16)
                .with_d_ff(32)
                .with_n_layers(1)
                .with_example_len(24)
                .with_max_examples(4),
        )
        .with_d_embed(32),
    )
    .with_d_hidden(32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{generate, DataConfig};

    #[test]
    fn loss_decreases_over_a_few_steps_and_weights_round_trip() {
        let data = generate(&DataConfig { draws: 600, examples: 4, max_size: 6, test_percent: 0, seed: 3 }).unwrap();
        let tasks: Vec<Task> = data.train.into_iter().take(16).collect();
        let config = TrainingConfig::new(tiny_model_config())
            .with_epochs(40)
            .with_batch_size(16)
            .with_learning_rate(3e-3)
            .with_text_dropout(0.0);
        let mut losses = Vec::new();
        let out = train(&config, &tasks, &TextTable::default(), &Device::flex(), &mut |r| losses.push(r.loss)).unwrap();
        assert_eq!(losses.len(), 40);
        let head: f32 = losses[..5].iter().sum::<f32>() / 5.0;
        let tail: f32 = losses[35..].iter().sum::<f32>() / 5.0;
        assert!(tail < head * 0.8, "loss went from {head} to {tail}");

        // Save and load: the same predictions.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("guide.bpk");
        let device = Device::flex();
        let before =
            predict_with(&out.model, &config.model, &tasks[0].problem, None, &tasks[0].features, &device).unwrap();
        out.model.save_file(&path).unwrap();
        let loaded = config.model.init(&device).try_load_file(&path).unwrap();
        let after = predict_with(&loaded, &config.model, &tasks[0].problem, None, &tasks[0].features, &device).unwrap();
        assert_eq!(before, after);
    }

    #[test]
    fn text_table_round_trips() {
        let mut t = TextTable::default();
        t.vectors.insert("a".into(), vec![0.5; TEXT_DIM]);
        t.vectors.insert("b c".into(), vec![-1.0; TEXT_DIM]);
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.bin");
        t.save(&p).unwrap();
        let u = TextTable::load(&p).unwrap();
        assert_eq!(u.get("b c"), Some(&[-1.0f32; TEXT_DIM][..]));
        assert_eq!(u.len(), 2);
    }
}
