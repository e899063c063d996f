//! From recorded calls to a synthesis specification: distinct argument tuples and their
//! return values, typed from DWARF, with a held-out share kept back for verification.
use std::collections::{BTreeMap, HashMap};

use serde_json::{json, Value as Json};
use synth_engine::lists::{Shape, ShapedKind, ShapedParam, StructShape};
use synth_engine::spec::{ExampleJson, Examples, ParamDecl};

use tracer_probe::{
    probes::dwarf::{CType, StructPlace, ValueKind},
    trace::{FieldValue, Trace, Value},
};

/// Why a function's calls cannot become a specification.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// The function is not in the trace.
    #[error("function `{0}` is not in the trace")]
    UnknownFunction(String),
    /// No call returned while recording.
    #[error(
        "`{0}` was never called (and returned) while recording; drive the program so it calls it, or record longer"
    )]
    NeverCalled(String),
    /// A parameter or return type synthesis cannot express.
    #[error(
        "`{function}`: {what} has type `{ctype}`, which synthesis does not support (integers, bool and char * are)"
    )]
    Unsupported {
        /// Function.
        function: String,
        /// Which parameter, or the return value.
        what: String,
        /// Its C type.
        ctype: String,
    },
    /// The function is not a function of its captured arguments.
    #[error("`{function}` is not a pure function of its arguments: {detail}")]
    NotPure {
        /// Function.
        function: String,
        /// Evidence.
        detail: String,
    },
    /// A struct synthesis cannot take: no call showed its fields, or it is the result.
    #[error("`{function}`: {what} is a struct ({ctype}): {why}")]
    Struct {
        /// Function.
        function: String,
        /// Which parameter.
        what: String,
        /// Its C type.
        ctype: String,
        /// Why it cannot be taken.
        why: String,
    },
    /// The trace has no DWARF types for the function.
    #[error("`{0}` has no DWARF type information; synthesis needs parameter types (rebuild with -g)")]
    NoDwarf(String),
    /// A function with several results (a value returned and memory written), which the
    /// scalar path cannot take.
    #[error(
        "`{function}` gives several results ({outputs}); this path takes one scalar, `synth --pid` synthesizes them"
    )]
    SeveralOutputs {
        /// Function.
        function: String,
        /// The results, by name.
        outputs: String,
    },
}

/// A specification carved from a trace.
#[derive(Clone, Debug)]
pub struct CarvedSpec {
    /// Distinct examples used for synthesis.
    pub training: Examples,
    /// Distinct examples kept back to check the result.
    pub held_out: Examples,
    /// Calls observed.
    pub calls: usize,
    /// Distinct inputs observed.
    pub distinct: usize,
    /// The parameters as written when some are structs (their integer fields are the
    /// inputs: `r.size.x`, or `items.qty` across an array of structs).
    pub shape: Option<Shape>,
    /// A struct returned by value: its type as DWARF spells it and its integer fields, in
    /// the order its declaration in the examples' `"types"` gives them.
    pub returned: Option<StructShape>,
}

/// Where an input of the specification comes from in a call's arguments.
#[derive(Clone, Debug)]
enum Extract {
    /// The argument as it is.
    Whole,
    /// An integer field of a struct argument.
    Field(Vec<String>),
    /// An integer field across an array of structs: a list.
    Column(Vec<String>),
}

/// The integer and Boolean fields of a struct value, by path, and the types of the nested
/// structs on the way.
fn leaves(
    fields: &[FieldValue],
    prefix: &[String],
    out: &mut Vec<Vec<String>>,
    nested: &mut Vec<(Vec<String>, String)>,
) {
    for f in fields {
        let mut path = prefix.to_vec();
        path.push(f.name.clone());
        match &f.value {
            Value::Int(_) | Value::Uint(_) | Value::Bool(_) => out.push(path),
            Value::Record { ty, fields, fault: None, .. } => {
                nested.push((path.clone(), ty.clone()));
                leaves(fields, &path, out, nested);
            }
            _ => {}
        }
    }
}

