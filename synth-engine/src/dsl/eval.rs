//! Vectorised interpreter: a term is evaluated on all examples at once,
//! one typed [`Column`] per node.

use std::collections::HashMap;
use std::sync::Arc;

use thiserror::Error;

use super::ops::Op;
use super::strings;
use super::term::{Id, Term};
use super::types::{to_signed, width_mask, Sort, Value};

/// An evaluation failure.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EvalError {
    /// A variable with no binding.
    #[error("unbound variable `{0}`")]
    UnboundVariable(String),
    /// A call to a function that is not defined.
    #[error("unknown function `{0}`")]
    UnknownFunction(String),
    /// Arguments of the wrong sort or count.
    #[error("ill-typed application: {0}")]
    IllTyped(String),
    /// An `Int` result outside the 128-bit range this interpreter supports.
    #[error("integer overflow in `{0}` (Int is evaluated with 128-bit checked arithmetic)")]
    IntOverflow(String),
    /// `div`/`mod` by zero, which SMT-LIB leaves unspecified.
    #[error("integer division by zero (unspecified in SMT-LIB)")]
    IntDivByZero,
    /// Too deeply nested function calls.
    #[error("function calls nested deeper than {0}")]
    CallDepth(usize),
}

/// Values of one sort, one per example.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Column {
    /// Booleans.
    Bool(Vec<bool>),
    /// Integers.
    Int(Vec<i128>),
    /// Strings.
    Str(Vec<Arc<str>>),
    /// Bit-vectors of the given width (masked).
    Bv(u32, Vec<u64>),
}

impl Column {
    /// Number of examples.
    #[must_use]
    pub fn len(&self) -> usize {
        match self {
            Column::Bool(v) => v.len(),
            Column::Int(v) => v.len(),
            Column::Str(v) => v.len(),
            Column::Bv(_, v) => v.len(),
        }
    }

    /// Whether there are no examples.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The sort of the values.
    #[must_use]
    pub fn sort(&self) -> Sort {
        match self {
            Column::Bool(_) => Sort::Bool,
            Column::Int(_) => Sort::Int,
            Column::Str(_) => Sort::String,
            Column::Bv(w, _) => Sort::BitVec(*w),
        }
    }

    /// The value for example `i`.
    #[must_use]
    pub fn get(&self, i: usize) -> Value {
        match self {
            Column::Bool(v) => Value::Bool(v[i]),
            Column::Int(v) => Value::Int(v[i]),
            Column::Str(v) => Value::Str(v[i].clone()),
            Column::Bv(w, v) => Value::Bv { width: *w, bits: v[i] },
        }
    }

    /// A column repeating `v` `n` times.
    #[must_use]
    pub fn splat(v: &Value, n: usize) -> Column {
        match v {
            Value::Bool(b) => Column::Bool(vec![*b; n]),
            Value::Int(i) => Column::Int(vec![*i; n]),
            Value::Str(s) => Column::Str(vec![s.clone(); n]),
            Value::Bv { width, bits } => Column::Bv(*width, vec![*bits; n]),
        }
    }

    /// Builds a column from values that all have sort `sort`.
    ///
    /// # Errors
    ///
    /// If a value has another sort.
    pub fn from_values(sort: Sort, vals: &[Value]) -> Result<Column, EvalError> {
        let bad = |v: &Value| EvalError::IllTyped(format!("value {v} is not of sort {sort}"));
        Ok(match sort {
            Sort::Bool => Column::Bool(
                vals.iter()
                    .map(|v| if let Value::Bool(b) = v { Ok(*b) } else { Err(bad(v)) })
                    .collect::<Result<_, _>>()?,
            ),
            Sort::Int => Column::Int(
                vals.iter()
                    .map(|v| if let Value::Int(b) = v { Ok(*b) } else { Err(bad(v)) })
                    .collect::<Result<_, _>>()?,
            ),
            Sort::String => Column::Str(
                vals.iter()
                    .map(|v| if let Value::Str(b) = v { Ok(b.clone()) } else { Err(bad(v)) })
                    .collect::<Result<_, _>>()?,
            ),
            Sort::BitVec(w) => Column::Bv(
                w,
                vals.iter()
                    .map(|v| match v {
                        Value::Bv { width, bits } if *width == w => Ok(*bits),
                        _ => Err(bad(v)),
                    })
                    .collect::<Result<_, _>>()?,
            ),
        })
    }

    /// Keeps only the examples at `idx`.
    #[must_use]
    pub fn select(&self, idx: &[usize]) -> Column {
        match self {
            Column::Bool(v) => Column::Bool(idx.iter().map(|&i| v[i]).collect()),
            Column::Int(v) => Column::Int(idx.iter().map(|&i| v[i]).collect()),
            Column::Str(v) => Column::Str(idx.iter().map(|&i| v[i].clone()).collect()),
            Column::Bv(w, v) => Column::Bv(*w, idx.iter().map(|&i| v[i]).collect()),
        }
    }

