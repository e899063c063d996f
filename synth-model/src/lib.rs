//! Behaviour embedding and a learned search guide for tracesynth, in burn.
//!
//! - [`text`]: the pretrained sentence encoder (all-MiniLM-L6-v2 as a BERT
//!   written in burn, loaded from safetensors; `tokenizers` for the ids;
//!   mean pooling and L2 normalisation).
//! - [`trace`]: examples as token sequences, a small transformer per
//!   example, attention pooling across examples, trace features.
//! - [`words`]: the description's words, hashed into a bag: the fast view of
//!   a description, ready with the examples.
//! - [`fuse`]: the behaviour embedding (gated concatenation of the examples,
//!   the description's sentence embedding and words, and trace features).
//! - [`model`]: heads predicting which productions the solution uses and its
//!   size; [`pricing`]: [`pricing::LearnedGuide`], a [`synth_engine::search::Guide`]
//!   pricing each production at ≈ −ln p; [`guide`]: [`guide::Guider`], the loaded
//!   model ready to price problems; [`race`]: [`race::guided_search`], the prior
//!   guide's search raced against the model's.
//! - `decoder` (feature `decoder`): a GRU over the behaviour embedding that
//!   proposes whole terms by beam search, each checked before any enumeration
//!   finds one.
//! - [`adapt`]: the refinement loop's update, a gradient step on the
//!   behaviour embedding.
//! - [`lists`]: the list search's learned guide (operator prices from the examples and
//!   the description, trained on random list programs).
//! - [`device`]: CPU or GPU for training and evaluation.
//! - [`data`]: the synthetic task generator; [`train`]: training and metrics;
//!   `rl` (feature `decoder`): fine-tuning from search rewards (expert
//!   iteration). Neither the decoder nor this fine-tuning has yet paid for
//!   itself in a benchmark, so they are built only on request.
//!
//! Design choices: burn 0.22 picks its backend at run time (a `Device`), so
//! the model code has no backend parameter; everything here runs on the
//! pure-Rust `flex` CPU backend, and the `gpu` feature adds wgpu. Training is
//! separate from the model (config structs, seeded), as in burn's examples.
//!
//! ```no_run
//! use synth_model::guide::Guider;
//! use synth_model::model::default_weights_dir;
//! use synth_model::trace::TraceFeatures;
//! use synth_engine::search::{synthesize, CancelToken, SearchLimits};
//! let spec = r#"{"function": "f", "params": [{"name": "x", "type": "u32"}], "output_type": "u32",
//!   "description": "clear the lowest set bit",
//!   "examples": [{"args": [12], "output": 8}, {"args": [7], "output": 6}]}"#;
//! let problem = synth_engine::spec::Examples::from_json(spec).unwrap().to_problem().unwrap();
//! let guider = Guider::load(default_weights_dir()).expect("run `cargo xtask setup` and have weights");
//! let guide = guider.guide_for(&problem, &TraceFeatures::none()).unwrap();
//! let out = synthesize(&problem, &SearchLimits::default(), &guide, &CancelToken::new()).unwrap();
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod adapt;
pub mod data;
#[cfg(feature = "decoder")]
pub mod decoder;
pub mod device;
pub mod fuse;
pub mod guide;
pub mod labels;
pub mod lists;
pub mod model;
pub mod pricing;
pub mod race;
#[cfg(feature = "decoder")]
pub mod rl;
pub mod text;
pub mod trace;
pub mod train;
pub mod words;

use thiserror::Error;

/// Any error of this crate.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// The text encoder.
    #[error(transparent)]
    Text(#[from] text::TextError),
    /// Encoding examples.
    #[error(transparent)]
    Trace(#[from] trace::TraceError),
    /// Fusion.
    #[error(transparent)]
    Fuse(#[from] fuse::FuseError),
    /// The guide.
    #[error(transparent)]
    Guide(#[from] model::GuideError),
    /// The program decoder.
    #[cfg(feature = "decoder")]
    #[error(transparent)]
    Decoder(#[from] decoder::DecoderError),
    /// Task generation.
    #[error(transparent)]
    Data(#[from] data::DataError),
    /// Choosing a device.
    #[error(transparent)]
    Device(#[from] device::DeviceError),
    /// Training.
    #[error(transparent)]
    Train(#[from] train::TrainError),
    /// Fine-tuning from search rewards.
    #[cfg(feature = "decoder")]
    #[error(transparent)]
    Rl(#[from] rl::RlError),
}
