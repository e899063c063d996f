//! The daemon's synthesis jobs: `POST /v1/synthesize` checks the request against the
//! stored trace (so a bad one is a 4xx at once), then runs the refinement loop on a
//! worker thread, one job at a time; `GET /v1/jobs/{id}` shows live progress and, at the
//! end, code, tests, the verification report and the reward history.
use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use serde::{Deserialize, Serialize};
use synth_engine::{emit::Lang, search::CancelToken};
use utoipa::ToSchema;

use crate::{
    locks::lock,
    store::{Store, StoreError},
};
use carving::{
    guide_choice::{GuideChoice, GuideSource},
    live::{self, SynthOptions},
    spec::{self, SpecError},
};
use tracer_probe::trace::Trace;

/// Why a job cannot start.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// The request itself is wrong.
    #[error("{0}")]
    Invalid(String),
    /// No such session or trace.
    #[error("no trace {0}")]
    UnknownTrace(u64),
    /// The calls do not make a specification (never called, not pure, ...).
    #[error(transparent)]
    Spec(#[from] SpecError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Too many jobs are queued or running.
    #[error("{0} synthesis jobs are queued or running; try again when one has finished")]
    Busy(usize),
    /// No worker thread could be started.
    #[error("cannot start a worker thread: {0}")]
    Spawn(#[source] std::io::Error),
}

/// Finished jobs kept for `GET /v1/jobs/{id}`; older finished ones are forgotten first.
pub const MAX_FINISHED_JOBS: usize = 256;
/// Jobs queued or running at once (each holds its trace in memory).
pub const MAX_PENDING_JOBS: usize = 16;

/// Output language of a job.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// Rust.
    #[default]
    Rust,
    /// Python.
    Python,
    /// C.
    C,
}

impl From<Language> for Lang {
    fn from(l: Language) -> Lang {
        match l {
            Language::Rust => Lang::Rust,
            Language::Python => Lang::Python,
            Language::C => Lang::C,
        }
    }
}

/// `POST /v1/synthesize` body (the client sends this very type).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SynthesizeRequest {
    /// A session (its trace so far, if it is still running)...
    pub session_id: Option<u64>,
    /// ...or a stored trace (the same ids); give exactly one.
    pub trace_id: Option<u64>,
    /// The traced function to synthesize.
    pub function: String,
    /// What it does, in plain English.
    pub description: Option<String>,
    /// Output language (default rust).
    #[serde(default)]
    pub language: Language,
    /// Budget for the whole loop in milliseconds (default 20000, at most 600000).
    pub budget_ms: Option<u64>,
    /// Most refinement iterations (default 4, at most 20).
    pub max_iterations: Option<u32>,
    /// Search guide: `uniform` (default) or `learned` (the refinement loop then takes
    /// gradient steps on the behaviour embedding).
    pub guide: Option<GuideChoice>,
}

impl SynthesizeRequest {
    /// The trace id and the synthesis options, or why the request is invalid.
    ///
    /// # Errors
    /// [`JobError::Invalid`].
    pub fn options(&self) -> Result<(u64, SynthOptions), JobError> {
        let id = match (self.session_id, self.trace_id) {
            (Some(id), None) | (None, Some(id)) => id,
            (Some(a), Some(b)) if a == b => a,
            (Some(_), Some(_)) => {
                return Err(JobError::Invalid("give session_id or trace_id, not two different ids".into()))
            }
            (None, None) => return Err(JobError::Invalid("give session_id or trace_id".into())),
        };
        let budget_ms = self.budget_ms.unwrap_or(20_000);
        if !(1..=600_000).contains(&budget_ms) {
            return Err(JobError::Invalid(format!("budget_ms must be in 1..=600000, got {budget_ms}")));
        }
        let max_iterations = self.max_iterations.unwrap_or(4);
        if !(1..=20).contains(&max_iterations) {
            return Err(JobError::Invalid(format!("max_iterations must be in 1..=20, got {max_iterations}")));
        }
        if self.function.trim().is_empty() {
            return Err(JobError::Invalid("function must not be empty".into()));
        }
        Ok((
            id,
            SynthOptions {
                function: self.function.clone(),
                lang: self.language.into(),
                describe: self.description.clone().filter(|d| !d.trim().is_empty()),
                budget: Duration::from_millis(budget_ms),
                max_iterations,
                guide: self.guide,
            },
        ))
    }
}

