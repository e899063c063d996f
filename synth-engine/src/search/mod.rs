//! Bottom-up enumerative search with observational equivalence,
//! divide and conquer for conditionals, and CEGIS for reference specs.
//!
//! ```
//! use synth_engine::search::{synthesize, CancelToken, SearchLimits, SearchOutcome, UniformGuide};
//! use synth_engine::spec::sygus;
//!
//! let p = sygus::parse(
//!     "(synth-fun f ((x (_ BitVec 32))) (_ BitVec 32)
//!        ((Start (_ BitVec 32))) ((Start (_ BitVec 32) (x #x00000001 (bvand Start Start) (bvsub Start Start)))))
//!      (constraint (= (f #x0000000c) #x00000008))
//!      (constraint (= (f #x00000007) #x00000006))
//!      (constraint (= (f #x00000010) #x00000000))",
//! ).unwrap().problem;
//! let out = synthesize(&p, &SearchLimits::default(), &UniformGuide, &CancelToken::new()).unwrap();
//! let SearchOutcome::Found { term, .. } = out else { panic!() };
//! assert_eq!(term.to_string(), "(bvand x (bvsub x #x00000001))");
//! ```

mod description;
pub(crate) mod dnc;
mod enumerate;
mod fitted;
pub(crate) mod grammar;
mod guide;
mod round;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use thiserror::Error;

use crate::dsl::{EvalError, Term};
use crate::spec::{cegis, Grammar, Problem};
use enumerate::{Enumerator, Stop};

pub use description::{description_numbers, description_strings, description_thresholds};
pub use grammar::{default_grammar, harvest_constants};
pub use guide::{Guide, ProductionInfo, UniformGuide};

/// A search that cannot start (the problem is not searchable as given).
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum SearchError {
    /// The problem has neither examples nor a reference implementation.
    #[error("the problem has no examples and no reference implementation")]
    NoSpecification,
    /// The examples do not fit the signature or contradict each other.
    #[error("invalid examples: {0}")]
    InvalidExamples(#[from] crate::spec::SpecError),
    /// A grammar production or the reference fails to evaluate.
    #[error("evaluation failed while preparing the search: {0}")]
    Eval(#[from] EvalError),
}

/// Limits on one search. `Default` gives 10 s, 2 GiB, 200 M terms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchLimits {
    /// Wall-clock limit.
    pub timeout: Duration,
    /// Approximate limit on the memory used by kept terms, in bytes.
    pub max_memory_bytes: usize,
    /// Limit on the number of terms evaluated.
    pub max_terms: u64,
    /// Largest term cost enumerated.
    pub max_cost: u32,
    /// CEGIS: number of initial sampled inputs.
    pub cegis_samples: usize,
    /// CEGIS: random inputs tried when checking a candidate.
    pub cegis_checks: usize,
    /// Seed for sampling.
    pub seed: u64,
    /// Whether to use divide and conquer when the grammar has a conditional.
    pub divide_and_conquer: bool,
    /// Refuse decision trees that fail the Occam criterion ([`crate::occam`]) and keep
    /// searching; the smallest such tree is then only the best partial answer. Off for
    /// specifications that are the examples themselves (SyGuS PBE), on where the examples
    /// are a sample of a function's behaviour.
    pub occam: bool,
    /// With `occam`: the fewest examples that must reach each leaf of a case split.
    pub leaf_support: usize,
    /// With `occam`: a refused case split still beats a program without one that is
    /// larger (minimum description length: of two guesses, the shorter), so the search
    /// does not trade `if contains(a, b): "yes" else: "no"` for a contrived formula.
    pub occam_by_size: bool,
}

impl SearchLimits {
    /// Limits for examples a user wrote (`synth --examples`): `timeout`, and the Occam
    /// criterion with [`crate::occam::EXAMPLES_LEAF_SUPPORT`] examples per leaf, since a
    /// case split with a branch per example fits any examples and says nothing of others.
    #[must_use]
    pub fn for_examples(timeout: Duration) -> SearchLimits {
        SearchLimits {
            timeout,
            occam: true,
            leaf_support: crate::occam::EXAMPLES_LEAF_SUPPORT,
            occam_by_size: true,
            ..SearchLimits::default()
        }
    }
}

impl Default for SearchLimits {
    fn default() -> SearchLimits {
        SearchLimits {
            timeout: Duration::from_secs(10),
            max_memory_bytes: 2 << 30,
            max_terms: 200_000_000,
            max_cost: 64,
            cegis_samples: 64,
            cegis_checks: 100_000,
            seed: 0x5eed,
            divide_and_conquer: true,
            occam: false,
            leaf_support: crate::occam::MIN_LEAF_SUPPORT,
            occam_by_size: false,
        }
    }
}

/// A cancellation flag shared with another thread. A [`CancelToken::child`]
/// is also cancelled by its parent.
#[derive(Clone, Debug, Default)]
pub struct CancelToken {
    own: Arc<AtomicBool>,
    parents: Vec<Arc<AtomicBool>>,
}

impl CancelToken {
    /// A fresh, uncancelled token.
    #[must_use]
    pub fn new() -> CancelToken {
        CancelToken::default()
    }

    /// A token that [`CancelToken::cancel`] on it or on `self` (or on any of
    /// `self`'s parents) cancels; cancelling it leaves `self` as it is.
    #[must_use]
    pub fn child(&self) -> CancelToken {
        let mut parents = self.parents.clone();
        parents.push(Arc::clone(&self.own));
        CancelToken { own: Arc::default(), parents }
    }

    /// Asks every search holding this token (or a child of it) to stop.
    pub fn cancel(&self) {
        self.own.store(true, Ordering::Relaxed);
    }

    /// Whether this token or one of its parents was cancelled.
    #[must_use]
    pub fn is_cancelled(&self) -> bool {
        self.own.load(Ordering::Relaxed) || self.parents.iter().any(|p| p.load(Ordering::Relaxed))
    }
}

impl From<Arc<AtomicBool>> for CancelToken {
    fn from(flag: Arc<AtomicBool>) -> CancelToken {
        CancelToken { own: flag, parents: Vec::new() }
    }
}

/// Which budget ran out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Budget {
    /// The wall-clock limit.
    Time,
    /// The memory limit.
    Memory,
    /// The term-count limit.
    Terms,
    /// Cancelled from another thread.
    Cancelled,
}

