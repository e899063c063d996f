//! [`guided_search`]: the prior guide's search starts at once and the model's guides
//! join it as they become ready, on a thread of their own; the first search to find a
//! solution stops the others.

use std::path::PathBuf;
use std::sync::{mpsc, Arc, OnceLock};
use std::time::Instant;

use synth_engine::search::{
    same_search, synthesize, Budget, CancelToken, Guide, SearchError, SearchLimits, SearchOutcome,
};
use synth_engine::spec::Problem;

#[cfg(feature = "decoder")]
use crate::decoder::BeamOutcome;
use crate::guide::Guider;
use crate::model::{description, without_description};
use crate::pricing::{LearnedGuide, PriorGuide};
use crate::trace::TraceFeatures;

/// Which guide ran the search whose outcome [`Guider::synthesize`] returns: the one
/// that found a solution, else the newest that ran to its end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GuideUsed {
    /// The [`PriorGuide`] (uniform costs, every common constant): its search found a
    /// solution first, or no learned search ran (the model priced the grammar the
    /// same, or failed).
    Prior,
    /// The model's guide from the examples (and trace features), and the
    /// description's words when there is a description.
    Examples,
    /// The model's guide that also read the description's sentence embedding.
    Description,
    /// No search: the program decoder proposed the term (`Guider::propose`, with the
    /// `decoder` feature).
    Decoder,
}

/// What [`Guider::synthesize`] did.
#[derive(Clone, Debug)]
pub struct GuidedSearch {
    /// The outcome of the search that found a solution, else of the newest that ran to its end.
    pub outcome: SearchOutcome,
    /// The guide of that search.
    pub guide: GuideUsed,
}

/// Where [`guided_search`] gets the model.
#[derive(Clone, Debug)]
pub enum ModelSource {
    /// A model already loaded.
    Loaded(Arc<Guider>),
    /// Weights to load (with the default text encoder) on the helper thread, so a
    /// search that ends first never waits for them. A load that fails leaves the
    /// search to the [`PriorGuide`].
    Load(PathBuf),
}

impl Guider {
    /// [`guided_search`] with this model.
    ///
    /// # Errors
    ///
    /// As [`guided_search`].
    pub fn synthesize(
        self: &Arc<Self>,
        problem: &Problem,
        features: &TraceFeatures,
        limits: &SearchLimits,
        cancel: &CancelToken,
    ) -> Result<GuidedSearch, SearchError> {
        guided_search(ModelSource::Loaded(Arc::clone(self)), problem, features, limits, cancel)
    }
}

