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
) -> Result<()> {
    use synth_engine::lists::{
        run, synthesize_lists, CoreOpsFirst, ListGuide, ListLimits, ListOutcome, ListProblem, UniformListGuide,
    };
    use synth_engine::search::CancelToken;
    use synth_engine::spec::Examples;
    use synth_model::lists::guide::{ListModelGuide, PricedOps};

    let model = ListModelGuide::load(weights)?;
    let mut tasks: Vec<_> = std::fs::read_dir(suite)
        .with_context(|| format!("reading {}", suite.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json") && !p.to_string_lossy().ends_with(".tests.json"))
        .collect();
    tasks.sort();
    let tasks: Vec<_> = tasks.into_iter().step_by(every.max(1)).collect();
    let limits = ListLimits { timeout: std::time::Duration::from_secs_f64(timeout), ..ListLimits::default() };
    let names = ["uniform", "core-first", "learned"];
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
        for (k, score) in scores.iter_mut().enumerate() {
            let started = Instant::now();
            let priced;
            let guide: &dyn ListGuide = match k {
                0 => &UniformListGuide,
                1 => &CoreOpsFirst,
                _ => {
                    priced = PricedOps::with_scale(model.probabilities(&problem)?, scale.0, scale.1);
                    &priced
                }
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
