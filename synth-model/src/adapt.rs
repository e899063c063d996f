//! The refinement loop's update for the learned guide: a gradient step on the
//! behaviour embedding.
//!
//! [`AdaptiveLearnedGuide`] keeps the problem's behaviour embedding `e` (the
//! fused encoder output the heads read). Given the loop's [`Feedback`], it
//! builds a loss over the label head's logits `z` — binary cross-entropy pulling
//! the labels of the favoured (partial) candidate towards 1 and those only worse
//! candidates used towards 0, each weighted as the feedback says; a pairwise
//! ranking term `−ln σ(z_up − z_down)` (the labels share most directions of `e`,
//! so raising one raises its neighbours; the difference cancels what they
//! share); and an anchor `λ‖e − e₀‖²` that keeps `e` near what the encoder saw —
//! and moves `e` by `−lr · ∂loss/∂e` with burn's autodiff, [`AdaptConfig::steps`]
//! times. The model's weights stay frozen; the new label probabilities reprice
//! the next search.

use burn::prelude::*;
use burn::tensor::activation::{log_sigmoid, sigmoid};
use synth_engine::dsl::{Sort, Term, Value};
use synth_engine::refine::{AdaptiveGuide, Feedback};
use synth_engine::search::{Guide, ProductionInfo};

use crate::labels::{label_count, term_labels, LABELS};
use crate::model::{read, GuideError, LabelHead};
use crate::pricing::LearnedGuide;

/// Step settings of [`AdaptiveLearnedGuide`].
#[derive(Clone, Copy, Debug)]
pub struct AdaptConfig {
    /// Gradient-descent step size on the embedding (multiplied by the feedback's).
    pub learning_rate: f32,
    /// Gradient steps per update.
    pub steps: usize,
    /// Weight λ of the anchor `‖e − e₀‖²`.
    pub anchor: f32,
}

impl Default for AdaptConfig {
    fn default() -> AdaptConfig {
        AdaptConfig { learning_rate: 2.0, steps: 10, anchor: 0.01 }
    }
}

/// A [`LearnedGuide`] whose behaviour embedding the refinement loop updates.
#[derive(Clone, Debug)]
pub struct AdaptiveLearnedGuide {
    guide: LearnedGuide,
    head: LabelHead,
    /// Least probability of each label, whatever the steps do (see `Guider::description_floor`).
    floor: Option<Vec<f32>>,
    embedding: Vec<f32>,
    original: Vec<f32>,
    device: Device,
    /// Step settings.
    pub config: AdaptConfig,
}

impl AdaptiveLearnedGuide {
    pub(crate) fn new(
        guide: LearnedGuide,
        head: LabelHead,
        embedding: Vec<f32>,
        floor: Option<Vec<f32>>,
        device: Device,
    ) -> AdaptiveLearnedGuide {
        let mut adaptive = AdaptiveLearnedGuide {
            guide,
            head,
            floor,
            original: embedding.clone(),
            embedding,
            device,
            config: AdaptConfig::default(),
        };
        adaptive.apply_floor();
        adaptive
    }

    fn apply_floor(&mut self) {
        if let Some(floor) = &self.floor {
            for (p, q) in self.guide.prediction.label_probs.iter_mut().zip(floor) {
                *p = p.max(*q);
            }
        }
    }

    /// The current pricing.
    #[must_use]
    pub fn learned(&self) -> &LearnedGuide {
        &self.guide
    }

    /// The current behaviour embedding.
    #[must_use]
    pub fn embedding(&self) -> &[f32] {
        &self.embedding
    }

    fn tensor(&self, v: &[f32]) -> Tensor<2> {
        Tensor::from_data(TensorData::new(v.to_vec(), [1, v.len()]), &self.device)
    }

