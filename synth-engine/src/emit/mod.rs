//! Code emitters: a solution as an idiomatic Rust, Python or C function,
//! a unit-test file built from the examples, and the SyGuS form.
//!
//! Bit-vectors become fixed-width unsigned integers internally (wrapping
//! methods in Rust, `uint32_t`/`uint64_t` in C, masking in Python); signed
//! parameters and results keep their signed type at the boundary. SMT-LIB
//! edge cases (division by zero, shifts >= width, string indices out of
//! range) go through small helpers that are emitted only when used.
//! Widths other than 8, 16, 32 and 64 bits are not emitted.
//!
//! `Int` is emitted as `i64` (Rust), `int64_t` (C) and `int` (Python).
//! Strings are code-point sequences in Rust and Python; the C emitter works
//! on bytes, which matches SMT-LIB for ASCII text.

mod c;
mod integers;
mod locals;
pub(crate) mod python;
mod rust;
mod sygus;

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};
use smallvec::SmallVec;
use thiserror::Error;

use crate::dsl::{FunDefs, Id, Op, Sort, Term};
use crate::spec::{Example, Problem};

pub use sygus::to_define_fun;

/// An emitter error.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum EmitError {
    /// An operator or sort the target language emitter cannot express.
    #[error("cannot emit {what} in {lang}")]
    Unsupported {
        /// What could not be emitted.
        what: String,
        /// Language.
        lang: Lang,
    },
    /// The term calls a function that is not defined.
    #[error("unknown function `{0}` in the solution")]
    UnknownFunction(String),
}

/// A target language.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// Rust (edition 2021).
    Rust,
    /// Python 3.
    Python,
    /// C (C11).
    C,
}

impl Lang {
    /// Parses `rust`, `python`/`py`, `c`.
    #[must_use]
    pub fn parse(s: &str) -> Option<Lang> {
        match s.to_ascii_lowercase().as_str() {
            "rust" | "rs" => Some(Lang::Rust),
            "python" | "py" | "python3" => Some(Lang::Python),
            "c" => Some(Lang::C),
            _ => None,
        }
    }

    /// File name for the function.
    #[must_use]
    pub fn code_file(self) -> &'static str {
        match self {
            Lang::Rust => "solution.rs",
            Lang::Python => "solution.py",
            Lang::C => "solution.c",
        }
    }

    /// File name for the tests.
    #[must_use]
    pub fn test_file(self) -> &'static str {
        match self {
            Lang::Rust => "solution_tests.rs",
            Lang::Python => "test_solution.py",
            Lang::C => "test_solution.c",
        }
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Lang::Rust => "rust",
            Lang::Python => "python",
            Lang::C => "c",
        })
    }
}

/// Emits `term` as a function named after the problem, with the problem's
/// parameter names and types.
///
/// # Errors
///
/// [`EmitError::Unsupported`] for operators or widths the language emitter
/// does not handle.
pub fn emit_function(lang: Lang, problem: &Problem, term: &Term) -> Result<String, EmitError> {
    let t = crate::simplify::simplify(problem, &fold_constants(&inline_calls(term, &problem.funs)?));
    match lang {
        Lang::Rust => rust::function(problem, &t),
        Lang::Python => python::function(problem, &t),
        Lang::C => c::function(problem, &t),
    }
}

/// Emits a unit-test file checking the function on `examples` (Rust
/// `#[test]`s in a `tests` module to append to the code, a pytest file that
/// also runs standalone, or a C test `main`). Each test prints nothing on
/// success; the standalone runners print `passed N/M`.
///
/// # Errors
///
/// As [`emit_function`].
pub fn emit_tests(lang: Lang, problem: &Problem, _term: &Term, examples: &[Example]) -> Result<String, EmitError> {
    match lang {
        Lang::Rust => rust::tests(problem, examples),
        Lang::Python => python::tests(problem, examples),
        Lang::C => c::tests(problem, examples),
    }
}

