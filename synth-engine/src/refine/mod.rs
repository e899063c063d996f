//! The refinement loop: generate → evaluate → reward → update → regenerate.
//!
//! Each iteration searches with the current guide, then evaluates the best term it got
//! (found, or the best partial one): on the held-out examples (by the interpreter), by
//! emitting code and tests and running them under the sandbox of [`crate::verify`], and
//! by the linter's warnings. The [`Reward`] combines these. Below the threshold, the loop
//! updates what it generates from:
//! - half of the held-out examples the candidate gets wrong become training examples
//!   (counterexamples, as in CEGIS); the other half stay held out for validation;
//! - the guide takes a step from the evaluation ([`AdaptiveGuide::update`] with a
//!   [`Feedback`]): what the best partial solution uses is favoured in proportion to the
//!   examples it satisfies, what earlier candidates that scored lower used is disfavoured.
//!   [`WeightedGuide`] does this with per-operator cost offsets over any base guide; the
//!   learned guide of `synth-model` takes a gradient step on its behaviour embedding.
//!
//! It returns the best candidate by reward with the whole reward history.
use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use serde::{Deserialize, Serialize};

mod queries;
pub use queries::distinguishing_inputs;

use crate::{
    dsl::{eval_term, Column, Op, Sort, Term, Value},
    emit::{self, Lang},
    search::{synthesize, CancelToken, Guide, ProductionInfo, SearchLimits, SearchOutcome},
    spec::{Example, Problem},
    verify::{self, QualityReport, VerifyLimits},
    Error,
};

/// What the loop may spend and aims for.
#[derive(Clone, Debug)]
pub struct RefineConfig {
    /// Language of the emitted code.
    pub lang: Lang,
    /// Wall-clock budget for the whole loop (searches and verifications).
    pub budget: Duration,
    /// Most iterations.
    pub max_iterations: u32,
    /// Stop once a candidate's reward reaches this.
    pub threshold: f64,
    /// Step size of the production-weight update, in log2 units of cost.
    pub learning_rate: f64,
    /// Search limits (the timeout is set per iteration from the budget).
    pub search: SearchLimits,
    /// Sandbox limits of verification.
    pub verify: VerifyLimits,
}

impl Default for RefineConfig {
    fn default() -> RefineConfig {
        RefineConfig {
            lang: Lang::Rust,
            budget: Duration::from_secs(30),
            max_iterations: 4,
            threshold: 0.95,
            learning_rate: 1.0,
            // The examples are a sample of a function's behaviour: trees that memorize them
            // are refused while anything else may turn up.
            search: SearchLimits { occam: true, ..SearchLimits::default() },
            verify: VerifyLimits::default(),
        }
    }
}

/// The parts of a reward, each in `0..=1`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Reward {
    /// Weighted sum: 0.5 held-out + 0.3 tests + 0.1 lint + 0.1 size.
    pub total: f64,
    /// Share of held-out examples reproduced (the tests' share when none are held out).
    pub held_out: f64,
    /// Share of the emitted tests that compiled and passed.
    pub tests: f64,
    /// `1 / (1 + warnings)`.
    pub lint: f64,
    /// Size of the smallest passing candidate so far over this one's (0 unless it passes).
    pub size: f64,
}

impl Reward {
    /// Combines an evaluation; `smallest_passing` is the size of the smallest candidate
    /// that passed everything so far (this one included).
    #[must_use]
    pub fn of(
        held_out: (usize, usize),
        report: &QualityReport,
        size: usize,
        smallest_passing: Option<usize>,
    ) -> Reward {
        let tests = if report.compiled && report.tests_total > 0 {
            report.tests_passed as f64 / report.tests_total as f64
        } else {
            0.0
        };
        let held = if held_out.1 == 0 { tests } else { held_out.0 as f64 / held_out.1 as f64 };
        let lint = 1.0 / (1.0 + report.warnings.len() as f64);
        let passes = report.passed() && held_out.0 == held_out.1;
        let size_score = match smallest_passing {
            Some(min) if passes && size > 0 => (min as f64 / size as f64).min(1.0),
            _ => 0.0,
        };
        let total = 0.5 * held + 0.3 * tests + 0.1 * lint + 0.1 * size_score;
        Reward { total, held_out: held, tests, lint, size: size_score }
    }
}

