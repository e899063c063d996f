//! Inputs worth asking the original about (oracle-guided synthesis): where a candidate
//! that fits every observed call could still be wrong.
//!
//! - Each comparison of a parameter with a constant in the candidate, at the constant and
//!   on either side of it (the other parameters as in observed calls): a threshold the
//!   calls do not pin (29 and 31 observed, the rule says `< 30` or `< 31`) is settled here.
//! - The steps of each division by a constant: multiples of it in the observed range and
//!   either side (a floor and a ceiling differ only there).
//! - Each integer parameter at 0, 1, -1 (when signed) and just outside the range the calls
//!   covered.
//! - Random inputs within the ranges the calls covered; strings are observed ones with
//!   one character changed, removed or repeated.
//!
//! Inputs already observed are left out.
use rand::Rng;

use crate::{
    dsl::{width_mask, Op, Sort, Term, Value},
    spec::{cegis::seeded_rng, Problem},
};

/// Observed calls whose other parameters accompany each boundary value.
const BASES: usize = 2;

/// The parameter and constant of a comparison node, if it compares one with the other.
fn compared(term: &Term, node: &crate::dsl::Node) -> Option<(String, Value)> {
    let comparison = matches!(
        node.op,
        Op::BvSlt
            | Op::BvSle
            | Op::BvSgt
            | Op::BvSge
            | Op::BvUlt
            | Op::BvUle
            | Op::BvUgt
            | Op::BvUge
            | Op::Lt
            | Op::Le
            | Op::Gt
            | Op::Ge
            | Op::Eq
    );
    if !comparison || node.children.len() != 2 {
        return None;
    }
    let (a, b) = (&term.node(node.children[0]).op, &term.node(node.children[1]).op);
    match (a, b) {
        (Op::Var(v), Op::Const(c)) | (Op::Const(c), Op::Var(v)) => Some((v.to_string(), c.clone())),
        _ => None,
    }
}

/// `v` moved by `delta` (bit-vectors wrap, strings and booleans are left alone).
fn shifted(v: &Value, delta: i64) -> Option<Value> {
    match v {
        #[allow(clippy::cast_sign_loss, reason = "two's complement bits")]
        Value::Bv { width, bits } => Some(Value::bv(*width, bits.wrapping_add(delta as u64) & width_mask(*width))),
        Value::Int(i) => Some(Value::Int(i + i128::from(delta))),
        _ => None,
    }
}

/// The `w`-bit value of `x` (two's complement).
fn bits_of(w: u32, x: i128) -> Value {
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "two's complement bits")]
    Value::bv(w, (x as u64) & width_mask(w))
}

/// `s` with one character replaced, removed or repeated (an observed character, so the
/// text stays of the kind the calls pass).
fn mutated(s: &str, rng: &mut impl Rng) -> String {
    let mut chars: Vec<char> = s.chars().collect();
    if chars.is_empty() {
        return "0".into();
    }
    let at = rng.gen_range(0..chars.len());
    let other = chars[rng.gen_range(0..chars.len())];
    match rng.gen_range(0..3) {
        0 => chars[at] = if other == chars[at] { '0' } else { other },
        1 => {
            chars.remove(at);
        }
        _ => chars.insert(at, other),
    }
    chars.into_iter().collect()
}

