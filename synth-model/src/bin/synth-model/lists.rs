//! `synth-model train-lists` and `list-suite`: the list search's learned guide (training,
//! held-out metrics, weights and model card) and suites of random list tasks with
//! held-out cases for `cargo xtask bench lists --suite`.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context as _, Result};
use burn::prelude::*;
use synth_model::device::ComputeDevice;
use synth_model::lists::generate::GenConfig;
use synth_model::lists::guide::{MAX_PRICE, PRICE_BASE};
use synth_model::lists::net::{
    evaluate_list_model, generate_tasks, train_list_model, ListMetrics, ListModelConfig, ListTrainingConfig,
    LIST_CONFIG_FILE, LIST_WEIGHTS_FILE,
};

use synth_model::lists::values::{
    evaluate_value_model, labelled_values_of, train_value_model, ValueModelConfig, ValueScorer, ValueTrainingConfig,
    VALUE_CONFIG_FILE, VALUE_CUTS, VALUE_FEATURES, VALUE_WEIGHTS_FILE,
};

use crate::bar;

/// Seed of the held-out tasks of the metrics (the training tasks use the config's).
const HELD_OUT_SEED: u64 = 1_000_003;

pub(crate) fn run_train_lists(config: &ListTrainingConfig, out: &Path, kind: ComputeDevice) -> Result<()> {
    let started = Instant::now();
    let device = kind.device()?;
    let gen = GenConfig { min_size: config.min_size, max_size: config.max_size, ..GenConfig::default() };
    let tasks = generate_tasks(config.tasks, &gen, config.seed);
    let held_out = generate_tasks(2_000, &gen, HELD_OUT_SEED);
    let gen_secs = started.elapsed().as_secs_f64();
    eprintln!("{} training tasks, {} held out ({gen_secs:.1} s)", tasks.len(), held_out.len());
    let pb = bar(0, "train");
    let t0 = Instant::now();
    let mut losses: Vec<f32> = Vec::new();
    let model = train_list_model(config, &tasks, &device, &mut |s| {
        pb.set_length(s.total as u64);
        pb.set_position(s.step as u64);
        losses.push(s.loss);
        if s.step % 20 == 0 {
            pb.set_message(format!("loss {:.4}", s.loss));
        }
    })?;
    pb.finish();
    let train_secs = t0.elapsed().as_secs_f64();
    let cpu = Device::flex();
    let model = model.to_device(&cpu);
    let with = evaluate_list_model(&model, &held_out, true, &cpu)?;
    let without = evaluate_list_model(&model, &held_out, false, &cpu)?;
    let big: Vec<_> = held_out.iter().filter(|t| t.program.size() >= 8).cloned().collect();
    let big_without = evaluate_list_model(&model, &big, false, &cpu)?;
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    model.clone().save_file(out.join(LIST_WEIGHTS_FILE)).map_err(|e| anyhow::anyhow!("saving weights: {e}"))?;
    ListModelConfig::current().save(out.join(LIST_CONFIG_FILE)).context("saving the model configuration")?;
    config.save(out.join("list-training-config.json")).context("saving the training configuration")?;
    let size = std::fs::metadata(out.join(LIST_WEIGHTS_FILE)).map(|m| m.len()).unwrap_or(0);
    let (first_loss, last_loss) = synth_model::train::first_and_last_loss(&losses);
    let card = format!(
        "# List guide — model card\n\n\
         Predicts which operators of the list language the solution of a list task uses, from its\n\
         examples and description; the list search prices each operator from that probability\n\
         (1 above 1/{PRICE_BASE}, +1 per further factor of {PRICE_BASE}, at most {MAX_PRICE}).\n\n\
         - **Data**: {} random list programs (sizes {}–{}, lambdas of one and two arguments,\n  \
           DeepCoder's and LambdaBeam's operators), run on random inputs (lists of up to 10 integers\n  \
           of a magnitude drawn per task, 2–5 examples), each with a description from the template\n  \
           grammar (a paraphrase drawn per operator use); descriptions hidden from half the batches'\n  \
           tasks. Seed {}. No benchmark task is used.\n\
         - **Input**: {} features (signature; per example, how the output relates to the inputs —\n  \
           lengths, order, membership, elementwise, running and fold relations; value histograms;\n  \
           256 hashed description words).\n\
         - **Network**: MLP {} → {} → {} → {} (ReLU, sigmoid outputs), {} parameters, {:.2} MB.\n\
         - **Training**: {} epochs, batch {}, Adam lr {} warmed down to a tenth; loss {:.4} → {:.4};\n  \
           {:.0} s on `{:?}` (task generation {:.1} s).\n\
         - **Held-out** ({} tasks, seed {HELD_OUT_SEED}):\n\n\
         | view | tasks | BCE/op | recall@k | price of used ops | of unused |\n\
         |---|---|---|---|---|---|\n\
         {}{}{}\n\
         Retrain with `cargo xtask train --lists` (CPU).\n",
        tasks.len(),
        config.min_size,
        config.max_size,
        config.seed,
        synth_model::lists::features::FEATURE_LEN,
        synth_model::lists::features::FEATURE_LEN,
        ListModelConfig::current().d_hidden,
        ListModelConfig::current().d_hidden,
        ListModelConfig::current().ops.len(),
        model.num_params(),
        size as f64 / 1e6,
        config.epochs,
        config.batch_size,
        config.learning_rate,
        first_loss,
        last_loss,
        train_secs,
        kind,
        gen_secs,
        held_out.len(),
        row("with description", &with),
        row("without", &without),
        row("without, size ≥ 8", &big_without),
    );
    std::fs::write(out.join("LIST_MODEL_CARD.md"), &card)?;
    println!("{card}");
    Ok(())
}

