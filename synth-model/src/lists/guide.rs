//! The list model as a [`ListGuide`]: each operator priced by how likely the model
//! finds it in the solution, so the search tries programs of likely operators first.

use std::path::Path;
use std::sync::Mutex;

use burn::prelude::*;
use synth_engine::lists::{CoreOpsFirst, ListGuide, ListOp, ListProblem};

use super::net::{load_list_model, ListModel, ListModelError};

/// Each factor of this in probability below certainty adds 1 to an operator's price.
pub const PRICE_BASE: f32 = 8.0;
/// The highest price.
pub const MAX_PRICE: u32 = 3;

/// An operator's price for probability `p`: 1 when `p` is above `1/PRICE_BASE`, one more for
/// each further factor of [`PRICE_BASE`], at most [`MAX_PRICE`].
#[must_use]
pub fn price(p: f32) -> u32 {
    price_with(p, PRICE_BASE, MAX_PRICE)
}

/// [`price`] with another base and ceiling (`synth-model bench-lists` compares them).
#[must_use]
pub fn price_with(p: f32, base: f32, max: u32) -> u32 {
    let p = if p.is_nan() { 0.0 } else { p.clamp(1e-9, 1.0) };
    let steps = (-p.ln() / base.max(1.01).ln()).floor();
    // `steps` is finite and non-negative here.
    1 + (steps.min(max as f32) as u32).min(max.max(1) - 1)
}

/// The trained list model, loaded. As a [`ListGuide`] it prices each problem's
/// operators once (the prices of the last problem are kept).
#[derive(Debug)]
pub struct ListModelGuide {
    model: ListModel,
    device: Device,
    last: Mutex<Option<(Vec<f32>, PricedOps)>>,
}

impl ListModelGuide {
    /// Loads the weights from `dir`.
    ///
    /// # Errors
    ///
    /// As [`load_list_model`].
    pub fn load(dir: &Path) -> Result<ListModelGuide, ListModelError> {
        let device = Device::flex();
        Ok(ListModelGuide { model: load_list_model(dir, &device)?, device, last: Mutex::new(None) })
    }

    /// The prices for one problem.
    ///
    /// # Errors
    ///
    /// An unreadable model output.
    pub fn prices_for(&self, problem: &ListProblem) -> Result<PricedOps, ListModelError> {
        Ok(PricedOps::from_probabilities(self.model.predict(problem, &self.device)?))
    }

    /// The probability of each operator of [`ListOp::ALL`] for one problem.
    ///
    /// # Errors
    ///
    /// An unreadable model output.
    pub fn probabilities(&self, problem: &ListProblem) -> Result<Vec<f32>, ListModelError> {
        self.model.predict(problem, &self.device)
    }
}

/// Prices per operator (indexed as [`ListOp::ALL`]), with the probabilities they came from.
#[derive(Clone, Debug, PartialEq)]
pub struct PricedOps {
    /// The model's probability of each operator.
    pub probabilities: Vec<f32>,
    costs: Vec<u32>,
}

impl PricedOps {
    /// Prices from probabilities in [`ListOp::ALL`]'s order.
    #[must_use]
    pub fn from_probabilities(probabilities: Vec<f32>) -> PricedOps {
        PricedOps::with_scale(probabilities, PRICE_BASE, MAX_PRICE)
    }

    /// Prices by [`price_with`].
    #[must_use]
    pub fn with_scale(probabilities: Vec<f32>, base: f32, max: u32) -> PricedOps {
        let costs = probabilities.iter().map(|p| price_with(*p, base, max)).collect();
        PricedOps { probabilities, costs }
    }

    /// The operators, most likely first, with their probabilities (for reports).
    #[must_use]
    pub fn ranked(&self) -> Vec<(ListOp, f32)> {
        let mut v: Vec<(ListOp, f32)> = ListOp::ALL.iter().copied().zip(self.probabilities.iter().copied()).collect();
        v.sort_by(|a, b| b.1.total_cmp(&a.1));
        v
    }
}

