//! A list task: the examples JSON with `list[int]` types, validated.

use super::program::{LType, LValue};
use super::ListError;
use crate::spec::Examples;

/// A function over integers and lists of integers, specified by examples.
#[derive(Clone, Debug, PartialEq)]
pub struct ListProblem {
    /// The function's name.
    pub name: String,
    /// Parameter names and types, in order.
    pub params: Vec<(String, LType)>,
    /// The result type.
    pub output: LType,
    /// The parameter whose buffer, after the call, is the result (an in-place or
    /// out-parameter function); `None` when the result is returned.
    pub result_in: Option<usize>,
    /// What the function does, in words, when given.
    pub description: Option<String>,
    /// The parameters as written, when some are structs whose fields are the inputs
    /// (carved from a traced function); `None` when the inputs are the parameters.
    pub shape: Option<super::Shape>,
    /// Inputs (one value per parameter) and the output.
    pub examples: Vec<(Vec<LValue>, LValue)>,
}

/// Whether an examples file names a list type anywhere (so it is a task for
/// [`crate::lists`], not for the scalar engine).
#[must_use]
pub fn is_list_spec(ex: &Examples) -> bool {
    let list = |t: &str| LType::parse(t) == Some(LType::List);
    list(&ex.output_type) || ex.params.iter().any(|p| list(&p.ty)) || !ex.types.is_empty()
}

/// Longest list an example may hold.
pub const MAX_EXAMPLE_LIST: usize = 4096;

impl ListProblem {
    /// Validates an examples specification as a list task.
    ///
    /// # Errors
    ///
    /// A type the list language lacks, a value that is not of its declared type (or a
    /// list longer than [`MAX_EXAMPLE_LIST`]), the wrong number of arguments, no
    /// examples, or two examples with the same inputs and different outputs.
    pub fn from_examples(ex: &Examples) -> Result<ListProblem, ListError> {
        // Struct-typed parameters: their fields are the inputs.
        if let Some((flat, shape)) = super::shape::flatten_structs(ex)? {
            let mut problem = ListProblem::from_examples(&flat)?;
            problem.shape = Some(shape);
            return Ok(problem);
        }
        let ty = |name: &str, what: String| {
            LType::parse(name).ok_or_else(|| ListError::UnknownType { name: name.to_string(), what })
        };
        let params: Vec<(String, LType)> = ex
            .params
            .iter()
            .map(|p| Ok((p.name.clone(), ty(&p.ty, format!("parameter `{}`", p.name))?)))
            .collect::<Result<_, ListError>>()?;
        let output = ty(&ex.output_type, "the output".into())?;
        if ex.examples.is_empty() {
            return Err(ListError::NoExamples);
        }
        let value = |v: &serde_json::Value, t: LType, what: String| -> Result<LValue, ListError> {
            let val = LValue::from_json(v, t).ok_or_else(|| ListError::BadValue { what: what.clone(), ty: t })?;
            if let LValue::List(l) = &val {
                if l.len() > MAX_EXAMPLE_LIST {
                    return Err(ListError::TooLong { what, len: l.len(), cap: MAX_EXAMPLE_LIST });
                }
            }
            Ok(val)
        };
        let mut examples: Vec<(Vec<LValue>, LValue)> = Vec::new();
        for (k, e) in ex.examples.iter().enumerate() {
            if e.args.len() != params.len() {
                return Err(ListError::Arity { example: k + 1, expected: params.len(), got: e.args.len() });
            }
            let args = e
                .args
                .iter()
                .zip(&params)
                .map(|(a, (n, t))| value(a, *t, format!("example {}, argument `{n}`", k + 1)))
                .collect::<Result<Vec<_>, _>>()?;
            let out = value(&e.output, output, format!("example {}, output", k + 1))?;
            if let Some((j, _)) = examples.iter().enumerate().find(|(_, (a, o))| *a == args && *o != out) {
                return Err(ListError::Contradiction { first: j + 1, second: k + 1 });
            }
            examples.push((args, out));
        }
        let result_in = match &ex.result_param {
            None => None,
            Some(name) => match params.iter().position(|(n, _)| n == name) {
                Some(i) if params[i].1 == LType::List && output == LType::List => Some(i),
                _ => return Err(ListError::BadResultParam(name.clone())),
            },
        };
        Ok(ListProblem {
            name: ex.function.clone(),
            params,
            output,
            result_in,
            description: ex.description.clone(),
            shape: None,
            examples,
        })
    }

    /// The parameter names, in order.
    #[must_use]
    pub fn param_names(&self) -> Vec<String> {
        self.params.iter().map(|(n, _)| n.clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(json: &str) -> Result<ListProblem, ListError> {
        ListProblem::from_examples(&Examples::from_json(json).unwrap())
    }

    #[test]
    fn reads_lists_and_refuses_what_it_cannot_hold() {
        let p = problem(
            r#"{"function": "f", "params": [{"name": "xs", "type": "list[int]"}, {"name": "n", "type": "int"}],
                "output_type": "int[]", "examples": [{"args": [[1, 2], 3], "output": [4]}]}"#,
        )
        .unwrap();
        assert_eq!(p.params[0].1, LType::List);
        assert_eq!(p.output, LType::List);
        assert_eq!(p.examples[0].1, LValue::List(vec![4].into()));

        let bad = problem(
            r#"{"function": "f", "params": [{"name": "xs", "type": "list[int]"}],
                "output_type": "int", "examples": [{"args": [[1, "a"]], "output": 1}]}"#,
        );
        assert!(matches!(bad, Err(ListError::BadValue { .. })), "{bad:?}");
        let contra = problem(
            r#"{"function": "f", "params": [{"name": "xs", "type": "list[int]"}],
                "output_type": "int", "examples": [{"args": [[1]], "output": 1}, {"args": [[1]], "output": 2}]}"#,
        );
        assert!(matches!(contra, Err(ListError::Contradiction { first: 1, second: 2 })), "{contra:?}");
        let ty = problem(
            r#"{"function": "f", "params": [{"name": "xs", "type": "list[str]"}],
                "output_type": "int", "examples": [{"args": [["a"]], "output": 1}]}"#,
        );
        assert!(matches!(ty, Err(ListError::UnknownType { .. })), "{ty:?}");
        let long = format!(
            r#"{{"function": "f", "params": [{{"name": "xs", "type": "list[int]"}}],
                "output_type": "int", "examples": [{{"args": [{:?}], "output": 1}}]}}"#,
            vec![0; MAX_EXAMPLE_LIST + 1]
        );
        assert!(matches!(problem(&long), Err(ListError::TooLong { .. })));

        // A function that leaves its result in a parameter names it.
        let in_place = problem(
            r#"{"function": "f", "params": [{"name": "a", "type": "list[int]"}, {"name": "k", "type": "int"}],
                "output_type": "list[int]", "result_param": "a", "examples": [{"args": [[1, 2], 3], "output": [3, 6]}]}"#,
        )
        .unwrap();
        assert_eq!(in_place.result_in, Some(0));
        let not_a_list = problem(
            r#"{"function": "f", "params": [{"name": "a", "type": "list[int]"}, {"name": "k", "type": "int"}],
                "output_type": "list[int]", "result_param": "k", "examples": [{"args": [[1, 2], 3], "output": [3, 6]}]}"#,
        );
        assert!(matches!(not_a_list, Err(ListError::BadResultParam(ref k)) if k == "k"), "{not_a_list:?}");
    }
}
