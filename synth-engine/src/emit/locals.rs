//! Named locals for repeated subterms: `field = str_field(s, "-", 1)` once, then `field`
//! wherever the expression needs it, as a person would write it.
//!
//! A subterm gets a name when it has at least [`MIN_SIZE`] nodes, occurs at least twice
//! in the expression (counting what is left once larger locals are named), and at least
//! one occurrence is evaluated whenever the expression is: not only under a branch of an
//! `ite` or after the first operand of `and`, `or` or `=>`. Terms are pure, so computing
//! such a subterm first gives the same value and the same errors as the expression did.

use std::collections::{HashMap, HashSet};

use crate::dsl::{Id, Op, Term};

/// Fewest nodes of a subterm worth a name.
pub(crate) const MIN_SIZE: usize = 3;
/// Most locals one expression gets.
pub(crate) const MAX_LOCALS: usize = 4;

/// A subterm to compute once, under `name`.
pub(crate) struct Local {
    /// One occurrence of it.
    pub id: Id,
    /// Its s-expression: occurrences with the same text are the same value.
    pub key: String,
    /// The local's name.
    pub name: String,
}

/// The locals of the expression at `root`, in the order to define them (a local used in
/// another's definition comes first), named apart from `taken`.
pub(crate) fn find(term: &Term, root: Id, taken: &[String]) -> Vec<Local> {
    // Every compound subterm: its text, size, count and whether some occurrence is
    // evaluated unconditionally.
    let mut seen: HashMap<String, (Id, usize, usize, bool)> = HashMap::new();
    let mut stack = vec![(root, false)];
    while let Some((id, conditional)) = stack.pop() {
        let node = term.node(id);
        if node.children.is_empty() {
            continue;
        }
        let size = subterm_size(term, id);
        if size >= MIN_SIZE {
            let e = seen.entry(term.to_sexpr_at(id)).or_insert((id, size, 0, false));
            e.2 += 1;
            e.3 |= !conditional;
        }
        for (i, c) in node.children.iter().enumerate() {
            let lazy = match node.op {
                Op::Ite => i > 0,
                Op::And | Op::Or | Op::Implies => i > 0,
                _ => false,
            };
            stack.push((*c, conditional || lazy));
        }
    }
    let mut candidates: Vec<(String, Id, usize)> = seen
        .into_iter()
        .filter(|(_, (_, _, count, unconditional))| *count >= 2 && *unconditional)
        .map(|(key, (id, size, _, _))| (key, id, size))
        .collect();
    // Larger first; ties in a fixed order.
    candidates.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.0.cmp(&b.0)));
    let mut chosen: Vec<(String, Id, usize)> = Vec::new();
    for cand in candidates {
        if chosen.len() == MAX_LOCALS {
            break;
        }
        let named: HashSet<&str> = chosen.iter().map(|c| c.0.as_str()).collect();
        // Occurrences left once the chosen locals are names: in the expression, and in
        // each chosen local's one definition.
        let mut count = occurrences(term, root, &cand.0, &named);
        for c in &chosen {
            count += occurrences_below(term, c.1, &cand.0, &named);
        }
        if count >= 2 {
            chosen.push(cand);
        }
    }
    chosen.sort_by_key(|c| c.2);
    let mut names: Vec<String> = taken.to_vec();
    chosen
        .into_iter()
        .map(|(key, id, _)| {
            let base = name_for(&term.node(id).op);
            let name = (1..)
                .map(|k| if k == 1 { base.to_owned() } else { format!("{base}{k}") })
                .find(|n| !names.contains(n))
                .unwrap_or_else(|| base.to_owned());
            names.push(name.clone());
            Local { id, key, name }
        })
        .collect()
}

fn subterm_size(term: &Term, id: Id) -> usize {
    1 + term.node(id).children.iter().map(|c| subterm_size(term, *c)).sum::<usize>()
}

/// Occurrences of `key` in the expression at `id`, not looking inside `named` subterms.
fn occurrences(term: &Term, id: Id, key: &str, named: &HashSet<&str>) -> usize {
    let text = term.to_sexpr_at(id);
    if text == key {
        return 1;
    }
    if named.contains(text.as_str()) {
        return 0;
    }
    occurrences_below(term, id, key, named)
}

