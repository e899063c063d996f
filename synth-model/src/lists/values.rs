//! The value model: how likely a term the list search has built is part of the
//! solution, judged from its values on the examples beside the outputs wanted — the
//! guidance that reacts to what the search built, as CrossBeam's and LambdaBeam's value
//! models give, here over hand-made relations (lengths, membership, order, elementwise
//! and fold relations to the output) instead of learned encoders, so that scoring a term
//! costs about what building it does.
//!
//! Trained on the terms the search keeps on random tasks ([`super::generate`]), each
//! labelled by whether the task's program has a subterm with the same values; the
//! search defers the unlikely ones ([`ValueGuided`]).

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use burn::nn::{Linear, LinearConfig};
use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use burn::tensor::activation::relu;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use synth_engine::lists::{
    run, synthesize_lists, Expr, LType, LValue, ListGuide, ListLimits, ListOp, ListProblem, MAX_VALUE_COST,
};
use synth_engine::search::CancelToken;
use thiserror::Error;

use super::generate::ListTask;

/// The weights' file inside a weights directory.
pub const VALUE_WEIGHTS_FILE: &str = "list-values.bpk";
/// The model configuration beside them.
pub const VALUE_CONFIG_FILE: &str = "list-values-config.json";
/// Length of [`value_features`]' vector.
pub const VALUE_FEATURES: usize = 46;

/// Errors of the value model.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ValueModelError {
    /// No trained weights.
    #[error("list value model weights not found in {}: run `cargo xtask train --lists`", dir.display())]
    MissingWeights {
        /// Where they were looked for.
        dir: PathBuf,
    },
    /// Weights or configuration unreadable, or made for other features.
    #[error("{}: {message}", path.display())]
    Load {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// A tensor could not be read back.
    #[error("reading model weights: {0}")]
    Weights(String),
    /// Nothing to train on.
    #[error("no training values")]
    NoData,
}

fn b(x: bool) -> f32 {
    f32::from(u8::from(x))
}

fn type_slot(ty: LType) -> usize {
    match ty {
        LType::List => 0,
        LType::Int => 1,
        LType::Bool => 2,
    }
}

/// The features of a term of type `ty` with `values` on `problem`'s examples (all in
/// `0..=1`; per-example relations are averaged over the examples).
#[must_use]
pub fn value_features(ty: LType, values: &[LValue], problem: &ListProblem) -> [f32; VALUE_FEATURES] {
    let mut f = [0.0f32; VALUE_FEATURES];
    f[type_slot(ty)] = 1.0;
    f[3 + type_slot(problem.output)] = 1.0;
    f[6] = b(values.windows(2).all(|w| w[0] == w[1]));
    let outputs = problem.examples.iter().map(|(_, o)| o);
    let diffs: Vec<Option<i64>> = values
        .iter()
        .zip(outputs)
        .map(|(v, o)| match (v, o) {
            (LValue::Int(v), LValue::Int(y)) => y.checked_sub(*v),
            _ => None,
        })
        .collect();
    f[39] = b(diffs.len() > 1 && diffs[0].is_some() && diffs.windows(2).all(|w| w[0] == w[1]));
    f[45] = problem.examples.len().min(10) as f32 / 10.0;
    let n = values.len().min(problem.examples.len());
    if n == 0 {
        return f;
    }
    let mut sums = [0.0f32; VALUE_FEATURES];
    for (v, (args, y)) in values.iter().zip(&problem.examples) {
        example_relations(v, y, args, &mut sums);
    }
    for (i, s) in sums.iter().enumerate() {
        if *s != 0.0 {
            f[i] = s / n as f32;
        }
    }
    f
}

