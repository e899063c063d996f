//! [`LearnedGuide`], which prices grammar productions at ≈ −ln p of the model's
//! predictions (DeepCoder/Probe style) for the engine's cost-ordered enumeration, and
//! [`PriorGuide`], uniform costs with every common constant.

use std::sync::OnceLock;

use synth_engine::dsl::{Op, Sort, Value};
use synth_engine::search::{Guide, ProductionInfo, UniformGuide};

use crate::data::generated_labels;
use crate::labels::{common_constants, label_index, op_label, value_label};
use crate::model::Prediction;

/// Prices productions from a [`Prediction`]: cost = round(scale · −ln p),
/// clamped to 1..=16. Unit productions (`A → B`) cost 1; a constant is priced
/// by its class or, when cheaper, by its own label (a common constant, see
/// [`common_constants`]); a label the model does not know, or that no training
/// program can contain (see [`generated_labels`]), is priced as p = 0.1.
///
/// When the search builds its own grammar, the common constants whose
/// probability reaches [`LearnedGuide::propose_min_p`] are added to it.
#[derive(Clone, Debug)]
pub struct LearnedGuide {
    /// The model's predictions for the problem.
    pub prediction: Prediction,
    /// Cost per nat.
    pub cost_scale: f32,
    /// Least probability at which a common constant is proposed.
    pub propose_min_p: f32,
}

/// Default of [`LearnedGuide::propose_min_p`] (chosen over 0.05 and 0.25 on held-out
/// tasks that `bench guide` does not use).
pub const PROPOSE_MIN_P: f32 = 0.1;

/// Default of [`crate::guide::Guider::description_floor`], chosen on held-out tasks that
/// `bench guide` does not use (docs/synthesis.md, "Learned guide").
pub const DESCRIPTION_FLOOR: f32 = 0.1;

/// Default of [`LearnedGuide::cost_scale`] (chosen over 1.0 on held-out tasks; 0.25
/// measured no different on the SyGuS development suites).
pub const COST_SCALE: f32 = 0.5;

impl LearnedGuide {
    /// A guide pricing by `prediction` at [`COST_SCALE`] per nat, proposing at [`PROPOSE_MIN_P`].
    #[must_use]
    pub fn new(prediction: Prediction) -> LearnedGuide {
        LearnedGuide { prediction, cost_scale: COST_SCALE, propose_min_p: PROPOSE_MIN_P }
    }

    /// Cost of a label. One the training data cannot contain is priced as unknown.
    #[must_use]
    pub fn label_cost(&self, label: &str) -> u32 {
        static GENERATED: OnceLock<Vec<bool>> = OnceLock::new();
        let generated = GENERATED.get_or_init(generated_labels);
        let p = label_index(label)
            .filter(|&i| generated.get(i).copied().unwrap_or(false))
            .and_then(|i| self.prediction.label_probs.get(i).copied())
            .unwrap_or(0.1)
            .clamp(1e-6, 1.0);
        let c = (-p.ln() * self.cost_scale).round();
        (c as u32).clamp(1, 16)
    }
}

impl Guide for LearnedGuide {
    fn production_cost(&self, info: &ProductionInfo<'_>) -> u32 {
        let t = info.production;
        if t.is_empty() {
            return 1;
        }
        let root = &t.node(t.root()).op;
        if info.holes > 0 && matches!(root, Op::Var(_)) {
            return 1; // a unit production A -> B
        }
        let class = self.label_cost(&op_label(root));
        match root {
            // A common constant: its own label may make it cheaper than its class.
            Op::Const(v) => value_label(v).map_or(class, |l| class.min(self.label_cost(l))),
            _ => class,
        }
    }

    fn proposed_constants(&self, sort: Sort) -> Vec<Value> {
        common_constants(sort)
            .into_iter()
            .filter(|v| value_label(v).and_then(|l| self.prediction.prob(l)).is_some_and(|p| p >= self.propose_min_p))
            .collect()
    }
}

/// The guide before the model has read a problem: uniform costs, with every common
/// constant (see [`common_constants`]) added to a grammar the search builds itself.
/// [`crate::race::guided_search`] starts with it; `bench guide` measures it as the baseline a
/// learned guide has to beat.
#[derive(Clone, Copy, Debug, Default)]
pub struct PriorGuide;

impl Guide for PriorGuide {
    fn production_cost(&self, info: &ProductionInfo<'_>) -> u32 {
        UniformGuide.production_cost(info)
    }

    fn proposed_constants(&self, sort: Sort) -> Vec<Value> {
        common_constants(sort)
    }
}