/// Replaces calls of `define-fun` helpers by their bodies.
///
/// # Errors
///
/// [`EmitError::UnknownFunction`] for calls of undefined functions.
pub fn inline_calls(term: &Term, funs: &FunDefs) -> Result<Term, EmitError> {
    let mut out = Term::new();
    let mut map: Vec<Id> = Vec::with_capacity(term.nodes().len());
    for node in term.nodes() {
        let kids: SmallVec<[Id; 3]> = node.children.iter().map(|c| map[c.index()]).collect();
        let id = match &node.op {
            Op::Call(f) => {
                let def = funs.get(&**f).ok_or_else(|| EmitError::UnknownFunction(f.to_string()))?;
                let body = inline_calls(&def.body, funs)?;
                let mut local: Vec<Id> = Vec::with_capacity(body.nodes().len());
                for bn in body.nodes() {
                    let id = match &bn.op {
                        Op::Var(v) if bn.children.is_empty() => match def.params.iter().position(|(p, _)| **p == **v) {
                            Some(i) => kids[i],
                            None => out.add(bn.op.clone(), &[]),
                        },
                        op => {
                            let ch: SmallVec<[Id; 3]> = bn.children.iter().map(|c| local[c.index()]).collect();
                            out.add(op.clone(), &ch)
                        }
                    };
                    local.push(id);
                }
                *local.last().expect("non-empty body")
            }
            op => out.add(op.clone(), &kids),
        };
        map.push(id);
    }
    Ok(out)
}

/// Turns a name into an identifier: letters, digits and `_`, not starting
/// with a digit, and not a keyword of any target language.
#[must_use]
pub fn ident(name: &str) -> String {
    let mut s: String = name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect();
    if s.is_empty() || s.starts_with(|c: char| c.is_ascii_digit()) {
        s.insert(0, '_');
    }
    const KEYWORDS: &[&str] = &[
        "as", "break", "const", "continue", "crate", "else", "enum", "extern", "false", "fn", "for", "if", "impl",
        "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return", "self", "static", "struct",
        "super", "trait", "true", "type", "unsafe", "use", "where", "while", "and", "or", "not", "def", "class",
        "import", "from", "lambda", "pass", "None", "True", "False", "int", "char", "long", "short", "unsigned",
        "signed", "void", "double", "float", "case", "switch", "default", "do", "goto", "sizeof", "str", "len", "is",
        "with", "yield", "try", "except", "raise", "assert", "del", "global", "nonlocal", "async", "await", "elif",
        "main",
    ];
    if KEYWORDS.contains(&s.as_str()) {
        s.push('_');
    }
    s
}

/// Helper functions an emitted body needs, collected while emitting.
#[derive(Default)]
pub(crate) struct Helpers(BTreeSet<String>);

/// `term` with every subterm that has no variable replaced by its value (computed by the
/// interpreter, so with the DSL's exact semantics): `10`, not `(bvor 2 8)`.
#[must_use]
pub fn fold_constants(term: &Term) -> Term {
    let mut out = Term::new();
    let mut map: Vec<Id> = Vec::with_capacity(term.nodes().len());
    for node in term.nodes() {
        let kids: Vec<Id> = node.children.iter().map(|c| map[c.index()]).collect();
        let closed = !kids.is_empty()
            && !matches!(node.op, Op::Call(_))
            && kids.iter().all(|k| matches!(out.node(*k).op, Op::Const(_)));
        if closed {
            let mut one = Term::new();
            let consts: Vec<Id> = kids.iter().map(|k| one.add(out.node(*k).op.clone(), &[])).collect();
            one.add(node.op.clone(), &consts);
            if let Ok(v) = crate::dsl::eval_one(&one, &[], &FunDefs::new()) {
                map.push(out.add(Op::Const(v), &[]));
                continue;
            }
        }
        map.push(out.add(node.op.clone(), &kids));
    }
    out
}

/// Deepest nesting of case splits written as statements (`if` inside `if`); deeper ones
/// stay expressions.
pub(crate) const MAX_NESTED_CASES: usize = 4;

/// The case split at `id` as `(condition, result)` arms and the final `else`: the `ite`
/// chain along else-branches (empty arms when `id` is no `ite`).
/// The sort of every node of `t` over `problem`'s parameters.
pub(crate) fn sorts_of(problem: &Problem, t: &Term) -> Result<Vec<Sort>, String> {
    let vars = problem.param_sorts();
    let mut sorts = Vec::with_capacity(t.nodes().len());
    for node in t.nodes() {
        let args: Vec<Sort> = node.children.iter().map(|c| sorts[c.index()]).collect();
        let s = match &node.op {
            Op::Var(v) => vars
                .iter()
                .find(|(n, _)| *n == &**v)
                .map(|(_, s)| *s)
                .ok_or_else(|| format!("unknown variable `{v}`"))?,
            op => op.result_sort(&args)?,
        };
        sorts.push(s);
    }
    Ok(sorts)
}

