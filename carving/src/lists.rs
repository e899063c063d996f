//! Live synthesis of functions over arrays: record a function whose pointer parameters
//! are read as arrays, carve its calls into a list task, search the list language
//! ([`synth_engine::lists`]), and check the code on the held-out calls.

use std::sync::atomic::AtomicBool;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use synth_engine::emit::Lang;
use synth_engine::lists::{
    emit_outputs_c, emit_outputs_c_tests, emit_outputs_function, emit_outputs_tests, joint_examples, show_outputs,
    structured, synthesize_outputs, CParam, CPrototype, Expr, JointExample, LValue, ListEmitError, ListLimits,
    ListProblem, Shape, ShapedKind, ShapedParam,
};
use synth_engine::search::CancelToken;
use synth_engine::spec::Examples;
use synth_engine::verify::{verify, QualityReport, VerifyLimits};
use tracer_probe::{
    probes::{
        self,
        dwarf::{CType, FieldKind, Layout, StructPlace, ValueKind},
    },
    record::{self, RecordConfig},
    trace::{FunctionInfo, Trace},
};

use crate::live::{LiveConfig, LiveError, SynthOptions};
use crate::spec;

/// Every how many distinct inputs one is held out.
const HOLDOUT_EVERY: usize = 5;

/// Most searches again with the held-out calls a program got wrong.
const REFINEMENTS: usize = 3;

/// Whether a function is a task of the list language rather than a scalar one: it takes
/// arrays or structs (pointers whose elements or fields are read, or structs passed in
/// registers), or returns a struct (in registers, or in memory its hidden pointer shows).
#[must_use]
pub fn is_list_task(f: &FunctionInfo) -> bool {
    let in_registers = |kind: ValueKind| matches!(kind, ValueKind::StructValue { place: StructPlace::Registers, .. });
    f.params.iter().any(|p| {
        matches!(p.ctype.kind, ValueKind::Elements { .. } | ValueKind::Record { .. }) || in_registers(p.ctype.kind)
    }) || matches!(f.ret.kind, ValueKind::StructValue { place: StructPlace::Registers | StructPlace::Memory, .. })
}

/// What live synthesis over arrays found.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ListSynthesis {
    /// Function name.
    pub function: String,
    /// `verified` when the code reproduces every observed call, training and held out
    /// (and some were held out); `fits-observed` when only the training calls could be
    /// checked, or the function also reads memory no probe captured; `partial` when a
    /// held-out call disagrees.
    pub status: String,
    /// Why it is not `verified`, when that is not a disagreement.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
    /// Calls observed, and distinct inputs among them.
    pub calls_observed: usize,
    /// Distinct inputs.
    pub distinct_inputs: usize,
    /// Distinct inputs synthesized from.
    pub training: usize,
    /// Held-out distinct inputs the code reproduces, of how many.
    pub held_out_agree: (usize, usize),
    /// The program in LambdaBeam's notation.
    pub program: String,
    /// The emitted function.
    pub code: String,
    /// Tests from every observed call.
    pub tests: String,
    /// Verification of the code against the training calls.
    pub report: QualityReport,
    /// Recording time in seconds.
    pub record_secs: f64,
    /// Search and verification time in seconds.
    pub synth_secs: f64,
    /// The calls synthesized from, in the examples JSON (`synth --examples` reads it):
    /// struct parameters typed and declared in `"types"`, their values as objects.
    pub examples: synth_engine::spec::Examples,
}

/// Records `config.synth.function` (a function that [`is_list_task`]) in the live process
/// with `plan` (from [`crate::live::plan`]) and synthesizes it as a list function.
///
/// # Errors
/// Recording or carving failures, specs the list language cannot hold, and
/// [`LiveError::NoSolution`] when the search finds nothing within the budget.
pub fn run(config: &LiveConfig, plan: &probes::Plan, stop: &AtomicBool) -> Result<(ListSynthesis, Trace), LiveError> {
    let record_config = RecordConfig {
        duration: Some(config.max_record),
        max_distinct_inputs: Some(config.distinct_inputs),
        announce: true,
        ..RecordConfig::default()
    };
    let (trace, _paths) = record::record_with_paths(plan, &record_config, stop)?;
    let record_secs = trace.end_ns.saturating_sub(trace.start_ns) as f64 / 1e9;
    let layouts = plan.layouts.first().cloned().unwrap_or_default();
    let report = synthesize_from_trace(&trace, &config.synth, &layouts, &CancelToken::new())?;
    Ok((ListSynthesis { record_secs, ..report }, trace))
}

