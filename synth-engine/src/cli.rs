//! Clap-free entry points for the `tracesynth synth` verb, so the command
//! line wrapper stays trivial.

use std::path::Path;
use std::time::Duration;

use crate::emit;
use crate::search::{synthesize, CancelToken, SearchError, SearchLimits, SearchOutcome, UniformGuide};
use crate::spec::sygus;
use crate::spec::Problem;
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
    run_sygus_guided(path, timeout, &uniform)
}

/// Searches a parsed problem within limits: [`synthesize`] with some guide
/// (e.g. a learned one that reads its examples and description).
pub type SearchWith<'a> = &'a dyn Fn(&Problem, &SearchLimits) -> Result<SearchOutcome, SearchError>;

/// The [`SearchWith`] of uniform costs.
fn uniform(problem: &Problem, limits: &SearchLimits) -> Result<SearchOutcome, SearchError> {
    synthesize(problem, limits, &UniformGuide, &CancelToken::new())
}

/// [`run_sygus`], searching with `search`.
///
/// # Errors
///
/// As [`run_sygus`].
pub fn run_sygus_guided(path: impl AsRef<Path>, timeout: Duration, search: SearchWith<'_>) -> Result<String, Error> {
    let text = read(path.as_ref())?;
    let problem = sygus::parse(&text)?.problem;
    let limits = SearchLimits { timeout, ..SearchLimits::default() };
    let outcome = search(&problem, &limits)?;
    match outcome {
        SearchOutcome::Found { term, .. } => Ok(emit::to_define_fun(&problem, &term)),
        other => Err(Error::NoSolution(describe_failure(&other))),
    }
}

fn describe_failure(o: &SearchOutcome) -> String {
    let (why, best) = match o {
        SearchOutcome::Found { .. } => ("found".to_string(), None),
        SearchOutcome::Exhausted { best, .. } => ("search space exhausted".to_string(), best.as_ref()),
        SearchOutcome::BudgetExceeded { budget, best, .. } => {
            (format!("{budget:?} budget exceeded").to_lowercase(), best.as_ref())
        }
    };
    let why = format!("{why} after {:.2} s", o.stats().elapsed.as_secs_f64());
    match best {
        Some(b) => format!("{why}; best term satisfies {}/{} examples: {}", b.satisfied, b.total, b.term),
        None => why,
    }
}

/// What `tracesynth synth --examples` produces: the solution, the code,
/// the tests and the quality report.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ExamplesRun {
    /// Function name.
    pub function: String,
    /// Target language.
    pub lang: emit::Lang,
    /// The solution as an s-expression.
    pub term: String,
    /// The solution in SyGuS form.
    pub define_fun: String,
    /// The emitted function.
    pub code: String,
    /// The emitted tests.
    pub tests: String,
    /// The verification report.
    pub report: crate::verify::QualityReport,
    /// Search counters.
    pub stats: crate::search::SearchStats,
}

/// `tracesynth synth --examples FILE.json --lang L [--describe TEXT] [--out DIR]`
/// with a 10 s search budget; see [`run_examples_with`].
///
/// # Errors
///
/// As [`run_examples_with`].
pub fn run_examples(
    path: impl AsRef<Path>,
    lang: emit::Lang,
    describe: Option<&str>,
    out_dir: Option<&Path>,
) -> Result<ExamplesRun, Error> {
    run_examples_with(path, lang, describe, out_dir, &SearchLimits::for_examples(Duration::from_secs(10)))
}

/// Synthesizes a function from a JSON examples file, emits it with unit
/// tests in `lang`, verifies it, and, when `out_dir` is given, writes the
/// code, the tests and `report.json` there.
///
/// # Errors
///
/// Unreadable or invalid examples (naming the example), no solution within
/// the budget, an operator the language emitter cannot express, or files
/// that cannot be written.
pub fn run_examples_with(
    path: impl AsRef<Path>,
    lang: emit::Lang,
    describe: Option<&str>,
    out_dir: Option<&Path>,
    limits: &SearchLimits,
) -> Result<ExamplesRun, Error> {
    run_examples_guided(path, lang, describe, out_dir, limits, &uniform)
}

