//! `tracesynth synth --pid` and the daemon's synthesis jobs: carve a specification from a
//! function's calls, run the refinement loop (synthesize, emit, verify against tests and
//! held-out calls), and report code, tests, invariants and a carved regression test.
use std::{path::Path, sync::atomic::AtomicBool, time::Duration};

use serde::Serialize;
use synth_engine::{
    emit::{self, Lang},
    refine::{refine, IterationRecord, RefineConfig, RefineStatus, Reward},
    search::CancelToken,
    spec::invariants,
    verify::QualityReport,
};

use synth_model::trace::TraceFeatures;

use crate::{
    guide_choice::{GuideChoice, GuideSource},
    spec::{self, SpecError},
};
use tracer_probe::{
    coverage::{self, BranchCoverage},
    probes::{
        self,
        arg_overrides::{ArgOverride, ArgOverrideError},
        PlanError,
    },
    record::{self, RecordConfig, RecordError},
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
    /// A `--arg` does not fit the function.
    #[error(transparent)]
    ArgOverride(#[from] ArgOverrideError),
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
    /// Stop recording after this many distinct inputs...
    pub distinct_inputs: usize,
    /// ...or this long.
    pub max_record: Duration,
    /// What to synthesize, and how.
    pub synth: SynthOptions,
    /// `--oracle fork`: ask the live binary about inputs where the candidate could be
    /// wrong ([`tracer_patch::oracle`]).
    pub oracle: bool,
    /// `--arg`: what the user says about pointer parameters.
    pub arg_overrides: Vec<ArgOverride>,
}

/// What to synthesize from a trace, and within what budget.
#[derive(Clone, Debug)]
pub struct SynthOptions {
    /// Function to synthesize.
    pub function: String,
    /// Output language.
    pub lang: Lang,
    /// Plain-English description.
    pub describe: Option<String>,
    /// Budget for the whole refinement loop (searches and verifications).
    pub budget: Duration,
    /// Most refinement iterations.
    pub max_iterations: u32,
    /// Search guide (`None`: the learned guide when it is installed, else uniform costs).
    pub guide: Option<GuideChoice>,
}

/// The result: code, tests, the verification report, and what was observed.
#[derive(Clone, Debug, Serialize, serde::Deserialize)]
pub struct SynthesisReport {
    /// Function name.
    pub function: String,
    /// `verified`; `fits-observed` when the program reproduces every observed call only by
    /// a case split that memorizes them (`status_reason` says why); `partial` when the
    /// budget ran out first (the best candidate).
    pub status: RefineStatus,
    /// Why the program is not verified although it reproduces the observed calls.
    #[serde(default)]
    pub status_reason: Option<String>,
    /// With `--pid`: the conditional branches of the original the calls reached, each with
    /// how often it went each way, and the blocks no call entered.
    #[serde(default)]
    pub coverage: Option<BranchCoverage>,
    /// Calls observed.
    pub calls_observed: usize,
    /// Distinct inputs observed.
    pub distinct_inputs: usize,
    /// Distinct inputs used for synthesis (after counterexamples were added).
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
    /// Reward of the returned candidate.
    pub reward: Reward,
    /// One entry per refinement iteration.
    pub history: Vec<IterationRecord>,
    /// Relations that held on every observed call.
    pub invariants: Vec<String>,
    /// Observed input/output table (first 20 distinct inputs).
    pub observed: Vec<(Vec<serde_json::Value>, serde_json::Value)>,
    /// A C test file for the original function: link it with the traced binary's object
    /// (or the library) to pin down its observed behaviour.
    pub regression_test: String,
    /// Recording time in seconds.
    pub record_secs: f64,
    /// Synthesis time (the whole loop) in seconds.
    pub synth_secs: f64,
    /// The guide the loop searched with: `learned`, or `uniform` when chosen or when
    /// the model is not installed.
    pub guide: GuideChoice,
    /// With `--oracle fork`: what the live binary was asked and what it changed.
    #[serde(default)]
    pub oracle: Option<OracleReport>,
}

/// What `--oracle fork` asked the live binary and what it changed.
#[derive(Clone, Debug, Default, Serialize, serde::Deserialize)]
pub struct OracleReport {
    /// Inputs the original was called on, in forked copies.
    pub queries: usize,
    /// Answers the candidate of the time got wrong (they became training calls).
    pub disagreements: usize,
    /// Calls that faulted or timed out in the copy (left out).
    pub failed: usize,
    /// Rounds of questions (each followed by a new search when an answer disagreed).
    pub rounds: usize,
    /// Whether the returned program agreed with every answer of the last round.
    pub confirmed: bool,
    /// Why the oracle was not used (an impure function, shared memory, ...).
    pub refused: Option<String>,
}

impl SynthesisReport {
    /// Whether the code is verified: every test and held-out call passes.
    #[must_use]
    pub fn verified(&self) -> bool {
        self.status == RefineStatus::Verified
    }
}

/// The probe plan for `config.synth.function`, with uretprobes and `config.arg_overrides`:
/// what [`run`] and
/// [`crate::lists::run`] record with, and what tells them apart
/// ([`crate::lists::is_list_task`]).
///
/// # Errors
/// The function cannot be found or read.
pub fn plan(config: &LiveConfig) -> Result<probes::Plan, LiveError> {
    let mut plan = probes::plan(config.pid, std::slice::from_ref(&config.synth.function), RetMode::Uretprobe)?;
    plan.apply_arg_overrides(&config.arg_overrides)?;
    Ok(plan)
}

/// Records `config.synth.function` in the live process with `plan` (from [`plan`]), then
/// synthesizes and verifies with costs from a guide of `guides`; `on_iteration` sees each
/// refinement iteration as it ends.
///
/// # Errors
/// See [`LiveError`].
pub fn run(
    config: &LiveConfig,
    mut plan: probes::Plan,
    guides: &GuideSource,
    stop: &AtomicBool,
    on_iteration: &mut dyn FnMut(&IterationRecord),
) -> Result<(SynthesisReport, Trace), LiveError> {
    // Block probes show which branches of the original the calls took.
    let cfg = match probes::cfg::add_block_points(&mut plan) {
        Ok(cfg) => cfg.functions.into_iter().next(),
        Err(e) => {
            tracing::warn!(error = %e, "no block probes: the report will have no branch coverage");
            None
        }
    };
    let record_config = RecordConfig {
        duration: Some(config.max_record),
        max_distinct_inputs: Some(config.distinct_inputs),
        coverage_stable: Some(COVERAGE_STABLE),
        announce: true,
        ..RecordConfig::default()
    };
    let (trace, paths) = record::record_with_paths(&plan, &record_config, stop)?;
    let record_secs = trace.end_ns.saturating_sub(trace.start_ns) as f64 / 1e9;
    let observed =
        cfg.map(|cfg| Observed { coverage: BranchCoverage::of(&cfg, &paths), edges: coverage::edges_by_call(&paths) });
    let oracle = config
        .oracle
        .then(|| OracleTarget { pid: config.pid, address: plan.functions.first().and_then(|f| f.runtime_address) });
    let result = synthesize_observed(
        &trace,
        &config.synth,
        guides,
        &CancelToken::new(),
        on_iteration,
        observed.as_ref(),
        oracle.as_ref(),
    )?;
    Ok((SynthesisReport { record_secs, ..result }, trace))
}

/// How long no new block of the original may be reached before recording stops (once
/// enough distinct inputs are in).
const COVERAGE_STABLE: Duration = Duration::from_millis(500);

/// What block probes showed of the original's control flow.
struct Observed {
    coverage: BranchCoverage,
    /// Block edges followed, by call `seq`.
    edges: std::collections::HashMap<u64, Vec<(u32, u32)>>,
}

/// Synthesizes `options.function` from an existing trace with the refinement loop, the
/// search guided by `guides` (given the examples, the description and the trace's
/// features); `on_iteration` sees each iteration as it ends.
///
/// # Errors
/// See [`LiveError`]; a budget that runs out with a candidate is not an error (the report
/// says `partial`).
pub fn synthesize_from_trace(
    trace: &Trace,
    options: &SynthOptions,
    guides: &GuideSource,
    cancel: &CancelToken,
    on_iteration: &mut dyn FnMut(&IterationRecord),
) -> Result<SynthesisReport, LiveError> {
    synthesize_observed(trace, options, guides, cancel, on_iteration, None, None)
}

/// Where `--oracle fork` finds the original: the process and the function's address in it.
struct OracleTarget {
    pid: u32,
    address: Option<u64>,
}

/// Most rounds of questions to the oracle.
const ORACLE_ROUNDS: usize = 3;
/// Random inputs asked per round (besides the candidate's boundaries).
const ORACLE_RANDOM: usize = 48;
/// Time one call may take in a forked copy.
const ORACLE_CALL_LIMIT: Duration = Duration::from_millis(200);

/// Asks the original about inputs where `refined`'s candidate could be wrong; answers it
/// gets wrong become training calls and the loop searches again (the rest are held out),
/// for up to [`ORACLE_ROUNDS`] rounds or until a round finds no disagreement.
#[allow(clippy::too_many_arguments, reason = "the loop's state, passed through")]
fn consult_oracle(
    target: &OracleTarget,
    training: &mut synth_engine::spec::Problem,
    held_out: &mut Vec<synth_engine::spec::Example>,
    config: &RefineConfig,
    guide: &mut dyn synth_engine::refine::AdaptiveGuide,
    cancel: &CancelToken,
    on_iteration: &mut dyn FnMut(&IterationRecord),
    refined: &mut synth_engine::refine::Refined,
) -> Result<OracleReport, LiveError> {
    let mut report = OracleReport::default();
    let oracle = match target.address {
        None => Err(tracer_patch::oracle::OracleError::NoAddress(training.name.clone())),
        Some(address) => tracer_patch::oracle::ForkOracle::new(
            target.pid,
            address,
            training.params.iter().map(|p| p.ty).collect(),
            training.output,
            ORACLE_CALL_LIMIT,
        ),
    };
    let oracle = match oracle {
        Ok(o) => o,
        Err(e) => {
            report.refused = Some(e.to_string());
            return Ok(report);
        }
    };
    let started = std::time::Instant::now();
    for round in 1..=ORACLE_ROUNDS {
        let Some(best) = &refined.best else { break };
        let mut everything = training.clone();
        everything.examples.extend(held_out.iter().cloned());
        let queries = synth_engine::refine::distinguishing_inputs(&everything, &best.term, ORACLE_RANDOM, round as u64);
        if queries.is_empty() {
            break;
        }
        let answers = match oracle.ask(&queries) {
            Ok(a) => a,
            Err(e) => {
                report.refused = Some(e.to_string());
                break;
            }
        };
        report.rounds = round;
        report.queries += queries.len();
        let mut answered = Vec::new();
        for (args, answer) in queries.into_iter().zip(answers) {
            match answer {
                tracer_patch::oracle::Answer::Returned(output) => {
                    answered.push(synth_engine::spec::Example { args, output })
                }
                _ => report.failed += 1,
            }
        }
        let agree = synth_engine::refine::agreement_mask(training, &best.term, &answered)?;
        let (right, wrong): (Vec<_>, Vec<_>) = answered.into_iter().zip(agree).partition(|(_, ok)| *ok);
        report.disagreements += wrong.len();
        if wrong.is_empty() {
            report.confirmed = true;
            break;
        }
        training.examples.extend(wrong.into_iter().map(|(e, _)| e));
        held_out.extend(right.into_iter().map(|(e, _)| e));
        let budget = config.budget.saturating_sub(started.elapsed());
        if budget.is_zero() {
            break;
        }
        *refined = refine(training, held_out, &RefineConfig { budget, ..config.clone() }, guide, cancel, on_iteration)?;
    }
    Ok(report)
}

/// [`synthesize_from_trace`] with what block probes observed: held-out calls are chosen to
/// cover each branch direction the calls took (so `verified`, which needs every held-out
/// call reproduced, checks the code on each of them), and the report lists the branches.
fn synthesize_observed(
    trace: &Trace,
    options: &SynthOptions,
    guides: &GuideSource,
    cancel: &CancelToken,
    on_iteration: &mut dyn FnMut(&IterationRecord),
    observed: Option<&Observed>,
    oracle: Option<&OracleTarget>,
) -> Result<SynthesisReport, LiveError> {
    let no_edges = std::collections::HashMap::new();
    let edges = observed.map_or(&no_edges, |o| &o.edges);
    let mut carved = spec::carve_covering(trace, &options.function, 5, edges)?;
    spec::scalar_only(&carved, &options.function)?;
    // A long trace has many more distinct calls than a specification needs: keep an even
    // spread, so the search, the emitted tests and verification stay quick.
    thin(&mut carved.training.examples, MAX_TRAINING);
    thin(&mut carved.held_out.examples, MAX_TRAINING / 4);
    let mut problem = carved.training.to_problem().map_err(synth_engine::Error::from)?;
    problem.description.clone_from(&options.describe);
    let mut held_out = carved.held_out.to_problem().map_err(synth_engine::Error::from)?.examples;
    let mut all = carved.training.clone();
    all.examples.extend(carved.held_out.examples.iter().cloned());
    let all_problem = all.to_problem().map_err(synth_engine::Error::from)?;
    let config = RefineConfig {
        lang: options.lang,
        budget: options.budget,
        max_iterations: options.max_iterations,
        ..RefineConfig::default()
    };
    let started = std::time::Instant::now();
    let (mut guide, guide_used) =
        guides.adaptive_guide_for_trace(&problem, &trace_features(trace, &options.function, carved.distinct));
    let mut refined = refine(&problem, &held_out, &config, guide.as_mut(), cancel, on_iteration)?;
    let oracle_report = match oracle {
        Some(target) => {
            let mut training = problem.clone();
            Some(consult_oracle(
                target,
                &mut training,
                &mut held_out,
                &config,
                guide.as_mut(),
                cancel,
                on_iteration,
                &mut refined,
            )?)
        }
        None => None,
    };
    // With the oracle, `verified` also needs the binary's agreement on the last round.
    let oracle_doubt = oracle_report.as_ref().and_then(|r| {
        (!r.confirmed && r.refused.is_none() && refined.status == RefineStatus::Verified).then(|| {
            format!(
                "the original disagreed with a candidate on {} of {} inputs asked; the last program was not confirmed",
                r.disagreements, r.queries
            )
        })
    });
    if oracle_doubt.is_some() {
        refined.status = RefineStatus::FitsObserved;
    }
    // Memory the probes did not capture may decide the result.
    let uncaptured = spec::uncaptured_reads(trace, &options.function);
    if uncaptured.is_some() && refined.status == RefineStatus::Verified {
        refined.status = RefineStatus::FitsObserved;
    }
    let synth_secs = started.elapsed().as_secs_f64();
    let Some(best) = refined.best else {
        return Err(LiveError::NoSolution {
            function: options.function.clone(),
            total: problem.examples.len(),
            best: String::new(),
        });
    };
    let regression_test = format!(
        "/* Carved from {} observed calls of `{}`: link with the original to check it still behaves as traced. */\n{}",
        carved.calls,
        options.function,
        emit::emit_tests(Lang::C, &all_problem, &best.term, &all_problem.examples)
            .map_err(synth_engine::Error::from)?
    );
    Ok(SynthesisReport {
        function: options.function.clone(),
        status: refined.status,
        status_reason: oracle_doubt.or(uncaptured).or_else(|| best.fits_only.clone()),
        coverage: observed.map(|o| o.coverage.clone()),
        calls_observed: carved.calls,
        distinct_inputs: carved.distinct,
        training: refined.training_examples,
        held_out_agree: best.held_out,
        term: best.term.to_string(),
        code: best.code,
        tests: best.tests,
        report: best.report,
        reward: best.reward,
        history: refined.history,
        invariants: invariants::mine(&all_problem),
        observed: all.examples.iter().take(20).map(|e| (e.args.clone(), e.output.clone())).collect(),
        regression_test,
        record_secs: 0.0,
        synth_secs,
        guide: guide_used,
        oracle: oracle_report,
    })
}

/// What the trace says about `function` besides its examples: call count, distinct inputs,
/// duration statistics and the on-CPU share.
fn trace_features(trace: &Trace, function: &str, distinct: usize) -> TraceFeatures {
    let Some(index) = trace.function_index(function) else { return TraceFeatures::none() };
    let calls: Vec<&tracer_probe::trace::Call> = trace.calls.iter().filter(|c| c.function == index).collect();
    let durations: Vec<f64> = calls.iter().filter_map(|c| c.duration_ns).map(|d| d as f64).collect();
    let n = durations.len().max(1) as f64;
    let mean = durations.iter().sum::<f64>() / n;
    let var = durations.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / n;
    let (cpu, wall) = calls
        .iter()
        .filter_map(|c| Some((c.cpu_ns? as f64, c.duration_ns? as f64)))
        .fold((0.0, 0.0), |(a, b), (c, d)| (a + c, b + d));
    TraceFeatures {
        calls: calls.len() as u64,
        distinct_inputs: distinct as u64,
        mean_ns: mean,
        cv: if mean > 0.0 { var.sqrt() / mean } else { 0.0 },
        on_cpu: if wall > 0.0 { (cpu / wall).min(1.0) } else { 0.0 },
        ..TraceFeatures::none()
    }
}

/// Most distinct calls used for synthesis (a quarter as many more are held out).
pub const MAX_TRAINING: usize = 256;

/// Keeps at most `max` of `items`, evenly spread, in order.
fn thin<T>(items: &mut Vec<T>, max: usize) {
    if items.len() <= max {
        return;
    }
    let n = items.len();
    let mut i = 0usize;
    items.retain(|_| {
        let keep = (i * max / n) != ((i + 1) * max / n);
        i += 1;
        keep
    });
}

/// Writes code, tests and `report.json` into `dir`.
///
/// # Errors
/// I/O errors.
pub fn write_out(result: &SynthesisReport, lang: Lang, dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join(lang.code_file()), &result.code)?;
    std::fs::write(dir.join(lang.test_file()), &result.tests)?;
    std::fs::write(dir.join(format!("regression_{}.c", result.function)), &result.regression_test)?;
    std::fs::write(dir.join("report.json"), serde_json::to_vec_pretty(result)?)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn thin_keeps_an_even_spread() {
        let mut v: Vec<usize> = (0..10).collect();
        super::thin(&mut v, 4);
        assert_eq!(v, vec![2, 4, 7, 9]);
        let mut w: Vec<usize> = (0..3).collect();
        super::thin(&mut w, 4);
        assert_eq!(w, vec![0, 1, 2]);
    }
}
