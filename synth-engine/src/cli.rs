//! Clap-free entry points for the `tracesynth synth` verb, so the command
//! line wrapper stays trivial.

use std::path::Path;
use std::time::Duration;

use crate::emit;
use crate::search::{synthesize, CancelToken, SearchLimits, SearchOutcome, UniformGuide};
use crate::spec::sygus;
use crate::Error;

fn read(path: &Path) -> Result<String, Error> {
    std::fs::read_to_string(path).map_err(|source| Error::Io { path: path.to_path_buf(), source })
}

/// `tracesynth synth --sygus FILE [--timeout SECS]`: solves a SyGuS-IF v2
/// file and returns the `(define-fun …)` text.
///
/// # Errors
///
/// Unreadable or malformed files, and [`Error::NoSolution`] when the search
/// ends without a solution (the message says why and how far it got).
pub fn run_sygus(path: impl AsRef<Path>, timeout: Duration) -> Result<String, Error> {
    let text = read(path.as_ref())?;
    let problem = sygus::parse(&text)?.problem;
    let limits = SearchLimits { timeout, ..SearchLimits::default() };
    let outcome = synthesize(&problem, &limits, &UniformGuide, &CancelToken::new())?;
    match outcome {
        SearchOutcome::Found { term, .. } => Ok(emit::to_define_fun(&problem, &term)),
        other => Err(Error::NoSolution(describe_failure(&other))),
    }
}

fn describe_failure(o: &SearchOutcome) -> String {
    let (why, best) = match o {
        SearchOutcome::Found { .. } => ("found".to_string(), None),
        SearchOutcome::Exhausted { best, .. } => ("search space exhausted".to_string(), best.as_ref()),
        SearchOutcome::BudgetExceeded { budget, best, .. } => (format!("{budget:?} budget exceeded").to_lowercase(), best.as_ref()),
    };
    match best {
        Some(b) => format!("{why}; best term satisfies {}/{} examples: {}", b.satisfied, b.total, b.term),
        None => why,
    }
}
