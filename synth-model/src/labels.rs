//! Production labels: the names the guide predicts a probability for.
//!
//! A grammar production is labelled by its root operator (`bvand`,
//! `str.substr`, …); leaves are `var` or a constant class (`bv.1`,
//! `str.const`, …). Labels are shared by every grammar, so a model trained
//! on the default grammars also prices SyGuS grammars.

use synth_engine::dsl::{width_mask, Op, Term, Value};

/// Every label, in the order of the guide's output units.
pub const LABELS: &[&str] = &[
    "var", "bv.0", "bv.1", "bv.ones", "bv.const", "int.0", "int.1", "int.const", "str.empty", "str.space", "str.const",
    "bool.const", // leaves
    "bvnot", "bvneg", "bvand", "bvor", "bvxor", "bvnand", "bvnor", "bvxnor", "bvadd", "bvsub", "bvmul", "bvudiv", "bvurem",
    "bvsdiv", "bvsrem", "bvsmod", "bvshl", "bvlshr", "bvashr", "bvcomp", "concat", "extract", "zero_extend", "sign_extend",
    "rotate_left", "rotate_right", "repeat", "int2bv", "bv2nat", // bit-vectors
    "bvult", "bvule", "bvugt", "bvuge", "bvslt", "bvsle", "bvsgt", "bvsge", // comparisons
    "not", "and", "or", "xor", "=>", "=", "distinct", "ite", // Boolean
    "+", "-", "neg", "*", "div", "mod", "abs", "<=", "<", ">=", ">", // integers
    "str.++", "str.len", "str.substr", "str.at", "str.indexof", "str.replace", "str.replace_all", "str.prefixof",
    "str.suffixof", "str.contains", "str.to_int", "str.from_int", "str.<", "str.<=", "str.is_digit", // strings
    "call",
];

/// Number of labels.
#[must_use]
pub fn label_count() -> usize {
    LABELS.len()
}

/// Index of a label name.
#[must_use]
pub fn label_index(name: &str) -> Option<usize> {
    LABELS.iter().position(|l| *l == name)
}

/// Label of a constant.
#[must_use]
pub fn const_label(v: &Value) -> &'static str {
    match v {
        Value::Bv { width, bits } => match *bits {
            0 => "bv.0",
            1 => "bv.1",
            b if b == width_mask(*width) => "bv.ones",
            _ => "bv.const",
        },
        Value::Int(0) => "int.0",
        Value::Int(1) => "int.1",
        Value::Int(_) => "int.const",
        Value::Str(s) if s.is_empty() => "str.empty",
        Value::Str(s) if &**s == " " => "str.space",
        Value::Str(_) => "str.const",
        Value::Bool(_) => "bool.const",
    }
}

/// Label of an operator node (a `Var` is a parameter here).
#[must_use]
pub fn op_label(op: &Op) -> String {
    match op {
        Op::Var(_) => "var".into(),
        Op::Const(v) => const_label(v).into(),
        Op::Call(_) => "call".into(),
        Op::Neg => "neg".into(),
        Op::Sub => "-".into(),
        Op::Extract(..) => "extract".into(),
        Op::ZeroExtend(_) => "zero_extend".into(),
        Op::SignExtend(_) => "sign_extend".into(),
        Op::RotateLeft(_) => "rotate_left".into(),
        Op::RotateRight(_) => "rotate_right".into(),
        Op::Repeat(_) => "repeat".into(),
        Op::Int2Bv(_) => "int2bv".into(),
        other => {
            let n = other.name();
            // Older SMT-LIB spellings.
            match n.as_str() {
                "str.to.int" => "str.to_int".into(),
                "int.to.str" | "str.from.int" => "str.from_int".into(),
                _ => n,
            }
        }
    }
}

/// Indices of the labels of every node of a solution term.
#[must_use]
pub fn term_labels(term: &Term) -> Vec<usize> {
    let mut out: Vec<usize> = term.nodes().iter().filter_map(|n| label_index(&op_label(&n.op))).collect();
    out.sort_unstable();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_of_a_term_are_its_operators_and_leaf_classes() {
        let t: Term = "(bvand x (bvsub x #x00000001))".parse().unwrap();
        let names: Vec<&str> = term_labels(&t).into_iter().map(|i| LABELS[i]).collect();
        assert_eq!(names, vec!["var", "bv.1", "bvand", "bvsub"]);
    }

    #[test]
    fn every_label_is_unique() {
        let mut v = LABELS.to_vec();
        v.sort_unstable();
        v.dedup();
        assert_eq!(v.len(), LABELS.len());
    }
}
