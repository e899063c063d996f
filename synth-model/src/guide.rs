//! Guide heads on the behaviour embedding — the probability of each
//! production label appearing in the solution and the solution size — and
//! [`LearnedGuide`], which prices grammar productions at ≈ −ln p
//! (DeepCoder/Probe style) for the engine's cost-ordered enumeration.

use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, OnceLock};
use std::time::Instant;

use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::{relu, sigmoid, softmax};
use synth_engine::dsl::{Op, Sort, Value};
use synth_engine::search::{
    same_search, synthesize, Budget, CancelToken, Guide, ProductionInfo, SearchError, SearchLimits, SearchOutcome,
    SearchStats, UniformGuide,
};
use synth_engine::spec::Problem;
use thiserror::Error;

use crate::adapt::{AdaptiveLearnedGuide, LabelHead};
use crate::data::generated_labels;
use crate::decoder::{
    condition, load_decoder, BeamOutcome, BeamSettings, Checker, DecoderError, DecodingGrammar, ProgramDecoder,
};
use crate::fuse::{BehaviourEncoder, BehaviourEncoderConfig, BehaviourInput};
use crate::labels::{common_constants, label_count, label_index, op_label, value_label, LABELS};
use crate::text::{TextEncoder, TextError, TEXT_DIM};
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
    #[error(transparent)]
    Decoder(#[from] DecoderError),
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

/// A trained guide model with its text encoder, ready to price problems.
#[derive(Debug)]
pub struct Guider {
    model: GuideModel,
    config: GuideModelConfig,
    text: TextEncoder,
    device: Device,
    /// The program decoder, when its weights are beside the guide's.
    decoder: Option<ProgramDecoder>,
    /// How [`guided_search`] runs the decoder (`None`, the default: not at all). Racing
    /// the searches, it ended none of `bench guide`'s tasks first, and on `hd` it slowed
    /// them (0.65–0.87× at the median) by taking a core (README, "Program decoder").
    pub beam: Option<BeamSettings>,
    /// Cost per nat of −ln p.
    pub cost_scale: f32,
    /// Least probability at which a common constant is proposed.
    pub propose_min_p: f32,
    /// Share of the examples' probability below which a description cannot lower a
    /// label (see [`Guider::predict`]).
    pub description_floor: f32,
}

impl Guider {
    /// Loads the weights from `weights_dir` and the text encoder from its
    /// default place, onto the CPU.
    ///
    /// # Errors
    ///
    /// [`GuideError::MissingWeights`], [`GuideError::Text`] when the
    /// pretrained encoder is not installed (its message names
    /// `cargo xtask setup`), or an unreadable file.
    pub fn load(weights_dir: impl AsRef<Path>) -> Result<Guider, GuideError> {
        let device = Device::flex();
        let (model, config) = load_model(weights_dir.as_ref(), &device)?;
        let text = TextEncoder::load_default(&device)?;
        let decoder = load_decoder(weights_dir.as_ref(), &device)?.map(|(d, _)| d);
        Ok(Guider {
            model,
            config,
            text,
            device,
            decoder,
            beam: None,
            cost_scale: COST_SCALE,
            propose_min_p: PROPOSE_MIN_P,
            description_floor: DESCRIPTION_FLOOR,
        })
    }

    /// Whether the program decoder was loaded (its weights are optional).
    #[must_use]
    pub fn has_decoder(&self) -> bool {
        self.decoder.is_some()
    }

    /// Terms the program decoder proposes for `problem` (reading the examples, trace
    /// features and the description's words), each checked against the specification
    /// as `limits` would have the search check it; the first that passes is the
    /// outcome's. Nothing is proposed without a decoder or with [`Guider::beam`] unset.
    ///
    /// # Errors
    ///
    /// Examples that do not fit the signature, or a reference that does not evaluate.
    pub fn propose(
        &self,
        problem: &Problem,
        features: &TraceFeatures,
        limits: &SearchLimits,
        cancel: &CancelToken,
    ) -> Result<BeamOutcome, GuideError> {
        let (Some(decoder), Some(settings)) = (&self.decoder, self.beam) else { return Ok(BeamOutcome::default()) };
        let checker = Checker::new(problem, limits.cegis_samples, limits.cegis_checks, limits.seed)?;
        let grammar = DecodingGrammar::for_problem(problem);
        let cond = condition(&self.model, &self.config, &[problem], &[features], &self.device)?;
        Ok(decoder.beam_search(cond, &grammar, settings, &mut |t| checker.accepts(t), cancel)?)
    }

    /// Predictions for one problem (its description, when set, is embedded).
    ///
    /// A description can lower a label's probability to [`Guider::description_floor`]
    /// (a tenth) of what the examples alone give it, no further
    /// ([`Prediction::at_least`]). The model learnt descriptions from a template
    /// grammar, and a user's phrasing can read to it otherwise: "take the text before
    /// the first comma" gives `str.indexof` p = 0.004, the examples alone 0.14. The
    /// floor keeps such a label within one cost step; the labels a description rules
    /// out still get dearer, which is most of what it is worth to the search.
    ///
    /// # Errors
    ///
    /// A tokenizer failure or examples that do not fit the signature.
    pub fn predict(&self, problem: &Problem, features: &TraceFeatures) -> Result<Prediction, GuideError> {
        let text = self.describe(problem)?;
        self.predict_with_text(problem, text.as_deref(), features)
    }

    /// [`Guider::predict`] with the description's sentence embedding made earlier
    /// (`None`: the description's words only).
    fn predict_with_text(
        &self,
        problem: &Problem,
        text: Option<&[f32]>,
        features: &TraceFeatures,
    ) -> Result<Prediction, GuideError> {
        if description(problem).is_none() {
            return predict_with(&self.model, &self.config, problem, text, features, &self.device);
        }
        // Described and bare in one batch: one forward pass.
        let bare = without_description(problem);
        let input =
            behaviour_input(&self.config, &[problem, &bare], &[text, None], &[features, features], &self.device)?;
        let mut rows = Prediction::of_batch(self.model.forward(input))?.into_iter();
        match (rows.next(), rows.next()) {
            (Some(described), Some(bare)) => Ok(described.at_least(&bare, self.description_floor)),
            _ => Err(GuideError::Output("the model gave fewer than 2 rows for a batch of 2".into())),
        }
    }

    /// A [`Guide`] for one problem.
    ///
    /// # Errors
    ///
    /// As [`Guider::predict`].
    pub fn guide_for(&self, problem: &Problem, features: &TraceFeatures) -> Result<LearnedGuide, GuideError> {
        Ok(self.learned(self.predict(problem, features)?))
    }

    /// A guide for one problem that the refinement loop can update (a gradient step on
    /// its behaviour embedding; see [`crate::adapt`]). Its prices come from that one
    /// embedding, description included, each label kept at
    /// [`Guider::description_floor`] of its probability from the examples alone (as in
    /// [`Guider::predict`]); the loop's steps may lower a label down to that floor.
    ///
    /// # Errors
    ///
    /// As [`Guider::predict`].
    pub fn adaptive_guide_for(
        &self,
        problem: &Problem,
        features: &TraceFeatures,
    ) -> Result<AdaptiveLearnedGuide, GuideError> {
        let text = self.describe(problem)?;
        let input = behaviour_input(&self.config, &[problem], &[text.as_deref()], &[features], &self.device)?;
        let lexicon = self.model.lexicon_logits(&input);
        let embedding = self.model.embed(input);
        let prediction = Prediction::of(self.model.heads(embedding.clone(), lexicon.clone()))?;
        let guide = self.learned(prediction);
        let head = self.model.label_head(lexicon.map(|l| l.squeeze_dim::<1>(0)));
        let floor = match description(problem) {
            Some(_) => {
                let bare = predict_with(
                    &self.model,
                    &self.config,
                    &without_description(problem),
                    None,
                    features,
                    &self.device,
                )?;
                Some(bare.label_probs.iter().map(|q| self.description_floor * q).collect())
            }
            None => None,
        };
        Ok(AdaptiveLearnedGuide::new(guide, head, read(embedding)?, floor, self.device.clone()))
    }

    /// A guide from a prediction, with this guider's settings.
    fn learned(&self, prediction: Prediction) -> LearnedGuide {
        LearnedGuide { prediction, cost_scale: self.cost_scale, propose_min_p: self.propose_min_p }
    }

    /// A [`Guide`] for one problem with its description's sentence embedding made
    /// earlier (see [`Guider::describe`]), or without one (`None`): the model then
    /// reads the description's words only. The sentence encoder takes ≈ 20 ms, the
    /// rest 1–3 ms, so this gives a guide that reads the description at once, and a
    /// caller that knows the description early (while a trace is captured, say) can
    /// embed it then. An embedding of the wrong size counts as none.
    ///
    /// # Errors
    ///
    /// Examples that do not fit the signature.
    pub fn guide_with_text(
        &self,
        problem: &Problem,
        text: Option<&[f32]>,
        features: &TraceFeatures,
    ) -> Result<LearnedGuide, GuideError> {
        Ok(self.learned(self.predict_with_text(problem, text, features)?))
    }

    /// The sentence embedding of the problem's description, if it has one.
    ///
    /// # Errors
    ///
    /// A tokenizer failure.
    pub fn describe(&self, problem: &Problem) -> Result<Option<Vec<f32>>, GuideError> {
        Ok(match description(problem) {
            Some(d) => self.text.embed(&[d])?.pop(),
            None => None,
        })
    }
}

/// Which guide ran the search whose outcome [`Guider::synthesize`] returns: the one
/// that found a solution, else the newest that ran to its end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GuideUsed {
    /// The [`PriorGuide`] (uniform costs, every common constant): its search found a
    /// solution first, or no learned search ran (the model priced the grammar the
    /// same, or failed).
    Prior,
    /// The model's guide from the examples (and trace features), and the
    /// description's words when there is a description.
    Examples,
    /// The model's guide that also read the description's sentence embedding.
    Description,
    /// No search: the program decoder proposed the term (see [`Guider::propose`]).
    Decoder,
}

