//! Functions with several outputs: the return value and each buffer the function writes
//! (`"outputs"` in the examples JSON), one program per output over the same inputs.
//!
//! Every output is computed from the inputs as they were at the call, then each buffer is
//! written, then the return value returned, so one output never sees another's writes.

use std::fmt::Write as _;

use super::emit::{
    emit_list_function, emit_list_tests, ident, py_lit, py_type, rust_arg, rust_lit, rust_type, strip_parens, uses,
    ListEmitError, Py, Rs, RUST_HELPERS,
};
use super::emit_c::{emit_outputs_c, emit_outputs_c_tests, mentions_name, CPrototype};
use super::program::{Expr, LType, LValue, ListOp};
use super::search::{synthesize_lists, ListGuide, ListLimits, ListOutcome, ListStats};
use super::spec::ListProblem;
use crate::emit::Lang;
use crate::search::CancelToken;

/// One input of a function with several outputs (a value per parameter) and every
/// output's value, in the order of its tasks.
pub type JointExample = (Vec<LValue>, Vec<LValue>);

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
        let (found, stats) = match synthesize_lists(part, &left, guide, cancel) {
            ListOutcome::Found { program, stats } => (Ok(program), stats),
            ListOutcome::NotFound { reason, stats } => (Err(reason), stats),
        };
        total.candidates += stats.candidates;
        total.closed += stats.closed;
        total.lambdas += stats.lambdas;
        total.cost = total.cost.max(stats.cost);
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

