//! Fitted integer rules: terms whose constants are solved from the examples rather than
//! enumerated.
//!
//! Everyday integer rules are affine pieces with integer division: `c * 9 / 5 + 32`,
//! `(cents + 5) / 10 * 10`, `200 * ((minutes + 59) / 60)`, `(3 * hours * rate - 40 * rate) / 2`.
//! Their constants (9, 5, 32, 59, 60, 200) are out of reach of an enumeration that has
//! to guess them. Here they are fitted: the examples are sorted by each parameter and cut
//! into overlapping windows (a piece of a piecewise rule fills whole windows); in each
//! window a least-squares slope gives the ratio `p / q` (tried over small and round
//! denominators and the description's numbers; the fit that reproduces the most calls
//! ranks first, and one that explains no calls the better ones leave is dropped), the step height `m` is the greatest common
//! divisor of the outputs' differences, and the offsets `b` and `e` of
//! `m * ((p * x + b) / q) + e` are solved exactly. With several parameters the slope is a
//! least-squares fit over the parameters and their pairwise products. A fit is kept when it
//! reproduces an unbroken run of two windows' worth of calls around its window (a fit of
//! one window only straddles two pieces); it is then offered to the search as a
//! ready-made term, so that it can be the whole program or a leaf of a case split.
use crate::dsl::{eval_term, gcd, width_mask, Op, Sort, Term, Value};
use crate::spec::Problem;

/// Calls per window.
const WINDOW: usize = 12;
/// Most fitted terms offered.
const MAX_FITTED: usize = 8;
/// Fewest calls a fitted term must reproduce to be offered (fewer do not pin its
/// constants).
const MIN_SUPPORT: usize = 6;
/// Denominators tried, besides the description's numbers and a round one read off the slope.
const DENOMINATORS: [i128; 22] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 15, 16, 20, 24, 25, 30, 50, 60, 100, 1000, 1024];
/// Largest denominator whose every offset is tried (above it: floor, ceiling, rounding).
const FULL_OFFSET_SEARCH: i128 = 1000;

/// A parameter the fits use: its name, its term in the result's width, its signedness.
struct Input {
    index: usize,
    term: Term,
    signed: bool,
}

/// The numbers of the examples: each usable parameter's and the output's.
struct Numbers {
    inputs: Vec<Input>,
    /// `xs[example][input]`.
    xs: Vec<Vec<i128>>,
    ys: Vec<i128>,
    arithmetic: Arithmetic,
}

/// The result's kind of integer, which sets the operators and the division.
#[derive(Clone, Copy)]
enum Arithmetic {
    /// Bit-vectors of this width; `signed`: division truncates toward zero over signed
    /// values (`bvsdiv`), otherwise it divides unsigned values (`bvudiv`).
    Bv { width: u32, signed: bool },
    /// Mathematical integers (SMT-LIB `Int`): `div` rounds down for a positive divisor.
    Int,
}

impl Numbers {
    fn of(problem: &Problem) -> Option<Numbers> {
        let mut inputs = Vec::new();
        let arithmetic = match problem.output.sort {
            Sort::BitVec(w) => {
                for (index, p) in problem.params.iter().enumerate() {
                    let Sort::BitVec(wp) = p.ty.sort else { continue };
                    if wp > w {
                        continue;
                    }
                    let var = Term::var(&p.name);
                    let term = if wp == w {
                        var
                    } else if p.ty.signed {
                        Term::apply(Op::SignExtend(w - wp), &[&var])
                    } else {
                        Term::apply(Op::ZeroExtend(w - wp), &[&var])
                    };
                    inputs.push(Input { index, term, signed: p.ty.signed });
                }
                Arithmetic::Bv { width: w, signed: problem.output.signed || inputs.iter().any(|i| i.signed) }
            }
            Sort::Int => {
                for (index, p) in problem.params.iter().enumerate() {
                    if p.ty.sort == Sort::Int {
                        inputs.push(Input { index, term: Term::var(&p.name), signed: true });
                    }
                }
                Arithmetic::Int
            }
            _ => return None,
        };
        if inputs.is_empty() || inputs.len() > 3 {
            return None;
        }
        let mut xs = Vec::new();
        let mut ys = Vec::new();
        for ex in &problem.examples {
            ys.push(ex.output.integer(problem.output.signed)?);
            xs.push(inputs.iter().map(|i| ex.args[i.index].integer(i.signed)).collect::<Option<Vec<_>>>()?);
        }
        Some(Numbers { inputs, xs, ys, arithmetic })
    }