/// Adds one example's 0/1 relations between a value `v`, the output `y` and the inputs
/// into `f` (slots 7–38 and 40–44).
fn example_relations(v: &LValue, y: &LValue, args: &[LValue], f: &mut [f32; VALUE_FEATURES]) {
    let in_inputs = |x: i64| {
        args.iter().any(|a| match a {
            LValue::Int(a) => *a == x,
            LValue::List(l) => l.contains(&x),
            LValue::Bool(_) => false,
        })
    };
    match v {
        LValue::List(v) => {
            f[7] += b(v.is_empty());
            f[8] += b(v.len() >= 2 && v.windows(2).all(|w| w[0] <= w[1]));
            f[9] += (v.len() as f32 / 10.0).min(1.0);
            f[42] += b(args.iter().any(|a| matches!(a, LValue::List(l) if l == v)));
            if !v.is_empty() {
                f[44] += v.iter().filter(|x| in_inputs(**x)).count() as f32 / v.len() as f32;
            }
        }
        LValue::Int(v) => f[43] += b(args.contains(&LValue::Int(*v))),
        LValue::Bool(x) => f[41] += b(*x),
    }
    match (v, y) {
        (LValue::List(v), LValue::List(y)) => {
            let same_len = v.len() == y.len();
            f[10] += b(same_len);
            f[11] += b(v.len() < y.len());
            f[12] += b(v.len() > y.len());
            if !y.is_empty() {
                f[13] += y.iter().filter(|x| v.contains(x)).count() as f32 / y.len() as f32;
            }
            if !v.is_empty() {
                f[14] += v.iter().filter(|x| y.contains(x)).count() as f32 / v.len() as f32;
            }
            let longest = v.len().max(y.len());
            if longest > 0 {
                f[15] += v.iter().zip(y.iter()).filter(|(a, b)| a == b).count() as f32 / longest as f32;
            }
            let (short, long) = if v.len() <= y.len() { (v, y) } else { (y, v) };
            f[16] += b(!short.is_empty() && long.starts_with(short));
            f[17] += b(!short.is_empty() && long.ends_with(short));
            let sorted = |l: &[i64]| {
                let mut l = l.to_vec();
                l.sort_unstable();
                l
            };
            f[18] += b(same_len && sorted(v) == sorted(y));
            if same_len && !v.is_empty() {
                let d = y[0].wrapping_sub(v[0]);
                f[19] += b(v.iter().zip(y.iter()).all(|(a, b)| b.wrapping_sub(*a) == d));
                f[20] += b(v.iter().zip(y.iter()).all(|(a, b)| b >= a));
                f[21] += b(v.iter().zip(y.iter()).all(|(a, b)| b <= a));
                f[24] += b(v.iter().rev().eq(y.iter()));
            }
            let novel: Vec<i64> = y.iter().copied().filter(|x| !in_inputs(*x)).collect();
            if !novel.is_empty() {
                f[22] += novel.iter().filter(|x| v.contains(x)).count() as f32 / novel.len() as f32;
                f[23] += 1.0;
            }
        }
        (LValue::Int(v), LValue::List(y)) => {
            f[25] += b(y.contains(v));
            f[26] += b(usize::try_from(*v).is_ok_and(|v| v == y.len()));
            f[27] += b(y.first() == Some(v) || y.last() == Some(v));
            f[28] += b(y.contains(v) && !in_inputs(*v));
        }
        (LValue::List(v), LValue::Int(y)) => {
            f[29] += b(v.contains(y));
            f[30] += b(usize::try_from(*y).is_ok_and(|y| y == v.len()));
            f[31] += b(v.iter().try_fold(0i64, |s, x| s.checked_add(*x)) == Some(*y));
            f[32] += b(!v.is_empty() && (v.iter().max() == Some(y) || v.iter().min() == Some(y)));
            f[33] += b(v.first() == Some(y) || v.last() == Some(y));
        }
        (LValue::Int(v), LValue::Int(y)) => {
            f[34] += b(v == y);
            f[35] += b(v.abs_diff(*y) <= 1);
            f[36] += b(*v != 0 && y.checked_rem(*v) == Some(0));
            f[37] += b(v.signum() == y.signum());
            f[38] += b(v.unsigned_abs() <= y.unsigned_abs());
        }
        (LValue::Bool(v), LValue::Bool(y)) => f[40] += b(v == y),
        _ => {}
    }
}

/// The network's shape, saved beside its weights.
#[derive(Config, Debug)]
pub struct ValueModelConfig {
    /// Input length (must be [`VALUE_FEATURES`]).
    #[config(default = "VALUE_FEATURES")]
    pub features: usize,
    /// Hidden width.
    #[config(default = 32)]
    pub d_hidden: usize,
}

impl ValueModelConfig {
    /// Builds the model with random weights.
    #[must_use]
    pub fn init(&self, device: &Device) -> ValueModel {
        ValueModel {
            hidden: LinearConfig::new(self.features, self.d_hidden).init(device),
            out: LinearConfig::new(self.d_hidden, 1).init(device),
        }
    }
}

