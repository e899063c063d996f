//! Readable rewriting of a found term by equality saturation (the `egg` crate).
//!
//! The search returns the first term that fits, which is often not the one a person
//! writes: `(bvand x (bvnot (bvneg x)))` for `x & (x - 1)`, `(bvadd x (bvneg y))` for
//! `x - y`, a negated condition in front of swapped branches. [`simplify`] puts the term
//! into an e-graph, applies identities that hold exactly (in fixed width, for
//! mathematical integers and for Booleans), and extracts the cheapest equivalent under a
//! readability cost: every node costs 1, a unary negation or complement 1.5, so
//! `x - 1` beats `~(-x)` and `-x` beats `0 - x`. Identities that need a constant of the
//! term's width (`x + 0`, `x & ~0`, `~(-x) = x - 1`) are used when every bit-vector in the
//! term has the same width. The rewriting is bounded in nodes, iterations and time, and
//! a term it cannot read is returned as it was.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use egg::{CostFunction, Extractor, Language, Pattern, RecExpr, Rewrite, Runner, Symbol, SymbolLang};

use crate::dsl::{Id, Op, Sort, Term, Value};
use crate::spec::Problem;

/// Identities for every width, Booleans and integers: (name, left, right).
const GENERIC: &[(&str, &str, &str)] = &[
    ("bvnot-bvnot", "(bvnot (bvnot ?x))", "?x"),
    ("bvneg-bvneg", "(bvneg (bvneg ?x))", "?x"),
    ("add-neg", "(bvadd ?x (bvneg ?y))", "(bvsub ?x ?y)"),
    ("neg-add", "(bvadd (bvneg ?y) ?x)", "(bvsub ?x ?y)"),
    ("sub-neg", "(bvsub ?x (bvneg ?y))", "(bvadd ?x ?y)"),
    ("not-not", "(not (not ?x))", "?x"),
    ("ite-not", "(ite (not ?c) ?a ?b)", "(ite ?c ?b ?a)"),
    ("not-ult", "(not (bvult ?a ?b))", "(bvuge ?a ?b)"),
    ("not-ule", "(not (bvule ?a ?b))", "(bvugt ?a ?b)"),
    ("not-ugt", "(not (bvugt ?a ?b))", "(bvule ?a ?b)"),
    ("not-uge", "(not (bvuge ?a ?b))", "(bvult ?a ?b)"),
    ("not-slt", "(not (bvslt ?a ?b))", "(bvsge ?a ?b)"),
    ("not-sle", "(not (bvsle ?a ?b))", "(bvsgt ?a ?b)"),
    ("not-sgt", "(not (bvsgt ?a ?b))", "(bvsle ?a ?b)"),
    ("not-sge", "(not (bvsge ?a ?b))", "(bvslt ?a ?b)"),
    ("not-lt", "(not (< ?a ?b))", "(>= ?a ?b)"),
    ("not-le", "(not (<= ?a ?b))", "(> ?a ?b)"),
    ("not-gt", "(not (> ?a ?b))", "(<= ?a ?b)"),
    ("not-ge", "(not (>= ?a ?b))", "(< ?a ?b)"),
    ("neg-neg", "(- (- ?x))", "?x"),
    ("int-add-neg", "(+ ?x (- ?y))", "(- ?x ?y)"),
    ("int-neg-add", "(+ (- ?y) ?x)", "(- ?x ?y)"),
    ("int-sub-neg", "(- ?x (- ?y))", "(+ ?x ?y)"),
    ("int-add-0", "(+ ?x 0)", "?x"),
    ("int-0-add", "(+ 0 ?x)", "?x"),
    ("int-sub-0", "(- ?x 0)", "?x"),
    ("int-mul-1", "(* ?x 1)", "?x"),
    ("int-1-mul", "(* 1 ?x)", "?x"),
];