    /// Per-example equality with another column of the same sort.
    #[must_use]
    pub fn eq_mask(&self, other: &Column) -> Vec<bool> {
        match (self, other) {
            (Column::Bool(a), Column::Bool(b)) => a.iter().zip(b).map(|(x, y)| x == y).collect(),
            (Column::Int(a), Column::Int(b)) => a.iter().zip(b).map(|(x, y)| x == y).collect(),
            (Column::Str(a), Column::Str(b)) => a.iter().zip(b).map(|(x, y)| x == y).collect(),
            (Column::Bv(_, a), Column::Bv(_, b)) => a.iter().zip(b).map(|(x, y)| x == y).collect(),
            _ => vec![false; self.len()],
        }
    }
}

/// A user-defined function (`define-fun`): parameters, result sort and body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FunDef {
    /// Function name.
    pub name: String,
    /// Parameter names and sorts.
    pub params: Vec<(String, Sort)>,
    /// Result sort.
    pub ret: Sort,
    /// Body over the parameters.
    pub body: Term,
}

/// Functions callable from terms, by name.
pub type FunDefs = HashMap<String, FunDef>;

const MAX_CALL_DEPTH: usize = 64;

/// Evaluates `term` on `n` examples, with variables bound by `vars`
/// (name → column) and calls resolved in `funs`.
///
/// # Errors
///
/// Unbound names, ill-typed applications, `Int` overflow or division by zero.
pub fn eval_term(term: &Term, vars: &[(&str, &Column)], funs: &FunDefs, n: usize) -> Result<Column, EvalError> {
    if term.is_empty() {
        return Err(EvalError::IllTyped("empty term".into()));
    }
    eval_at(term, term.root(), vars, funs, n, 0)
}

fn eval_at(
    term: &Term,
    root: Id,
    vars: &[(&str, &Column)],
    funs: &FunDefs,
    n: usize,
    depth: usize,
) -> Result<Column, EvalError> {
    if depth > MAX_CALL_DEPTH {
        return Err(EvalError::CallDepth(MAX_CALL_DEPTH));
    }
    let mut cols: Vec<Option<Column>> = vec![None; root.index() + 1];
    for i in 0..=root.index() {
        let node = &term.nodes()[i];
        let col = match &node.op {
            Op::Var(name) => vars
                .iter()
                .rev()
                .find(|(v, _)| *v == &**name)
                .map(|(_, c)| (*c).clone())
                .ok_or_else(|| EvalError::UnboundVariable(name.to_string()))?,
            Op::Const(v) => Column::splat(v, n),
            Op::Call(name) => {
                let def = funs.get(&**name).ok_or_else(|| EvalError::UnknownFunction(name.to_string()))?;
                if def.params.len() != node.children.len() {
                    return Err(EvalError::IllTyped(format!(
                        "`{name}` takes {} argument(s), got {}",
                        def.params.len(),
                        node.children.len()
                    )));
                }
                let args: Vec<&Column> =
                    node.children.iter().map(|c| cols[c.index()].as_ref().expect("child")).collect();
                let binds: Vec<(&str, &Column)> = def.params.iter().map(|(p, _)| p.as_str()).zip(args).collect();
                eval_at(&def.body, def.body.root(), &binds, funs, n, depth + 1)?
            }
            op => {
                let args: Vec<&Column> =
                    node.children.iter().map(|c| cols[c.index()].as_ref().expect("child")).collect();
                apply(op, &args)?
            }
        };
        cols[i] = Some(col);
    }
    Ok(cols.pop().flatten().expect("root evaluated"))
}

/// Evaluates `term` on a single assignment of values to variables.
///
/// # Errors
///
/// As [`eval_term`].
pub fn eval_one(term: &Term, vars: &[(&str, Value)], funs: &FunDefs) -> Result<Value, EvalError> {
    let cols: Vec<(&str, Column)> = vars.iter().map(|(n, v)| (*n, Column::splat(v, 1))).collect();
    let refs: Vec<(&str, &Column)> = cols.iter().map(|(n, c)| (*n, c)).collect();
    Ok(eval_term(term, &refs, funs, 1)?.get(0))
}

fn ill(op: &Op, args: &[&Column]) -> EvalError {
    let sorts: Vec<String> = args.iter().map(|a| a.sort().to_string()).collect();
    EvalError::IllTyped(format!("`{}` on ({})", op.name(), sorts.join(", ")))
}

fn bv1(a: &Column, f: impl Fn(u64) -> u64) -> Option<Column> {
    match a {
        Column::Bv(w, x) => {
            let m = width_mask(*w);
            Some(Column::Bv(*w, x.iter().map(|&v| f(v) & m).collect()))
        }
        _ => None,
    }
}

fn bv2(a: &Column, b: &Column, f: impl Fn(u64, u64, u32) -> u64) -> Option<Column> {
    match (a, b) {
        (Column::Bv(w, x), Column::Bv(w2, y)) if w == w2 => {
            let m = width_mask(*w);
            Some(Column::Bv(*w, x.iter().zip(y).map(|(&p, &q)| f(p, q, *w) & m).collect()))
        }
        _ => None,
    }
}

