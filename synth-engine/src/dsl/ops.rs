//! Operators of the term language, their SMT-LIB names and their typing.

use std::fmt;
use std::sync::Arc;

use super::types::{Sort, Value};

/// An operator (node label) of the term language.
///
/// The SMT-LIB name of each operator is given by [`Op::name`]; parsing and
/// printing use the same table, so they round-trip.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Op {
    /// A variable (function parameter or declared variable), by name.
    Var(Arc<str>),
    /// A literal.
    Const(Value),
    /// An application of a user-defined function (a `define-fun` macro or the
    /// function being synthesized), by name.
    Call(Arc<str>),
    /// `not`.
    Not,
    /// `and` (n-ary).
    And,
    /// `or` (n-ary).
    Or,
    /// `xor`.
    Xor,
    /// `=>`.
    Implies,
    /// `=` (chainable).
    Eq,
    /// `distinct` (pairwise).
    Distinct,
    /// `ite`.
    Ite,
    /// Unary `-`.
    Neg,
    /// Binary `-` (left-associative when n-ary).
    Sub,
    /// `+` (n-ary).
    Add,
    /// `*` (n-ary).
    Mul,
    /// `div` (Euclidean).
    Div,
    /// `mod` (Euclidean).
    Mod,
    /// `tdiv`: integer division truncating toward zero, as C and Rust divide (not in
    /// SMT-LIB; used where a fixed-width term is written with plain integers).
    TDiv,
    /// `trem`: the remainder of `tdiv`, with the dividend's sign (C's and Rust's `%`).
    TRem,
    /// `abs`.
    Abs,
    /// `<=`.
    Le,
    /// `<`.
    Lt,
    /// `>=`.
    Ge,
    /// `>`.
    Gt,
    /// `bvnot`.
    BvNot,
    /// `bvneg`.
    BvNeg,
    /// `bvand`.
    BvAnd,
    /// `bvor`.
    BvOr,
    /// `bvxor`.
    BvXor,
    /// `bvnand`.
    BvNand,
    /// `bvnor`.
    BvNor,
    /// `bvxnor`.
    BvXnor,
    /// `bvadd`.
    BvAdd,
    /// `bvsub`.
    BvSub,
    /// `bvmul`.
    BvMul,
    /// `bvudiv` (division by zero gives all ones).
    BvUdiv,
    /// `bvurem` (remainder by zero gives the dividend).
    BvUrem,
    /// `bvsdiv`.
    BvSdiv,
    /// `bvsrem`.
    BvSrem,
    /// `bvsmod`.
    BvSmod,
    /// `bvshl` (shift amounts >= width give zero).
    BvShl,
    /// `bvlshr`.
    BvLshr,
    /// `bvashr`.
    BvAshr,
    /// `bvult`.
    BvUlt,
    /// `bvule`.
    BvUle,
    /// `bvugt`.
    BvUgt,
    /// `bvuge`.
    BvUge,
    /// `bvslt`.
    BvSlt,
    /// `bvsle`.
    BvSle,
    /// `bvsgt`.
    BvSgt,
    /// `bvsge`.
    BvSge,
    /// `bvcomp` (a 1-bit vector).
    BvComp,
    /// `concat`.
    Concat,
    /// `(_ extract hi lo)`.
    Extract(u32, u32),
    /// `(_ zero_extend n)`.
    ZeroExtend(u32),
    /// `(_ sign_extend n)`.
    SignExtend(u32),
    /// `(_ rotate_left n)`.
    RotateLeft(u32),
    /// `(_ rotate_right n)`.
    RotateRight(u32),
    /// `(_ repeat n)`.
    Repeat(u32),
    /// `str.++` (n-ary).
    StrConcat,
    /// `str.len`.
    StrLen,
    /// `str.substr`.
    StrSubstr,
    /// `str.at`.
    StrAt,
    /// `str.indexof`.
    StrIndexOf,
    /// `str.replace` (first occurrence).
    StrReplace,
    /// `str.replace_all`.
    StrReplaceAll,
    /// `str.prefixof`.
    StrPrefixOf,
    /// `str.suffixof`.
    StrSuffixOf,
    /// `str.contains`.
    StrContains,
    /// `str.to_int` (also read as `str.to.int`).
    StrToInt,
    /// `str.from_int` (also read as `int.to.str`).
    StrFromInt,
    /// `str.<` (lexicographic).
    StrLt,
    /// `str.<=`.
    StrLe,
    /// `str.is_digit`.
    StrIsDigit,
    /// `str.to_upper`: ASCII letters to upper case (as cvc5's extension).
    StrToUpper,
    /// `str.to_lower`: ASCII letters to lower case.
    StrToLower,
    /// `str.to_title`: each word's first ASCII letter upper case, the rest lower case.
    StrToTitle,
    /// `str.trim`: without leading and trailing spaces, tabs, newlines, carriage returns.
    StrTrim,
    /// `str.field s sep i`: the `i`-th piece (from 0) of `s` split at each `sep`.
    StrField,
    /// `str.pad_left s w c`: `s` preceded by copies of the one character `c` up to width `w`.
    StrPadLeft,
    /// `str.repeat s n`: `s` `n` times.
    StrRepeat,
    /// `(_ int2bv w)`: the integer modulo `2^w`.
    Int2Bv(u32),
    /// `bv2nat`: the unsigned value of a bit-vector.
    Bv2Nat,
}