impl ListGuide for ListModelGuide {
    /// The model's price, or 1 (uniform) should the model fail.
    fn op_cost(&self, op: ListOp, problem: &ListProblem) -> u32 {
        let features = super::features::task_features(problem, true);
        let mut last = self.last.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if last.as_ref().is_none_or(|(f, _)| *f != features) {
            match self.model.predict_features(features.clone(), &self.device) {
                Ok(p) => *last = Some((features, PricedOps::from_probabilities(p))),
                Err(_) => return 1,
            }
        }
        last.as_ref().map_or(1, |(_, p)| p.op_cost(op, problem))
    }
}

/// The search's default: the model's prices for a task with a description, where they
/// pay (see `docs/benchmarks.md`), the core-first prior for one without.
#[derive(Debug)]
pub struct ModelWhenDescribed<'a>(pub &'a ListModelGuide);

impl ListGuide for ModelWhenDescribed<'_> {
    fn op_cost(&self, op: ListOp, problem: &ListProblem) -> u32 {
        if problem.description.as_deref().is_some_and(|d| !d.trim().is_empty()) {
            self.0.op_cost(op, problem)
        } else {
            CoreOpsFirst.op_cost(op, problem)
        }
    }
}

impl ListGuide for PricedOps {
    fn op_cost(&self, op: ListOp, _problem: &ListProblem) -> u32 {
        self.costs.get(op as usize).copied().unwrap_or(MAX_PRICE)
    }
}

#[cfg(test)]
mod tests {
    use synth_engine::lists::{synthesize_lists, ListLimits, ListOutcome, UniformListGuide};
    use synth_engine::search::CancelToken;

    use super::*;

    #[test]
    fn prices_fall_with_probability() {
        assert_eq!(price(0.9), 1);
        assert_eq!(price(0.3), 1);
        assert_eq!(price(0.1), 2);
        assert_eq!(price(0.03), 2);
        assert_eq!(price(0.01), 3);
        assert_eq!(price(0.0), MAX_PRICE);
        assert_eq!(price(f32::NAN), MAX_PRICE);
    }

    #[test]
    fn the_worst_prices_delay_the_answer_but_do_not_lose_it() {
        // Reverse(Sort(xs)), with the model "sure" the solution uses neither operator
        // and every other.
        let spec = r#"{"function": "f", "params": [{"name": "xs", "type": "list[int]"}], "output_type": "list[int]",
          "examples": [{"args": [[1, 5, 3, 4, 2]], "output": [5, 4, 3, 2, 1]}, {"args": [[7, -3, 10]], "output": [10, 7, -3]},
                       {"args": [[2, 6, 11, 0]], "output": [11, 6, 2, 0]}]}"#;
        let problem = ListProblem::from_examples(&synth_engine::spec::Examples::from_json(spec).unwrap()).unwrap();
        let solution = [ListOp::Reverse, ListOp::Sort];
        let worst = PricedOps::from_probabilities(
            ListOp::ALL.iter().map(|op| if solution.contains(op) { 0.0 } else { 1.0 }).collect(),
        );
        let best = PricedOps::from_probabilities(
            ListOp::ALL.iter().map(|op| if solution.contains(op) { 1.0 } else { 0.0 }).collect(),
        );
        let limits = ListLimits::default();
        let run = |g: &dyn ListGuide| match synthesize_lists(&problem, &limits, g, &CancelToken::new()) {
            ListOutcome::Found { program, stats } => (program.show(&problem.param_names()), stats.candidates),
            other => panic!("{other:?}"),
        };
        let (uniform, n_uniform) = run(&UniformListGuide);
        let (bad, n_bad) = run(&worst);
        let (good, n_good) = run(&best);
        for p in [&uniform, &bad, &good] {
            assert_eq!(p, "Reverse(Sort(xs))");
        }
        assert!(n_bad > n_uniform && n_uniform > n_good, "{n_bad} {n_uniform} {n_good}");
    }
}