/// Features → the logit that a value is part of the solution.
#[derive(Module, Debug)]
pub struct ValueModel {
    hidden: Linear,
    out: Linear,
}

impl ValueModel {
    /// Logits `[batch, 1]` for features `[batch, VALUE_FEATURES]`.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        self.out.forward(relu(self.hidden.forward(x)))
    }
}

/// The trained value model's weights, read out of burn once and run natively: the search
/// scores every term it keeps, and a tensor call per term would cost more than the term.
/// The default scores every value alike and adds nothing.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ValueScorer {
    /// `[features][hidden]`.
    w1: Vec<f32>,
    b1: Vec<f32>,
    w2: Vec<f32>,
    b2: f32,
    /// The extra costs' probability thresholds: below `cuts[i]`, at least `i + 1`.
    cuts: Vec<f32>,
}

/// Default thresholds: a value the model gives less than 1/10 costs one more, less than
/// 1/100 two more (chosen on random tasks, not on the benchmark's).
pub const VALUE_CUTS: [f32; 2] = [0.1, 0.01];

fn tensor_vec<const D: usize>(t: Tensor<D>) -> Result<Vec<f32>, ValueModelError> {
    t.into_data().convert::<f32>().try_to_vec::<f32>().map_err(|e| ValueModelError::Weights(format!("{e:?}")))
}

impl ValueScorer {
    /// Reads the weights out of a model.
    ///
    /// # Errors
    ///
    /// [`ValueModelError::Weights`] should a tensor not read back.
    pub fn from_model(model: &ValueModel) -> Result<ValueScorer, ValueModelError> {
        let bias = |layer: &Linear| -> Result<Vec<f32>, ValueModelError> {
            Ok(layer.bias.as_ref().map(|b| tensor_vec(b.val())).transpose()?.unwrap_or_default())
        };
        Ok(ValueScorer {
            w1: tensor_vec(model.hidden.weight.val())?,
            b1: bias(&model.hidden)?,
            w2: tensor_vec(model.out.weight.val())?,
            b2: bias(&model.out)?.first().copied().unwrap_or(0.0),
            cuts: VALUE_CUTS.to_vec(),
        })
    }

    /// The value model in `dir`, read out for the search (on the CPU).
    ///
    /// # Errors
    ///
    /// As [`load_value_model`].
    pub fn load(dir: &Path) -> Result<ValueScorer, ValueModelError> {
        ValueScorer::from_model(&load_value_model(dir, &Device::flex())?)
    }

    /// The same weights with other thresholds (each a probability, descending).
    #[must_use]
    pub fn with_cuts(mut self, cuts: &[f32]) -> ValueScorer {
        self.cuts = cuts.to_vec();
        self
    }

    /// The probability that a value with these features is part of the solution.
    #[must_use]
    pub fn probability(&self, x: &[f32; VALUE_FEATURES]) -> f32 {
        let hidden = self.b1.len();
        let mut h = self.b1.clone();
        for (i, xi) in x.iter().enumerate() {
            if *xi != 0.0 {
                for (hj, w) in h.iter_mut().zip(self.w1.get(i * hidden..(i + 1) * hidden).unwrap_or_default()) {
                    *hj += xi * w;
                }
            }
        }
        let z = self.b2 + h.iter().zip(&self.w2).map(|(h, w)| h.max(0.0) * w).sum::<f32>();
        1.0 / (1.0 + (-z).exp())
    }

    /// The extra cost of a value with probability `p`.
    #[must_use]
    pub fn extra_cost(&self, p: f32) -> u32 {
        let p = if p.is_nan() { 0.0 } else { p };
        (self.cuts.iter().filter(|c| p < **c).count() as u32).min(MAX_VALUE_COST)
    }
}