/// Where a job is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum JobState {
    /// Waiting for the worker.
    Queued,
    /// Refining.
    Running,
    /// Finished with verified code.
    Verified,
    /// Finished with the best partial code (budget ran out).
    Partial,
    /// Finished without code; see `error`.
    Failed,
    /// Cancelled by `DELETE /v1/jobs/{id}`.
    Cancelled,
}

/// Live progress of a job.
#[derive(Clone, Debug, Default, Serialize, ToSchema)]
pub struct JobProgress {
    /// Iterations finished.
    pub iteration: u32,
    /// Terms the searches evaluated so far.
    pub candidates_tried: u64,
    /// Best reward so far (0..=1; the list language's search reports none, so 0).
    pub best_reward: f64,
}

/// A job as `GET /v1/jobs/{id}` shows it.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct JobView {
    /// Job id.
    pub id: u64,
    /// The trace it works on.
    pub trace_id: u64,
    /// The function.
    pub function: String,
    /// Where it is.
    pub state: JobState,
    /// Live progress.
    pub progress: JobProgress,
    /// When finished with code: code, tests, verification report, reward history,
    /// invariants, the observed I/O table and a carved regression test; for a function
    /// over arrays or structs, code, tests, the program, the held-out agreement and the
    /// examples synthesized from (`carving::lists::ListSynthesis`).
    #[schema(value_type = Option<Object>)]
    pub result: Option<serde_json::Value>,
    /// Why it failed.
    pub error: Option<String>,
}

struct Job {
    view: JobView,
    cancel: CancelToken,
}

/// The daemon's jobs (kept in memory; results are also in the reply of the last poll).
#[derive(Clone, Default)]
pub struct Jobs {
    jobs: Arc<Mutex<BTreeMap<u64, Job>>>,
    /// One job runs at a time: the searches use every core they get.
    runner: Arc<Mutex<()>>,
}

impl Jobs {
    /// Checks `request` against `store` and starts the job; returns its first view.
    ///
    /// # Errors
    /// See [`JobError`]: invalid requests, unknown traces, and calls that do not make a
    /// specification (function not traced or never called, not pure).
    pub fn start(&self, store: &Store, request: &SynthesizeRequest) -> Result<JobView, JobError> {
        let (trace_id, options) = request.options()?;
        if store.get_session(trace_id)?.is_none() {
            return Err(JobError::UnknownTrace(trace_id));
        }
        let trace = store.trace(trace_id)?.ok_or(JobError::UnknownTrace(trace_id))?;
        // The same checks the job makes, now, so the client gets them as a 4xx.
        let carved = spec::carve(&trace, &options.function, 5)?;
        let list = trace
            .function_index(&options.function)
            .is_some_and(|i| carving::lists::is_list_task(&trace.functions[i as usize]));
        if !list {
            spec::scalar_only(&carved, &options.function)?;
        }
        let cancel = CancelToken::new();
        let view = {
            let mut jobs = lock(&self.jobs);
            let pending =
                jobs.values().filter(|j| matches!(j.view.state, JobState::Queued | JobState::Running)).count();
            if pending >= MAX_PENDING_JOBS {
                return Err(JobError::Busy(pending));
            }
            let id = jobs.keys().next_back().map_or(1, |k| k + 1);
            let finished: Vec<u64> = jobs
                .iter()
                .filter(|(_, j)| !matches!(j.view.state, JobState::Queued | JobState::Running))
                .map(|(id, _)| *id)
                .collect();
            for old in finished.iter().take(finished.len().saturating_sub(MAX_FINISHED_JOBS - 1)) {
                jobs.remove(old);
            }
            let view = JobView {
                id,
                trace_id,
                function: options.function.clone(),
                state: JobState::Queued,
                progress: JobProgress::default(),
                result: None,
                error: None,
            };
            jobs.insert(id, Job { view: view.clone(), cancel: cancel.clone() });
            view
        };
        let this = self.clone();
        let id = view.id;
        let spawned = std::thread::Builder::new().name(format!("synth-job-{id}")).spawn(move || {
            if list {
                this.run_list(id, &trace, &options, &cancel)
            } else {
                this.run(id, &trace, &options, &cancel)
            }
        });
        if let Err(e) = spawned {
            lock(&self.jobs).remove(&id);
            return Err(JobError::Spawn(e));
        }
        Ok(view)
    }