    /// The division the emitted term performs, on exact integers.
    fn div(&self, n: i128, q: i128) -> Option<i128> {
        match self.arithmetic {
            Arithmetic::Bv { signed: true, .. } => Some(n / q),
            Arithmetic::Bv { signed: false, .. } => (n >= 0).then(|| n / q),
            Arithmetic::Int => Some(n.div_euclid(q)),
        }
    }

    fn konst(&self, c: i128) -> Term {
        match self.arithmetic {
            Arithmetic::Bv { width, .. } => {
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "two's complement bits")]
                let bits = (c as u64) & width_mask(width);
                Term::leaf(Op::Const(Value::bv(width, bits)))
            }
            Arithmetic::Int => Term::leaf(Op::Const(Value::Int(c))),
        }
    }

    /// The operator for `+`, `-` (binary), `*`, unary `-` and the division.
    fn op(&self, which: char) -> Op {
        let bv = matches!(self.arithmetic, Arithmetic::Bv { .. });
        match (which, bv) {
            ('+', true) => Op::BvAdd,
            ('+', false) => Op::Add,
            ('-', true) => Op::BvSub,
            ('-', false) => Op::Sub,
            ('*', true) => Op::BvMul,
            ('*', false) => Op::Mul,
            ('~', true) => Op::BvNeg,
            ('~', false) => Op::Neg,
            (_, false) => Op::Div,
            (_, true) => match self.arithmetic {
                Arithmetic::Bv { signed: true, .. } => Op::BvSdiv,
                _ => Op::BvUdiv,
            },
        }
    }
}

/// `Σ c_j · monomial_j + b`, divided by `q`, times `m`, plus `e`.
struct Fit {
    /// Coefficient per monomial (see [`monomials`]).
    coefficients: Vec<i128>,
    b: i128,
    q: i128,
    m: i128,
    e: i128,
}

/// The monomials over `n` inputs: each input, then each product of two different ones.
fn monomials(n: usize) -> Vec<Vec<usize>> {
    let mut out: Vec<Vec<usize>> = (0..n).map(|i| vec![i]).collect();
    for i in 0..n {
        for j in i + 1..n {
            out.push(vec![i, j]);
        }
    }
    out
}

fn monomial_value(x: &[i128], mono: &[usize]) -> i128 {
    mono.iter().map(|&i| x[i]).product()
}

/// Least squares `y ≈ Σ β_j f_j + β_0` by the normal equations; `None` when singular.
#[allow(clippy::cast_precision_loss, reason = "a slope estimate; exact checks follow")]
fn least_squares(features: &[Vec<i128>], ys: &[i128]) -> Option<Vec<f64>> {
    let k = features.first()?.len() + 1;
    let mut a = vec![vec![0f64; k + 1]; k];
    for (f, y) in features.iter().zip(ys) {
        let row: Vec<f64> = f.iter().map(|v| *v as f64).chain(std::iter::once(1.0)).collect();
        for i in 0..k {
            for j in 0..k {
                a[i][j] += row[i] * row[j];
            }
            a[i][k] += row[i] * *y as f64;
        }
    }
    for col in 0..k {
        let pivot = (col..k).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if a[pivot][col].abs() < 1e-9 {
            return None;
        }
        a.swap(col, pivot);
        let pivot_row = a[col].clone();
        for (r, row) in a.iter_mut().enumerate() {
            if r != col {
                let f = row[col] / pivot_row[col];
                for (x, p) in row.iter_mut().zip(&pivot_row).skip(col) {
                    *x -= f * p;
                }
            }
        }
    }
    Some((0..k - 1).map(|i| a[i][k] / a[i][i]).collect())
}

/// The offsets `b` tried for denominator `q`: floor, ceiling and rounding first.
fn offsets(q: i128) -> Vec<i128> {
    let mut out = vec![0, q - 1, q / 2];
    if q <= FULL_OFFSET_SEARCH {
        out.extend(1..q - 1);
    }
    out.dedup();
    out
}

