//! The SyGuS `(define-fun …)` form of a solution.

use crate::dsl::{print_symbol, Term};
use crate::spec::Problem;

/// Prints `term` as `(define-fun name ((x S) ..) S term)`, the form SyGuS
/// solvers print and checkers read.
#[must_use]
pub fn to_define_fun(problem: &Problem, term: &Term) -> String {
    let params: Vec<String> =
        problem.params.iter().map(|p| format!("({} {})", print_symbol(&p.name), p.ty.sort)).collect();
    format!("(define-fun {} ({}) {} {})", print_symbol(&problem.name), params.join(" "), problem.output.sort, term)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::sygus;

    #[test]
    fn prints_define_fun() {
        let p = sygus::parse("(synth-fun f ((x (_ BitVec 32)) (y Int)) Bool)\n(constraint (= (f #x00000000 1) true))")
            .unwrap()
            .problem;
        let t: Term = "(= y 1)".parse().unwrap();
        assert_eq!(to_define_fun(&p, &t), "(define-fun f ((x (_ BitVec 32)) (y Int)) Bool (= y 1))");
    }
}
