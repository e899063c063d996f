//! Live synthesis of functions over arrays: record a function whose pointer parameters
//! are read as arrays, carve its calls into a list task, search the list language
//! ([`synth_engine::lists`]), and check the code on the held-out calls.

use std::sync::atomic::AtomicBool;
use std::time::Instant;

use serde::Serialize;
use synth_engine::emit::Lang;
use synth_engine::lists::{
    emit_list_function, emit_list_tests, synthesize_lists, CoreOpsFirst, LValue, ListLimits, ListOutcome, ListProblem,
};
use synth_engine::search::CancelToken;
use synth_engine::verify::{verify, QualityReport, VerifyLimits};
use tracer_probe::{
    probes::{self, dwarf::ValueKind},
    record::{self, RecordConfig},
    trace::{FunctionInfo, Trace},
};

use crate::live::{LiveConfig, LiveError};
use crate::spec;

/// Every how many distinct inputs one is held out.
const HOLDOUT_EVERY: usize = 5;

/// Whether a function takes arrays (pointers whose elements are read), so that it is a
/// list task rather than a scalar one.
#[must_use]
pub fn takes_arrays(f: &FunctionInfo) -> bool {
    f.params.iter().any(|p| matches!(p.ctype.kind, ValueKind::Elements { .. }))
}

/// What live synthesis over arrays found.
#[derive(Clone, Debug, Serialize)]
pub struct ListSynthesis {
    /// Function name.
    pub function: String,
    /// `verified` when the code reproduces every observed call, training and held out
    /// (and some were held out); `fits-observed` when only the training calls could be
    /// checked; `partial` when a held-out call disagrees.
    pub status: &'static str,
    /// Calls observed, and distinct inputs among them.
    pub calls_observed: usize,
    /// Distinct inputs.
    pub distinct_inputs: usize,
    /// Distinct inputs synthesized from.
    pub training: usize,
    /// Held-out distinct inputs the code reproduces, of how many.
    pub held_out_agree: (usize, usize),
    /// The program in LambdaBeam's notation.
    pub program: String,
    /// The emitted function.
    pub code: String,
    /// Tests from every observed call.
    pub tests: String,
    /// Verification of the code against the training calls.
    pub report: QualityReport,
    /// Recording time in seconds.
    pub record_secs: f64,
    /// Search and verification time in seconds.
    pub synth_secs: f64,
}

fn examples(ex: &synth_engine::spec::Examples) -> Result<Vec<(Vec<LValue>, LValue)>, LiveError> {
    if ex.examples.is_empty() {
        return Ok(Vec::new());
    }
    Ok(ListProblem::from_examples(ex).map_err(synth_engine::Error::from)?.examples)
}

/// Records `config.synth.function` (a function that [`takes_arrays`]) in the live process
/// with `plan` (from [`crate::live::plan`]) and synthesizes it as a list function.
///
/// # Errors
/// Recording or carving failures, specs the list language cannot hold, and
/// [`LiveError::NoSolution`] when the search finds nothing within the budget.
pub fn run(config: &LiveConfig, plan: &probes::Plan, stop: &AtomicBool) -> Result<(ListSynthesis, Trace), LiveError> {
    let record_config = RecordConfig {
        duration: Some(config.max_record),
        max_distinct_inputs: Some(config.distinct_inputs),
        announce: true,
        ..RecordConfig::default()
    };
    let (trace, _paths) = record::record_with_paths(plan, &record_config, stop)?;
    let record_secs = trace.end_ns.saturating_sub(trace.start_ns) as f64 / 1e9;
    let report = synthesize_from_trace(&trace, config, record_secs)?;
    Ok((report, trace))
}

fn synthesize_from_trace(trace: &Trace, config: &LiveConfig, record_secs: f64) -> Result<ListSynthesis, LiveError> {
    let function = &config.synth.function;
    let lang: Lang = config.synth.lang;
    let started = Instant::now();
    let carved = spec::carve(trace, function, HOLDOUT_EVERY)?;
    let mut problem = ListProblem::from_examples(&carved.training).map_err(synth_engine::Error::from)?;
    problem.description.clone_from(&config.synth.describe);
    let held_out = examples(&carved.held_out)?;
    let limits = ListLimits { timeout: config.synth.budget, ..ListLimits::default() };
    let program = match synthesize_lists(&problem, &limits, &CoreOpsFirst, &CancelToken::new()) {
        ListOutcome::Found { program, .. } => program,
        ListOutcome::NotFound { reason, .. } => {
            return Err(LiveError::NoSolution {
                function: function.clone(),
                total: problem.examples.len(),
                best: format!(" ({reason})"),
            })
        }
    };
    let synth_err = |e: synth_engine::lists::ListEmitError| LiveError::Synth(synth_engine::Error::from(e));
    let code = emit_list_function(lang, &problem, &program).map_err(synth_err)?;
    let train_tests = emit_list_tests(lang, &problem, &problem.examples).map_err(synth_err)?;
    let limits = VerifyLimits::default();
    let report = verify(lang, &code, &train_tests, &limits).map_err(synth_engine::Error::from)?;
    let held_out_agree = if held_out.is_empty() {
        (0, 0)
    } else {
        let held_tests = emit_list_tests(lang, &problem, &held_out).map_err(synth_err)?;
        let r = verify(lang, &code, &held_tests, &limits).map_err(synth_engine::Error::from)?;
        (r.tests_passed, held_out.len())
    };
    let mut all = problem.examples.clone();
    all.extend(held_out.iter().cloned());
    let tests = emit_list_tests(lang, &problem, &all).map_err(synth_err)?;
    let training_ok = report.tests_total > 0 && report.tests_passed == report.tests_total;
    let status = match held_out_agree {
        _ if !training_ok => "partial",
        (_, 0) => "fits-observed",
        (a, t) if a == t => "verified",
        _ => "partial",
    };
    Ok(ListSynthesis {
        function: function.clone(),
        status,
        calls_observed: carved.calls,
        distinct_inputs: carved.distinct,
        training: problem.examples.len(),
        held_out_agree,
        program: program.show(&problem.param_names()),
        code,
        tests,
        report,
        record_secs,
        synth_secs: started.elapsed().as_secs_f64(),
    })
}