/// What [`Guider::synthesize`] did.
#[derive(Clone, Debug)]
pub struct GuidedSearch {
    /// The outcome of the search that found a solution, else of the newest that ran to its end.
    pub outcome: SearchOutcome,
    /// The guide of that search.
    pub guide: GuideUsed,
}

/// Where [`guided_search`] gets the model.
#[derive(Clone, Debug)]
pub enum ModelSource {
    /// A model already loaded.
    Loaded(Arc<Guider>),
    /// Weights to load (with the default text encoder) on the helper thread, so a
    /// search that ends first never waits for them. A load that fails leaves the
    /// search to the [`PriorGuide`].
    Load(PathBuf),
}

impl Guider {
    /// [`guided_search`] with this model.
    ///
    /// # Errors
    ///
    /// As [`guided_search`].
    pub fn synthesize(
        self: &Arc<Self>,
        problem: &Problem,
        features: &TraceFeatures,
        limits: &SearchLimits,
        cancel: &CancelToken,
    ) -> Result<GuidedSearch, SearchError> {
        guided_search(ModelSource::Loaded(Arc::clone(self)), problem, features, limits, cancel)
    }
}

/// Searches `problem` with the learned guide, within `limits` in all, without
/// making the search wait for the model, and never losing to the prior guide by
/// more than what sharing the machine costs.
///
/// The search starts at once with the [`PriorGuide`] while a second thread (one
/// core) gets the model (see [`ModelSource`]), runs it on the examples and the
/// description's words (≈ 1–3 ms) and then, if there is a description, on its
/// sentence embedding too (≈ 20 ms more, the sentence encoder).
/// Each guide that prices the grammar otherwise than the one before it (see
/// [`same_search`]) starts a search of its own beside the prior guide's, for the
/// time left; a later guide replaces an earlier one's search. The searches race:
/// the first to find a solution stops the others. Two searches run at a time, so
/// each gets half of `limits.max_memory_bytes`. An easy task costs the model no
/// wall time, and a guide that prices the grammar worse than uniform costs (a
/// grammar unlike the training data's) costs a second core, not the time it took.
/// Once the examples' guide's search has started, the program decoder (when loaded
/// and [`Guider::beam`] is set) proposes whole terms on the model's thread
/// ([`Guider::propose`]); one that meets the specification ends every search.
///
/// # Errors
///
/// A search that cannot start. A model that fails is not an error: it leaves
/// the search to the prior guide.
pub fn guided_search(
    model: ModelSource,
    problem: &Problem,
    features: &TraceFeatures,
    limits: &SearchLimits,
    cancel: &CancelToken,
) -> Result<GuidedSearch, SearchError> {
    let start = Instant::now();
    let bare = without_description(problem);
    let described = description(problem).is_some();
    let prior_token = cancel.child();
    // Every learned search holds a child of this; it is cancelled when this search
    // returns, which also tells the helper to start no more model work for it.
    let learned = cancel.child();
    let _stop = CancelOnDrop(learned.clone());
    let half = SearchLimits { max_memory_bytes: limits.max_memory_bytes / 2, ..limits.clone() };
    let (tx, rx) = mpsc::channel::<(GuideUsed, Result<SearchOutcome, SearchError>)>();
    let helper = {
        let (problem, features, half, prior_token, learned) =
            (problem.clone(), features.clone(), half.clone(), prior_token.clone(), learned.clone());
        move || {
            let guider = match model {
                ModelSource::Loaded(g) => g,
                ModelSource::Load(dir) => match Guider::load(dir) {
                    Ok(g) => Arc::new(g),
                    Err(_) => return,
                },
            };
            // The newest learned guide and its search's token.
            let mut running: Option<(LearnedGuide, CancelToken)> = None;
            for used in [GuideUsed::Examples, GuideUsed::Description].into_iter().take(if described { 2 } else { 1 }) {
                if learned.is_cancelled() {
                    return;
                }
                // First the examples and the description's words, then its sentence embedding too.
                let guide = match used {
                    GuideUsed::Description => guider.guide_for(&problem, &features),
                    _ => guider.guide_with_text(&problem, None, &features),
                };
                let Ok(guide) = guide else { return };
                // A guide that would search as the newest one does is not worth a search
                // (common on given grammars, where nothing is proposed).
                let newest: &dyn Guide = running.as_ref().map_or(&PriorGuide, |(g, _)| g);
                if !same_search(&bare, newest, &guide).unwrap_or(false) {
                    if let Some((_, superseded)) = running.take() {
                        superseded.cancel();
                    }
                    let token = learned.child();
                    let rest = SearchLimits { timeout: half.timeout.saturating_sub(start.elapsed()), ..half.clone() };
                    let (problem, search_guide, search_token, prior_token, tx) =
                        (problem.clone(), guide.clone(), token.clone(), prior_token.clone(), tx.clone());
                    let search = move || {
                        let outcome = synthesize(&problem, &rest, &search_guide, &search_token);
                        if matches!(outcome, Ok(SearchOutcome::Found { .. })) {
                            prior_token.cancel();
                        }
                        // The caller may have returned already; that is fine.
                        let _ = tx.send((used, outcome));
                    };
                    if std::thread::Builder::new().name("guided-search".into()).spawn(search).is_err() {
                        return;
                    }
                    running = Some((guide, token));
                }
                if used == GuideUsed::Examples && guider.has_decoder() && guider.beam.is_some() {
                    // The decoder proposes whole terms while the searches run.
                    if let Ok(BeamOutcome { found: Some(term), .. }) =
                        guider.propose(&problem, &features, &half, &learned)
                    {
                        prior_token.cancel();
                        learned.cancel();
                        let stats = SearchStats {
                            examples: problem.examples.len(),
                            elapsed: start.elapsed(),
                            ..SearchStats::default()
                        };
                        let _ = tx.send((GuideUsed::Decoder, Ok(SearchOutcome::Found { term, stats })));
                        return;
                    }
                }
            }
        }
    };
    match model_pool() {
        Some(pool) => pool.spawn(helper),
        None => drop(std::thread::spawn(helper)),
    }
    let prior = synthesize(problem, &half, &PriorGuide, &prior_token)?;
    if matches!(prior, SearchOutcome::Found { .. }) {
        return Ok(GuidedSearch { outcome: prior, guide: GuideUsed::Prior });
    }
    // The prior guide's search gave up or was stopped by a learned search that found a
    // solution: wait for the learned searches (the channel closes when the helper and
    // every search it started are done).
    let mut ended = GuidedSearch { outcome: prior, guide: GuideUsed::Prior };
    for (used, outcome) in rx {
        // The prior guide's search started on the same problem; a learned one that
        // cannot start has nothing to add.
        let Ok(outcome) = outcome else { continue };
        let superseded = matches!(outcome, SearchOutcome::BudgetExceeded { budget: Budget::Cancelled, .. })
            && !cancel.is_cancelled();
        if matches!(outcome, SearchOutcome::Found { .. }) {
            return Ok(GuidedSearch { outcome, guide: used });
        }
        if !superseded {
            ended = GuidedSearch { outcome, guide: used };
        }
    }
    Ok(ended)
}