/// Counters of one search.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SearchStats {
    /// Terms evaluated.
    pub terms_enumerated: u64,
    /// Terms kept after observational-equivalence pruning.
    pub terms_kept: u64,
    /// Largest cost level reached.
    pub max_cost: u32,
    /// Decision-tree learning attempts.
    pub dnc_attempts: u64,
    /// Solutions assembled by concatenation decomposition.
    pub concat_solutions: u64,
    /// CEGIS rounds (0 for example-only problems).
    pub cegis_rounds: u32,
    /// Examples used in the last round.
    pub examples: usize,
    /// Wall-clock time.
    #[serde(serialize_with = "ser_duration")]
    pub elapsed: Duration,
}

fn ser_duration<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

/// The best term found when no full solution was: it satisfies
/// `satisfied` of `total` examples.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Partial {
    /// The term.
    pub term: Term,
    /// Examples it satisfies.
    pub satisfied: usize,
    /// Examples in total.
    pub total: usize,
}

/// The result of a search.
#[derive(Clone, Debug)]
pub enum SearchOutcome {
    /// A term satisfying the whole specification.
    Found {
        /// The solution.
        term: Term,
        /// Counters.
        stats: SearchStats,
    },
    /// Every term up to the cost limit was tried without success.
    Exhausted {
        /// Best partial solution.
        best: Option<Partial>,
        /// Counters.
        stats: SearchStats,
    },
    /// A budget ran out first.
    BudgetExceeded {
        /// Which one.
        budget: Budget,
        /// Best partial solution.
        best: Option<Partial>,
        /// Counters.
        stats: SearchStats,
    },
}