/// The field at `path` of a struct value.
fn field_at<'a>(value: &'a Value, path: &[String]) -> Option<&'a Value> {
    let Some((first, rest)) = path.split_first() else { return Some(value) };
    let Value::Record { fields, fault: None, truncated: false, .. } = value else { return None };
    field_at(&fields.iter().find(|f| &f.name == first)?.value, rest)
}

/// An input's value in a call's argument.
fn extract(arg: &Value, how: &Extract) -> Option<Json> {
    match how {
        Extract::Whole => json_value(arg),
        Extract::Field(path) => json_value(field_at(arg, path)?),
        Extract::Column(path) => match arg {
            Value::Array { items, truncated: false, fault: None, .. } => {
                items.iter().map(|item| json_value(field_at(item, path)?)).collect::<Option<Vec<_>>>().map(Json::Array)
            }
            _ => None,
        },
    }
}

fn type_name(function: &str, what: &str, ctype: &CType) -> Result<&'static str, SpecError> {
    let unsupported =
        || SpecError::Unsupported { function: function.into(), what: what.into(), ctype: ctype.name.clone() };
    Ok(match ctype.kind {
        ValueKind::Signed { bytes: 1..=4 } => "i32",
        ValueKind::Unsigned { bytes: 1..=4 } => "u32",
        ValueKind::Signed { .. } => "i64",
        ValueKind::Unsigned { .. } => "u64",
        ValueKind::Bool => "bool",
        ValueKind::CString => "string",
        // The elements read at entry: a list task for `synth_engine::lists`.
        ValueKind::Elements { .. } => "list[int]",
        ValueKind::Record { .. } => {
            return Err(SpecError::Struct {
                function: function.into(),
                what: what.into(),
                ctype: ctype.name.clone(),
                why: "synthesis takes struct parameters (their integer fields), not struct values".into(),
            })
        }
        ValueKind::StructValue { place, .. } => {
            return Err(SpecError::Struct {
                function: function.into(),
                what: what.into(),
                ctype: ctype.name.clone(),
                why: match place {
                    StructPlace::Memory => "it is passed in memory, which the probes do not read",
                    StructPlace::Sse => "it is passed in floating-point registers, which the probes do not read",
                    _ => "where the ABI passes it is not modelled (a union, a field of unknown type)",
                }
                .into(),
            })
        }
        _ => return Err(unsupported()),
    })
}

fn json_value(v: &Value) -> Option<Json> {
    match v {
        Value::Int(i) => Some(json!(i)),
        Value::Uint(u) => Some(json!(u)),
        Value::Bool(b) => Some(json!(b)),
        Value::Str { value: Some(s), truncated: false, .. } => Some(json!(s)),
        // Only a whole array: a cut or unreadable one is not the input the call saw.
        Value::Array { items, truncated: false, fault: None, .. } => {
            items.iter().map(json_value).collect::<Option<Vec<Json>>>().map(Json::Array)
        }
        _ => None,
    }
}

/// A struct's integer fields as a JSON object (nested structs as objects); `None` when it
/// or a nested one could not be read whole.
fn record_json(v: &Value) -> Option<Json> {
    let Value::Record { fields, truncated: false, fault: None, .. } = v else { return None };
    let mut map = serde_json::Map::new();
    for f in fields {
        match &f.value {
            Value::Int(_) | Value::Uint(_) | Value::Bool(_) => {
                map.insert(f.name.clone(), json_value(&f.value)?);
            }
            nested @ Value::Record { .. } => {
                map.insert(f.name.clone(), record_json(nested)?);
            }
            _ => {}
        }
    }
    Some(Json::Object(map))
}

