//! Behaviour specifications: input/output examples (JSON) and SyGuS-IF v2
//! files, both converted to one [`Problem`].

pub mod cegis;
mod examples;
pub mod invariants;
pub mod sygus;

use std::fmt;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::dsl::{Column, FunDefs, Sort, Term, Value};

pub use examples::{json_value, value_json, ExampleJson, Examples, NamedTypes, ParamDecl, StructTypes};
pub use sygus::{SygusError, SygusProblem};

/// Errors in a specification that is not a SyGuS file.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum SpecError {
    /// The JSON could not be read.
    #[error("invalid examples json: {0}")]
    Json(#[from] serde_json::Error),
    /// An unknown type name.
    #[error("unknown type `{name}` for {what} (use bv32, bv64, u32, i32, u64, i64, int, bool or string)")]
    UnknownType {
        /// The type as written.
        name: String,
        /// Where it was used.
        what: String,
    },
    /// No `output_type`.
    #[error("the specification has no `output_type` (a function with several results declares `outputs`)")]
    NoOutputType,
    /// A value that does not fit its declared type.
    #[error("example {index}: {message}")]
    BadValue {
        /// 1-based example number.
        index: usize,
        /// What is wrong (lowercase).
        message: String,
    },
    /// Two examples with the same input and different outputs.
    #[error("examples {first} and {second} have the same input but different outputs ({out1} vs {out2})")]
    Contradiction {
        /// 1-based number of the first example.
        first: usize,
        /// 1-based number of the second example.
        second: usize,
        /// First output.
        out1: String,
        /// Second output.
        out2: String,
    },
    /// No examples and no reference implementation.
    #[error("the specification has no examples")]
    NoExamples,
}

/// A parameter or result type: the sort plus how the code emitters should
/// present it (signed or unsigned machine integer).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TypeSpec {
    /// The sort in the term language.
    pub sort: Sort,
    /// For bit-vectors: whether the source type was signed (`i32`, `int32_t`).
    pub signed: bool,
}

impl TypeSpec {
    /// An unsigned (or non-integer) type.
    #[must_use]
    pub fn of(sort: Sort) -> TypeSpec {
        TypeSpec { sort, signed: false }
    }

    /// Parses a type name from the examples format.
    #[must_use]
    pub fn parse(name: &str) -> Option<TypeSpec> {
        let n = name.trim().to_ascii_lowercase();
        let (sort, signed) = match n.as_str() {
            "bv32" | "u32" | "uint32_t" | "unsigned" | "unsigned int" | "uint" => (Sort::BitVec(32), false),
            "i32" | "int32_t" | "int32" | "signed" | "signed int" => (Sort::BitVec(32), true),
            "bv64" | "u64" | "uint64_t" | "unsigned long" | "unsigned long long" | "size_t" => {
                (Sort::BitVec(64), false)
            }
            "i64" | "int64_t" | "int64" | "long" | "long long" => (Sort::BitVec(64), true),
            "bv8" | "u8" | "uint8_t" => (Sort::BitVec(8), false),
            "i8" | "int8_t" => (Sort::BitVec(8), true),
            "bv16" | "u16" | "uint16_t" => (Sort::BitVec(16), false),
            "i16" | "int16_t" => (Sort::BitVec(16), true),
            "int" | "integer" => (Sort::Int, true),
            "bool" | "boolean" => (Sort::Bool, false),
            "string" | "str" => (Sort::String, false),
            _ => return None,
        };
        Some(TypeSpec { sort, signed })
    }
}

impl fmt::Display for TypeSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.sort {
            Sort::BitVec(w) => write!(f, "{}{w}", if self.signed { "i" } else { "u" }),
            Sort::Int => f.write_str("int"),
            Sort::Bool => f.write_str("bool"),
            Sort::String => f.write_str("string"),
        }
    }
}

/// A named parameter of the function to synthesize.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Param {
    /// Name (used in terms and emitted code).
    pub name: String,
    /// Type.
    pub ty: TypeSpec,
}

/// One input/output example.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Example {
    /// Argument values, one per parameter.
    pub args: Vec<Value>,
    /// Expected output.
    pub output: Value,
}

/// One production of a grammar nonterminal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Production {
    /// A term whose variables may name nonterminals (holes) or parameters.
    Term(Term),
    /// `(Constant S)`: any literal of the sort.
    AnyConst(Sort),
    /// `(Variable S)`: any parameter of the sort.
    AnyVar(Sort),
}

/// A grammar nonterminal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NonTerminal {
    /// Name.
    pub name: String,
    /// Sort of the terms it generates.
    pub sort: Sort,
    /// Its productions.
    pub productions: Vec<Production>,
}

/// A context-free grammar; the first nonterminal is the start symbol.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grammar {
    /// Nonterminals, start first.
    pub nonterminals: Vec<NonTerminal>,
}

/// A synthesis problem: signature, examples, optional reference
/// implementation, optional grammar and helper functions.
#[derive(Clone, Debug)]
pub struct Problem {
    /// Name of the function to synthesize.
    pub name: String,
    /// Parameters.
    pub params: Vec<Param>,
    /// Result type.
    pub output: TypeSpec,
    /// Optional natural-language description.
    pub description: Option<String>,
    /// Input/output examples (for a reference spec: the sampled inputs so far).
    pub examples: Vec<Example>,
    /// A reference implementation over the parameter names: the solution must
    /// agree with it on every input (checked by CEGIS).
    pub reference: Option<Term>,
    /// The grammar to respect, if any (otherwise a default grammar per type).
    pub grammar: Option<Grammar>,
    /// Helper functions (`define-fun`) usable in the reference, the grammar and solutions.
    pub funs: FunDefs,
    /// Names of `funs` in definition order (for printing).
    pub fun_order: Vec<String>,
}

