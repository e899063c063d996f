//! Example problems from traced C functions whose parameters and result
//! differ in width or sort: the default grammar bridges them.

use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use synth_engine::dsl::{eval_one, Sort, Term, Value};
use synth_engine::emit::{emit_function, emit_tests, Lang};
use synth_engine::search::{synthesize, CancelToken, SearchLimits, SearchOutcome, UniformGuide};
use synth_engine::spec::{Example, Param, Problem, TypeSpec};
use synth_engine::verify::{verify, VerifyLimits};

fn solve(p: &Problem, max_terms: u64) -> Term {
    let limits = SearchLimits { timeout: Duration::from_secs(120), max_terms, ..SearchLimits::default() };
    match synthesize(p, &limits, &UniformGuide, &CancelToken::new()).unwrap() {
        SearchOutcome::Found { term, stats } => {
            eprintln!("found {term} (size {}) after {} terms", term.size(), stats.terms_enumerated);
            term
        }
        other => panic!("not found: {other:?}"),
    }
}

/// `int64_t price(int32_t qty, int32_t unit) { int64_t total = (int64_t)qty * unit; if (qty >= 10) total = total * 9 / 10; return total; }`
fn price(qty: i32, unit: i32) -> i64 {
    let total = i64::from(qty) * i64::from(unit);
    if qty >= 10 {
        total * 9 / 10
    } else {
        total
    }
}

fn bv(w: u32, x: i64) -> Value {
    #[allow(clippy::cast_sign_loss, reason = "two's complement bits")]
    Value::bv(w, x as u64)
}

#[test]
fn price_bridges_32_bit_parameters_to_a_64_bit_result() {
    let i32t = TypeSpec { sort: Sort::BitVec(32), signed: true };
    let i64t = TypeSpec { sort: Sort::BitVec(64), signed: true };
    let mut p = Problem::new(
        "price",
        vec![Param { name: "qty".into(), ty: i32t }, Param { name: "unit".into(), ty: i32t }],
        i64t,
    );
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    for i in 0..40 {
        let qty: i32 = match i {
            0..=2 => 8 + i,
            _ if i % 3 == 0 => rng.gen_range(-20..10),
            _ => rng.gen_range(10..60),
        };
        let unit: i32 = rng.gen_range(-500..2000);
        p.examples
            .push(Example { args: vec![bv(32, qty.into()), bv(32, unit.into())], output: bv(64, price(qty, unit)) });
    }
    let t = solve(&p, 30_000_000);
    for _ in 0..200 {
        let qty: i32 = rng.gen_range(-1000..1000);
        let unit: i32 = rng.gen_range(-100_000..100_000);
        let got = eval_one(&t, &[("qty", bv(32, qty.into())), ("unit", bv(32, unit.into()))], &p.funs).unwrap();
        assert_eq!(got, bv(64, price(qty, unit)), "{t} on qty={qty} unit={unit}");
    }
    let rust = emit_function(Lang::Rust, &p, &t).unwrap();
    assert!(rust.contains("i64::from(qty as i32)"), "{rust}");
    let c = emit_function(Lang::C, &p, &t).unwrap();
    assert!(c.contains("(int64_t)(int32_t)u_qty"), "{c}");
    check_emitted(&p, &t);
}

/// The emitted code compiles and passes the examples in every language whose tool is installed.
fn check_emitted(p: &Problem, t: &Term) {
    for (lang, tool) in [(Lang::Rust, "rustc"), (Lang::Python, "python3"), (Lang::C, "gcc")] {
        if std::process::Command::new(tool).arg("--version").output().is_err() {
            continue;
        }
        let code = emit_function(lang, p, t).unwrap();
        let tests = emit_tests(lang, p, t, &p.examples).unwrap();
        let r = verify(lang, &code, &tests, &VerifyLimits::default()).unwrap();
        assert!(r.passed(), "{lang}: {r:#?}\n{code}");
    }
}

#[test]
fn low_word_of_a_64_bit_parameter() {
    // int32_t low_plus(int64_t x) { return (int32_t)x + 3; }
    let p = Problem::new(
        "low_plus",
        vec![Param { name: "x".into(), ty: TypeSpec { sort: Sort::BitVec(64), signed: true } }],
        TypeSpec { sort: Sort::BitVec(32), signed: true },
    );
    let mut p = p;
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let f = |x: i64| i64::from((x as i32).wrapping_add(3));
    for _ in 0..12 {
        let x: i64 = rng.gen();
        p.examples.push(Example { args: vec![bv(64, x)], output: bv(32, f(x)) });
    }
    let t = solve(&p, 5_000_000);
    for _ in 0..100 {
        let x: i64 = rng.gen();
        assert_eq!(eval_one(&t, &[("x", bv(64, x))], &p.funs).unwrap(), bv(32, f(x)), "{t}");
    }
    check_emitted(&p, &t);
}

#[test]
fn string_length_as_a_32_bit_result() {
    // int greet(const char *name) { return strlen(name) + 7; }
    let i32t = TypeSpec { sort: Sort::BitVec(32), signed: true };
    let mut p = Problem::new("greet", vec![Param { name: "name".into(), ty: TypeSpec::of(Sort::String) }], i32t);
    for name in ["Ada", "Bob", "Eve", "Alan", "Grace", "Linus", "Barba"] {
        let n = i64::try_from(name.len()).unwrap();
        p.examples.push(Example { args: vec![Value::str(name)], output: bv(32, n + 7) });
    }
    let t = solve(&p, 5_000_000);
    assert!(t.size() <= 6, "{t}");
    for name in ["", "x", "Margaret Hamilton", "Dennis", "Ken Thompson and friends"] {
        let n = i64::try_from(name.len()).unwrap();
        assert_eq!(eval_one(&t, &[("name", Value::str(name))], &p.funs).unwrap(), bv(32, n + 7), "{t} on {name:?}");
    }
    check_emitted(&p, &t);
}