/// Plain (non-indexed, non-leaf) operators and their names.
const NAMED: &[(Op, &str)] = &[
    (Op::Not, "not"),
    (Op::And, "and"),
    (Op::Or, "or"),
    (Op::Xor, "xor"),
    (Op::Implies, "=>"),
    (Op::Eq, "="),
    (Op::Distinct, "distinct"),
    (Op::Ite, "ite"),
    (Op::Add, "+"),
    (Op::Mul, "*"),
    (Op::Div, "div"),
    (Op::Mod, "mod"),
    (Op::TDiv, "tdiv"),
    (Op::TRem, "trem"),
    (Op::Abs, "abs"),
    (Op::Le, "<="),
    (Op::Lt, "<"),
    (Op::Ge, ">="),
    (Op::Gt, ">"),
    (Op::BvNot, "bvnot"),
    (Op::BvNeg, "bvneg"),
    (Op::BvAnd, "bvand"),
    (Op::BvOr, "bvor"),
    (Op::BvXor, "bvxor"),
    (Op::BvNand, "bvnand"),
    (Op::BvNor, "bvnor"),
    (Op::BvXnor, "bvxnor"),
    (Op::BvAdd, "bvadd"),
    (Op::BvSub, "bvsub"),
    (Op::BvMul, "bvmul"),
    (Op::BvUdiv, "bvudiv"),
    (Op::BvUrem, "bvurem"),
    (Op::BvSdiv, "bvsdiv"),
    (Op::BvSrem, "bvsrem"),
    (Op::BvSmod, "bvsmod"),
    (Op::BvShl, "bvshl"),
    (Op::BvLshr, "bvlshr"),
    (Op::BvAshr, "bvashr"),
    (Op::BvUlt, "bvult"),
    (Op::BvUle, "bvule"),
    (Op::BvUgt, "bvugt"),
    (Op::BvUge, "bvuge"),
    (Op::BvSlt, "bvslt"),
    (Op::BvSle, "bvsle"),
    (Op::BvSgt, "bvsgt"),
    (Op::BvSge, "bvsge"),
    (Op::BvComp, "bvcomp"),
    (Op::Concat, "concat"),
    (Op::StrConcat, "str.++"),
    (Op::StrLen, "str.len"),
    (Op::StrSubstr, "str.substr"),
    (Op::StrAt, "str.at"),
    (Op::StrIndexOf, "str.indexof"),
    (Op::StrReplace, "str.replace"),
    (Op::StrReplaceAll, "str.replace_all"),
    (Op::StrPrefixOf, "str.prefixof"),
    (Op::StrSuffixOf, "str.suffixof"),
    (Op::StrContains, "str.contains"),
    (Op::StrToInt, "str.to_int"),
    (Op::StrFromInt, "str.from_int"),
    (Op::StrLt, "str.<"),
    (Op::StrLe, "str.<="),
    (Op::StrIsDigit, "str.is_digit"),
    (Op::StrToUpper, "str.to_upper"),
    (Op::StrToLower, "str.to_lower"),
    (Op::StrToTitle, "str.to_title"),
    (Op::StrTrim, "str.trim"),
    (Op::StrField, "str.field"),
    (Op::StrPadLeft, "str.pad_left"),
    (Op::StrRepeat, "str.repeat"),
    (Op::Bv2Nat, "bv2nat"),
];

