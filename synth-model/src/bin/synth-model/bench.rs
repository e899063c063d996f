//! `synth-model bench`: the learned guide against the uniform one on SyGuS suites and held-out tasks.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _, Result};
use burn::prelude::*;
use synth_engine::search::{synthesize, CancelToken, Guide, SearchLimits, SearchOutcome, UniformGuide};
use synth_engine::spec::{sygus, Problem};
use synth_model::data::{generate, DataConfig, Task};
use synth_model::guide::Guider;
use synth_model::model::top_labels;
use synth_model::pricing::PriorGuide;
use synth_model::race::{wait_for_model_thread, GuideUsed};
use synth_model::text::TextEncoder;
use synth_model::trace::TraceFeatures;

use crate::bar;

#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Run {
    pub(crate) solved: bool,
    pub(crate) secs: f64,
    /// Of `secs`, the time spent computing the guide.
    pub(crate) guide_secs: f64,
    /// The learned guide's run: which guide ended it.
    pub(crate) ended_by: Option<GuideUsed>,
}

/// One search with a fixed guide.
pub(crate) fn run_with(problem: &Problem, guide: &dyn Guide, timeout: f64) -> Run {
    let start = Instant::now();
    let limits = SearchLimits { timeout: Duration::from_secs_f64(timeout), ..SearchLimits::default() };
    let out = synthesize(problem, &limits, guide, &CancelToken::new());
    Run {
        solved: matches!(out, Ok(SearchOutcome::Found { .. })),
        secs: start.elapsed().as_secs_f64(),
        ..Run::default()
    }
}

/// The model's guide computed first (its time counted; `text`, the description's
/// embedding, made earlier), then one search with it.
pub(crate) fn run_ready(
    guider: &Guider,
    problem: &Problem,
    text: Option<&[f32]>,
    features: &TraceFeatures,
    timeout: f64,
) -> Run {
    let start = Instant::now();
    let guide = match guider.guide_with_text(problem, text, features) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("guide failed ({e})");
            return Run { secs: start.elapsed().as_secs_f64(), ..Run::default() };
        }
    };
    let guide_secs = start.elapsed().as_secs_f64();
    let rest = (timeout - guide_secs).max(0.0);
    let run = run_with(problem, &guide, rest);
    Run { secs: guide_secs + run.secs, guide_secs, ..run }
}

/// One search with the learned guide (see `Guider::synthesize`: the search starts
/// with uniform costs while the model runs on a second thread), or with uniform costs.
pub(crate) fn run_one(problem: &Problem, guide: Option<(&Arc<Guider>, &TraceFeatures)>, timeout: f64) -> Run {
    let Some((guider, features)) = guide else { return run_with(problem, &UniformGuide, timeout) };
    let start = Instant::now();
    let limits = SearchLimits { timeout: Duration::from_secs_f64(timeout), ..SearchLimits::default() };
    let outcome = guider.synthesize(problem, features, &limits, &CancelToken::new());
    let secs = start.elapsed().as_secs_f64();
    // Model work left from this search must not delay the next one's.
    wait_for_model_thread();
    match outcome {
        Ok(s) => Run {
            solved: matches!(s.outcome, SearchOutcome::Found { .. }),
            secs,
            guide_secs: 0.0,
            ended_by: Some(s.guide),
        },
        Err(e) => {
            eprintln!("guided search failed ({e})");
            Run { secs, ..Run::default() }
        }
    }
}

/// Whose search gave each outcome of a column: the one that found the solution first.
pub(crate) fn ended_by(c: &Column) -> String {
    let count = |g: GuideUsed| c.runs.iter().filter(|r| r.ended_by == Some(g)).count();
    format!(
        "{}: outcomes from the search of the prior guide (first to find, or the only one: the model was not ready, or priced the grammar alike) {}, of the examples' guide (with the description's words, if any) {}, of the description's guide (its sentence embedding too) {}; terms the decoder proposed {}",
        c.name,
        count(GuideUsed::Prior),
        count(GuideUsed::Examples),
        count(GuideUsed::Description),
        count(GuideUsed::Decoder)
    )
}

pub(crate) fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    Some(if v.len().is_multiple_of(2) { (v[m - 1] + v[m]) / 2.0 } else { v[m] })
}

pub(crate) struct Column {
    pub(crate) name: &'static str,
    pub(crate) runs: Vec<Run>,
}