/// [`run_examples_with`], searching with `search` (the problem carries the
/// description).
///
/// # Errors
///
/// As [`run_examples_with`].
pub fn run_examples_guided(
    path: impl AsRef<Path>,
    lang: emit::Lang,
    describe: Option<&str>,
    out_dir: Option<&Path>,
    limits: &SearchLimits,
    search: SearchWith<'_>,
) -> Result<ExamplesRun, Error> {
    let text = read(path.as_ref())?;
    let mut problem = crate::spec::Examples::from_json(&text)?.to_problem()?;
    if let Some(d) = describe {
        problem.description = Some(d.to_string());
    }
    let outcome = search(&problem, limits)?;
    let (term, stats) = match outcome {
        SearchOutcome::Found { term, stats } => (term, stats),
        // Only a case split the Occam criterion refused fits them all: that, said so.
        SearchOutcome::Exhausted { best: Some(best), stats }
        | SearchOutcome::BudgetExceeded { best: Some(best), stats, .. }
            if limits.occam && best.satisfied == best.total =>
        {
            (best.term, stats)
        }
        other => return Err(Error::NoSolution(describe_failure(&other))),
    };
    // A case split the Occam criterion refused: the answer only when nothing shorter fits.
    let memorizes = match crate::occam::judge_with(&term, &problem, limits.leaf_support) {
        crate::occam::Verdict::Memorizes(why) if limits.occam => Some(why),
        _ => None,
    };
    let code = emit::emit_function(lang, &problem, &term)?;
    let tests = emit::emit_tests(lang, &problem, &term, &problem.examples)?;
    let mut report = crate::verify::verify(lang, &code, &tests, &crate::verify::VerifyLimits::default())?;
    if let Some(why) = memorizes {
        report.notes.push(format!(
            "fits the examples only by {why}: no shorter rule without it was found in the time given, so \
             other inputs may well get other answers; more examples of each case would tell"
        ));
    }
    report.term_size = Some(term.size());
    report.term_depth = Some(term.depth());
    let run = ExamplesRun {
        function: problem.name.clone(),
        lang,
        term: term.to_string(),
        define_fun: emit::to_define_fun(&problem, &term),
        code,
        tests,
        report,
        stats,
    };
    if let Some(dir) = out_dir {
        write_outputs(dir, lang, &run.code, &run.tests, &serde_json::to_string_pretty(&run).unwrap_or_default())?;
    }
    Ok(run)
}

/// Writes the code, the tests and `report.json` into `dir` (created if needed).
fn write_outputs(dir: &Path, lang: emit::Lang, code: &str, tests: &str, report: &str) -> Result<(), Error> {
    let io = |p: &Path, e: std::io::Error| Error::Io { path: p.to_path_buf(), source: e };
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    for (name, body) in [(lang.code_file(), code), (lang.test_file(), tests), ("report.json", report)] {
        let p = dir.join(name);
        std::fs::write(&p, body).map_err(|e| io(&p, e))?;
    }
    Ok(())
}

/// What `tracesynth synth --examples` produces for a list task.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ListRun {
    /// Function name.
    pub function: String,
    /// Target language.
    pub lang: emit::Lang,
    /// The program in LambdaBeam's notation.
    pub program: String,
    /// Its size in nodes.
    pub size: usize,
    /// The emitted function.
    pub code: String,
    /// The emitted tests.
    pub tests: String,
    /// The verification report.
    pub report: crate::verify::QualityReport,
    /// Search counters.
    pub stats: crate::lists::ListStats,
}

/// Whether the examples file at `path` is a list task (it names `list[int]` somewhere),
/// for [`run_list_examples`] rather than [`run_examples_guided`].
///
/// # Errors
///
/// An unreadable file or malformed JSON.
pub fn is_list_task(path: impl AsRef<Path>) -> Result<bool, Error> {
    let text = read(path.as_ref())?;
    Ok(crate::lists::is_list_spec(&crate::spec::Examples::from_json(&text)?))
}

/// Synthesizes a list function from a JSON examples file (operators priced by `guide`),
/// emits it with its examples as tests in `lang`, verifies it, and, when `out_dir` is given, writes the code, the tests
/// and `report.json` there.
///
/// # Errors
///
/// Unreadable or invalid examples, no program within `timeout`, a language without a
/// list emitter, or files that cannot be written.
pub fn run_list_examples(
    path: impl AsRef<Path>,
    lang: emit::Lang,
    describe: Option<&str>,
    out_dir: Option<&Path>,
    timeout: Duration,
    guide: &dyn crate::lists::ListGuide,
) -> Result<ListRun, Error> {
    use crate::lists::{self, ListLimits, ListProblem};
    let text = read(path.as_ref())?;
    let mut parts = ListProblem::outputs_from_examples(&crate::spec::Examples::from_json(&text)?)?;
    if let Some(d) = describe {
        for part in &mut parts {
            part.description = Some(d.to_string());
        }
    }
    let limits = ListLimits { timeout, ..ListLimits::default() };
    let (programs, stats) = lists::synthesize_outputs(&parts, &limits, guide, &CancelToken::new()).map_err(|e| {
        let stats = &e.stats;
        let which = if parts.len() > 1 { format!("output `{}`: ", e.output) } else { String::new() };
        Error::NoSolution(format!(
            "{which}{} after {:.2} s ({} candidates, {} values and {} lambda bodies kept, cost {} reached)",
            e.reason,
            stats.elapsed_ms as f64 / 1000.0,
            stats.candidates,
            stats.closed,
            stats.lambdas,
            stats.cost
        ))
    })?;
    let found: Vec<(ListProblem, lists::Expr)> = parts.iter().cloned().zip(programs.iter().cloned()).collect();
    let code = lists::emit_outputs_function(lang, &found)?;
    let tests = lists::emit_outputs_tests(lang, &parts, &lists::joint_examples(&parts))?;
    let report = crate::verify::verify(lang, &code, &tests, &crate::verify::VerifyLimits::default())?;
    let run = ListRun {
        function: parts[0].name.clone(),
        lang,
        program: lists::show_outputs(&parts, &programs),
        size: programs.iter().map(lists::Expr::size).sum(),
        code,
        tests,
        report,
        stats,
    };
    if let Some(dir) = out_dir {
        write_outputs(dir, lang, &run.code, &run.tests, &serde_json::to_string_pretty(&run).unwrap_or_default())?;
    }
    Ok(run)
}