impl SearchOutcome {
    /// The counters, whatever the outcome.
    #[must_use]
    pub fn stats(&self) -> &SearchStats {
        match self {
            SearchOutcome::Found { stats, .. }
            | SearchOutcome::Exhausted { stats, .. }
            | SearchOutcome::BudgetExceeded { stats, .. } => stats,
        }
    }

    /// The solution, if found.
    #[must_use]
    pub fn term(&self) -> Option<&Term> {
        match self {
            SearchOutcome::Found { term, .. } => Some(term),
            _ => None,
        }
    }
}

/// Synthesizes a term for `problem` within `limits`, with production costs
/// from `guide`; `cancel` stops it from another thread.
///
/// Example problems are solved by enumeration (plus divide and conquer when
/// the grammar has a conditional). Problems with a reference implementation
/// run CEGIS: sample inputs, solve them, check the candidate on many fresh
/// inputs, add the counterexample, repeat.
///
/// # Errors
///
/// [`SearchError`] when the problem cannot be searched (no specification,
/// a grammar production that does not evaluate).
pub fn synthesize(
    problem: &Problem,
    limits: &SearchLimits,
    guide: &dyn Guide,
    cancel: &CancelToken,
) -> Result<SearchOutcome, SearchError> {
    let start = Instant::now();
    // Problems may be built by hand: check them here so the search cannot panic on them.
    let mut p = problem.clone();
    p.validate_examples()?;
    if p.reference.is_none() {
        if p.examples.is_empty() {
            return Err(SearchError::NoSpecification);
        }
        return pbe(&p, limits, guide, cancel, start, 0);
    }
    let inputs = cegis::sample_inputs(&p, limits.cegis_samples, limits.seed);
    let mut examples = cegis::label(&p, &inputs)?;
    examples.extend(p.examples.iter().cloned());
    p.examples = examples;
    p.validate_examples()?;
    let mut round = 0u32;
    loop {
        round += 1;
        let out = pbe(&p, limits, guide, cancel, start, round)?;
        let SearchOutcome::Found { term, mut stats } = out else {
            return Ok(out);
        };
        let seed = limits.seed.wrapping_add(u64::from(round));
        match cegis::find_counterexample(&p, &term, limits.cegis_checks, seed)? {
            None => {
                stats.elapsed = start.elapsed();
                return Ok(SearchOutcome::Found { term, stats });
            }
            Some(cex) => p.examples.push(cex),
        }
    }
}

/// Whether `a` and `b` would search `problem` alike: the same grammar (with the
/// constants each proposes, when the search builds the grammar) at the same costs.
/// A caller that could switch guides mid-search keeps the search it has when they do.
///
/// # Errors
///
/// As [`synthesize`], for a problem it could not start on.
pub fn same_search(problem: &Problem, a: &dyn Guide, b: &dyn Guide) -> Result<bool, SearchError> {
    let mut p = problem.clone();
    p.validate_examples()?;
    let inputs = p.input_columns();
    let priced = |guide: &dyn Guide| -> Result<Vec<(Term, u32)>, SearchError> {
        let g = grammar::compile(&p, &search_grammar(&p, guide), guide, &inputs)?;
        Ok(g.nts.into_iter().flat_map(|nt| nt.prods.into_iter().map(|prod| (prod.print, prod.cost))).collect())
    };
    Ok(priced(a)? == priced(b)?)
}

/// The grammar a search of `problem` with `guide` enumerates: the one the problem
/// gives, as it is, or the default one with the constants `guide` proposes.
fn search_grammar(problem: &Problem, guide: &dyn Guide) -> Grammar {
    match &problem.grammar {
        Some(g) => g.clone(),
        None => grammar::with_proposed_constants(default_grammar(problem), guide),
    }
}

