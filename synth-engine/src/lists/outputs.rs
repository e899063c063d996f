//! Functions with several outputs: the return value and each buffer the function writes
//! (`"outputs"` in the examples JSON), one program per output over the same inputs.
//!
//! An output is the value returned, a list parameter's buffer, or one integer field of a
//! struct returned (built as a record) or written through a struct pointer. Every output
//! that reads what another writes is computed before any write, so it sees the inputs as
//! they were at the call; then the buffers and fields are written, then the value returned.

use std::fmt::Write as _;

use super::emit::{
    emit_list_function, emit_list_tests, ident, py_build, py_classes, py_inputs, py_lit, py_params, py_shaped_call,
    py_truncating_helpers, py_type, rs_declarations, rs_inputs, rs_params, rs_shaped_call, rust_arg, rust_helpers,
    rust_lit, rust_structs, rust_type, strip_parens, uses, ListEmitError, Py, Rs,
};
use super::emit_c::{emit_outputs_c, emit_outputs_c_tests, mentions_name, CPrototype};
use super::program::{Expr, LType, LValue, ListOp};
use super::search::{synthesize_lists_incrementally, ListGuide, ListLimits, ListOutcome, ListStats};
use super::shape::{class_name, ShapedKind, StructShape};
use super::spec::{ListProblem, ResultField};
use crate::emit::Lang;
use crate::search::CancelToken;

/// One input of a function with several outputs (a value per parameter) and every
/// output's value, in the order of its tasks.
pub type JointExample = (Vec<LValue>, Vec<LValue>);

/// The examples of a function with one output, as [`emit_list_tests`] takes them.
pub(super) fn single_output(examples: &[JointExample]) -> Vec<(Vec<LValue>, LValue)> {
    examples.iter().map(|(a, o)| (a.clone(), o.first().cloned().unwrap_or(LValue::Int(0)))).collect()
}

/// An output no program was found for.
#[derive(Clone, Debug, PartialEq)]
pub struct OutputNotFound {
    /// Its name: `return`, or the buffer's.
    pub output: String,
    /// Which limit ended its search.
    pub reason: String,
    /// Counters of every search so far.
    pub stats: ListStats,
}

/// Searches each output of a function in turn (see [`ListProblem::outputs_from_examples`]),
/// all within `limits.timeout`: a program per output, with the searches' counters summed.
///
/// # Errors
///
/// The first output no program was found for.
pub fn synthesize_outputs(
    parts: &[ListProblem],
    limits: &ListLimits,
    guide: &dyn ListGuide,
    cancel: &CancelToken,
) -> Result<(Vec<Expr>, ListStats), OutputNotFound> {
    let started = std::time::Instant::now();
    let mut total = ListStats::default();
    let mut programs = Vec::new();
    for part in parts {
        let left = ListLimits { timeout: limits.timeout.saturating_sub(started.elapsed()), ..limits.clone() };
        let (found, stats) = match synthesize_lists_incrementally(part, &left, guide, cancel) {
            ListOutcome::Found { program, stats } => (Ok(program), stats),
            ListOutcome::NotFound { reason, stats } => (Err(reason), stats),
        };
        total.add(&stats);
        total.elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        match found {
            Ok(program) => programs.push(program),
            Err(reason) => return Err(OutputNotFound { output: part.output_name().to_string(), reason, stats: total }),
        }
    }
    Ok((programs, total))
}

/// The programs in LambdaBeam's notation, each after its output's name when there are
/// several: `out: Scanl1(...); return: Sum(a)`.
#[must_use]
pub fn show_outputs(parts: &[ListProblem], programs: &[Expr]) -> String {
    match (parts, programs) {
        ([part], [program]) => program.show(&part.param_names()),
        _ => parts
            .iter()
            .zip(programs)
            .map(|(p, e)| format!("{}: {}", p.output_name(), e.show(&p.param_names())))
            .collect::<Vec<_>>()
            .join("; "),
    }
}