/// One iteration, as reported live and kept in the history.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct IterationRecord {
    /// 1-based.
    pub iteration: u32,
    /// `found`, `partial` or `none`.
    pub outcome: String,
    /// The candidate, as an s-expression.
    pub term: Option<String>,
    /// Training examples the candidate satisfies, of how many.
    pub training: (usize, usize),
    /// Held-out examples it reproduces, of how many.
    pub held_out: (usize, usize),
    /// Emitted tests passed, of how many.
    pub tests: (usize, usize),
    /// Linter and compiler warnings.
    pub warnings: usize,
    /// Term size.
    pub size: usize,
    /// Its reward.
    pub reward: Reward,
    /// Terms the search evaluated.
    pub terms_enumerated: u64,
    /// Search time in seconds.
    pub search_secs: f64,
    /// Held-out examples moved into training after this iteration.
    pub counterexamples_added: usize,
    /// What the guide's update after this iteration changed: operators with their new
    /// weight ([`WeightedGuide`]), or labels with their new probability (learned guide).
    pub weight_updates: Vec<(String, f64)>,
}

/// A candidate with its code and evaluation.
#[derive(Clone, Debug, Serialize)]
pub struct Candidate {
    /// The term.
    #[serde(serialize_with = "ser_term")]
    pub term: Term,
    /// Emitted function.
    pub code: String,
    /// Emitted tests (all examples: training and held out).
    pub tests: String,
    /// Verification of code and tests.
    pub report: QualityReport,
    /// Held-out examples reproduced, of how many.
    pub held_out: (usize, usize),
    /// Reward.
    pub reward: Reward,
    /// Whether it passed every test and held-out example and meets the Occam criterion.
    pub verified: bool,
    /// Why a candidate that reproduces every observed call is not verified: its case
    /// split memorizes the calls ([`crate::occam`]).
    pub fits_only: Option<String>,
}

fn ser_term<S: serde::Serializer>(t: &Term, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&t.to_string())
}

/// The loop's result.
#[derive(Clone, Debug, Serialize)]
pub struct Refined {
    /// The best candidate by reward, if any term was produced.
    pub best: Option<Candidate>,
    /// Every iteration.
    pub history: Vec<IterationRecord>,
    /// Whether the best candidate is verified, only partial, or missing.
    pub status: RefineStatus,
    /// Final training-set size (after counterexamples).
    pub training_examples: usize,
}

/// How the loop ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RefineStatus {
    /// The best candidate passes every test and held-out example.
    Verified,
    /// The best candidate reproduces every observed call, but only by a case split that
    /// memorizes them (see [`Candidate::fits_only`]): it may be wrong on other inputs.
    FitsObserved,
    /// The budget ran out; the best candidate is partial.
    Partial,
    /// No candidate at all.
    NoCandidate,
}

/// What one iteration's evaluation says about the candidates so far, for a guide that
/// learns from it.
#[derive(Clone, Copy, Debug)]
pub struct Feedback<'a> {
    /// The candidate to favour, with a weight in `0..=1`: the share of the training
    /// examples it satisfies.
    pub reinforce: (&'a Term, f64),
    /// Earlier candidates that scored lower, each with a weight in `0..=1`
    /// (`1 − its reward`): what they use and the favoured one does not is disfavoured.
    pub penalize: &'a [(Term, f64)],
    /// Step size (`RefineConfig::learning_rate`).
    pub learning_rate: f64,
}

/// A guide the refinement loop updates between iterations.
pub trait AdaptiveGuide: Guide {
    /// Takes one step from `feedback`; returns what changed, as `(name, new value)`
    /// pairs for the iteration's report.
    fn update(&mut self, feedback: &Feedback<'_>) -> Vec<(String, f64)>;
}

/// A guide that adds learned per-operator weights to a base guide's costs, as −log p of
/// a softmax over the weights: the most favoured operator keeps its base cost, the others
/// pay `round(max − w)` more. Leaves (variables, constants) keep their base cost.
pub struct WeightedGuide<G> {
    base: G,
    weights: HashMap<String, f64>,
    max: f64,
}

impl<G: Guide> WeightedGuide<G> {
    /// No adjustments yet.
    #[must_use]
    pub fn new(base: G) -> WeightedGuide<G> {
        WeightedGuide { base, weights: HashMap::new(), max: 0.0 }
    }

    /// Adds `delta` to `op`'s weight.
    pub fn step(&mut self, op: &str, delta: f64) -> f64 {
        let w = self.weights.entry(op.to_string()).or_insert(0.0);
        *w += delta;
        let w = *w;
        self.max = self.weights.values().copied().fold(0.0, f64::max);
        w
    }

