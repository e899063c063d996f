//! The list model: a multilayer perceptron from a task's features
//! ([`super::features`]) to the probability that the solution uses each operator
//! (DeepCoder's attribute prediction), its training on random tasks
//! ([`super::generate`]), held-out metrics, and its weights on disk.

use std::path::{Path, PathBuf};

use burn::nn::{Linear, LinearConfig};
use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use burn::tensor::activation::{relu, sigmoid};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use synth_engine::lists::{ListOp, ListProblem};
use thiserror::Error;

use super::features::{task_features, FEATURE_LEN};
use super::generate::{random_task, GenConfig, ListTask};

/// The weights' file inside a weights directory.
pub const LIST_WEIGHTS_FILE: &str = "list-guide.bpk";
/// The model configuration beside them.
pub const LIST_CONFIG_FILE: &str = "list-guide-config.json";

/// Errors of the list model.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ListModelError {
    /// No trained weights.
    #[error("list guide weights not found in {}: run `cargo xtask train --lists`", dir.display())]
    MissingWeights {
        /// Where they were looked for.
        dir: PathBuf,
    },
    /// Weights or configuration unreadable, or made for other operators or features.
    #[error("{}: {message}", path.display())]
    Load {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// A tensor could not be read back.
    #[error("reading model output: {0}")]
    Output(String),
    /// Nothing to train on.
    #[error("no training tasks")]
    NoData,
}

/// The network's shape, saved beside its weights.
#[derive(Config, Debug)]
pub struct ListModelConfig {
    /// Input length (must be [`FEATURE_LEN`]).
    #[config(default = "FEATURE_LEN")]
    pub features: usize,
    /// Hidden width.
    #[config(default = 256)]
    pub d_hidden: usize,
    /// The operators predicted, by name, in order (must be [`ListOp::ALL`]).
    pub ops: Vec<String>,
}

impl ListModelConfig {
    /// The configuration for this build's operators and features.
    #[must_use]
    pub fn current() -> ListModelConfig {
        ListModelConfig::new(ListOp::ALL.iter().map(|op| op.name().to_string()).collect())
    }

    /// Builds the model with random weights.
    #[must_use]
    pub fn init(&self, device: &Device) -> ListModel {
        ListModel {
            input: LinearConfig::new(self.features, self.d_hidden).init(device),
            hidden: LinearConfig::new(self.d_hidden, self.d_hidden).init(device),
            ops: LinearConfig::new(self.d_hidden, self.ops.len()).init(device),
        }
    }
}

/// Features → operator logits.
#[derive(Module, Debug)]
pub struct ListModel {
    input: Linear,
    hidden: Linear,
    ops: Linear,
}

impl ListModel {
    /// Operator logits `[batch, ops]` for features `[batch, FEATURE_LEN]`.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let h = relu(self.input.forward(x));
        let h = relu(self.hidden.forward(h));
        self.ops.forward(h)
    }

    /// The probability of each operator of [`ListOp::ALL`] for one problem.
    ///
    /// # Errors
    ///
    /// An unreadable output.
    pub fn predict(&self, problem: &ListProblem, device: &Device) -> Result<Vec<f32>, ListModelError> {
        self.predict_features(task_features(problem, true), device)
    }

    /// The probability of each operator for features [`task_features`] computed.
    ///
    /// # Errors
    ///
    /// An unreadable output.
    pub fn predict_features(&self, features: Vec<f32>, device: &Device) -> Result<Vec<f32>, ListModelError> {
        let x = Tensor::<2>::from_data(TensorData::new(features, [1, FEATURE_LEN]), device);
        sigmoid(self.forward(x))
            .into_data()
            .convert::<f32>()
            .try_to_vec::<f32>()
            .map_err(|e| ListModelError::Output(format!("{e:?}")))
    }
}

