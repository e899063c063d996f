//! Bit-vector terms read as plain integers where they provably are.
//!
//! A function carved from C has bit-vector parameters (`int` is a 32-bit vector), so its
//! term computes with wrapping operations. Over the box of parameter values its examples
//! span, interval arithmetic can show that no value of the term wraps and that every
//! operation that reads signs (division, remainder, comparisons) agrees with the integer
//! one. Then the term has an integer twin, equal to it on every input in that box, which
//! an emitter writes with the language's ordinary operators: `(items + per_page - 1) //
//! per_page`, not masks and `_bvudiv`.
use std::collections::HashMap;

use crate::dsl::{eval_one, to_signed, Id, Op, Sort, Term, Value};
use crate::spec::{Problem, TypeSpec};

/// A closed interval of integers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Interval {
    pub(crate) lo: i128,
    pub(crate) hi: i128,
}

impl Interval {
    fn point(v: i128) -> Self {
        Self { lo: v, hi: v }
    }

    fn hull(a: Self, b: Self) -> Self {
        Self { lo: a.lo.min(b.lo), hi: a.hi.max(b.hi) }
    }

    fn from_corners(corners: [i128; 4]) -> Self {
        let lo = corners.iter().copied().min().unwrap_or(0);
        let hi = corners.iter().copied().max().unwrap_or(0);
        Self { lo, hi }
    }

    /// Whether every value fits a signed `w`-bit integer (and so reads the same as
    /// bits and as a number).
    fn fits_signed(self, w: u32) -> bool {
        let half = 1i128 << (w.min(127) - 1);
        self.lo >= -half && self.hi < half
    }

    fn non_negative(self) -> bool {
        self.lo >= 0
    }

    fn positive(self) -> bool {
        self.lo >= 1
    }
}

/// The integer twin of a bit-vector term.
#[derive(Clone, Debug)]
pub(crate) struct IntegerView {
    /// The problem with every bit-vector parameter and the result as integers.
    pub(crate) problem: Problem,
    /// The term over integers, node for node where the original's nodes remain.
    pub(crate) term: Term,
    /// Each node's interval over the box, when known (integer-valued nodes).
    pub(crate) intervals: Vec<Option<Interval>>,
    /// The box: each bit-vector parameter's range over the examples.
    pub(crate) domain: Vec<(String, Interval)>,
}

/// The integer twin of `term`, when it computes with bit-vectors, reads every parameter
/// as its type says (signed or not), and provably never wraps over the examples' box.
pub(crate) fn integer_view(problem: &Problem, term: &Term) -> Option<IntegerView> {
    if !matches!(problem.output.sort, Sort::BitVec(_)) && !problem.params.iter().any(|p| is_bv(p.ty)) {
        return None;
    }
    if problem.examples.is_empty() || problem.params.iter().any(|p| !is_bv(p.ty) && p.ty.sort != Sort::String) {
        return None;
    }
    let domain = domain(problem)?;
    let mut view = problem.clone();
    for p in &mut view.params {
        if is_bv(p.ty) {
            p.ty = TypeSpec { sort: Sort::Int, signed: true };
        }
    }
    if is_bv(problem.output) {
        view.output = TypeSpec { sort: Sort::Int, signed: true };
    }
    view.examples = Vec::new();
    view.reference = None;
    view.grammar = None;
    let sorts = super::sorts_of(problem, term).ok()?;
    let mut cx =
        Translate { problem, term, sorts, domain: &domain, out: Term::new(), map: Vec::new(), intervals: Vec::new() };
    for (i, node) in term.nodes().iter().enumerate() {
        let id = Id(u32::try_from(i).ok()?);
        let (new, interval) = cx.node(id, &node.op, &node.children)?;
        cx.map.push(new);
        cx.set(new, interval);
    }
    // The root must be the last node of the new term.
    let root = *cx.map.last()?;
    if root != cx.out.root() {
        return None;
    }
    let result_fits = match problem.output.sort {
        Sort::BitVec(w) => {
            let r = cx.interval(root)?;
            r.fits_signed(w) && (problem.output.signed || r.non_negative())
        }
        _ => true,
    };
    if !result_fits {
        return None;
    }
    let intervals = (0..cx.out.nodes().len()).map(|i| cx.intervals.get(i).copied().flatten()).collect();
    let domain = problem
        .params
        .iter()
        .filter(|p| is_bv(p.ty))
        .filter_map(|p| Some((p.name.clone(), *domain.get(&p.name)?)))
        .collect();
    Some(IntegerView { problem: view, term: cx.out, intervals, domain })
}

