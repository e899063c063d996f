//! `synth-model rl`: fine-tuning the guide from search rewards (expert iteration).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _, Result};
use burn::prelude::*;
use synth_model::data::{generate, DataConfig, Task};
use synth_model::model::{load_model, CONFIG_FILE, WEIGHTS_FILE};
use synth_model::rl::{expert_iteration, run_episode, RlConfig};
use synth_model::train::TrainingConfig;

use crate::{
    bar,
    bench::{pick_held_out, ratio_line, run_one, summarize, Column, Run},
    text_table,
};

pub(crate) struct RlArgs {
    pub(crate) tasks: usize,
    pub(crate) rounds: usize,
    pub(crate) timeout: f64,
    pub(crate) epochs: usize,
    pub(crate) learning_rate: f64,
    pub(crate) bench_limit: usize,
    pub(crate) bench_timeout: f64,
    pub(crate) min_size: usize,
    pub(crate) weights: PathBuf,
    pub(crate) out: PathBuf,
    pub(crate) cache: PathBuf,
}

pub(crate) fn run_rl(a: &RlArgs) -> Result<()> {
    use rand::seq::SliceRandom as _;
    use rand::SeedableRng as _;
    if !(a.timeout.is_finite() && a.timeout > 0.0 && a.bench_timeout.is_finite() && a.bench_timeout > 0.0) {
        bail!("--timeout and --bench-timeout must be positive numbers of seconds");
    }
    if !(a.learning_rate.is_finite() && a.learning_rate > 0.0) {
        bail!("--learning-rate must be a positive number, got {}", a.learning_rate);
    }
    let started = Instant::now();
    let data = generate(&DataConfig::default())?;
    // Training tasks the search can find but not instantly: size ≥ 3, a seeded sample.
    let mut pool: Vec<&Task> = data.train.iter().filter(|t| t.size >= 3).collect();
    pool.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(0x5eed));
    let tasks: Vec<Task> = pool.into_iter().take(a.tasks).cloned().collect();
    let held = pick_held_out(&data.test, a.min_size, a.bench_limit);
    let all: Vec<&Task> = tasks.iter().chain(held.iter().copied()).collect();
    let texts = text_table(&all, &a.cache)?;
    let device = Device::flex();
    let (start_model, model_config) = load_model(&a.weights, &device)?;
    let training = TrainingConfig::new(model_config.clone())
        .with_epochs(a.epochs)
        .with_learning_rate(a.learning_rate)
        .with_batch_size(16)
        .with_seed(7);
    let config = RlConfig::new(training).with_rounds(a.rounds).with_timeout_secs(a.timeout);
    eprintln!(
        "expert iteration: {} tasks × {} rounds, {} s per search, from {}",
        tasks.len(),
        a.rounds,
        a.timeout,
        a.weights.display()
    );
    let pb = bar((tasks.len() * a.rounds) as u64, "search");
    let steps = bar(0, "fine-tune");
    let t0 = Instant::now();
    // Replayed supervised tasks: the rest of the training split, in a seeded order.
    let searched: std::collections::HashSet<String> = tasks.iter().map(|t| t.program.to_string()).collect();
    let mut replay: Vec<Task> =
        data.train.iter().filter(|t| !searched.contains(&t.program.to_string())).cloned().collect();
    replay.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(0x7e91a7));
    let (tuned, rounds) = expert_iteration(
        start_model.clone(),
        &config,
        &tasks,
        &replay,
        &texts,
        &mut |round, _, ep| {
            pb.inc(1);
            pb.set_message(format!("round {round}, last {}", if ep.solved { "solved" } else { "unsolved" }));
        },
        &mut |r| {
            steps.set_length(r.total as u64);
            steps.set_position(r.step as u64);
        },
    )?;
    pb.finish_and_clear();
    steps.finish_and_clear();
    let rl_secs = t0.elapsed().as_secs_f64();

    // The comparison: the same held-out tasks, searched with each guide, in this run.
    let timeout = Duration::from_secs_f64(a.bench_timeout);
    let names = [
        "uniform",
        "starting model, no description",
        "fine-tuned, no description",
        "starting model + description",
        "fine-tuned + description",
    ];
    let mut cols: Vec<Column> = names.iter().map(|n| Column { name: n, runs: Vec::new() }).collect();
    let pb = bar(held.len() as u64, "compare");
    let episode = |m: &synth_model::model::GuideModel, t: &Task, text: Option<&[f32]>| -> Result<Run> {
        let e = run_episode(m, &model_config, t, text, config.cost_scale, timeout)?;
        Ok(Run { solved: e.solved, secs: e.secs, guide_secs: e.guide_secs, ended_by: None })
    };
    for t in &held {
        let mut bare = t.problem.clone();
        bare.description = None;
        let text = texts.get(t.description());
        cols[0].runs.push(run_one(&bare, None, a.bench_timeout));
        cols[1].runs.push(episode(&start_model, t, None)?);
        cols[2].runs.push(episode(&tuned, t, None)?);
        cols[3].runs.push(episode(&start_model, t, text)?);
        cols[4].runs.push(episode(&tuned, t, text)?);
        pb.inc(1);
    }
    pb.finish_and_clear();
    let suite = format!("synthetic held-out (size ≥ {})", a.min_size);
    let mut table = vec![
        "| suite | guide | solved | median s (solved) | median s (all, unsolved = timeout) | median s computing the guide |".to_string(),
        "|---|---|---|---|---|---|".to_string(),
    ];
    table.extend(summarize(&suite, &cols, a.bench_timeout));
    let ratios = [
        ratio_line(&suite, &cols[1], &cols[2], a.bench_timeout),
        ratio_line(&suite, &cols[3], &cols[4], a.bench_timeout),
        ratio_line(&suite, &cols[0], &cols[2], a.bench_timeout),
        ratio_line(&suite, &cols[0], &cols[4], a.bench_timeout),
    ];
    let mut round_rows = vec![
        "| round | tasks | solved | median s | mean reward | found ≠ generating program | replayed supervised tasks | fine-tune steps | loss first → last |".to_string(),
        "|---|---|---|---|---|---|---|---|---|".to_string(),
    ];
    for r in &rounds {
        round_rows.push(format!(
            "| {} | {} | {} | {:.3} | {:.3} | {} | {} | {} | {:.4} → {:.4} |",
            r.round,
            r.tasks,
            r.solved,
            r.median_secs,
            r.mean_reward,
            r.different_solution,
            r.replayed,
            r.steps,
            r.loss.0,
            r.loss.1
        ));
    }
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    tuned.clone().save_file(a.out.join(WEIGHTS_FILE)).map_err(|e| anyhow::anyhow!("saving weights: {e}"))?;
    model_config.save(a.out.join(CONFIG_FILE)).context("saving the model configuration")?;
    config.save(a.out.join("rl-config.json")).context("saving the fine-tuning configuration")?;
    let card = format!(
        "# Fine-tuned guide: expert iteration\n\n\
Started from `{}`. {} rounds: each searches {} synthetic training tasks (size ≥ 3, seeded sample) with the \
current model's guide ({} s each, half with the description), then fine-tunes on the solved ones with the found \
solution's labels and size as targets, weighted by reward (1 − 0.5 · time/limit), plus as many supervised tasks \
replayed from the training split (weight 1): {} epochs, Adam, learning rate \
{} decayed to 10 %, batch 16. {:.0} s.\n\n{}\n\n\
## Held-out comparison (same run; per-task limit {} s; description embeddings precomputed, so guide times are \
the model only)\n\n{}\n\n{}\n",
        a.weights.display(),
        a.rounds,
        tasks.len(),
        a.timeout,
        a.epochs,
        a.learning_rate,
        rl_secs,
        round_rows.join("\n"),
        a.bench_timeout,
        table.join("\n"),
        ratios.join("\n\n"),
    );
    std::fs::write(a.out.join("RL_CARD.md"), &card)?;
    println!("{card}");
    eprintln!("wrote {} in {:.0} s total", a.out.join(WEIGHTS_FILE).display(), started.elapsed().as_secs_f64());
    Ok(())
}