    /// One gradient step on the embedding towards `up` and away from `down` (a weight
    /// per label of [`LABELS`], 0 for labels not involved); returns the loss before the
    /// step.
    ///
    /// # Errors
    ///
    /// [`GuideError::Output`] when the weights do not have one entry per label or a
    /// tensor cannot be read back.
    pub fn gradient_step(&mut self, up: &[f32], down: &[f32], learning_rate: f32) -> Result<f32, GuideError> {
        if up.len() != label_count() || down.len() != label_count() {
            return Err(GuideError::Output(format!(
                "{} and {} label weights given, expected {} each",
                up.len(),
                down.len(),
                label_count()
            )));
        }
        let e = self.tensor(&self.embedding).autodiff().require_grad();
        let z = self.head.logits(e.clone());
        let up_t = self.tensor(up).autodiff();
        let down_t = self.tensor(down).autodiff();
        // Cross-entropy towards 1 for the favoured labels and towards 0 for the
        // disfavoured ones, each side averaged over its labels, plus a pairwise ranking
        // term −ln σ(z_up − z_down): the labels share most directions of the embedding
        // (raising `bvand` raises `bvxor` too), and the difference cancels what they share.
        let (n_up, n_down) = (up.iter().sum::<f32>().max(1e-6), down.iter().sum::<f32>().max(1e-6));
        let up_t = up_t.div_scalar(n_up);
        let down_t = down_t.div_scalar(n_down);
        let n = up.len();
        let pairs = up_t.clone().reshape([n, 1]) * down_t.clone(); // [up, down]
        let margin = z.clone().reshape([n, 1]) - z.clone(); // z_u − z_d
        let rank = (pairs * log_sigmoid(margin)).sum().neg();
        let bce = (up_t * log_sigmoid(z.clone()) + down_t * log_sigmoid(z.neg())).sum().neg();
        let drift =
            (e.clone() - self.tensor(&self.original).autodiff()).powi_scalar(2).sum().mul_scalar(self.config.anchor);
        let loss = bce + rank + drift;
        let value = read(loss.clone().detach())?.first().copied().unwrap_or(0.0);
        let grads = loss.backward();
        let g = e.grad(&grads).ok_or_else(|| GuideError::Output("no gradient for the behaviour embedding".into()))?;
        let g = read(g)?;
        for (x, d) in self.embedding.iter_mut().zip(g) {
            *x -= learning_rate * d;
        }
        Ok(value)
    }

    /// Recomputes the label probabilities from the current embedding.
    ///
    /// # Errors
    ///
    /// [`GuideError::Output`] when a tensor cannot be read back.
    pub fn reprice(&mut self) -> Result<(), GuideError> {
        let z = self.head.logits(self.tensor(&self.embedding));
        self.guide.prediction.label_probs = read(sigmoid(z))?;
        self.apply_floor();
        Ok(())
    }

    /// Label targets of a feedback: `(up, down)` weights per label.
    fn targets(feedback: &Feedback<'_>) -> (Vec<f32>, Vec<f32>) {
        let n = label_count();
        let (mut up, mut down) = (vec![0.0f32; n], vec![0.0f32; n]);
        let (term, w) = feedback.reinforce;
        let favoured = term_labels(term);
        for l in &favoured {
            up[*l] = up[*l].max(w as f32);
        }
        for (old, w) in feedback.penalize {
            for l in term_labels(old as &Term).into_iter().filter(|l| !favoured.contains(l)) {
                down[l] = down[l].max(*w as f32);
            }
        }
        (up, down)
    }
}

impl Guide for AdaptiveLearnedGuide {
    fn production_cost(&self, info: &ProductionInfo<'_>) -> u32 {
        self.guide.production_cost(info)
    }

    fn proposed_constants(&self, sort: Sort) -> Vec<Value> {
        self.guide.proposed_constants(sort)
    }
}

impl AdaptiveGuide for AdaptiveLearnedGuide {
    /// `config.steps` gradient steps on the behaviour embedding; reports the labels the
    /// feedback named with their new probability. A failed step leaves the pricing as
    /// it was (and reports nothing).
    fn update(&mut self, feedback: &Feedback<'_>) -> Vec<(String, f64)> {
        let (up, down) = Self::targets(feedback);
        let lr = self.config.learning_rate * feedback.learning_rate as f32;
        let before = self.embedding.clone();
        for _ in 0..self.config.steps {
            if self.gradient_step(&up, &down, lr).is_err() {
                self.embedding = before;
                return Vec::new();
            }
        }
        if self.reprice().is_err() {
            self.embedding = before;
            return Vec::new();
        }
        let probs = &self.guide.prediction.label_probs;
        up.iter()
            .zip(&down)
            .enumerate()
            .filter(|(_, (u, d))| **u > 0.0 || **d > 0.0)
            .map(|(i, _)| (LABELS[i].to_string(), f64::from(probs[i])))
            .collect()
    }
}
