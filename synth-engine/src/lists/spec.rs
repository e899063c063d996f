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
    /// When this task's value is one field of a struct the function returns or writes
    /// through a pointer: which, and where in it.
    pub result_field: Option<ResultField>,
    /// Inputs (one value per parameter) and the output.
    pub examples: Vec<(Vec<LValue>, LValue)>,
}

/// Where a task's value goes when it is one integer field of a struct result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResultField {
    /// `return`, or the struct parameter written through.
    pub output: String,
    /// The field's path in the struct (`["size", "x"]`).
    pub path: Vec<String>,
    /// The struct: its type and integer fields, each numbered by its place among them.
    pub shape: super::StructShape,
    /// Whether the output is an array of such structs written in place (the task's value
    /// is then the field across them, a list).
    pub column: bool,
}

/// Whether an examples file names a list type anywhere (so it is a task for
/// [`crate::lists`], not for the scalar engine).
#[must_use]
pub fn is_list_spec(ex: &Examples) -> bool {
    let list = |t: &str| LType::parse(t) == Some(LType::List);
    list(&ex.output_type) || ex.params.iter().any(|p| list(&p.ty)) || !ex.types.is_empty() || ex.outputs.is_some()
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
        if ex.output_type.trim().is_empty() {
            return Err(ListError::BadOutputs(
                "the specification has no `output_type` (a function with several results declares `outputs`)".into(),
            ));
        }
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
            result_field: None,
            examples,
        })
    }

    /// Each output of a function (its return value, then each buffer it writes, as
    /// `"outputs"` declares them) as a task of its own over the same inputs and examples;
    /// a task without `"outputs"` is one.
    ///
    /// # Errors
    ///
    /// As [`ListProblem::from_examples`]; and an output that is neither `return` nor a
    /// list parameter, a name given twice, `outputs` beside `result_param`, or an example
    /// whose `output` is not an object with a value for each output.
    pub fn outputs_from_examples(ex: &Examples) -> Result<Vec<ListProblem>, ListError> {
        let Some(outputs) = &ex.outputs else {
            // A struct (or an array of them) returned: its one output, each field a task.
            let compact: String = ex.output_type.chars().filter(|c| !c.is_whitespace()).collect();
            let element = compact.strip_prefix("list[").and_then(|r| r.strip_suffix(']')).unwrap_or(&compact);
            if ex.types.get(element).is_some() {
                let mut wrapped = ex.clone();
                wrapped.outputs =
                    Some(crate::spec::NamedTypes(vec![("return".into(), ex.output_type.trim().to_string())]));
                for e in &mut wrapped.examples {
                    e.output = serde_json::json!({ "return": e.output.clone() });
                }
                return ListProblem::outputs_from_examples(&wrapped);
            }
            return Ok(vec![ListProblem::from_examples(ex)?]);
        };
        let bad = |why: String| Err(ListError::BadOutputs(why));
        if ex.result_param.is_some() {
            return bad("give either `outputs` or `result_param`, not both".into());
        }
        if outputs.0.is_empty() {
            return bad("`outputs` names no output".into());
        }
        let mut parts = Vec::new();
        for (k, (name, ty)) in outputs.0.iter().enumerate() {
            if outputs.0[..k].iter().any(|(n, _)| n == name) {
                return bad(format!("output `{name}` is named twice"));
            }
            let ret = name == "return";
            if !ret && !ex.params.iter().any(|p| p.name == *name) {
                return bad(format!("output `{name}` is neither `return` nor a parameter"));
            }
            let mut examples = Vec::new();
            for (j, e) in ex.examples.iter().enumerate() {
                let Some(object) = e.output.as_object() else {
                    return bad(format!(
                        "example {}: with `outputs`, the output is an object with a value for each",
                        j + 1
                    ));
                };
                if let Some(other) = object.keys().find(|key| outputs.get(key).is_none()) {
                    return bad(format!("example {}: `{other}` is not a declared output", j + 1));
                }
                let Some(value) = object.get(name) else {
                    return bad(format!("example {}: no value for output `{name}`", j + 1));
                };
                examples.push(crate::spec::ExampleJson { args: e.args.clone(), output: value.clone() });
            }
            if ex.types.get(ty.trim()).is_some() {
                parts.extend(struct_result(ex, name, ty.trim(), &examples, false)?);
                continue;
            }
            let compact: String = ty.chars().filter(|c| !c.is_whitespace()).collect();
            let element = compact.strip_prefix("list[").and_then(|r| r.strip_suffix(']'));
            if let Some(t) = element.filter(|t| ex.types.get(t).is_some()) {
                parts.extend(struct_result(ex, name, t, &examples, true)?);
                continue;
            }
            let one = Examples {
                output_type: ty.clone(),
                result_param: (!ret).then(|| name.clone()),
                outputs: None,
                examples,
                ..ex.clone()
            };
            parts.push(ListProblem::from_examples(&one)?);
        }
        Ok(parts)
    }

    /// Which output of its function this task is: `return`, the buffer written into, or a
    /// field of a struct result (`return.max`, `out.count`).
    #[must_use]
    pub fn output_name(&self) -> String {
        if let Some(f) = &self.result_field {
            return format!("{}.{}", f.output, f.path.join("."));
        }
        self.result_in.and_then(|k| self.params.get(k)).map_or("return".into(), |(n, _)| n.clone())
    }

    /// The parameter names, in order.
    #[must_use]
    pub fn param_names(&self) -> Vec<String> {
        self.params.iter().map(|(n, _)| n.clone()).collect()
    }
}

