//! A list task as a fixed-length vector: what the examples show about how each
//! output relates to the inputs (lengths, order, membership, elementwise and running
//! relations, folds), histograms of the values, and the description's words hashed
//! into a bag. Each example gives 0/1 answers; the vector holds their means, so any
//! number of examples fits. Computing it costs microseconds.

use synth_engine::lists::{LType, LValue, ListProblem};

use crate::words::word_buckets;

/// Hash buckets for the description's words.
pub const WORD_SLOTS: usize = 256;
/// Features from the signature and the examples.
pub const EXAMPLE_FEATURES: usize = 104;
/// Length of [`task_features`]' vector.
pub const FEATURE_LEN: usize = EXAMPLE_FEATURES + 1 + WORD_SLOTS;

/// The features of `problem`; its description is read only when `with_description`.
#[must_use]
pub fn task_features(problem: &ListProblem, with_description: bool) -> Vec<f32> {
    let mut f = Vec::with_capacity(FEATURE_LEN);
    let lists = problem.params.iter().filter(|(_, t)| *t == LType::List).count();
    let ints = problem.params.iter().filter(|(_, t)| *t == LType::Int).count();
    f.extend([
        lists as f32 / 3.0,
        ints as f32 / 3.0,
        f32::from(u8::from(problem.output == LType::Int)),
        f32::from(u8::from(problem.output == LType::List)),
        f32::from(u8::from(problem.output == LType::Bool)),
        problem.examples.len().min(10) as f32 / 5.0,
    ]);
    let n = problem.examples.len().max(1) as f32;
    let mut sums = vec![0.0f32; EXAMPLE_FEATURES - f.len()];
    for (args, out) in &problem.examples {
        let one = example_features(args, out);
        debug_assert_eq!(one.len(), sums.len());
        for (s, v) in sums.iter_mut().zip(one) {
            *s += v;
        }
    }
    f.extend(sums.into_iter().map(|s| s / n));
    let words = match (&problem.description, with_description) {
        (Some(d), true) if !d.trim().is_empty() => word_buckets(d, WORD_SLOTS),
        _ => Vec::new(),
    };
    f.push(f32::from(u8::from(!words.is_empty())));
    let mut bag = vec![0.0f32; WORD_SLOTS];
    for w in words {
        bag[w] = 1.0;
    }
    f.extend(bag);
    debug_assert_eq!(f.len(), FEATURE_LEN);
    f
}

fn b(x: bool) -> f32 {
    f32::from(u8::from(x))
}

