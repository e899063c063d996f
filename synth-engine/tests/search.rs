//! Search finds known small programs within a fixed budget (seeded, no timing goals).

use std::time::Duration;

use synth_engine::dsl::{eval_one, Term, Value};
use synth_engine::search::{synthesize, Budget, CancelToken, SearchLimits, SearchOutcome, UniformGuide};
use synth_engine::spec::{sygus, Examples, Problem};

fn limits() -> SearchLimits {
    // Generous wall clock (debug builds on a busy machine); the term budget is what binds.
    SearchLimits { timeout: Duration::from_secs(60), max_terms: 5_000_000, ..SearchLimits::default() }
}

fn solve(p: &Problem) -> Term {
    match synthesize(p, &limits(), &UniformGuide, &CancelToken::new()).unwrap() {
        SearchOutcome::Found { term, .. } => term,
        other => panic!("not found: {other:?}"),
    }
}

fn check_examples(p: &Problem, t: &Term) {
    for ex in &p.examples {
        let binds: Vec<(&str, Value)> = p.params.iter().map(|q| q.name.as_str()).zip(ex.args.iter().cloned()).collect();
        assert_eq!(eval_one(t, &binds, &p.funs).unwrap(), ex.output, "{t} on {:?}", ex.args);
    }
}

#[test]
fn clear_lowest_set_bit_from_reference() {
    let p = sygus::parse(
        "(set-logic BV)
         (define-fun hd01 ((x (_ BitVec 32))) (_ BitVec 32) (bvand x (bvsub x #x00000001)))
         (synth-fun f ((x (_ BitVec 32))) (_ BitVec 32)
           ((Start (_ BitVec 32)))
           ((Start (_ BitVec 32) ((bvand Start Start) (bvsub Start Start) (bvor Start Start) (bvadd Start Start) (bvxor Start Start) x #x00000000 #xFFFFFFFF #x00000001))))
         (declare-var x (_ BitVec 32))
         (constraint (= (hd01 x) (f x)))",
    )
    .unwrap()
    .problem;
    let t = solve(&p);
    assert_eq!(t.size(), 5, "{t}");
    // Independent check on fresh inputs.
    for x in [0u64, 1, 2, 12, 0x8000_0000, 0xffff_ffff, 0x1234_5678] {
        let got = eval_one(&t, &[("x", Value::bv(32, x))], &p.funs).unwrap();
        assert_eq!(got, Value::bv(32, x & x.wrapping_sub(1) & 0xffff_ffff));
    }
}

#[test]
fn max_of_two_via_ite() {
    let text = r#"{"function": "max2", "params": [{"name": "a", "type": "int"}, {"name": "b", "type": "int"}],
        "output_type": "int", "examples": [
        {"args": [1, 2], "output": 2}, {"args": [5, 3], "output": 5}, {"args": [-4, -9], "output": -4},
        {"args": [0, 0], "output": 0}, {"args": [7, 100], "output": 100}, {"args": [-1, -2], "output": -1}]}"#;
    let p = Examples::from_json(text).unwrap().to_problem().unwrap();
    let t = solve(&p);
    check_examples(&p, &t);
    assert!(t.to_string().starts_with("(ite "), "{t}");
    assert!(t.size() <= 6, "divide and conquer should give one split: {t}");
    let out = eval_one(&t, &[("a", Value::Int(40)), ("b", Value::Int(-3))], &p.funs).unwrap();
    assert_eq!(out, Value::Int(40));
}

#[test]
fn first_name_extraction() {
    let text = r#"{"function": "first_name", "params": [{"name": "name", "type": "string"}],
        "output_type": "string", "examples": [
        {"args": ["Nancy FreeHafer"], "output": "Nancy"}, {"args": ["Andrew Cencici"], "output": "Andrew"},
        {"args": ["Jan Kotas"], "output": "Jan"}, {"args": ["Mariya Sergienko"], "output": "Mariya"}]}"#;
    let p = Examples::from_json(text).unwrap().to_problem().unwrap();
    let t = solve(&p);
    check_examples(&p, &t);
    let out = eval_one(&t, &[("name", Value::str("Ada Lovelace"))], &p.funs).unwrap();
    assert_eq!(out, Value::str("Ada"));
}

#[test]
fn text_operators_find_the_short_program() {
    let text = r#"{"function": "initial", "params": [{"name": "name", "type": "string"}],
        "output_type": "string", "examples": [
        {"args": ["nancy freehafer"], "output": "NANCY"}, {"args": ["andrew cencici"], "output": "ANDREW"},
        {"args": ["jan kotas"], "output": "JAN"}, {"args": ["mariya sergienko"], "output": "MARIYA"}]}"#;
    let p = Examples::from_json(text).unwrap().to_problem().unwrap();
    let t = solve(&p);
    check_examples(&p, &t);
    assert_eq!(t.to_string(), "(str.to_upper (str.field name \" \" 0))");
    let out = eval_one(&t, &[("name", Value::str("ada lovelace"))], &p.funs).unwrap();
    assert_eq!(out, Value::str("ADA"));
}

#[test]
fn a_concatenation_of_characters_waits_for_the_shorter_program() {
    // Three one-character pieces fit these at cost 11 (at cost 3 each) before the
    // enumerator reaches cost 4, where one field does.
    let text = r#"{"function": "amount", "params": [{"name": "s", "type": "string"}],
        "output_type": "string", "examples": [
        {"args": ["$12"], "output": "12"}, {"args": ["$5"], "output": "5"}, {"args": ["$199"], "output": "199"}]}"#;
    let p = Examples::from_json(text).unwrap().to_problem().unwrap();
    let t = solve(&p);
    check_examples(&p, &t);
    assert!(t.size() <= 5, "{t}");
    let out = eval_one(&t, &[("s", Value::str("$40000"))], &p.funs).unwrap();
    assert_eq!(out, Value::str("40000"), "{t}");
    // Positions every example shares are in reach: "the year" is 4 characters from 0.
    let text = r#"{"function": "area", "params": [{"name": "s", "type": "string"}],
        "output_type": "string", "examples": [
        {"args": ["(555) 123-4567"], "output": "555"}, {"args": ["(212) 555-0199"], "output": "212"},
        {"args": ["(408) 996-1010"], "output": "408"}]}"#;
    let p = Examples::from_json(text).unwrap().to_problem().unwrap();
    let t = solve(&p);
    assert_eq!(t.to_string(), "(str.substr s 1 3)");
}

#[test]
fn with_a_user_s_examples_a_short_case_split_beats_a_longer_formula() {
    // "no" is seen once, so the split memorizes by the leaf rule; the search goes on and
    // finds formulas that fit, all longer than the split, which therefore stays.
    let text = r#"{"function": "has", "params": [{"name": "a", "type": "string"}, {"name": "b", "type": "string"}],
        "output_type": "string", "examples": [
        {"args": ["hello", "h"], "output": "yes"}, {"args": ["world", "o"], "output": "yes"},
        {"args": ["banana", "a"], "output": "yes"}, {"args": ["rust", "x"], "output": "no"}]}"#;
    let p = Examples::from_json(text).unwrap().to_problem().unwrap();
    let limits = SearchLimits { max_terms: 5_000_000, ..SearchLimits::for_examples(Duration::from_secs(60)) };
    let t = match synthesize(&p, &limits, &UniformGuide, &CancelToken::new()).unwrap() {
        SearchOutcome::Found { term, .. } => term,
        SearchOutcome::BudgetExceeded { best: Some(best), .. } if best.satisfied == best.total => best.term,
        other => panic!("not found: {other:?}"),
    };
    assert_eq!(t.to_string(), r#"(ite (str.contains a b) "yes" "no")"#);
}

#[test]
fn pbe_bv_with_macro_conditional_uses_divide_and_conquer() {
    let p = sygus::parse(include_str!("data/pbe_bv_small.sl")).unwrap().problem;
    let t = solve(&p);
    check_examples(&p, &t);
    assert!(t.to_string().contains("(im "), "{t}");
}

#[test]
fn budget_and_cancellation_give_outcomes_with_partials() {
    // Not expressible: output depends on nothing the grammar can reach.
    let p = sygus::parse(
        "(synth-fun f ((x (_ BitVec 8))) (_ BitVec 8) ((Start (_ BitVec 8))) ((Start (_ BitVec 8) (x (bvadd Start Start)))))
         (constraint (= (f #x01) #x02)) (constraint (= (f #x02) #x07)) (constraint (= (f #x03) #x06))",
    )
    .unwrap()
    .problem;
    let l = SearchLimits { max_terms: 10_000, ..limits() };
    match synthesize(&p, &l, &UniformGuide, &CancelToken::new()).unwrap() {
        SearchOutcome::BudgetExceeded { budget: Budget::Terms, best: Some(b), .. }
        | SearchOutcome::Exhausted { best: Some(b), .. } => {
            assert!(b.satisfied >= 2 && b.total == 3, "{b:?}");
        }
        other => panic!("{other:?}"),
    }
    let cancel = CancelToken::new();
    cancel.cancel();
    let out = synthesize(&p, &limits(), &UniformGuide, &cancel).unwrap();
    assert!(matches!(out, SearchOutcome::BudgetExceeded { budget: Budget::Cancelled, .. }), "{out:?}");
}

#[test]
fn cancellation_from_another_thread() {
    let p = sygus::parse(
        "(synth-fun f ((x (_ BitVec 32))) (_ BitVec 32))
         (constraint (= (f #x00000001) #x12345678)) (constraint (= (f #x00000002) #x9abcdef0))
         (constraint (= (f #x00000003) #x0fedcba9))",
    )
    .unwrap()
    .problem;
    let cancel = CancelToken::new();
    let c2 = cancel.clone();
    let h = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(200));
        c2.cancel();
    });
    let l = SearchLimits { timeout: Duration::from_secs(300), ..SearchLimits::default() };
    let out = synthesize(&p, &l, &UniformGuide, &cancel).unwrap();
    h.join().unwrap();
    assert!(
        matches!(
            out,
            SearchOutcome::BudgetExceeded { budget: Budget::Cancelled | Budget::Memory, .. }
                | SearchOutcome::Found { .. }
        ),
        "{out:?}"
    );
}

#[test]
fn conditional_concatenation_via_divide_and_conquer() {
    let p = sygus::parse(
        r#"(set-logic SLIA)
(synth-fun f ((col1 String) (col2 String)) String
    ((Start String) (ntString String) (ntInt Int) (ntBool Bool))
    ((Start String (ntString))
    (ntString String (col1 col2 " " "," "USA" (str.++ ntString ntString) (ite ntBool ntString ntString) (str.substr ntString ntInt ntInt)))
    (ntInt Int (0 1 (+ ntInt ntInt) (str.len ntString)))
    (ntBool Bool ((str.suffixof ntString ntString) (str.contains ntString ntString)))))
(constraint (= (f "University of Pennsylvania" "Phialdelphia, PA, USA") "University of Pennsylvania, Phialdelphia, PA, USA"))
(constraint (= (f "UCLA" "Los Angeles, CA") "UCLA, Los Angeles, CA, USA"))
(constraint (= (f "Cornell University" "Ithaca, New York, USA") "Cornell University, Ithaca, New York, USA"))
(constraint (= (f "University of Maryland College Park" "College Park, MD") "University of Maryland College Park, College Park, MD, USA"))
(check-synth)"#,
    )
    .unwrap()
    .problem;
    let t = solve(&p);
    check_examples(&p, &t);
    let out = eval_one(&t, &[("col1", Value::str("MIT")), ("col2", Value::str("Cambridge, MA"))], &p.funs).unwrap();
    assert_eq!(out, Value::str("MIT, Cambridge, MA, USA"), "{t}");
}

#[test]
fn hand_built_problem_with_bad_examples_is_an_error_not_a_panic() {
    use synth_engine::dsl::Sort;
    use synth_engine::spec::{Example, Param, TypeSpec};
    let mut p =
        Problem::new("f", vec![Param { name: "x".into(), ty: TypeSpec::of(Sort::Int) }], TypeSpec::of(Sort::Int));
    p.examples.push(Example { args: vec![Value::str("not an int")], output: Value::Int(1) });
    let err = synthesize(&p, &limits(), &UniformGuide, &CancelToken::new()).unwrap_err();
    assert!(err.to_string().contains("example 1"), "{err}");
    p.examples.clear();
    assert!(synthesize(&p, &limits(), &UniformGuide, &CancelToken::new()).is_err());
}
