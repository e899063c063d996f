//! The trace side of a specification: examples as token sequences, a small
//! transformer encoder per example, attention pooling across examples
//! (order-invariant), and a feature vector from the trace when there is one.

use burn::nn::transformer::{TransformerEncoder, TransformerEncoderConfig, TransformerEncoderInput};
use burn::nn::{Embedding, EmbeddingConfig, Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::softmax;
use synth_engine::dsl::{Sort, Value};
use synth_engine::spec::Problem;
use thiserror::Error;

/// Errors of the trace encoder's inputs.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum TraceError {
    /// An example does not fit the problem's signature.
    #[error("example {index} has {got} arguments, the signature has {want}")]
    Arity {
        /// 1-based example number.
        index: usize,
        /// Arguments in the example.
        got: usize,
        /// Parameters in the signature.
        want: usize,
    },
}

/// Length of the feature vector.
pub const FEATURE_DIM: usize = 10;

/// Token vocabulary size.
pub const VOCAB: usize = 17 + 256;

pub(crate) const PAD: i64 = 0;
const CLS: i64 = 1;
const SEP: i64 = 2;
const OUT: i64 = 3;
const TRUNC: i64 = 4;
const TYPE_BASE: i64 = 5; // 8 type tags
const POS: i64 = 13;
const NEG: i64 = 14;
const TRUE: i64 = 15;
const FALSE: i64 = 16;
const BYTE_BASE: i64 = 17;

/// Longest string prefix kept per value.
const MAX_STR_BYTES: usize = 12;

/// What a trace tells besides the examples. All zero (`present == false`)
/// for specifications without a trace (SyGuS files, example files).
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TraceFeatures {
    /// Calls observed.
    pub calls: u64,
    /// Distinct inputs among them.
    pub distinct_inputs: u64,
    /// Mean call duration, nanoseconds.
    pub mean_ns: f64,
    /// Coefficient of variation of the duration.
    pub cv: f64,
    /// Share of the duration spent on CPU.
    pub on_cpu: f64,
    /// Basic blocks executed.
    pub blocks: u32,
    /// Loops (back edges taken).
    pub loops: u32,
    /// Share of conditional branches taken.
    pub branch_taken: f64,
}

impl TraceFeatures {
    /// No trace.
    #[must_use]
    pub fn none() -> TraceFeatures {
        TraceFeatures::default()
    }

    /// Whether any trace information is present.
    #[must_use]
    pub fn present(&self) -> bool {
        self.calls > 0
    }

    /// The normalised feature vector.
    #[must_use]
    pub fn vector(&self) -> [f32; FEATURE_DIM] {
        if !self.present() {
            return [0.0; FEATURE_DIM];
        }
        let ln = |x: f64| (1.0 + x.max(0.0)).ln() as f32;
        [
            1.0,
            ln(self.calls as f64) / 10.0,
            ln(self.distinct_inputs as f64) / 10.0,
            ln(self.mean_ns) / 10.0,
            self.cv.clamp(0.0, 5.0) as f32,
            self.on_cpu.clamp(0.0, 1.0) as f32,
            ln(f64::from(self.blocks)) / 3.0,
            ln(f64::from(self.loops)) / 3.0,
            self.branch_taken.clamp(0.0, 1.0) as f32,
            if self.blocks > 1 { 1.0 } else { 0.0 },
        ]
    }
}

fn type_tag(sort: Sort) -> i64 {
    TYPE_BASE
        + match sort {
            Sort::Bool => 0,
            Sort::Int => 1,
            Sort::String => 2,
            Sort::BitVec(8) => 3,
            Sort::BitVec(16) => 4,
            Sort::BitVec(32) => 5,
            Sort::BitVec(64) => 6,
            Sort::BitVec(_) => 7,
        }
}

fn push_value(out: &mut Vec<i64>, v: &Value) {
    out.push(type_tag(v.sort()));
    match v {
        Value::Bool(b) => out.push(if *b { TRUE } else { FALSE }),
        Value::Int(i) => {
            out.push(if *i < 0 { NEG } else { POS });
            let m = i.unsigned_abs().min(u128::from(u64::MAX)) as u64;
            let bytes = m.to_be_bytes();
            let first = bytes.iter().position(|b| *b != 0).unwrap_or(7);
            out.extend(bytes[first..].iter().map(|b| BYTE_BASE + i64::from(*b)));
        }
        Value::Bv { width, bits } => {
            let n = (*width as usize).div_ceil(8);
            out.extend(bits.to_be_bytes()[8 - n..].iter().map(|b| BYTE_BASE + i64::from(*b)));
        }
        Value::Str(s) => {
            let b = s.as_bytes();
            out.extend(b.iter().take(MAX_STR_BYTES).map(|x| BYTE_BASE + i64::from(*x)));
            if b.len() > MAX_STR_BYTES {
                out.push(TRUNC);
            }
        }
    }
}

/// Token ids of one example: `CLS (type value SEP)* OUT type value`, cut or
/// padded to `len`.
#[must_use]
pub fn example_tokens(args: &[Value], output: &Value, len: usize) -> Vec<i64> {
    let mut t = vec![CLS];
    for a in args {
        push_value(&mut t, a);
        t.push(SEP);
    }
    t.push(OUT);
    push_value(&mut t, output);
    t.truncate(len);
    t.resize(len, PAD);
    t
}