fn row(view: &str, m: &ListMetrics) -> String {
    format!(
        "| {view} | {} | {:.4} | {:.3} | {:.2} | {:.2} |\n",
        m.tasks, m.bce, m.recall_at_k, m.price_of_used, m.price_of_unused
    )
}

/// Seed of the value model's held-out tasks.
const VALUE_HELD_OUT_SEED: u64 = 2_000_003;

/// Trains the value model on the values the search keeps on `tasks` random tasks; writes
/// its weights, configuration and card into `out`.
pub(crate) fn run_train_list_values(
    config: &ValueTrainingConfig,
    tasks: usize,
    out: &Path,
    kind: ComputeDevice,
) -> Result<()> {
    let started = Instant::now();
    let device = kind.device()?;
    let gen = GenConfig::default();
    let train_tasks = generate_tasks(tasks, &gen, config.seed);
    let held_tasks = generate_tasks(1_000, &gen, VALUE_HELD_OUT_SEED);
    let data = labelled_values_of(&train_tasks, config);
    let held = labelled_values_of(&held_tasks, config);
    let gen_secs = started.elapsed().as_secs_f64();
    let positives = data.iter().filter(|v| v.part_of_solution).count();
    eprintln!(
        "{} values ({positives} part of a solution) from {} tasks ({gen_secs:.1} s)",
        data.len(),
        train_tasks.len()
    );
    let pb = bar(0, "train values");
    let t0 = Instant::now();
    let mut losses: Vec<f32> = Vec::new();
    let model = train_value_model(config, &data, &device, &mut |s| {
        pb.set_length(s.total as u64);
        pb.set_position(s.step as u64);
        losses.push(s.loss);
    })?;
    pb.finish();
    let train_secs = t0.elapsed().as_secs_f64();
    let model = model.to_device(&Device::flex());
    let scorer = ValueScorer::from_model(&model)?;
    let m = evaluate_value_model(&scorer, &held);
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    model.clone().save_file(out.join(VALUE_WEIGHTS_FILE)).map_err(|e| anyhow::anyhow!("saving weights: {e}"))?;
    ValueModelConfig::new().save(out.join(VALUE_CONFIG_FILE)).context("saving the model configuration")?;
    config.save(out.join("list-values-training-config.json")).context("saving the training configuration")?;
    let (first_loss, last_loss) = synth_model::train::first_and_last_loss(&losses);
    let card = format!(
        "# List value model — model card\n\n\
         Scores each term the list search builds by how likely it is part of the solution, from\n\
         how its values on the examples relate to the outputs and inputs; the search defers a\n\
         term below probability {} by one cost level, below {} by two. Used by `tracesynth synth`'s\n\
         default list guide for a task without a description, once the core-first prior alone\n\
         has found nothing in {} of the time: it answers harder tasks, but searched from the\n\
         start it costs easy ones right answers (see `docs/benchmarks.md`);\n\
         `synth-model bench-lists` compares it.\n\n\
         - **Data**: the terms the search keeps (uniform prices, {} candidates a task) on {} random\n  \
           list tasks (the list guide's generator, sizes {}–{}, seed {}): every term whose values\n  \
           equal a subterm's of the task's program (positive), and {} others a task drawn at\n  \
           random; {} values, {} positive. No benchmark task is used.\n\
         - **Input**: {VALUE_FEATURES} features (the term's and output's types; per example the\n  \
           term's relation to the output — lengths, membership, order, prefix, elementwise,\n  \
           fold — and to the inputs).\n\
         - **Network**: MLP {VALUE_FEATURES} → {} → 1 (ReLU, sigmoid), {} parameters; run natively\n  \
           from the burn weights in the search.\n\
         - **Training**: {} epochs, batch {}, Adam lr {} warmed down to a tenth; loss {:.4} → {:.4};\n  \
           {:.1} s on `{:?}` (search and labelling {:.1} s).\n\
         - **Held-out** ({} tasks, seed {VALUE_HELD_OUT_SEED}): {} values, {} positive; BCE {:.4},\n  \
           ROC AUC {:.3}; mean extra cost of the positives {:.2}, of the others {:.2}.\n\n\
         Retrain with `cargo xtask train --lists` (CPU).\n",
        VALUE_CUTS[0],
        VALUE_CUTS[1],
        synth_model::lists::guide::PLAIN_SHARE,
        config.candidates,
        train_tasks.len(),
        gen.min_size,
        gen.max_size,
        config.seed,
        config.negatives_per_task,
        data.len(),
        positives,
        ValueModelConfig::new().d_hidden,
        model.num_params(),
        config.epochs,
        config.batch_size,
        config.learning_rate,
        first_loss,
        last_loss,
        train_secs,
        kind,
        gen_secs,
        held_tasks.len(),
        m.positives + m.negatives,
        m.positives,
        m.bce,
        m.auc,
        m.extra_of_positives,
        m.extra_of_negatives,
    );
    std::fs::write(out.join("LIST_VALUES_CARD.md"), &card)?;
    println!("{card}");
    Ok(())
}

