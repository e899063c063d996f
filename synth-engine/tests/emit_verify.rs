//! Emitted code for a set of solutions compiles and passes its tests in
//! Rust, Python and C; expected outputs come from the interpreter, on
//! SMT-LIB edge inputs (division by zero, shifts >= width, empty strings).

use synth_engine::dsl::{eval_one, Sort, Term, Value};
use synth_engine::emit::{emit_function, emit_tests, Lang};
use synth_engine::spec::{Example, Param, Problem, TypeSpec};
use synth_engine::verify::{verify, VerifyLimits};

fn problem(
    name: &str,
    params: &[(&str, TypeSpec)],
    out: TypeSpec,
    term: &str,
    inputs: &[Vec<Value>],
) -> (Problem, Term) {
    let t: Term = term.parse().unwrap();
    let mut p = Problem::new(name, params.iter().map(|(n, ty)| Param { name: (*n).into(), ty: *ty }).collect(), out);
    p.description = Some(format!("computes {term}"));
    for args in inputs {
        let binds: Vec<(&str, Value)> = params.iter().map(|(n, _)| *n).zip(args.iter().cloned()).collect();
        let output = eval_one(&t, &binds, &p.funs).unwrap();
        p.examples.push(Example { args: args.clone(), output });
    }
    (p, t)
}

fn cases() -> Vec<(Problem, Term)> {
    let u32t = TypeSpec { sort: Sort::BitVec(32), signed: false };
    let i64t = TypeSpec { sort: Sort::BitVec(64), signed: true };
    let s = TypeSpec::of(Sort::String);
    let edges32 = [0u64, 1, 7, 31, 32, 33, 0x8000_0000, 0xffff_ffff, 0xffff_fff9];
    let mut pairs = Vec::new();
    for a in edges32 {
        for b in [0u64, 1, 2, 31, 32, 0xffff_fffe, 0x8000_0000] {
            pairs.push(vec![Value::bv(32, a), Value::bv(32, b)]);
        }
    }
    let pairs64: Vec<Vec<Value>> =
        [(0u64, 0u64), (5, 3), (u64::MAX - 6, 2), (1 << 63, u64::MAX), (7, u64::MAX - 1), (3, 64), (u64::MAX, 65)]
            .iter()
            .map(|(a, b)| vec![Value::bv(64, *a), Value::bv(64, *b)])
            .collect();
    let strs: Vec<Vec<Value>> = ["", "a b", "1 abc", "9", "ab  c", "abc"].iter().map(|x| vec![Value::str(x)]).collect();
    let ints: Vec<Vec<Value>> = [(7, 2), (-7, 2), (7, -2), (-7, -2), (0, 5)]
        .iter()
        .map(|(a, b)| vec![Value::Int(*a), Value::Int(*b)])
        .collect();
    let i32t = TypeSpec { sort: Sort::BitVec(32), signed: true };
    #[allow(clippy::cast_sign_loss, reason = "two's complement bits")]
    let statuses: Vec<Vec<Value>> = [-1i32, 100, 199, 200, 299, 300, 399, 400, 499, 500, 599]
        .iter()
        .map(|x| vec![Value::bv(32, *x as u32 as u64)])
        .collect();
    vec![
        problem("unsigned_mix", &[("x", u32t), ("y", u32t)], u32t,
            "(bvxor (bvadd (bvudiv x y) (bvurem x y)) (bvxor (bvshl x y) (bvlshr x y)))", &pairs),
        // Regression: `!` before a method receiver (`!1_u32.checked_shl(..)` negated the shift).
        problem("not_receiver", &[("x", u32t), ("y", u32t)], u32t,
            "(bvshl (bvsub #x00000001 (bvshl (bvnot #x00000001) #x00000001)) (bvand x #x00000007))", &pairs),
        problem("signed_mix", &[("x", u32t), ("y", u32t)], u32t,
            "(bvxor (bvsub (bvashr x y) (bvsdiv x y)) (bvor (bvsrem x y) (bvsmod x y)))", &pairs),
        problem("pick", &[("a", i64t), ("b", i64t)], i64t,
            "(ite (bvslt a b) (bvnot a) (bvmul (bvneg b) (ite (bvule a b) #x0000000000000003 a)))", &pairs64),
        problem("strings", &[("s", s)], s,
            "(str.++ (str.substr s 0 (str.indexof s \" \" 0)) (str.++ \"-\" (str.++ (str.from_int (+ (str.len s) (str.to_int (str.at s 0)))) (ite (str.prefixof \"a\" s) (str.replace s \" \" \"_\") s))))",
            &strs),
        problem("flags", &[("s", s)], TypeSpec::of(Sort::Bool),
            "(and (str.contains s \"b\") (not (str.suffixof \"c\" s)))", &strs),
        problem("classes", &[("status", i32t)], s,
            "(ite (bvslt status #x000000c8) \"info\" (ite (bvslt status #x000001f4) (ite (bvslt status #x0000012c) \"ok\" (ite (bvslt status #x00000190) \"moved\" \"client\")) \"server\"))",
            &statuses),
        problem("euclid", &[("a", TypeSpec::of(Sort::Int)), ("b", TypeSpec::of(Sort::Int))], TypeSpec::of(Sort::Int),
            "(+ (* 10 (div a b)) (mod a b))", &ints),
    ]
}

fn check_lang(lang: Lang) {
    let tool = match lang {
        Lang::Rust => "rustc",
        Lang::Python => "python3",
        Lang::C => "gcc",
    };
    if !test_support::ci::require_tool(&format!("{lang} emission"), tool) {
        return;
    }
    for (p, t) in cases() {
        let code = emit_function(lang, &p, &t).unwrap();
        let tests = emit_tests(lang, &p, &t, &p.examples).unwrap();
        let r = verify(lang, &code, &tests, &VerifyLimits::default()).unwrap();
        assert!(r.passed(), "{lang} {}: {r:#?}\n--- code ---\n{code}\n--- tests ---\n{tests}", p.name);
        assert_eq!(r.tests_total, p.examples.len());
    }
}

#[test]
fn rust_code_compiles_and_passes() {
    check_lang(Lang::Rust);
}

#[test]
fn python_code_runs_and_passes() {
    check_lang(Lang::Python);
}

#[test]
fn c_code_compiles_and_passes() {
    check_lang(Lang::C);
}

#[test]
fn nested_case_splits_read_as_nested_blocks() {
    let (p, t) = cases().into_iter().find(|(p, _)| p.name == "classes").unwrap();
    let python = emit_function(Lang::Python, &p, &t).unwrap();
    assert!(
        python.contains("\n    elif ")
            && python.contains("\n        if ")
            && python.contains("\n            return \"moved\""),
        "{python}"
    );
    assert!(!python.contains(" if ("), "no conditional expressions left: {python}");
    let c = emit_function(Lang::C, &p, &t).unwrap();
    assert!(c.contains("\n        if (") && c.contains("\n        } else {\n"), "{c}");
}