/// Identities that name constants of one width `w` (`ZERO`, `ONE`, `ONES` are replaced).
const WIDTH: &[(&str, &str, &str)] = &[
    ("not-neg", "(bvnot (bvneg ?x))", "(bvsub ?x ONE)"),
    ("neg-not", "(bvneg (bvnot ?x))", "(bvadd ?x ONE)"),
    ("add-0", "(bvadd ?x ZERO)", "?x"),
    ("0-add", "(bvadd ZERO ?x)", "?x"),
    ("sub-0", "(bvsub ?x ZERO)", "?x"),
    ("0-sub", "(bvsub ZERO ?x)", "(bvneg ?x)"),
    ("or-0", "(bvor ?x ZERO)", "?x"),
    ("0-or", "(bvor ZERO ?x)", "?x"),
    ("xor-0", "(bvxor ?x ZERO)", "?x"),
    ("0-xor", "(bvxor ZERO ?x)", "?x"),
    ("xor-ones", "(bvxor ?x ONES)", "(bvnot ?x)"),
    ("ones-xor", "(bvxor ONES ?x)", "(bvnot ?x)"),
    ("and-ones", "(bvand ?x ONES)", "?x"),
    ("ones-and", "(bvand ONES ?x)", "?x"),
    ("mul-1", "(bvmul ?x ONE)", "?x"),
    ("1-mul", "(bvmul ONE ?x)", "?x"),
    ("shl-0", "(bvshl ?x ZERO)", "?x"),
    ("lshr-0", "(bvlshr ?x ZERO)", "?x"),
    ("ashr-0", "(bvashr ?x ZERO)", "?x"),
];

/// Node cost for extraction: a unary negation or complement costs more than a binary
/// operation, so the plain form wins.
struct Readability;

impl CostFunction<SymbolLang> for Readability {
    type Cost = f64;

    fn cost<C>(&mut self, enode: &SymbolLang, mut costs: C) -> f64
    where
        C: FnMut(egg::Id) -> f64,
    {
        let own = match (enode.op.as_str(), enode.children.len()) {
            ("bvnot" | "bvneg" | "not" | "-", 1) => 1.5,
            _ => 1.0,
        };
        enode.fold(own, |sum, id| sum + costs(id))
    }
}

fn rules(width: Option<u32>) -> Vec<Rewrite<SymbolLang, ()>> {
    let mut texts: Vec<(String, String, String)> =
        GENERIC.iter().map(|(n, l, r)| ((*n).to_string(), (*l).to_string(), (*r).to_string())).collect();
    if let Some(w) = width {
        let mask = crate::dsl::width_mask(w);
        let [z, one, ones] = [0, 1, mask].map(|b| Value::bv(w, b).to_string());
        let fill = |s: &str| s.replace("ONES", &ones).replace("ONE", &one).replace("ZERO", &z);
        texts.extend(WIDTH.iter().map(|(n, l, r)| (format!("{n}-{w}"), fill(l), fill(r))));
    }
    texts
        .into_iter()
        .filter_map(|(name, l, r)| {
            let lhs: Pattern<SymbolLang> = l.parse().ok()?;
            let rhs: Pattern<SymbolLang> = r.parse().ok()?;
            Rewrite::new(name, lhs, rhs).ok()
        })
        .collect()
}

/// The most readable term equal to `term` that the identities reach (the term itself
/// when none is cheaper, or when its sorts cannot be read against `problem`).
#[must_use]
pub fn simplify(problem: &Problem, term: &Term) -> Term {
    let Ok(sorts) = crate::emit::sorts_of(problem, term) else { return term.clone() };
    let widths: BTreeSet<u32> = sorts
        .iter()
        .filter_map(|s| match s {
            Sort::BitVec(w) => Some(*w),
            _ => None,
        })
        .collect();
    let width = if widths.len() == 1 { widths.first().copied() } else { None };
    let mut table: HashMap<Symbol, Op> = HashMap::new();
    let mut expr: RecExpr<SymbolLang> = RecExpr::default();
    for node in term.nodes() {
        let sym = Symbol::from(node.op.name());
        table.entry(sym).or_insert_with(|| node.op.clone());
        let kids: Vec<egg::Id> = node.children.iter().map(|c| egg::Id::from(c.index())).collect();
        expr.add(SymbolLang::new(sym, kids));
    }
    let rules = rules(width);
    let runner = Runner::default()
        .with_iter_limit(12)
        .with_node_limit(20_000)
        .with_time_limit(Duration::from_millis(200))
        .with_expr(&expr)
        .run(&rules);
    let extractor = Extractor::new(&runner.egraph, Readability);
    let (best_cost, best) = extractor.find_best(runner.roots[0]);
    if best_cost >= Readability.cost_rec(&expr) {
        return term.clone();
    }
    rebuild(&best, &table, width).unwrap_or_else(|| term.clone())
}