/// One example's features (all in 0..=1).
fn example_features(args: &[LValue], out: &LValue) -> Vec<f32> {
    let lists: Vec<&[i64]> =
        args.iter().filter_map(|a| if let LValue::List(l) = a { Some(&l[..]) } else { None }).collect();
    let ints: Vec<i64> = args.iter().filter_map(|a| if let LValue::Int(x) = a { Some(*x) } else { None }).collect();
    let mut f = Vec::with_capacity(EXAMPLE_FEATURES);
    let any_list = |p: &dyn Fn(&[i64]) -> bool| b(lists.iter().any(|l| p(l)));
    let in_max = args
        .iter()
        .flat_map(|a| match a {
            LValue::List(l) => l.to_vec(),
            LValue::Int(x) => vec![*x],
            LValue::Bool(_) => Vec::new(),
        })
        .map(i64::unsigned_abs)
        .max()
        .unwrap_or(0);
    // Output a list: 48 features.
    let list_part: Vec<f32> = match out {
        LValue::List(o) => {
            let o = &o[..];
            let sorted = |l: &[i64]| {
                let mut v = l.to_vec();
                v.sort_unstable();
                v
            };
            let ew = |l: &[i64], g: &dyn Fn(i64, i64) -> Option<i64>| {
                // One constant c with o[i] = g(l[i], c) for every i (c from the first pair).
                !o.is_empty() && o.len() == l.len() && {
                    let c = g(l[0], o[0]);
                    c.is_some() && l.iter().zip(o).all(|(x, y)| g(*x, *y) == c)
                }
            };
            let zips = |g: &dyn Fn(i64, i64) -> Option<i64>| {
                let mut hit = false;
                for (i, x) in lists.iter().enumerate() {
                    for (j, y) in lists.iter().enumerate() {
                        if i != j && !o.is_empty() && o.len() == x.len().min(y.len()) {
                            hit |= x.iter().zip(y.iter()).zip(o).all(|((a, c), r)| g(*a, *c) == Some(*r));
                        }
                    }
                }
                b(hit)
            };
            let scan = |l: &[i64], g: &dyn Fn(i64, i64) -> i64| {
                !l.is_empty() && o.len() == l.len() && o[0] == l[0] && (1..l.len()).all(|i| o[i] == g(o[i - 1], l[i]))
            };
            let mut distinct = o.to_vec();
            distinct.sort_unstable();
            distinct.dedup();
            vec![
                1.0,
                b(o.is_empty()),
                b(o.windows(2).all(|w| w[0] <= w[1])),
                b(o.windows(2).all(|w| w[0] >= w[1])),
                b(o.iter().all(|x| x % 2 == 0)),
                b(o.iter().all(|x| x % 2 != 0)),
                b(o.iter().all(|x| *x >= 0)),
                b(o.iter().all(|x| *x <= 0)),
                b(o.len() >= 2 && o.iter().all(|x| *x == o[0])),
                if o.is_empty() { 0.0 } else { distinct.len() as f32 / o.len() as f32 },
                (o.len().min(20) as f32) / 10.0,
                any_list(&|l| l.len() == o.len()),
                any_list(&|l| l.len() > o.len()),
                any_list(&|l| l.len() < o.len()),
                any_list(&|l| l == o),
                any_list(&|l| l.iter().rev().eq(o.iter())),
                any_list(&|l| sorted(l) == o),
                any_list(&|l| sorted(l).iter().rev().eq(o.iter())),
                any_list(&|l| is_subsequence(o, l)),
                any_list(&|l| l.starts_with(o)),
                any_list(&|l| l.ends_with(o)),
                any_list(&|l| sorted(l) == sorted(o)),
                any_list(&|l| o.iter().all(|x| l.contains(x))),
                any_list(&|l| ew(l, &|x, y| y.checked_sub(x))),
                any_list(&|l| ew(l, &|x, y| if y.checked_rem(x) == Some(0) { y.checked_div(x) } else { None })),
                any_list(&|l| ew(l, &|x, y| if x.checked_rem(y) == Some(0) { x.checked_div(y) } else { None })),
                any_list(&|l| {
                    !o.is_empty() && o.len() == l.len() && l.iter().zip(o).all(|(x, y)| x.checked_mul(*x) == Some(*y))
                }),
                any_list(&|l| {
                    !o.is_empty() && o.len() == l.len() && l.iter().zip(o).all(|(x, y)| x.checked_neg() == Some(*y))
                }),
                any_list(&|l| !o.is_empty() && o.len() == l.len() && is_function(l, o)),
                any_list(&|l| {
                    !o.is_empty() && o.len() == l.len() && l.iter().zip(o).all(|(x, y)| x.wrapping_sub(*y) % 2 == 0)
                }),
                any_list(&|l| {
                    !o.is_empty()
                        && o.len() == l.len()
                        && l.iter().zip(o).all(|(x, y)| y.unsigned_abs() <= x.unsigned_abs())
                }),
                any_list(&|l| scan(l, &|a, x| a.saturating_add(x))),
                any_list(&|l| scan(l, &|a, x| a.max(x))),
                any_list(&|l| scan(l, &|a, x| a.min(x))),
                any_list(&|l| scan(l, &|a, x| a.saturating_sub(x))),
                any_list(&|l| !l.is_empty() && o.len() == l.len() && o[0] == l[0]),
                b(ints.iter().any(|&x| usize::try_from(x).is_ok_and(|x| x == o.len()))),
                b(ints.iter().any(|&x| {
                    lists.iter().any(|l| i64::try_from(l.len()).is_ok_and(|n| n - x.clamp(0, n) == o.len() as i64))
                })),
                b(!o.is_empty() && ints.iter().any(|x| o.iter().all(|y| y == x))),
                b(ints.iter().any(|x| o.contains(x))),
                b(lists.len() >= 2
                    && lists.iter().any(|x| {
                        lists.iter().any(|y| !o.is_empty() && o.len() == x.len().min(y.len()) && x.len() != y.len())
                    })),
                zips(&|a, c| a.checked_add(c)),
                zips(&|a, c| a.checked_sub(c)),
                zips(&|a, c| a.checked_mul(c)),
                zips(&|a, c| Some(a.max(c))),
                zips(&|a, c| Some(a.min(c))),
                b(o.iter().all(|x| (0..=1).contains(x))),
                b(lists.iter().any(|l| !l.is_empty() && o.len() + 1 == l.len())),
            ]
        }
        _ => vec![0.0; 48],
    };
    f.extend(list_part);
    // Output an integer: 30 features.
    let int_part: Vec<f32> = match out {
        LValue::Int(o) => {
            let o = *o;
            let fold = |g: &dyn Fn(&[i64]) -> Option<i64>| any_list(&|l| g(l) == Some(o));
            let pairs = |g: &dyn Fn(i64, i64) -> Option<i64>| {
                b(ints
                    .iter()
                    .enumerate()
                    .any(|(i, x)| ints.iter().enumerate().any(|(j, y)| i != j && g(*x, *y) == Some(o))))
            };
            vec![
                1.0,
                fold(&|l| l.iter().try_fold(0i64, |s, x| s.checked_add(*x))),
                fold(&|l| l.iter().min().copied()),
                fold(&|l| l.iter().max().copied()),
                fold(&|l| l.first().copied()),
                fold(&|l| l.last().copied()),
                fold(&|l| i64::try_from(l.len()).ok()),
                fold(&|l| l.iter().try_fold(1i64, |s, x| s.checked_mul(*x))),
                any_list(&|l| l.contains(&o)),
                b(ints.contains(&o)),
                any_list(&|l| usize::try_from(o).is_ok_and(|k| k <= l.len())),
                b(o >= 0),
                b(o % 2 == 0),
                b(o == 0),
                b((-1..=4).contains(&o)),
                b(ints.iter().any(|x| x.checked_mul(*x) == Some(o))),
                pairs(&|x, y| x.checked_add(y)),
                pairs(&|x, y| x.checked_sub(y)),
                pairs(&|x, y| x.checked_mul(y)),
                b(!ints.is_empty() && ints.iter().all(|x| o > *x)),
                b(!ints.is_empty() && ints.iter().all(|x| o < *x)),
                b(ints.iter().any(|&x| {
                    lists.iter().any(|l| {
                        let n = l.len() as i64;
                        let k = if x < 0 { x.saturating_add(n) } else { x };
                        (0..n).contains(&k) && l[k as usize] == o
                    })
                })),
                any_list(&|l| !l.is_empty() && o > *l.iter().max().unwrap_or(&0)),
                any_list(&|l| !l.is_empty() && o < *l.iter().min().unwrap_or(&0)),
                fold(&|l| Some(l.iter().filter(|x| *x % 2 == 0).count() as i64)),
                fold(&|l| Some(l.iter().filter(|x| **x > 0).count() as i64)),
                b(ints.iter().any(|x| {
                    [x.checked_add(o), x.checked_sub(o)].iter().flatten().any(|s| lists.iter().any(|l| l.contains(s)))
                })),
                magnitude(o.unsigned_abs(), in_max, 0),
                magnitude(o.unsigned_abs(), in_max, 1),
                magnitude(o.unsigned_abs(), in_max, 2),
            ]
        }
        _ => vec![0.0; 30],
    };
    f.extend(int_part);
    // Value histograms: 10 of the output's values, 10 of the inputs'.
    let out_values: Vec<i64> = match out {
        LValue::List(l) => l.to_vec(),
        LValue::Int(x) => vec![*x],
        LValue::Bool(x) => vec![i64::from(*x)],
    };
    let in_values: Vec<i64> = lists.iter().flat_map(|l| l.iter().copied()).chain(ints.iter().copied()).collect();
    f.extend(histogram(&out_values));
    f.extend(histogram(&in_values));
    f
}