pub(crate) fn summarize(suite: &str, cols: &[Column], timeout: f64) -> Vec<String> {
    let mut rows = Vec::new();
    for c in cols {
        let n = c.runs.len();
        let solved = c.runs.iter().filter(|r| r.solved).count();
        let med_all = median(c.runs.iter().map(|r| if r.solved { r.secs } else { timeout }).collect());
        let med_solved = median(c.runs.iter().filter(|r| r.solved).map(|r| r.secs).collect());
        let f = |m: Option<f64>| m.map_or("-".into(), |x| format!("{x:.3}"));
        // Guides computed on a second thread while the search runs cost the search no time.
        let med_guide = if c.runs.iter().any(|r| r.ended_by.is_some()) {
            "in parallel".to_string()
        } else {
            f(median(c.runs.iter().map(|r| r.guide_secs).collect()))
        };
        rows.push(format!(
            "| {suite} | {} | {solved}/{n} | {} | {} | {med_guide} |",
            c.name,
            f(med_solved),
            f(med_all)
        ));
    }
    rows
}

pub(crate) fn ratio_line(suite: &str, base: &Column, other: &Column, timeout: f64) -> String {
    let med = |c: &Column| {
        median(c.runs.iter().map(|r| if r.solved { r.secs } else { timeout }).collect()).unwrap_or(timeout)
    };
    let both: Vec<(f64, f64)> = base
        .runs
        .iter()
        .zip(&other.runs)
        .filter(|(a, b)| a.solved && b.solved)
        .map(|(a, b)| (a.secs, b.secs))
        .collect();
    let med_both = |pick: fn(&(f64, f64)) -> f64| median(both.iter().map(pick).collect());
    let solved = |c: &Column| c.runs.iter().filter(|r| r.solved).count();
    // Per-task ratios, unsolved = timeout, times floored at 0.1 ms.
    let logs: Vec<f64> = base
        .runs
        .iter()
        .zip(&other.runs)
        .map(|(a, b)| {
            let t = |r: &Run| if r.solved { r.secs.max(1e-4) } else { timeout };
            (t(a) / t(b)).ln()
        })
        .collect();
    let geo = (logs.iter().sum::<f64>() / logs.len().max(1) as f64).exp();
    format!(
        "{suite}: {} vs {}: solved {} vs {}; median time (all, unsolved = {timeout} s) {:.3} vs {:.3} s = {:.2}x; geometric mean of per-task speed-ups {geo:.2}x; on the {} solved by both {} vs {} s",
        other.name,
        base.name,
        solved(other),
        solved(base),
        med(other),
        med(base),
        med(base) / med(other).max(1e-9),
        both.len(),
        med_both(|p| p.1).map_or("-".into(), |x| format!("{x:.3}")),
        med_both(|p| p.0).map_or("-".into(), |x| format!("{x:.3}")),
    )
}

pub(crate) fn text_latency() -> Result<String> {
    let device = Device::flex();
    let t0 = Instant::now();
    let enc = TextEncoder::load_default(&device)?;
    let load = t0.elapsed().as_secs_f64();
    let sentences = [
        "clear the lowest set bit",
        "take the text before the first comma",
        "return the number of characters in the string",
        "if x is below y then x otherwise y",
        "the bitwise and of the number and 255",
        "concatenate the first name, a space and the last name",
        "double the input",
        "replace the first dash in the text with a slash",
    ];
    enc.embed(&sentences[..1])?; // warm-up
    let t1 = Instant::now();
    let reps = 3;
    for _ in 0..reps {
        for s in &sentences {
            enc.embed(&[s])?;
        }
    }
    let single = t1.elapsed().as_secs_f64() * 1000.0 / (reps * sentences.len()) as f64;
    let batch: Vec<&str> = sentences.iter().cycle().take(32).copied().collect();
    let t2 = Instant::now();
    enc.embed(&batch)?;
    let batched = t2.elapsed().as_secs_f64() * 1000.0;
    Ok(format!(
        "text encoder (CPU, flex): weights load {load:.2} s; {single:.1} ms per sentence one at a time; {batched:.0} ms per batch of 32 ({:.1} ms per sentence)",
        batched / 32.0
    ))
}

/// Up to `limit` held-out tasks of at least `min_size`, spread evenly over the families.
pub(crate) fn pick_held_out(test: &[Task], min_size: usize, limit: usize) -> Vec<&Task> {
    let mut tasks: Vec<&Task> = test.iter().filter(|t| t.size >= min_size).collect();
    tasks.sort_by_key(|t| (t.family, t.program.to_string()));
    let mut by_family: std::collections::BTreeMap<&str, Vec<&Task>> = std::collections::BTreeMap::new();
    for t in tasks {
        by_family.entry(t.family).or_default().push(t);
    }
    let mut picked: Vec<&Task> = Vec::new();
    let mut i = 0;
    while picked.len() < limit && by_family.values().any(|v| i < v.len()) {
        for v in by_family.values() {
            if let Some(t) = v.get(i) {
                if picked.len() < limit {
                    picked.push(t);
                }
            }
        }
        i += 1;
    }
    picked
}

/// Overrides of the learned guide's defaults, and how often each search runs.
pub(crate) struct GuideSettings {
    pub(crate) cost_scale: Option<f32>,
    pub(crate) propose_min_p: Option<f32>,
    pub(crate) repeat: usize,
}