impl IntegerView {
    /// The one fixed-width type the whole view computes in, when there is one: every
    /// parameter and the result share it, and every node is a value of it. An emitter
    /// can then write the view in that type with plain operators; integer division and
    /// remainder only occur on a non-negative dividend over a positive divisor, where
    /// truncating and Euclidean division agree.
    pub(crate) fn native_type(&self, original: &Problem) -> Option<TypeSpec> {
        let ty = original.output;
        let Sort::BitVec(w) = ty.sort else { return None };
        if original.params.iter().any(|p| p.ty != ty) {
            return None;
        }
        let fits = |i: Interval| i.fits_signed(w) && (ty.signed || i.non_negative());
        let sorts = super::sorts_of(&self.problem, &self.term).ok()?;
        for ((node, interval), sort) in self.term.nodes().iter().zip(&self.intervals).zip(sorts) {
            let allowed = match sort {
                Sort::Int => {
                    interval.is_some_and(fits)
                        && matches!(
                            node.op,
                            Op::Var(_)
                                | Op::Const(_)
                                | Op::Add
                                | Op::Sub
                                | Op::Mul
                                | Op::Neg
                                | Op::Div
                                | Op::Mod
                                | Op::TDiv
                                | Op::TRem
                                | Op::Ite
                        )
                }
                Sort::Bool => matches!(
                    node.op,
                    Op::Const(_)
                        | Op::Lt
                        | Op::Le
                        | Op::Gt
                        | Op::Ge
                        | Op::Eq
                        | Op::Distinct
                        | Op::Not
                        | Op::And
                        | Op::Or
                        | Op::Xor
                        | Op::Implies
                        | Op::Ite
                ),
                _ => false,
            };
            if !allowed {
                return None;
            }
            if matches!(node.op, Op::Div | Op::Mod) {
                let (a, b) = (self.intervals[node.children[0].index()]?, self.intervals[node.children[1].index()]?);
                if !a.non_negative() || !b.positive() {
                    return None;
                }
            }
        }
        Some(ty)
    }
}

/// The docstring line an emitter adds to an integer view: where it is exact.
pub(crate) fn range_note(view: &IntegerView) -> String {
    let ranges: Vec<String> =
        view.domain.iter().map(|(name, i)| format!("{} in {}..={}", super::ident(name), i.lo, i.hi)).collect();
    if ranges.is_empty() {
        "Plain integer arithmetic: no value overflows its fixed width on the inputs observed.".to_owned()
    } else {
        format!(
            "Plain integer arithmetic: no value overflows its fixed width for {}, the range observed.",
            ranges.join(", ")
        )
    }
}

fn is_bv(ty: TypeSpec) -> bool {
    matches!(ty.sort, Sort::BitVec(_))
}

/// Each bit-vector parameter's range over the examples.
fn domain(problem: &Problem) -> Option<HashMap<String, Interval>> {
    let mut out = HashMap::new();
    for (i, p) in problem.params.iter().enumerate().filter(|(_, p)| is_bv(p.ty)) {
        let (lo, hi) = problem.param_range(i)?;
        out.insert(p.name.clone(), Interval { lo, hi });
    }
    Some(out)
}

struct Translate<'a> {
    problem: &'a Problem,
    term: &'a Term,
    /// The old term's sorts.
    sorts: Vec<Sort>,
    domain: &'a HashMap<String, Interval>,
    out: Term,
    /// Old id to new id.
    map: Vec<Id>,
    /// New id to interval.
    intervals: Vec<Option<Interval>>,
}