/// Reads the configuration and weights from `dir`.
///
/// # Errors
///
/// [`ListModelError::MissingWeights`], or [`ListModelError::Load`] for an unreadable
/// file or a model made for other operators or features.
pub fn load_list_model(dir: &Path, device: &Device) -> Result<ListModel, ListModelError> {
    let cpath = dir.join(LIST_CONFIG_FILE);
    let wpath = dir.join(LIST_WEIGHTS_FILE);
    if !cpath.is_file() || !wpath.is_file() {
        return Err(ListModelError::MissingWeights { dir: dir.to_path_buf() });
    }
    let load = |path: &Path, message: String| ListModelError::Load { path: path.to_path_buf(), message };
    let config = ListModelConfig::load(&cpath).map_err(|e| load(&cpath, e.to_string()))?;
    let current = ListModelConfig::current();
    if config.ops != current.ops || config.features != current.features {
        return Err(load(&cpath, "made for other operators or features than this build's; retrain".into()));
    }
    config.init(device).try_load_file(&wpath).map_err(|e| load(&wpath, e.to_string()))
}

/// Training settings.
#[derive(Config, Debug)]
pub struct ListTrainingConfig {
    /// Random tasks trained on.
    #[config(default = 400_000)]
    pub tasks: usize,
    /// Passes over them.
    #[config(default = 10)]
    pub epochs: usize,
    /// Tasks per step.
    #[config(default = 256)]
    pub batch_size: usize,
    /// Adam learning rate.
    #[config(default = 2e-3)]
    pub learning_rate: f64,
    /// Probability of hiding a task's description, so the model works without one.
    #[config(default = 0.5)]
    pub text_dropout: f64,
    /// Smallest program size of the tasks.
    #[config(default = 3)]
    pub min_size: usize,
    /// Largest program size of the tasks.
    #[config(default = 15)]
    pub max_size: usize,
    /// Seed for the tasks, initialisation and shuffling.
    #[config(default = 7)]
    pub seed: u64,
}

/// Random tasks from `seed`, made in parallel, the same on every machine.
#[must_use]
pub fn generate_tasks(count: usize, gen: &GenConfig, seed: u64) -> Vec<ListTask> {
    (0..count)
        .into_par_iter()
        .filter_map(|i| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(i as u64));
            (0..50).find_map(|_| random_task(&mut rng, gen, "f"))
        })
        .collect()
}

/// What training reports after each step.
#[derive(Clone, Copy, Debug)]
pub struct ListStep {
    /// Step number (1-based).
    pub step: usize,
    /// Steps in all.
    pub total: usize,
    /// The batch's loss.
    pub loss: f32,
}

fn labels(task: &ListTask) -> Vec<f32> {
    let used = task.ops();
    ListOp::ALL.iter().map(|op| f32::from(u8::from(used.contains(op)))).collect()
}

/// Trains a model on `tasks`; the model comes back on the CPU.
///
/// # Errors
///
/// [`ListModelError::NoData`].
pub fn train_list_model(
    config: &ListTrainingConfig,
    tasks: &[ListTask],
    device: &Device,
    progress: &mut dyn FnMut(ListStep),
) -> Result<ListModel, ListModelError> {
    if tasks.is_empty() {
        return Err(ListModelError::NoData);
    }
    device.seed(config.seed);
    let ad = device.clone().autodiff();
    let mut model = ListModelConfig::current().init(&ad);
    let mut optim = AdamConfig::new().init();
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let n_ops = ListOp::ALL.len();
    let total = tasks.len().div_ceil(config.batch_size) * config.epochs;
    let mut order: Vec<usize> = (0..tasks.len()).collect();
    let mut step = 0;
    for _ in 0..config.epochs {
        order.shuffle(&mut rng);
        for chunk in order.chunks(config.batch_size) {
            step += 1;
            let shown: Vec<bool> = chunk.iter().map(|_| !rng.gen_bool(config.text_dropout)).collect();
            let x: Vec<f32> =
                chunk.par_iter().zip(&shown).flat_map_iter(|(i, d)| task_features(&tasks[*i].problem, *d)).collect();
            let y: Vec<f32> = chunk.iter().flat_map(|i| labels(&tasks[*i])).collect();
            let b = chunk.len();
            let x = Tensor::<2>::from_data(TensorData::new(x, [b, FEATURE_LEN]), &ad);
            let y = Tensor::<2>::from_data(TensorData::new(y, [b, n_ops]), &ad);
            let z = model.forward(x);
            let loss = crate::train::logit_bce(z, y).mean();
            let value: f32 = loss.clone().into_scalar::<f32>();
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            let lr = crate::train::warm_down(config.learning_rate, step, total);
            model = optim.step(lr, model, grads);
            progress(ListStep { step, total, loss: value });
        }
    }
    Ok(model.valid().to_device(device))
}