/// Reads the configuration and weights from `dir`.
///
/// # Errors
///
/// [`ValueModelError::MissingWeights`], or [`ValueModelError::Load`] for an unreadable
/// file or a model made for other features.
pub fn load_value_model(dir: &Path, device: &Device) -> Result<ValueModel, ValueModelError> {
    let cpath = dir.join(VALUE_CONFIG_FILE);
    let wpath = dir.join(VALUE_WEIGHTS_FILE);
    if !cpath.is_file() || !wpath.is_file() {
        return Err(ValueModelError::MissingWeights { dir: dir.to_path_buf() });
    }
    let load = |path: &Path, message: String| ValueModelError::Load { path: path.to_path_buf(), message };
    let config = ValueModelConfig::load(&cpath).map_err(|e| load(&cpath, e.to_string()))?;
    if config.features != VALUE_FEATURES {
        return Err(load(&cpath, "made for other features than this build's; retrain".into()));
    }
    config.init(device).try_load_file(&wpath).map_err(|e| load(&wpath, e.to_string()))
}

/// Another guide's operator prices, with each value the search keeps priced by the
/// value model.
#[derive(Clone, Copy, Debug)]
pub struct ValueGuided<'a, G: ?Sized> {
    /// The operator prices.
    pub ops: &'a G,
    /// The value model.
    pub values: &'a ValueScorer,
}

impl<G: ListGuide + ?Sized> ListGuide for ValueGuided<'_, G> {
    fn op_cost(&self, op: ListOp, problem: &ListProblem) -> u32 {
        self.ops.op_cost(op, problem)
    }

    fn value_cost(&self, ty: LType, values: &[LValue], problem: &ListProblem) -> u32 {
        self.values.extra_cost(self.values.probability(&value_features(ty, values, problem)))
    }
}

/// Training settings.
#[derive(Config, Debug)]
pub struct ValueTrainingConfig {
    /// Candidates the search builds on each training task (uniform prices).
    #[config(default = 20_000)]
    pub candidates: u64,
    /// Values kept per task that are no subterm's, drawn at random.
    #[config(default = 24)]
    pub negatives_per_task: usize,
    /// Passes over the values.
    #[config(default = 8)]
    pub epochs: usize,
    /// Values per step.
    #[config(default = 512)]
    pub batch_size: usize,
    /// Adam learning rate.
    #[config(default = 3e-3)]
    pub learning_rate: f64,
    /// Seed for sampling, initialisation and shuffling.
    #[config(default = 11)]
    pub seed: u64,
}

/// One labelled value.
#[derive(Clone, Debug, PartialEq)]
pub struct LabelledValue {
    /// [`value_features`].
    pub features: [f32; VALUE_FEATURES],
    /// Whether the task's program has a subterm with these values.
    pub part_of_solution: bool,
}

/// The values of `program`'s closed, non-leaf proper subterms on `problem`'s examples.
fn subterm_columns(program: &Expr, problem: &ListProblem) -> Vec<Vec<LValue>> {
    fn walk(e: &Expr, top: bool, problem: &ListProblem, out: &mut Vec<Vec<LValue>>) -> bool {
        let Expr::Apply(_, args) = e else { return !matches!(e, Expr::Bound(_)) };
        let mut closed = true;
        for a in args {
            closed &= walk(a, false, problem, out);
        }
        if closed && !top {
            let col: Option<Vec<LValue>> = problem.examples.iter().map(|(a, _)| run(e, a).ok()).collect();
            if let Some(col) = col.filter(|c| !out.contains(c)) {
                out.push(col);
            }
        }
        closed
    }
    let mut out = Vec::new();
    walk(program, true, problem, &mut out);
    out
}

/// Records every value the search keeps, with its label.
struct Recorder {
    wanted: Vec<Vec<LValue>>,
    seen: Mutex<Vec<LabelledValue>>,
}

impl ListGuide for Recorder {
    fn op_cost(&self, _op: ListOp, _problem: &ListProblem) -> u32 {
        1
    }

    fn value_cost(&self, ty: LType, values: &[LValue], problem: &ListProblem) -> u32 {
        let part_of_solution = self.wanted.iter().any(|w| w == values);
        let features = value_features(ty, values, problem);
        self.seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(LabelledValue { features, part_of_solution });
        0
    }
}

/// The values the search keeps on one task: every one that is part of the solution, and
/// up to `negatives` of the others drawn at random.
#[must_use]
pub fn labelled_values(task: &ListTask, candidates: u64, negatives: usize, seed: u64) -> Vec<LabelledValue> {
    let recorder = Recorder { wanted: subterm_columns(&task.program, &task.problem), seen: Mutex::new(Vec::new()) };
    let limits = ListLimits { timeout: Duration::from_secs(5), max_candidates: candidates, ..ListLimits::default() };
    let _ = synthesize_lists(&task.problem, &limits, &recorder, &CancelToken::new());
    let seen = recorder.seen.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner);
    let (mut yes, mut no): (Vec<_>, Vec<_>) = seen.into_iter().partition(|v| v.part_of_solution);
    no.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    no.truncate(negatives);
    yes.extend(no);
    yes
}

