use super::*;
use crate::{search::UniformGuide, spec::Examples};

fn split(json: &str, held: usize) -> (Problem, Vec<Example>) {
    let mut p = Examples::from_json(json).unwrap().to_problem().unwrap();
    let held_out = p.examples.split_off(p.examples.len() - held);
    (p, held_out)
}

fn config(budget_secs: u64) -> RefineConfig {
    RefineConfig { lang: Lang::Python, budget: Duration::from_secs(budget_secs), ..RefineConfig::default() }
}

#[test]
fn verified_in_one_iteration() {
    let (p, held) = split(
        r#"{"function":"clear_lowest","params":[{"name":"x","type":"u32"}],"output_type":"u32","examples":[
        {"args":[12],"output":8},{"args":[7],"output":6},{"args":[0],"output":0},{"args":[80],"output":64},
        {"args":[5],"output":4},{"args":[6],"output":4},{"args":[96],"output":64},{"args":[3],"output":2}]}"#,
        3,
    );
    let mut seen = Vec::new();
    let r = refine(&p, &held, &config(30), &mut WeightedGuide::new(UniformGuide), &CancelToken::new(), &mut |it| {
        seen.push(it.iteration)
    })
    .unwrap();
    assert_eq!(r.status, RefineStatus::Verified);
    assert_eq!(seen, vec![1]);
    let best = r.best.unwrap();
    assert_eq!(best.held_out, (3, 3));
    assert!(best.code.contains("def clear_lowest(x"), "{}", best.code);
    assert!(best.report.passed(), "{:?}", best.report);
    assert!(best.reward.total >= 0.95, "{:?}", best.reward);
}

#[test]
fn held_out_counterexamples_drive_a_second_iteration() {
    // Training {0→0, 1→1} is solved by `x`; the held-out calls say x*x.
    let (p, held) = split(
        r#"{"function":"square","params":[{"name":"x","type":"u32"}],"output_type":"u32","examples":[
        {"args":[0],"output":0},{"args":[1],"output":1},{"args":[2],"output":4},{"args":[3],"output":9},
        {"args":[5],"output":25}]}"#,
        3,
    );
    let r = refine(&p, &held, &config(30), &mut WeightedGuide::new(UniformGuide), &CancelToken::new(), &mut |_| {})
        .unwrap();
    assert_eq!(r.status, RefineStatus::Verified);
    assert_eq!(r.history.len(), 2, "{:#?}", r.history);
    assert_eq!(r.history[0].term.as_deref(), Some("x"));
    assert_eq!(r.history[0].held_out, (0, 3));
    // 2→4 and 5→25 become training examples; 3→9 stays held out to validate.
    assert_eq!(r.history[0].counterexamples_added, 2);
    assert_eq!(r.history[1].held_out, (1, 1));
    assert!(r.history[0].reward.total < r.history[1].reward.total);
    assert_eq!(r.training_examples, 4);
    assert_eq!(r.best.unwrap().term.to_string(), "(bvmul x x)");
}

#[test]
fn exhausted_budget_returns_the_best_partial_marked_as_such() {
    // Outputs no small term explains.
    let (p, held) = split(
        r#"{"function":"noise","params":[{"name":"x","type":"u32"}],"output_type":"u32","examples":[
        {"args":[1],"output":91731},{"args":[2],"output":7},{"args":[3],"output":123456789},
        {"args":[4],"output":55},{"args":[5],"output":3141592},{"args":[6],"output":27182818},
        {"args":[7],"output":1618033},{"args":[8],"output":4142}]}"#,
        2,
    );
    let mut cfg = config(4);
    cfg.search.divide_and_conquer = false;
    let r = refine(&p, &held, &cfg, &mut WeightedGuide::new(UniformGuide), &CancelToken::new(), &mut |_| {}).unwrap();
    assert_eq!(r.status, RefineStatus::Partial);
    let best = r.best.unwrap();
    assert!(!best.verified);
    assert!(best.reward.total < 0.95);
    assert!(!r.history.is_empty());
}

#[test]
fn weights_make_other_operators_dearer() {
    let mut g = WeightedGuide::new(UniformGuide);
    let bvand: Term = "(bvand x y)".parse().unwrap();
    let bvor: Term = "(bvor x y)".parse().unwrap();
    let info = |t| ProductionInfo { nonterminal: "S", sort: crate::dsl::Sort::BitVec(32), production: t, holes: 2 };
    assert_eq!(g.production_cost(&info(&bvand)), 1);
    g.step("bvand", 2.0);
    assert_eq!(g.production_cost(&info(&bvand)), 1);
    assert_eq!(g.production_cost(&info(&bvor)), 3);
    g.step("bvor", 2.0);
    assert_eq!(g.production_cost(&info(&bvor)), 1);
}

#[test]
fn feedback_favours_the_partial_term_and_disfavours_what_only_worse_ones_used() {
    let mut g = WeightedGuide::new(UniformGuide);
    let better: Term = "(bvand x (bvsub x #x00000001))".parse().unwrap();
    let worse = vec![("(bvor x (bvsub x #x00000001))".parse::<Term>().unwrap(), 0.5)];
    let changed = g.update(&Feedback { reinforce: (&better, 0.5), penalize: &worse, learning_rate: 2.0 });
    assert_eq!(changed, vec![("bvand".to_string(), 1.0), ("bvsub".to_string(), 1.0), ("bvor".to_string(), -1.0)]);
    let info = |t| ProductionInfo { nonterminal: "S", sort: crate::dsl::Sort::BitVec(32), production: t, holes: 2 };
    let bvor: Term = "(bvor x y)".parse().unwrap();
    assert_eq!(g.production_cost(&info(&better)), 1);
    assert_eq!(g.production_cost(&info(&bvor)), 3);
}

#[test]
fn reward_parts() {
    let report = QualityReport {
        compiled: true,
        tests_passed: 4,
        tests_total: 4,
        warnings: vec!["w".into()],
        ..QualityReport::default()
    };
    let r = Reward::of((2, 2), &report, 5, Some(5));
    assert!((r.total - (0.5 + 0.3 + 0.05 + 0.1)).abs() < 1e-9, "{r:?}");
    let failing = QualityReport { compiled: true, tests_passed: 1, tests_total: 4, ..QualityReport::default() };
    let r = Reward::of((0, 2), &failing, 3, Some(5));
    assert_eq!(r.size, 0.0);
    assert!((r.total - (0.3 * 0.25 + 0.1)).abs() < 1e-9, "{r:?}");
}

#[test]
fn a_memorizing_candidate_fits_the_observed_calls_but_is_not_verified() {
    // A lookup table: whatever reproduces it is a decision tree around each call.
    let (p, held) = split(
        r#"{"function":"f","params":[{"name":"x","type":"i32"}],"output_type":"i32","examples":[
        {"args":[3],"output":91},{"args":[8],"output":17},{"args":[15],"output":64},{"args":[22],"output":5},
        {"args":[29],"output":77},{"args":[36],"output":40},{"args":[43],"output":12},{"args":[50],"output":99},
        {"args":[57],"output":33},{"args":[64],"output":58}]}"#,
        0,
    );
    let r =
        refine(&p, &held, &config(6), &mut WeightedGuide::new(UniformGuide), &CancelToken::new(), &mut |_| {}).unwrap();
    assert_eq!(r.status, RefineStatus::FitsObserved, "{:#?}", r.history);
    let best = r.best.unwrap();
    assert!(!best.verified);
    assert!(best.report.passed(), "it reproduces every observed call: {:?}", best.report);
    let why = best.fits_only.unwrap();
    assert!(why.contains("fewer than 3 examples"), "{why}");
}