impl Op {
    /// Looks up a plain operator by its SMT-LIB name. `-` is returned as
    /// [`Op::Sub`]; the parser turns a one-argument `-` into [`Op::Neg`].
    #[must_use]
    pub fn from_name(name: &str) -> Option<Op> {
        match name {
            "-" => return Some(Op::Sub),
            "str.to.int" => return Some(Op::StrToInt),
            "int.to.str" | "str.from.int" => return Some(Op::StrFromInt),
            _ => {}
        }
        NAMED.iter().find(|(_, n)| *n == name).map(|(op, _)| op.clone())
    }

    /// Looks up an indexed operator `(_ name i [j])`.
    #[must_use]
    pub fn from_indexed(name: &str, idx: &[u32]) -> Option<Op> {
        Some(match (name, idx) {
            ("extract", [hi, lo]) if hi >= lo => Op::Extract(*hi, *lo),
            ("zero_extend", [n]) => Op::ZeroExtend(*n),
            ("sign_extend", [n]) => Op::SignExtend(*n),
            ("rotate_left", [n]) => Op::RotateLeft(*n),
            ("rotate_right", [n]) => Op::RotateRight(*n),
            ("repeat", [n]) if *n >= 1 => Op::Repeat(*n),
            ("int2bv", [n]) if (1..=64).contains(n) => Op::Int2Bv(*n),
            _ => return None,
        })
    }

    /// The SMT-LIB name of the operator head (for leaves: the variable or
    /// function name; for literals: the literal).
    #[must_use]
    pub fn name(&self) -> String {
        match self {
            Op::Var(n) | Op::Call(n) => n.to_string(),
            Op::Const(v) => v.to_string(),
            Op::Neg | Op::Sub => "-".into(),
            Op::Extract(h, l) => format!("(_ extract {h} {l})"),
            Op::ZeroExtend(n) => format!("(_ zero_extend {n})"),
            Op::SignExtend(n) => format!("(_ sign_extend {n})"),
            Op::RotateLeft(n) => format!("(_ rotate_left {n})"),
            Op::RotateRight(n) => format!("(_ rotate_right {n})"),
            Op::Repeat(n) => format!("(_ repeat {n})"),
            Op::Int2Bv(n) => format!("(_ int2bv {n})"),
            other => {
                NAMED.iter().find(|(op, _)| op == other).map_or_else(|| format!("{other:?}"), |(_, n)| (*n).to_string())
            }
        }
    }

    /// Whether the operator is a leaf (variable or literal).
    #[must_use]
    pub fn is_leaf(&self) -> bool {
        matches!(self, Op::Var(_) | Op::Const(_))
    }

    /// Whether the operator accepts more than two arguments by folding to the left.
    #[must_use]
    pub fn is_left_assoc(&self) -> bool {
        matches!(
            self,
            Op::And
                | Op::Or
                | Op::Xor
                | Op::Add
                | Op::Sub
                | Op::Mul
                | Op::BvAnd
                | Op::BvOr
                | Op::BvXor
                | Op::BvAdd
                | Op::BvMul
                | Op::StrConcat
                | Op::Concat
        )
    }

