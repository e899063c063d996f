//! SyGuS-IF v2 front end: `set-logic`, `define-fun`, `declare-var`,
//! `synth-fun` (with or without a grammar), `constraint`, `check-synth`.
//!
//! Supported constraints are PBE constraints `(= (f c1 ..) c)` and
//! reference-implementation constraints `(= (ref x ..) (f x ..))` over
//! declared variables (either side of `=`).

use std::collections::HashMap;
use std::sync::Arc;

use thiserror::Error;

use super::{Example, Grammar, NonTerminal, Param, Problem, Production, SpecError, TypeSpec};
use crate::dsl::{eval_one, sexpr, sort_of, FunDef, Op, SExpr, SExprError, Sort, Term, Value};

/// An error in a SyGuS file, with the line it refers to.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum SygusError {
    /// Malformed s-expressions or terms.
    #[error("syntax error at {0}")]
    Syntax(#[from] SExprError),
    /// A well-formed command that is wrong (unknown sort, type error, ...).
    #[error("line {line}: {message}")]
    Invalid {
        /// 1-based line.
        line: usize,
        /// What is wrong (lowercase).
        message: String,
    },
    /// A command or constraint form this front end does not handle.
    #[error("line {line}: unsupported: {message}")]
    Unsupported {
        /// 1-based line.
        line: usize,
        /// What is not supported.
        message: String,
    },
    /// The examples contradict each other.
    #[error("inconsistent examples: {0}")]
    Spec(#[from] SpecError),
}

/// A parsed SyGuS problem.
#[derive(Clone, Debug)]
pub struct SygusProblem {
    /// The declared logic (`BV`, `SLIA`, ...).
    pub logic: String,
    /// The problem, with examples from PBE constraints or a reference term.
    pub problem: Problem,
}

impl From<SygusProblem> for Problem {
    fn from(p: SygusProblem) -> Problem {
        p.problem
    }
}

fn invalid(e: &SExpr, message: impl Into<String>) -> SygusError {
    SygusError::Invalid { line: e.line(), message: message.into() }
}

/// Parses a sort: `Bool`, `Int`, `String`, `(_ BitVec n)`.
///
/// # Errors
///
/// Unknown or unsupported sorts.
pub fn parse_sort(e: &SExpr) -> Result<Sort, SygusError> {
    match e {
        SExpr::Atom(a, _) => match a.as_str() {
            "Bool" => Ok(Sort::Bool),
            "Int" => Ok(Sort::Int),
            "String" => Ok(Sort::String),
            other => Err(invalid(e, format!("unknown sort `{other}`"))),
        },
        SExpr::List(items, _) => match items.as_slice() {
            [SExpr::Atom(u, _), SExpr::Atom(bv, _), SExpr::Atom(w, _)] if u == "_" && bv == "BitVec" => {
                let w: u32 = w.parse().map_err(|_| invalid(e, format!("bad bit-vector width `{w}`")))?;
                if (1..=64).contains(&w) {
                    Ok(Sort::BitVec(w))
                } else {
                    Err(SygusError::Unsupported {
                        line: e.line(),
                        message: format!("bit-vectors wider than 64 bits ({w})"),
                    })
                }
            }
            _ => Err(invalid(e, format!("unknown sort `{e}`"))),
        },
        SExpr::Str(..) => Err(invalid(e, "a string is not a sort")),
    }
}

fn parse_sorted_vars(e: &SExpr) -> Result<Vec<(String, Sort)>, SygusError> {
    let items = e.list().ok_or_else(|| invalid(e, "expected a list of `(name sort)`"))?;
    items
        .iter()
        .map(|it| match it.list() {
            Some([SExpr::Atom(n, _), s]) => Ok((n.clone(), parse_sort(s)?)),
            _ => Err(invalid(it, "expected `(name sort)`")),
        })
        .collect()
}

fn term(e: &SExpr) -> Result<Term, SygusError> {
    Ok(Term::from_sexpr(e)?)
}

struct SynthFun {
    name: String,
    params: Vec<(String, Sort)>,
    ret: Sort,
    grammar: Option<Grammar>,
}

/// Parses a SyGuS-IF v2 problem.
///
/// # Errors
///
/// Syntax errors, type errors and unsupported forms, naming the line.
pub fn parse(src: &str) -> Result<SygusProblem, SygusError> {
    let cmds = sexpr::parse_all(src)?;
    let mut logic = String::from("ALL");
    let mut funs = HashMap::new();
    let mut fun_order = Vec::new();
    let mut vars: Vec<(String, Sort)> = Vec::new();
    let mut synth: Option<SynthFun> = None;
    let mut constraints: Vec<&SExpr> = Vec::new();
    for cmd in &cmds {
        let items = cmd.list().ok_or_else(|| invalid(cmd, "expected a command `( ... )`"))?;
        let head = items.first().and_then(SExpr::atom).ok_or_else(|| invalid(cmd, "expected a command name"))?;
        match head {
            "set-logic" => {
                logic = items
                    .get(1)
                    .and_then(SExpr::atom)
                    .ok_or_else(|| invalid(cmd, "`set-logic` needs a name"))?
                    .to_string();
            }
            "set-option" | "set-info" | "set-feature" | "check-synth" | "exit" => {}
            "define-fun" => {
                let [_, SExpr::Atom(name, _), params, ret, body] = items else {
                    return Err(invalid(cmd, "expected `(define-fun name ((x S)..) S body)`"));
                };
                let params = parse_sorted_vars(params)?;
                let ret_sort = parse_sort(ret)?;
                let body = term(body)?;
                let scope: Vec<(&str, Sort)> = params.iter().map(|(n, s)| (n.as_str(), *s)).collect();
                let got = sort_of(&body, &scope, &funs).map_err(|m| invalid(cmd, format!("in `{name}`: {m}")))?;
                if got != ret_sort {
                    return Err(invalid(cmd, format!("`{name}` is declared {ret_sort} but its body is {got}")));
                }
                fun_order.push(name.clone());
                funs.insert(name.clone(), FunDef { name: name.clone(), params, ret: ret_sort, body });
            }
            "declare-var" => {
                let [_, SExpr::Atom(name, _), s] = items else {
                    return Err(invalid(cmd, "expected `(declare-var name sort)`"));
                };
                vars.push((name.clone(), parse_sort(s)?));
            }
            "synth-fun" => {
                if synth.is_some() {
                    return Err(SygusError::Unsupported {
                        line: cmd.line(),
                        message: "more than one synth-fun".into(),
                    });
                }
                synth = Some(parse_synth_fun(cmd, items, &funs)?);
            }
            "constraint" => {
                let [_, c] = items else {
                    return Err(invalid(cmd, "expected `(constraint term)`"));
                };
                constraints.push(c);
            }
            "synth-inv" | "declare-primed-var" | "inv-constraint" | "assume" | "chc-constraint" => {
                return Err(SygusError::Unsupported { line: cmd.line(), message: format!("command `{head}`") });
            }
            other => return Err(invalid(cmd, format!("unknown command `{other}`"))),
        }
    }
    let Some(sf) = synth else {
        return Err(SygusError::Invalid { line: 1, message: "no `synth-fun`".into() });
    };
    let params: Vec<Param> = sf.params.iter().map(|(n, s)| Param { name: n.clone(), ty: TypeSpec::of(*s) }).collect();
    let mut problem = Problem::new(&sf.name, params, TypeSpec::of(sf.ret));
    problem.grammar = sf.grammar;
    // The synthesized function is callable in constraints with its own signature,
    // typed through a placeholder definition.
    let mut typing_funs = funs.clone();
    typing_funs.insert(
        sf.name.clone(),
        FunDef {
            name: sf.name.clone(),
            params: sf.params.clone(),
            ret: sf.ret,
            body: Term::leaf(Op::Const(default_value(sf.ret))),
        },
    );
    let scope: Vec<(&str, Sort)> = vars.iter().map(|(n, s)| (n.as_str(), *s)).collect();
    for c in constraints {
        let t = term(c)?;
        let s = sort_of(&t, &scope, &typing_funs).map_err(|m| invalid(c, m))?;
        if s != Sort::Bool {
            return Err(invalid(c, format!("a constraint must be Bool, this one is {s}")));
        }
        add_constraint(&mut problem, &t, c, &vars, &funs)?;
    }
    if problem.examples.is_empty() && problem.reference.is_none() {
        return Err(SygusError::Invalid { line: 1, message: "no constraints".into() });
    }
    problem.funs = funs;
    problem.fun_order = fun_order;
    problem.validate_examples()?;
    Ok(SygusProblem { logic, problem })
}

fn default_value(s: Sort) -> Value {
    match s {
        Sort::Bool => Value::Bool(false),
        Sort::Int => Value::Int(0),
        Sort::String => Value::str(""),
        Sort::BitVec(w) => Value::bv(w, 0),
    }
}

fn parse_synth_fun(cmd: &SExpr, items: &[SExpr], funs: &crate::dsl::FunDefs) -> Result<SynthFun, SygusError> {
    let (name, params, ret, rest) = match items {
        [_, SExpr::Atom(name, _), params, ret, rest @ ..] => (name, params, ret, rest),
        _ => return Err(invalid(cmd, "expected `(synth-fun name ((x S)..) S [grammar])`")),
    };
    let params = parse_sorted_vars(params)?;
    let ret = parse_sort(ret)?;
    let grammar = match rest {
        [] => None,
        // v2: predeclaration list, then grouped rule list.
        [decls, rules] => Some(parse_grammar(decls, Some(rules), &params, funs)?),
        // v1 style: one grouped rule list.
        [rules] => Some(parse_grammar(rules, None, &params, funs)?),
        _ => return Err(invalid(cmd, "malformed grammar")),
    };
    if let Some(g) = &grammar {
        if g.nonterminals[0].sort != ret {
            return Err(invalid(
                cmd,
                format!("the start symbol has sort {} but `{name}` returns {ret}", g.nonterminals[0].sort),
            ));
        }
    }
    Ok(SynthFun { name: name.clone(), params, ret, grammar })
}

fn parse_grammar(
    decls: &SExpr,
    rules: Option<&SExpr>,
    params: &[(String, Sort)],
    funs: &crate::dsl::FunDefs,
) -> Result<Grammar, SygusError> {
    let rules = rules.unwrap_or(decls);
    let rule_list = rules.list().ok_or_else(|| invalid(rules, "expected a list of grammar rules"))?;
    if rule_list.is_empty() {
        return Err(invalid(rules, "empty grammar"));
    }
    let mut nts = Vec::new();
    for r in rule_list {
        let Some([SExpr::Atom(name, _), sort, prods]) = r.list() else {
            return Err(invalid(r, "expected a grammar rule `(Name Sort (productions..))`"));
        };
        let sort = parse_sort(sort)?;
        nts.push((name.clone(), sort, prods));
    }
    let nt_sorts: Vec<(String, Sort)> = nts.iter().map(|(n, s, _)| (n.clone(), *s)).collect();
    let mut out = Vec::new();
    for (name, sort, prods) in nts {
        let list = prods.list().ok_or_else(|| invalid(prods, "expected a list of productions"))?;
        let mut productions = Vec::new();
        for p in list {
            match p.list() {
                Some([SExpr::Atom(k, _), s]) if k == "Constant" => {
                    productions.push(Production::AnyConst(parse_sort(s)?))
                }
                Some([SExpr::Atom(k, _), s]) if k == "Variable" => productions.push(Production::AnyVar(parse_sort(s)?)),
                _ => {
                    let t = term(p)?;
                    // Type-check with nonterminals and parameters in scope (nonterminals shadow).
                    let mut scope: Vec<(&str, Sort)> = params.iter().map(|(n, s)| (n.as_str(), *s)).collect();
                    scope.extend(nt_sorts.iter().map(|(n, s)| (n.as_str(), *s)));
                    let got = sort_of(&t, &scope, funs).map_err(|m| invalid(p, m))?;
                    if got != sort {
                        return Err(invalid(p, format!("production `{t}` has sort {got}, but `{name}` is {sort}")));
                    }
                    productions.push(Production::Term(t));
                }
            }
        }
        out.push(NonTerminal { name, sort, productions });
    }
    Ok(Grammar { nonterminals: out })
}

/// Applies one constraint: a PBE example or a reference implementation.
fn add_constraint(
    problem: &mut Problem,
    t: &Term,
    c: &SExpr,
    vars: &[(String, Sort)],
    funs: &crate::dsl::FunDefs,
) -> Result<(), SygusError> {
    let root = t.node(t.root());
    let unsupported = || SygusError::Unsupported {
        line: c.line(),
        message: "only `(= (f consts..) const)` and `(= (ref vars..) (f vars..))` constraints are handled".into(),
    };
    if root.op != Op::Eq || root.children.len() != 2 {
        return Err(unsupported());
    }
    let is_f = |id: crate::dsl::Id| matches!(&t.node(id).op, Op::Call(n) if **n == *problem.name);
    let (call, other) = match (is_f(root.children[0]), is_f(root.children[1])) {
        (true, false) => (root.children[0], root.children[1]),
        (false, true) => (root.children[1], root.children[0]),
        _ => return Err(unsupported()),
    };
    let other_term = {
        let mut o = Term::new();
        o.add_term(t, other);
        o
    };
    if mentions_call(&other_term, &problem.name) {
        return Err(unsupported());
    }
    let args: Vec<Term> = t
        .node(call)
        .children
        .iter()
        .map(|a| {
            let mut o = Term::new();
            o.add_term(t, *a);
            o
        })
        .collect();
    let var_args: Option<Vec<String>> = args
        .iter()
        .map(|a| match &a.node(a.root()).op {
            Op::Var(n) if vars.iter().any(|(v, _)| **v == **n) => Some(n.to_string()),
            _ => None,
        })
        .collect();
    let no_vars = |term: &Term| !term.nodes().iter().any(|n| matches!(n.op, Op::Var(_)));
    if args.iter().all(no_vars) && no_vars(&other_term) {
        let mut vals = Vec::new();
        for a in &args {
            vals.push(eval_one(a, &[], funs).map_err(|e| invalid(c, e.to_string()))?);
        }
        let out = eval_one(&other_term, &[], funs).map_err(|e| invalid(c, e.to_string()))?;
        problem.examples.push(Example { args: vals, output: out });
        return Ok(());
    }
    if let Some(names) = var_args {
        let mut distinct = names.clone();
        distinct.sort();
        distinct.dedup();
        if distinct.len() == names.len() {
            // Rename the declared variables to the parameter names.
            let renamed = rename_vars(&other_term, &names, &problem.params);
            if renamed
                .nodes()
                .iter()
                .any(|n| matches!(&n.op, Op::Var(v) if !problem.params.iter().any(|p| *p.name == **v)))
            {
                return Err(invalid(c, "the reference side uses a variable that is not an argument of the call"));
            }
            if problem.reference.is_some() {
                return Err(SygusError::Unsupported {
                    line: c.line(),
                    message: "more than one reference constraint".into(),
                });
            }
            problem.reference = Some(renamed);
            return Ok(());
        }
    }
    Err(unsupported())
}

fn mentions_call(t: &Term, name: &str) -> bool {
    t.nodes().iter().any(|n| matches!(&n.op, Op::Call(c) if **c == *name))
}

fn rename_vars(t: &Term, from: &[String], to: &[Param]) -> Term {
    let mut out = Term::new();
    for n in t.nodes() {
        let op = match &n.op {
            Op::Var(v) => match from.iter().position(|f| **f == **v) {
                Some(i) => Op::Var(Arc::from(to[i].name.as_str())),
                None => n.op.clone(),
            },
            other => other.clone(),
        };
        out.add(op, &n.children);
    }
    out
}

/// Every `.sl` file under `dir`, recursively, in the order the directory lists them
/// (callers sort).
///
/// # Errors
///
/// A directory that cannot be read.
pub fn collect_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) -> std::io::Result<()> {
    for e in std::fs::read_dir(dir)? {
        let p = e?.path();
        if p.is_dir() {
            collect_files(&p, out)?;
        } else if p.extension().is_some_and(|x| x == "sl") {
            out.push(p);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PBE: &str = r#"(set-logic SLIA)
(synth-fun f ((name String)) String
    ((Start String) (ntInt Int))
    ((Start String (name " " (str.++ Start Start) (str.substr Start ntInt ntInt)))
     (ntInt Int (0 1 (- 1) (+ ntInt ntInt) (str.len Start)))))
(declare-var name String)
(constraint (= (f "ab cd") "ab"))
(constraint (= (f "x y") "x"))
(check-synth)
"#;

    #[test]
    fn parses_pbe_with_grammar() {
        let p = parse(PBE).unwrap();
        assert_eq!(p.logic, "SLIA");
        let pr = p.problem;
        assert_eq!(pr.name, "f");
        assert_eq!(pr.examples.len(), 2);
        assert_eq!(pr.examples[1].output, Value::str("x"));
        let g = pr.grammar.unwrap();
        assert_eq!(g.nonterminals.len(), 2);
        assert_eq!(g.nonterminals[1].productions[2], Production::Term("(- 1)".parse().unwrap()));
    }

    #[test]
    fn parses_reference_constraint() {
        let src = "(set-logic BV)
(define-fun hd01 ((x (_ BitVec 32))) (_ BitVec 32) (bvand x (bvsub x #x00000001)))
(synth-fun f ((x (_ BitVec 32))) (_ BitVec 32))
(declare-var y (_ BitVec 32))
(constraint (= (hd01 y) (f y)))
(check-synth)";
        let p = parse(src).unwrap().problem;
        assert_eq!(p.reference.unwrap().to_string(), "(hd01 x)");
        assert!(p.grammar.is_none());
        assert_eq!(p.fun_order, vec!["hd01".to_string()]);
    }

    #[test]
    fn errors_name_lines() {
        let e = parse(
            "(set-logic BV)\n(synth-fun f ((x (_ BitVec 32))) (_ BitVec 32))\n(constraint (= (f #x01) #x00000001))",
        )
        .unwrap_err();
        assert!(e.to_string().starts_with("line 3:"), "{e}");
        let e = parse("(set-logic BV)\n(synth-fun f ((x Foo)) Int)").unwrap_err();
        assert_eq!(e.to_string(), "line 2: unknown sort `Foo`");
        let e = parse("(synth-fun f ((x Int)) Int)\n(constraint (= (f 1) 2))\n(constraint (= (f 1) 3))").unwrap_err();
        assert!(e.to_string().contains("examples 1 and 2"), "{e}");
        let e = parse("(synth-fun f ((x Int)) Int)\n(constraint (> (f 1) 2)").unwrap_err();
        assert!(e.to_string().contains("line 2"), "{e}");
        let e = parse("(synth-fun f ((x Int)) Int)\n(declare-var a Int)\n(constraint (>= (f a) a))").unwrap_err();
        assert!(matches!(e, SygusError::Unsupported { line: 3, .. }), "{e}");
    }
}