/// Why `function` may depend on memory no probe captured: the writable globals its code
/// reads (`None` when it reads none, or its file cannot be read to tell).
#[must_use]
pub fn uncaptured_reads(trace: &Trace, function: &str) -> Option<String> {
    let info = &trace.functions[trace.function_index(function)? as usize];
    let globals = tracer_probe::probes::globals::writable_reads(&info.object, info.address, info.size).ok()?;
    if globals.is_empty() {
        return None;
    }
    let names: Vec<String> = globals.iter().map(ToString::to_string).collect();
    Some(format!(
        "`{function}` also reads {}, writable memory no probe captured: its result may depend on it, \
         so agreeing with the calls seen is not enough to call it verified",
        names.join(", ")
    ))
}

/// The parameters through which some call of function `index` changed memory.
fn written_params(trace: &Trace, index: u32) -> Vec<usize> {
    let mut out: Vec<usize> = Vec::new();
    for call in trace.calls_of(index).filter(|c| c.is_complete()) {
        for (i, a) in call.args.iter().enumerate() {
            if let Value::Written { before, after } = a {
                if before != after && !out.contains(&i) {
                    out.push(i);
                }
            }
        }
    }
    out.sort_unstable();
    out
}

/// Carves a specification for `function` from `trace`: every returned call whose
/// arguments and result could be read, grouped by distinct input; every `holdout_every`-th
/// distinct input (in first-seen order) goes to the held-out set.
///
/// # Errors
/// See [`SpecError`]; in particular the same input giving two outputs, or a pointer
/// parameter the output may depend on, is reported as "not a pure function".
pub fn carve(trace: &Trace, function: &str, holdout_every: usize) -> Result<CarvedSpec, SpecError> {
    carve_covering(trace, function, holdout_every, &HashMap::new())
}

