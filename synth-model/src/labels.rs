//! Production labels: the names the guide predicts a probability for.
//!
//! A grammar production is labelled by its root operator (`bvand`,
//! `str.substr`, …); leaves are `var` or a constant class (`bv.1`,
//! `str.const`, …). A constant common in code (`0xff`, `16`, `","`, see
//! [`common_constants`]) also has a label of its own (`bv=0xff`, …), so the
//! guide can say which constants to add to a grammar the examples do not
//! show. Labels are shared by every grammar, so a model trained on the default
//! grammars also prices SyGuS grammars.

use synth_engine::dsl::{width_mask, Op, Sort, Term, Value};

/// Every label, in the order of the guide's output units.
pub const LABELS: &[&str] = &[
    "var",
    "bv.0",
    "bv.1",
    "bv.ones",
    "bv.const",
    "int.0",
    "int.1",
    "int.const",
    "str.empty",
    "str.space",
    "str.const",
    "bool.const", // leaves
    "bvnot",
    "bvneg",
    "bvand",
    "bvor",
    "bvxor",
    "bvnand",
    "bvnor",
    "bvxnor",
    "bvadd",
    "bvsub",
    "bvmul",
    "bvudiv",
    "bvurem",
    "bvsdiv",
    "bvsrem",
    "bvsmod",
    "bvshl",
    "bvlshr",
    "bvashr",
    "bvcomp",
    "concat",
    "extract",
    "zero_extend",
    "sign_extend",
    "rotate_left",
    "rotate_right",
    "repeat",
    "int2bv",
    "bv2nat", // bit-vectors
    "bvult",
    "bvule",
    "bvugt",
    "bvuge",
    "bvslt",
    "bvsle",
    "bvsgt",
    "bvsge", // comparisons
    "not",
    "and",
    "or",
    "xor",
    "=>",
    "=",
    "distinct",
    "ite", // Boolean
    "+",
    "-",
    "neg",
    "*",
    "div",
    "mod",
    "abs",
    "<=",
    "<",
    ">=",
    ">", // integers
    "str.++",
    "str.len",
    "str.substr",
    "str.at",
    "str.indexof",
    "str.replace",
    "str.replace_all",
    "str.prefixof",
    "str.suffixof",
    "str.contains",
    "str.to_int",
    "str.from_int",
    "str.<",
    "str.<=",
    "str.is_digit", // strings
    "call",
    // common constants, in the order of `common_constants`
    "bv=2",
    "bv=3",
    "bv=4",
    "bv=8",
    "bv=16",
    "bv=31",
    "bv=0xff",
    "bv=0xffff",
    "bv=sign",
    "int=2",
    "int=3",
    "int=10",
    "int=-1",
    "str=,",
    "str=-",
    "str=.",
    "str=@",
    "str=/",
    "str=:",
];

/// Bit-vector constants common in code, beyond 0, 1 and all ones, with their
/// labels; the sign bit, `1 << (w - 1)`, follows them as `bv=sign`.
const COMMON_BVS: [(u64, &str); 8] = [
    (2, "bv=2"),
    (3, "bv=3"),
    (4, "bv=4"),
    (8, "bv=8"),
    (16, "bv=16"),
    (31, "bv=31"),
    (0xff, "bv=0xff"),
    (0xffff, "bv=0xffff"),
];
/// The label of the sign bit.
const SIGN_BIT: &str = "bv=sign";
/// Integer constants common in code, beyond 0 and 1, with their labels.
const COMMON_INTS: [(i128, &str); 4] = [(2, "int=2"), (3, "int=3"), (10, "int=10"), (-1, "int=-1")];
/// Separators common in text, with their labels.
const COMMON_STRS: [(&str, &str); 6] =
    [(",", "str=,"), ("-", "str=-"), (".", "str=."), ("@", "str=@"), ("/", "str=/"), (":", "str=:")];

