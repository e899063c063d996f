//! Verification of emitted code.
use thiserror::Error;

/// A verification error.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The temporary directory could not be created.
    #[error("cannot create a temporary directory: {0}")]
    TempDir(#[source] std::io::Error),
}