/// The tasks of struct output `name` of type `ty` (returned, or written through the struct
/// parameter `name`): one per integer field, each example's value that field of the
/// example's struct.
fn struct_result(
    ex: &Examples,
    name: &str,
    ty: &str,
    examples: &[crate::spec::ExampleJson],
    column: bool,
) -> Result<Vec<ListProblem>, ListError> {
    let bad = |why: String| Err(ListError::BadOutputs(why));
    let declared = if column { format!("list[{ty}]") } else { ty.to_string() };
    let same = |t: &str| t.chars().filter(|c| !c.is_whitespace()).collect::<String>() == declared;
    if name != "return" && !ex.params.iter().any(|p| p.name == name && same(&p.ty)) {
        return bad(format!("output `{name}` is a `{declared}`, but parameter `{name}` is not"));
    }
    let shape = super::shape::struct_output(&ex.types, ty)?;
    let mut parts = Vec::new();
    for (path, _) in &shape.fields {
        let mut field_examples = Vec::new();
        for (j, e) in examples.iter().enumerate() {
            let missing = || format!("example {}: output `{name}` has no integer field `{}`", j + 1, path.join("."));
            let value = if column {
                let items = e.output.as_array().ok_or_else(|| {
                    ListError::BadOutputs(format!("example {}: output `{name}` is an array of structs", j + 1))
                })?;
                let fields: Option<Vec<serde_json::Value>> =
                    items.iter().map(|item| super::shape::field_json(item, path)).collect();
                fields.map(serde_json::Value::Array)
            } else {
                super::shape::field_json(&e.output, path)
            };
            let Some(value) = value else { return bad(missing()) };
            field_examples.push(crate::spec::ExampleJson { args: e.args.clone(), output: value });
        }
        let one = Examples {
            output_type: if column { "list[int]" } else { "int" }.into(),
            result_param: None,
            outputs: None,
            examples: field_examples,
            ..ex.clone()
        };
        let mut part = ListProblem::from_examples(&one)?;
        part.result_field =
            Some(ResultField { output: name.to_string(), path: path.clone(), shape: shape.clone(), column });
        parts.push(part);
    }
    Ok(parts)
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
        let none = problem(
            r#"{"function": "f", "params": [{"name": "xs", "type": "list[int]"}], "examples": [{"args": [[1]], "output": 1}]}"#,
        );
        assert!(none.is_err_and(|e| e.to_string().contains("no `output_type`")));
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

    #[test]
    fn several_outputs_are_one_task_each_and_bad_ones_are_named() {
        let spec = |outputs: &str, output: &str| {
            format!(
                r#"{{"function": "f", "params": [{{"name": "a", "type": "list[int]"}}, {{"name": "out", "type": "list[int]"}}],
                    "outputs": {outputs}, "examples": [{{"args": [[1, 2], [0, 0]], "output": {output}}}]}}"#
            )
        };
        let parts = |outputs: &str, output: &str| {
            ListProblem::outputs_from_examples(&Examples::from_json(&spec(outputs, output)).unwrap())
        };
        let ok = parts(r#"{"out": "list[int]", "return": "int"}"#, r#"{"return": 3, "out": [1, 3]}"#).unwrap();
        assert_eq!(ok.len(), 2);
        assert_eq!((ok[0].output_name().as_str(), ok[0].result_in, ok[0].output), ("out", Some(1), LType::List));
        assert_eq!((ok[1].output_name().as_str(), ok[1].result_in, ok[1].output), ("return", None, LType::Int));
        assert_eq!(ok[0].examples[0].1, LValue::List(vec![1, 3].into()));
        assert_eq!(
            ok[1].examples[0],
            (vec![LValue::List(vec![1, 2].into()), LValue::List(vec![0, 0].into())], LValue::Int(3))
        );
        let err = |outputs: &str, output: &str| parts(outputs, output).unwrap_err().to_string();
        assert!(err(r#"{"b": "list[int]"}"#, r#"{"b": [1]}"#).contains("neither `return` nor a parameter"));
        assert!(err(r#"{"return": "int"}"#, "3").contains("an object"));
        assert!(
            err(r#"{"return": "int", "out": "list[int]"}"#, r#"{"return": 3}"#).contains("no value for output `out`")
        );
        assert!(err(r#"{"return": "int"}"#, r#"{"return": 3, "x": 1}"#).contains("`x` is not a declared output"));
        // An output that is not a list cannot be written into a buffer.
        assert!(matches!(
            parts(r#"{"out": "int"}"#, r#"{"out": 3}"#),
            Err(ListError::BadResultParam(ref n)) if n == "out"
        ));
    }

    #[test]
    fn a_struct_result_is_a_task_per_field_and_bad_ones_are_named() {
        let spec = |params: &str, outputs: &str, output: &str| {
            format!(
                r#"{{"function": "f", "types": {{"span": {{"lo": "int", "hi": "int"}}}},
                    "params": [{{"name": "a", "type": "list[int]"}}{params}], "output_type": "span"{outputs},
                    "examples": [{{"args": [[1, 2]{}], "output": {output}}}]}}"#,
                if params.is_empty() { "" } else { r#", {"lo": 0, "hi": 0}"# }
            )
        };
        let parts = |params: &str, outputs: &str, output: &str| {
            ListProblem::outputs_from_examples(&Examples::from_json(&spec(params, outputs, output)).unwrap())
        };
        let returned = parts("", "", r#"{"lo": 1, "hi": 2}"#).unwrap();
        let names: Vec<String> = returned.iter().map(ListProblem::output_name).collect();
        assert_eq!(names, ["return.lo", "return.hi"]);
        assert_eq!(returned[1].examples[0].1, LValue::Int(2));
        let written = parts(
            r#", {"name": "out", "type": "span"}"#,
            r#", "outputs": {"out": "span"}"#,
            r#"{"out": {"lo": 1, "hi": 2}}"#,
        )
        .unwrap();
        assert_eq!(written[0].output_name(), "out.lo");
        // The struct parameter's fields as they came are inputs too.
        assert_eq!(written[0].param_names(), ["a", "out.lo", "out.hi"]);
        let err = |params: &str, outputs: &str, output: &str| parts(params, outputs, output).unwrap_err().to_string();
        assert!(err("", "", r#"{"lo": 1}"#).contains("output `return` has no integer field `hi`"));
        assert!(err("", r#", "outputs": {"a": "span"}"#, r#"{"a": {"lo": 1, "hi": 2}}"#)
            .contains("output `a` is a `span`, but parameter `a` is not"));
        // An array of structs written in place, or returned: each field across it.
        let column = ListProblem::outputs_from_examples(
            &Examples::from_json(
                r#"{"function": "g", "types": {"span": {"lo": "int", "hi": "int"}},
                    "params": [{"name": "v", "type": "list[span]"}], "outputs": {"v": "list[span]"},
                    "examples": [{"args": [[{"lo": 1, "hi": 2}]], "output": {"v": [{"lo": 0, "hi": 2}]}}]}"#,
            )
            .unwrap(),
        )
        .unwrap();
        assert_eq!(column[0].output_name(), "v.lo");
        assert!(column[0].result_field.as_ref().is_some_and(|f| f.column));
        assert_eq!(column[0].examples[0].1, LValue::List(vec![0].into()));
        let returned = ListProblem::outputs_from_examples(
            &Examples::from_json(
                r#"{"function": "g", "types": {"span": {"lo": "int", "hi": "int"}},
                    "params": [{"name": "v", "type": "list[int]"}], "output_type": "list[span]",
                    "examples": [{"args": [[1, 2]], "output": [{"lo": 1, "hi": 2}, {"lo": 2, "hi": 4}]}]}"#,
            )
            .unwrap(),
        )
        .unwrap();
        assert_eq!(returned.iter().map(ListProblem::output_name).collect::<Vec<_>>(), ["return.lo", "return.hi"]);
        assert!(returned[1].result_field.as_ref().is_some_and(|f| f.column));
        assert_eq!(returned[1].examples[0].1, LValue::List(vec![2, 4].into()));
        assert!(err("", r#", "outputs": {"return": "list[span]"}"#, r#"{"return": [{"lo": 1}]}"#)
            .contains("output `return` has no integer field `hi`"));
    }
}
