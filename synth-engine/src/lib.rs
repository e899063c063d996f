//! Program synthesis engine for tracesynth.
//!
//! A behaviour specification (input/output examples, or a SyGuS-IF v2 file
//! with PBE or reference-implementation constraints) becomes a [`spec::Problem`];
//! [`search::synthesize`] finds a term of the typed DSL ([`dsl`]) that meets
//! it; [`emit`] prints the term as a Rust, Python or C function with unit
//! tests (or as a SyGuS `define-fun`); [`verify`] compiles and runs the
//! emitted code in a sandbox and lints it.
//!
//! ```
//! use synth_engine::emit::{emit_function, Lang};
//! use synth_engine::search::{synthesize, CancelToken, SearchLimits, UniformGuide};
//! use synth_engine::spec::Examples;
//!
//! let spec = r#"{"function": "first_word", "params": [{"name": "s", "type": "string"}],
//!   "output_type": "string", "examples": [
//!   {"args": ["hello world"], "output": "hello"}, {"args": ["ab cd ef"], "output": "ab"},
//!   {"args": ["x y"], "output": "x"}]}"#;
//! let problem = Examples::from_json(spec).unwrap().to_problem().unwrap();
//! let outcome = synthesize(&problem, &SearchLimits::default(), &UniformGuide, &CancelToken::new()).unwrap();
//! let term = outcome.term().expect("found");
//! assert_eq!(term.to_string(), "(str.field s \" \" 0)");
//! let code = emit_function(Lang::Python, &problem, term).unwrap();
//! assert!(code.contains("def first_word(s: str) -> str:"));
//! ```
//!
//! Design choices:
//! - Terms are flat vectors, children before parents (as egg's `RecExpr`),
//!   printed and parsed as SMT-LIB s-expressions.
//! - The interpreter evaluates a term on all examples at once (one typed
//!   column per node), which is what the enumerator needs for
//!   observational-equivalence pruning.
//! - The search is bottom-up enumeration in cost order (costs from a
//!   [`search::Guide`]) with observational-equivalence pruning; string
//!   targets are also assembled by concatenation, and grammars with a
//!   conditional use divide and conquer (EuSolver-style decision trees).
//!   Reference-implementation specs run CEGIS.
//! - The search returns an outcome, never panics on bad input, and can be
//!   cancelled from another thread.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod cli;
pub mod dsl;
pub mod emit;
pub mod lists;
pub mod occam;
pub mod refine;
pub mod search;
pub mod simplify;
pub mod spec;
pub mod verify;

use thiserror::Error;

/// Any error of this crate.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// A SyGuS file could not be read.
    #[error(transparent)]
    Sygus(#[from] spec::SygusError),
    /// An examples specification is invalid.
    #[error(transparent)]
    Spec(#[from] spec::SpecError),
    /// The search could not start.
    #[error(transparent)]
    Search(#[from] search::SearchError),
    /// Code could not be emitted.
    #[error(transparent)]
    Emit(#[from] emit::EmitError),
    /// A list task is invalid.
    #[error(transparent)]
    Lists(#[from] lists::ListError),
    /// A list program could not be emitted.
    #[error(transparent)]
    ListEmit(#[from] lists::ListEmitError),
    /// Verification could not run.
    #[error(transparent)]
    Verify(#[from] verify::VerifyError),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// No solution within the budget.
    #[error("no solution found: {0}")]
    NoSolution(String),
}