/// Our term from an extracted expression: every symbol is one of the term's own
/// operators or a constant of its width (from the rules).
fn rebuild(best: &RecExpr<SymbolLang>, table: &HashMap<Symbol, Op>, width: Option<u32>) -> Option<Term> {
    let mut out = Term::new();
    let mut ids: Vec<Id> = Vec::with_capacity(best.as_ref().len());
    for node in best.as_ref() {
        let kids: Vec<Id> = node.children.iter().map(|c| ids[usize::from(*c)]).collect();
        let name = node.op.as_str();
        let op = match (table.get(&node.op), name, kids.len()) {
            (_, "-", 1) => Op::Neg,
            (_, "-", _) => Op::Sub,
            (Some(op), _, _) => op.clone(),
            (None, _, 0) => constant(name, width)?,
            (None, _, _) => Op::from_name(name)?,
        };
        ids.push(out.add(op, &kids));
    }
    Some(out)
}

/// A constant the rules introduce: an integer, or a bit-vector of the term's width.
fn constant(text: &str, width: Option<u32>) -> Option<Op> {
    if let Ok(i) = text.parse::<i128>() {
        return Some(Op::Const(Value::Int(i)));
    }
    let w = width?;
    let bits = if let Some(hex) = text.strip_prefix("#x") {
        u64::from_str_radix(hex, 16).ok()?
    } else {
        u64::from_str_radix(text.strip_prefix("#b")?, 2).ok()?
    };
    Some(Op::Const(Value::bv(w, bits)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsl::eval_one;
    use crate::spec::{Param, TypeSpec};

    fn problem(params: &[&str], ty: TypeSpec) -> Problem {
        Problem::new("f", params.iter().map(|p| Param { name: (*p).into(), ty }).collect(), ty)
    }

    const U32: TypeSpec = TypeSpec { sort: Sort::BitVec(32), signed: false };

    #[test]
    fn the_demo_term_reads_as_x_and_x_minus_one() {
        let p = problem(&["x"], U32);
        let t: Term = "(bvand x (bvnot (bvneg x)))".parse().unwrap();
        assert_eq!(simplify(&p, &t).to_string(), "(bvand x (bvsub x #x00000001))");
        let t: Term = "(bvadd x (bvneg y))".parse().unwrap();
        let p2 = problem(&["x", "y"], U32);
        assert_eq!(simplify(&p2, &t).to_string(), "(bvsub x y)");
        let t: Term = "(ite (not (bvult x y)) x y)".parse().unwrap();
        assert_eq!(simplify(&p2, &t).to_string(), "(ite (bvult x y) y x)");
    }

    #[test]
    fn a_term_already_plain_is_kept_and_results_are_equal() {
        let p = problem(&["x", "y"], U32);
        for text in [
            "(bvand x (bvsub x #x00000001))",
            "(bvor (bvxor x #xffffffff) (bvadd y #x00000000))",
            "(bvmul (bvneg (bvnot x)) (bvsub #x00000000 y))",
        ] {
            let t: Term = text.parse().unwrap();
            let s = simplify(&p, &t);
            assert!(s.size() <= t.size(), "{t} became {s}");
            for (a, b) in [(0u64, 0u64), (1, 2), (0xffff_ffff, 7), (12345, 0x8000_0000)] {
                let binds = [("x", Value::bv(32, a)), ("y", Value::bv(32, b))];
                let funs = crate::dsl::FunDefs::new();
                assert_eq!(eval_one(&t, &binds, &funs), eval_one(&s, &binds, &funs), "{t} vs {s}");
            }
        }
        let plain: Term = "(bvand x (bvsub x #x00000001))".parse().unwrap();
        assert_eq!(simplify(&p, &plain), plain);
    }

    #[test]
    fn mixed_widths_use_only_width_free_identities() {
        let p = Problem::new(
            "f",
            vec![
                Param { name: "x".into(), ty: U32 },
                Param { name: "b".into(), ty: TypeSpec { sort: Sort::BitVec(8), signed: false } },
            ],
            U32,
        );
        let t: Term = "(bvadd (bvnot (bvneg x)) ((_ zero_extend 24) (bvneg (bvneg b))))".parse().unwrap();
        let s = simplify(&p, &t);
        assert_eq!(s.to_string(), "(bvadd (bvnot (bvneg x)) ((_ zero_extend 24) b))");
    }
}