impl Problem {
    /// A problem with the given signature and no examples.
    #[must_use]
    pub fn new(name: &str, params: Vec<Param>, output: TypeSpec) -> Problem {
        Problem {
            name: name.to_string(),
            params,
            output,
            description: None,
            examples: Vec::new(),
            reference: None,
            grammar: None,
            funs: FunDefs::new(),
            fun_order: Vec::new(),
        }
    }

    /// The smallest and largest value parameter `index` takes over the examples, read as
    /// its type says (signed or not); `None` without examples or for a parameter that is
    /// not a number.
    #[must_use]
    pub fn param_range(&self, index: usize) -> Option<(i128, i128)> {
        let signed = self.params.get(index)?.ty.signed;
        let mut values = self.examples.iter().map(|e| e.args.get(index).and_then(|a| a.integer(signed)));
        let first = values.next()??;
        values.try_fold((first, first), |(lo, hi), x| x.map(|x| (lo.min(x), hi.max(x))))
    }

    /// Parameter names and sorts.
    #[must_use]
    pub fn param_sorts(&self) -> Vec<(&str, Sort)> {
        self.params.iter().map(|p| (p.name.as_str(), p.ty.sort)).collect()
    }

    /// Argument columns of the examples, one per parameter.
    ///
    /// # Panics
    ///
    /// If an example does not fit the signature (problems built by this
    /// crate are validated).
    #[must_use]
    pub fn input_columns(&self) -> Vec<Column> {
        self.params
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let vals: Vec<Value> = self.examples.iter().map(|e| e.args[i].clone()).collect();
                Column::from_values(p.ty.sort, &vals).expect("validated examples")
            })
            .collect()
    }

    /// The expected outputs as a column.
    ///
    /// # Panics
    ///
    /// As [`Problem::input_columns`].
    #[must_use]
    pub fn output_column(&self) -> Column {
        let vals: Vec<Value> = self.examples.iter().map(|e| e.output.clone()).collect();
        Column::from_values(self.output.sort, &vals).expect("validated examples")
    }

    /// Checks arity and sorts of every example and that no two examples with
    /// the same input disagree; removes exact duplicates.
    ///
    /// # Errors
    ///
    /// [`SpecError::BadValue`] or [`SpecError::Contradiction`], naming the examples (1-based).
    pub fn validate_examples(&mut self) -> Result<(), SpecError> {
        let mut seen: std::collections::HashMap<Vec<Value>, (usize, Value)> = std::collections::HashMap::new();
        let mut keep = Vec::with_capacity(self.examples.len());
        for (i, ex) in self.examples.iter().enumerate() {
            if ex.args.len() != self.params.len() {
                return Err(SpecError::BadValue {
                    index: i + 1,
                    message: format!("expected {} argument(s), got {}", self.params.len(), ex.args.len()),
                });
            }
            for (a, p) in ex.args.iter().zip(&self.params) {
                if a.sort() != p.ty.sort {
                    return Err(SpecError::BadValue {
                        index: i + 1,
                        message: format!("argument `{}` should be {} but is {a}", p.name, p.ty.sort),
                    });
                }
            }
            if ex.output.sort() != self.output.sort {
                return Err(SpecError::BadValue {
                    index: i + 1,
                    message: format!("output should be {} but is {}", self.output.sort, ex.output),
                });
            }
            match seen.get(&ex.args) {
                Some((j, out)) if *out != ex.output => {
                    return Err(SpecError::Contradiction {
                        first: j + 1,
                        second: i + 1,
                        out1: out.to_string(),
                        out2: ex.output.to_string(),
                    })
                }
                Some(_) => {}
                None => {
                    seen.insert(ex.args.clone(), (i, ex.output.clone()));
                    keep.push(ex.clone());
                }
            }
        }
        self.examples = keep;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_aliases_keep_signedness() {
        assert_eq!(TypeSpec::parse("int32_t"), Some(TypeSpec { sort: Sort::BitVec(32), signed: true }));
        assert_eq!(TypeSpec::parse("u64"), Some(TypeSpec { sort: Sort::BitVec(64), signed: false }));
        assert_eq!(TypeSpec::parse("String").map(|t| t.sort), Some(Sort::String));
        assert_eq!(TypeSpec::parse("int").map(|t| t.sort), Some(Sort::Int));
        assert_eq!(TypeSpec::parse("float"), None);
    }

    #[test]
    fn contradicting_examples_are_named() {
        let mut p =
            Problem::new("f", vec![Param { name: "x".into(), ty: TypeSpec::of(Sort::Int) }], TypeSpec::of(Sort::Int));
        p.examples = vec![
            Example { args: vec![Value::Int(1)], output: Value::Int(2) },
            Example { args: vec![Value::Int(1)], output: Value::Int(2) },
            Example { args: vec![Value::Int(1)], output: Value::Int(3) },
        ];
        let err = p.validate_examples().unwrap_err();
        assert_eq!(err.to_string(), "examples 1 and 3 have the same input but different outputs (2 vs 3)");
        p.examples.pop();
        p.validate_examples().unwrap();
        assert_eq!(p.examples.len(), 1);
    }
}