/// Solves `b` and `e` for fixed coefficients, `q` and `m` on the window's calls.
fn solve_offsets(
    nums: &Numbers,
    window: &[usize],
    feats: &[Vec<i128>],
    coeffs: &[i128],
    q: i128,
    m: i128,
) -> Option<Fit> {
    let sums: Vec<i128> = window
        .iter()
        .map(|&i| feats[i].iter().zip(coeffs).map(|(f, c)| f.checked_mul(*c)).sum::<Option<i128>>())
        .collect::<Option<_>>()?;
    // Of the offsets that fit, the one that needs no added constant, then floor, ceiling
    // or rounding, then the smallest added constant.
    let mut best: Option<((bool, usize, i128), i128, i128)> = None;
    'offset: for (rank, b) in offsets(q).into_iter().enumerate() {
        let mut e = None;
        for (s, &i) in sums.iter().zip(window) {
            let Some(f) = nums.div(s + b, q) else { continue 'offset };
            let ei = nums.ys[i] - m * f;
            match e {
                None => e = Some(ei),
                Some(x) if x == ei => {}
                Some(_) => continue 'offset,
            }
        }
        let Some(e) = e else { continue };
        let key = (e != 0, rank.min(3), e.abs());
        if best.as_ref().is_none_or(|(k, _, _)| key < *k) {
            best = Some((key, b, e));
        }
    }
    best.map(|(_, b, e)| Fit { coefficients: coeffs.to_vec(), b, q, m, e })
}

/// `fit` without the monomials it does not need on the window: least squares leaves small
/// coefficients on monomials that only absorb rounding (`+ 5 * reduced` beside
/// `19 * net - 12 * net * reduced`), which the window's calls rarely refute; each is dropped
/// while the rest still reproduces every call.
fn sparsest(nums: &Numbers, window: &[usize], feats: &[Vec<i128>], mut fit: Fit) -> Fit {
    'again: loop {
        let used = fit.coefficients.iter().filter(|c| **c != 0).count();
        if used <= 1 {
            return fit;
        }
        // Smallest coefficients first: the likeliest to be noise.
        let mut order: Vec<usize> = (0..fit.coefficients.len()).filter(|&j| fit.coefficients[j] != 0).collect();
        order.sort_by_key(|&j| fit.coefficients[j].abs());
        for j in order {
            let mut fewer = fit.coefficients.clone();
            fewer[j] = 0;
            if let Some(f) = solve_offsets(nums, window, feats, &fewer, fit.q, fit.m) {
                fit = f;
                continue 'again;
            }
        }
        return fit;
    }
}

/// Fits on one window: one per denominator that reproduces every call, per step height
/// (neighbouring denominators can both fit a window; the calls beyond it choose).
fn fit_window(nums: &Numbers, window: &[usize], feats: &[Vec<i128>], extra_q: &[i128]) -> Vec<Fit> {
    let y0 = nums.ys[window[0]];
    if window.iter().all(|&i| nums.ys[i] == y0) {
        return Vec::new();
    }
    let step = window.iter().fold(0, |g, &i| gcd(g, nums.ys[i] - y0));
    let wf: Vec<Vec<i128>> = window.iter().map(|&i| feats[i].clone()).collect();
    let wy: Vec<i128> = window.iter().map(|&i| nums.ys[i]).collect();
    let Some(slopes) = least_squares(&wf, &wy) else { return Vec::new() };
    let mut out = Vec::new();
    let heights = if step > 1 { vec![1, step] } else { vec![1] };
    for m in heights {
        #[allow(clippy::cast_precision_loss, reason = "a slope estimate")]
        let ratios: Vec<f64> = slopes.iter().map(|s| s / m as f64).collect();
        let mut qs: Vec<i128> = DENOMINATORS.to_vec();
        // A step wider than the listed ones: one over the slope, for a single input.
        if let [r] = ratios[..] {
            if r.abs() > 1e-12 && r.abs() < 1.0 {
                #[allow(clippy::cast_possible_truncation, reason = "bounded below")]
                let inv = (1.0 / r.abs()).round() as i128;
                // Only a round one: a step of 49 that fits a dozen calls is a coincidence.
                if inv <= 1 << 20 && super::round::roundness(i64::try_from(inv).unwrap_or(0)) > 0 {
                    qs.push(inv);
                }
            }
        }
        qs.extend(extra_q.iter().copied().filter(|q| (2..=1 << 20).contains(q)));
        qs.sort_unstable();
        qs.dedup();
        for q in qs {
            #[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation, reason = "rounded estimates")]
            let coeffs: Vec<i128> = ratios.iter().map(|r| (r * q as f64).round() as i128).collect();
            if coeffs.iter().all(|c| *c == 0) || coeffs.iter().fold(q, |g, c| gcd(g, *c)) != 1 {
                continue;
            }
            if let Some(fit) = solve_offsets(nums, window, feats, &coeffs, q, m) {
                out.push(sparsest(nums, window, feats, fit));
            }
        }
    }
    out
}