/// [`carve`], with the held-out set chosen to cover the original's control flow: `edges`
/// gives the block edges each call (by `seq`) followed. Every edge followed by at least
/// two distinct inputs gets one of them held out and keeps one in training, so each
/// observed branch direction is both learned from and checked; the every-`holdout_every`-th
/// rule fills in the rest.
///
/// # Errors
/// As [`carve`].
pub fn carve_covering(
    trace: &Trace,
    function: &str,
    holdout_every: usize,
    edges: &HashMap<u64, Vec<(u32, u32)>>,
) -> Result<CarvedSpec, SpecError> {
    let index = trace.function_index(function).ok_or_else(|| SpecError::UnknownFunction(function.into()))?;
    let info = &trace.functions[index as usize];
    if !info.has_dwarf {
        return Err(SpecError::NoDwarf(function.into()));
    }
    for p in &info.params {
        if p.ctype.kind == ValueKind::Pointer {
            return Err(SpecError::NotPure {
                function: function.into(),
                detail: format!(
                    "it may read memory through pointer parameter `{}` ({}), which is not captured",
                    p.name, p.ctype.name
                ),
            });
        }
    }
    if !trace.calls_of(index).any(|c| c.is_complete()) {
        return Err(SpecError::NeverCalled(function.into()));
    }
    // Each parameter is one input, or for a struct each of its integer fields.
    let mut params: Vec<ParamDecl> = Vec::new();
    let mut sources: Vec<(usize, Extract)> = Vec::new();
    let mut shaped: Vec<ShapedParam> = Vec::new();
    for (i, p) in info.params.iter().enumerate() {
        // A struct behind a pointer, an array of them, or one passed in registers.
        let count_param = match p.ctype.kind {
            ValueKind::Record { count_param, .. } => count_param,
            ValueKind::StructValue { place: StructPlace::Registers, .. } => None,
            _ => {
                let ty = type_name(function, &format!("parameter `{}`", p.name), &p.ctype)?;
                shaped.push(ShapedParam { name: p.name.clone(), kind: ShapedKind::Plain(params.len()) });
                params.push(ParamDecl { name: p.name.clone(), ty: ty.into() });
                sources.push((i, Extract::Whole));
                continue;
            }
        };
        // The fields, from the first call that shows them.
        let array = count_param.is_some();
        let sample = trace.calls_of(index).find_map(|c| match c.args.get(i).map(Value::at_entry) {
            Some(Value::Array { items, fault: None, .. }) if array => items.first().cloned(),
            Some(v @ Value::Record { fault: None, truncated: false, .. }) if !array => Some(v.clone()),
            _ => None,
        });
        let Some(Value::Record { ty, fields, .. }) = sample else {
            return Err(SpecError::Struct {
                function: function.into(),
                what: format!("parameter `{}`", p.name),
                ctype: p.ctype.name.clone(),
                why: "no call showed its fields (every read was cut short or faulted)".into(),
            });
        };
        let (mut paths, mut nested) = (Vec::new(), Vec::new());
        leaves(&fields, &[], &mut paths, &mut nested);
        let mut shape = StructShape { ty, fields: Vec::new(), nested };
        for path in paths {
            shape.fields.push((path.clone(), params.len()));
            let name = format!("{}.{}", p.name, path.join("."));
            let (ty, how) = if array { ("list[int]", Extract::Column(path)) } else { ("i64", Extract::Field(path)) };
            params.push(ParamDecl { name, ty: ty.into() });
            sources.push((i, how));
        }
        let kind = if array { ShapedKind::Structs(shape) } else { ShapedKind::Struct(shape) };
        shaped.push(ShapedParam { name: p.name.clone(), kind });
    }
    let shape = shaped
        .iter()
        .any(|p| !matches!(p.kind, ShapedKind::Plain(_)))
        .then_some(Shape { params: shaped, repr_c: None });
    let written = written_params(trace, index);
    // What the function gives: its return value (unless `void`) and each array it wrote
    // through a pointer argument (the memory after the call); with more than one, each
    // example's output is an object with a value for each (`"outputs"`).
    let mut outputs: Vec<(String, String, Option<usize>)> = Vec::new();
    let mut types = synth_engine::spec::StructTypes::default();
    let mut returned = None;
    if let ValueKind::StructValue { place, .. } = info.ret.kind {
        // A struct returned in registers: a result of each integer field, its type
        // declared from the fields a call showed.
        let why = match place {
            StructPlace::Registers => "no call showed its fields",
            StructPlace::Memory => {
                "it is returned in memory, and no call showed it there (probes on `ret` do not read it, \
                 uretprobes do)"
            }
            StructPlace::Sse => "it is returned in floating-point registers, which the probes do not read",
            StructPlace::Unknown => "where the ABI returns it is not modelled (a union, a field of unknown type)",
        };
        let sample = trace.calls_of(index).find_map(|c| match &c.ret {
            Some(v @ Value::Record { fault: None, truncated: false, .. }) => Some(v.clone()),
            _ => None,
        });
        let Some(Value::Record { ty, fields, .. }) = sample else {
            return Err(SpecError::Struct {
                function: function.into(),
                what: "its return value".into(),
                ctype: info.ret.name.clone(),
                why: why.into(),
            });
        };
        let (mut paths, mut nested) = (Vec::new(), Vec::new());
        leaves(&fields, &[], &mut paths, &mut nested);
        let st = StructShape { ty, fields: paths.into_iter().enumerate().map(|(k, p)| (p, k)).collect(), nested };
        synth_engine::lists::declare_types(&mut types, &st);
        outputs.push(("return".into(), synth_engine::lists::json_type_name(&st.ty), None));
        returned = Some(st);
    } else if info.ret.kind != ValueKind::Void || written.is_empty() {
        outputs.push(("return".into(), type_name(function, "the return value", &info.ret)?.into(), None));
    }
    for &i in &written {
        let p = &info.params[i];
        let ValueKind::Record { count_param, .. } = p.ctype.kind else {
            outputs.push((p.name.clone(), "list[int]".into(), Some(i)));
            continue;
        };
        // A struct written through a pointer, or an array of them written in place: each
        // integer field (across the array) is a result, under the type name the typed
        // examples give the struct (`synth_engine::lists::structured`).
        let st = shape.as_ref().and_then(|s| s.params.iter().find(|sp| sp.name == p.name)).and_then(|sp| {
            match (&sp.kind, count_param) {
                (ShapedKind::Struct(st), None) | (ShapedKind::Structs(st), Some(_)) => Some(st),
                _ => None,
            }
        });
        let Some(st) = st else {
            return Err(SpecError::Struct {
                function: function.into(),
                what: format!("its result, written into `{}`,", p.name),
                ctype: p.ctype.name.clone(),
                why: "no call showed its fields".into(),
            });
        };
        let ty = synth_engine::lists::json_type_name(&st.ty);
        let ty = if count_param.is_some() { format!("list[{ty}]") } else { ty };
        outputs.push((p.name.clone(), ty, Some(i)));
    }
    let output_of = |call: &tracer_probe::trace::Call, param: Option<usize>| match param {
        Some(i) => call.args.get(i).and_then(|a| match a {
            Value::Written { after, .. } => match after.as_ref() {
                record @ Value::Record { .. } => record_json(record),
                Value::Array { items, truncated: false, fault: None, .. }
                    if items.first().is_some_and(|v| matches!(v, Value::Record { .. })) =>
                {
                    items.iter().map(record_json).collect::<Option<Vec<Json>>>().map(Json::Array)
                }
                other => json_value(other),
            },
            _ => None,
        }),
        None => match call.ret.as_ref()? {
            record @ Value::Record { .. } => record_json(record),
            other => json_value(other),
        },
    };
    let struct_result = written.iter().any(|&i| matches!(info.params[i].ctype.kind, ValueKind::Record { .. }));
    // Distinct inputs in first-seen order, each with the outputs seen for it.
    let mut order: Vec<String> = Vec::new();
    let mut seen: BTreeMap<String, (Vec<Json>, Json, u64)> = BTreeMap::new();
    let mut calls = 0usize;
    // A call whose return was not seen has no output to learn from.
    for call in trace.calls_of(index).filter(|c| c.is_complete()) {
        let result = match outputs.as_slice() {
            [(_, _, param)] if !struct_result => output_of(call, *param),
            several => several
                .iter()
                .map(|(name, _, param)| Some((name.clone(), output_of(call, *param)?)))
                .collect::<Option<serde_json::Map<String, Json>>>()
                .map(Json::Object),
        };
        let Some(ret) = result else { continue };
        let Some(args) =
            sources.iter().map(|(i, how)| extract(call.args.get(*i)?.at_entry(), how)).collect::<Option<Vec<_>>>()
        else {
            continue;
        };
        calls += 1;
        let key = serde_json::to_string(&args).unwrap_or_default();
        match seen.get(&key) {
            Some((_, previous, _)) if *previous != ret => {
                let shown: Vec<String> = args.iter().map(Json::to_string).collect();
                return Err(SpecError::NotPure {
                    function: function.into(),
                    detail: format!("{function}({}) returned {previous} and later {ret}", shown.join(", ")),
                });
            }
            Some(_) => {}
            None => {
                order.push(key.clone());
                seen.insert(key, (args, ret, call.seq));
            }
        }
    }
    if order.is_empty() {
        return Err(SpecError::NeverCalled(function.into()));
    }
    let holdout_every = holdout_every.max(2);
    let n = order.len();
    let mut held: Vec<bool> = (0..n).map(|i| n >= 4 && i % holdout_every == holdout_every - 1).collect();
    // Distinct inputs by edge followed, in first-seen order.
    let mut by_edge: BTreeMap<(u32, u32), Vec<usize>> = BTreeMap::new();
    for (i, key) in order.iter().enumerate() {
        for e in edges.get(&seen[key].2).into_iter().flatten() {
            by_edge.entry(*e).or_default().push(i);
        }
    }
    for inputs in by_edge.values().filter(|v| v.len() >= 2) {
        if !inputs.iter().any(|i| held[*i]) {
            held[inputs[inputs.len() - 1]] = true;
        }
        if inputs.iter().all(|i| held[*i]) {
            held[inputs[0]] = false;
        }
    }
    let (mut training, mut held_out) = (Vec::new(), Vec::new());
    for (i, key) in order.iter().enumerate() {
        let (args, output, _) = seen[key].clone();
        let example = ExampleJson { args, output };
        if held[i] {
            held_out.push(example);
        } else {
            training.push(example);
        }
    }
    let make = |examples| Examples {
        function: function.into(),
        params: params.clone(),
        output_type: outputs[0].1.clone(),
        description: None,
        result_param: match outputs.as_slice() {
            [(_, _, Some(i))] if !struct_result => Some(info.params[*i].name.clone()),
            _ => None,
        },
        outputs: (outputs.len() > 1 || struct_result)
            .then(|| synth_engine::spec::NamedTypes(outputs.iter().map(|(n, t, _)| (n.clone(), t.clone())).collect())),
        types: types.clone(),
        examples,
    };
    Ok(CarvedSpec { training: make(training), held_out: make(held_out), calls, distinct: order.len(), shape, returned })
}