fn occurrences_below(term: &Term, id: Id, key: &str, named: &HashSet<&str>) -> usize {
    term.node(id).children.iter().map(|c| occurrences(term, *c, key, named)).sum()
}

/// A name that says what a subterm computes.
fn name_for(op: &Op) -> &'static str {
    match op {
        Op::StrField => "field",
        Op::StrSubstr | Op::StrAt => "piece",
        Op::StrConcat => "text",
        Op::StrToUpper => "upper",
        Op::StrToLower => "lower",
        Op::StrToTitle => "title",
        Op::StrTrim => "trimmed",
        Op::StrLen => "length",
        Op::StrIndexOf => "position",
        Op::StrToInt => "number",
        Op::StrFromInt => "digits",
        Op::StrReplace | Op::StrReplaceAll => "replaced",
        Op::StrPadLeft => "padded",
        Op::Div | Op::TDiv | Op::BvUdiv | Op::BvSdiv => "quotient",
        Op::Mod | Op::TRem | Op::BvUrem | Op::BvSrem | Op::BvSmod => "remainder",
        Op::Add | Op::BvAdd => "total",
        Op::Sub | Op::BvSub | Op::Neg | Op::BvNeg => "difference",
        Op::Mul | Op::BvMul => "product",
        Op::Ite => "choice",
        Op::Not
        | Op::And
        | Op::Or
        | Op::Xor
        | Op::Implies
        | Op::Eq
        | Op::Distinct
        | Op::Le
        | Op::Lt
        | Op::Ge
        | Op::Gt
        | Op::BvUlt
        | Op::BvUle
        | Op::BvUgt
        | Op::BvUge
        | Op::BvSlt
        | Op::BvSle
        | Op::BvSgt
        | Op::BvSge
        | Op::StrPrefixOf
        | Op::StrSuffixOf
        | Op::StrContains => "holds",
        Op::BvAnd | Op::BvOr | Op::BvXor | Op::BvNot | Op::BvShl | Op::BvLshr | Op::BvAshr => "bits",
        _ => "value",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(src: &str, taken: &[&str]) -> Vec<(String, String)> {
        let t: Term = src.parse().unwrap();
        let taken: Vec<String> = taken.iter().map(|s| (*s).to_owned()).collect();
        find(&t, t.root(), &taken).into_iter().map(|l| (l.name, l.key)).collect()
    }

    #[test]
    fn a_repeated_subterm_gets_one_name_and_inner_ones_come_first() {
        let got = names(r#"(str.++ (str.field s "-" 1) (str.++ "/" (str.field s "-" 1)))"#, &["s"]);
        assert_eq!(got, [("field".to_owned(), r#"(str.field s "-" 1)"#.to_owned())]);
        // Inside a repeated local, a subterm repeated only there is not named again.
        let got = names("(bvadd (bvmul (bvadd x #x01) y) (bvmul (bvadd x #x01) y))", &["x", "y"]);
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].0, "product");
        // A subterm repeated also outside the larger one is named first.
        let got = names("(bvadd (bvmul (bvadd x #x01) y) (bvsub (bvmul (bvadd x #x01) y) (bvadd x #x01)))", &["x"]);
        let order: Vec<&str> = got.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(order, ["total", "product"]);
    }

    #[test]
    fn only_a_subterm_evaluated_whatever_the_branch_is_named() {
        // Both occurrences under branches of the ite: computing it first could fail where
        // the expression does not.
        assert!(names("(ite (= y 0) 0 (+ (div x y) (div x y)))", &[]).is_empty());
        // One occurrence in the condition, always evaluated.
        assert_eq!(names("(ite (< (div x 7) 3) (div x 7) 0)", &[]).len(), 1);
        assert!(names("(and (= y 1) (= (div x y) (div x y)))", &[]).is_empty());
    }

    #[test]
    fn names_stay_apart_from_the_parameters_and_each_other() {
        let got = names("(+ (+ (div x 7) (div x 7)) (+ (div y 7) (div y 7)))", &["quotient"]);
        let mut n: Vec<&str> = got.iter().map(|(n, _)| n.as_str()).collect();
        n.sort_unstable();
        assert_eq!(n, ["quotient2", "quotient3"]);
    }
}