/// `search` run up to `n` times while it solves: the run with the median time (a
/// search that fails once is not run again; it would fail again at this limit).
pub(crate) fn repeated(n: usize, search: impl Fn() -> Run) -> Run {
    let first = search();
    if !first.solved {
        return first;
    }
    let mut runs = vec![first];
    runs.extend((1..n).map(|_| search()));
    runs.sort_by(|a, b| a.secs.total_cmp(&b.secs));
    runs[runs.len() / 2]
}

pub(crate) fn run_bench(
    suites: &[PathBuf],
    timeout: f64,
    synthetic_limit: usize,
    limit: usize,
    min_sizes: &[usize],
    weights: &Path,
    settings: GuideSettings,
) -> Result<()> {
    if !(timeout.is_finite() && timeout > 0.0) {
        bail!("--timeout must be positive");
    }
    println!("{}", text_latency()?);
    let t0 = Instant::now();
    let mut guider = Guider::load(weights)?;
    if let Some(c) = settings.cost_scale {
        guider.cost_scale = c;
    }
    if let Some(p) = settings.propose_min_p {
        guider.propose_min_p = p;
    }
    println!(
        "learned guide cost = round({} × −ln p), clamped to 1..=16; proposes common constants at p ≥ {}",
        guider.cost_scale, guider.propose_min_p
    );
    println!("guide load (weights + text encoder): {:.2} s", t0.elapsed().as_secs_f64());
    // The same guide with the program decoder racing the searches (off by default), to
    // measure what the decoder buys.
    #[cfg(feature = "decoder")]
    let decoding = decoding_guider(&guider, weights)?;
    #[cfg(not(feature = "decoder"))]
    let decoding: Option<Arc<Guider>> = None;
    let guider = Arc::new(guider);
    println!();
    let mut table = vec![
        "| suite | guide | solved | median s (solved) | median s (all, unsolved = timeout) | median s computing the guide |".to_string(),
        "|---|---|---|---|---|---|".to_string(),
    ];
    let mut ratios = Vec::new();

    // Held-out synthetic tasks, described: one slice per smallest size.
    let data = generate(&DataConfig::default())?;
    for &min_size in min_sizes {
        let picked = pick_held_out(&data.test, min_size, synthetic_limit);
        let suite = format!("synthetic held-out (size ≥ {min_size})");
        let pb = bar(picked.len() as u64, &suite);
        let mut cols = vec![
            Column { name: "uniform", runs: Vec::new() },
            Column { name: "uniform + every common constant", runs: Vec::new() },
            Column { name: "learned, no description", runs: Vec::new() },
            Column { name: "learned + description", runs: Vec::new() },
            Column { name: "examples' guide, ready", runs: Vec::new() },
            Column { name: "description's guide, embedding ready", runs: Vec::new() },
        ];
        if decoding.is_some() {
            cols.push(Column { name: "learned, no description, + decoder", runs: Vec::new() });
            cols.push(Column { name: "learned + description, + decoder", runs: Vec::new() });
        }
        for t in &picked {
            let mut bare = t.problem.clone();
            bare.description = None;
            let r = settings.repeat;
            cols[0].runs.push(repeated(r, || run_one(&bare, None, timeout)));
            cols[1].runs.push(repeated(r, || run_with(&bare, &PriorGuide, timeout)));
            cols[2].runs.push(repeated(r, || run_one(&bare, Some((&guider, &t.features)), timeout)));
            cols[3].runs.push(repeated(r, || run_one(&t.problem, Some((&guider, &t.features)), timeout)));
            // The guides' worth apart from when they arrive: each search starts with
            // its guide, the model's time on the examples counted, the sentence
            // encoder's not (as when the description is embedded ahead).
            let text = guider.describe(&t.problem)?;
            cols[4].runs.push(repeated(r, || run_ready(&guider, &bare, None, &t.features, timeout)));
            cols[5].runs.push(repeated(r, || run_ready(&guider, &t.problem, text.as_deref(), &t.features, timeout)));
            if let Some(decoding) = &decoding {
                cols[6].runs.push(repeated(r, || run_one(&bare, Some((decoding, &t.features)), timeout)));
                cols[7].runs.push(repeated(r, || run_one(&t.problem, Some((decoding, &t.features)), timeout)));
            }
            pb.inc(1);
        }
        pb.finish_and_clear();
        if !picked.is_empty() {
            table.extend(summarize(&suite, &cols, timeout));
            ratios.push(ratio_line(&suite, &cols[0], &cols[2], timeout));
            ratios.push(ratio_line(&suite, &cols[0], &cols[3], timeout));
            ratios.push(ratio_line(&suite, &cols[2], &cols[3], timeout));
            ratios.push(ratio_line(&suite, &cols[1], &cols[2], timeout));
            ratios.push(ratio_line(&suite, &cols[1], &cols[3], timeout));
            ratios.push(ratio_line(&suite, &cols[4], &cols[5], timeout));
            ratios.push(format!("{suite}: {}", ended_by(&cols[2])));
            ratios.push(format!("{suite}: {}", ended_by(&cols[3])));
            if decoding.is_some() {
                ratios.push(ratio_line(&suite, &cols[2], &cols[6], timeout));
                ratios.push(ratio_line(&suite, &cols[3], &cols[7], timeout));
                ratios.push(format!("{suite}: {}", ended_by(&cols[6])));
                ratios.push(format!("{suite}: {}", ended_by(&cols[7])));
            }
        }
    }

    for dir in suites {
        let mut files = Vec::new();
        sygus::collect_files(dir, &mut files).with_context(|| format!("cannot read {}", dir.display()))?;
        files.sort();
        let name = dir.file_name().map_or_else(|| dir.display().to_string(), |n| n.to_string_lossy().into_owned());
        // An even spread over the suite.
        let step = (files.len() / limit.max(1)).max(1);
        let files: Vec<&PathBuf> = files.iter().step_by(step).take(limit).collect();
        let pb = bar(files.len() as u64, &name);
        let mut cols = vec![Column { name: "uniform", runs: Vec::new() }, Column { name: "learned", runs: Vec::new() }];
        if decoding.is_some() {
            cols.push(Column { name: "learned + decoder", runs: Vec::new() });
        }
        for f in &files {
            let src = std::fs::read_to_string(f).with_context(|| format!("cannot read {}", f.display()))?;
            let Ok(p) = sygus::parse(&src) else {
                pb.inc(1);
                continue;
            };
            cols[0].runs.push(repeated(settings.repeat, || run_one(&p.problem, None, timeout)));
            cols[1].runs.push(repeated(settings.repeat, || {
                run_one(&p.problem, Some((&guider, &TraceFeatures::none())), timeout)
            }));
            if let Some(decoding) = &decoding {
                cols[2].runs.push(repeated(settings.repeat, || {
                    run_one(&p.problem, Some((decoding, &TraceFeatures::none())), timeout)
                }));
            }
            pb.inc(1);
        }
        pb.finish_and_clear();
        table.extend(summarize(&name, &cols, timeout));
        ratios.push(ratio_line(&name, &cols[0], &cols[1], timeout));
        ratios.push(format!("{name}: {}", ended_by(&cols[1])));
        if decoding.is_some() {
            ratios.push(ratio_line(&name, &cols[1], &cols[2], timeout));
            ratios.push(format!("{name}: {}", ended_by(&cols[2])));
        }
    }
    println!(
        "per-task timeout {timeout} s; each task's time is the median of {} runs of a search that solves it; learned: the search starts with the prior guide (uniform costs, every common constant) while the model runs on a second thread (Guider::synthesize)",
        settings.repeat.max(1)
    );
    println!();
    for r in table {
        println!("{r}");
    }
    println!();
    for r in ratios {
        println!("{r}");
    }
    // What the guide says for the example.
    let mut p = Problem::new(
        "f",
        vec![synth_engine::spec::Param {
            name: "x".into(),
            ty: synth_engine::spec::TypeSpec::parse("u32").expect("type"),
        }],
        synth_engine::spec::TypeSpec::parse("u32").expect("type"),
    );
    p.description = Some("clear the lowest set bit".into());
    p.examples = [(12u64, 8u64), (7, 6), (16, 0), (5, 4)]
        .iter()
        .map(|(a, b)| synth_engine::spec::Example {
            args: vec![synth_engine::dsl::Value::bv(32, *a)],
            output: synth_engine::dsl::Value::bv(32, *b),
        })
        .collect();
    let pred = guider.predict(&p, &TraceFeatures::none())?;
    let top: Vec<String> = top_labels(&pred, 8).iter().map(|(l, q)| format!("{l} {q:.2}")).collect();
    println!();
    println!("\"clear the lowest set bit\" on 4 u32 examples: top labels {}", top.join(", "));
    Ok(())
}

/// The guide of `guider` with the program decoder proposing terms beside the searches,
/// when the decoder's weights are there.
#[cfg(feature = "decoder")]
fn decoding_guider(guider: &Guider, weights: &Path) -> Result<Option<Arc<Guider>>> {
    if !guider.has_decoder() {
        return Ok(None);
    }
    let beam = synth_model::decoder::BeamSettings::default();
    println!("program decoder: beam width {}, terms of at most {} nodes", beam.width, beam.max_nodes);
    let mut g = Guider::load(weights)?;
    g.cost_scale = guider.cost_scale;
    g.propose_min_p = guider.propose_min_p;
    g.beam = Some(beam);
    Ok(Some(Arc::new(g)))
}