/// Checks that `carved` is a task of the scalar search: one scalar result, no struct in or
/// out (a function [`crate::lists::is_list_task`] takes goes to the list language instead).
///
/// # Errors
/// [`SpecError::Struct`] or [`SpecError::SeveralOutputs`].
pub fn scalar_only(carved: &CarvedSpec, function: &str) -> Result<(), SpecError> {
    let struct_error = |what: String, ctype: &str| SpecError::Struct {
        function: function.into(),
        what,
        ctype: ctype.into(),
        why: "the scalar search takes no structs, and the list language only structs of integers \
              passed through a pointer or in integer registers, or returned in registers or memory"
            .into(),
    };
    if let Some(p) =
        carved.shape.as_ref().and_then(|s| s.params.iter().find(|p| !matches!(p.kind, ShapedKind::Plain(_))))
    {
        return Err(struct_error(format!("parameter `{}`", p.name), "a struct pointer"));
    }
    if let Some(outputs) = &carved.training.outputs {
        let names: Vec<String> = outputs.0.iter().map(|(n, _)| format!("`{n}`")).collect();
        return Err(SpecError::SeveralOutputs { function: function.into(), outputs: names.join(", ") });
    }
    if !carved.training.types.is_empty() {
        return Err(struct_error("its return value".into(), &carved.training.output_type));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracer_probe::probes::dwarf::Param;

    fn int_trace(calls: &[(i64, i64)]) -> Trace {
        let mut t = Trace::sample();
        let f = &mut t.functions[0];
        f.params =
            vec![Param { name: "x".into(), ctype: CType { name: "int".into(), kind: ValueKind::Signed { bytes: 4 } } }];
        let template = t.calls[0].clone();
        t.calls = calls
            .iter()
            .enumerate()
            .map(|(i, (a, r))| {
                let mut c = template.clone();
                c.seq = i as u64;
                c.args = vec![Value::Int(*a)];
                c.ret = Some(Value::Int(*r));
                c
            })
            .collect();
        t
    }

    #[test]
    fn held_out_calls_cover_each_branch_direction_seen_twice() {
        // Inputs 1..=10: the branch at block 4 goes to block 12 for 8 and 9 only, to block
        // 8 otherwise; by position alone 5 and 10 would be held out.
        let t = int_trace(&(1..=10).map(|x| (x, x)).collect::<Vec<_>>());
        let rare = |seq: u64| seq == 7 || seq == 8;
        let edges: HashMap<u64, Vec<(u32, u32)>> =
            (0..10u64).map(|seq| (seq, vec![(0, 4), if rare(seq) { (4, 12) } else { (4, 8) }])).collect();
        let spec = carve_covering(&t, "greet", 5, &edges).unwrap();
        let held: Vec<Json> = spec.held_out.examples.iter().map(|e| e.args[0].clone()).collect();
        let training: Vec<Json> = spec.training.examples.iter().map(|e| e.args[0].clone()).collect();
        assert_eq!(held, [json!(5), json!(9), json!(10)], "9 checks the rare direction");
        assert!(training.contains(&json!(8)), "8 teaches it: {training:?}");
        // Without paths: the same split by position.
        let plain = carve(&t, "greet", 5).unwrap();
        assert_eq!(plain.held_out.examples.len(), 2);
        // A direction followed by one input only stays in training.
        let edges: HashMap<u64, Vec<(u32, u32)>> =
            (0..10u64).map(|seq| (seq, vec![if seq == 3 { (4, 12) } else { (4, 8) }])).collect();
        let spec = carve_covering(&t, "greet", 5, &edges).unwrap();
        assert!(spec.training.examples.iter().any(|e| e.args[0] == json!(4)));
    }

    #[test]
    fn groups_distinct_inputs_and_holds_some_out() {
        let t = int_trace(&[(1, 2), (2, 4), (1, 2), (3, 6), (4, 8), (5, 10)]);
        let spec = carve(&t, "greet", 5).unwrap();
        assert_eq!((spec.calls, spec.distinct), (6, 5));
        assert_eq!(spec.training.examples.len(), 4);
        assert_eq!(spec.held_out.examples.len(), 1);
        assert_eq!(spec.training.params[0].ty, "i32");
        assert!(spec.training.to_problem().is_ok());
    }

    #[test]
    fn same_input_two_outputs_is_not_pure() {
        let t = int_trace(&[(1, 2), (1, 3)]);
        let err = carve(&t, "greet", 5).unwrap_err().to_string();
        assert!(err.contains("not a pure function of its arguments: greet(1) returned 2 and later 3"), "{err}");
    }

    /// `void scale(int *a, int k)` (or returning int when `ret` is given): each call's
    /// array before and after.
    fn writing_trace(calls: &[(Vec<i64>, i64, Vec<i64>)], ret: Option<i64>) -> Trace {
        let mut t = Trace::sample();
        let f = &mut t.functions[0];
        let kind = ValueKind::Elements { bytes: 4, signed: true, count_param: None };
        f.params = vec![
            Param { name: "a".into(), ctype: CType { name: "int *".into(), kind } },
            Param { name: "k".into(), ctype: CType { name: "int".into(), kind: ValueKind::Signed { bytes: 4 } } },
        ];
        if ret.is_none() {
            f.ret = CType { name: "void".into(), kind: ValueKind::Void };
        }
        let array = |items: &[i64]| Value::Array {
            ptr: 0x1000,
            count: items.len() as i64,
            items: items.iter().copied().map(Value::Int).collect(),
            truncated: false,
            fault: None,
        };
        let template = t.calls[0].clone();
        t.calls = calls
            .iter()
            .enumerate()
            .map(|(i, (before, k, after))| {
                let mut c = template.clone();
                c.seq = i as u64;
                c.args = vec![
                    Value::Written { before: Box::new(array(before)), after: Box::new(array(after)) },
                    Value::Int(*k),
                ];
                c.ret = ret.map(Value::Int);
                c
            })
            .collect();
        t
    }

    #[test]
    fn a_void_function_s_result_is_the_memory_it_wrote() {
        let t = writing_trace(&[(vec![1, 2], 3, vec![3, 6]), (vec![5], -1, vec![-5]), (vec![], 2, vec![])], None);
        let spec = carve(&t, "greet", 5).unwrap();
        assert_eq!(spec.training.output_type, "list[int]");
        assert_eq!(spec.training.params[0].ty, "list[int]");
        let first = &spec.training.examples[0];
        assert_eq!((first.args.clone(), first.output.clone()), (vec![json!([1, 2]), json!(3)], json!([3, 6])));
        // A value returned as well as memory written: two outputs, each example's output
        // an object with both.
        let t = writing_trace(&[(vec![1, 2], 3, vec![3, 6])], Some(9));
        let spec = carve(&t, "greet", 5).unwrap();
        let outputs = spec.training.outputs.as_ref().unwrap();
        assert_eq!(outputs.0, [("return".to_string(), "i32".to_string()), ("a".to_string(), "list[int]".to_string())]);
        assert_eq!(spec.training.result_param, None);
        assert_eq!(spec.training.examples[0].output, json!({"return": 9, "a": [3, 6]}));
        // Memory that no call changed is only an input.
        let t = writing_trace(&[(vec![1, 2], 3, vec![1, 2]), (vec![4], 1, vec![4])], Some(9));
        let spec = carve(&t, "greet", 5).unwrap();
        assert_eq!(spec.training.examples[0].args[0], json!([1, 2]));
    }

    #[test]
    fn the_scalar_path_names_several_results_instead_of_misreading_them() {
        let t = writing_trace(&[(vec![1, 2], 3, vec![3, 6])], Some(9));
        let options = crate::live::SynthOptions {
            function: "greet".into(),
            lang: synth_engine::emit::Lang::Python,
            describe: None,
            budget: std::time::Duration::from_secs(1),
            max_iterations: 1,
            guide: None,
        };
        let guides = crate::guide_choice::GuideSource::new(Some(crate::guide_choice::GuideChoice::Uniform));
        let err = crate::live::synthesize_from_trace(
            &t,
            &options,
            &guides,
            &synth_engine::search::CancelToken::new(),
            &mut |_| {},
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("several results (`return`, `a`)") && err.contains("synth --pid"), "{err}");
    }

    #[test]
    fn a_struct_returned_in_registers_is_a_typed_result_the_scalar_path_refuses() {
        let mut t = int_trace(&[(7, 0), (-3, 0)]);
        t.functions[0].ret = CType {
            name: "struct span".into(),
            kind: ValueKind::StructValue { bytes: 8, place: StructPlace::Registers },
        };
        let field = |name: &str, v: i64| FieldValue { name: name.into(), ctype: "int".into(), value: Value::Int(v) };
        for c in &mut t.calls {
            let Some(Value::Int(_)) = c.ret else { panic!() };
            let Value::Int(x) = c.args[0] else { panic!() };
            c.ret = Some(Value::Record {
                ptr: 0,
                ty: "struct span".into(),
                fields: vec![field("lo", x - 1), field("hi", x + 1)],
                truncated: false,
                fault: None,
            });
        }
        let spec = carve(&t, "greet", 5).unwrap();
        assert_eq!(spec.training.output_type, "span");
        assert_eq!(
            spec.training.types.0,
            [("span".to_string(), vec![("lo".to_string(), "int".to_string()), ("hi".to_string(), "int".to_string())])]
        );
        assert_eq!(spec.training.examples[0].output, json!({"lo": 6, "hi": 8}));
        assert_eq!(spec.returned.as_ref().map(|st| st.ty.as_str()), Some("struct span"));
        let err = scalar_only(&spec, "greet").unwrap_err().to_string();
        assert!(err.contains("its return value") && err.contains("the list language only"), "{err}");
        // Returned in memory: no call shows it, and the error says why.
        t.functions[0].ret.kind = ValueKind::StructValue { bytes: 24, place: StructPlace::Memory };
        for c in &mut t.calls {
            c.ret = Some(Value::Unavailable("the struct returned is not in rax:rdx".into()));
        }
        let err = carve(&t, "greet", 5).unwrap_err().to_string();
        assert!(err.contains("returned in memory"), "{err}");
    }

    #[test]
    fn uncalled_and_unknown_functions_are_reported() {
        let t = int_trace(&[]);
        assert!(matches!(carve(&t, "greet", 5), Err(SpecError::NeverCalled(_))));
        assert!(matches!(carve(&t, "nope", 5), Err(SpecError::UnknownFunction(_))));
    }
}
