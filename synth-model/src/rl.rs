//! Fine-tuning the guide from search rewards: expert iteration.
//!
//! Each round runs the search, guided by the current model, on a set of
//! synthetic tasks ([`run_episode`]). A task the search solves within its
//! budget becomes a training example whose targets are the labels and size of
//! the *solution the search found* (not of the program that generated the
//! task), weighted by the episode's reward — 1 for an instant solution, falling
//! linearly to 0.5 at the time limit; unsolved tasks add nothing. The model is
//! then fine-tuned on those examples ([`crate::train::fine_tune`]), mixed with as
//! many supervised tasks replayed from the training set (their generating
//! program's labels, weight 1) so that what no episode exercises — string
//! operations, say, in a round of mostly bit-vector tasks — is not forgotten, and
//! the next round searches with it. This is expert iteration (the search is the expert;
//! reward-weighted imitation is REINFORCE's update with the solved episodes as
//! samples).

use std::time::{Duration, Instant};

use burn::prelude::*;
use synth_engine::dsl::Term;
use synth_engine::search::{synthesize, CancelToken, SearchLimits, SearchOutcome};
use thiserror::Error;

use crate::data::Task;
use crate::labels::term_labels;
use crate::model::{predict_with, without_description, GuideModel, GuideModelConfig};
use crate::pricing::LearnedGuide;
use crate::train::{fine_tune, StepReport, TextTable, TrainError, TrainingConfig};

/// Errors of a fine-tuning run.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum RlError {
    /// Fine-tuning failed.
    #[error(transparent)]
    Train(#[from] TrainError),
    /// The model could not price a task.
    #[error("pricing a task: {0}")]
    Guide(String),
    /// The search time limit is not a positive, finite number of seconds.
    #[error("timeout_secs must be positive and finite, got {0}")]
    Timeout(f64),
}

/// Expert-iteration settings.
#[derive(Config, Debug)]
pub struct RlConfig {
    /// Fine-tuning of each round (learning rate, epochs, batch, text dropout, seed).
    pub training: TrainingConfig,
    /// Search rounds (each followed by fine-tuning).
    #[config(default = 2)]
    pub rounds: usize,
    /// Search time limit per task, in seconds.
    #[config(default = 1.0)]
    pub timeout_secs: f64,
    /// Cost per nat of −ln p while searching.
    #[config(default = 0.5)]
    pub cost_scale: f32,
}

/// One guided search on one task.
#[derive(Clone, Debug)]
pub struct Episode {
    /// Whether the search found a term satisfying every example.
    pub solved: bool,
    /// Wall-clock seconds, computing the guide included.
    pub secs: f64,
    /// Of `secs`, the time spent computing the guide.
    pub guide_secs: f64,
    /// The term found.
    pub term: Option<Term>,
    /// `1 − 0.5 · secs / timeout` when solved, else 0.
    pub reward: f64,
}

/// The outcome of one round.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct RoundReport {
    /// 1-based.
    pub round: usize,
    /// Tasks searched.
    pub tasks: usize,
    /// Solved within the limit.
    pub solved: usize,
    /// Median seconds over all tasks (unsolved count as the limit).
    pub median_secs: f64,
    /// Mean reward.
    pub mean_reward: f64,
    /// Solved tasks whose found solution differs from the generating program.
    pub different_solution: usize,
    /// Supervised tasks replayed in the round's fine-tuning.
    pub replayed: usize,
    /// Fine-tuning steps taken after the round.
    pub steps: usize,
    /// Mean fine-tuning loss of the first and last steps.
    pub loss: (f32, f32),
}