/// [`labelled_values`] of every task, in parallel, the same on every machine.
#[must_use]
pub fn labelled_values_of(tasks: &[ListTask], config: &ValueTrainingConfig) -> Vec<LabelledValue> {
    tasks
        .par_iter()
        .enumerate()
        .flat_map_iter(|(i, t)| {
            labelled_values(t, config.candidates, config.negatives_per_task, config.seed.wrapping_add(i as u64))
        })
        .collect()
}

/// Trains a value model; the model comes back on the CPU.
///
/// # Errors
///
/// [`ValueModelError::NoData`].
pub fn train_value_model(
    config: &ValueTrainingConfig,
    data: &[LabelledValue],
    device: &Device,
    progress: &mut dyn FnMut(super::net::ListStep),
) -> Result<ValueModel, ValueModelError> {
    if data.is_empty() {
        return Err(ValueModelError::NoData);
    }
    device.seed(config.seed);
    let ad = device.clone().autodiff();
    let mut model = ValueModelConfig::new().init(&ad);
    let mut optim = AdamConfig::new().init();
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let total = data.len().div_ceil(config.batch_size) * config.epochs;
    let mut order: Vec<usize> = (0..data.len()).collect();
    let mut step = 0;
    for _ in 0..config.epochs {
        order.shuffle(&mut rng);
        for chunk in order.chunks(config.batch_size) {
            step += 1;
            let x: Vec<f32> = chunk.iter().flat_map(|i| data[*i].features).collect();
            let y: Vec<f32> = chunk.iter().map(|i| b(data[*i].part_of_solution)).collect();
            let n = chunk.len();
            let x = Tensor::<2>::from_data(TensorData::new(x, [n, VALUE_FEATURES]), &ad);
            let y = Tensor::<2>::from_data(TensorData::new(y, [n, 1]), &ad);
            let z = model.forward(x);
            let loss = crate::train::logit_bce(z, y).mean();
            let value: f32 = loss.clone().into_scalar::<f32>();
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            let lr = crate::train::warm_down(config.learning_rate, step, total);
            model = optim.step(lr, model, grads);
            progress(super::net::ListStep { step, total, loss: value });
        }
    }
    Ok(model.valid().to_device(device))
}

/// Held-out metrics of a value model.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct ValueMetrics {
    /// Values that are part of their task's solution.
    pub positives: usize,
    /// Values that are not.
    pub negatives: usize,
    /// Mean binary cross-entropy.
    pub bce: f64,
    /// Area under the ROC curve.
    pub auc: f64,
    /// Mean extra cost of the positives, and of the negatives.
    pub extra_of_positives: f64,
    /// Mean extra cost of the negatives.
    pub extra_of_negatives: f64,
}