/// The calls in one order (as given, or sorted by one input, ties by the others), and
/// its windows: overlapping runs of [`WINDOW`] (the whole order when it is that short).
struct Ordering {
    order: Vec<usize>,
    windows: Vec<std::ops::Range<usize>>,
}

/// The calls as given (one window of all of them) and sorted by each input.
fn orderings(nums: &Numbers) -> Vec<Ordering> {
    let n = nums.ys.len();
    let mut out = vec![Ordering { order: (0..n).collect(), windows: std::iter::once(0..n).collect() }];
    if n <= WINDOW {
        return out;
    }
    for k in 0..nums.inputs.len() {
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&a, &b| (nums.xs[a][k], &nums.xs[a]).cmp(&(nums.xs[b][k], &nums.xs[b])));
        let mut windows = Vec::new();
        let mut start = 0;
        while start < n {
            let end = (start + WINDOW).min(n);
            if end - start >= WINDOW / 2 {
                windows.push(start..end);
            }
            if end == n {
                break;
            }
            start += WINDOW / 2;
        }
        out.push(Ordering { order, windows });
    }
    out
}

/// The longest run of `order` around `window` on which every call is reproduced (`ok`).
fn run_around(order: &[usize], window: &std::ops::Range<usize>, ok: &[bool]) -> usize {
    if !order[window.clone()].iter().all(|&i| ok[i]) {
        return 0;
    }
    let before = order[..window.start].iter().rev().take_while(|&&i| ok[i]).count();
    let after = order[window.end..].iter().take_while(|&&i| ok[i]).count();
    before + window.len() + after
}

fn term_of(nums: &Numbers, monos: &[Vec<usize>], fit: &Fit) -> Term {
    let mono_term = |mono: &[usize]| -> Term {
        let mut t = nums.inputs[mono[0]].term.clone();
        for &i in &mono[1..] {
            t = Term::apply(nums.op('*'), &[&t, &nums.inputs[i].term]);
        }
        t
    };
    // Positive parts first, so that `a - b` reads as written.
    let mut parts: Vec<(i128, Term)> =
        fit.coefficients.iter().zip(monos).filter(|(c, _)| **c != 0).map(|(c, mono)| (*c, mono_term(mono))).collect();
    parts.sort_by_key(|(c, _)| *c < 0);
    let scaled = |c: i128, t: &Term| {
        if c.abs() == 1 {
            t.clone()
        } else {
            Term::apply(nums.op('*'), &[t, &nums.konst(c.abs())])
        }
    };
    let mut sum: Option<Term> = None;
    for (c, t) in &parts {
        let piece = scaled(*c, t);
        sum = Some(match sum {
            None if *c < 0 => Term::apply(nums.op('~'), &[&piece]),
            None => piece,
            Some(s) if *c < 0 => Term::apply(nums.op('-'), &[&s, &piece]),
            Some(s) => Term::apply(nums.op('+'), &[&s, &piece]),
        });
    }
    let Some(mut t) = sum else { return nums.konst(fit.e) };
    let add = |t: Term, c: i128| match c {
        0 => t,
        c if c < 0 => Term::apply(nums.op('-'), &[&t, &nums.konst(-c)]),
        c => Term::apply(nums.op('+'), &[&t, &nums.konst(c)]),
    };
    t = add(t, fit.b);
    if fit.q != 1 {
        t = Term::apply(nums.op('/'), &[&t, &nums.konst(fit.q)]);
    }
    if fit.m != 1 {
        t = Term::apply(nums.op('*'), &[&t, &nums.konst(fit.m)]);
    }
    add(t, fit.e)
}

