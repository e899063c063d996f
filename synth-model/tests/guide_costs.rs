//! The committed, trained guide prices productions sensibly. Needs the
//! pretrained text encoder (`cargo xtask setup`); fails under CI without
//! it, skips with a note elsewhere.

use synth_engine::dsl::Value;
use synth_engine::search::{synthesize, CancelToken, SearchLimits};
use synth_engine::spec::{Example, Param, Problem, TypeSpec};
use synth_model::guide::{default_weights_dir, Guider};
use synth_model::text::{default_model_dir, model_files_present};
use synth_model::trace::TraceFeatures;

fn guider() -> Option<Guider> {
    if !model_files_present(&default_model_dir()) {
        let msg = format!("pretrained text encoder missing at {}: run `cargo xtask setup`", default_model_dir().display());
        assert!(std::env::var("CI").map_or(true, |v| v != "true"), "{msg}");
        eprintln!("skipping: {msg}");
        return None;
    }
    Some(Guider::load(default_weights_dir()).expect("committed weights load"))
}

fn problem(params: &[(&str, &str)], out: &str, examples: Vec<(Vec<Value>, Value)>, describe: Option<&str>) -> Problem {
    let ps = params.iter().map(|(n, t)| Param { name: (*n).into(), ty: TypeSpec::parse(t).unwrap() }).collect();
    let mut p = Problem::new("f", ps, TypeSpec::parse(out).unwrap());
    p.examples = examples.into_iter().map(|(args, output)| Example { args, output }).collect();
    p.description = describe.map(str::to_string);
    p
}

fn clear_lowest(describe: Option<&str>) -> Problem {
    let ex = [(12u64, 8u64), (7, 6), (16, 0), (5, 4), (0, 0), (0xffff_ffff, 0xffff_fffe)];
    problem(&[("x", "u32")], "u32", ex.iter().map(|(a, b)| (vec![Value::bv(32, *a)], Value::bv(32, *b))).collect(), describe)
}

#[test]
fn bit_twiddling_costs_less_than_string_operations_for_clear_lowest_bit() {
    let Some(g) = guider() else { return };
    let guide = g.guide_for(&clear_lowest(Some("clear the lowest set bit")), &TraceFeatures::none()).unwrap();
    let p = |l: &str| guide.prediction.prob(l).unwrap();
    for bv in ["bvand", "bvsub"] {
        for s in ["str.substr", "str.++", "str.indexof", "str.len"] {
            assert!(p(bv) > p(s), "{bv} {} vs {s} {}", p(bv), p(s));
            assert!(guide.label_cost(bv) < guide.label_cost(s), "{bv} {} vs {s} {}", guide.label_cost(bv), guide.label_cost(s));
        }
    }
    assert_eq!(guide.label_cost("var"), 1);
}

#[test]
fn string_task_prefers_string_operations() {
    let Some(g) = guider() else { return };
    let rows = [("john,smith", "john"), ("a,b,c", "a"), ("key,value", "key"), ("red,Green", "red")];
    let p = problem(
        &[("s", "string")],
        "string",
        rows.iter().map(|(a, b)| (vec![Value::str(a)], Value::str(b))).collect(),
        Some("take the text before the first comma"),
    );
    let guide = g.guide_for(&p, &TraceFeatures::none()).unwrap();
    let prob = |l: &str| guide.prediction.prob(l).unwrap();
    eprintln!("{:?}", synth_model::guide::top_labels(&guide.prediction, 8));
    for s in ["str.substr", "str.indexof"] {
        for bv in ["bvand", "bvmul", "bvshl"] {
            assert!(prob(s) > prob(bv), "{s} {} vs {bv} {}", prob(s), prob(bv));
            assert!(guide.label_cost(s) <= guide.label_cost(bv), "{s} {} vs {bv} {}", guide.label_cost(s), guide.label_cost(bv));
        }
    }
}

#[test]
fn learned_guide_still_finds_the_solution() {
    let Some(g) = guider() else { return };
    let p = clear_lowest(Some("clear the lowest set bit"));
    let guide = g.guide_for(&p, &TraceFeatures::none()).unwrap();
    let out = synthesize(&p, &SearchLimits::default(), &guide, &CancelToken::new()).unwrap();
    let t = out.term().expect("found").to_string();
    assert!(t.contains("bvand"), "{t}");
}