/// Synthesizes `options.function` (a function that [`is_list_task`]) from the calls in
/// `trace`, its structs laid out as `layouts` say (per parameter, then the struct
/// returned: [`tracer_probe::probes::Plan::layouts`], or [`tracer_probe::probes::layouts_of`]);
/// `cancel` stops the search. The report's recording time is 0.
///
/// # Errors
/// As [`run`], after the recording.
pub fn synthesize_from_trace(
    trace: &Trace,
    options: &SynthOptions,
    layouts: &[Option<Layout>],
    cancel: &CancelToken,
) -> Result<ListSynthesis, LiveError> {
    let function = &options.function;
    let lang: Lang = options.lang;
    let started = Instant::now();
    let carved = spec::carve(trace, function, HOLDOUT_EVERY)?;
    // C and Rust declare the structs as C lays them out; Python needs no layout.
    let info = trace.function_index(function).map(|i| &trace.functions[i as usize]);
    if let Some(info) = info.filter(|_| lang != Lang::Python && !layouts.iter().any(Option::is_some)) {
        let structs = info
            .params
            .iter()
            .find(|p| matches!(p.ctype.kind, ValueKind::Record { .. } | ValueKind::StructValue { .. }))
            .map(|p| (format!("parameter `{}`", p.name), p.ctype.name.clone()))
            .or_else(|| {
                matches!(info.ret.kind, ValueKind::StructValue { .. })
                    .then(|| ("its return value".to_string(), info.ret.name.clone()))
            });
        if let Some((what, ctype)) = structs {
            return Err(spec::SpecError::Struct {
                function: function.clone(),
                what,
                ctype,
                why: format!(
                    "its layout could not be read from the DWARF of {} now (or differs from the one the \
                     calls were recorded with), and {lang} code declares the struct as C lays it out \
                     (Python code does not need it)",
                    info.object.display()
                ),
            }
            .into());
        }
    }
    // One task per output: the return value and each buffer the function writes.
    // A struct (or an array of them) written through a pointer is read from the typed
    // examples (its type declared).
    let struct_written = |shape: &Shape, ex: &Examples| {
        ex.outputs.as_ref().is_some_and(|o| {
            o.0.iter().any(|(n, _)| {
                shape
                    .params
                    .iter()
                    .any(|p| p.name == *n && matches!(p.kind, ShapedKind::Struct(_) | ShapedKind::Structs(_)))
            })
        })
    };
    let typed = |ex: &Examples| match &carved.shape {
        Some(shape) if struct_written(shape, ex) => structured(ex, shape),
        _ => ex.clone(),
    };
    let mut parts = ListProblem::outputs_from_examples(&typed(&carved.training)).map_err(synth_engine::Error::from)?;
    // A struct returned by value has C's layout too: the parameters as they are.
    let shape = carved.shape.clone().or_else(|| {
        carved.returned.as_ref().map(|_| Shape {
            params: carved
                .training
                .params
                .iter()
                .enumerate()
                .map(|(i, p)| ShapedParam { name: p.name.clone(), kind: ShapedKind::Plain(i) })
                .collect(),
            repr_c: None,
        })
    });
    for problem in &mut parts {
        problem.description.clone_from(&options.describe);
        problem.shape.clone_from(&shape);
        if let Some(shape) = problem.shape.as_mut() {
            shape.repr_c = Some(rust_declarations(layouts));
        }
        // The struct returned as DWARF spells it (`span_t`, not `struct span_t`).
        if let (Some(f), Some(st)) = (problem.result_field.as_mut(), &carved.returned) {
            if f.output == "return" && !f.column {
                f.shape = st.clone();
            }
        }
        // The struct written as DWARF spells it.
        let written = problem.result_field.as_ref().and_then(|f| {
            carved.shape.as_ref()?.params.iter().find_map(|p| match &p.kind {
                ShapedKind::Struct(st) | ShapedKind::Structs(st) if p.name == f.output => Some(st.clone()),
                _ => None,
            })
        });
        if let (Some(f), Some(st)) = (problem.result_field.as_mut(), written) {
            f.shape = st;
        }
    }
    let mut held_parts = if carved.held_out.examples.is_empty() {
        Vec::new()
    } else {
        ListProblem::outputs_from_examples(&typed(&carved.held_out)).map_err(synth_engine::Error::from)?
    };
    let guide = crate::guide_choice::list_guide(options.guide);
    // The refinement loop: held-out calls a program gets wrong join the training calls and
    // the search runs again, within the one budget, at most `REFINEMENTS` times; the
    // held-out calls left check the last program.
    let mut round = 0;
    let mut previous: Option<Vec<Expr>> = None;
    // Which carved held-out call each held-out example is, and those moved to training.
    let mut held_calls: Vec<usize> = (0..held_parts.first().map_or(0, |p| p.examples.len())).collect();
    let mut moved: Vec<usize> = Vec::new();
    let programs = loop {
        let limits = ListLimits { timeout: options.budget.saturating_sub(started.elapsed()), ..ListLimits::default() };
        let programs = match synthesize_outputs(&parts, &limits, guide, cancel) {
            Ok((programs, _)) => programs,
            // The last program found, which the calls it got wrong (now training) show
            // wrong: `partial`.
            Err(_) if previous.is_some() => break previous.unwrap_or_default(),
            Err(e) => {
                let which = if parts.len() > 1 { format!("output `{}`: ", e.output) } else { String::new() };
                return Err(LiveError::NoSolution {
                    function: function.clone(),
                    total: parts.first().map_or(0, |p| p.examples.len()),
                    best: format!(" ({which}{})", e.reason),
                });
            }
        };
        let held = held_parts.first().map_or(0, |p| p.examples.len());
        let wrong: Vec<usize> = (0..held)
            .filter(|&i| {
                held_parts.iter().zip(&programs).any(|(part, program)| {
                    let (args, want) = &part.examples[i];
                    !program.meets(args, want)
                })
            })
            .collect();
        if wrong.is_empty() || round == REFINEMENTS || started.elapsed() >= options.budget {
            break programs;
        }
        round += 1;
        previous = Some(programs);
        for (part, held_part) in parts.iter_mut().zip(&mut held_parts) {
            for &i in wrong.iter().rev() {
                part.examples.push(held_part.examples.remove(i));
            }
        }
        for &i in wrong.iter().rev() {
            moved.push(held_calls.remove(i));
        }
    };
    let training = joint_examples(&parts);
    let held_out = joint_examples(&held_parts);
    // A native original divides as its language does (truncating toward zero) wherever
    // its calls, training and held out, cannot tell that from the search's flooring.
    let programs: Vec<Expr> = programs
        .iter()
        .enumerate()
        .map(|(k, program)| {
            let held = held_parts.get(k).map_or(&[][..], |p| p.examples.as_slice());
            let inputs: Vec<&Vec<LValue>> = parts[k].examples.iter().chain(held).map(|(args, _)| args).collect();
            program.with_truncating_division(&|candidate| {
                inputs
                    .iter()
                    .all(|args| synth_engine::lists::run(candidate, args) == synth_engine::lists::run(program, args))
            })
        })
        .collect();
    let found: Vec<(ListProblem, Expr)> = parts.iter().cloned().zip(programs.iter().cloned()).collect();
    let synth_err = |e: ListEmitError| LiveError::Synth(synth_engine::Error::from(e));
    // C keeps the original's prototype, and writes a result into the buffer it came from.
    let proto = match (lang, info) {
        (Lang::C, Some(info)) => {
            // The parameter by its place in the original's prototype (an input's index
            // counts struct fields).
            let result_into = match parts.as_slice() {
                [one] => one.result_in.and_then(|k| info.params.iter().position(|p| p.name == one.params[k].0)),
                _ => None,
            };
            let mut proto = c_prototype(info, result_into);
            proto.declarations = c_declarations(layouts);
            Some(proto)
        }
        _ => None,
    };
    let emit_tests = |examples: &[JointExample]| -> Result<String, ListEmitError> {
        match &proto {
            Some(proto) => emit_outputs_c_tests(&parts, examples, proto),
            None => emit_outputs_tests(lang, &parts, examples),
        }
    };
    let code = match &proto {
        Some(proto) => emit_outputs_c(&found, proto),
        None => emit_outputs_function(lang, &found),
    }
    .map_err(synth_err)?;
    let train_tests = emit_tests(&training).map_err(synth_err)?;
    let limits = VerifyLimits::default();
    let report = verify(lang, &code, &train_tests, &limits).map_err(synth_engine::Error::from)?;
    let held_out_agree = if held_out.is_empty() {
        (0, 0)
    } else {
        let held_tests = emit_tests(&held_out).map_err(synth_err)?;
        let r = verify(lang, &code, &held_tests, &limits).map_err(synth_engine::Error::from)?;
        (r.tests_passed, held_out.len())
    };
    let mut all = training.clone();
    all.extend(held_out.iter().cloned());
    let tests = emit_tests(&all).map_err(synth_err)?;
    let training_ok = report.tests_total > 0 && report.tests_passed == report.tests_total;
    let uncaptured = spec::uncaptured_reads(trace, function);
    let status = match held_out_agree {
        _ if !training_ok => "partial",
        (_, 0) => "fits-observed",
        (a, t) if a == t && uncaptured.is_some() => "fits-observed",
        (a, t) if a == t => "verified",
        _ => "partial",
    };
    Ok(ListSynthesis {
        function: function.clone(),
        status: status.to_string(),
        status_reason: uncaptured,
        calls_observed: carved.calls,
        distinct_inputs: carved.distinct,
        training: training.len(),
        held_out_agree,
        program: show_outputs(&parts, &programs),
        code,
        tests,
        report,
        record_secs: 0.0,
        synth_secs: started.elapsed().as_secs_f64(),
        examples: {
            let mut synthesized_from = carved.training.clone();
            synthesized_from.examples.extend(moved.iter().filter_map(|&i| carved.held_out.examples.get(i).cloned()));
            let mut written = match &carved.shape {
                Some(shape) => synth_engine::lists::structured(&synthesized_from, shape),
                None => synthesized_from,
            };
            written.description.clone_from(&options.describe);
            written
        },
    })
}