impl Translate<'_> {
    fn set(&mut self, id: Id, interval: Option<Interval>) {
        if self.intervals.len() <= id.index() {
            self.intervals.resize(id.index() + 1, None);
        }
        if interval.is_some() {
            self.intervals[id.index()] = interval;
        }
    }

    fn interval(&self, new: Id) -> Option<Interval> {
        self.intervals.get(new.index()).copied().flatten()
    }

    /// The old node `id`'s translation and interval; `None` when the view does not exist.
    fn node(&mut self, id: Id, op: &Op, children: &[Id]) -> Option<(Id, Option<Interval>)> {
        let kids: Vec<Id> = children.iter().map(|c| self.map[c.index()]).collect();
        let iv = |cx: &Self, i: usize| cx.interval(kids[i]);
        let bv_result = |interval: Interval, w: u32| interval.fits_signed(w).then_some(interval);
        let w = match self.sorts.get(id.index()) {
            Some(Sort::BitVec(w)) => Some(*w),
            _ => None,
        };
        let (new_op, interval) = match op {
            Op::Var(v) => match w {
                Some(w) => (op.clone(), Some(bv_result(*self.domain.get(&**v)?, w)?)),
                None => (op.clone(), None),
            },
            Op::Const(Value::Bv { width, bits }) => {
                let v = i128::from(to_signed(*bits, *width));
                (Op::Const(Value::Int(v)), Some(Interval::point(v)))
            }
            Op::Const(Value::Int(v)) => (op.clone(), Some(Interval::point(*v))),
            Op::BvAdd | Op::BvSub | Op::BvMul | Op::BvNeg => {
                let all: Vec<Interval> = (0..kids.len()).map(|i| iv(self, i)).collect::<Option<_>>()?;
                let r = arith(op, &all)?;
                let int_op = match op {
                    Op::BvAdd => Op::Add,
                    Op::BvSub => Op::Sub,
                    Op::BvMul => Op::Mul,
                    _ => Op::Neg,
                };
                (int_op, Some(bv_result(r, w?)?))
            }
            // Signed division of a value that may be negative truncates, as `tdiv` does.
            Op::BvSdiv | Op::BvSrem if !iv(self, 0)?.non_negative() => {
                let (a, b) = (iv(self, 0)?, iv(self, 1)?);
                let w = w?;
                let min = -(1i128 << (w - 1));
                if b.lo <= 0 && b.hi >= 0 || a.lo == min && b.lo <= -1 && b.hi >= -1 {
                    return None;
                }
                if *op == Op::BvSdiv {
                    let q = Interval::from_corners([a.lo / b.lo, a.lo / b.hi, a.hi / b.lo, a.hi / b.hi]);
                    (Op::TDiv, Some(q))
                } else {
                    let most = b.lo.abs().max(b.hi.abs()) - 1;
                    let lo = if a.lo < 0 { -most.min(-a.lo) } else { 0 };
                    let hi = if a.hi > 0 { most.min(a.hi) } else { 0 };
                    (Op::TRem, Some(Interval { lo, hi }))
                }
            }
            Op::BvUdiv | Op::BvSdiv | Op::BvUrem | Op::BvSrem | Op::BvSmod => {
                let (a, b) = (iv(self, 0)?, iv(self, 1)?);
                // Non-negative over a positive divisor: truncating, flooring and Euclidean
                // division agree, signed or not.
                if !a.non_negative() || !b.positive() {
                    return None;
                }
                if matches!(op, Op::BvUdiv | Op::BvSdiv) {
                    (Op::Div, Some(Interval { lo: a.lo / b.hi, hi: a.hi / b.lo }))
                } else {
                    (Op::Mod, Some(Interval { lo: 0, hi: a.hi.min(b.hi - 1) }))
                }
            }
            Op::BvUlt | Op::BvUle | Op::BvUgt | Op::BvUge => {
                if !iv(self, 0)?.non_negative() || !iv(self, 1)?.non_negative() {
                    return None;
                }
                (comparison(op), None)
            }
            Op::BvSlt | Op::BvSle | Op::BvSgt | Op::BvSge => {
                iv(self, 0)?;
                iv(self, 1)?;
                (comparison(op), None)
            }
            Op::Eq | Op::Distinct => (op.clone(), None),
            Op::Ite => {
                let r = match (iv(self, 1), iv(self, 2)) {
                    (Some(a), Some(b)) => Some(Interval::hull(a, b)),
                    _ => None,
                };
                if w.is_some() && r.is_none() {
                    return None;
                }
                (Op::Ite, r)
            }
            Op::Not | Op::And | Op::Or | Op::Xor | Op::Implies => (op.clone(), None),
            // Conversions between integers and bit-vectors whose values fit: the identity.
            Op::Int2Bv(w) => {
                let r = iv(self, 0).or_else(|| self.observed(children[0]))?;
                return bv_result(r, *w).map(|r| (kids[0], Some(r)));
            }
            Op::Bv2Nat | Op::ZeroExtend(_) => {
                let r = iv(self, 0)?;
                return r.non_negative().then_some((kids[0], Some(r)));
            }
            Op::SignExtend(_) => return Some((kids[0], iv(self, 0))),
            Op::Add | Op::Sub | Op::Mul | Op::Neg => {
                let all: Option<Vec<Interval>> = (0..kids.len()).map(|i| iv(self, i)).collect();
                (op.clone(), all.and_then(|all| arith(op, &all)))
            }
            Op::Le | Op::Lt | Op::Ge | Op::Gt | Op::Div | Op::Mod | Op::Abs => (op.clone(), None),
            // Text in, integers out: the range the examples show.
            Op::StrLen | Op::StrToInt | Op::StrIndexOf => (op.clone(), self.observed(id)),
            o if o.name().starts_with("str") => (op.clone(), None),
            Op::Const(_) => (op.clone(), None),
            _ => return None,
        };
        let new = self.out.add(new_op, &kids);
        Some((new, interval))
    }

    /// The range the old node `id` takes over the examples (for values read from text,
    /// which no interval bounds).
    fn observed(&self, id: Id) -> Option<Interval> {
        let mut sub = Term::new();
        sub.add_term(self.term, id);
        let mut out: Option<Interval> = None;
        for ex in &self.problem.examples {
            let vars: Vec<(&str, Value)> =
                self.problem.params.iter().map(|p| p.name.as_str()).zip(ex.args.iter().cloned()).collect();
            let v = eval_one(&sub, &vars, &self.problem.funs).ok()?;
            let n = Interval::point(v.integer(true)?);
            out = Some(out.map_or(n, |o| Interval::hull(o, n)));
        }
        out
    }
}