/// Fitted terms for the problem's examples, most supported first; empty unless the result
/// and at least one parameter are integers of the same kind (at most three of them).
#[must_use]
pub fn fitted_terms(problem: &Problem) -> Vec<Term> {
    let Some(nums) = Numbers::of(problem) else { return Vec::new() };
    if nums.ys.len() < MIN_SUPPORT {
        return Vec::new();
    }
    let described: Vec<i128> = problem
        .description
        .as_deref()
        .map(super::description::description_numbers)
        .unwrap_or_default()
        .into_iter()
        .map(i128::from)
        .collect();
    let inputs = problem.input_columns();
    let vars: Vec<(&str, &crate::dsl::Column)> =
        problem.params.iter().map(|p| p.name.as_str()).zip(inputs.iter()).collect();
    let expected = problem.output_column();
    let n = problem.examples.len();
    let mut families: Vec<Vec<Vec<usize>>> = (0..nums.inputs.len()).map(|i| vec![vec![i]]).collect();
    if nums.inputs.len() > 1 {
        families.push(monomials(nums.inputs.len()));
    }
    // A piece of a rule holds on a run of calls longer than one window (in the window's
    // order): a fit that holds on its window only straddles two pieces.
    let piece_support = (2 * WINDOW).min(n);
    let mut found: Vec<(usize, Term, Vec<bool>)> = Vec::new();
    let features: Vec<Vec<Vec<i128>>> = families
        .iter()
        .map(|monos| nums.xs.iter().map(|x| monos.iter().map(|m| monomial_value(x, m)).collect()).collect())
        .collect();
    for ordering in orderings(&nums) {
        for range in &ordering.windows {
            let window = &ordering.order[range.clone()];
            for (monos, feats) in families.iter().zip(&features) {
                for fit in fit_window(&nums, window, feats, &described) {
                    let term = term_of(&nums, monos, &fit);
                    if found.iter().any(|(_, t, _)| *t == term) {
                        continue;
                    }
                    let Ok(column) = eval_term(&term, &vars, &problem.funs, n) else { continue };
                    let ok: Vec<bool> = (0..n).map(|i| column.get(i) == expected.get(i)).collect();
                    let support = ok.iter().filter(|b| **b).count();
                    if support >= MIN_SUPPORT && run_around(&ordering.order, range, &ok) >= piece_support {
                        found.push((support, term, ok));
                    }
                }
            }
        }
    }
    // Most calls first; a fit is kept only when it explains calls the fits kept before it
    // do not (a step of 1000 / 17 that agrees with 60 on most of a piece adds nothing).
    found.sort_by_key(|(support, term, _)| (std::cmp::Reverse(*support), term.size()));
    let mut explained = vec![false; n];
    let mut kept = Vec::new();
    for (_, term, ok) in found {
        let new = ok.iter().zip(&explained).filter(|(o, e)| **o && !**e).count();
        if new >= MIN_SUPPORT {
            explained.iter_mut().zip(&ok).for_each(|(e, o)| *e |= *o);
            kept.push(term);
        }
        if kept.len() == MAX_FITTED {
            break;
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Examples;

    fn problem(params: &[&str], rows: &[(Vec<i64>, i64)], description: Option<&str>) -> Problem {
        let ps: Vec<String> = params.iter().map(|p| format!(r#"{{"name": "{p}", "type": "i32"}}"#)).collect();
        let ex: Vec<String> = rows
            .iter()
            .map(|(a, o)| {
                let args: Vec<String> = a.iter().map(i64::to_string).collect();
                format!(r#"{{"args": [{}], "output": {o}}}"#, args.join(","))
            })
            .collect();
        let desc = description.map_or(String::new(), |d| format!(r#""description": "{d}","#));
        let json = format!(
            r#"{{"function": "f", {desc} "params": [{}], "output_type": "i32", "examples": [{}]}}"#,
            ps.join(","),
            ex.join(",")
        );
        Examples::from_json(&json).unwrap().to_problem().unwrap()
    }

    fn terms(p: &Problem) -> Vec<String> {
        fitted_terms(p).iter().map(ToString::to_string).collect()
    }

    #[test]
    fn a_conversion_with_truncating_division_and_an_offset() {
        let rows: Vec<(Vec<i64>, i64)> = (-40..=120).step_by(7).map(|c| (vec![c], c * 9 / 5 + 32)).collect();
        let found = terms(&problem(&["c"], &rows, None));
        assert!(found.iter().any(|t| t.contains("#x00000009") && t.contains("#x00000005")), "{found:?}");
        assert!(found[0].contains("bvsdiv"), "{found:?}");
    }

    #[test]
    fn rounding_to_a_multiple_is_a_step_of_the_offset_input() {
        let rows: Vec<(Vec<i64>, i64)> = (0..1000).step_by(37).map(|c| (vec![c], (c + 5) / 10 * 10)).collect();
        let found = terms(&problem(&["cents"], &rows, None));
        assert_eq!(found[0], "(bvmul (bvsdiv (bvadd cents #x00000005) #x0000000a) #x0000000a)", "{found:?}");
    }

    #[test]
    fn a_piece_of_a_piecewise_rule_is_fitted_on_its_own_calls() {
        // parking: free up to 30 minutes, then 200 per started hour, at most 2000.
        let fee = |m: i64| if m <= 30 { 0 } else { (200 * ((m + 59) / 60)).min(2000) };
        let rows: Vec<(Vec<i64>, i64)> = (0..900).step_by(11).map(|m| (vec![m], fee(m))).collect();
        let found = terms(&problem(&["minutes"], &rows, None));
        let want = "(bvmul (bvsdiv (bvadd minutes #x0000003b) #x0000003c) #x000000c8)";
        assert!(found.iter().any(|t| t == want), "{found:?}");
        // Windows that straddle the free half hour and the first hours fit steps of their
        // own (`minutes / 30 * 200`); those are not offered.
        assert_eq!(found, [want], "only the piece itself");
    }

    #[test]
    fn products_of_two_inputs_with_a_common_denominator() {
        let pay = |h: i64, r: i64| if h <= 40 { h * r } else { 40 * r + (h - 40) * r * 3 / 2 };
        let mut rows = Vec::new();
        for h in (0..70).step_by(3) {
            for r in (10..60).step_by(9) {
                rows.push((vec![h, r], pay(h, r)));
            }
        }
        let found = terms(&problem(&["hours", "rate"], &rows, None));
        assert!(found.iter().any(|t| t == "(bvmul hours rate)"), "{found:?}");
        let over = found.iter().find(|t| t.contains("#x00000002")).expect("the overtime piece");
        let p = problem(&["hours", "rate"], &rows, None);
        let t: Term = over.parse().unwrap();
        let inputs = p.input_columns();
        let vars: Vec<(&str, &crate::dsl::Column)> = vec![("hours", &inputs[0]), ("rate", &inputs[1])];
        let col = eval_term(&t, &vars, &p.funs, p.examples.len()).unwrap();
        let expected = p.output_column();
        for (i, (a, _)) in rows.iter().enumerate() {
            if a[0] > 40 {
                assert_eq!(col.get(i), expected.get(i), "{over} on {a:?}");
            }
        }
    }

    #[test]
    fn monomials_that_only_absorb_rounding_are_dropped() {
        let vat = |net: i64, reduced: i64| if reduced == 1 { net * 7 / 100 } else { net * 19 / 100 };
        let mut rows = Vec::new();
        for i in 0..60 {
            let net = (i * 7919) % 100_000;
            rows.push((vec![net, i % 2], vat(net, i % 2)));
        }
        let found = terms(&problem(&["net", "reduced"], &rows, None));
        for t in &found {
            // A `reduced` term of its own (not in a product with net) shifts the rounding.
            let alone = t.matches("reduced").count() > t.matches("(bvmul net reduced)").count();
            assert!(!alone, "{t} in {found:?}");
        }
    }

    #[test]
    fn nothing_is_fitted_to_unrelated_outputs() {
        let rows: Vec<(Vec<i64>, i64)> =
            (0..40).map(|i| (vec![i], [3, 17, 4, 99, 12, 0, 56][usize::try_from(i).unwrap() % 7])).collect();
        assert_eq!(terms(&problem(&["x"], &rows, None)), Vec::<String>::new());
    }
}
