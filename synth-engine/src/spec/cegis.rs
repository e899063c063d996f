//! Counterexample-guided checking of a candidate against a reference
//! implementation: input sampling (edge values and seeded random values) and
//! search for a disagreeing input.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{Example, Problem};
use crate::dsl::{eval_term, width_mask, Column, EvalError, Sort, Term, Value};

/// The seeded generator used for sampling.
#[must_use]
pub fn seeded_rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// Edge values for a sort: 0, 1, -1, the sign bit, the largest signed value,
/// every power of two and its neighbours (bit-vectors); small and boundary
/// numbers (Int); a few short strings.
#[must_use]
pub fn edge_values(sort: Sort) -> Vec<Value> {
    match sort {
        Sort::Bool => vec![Value::Bool(false), Value::Bool(true)],
        Sort::Int => [0i128, 1, -1, 2, -2, 10, 100, i128::from(i32::MAX), i128::from(i32::MIN)]
            .into_iter()
            .map(Value::Int)
            .collect(),
        Sort::String => ["", "a", " ", "ab", "a b", "0", "12", "A.B"].into_iter().map(Value::str).collect(),
        Sort::BitVec(w) => {
            let m = width_mask(w);
            let mut v = vec![0, 1, m, 1 << (w - 1), m >> 1, 2, m - 1];
            for k in 0..w {
                let p = 1u64 << k;
                v.extend([p, p.wrapping_sub(1) & m, (p + 1) & m, !p & m]);
            }
            v.sort_unstable();
            v.dedup();
            v.into_iter().map(|b| Value::bv(w, b)).collect()
        }
    }
}

/// A random value of a sort (bit-vectors are uniform or sparse/dense-biased).
pub fn random_value(sort: Sort, rng: &mut impl Rng) -> Value {
    match sort {
        Sort::Bool => Value::Bool(rng.gen()),
        Sort::Int => Value::Int(i128::from(rng.gen_range(-1000i64..=1000))),
        Sort::String => {
            let n = rng.gen_range(0..8);
            let s: String = (0..n).map(|_| char::from(b" ab.-AZ09"[rng.gen_range(0..9)])).collect();
            Value::Str(s.into())
        }
        Sort::BitVec(w) => {
            let r: u64 = rng.gen();
            let bits = match rng.gen_range(0..4) {
                0 => r & rng.gen::<u64>() & rng.gen::<u64>(),
                1 => r | rng.gen::<u64>() | rng.gen::<u64>(),
                2 => r >> rng.gen_range(0..64),
                _ => r,
            };
            Value::bv(w, bits)
        }
    }
}

/// Initial inputs for a reference-specified problem: edge values per
/// parameter (crossed for single-parameter functions, zipped otherwise) and
/// seeded random values, `n` in total at most.
#[must_use]
pub fn sample_inputs(problem: &Problem, n: usize, seed: u64) -> Vec<Vec<Value>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let edges: Vec<Vec<Value>> = problem.params.iter().map(|p| edge_values(p.ty.sort)).collect();
    let mut out: Vec<Vec<Value>> = Vec::new();
    let longest = edges.iter().map(Vec::len).max().unwrap_or(0);
    // Interleave edge values with random ones so both kinds survive truncation.
    for i in 0..longest.min(n / 2) {
        out.push(edges.iter().map(|e| e[(i * 7) % e.len()].clone()).collect());
    }
    while out.len() < n {
        out.push(problem.params.iter().map(|p| random_value(p.ty.sort, &mut rng)).collect());
    }
    out
}

/// Evaluates the reference on inputs, producing examples.
///
/// # Errors
///
/// If the reference fails to evaluate.
///
/// # Panics
///
/// If `problem.reference` is `None`.
pub fn label(problem: &Problem, inputs: &[Vec<Value>]) -> Result<Vec<Example>, EvalError> {
    let reference = problem.reference.as_ref().expect("a reference implementation");
    let outs = eval_on(problem, reference, inputs)?;
    Ok(inputs.iter().enumerate().map(|(i, a)| Example { args: a.clone(), output: outs.get(i) }).collect())
}

fn eval_on(problem: &Problem, term: &Term, inputs: &[Vec<Value>]) -> Result<Column, EvalError> {
    let cols: Vec<Column> = problem
        .params
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let vals: Vec<Value> = inputs.iter().map(|a| a[i].clone()).collect();
            Column::from_values(p.ty.sort, &vals)
        })
        .collect::<Result<_, _>>()?;
    let binds: Vec<(&str, &Column)> = problem.params.iter().map(|p| p.name.as_str()).zip(cols.iter()).collect();
    eval_term(term, &binds, &problem.funs, inputs.len())
}

/// Looks for an input on which `candidate` and the reference disagree,
/// trying all edge-value combinations (for one or two parameters) and then
/// `random` seeded random inputs. Returns the first disagreeing example.
///
/// # Errors
///
/// If the reference or the candidate fails to evaluate.
///
/// # Panics
///
/// If `problem.reference` is `None`.
pub fn find_counterexample(
    problem: &Problem,
    candidate: &Term,
    random: usize,
    seed: u64,
) -> Result<Option<Example>, EvalError> {
    let reference = problem.reference.as_ref().expect("a reference implementation");
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let edges: Vec<Vec<Value>> = problem.params.iter().map(|p| edge_values(p.ty.sort)).collect();
    let mut batches: Vec<Vec<Vec<Value>>> = Vec::new();
    if edges.len() <= 2 {
        let mut all: Vec<Vec<Value>> = vec![Vec::new()];
        for e in &edges {
            all = all.iter().flat_map(|pre| e.iter().map(move |v| [pre.clone(), vec![v.clone()]].concat())).collect();
        }
        batches.push(all);
    }
    const CHUNK: usize = 4096;
    let mut left = random;
    while left > 0 {
        let k = left.min(CHUNK);
        left -= k;
        batches
            .push((0..k).map(|_| problem.params.iter().map(|p| random_value(p.ty.sort, &mut rng)).collect()).collect());
    }
    for inputs in batches {
        if inputs.is_empty() {
            continue;
        }
        let want = eval_on(problem, reference, &inputs)?;
        let got = eval_on(problem, candidate, &inputs)?;
        if let Some(i) = want.eq_mask(&got).iter().position(|ok| !ok) {
            return Ok(Some(Example { args: inputs[i].clone(), output: want.get(i) }));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::sygus;

    #[test]
    fn finds_counterexample_for_wrong_candidate() {
        let p = sygus::parse(
            "(define-fun r ((x (_ BitVec 32))) (_ BitVec 32) (bvand x (bvsub x #x00000001)))
             (synth-fun f ((x (_ BitVec 32))) (_ BitVec 32))
             (declare-var x (_ BitVec 32))
             (constraint (= (r x) (f x)))",
        )
        .unwrap()
        .problem;
        let wrong: Term = "(bvsub x #x00000001)".parse().unwrap();
        let cex = find_counterexample(&p, &wrong, 1000, 1).unwrap().unwrap();
        assert_ne!(cex.output, crate::dsl::eval_one(&wrong, &[("x", cex.args[0].clone())], &p.funs).unwrap());
        let right: Term = "(bvand x (bvsub x #x00000001))".parse().unwrap();
        assert_eq!(find_counterexample(&p, &right, 10_000, 1).unwrap(), None);
        let inputs = sample_inputs(&p, 64, 3);
        assert_eq!(inputs.len(), 64);
        assert!(inputs.iter().any(|i| i[0] == Value::bv(32, 0x8000_0000)));
        assert_eq!(label(&p, &inputs).unwrap().len(), 64);
    }
}