/// The constants of `sort` that have a label of their own: small counts,
/// shift amounts, masks and the sign bit for bit-vectors; 2, 3, 10 and −1 for
/// integers; separators for strings. None for Booleans.
#[must_use]
pub fn common_constants(sort: Sort) -> Vec<Value> {
    match sort {
        Sort::BitVec(w) => {
            let sign = 1u64.checked_shl(w - 1).unwrap_or(0);
            let mut out: Vec<Value> = Vec::new();
            for bits in COMMON_BVS.iter().map(|(b, _)| *b).chain([sign]) {
                // Only values the width holds that are not 0, 1 or all ones.
                if bits > 1 && bits < width_mask(w) {
                    let v = Value::bv(w, bits);
                    if !out.contains(&v) {
                        out.push(v);
                    }
                }
            }
            out
        }
        Sort::Int => COMMON_INTS.iter().map(|(i, _)| Value::Int(*i)).collect(),
        Sort::String => COMMON_STRS.iter().map(|(s, _)| Value::str(s)).collect(),
        Sort::Bool => Vec::new(),
    }
}

/// The label of a common constant (see [`common_constants`]), if `v` is one.
#[must_use]
pub fn value_label(v: &Value) -> Option<&'static str> {
    match v {
        Value::Bv { width, bits } => {
            if *bits <= 1 || *bits == width_mask(*width) {
                None
            } else if *width > 1 && *bits == 1u64 << (*width - 1) {
                Some(SIGN_BIT)
            } else {
                COMMON_BVS.iter().find(|(b, _)| b == bits).map(|(_, l)| *l)
            }
        }
        Value::Int(i) => COMMON_INTS.iter().find(|(c, _)| c == i).map(|(_, l)| *l),
        Value::Str(s) => COMMON_STRS.iter().find(|(c, _)| *c == &**s).map(|(_, l)| *l),
        Value::Bool(_) => None,
    }
}

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

/// Indices of the labels of every node of a solution term (a common
/// constant has two: its class and its own).
#[must_use]
pub fn term_labels(term: &Term) -> Vec<usize> {
    let mut out: Vec<usize> = Vec::new();
    for n in term.nodes() {
        out.extend(label_index(&op_label(&n.op)));
        if let Op::Const(v) = &n.op {
            out.extend(value_label(v).and_then(label_index));
        }
    }
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
    fn common_constants_carry_their_own_label() {
        let t: Term = "(bvadd (bvand x #x000000ff) #x80000000)".parse().unwrap();
        let names: Vec<&str> = term_labels(&t).into_iter().map(|i| LABELS[i]).collect();
        assert_eq!(names, vec!["var", "bv.const", "bvand", "bvadd", "bv=0xff", "bv=sign"]);
        for sort in [Sort::BitVec(8), Sort::BitVec(16), Sort::BitVec(32), Sort::BitVec(64), Sort::Int, Sort::String] {
            let consts = common_constants(sort);
            assert!(!consts.is_empty());
            for v in &consts {
                let label = value_label(v).unwrap_or_else(|| panic!("{v:?} has no label"));
                assert!(label_index(label).is_some(), "{label}");
            }
        }
        // 8 bits: 0xff is all ones and 0xffff does not fit; the sign bit is 0x80.
        let w8: Vec<u64> = common_constants(Sort::BitVec(8))
            .iter()
            .map(|v| if let Value::Bv { bits, .. } = v { *bits } else { 0 })
            .collect();
        assert_eq!(w8, vec![2, 3, 4, 8, 16, 31, 0x80]);
        assert_eq!(value_label(&Value::bv(32, 5)), None);
        assert_eq!(value_label(&Value::str(";")), None);
    }

    #[test]
    fn every_label_is_unique() {
        let mut v = LABELS.to_vec();
        v.sort_unstable();
        v.dedup();
        assert_eq!(v.len(), LABELS.len());
    }
}
