//! The Occam criterion: when a case split is a rule and when it only memorizes the calls.
//!
//! A term whose top is a tree of `ite` (a decision tree) sends each example to one leaf.
//! The tree is accepted as a rule only when
//! - it has at most [`MAX_LEAVES`] leaves,
//! - every leaf is reached by at least [`MIN_LEAF_SUPPORT`] examples, and
//! - its conditions come from a small grammar: each comparison under `and`, `or` and
//!   `not` has at most [`MAX_CONDITION_NODES`] nodes (`x < 30`, `y % 4 == 0`), not a
//!   formula fitted to separate the calls,
//!
//! so a leaf stands for a piece of behaviour seen several times, not for one call (a
//! minimum-description-length argument: a leaf that explains fewer examples than it costs
//! to write down is a lookup table, not a rule). A term without a top-level case split
//! always passes. The search refuses trees that fail it and keeps looking ([`crate::search`]
//! with [`crate::search::SearchLimits::occam`]); the refinement loop reports a candidate
//! that fails it as fitting the observed calls only, never as verified.
use crate::{
    dsl::{eval_term, Op, Term, Value},
    spec::Problem,
};

/// Most nodes of one comparison in a case split's condition (`(= (bvsrem y 4) #x0)` has 5).
pub const MAX_CONDITION_NODES: usize = 5;

/// Fewest examples that must reach each leaf of a case split.
pub const MIN_LEAF_SUPPORT: usize = 3;
/// Fewest examples per leaf where a user wrote the examples (`synth --examples`): a few,
/// chosen to show each case, so two of a case make it one.
pub const EXAMPLES_LEAF_SUPPORT: usize = 2;
/// Most leaves a case split may have.
pub const MAX_LEAVES: usize = 8;

/// What the criterion says of a term.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// No top-level case split.
    NoSplit,
    /// A case split that passes: its leaves and the fewest examples reaching one.
    Rule {
        /// Leaves of the tree.
        leaves: usize,
        /// Examples reaching the least supported leaf.
        min_support: usize,
    },
    /// A case split that memorizes, and why.
    Memorizes(String),
}

impl Verdict {
    /// Whether the term passes.
    #[must_use]
    pub fn passes(&self) -> bool {
        !matches!(self, Verdict::Memorizes(_))
    }
}

/// Judges a decision tree from the number of examples reaching each of its leaves, each
/// of which must be reached by `min_support` or more.
#[must_use]
pub fn judge_supports(supports: &[usize], min_support: usize) -> Verdict {
    if supports.len() <= 1 {
        return Verdict::NoSplit;
    }
    let thin = supports.iter().filter(|s| **s < min_support).count();
    if supports.len() > MAX_LEAVES {
        return Verdict::Memorizes(format!(
            "a case split with {} branches (at most {MAX_LEAVES} make a rule)",
            supports.len()
        ));
    }
    if thin > 0 {
        return Verdict::Memorizes(format!(
            "a case split with {} branches, {thin} of them taken by fewer than {min_support} examples",
            supports.len()
        ));
    }
    Verdict::Rule { leaves: supports.len(), min_support: supports.iter().copied().min().unwrap_or(0) }
}

/// The first condition of `term`'s top-level `ite` tree with a comparison of more than
/// [`MAX_CONDITION_NODES`] nodes, with that size.
#[must_use]
pub fn complex_condition(term: &Term) -> Option<(Term, usize)> {
    if term.is_empty() {
        return None;
    }
    let mut stack = vec![term.root()];
    while let Some(id) = stack.pop() {
        let node = term.node(id);
        if node.op != Op::Ite || node.children.len() != 3 {
            continue;
        }
        let mut atoms = vec![node.children[0]];
        while let Some(a) = atoms.pop() {
            let n = term.node(a);
            if matches!(n.op, Op::And | Op::Or | Op::Not) {
                atoms.extend(n.children.iter().copied());
                continue;
            }
            let mut atom = Term::new();
            atom.add_term(term, a);
            if atom.size() > MAX_CONDITION_NODES {
                let size = atom.size();
                return Some((atom, size));
            }
        }
        stack.push(node.children[1]);
        stack.push(node.children[2]);
    }
    None
}

/// Judges `term` on the examples of `problem` (observed calls, [`MIN_LEAF_SUPPORT`] per
/// leaf): the examples are sent down its top-level `ite` tree by evaluating the conditions.
#[must_use]
pub fn judge(term: &Term, problem: &Problem) -> Verdict {
    judge_with(term, problem, MIN_LEAF_SUPPORT)
}