    /// The current weight of `op`.
    #[must_use]
    pub fn weight(&self, op: &str) -> f64 {
        self.weights.get(op).copied().unwrap_or(0.0)
    }
}

impl<G: Guide> Guide for WeightedGuide<G> {
    fn production_cost(&self, info: &ProductionInfo<'_>) -> u32 {
        let base = self.base.production_cost(info);
        let op = &info.production.node(info.production.root()).op;
        if op.is_leaf() || info.holes == 0 {
            return base;
        }
        let extra = (self.max - self.weight(&op.name())).round().max(0.0);
        (f64::from(base) + extra).clamp(1.0, 16.0) as u32
    }

    fn proposed_constants(&self, sort: Sort) -> Vec<Value> {
        self.base.proposed_constants(sort)
    }
}

impl<G: Guide> AdaptiveGuide for WeightedGuide<G> {
    /// Operators of the favoured term gain `learning_rate × weight`; operators only the
    /// penalized terms use lose `learning_rate × their weight`.
    fn update(&mut self, feedback: &Feedback<'_>) -> Vec<(String, f64)> {
        let (term, weight) = feedback.reinforce;
        let ops = operators(term);
        let mut changed = Vec::new();
        for op in &ops {
            let w = self.step(op, feedback.learning_rate * weight);
            changed.push((op.clone(), w));
        }
        for (old, old_weight) in feedback.penalize {
            for op in operators(old).iter().filter(|o| !ops.contains(o)) {
                let w = self.step(op, -feedback.learning_rate * old_weight);
                changed.push((op.clone(), w));
            }
        }
        changed
    }
}

/// The operator names (not leaves) a term uses, once each.
fn operators(term: &Term) -> Vec<String> {
    let mut ops: Vec<String> =
        term.nodes().iter().filter(|n| !matches!(n.op, Op::Var(_) | Op::Const(_))).map(|n| n.op.name()).collect();
    ops.sort();
    ops.dedup();
    ops
}

/// Which of `examples` the term reproduces (by the interpreter; errors count as wrong).
///
/// # Errors
/// [`Error::Spec`] when the examples do not fit the problem's signature.
pub fn agreement_mask(problem: &Problem, term: &Term, examples: &[Example]) -> Result<Vec<bool>, Error> {
    if examples.is_empty() {
        return Ok(Vec::new());
    }
    let mut p = problem.clone();
    p.examples = examples.to_vec();
    p.grammar = None;
    let n = p.examples.len();
    let columns = p.input_columns();
    let vars: Vec<(&str, &Column)> = p.params.iter().map(|q| q.name.as_str()).zip(columns.iter()).collect();
    Ok(eval_term(term, &vars, &p.funs, n).map_or_else(|_| vec![false; n], |out| out.eq_mask(&p.output_column())))
}

/// Runs the loop on `problem` (its examples are the training set) with `held_out`
/// examples kept back; `guide` prices the productions and is updated between iterations
/// (wrap a plain guide in [`WeightedGuide`]); `on_iteration` sees each iteration as it
/// ends.
///
/// # Errors
/// When the problem cannot be searched or code cannot be emitted or verified at all; a
/// budget that runs out is not an error ([`RefineStatus::Partial`]).
pub fn refine(
    problem: &Problem,
    held_out: &[Example],
    config: &RefineConfig,
    guide: &mut dyn AdaptiveGuide,
    cancel: &CancelToken,
    on_iteration: &mut dyn FnMut(&IterationRecord),
) -> Result<Refined, Error> {
    let start = Instant::now();
    let mut training = problem.clone();
    training.validate_examples()?;
    let mut held: Vec<Example> = held_out.to_vec();
    let all: Vec<Example> = training.examples.iter().chain(held_out).cloned().collect();
    let mut history: Vec<IterationRecord> = Vec::new();
    let mut best: Option<Candidate> = None;
    let mut smallest_passing: Option<usize> = None;
    let mut earlier: Vec<(Term, f64)> = Vec::new();
    let max_iterations = config.max_iterations.max(1);
    for iteration in 1..=max_iterations {
        let left = config.budget.saturating_sub(start.elapsed());
        if left.is_zero() || cancel.is_cancelled() {
            break;
        }
        // Half of what is left per iteration (all of it in the last), so a first search
        // that succeeds gets most of the budget and later ones still get a share.
        let share = if iteration == max_iterations { left } else { left / 2 };
        let limits = SearchLimits { timeout: share, ..config.search.clone() };
        let searched = Instant::now();
        let outcome = synthesize(&training, &limits, &*guide, cancel)?;
        let search_secs = searched.elapsed().as_secs_f64();
        let terms_enumerated = outcome.stats().terms_enumerated;
        let (kind, term) = match outcome {
            SearchOutcome::Found { term, .. } => ("found", Some(term)),
            SearchOutcome::Exhausted { best: b, .. } | SearchOutcome::BudgetExceeded { best: b, .. } => {
                ("partial", b.map(|p| p.term))
            }
        };
        let Some(term) = term else {
            let record = IterationRecord {
                iteration,
                outcome: "none".into(),
                term: None,
                training: (0, training.examples.len()),
                held_out: (0, held.len()),
                tests: (0, 0),
                warnings: 0,
                size: 0,
                reward: Reward::default(),
                terms_enumerated,
                search_secs,
                counterexamples_added: 0,
                weight_updates: Vec::new(),
            };
            on_iteration(&record);
            history.push(record);
            continue;
        };
        let train_mask = agreement_mask(&training, &term, &training.examples)?;
        let train_ok = train_mask.iter().filter(|b| **b).count();
        let held_mask = agreement_mask(&training, &term, &held)?;
        let held_ok = held_mask.iter().filter(|b| **b).count();
        let held_total = held.len();
        // Emitted over every call, so that an integer view's box is all that was observed.
        let observed = Problem { examples: all.clone(), ..training.clone() };
        let code = emit::emit_function(config.lang, &observed, &term)?;
        let tests = emit::emit_tests(config.lang, &training, &term, &all)?;
        let mut report = verify::verify(config.lang, &code, &tests, &config.verify)?;
        report.term_size = Some(term.size());
        report.term_depth = Some(term.depth());
        let fits = report.passed() && held_ok == held.len();
        let judged = crate::occam::judge(&term, &observed);
        let fits_only = match judged {
            crate::occam::Verdict::Memorizes(why) if fits => Some(why),
            _ => None,
        };
        let passes = fits && fits_only.is_none();
        if passes {
            smallest_passing = Some(smallest_passing.map_or(term.size(), |s| s.min(term.size())));
        }
        let reward = Reward::of((held_ok, held.len()), &report, term.size(), smallest_passing);
        // Update: counterexamples into training, then one update step of the guide.
        let mut moved = 0;
        let mut weight_updates = Vec::new();
        if reward.total < config.threshold && !passes {
            // Every other wrong held-out example becomes a counterexample; the rest stay
            // held out, so a candidate that merely memorises its training set (a decision
            // tree grown around each counterexample) cannot pass as verified.
            let mut keep = Vec::with_capacity(held.len());
            let mut wrong = 0usize;
            for (ex, ok) in held.drain(..).zip(held_mask) {
                let validation = !ok && {
                    wrong += 1;
                    wrong.is_multiple_of(2)
                };
                if ok || validation {
                    keep.push(ex);
                } else {
                    training.examples.push(ex);
                    moved += 1;
                }
            }
            held = keep;
            let frac = train_ok as f64 / training.examples.len().max(1) as f64;
            let lower: Vec<(Term, f64)> =
                earlier.iter().filter(|(_, r)| *r < reward.total).map(|(t, r)| (t.clone(), 1.0 - r)).collect();
            weight_updates = guide.update(&Feedback {
                reinforce: (&term, frac),
                penalize: &lower,
                learning_rate: config.learning_rate,
            });
            earlier.push((term.clone(), reward.total));
        }
        let record = IterationRecord {
            iteration,
            outcome: kind.into(),
            term: Some(term.to_string()),
            training: (train_ok, train_mask.len()),
            held_out: (held_ok, held_total),
            tests: (report.tests_passed, report.tests_total),
            warnings: report.warnings.len(),
            size: term.size(),
            reward,
            terms_enumerated,
            search_secs,
            counterexamples_added: moved,
            weight_updates,
        };
        on_iteration(&record);
        history.push(record);
        let candidate = Candidate {
            term,
            code,
            tests,
            report,
            held_out: (held_ok, held_total),
            reward,
            verified: passes,
            fits_only,
        };
        let memorizes = candidate.fits_only.is_some();
        if best.as_ref().is_none_or(|b| candidate.reward.total > b.reward.total) {
            best = Some(candidate);
        }
        // A memorizing tree that reproduces everything: the search already had its chance
        // to find a rule for the same calls.
        if passes || memorizes || reward.total >= config.threshold {
            break;
        }
    }
    let status = match &best {
        Some(b) if b.verified => RefineStatus::Verified,
        Some(b) if b.fits_only.is_some() => RefineStatus::FitsObserved,
        Some(_) => RefineStatus::Partial,
        None => RefineStatus::NoCandidate,
    };
    Ok(Refined { best, history, status, training_examples: training.examples.len() })
}

#[cfg(test)]
mod tests;