fn comparison(op: &Op) -> Op {
    match op {
        Op::BvUlt | Op::BvSlt => Op::Lt,
        Op::BvUle | Op::BvSle => Op::Le,
        Op::BvUgt | Op::BvSgt => Op::Gt,
        _ => Op::Ge,
    }
}

/// Interval arithmetic for `+`, `-` (binary or unary) and `*`.
fn arith(op: &Op, args: &[Interval]) -> Option<Interval> {
    let first = *args.first()?;
    match op {
        Op::BvNeg | Op::Neg => Some(Interval { lo: -first.hi, hi: -first.lo }),
        Op::BvSub | Op::Sub if args.len() == 1 => Some(Interval { lo: -first.hi, hi: -first.lo }),
        _ => args[1..].iter().try_fold(first, |acc, b| {
            Some(match op {
                Op::BvAdd | Op::Add => Interval { lo: acc.lo.checked_add(b.lo)?, hi: acc.hi.checked_add(b.hi)? },
                Op::BvSub | Op::Sub => Interval { lo: acc.lo.checked_sub(b.hi)?, hi: acc.hi.checked_sub(b.lo)? },
                _ => Interval::from_corners([
                    acc.lo.checked_mul(b.lo)?,
                    acc.lo.checked_mul(b.hi)?,
                    acc.hi.checked_mul(b.lo)?,
                    acc.hi.checked_mul(b.hi)?,
                ]),
            })
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{Example, Param};

    fn params(names: &[(&str, &str)]) -> Vec<Param> {
        names.iter().map(|(n, t)| Param { name: (*n).into(), ty: TypeSpec::parse(t).unwrap() }).collect()
    }

    fn problem(ps: &[(&str, &str)], out: &str, rows: &[(&[i64], i64)]) -> Problem {
        let mut p = Problem::new("f", params(ps), TypeSpec::parse(out).unwrap());
        let bv = |v: i64| Value::bv(32, v as u64 & 0xFFFF_FFFF);
        p.examples =
            rows.iter().map(|(a, r)| Example { args: a.iter().map(|v| bv(*v)).collect(), output: bv(*r) }).collect();
        p
    }

    #[test]
    fn a_ceiling_division_over_positive_counts_reads_as_integers() {
        let p =
            problem(&[("items", "i32"), ("per_page", "i32")], "i32", &[(&[0, 1], 0), (&[500, 50], 10), (&[7, 3], 3)]);
        let t: Term = "(bvudiv (bvadd items (bvsub per_page #x00000001)) per_page)".parse().unwrap();
        let view = integer_view(&p, &t).expect("fits");
        assert_eq!(view.term.to_string(), "(div (+ items (- per_page 1)) per_page)");
        assert_eq!(
            view.domain,
            [("items".into(), Interval { lo: 0, hi: 500 }), ("per_page".into(), Interval { lo: 1, hi: 50 })]
        );
        let root = view.term.root();
        assert_eq!(view.intervals[root.index()], Some(Interval { lo: 0, hi: 549 }));
    }

    #[test]
    fn wrapping_signs_and_bit_operations_keep_the_bit_vectors() {
        // A product that can leave 32 bits over the box.
        let p = problem(&[("x", "i32")], "i32", &[(&[0], 0), (&[100_000], 0)]);
        assert!(integer_view(&p, &"(bvmul x x)".parse().unwrap()).is_none());
        // Signed division of a value that may be negative truncates, as C does; unsigned
        // division of it reads the bits as a huge number; a divisor that may be 0 is not
        // an integer division at all.
        let p = problem(&[("x", "i32")], "i32", &[(&[-40], -8), (&[120], 24)]);
        assert_eq!(integer_view(&p, &"(bvsdiv x #x00000005)".parse().unwrap()).unwrap().term.to_string(), "(tdiv x 5)");
        assert!(integer_view(&p, &"(bvudiv x #x00000005)".parse().unwrap()).is_none());
        assert!(integer_view(&p, &"(bvsdiv #x00000005 x)".parse().unwrap()).is_none());
        assert!(integer_view(&p, &"(bvand x #x0000000f)".parse().unwrap()).is_none());
        // Signed comparisons and arithmetic on negative values are fine.
        let t: Term = "(ite (bvslt x #x00000000) (bvneg x) x)".parse().unwrap();
        assert_eq!(integer_view(&p, &t).expect("fits").term.to_string(), "(ite (< x 0) (- x) x)");
    }
}
