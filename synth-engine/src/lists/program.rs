//! The list language: types, values, operators, programs and their one semantics.
//!
//! The operators are DeepCoder's and LambdaBeam's (plus `Length`, `Product` and
//! `Replicate`), over unbounded-in-principle integers held as `i64`: an operation whose
//! exact result does not fit is an error, never a wrapped value. Integer division and
//! remainder floor (as Python's `//` and `%`); `Access`, `Take` and `Drop` follow Python's
//! indexing and slicing, negative indices included. `Head`, `Last`, `Minimum` and `Maximum`
//! of an empty list and an index out of range are errors; `Scanl1` of an empty list is
//! empty (as DeepCoder's and Haskell's `scanl1`, and Python's `itertools.accumulate`). The emitters write
//! exactly these semantics in each language.

use std::fmt;
use std::sync::Arc;

/// A type of the list language.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LType {
    /// An integer.
    Int,
    /// A Boolean.
    Bool,
    /// A list of integers.
    List,
}

impl LType {
    /// Parses `int`, `bool` and the list spellings `list[int]`, `int[]`, `Vec<i64>`,
    /// `list[i64]`.
    #[must_use]
    pub fn parse(name: &str) -> Option<LType> {
        let n: String = name.chars().filter(|c| !c.is_whitespace()).collect();
        match n.as_str() {
            "int" | "i64" | "long" | "int64_t" | "i32" | "u32" | "u64" | "int32_t" => Some(LType::Int),
            "bool" => Some(LType::Bool),
            "list[int]" | "int[]" | "Vec<i64>" | "list[i64]" | "List[int]" | "&[i64]" => Some(LType::List),
            _ => None,
        }
    }
}

impl fmt::Display for LType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LType::Int => "int",
            LType::Bool => "bool",
            LType::List => "list[int]",
        })
    }
}

/// A value of the list language.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum LValue {
    /// An integer.
    Int(i64),
    /// A Boolean.
    Bool(bool),
    /// A list of integers (shared).
    List(Arc<[i64]>),
}

impl LValue {
    /// The type of the value.
    #[must_use]
    pub fn ty(&self) -> LType {
        match self {
            LValue::Int(_) => LType::Int,
            LValue::Bool(_) => LType::Bool,
            LValue::List(_) => LType::List,
        }
    }

    fn int(&self) -> Option<i64> {
        match self {
            LValue::Int(v) => Some(*v),
            _ => None,
        }
    }

    fn list(&self) -> Option<&Arc<[i64]>> {
        match self {
            LValue::List(l) => Some(l),
            _ => None,
        }
    }

    /// The value as JSON (lists as arrays).
    #[must_use]
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            LValue::Int(v) => serde_json::Value::from(*v),
            LValue::Bool(b) => serde_json::Value::from(*b),
            LValue::List(l) => serde_json::Value::from(l.to_vec()),
        }
    }

    /// Reads a JSON value as `ty`; `None` when it is not one.
    #[must_use]
    pub fn from_json(v: &serde_json::Value, ty: LType) -> Option<LValue> {
        match ty {
            LType::Int => v.as_i64().map(LValue::Int),
            LType::Bool => v.as_bool().map(LValue::Bool),
            LType::List => {
                let items = v.as_array()?;
                let ints: Option<Vec<i64>> = items.iter().map(serde_json::Value::as_i64).collect();
                ints.map(|l| LValue::List(l.into()))
            }
        }
    }
}

impl fmt::Display for LValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_json())
    }
}

/// What one argument position of an operator takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Slot {
    /// A value of this type.
    Value(LType),
    /// A lambda of this many integer arguments returning this type.
    Lambda(u8, LType),
}