/// Checks that `parts` are the outputs of one function: the same name and parameters, at
/// most one return value, each buffer written by one output, no struct parameters.
pub(super) fn check_parts(parts: &[ListProblem]) -> Result<(), ListEmitError> {
    let bad = |why: &str| Err(ListEmitError::Prototype(why.to_string()));
    let Some(first) = parts.first() else { return bad("a function needs at least one output") };
    if parts.iter().any(|p| p.name != first.name || p.params != first.params) {
        return bad("the outputs are not of one function (names or parameters differ)");
    }
    if parts.iter().any(|p| p.shape.is_some()) && parts.len() > 1 {
        return bad("a struct function with several outputs is not emitted yet");
    }
    if parts.iter().filter(|p| p.result_in.is_none()).count() > 1 {
        return bad("a function returns one value");
    }
    for (k, p) in parts.iter().enumerate() {
        if p.result_in.is_some() && parts[..k].iter().any(|q| q.result_in == p.result_in) {
            return bad("two outputs are written into the same buffer");
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

/// The programs, one per output, as one function in `lang`.
///
/// # Errors
///
/// Outputs that are not of one function (see [`joint_examples`]), names that are not
/// identifiers, or (C) a prototype that cannot carry them.
pub fn emit_outputs_function(lang: Lang, parts: &[(ListProblem, Expr)]) -> Result<String, ListEmitError> {
    let problems: Vec<ListProblem> = parts.iter().map(|(p, _)| p.clone()).collect();
    check_parts(&problems)?;
    if let [(problem, program)] = parts {
        return emit_list_function(lang, problem, program);
    }
    match lang {
        Lang::Python => python(parts),
        Lang::Rust => rust(parts),
        Lang::C => emit_outputs_c(parts, &CPrototype::default_for_outputs(&problems)),
    }
}

/// The examples (see [`joint_examples`]) as tests of [`emit_outputs_function`]'s function:
/// each buffer passed with its value before the call, the return value and every buffer
/// checked after it.
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
    if let [problem] = parts {
        let single: Vec<(Vec<LValue>, LValue)> =
            examples.iter().map(|(a, o)| (a.clone(), o.first().cloned().unwrap_or(LValue::Int(0)))).collect();
        return emit_list_tests(lang, problem, &single);
    }
    if lang == Lang::C {
        return emit_outputs_c_tests(parts, examples, &CPrototype::default_for_outputs(parts));
    }
    let first = &parts[0];
    let f = ident(&first.name)?;
    let names: Vec<String> = first.params.iter().map(|(n, _)| ident(n)).collect::<Result<_, _>>()?;
    let ret = parts.iter().position(|p| p.result_in.is_none());
    let buffers: Vec<(usize, usize)> =
        parts.iter().enumerate().filter_map(|(j, p)| p.result_in.map(|k| (j, k))).collect();
    let mut out = match lang {
        Lang::Python => format!("from solution import {f}\n\n"),
        _ => String::from("#[cfg(test)]\nmod tests {\n    use super::*;\n"),
    };
    for (i, (args, wants)) in examples.iter().enumerate() {
        let buffer = |k: usize| buffers.iter().find(|(_, b)| *b == k).map(|(j, _)| *j);
        match lang {
            Lang::Python => {
                let _ = write!(out, "\ndef test_example_{}():\n", i + 1);
                for (_, k) in &buffers {
                    let _ = writeln!(out, "    {} = {}", names[*k], py_lit(&args[*k]));
                }
                let call: Vec<String> = args
                    .iter()
                    .enumerate()
                    .map(|(k, a)| if buffer(k).is_some() { names[k].clone() } else { py_lit(a) })
                    .collect();
                match ret {
                    Some(j) => {
                        let _ = writeln!(out, "    assert {f}({}) == {}", call.join(", "), py_lit(&wants[j]));
                    }
                    None => {
                        let _ = writeln!(out, "    assert {f}({}) is None", call.join(", "));
                    }
                }
                for (j, k) in &buffers {
                    let _ = writeln!(out, "    assert {} == {}", names[*k], py_lit(&wants[*j]));
                }
                out.push('\n');
            }
            _ => {
                let _ = write!(out, "\n    #[test]\n    fn example_{}() {{\n", i + 1);
                for (_, k) in &buffers {
                    let _ = writeln!(out, "        let mut {}: Vec<i64> = {};", names[*k], rust_lit(&args[*k]));
                }
                let call: Vec<String> = args
                    .iter()
                    .enumerate()
                    .map(|(k, a)| if buffer(k).is_some() { format!("&mut {}", names[k]) } else { rust_arg(a) })
                    .collect();
                match ret {
                    Some(j) => {
                        let _ = writeln!(out, "        assert_eq!({f}({}), {});", call.join(", "), rust_lit(&wants[j]));
                    }
                    None => {
                        let _ = writeln!(out, "        {f}({});", call.join(", "));
                    }
                }
                for (j, k) in &buffers {
                    let _ = writeln!(out, "        assert_eq!({}, {});", names[*k], rust_lit(&wants[*j]));
                }
                out.push_str("    }\n");
            }
        }
    }
    match lang {
        Lang::Python => out.push_str(crate::emit::python::STANDALONE_RUNNER),
        _ => out.push_str("}\n"),
    }
    Ok(out)
}

fn python(parts: &[(ListProblem, Expr)]) -> Result<String, ListEmitError> {
    let first = &parts[0].0;
    let f = ident(&first.name)?;
    let names: Vec<String> = first.params.iter().map(|(n, _)| ident(n)).collect::<Result<_, _>>()?;
    let mut out = String::new();
    if parts.iter().any(|(_, e)| uses(e, ListOp::Scanl1)) {
        out.push_str("import itertools\n");
    }
    if parts.iter().any(|(_, e)| uses(e, ListOp::Product)) {
        out.push_str("import math\n");
    }
    if !out.is_empty() {
        out.push_str("\n\n");
    }
    let sig: Vec<String> = names.iter().zip(&first.params).map(|(n, (_, t))| format!("{n}: {}", py_type(*t))).collect();
    let ret = parts.iter().find(|(p, _)| p.result_in.is_none());
    let _ = writeln!(out, "def {f}({}) -> {}:", sig.join(", "), ret.map_or("None", |(p, _)| py_type(p.output)));
    let body = |e: &Expr| strip_parens(&Py::plain(&names).expr(e)).to_string();
    // A list input as it is is copied: the list itself would change with the writes.
    let copied = |e: &Expr| match e {
        Expr::Input(k) if first.params[*k].1 == LType::List => format!("list({})", body(e)),
        _ => body(e),
    };
    // An output read from a buffer another output writes is computed before any write.
    let written: Vec<usize> = parts.iter().filter_map(|(p, _)| p.result_in).collect();
    let early = |p: &ListProblem, e: &Expr| written.iter().any(|k| p.result_in != Some(*k) && reads(e, *k));
    let mut writes = Vec::new();
    for (p, e) in parts {
        let Some(k) = p.result_in else { continue };
        if early(p, e) {
            let new = unused_name(&format!("new_{}", names[k]), &names);
            let _ = writeln!(out, "    {new} = {}", copied(e));
            writes.push(format!("    {}[:] = {new}", names[k]));
        } else {
            writes.push(format!("    {}[:] = {}", names[k], body(e)));
        }
    }
    let result = match ret {
        Some((p, e)) if early(p, e) => {
            let r = unused_name("result", &names);
            let _ = writeln!(out, "    {r} = {}", copied(e));
            Some(r)
        }
        Some((_, e)) => Some(body(e)),
        None => None,
    };
    for w in writes {
        let _ = writeln!(out, "{w}");
    }
    if let Some(r) = result {
        let _ = writeln!(out, "    return {r}");
    }
    Ok(out)
}

fn rust(parts: &[(ListProblem, Expr)]) -> Result<String, ListEmitError> {
    let first = &parts[0].0;
    let f = ident(&first.name)?;
    let names: Vec<String> = first.params.iter().map(|(n, _)| ident(n)).collect::<Result<_, _>>()?;
    let mut r = Rs::plain(&names);
    let mut body = |p: &ListProblem, e: &Expr| {
        let text = r.expr(e);
        // A list output that is an input as it is: a copy of it.
        let text =
            if p.output == LType::List && matches!(e, Expr::Input(_)) { format!("{text}.to_vec()") } else { text };
        strip_parens(&text).to_string()
    };
    let ret = parts.iter().find(|(p, _)| p.result_in.is_none());
    let mut lines = Vec::new();
    let mut written = Vec::new();
    for (p, e) in parts {
        if let Some(k) = p.result_in {
            let new = unused_name(&format!("new_{}", names[k]), &names);
            lines.push(format!("let {new}: Vec<i64> = {};", body(p, e)));
            written.push((&names[k], new));
        }
    }
    // The return value before the writes when it reads a buffer they change.
    let mut tail = None;
    if let Some((p, e)) = ret {
        let text = body(p, e);
        if parts.iter().any(|(q, _)| q.result_in.is_some_and(|k| reads(e, k))) {
            let result = unused_name("result", &names);
            lines.push(format!("let {result}: {} = {text};", rust_type(p.output, false)));
            tail = Some(result);
        } else {
            tail = Some(text);
        }
    }
    for (buf, new) in &written {
        lines.push(format!("for (slot, value) in {buf}.iter_mut().zip({new}) {{\n        *slot = value;\n    }}"));
    }
    lines.extend(tail);
    let text = lines.join("\n    ");
    let sig: Vec<String> = names
        .iter()
        .zip(&first.params)
        .enumerate()
        .map(|(k, (n, (_, t)))| {
            let buffer = parts.iter().any(|(p, _)| p.result_in == Some(k));
            let shown = if buffer || mentions_name(&text, n) { n.clone() } else { format!("_{n}") };
            if buffer {
                format!("{shown}: &mut [i64]")
            } else {
                format!("{shown}: {}", rust_type(*t, true))
            }
        })
        .collect();
    let mut out = String::new();
    for (name, helper) in RUST_HELPERS {
        if r.helpers().contains(name) {
            out.push_str(helper);
            out.push('\n');
        }
    }
    let returns = ret.map_or(String::new(), |(p, _)| format!(" -> {}", rust_type(p.output, false)));
    let _ = write!(out, "pub fn {f}({}){returns} {{\n    {text}\n}}\n", sig.join(", "));
    Ok(out)
}