/// Searches `problem` with the learned guide, within `limits` in all, without
/// making the search wait for the model, and never losing to the prior guide by
/// more than what sharing the machine costs.
///
/// The search starts at once with the [`PriorGuide`] while a second thread (one
/// core) gets the model (see [`ModelSource`]), runs it on the examples and the
/// description's words (≈ 1–3 ms) and then, if there is a description, on its
/// sentence embedding too (≈ 20 ms more, the sentence encoder).
/// Each guide that prices the grammar otherwise than the one before it (see
/// [`same_search`]) starts a search of its own beside the prior guide's, for the
/// time left; a later guide replaces an earlier one's search. The searches race:
/// the first to find a solution stops the others. Two searches run at a time, so
/// each gets half of `limits.max_memory_bytes`. An easy task costs the model no
/// wall time, and a guide that prices the grammar worse than uniform costs (a
/// grammar unlike the training data's) costs a second core, not the time it took.
/// With the `decoder` feature, once the examples' guide's search has started, the
/// program decoder (when loaded and `Guider::beam` is set) proposes whole terms on the
/// model's thread (`Guider::propose`); one that meets the specification ends every search.
///
/// # Errors
///
/// A search that cannot start. A model that fails is not an error: it leaves
/// the search to the prior guide.
pub fn guided_search(
    model: ModelSource,
    problem: &Problem,
    features: &TraceFeatures,
    limits: &SearchLimits,
    cancel: &CancelToken,
) -> Result<GuidedSearch, SearchError> {
    let start = Instant::now();
    let bare = without_description(problem);
    let described = description(problem).is_some();
    let prior_token = cancel.child();
    // Every learned search holds a child of this; it is cancelled when this search
    // returns, which also tells the helper to start no more model work for it.
    let learned = cancel.child();
    let _stop = CancelOnDrop(learned.clone());
    let half = SearchLimits { max_memory_bytes: limits.max_memory_bytes / 2, ..limits.clone() };
    let (tx, rx) = mpsc::channel::<(GuideUsed, Result<SearchOutcome, SearchError>)>();
    let helper = {
        let (problem, features, half, prior_token, learned) =
            (problem.clone(), features.clone(), half.clone(), prior_token.clone(), learned.clone());
        move || {
            let guider = match model {
                ModelSource::Loaded(g) => g,
                ModelSource::Load(dir) => match Guider::load(dir) {
                    Ok(g) => Arc::new(g),
                    Err(_) => return,
                },
            };
            // The newest learned guide and its search's token.
            let mut running: Option<(LearnedGuide, CancelToken)> = None;
            for used in [GuideUsed::Examples, GuideUsed::Description].into_iter().take(if described { 2 } else { 1 }) {
                if learned.is_cancelled() {
                    return;
                }
                // First the examples and the description's words, then its sentence embedding too.
                let guide = match used {
                    GuideUsed::Description => guider.guide_for(&problem, &features),
                    _ => guider.guide_with_text(&problem, None, &features),
                };
                let Ok(guide) = guide else { return };
                // A guide that would search as the newest one does is not worth a search
                // (common on given grammars, where nothing is proposed).
                let newest: &dyn Guide = running.as_ref().map_or(&PriorGuide, |(g, _)| g);
                if !same_search(&bare, newest, &guide).unwrap_or(false) {
                    if let Some((_, superseded)) = running.take() {
                        superseded.cancel();
                    }
                    let token = learned.child();
                    let rest = SearchLimits { timeout: half.timeout.saturating_sub(start.elapsed()), ..half.clone() };
                    let (problem, search_guide, search_token, prior_token, tx) =
                        (problem.clone(), guide.clone(), token.clone(), prior_token.clone(), tx.clone());
                    let search = move || {
                        let outcome = synthesize(&problem, &rest, &search_guide, &search_token);
                        if matches!(outcome, Ok(SearchOutcome::Found { .. })) {
                            prior_token.cancel();
                        }
                        // The caller may have returned already; that is fine.
                        let _ = tx.send((used, outcome));
                    };
                    if std::thread::Builder::new().name("guided-search".into()).spawn(search).is_err() {
                        return;
                    }
                    running = Some((guide, token));
                }
                #[cfg(feature = "decoder")]
                if used == GuideUsed::Examples && guider.has_decoder() && guider.beam.is_some() {
                    // The decoder proposes whole terms while the searches run.
                    if let Ok(BeamOutcome { found: Some(term), .. }) =
                        guider.propose(&problem, &features, &half, &learned)
                    {
                        prior_token.cancel();
                        learned.cancel();
                        let stats = synth_engine::search::SearchStats {
                            examples: problem.examples.len(),
                            elapsed: start.elapsed(),
                            ..synth_engine::search::SearchStats::default()
                        };
                        let _ = tx.send((GuideUsed::Decoder, Ok(SearchOutcome::Found { term, stats })));
                        return;
                    }
                }
            }
        }
    };
    match model_pool() {
        Some(pool) => pool.spawn(helper),
        None => drop(std::thread::spawn(helper)),
    }
    let prior = synthesize(problem, &half, &PriorGuide, &prior_token)?;
    if matches!(prior, SearchOutcome::Found { .. }) {
        return Ok(GuidedSearch { outcome: prior, guide: GuideUsed::Prior });
    }
    // The prior guide's search gave up or was stopped by a learned search that found a
    // solution: wait for the learned searches (the channel closes when the helper and
    // every search it started are done).
    let mut ended = GuidedSearch { outcome: prior, guide: GuideUsed::Prior };
    for (used, outcome) in rx {
        // The prior guide's search started on the same problem; a learned one that
        // cannot start has nothing to add.
        let Ok(outcome) = outcome else { continue };
        let superseded = matches!(outcome, SearchOutcome::BudgetExceeded { budget: Budget::Cancelled, .. })
            && !cancel.is_cancelled();
        if matches!(outcome, SearchOutcome::Found { .. }) {
            return Ok(GuidedSearch { outcome, guide: used });
        }
        if !superseded {
            ended = GuidedSearch { outcome, guide: used };
        }
    }
    Ok(ended)
}

/// One thread for the model's work beside a search. Left to rayon's global pool,
/// the model's matrix products would take every core, the search's too; and the
/// work left over from a search that has ended would slow the next one.
fn model_pool() -> Option<&'static rayon::ThreadPool> {
    static POOL: OnceLock<Option<rayon::ThreadPool>> = OnceLock::new();
    POOL.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .thread_name(|_| "guide-model".into())
            // A model run that panics ends that run only (rayon would abort the
            // process); the search goes on with the guide it has.
            .panic_handler(|_| {})
            .build()
            .ok()
    })
    .as_ref()
}

/// Waits until the model's thread has finished what searches that have ended left
/// it (at most one model run: it starts nothing new for them). A benchmark calls
/// this between tasks, so each task starts as a lone search would.
pub fn wait_for_model_thread() {
    if let Some(pool) = model_pool() {
        pool.install(|| ());
    }
}

/// Cancels its token when dropped.
struct CancelOnDrop(CancelToken);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}