    /// The result sort of this operator applied to arguments of the given
    /// sorts, or a message saying why the application is ill-typed.
    ///
    /// Variables and calls are typed by the caller (they need an environment).
    ///
    /// # Errors
    ///
    /// Returns a lowercase message if the argument count or sorts do not fit.
    pub fn result_sort(&self, args: &[Sort]) -> Result<Sort, String> {
        use Sort::{BitVec, Bool, Int, String as Str};
        let name = self.name();
        let bad = || format!("`{name}` cannot take arguments of sorts ({})", join_sorts(args));
        let all = |s: Sort| args.iter().all(|a| *a == s);
        let same_bv = || match args.first() {
            Some(BitVec(w)) if args.iter().all(|a| *a == BitVec(*w)) => Some(*w),
            _ => None,
        };
        let arity = |n: usize| -> Result<(), String> {
            if args.len() == n {
                Ok(())
            } else {
                Err(format!("`{name}` takes {n} argument(s), got {}", args.len()))
            }
        };
        let at_least = |n: usize| -> Result<(), String> {
            if args.len() >= n {
                Ok(())
            } else {
                Err(format!("`{name}` takes at least {n} argument(s), got {}", args.len()))
            }
        };
        match self {
            Op::Var(_) | Op::Call(_) => Err(format!("`{name}` needs an environment to be typed")),
            Op::Const(v) => {
                arity(0)?;
                Ok(v.sort())
            }
            Op::Not => {
                arity(1)?;
                if all(Bool) {
                    Ok(Bool)
                } else {
                    Err(bad())
                }
            }
            Op::And | Op::Or | Op::Xor | Op::Implies => {
                at_least(2)?;
                if all(Bool) {
                    Ok(Bool)
                } else {
                    Err(bad())
                }
            }
            Op::Eq | Op::Distinct => {
                at_least(2)?;
                if all(args[0]) {
                    Ok(Bool)
                } else {
                    Err(bad())
                }
            }
            Op::Ite => {
                arity(3)?;
                if args[0] == Bool && args[1] == args[2] {
                    Ok(args[1])
                } else {
                    Err(bad())
                }
            }
            Op::Neg | Op::Abs => {
                arity(1)?;
                if all(Int) {
                    Ok(Int)
                } else {
                    Err(bad())
                }
            }
            Op::Add | Op::Sub | Op::Mul => {
                at_least(2)?;
                if all(Int) {
                    Ok(Int)
                } else {
                    Err(bad())
                }
            }
            Op::Div | Op::Mod | Op::TDiv | Op::TRem => {
                arity(2)?;
                if all(Int) {
                    Ok(Int)
                } else {
                    Err(bad())
                }
            }
            Op::Le | Op::Lt | Op::Ge | Op::Gt => {
                arity(2)?;
                if all(Int) {
                    Ok(Bool)
                } else {
                    Err(bad())
                }
            }
            Op::BvNot | Op::BvNeg => {
                arity(1)?;
                same_bv().map(BitVec).ok_or_else(bad)
            }
            Op::BvAnd | Op::BvOr | Op::BvXor | Op::BvAdd | Op::BvMul => {
                at_least(2)?;
                same_bv().map(BitVec).ok_or_else(bad)
            }
            Op::BvNand
            | Op::BvNor
            | Op::BvXnor
            | Op::BvSub
            | Op::BvUdiv
            | Op::BvUrem
            | Op::BvSdiv
            | Op::BvSrem
            | Op::BvSmod
            | Op::BvShl
            | Op::BvLshr
            | Op::BvAshr => {
                arity(2)?;
                same_bv().map(BitVec).ok_or_else(bad)
            }
            Op::BvUlt | Op::BvUle | Op::BvUgt | Op::BvUge | Op::BvSlt | Op::BvSle | Op::BvSgt | Op::BvSge => {
                arity(2)?;
                same_bv().map(|_| Bool).ok_or_else(bad)
            }
            Op::BvComp => {
                arity(2)?;
                same_bv().map(|_| BitVec(1)).ok_or_else(bad)
            }
            Op::Concat => {
                at_least(2)?;
                let mut total = 0;
                for a in args {
                    match a {
                        BitVec(w) => total += w,
                        _ => return Err(bad()),
                    }
                }
                if total <= 64 {
                    Ok(BitVec(total))
                } else {
                    Err(format!("`concat` result of {total} bits exceeds 64"))
                }
            }
            Op::Extract(hi, lo) => {
                arity(1)?;
                match args[0] {
                    BitVec(w) if *hi < w => Ok(BitVec(hi - lo + 1)),
                    _ => Err(bad()),
                }
            }
            Op::ZeroExtend(n) | Op::SignExtend(n) => {
                arity(1)?;
                match args[0] {
                    BitVec(w) if w + n <= 64 => Ok(BitVec(w + n)),
                    _ => Err(bad()),
                }
            }
            Op::RotateLeft(_) | Op::RotateRight(_) => {
                arity(1)?;
                same_bv().map(BitVec).ok_or_else(bad)
            }
            Op::Repeat(n) => {
                arity(1)?;
                match args[0] {
                    BitVec(w) if w * n <= 64 => Ok(BitVec(w * n)),
                    _ => Err(bad()),
                }
            }
            Op::Int2Bv(w) => {
                arity(1)?;
                if all(Int) {
                    Ok(BitVec(*w))
                } else {
                    Err(bad())
                }
            }
            Op::Bv2Nat => {
                arity(1)?;
                match args[0] {
                    BitVec(_) => Ok(Int),
                    _ => Err(bad()),
                }
            }
            Op::StrConcat => {
                at_least(2)?;
                if all(Str) {
                    Ok(Str)
                } else {
                    Err(bad())
                }
            }
            Op::StrLen | Op::StrToInt => {
                arity(1)?;
                if all(Str) {
                    Ok(Int)
                } else {
                    Err(bad())
                }
            }
            Op::StrIsDigit => {
                arity(1)?;
                if all(Str) {
                    Ok(Bool)
                } else {
                    Err(bad())
                }
            }
            Op::StrToUpper | Op::StrToLower | Op::StrToTitle | Op::StrTrim => {
                arity(1)?;
                if all(Str) {
                    Ok(Str)
                } else {
                    Err(bad())
                }
            }
            Op::StrField => {
                arity(3)?;
                if args == [Str, Str, Int] {
                    Ok(Str)
                } else {
                    Err(bad())
                }
            }
            Op::StrPadLeft => {
                arity(3)?;
                if args == [Str, Int, Str] {
                    Ok(Str)
                } else {
                    Err(bad())
                }
            }
            Op::StrRepeat => {
                arity(2)?;
                if args == [Str, Int] {
                    Ok(Str)
                } else {
                    Err(bad())
                }
            }
            Op::StrFromInt => {
                arity(1)?;
                if all(Int) {
                    Ok(Str)
                } else {
                    Err(bad())
                }
            }
            Op::StrSubstr => {
                arity(3)?;
                if args == [Str, Int, Int] {
                    Ok(Str)
                } else {
                    Err(bad())
                }
            }
            Op::StrAt => {
                arity(2)?;
                if args == [Str, Int] {
                    Ok(Str)
                } else {
                    Err(bad())
                }
            }
            Op::StrIndexOf => {
                arity(3)?;
                if args == [Str, Str, Int] {
                    Ok(Int)
                } else {
                    Err(bad())
                }
            }
            Op::StrReplace | Op::StrReplaceAll => {
                arity(3)?;
                if all(Str) {
                    Ok(Str)
                } else {
                    Err(bad())
                }
            }
            Op::StrPrefixOf | Op::StrSuffixOf | Op::StrContains | Op::StrLt | Op::StrLe => {
                arity(2)?;
                if all(Str) {
                    Ok(Bool)
                } else {
                    Err(bad())
                }
            }
        }
    }
}