/// The C prototype of a traced function as DWARF gives it: its types (spelled as in the
/// original where C spells them so without its headers, else as the `<stdint.h>` type of
/// the same size), each array's count parameter, and the parameter a `void` function
/// writes its result into.
#[must_use]
pub fn c_prototype(info: &FunctionInfo, result_into: Option<usize>) -> CPrototype {
    let params = info
        .params
        .iter()
        .map(|p| CParam {
            name: p.name.clone(),
            ctype: c_spelling(&p.ctype),
            len: match p.ctype.kind {
                ValueKind::Elements { count_param: Some(j), .. } | ValueKind::Record { count_param: Some(j), .. } => {
                    info.params.get(usize::from(j)).map(|q| q.name.clone())
                }
                _ => None,
            },
        })
        .collect();
    CPrototype {
        ret: c_spelling(&info.ret),
        params,
        result_into: result_into.and_then(|i| info.params.get(i)).map(|p| p.name.clone()),
        returns_len: false,
        declarations: String::new(),
    }
}

/// C declarations of the structs in `layouts`, nested ones first, each as DWARF lays it
/// out: `struct point {...};`, or `typedef struct {...} rect_t;` for a typedef name. A
/// field C cannot declare from its type name alone (a union, a bit-field) becomes padding
/// of its bytes, so every other field keeps its offset.
#[must_use]
pub fn c_declarations(layouts: &[Option<Layout>]) -> String {
    let mut out: Vec<(String, String)> = Vec::new();
    for layout in layouts.iter().flatten() {
        declare_struct(layout, &mut out);
    }
    out.into_iter().map(|(_, text)| text + "\n").collect()
}