/// Held-out metrics on labelled values.
#[must_use]
pub fn evaluate_value_model(scorer: &ValueScorer, data: &[LabelledValue]) -> ValueMetrics {
    let mut m = ValueMetrics::default();
    let mut scored: Vec<(f32, bool)> = Vec::with_capacity(data.len());
    for v in data {
        let p = scorer.probability(&v.features);
        m.bce += crate::train::label_bce(p, v.part_of_solution);
        let extra = f64::from(scorer.extra_cost(p));
        if v.part_of_solution {
            m.positives += 1;
            m.extra_of_positives += extra;
        } else {
            m.negatives += 1;
            m.extra_of_negatives += extra;
        }
        scored.push((p, v.part_of_solution));
    }
    scored.sort_by(|a, b| a.0.total_cmp(&b.0));
    // AUC: the share of (positive, negative) pairs ranked right (ties count half).
    let (mut below, mut pairs) = (0.0f64, 0.0f64);
    let mut negatives_so_far = 0usize;
    let mut i = 0;
    while i < scored.len() {
        let j = scored[i..].iter().position(|s| s.0 != scored[i].0).map_or(scored.len(), |k| i + k);
        let (pos, neg) =
            scored[i..j].iter().fold((0usize, 0usize), |(p, n), s| if s.1 { (p + 1, n) } else { (p, n + 1) });
        below += pos as f64 * (negatives_so_far as f64 + neg as f64 / 2.0);
        pairs += pos as f64;
        negatives_so_far += neg;
        i = j;
    }
    m.auc = if pairs > 0.0 && negatives_so_far > 0 { below / (pairs * negatives_so_far as f64) } else { 0.0 };
    m.bce /= data.len().max(1) as f64;
    m.extra_of_positives /= m.positives.max(1) as f64;
    m.extra_of_negatives /= m.negatives.max(1) as f64;
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lists::generate::GenConfig;
    use crate::lists::net::generate_tasks;

    #[test]
    fn values_that_relate_to_the_output_are_told_apart() {
        let spec = r#"{"function": "f", "params": [{"name": "xs", "type": "list[int]"}], "output_type": "list[int]",
          "examples": [{"args": [[1, 5, 3]], "output": [5, 3, 1]}, {"args": [[7, -3, 10, 2]], "output": [10, 7, 2, -3]}]}"#;
        let problem = ListProblem::from_examples(&synth_engine::spec::Examples::from_json(spec).unwrap()).unwrap();
        let sorted = [LValue::List(vec![1, 3, 5].into()), LValue::List(vec![-3, 2, 7, 10].into())];
        let f = value_features(LType::List, &sorted, &problem);
        assert_eq!((f[0], f[3], f[10], f[13], f[18], f[8]), (1.0, 1.0, 1.0, 1.0, 1.0, 1.0));
        let heads = [LValue::Int(1), LValue::Int(7)];
        let f = value_features(LType::Int, &heads, &problem);
        assert_eq!((f[1], f[25], f[10], f[6]), (1.0, 1.0, 0.0, 0.0));
    }

    #[test]
    fn labels_mark_the_programs_subterms_and_training_ranks_them_first() {
        let gen = GenConfig { max_size: 8, ..GenConfig::default() };
        let tasks = generate_tasks(240, &gen, 5);
        let config = ValueTrainingConfig::new().with_candidates(3_000).with_epochs(6).with_batch_size(128);
        let (train, held) = tasks.split_at(200);
        let data = labelled_values_of(train, &config);
        let positives = data.iter().filter(|v| v.part_of_solution).count();
        assert!(positives > 50 && positives < data.len(), "{positives} of {}", data.len());
        let device = Device::flex();
        let model = train_value_model(&config, &data, &device, &mut |_| {}).unwrap();
        let scorer = ValueScorer::from_model(&model).unwrap();
        let m = evaluate_value_model(&scorer, &labelled_values_of(held, &config));
        assert!(m.auc > 0.7, "{m:?}");
        assert!(m.extra_of_positives < m.extra_of_negatives, "{m:?}");
        let dir = tempfile::tempdir().unwrap();
        model.clone().save_file(dir.path().join(VALUE_WEIGHTS_FILE)).unwrap();
        ValueModelConfig::new().save(dir.path().join(VALUE_CONFIG_FILE)).unwrap();
        let back = ValueScorer::from_model(&load_value_model(dir.path(), &device).unwrap()).unwrap();
        assert_eq!(back, scorer);
        // The native forward pass is the network's.
        for v in data.iter().take(20) {
            let x = Tensor::<2>::from_data(TensorData::new(v.features.to_vec(), [1, VALUE_FEATURES]), &device);
            let p: f32 = burn::tensor::activation::sigmoid(model.forward(x)).into_scalar::<f32>();
            assert!((p - scorer.probability(&v.features)).abs() < 1e-4, "{p}");
        }
        assert!(matches!(
            load_value_model(&dir.path().join("nowhere"), &device),
            Err(ValueModelError::MissingWeights { .. })
        ));
    }

    #[test]
    fn the_committed_weights_load_and_rank_the_solutions_values_first() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("weights");
        let scorer = ValueScorer::from_model(&load_value_model(&dir, &Device::flex()).unwrap()).unwrap();
        let tasks = generate_tasks(100, &GenConfig::default(), 99);
        let config = ValueTrainingConfig::new().with_candidates(3_000);
        let m = evaluate_value_model(&scorer, &labelled_values_of(&tasks, &config));
        assert!(m.auc > 0.8 && m.extra_of_positives < m.extra_of_negatives, "{m:?}");
    }
}