/// Writes `count` random tasks of sizes `min_size..=max_size` into `out/plain` (no
/// description) and `out/described`, each `TASK.json` with `TASK.tests.json` beside it.
pub(crate) fn run_list_suite(out: &Path, count: usize, min_size: usize, max_size: usize, seed: u64) -> Result<()> {
    let gen = GenConfig { min_size, max_size, ..GenConfig::default() };
    let tasks = generate_tasks(count, &gen, seed);
    for (dir, described) in [("plain", false), ("described", true)] {
        let dir = out.join(dir);
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        for (i, t) in tasks.iter().enumerate() {
            let name = format!("random_{min_size}_{max_size}_{i:03}");
            std::fs::write(dir.join(format!("{name}.json")), t.spec_json(described).to_string())?;
            std::fs::write(dir.join(format!("{name}.tests.json")), t.tests_json().to_string())?;
        }
    }
    eprintln!("wrote {} tasks into {}/{{plain,described}}", tasks.len(), out.display());
    Ok(())
}

/// One guide's results on a suite.
#[derive(Default)]
struct SuiteScore {
    solved: usize,
    correct: usize,
    seconds: Vec<f64>,
}

/// `synth-model bench-lists`: the list search in this process under each guide, on a
/// suite's tasks, checked on their held-out cases by the interpreter (the emitters'
/// semantics; `cargo xtask bench lists` checks the emitted Python instead). For
/// choosing prices quickly; the model's time is counted.
pub(crate) fn run_bench_lists(
    suite: &Path,
    timeout: f64,
    weights: &Path,
    every: usize,
    scale: (f32, u32),
    value_cuts: &[f32],
    only: &[String],
) -> Result<()> {
    use synth_engine::lists::{
        run, synthesize_lists, CoreOpsFirst, ListGuide, ListLimits, ListOutcome, ListProblem, UniformListGuide,
    };
    use synth_engine::search::CancelToken;
    use synth_engine::spec::Examples;
    use synth_model::lists::guide::{DefaultListGuide, ListModelGuide, PricedOps};
    use synth_model::lists::values::{load_value_model, ValueGuided};

    let model = ListModelGuide::load(weights)?;
    let mut tasks: Vec<_> = std::fs::read_dir(suite)
        .with_context(|| format!("reading {}", suite.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json") && !p.to_string_lossy().ends_with(".tests.json"))
        .collect();
    tasks.sort();
    let tasks: Vec<_> = tasks.into_iter().step_by(every.max(1)).collect();
    let limits = ListLimits { timeout: std::time::Duration::from_secs_f64(timeout), ..ListLimits::default() };
    const NAMES: [&str; 7] = ["uniform", "core-first", "learned", "values", "core+values", "learned+values", "default"];
    if let Some(bad) = only.iter().find(|g| !NAMES.contains(&g.as_str())) {
        anyhow::bail!("no guide `{bad}`: one of {}", NAMES.join(", "));
    }
    let chosen: Vec<usize> =
        (0..NAMES.len()).filter(|k| only.is_empty() || only.iter().any(|g| g == NAMES[*k])).collect();
    let names: Vec<&str> = chosen.iter().map(|k| NAMES[*k]).collect();
    // The value model, where a guide asks for it.
    let values = if chosen.iter().any(|k| *k >= 3) {
        ValueScorer::from_model(&load_value_model(weights, &Device::flex())?)?.with_cuts(value_cuts)
    } else {
        ValueScorer::default()
    };
    // What `tracesynth synth` searches with by default.
    let default = DefaultListGuide::new(Some(&model), Some(&values));
    let mut scores: Vec<SuiteScore> = names.iter().map(|_| SuiteScore::default()).collect();
    for path in &tasks {
        let text = std::fs::read_to_string(path)?;
        let Ok(problem) = Examples::from_json(&text)
            .map_err(|e| e.to_string())
            .and_then(|ex| ListProblem::from_examples(&ex).map_err(|e| e.to_string()))
        else {
            continue;
        };
        let tests_path = path.with_extension("tests.json");
        let tests: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&tests_path)?)?;
        let mut line = format!("{:<40}", path.file_stem().unwrap_or_default().to_string_lossy());
        for (&k, score) in chosen.iter().zip(scores.iter_mut()) {
            let started = Instant::now();
            // Only the learned guides pay for the model's prediction.
            let priced = if matches!(k, 2 | 5) {
                PricedOps::with_scale(model.probabilities(&problem)?, scale.0, scale.1)
            } else {
                PricedOps::from_probabilities(Vec::new())
            };
            let guide: &dyn ListGuide = match k {
                0 => &UniformListGuide,
                1 => &CoreOpsFirst,
                2 => &priced,
                3 => &ValueGuided { ops: &UniformListGuide, values: &values },
                4 => &ValueGuided { ops: &CoreOpsFirst, values: &values },
                5 => &ValueGuided { ops: &priced, values: &values },
                _ => &default,
            };
            let outcome = synthesize_lists(&problem, &limits, guide, &CancelToken::new());
            let secs = started.elapsed().as_secs_f64();
            let (solved, correct) = match &outcome {
                ListOutcome::Found { program, .. } => {
                    let ok = tests["tests"].as_array().is_some_and(|cases| {
                        cases.iter().all(|c| {
                            let args: Option<Vec<_>> = c["args"].as_array().and_then(|a| {
                                a.iter()
                                    .zip(&problem.params)
                                    .map(|(v, (_, t))| synth_engine::lists::LValue::from_json(v, *t))
                                    .collect()
                            });
                            let want = synth_engine::lists::LValue::from_json(&c["output"], problem.output);
                            args.is_some_and(|a| run(program, &a).ok() == want)
                        })
                    });
                    (true, ok)
                }
                ListOutcome::NotFound { .. } => (false, false),
            };
            score.solved += usize::from(solved);
            score.correct += usize::from(correct);
            score.seconds.push(if solved { secs } else { timeout });
            line += &format!(
                " {:>8}",
                format!(
                    "{}{:.2}",
                    if correct {
                        "+"
                    } else if solved {
                        "~"
                    } else {
                        "-"
                    },
                    secs
                )
            );
        }
        println!("{line}");
    }
    println!("{} tasks, {timeout} s each", tasks.len());
    for (name, s) in names.iter().zip(&mut scores) {
        s.seconds.sort_by(f64::total_cmp);
        let median = s.seconds.get(s.seconds.len() / 2).copied().unwrap_or(0.0);
        println!("{name:<12} solved {:>3}  correct {:>3}  median {median:.2} s", s.solved, s.correct);
    }
    Ok(())
}