/// [`judge`] with `min_support` examples needed per leaf.
#[must_use]
pub fn judge_with(term: &Term, problem: &Problem, min_support: usize) -> Verdict {
    if term.is_empty() || problem.examples.is_empty() {
        return Verdict::NoSplit;
    }
    if let Some((atom, size)) = complex_condition(term) {
        return Verdict::Memorizes(format!(
            "a case split on `{atom}`, a condition of {size} nodes (at most {MAX_CONDITION_NODES} make a rule)"
        ));
    }
    let inputs = problem.input_columns();
    let vars: Vec<(&str, &crate::dsl::Column)> =
        problem.params.iter().map(|p| p.name.as_str()).zip(inputs.iter()).collect();
    let n = problem.examples.len();
    let mut supports = Vec::new();
    let mut stack = vec![(term.root(), (0..n).collect::<Vec<usize>>())];
    while let Some((id, reaching)) = stack.pop() {
        let node = term.node(id);
        if node.op != Op::Ite || node.children.len() != 3 {
            supports.push(reaching.len());
            continue;
        }
        let mut cond = Term::new();
        cond.add_term(term, node.children[0]);
        let Ok(column) = eval_term(&cond, &vars, &problem.funs, n) else {
            // A condition that does not evaluate on the examples explains nothing.
            return Verdict::Memorizes("a case split whose condition fails on the observed calls".into());
        };
        let (then, els): (Vec<usize>, Vec<usize>) =
            reaching.into_iter().partition(|i| column.get(*i) == Value::Bool(true));
        stack.push((node.children[1], then));
        stack.push((node.children[2], els));
    }
    judge_supports(&supports, min_support)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Examples;

    fn problem(examples: &[(i64, i64)]) -> Problem {
        let rows: Vec<String> = examples.iter().map(|(a, o)| format!(r#"{{"args": [{a}], "output": {o}}}"#)).collect();
        let json = format!(
            r#"{{"function": "f", "params": [{{"name": "x", "type": "int"}}], "output_type": "int", "examples": [{}]}}"#,
            rows.join(",")
        );
        Examples::from_json(&json).unwrap().to_problem().unwrap()
    }

    fn term(s: &str) -> Term {
        s.parse().unwrap()
    }

    #[test]
    fn a_tree_that_memorizes_the_calls_is_refused() {
        let p = problem(&[(1, 5), (2, 9), (3, 4), (4, 4), (5, 4), (6, 4)]);
        let memo = term("(ite (< x 2) 5 (ite (< x 3) 9 4))");
        let verdict = judge(&memo, &p);
        assert!(!verdict.passes(), "{verdict:?}");
        let Verdict::Memorizes(why) = verdict else { unreachable!() };
        assert!(why.contains("3 branches, 2 of them taken by fewer than 3"), "{why}");
    }

    #[test]
    fn a_split_that_each_branch_supports_is_a_rule() {
        let p = problem(&[(1, 0), (5, 0), (9, 0), (10, 5), (20, 5), (49, 5)]);
        assert_eq!(judge(&term("(ite (< x 10) 0 5)"), &p), Verdict::Rule { leaves: 2, min_support: 3 });
        assert_eq!(judge(&term("(+ x 1)"), &p), Verdict::NoSplit);
    }

    #[test]
    fn a_case_split_on_a_fitted_formula_is_refused() {
        let p = problem(&[(1, 0), (5, 0), (9, 0), (40, 200), (70, 400), (99, 400)]);
        let fitted = term("(ite (bvult #x000007d0 (bvsub (bvmul (bvsdiv (bvadd x #x00000013) #x00000032) #x000000c8) #x000000c8)) #x00000000 #x00000190)");
        let Verdict::Memorizes(why) = judge(&fitted, &p) else { panic!("refused") };
        assert!(why.contains("11 nodes"), "{why}");
        // Comparisons people write pass, also combined.
        let leap = term("(ite (or (and (= (bvsrem x #x00000004) #x00000000) (not (= (bvsrem x #x00000064) #x00000000))) (= (bvsrem x #x00000190) #x00000000)) #x00000001 #x00000000)");
        assert_eq!(complex_condition(&leap), None);
    }

    #[test]
    fn too_many_branches_are_refused_whatever_their_support() {
        let supports = vec![5; MAX_LEAVES + 1];
        assert!(!judge_supports(&supports, MIN_LEAF_SUPPORT).passes());
        assert!(judge_supports(&[5; MAX_LEAVES], MIN_LEAF_SUPPORT).passes());
        assert_eq!(judge_supports(&[7], MIN_LEAF_SUPPORT), Verdict::NoSplit);
        // A user's examples: two of a case make it one.
        assert!(judge_supports(&[2, 2], EXAMPLES_LEAF_SUPPORT).passes());
        assert!(!judge_supports(&[2, 1], EXAMPLES_LEAF_SUPPORT).passes());
    }
}