fn declare_struct(layout: &Layout, out: &mut Vec<(String, String)>) {
    if out.iter().any(|(name, _)| *name == layout.name) {
        return;
    }
    let mut lines = Vec::new();
    for (k, f) in layout.fields.iter().enumerate() {
        // Bit-fields share an offset: the first one pads for all.
        if k > 0 && layout.fields[k - 1].offset == f.offset {
            continue;
        }
        let next = layout.fields[k + 1..].iter().map(|g| g.offset).find(|&o| o > f.offset).unwrap_or(layout.bytes);
        let line = match &f.kind {
            FieldKind::Struct(inner) => {
                declare_struct(inner, out);
                format!("{} {};", inner.name, f.name)
            }
            FieldKind::Opaque { .. } if !f.ctype.starts_with("float") && !f.ctype.starts_with("double") => {
                format!("unsigned char {}_bytes[{}];", f.name, next.saturating_sub(f.offset).max(1))
            }
            _ => match f.ctype.split_once('[') {
                Some((elem, count)) => format!("{} {}[{count};", elem.trim(), f.name),
                None if f.ctype.ends_with('*') => format!("{}{};", f.ctype, f.name),
                None => format!("{} {};", f.ctype, f.name),
            },
        };
        lines.push(format!("    {line}"));
    }
    let body = lines.join("\n");
    let text = match layout.name.strip_prefix("struct ") {
        Some(_) => format!("{} {{\n{body}\n}};\n", layout.name),
        None => format!("typedef struct {{\n{body}\n}} {};\n", layout.name),
    };
    out.push((layout.name.clone(), text));
}

