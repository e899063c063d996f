//! Invariants that hold on every example: relations users check by eye in an I/O table
//! ("result ≤ a", "len(out) = len(s) + 1"), mined from the examples alone.

use super::Problem;
use crate::dsl::{Sort, Value};

fn text(v: &Value) -> Option<&str> {
    match v {
        Value::Str(s) => Some(s),
        _ => None,
    }
}

/// The strongest of `=`, `<`, `≤`, `>`, `≥` that holds for every pair, if any.
fn strongest_order(pairs: &[(i128, i128)]) -> Option<&'static str> {
    let all = |f: fn(i128, i128) -> bool| pairs.iter().all(|&(a, b)| f(a, b));
    [
        ("=", all(|a, b| a == b)),
        ("<", all(|a, b| a < b)),
        (">", all(|a, b| a > b)),
        ("≤", all(|a, b| a <= b)),
        ("≥", all(|a, b| a >= b)),
    ]
    .into_iter()
    .find(|(_, holds)| *holds)
    .map(|(name, _)| name)
}

/// Invariants that hold on all of `problem`'s examples, as short readable sentences
/// over the parameter names and `result`. Needs at least two examples.
#[must_use]
pub fn mine(problem: &Problem) -> Vec<String> {
    let ex = &problem.examples;
    let mut found = Vec::new();
    if ex.len() < 2 {
        return found;
    }
    let out_ty = problem.output;
    match out_ty.sort {
        Sort::Bool => {
            if let Some(Value::Bool(first)) = ex.first().map(|e| &e.output) {
                if ex.iter().all(|e| e.output == Value::Bool(*first)) {
                    found.push(format!("result = {first}"));
                }
            }
        }
        Sort::String => {
            let outs: Vec<&str> = ex.iter().filter_map(|e| text(&e.output)).collect();
            if outs.len() == ex.len() {
                if outs.iter().all(|s| s.is_empty()) {
                    found.push("result = \"\"".into());
                }
                for (i, p) in problem.params.iter().enumerate() {
                    let ins: Vec<&str> = ex.iter().filter_map(|e| e.args.get(i).and_then(text)).collect();
                    if ins.len() != ex.len() {
                        continue;
                    }
                    let pairs: Vec<(&str, &str)> = ins.iter().copied().zip(outs.iter().copied()).collect();
                    let deltas: Vec<i128> =
                        pairs.iter().map(|(a, b)| b.chars().count() as i128 - a.chars().count() as i128).collect();
                    if deltas.iter().all(|d| *d == deltas[0]) {
                        let d = deltas[0];
                        let rhs = match d.signum() {
                            0 => format!("len({})", p.name),
                            1 => format!("len({}) + {d}", p.name),
                            _ => format!("len({}) - {}", p.name, -d),
                        };
                        found.push(format!("len(result) = {rhs}"));
                    } else if let Some(rel) = strongest_order(
                        &pairs
                            .iter()
                            .map(|(a, b)| (b.chars().count() as i128, a.chars().count() as i128))
                            .collect::<Vec<_>>(),
                    ) {
                        found.push(format!("len(result) {rel} len({})", p.name));
                    }
                    if pairs.iter().all(|(a, b)| a == b) {
                        found.push(format!("result = {}", p.name));
                    } else if pairs.iter().all(|(a, b)| b.starts_with(a)) {
                        found.push(format!("result starts with {}", p.name));
                    } else if pairs.iter().all(|(a, b)| b.ends_with(a)) {
                        found.push(format!("result ends with {}", p.name));
                    } else if pairs.iter().all(|(a, b)| b.contains(a)) {
                        found.push(format!("result contains {}", p.name));
                    } else if pairs.iter().all(|(a, b)| a.contains(b)) {
                        found.push(format!("result is a substring of {}", p.name));
                    }
                }
            }
        }
        Sort::BitVec(_) | Sort::Int => {
            let outs: Vec<i128> = ex.iter().filter_map(|e| e.output.integer(out_ty.signed)).collect();
            if outs.len() != ex.len() {
                return found;
            }
            if outs.iter().all(|o| *o == outs[0]) {
                found.push(format!("result = {}", outs[0]));
                return found;
            }
            if outs.iter().all(|o| *o >= 0) && (out_ty.signed || out_ty.sort == Sort::Int) {
                found.push("result ≥ 0".into());
            }
            for (i, p) in problem.params.iter().enumerate() {
                let ins: Vec<i128> =
                    ex.iter().filter_map(|e| e.args.get(i).and_then(|a| a.integer(p.ty.signed))).collect();
                if ins.len() != ex.len() {
                    continue;
                }
                let pairs: Vec<(i128, i128)> = outs.iter().copied().zip(ins.iter().copied()).collect();
                if let Some(rel) = strongest_order(&pairs) {
                    found.push(format!("result {rel} {}", p.name));
                }
                if matches!((out_ty.sort, p.ty.sort), (Sort::BitVec(a), Sort::BitVec(b)) if a == b)
                    && pairs.iter().all(|&(o, a)| o & a == o)
                    && pairs.iter().any(|&(o, a)| o != a)
                {
                    found.push(format!("result's set bits are a subset of {}'s", p.name));
                }
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Examples;

    fn problem(json: &str) -> Problem {
        Examples::from_json(json).unwrap().to_problem().unwrap()
    }

    #[test]
    fn clear_lowest_bit() {
        let p = problem(
            r#"{"function":"f","params":[{"name":"x","type":"u32"}],"output_type":"u32",
               "examples":[{"args":[12],"output":8},{"args":[7],"output":6},{"args":[0],"output":0},{"args":[16],"output":0}]}"#,
        );
        assert_eq!(mine(&p), vec!["result ≤ x".to_string(), "result's set bits are a subset of x's".to_string()]);
    }

    #[test]
    fn string_lengths_and_affixes() {
        let p = problem(
            r#"{"function":"f","params":[{"name":"s","type":"string"}],"output_type":"string",
               "examples":[{"args":["ab"],"output":"ab!"},{"args":[""],"output":"!"},{"args":["xyz"],"output":"xyz!"}]}"#,
        );
        assert_eq!(mine(&p), vec!["len(result) = len(s) + 1".to_string(), "result starts with s".to_string()]);
    }

    #[test]
    fn signed_values_and_constants() {
        let p = problem(
            r#"{"function":"f","params":[{"name":"a","type":"i32"}],"output_type":"i32",
               "examples":[{"args":[-5],"output":5},{"args":[3],"output":3},{"args":[0],"output":0}]}"#,
        );
        assert_eq!(mine(&p), vec!["result ≥ 0".to_string(), "result ≥ a".to_string()]);
        let c = problem(
            r#"{"function":"f","params":[{"name":"a","type":"i32"}],"output_type":"i32",
               "examples":[{"args":[-5],"output":1},{"args":[3],"output":1}]}"#,
        );
        assert_eq!(mine(&c), vec!["result = 1".to_string()]);
    }
}
