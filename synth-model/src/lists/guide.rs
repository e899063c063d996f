//! The list model as a [`ListGuide`]: each operator priced by how likely the model
//! finds it in the solution, so the search tries programs of likely operators first.

use std::path::Path;
use std::sync::Mutex;

use burn::prelude::*;
use synth_engine::lists::{CoreOpsFirst, ListGuide, ListOp, ListProblem};

use super::net::{load_list_model, ListModel, ListModelError};
use super::values::{ValueGuided, ValueScorer};

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

/// The share of the time limit the default guide searches a task without a description
/// under the core-first prior alone before it searches again with the value model's prices
/// (chosen on random tasks of the generator, not on a benchmark's).
pub const PLAIN_SHARE: f64 = 0.6;

/// The search's default, where each part was measured to pay (see `docs/benchmarks.md`):
/// for a task with a description, the operator model's prices; for one without, the
/// core-first prior, and should that find nothing in [`PLAIN_SHARE`] of the time, the
/// core-first prior with the value model deferring unlikely terms for the rest. The value
/// model answers hard tasks sooner but costs easy ones right answers, which the prior
/// alone gives first. Either model may be missing: the prior takes its place.
#[derive(Debug)]
pub struct DefaultListGuide<'a> {
    model: Option<&'a ListModelGuide>,
    valued: Option<ValueGuided<'a, CoreOpsFirst>>,
}

impl<'a> DefaultListGuide<'a> {
    /// The default over whichever models are loaded.
    #[must_use]
    pub fn new(model: Option<&'a ListModelGuide>, values: Option<&'a ValueScorer>) -> DefaultListGuide<'a> {
        DefaultListGuide { model, valued: values.map(|values| ValueGuided { ops: &CoreOpsFirst, values }) }
    }

    fn described(problem: &ListProblem) -> bool {
        problem.description.as_deref().is_some_and(|d| !d.trim().is_empty())
    }
}

impl ListGuide for DefaultListGuide<'_> {
    fn op_cost(&self, op: ListOp, problem: &ListProblem) -> u32 {
        match self.model {
            Some(model) if Self::described(problem) => model.op_cost(op, problem),
            _ => CoreOpsFirst.op_cost(op, problem),
        }
    }

    fn then(&self, problem: &ListProblem) -> Option<(&dyn ListGuide, f64)> {
        if self.model.is_some() && Self::described(problem) {
            return None;
        }
        self.valued.as_ref().map(|g| (g as &dyn ListGuide, PLAIN_SHARE))
    }
}

impl ListGuide for PricedOps {
    fn op_cost(&self, op: ListOp, _problem: &ListProblem) -> u32 {
        self.costs.get(op as usize).copied().unwrap_or(MAX_PRICE)
    }
}

#[cfg(test)]
mod tests {
    use synth_engine::lists::{synthesize_lists, LType, LValue, ListLimits, ListOutcome, UniformListGuide};
    use synth_engine::search::CancelToken;

    use super::*;

    #[test]
    fn the_default_hands_a_plain_task_to_the_value_model_and_prices_a_described_one_by_the_operator_model() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("weights");
        let model = ListModelGuide::load(&dir).unwrap();
        let values = ValueScorer::load(&dir).unwrap();
        let spec = r#"{"function": "f", "params": [{"name": "xs", "type": "list[int]"}], "output_type": "list[int]",
          "examples": [{"args": [[1, 5, 3]], "output": [5, 3, 1]}, {"args": [[7, -3, 10]], "output": [10, 7, -3]}]}"#;
        let plain = ListProblem::from_examples(&synth_engine::spec::Examples::from_json(spec).unwrap()).unwrap();
        let described = ListProblem { description: Some("sort the list in descending order".into()), ..plain.clone() };
        let guide = DefaultListGuide::new(Some(&model), Some(&values));
        let costs = |g: &dyn ListGuide, p: &ListProblem| -> Vec<u32> {
            ListOp::ALL.iter().map(|op| g.op_cost(*op, p)).collect()
        };
        // Without a description: the prior, then the prior with the value model's prices.
        assert_eq!(costs(&guide, &plain), costs(&CoreOpsFirst, &plain));
        let (next, share) = guide.then(&plain).expect("a second search");
        assert_eq!(share, PLAIN_SHARE);
        assert_eq!(costs(next, &plain), costs(&CoreOpsFirst, &plain));
        let sorted = [LValue::List(vec![1, 3, 5].into()), LValue::List(vec![-3, 7, 10].into())];
        let unrelated = [LValue::Int(0), LValue::Int(0)];
        assert!(
            next.value_cost(LType::List, &sorted, &plain) < next.value_cost(LType::Int, &unrelated, &plain),
            "the sorted lists are likelier parts of the answer than a constant zero"
        );
        assert_eq!(guide.value_cost(LType::Int, &unrelated, &plain), 0, "the first search prices no value");
        // With one: the operator model alone.
        assert_eq!(costs(&guide, &described), costs(&model, &described));
        assert!(guide.then(&described).is_none());
        // Without the value model, the prior alone; without the operator model, the prior for both.
        assert!(DefaultListGuide::new(Some(&model), None).then(&plain).is_none());
        let no_model = DefaultListGuide::new(None, Some(&values));
        assert_eq!(costs(&no_model, &described), costs(&CoreOpsFirst, &described));
        assert!(no_model.then(&described).is_some());
    }

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