/// Rust `#[repr(C)]` declarations of the structs in `layouts`, nested ones first, each with
/// its DWARF field names and the Rust types of their C widths, so Rust code shares the
/// structs with C. As in [`c_declarations`], a field Rust cannot declare from its type alone
/// (a union, a bit-field) becomes bytes of its size, so every other field keeps its offset.
#[must_use]
pub fn rust_declarations(layouts: &[Option<Layout>]) -> synth_engine::lists::ReprC {
    let mut out = synth_engine::lists::ReprC::default();
    let mut done: Vec<String> = Vec::new();
    for layout in layouts.iter().flatten() {
        declare_rust_struct(layout, &mut out, &mut done);
    }
    out
}

fn declare_rust_struct(layout: &Layout, out: &mut synth_engine::lists::ReprC, done: &mut Vec<String>) {
    use std::fmt::Write as _;
    if done.contains(&layout.name) {
        return;
    }
    done.push(layout.name.clone());
    let int =
        |bytes: u8, signed: bool| format!("{}{}", if signed { 'i' } else { 'u' }, u32::from(bytes.clamp(1, 8)) * 8);
    let (mut lines, mut fields) = (Vec::new(), Vec::new());
    for (k, f) in layout.fields.iter().enumerate() {
        if k > 0 && layout.fields[k - 1].offset == f.offset {
            continue;
        }
        let next = layout.fields[k + 1..].iter().map(|g| g.offset).find(|&o| o > f.offset).unwrap_or(layout.bytes);
        let (name, ty) = match &f.kind {
            FieldKind::Int { bytes, signed } => (f.name.clone(), int(*bytes, *signed)),
            FieldKind::Bool => (f.name.clone(), "u8".to_string()),
            FieldKind::Pointer => (f.name.clone(), "*const core::ffi::c_void".to_string()),
            FieldKind::CString => (f.name.clone(), "*const core::ffi::c_char".to_string()),
            FieldKind::Struct(inner) => {
                declare_rust_struct(inner, out, done);
                (f.name.clone(), synth_engine::lists::class_name(&inner.name))
            }
            FieldKind::Array { bytes, signed, count } => {
                (f.name.clone(), format!("[{}; {count}]", int(*bytes, *signed)))
            }
            FieldKind::Opaque { .. } if f.ctype == "float" => (f.name.clone(), "f32".to_string()),
            FieldKind::Opaque { .. } if f.ctype == "double" => (f.name.clone(), "f64".to_string()),
            FieldKind::Opaque { .. } => {
                (format!("{}_bytes", f.name), format!("[u8; {}]", next.saturating_sub(f.offset).max(1)))
            }
        };
        lines.push(format!("    pub {name}: {ty},"));
        fields.push((name, ty));
    }
    out.structs.push((layout.name.clone(), fields));
    let _ = writeln!(
        out.rust,
        "/// `{}` as C lays it out.\n#[repr(C)]\n#[derive(Clone, Copy, Debug)]\npub struct {} {{\n{}\n}}",
        layout.name,
        synth_engine::lists::class_name(&layout.name),
        lines.join("\n")
    );
}