fn pbe(
    problem: &Problem,
    limits: &SearchLimits,
    guide: &dyn Guide,
    cancel: &CancelToken,
    start: Instant,
    round: u32,
) -> Result<SearchOutcome, SearchError> {
    let grammar = search_grammar(problem, guide);
    let inputs = problem.input_columns();
    let g = grammar::compile(problem, &grammar, guide, &inputs)?;
    let target = problem.output_column();
    let mut en = Enumerator::new(&g, &problem.funs, &target, limits, cancel, start, limits.divide_and_conquer);
    let stop = en.run();
    let mut stats = en.stats.clone();
    stats.cegis_rounds = round;
    stats.examples = problem.examples.len();
    stats.elapsed = start.elapsed();
    // A tree the Occam criterion refused still fits every example: the best partial answer.
    let n = problem.examples.len();
    let best = || match en.memorizing_tree() {
        Some(tree) => Some(Partial { term: tree.clone(), satisfied: n, total: n }),
        None => en.best_partial(),
    };
    let out = match stop {
        Stop::Found(term) => {
            let shorter = en.memorizing_tree().filter(|m| limits.occam_by_size && m.size() < term.size());
            SearchOutcome::Found { term: shorter.cloned().unwrap_or(term), stats }
        }
        Stop::Exhausted => SearchOutcome::Exhausted { best: best(), stats },
        Stop::Budget(budget) => SearchOutcome::BudgetExceeded { budget, best: best(), stats },
    };
    en.release();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsl::{Op, Sort, Value};
    use crate::spec::{sygus, Example, Param, TypeSpec};

    /// Uniform costs, proposing one constant.
    struct Proposes(Value);

    impl Guide for Proposes {
        fn production_cost(&self, _info: &ProductionInfo<'_>) -> u32 {
            1
        }

        fn proposed_constants(&self, sort: Sort) -> Vec<Value> {
            if self.0.sort() == sort {
                vec![self.0.clone()]
            } else {
                Vec::new()
            }
        }
    }

    fn masked(grammar: Option<&str>) -> Problem {
        let mut p = match grammar {
            Some(g) => sygus::parse(g).unwrap().problem,
            None => Problem::new(
                "f",
                vec![Param { name: "x".into(), ty: TypeSpec::parse("u32").unwrap() }],
                TypeSpec::parse("u32").unwrap(),
            ),
        };
        p.examples = [0xdead_beefu64, 0xffff_ffff, 0x1234_0000, 7]
            .iter()
            .map(|&x| Example { args: vec![Value::bv(32, x)], output: Value::bv(32, x & 0x00f0_0f00) })
            .collect();
        p
    }

    #[test]
    fn a_child_token_follows_its_parent_but_not_the_other_way() {
        let parent = CancelToken::new();
        let child = parent.child();
        let grandchild = child.child();
        child.cancel();
        assert!(child.is_cancelled() && grandchild.is_cancelled());
        assert!(!parent.is_cancelled());
        let other = parent.child();
        parent.cancel();
        assert!(other.is_cancelled());
    }

    /// Outputs with no rule behind them: a lookup table of 12 calls.
    const LOOKUP: &str = r#"{"function": "f", "params": [{"name": "x", "type": "i32"}], "output_type": "i32", "examples": [
        {"args": [3], "output": 91}, {"args": [8], "output": 17}, {"args": [15], "output": 64}, {"args": [22], "output": 5},
        {"args": [29], "output": 77}, {"args": [36], "output": 40}, {"args": [43], "output": 12}, {"args": [50], "output": 99},
        {"args": [57], "output": 33}, {"args": [64], "output": 58}, {"args": [71], "output": 21}, {"args": [78], "output": 86}]}"#;

    #[test]
    fn with_occam_a_memorizing_tree_is_only_the_best_partial_answer() {
        let p = crate::spec::Examples::from_json(LOOKUP).unwrap().to_problem().unwrap();
        let quick = SearchLimits { timeout: std::time::Duration::from_secs(5), ..SearchLimits::default() };
        let plain = synthesize(&p, &quick, &UniformGuide, &CancelToken::new()).unwrap();
        let tree = plain.term().expect("without the criterion a decision tree fits the table").clone();
        assert!(!crate::occam::judge(&tree, &p).passes(), "{tree}");
        let occam = SearchLimits { occam: true, ..quick };
        let out = synthesize(&p, &occam, &UniformGuide, &CancelToken::new()).unwrap();
        assert!(out.term().is_none(), "refused: {:?}", out.term().map(ToString::to_string));
        let (SearchOutcome::Exhausted { best: Some(best), .. }
        | SearchOutcome::BudgetExceeded { best: Some(best), .. }) = out
        else {
            panic!("a best partial answer")
        };
        assert_eq!((best.satisfied, best.total), (12, 12), "the refused tree still fits: {}", best.term);
    }

    #[test]
    fn with_occam_a_rule_with_supported_branches_is_found() {
        let rows: Vec<String> =
            (0..24).map(|x| format!(r#"{{"args": [{x}], "output": {}}}"#, if x < 10 { 0 } else { 5 })).collect();
        let json = format!(
            r#"{{"function": "f", "params": [{{"name": "x", "type": "i32"}}], "output_type": "i32", "examples": [{}]}}"#,
            rows.join(",")
        );
        let p = crate::spec::Examples::from_json(&json).unwrap().to_problem().unwrap();
        let occam = SearchLimits { occam: true, timeout: std::time::Duration::from_secs(5), ..SearchLimits::default() };
        let out = synthesize(&p, &occam, &UniformGuide, &CancelToken::new()).unwrap();
        let term = out.term().expect("a two-way rule passes");
        assert!(crate::occam::judge(term, &p).passes(), "{term}");
    }

    #[test]
    fn proposed_constants_join_the_default_grammar_only() {
        let limits = SearchLimits { max_cost: 4, ..SearchLimits::default() };
        let mask = Proposes(Value::bv(32, 0x00f0_0f00));
        let p = masked(None);
        // Not within cost 4 from 0, 1, all ones and x alone.
        let plain = synthesize(&p, &limits, &UniformGuide, &CancelToken::new()).unwrap();
        assert!(plain.term().is_none(), "{:?}", plain.term().map(ToString::to_string));
        let out = synthesize(&p, &limits, &mask, &CancelToken::new()).unwrap();
        assert_eq!(out.term().map(ToString::to_string).as_deref(), Some("(bvand x #x00f00f00)"));
        // A grammar the problem gives stays as it is.
        let given = masked(Some(
            "(synth-fun f ((x (_ BitVec 32))) (_ BitVec 32) ((Start (_ BitVec 32))) ((Start (_ BitVec 32) (x #x00000001 (bvand Start Start)))))
             (constraint (= (f #x00000007) #x00000000))",
        ));
        let out = synthesize(&given, &limits, &mask, &CancelToken::new()).unwrap();
        assert!(out.term().is_none(), "{:?}", out.term().map(ToString::to_string));
    }

    /// Uniform costs, but `bvand` costs 3.
    struct DearAnd;

    impl Guide for DearAnd {
        fn production_cost(&self, info: &ProductionInfo<'_>) -> u32 {
            let t = info.production;
            if !t.is_empty() && matches!(&t.node(t.root()).op, Op::BvAnd) {
                3
            } else {
                1
            }
        }
    }

    #[test]
    fn same_search_compares_the_priced_grammars() {
        let mask = Proposes(Value::bv(32, 0x00f0_0f00));
        let p = masked(None);
        assert!(same_search(&p, &UniformGuide, &UniformGuide).unwrap());
        // A proposed constant changes the grammar the search builds, a price the costs.
        assert!(!same_search(&p, &UniformGuide, &mask).unwrap());
        assert!(!same_search(&p, &UniformGuide, &DearAnd).unwrap());
        // A given grammar takes no proposed constants: the same search.
        let given = masked(Some(
            "(synth-fun f ((x (_ BitVec 32))) (_ BitVec 32) ((Start (_ BitVec 32))) ((Start (_ BitVec 32) (x #x00000001 (bvand Start Start)))))
             (constraint (= (f #x00000007) #x00000000))",
        ));
        assert!(same_search(&given, &UniformGuide, &mask).unwrap());
        assert!(!same_search(&given, &UniformGuide, &DearAnd).unwrap());
        // Contradicting examples are an error, not a panic.
        let mut bad = p.clone();
        bad.examples.push(Example { args: vec![Value::bv(32, 7)], output: Value::bv(32, 1) });
        assert!(same_search(&bad, &UniformGuide, &UniformGuide).is_err());
    }
}
