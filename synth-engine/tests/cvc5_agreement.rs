//! Our interpreter agrees with cvc5 on SMT-LIB edge cases, and cvc5's own
//! solutions evaluate correctly in our interpreter. Skipped (loudly) when
//! cvc5 is not installed.

use std::process::Command;

use synth_engine::dsl::{eval_one, sexpr, FunDefs, SExpr, Term, Value};
use synth_engine::spec::sygus;

fn cvc5(src: &str, extra: &[&str]) -> Option<String> {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("t.sl");
    std::fs::write(&f, src).unwrap();
    let out = Command::new("cvc5").args(["--lang=sygus2", "--tlimit=20000"]).args(extra).arg(&f).output().ok()?;
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn have_cvc5() -> bool {
    test_support::ci::require_tool("agreement with cvc5", "cvc5")
}

/// The body of the first `define-fun` in solver output.
fn body(out: &str) -> Term {
    let all = sexpr::parse_all(out).unwrap();
    let mut stack: Vec<&SExpr> = all.iter().collect();
    while let Some(e) = stack.pop() {
        if let Some(items) = e.list() {
            if items.first().and_then(SExpr::atom) == Some("define-fun") {
                return Term::from_sexpr(&items[4]).unwrap();
            }
            stack.extend(items.iter());
        }
    }
    panic!("no define-fun in {out}");
}

const EDGE_CASES: &[&str] = &[
    "(bvudiv #x00000007 #x00000000)",
    "(bvurem #x00000007 #x00000000)",
    "(bvsdiv #xfffffff9 #x00000000)",
    "(bvsdiv #x00000007 #x00000000)",
    "(bvsdiv #xfffffff9 #x00000002)",
    "(bvsdiv #x80000000 #xffffffff)",
    "(bvsrem #xfffffff9 #x00000002)",
    "(bvsrem #x00000007 #xfffffffe)",
    "(bvsrem #xfffffff9 #x00000000)",
    "(bvsmod #xfffffff9 #x00000002)",
    "(bvsmod #x00000007 #xfffffffe)",
    "(bvsmod #xfffffff9 #xfffffffe)",
    "(bvsmod #xfffffff9 #x00000000)",
    "(bvshl #x00000001 #x00000020)",
    "(bvlshr #x80000000 #x00000021)",
    "(bvashr #x80000000 #x00000020)",
    "(bvashr #x80000000 #x0000001f)",
    "(bvneg #x80000000)",
    "(bvnand #x0000000f #x00000003)",
    "(bvxnor #x0000000f #x00000003)",
    "(bvcomp #x00000001 #x00000002)",
    "((_ extract 15 8) #x0000ab00)",
    "((_ sign_extend 16) #x8000)",
    "((_ rotate_right 36) #x12345678)",
    "(bvslt #x80000000 #x7fffffff)",
    "(bvuge #x80000000 #x7fffffff)",
    "(bvudiv #xffffffffffffffff #x0000000000000000)",
    "(div (- 7) 2)",
    "(mod (- 7) (- 2))",
    "(str.substr \"hello\" 3 10)",
    "(str.substr \"hello\" 5 1)",
    "(str.substr \"hello\" (- 1) 2)",
    "(str.at \"abc\" 3)",
    "(str.indexof \"abc\" \"\" 3)",
    "(str.indexof \"abc\" \"\" 4)",
    "(str.indexof \"abcabc\" \"c\" 3)",
    "(str.replace \"abc\" \"\" \"x\")",
    "(str.replace \"abab\" \"b\" \"x\")",
    "(str.to_int \"\")",
    "(str.to_int \"007\")",
    "(str.to_int \"-3\")",
    "(str.from_int (- 4))",
    "(str.prefixof \"\" \"abc\")",
    "(str.suffixof \"bc\" \"abc\")",
    "(str.contains \"abc\" \"\")",
    "(str.len \"a\\u{e9}b\")",
];

#[test]
fn interpreter_agrees_with_cvc5_on_edge_cases() {
    if !have_cvc5() {
        return;
    }
    let mut src = String::from("(set-logic ALL)\n(synth-fun f ((i Int)) Bool)\n");
    for (i, e) in EDGE_CASES.iter().enumerate() {
        let t: Term = e.parse().unwrap();
        let v = eval_one(&t, &[], &FunDefs::new()).unwrap();
        src.push_str(&format!("(constraint (= (f {i}) (= {e} {v})))\n"));
    }
    src.push_str("(check-synth)\n");
    let out = cvc5(&src, &["--sygus-si=none"]).expect("cvc5 runs");
    // cvc5 returns `true` only if every one of our values matches its own.
    assert_eq!(body(&out).to_string(), "true", "cvc5 disagrees somewhere:\n{out}\n{src}");
}

#[test]
fn cvc5_solutions_evaluate_correctly_here() {
    if !have_cvc5() {
        return;
    }
    let tasks = [
        (
            "(set-logic SLIA)
(synth-fun f ((name String)) String
    ((Start String) (ntInt Int))
    ((Start String (name \" \" \".\" (str.++ Start Start) (str.at Start ntInt) (str.substr Start ntInt ntInt)))
     (ntInt Int (0 1 2 (+ ntInt ntInt) (str.indexof Start Start ntInt) (str.len Start)))))
(constraint (= (f \"Nancy FreeHafer\") \"N.F.\"))
(constraint (= (f \"Andrew Cencici\") \"A.C.\"))
(constraint (= (f \"Jan Kotas\") \"J.K.\"))
(check-synth)",
            vec!["--sygus-si=none", "--sygus-fair=direct"],
        ),
        (
            "(set-logic BV)
(define-fun ehad ((x (_ BitVec 64))) (_ BitVec 64) (bvlshr x #x0000000000000001))
(define-fun im ((x (_ BitVec 64)) (y (_ BitVec 64)) (z (_ BitVec 64))) (_ BitVec 64) (ite (= x #x0000000000000001) y z))
(synth-fun f ((x (_ BitVec 64))) (_ BitVec 64)
    ((Start (_ BitVec 64)))
    ((Start (_ BitVec 64) (#x0000000000000000 #x0000000000000001 x (bvnot Start) (ehad Start) (bvand Start Start) (bvadd Start Start) (im Start Start Start)))))
(constraint (= (f #x0000000000000004) #x0000000000000002))
(constraint (= (f #x0000000000000005) #x0000000000000006))
(constraint (= (f #x00000000000000f0) #x0000000000000078))
(constraint (= (f #x00000000000000f1) #x00000000000000f2))
(check-synth)",
            vec!["--sygus-si=none"],
        ),
    ];
    for (src, flags) in tasks {
        let p = sygus::parse(src).unwrap().problem;
        let out = cvc5(src, &flags).expect("cvc5 runs");
        let t = body(&out);
        for ex in &p.examples {
            let binds: Vec<(&str, Value)> =
                p.params.iter().map(|q| q.name.as_str()).zip(ex.args.iter().cloned()).collect();
            assert_eq!(eval_one(&t, &binds, &p.funs).unwrap(), ex.output, "cvc5 solution {t}");
        }
    }
}