/// One thread for the model's work beside a search. Left to rayon's global pool,
/// the model's matrix products would take every core, the search's too; and the
/// work left over from a search that has ended would slow the next one.
fn model_pool() -> Option<&'static rayon::ThreadPool> {
    static POOL: OnceLock<Option<rayon::ThreadPool>> = OnceLock::new();
    POOL.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .thread_name(|_| "guide-model".into())
            // A model run that panics ends that run only (rayon would abort the
            // process); the search goes on with the guide it has.
            .panic_handler(|_| {})
            .build()
            .ok()
    })
    .as_ref()
}

/// Waits until the model's thread has finished what searches that have ended left
/// it (at most one model run: it starts nothing new for them). A benchmark calls
/// this between tasks, so each task starts as a lone search would.
pub fn wait_for_model_thread() {
    if let Some(pool) = model_pool() {
        pool.install(|| ());
    }
}

/// Cancels its token when dropped.
struct CancelOnDrop(CancelToken);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
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
fn description(problem: &Problem) -> Option<&str> {
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

/// Prices productions from a [`Prediction`]: cost = round(scale · −ln p),
/// clamped to 1..=16. Unit productions (`A → B`) cost 1; a constant is priced
/// by its class or, when cheaper, by its own label (a common constant, see
/// [`common_constants`]); a label the model does not know, or that no training
/// program can contain (see [`generated_labels`]), is priced as p = 0.1.
///
/// When the search builds its own grammar, the common constants whose
/// probability reaches [`LearnedGuide::propose_min_p`] are added to it.
#[derive(Clone, Debug)]
pub struct LearnedGuide {
    /// The model's predictions for the problem.
    pub prediction: Prediction,
    /// Cost per nat.
    pub cost_scale: f32,
    /// Least probability at which a common constant is proposed.
    pub propose_min_p: f32,
}

/// Default of [`LearnedGuide::propose_min_p`] (chosen over 0.05 and 0.25 on held-out
/// tasks that `bench guide` does not use).
pub const PROPOSE_MIN_P: f32 = 0.1;

/// Default of [`Guider::description_floor`]. On 40 held-out tasks of size ≥ 7 that
/// `bench guide` does not use (guides given ready, 3 s each), the description's
/// words guide searched 1.38× faster than the examples' alone (geometric mean) with
/// a floor of 1 (a description could only make labels cheaper), 2.55× at 0.3, 3.65×
/// at 0.1 and 3.68× at 0.03; 0.1 still finds `str.substr`/`str.indexof` for five
/// phrasings of "the text before the first comma" in ≤ 8 ms, where 0.03 fits
/// `ite` chains to three of them.
pub const DESCRIPTION_FLOOR: f32 = 0.1;

/// Default of [`LearnedGuide::cost_scale`] (chosen over 1.0 on held-out tasks; 0.25
/// measured no different on the SyGuS development suites).
pub const COST_SCALE: f32 = 0.5;

impl LearnedGuide {
    /// A guide pricing by `prediction` at [`COST_SCALE`] per nat, proposing at [`PROPOSE_MIN_P`].
    #[must_use]
    pub fn new(prediction: Prediction) -> LearnedGuide {
        LearnedGuide { prediction, cost_scale: COST_SCALE, propose_min_p: PROPOSE_MIN_P }
    }

    /// Cost of a label. One the training data cannot contain is priced as unknown.
    #[must_use]
    pub fn label_cost(&self, label: &str) -> u32 {
        static GENERATED: OnceLock<Vec<bool>> = OnceLock::new();
        let generated = GENERATED.get_or_init(generated_labels);
        let p = label_index(label)
            .filter(|&i| generated.get(i).copied().unwrap_or(false))
            .and_then(|i| self.prediction.label_probs.get(i).copied())
            .unwrap_or(0.1)
            .clamp(1e-6, 1.0);
        let c = (-p.ln() * self.cost_scale).round();
        (c as u32).clamp(1, 16)
    }
}

impl Guide for LearnedGuide {
    fn production_cost(&self, info: &ProductionInfo<'_>) -> u32 {
        let t = info.production;
        if t.is_empty() {
            return 1;
        }
        let root = &t.node(t.root()).op;
        if info.holes > 0 && matches!(root, Op::Var(_)) {
            return 1; // a unit production A -> B
        }
        let class = self.label_cost(&op_label(root));
        match root {
            // A common constant: its own label may make it cheaper than its class.
            Op::Const(v) => value_label(v).map_or(class, |l| class.min(self.label_cost(l))),
            _ => class,
        }
    }

    fn proposed_constants(&self, sort: Sort) -> Vec<Value> {
        common_constants(sort)
            .into_iter()
            .filter(|v| value_label(v).and_then(|l| self.prediction.prob(l)).is_some_and(|p| p >= self.propose_min_p))
            .collect()
    }
}

/// The guide before the model has read a problem: uniform costs, with every common
/// constant (see [`common_constants`]) added to a grammar the search builds itself.
/// [`guided_search`] starts with it; `bench guide` measures it as the baseline a
/// learned guide has to beat.
#[derive(Clone, Copy, Debug, Default)]
pub struct PriorGuide;

impl Guide for PriorGuide {
    fn production_cost(&self, info: &ProductionInfo<'_>) -> u32 {
        UniformGuide.production_cost(info)
    }

    fn proposed_constants(&self, sort: Sort) -> Vec<Value> {
        common_constants(sort)
    }
}

/// Names of the `k` most likely labels, for reports.
#[must_use]
pub fn top_labels(p: &Prediction, k: usize) -> Vec<(&'static str, f32)> {
    let mut v: Vec<(&'static str, f32)> = LABELS.iter().copied().zip(p.label_probs.iter().copied()).collect();
    v.sort_by(|a, b| b.1.total_cmp(&a.1));
    v.truncate(k);
    v
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
