//! The behaviour embedding: the trace encoder's specification vector, the
//! description (its sentence embedding and its bag of hashed words) and the
//! trace features, fused by gated concatenation (the description enters
//! through a learned gate, so a missing one — all zeros, `has_text = 0`,
//! `has_words = 0` — leaves the rest unchanged).

use burn::nn::{LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::{relu, sigmoid};
use thiserror::Error;

use crate::text::TEXT_DIM;
use crate::trace::{TraceEncoder, TraceEncoderConfig, FEATURE_DIM};

/// Errors of the fusion step.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum FuseError {
    /// A text vector of the wrong length.
    #[error("text embedding has {got} values, expected {TEXT_DIM}")]
    TextDim {
        /// Its length.
        got: usize,
    },
}

/// Behaviour encoder settings.
#[derive(Config, Debug)]
pub struct BehaviourEncoderConfig {
    /// The trace encoder.
    pub trace: TraceEncoderConfig,
    /// Width of the behaviour embedding.
    #[config(default = 128)]
    pub d_embed: usize,
    /// Hash buckets of the description's words (see [`crate::words`]; default [`crate::words::WORD_BUCKETS`]).
    #[config(default = 4096)]
    pub word_buckets: usize,
}

impl BehaviourEncoderConfig {
    /// Builds the encoder with random weights.
    #[must_use]
    pub fn init(&self, device: &Device) -> BehaviourEncoder {
        let d = self.trace.d_model;
        BehaviourEncoder {
            trace: self.trace.init(device),
            text_proj: LinearConfig::new(TEXT_DIM, d).init(device),
            word_proj: LinearConfig::new(self.word_buckets, d).init(device),
            feat_proj: LinearConfig::new(FEATURE_DIM, d).init(device),
            gate: LinearConfig::new(3 * d + 2, d).init(device),
            mix: LinearConfig::new(3 * d, self.d_embed).init(device),
            norm: LayerNormConfig::new(self.d_embed).init(device),
        }
    }
}

/// Fuses trace, text and features into one vector.
#[derive(Module, Debug)]
pub struct BehaviourEncoder {
    trace: TraceEncoder,
    text_proj: Linear,
    word_proj: Linear,
    feat_proj: Linear,
    gate: Linear,
    mix: Linear,
    norm: LayerNorm,
}

/// One batch of encoder inputs.
#[derive(Clone, Debug)]
pub struct BehaviourInput {
    /// Example tokens `[batch, examples, len]`.
    pub tokens: Tensor<3, Int>,
    /// Example slots in use `[batch, examples]`.
    pub present: Tensor<2>,
    /// Sentence embeddings `[batch, 384]` (zeros without a description).
    pub text: Tensor<2>,
    /// 1 with a sentence embedding, 0 without `[batch, 1]`.
    pub has_text: Tensor<2>,
    /// The description's bag of words `[batch, word_buckets]` (zeros without one).
    pub words: Tensor<2>,
    /// 1 with the description's words, 0 without `[batch, 1]`.
    pub has_words: Tensor<2>,
    /// Trace features `[batch, FEATURE_DIM]`.
    pub features: Tensor<2>,
}

impl BehaviourEncoder {
    /// The behaviour embedding.
    ///
    /// # Shapes
    /// - output: `[batch, d_embed]`
    pub fn forward(&self, input: BehaviourInput) -> Tensor<2> {
        let t = self.trace.forward(input.tokens, input.present); // [b, d]
        let sentence = self.text_proj.forward(input.text) * input.has_text.clone(); // [b, d]
        let words = self.word_proj.forward(input.words) * input.has_words.clone(); // [b, d]
        let x = sentence + words;
        let f = self.feat_proj.forward(input.features); // [b, d]
        let g = sigmoid(
            self.gate.forward(Tensor::cat(vec![t.clone(), x.clone(), f.clone(), input.has_text, input.has_words], 1)),
        ); // [b, d]
        let h = relu(self.mix.forward(Tensor::cat(vec![t, g * x, f], 1))); // [b, d_embed]
        self.norm.forward(h)
    }
}
