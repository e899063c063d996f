//! Which search guide `tracesynth synth` uses.
//!
//! - `--sygus` and `--examples`: by default the learned guide of `synth-model`,
//!   loaded on a helper thread while the search starts with the prior guide
//!   (uniform costs, every common constant), so a task that ends first never
//!   waits for it; a missing model leaves the prior guide, silently. `--guide
//!   learned` loads it first and warns when it is missing; `--guide uniform`
//!   never loads it.
//! - `--pid` and `--session` (the refinement loop, also the daemon's jobs): by
//!   default the learned guide too, loaded before the first search (uniform costs,
//!   silently, when it is not installed); `synth --pid` starts loading it while the
//!   trace is captured. The model is loaded once per process, so a daemon's jobs
//!   share it.

use std::sync::{Arc, OnceLock};

use synth_engine::lists::{ListGuide, UniformListGuide};
use synth_engine::refine::{AdaptiveGuide, WeightedGuide};
use synth_engine::search::{synthesize, CancelToken, SearchError, SearchLimits, SearchOutcome, UniformGuide};
use synth_engine::spec::Problem;
use synth_model::guide::Guider;
use synth_model::lists::guide::{DefaultListGuide, ListModelGuide};
use synth_model::lists::net::ListModelError;
use synth_model::lists::values::ValueScorer;
use synth_model::model::{default_weights_dir, GuideError};
use synth_model::race::{guided_search, ModelSource};
use synth_model::trace::TraceFeatures;

/// The `--guide` choice.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Deserialize, serde::Serialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum GuideChoice {
    /// Every production costs 1 (enumeration by size).
    Uniform,
    /// Costs from the trained model (examples + description).
    Learned,
}

/// Loads the learned model now (`synth --pid` does this while it records, so the
/// search does not wait); a missing model is left for the jobs that ask for it to report.
pub fn preload_model() {
    let _ = shared_model();
}

/// The list model at [`default_weights_dir`], loaded once per process.
static LIST_MODEL: OnceLock<Result<ListModelGuide, ListModelError>> = OnceLock::new();
/// The list value model beside it.
static LIST_VALUES: OnceLock<Option<ValueScorer>> = OnceLock::new();
/// The default list guide over [`LIST_MODEL`] and [`LIST_VALUES`].
static LIST_DEFAULT: OnceLock<DefaultListGuide<'static>> = OnceLock::new();

/// The list search's guide for `choice`: `--guide uniform` uniform costs; `--guide
/// learned` the learned list model's operator prices (uniform costs, with a warning, when
/// it is not installed); by default [`DefaultListGuide`]: the operator model for a task
/// with a description, the core-first prior for one without, searched again with the
/// value model's prices when the prior has found nothing in its share of the time; the
/// prior alone, silently, where a model is not installed.
#[must_use]
pub fn list_guide(choice: Option<GuideChoice>) -> &'static dyn ListGuide {
    if choice == Some(GuideChoice::Uniform) {
        return &UniformListGuide;
    }
    let model = LIST_MODEL.get_or_init(|| ListModelGuide::load(&default_weights_dir()));
    match (model, choice) {
        (Ok(model), Some(GuideChoice::Learned)) => model,
        (Err(e), Some(GuideChoice::Learned)) => {
            eprintln!("warning: learned list guide unavailable ({e}); using uniform costs");
            &UniformListGuide
        }
        (model, _) => LIST_DEFAULT.get_or_init(|| {
            let values = LIST_VALUES.get_or_init(|| ValueScorer::load(&default_weights_dir()).ok());
            DefaultListGuide::new(model.as_ref().ok(), values.as_ref())
        }),
    }
}

/// Builds guides per problem; the learned model is loaded on first use, so a
/// malformed input is reported before any model work.
pub struct GuideSource {
    choice: Option<GuideChoice>,
}

/// The model at [`default_weights_dir`], loaded once per process (the outcome too:
/// a model that is not installed is not looked for again).
static MODEL: OnceLock<Result<Arc<Guider>, GuideError>> = OnceLock::new();

/// [`MODEL`], loading it if this process has not tried yet.
fn shared_model() -> Result<&'static Arc<Guider>, &'static GuideError> {
    MODEL.get_or_init(|| Guider::load(default_weights_dir()).map(Arc::new)).as_ref()
}

impl GuideSource {
    /// A source for `choice` (`None`: the default, see the module documentation).
    #[must_use]
    pub fn new(choice: Option<GuideChoice>) -> GuideSource {
        GuideSource { choice }
    }

    /// The model, unless `--guide uniform`; `--guide learned` warns when it is
    /// missing, the default stays silent.
    fn guider(&self) -> Option<&'static Arc<Guider>> {
        if self.choice == Some(GuideChoice::Uniform) {
            return None;
        }
        match (self.choice, shared_model()) {
            (_, Ok(g)) => Some(g),
            (Some(GuideChoice::Learned), Err(e)) => {
                eprintln!("warning: learned guide unavailable ({e}); using uniform costs");
                None
            }
            (_, Err(_)) => None,
        }
    }

    /// One search of `problem` (for `--sygus` and `--examples`): with the learned
    /// guide unless `--guide uniform` (see the module documentation).
    ///
    /// # Errors
    ///
    /// A problem the search cannot start on.
    pub fn synthesize(&self, problem: &Problem, limits: &SearchLimits) -> Result<SearchOutcome, SearchError> {
        let cancel = CancelToken::new();
        let model = match self.choice {
            Some(GuideChoice::Uniform) => None,
            // Loaded on the search's helper thread, unless this process has it already.
            None => Some(match MODEL.get() {
                Some(Ok(g)) => ModelSource::Loaded(Arc::clone(g)),
                _ => ModelSource::Load(default_weights_dir()),
            }),
            Some(GuideChoice::Learned) => self.guider().map(|g| ModelSource::Loaded(Arc::clone(g))),
        };
        match model {
            Some(model) => guided_search(model, problem, &TraceFeatures::none(), limits, &cancel).map(|s| s.outcome),
            None => synthesize(problem, limits, &UniformGuide, &cancel),
        }
    }

    /// The guide the refinement loop updates, for a problem carved from a trace, with what
    /// the trace says besides the examples, and which it is: the learned guide steps its
    /// behaviour embedding; uniform costs get per-operator weights.
    #[must_use]
    pub fn adaptive_guide_for_trace(
        &self,
        problem: &Problem,
        features: &TraceFeatures,
    ) -> (Box<dyn AdaptiveGuide>, GuideChoice) {
        self.learned_or::<(Box<dyn AdaptiveGuide>, GuideChoice)>(
            |g| Ok((Box::new(g.adaptive_guide_for(problem, features)?), GuideChoice::Learned)),
            || (Box::new(WeightedGuide::new(UniformGuide)), GuideChoice::Uniform),
        )
    }

    /// `learned(guider)` unless `--guide uniform` or the model is missing, else
    /// `uniform()`; a failure of `learned` is reported and falls back to `uniform()`.
    fn learned_or<T>(&self, learned: impl FnOnce(&Guider) -> Result<T, GuideError>, uniform: impl FnOnce() -> T) -> T {
        let Some(g) = self.guider() else { return uniform() };
        learned(g).unwrap_or_else(|e| {
            eprintln!("warning: learned guide failed on this problem ({e}); using uniform costs");
            uniform()
        })
    }
}