    fn update(&self, id: u64, f: impl FnOnce(&mut JobView)) {
        if let Some(job) = lock(&self.jobs).get_mut(&id) {
            f(&mut job.view);
        }
    }

    /// Runs a job's `work` in its turn (one job at a time) unless it was cancelled while
    /// queued, and records what it gave, unless it was cancelled meanwhile: whether the
    /// code is verified and the result, or why it failed.
    fn run_job(
        &self,
        id: u64,
        cancel: &CancelToken,
        work: impl FnOnce() -> Result<(bool, Option<serde_json::Value>), String>,
    ) {
        let _turn = lock(&self.runner);
        if cancel.is_cancelled() {
            return;
        }
        self.update(id, |v| v.state = JobState::Running);
        let outcome = work();
        self.update(id, |v| {
            if v.state == JobState::Cancelled {
                return;
            }
            match outcome {
                Ok((verified, result)) => {
                    v.state = if verified { JobState::Verified } else { JobState::Partial };
                    v.result = result;
                }
                Err(e) => {
                    v.state = JobState::Failed;
                    v.error = Some(e);
                }
            }
        });
    }

    /// A job on a scalar function: the refinement loop, its progress shown as it goes.
    fn run(&self, id: u64, trace: &Trace, options: &SynthOptions, cancel: &CancelToken) {
        self.run_job(id, cancel, || {
            // The learned guide unless asked otherwise (README, "Learned guide").
            let guides = GuideSource::new(options.guide);
            let report = live::synthesize_from_trace(trace, options, &guides, cancel, &mut |it| {
                self.update(id, |v| {
                    v.progress.iteration = it.iteration;
                    v.progress.candidates_tried += it.terms_enumerated;
                    v.progress.best_reward = v.progress.best_reward.max(it.reward.total);
                });
            })
            .map_err(|e| e.to_string())?;
            self.update(id, |v| v.progress.best_reward = v.progress.best_reward.max(report.reward.total));
            Ok((report.verified(), serde_json::to_value(&report).ok()))
        });
    }

    /// A job on a function over arrays or structs: the list language's search, its code
    /// checked on the held-out calls ([`carving::lists::synthesize_from_trace`]), the
    /// structs laid out as the DWARF of the function's object file says now.
    fn run_list(&self, id: u64, trace: &Trace, options: &SynthOptions, cancel: &CancelToken) {
        self.run_job(id, cancel, || {
            let layouts = trace
                .function_index(&options.function)
                .map(|i| tracer_probe::probes::layouts_of(&trace.functions[i as usize]))
                .unwrap_or_default();
            let result = carving::lists::synthesize_from_trace(trace, options, &layouts, cancel);
            self.update(id, |v| v.progress.iteration = 1);
            let report = result.map_err(|e| e.to_string())?;
            Ok((report.status == "verified", serde_json::to_value(&report).ok()))
        });
    }

    /// A job's view.
    #[must_use]
    pub fn get(&self, id: u64) -> Option<JobView> {
        lock(&self.jobs).get(&id).map(|j| j.view.clone())
    }

    /// All jobs, without their results.
    #[must_use]
    pub fn list(&self) -> Vec<JobView> {
        lock(&self.jobs).values().map(|j| JobView { result: None, ..j.view.clone() }).collect()
    }

    /// Cancels a queued or running job; returns its view, or `None` for an unknown id.
    #[must_use]
    pub fn cancel(&self, id: u64) -> Option<JobView> {
        let mut jobs = lock(&self.jobs);
        let job = jobs.get_mut(&id)?;
        if matches!(job.view.state, JobState::Queued | JobState::Running) {
            job.cancel.cancel();
            job.view.state = JobState::Cancelled;
        }
        Some(job.view.clone())
    }

    /// Cancels every job (daemon shutdown).
    pub fn cancel_all(&self) {
        for job in lock(&self.jobs).values() {
            job.cancel.cancel();
        }
    }
}