fn bvcmp(a: &Column, b: &Column, f: impl Fn(u64, u64, u32) -> bool) -> Option<Column> {
    match (a, b) {
        (Column::Bv(w, x), Column::Bv(w2, y)) if w == w2 => {
            Some(Column::Bool(x.iter().zip(y).map(|(&p, &q)| f(p, q, *w)).collect()))
        }
        _ => None,
    }
}

/// Scalar bit-vector semantics for binary operators (SMT-LIB, masked by the caller).
#[must_use]
pub fn bv_binary(op: &Op, a: u64, b: u64, w: u32) -> u64 {
    let m = width_mask(w);
    match op {
        Op::BvAnd => a & b,
        Op::BvOr => a | b,
        Op::BvXor => a ^ b,
        Op::BvNand => !(a & b),
        Op::BvNor => !(a | b),
        Op::BvXnor => !(a ^ b),
        Op::BvAdd => a.wrapping_add(b),
        Op::BvSub => a.wrapping_sub(b),
        Op::BvMul => a.wrapping_mul(b),
        Op::BvUdiv => a.checked_div(b).unwrap_or(m),
        Op::BvUrem => a.checked_rem(b).unwrap_or(a),
        Op::BvShl => {
            if b >= u64::from(w) {
                0
            } else {
                a << b
            }
        }
        Op::BvLshr => {
            if b >= u64::from(w) {
                0
            } else {
                a >> b
            }
        }
        Op::BvAshr => {
            let s = to_signed(a, w);
            #[allow(clippy::cast_sign_loss, reason = "reinterpreting bits")]
            let r = if b >= u64::from(w) { (s >> 63) as u64 } else { (s >> b) as u64 };
            r
        }
        Op::BvSdiv => {
            let (na, nb) = (neg_bit(a, w), neg_bit(b, w));
            let ua = if na { a.wrapping_neg() & m } else { a };
            let ub = if nb { b.wrapping_neg() & m } else { b };
            let q = ua.checked_div(ub).unwrap_or(m);
            if na == nb {
                q
            } else {
                q.wrapping_neg()
            }
        }
        Op::BvSrem => {
            let (na, nb) = (neg_bit(a, w), neg_bit(b, w));
            let ua = if na { a.wrapping_neg() & m } else { a };
            let ub = if nb { b.wrapping_neg() & m } else { b };
            let r = ua.checked_rem(ub).unwrap_or(ua);
            if na {
                r.wrapping_neg()
            } else {
                r
            }
        }
        Op::BvSmod => {
            let (na, nb) = (neg_bit(a, w), neg_bit(b, w));
            let ua = if na { a.wrapping_neg() & m } else { a };
            let ub = if nb { b.wrapping_neg() & m } else { b };
            let u = ua.checked_rem(ub).unwrap_or(ua) & m;
            if u == 0 {
                u
            } else {
                match (na, nb) {
                    (false, false) => u,
                    (true, false) => u.wrapping_neg().wrapping_add(b),
                    (false, true) => u.wrapping_add(b),
                    (true, true) => u.wrapping_neg(),
                }
            }
        }
        _ => unreachable!("not a binary bit-vector operator: {op:?}"),
    }
}

fn neg_bit(v: u64, w: u32) -> bool {
    (v >> (w - 1)) & 1 == 1
}

/// Scalar bit-vector comparison semantics.
#[must_use]
pub fn bv_compare(op: &Op, a: u64, b: u64, w: u32) -> bool {
    let (sa, sb) = (to_signed(a, w), to_signed(b, w));
    match op {
        Op::BvUlt => a < b,
        Op::BvUle => a <= b,
        Op::BvUgt => a > b,
        Op::BvUge => a >= b,
        Op::BvSlt => sa < sb,
        Op::BvSle => sa <= sb,
        Op::BvSgt => sa > sb,
        Op::BvSge => sa >= sb,
        _ => unreachable!("not a bit-vector comparison: {op:?}"),
    }
}

fn int2(op: &Op, a: &Column, b: &Column, f: impl Fn(i128, i128) -> Option<i128>) -> Result<Column, EvalError> {
    match (a, b) {
        (Column::Int(x), Column::Int(y)) => Ok(Column::Int(
            x.iter()
                .zip(y)
                .map(|(&p, &q)| f(p, q).ok_or_else(|| EvalError::IntOverflow(op.name())))
                .collect::<Result<_, _>>()?,
        )),
        _ => Err(ill(op, &[a, b])),
    }
}

fn euclid_div(a: i128, b: i128) -> Result<(i128, i128), EvalError> {
    if b == 0 {
        return Err(EvalError::IntDivByZero);
    }
    let q = a.checked_div_euclid(b).ok_or_else(|| EvalError::IntOverflow("div".into()))?;
    Ok((q, a.rem_euclid(b)))
}

fn strs(c: &Column) -> Option<&[Arc<str>]> {
    match c {
        Column::Str(v) => Some(v),
        _ => None,
    }
}

fn ints(c: &Column) -> Option<&[i128]> {
    match c {
        Column::Int(v) => Some(v),
        _ => None,
    }
}

fn bools(c: &Column) -> Option<&[bool]> {
    match c {
        Column::Bool(v) => Some(v),
        _ => None,
    }
}