macro_rules! list_ops {
    (
        $( $(#[$doc:meta])* $op:ident = $name:literal : ( $($slot:expr),* ) -> $ret:ident ),* ;
        $( $(#[$xdoc:meta])* $xop:ident = $xname:literal : ( $($xslot:expr),* ) -> $xret:ident ),* $(,)?
    ) => {
        /// An operator of the list language.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum ListOp {
            $( $(#[$doc])* $op, )*
            $( $(#[$xdoc])* $xop, )*
        }

        impl ListOp {
            /// Every operator the search builds programs from (and the learned guide
            /// prices); the others a program only gets by rewriting.
            pub const ALL: &'static [ListOp] = &[$(ListOp::$op),*];

            /// The operator's name (LambdaBeam's spelling).
            #[must_use]
            pub fn name(self) -> &'static str {
                match self { $(ListOp::$op => $name,)* $(ListOp::$xop => $xname,)* }
            }

            /// What each argument takes.
            #[must_use]
            pub fn slots(self) -> &'static [Slot] {
                match self { $(ListOp::$op => &[$($slot),*],)* $(ListOp::$xop => &[$($xslot),*],)* }
            }

            /// The result type.
            #[must_use]
            pub fn result(self) -> LType {
                match self { $(ListOp::$op => LType::$ret,)* $(ListOp::$xop => LType::$xret,)* }
            }

            /// The operator with this name.
            #[must_use]
            pub fn from_name(name: &str) -> Option<ListOp> {
                match name { $($name => Some(ListOp::$op),)* $($xname => Some(ListOp::$xop),)* _ => None }
            }
        }
    };
}

const I: Slot = Slot::Value(LType::Int);
const B: Slot = Slot::Value(LType::Bool);
const L: Slot = Slot::Value(LType::List);
const F1: Slot = Slot::Lambda(1, LType::Int);
const P1: Slot = Slot::Lambda(1, LType::Bool);
const F2: Slot = Slot::Lambda(2, LType::Int);

list_ops! {
    /// `a + b`.
    Add = "Add": (I, I) -> Int,
    /// `a - b`.
    Subtract = "Subtract": (I, I) -> Int,
    /// `a * b`.
    Multiply = "Multiply": (I, I) -> Int,
    /// `a // b`, flooring; division by zero is an error.
    IntDivide = "IntDivide": (I, I) -> Int,
    /// `a % b`, flooring (the sign of `b`); by zero is an error.
    Modulo = "Modulo": (I, I) -> Int,
    /// `a * a`.
    Square = "Square": (I) -> Int,
    /// The smaller of two integers.
    Min = "Min": (I, I) -> Int,
    /// The larger of two integers.
    Max = "Max": (I, I) -> Int,
    /// `a if c else b`; only the branch taken is evaluated.
    If = "If": (B, I, I) -> Int,
    /// `a > b`.
    Greater = "Greater": (I, I) -> Bool,
    /// `a < b`.
    Less = "Less": (I, I) -> Bool,
    /// `a == b`.
    Equal = "Equal": (I, I) -> Bool,
    /// `a % 2 == 0`.
    IsEven = "IsEven": (I) -> Bool,
    /// `a % 2 == 1` (flooring, so true for negative odd numbers too).
    IsOdd = "IsOdd": (I) -> Bool,
    /// The first element.
    Head = "Head": (L) -> Int,
    /// The last element.
    Last = "Last": (L) -> Int,
    /// `xs[n]`, negative `n` counting from the end.
    Access = "Access": (I, L) -> Int,
    /// The smallest element.
    Minimum = "Minimum": (L) -> Int,
    /// The largest element.
    Maximum = "Maximum": (L) -> Int,
    /// The sum (0 for an empty list).
    Sum = "Sum": (L) -> Int,
    /// The product (1 for an empty list).
    Product = "Product": (L) -> Int,
    /// The number of elements.
    Length = "Length": (L) -> Int,
    /// How many elements satisfy the predicate.
    Count = "Count": (P1, L) -> Int,
    /// `xs[:n]`.
    Take = "Take": (I, L) -> List,
    /// `xs[n:]`.
    Drop = "Drop": (I, L) -> List,
    /// The list reversed.
    Reverse = "Reverse": (L) -> List,
    /// The list sorted ascending.
    Sort = "Sort": (L) -> List,
    /// `n` copies of `x` (`Replicate(n, x)`; none when `n <= 0`).
    Replicate = "Replicate": (I, I) -> List,
    /// The function applied to every element.
    Map = "Map": (F1, L) -> List,
    /// The elements that satisfy the predicate.
    Filter = "Filter": (P1, L) -> List,
    /// The function applied pairwise, as long as the shorter list.
    ZipWith = "ZipWith": (F2, L, L) -> List,
    /// Running fold: `ys[0] = xs[0]`, `ys[i] = f(ys[i-1], xs[i])`.
    Scanl1 = "Scanl1": (F2, L) -> List;
    /// `a / b` truncating toward zero, as C, Rust and Go divide; by zero (or `i64::MIN /
    /// -1`) is an error. Not searched: [`Expr::with_truncating_division`] puts it where
    /// the calls of a native original cannot tell it from [`ListOp::IntDivide`].
    Quot = "Quot": (I, I) -> Int,
    /// `a % b` with the sign of `a`, as C, Rust and Go take it; by zero is an error. Not
    /// searched, as [`ListOp::Quot`].
    Rem = "Rem": (I, I) -> Int,
}

impl ListOp {
    /// Whether swapping the two arguments never changes the result.
    #[must_use]
    pub fn commutative(self) -> bool {
        matches!(self, ListOp::Add | ListOp::Multiply | ListOp::Min | ListOp::Max | ListOp::Equal)
    }

    /// Whether the operator maps integers and Booleans to an integer or a Boolean
    /// ([`apply_scalar`] computes it).
    #[must_use]
    pub fn is_scalar(self) -> bool {
        self.result() != LType::List && self.slots().iter().all(|s| matches!(s, Slot::Value(LType::Int | LType::Bool)))
    }

    /// Whether an argument is a lambda.
    #[must_use]
    pub fn higher_order(self) -> bool {
        self.slots().iter().any(|s| matches!(s, Slot::Lambda(..)))
    }
}

/// A program of the list language: a tree. Lambda arguments are [`Expr::Bound`]
/// references to the innermost enclosing lambda (`u1`, `u2`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Expr {
    /// The function's parameter with this index.
    Input(usize),
    /// Argument `0` or `1` of the innermost lambda.
    Bound(u8),
    /// An integer literal.
    Const(i64),
    /// An operator applied to its arguments; a lambda slot holds the lambda's body.
    Apply(ListOp, Vec<Expr>),
}

impl Expr {
    /// Number of nodes (a lambda's body counts, the lambda itself does not).
    #[must_use]
    pub fn size(&self) -> usize {
        match self {
            Expr::Apply(_, args) => 1 + args.iter().map(Expr::size).sum::<usize>(),
            _ => 1,
        }
    }

    /// The program with each closed integer subterm (no input, no lambda argument) that
    /// fits an `i32` replaced by its value, as a person writes it: `Square(Add(1,
    /// Square(3)))` becomes `100`. The result is the same on every input.
    #[must_use]
    pub fn folded(&self) -> Expr {
        let Expr::Apply(op, args) = self else { return self.clone() };
        let folded = Expr::Apply(*op, args.iter().map(Expr::folded).collect());
        if op.result() == LType::Int && folded.is_closed() {
            if let Ok(LValue::Int(v)) = run(&folded, &[]) {
                if i32::try_from(v).is_ok() {
                    return Expr::Const(v);
                }
            }
        }
        folded
    }

    /// The program with each flooring division and remainder (`IntDivide`, `Modulo`) made
    /// truncating (`Quot`, `Rem`: the `/` and `%` of C, Rust and Go) where `fits` still
    /// accepts it, one at a time in order: for a native original, whose calls seen divide
    /// alike both ways, its own language's division is the likelier on the calls not seen.
    #[must_use]
    pub fn with_truncating_division(&self, fits: &dyn Fn(&Expr) -> bool) -> Expr {
        /// `e` with the `k`-th division (pre-order, of either kind) truncating, if it floors;
        /// `seen` counts the divisions passed.
        fn replace(e: &Expr, k: usize, seen: &mut usize) -> Expr {
            let Expr::Apply(op, args) = e else { return e.clone() };
            let mut op = *op;
            if matches!(op, ListOp::IntDivide | ListOp::Modulo | ListOp::Quot | ListOp::Rem) {
                if *seen == k {
                    op = match op {
                        ListOp::IntDivide => ListOp::Quot,
                        ListOp::Modulo => ListOp::Rem,
                        other => other,
                    };
                }
                *seen += 1;
            }
            Expr::Apply(op, args.iter().map(|a| replace(a, k, seen)).collect())
        }
        let mut current = self.clone();
        let mut k = 0;
        loop {
            let mut seen = 0;
            let candidate = replace(&current, k, &mut seen);
            if k >= seen {
                return current;
            }
            if candidate != current && fits(&candidate) {
                current = candidate;
            }
            k += 1;
        }
    }

    /// Whether the program, run on `args`, gives `want` (an error gives nothing).
    #[must_use]
    pub fn meets(&self, args: &[LValue], want: &LValue) -> bool {
        run(self, args).ok().as_ref() == Some(want)
    }

    /// Whether no input and no lambda argument occurs in it.
    fn is_closed(&self) -> bool {
        match self {
            Expr::Input(_) | Expr::Bound(_) => false,
            Expr::Const(_) => true,
            Expr::Apply(_, args) => args.iter().all(Expr::is_closed),
        }
    }

    /// The program in LambdaBeam's notation, with parameter names.
    #[must_use]
    pub fn show(&self, params: &[String]) -> String {
        let mut s = String::new();
        self.show_into(params, &mut s);
        s
    }

    fn show_into(&self, params: &[String], out: &mut String) {
        match self {
            Expr::Input(i) => out.push_str(params.get(*i).map_or("?", String::as_str)),
            Expr::Bound(b) => out.push_str(if *b == 0 { "u1" } else { "u2" }),
            Expr::Const(c) => out.push_str(&c.to_string()),
            Expr::Apply(op, args) => {
                out.push_str(op.name());
                out.push('(');
                for (k, (a, slot)) in args.iter().zip(op.slots()).enumerate() {
                    if k > 0 {
                        out.push_str(", ");
                    }
                    match slot {
                        Slot::Lambda(1, _) => out.push_str("lambda u1: "),
                        Slot::Lambda(..) => out.push_str("lambda u1, u2: "),
                        Slot::Value(_) => {}
                    }
                    a.show_into(params, out);
                }
                out.push(')');
            }
        }
    }
}

/// Why a program has no value on some input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RunError {
    /// An integer result that does not fit in 64 bits.
    #[error("integer overflow")]
    Overflow,
    /// Division or remainder by zero.
    #[error("division by zero")]
    DivisionByZero,
    /// `Head`, `Last`, `Minimum` or `Maximum` of an empty list.
    #[error("empty list")]
    Empty,
    /// `Access` outside the list.
    #[error("index out of range")]
    Index,
    /// A value of the wrong type, an unbound variable or a missing argument.
    #[error("ill-typed program")]
    Type,
    /// A list longer than the interpreter allows.
    #[error("list too long")]
    TooLong,
}

/// Longest list any operation may build.
pub const MAX_LIST: usize = 1 << 16;

/// Floor division.
///
/// # Errors
///
/// Division by zero, and `i64::MIN / -1`.
pub fn floor_div(a: i64, b: i64) -> Result<i64, RunError> {
    if b == 0 {
        return Err(RunError::DivisionByZero);
    }
    let q = a.checked_div(b).ok_or(RunError::Overflow)?;
    Ok(if (a % b != 0) && ((a < 0) != (b < 0)) { q - 1 } else { q })
}

/// Floor remainder (the sign of the divisor).
///
/// # Errors
///
/// Division by zero.
pub fn floor_mod(a: i64, b: i64) -> Result<i64, RunError> {
    if b == 0 {
        return Err(RunError::DivisionByZero);
    }
    let r = a.checked_rem(b).unwrap_or(0);
    Ok(if r != 0 && ((r < 0) != (b < 0)) { r + b } else { r })
}

fn python_index(len: usize, n: i64) -> Option<usize> {
    let len = i64::try_from(len).ok()?;
    let k = if n < 0 { n + len } else { n };
    (0..len).contains(&k).then(|| usize::try_from(k).unwrap_or(0))
}

/// Python's clamp of a slice bound `xs[:n]` / `xs[n:]`.
fn slice_bound(len: usize, n: i64) -> usize {
    let l = i64::try_from(len).unwrap_or(i64::MAX);
    let k = if n < 0 { (n + l).max(0) } else { n.min(l) };
    usize::try_from(k).unwrap_or(0)
}

/// Applies a first-order integer/Boolean operator to scalar arguments (ints as `i64`,
/// Booleans as 0/1). Used by the interpreter and by the search on lambda bodies.
///
/// # Errors
///
/// As [`RunError`].
pub fn apply_scalar(op: ListOp, a: &[i64]) -> Result<i64, RunError> {
    let arg = |k: usize| a.get(k).copied().ok_or(RunError::Type);
    let ov = RunError::Overflow;
    Ok(match op {
        ListOp::Add => arg(0)?.checked_add(arg(1)?).ok_or(ov)?,
        ListOp::Subtract => arg(0)?.checked_sub(arg(1)?).ok_or(ov)?,
        ListOp::Multiply => arg(0)?.checked_mul(arg(1)?).ok_or(ov)?,
        ListOp::IntDivide => floor_div(arg(0)?, arg(1)?)?,
        ListOp::Modulo => floor_mod(arg(0)?, arg(1)?)?,
        ListOp::Quot | ListOp::Rem => {
            let (a, b) = (arg(0)?, arg(1)?);
            if b == 0 {
                return Err(RunError::DivisionByZero);
            }
            if op == ListOp::Quot { a.checked_div(b) } else { a.checked_rem(b) }.ok_or(ov)?
        }
        ListOp::Square => arg(0)?.checked_mul(arg(0)?).ok_or(ov)?,
        ListOp::Min => arg(0)?.min(arg(1)?),
        ListOp::Max => arg(0)?.max(arg(1)?),
        ListOp::If => {
            if arg(0)? != 0 {
                arg(1)?
            } else {
                arg(2)?
            }
        }
        ListOp::Greater => i64::from(arg(0)? > arg(1)?),
        ListOp::Less => i64::from(arg(0)? < arg(1)?),
        ListOp::Equal => i64::from(arg(0)? == arg(1)?),
        ListOp::IsEven => i64::from(arg(0)? % 2 == 0),
        ListOp::IsOdd => i64::from(arg(0)? % 2 != 0),
        _ => return Err(RunError::Type),
    })
}

/// A lambda to apply: its body and the environment it closes over.
pub trait Body {
    /// The body's value for these lambda arguments.
    ///
    /// # Errors
    ///
    /// As [`RunError`].
    fn call(&self, u: [i64; 2]) -> Result<i64, RunError>;
}

impl<F: Fn([i64; 2]) -> Result<i64, RunError>> Body for F {
    fn call(&self, u: [i64; 2]) -> Result<i64, RunError> {
        self(u)
    }
}

/// Applies a list operator; `body` is the lambda for higher-order ones, `values` the
/// other arguments in order (the lambda's slot left out).
///
/// # Errors
///
/// As [`RunError`].
pub fn apply_list(op: ListOp, body: Option<&dyn Body>, values: &[&LValue]) -> Result<LValue, RunError> {
    let list = |k: usize| values.get(k).and_then(|v| v.list()).ok_or(RunError::Type);
    let int = |k: usize| values.get(k).and_then(|v| v.int()).ok_or(RunError::Type);
    let f = || body.ok_or(RunError::Type);
    let ov = RunError::Overflow;
    let out_list = |v: Vec<i64>| -> Result<LValue, RunError> {
        if v.len() > MAX_LIST {
            return Err(RunError::TooLong);
        }
        Ok(LValue::List(v.into()))
    };
    Ok(match op {
        ListOp::Head => LValue::Int(*list(0)?.first().ok_or(RunError::Empty)?),
        ListOp::Last => LValue::Int(*list(0)?.last().ok_or(RunError::Empty)?),
        ListOp::Access => {
            let xs = list(1)?;
            let k = python_index(xs.len(), int(0)?).ok_or(RunError::Index)?;
            LValue::Int(xs[k])
        }
        ListOp::Minimum => LValue::Int(*list(0)?.iter().min().ok_or(RunError::Empty)?),
        ListOp::Maximum => LValue::Int(*list(0)?.iter().max().ok_or(RunError::Empty)?),
        ListOp::Sum => LValue::Int(list(0)?.iter().try_fold(0i64, |s, x| s.checked_add(*x)).ok_or(ov)?),
        ListOp::Product => LValue::Int(list(0)?.iter().try_fold(1i64, |s, x| s.checked_mul(*x)).ok_or(ov)?),
        ListOp::Length => LValue::Int(i64::try_from(list(0)?.len()).map_err(|_| ov)?),
        ListOp::Count => {
            let mut n = 0i64;
            for x in list(0)?.iter() {
                if f()?.call([*x, 0])? != 0 {
                    n += 1;
                }
            }
            LValue::Int(n)
        }
        ListOp::Take => {
            let xs = list(1)?;
            LValue::List(xs[..slice_bound(xs.len(), int(0)?)].into())
        }
        ListOp::Drop => {
            let xs = list(1)?;
            LValue::List(xs[slice_bound(xs.len(), int(0)?)..].into())
        }
        ListOp::Reverse => LValue::List(list(0)?.iter().rev().copied().collect()),
        ListOp::Sort => {
            let mut v = list(0)?.to_vec();
            v.sort_unstable();
            LValue::List(v.into())
        }
        ListOp::Replicate => {
            let n = usize::try_from(int(0)?.max(0)).map_err(|_| ov)?;
            if n > MAX_LIST {
                return Err(RunError::TooLong);
            }
            out_list(vec![int(1)?; n])?
        }
        ListOp::Map => out_list(list(0)?.iter().map(|x| f()?.call([*x, 0])).collect::<Result<_, _>>()?)?,
        ListOp::Filter => {
            let mut v = Vec::new();
            for x in list(0)?.iter() {
                if f()?.call([*x, 0])? != 0 {
                    v.push(*x);
                }
            }
            out_list(v)?
        }
        ListOp::ZipWith => {
            let (xs, ys) = (list(0)?, list(1)?);
            out_list(xs.iter().zip(ys.iter()).map(|(x, y)| f()?.call([*x, *y])).collect::<Result<_, _>>()?)?
        }
        ListOp::Scanl1 => {
            let xs = list(0)?;
            let Some(&first) = xs.first() else { return Ok(LValue::List(Arc::from(Vec::new()))) };
            let mut acc = first;
            let mut v = Vec::with_capacity(xs.len());
            v.push(acc);
            for x in &xs[1..] {
                acc = f()?.call([acc, *x])?;
                v.push(acc);
            }
            out_list(v)?
        }
        _ => return Err(RunError::Type),
    })
}

/// Runs a program on one input.
///
/// # Errors
///
/// As [`RunError`].
pub fn run(expr: &Expr, inputs: &[LValue]) -> Result<LValue, RunError> {
    eval(expr, inputs, None)
}

fn eval(expr: &Expr, inputs: &[LValue], bound: Option<[i64; 2]>) -> Result<LValue, RunError> {
    match expr {
        Expr::Input(i) => inputs.get(*i).cloned().ok_or(RunError::Type),
        Expr::Bound(b) => bound.map(|u| LValue::Int(u[usize::from(*b).min(1)])).ok_or(RunError::Type),
        Expr::Const(c) => Ok(LValue::Int(*c)),
        Expr::Apply(ListOp::If, args) if args.len() == 3 => {
            // Lazy, as `if` is in every language: the branch not taken is not run.
            let taken = if eval(&args[0], inputs, bound)? == LValue::Bool(true) { &args[1] } else { &args[2] };
            eval(taken, inputs, bound)
        }
        Expr::Apply(op, args) => {
            if op.is_scalar() {
                let mut scalars = Vec::with_capacity(args.len());
                for a in args {
                    scalars.push(match eval(a, inputs, bound)? {
                        LValue::Int(v) => v,
                        LValue::Bool(b) => i64::from(b),
                        LValue::List(_) => return Err(RunError::Type),
                    });
                }
                let v = apply_scalar(*op, &scalars)?;
                return Ok(if op.result() == LType::Bool { LValue::Bool(v != 0) } else { LValue::Int(v) });
            }
            let mut lambda = None;
            let mut values = Vec::with_capacity(args.len());
            for (a, slot) in args.iter().zip(op.slots()) {
                match slot {
                    Slot::Lambda(..) => lambda = Some(a),
                    Slot::Value(_) => values.push(eval(a, inputs, bound)?),
                }
            }
            let refs: Vec<&LValue> = values.iter().collect();
            match lambda {
                Some(body) => {
                    let call = |u: [i64; 2]| match eval(body, inputs, Some(u))? {
                        LValue::Int(v) => Ok(v),
                        LValue::Bool(b) => Ok(i64::from(b)),
                        LValue::List(_) => Err(RunError::Type),
                    };
                    apply_list(*op, Some(&call), &refs)
                }
                None => apply_list(*op, None, &refs),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(v: &[i64]) -> LValue {
        LValue::List(v.into())
    }

    #[test]
    fn division_and_remainder_floor() {
        assert_eq!(floor_div(7, 2), Ok(3));
        assert_eq!(floor_div(-7, 2), Ok(-4));
        assert_eq!(floor_div(7, -2), Ok(-4));
        assert_eq!(floor_div(-7, -2), Ok(3));
        assert_eq!(floor_mod(-7, 2), Ok(1));
        assert_eq!(floor_mod(7, -2), Ok(-1));
        assert_eq!(floor_div(1, 0), Err(RunError::DivisionByZero));
        assert_eq!(floor_div(i64::MIN, -1), Err(RunError::Overflow));
        assert_eq!(apply_scalar(ListOp::IsOdd, &[-3]), Ok(1));
    }

    #[test]
    fn divisions_become_truncating_where_the_examples_allow() {
        use Expr::{Apply, Const, Input};
        assert_eq!(apply_scalar(ListOp::Quot, &[-7, 2]), Ok(-3));
        assert_eq!(apply_scalar(ListOp::Rem, &[-7, 2]), Ok(-1));
        assert_eq!(apply_scalar(ListOp::Quot, &[1, 0]), Err(RunError::DivisionByZero));
        assert_eq!(apply_scalar(ListOp::Quot, &[i64::MIN, -1]), Err(RunError::Overflow));
        // `x // 100 + x % 7`: on non-negative x both divisions read either way.
        let program = Apply(
            ListOp::Add,
            vec![Apply(ListOp::IntDivide, vec![Input(0), Const(100)]), Apply(ListOp::Modulo, vec![Input(0), Const(7)])],
        );
        let fits_on = |xs: Vec<i64>| {
            let program = program.clone();
            move |e: &Expr| xs.iter().all(|&x| run(e, &[LValue::Int(x)]) == run(&program, &[LValue::Int(x)]))
        };
        let truncating = program.with_truncating_division(&fits_on(vec![0, 5, 150, 999]));
        assert_eq!(truncating.show(&["x".into()]), "Add(Quot(x, 100), Rem(x, 7))");
        // A negative x seen: the original floors, and the program stays as it was.
        assert_eq!(program.with_truncating_division(&fits_on(vec![5, -150])), program);
        assert_eq!(ListOp::from_name("Quot"), Some(ListOp::Quot));
        assert!(!ListOp::ALL.contains(&ListOp::Quot) && !ListOp::ALL.contains(&ListOp::Rem));
    }

    #[test]
    fn closed_integer_terms_fold_to_their_value() {
        use Expr::{Apply, Bound, Const, Input};
        let hundred =
            Apply(ListOp::Square, vec![Apply(ListOp::Add, vec![Const(1), Apply(ListOp::Square, vec![Const(3)])])]);
        let dollars = Apply(ListOp::IntDivide, vec![Input(0), hundred.clone()]);
        assert_eq!(dollars.folded(), Apply(ListOp::IntDivide, vec![Input(0), Const(100)]));
        // Inside a lambda too; a term that reads an argument stays.
        let map = Apply(ListOp::Map, vec![Apply(ListOp::Multiply, vec![Bound(0), hundred]), Input(1)]);
        assert_eq!(
            map.folded(),
            Apply(ListOp::Map, vec![Apply(ListOp::Multiply, vec![Bound(0), Const(100)]), Input(1)])
        );
        // A value beyond `i32`, or one with no value, is left as written.
        let big = Apply(ListOp::Square, vec![Const(1 << 20)]);
        assert_eq!(big.folded(), big);
        let undefined = Apply(ListOp::IntDivide, vec![Const(1), Const(0)]);
        assert_eq!(undefined.folded(), undefined);
    }

    #[test]
    fn python_indexing_and_slicing() {
        let xs = list(&[1, 2, 3, 4]);
        let access = |n| apply_list(ListOp::Access, None, &[&LValue::Int(n), &xs]);
        assert_eq!(access(-1), Ok(LValue::Int(4)));
        assert_eq!(access(0), Ok(LValue::Int(1)));
        assert_eq!(access(4), Err(RunError::Index));
        assert_eq!(access(-5), Err(RunError::Index));
        let take = |n| apply_list(ListOp::Take, None, &[&LValue::Int(n), &xs]);
        assert_eq!(take(-1), Ok(list(&[1, 2, 3])));
        assert_eq!(take(9), Ok(list(&[1, 2, 3, 4])));
        assert_eq!(take(-9), Ok(list(&[])));
        let drop = |n| apply_list(ListOp::Drop, None, &[&LValue::Int(n), &xs]);
        assert_eq!(drop(-1), Ok(list(&[4])));
        assert_eq!(drop(1), Ok(list(&[2, 3, 4])));
    }

    #[test]
    fn lambdas_see_their_arguments_and_the_inputs() {
        // Scanl1(lambda u1, u2: Max(u1, u2), x) and ZipWith(lambda u1, u2: u1 - u2 + n, x, y).
        let running_max = Expr::Apply(
            ListOp::Scanl1,
            vec![Expr::Apply(ListOp::Max, vec![Expr::Bound(0), Expr::Bound(1)]), Expr::Input(0)],
        );
        assert_eq!(run(&running_max, &[list(&[3, 1, 4, 1, 5])]), Ok(list(&[3, 3, 4, 4, 5])));
        let zip = Expr::Apply(
            ListOp::ZipWith,
            vec![
                Expr::Apply(
                    ListOp::Add,
                    vec![Expr::Apply(ListOp::Subtract, vec![Expr::Bound(0), Expr::Bound(1)]), Expr::Input(2)],
                ),
                Expr::Input(0),
                Expr::Input(1),
            ],
        );
        assert_eq!(run(&zip, &[list(&[5, 6, 7]), list(&[1, 1]), LValue::Int(10)]), Ok(list(&[14, 15])));
        let evens = Expr::Apply(ListOp::Count, vec![Expr::Apply(ListOp::IsEven, vec![Expr::Bound(0)]), Expr::Input(0)]);
        assert_eq!(run(&evens, &[list(&[2, -4, 3])]), Ok(LValue::Int(2)));
        assert_eq!(run(&running_max, &[list(&[])]), Ok(list(&[])));
        let head = Expr::Apply(ListOp::Head, vec![Expr::Input(0)]);
        assert_eq!(run(&head, &[list(&[])]), Err(RunError::Empty));
        assert_eq!(evens.show(&["xs".into()]), "Count(lambda u1: IsEven(u1), xs)");
    }

    #[test]
    fn overflow_is_an_error_not_a_wrap() {
        let sq = Expr::Apply(ListOp::Square, vec![Expr::Input(0)]);
        assert_eq!(run(&sq, &[LValue::Int(1 << 40)]), Err(RunError::Overflow));
        let sum = Expr::Apply(ListOp::Sum, vec![Expr::Input(0)]);
        assert_eq!(run(&sum, &[list(&[i64::MAX, 1])]), Err(RunError::Overflow));
    }
}