/// Held-out metrics of a list model.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct ListMetrics {
    /// Tasks evaluated.
    pub tasks: usize,
    /// Mean binary cross-entropy per operator.
    pub bce: f64,
    /// Of the solutions' operators, the share ranked within the top k (k = how many
    /// the solution uses).
    pub recall_at_k: f64,
    /// Mean price [`super::guide::price`] of the operators solutions use.
    pub price_of_used: f64,
    /// Mean price of the others.
    pub price_of_unused: f64,
}

/// Held-out metrics on `tasks`, with or without their descriptions.
///
/// # Errors
///
/// An unreadable output.
pub fn evaluate_list_model(
    model: &ListModel,
    tasks: &[ListTask],
    with_description: bool,
    device: &Device,
) -> Result<ListMetrics, ListModelError> {
    let mut m = ListMetrics { tasks: tasks.len(), ..ListMetrics::default() };
    let (mut used_n, mut unused_n) = (0usize, 0usize);
    for t in tasks {
        let problem =
            if with_description { t.problem.clone() } else { ListProblem { description: None, ..t.problem.clone() } };
        let p = model.predict(&problem, device)?;
        let used = t.ops();
        let mut bce = 0.0;
        for (op, prob) in ListOp::ALL.iter().zip(&p) {
            let y = used.contains(op);
            bce += crate::train::label_bce(*prob, y);
            let c = f64::from(super::guide::price(*prob));
            if y {
                m.price_of_used += c;
                used_n += 1;
            } else {
                m.price_of_unused += c;
                unused_n += 1;
            }
        }
        m.bce += bce / p.len() as f64;
        let mut ranked: Vec<usize> = (0..p.len()).collect();
        ranked.sort_by(|a, b| p[*b].total_cmp(&p[*a]));
        let top = &ranked[..used.len()];
        m.recall_at_k +=
            used.iter().filter(|op| top.contains(&(**op as usize))).count() as f64 / used.len().max(1) as f64;
    }
    let n = tasks.len().max(1) as f64;
    m.bce /= n;
    m.recall_at_k /= n;
    m.price_of_used /= used_n.max(1) as f64;
    m.price_of_unused /= unused_n.max(1) as f64;
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learns_from_a_few_steps_and_round_trips() {
        let gen = GenConfig { max_size: 8, ..GenConfig::default() };
        let tasks = generate_tasks(512, &gen, 3);
        assert!(tasks.len() > 400);
        let config = ListTrainingConfig::new().with_epochs(6).with_batch_size(64);
        let device = Device::flex();
        let mut losses = Vec::new();
        let model = train_list_model(&config, &tasks, &device, &mut |s| losses.push(s.loss)).unwrap();
        let first = losses[..4].iter().sum::<f32>() / 4.0;
        let last = losses[losses.len() - 4..].iter().sum::<f32>() / 4.0;
        assert!(last < first * 0.8, "loss {first} -> {last}");
        let dir = tempfile::tempdir().unwrap();
        model.clone().save_file(dir.path().join(LIST_WEIGHTS_FILE)).unwrap();
        ListModelConfig::current().save(dir.path().join(LIST_CONFIG_FILE)).unwrap();
        let back = load_list_model(dir.path(), &device).unwrap();
        let p = &tasks[0].problem;
        assert_eq!(model.predict(p, &device).unwrap(), back.predict(p, &device).unwrap());
        assert!(matches!(
            load_list_model(&dir.path().join("nowhere"), &device),
            Err(ListModelError::MissingWeights { .. })
        ));
    }
}