/// Applies a built-in operator to argument columns.
///
/// # Errors
///
/// Wrong argument sorts or count, `Int` overflow, `Int` division by zero.
#[allow(clippy::too_many_lines, reason = "one arm per operator")]
pub fn apply(op: &Op, args: &[&Column]) -> Result<Column, EvalError> {
    let bad = || ill(op, args);
    if op.is_left_assoc() && args.len() > 2 {
        let mut acc = apply(op, &args[..2])?;
        for a in &args[2..] {
            acc = apply(op, &[&acc, a])?;
        }
        return Ok(acc);
    }
    let n = args.first().map_or(0, |a| a.len());
    let r = match (op, args) {
        (Op::Not, [a]) => bools(a).map(|x| Column::Bool(x.iter().map(|v| !v).collect())),
        (Op::And, [a, b]) => {
            bools(a).zip(bools(b)).map(|(x, y)| Column::Bool(x.iter().zip(y).map(|(p, q)| *p && *q).collect()))
        }
        (Op::Or, [a, b]) => {
            bools(a).zip(bools(b)).map(|(x, y)| Column::Bool(x.iter().zip(y).map(|(p, q)| *p || *q).collect()))
        }
        (Op::Xor, [a, b]) => {
            bools(a).zip(bools(b)).map(|(x, y)| Column::Bool(x.iter().zip(y).map(|(p, q)| p != q).collect()))
        }
        (Op::Implies, [a, b]) => {
            bools(a).zip(bools(b)).map(|(x, y)| Column::Bool(x.iter().zip(y).map(|(p, q)| !*p || *q).collect()))
        }
        (Op::Implies, [first, rest @ ..]) if !rest.is_empty() => {
            // Right-associative: a => (b => c).
            let tail = apply(op, rest)?;
            return apply(op, &[first, &tail]);
        }
        (Op::Eq, [a, b]) => {
            if a.sort() != b.sort() {
                None
            } else {
                Some(Column::Bool(a.eq_mask(b)))
            }
        }
        (Op::Eq, [_, _, ..]) => {
            let mut acc = vec![true; n];
            for w in args.windows(2) {
                let Column::Bool(m) = apply(&Op::Eq, w)? else { unreachable!() };
                acc.iter_mut().zip(m).for_each(|(x, y)| *x &= y);
            }
            Some(Column::Bool(acc))
        }
        (Op::Distinct, [_, _, ..]) => {
            let mut acc = vec![true; n];
            for i in 0..args.len() {
                for j in i + 1..args.len() {
                    let Column::Bool(m) = apply(&Op::Eq, &[args[i], args[j]])? else { unreachable!() };
                    acc.iter_mut().zip(m).for_each(|(x, y)| *x &= !y);
                }
            }
            Some(Column::Bool(acc))
        }
        (Op::Ite, [c, a, b]) => {
            let c = bools(c).ok_or_else(bad)?;
            match (a, b) {
                (Column::Bool(x), Column::Bool(y)) => Some(Column::Bool(pick(c, x, y))),
                (Column::Int(x), Column::Int(y)) => Some(Column::Int(pick(c, x, y))),
                (Column::Str(x), Column::Str(y)) => Some(Column::Str(pick(c, x, y))),
                (Column::Bv(w, x), Column::Bv(w2, y)) if w == w2 => Some(Column::Bv(*w, pick(c, x, y))),
                _ => None,
            }
        }
        (Op::Neg, [a]) => match ints(a) {
            Some(x) => Some(Column::Int(
                x.iter()
                    .map(|v| v.checked_neg().ok_or_else(|| EvalError::IntOverflow("-".into())))
                    .collect::<Result<_, _>>()?,
            )),
            None => None,
        },
        (Op::Abs, [a]) => match ints(a) {
            Some(x) => Some(Column::Int(
                x.iter()
                    .map(|v| v.checked_abs().ok_or_else(|| EvalError::IntOverflow("abs".into())))
                    .collect::<Result<_, _>>()?,
            )),
            None => None,
        },
        (Op::Add, [a, b]) => Some(int2(op, a, b, i128::checked_add)?),
        (Op::Sub, [a, b]) => Some(int2(op, a, b, i128::checked_sub)?),
        (Op::Mul, [a, b]) => Some(int2(op, a, b, i128::checked_mul)?),
        (Op::Div | Op::Mod, [a, b]) => {
            let (x, y) = ints(a).zip(ints(b)).ok_or_else(bad)?;
            let mut out = Vec::with_capacity(n);
            for (&p, &q) in x.iter().zip(y) {
                let (d, m) = euclid_div(p, q)?;
                out.push(if *op == Op::Div { d } else { m });
            }
            Some(Column::Int(out))
        }
        (Op::TDiv | Op::TRem, [a, b]) => {
            let (x, y) = ints(a).zip(ints(b)).ok_or_else(bad)?;
            let mut out = Vec::with_capacity(n);
            for (&p, &q) in x.iter().zip(y) {
                if q == 0 {
                    return Err(EvalError::IntDivByZero);
                }
                let r = if *op == Op::TDiv { p.checked_div(q) } else { p.checked_rem(q) };
                out.push(r.ok_or_else(|| EvalError::IntOverflow(op.name()))?);
            }
            Some(Column::Int(out))
        }
        (Op::Le | Op::Lt | Op::Ge | Op::Gt, [a, b]) => ints(a).zip(ints(b)).map(|(x, y)| {
            Column::Bool(
                x.iter()
                    .zip(y)
                    .map(|(p, q)| match op {
                        Op::Le => p <= q,
                        Op::Lt => p < q,
                        Op::Ge => p >= q,
                        _ => p > q,
                    })
                    .collect(),
            )
        }),
        (Op::BvNot, [a]) => bv1(a, |v| !v),
        (Op::BvNeg, [a]) => bv1(a, u64::wrapping_neg),
        (
            Op::BvAnd
            | Op::BvOr
            | Op::BvXor
            | Op::BvNand
            | Op::BvNor
            | Op::BvXnor
            | Op::BvAdd
            | Op::BvSub
            | Op::BvMul
            | Op::BvUdiv
            | Op::BvUrem
            | Op::BvSdiv
            | Op::BvSrem
            | Op::BvSmod
            | Op::BvShl
            | Op::BvLshr
            | Op::BvAshr,
            [a, b],
        ) => match op {
            // Monomorphic loops for the hottest operators.
            Op::BvAnd => bv2(a, b, |p, q, _| p & q),
            Op::BvOr => bv2(a, b, |p, q, _| p | q),
            Op::BvXor => bv2(a, b, |p, q, _| p ^ q),
            Op::BvAdd => bv2(a, b, |p, q, _| p.wrapping_add(q)),
            Op::BvSub => bv2(a, b, |p, q, _| p.wrapping_sub(q)),
            _ => bv2(a, b, |p, q, w| bv_binary(op, p, q, w)),
        },
        (Op::BvUlt | Op::BvUle | Op::BvUgt | Op::BvUge | Op::BvSlt | Op::BvSle | Op::BvSgt | Op::BvSge, [a, b]) => {
            bvcmp(a, b, |p, q, w| bv_compare(op, p, q, w))
        }
        (Op::BvComp, [a, b]) => match (a, b) {
            (Column::Bv(w, x), Column::Bv(w2, y)) if w == w2 => {
                Some(Column::Bv(1, x.iter().zip(y).map(|(p, q)| u64::from(p == q)).collect()))
            }
            _ => None,
        },
        (Op::Concat, [a, b]) => match (a, b) {
            (Column::Bv(w1, x), Column::Bv(w2, y)) if w1 + w2 <= 64 => Some(Column::Bv(
                w1 + w2,
                x.iter().zip(y).map(|(p, q)| if *w2 == 64 { *q } else { (p << w2) | q }).collect(),
            )),
            _ => None,
        },
        (Op::Extract(hi, lo), [Column::Bv(w, x)]) if hi < w => {
            let m = width_mask(hi - lo + 1);
            Some(Column::Bv(hi - lo + 1, x.iter().map(|v| (v >> lo) & m).collect()))
        }
        (Op::ZeroExtend(k), [Column::Bv(w, x)]) if w + k <= 64 => Some(Column::Bv(w + k, x.clone())),
        (Op::SignExtend(k), [Column::Bv(w, x)]) if w + k <= 64 => {
            let m = width_mask(w + k);
            #[allow(clippy::cast_sign_loss, reason = "reinterpreting bits")]
            Some(Column::Bv(w + k, x.iter().map(|&v| (to_signed(v, *w) as u64) & m).collect()))
        }
        (Op::RotateLeft(k) | Op::RotateRight(k), [Column::Bv(w, x)]) => {
            let w = *w;
            let k = k % w;
            let k = if matches!(op, Op::RotateRight(_)) { (w - k) % w } else { k };
            let m = width_mask(w);
            Some(Column::Bv(w, x.iter().map(|&v| if k == 0 { v } else { ((v << k) | (v >> (w - k))) & m }).collect()))
        }
        (Op::Repeat(k), [Column::Bv(w, x)]) if w * k <= 64 => Some(Column::Bv(
            w * k,
            x.iter()
                .map(|&v| {
                    let mut r = 0u64;
                    for _ in 0..*k {
                        r = if *w == 64 { v } else { (r << w) | v };
                    }
                    r
                })
                .collect(),
        )),
        (Op::Int2Bv(w), [a]) => ints(a).map(|x| {
            let m = i128::from(width_mask(*w)) + 1;
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "reduced modulo 2^w first")]
            Column::Bv(*w, x.iter().map(|v| v.rem_euclid(m) as u64).collect())
        }),
        (Op::Bv2Nat, [Column::Bv(_, x)]) => Some(Column::Int(x.iter().map(|v| i128::from(*v)).collect())),
        (Op::StrConcat, [a, b]) => strs(a).zip(strs(b)).map(|(x, y)| {
            Column::Str(
                x.iter()
                    .zip(y)
                    .map(|(p, q)| {
                        if q.is_empty() {
                            p.clone()
                        } else if p.is_empty() {
                            q.clone()
                        } else {
                            let mut s = String::with_capacity(p.len() + q.len());
                            s.push_str(p);
                            s.push_str(q);
                            Arc::from(s)
                        }
                    })
                    .collect(),
            )
        }),
        (Op::StrLen, [a]) => strs(a).map(|x| Column::Int(x.iter().map(|s| strings::len(s)).collect())),
        (Op::StrToInt, [a]) => match strs(a) {
            Some(x) => Some(Column::Int(
                x.iter()
                    .map(|s| strings::to_int(s).ok_or_else(|| EvalError::IntOverflow("str.to_int".into())))
                    .collect::<Result<_, _>>()?,
            )),
            None => None,
        },
        (Op::StrFromInt, [a]) => {
            ints(a).map(|x| Column::Str(x.iter().map(|v| Arc::from(strings::from_int(*v))).collect()))
        }
        (Op::StrIsDigit, [a]) => strs(a).map(|x| Column::Bool(x.iter().map(|s| strings::is_digit(s)).collect())),
        (Op::StrToUpper | Op::StrToLower | Op::StrToTitle | Op::StrTrim, [a]) => strs(a).map(|x| {
            Column::Str(
                x.iter()
                    .map(|s| {
                        Arc::from(match op {
                            Op::StrToUpper => s.to_ascii_uppercase(),
                            Op::StrToLower => s.to_ascii_lowercase(),
                            Op::StrToTitle => strings::to_title(s),
                            _ => s.trim_matches(&strings::TRIMMED[..]).to_string(),
                        })
                    })
                    .collect(),
            )
        }),
        (Op::StrField, [s, t, i]) => match (strs(s), strs(t), ints(i)) {
            (Some(s), Some(t), Some(i)) => Some(Column::Str(
                s.iter().zip(t).zip(i).map(|((s, t), &i)| Arc::from(strings::field(s, t, i))).collect(),
            )),
            _ => None,
        },
        (Op::StrPadLeft, [s, w, c]) => match (strs(s), ints(w), strs(c)) {
            (Some(s), Some(w), Some(c)) => Some(Column::Str(
                s.iter()
                    .zip(w)
                    .zip(c)
                    .map(|((s, &w), c)| {
                        strings::pad_left(s, w, c)
                            .map(Arc::from)
                            .ok_or_else(|| EvalError::IntOverflow("str.pad_left width".into()))
                    })
                    .collect::<Result<_, _>>()?,
            )),
            _ => None,
        },
        (Op::StrRepeat, [s, n]) => match (strs(s), ints(n)) {
            (Some(s), Some(n)) => Some(Column::Str(
                s.iter()
                    .zip(n)
                    .map(|(s, &n)| {
                        strings::repeat(s, n)
                            .map(Arc::from)
                            .ok_or_else(|| EvalError::IntOverflow("str.repeat length".into()))
                    })
                    .collect::<Result<_, _>>()?,
            )),
            _ => None,
        },
        (Op::StrSubstr, [s, i, l]) => {
            match (strs(s), ints(i), ints(l)) {
                (Some(s), Some(i), Some(l)) => Some(Column::Str(
                    s.iter()
                        .zip(i)
                        .zip(l)
                        .map(|((s, &i), &l)| {
                            if i == 0 && l >= strings::len(s) {
                                s.clone()
                            } else {
                                Arc::from(strings::substr(s, i, l))
                            }
                        })
                        .collect(),
                )),
                _ => None,
            }
        }
        (Op::StrAt, [s, i]) => match (strs(s), ints(i)) {
            (Some(s), Some(i)) => {
                Some(Column::Str(s.iter().zip(i).map(|(s, &i)| Arc::from(strings::at(s, i))).collect()))
            }
            _ => None,
        },
        (Op::StrIndexOf, [s, t, i]) => match (strs(s), strs(t), ints(i)) {
            (Some(s), Some(t), Some(i)) => {
                Some(Column::Int(s.iter().zip(t).zip(i).map(|((s, t), &i)| strings::indexof(s, t, i)).collect()))
            }
            _ => None,
        },
        (Op::StrReplace | Op::StrReplaceAll, [s, t, u]) => match (strs(s), strs(t), strs(u)) {
            (Some(s), Some(t), Some(u)) => Some(Column::Str(
                s.iter()
                    .zip(t)
                    .zip(u)
                    .map(|((s, t), u)| {
                        if !t.is_empty() && !s.contains(&**t) {
                            s.clone()
                        } else if *op == Op::StrReplace {
                            Arc::from(strings::replace(s, t, u))
                        } else {
                            Arc::from(strings::replace_all(s, t, u))
                        }
                    })
                    .collect(),
            )),
            _ => None,
        },
        (Op::StrPrefixOf | Op::StrSuffixOf | Op::StrContains | Op::StrLt | Op::StrLe, [a, b]) => {
            strs(a).zip(strs(b)).map(|(x, y)| {
                Column::Bool(
                    x.iter()
                        .zip(y)
                        .map(|(p, q)| match op {
                            Op::StrPrefixOf => q.starts_with(&**p),
                            Op::StrSuffixOf => q.ends_with(&**p),
                            Op::StrContains => p.contains(&**q),
                            Op::StrLt => strings::lt(p, q),
                            _ => !strings::lt(q, p),
                        })
                        .collect(),
                )
            })
        }
        _ => None,
    };
    r.ok_or_else(bad)
}

