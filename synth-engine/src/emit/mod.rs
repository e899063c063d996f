//! Code emitters.

mod sygus;
pub use sygus::to_define_fun;
use thiserror::Error;

/// An emitter error.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum EmitError {
    /// An operator the target language cannot express.
    #[error("cannot emit `{op}` in {lang}")]
    Unsupported {
        /// Operator name.
        op: String,
        /// Language.
        lang: String,
    },
}
