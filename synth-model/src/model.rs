//! The guide network: heads on the behaviour embedding that predict which production
//! labels a solution uses and its size, the network's input, and its weights on disk.

use std::path::{Path, PathBuf};

use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::{relu, sigmoid, softmax};
use synth_engine::spec::Problem;
use thiserror::Error;

use crate::fuse::{BehaviourEncoder, BehaviourEncoderConfig, BehaviourInput};
use crate::labels::{label_count, label_index, LABELS};
use crate::text::{TextError, TEXT_DIM};
use crate::trace::{problem_tokens, TraceError, TraceFeatures, FEATURE_DIM, PAD};
use crate::words::word_bag;

/// Largest solution size the size head predicts (larger sizes share the last class).
pub const MAX_SIZE_CLASS: usize = 12;

/// File names inside a weights directory.
pub const WEIGHTS_FILE: &str = "guide.bpk";
/// The model configuration next to the weights.
pub const CONFIG_FILE: &str = "guide-config.json";

/// Errors of the guide.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum GuideError {
    /// No trained weights.
    #[error("guide weights not found in {}: run `cargo xtask train`", dir.display())]
    MissingWeights {
        /// Where they were looked for.
        dir: PathBuf,
    },
    /// Weights or configuration unreadable.
    #[error("{}: {message}", path.display())]
    Load {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The text encoder failed.
    #[error(transparent)]
    Text(#[from] TextError),
    /// The examples could not be encoded.
    #[error(transparent)]
    Trace(#[from] TraceError),
    /// A tensor could not be read back.
    #[error("reading model output: {0}")]
    Output(String),
    /// The program decoder failed.
    #[error("program decoder: {0}")]
    Decoder(Box<dyn std::error::Error + Send + Sync>),
}

/// The committed weights: `$TRACESYNTH_GUIDE_DIR`, else `synth-model/weights`.
#[must_use]
pub fn default_weights_dir() -> PathBuf {
    std::env::var_os("TRACESYNTH_GUIDE_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("weights"), PathBuf::from)
}

/// Guide model settings.
#[derive(Config, Debug)]
pub struct GuideModelConfig {
    /// The behaviour encoder.
    pub behaviour: BehaviourEncoderConfig,
    /// Hidden width of the heads.
    #[config(default = 128)]
    pub d_hidden: usize,
    /// A linear map from the description's words (see [`crate::words`]) straight to
    /// the label logits, beside the behaviour embedding: a word like "xor" or
    /// "comma" points at its label without going through the fused embedding.
    #[config(default = false)]
    pub lexicon: bool,
}

/// What the lexicon reads for each word bucket a description fills (0 for the
/// others). Adam moves each weight by about the learning rate per step, so with
/// inputs of 1/√k (the word bag) a word's logit could move ≈ 0.2 in the 1,000
/// steps of training; at 12 a word like "xor" learns its label (held-out label
/// recall with a description 0.67 at 1/√k, 0.95 at 4, 0.975 at 12).
pub const LEXICON_GAIN: f32 = 12.0;

impl GuideModelConfig {
    /// Builds the model with random weights.
    #[must_use]
    pub fn init(&self, device: &Device) -> GuideModel {
        GuideModel {
            behaviour: self.behaviour.init(device),
            hidden: LinearConfig::new(self.behaviour.d_embed, self.d_hidden).init(device),
            labels: LinearConfig::new(self.d_hidden, label_count()).init(device),
            size: LinearConfig::new(self.d_hidden, MAX_SIZE_CLASS).init(device),
            lexicon: self.lexicon.then(|| LinearConfig::new(self.behaviour.word_buckets, label_count()).init(device)),
        }
    }
}

/// Behaviour encoder plus the label and size heads.
#[derive(Module, Debug)]
pub struct GuideModel {
    behaviour: BehaviourEncoder,
    hidden: Linear,
    labels: Linear,
    size: Linear,
    lexicon: Option<Linear>,
}

/// Raw head outputs.
#[derive(Clone, Debug)]
pub struct GuideOutput {
    /// Label logits `[batch, labels]`.
    pub label_logits: Tensor<2>,
    /// Size-class logits `[batch, MAX_SIZE_CLASS]` (class k = size k + 1).
    pub size_logits: Tensor<2>,
}

impl GuideModel {
    /// Head outputs for a batch.
    pub fn forward(&self, input: BehaviourInput) -> GuideOutput {
        let lexicon = self.lexicon_logits(&input);
        self.heads(self.behaviour.forward(input), lexicon)
    }

    /// The lexicon's label logits for a batch `[batch, labels]` (zeros for a problem
    /// without a description), if the model has a lexicon.
    pub fn lexicon_logits(&self, input: &BehaviourInput) -> Option<Tensor<2>> {
        let present = input.words.clone().greater_elem(0.0).float().mul_scalar(LEXICON_GAIN);
        self.lexicon.as_ref().map(|l| l.forward(present) * input.has_words.clone())
    }

    /// The behaviour embeddings of a batch `[batch, d_embed]`.
    pub fn embed(&self, input: BehaviourInput) -> Tensor<2> {
        self.behaviour.forward(input)
    }

    /// Head outputs from behaviour embeddings, plus the lexicon's label logits
    /// (see [`GuideModel::lexicon_logits`]).
    pub fn heads(&self, embedding: Tensor<2>, lexicon: Option<Tensor<2>>) -> GuideOutput {
        let h = relu(self.hidden.forward(embedding));
        let labels = self.labels.forward(h.clone());
        let label_logits = match lexicon {
            Some(l) => labels + l,
            None => labels,
        };
        GuideOutput { label_logits, size_logits: self.size.forward(h) }
    }

    /// The label head's weights as plain tensors, with one problem's lexicon logits
    /// (`[labels]`) folded into the output bias.
    pub(crate) fn label_head(&self, lexicon: Option<Tensor<1>>) -> LabelHead {
        let bias = |l: &Linear| {
            l.bias
                .as_ref()
                .map_or_else(|| Tensor::zeros([l.weight.val().dims()[1]], &l.weight.val().device()), |b| b.val())
        };
        let b2 = match lexicon {
            Some(l) => bias(&self.labels) + l,
            None => bias(&self.labels),
        };
        LabelHead { w1: self.hidden.weight.val(), b1: bias(&self.hidden), w2: self.labels.weight.val(), b2 }
    }
}

/// What the model predicts for one problem.
#[derive(Clone, Debug, PartialEq)]
pub struct Prediction {
    /// Probability of each label of [`LABELS`] appearing in the solution.
    pub label_probs: Vec<f32>,
    /// Probability of each solution size 1..=[`MAX_SIZE_CLASS`].
    pub size_probs: Vec<f32>,
}

impl Prediction {
    /// The probabilities of one problem's head outputs.
    ///
    /// # Errors
    ///
    /// [`GuideError::Output`] when a tensor cannot be read back.
    pub fn of(out: GuideOutput) -> Result<Prediction, GuideError> {
        Ok(Prediction { label_probs: read(sigmoid(out.label_logits))?, size_probs: read(softmax(out.size_logits, 1))? })
    }

    /// The probabilities of a batch's head outputs, one prediction per row.
    ///
    /// # Errors
    ///
    /// [`GuideError::Output`] when a tensor cannot be read back.
    pub fn of_batch(out: GuideOutput) -> Result<Vec<Prediction>, GuideError> {
        let [_, n_labels] = out.label_logits.dims();
        let [_, n_sizes] = out.size_logits.dims();
        let labels = read(sigmoid(out.label_logits))?;
        let sizes = read(softmax(out.size_logits, 1))?;
        Ok(labels
            .chunks(n_labels.max(1))
            .zip(sizes.chunks(n_sizes.max(1)))
            .map(|(l, s)| Prediction { label_probs: l.to_vec(), size_probs: s.to_vec() })
            .collect())
    }

    /// This prediction with each label's probability raised to `share` times
    /// `floor`'s where that is higher (the size distribution is kept).
    #[must_use]
    pub fn at_least(mut self, floor: &Prediction, share: f32) -> Prediction {
        for (p, q) in self.label_probs.iter_mut().zip(&floor.label_probs) {
            *p = p.max(share * *q);
        }
        self
    }

    /// Probability of a label by name (`None` for an unknown label).
    #[must_use]
    pub fn prob(&self, label: &str) -> Option<f32> {
        label_index(label).map(|i| self.label_probs[i])
    }

    /// The most likely solution size.
    #[must_use]
    pub fn likely_size(&self) -> usize {
        self.size_probs.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).map_or(1, |(i, _)| i + 1)
    }
}

/// Builds a batch of encoder inputs.
///
/// The model reads each problem's description (if any) as a bag of words (see
/// [`crate::words`]); `texts[i]` is its sentence embedding, if computed. Token positions that
/// are padding in every example of the batch are cut off (they are masked anyway, so
/// the result is the same, and short examples — a `u32` is 13 tokens of the 40 a
/// string example may take — cost the encoder a third as much).
///
/// # Errors
///
/// An example that does not fit its problem's signature.
pub fn behaviour_input(
    config: &GuideModelConfig,
    problems: &[&Problem],
    texts: &[Option<&[f32]>],
    features: &[&TraceFeatures],
    device: &Device,
) -> Result<BehaviourInput, TraceError> {
    encoder_input(config, problems, texts, features, device, true)
}

/// Keeps the first `keep` tokens of each row of `len` tokens.
fn truncate_rows(tokens: &[i64], len: usize, keep: usize) -> Vec<i64> {
    tokens.chunks(len).flat_map(|row| row[..keep].iter().copied()).collect()
}

/// [`behaviour_input`], with or without cutting the all-padding positions.
fn encoder_input(
    config: &GuideModelConfig,
    problems: &[&Problem],
    texts: &[Option<&[f32]>],
    features: &[&TraceFeatures],
    device: &Device,
    trim: bool,
) -> Result<BehaviourInput, TraceError> {
    let tc = &config.behaviour.trace;
    let (e, l, b) = (tc.max_examples, tc.example_len, problems.len());
    let mut tokens = Vec::with_capacity(b * e * l);
    let mut present = Vec::with_capacity(b * e);
    let mut text = Vec::with_capacity(b * TEXT_DIM);
    let mut has_text = Vec::with_capacity(b);
    let mut feats = Vec::with_capacity(b * FEATURE_DIM);
    let nw = config.behaviour.word_buckets;
    let mut words = Vec::with_capacity(b * nw);
    let mut has_words = Vec::with_capacity(b);
    for ((p, t), f) in problems.iter().zip(texts).zip(features) {
        let description = description(p);
        words.extend(word_bag(description, nw));
        has_words.push(if description.is_some() { 1.0f32 } else { 0.0 });
        let (tk, pr) = problem_tokens(p, e, l)?;
        tokens.extend(tk);
        present.extend(pr.into_iter().map(|x| if x { 1.0f32 } else { 0.0 }));
        match t {
            Some(v) if v.len() == TEXT_DIM => {
                text.extend_from_slice(v);
                has_text.push(1.0f32);
            }
            _ => {
                text.extend(std::iter::repeat_n(0.0f32, TEXT_DIM));
                has_text.push(0.0);
            }
        }
        feats.extend(f.vector());
    }
    // Padding fills each row's tail.
    let used = if trim && l > 0 {
        tokens.chunks(l).map(|row| row.iter().rposition(|t| *t != PAD).map_or(1, |i| i + 1)).max().unwrap_or(1)
    } else {
        l
    };
    let (tokens, l) = if used < l { (truncate_rows(&tokens, l, used), used) } else { (tokens, l) };
    Ok(BehaviourInput {
        tokens: Tensor::from_data(TensorData::new(tokens, [b, e, l]), device),
        present: Tensor::from_data(TensorData::new(present, [b, e]), device),
        text: Tensor::from_data(TensorData::new(text, [b, TEXT_DIM]), device),
        has_text: Tensor::from_data(TensorData::new(has_text, [b, 1]), device),
        words: Tensor::from_data(TensorData::new(words, [b, nw]), device),
        has_words: Tensor::from_data(TensorData::new(has_words, [b, 1]), device),
        features: Tensor::from_data(TensorData::new(feats, [b, FEATURE_DIM]), device),
    })
}

/// A tensor's values.
pub(crate) fn read<const D: usize>(t: Tensor<D>) -> Result<Vec<f32>, GuideError> {
    t.into_data().convert::<f32>().try_to_vec::<f32>().map_err(|e| GuideError::Output(format!("{e:?}")))
}

/// Reads `guide-config.json` and `guide.bpk` from `dir`.
///
/// # Errors
///
/// [`GuideError::MissingWeights`] or [`GuideError::Load`].
pub fn load_model(dir: &Path, device: &Device) -> Result<(GuideModel, GuideModelConfig), GuideError> {
    let cpath = dir.join(CONFIG_FILE);
    let wpath = dir.join(WEIGHTS_FILE);
    if !cpath.is_file() || !wpath.is_file() {
        return Err(GuideError::MissingWeights { dir: dir.to_path_buf() });
    }
    let config =
        GuideModelConfig::load(&cpath).map_err(|e| GuideError::Load { path: cpath.clone(), message: e.to_string() })?;
    let model = config
        .init(device)
        .try_load_file(&wpath)
        .map_err(|e| GuideError::Load { path: wpath.clone(), message: e.to_string() })?;
    Ok((model, config))
}

/// The problem's description, trimmed; `None` when it has none or a blank one.
pub(crate) fn description(problem: &Problem) -> Option<&str> {
    problem.description.as_deref().map(str::trim).filter(|d| !d.is_empty())
}

/// `problem` without its description.
pub(crate) fn without_description(problem: &Problem) -> Problem {
    Problem { description: None, ..problem.clone() }
}

/// Runs the model on one problem with a precomputed text embedding.
///
/// # Errors
///
/// Examples that do not fit the signature, or an unreadable output.
pub fn predict_with(
    model: &GuideModel,
    config: &GuideModelConfig,
    problem: &Problem,
    text: Option<&[f32]>,
    features: &TraceFeatures,
    device: &Device,
) -> Result<Prediction, GuideError> {
    let input = behaviour_input(config, &[problem], &[text], &[features], device)?;
    Prediction::of(model.forward(input))
}

/// Names of the `k` most likely labels, for reports.
#[must_use]
pub fn top_labels(p: &Prediction, k: usize) -> Vec<(&'static str, f32)> {
    let mut v: Vec<(&'static str, f32)> = LABELS.iter().copied().zip(p.label_probs.iter().copied()).collect();
    v.sort_by(|a, b| b.1.total_cmp(&a.1));
    v.truncate(k);
    v
}

/// The label head as plain tensors: `z = relu(e·W₁ + b₁)·W₂ + b₂`.
#[derive(Clone, Debug)]
pub(crate) struct LabelHead {
    pub(crate) w1: Tensor<2>,
    pub(crate) b1: Tensor<1>,
    pub(crate) w2: Tensor<2>,
    pub(crate) b2: Tensor<1>,
}

impl LabelHead {
    pub(crate) fn logits(&self, e: Tensor<2>) -> Tensor<2> {
        let autodiff = e.is_autodiff();
        let lift2 = |t: &Tensor<2>| if autodiff { t.clone().autodiff() } else { t.clone() };
        let lift1 = |t: &Tensor<1>| if autodiff { t.clone().autodiff() } else { t.clone() };
        let h = relu(e.matmul(lift2(&self.w1)) + lift1(&self.b1).unsqueeze::<2>());
        h.matmul(lift2(&self.w2)) + lift1(&self.b2).unsqueeze::<2>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fuse::BehaviourEncoderConfig;
    use crate::trace::TraceEncoderConfig;
    use synth_engine::dsl::Value;
    use synth_engine::spec::{Example, Param, TypeSpec};

    #[test]
    fn cutting_the_padding_changes_nothing_but_the_cost() {
        let device = Device::flex();
        device.seed(3);
        let config = GuideModelConfig::new(
            BehaviourEncoderConfig::new(TraceEncoderConfig::new().with_d_model(16).with_d_ff(32)).with_d_embed(16),
        )
        .with_d_hidden(16);
        let model = config.init(&device);
        let mut p = Problem::new(
            "f",
            vec![Param { name: "x".into(), ty: TypeSpec::parse("u32").unwrap() }],
            TypeSpec::parse("u32").unwrap(),
        );
        p.examples =
            (1..6u64).map(|a| Example { args: vec![Value::bv(32, a * 77)], output: Value::bv(32, a) }).collect();
        let f = TraceFeatures::none();
        let trimmed = encoder_input(&config, &[&p], &[None], &[&f], &device, true).unwrap();
        let full = encoder_input(&config, &[&p], &[None], &[&f], &device, false).unwrap();
        let [_, _, short] = trimmed.tokens.dims();
        assert!(short < config.behaviour.trace.example_len, "{short} tokens kept");
        assert_eq!(short, 13, "CLS, type, 4 bytes, SEP, OUT, type, 4 bytes");
        let a = read(model.embed(trimmed)).unwrap();
        let b = read(model.embed(full)).unwrap();
        for (x, y) in a.iter().zip(&b) {
            assert!((x - y).abs() < 1e-4, "{x} vs {y}");
        }
    }
}
