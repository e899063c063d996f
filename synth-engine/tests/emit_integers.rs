//! Bit-vector solutions over C `int`s that never wrap on their examples' box are emitted
//! with plain integers in every language, and the emitted code agrees with the
//! interpreter's bit-vector semantics on random inputs anywhere in that box.

use synth_engine::dsl::{eval_one, Sort, Term, Value};
use synth_engine::emit::{emit_function, emit_tests, Lang};
use synth_engine::spec::{Example, Param, Problem, TypeSpec};
use synth_engine::verify::{verify, VerifyLimits};

const I32: TypeSpec = TypeSpec { sort: Sort::BitVec(32), signed: true };

/// A deterministic stream of numbers (no dependency for a test's random inputs).
struct Lcg(u64);

impl Lcg {
    fn in_range(&mut self, lo: i64, hi: i64) -> i64 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        lo + i64::try_from((self.0 >> 33) % u64::try_from(hi - lo + 1).unwrap()).unwrap()
    }
}

fn bv(v: i64) -> Value {
    Value::bv(32, (v as u64) & 0xFFFF_FFFF)
}

/// The problem `name(params)` with examples at every corner of the box `ranges` (which
/// makes the box the examples'), and `n` further random inputs in it, all labelled by
/// the interpreter.
fn problem(name: &str, ranges: &[(&str, i64, i64)], term: &str, n: usize) -> (Problem, Term, Vec<Example>) {
    let t: Term = term.parse().unwrap();
    let params = ranges.iter().map(|(p, _, _)| Param { name: (*p).into(), ty: I32 }).collect();
    let mut p = Problem::new(name, params, I32);
    let label = |args: Vec<Value>| {
        let binds: Vec<(&str, Value)> = ranges.iter().map(|(n, _, _)| *n).zip(args.iter().cloned()).collect();
        let output = eval_one(&t, &binds, &p.funs).unwrap();
        Example { args, output }
    };
    for corner in 0..1usize << ranges.len() {
        let args = ranges.iter().enumerate().map(|(i, (_, lo, hi))| bv(if corner >> i & 1 == 0 { *lo } else { *hi }));
        p.examples.push(label(args.collect()));
    }
    let mut rng = Lcg(7);
    let fresh = (0..n).map(|_| label(ranges.iter().map(|(_, lo, hi)| bv(rng.in_range(*lo, *hi))).collect())).collect();
    (p, t, fresh)
}

fn cases() -> Vec<(Problem, Term, Vec<Example>)> {
    vec![
        problem(
            "pages",
            &[("items", 0, 500), ("per_page", 1, 50)],
            "(bvudiv (bvadd items (bvsub per_page #x00000001)) per_page)",
            200,
        ),
        problem(
            "parking_fee",
            &[("minutes", 0, 900)],
            "(ite (bvslt minutes #x00000226) (ite (bvslt minutes #x0000001f) #x00000000 \
             (bvmul (bvsdiv (bvadd minutes #x0000003b) #x0000003c) #x000000c8)) #x000007d0)",
            200,
        ),
        problem(
            "abs_diff",
            &[("a", -1000, 1000), ("b", -1000, 1000)],
            "(ite (bvslt a b) (bvsub b a) (bvsub a b))",
            200,
        ),
        problem("quarter", &[("month", 1, 12)], "(bvadd (bvudiv (bvsub month #x00000001) #x00000003) #x00000001)", 50),
    ]
}

#[test]
fn plain_integers_agree_with_the_bit_vectors_inside_the_box() {
    let dir_tools = [(Lang::Python, "python3"), (Lang::Rust, "rustc"), (Lang::C, "gcc")];
    for (lang, tool) in dir_tools {
        if !test_support::ci::require_tool(&format!("integer emission in {lang}"), tool) {
            continue;
        }
        for (p, t, fresh) in cases() {
            let code = emit_function(lang, &p, &t).unwrap();
            for masked in ["0xFFFFFFFF", "_signed", "_bv", "wrapping_", "u32", "uint32_t", "bvudiv", "div_euclid"] {
                assert!(!code.contains(masked), "{lang} {}: `{masked}` left in\n{code}", p.name);
            }
            assert!(code.contains("the range observed"), "{code}");
            let tests = emit_tests(lang, &p, &t, &fresh).unwrap();
            let r = verify(lang, &code, &tests, &VerifyLimits::default()).unwrap();
            assert!(r.passed(), "{lang} {}: {r:#?}\n--- code ---\n{code}", p.name);
            assert_eq!(r.tests_total, fresh.len());
        }
    }
}

const CELSIUS: &str = "(bvadd (bvsdiv (bvmul c #x00000009) #x00000005) #x00000020)";

#[test]
fn a_negative_quotient_truncates_as_in_c() {
    // c * 9 / 5 with c down to -40: C truncates the negative quotient; Python's // floors.
    let celsius = problem("celsius_to_f", &[("c", -40, 120)], CELSIUS, 100);
    let python = emit_function(Lang::Python, &celsius.0, &celsius.1).unwrap();
    assert!(python.contains("int((c * 9) / 5)"), "{python}");
    let c = emit_function(Lang::C, &celsius.0, &celsius.1).unwrap();
    assert!(c.contains("return (((c * 9) / 5) + 32);"), "{c}");
    let remainder = problem("remainder", &[("a", -50, 50), ("b", 1, 7)], "(bvsrem a b)", 100);
    for (lang, tool) in [(Lang::Python, "python3"), (Lang::C, "gcc"), (Lang::Rust, "rustc")] {
        if !test_support::ci::require_tool(&format!("truncating division in {lang}"), tool) {
            continue;
        }
        for (p, t, fresh) in [&celsius, &remainder] {
            let code = emit_function(lang, p, t).unwrap();
            assert!(code.contains("the range observed"), "{code}");
            let r = verify(lang, &code, &emit_tests(lang, p, t, fresh).unwrap(), &VerifyLimits::default()).unwrap();
            assert!(r.passed(), "{lang} {}: {r:#?}\n{code}", p.name);
        }
    }
}

#[test]
fn a_term_that_may_wrap_keeps_fixed_width_arithmetic() {
    // x * x can leave 32 bits for x up to 100000.
    let (p, t, _) = problem("square", &[("x", 0, 100_000)], "(bvmul x x)", 0);
    let rust = emit_function(Lang::Rust, &p, &t).unwrap();
    assert!(rust.contains("wrapping_mul"), "{rust}");
}