/// A DWARF type as C code that includes only the standard headers can spell it.
fn c_spelling(ctype: &CType) -> String {
    const KNOWN: &[&str] = &[
        "void",
        "char",
        "signed char",
        "unsigned char",
        "short",
        "short int",
        "unsigned short",
        "short unsigned int",
        "int",
        "unsigned int",
        "unsigned",
        "long",
        "long int",
        "unsigned long",
        "long unsigned int",
        "long long",
        "long long int",
        "unsigned long long",
        "long long unsigned int",
        "_Bool",
        "bool",
        "int8_t",
        "int16_t",
        "int32_t",
        "int64_t",
        "uint8_t",
        "uint16_t",
        "uint32_t",
        "uint64_t",
        "size_t",
        "ptrdiff_t",
        "intptr_t",
        "uintptr_t",
    ];
    let pointer = ctype.name.trim_end().ends_with('*');
    let base = ctype.name.trim_end().trim_end_matches('*').trim();
    let konst = base.starts_with("const ");
    let bare = base.trim_start_matches("const ").trim();
    if KNOWN.contains(&bare) {
        return ctype.name.clone();
    }
    let (bytes, signed) = match ctype.kind {
        ValueKind::Elements { bytes, signed, .. } => (bytes, signed),
        ValueKind::Signed { bytes } => (bytes, true),
        ValueKind::Unsigned { bytes } => (bytes, false),
        ValueKind::Bool => return "bool".into(),
        ValueKind::Void => return "void".into(),
        _ => return ctype.name.clone(),
    };
    let std = format!("{}int{}_t", if signed { "" } else { "u" }, u32::from(bytes) * 8);
    match (pointer, konst) {
        (true, true) => format!("const {std} *"),
        (true, false) => format!("{std} *"),
        _ => std,
    }
}

#[cfg(test)]
mod tests {
    use tracer_probe::probes::dwarf::{Field, Param};
    use tracer_probe::trace::{FieldValue, Value};

    use super::*;

    #[test]
    fn held_out_calls_a_program_gets_wrong_join_the_training_and_the_search_runs_again() {
        // `max(x, 0)`, whose negative calls all fall among the held-out ones (every fifth
        // distinct input): the first search gives `x`.
        let mut trace = Trace::sample();
        trace.functions[0].params =
            vec![Param { name: "x".into(), ctype: CType { name: "int".into(), kind: ValueKind::Signed { bytes: 4 } } }];
        let template = trace.calls[0].clone();
        trace.calls = (0..20i64)
            .map(|i| {
                let x = if i % 5 == 4 && i < 10 { -i } else { i + 1 };
                let mut c = template.clone();
                c.seq = i as u64;
                c.args = vec![Value::Int(x)];
                c.ret = Some(Value::Int(x.max(0)));
                c
            })
            .collect();
        let options = SynthOptions {
            function: "greet".into(),
            lang: Lang::Python,
            describe: None,
            budget: std::time::Duration::from_secs(10),
            max_iterations: 1,
            guide: Some(crate::guide_choice::GuideChoice::Uniform),
        };
        let report = synthesize_from_trace(&trace, &options, &[], &CancelToken::new()).unwrap();
        assert_eq!(report.program, "Max(x, 0)", "{}", report.code);
        // The two negative calls trained on, the two others still held out and reproduced.
        assert_eq!((report.training, report.held_out_agree), (18, (2, 2)));
        assert_eq!(report.status, "verified");
        assert_eq!(report.examples.examples.len(), 18);
    }

