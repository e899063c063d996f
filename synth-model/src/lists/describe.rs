//! Descriptions of list programs from a template grammar: each operator has a few
//! phrasings, one drawn at random per use, so a program gets paraphrases.

use rand::seq::SliceRandom;
use rand::Rng;
use synth_engine::lists::{Expr, ListOp};

/// A description of `program` in words, parameters by `names`.
pub fn describe(program: &Expr, names: &[String], rng: &mut impl Rng) -> String {
    let mut text = phrase(program, names, rng);
    if let Some(first) = text.get(..1) {
        text = first.to_uppercase() + &text[1..];
    }
    text
}

fn phrase(e: &Expr, names: &[String], rng: &mut impl Rng) -> String {
    match e {
        Expr::Input(i) => names.get(*i).cloned().unwrap_or_else(|| "the input".into()),
        Expr::Bound(0) => (*["the element", "each value", "x"].choose(rng).unwrap_or(&"x")).to_string(),
        Expr::Bound(_) => (*["the next element", "the other value", "y"].choose(rng).unwrap_or(&"y")).to_string(),
        Expr::Const(c) => c.to_string(),
        Expr::Apply(op, args) => {
            let a: Vec<String> = args.iter().map(|x| phrase(x, names, rng)).collect();
            let arg = |k: usize| a.get(k).cloned().unwrap_or_default();
            let (x, y, z) = (arg(0), arg(1), arg(2));
            let options: Vec<String> = match op {
                ListOp::Add => {
                    vec![format!("{x} plus {y}"), format!("the sum of {x} and {y}"), format!("add {y} to {x}")]
                }
                ListOp::Subtract => vec![
                    format!("{x} minus {y}"),
                    format!("subtract {y} from {x}"),
                    format!("the difference {x} - {y}"),
                ],
                ListOp::Multiply => vec![
                    format!("{x} times {y}"),
                    format!("multiply {x} by {y}"),
                    format!("the product of {x} and {y}"),
                ],
                ListOp::IntDivide => vec![
                    format!("{x} divided by {y}"),
                    format!("{x} integer-divided by {y}"),
                    format!("the quotient of {x} by {y}, rounded down"),
                ],
                ListOp::Modulo => vec![
                    format!("{x} modulo {y}"),
                    format!("the remainder of {x} divided by {y}"),
                    format!("{x} mod {y}"),
                ],
                // Not generated (not searched), described all the same.
                ListOp::Quot => vec![format!("{x} divided by {y}, rounded toward zero")],
                ListOp::Rem => vec![format!("the remainder of {x} divided by {y}, with the sign of {x}")],
                ListOp::Square => vec![format!("{x} squared"), format!("the square of {x}")],
                ListOp::Min => vec![
                    format!("the smaller of {x} and {y}"),
                    format!("the minimum of {x} and {y}"),
                    format!("min of {x}, {y}"),
                ],
                ListOp::Max => vec![
                    format!("the larger of {x} and {y}"),
                    format!("the maximum of {x} and {y}"),
                    format!("max of {x}, {y}"),
                ],
                ListOp::If => vec![format!("{y} if {x}, otherwise {z}"), format!("when {x} then {y} else {z}")],
                ListOp::Greater => {
                    vec![format!("{x} is greater than {y}"), format!("{x} exceeds {y}"), format!("{x} > {y}")]
                }
                ListOp::Less => {
                    vec![format!("{x} is less than {y}"), format!("{x} is below {y}"), format!("{x} < {y}")]
                }
                ListOp::Equal => vec![format!("{x} equals {y}"), format!("{x} is the same as {y}")],
                ListOp::IsEven => vec![format!("{x} is even"), format!("{x} is divisible by two")],
                ListOp::IsOdd => vec![format!("{x} is odd"), format!("{x} is not divisible by two")],
                ListOp::Head => {
                    vec![format!("the first element of {x}"), format!("the head of {x}"), format!("{x}'s first item")]
                }
                ListOp::Last => vec![
                    format!("the last element of {x}"),
                    format!("the final item of {x}"),
                    format!("the end of {x}"),
                ],
                ListOp::Access => vec![
                    format!("the element of {y} at index {x}"),
                    format!("{y}[{x}]"),
                    format!("item number {x} of {y}"),
                ],
                ListOp::Minimum => vec![
                    format!("the smallest element of {x}"),
                    format!("the minimum of {x}"),
                    format!("the lowest value in {x}"),
                ],
                ListOp::Maximum => vec![
                    format!("the largest element of {x}"),
                    format!("the maximum of {x}"),
                    format!("the highest value in {x}"),
                ],
                ListOp::Sum => vec![format!("the sum of {x}"), format!("the total of {x}"), format!("add up {x}")],
                ListOp::Product => {
                    vec![format!("the product of {x}"), format!("multiply together the elements of {x}")]
                }
                ListOp::Length => {
                    vec![format!("the length of {x}"), format!("how many elements {x} has"), format!("the size of {x}")]
                }
                ListOp::Count => vec![
                    format!("how many elements of {y} satisfy: {x}"),
                    format!("count the elements of {y} where {x}"),
                    format!("the number of values in {y} for which {x}"),
                ],
                ListOp::Take => vec![
                    format!("the first {x} elements of {y}"),
                    format!("take {x} from {y}"),
                    format!("the prefix of {y} of length {x}"),
                ],
                ListOp::Drop => vec![
                    format!("{y} without its first {x} elements"),
                    format!("drop {x} from {y}"),
                    format!("skip the first {x} of {y}"),
                ],
                ListOp::Reverse => vec![format!("{x} reversed"), format!("reverse {x}"), format!("{x} backwards")],
                ListOp::Sort => {
                    vec![format!("{x} sorted"), format!("sort {x} ascending"), format!("{x} in increasing order")]
                }
                ListOp::Replicate => vec![format!("{x} copies of {y}"), format!("repeat {y} {x} times")],
                ListOp::Map => vec![
                    format!("{x} for each element of {y}"),
                    format!("map {y}: {x}"),
                    format!("apply to every element of {y}: {x}"),
                ],
                ListOp::Filter => vec![
                    format!("the elements of {y} where {x}"),
                    format!("keep the values of {y} such that {x}"),
                    format!("filter {y} by: {x}"),
                ],
                ListOp::ZipWith => vec![
                    format!("pairwise over {y} and {z}: {x}"),
                    format!("zip {y} with {z} using {x}"),
                    format!("combine {y} and {z} element by element: {x}"),
                ],
                ListOp::Scanl1 => vec![
                    format!("the running {x} over {y}"),
                    format!("scan {y} accumulating {x}"),
                    format!("the prefix results of {x} along {y}"),
                ],
            };
            options.choose(rng).cloned().unwrap_or_default()
        }
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;

    #[test]
    fn names_the_operators_and_parameters() {
        let e = Expr::Apply(ListOp::Map, vec![Expr::Apply(ListOp::Square, vec![Expr::Bound(0)]), Expr::Input(0)]);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let d = describe(&e, &["xs".into()], &mut rng);
        assert!(d.contains("xs") && d.contains("square"), "{d}");
        assert!(d.starts_with(|c: char| c.is_uppercase()), "{d}");
    }
}