/// Up to `random` random inputs and every boundary input of `term`'s comparisons, none of
/// them an input of `problem`'s examples; `seed` varies the random ones.
#[must_use]
pub fn distinguishing_inputs(problem: &Problem, term: &Term, random: usize, seed: u64) -> Vec<Vec<Value>> {
    let Some(first) = problem.examples.first() else { return Vec::new() };
    let seen: std::collections::HashSet<&Vec<Value>> = problem.examples.iter().map(|e| &e.args).collect();
    let mut out: Vec<Vec<Value>> = Vec::new();
    let push = |args: Vec<Value>, out: &mut Vec<Vec<Value>>| {
        if !seen.contains(&args) && !out.contains(&args) {
            out.push(args);
        }
    };
    let bases: Vec<&Vec<Value>> =
        problem.examples.iter().step_by((problem.examples.len() / BASES).max(1)).map(|e| &e.args).collect();
    for node in term.nodes() {
        let Some((name, constant)) = compared(term, node) else { continue };
        let Some(index) = problem.params.iter().position(|p| p.name == name) else { continue };
        for delta in [-1, 0, 1] {
            let Some(v) = shifted(&constant, delta) else { continue };
            for base in &bases {
                let mut args = (*base).clone();
                args[index] = v.clone();
                push(args, &mut out);
            }
        }
    }
    // Each integer parameter's range over the calls.
    let ranges: Vec<Option<(i128, i128)>> = (0..problem.params.len()).map(|i| problem.param_range(i)).collect();
    // The edges of each integer parameter: 0, ±1, and just past the observed range.
    for (index, p) in problem.params.iter().enumerate() {
        let (Sort::BitVec(w), Some((lo, hi))) = (p.ty.sort, ranges[index]) else { continue };
        let mut edges = vec![0, 1, lo - 1, hi + 1];
        if p.ty.signed {
            edges.push(-1);
        }
        for x in edges {
            if !p.ty.signed && x < 0 {
                continue;
            }
            let v = bits_of(w, x);
            for base in &bases {
                let mut args = (*base).clone();
                args[index] = v.clone();
                push(args, &mut out);
            }
        }
    }
    // The steps of each division by a constant `q` of an expression of a parameter: at a
    // few multiples of `q` in the observed range and on either side (floor or ceiling,
    // `(x + 59) / 60` or `x / 60 + 1`, differ only there).
    for node in term.nodes() {
        if !matches!(node.op, Op::BvSdiv | Op::BvUdiv | Op::Div) || node.children.len() != 2 {
            continue;
        }
        let Op::Const(divisor) = &term.node(node.children[1]).op else { continue };
        let Some(q) = divisor.integer(false) else { continue };
        if q < 2 {
            continue;
        }
        let mut dividend = Term::new();
        dividend.add_term(term, node.children[0]);
        for (index, p) in problem.params.iter().enumerate() {
            let mentioned = dividend.nodes().iter().any(|n| matches!(&n.op, Op::Var(v) if **v == *p.name));
            let (Sort::BitVec(w), Some((lo, hi)), true) = (p.ty.sort, ranges[index], mentioned) else { continue };
            let (first, last) = (lo.div_euclid(q) + 1, hi.div_euclid(q));
            let ks: Vec<i128> =
                if last - first > 2 { vec![first, (first + last) / 2, last] } else { (first..=last).collect() };
            for k in ks {
                for delta in [-1, 0, 1] {
                    let v = bits_of(w, k * q + delta);
                    for base in &bases {
                        let mut args = (*base).clone();
                        args[index] = v.clone();
                        push(args, &mut out);
                    }
                }
            }
        }
    }
    let mut rng = seeded_rng(seed);
    for _ in 0..random {
        let mut args = first.args.clone();
        for (i, p) in problem.params.iter().enumerate() {
            args[i] = match (p.ty.sort, ranges[i]) {
                (Sort::BitVec(w), Some((lo, hi))) => bits_of(w, rng.gen_range(lo..=hi)),
                (Sort::Int, Some((lo, hi))) => Value::Int(rng.gen_range(lo..=hi)),
                (Sort::Bool, _) => Value::Bool(rng.gen()),
                (Sort::String, _) => {
                    let Value::Str(s) = &problem.examples[rng.gen_range(0..problem.examples.len())].args[i] else {
                        continue;
                    };
                    Value::str(&mutated(s, &mut rng))
                }
                _ => continue,
            };
        }
        push(args, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Examples;

    #[test]
    fn an_unpinned_threshold_is_asked_about_on_both_sides() {
        let json = r#"{"function": "fee", "params": [{"name": "m", "type": "i32"}], "output_type": "i32",
            "examples": [{"args": [0], "output": 0}, {"args": [29], "output": 0},
                         {"args": [31], "output": 200}, {"args": [90], "output": 200}]}"#;
        let p = Examples::from_json(json).unwrap().to_problem().unwrap();
        let term: Term = "(ite (bvslt m #x0000001e) #x00000000 #x000000c8)".parse().unwrap();
        let asked = distinguishing_inputs(&p, &term, 10, 1);
        let m = |v: u64| vec![Value::bv(32, v)];
        assert!(asked.contains(&m(30)), "{asked:?}");
        assert!(!asked.contains(&m(29)) && !asked.contains(&m(31)), "observed inputs are not asked again: {asked:?}");
        assert!(asked.contains(&m(91)) && asked.contains(&m(u64::from(u32::MAX))), "edges of the range: {asked:?}");
        // A step rule: its steps are asked about, floor or ceiling.
        let steps: Term = "(bvmul (bvsdiv (bvadd m #x0000003b) #x0000003c) #x000000c8)".parse().unwrap();
        let asked = distinguishing_inputs(&p, &steps, 0, 1);
        assert!(asked.contains(&m(60)) && asked.contains(&m(61)) && asked.contains(&m(59)), "{asked:?}");
        for a in &asked {
            let Value::Bv { bits, .. } = a[0] else { panic!() };
            assert!(bits <= 91 || bits == u64::from(u32::MAX), "random inputs stay in the observed range: {asked:?}");
        }
    }
}