/// The helper `name` in `source`, a file of helpers each introduced by a line that starts
/// with `marker` followed by its name: the lines after that one up to the next marker,
/// ending in one newline.
pub(crate) fn helper_section<'a>(source: &'a str, marker: &str, name: &str) -> Option<&'a str> {
    let is_marker = |line: &str| line.starts_with(marker);
    let names = |line: &str| {
        line.strip_prefix(marker).is_some_and(|rest| rest.trim_end().trim_end_matches("*/").trim() == name)
    };
    let mut start = None;
    let mut offset = 0;
    for line in source.split_inclusive('\n') {
        if let Some(begin) = start {
            if is_marker(line) {
                return Some(one_newline(&source[begin..offset]));
            }
        } else if names(line) {
            start = Some(offset + line.len());
        }
        offset += line.len();
    }
    start.map(|begin| one_newline(&source[begin..]))
}

/// `text` without its trailing blank lines (keeping one newline).
fn one_newline(text: &str) -> &str {
    let end = text.trim_end_matches('\n').len();
    &text[..(end + 1).min(text.len())]
}

pub(crate) fn case_arms(term: &Term, id: Id) -> (Vec<(Id, Id)>, Id) {
    let mut arms = Vec::new();
    let mut id = id;
    loop {
        let node = term.node(id);
        if node.op != Op::Ite || node.children.len() != 3 {
            return (arms, id);
        }
        arms.push((node.children[0], node.children[1]));
        id = node.children[2];
    }
}

impl Helpers {
    pub fn need(&mut self, name: impl Into<String>) {
        self.0.insert(name.into());
    }

    pub fn iter(&self) -> impl Iterator<Item = &String> {
        self.0.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helper_sections_run_to_the_next_marker_and_end_in_one_newline() {
        let source = "/* head */\n\n/* helper: a */\nint a;\n\n/* helper: ab */\nint ab;\nint b;\n";
        assert_eq!(helper_section(source, "/* helper: ", "a"), Some("int a;\n"));
        assert_eq!(helper_section(source, "/* helper: ", "ab"), Some("int ab;\nint b;\n"));
        assert_eq!(helper_section(source, "/* helper: ", "b"), None);
        for (file, marker) in [(include_str!("helpers.c"), "/* helper: "), (include_str!("helpers.py"), "# helper: ")] {
            let names: Vec<&str> = file.lines().filter_map(|l| l.strip_prefix(marker)).collect();
            assert!(names.len() >= 18, "{names:?}");
            let mut unique = names.clone();
            unique.sort_unstable();
            unique.dedup();
            assert_eq!(unique.len(), names.len(), "a helper is defined twice: {names:?}");
        }
    }

    #[test]
    fn closed_subterms_become_their_values() {
        let t: Term = "(bvadd x (bvor #x00000002 #x00000008))".parse().unwrap();
        assert_eq!(fold_constants(&t).to_string(), "(bvadd x #x0000000a)");
        let t: Term = "(ite (bvslt x #x0000000a) #x00000000 (bvneg (bvnot #x00000004)))".parse().unwrap();
        assert_eq!(fold_constants(&t).to_string(), "(ite (bvslt x #x0000000a) #x00000000 #x00000005)");
        // Division by zero has an SMT-LIB value too; a failing evaluation would stay as it is.
        let t: Term = "(str.++ s (str.from_int (+ 1 2)))".parse().unwrap();
        assert_eq!(fold_constants(&t).to_string(), "(str.++ s \"3\")");
    }
    use crate::spec::sygus;

    #[test]
    fn inlines_macros() {
        let p = sygus::parse(
            "(define-fun smol ((x (_ BitVec 64))) (_ BitVec 64) (bvshl x #x0000000000000001))
             (synth-fun f ((x (_ BitVec 64))) (_ BitVec 64))
             (constraint (= (f #x0000000000000001) #x0000000000000002))",
        )
        .unwrap()
        .problem;
        let t: Term = "(smol (smol x))".parse().unwrap();
        assert_eq!(
            inline_calls(&t, &p.funs).unwrap().to_string(),
            "(bvshl (bvshl x #x0000000000000001) #x0000000000000001)"
        );
    }

    #[test]
    fn identifiers_are_sanitized() {
        assert_eq!(ident("first-name"), "first_name");
        assert_eq!(ident("_arg_0"), "_arg_0");
        assert_eq!(ident("0x"), "_0x");
        assert_eq!(ident("type"), "type_");
    }
}