/// The encoder input of one problem: up to `max_examples` examples of `len`
/// tokens each, and which of the slots hold an example.
///
/// # Errors
///
/// [`TraceError::Arity`] for an example that does not fit the signature.
pub fn problem_tokens(problem: &Problem, max_examples: usize, len: usize) -> Result<(Vec<i64>, Vec<bool>), TraceError> {
    let mut tokens = Vec::with_capacity(max_examples * len);
    let mut present = Vec::with_capacity(max_examples);
    for (i, ex) in problem.examples.iter().take(max_examples).enumerate() {
        if ex.args.len() != problem.params.len() {
            return Err(TraceError::Arity { index: i + 1, got: ex.args.len(), want: problem.params.len() });
        }
        tokens.extend(example_tokens(&ex.args, &ex.output, len));
        present.push(true);
    }
    while present.len() < max_examples {
        tokens.extend(std::iter::repeat_n(PAD, len));
        present.push(false);
    }
    Ok((tokens, present))
}

/// Trace encoder settings.
#[derive(Config, Debug)]
pub struct TraceEncoderConfig {
    /// Width of the token and example vectors.
    #[config(default = 64)]
    pub d_model: usize,
    /// Feed-forward width.
    #[config(default = 128)]
    pub d_ff: usize,
    /// Attention heads.
    #[config(default = 4)]
    pub n_heads: usize,
    /// Transformer layers.
    #[config(default = 2)]
    pub n_layers: usize,
    /// Tokens per example.
    #[config(default = 40)]
    pub example_len: usize,
    /// Examples per problem.
    #[config(default = 8)]
    pub max_examples: usize,
}

impl TraceEncoderConfig {
    /// Builds the encoder with random weights.
    #[must_use]
    pub fn init(&self, device: &Device) -> TraceEncoder {
        TraceEncoder {
            tokens: EmbeddingConfig::new(VOCAB, self.d_model).init(device),
            positions: EmbeddingConfig::new(self.example_len, self.d_model).init(device),
            encoder: TransformerEncoderConfig::new(self.d_model, self.d_ff, self.n_heads, self.n_layers)
                .with_dropout(0.0)
                .with_norm_first(true)
                .init(device),
            pool_score: LinearConfig::new(self.d_model, 1).init(device),
            d_model: self.d_model,
        }
    }
}

/// Encodes each example with a transformer and pools them with attention.
#[derive(Module, Debug)]
pub struct TraceEncoder {
    tokens: Embedding,
    positions: Embedding,
    encoder: TransformerEncoder,
    pool_score: Linear,
    d_model: usize,
}

impl TraceEncoder {
    /// The specification vector.
    ///
    /// # Shapes
    /// - `tokens`: `[batch, examples, len]`
    /// - `present` (1 = an example, 0 = an empty slot): `[batch, examples]`
    /// - output: `[batch, d_model]`
    pub fn forward(&self, tokens: Tensor<3, Int>, present: Tensor<2>) -> Tensor<2> {
        let [b, e, l] = tokens.dims();
        let d = self.d_model;
        let device = tokens.device();
        let flat = tokens.reshape([b * e, l]);
        let pad = flat.clone().equal_elem(PAD); // [b*e, l]
        let pos = Tensor::<1, Int>::arange(0..l as i64, &device).reshape([1, l]).repeat_dim(0, b * e);
        let x = self.tokens.forward(flat) + self.positions.forward(pos); // [b*e, l, d]
        let x = self.encoder.forward(TransformerEncoderInput::new(x).mask_pad(pad.clone()));
        // Mean over real tokens of each example.
        let keep = pad.bool_not().float().unsqueeze_dim::<3>(2); // [b*e, l, 1]
        let per_example = (x * keep.clone()).sum_dim(1) / keep.sum_dim(1).clamp_min(1.0); // [b*e, 1, d]
        let per_example = per_example.reshape([b, e, d]);
        // Attention pooling across examples (no example positions: order-invariant).
        let scores = self.pool_score.forward(per_example.clone()).reshape([b, e]); // [b, e]
        let scores = scores + (present.ones_like() - present).mul_scalar(-1e9);
        let weights = softmax(scores, 1).unsqueeze_dim::<3>(2); // [b, e, 1]
        (per_example * weights).sum_dim(1).reshape([b, d])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn examples_tokenize_with_type_tags_and_bytes() {
        let t = example_tokens(&[Value::bv(32, 0x0102_0304)], &Value::Int(-2), 16);
        assert_eq!(
            &t[..8],
            &[CLS, type_tag(Sort::BitVec(32)), BYTE_BASE + 1, BYTE_BASE + 2, BYTE_BASE + 3, BYTE_BASE + 4, SEP, OUT]
        );
        assert_eq!(&t[8..11], &[type_tag(Sort::Int), NEG, BYTE_BASE + 2]);
        assert!(t[11..].iter().all(|x| *x == PAD));
    }

    #[test]
    fn pooling_ignores_example_order() {
        let device = Device::flex();
        let enc = TraceEncoderConfig::new().with_example_len(12).with_max_examples(3).init(&device);
        let a = example_tokens(&[Value::str("ab")], &Value::str("b"), 12);
        let b = example_tokens(&[Value::str("xyz")], &Value::str("z"), 12);
        let pad = vec![PAD; 12];
        let run = |rows: [&Vec<i64>; 3]| {
            let flat: Vec<i64> = rows.iter().flat_map(|r| r.iter().copied()).collect();
            let t = Tensor::<3, Int>::from_data(TensorData::new(flat, [1, 3, 12]), &device);
            let p = Tensor::<2>::from_data(TensorData::new(vec![1.0f32, 1.0, 0.0], [1, 3]), &device);
            enc.forward(t, p).into_data().try_to_vec::<f32>().unwrap()
        };
        let x = run([&a, &b, &pad]);
        let y = run([&b, &a, &pad]);
        for (u, v) in x.iter().zip(&y) {
            assert!((u - v).abs() < 1e-5);
        }
    }
}