/// Searches `task` with the model's guide (`text` is the description's embedding,
/// or `None` to search without it).
///
/// # Errors
///
/// [`RlError::Guide`] when the task cannot be priced.
pub fn run_episode(
    model: &GuideModel,
    config: &GuideModelConfig,
    task: &Task,
    text: Option<&[f32]>,
    cost_scale: f32,
    timeout: Duration,
) -> Result<Episode, RlError> {
    let start = Instant::now();
    let device = Device::flex();
    // Without a text the episode is undescribed: the model does not read the words either.
    let problem = if text.is_none() { without_description(&task.problem) } else { task.problem.clone() };
    let prediction = predict_with(model, config, &problem, text, &task.features, &device)
        .map_err(|e| RlError::Guide(e.to_string()))?;
    let guide = LearnedGuide { cost_scale, ..LearnedGuide::new(prediction) };
    let guide_secs = start.elapsed().as_secs_f64();
    let limits = SearchLimits { timeout, ..SearchLimits::default() };
    let outcome = synthesize(&problem, &limits, &guide, &CancelToken::new());
    let secs = start.elapsed().as_secs_f64();
    Ok(match outcome {
        Ok(SearchOutcome::Found { term, .. }) => {
            let reward = (1.0 - 0.5 * secs / timeout.as_secs_f64()).clamp(0.5, 1.0);
            Episode { solved: true, secs, guide_secs, term: Some(term), reward }
        }
        _ => Episode { solved: false, secs, guide_secs, term: None, reward: 0.0 },
    })
}