    #[test]
    fn c_and_rust_of_a_struct_function_need_its_layout_python_does_not() {
        let mut trace = Trace::sample();
        trace.functions[0].params = vec![Param {
            name: "r".into(),
            ctype: CType { name: "struct point *".into(), kind: ValueKind::Record { bytes: 8, count_param: None } },
        }];
        let template = trace.calls[0].clone();
        trace.calls = (0..8)
            .map(|i| {
                let field =
                    |name: &str, v: i64| FieldValue { name: name.into(), ctype: "int".into(), value: Value::Int(v) };
                let mut c = template.clone();
                c.seq = i as u64;
                c.args = vec![Value::Record {
                    ptr: 0x1000,
                    ty: "struct point".into(),
                    fields: vec![field("x", i), field("y", 2 * i)],
                    truncated: false,
                    fault: None,
                }];
                c.ret = Some(Value::Int(3 * i));
                c
            })
            .collect();
        let options = |lang| SynthOptions {
            function: "greet".into(),
            lang,
            describe: None,
            budget: std::time::Duration::from_secs(5),
            max_iterations: 1,
            guide: Some(crate::guide_choice::GuideChoice::Uniform),
        };
        for lang in [Lang::C, Lang::Rust] {
            let err = synthesize_from_trace(&trace, &options(lang), &[], &CancelToken::new()).unwrap_err().to_string();
            assert!(err.contains("parameter `r`") && err.contains("could not be read from the DWARF"), "{err}");
        }
        let python = synthesize_from_trace(&trace, &options(Lang::Python), &[], &CancelToken::new()).unwrap();
        assert_eq!(python.program, "Add(r.x, r.y)", "{}", python.code);
    }

    fn field(name: &str, ctype: &str, offset: u32, kind: FieldKind) -> Field {
        Field { name: name.into(), ctype: ctype.into(), offset, kind }
    }

    #[test]
    fn structs_are_declared_for_c_and_for_rust_with_the_same_layout() {
        let int = FieldKind::Int { bytes: 4, signed: true };
        let point = Layout {
            name: "struct point".into(),
            bytes: 8,
            fields: vec![field("x", "int", 0, int.clone()), field("y", "int", 4, int)],
        };
        let rect = Layout {
            name: "rect_t".into(),
            bytes: 32,
            fields: vec![
                field("origin", "struct point", 0, FieldKind::Struct(point)),
                field("label", "const char *", 8, FieldKind::CString),
                field("tags", "short int[3]", 16, FieldKind::Array { bytes: 2, signed: true, count: 3 }),
                field("visible", "unsigned char", 22, FieldKind::Int { bytes: 1, signed: false }),
                field("u", "union value", 24, FieldKind::Opaque { why: "a union".into() }),
            ],
        };
        let layouts = [Some(rect)];
        let c = c_declarations(&layouts);
        assert!(c.contains("struct point {\n    int x;\n    int y;\n};"), "{c}");
        assert!(c.contains("unsigned char u_bytes[8];\n} rect_t;"), "{c}");
        let rust = rust_declarations(&layouts);
        let text = &rust.rust;
        assert!(
            text.find("pub struct Point").unwrap() < text.find("pub struct RectT").unwrap(),
            "nested first: {text}"
        );
        for line in [
            "#[repr(C)]",
            "pub x: i32,",
            "pub origin: Point,",
            "pub label: *const core::ffi::c_char,",
            "pub tags: [i16; 3],",
            "pub visible: u8,",
            "pub u_bytes: [u8; 8],",
        ] {
            assert!(text.contains(line), "{line} in {text}");
        }
        assert_eq!(rust.field_type("rect_t", "visible"), Some("u8"));
        assert_eq!(rust.field_type("struct point", "y"), Some("i32"));
        assert_eq!(rust.fields("rect_t").map(<[_]>::len), Some(5));
    }
}