/// Each input of a function with several outputs with every output's value, in the order
/// of `parts` (the tasks [`ListProblem::outputs_from_examples`] gives, whose examples are
/// the same inputs in the same order).
#[must_use]
pub fn joint_examples(parts: &[ListProblem]) -> Vec<JointExample> {
    let Some(first) = parts.first() else { return Vec::new() };
    first
        .examples
        .iter()
        .enumerate()
        .map(|(i, (args, _))| {
            let outs = parts.iter().map(|p| p.examples.get(i).map_or(LValue::Int(0), |(_, o)| o.clone())).collect();
            (args.clone(), outs)
        })
        .collect()
}

/// Where an output goes.
#[derive(Clone, Copy)]
pub(super) enum Dest<'a> {
    /// Returned as it is.
    Return,
    /// Written into the list parameter that is input `k`.
    Buffer(usize),
    /// A field of the struct returned.
    ReturnField(&'a ResultField),
    /// A field across the array of structs returned.
    ReturnColumn(&'a ResultField),
    /// A field of the struct parameter written through.
    ParamField(&'a ResultField),
    /// A field across the array of structs parameter written in place.
    ParamColumn(&'a ResultField),
}

/// Where `p`'s value goes.
pub(super) fn dest(p: &ListProblem) -> Dest<'_> {
    match (&p.result_field, p.result_in) {
        (Some(f), _) if f.output == "return" && f.column => Dest::ReturnColumn(f),
        (Some(f), _) if f.output == "return" => Dest::ReturnField(f),
        (Some(f), _) if f.column => Dest::ParamColumn(f),
        (Some(f), _) => Dest::ParamField(f),
        (None, Some(k)) => Dest::Buffer(k),
        (None, None) => Dest::Return,
    }
}

/// The input `p`'s write changes: its buffer, or the input that is the field it writes.
pub(super) fn changes(p: &ListProblem) -> Option<usize> {
    match dest(p) {
        Dest::Buffer(k) => Some(k),
        Dest::ParamField(f) | Dest::ParamColumn(f) => {
            let shape = p.shape.as_ref()?;
            (0..p.params.len())
                .find(|&i| shape.source(i).is_some_and(|(sp, path)| sp.name == f.output && path == f.path))
        }
        Dest::Return | Dest::ReturnField(_) | Dest::ReturnColumn(_) => None,
    }
}

/// Whether output `j` reads an input that another output writes (so it is computed before
/// any write).
pub(super) fn early(parts: &[(ListProblem, Expr)], j: usize) -> bool {
    let e = &parts[j].1;
    parts.iter().enumerate().any(|(i, (q, _))| i != j && changes(q).is_some_and(|k| reads(e, k)))
}

/// Whether a function with the one output `p` is written by this module's emitters rather
/// than as a single program: a field of a struct result, or a list written in place by a
/// function with struct parameters.
pub(super) fn needs_outputs_path(p: &ListProblem) -> bool {
    p.result_field.is_some() || (p.shape.is_some() && p.result_in.is_some())
}

/// Whether output `p`, computed by `e`, leaves the field it writes as it was (so the write
/// is left out).
pub(super) fn unchanged(p: &ListProblem, e: &Expr) -> bool {
    matches!((dest(p), e), (Dest::ParamField(_) | Dest::ParamColumn(_), Expr::Input(k)) if changes(p) == Some(*k))
}

/// The struct returned, when the outputs build one.
fn returned_struct(parts: &[ListProblem]) -> Option<&ResultField> {
    parts.iter().find_map(|p| match dest(p) {
        Dest::ReturnField(f) => Some(f),
        _ => None,
    })
}

/// A name per field of `shape` for a record's fields in a loop (each none of `taken`, which
/// gains them).
fn loop_names(shape: &StructShape, taken: &mut Vec<String>) -> Vec<String> {
    shape
        .fields
        .iter()
        .map(|(path, _)| {
            let name = unused_name(&path.join("_"), taken);
            taken.push(name.clone());
            name
        })
        .collect()
}

/// The struct of the array returned, when the outputs build one.
fn returned_structs(parts: &[ListProblem]) -> Option<&ResultField> {
    parts.iter().find_map(|p| match dest(p) {
        Dest::ReturnColumn(f) => Some(f),
        _ => None,
    })
}

/// The value of each field of struct `shape`, by its number, from the outputs that are its
/// fields (`values[j]` for output `j`).
fn field_values<'a>(parts: &'a [ListProblem], output: &str, shape: &StructShape, values: &'a [String]) -> Vec<String> {
    shape
        .fields
        .iter()
        .map(|(path, _)| {
            parts
                .iter()
                .position(|p| p.result_field.as_ref().is_some_and(|f| f.output == output && f.path == *path))
                .map_or_else(|| "0".to_string(), |j| values[j].clone())
        })
        .collect()
}

/// Checks that `parts` are the outputs of one function: the same name and parameters, one
/// value returned (as it is, or a struct built from fields), each buffer and field written
/// by one output, each field written through a struct parameter.
pub(super) fn check_parts(parts: &[ListProblem]) -> Result<(), ListEmitError> {
    let bad = |why: &str| Err(ListEmitError::Prototype(why.to_string()));
    let Some(first) = parts.first() else { return bad("a function needs at least one output") };
    if parts.iter().any(|p| p.name != first.name || p.params != first.params || p.shape != first.shape) {
        return bad("the outputs are not of one function (names or parameters differ)");
    }
    let returned = parts.iter().filter(|p| matches!(dest(p), Dest::Return)).count();
    let fields = parts.iter().filter(|p| matches!(dest(p), Dest::ReturnField(_) | Dest::ReturnColumn(_))).count();
    if returned > 1 || (returned == 1 && fields > 0) {
        return bad("a function returns one value");
    }
    for (k, p) in parts.iter().enumerate() {
        if parts[..k].iter().any(|q| q.output_name() == p.output_name()) {
            return bad("two outputs are written into the same place");
        }
        let kind_of = |name: &str| first.shape.as_ref()?.params.iter().find(|sp| sp.name == name).map(|sp| &sp.kind);
        match dest(p) {
            Dest::ParamField(f) if !matches!(kind_of(&f.output), Some(ShapedKind::Struct(_))) => {
                return bad("a struct result is written through a parameter that points to one struct");
            }
            Dest::ParamColumn(f) if !matches!(kind_of(&f.output), Some(ShapedKind::Structs(_))) => {
                return bad("an array of structs written in place is an array-of-structs parameter");
            }
            _ => {}
        }
        if p.result_in.is_some() && p.shape.is_some() {
            let plain = changes(p).and_then(|k| p.shape.as_ref()?.source(k)).is_some_and(|(_, path)| path.is_empty());
            if !plain {
                return bad("a list written in place is a list parameter");
            }
        }
    }
    Ok(())
}

/// Whether `e` reads input `k`.
pub(super) fn reads(e: &Expr, k: usize) -> bool {
    match e {
        Expr::Input(i) => *i == k,
        Expr::Apply(_, args) => args.iter().any(|a| reads(a, k)),
        _ => false,
    }
}

/// `base`, with `_` appended until it is none of `taken`.
fn unused_name(base: &str, taken: &[String]) -> String {
    let mut name = base.to_string();
    while taken.contains(&name) {
        name.push('_');
    }
    name
}

/// Names the emitted code calls: Python's built-ins and modules, the Rust helpers.
const CALLED: &[&str] = &[
    "min",
    "max",
    "sum",
    "len",
    "list",
    "sorted",
    "zip",
    "range",
    "abs",
    "math",
    "itertools",
    "at",
    "cut",
    "floor_div",
    "floor_mod",
    "scanl1",
    "self",
    "type",
    "fn",
    "let",
    "mut",
    "match",
    "loop",
    "move",
    "ref",
    "in",
];

/// The names a function's body may not take for its own: its parameters as written, and
/// the names its code calls.
fn taken_names(first: &ListProblem) -> Vec<String> {
    let params: Vec<String> = match &first.shape {
        Some(shape) => shape.params.iter().map(|p| p.name.clone()).collect(),
        None => first.params.iter().map(|(n, _)| n.clone()).collect(),
    };
    params.into_iter().chain(CALLED.iter().map(|n| (*n).to_string())).collect()
}

/// The parameter written by an output that writes one: a buffer's, or the struct's.
fn written_param(p: &ListProblem) -> Option<String> {
    match dest(p) {
        Dest::Buffer(k) => Some(match p.shape.as_ref().and_then(|s| s.source(k)) {
            Some((sp, _)) => sp.name.clone(),
            None => p.params[k].0.clone(),
        }),
        Dest::ParamField(f) | Dest::ParamColumn(f) => Some(f.output.clone()),
        Dest::Return | Dest::ReturnField(_) | Dest::ReturnColumn(_) => None,
    }
}

/// The programs, one per output, as one function in `lang`.
///
/// # Errors
///
/// Outputs that are not of one function (see [`ListProblem::outputs_from_examples`]),
/// names that are not identifiers, or (C) a prototype that cannot carry them.
pub fn emit_outputs_function(lang: Lang, parts: &[(ListProblem, Expr)]) -> Result<String, ListEmitError> {
    let problems: Vec<ListProblem> = parts.iter().map(|(p, _)| p.clone()).collect();
    check_parts(&problems)?;
    if let [(problem, program)] = parts {
        if !needs_outputs_path(problem) {
            return emit_list_function(lang, problem, program);
        }
    }
    match lang {
        Lang::Python => python(parts),
        Lang::Rust => rust(parts),
        Lang::C => emit_outputs_c(parts, &CPrototype::default_for_outputs(&problems)),
    }
}

/// The examples (see [`joint_examples`]) as tests of [`emit_outputs_function`]'s function:
/// each buffer and struct written passed with its value before the call, the value
/// returned (each field of a struct) and everything written checked after it.
///
/// # Errors
///
/// As [`emit_outputs_function`].
pub fn emit_outputs_tests(
    lang: Lang,
    parts: &[ListProblem],
    examples: &[JointExample],
) -> Result<String, ListEmitError> {
    check_parts(parts)?;
    if lang == Lang::C {
        return emit_outputs_c_tests(parts, examples, &CPrototype::default_for_outputs(parts));
    }
    if let [problem] = parts {
        if !needs_outputs_path(problem) {
            return emit_list_tests(lang, problem, &single_output(examples));
        }
    }
    let first = &parts[0];
    let f = ident(&first.name)?;
    let written: Vec<String> = parts.iter().filter_map(written_param).collect();
    let python = lang == Lang::Python;
    let mut out = if python {
        let mut classes: Vec<String> = Vec::new();
        if let Some(shape) = &first.shape {
            for p in &shape.params {
                if let ShapedKind::Struct(st) | ShapedKind::Structs(st) = &p.kind {
                    classes.extend(st.types().into_iter().map(|(ty, _)| class_name(ty)));
                }
            }
        }
        classes.sort();
        classes.dedup();
        let names: Vec<String> = std::iter::once(f.clone()).chain(classes).collect();
        format!("from solution import {}\n\n", names.join(", "))
    } else {
        String::from("#[cfg(test)]\nmod tests {\n    use super::*;\n")
    };
    let (indent, got) = if python {
        ("    ", unused_name("got", &taken_names(first)))
    } else {
        ("        ", unused_name("got", &taken_names(first)))
    };
    for (i, (args, wants)) in examples.iter().enumerate() {
        if python {
            let _ = write!(out, "\ndef test_example_{}():\n", i + 1);
        } else {
            let _ = write!(out, "\n    #[test]\n    fn example_{}() {{\n", i + 1);
        }
        // Each argument as written, and the parameters' names in order.
        let (call, names): (Vec<String>, Vec<String>) = match &first.shape {
            Some(shape) => {
                let call = if python { py_shaped_call(shape, args) } else { rs_shaped_call(shape, args, "") };
                let call = call
                    .into_iter()
                    .zip(&shape.params)
                    .map(|(c, p)| match p.kind {
                        ShapedKind::Struct(_) if !python && !written.contains(&p.name) => format!("&{c}"),
                        _ => c,
                    })
                    .collect();
                (call, shape.params.iter().map(|p| p.name.clone()).collect())
            }
            None => {
                let show = if python { py_lit } else { rust_arg };
                (args.iter().map(show).collect(), first.params.iter().map(|(n, _)| n.clone()).collect())
            }
        };
        let mut call_args = Vec::new();
        for (arg, name) in call.into_iter().zip(&names) {
            if !written.contains(name) {
                call_args.push(arg);
                continue;
            }
            let name = ident(name)?;
            if python {
                let _ = writeln!(out, "{indent}{name} = {arg}");
                call_args.push(name);
            } else {
                // A list buffer is a `Vec` the test owns.
                let value = arg.strip_prefix('&').map_or(arg.clone(), |a| {
                    if a.starts_with('[') {
                        format!("vec!{a}")
                    } else {
                        a.to_string()
                    }
                });
                let _ = writeln!(out, "{indent}let mut {name} = {value};");
                call_args.push(format!("&mut {name}"));
            }
        }
        let call = format!("{f}({})", call_args.join(", "));
        let ret = parts.iter().position(|p| matches!(dest(p), Dest::Return));
        let builds = returned_struct(parts).is_some() || returned_structs(parts).is_some();
        match (ret, python) {
            (Some(j), true) => {
                let _ = writeln!(out, "{indent}assert {call} == {}", py_lit(&wants[j]));
            }
            (Some(j), false) => {
                let _ = writeln!(out, "{indent}assert_eq!({call}, {});", rust_lit(&wants[j]));
            }
            (None, true) if builds => {
                let _ = writeln!(out, "{indent}{got} = {call}");
            }
            (None, false) if builds => {
                let _ = writeln!(out, "{indent}let {got} = {call};");
            }
            (None, true) => {
                let _ = writeln!(out, "{indent}assert {call} is None");
            }
            (None, false) => {
                let _ = writeln!(out, "{indent}{call};");
            }
        }
        for (p, want) in parts.iter().zip(wants) {
            let (place, lit) = match dest(p) {
                Dest::Return => continue,
                Dest::Buffer(_) => {
                    (ident(&written_param(p).unwrap_or_default())?, if python { py_lit(want) } else { rust_lit(want) })
                }
                Dest::ReturnField(fl) => (format!("{got}.{}", fl.path.join(".")), py_lit(want)),
                Dest::ParamField(fl) => (format!("{}.{}", ident(&fl.output)?, fl.path.join(".")), py_lit(want)),
                Dest::ParamColumn(fl) | Dest::ReturnColumn(fl) => {
                    let array = if fl.output == "return" { got.clone() } else { ident(&fl.output)? };
                    let field = fl.path.join(".");
                    if python {
                        (format!("[it.{field} for it in {array}]"), py_lit(want))
                    } else {
                        // A field of C's width, widened to compare.
                        let repr_c = first.shape.as_ref().and_then(|s| s.repr_c.as_ref());
                        let width = repr_c.and_then(|rc| rc.type_at(&fl.shape, &fl.path));
                        let value = match width {
                            None | Some("i64") => format!("it.{field}"),
                            Some(_) => format!("it.{field} as i64"),
                        };
                        (format!("{array}.iter().map(|it| {value}).collect::<Vec<i64>>()"), rust_lit(want))
                    }
                }
            };
            if python {
                let _ = writeln!(out, "{indent}assert {place} == {lit}");
            } else {
                let _ = writeln!(out, "{indent}assert_eq!({place}, {lit});");
            }
        }
        out.push_str(if python { "\n" } else { "    }\n" });
    }
    if python {
        out.push_str(crate::emit::python::STANDALONE_RUNNER);
    } else {
        out.push_str("}\n");
    }
    Ok(out)
}

fn python(parts: &[(ListProblem, Expr)]) -> Result<String, ListEmitError> {
    let first = &parts[0].0;
    let problems: Vec<ListProblem> = parts.iter().map(|(p, _)| p.clone()).collect();
    let f = ident(&first.name)?;
    let mut classes: Vec<String> = Vec::new();
    let (inputs, columns, sig) = match &first.shape {
        Some(shape) => {
            let (inputs, columns) = py_inputs(first, shape)?;
            (inputs, columns, py_params(first, shape, &mut classes)?)
        }
        None => {
            let names: Vec<String> = first.params.iter().map(|(n, _)| ident(n)).collect::<Result<_, _>>()?;
            let sig = names.iter().zip(&first.params).map(|(n, (_, t))| format!("{n}: {}", py_type(*t))).collect();
            (names, vec![None; first.params.len()], sig)
        }
    };
    let built = returned_struct(&problems);
    let built_array = returned_structs(&problems);
    if let Some(rf) = built.or(built_array) {
        py_classes(&rf.shape, &mut classes);
    }
    let mut out = String::new();
    if !classes.is_empty() {
        out.push_str("from dataclasses import dataclass\n");
    }
    if parts.iter().any(|(_, e)| uses(e, ListOp::Scanl1)) {
        out.push_str("import itertools\n");
    }
    if parts.iter().any(|(_, e)| uses(e, ListOp::Product)) {
        out.push_str("import math\n");
    }
    for c in &classes {
        let _ = write!(out, "\n\n{c}");
    }
    for helper in py_truncating_helpers(parts.iter().map(|(_, e)| e)) {
        let _ = write!(out, "\n\n{helper}");
    }
    if !out.is_empty() {
        out.push_str("\n\n");
    }
    let returns = match (parts.iter().find(|(p, _)| matches!(dest(p), Dest::Return)), built, built_array) {
        (Some((p, _)), ..) => py_type(p.output).to_string(),
        (None, Some(rf), _) => class_name(&rf.shape.ty),
        (None, None, Some(rf)) => format!("list[{}]", class_name(&rf.shape.ty)),
        (None, None, None) => "None".into(),
    };
    let _ = writeln!(out, "def {f}({}) -> {returns}:", sig.join(", "));
    let body = |e: &Expr| strip_parens(&Py::new(&inputs, columns.clone()).expr(e)).to_string();
    // A list input as it is is copied: the list itself would change with the writes.
    let copied = |e: &Expr| match e {
        Expr::Input(k) if first.params[*k].1 == LType::List => format!("list({})", body(e)),
        _ => body(e),
    };
    let taken = taken_names(first);
    let mut values = Vec::new();
    let mut writes = Vec::new();
    for (j, (p, e)) in parts.iter().enumerate() {
        let value = if early(parts, j) {
            let base = match dest(p) {
                Dest::Buffer(_) | Dest::ParamField(_) | Dest::ParamColumn(_) => {
                    format!("new_{}", p.output_name().replace('.', "_"))
                }
                Dest::ReturnField(fl) | Dest::ReturnColumn(fl) => fl.path.join("_"),
                Dest::Return => "result".into(),
            };
            let name = unused_name(&base, &taken);
            let _ = writeln!(out, "    {name} = {}", copied(e));
            name
        } else {
            body(e)
        };
        match dest(p) {
            Dest::Buffer(k) => writes.push(format!("    {}[:] = {value}", inputs[k])),
            Dest::ParamField(_) | Dest::ParamColumn(_) if unchanged(p, e) => {}
            Dest::ParamField(fl) => writes.push(format!("    {}.{} = {value}", ident(&fl.output)?, fl.path.join("."))),
            Dest::ParamColumn(fl) => {
                let (it, v) = (unused_name("it", &taken), unused_name("value", &taken));
                writes.push(format!(
                    "    for {it}, {v} in zip({}, {value}):\n        {it}.{} = {v}",
                    ident(&fl.output)?,
                    fl.path.join(".")
                ));
            }
            Dest::Return | Dest::ReturnField(_) | Dest::ReturnColumn(_) => {}
        }
        values.push(value);
    }
    for w in writes {
        let _ = writeln!(out, "{w}");
    }
    if let Some(j) = problems.iter().position(|p| matches!(dest(p), Dest::Return)) {
        let _ = writeln!(out, "    return {}", values[j]);
    } else if let Some(rf) = built {
        let fields = field_values(&problems, "return", &rf.shape, &values);
        let _ = writeln!(out, "    return {}", py_build(&rf.shape, &rf.shape.ty, &[], &|k| fields[k].clone()));
    } else if let Some(rf) = built_array {
        // A record per position, each field from its own list.
        let columns = field_values(&problems, "return", &rf.shape, &values);
        let mut taken = taken.clone();
        taken.extend(values.iter().cloned());
        let vars = loop_names(&rf.shape, &mut taken);
        let record = py_build(&rf.shape, &rf.shape.ty, &[], &|k| vars[k].clone());
        let each = match (vars.as_slice(), columns.as_slice()) {
            ([one], [column]) => format!("for {one} in {column}"),
            _ => format!("for {} in zip({})", vars.join(", "), columns.join(", ")),
        };
        let _ = writeln!(out, "    return [{record} {each}]");
    }
    Ok(out)
}

fn rust(parts: &[(ListProblem, Expr)]) -> Result<String, ListEmitError> {
    let first = &parts[0].0;
    let problems: Vec<ListProblem> = parts.iter().map(|(p, _)| p.clone()).collect();
    let f = ident(&first.name)?;
    let (inputs, columns) = match &first.shape {
        Some(shape) => rs_inputs(first, shape)?,
        None => (first.params.iter().map(|(n, _)| ident(n)).collect::<Result<_, _>>()?, vec![None; first.params.len()]),
    };
    let mut r = Rs::new(&inputs, columns);
    let mut body = |p: &ListProblem, e: &Expr| {
        let text = r.expr(e);
        // A list output that is an input as it is: a copy of it.
        let text =
            if p.output == LType::List && matches!(e, Expr::Input(_)) { format!("{text}.to_vec()") } else { text };
        strip_parens(&text).to_string()
    };
    let taken = taken_names(first);
    let repr_c = first.shape.as_ref().and_then(|s| s.repr_c.as_ref());
    let mut lines = Vec::new();
    let mut writes = Vec::new();
    let mut values = Vec::new();
    for (j, (p, e)) in parts.iter().enumerate() {
        let text = body(p, e);
        let value = match dest(p) {
            // Every buffer from a `Vec` computed before the writes.
            Dest::Buffer(k) => {
                let new = unused_name(&format!("new_{}", p.output_name()), &taken);
                lines.push(format!("let {new}: Vec<i64> = {text};"));
                writes.push(format!(
                    "for (slot, value) in {}.iter_mut().zip({new}) {{\n        *slot = value;\n    }}",
                    inputs[k]
                ));
                new
            }
            Dest::ParamColumn(_) if unchanged(p, e) => text,
            // Each field's list bound by name; the records are built after the writes.
            Dest::ReturnColumn(fl) => {
                let name = unused_name(&fl.path.join("_"), &taken);
                lines.push(format!("let {name}: Vec<i64> = {text};"));
                name
            }
            Dest::ParamColumn(fl) => {
                let new = unused_name(&format!("new_{}", p.output_name().replace('.', "_")), &taken);
                lines.push(format!("let {new}: Vec<i64> = {text};"));
                // A field of C's width takes each value as C's assignment would.
                let width = repr_c.and_then(|rc| rc.type_at(&fl.shape, &fl.path));
                let value = match width {
                    None | Some("i64") => "value".to_string(),
                    Some(t) => format!("value as {t}"),
                };
                writes.push(format!(
                    "for (it, value) in {}.iter_mut().zip({new}) {{\n        it.{} = {value};\n    }}",
                    ident(&fl.output)?,
                    fl.path.join(".")
                ));
                new
            }
            _ if early(parts, j) => {
                let base = match dest(p) {
                    Dest::ParamField(_) => format!("new_{}", p.output_name().replace('.', "_")),
                    Dest::ReturnField(fl) => fl.path.join("_"),
                    _ => "result".into(),
                };
                let name = unused_name(&base, &taken);
                lines.push(format!("let {name}: {} = {text};", rust_type(p.output, false)));
                name
            }
            _ => text,
        };
        if let (Dest::ParamField(fl), false) = (dest(p), unchanged(p, e)) {
            let param = ident(&fl.output)?;
            let place = format!("{param}.{}", fl.path.join("."));
            // A field of C's width takes the value as C's assignment would.
            let width = repr_c.and_then(|rc| rc.type_at(&fl.shape, &fl.path));
            let value = match width {
                None | Some("i64") => value.clone(),
                Some(t) => format!("({value}) as {t}"),
            };
            writes.push(format!("{place} = {value};"));
        }
        values.push(value);
    }
    lines.extend(writes);
    let built = returned_struct(&problems);
    let built_array = returned_structs(&problems);
    if let Some(j) = problems.iter().position(|p| matches!(dest(p), Dest::Return)) {
        lines.push(values[j].clone());
    } else if let Some(rf) = built {
        let fields = field_values(&problems, "return", &rf.shape, &values);
        // A field of C's width takes the value as C's assignment would.
        let field = |k: usize| {
            let (path, _) = &rf.shape.fields[k];
            match repr_c.and_then(|rc| rc.type_at(&rf.shape, path)) {
                None | Some("i64") => fields[k].clone(),
                Some(t) => format!("({}) as {t}", fields[k]),
            }
        };
        lines.push(rs_build(&rf.shape, &rf.shape.ty, &[], &field));
    } else if let Some(rf) = built_array {
        // A record per position, as many as the shortest field's list.
        let columns = field_values(&problems, "return", &rf.shape, &values);
        let mut taken = taken.clone();
        taken.extend(values.iter().cloned());
        let (n, i) = (unused_name("n", &taken), unused_name("i", &taken));
        let lens: Vec<String> = columns.iter().map(|c| format!("{c}.len()")).collect();
        let n_value = match lens.split_first() {
            Some((one, [])) => one.clone(),
            Some((one, rest)) => format!("{one}{}", rest.iter().map(|l| format!(".min({l})")).collect::<String>()),
            None => "0".into(),
        };
        lines.push(format!("let {n} = {n_value};"));
        let item = |k: usize| {
            let (path, _) = &rf.shape.fields[k];
            let width = repr_c.and_then(|rc| rc.type_at(&rf.shape, path));
            match width {
                None | Some("i64") => format!("{}[{i}]", columns[k]),
                Some(t) => format!("{}[{i}] as {t}", columns[k]),
            }
        };
        let record = rs_build(&rf.shape, &rf.shape.ty, &[], &item);
        lines.push(format!("(0..{n}).map(|{i}| {record}).collect()"));
    }
    let text = lines.join("\n    ");
    let written: Vec<String> = problems.iter().filter_map(written_param).collect();
    let written: Vec<&str> = written.iter().map(String::as_str).collect();
    let mut structs: Vec<String> = Vec::new();
    let sig = match &first.shape {
        Some(shape) => rs_params(first, shape, &text, &written, &mut structs)?,
        None => inputs
            .iter()
            .zip(&first.params)
            .map(|(n, (_, t))| {
                let write = written.contains(&n.as_str());
                let shown = if write || mentions_name(&text, n) { n.clone() } else { format!("_{n}") };
                if write {
                    format!("{shown}: &mut [i64]")
                } else {
                    format!("{shown}: {}", rust_type(*t, true))
                }
            })
            .collect(),
    };
    if let Some(rf) = built.or(built_array) {
        if repr_c.and_then(|rc| rc.fields(&rf.shape.ty)).is_none() {
            rust_structs(&rf.shape, &mut structs);
        }
    }
    let mut out = match &first.shape {
        Some(shape) => rs_declarations(shape, &structs),
        None => structs.iter().map(|s| format!("{s}\n")).collect(),
    };
    out.push_str(&rust_helpers(r.helpers()));
    let returns = match (problems.iter().find(|p| matches!(dest(p), Dest::Return)), built, built_array) {
        (Some(p), ..) => format!(" -> {}", rust_type(p.output, false)),
        (None, Some(rf), _) => format!(" -> {}", class_name(&rf.shape.ty)),
        (None, None, Some(rf)) => format!(" -> Vec<{}>", class_name(&rf.shape.ty)),
        (None, None, None) => String::new(),
    };
    let _ = write!(out, "pub fn {f}({}){returns} {{\n    {text}\n}}\n", sig.join(", "));
    Ok(out)
}

/// A struct value in Rust from each field's text, by the number [`StructShape::fields`]
/// gives it: `Stats { lo: a, hi: b }`.
fn rs_build(st: &StructShape, ty: &str, prefix: &[String], value: &dyn Fn(usize) -> String) -> String {
    st.build(ty, prefix, value, &|name, v| format!("{name}: {v}"), &|class, members| {
        format!("{class} {{ {} }}", members.join(", "))
    })
}