/// Runs `config.rounds` rounds of search and fine-tuning from `model`, replaying
/// supervised tasks from `replay` (a different slice each round); `on_episode` sees each
/// episode (round, index), `on_step` each fine-tuning step.
///
/// # Errors
///
/// [`RlError::Timeout`], a task that cannot be priced, or a fine-tuning failure.
pub fn expert_iteration(
    mut model: GuideModel,
    config: &RlConfig,
    tasks: &[Task],
    replay: &[Task],
    texts: &TextTable,
    on_episode: &mut dyn FnMut(usize, usize, &Episode),
    on_step: &mut dyn FnMut(StepReport),
) -> Result<(GuideModel, Vec<RoundReport>), RlError> {
    let timeout = Duration::try_from_secs_f64(config.timeout_secs)
        .ok()
        .filter(|t| !t.is_zero())
        .ok_or(RlError::Timeout(config.timeout_secs))?;
    let mut reports = Vec::new();
    for round in 1..=config.rounds {
        let mut experts: Vec<Task> = Vec::new();
        let mut weights: Vec<f32> = Vec::new();
        let mut report = RoundReport { round, tasks: tasks.len(), ..RoundReport::default() };
        let mut times = Vec::with_capacity(tasks.len());
        for (i, task) in tasks.iter().enumerate() {
            // Half the episodes search with the description, half without, as the
            // model is used both ways.
            let text = if (i + round) % 2 == 0 { texts.get(task.description()) } else { None };
            let ep = run_episode(&model, &config.training.model, task, text, config.cost_scale, timeout)?;
            on_episode(round, i, &ep);
            times.push(if ep.solved { ep.secs } else { config.timeout_secs });
            report.mean_reward += ep.reward;
            if let (true, Some(term)) = (ep.solved, &ep.term) {
                report.solved += 1;
                if term.to_string() != task.program.to_string() {
                    report.different_solution += 1;
                }
                let mut expert = task.clone();
                expert.labels = term_labels(term);
                expert.size = term.size();
                if text.is_none() {
                    expert.problem.description = None;
                }
                experts.push(expert);
                weights.push(ep.reward as f32);
            }
        }
        report.mean_reward /= tasks.len().max(1) as f64;
        times.sort_by(f64::total_cmp);
        report.median_secs = times.get(times.len() / 2).copied().unwrap_or(0.0);
        if !experts.is_empty() {
            let n = experts.len().min(replay.len());
            let start = (round - 1) * n;
            for k in 0..n {
                experts.push(replay[(start + k) % replay.len()].clone());
                weights.push(1.0);
            }
            report.replayed = n;
            let out = fine_tune(model, &config.training, &experts, &weights, texts, on_step)?;
            model = out.model;
            report.steps = out.steps;
            report.loss = (out.first_loss, out.last_loss);
        }
        reports.push(report);
    }
    Ok((model, reports))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{generate, DataConfig};
    use crate::train::tiny_model_config;

    #[test]
    fn a_round_imitates_the_solutions_the_search_found() {
        let data = generate(&DataConfig { draws: 3000, examples: 4, max_size: 4, test_percent: 0, seed: 5 }).unwrap();
        let replay: Vec<Task> = data.train.iter().filter(|t| t.family == "string->string").take(3).cloned().collect();
        let tasks: Vec<Task> = data.train.into_iter().filter(|t| t.family == "u32->u32").take(12).collect();
        assert_eq!(replay.len(), 3);
        assert!(tasks.len() >= 6, "{} tasks", tasks.len());
        let config = RlConfig::new(
            TrainingConfig::new(tiny_model_config())
                .with_epochs(30)
                .with_batch_size(12)
                .with_learning_rate(3e-3)
                .with_text_dropout(0.0),
        )
        .with_rounds(1)
        .with_timeout_secs(2.0);
        let device = Device::flex();
        device.seed(1);
        let model = config.training.model.init(&device);
        let before: Vec<Vec<f32>> = tasks
            .iter()
            .map(|t| {
                predict_with(&model, &config.training.model, &t.problem, None, &t.features, &device)
                    .unwrap()
                    .label_probs
            })
            .collect();
        let mut episodes = Vec::new();
        let (tuned, reports) = expert_iteration(
            model,
            &config,
            &tasks,
            &replay,
            &TextTable::default(),
            &mut |_, i, e| episodes.push((i, e.clone())),
            &mut |_| {},
        )
        .unwrap();
        let r = &reports[0];
        assert_eq!(r.tasks, tasks.len());
        assert!(r.solved >= tasks.len() / 2, "{r:?}");
        assert!(r.steps > 0 && r.loss.1 < r.loss.0, "{r:?}");
        assert_eq!(r.replayed, 3, "{r:?}");
        // A time limit that is not a positive, finite number of seconds is an error.
        for bad in [0.0, -1.0, f64::INFINITY, f64::NAN] {
            let c = RlConfig::new(config.training.clone()).with_timeout_secs(bad);
            let err =
                expert_iteration(tuned.clone(), &c, &tasks, &[], &TextTable::default(), &mut |_, _, _| {}, &mut |_| {});
            assert!(matches!(err, Err(RlError::Timeout(_))), "{bad}");
        }
        // The model moved towards the found solutions on the tasks they came from: the
        // labels they do not use got less likely, and the gap to the ones they use widened.
        let (mut used, mut unused) = ((0.0f32, 0.0f32, 0usize), (0.0f32, 0.0f32, 0usize));
        for (i, ep) in episodes.iter().filter(|(_, e)| e.solved) {
            let after =
                predict_with(&tuned, &config.training.model, &tasks[*i].problem, None, &tasks[*i].features, &device)
                    .unwrap();
            let labels = term_labels(ep.term.as_ref().unwrap());
            for (l, (b, a)) in before[*i].iter().zip(&after.label_probs).enumerate() {
                let side = if labels.contains(&l) { &mut used } else { &mut unused };
                side.0 += b;
                side.1 += a;
                side.2 += 1;
            }
        }
        let mean = |sum: f32, n: usize| sum / n.max(1) as f32;
        let (u0, u1, n0, n1) =
            (mean(used.0, used.2), mean(used.1, used.2), mean(unused.0, unused.2), mean(unused.1, unused.2));
        assert!(n1 < n0, "used labels: mean p {u0} -> {u1}; unused {n0} -> {n1}");
        assert!((u1 - n1) > (u0 - n0) + 0.1, "used labels: mean p {u0} -> {u1}; unused {n0} -> {n1}");
    }
}