fn pick<T: Clone>(c: &[bool], a: &[T], b: &[T]) -> Vec<T> {
    c.iter().zip(a.iter().zip(b)).map(|(c, (x, y))| if *c { x.clone() } else { y.clone() }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(src: &str) -> Value {
        let t: Term = src.parse().unwrap();
        eval_one(&t, &[], &FunDefs::new()).unwrap()
    }

    fn bv32(x: u64) -> Value {
        Value::bv(32, x)
    }

    #[test]
    fn truncating_division_rounds_toward_zero_and_keeps_the_dividends_sign() {
        assert_eq!(ev("(tdiv (- 7) 2)"), Value::Int(-3));
        assert_eq!(ev("(trem (- 7) 2)"), Value::Int(-1));
        assert_eq!(ev("(tdiv 7 (- 2))"), Value::Int(-3));
        assert_eq!(ev("(trem 7 (- 2))"), Value::Int(1));
        assert_eq!(ev("(div (- 7) 2)"), Value::Int(-4), "Euclidean, for contrast");
        let t: Term = "(tdiv 1 0)".parse().unwrap();
        assert!(matches!(eval_one(&t, &[], &FunDefs::new()), Err(EvalError::IntDivByZero)));
    }

    /// SMT-LIB edge cases for every bit-vector operator (expected values follow
    /// the SMT-LIB `FixedSizeBitVectors` theory definitions).
    #[test]
    fn bitvector_edge_cases() {
        let table: &[(&str, Value)] = &[
            ("(bvudiv #x00000007 #x00000000)", bv32(0xffff_ffff)),
            ("(bvurem #x00000007 #x00000000)", bv32(7)),
            ("(bvsdiv #xfffffff9 #x00000000)", bv32(1)),
            ("(bvsdiv #x00000007 #x00000000)", bv32(0xffff_ffff)),
            ("(bvsdiv #xfffffff9 #x00000002)", bv32(0xffff_fffd)),
            ("(bvsdiv #x80000000 #xffffffff)", bv32(0x8000_0000)),
            ("(bvsrem #xfffffff9 #x00000002)", bv32(0xffff_ffff)),
            ("(bvsrem #x00000007 #xfffffffe)", bv32(1)),
            ("(bvsrem #xfffffff9 #x00000000)", bv32(0xffff_fff9)),
            ("(bvsmod #xfffffff9 #x00000002)", bv32(1)),
            ("(bvsmod #x00000007 #xfffffffe)", bv32(0xffff_ffff)),
            ("(bvsmod #xfffffff9 #xfffffffe)", bv32(0xffff_ffff)),
            ("(bvsmod #x00000007 #x00000000)", bv32(7)),
            ("(bvsmod #x00000006 #xfffffffe)", bv32(0)),
            ("(bvshl #x00000001 #x0000001f)", bv32(0x8000_0000)),
            ("(bvshl #x00000001 #x00000020)", bv32(0)),
            ("(bvshl #x00000001 #xffffffff)", bv32(0)),
            ("(bvlshr #x80000000 #x00000020)", bv32(0)),
            ("(bvashr #x80000000 #x00000020)", bv32(0xffff_ffff)),
            ("(bvashr #x40000000 #x00000040)", bv32(0)),
            ("(bvashr #x80000000 #x00000001)", bv32(0xc000_0000)),
            ("(bvneg #x00000000)", bv32(0)),
            ("(bvneg #x80000000)", bv32(0x8000_0000)),
            ("(bvnot #x0000ffff)", bv32(0xffff_0000)),
            ("(bvadd #xffffffff #x00000001)", bv32(0)),
            ("(bvsub #x00000000 #x00000001)", bv32(0xffff_ffff)),
            ("(bvmul #x80000000 #x00000002)", bv32(0)),
            ("(bvnand #x0000000f #x00000003)", bv32(0xffff_fffc)),
            ("(bvnor #x0000000f #x00000030)", bv32(0xffff_ffc0)),
            ("(bvxnor #x0000000f #x00000003)", bv32(0xffff_fff3)),
            ("(bvcomp #x00000001 #x00000001)", Value::bv(1, 1)),
            ("(concat #x0001 #x0002)", bv32(0x0001_0002)),
            ("((_ extract 15 8) #x0000ab00)", Value::bv(8, 0xab)),
            ("((_ zero_extend 16) #x8000)", bv32(0x8000)),
            ("((_ sign_extend 16) #x8000)", bv32(0xffff_8000)),
            ("((_ rotate_left 4) #x12345678)", bv32(0x2345_6781)),
            ("((_ rotate_right 36) #x12345678)", bv32(0x8123_4567)),
            ("((_ repeat 2) #xab)", Value::bv(16, 0xabab)),
            ("((_ int2bv 8) 257)", Value::bv(8, 1)),
            ("((_ int2bv 8) (- 1))", Value::bv(8, 0xff)),
            ("((_ int2bv 64) (- 1))", Value::bv(64, u64::MAX)),
            ("(bvudiv #xffffffffffffffff #x0000000000000000)", Value::bv(64, u64::MAX)),
            ("(bvlshr #xffffffffffffffff #x0000000000000040)", Value::bv(64, 0)),
            ("(bvsdiv #x8000000000000000 #xffffffffffffffff)", Value::bv(64, 1 << 63)),
        ];
        for (src, want) in table {
            assert_eq!(&ev(src), want, "{src}");
        }
        let cmp: &[(&str, bool)] = &[
            ("(bvult #x00000001 #xffffffff)", true),
            ("(bvslt #x00000001 #xffffffff)", false),
            ("(bvsle #x80000000 #x7fffffff)", true),
            ("(bvuge #x80000000 #x7fffffff)", true),
            ("(bvsgt #x00000000 #xffffffff)", true),
            ("(bvule #x00000000 #x00000000)", true),
            ("(bvugt #x00000000 #x00000000)", false),
            ("(bvsge #x80000000 #x80000000)", true),
        ];
        for (src, want) in cmp {
            assert_eq!(ev(src), Value::Bool(*want), "{src}");
        }
    }

    #[test]
    fn int_bool_and_string_operators() {
        let table: &[(&str, Value)] = &[
            ("(div (- 7) 2)", Value::Int(-4)),
            ("(mod (- 7) 2)", Value::Int(1)),
            ("(div 7 (- 2))", Value::Int(-3)),
            ("(mod 7 (- 2))", Value::Int(1)),
            ("(- 3 5 1)", Value::Int(-3)),
            ("(abs (- 4))", Value::Int(4)),
            ("(+ 1 2 3)", Value::Int(6)),
            ("(bv2nat #xff)", Value::Int(255)),
            ("(bv2nat #xffffffffffffffff)", Value::Int(i128::from(u64::MAX))),
            ("(str.len \"héllo\")", Value::Int(5)),
            ("(str.++ \"a\" \"b\" \"c\")", Value::str("abc")),
            ("(str.substr \"hello\" 1 10)", Value::str("ello")),
            ("(str.at \"hello\" 5)", Value::str("")),
            ("(str.indexof \"a.b.c\" \".\" 2)", Value::Int(3)),
            ("(str.indexof \"abc\" \"\" 3)", Value::Int(3)),
            ("(str.replace \"abc\" \"\" \"x\")", Value::str("xabc")),
            ("(str.to_int \"\")", Value::Int(-1)),
            ("(str.to.int \"12\")", Value::Int(12)),
            ("(str.from_int (- 1))", Value::str("")),
            ("(str.prefixof \"\" \"abc\")", Value::Bool(true)),
            ("(str.suffixof \"bc\" \"abc\")", Value::Bool(true)),
            ("(str.contains \"abc\" \"\")", Value::Bool(true)),
            ("(ite (= 1 2) \"a\" \"b\")", Value::str("b")),
            ("(=> false (= 1 2))", Value::Bool(true)),
            ("(xor true false)", Value::Bool(true)),
            ("(distinct 1 2 1)", Value::Bool(false)),
            ("(= 1 1 1)", Value::Bool(true)),
        ];
        for (src, want) in table {
            assert_eq!(&ev(src), want, "{src}");
        }
    }

    #[test]
    fn errors_are_reported_not_panics() {
        let t: Term = "(div 1 0)".parse().unwrap();
        assert_eq!(eval_one(&t, &[], &FunDefs::new()), Err(EvalError::IntDivByZero));
        let t: Term = "(bvadd x #x01)".parse().unwrap();
        assert!(matches!(eval_one(&t, &[], &FunDefs::new()), Err(EvalError::UnboundVariable(_))));
        assert!(matches!(eval_one(&t, &[("x", Value::bv(32, 1))], &FunDefs::new()), Err(EvalError::IllTyped(_))));
        let t: Term = "(g x)".parse().unwrap();
        assert!(matches!(eval_one(&t, &[("x", Value::Int(1))], &FunDefs::new()), Err(EvalError::UnknownFunction(_))));
    }

    #[test]
    fn macros_evaluate_with_bound_parameters() {
        let mut funs = FunDefs::new();
        funs.insert(
            "im".into(),
            FunDef {
                name: "im".into(),
                params: vec![
                    ("x".into(), Sort::BitVec(8)),
                    ("y".into(), Sort::BitVec(8)),
                    ("z".into(), Sort::BitVec(8)),
                ],
                ret: Sort::BitVec(8),
                body: "(ite (= x #x01) y z)".parse().unwrap(),
            },
        );
        let t: Term = "(im x #x0a #x0b)".parse().unwrap();
        let x = Column::Bv(8, vec![1, 2]);
        let out = eval_term(&t, &[("x", &x)], &funs, 2).unwrap();
        assert_eq!(out, Column::Bv(8, vec![0x0a, 0x0b]));
    }
}