fn join_sorts(args: &[Sort]) -> String {
    args.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_named_op_round_trips_through_its_name() {
        for (op, name) in NAMED {
            assert_eq!(Op::from_name(name).as_ref(), Some(op), "{name}");
            assert_eq!(op.name(), *name);
        }
        assert_eq!(Op::from_name("str.to.int"), Some(Op::StrToInt));
        assert_eq!(Op::from_indexed("extract", &[7, 0]), Some(Op::Extract(7, 0)));
        assert_eq!(Op::Extract(7, 0).name(), "(_ extract 7 0)");
    }

    #[test]
    fn typing_rejects_mismatched_sorts() {
        let bv = Sort::BitVec(32);
        assert_eq!(Op::BvAdd.result_sort(&[bv, bv]), Ok(bv));
        assert!(Op::BvAdd.result_sort(&[bv, Sort::BitVec(64)]).is_err());
        assert_eq!(Op::BvUlt.result_sort(&[bv, bv]), Ok(Sort::Bool));
        assert_eq!(Op::Extract(7, 0).result_sort(&[bv]), Ok(Sort::BitVec(8)));
        assert!(Op::StrAt.result_sort(&[Sort::Int, Sort::String]).is_err());
        assert!(Op::Ite.result_sort(&[Sort::Bool, Sort::Int, Sort::String]).is_err());
        assert_eq!(Op::Concat.result_sort(&[bv, bv]), Ok(Sort::BitVec(64)));
    }
}