/// Where |out| lies against the inputs' largest magnitude: smaller, about the same,
/// larger (one of the three is 1).
fn magnitude(out: u64, inputs: u64, which: usize) -> f32 {
    let lo = (out as f64 + 1.0).log2();
    let li = (inputs as f64 + 1.0).log2();
    let bucket = if lo < li - 1.0 {
        0
    } else if lo <= li + 1.0 {
        1
    } else {
        2
    };
    b(bucket == which)
}

/// Shares of values in ten sign-and-magnitude buckets.
fn histogram(values: &[i64]) -> [f32; 10] {
    let mut h = [0.0f32; 10];
    if values.is_empty() {
        return h;
    }
    for &v in values {
        let m = v.unsigned_abs();
        let level = match m {
            0 => 0,
            1..=4 => 1,
            5..=32 => 2,
            33..=256 => 3,
            _ => 4,
        };
        h[if v < 0 { 5 + level } else { level }] += 1.0;
    }
    let n = values.len() as f32;
    h.map(|x| x / n)
}

fn is_subsequence(o: &[i64], l: &[i64]) -> bool {
    let mut it = l.iter();
    o.iter().all(|x| it.any(|y| y == x))
}

/// Whether equal elements of `l` always map to equal elements of `o` (positionally).
fn is_function(l: &[i64], o: &[i64]) -> bool {
    l.iter().zip(o).all(|(x, y)| l.iter().zip(o).all(|(x2, y2)| x != x2 || y == y2))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(json: &str) -> ListProblem {
        ListProblem::from_examples(&synth_engine::spec::Examples::from_json(json).unwrap()).unwrap()
    }

    #[test]
    fn fixed_length_and_the_relations_it_names() {
        let sorted = problem(
            r#"{"function": "f", "params": [{"name": "xs", "type": "list[int]"}], "output_type": "list[int]",
               "description": "sort the list", "examples": [{"args": [[3, 1, 2]], "output": [1, 2, 3]},
               {"args": [[5, -4]], "output": [-4, 5]}]}"#,
        );
        let f = task_features(&sorted, true);
        assert_eq!(f.len(), FEATURE_LEN);
        // "sorted(input) == output" holds on both examples.
        assert_eq!(f[6 + 16], 1.0);
        assert_eq!(f[EXAMPLE_FEATURES], 1.0, "the description is read");
        assert_eq!(task_features(&sorted, false)[EXAMPLE_FEATURES], 0.0);
        let sum = problem(
            r#"{"function": "f", "params": [{"name": "xs", "type": "list[int]"}, {"name": "n", "type": "int"}],
               "output_type": "int", "examples": [{"args": [[3, 1, 2], 4], "output": 6}]}"#,
        );
        let f = task_features(&sum, false);
        assert_eq!(f.len(), FEATURE_LEN);
        assert_eq!(f[6 + 48 + 1], 1.0, "sum of the list");
        assert!(f.iter().all(|x| (0.0..=2.0).contains(x)));
    }

    #[test]
    fn extreme_values_do_not_overflow() {
        let extreme = problem(
            r#"{"function": "f", "params": [{"name": "xs", "type": "list[int]"}, {"name": "n", "type": "int"}],
               "output_type": "list[int]", "examples": [
               {"args": [[-9223372036854775808, -1, 9223372036854775807], -9223372036854775808],
                "output": [-9223372036854775808, 9223372036854775807, -1]},
               {"args": [[-1, -9223372036854775808], 9223372036854775807], "output": [-9223372036854775808, -1]}]}"#,
        );
        assert_eq!(task_features(&extreme, false).len(), FEATURE_LEN);
        let int_out = problem(
            r#"{"function": "f", "params": [{"name": "xs", "type": "list[int]"}, {"name": "n", "type": "int"}],
               "output_type": "int", "examples": [
               {"args": [[-9223372036854775808, 9223372036854775807], -9223372036854775808], "output": -9223372036854775808},
               {"args": [[-1], 9223372036854775807], "output": -9223372036854775808}]}"#,
        );
        assert_eq!(task_features(&int_out, false).len(), FEATURE_LEN);
    }
}
