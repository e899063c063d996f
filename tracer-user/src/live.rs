//! `tracesynth synth --pid`: watch a live function, carve a specification from its calls,
//! synthesize, emit code and tests, and verify them (also against held-out calls).
use std::{path::Path, sync::atomic::AtomicBool, time::Duration};

use serde::Serialize;
use synth_engine::{
    dsl::{eval_term, FunDefs},
    emit::{self, Lang},
    search::{synthesize, CancelToken, SearchLimits, SearchOutcome, UniformGuide},
    spec::{Examples, Problem},
    verify::{self, QualityReport, VerifyLimits},
};

use crate::{
    probes::{self, PlanError},
    record::{self, RecordConfig, RecordError},
    spec::{self, SpecError},
    trace::{RetMode, Trace},
};

/// Errors of live synthesis.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    /// Resolving the function failed.
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// Recording failed.
    #[error(transparent)]
    Record(#[from] RecordError),
    /// The calls do not make a specification.
    #[error(transparent)]
    Spec(#[from] SpecError),
    /// The synthesis engine rejected the specification or failed.
    #[error("synthesis: {0}")]
    Synth(#[from] synth_engine::Error),
    /// No program was found within the budget.
    #[error("no program reproduces all {total} observed calls of `{function}` within the budget{best}")]
    NoSolution {
        /// Function.
        function: String,
        /// Distinct training inputs.
        total: usize,
        /// The best partial program, if any.
        best: String,
    },
}

/// What to do.
#[derive(Clone, Debug)]
pub struct LiveConfig {
    /// Target PID.
    pub pid: u32,
    /// Function to synthesize.
    pub function: String,
    /// Stop recording after this many distinct inputs...
    pub distinct_inputs: usize,
    /// ...or this long.
    pub max_record: Duration,
    /// Search budget.
    pub budget: Duration,
    /// Output language.
    pub lang: Lang,
    /// Plain-English description.
    pub describe: Option<String>,
}

/// The result: code, tests, reports.
#[derive(Clone, Debug, Serialize)]
pub struct LiveResult {
    /// Function name.
    pub function: String,
    /// Calls observed.
    pub calls_observed: usize,
    /// Distinct inputs observed.
    pub distinct_inputs: usize,
    /// Distinct inputs used for synthesis.
    pub training: usize,
    /// Held-out distinct inputs the program reproduces, of how many.
    pub held_out_agree: (usize, usize),
    /// The program as an s-expression.
    pub term: String,
    /// Emitted function.
    pub code: String,
    /// Emitted tests (carved from all observed calls).
    pub tests: String,
    /// Verification of code + tests.
    pub report: QualityReport,
    /// Observed input/output table (first 20 distinct inputs).
    pub observed: Vec<(Vec<serde_json::Value>, serde_json::Value)>,
    /// Recording time in seconds.
    pub record_secs: f64,
    /// Synthesis time in seconds.
    pub synth_secs: f64,
}

/// Records `config.function` in the live process, then synthesizes and verifies.
///
/// # Errors
/// See [`LiveError`].
pub fn run(config: &LiveConfig, stop: &AtomicBool) -> Result<(LiveResult, Trace), LiveError> {
    let plan = probes::plan(config.pid, std::slice::from_ref(&config.function), RetMode::Uretprobe)?;
    let record_config = RecordConfig {
        duration: Some(config.max_record),
        max_distinct_inputs: Some(config.distinct_inputs),
        announce: true,
        ..RecordConfig::default()
    };
    let trace = record::record(&plan, &record_config, stop)?;
    let record_secs = trace.end_ns.saturating_sub(trace.start_ns) as f64 / 1e9;
    let result = synthesize_from_trace(&trace, config)?;
    Ok((LiveResult { record_secs, ..result }, trace))
}

/// Synthesizes `config.function` from an existing trace.
///
/// # Errors
/// See [`LiveError`].
pub fn synthesize_from_trace(trace: &Trace, config: &LiveConfig) -> Result<LiveResult, LiveError> {
    let carved = spec::carve(trace, &config.function, 5)?;
    let mut problem = carved.training.to_problem().map_err(synth_engine::Error::from)?;
    problem.description.clone_from(&config.describe);
    let limits = SearchLimits { timeout: config.budget, ..SearchLimits::default() };
    let started = std::time::Instant::now();
    let outcome =
        synthesize(&problem, &limits, &UniformGuide, &CancelToken::new()).map_err(synth_engine::Error::from)?;
    let synth_secs = started.elapsed().as_secs_f64();
    let term = match outcome {
        SearchOutcome::Found { term, .. } => term,
        SearchOutcome::Exhausted { best, .. } | SearchOutcome::BudgetExceeded { best, .. } => {
            return Err(LiveError::NoSolution {
                function: config.function.clone(),
                total: problem.examples.len(),
                best: best
                    .map(|b| format!("; best partial program {} satisfies {}/{}", b.term, b.satisfied, b.total))
                    .unwrap_or_default(),
            })
        }
    };
    let held_out_agree = agreement(&carved.held_out, &term)?;
    let mut all = carved.training.clone();
    all.examples.extend(carved.held_out.examples.iter().cloned());
    let all_problem = all.to_problem().map_err(synth_engine::Error::from)?;
    let code = emit::emit_function(config.lang, &problem, &term).map_err(synth_engine::Error::from)?;
    let tests =
        emit::emit_tests(config.lang, &problem, &term, &all_problem.examples).map_err(synth_engine::Error::from)?;
    let mut report = verify::verify(config.lang, &code, &tests, &VerifyLimits::default())
        .map_err(synth_engine::Error::from)?;
    report.term_size = Some(term.size());
    report.term_depth = Some(term.depth());
    Ok(LiveResult {
        function: config.function.clone(),
        calls_observed: carved.calls,
        distinct_inputs: carved.distinct,
        training: carved.training.examples.len(),
        held_out_agree,
        term: term.to_string(),
        code,
        tests,
        report,
        observed: all.examples.iter().take(20).map(|e| (e.args.clone(), e.output.clone())).collect(),
        record_secs: 0.0,
        synth_secs,
    })
}

/// How many held-out examples the program reproduces.
fn agreement(held_out: &Examples, term: &synth_engine::dsl::Term) -> Result<(usize, usize), LiveError> {
    if held_out.examples.is_empty() {
        return Ok((0, 0));
    }
    let problem: Problem = held_out.to_problem().map_err(synth_engine::Error::from)?;
    let columns = problem.input_columns();
    let vars: Vec<(&str, &synth_engine::dsl::Column)> =
        problem.params.iter().map(|p| p.name.as_str()).zip(columns.iter()).collect();
    let n = problem.examples.len();
    let agree = eval_term(term, &vars, &FunDefs::default(), n)
        .map(|out| out.eq_mask(&problem.output_column()).into_iter().filter(|b| *b).count())
        .unwrap_or(0);
    Ok((agree, n))
}

/// Writes code, tests and `report.json` into `dir`.
///
/// # Errors
/// I/O errors.
pub fn write_out(result: &LiveResult, lang: Lang, dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join(lang.code_file()), &result.code)?;
    std::fs::write(dir.join(lang.test_file()), &result.tests)?;
    std::fs::write(dir.join("report.json"), serde_json::to_vec_pretty(result)?)?;
    Ok(())
}
