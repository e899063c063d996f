//! List programs as Python and Rust functions, with the examples as tests (C is in
//! [`super::emit_c`]).
//!
//! Each language gets its own idiom: Python comprehensions, slices, `sorted`, `sum` and
//! `itertools.accumulate`; Rust slices and iterator chains. The semantics are those of
//! [`super::program`]: flooring division, Python's negative indices, overflow as an
//! error (Python's integers do not overflow; the Rust code uses checked-in-debug `i64`
//! arithmetic, so an overflow panics in the tests rather than wrapping).

use std::fmt::Write as _;

use super::emit_c::{emit_list_c, emit_list_c_tests, mentions_name, CPrototype};
use super::program::{Expr, LType, LValue, ListOp, Slot};
use super::shape::{class_name, Member, Shape, ShapedKind, StructShape};
use super::spec::ListProblem;
use crate::emit::Lang;

/// Why a list program cannot be emitted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ListEmitError {
    /// A C prototype that cannot carry the function's parameters or result.
    #[error("the C prototype does not fit: {0}")]
    Prototype(String),
    /// A name that is not an identifier in the target language.
    #[error("`{0}` is not a valid identifier")]
    BadName(String),
}

pub(super) fn ident(name: &str) -> Result<String, ListEmitError> {
    let ok = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(name.to_string())
    } else {
        Err(ListEmitError::BadName(name.to_string()))
    }
}

/// Lambda argument names for a nesting depth, avoiding the parameters' names.
fn lambda_names(depth: usize, params: &[String]) -> [String; 2] {
    let bases = [["x", "y"], ["v", "w"], ["a", "b"], ["p", "q"]];
    for base in bases {
        let names = [format!("{}{}", base[0], suffix(depth)), format!("{}{}", base[1], suffix(depth))];
        if !params.iter().any(|p| names.contains(p)) {
            return names;
        }
    }
    [format!("u1_{depth}"), format!("u2_{depth}")]
}

fn suffix(depth: usize) -> String {
    if depth == 0 {
        String::new()
    } else {
        depth.to_string()
    }
}

pub(super) fn uses(e: &Expr, op: ListOp) -> bool {
    match e {
        Expr::Apply(o, args) => *o == op || args.iter().any(|a| uses(a, op)),
        _ => false,
    }
}

/// Whether C's and Rust's own `/` and `%` by `divisor` always have a value: a constant
/// other than 0 and -1 (which overflows `i64::MIN`). Other divisors go through a check.
pub(super) fn plain_divisor(divisor: &Expr) -> bool {
    matches!(divisor, Expr::Const(c) if *c != 0 && *c != -1)
}

/// Python's helpers for C's division (`Quot`, `Rem`), each a top-level function, where
/// `programs` divide so.
pub(super) fn py_truncating_helpers<'a>(programs: impl IntoIterator<Item = &'a Expr>) -> Vec<&'static str> {
    const TDIV: &str =
        "def _tdiv(a: int, b: int) -> int:\n    \"\"\"`a / b` truncating toward zero, as C divides.\"\"\"\n    \
                        q = abs(a) // abs(b)\n    return q if (a < 0) == (b < 0) else -q\n";
    const TMOD: &str =
        "def _tmod(a: int, b: int) -> int:\n    \"\"\"`a % b` with the sign of `a`, as C takes it.\"\"\"\n    \
                        return a - b * _tdiv(a, b)\n";
    let (mut quot, mut rem) = (false, false);
    for e in programs {
        quot |= uses(e, ListOp::Quot);
        rem |= uses(e, ListOp::Rem);
    }
    let mut out = Vec::new();
    if quot || rem {
        out.push(TDIV);
    }
    if rem {
        out.push(TMOD);
    }
    out
}

/// The program as a function in `lang`.
///
/// # Errors
///
/// A language without a list emitter, or names that are not identifiers.
pub fn emit_list_function(lang: Lang, problem: &ListProblem, program: &Expr) -> Result<String, ListEmitError> {
    match lang {
        Lang::Python => python_function(problem, program),
        Lang::Rust => rust_function(problem, program),
        Lang::C => emit_list_c(problem, program, &CPrototype::default_for(problem)),
    }
}

/// The examples as tests of the emitted function, in `lang`'s usual form (the runner
/// [`crate::verify::verify`] expects).
///
/// # Errors
///
/// As [`emit_list_function`].
pub fn emit_list_tests(
    lang: Lang,
    problem: &ListProblem,
    examples: &[(Vec<LValue>, LValue)],
) -> Result<String, ListEmitError> {
    let f = ident(&problem.name)?;
    match lang {
        Lang::Python => {
            let mut out = format!("from solution import {f}\n\n");
            if let Some(shape) = &problem.shape {
                let classes: Vec<String> = shape
                    .params
                    .iter()
                    .filter_map(|p| match &p.kind {
                        ShapedKind::Struct(st) | ShapedKind::Structs(st) => Some(class_name(&st.ty)),
                        ShapedKind::Plain(_) => None,
                    })
                    .collect();
                let mut all: Vec<String> = Vec::new();
                for p in &shape.params {
                    if let ShapedKind::Struct(st) | ShapedKind::Structs(st) = &p.kind {
                        for (_, ty) in &st.nested {
                            all.push(class_name(ty));
                        }
                    }
                }
                all.extend(classes);
                all.sort();
                all.dedup();
                out = format!("from solution import {f}, {}\n\n", all.join(", "));
            }
            for (i, (args, want)) in examples.iter().enumerate() {
                let _ = write!(out, "\ndef test_example_{}():\n", i + 1);
                if let Some(shape) = &problem.shape {
                    let call = py_shaped_call(shape, args);
                    let _ = write!(out, "    assert {f}({}) == {}\n\n", call.join(", "), py_lit(want));
                    continue;
                }
                match problem.result_in {
                    // The buffer is a variable: the call fills it, the test reads it.
                    Some(k) => {
                        let buf = &problem.params[k].0;
                        let call: Vec<String> = args
                            .iter()
                            .enumerate()
                            .map(|(j, a)| if j == k { buf.clone() } else { py_lit(a) })
                            .collect();
                        let _ = write!(
                            out,
                            "    {buf} = {}\n    assert {f}({}) is None\n    assert {buf} == {}\n\n",
                            py_lit(&args[k]),
                            call.join(", "),
                            py_lit(want)
                        );
                    }
                    None => {
                        let args: Vec<String> = args.iter().map(py_lit).collect();
                        let _ = write!(out, "    assert {f}({}) == {}\n\n", args.join(", "), py_lit(want));
                    }
                }
            }
            out.push_str(crate::emit::python::STANDALONE_RUNNER);
            Ok(out)
        }
        Lang::Rust => {
            let mut out = String::from("#[cfg(test)]\nmod tests {\n    use super::*;\n");
            for (i, (args, want)) in examples.iter().enumerate() {
                let _ = write!(out, "\n    #[test]\n    fn example_{}() {{\n", i + 1);
                if let Some(shape) = &problem.shape {
                    let call = rs_shaped_call(shape, args, "&");
                    let _ = write!(out, "        assert_eq!({f}({}), {});\n    }}\n", call.join(", "), rust_lit(want));
                    continue;
                }
                match problem.result_in {
                    Some(k) => {
                        let buf = &problem.params[k].0;
                        let call: Vec<String> = args
                            .iter()
                            .enumerate()
                            .map(|(j, a)| if j == k { format!("&mut {buf}") } else { rust_arg(a) })
                            .collect();
                        let _ = write!(
                            out,
                            "        let mut {buf}: Vec<i64> = {};\n        {f}({});\n        assert_eq!({buf}, {});\n    }}\n",
                            rust_lit(&args[k]),
                            call.join(", "),
                            rust_lit(want)
                        );
                    }
                    None => {
                        let args: Vec<String> = args.iter().map(rust_arg).collect();
                        let _ =
                            write!(out, "        assert_eq!({f}({}), {});\n    }}\n", args.join(", "), rust_lit(want));
                    }
                }
            }
            out.push_str("}\n");
            Ok(out)
        }
        Lang::C => emit_list_c_tests(problem, examples, &CPrototype::default_for(problem)),
    }
}

/// [`shaped_call`]'s arguments in Python.
pub(super) fn py_shaped_call(shape: &Shape, args: &[LValue]) -> Vec<String> {
    shaped_call(
        shape,
        args,
        py_lit,
        |st, value| py_struct(st, &st.ty, &[], value),
        "",
        |items| format!("[{}]", items.join(", ")),
    )
}

/// [`shaped_call`]'s arguments in Rust, each struct after `by_ref`.
pub(super) fn rs_shaped_call(shape: &Shape, args: &[LValue], by_ref: &str) -> Vec<String> {
    shaped_call(
        shape,
        args,
        rust_arg,
        |st, value| rust_struct(st, &st.ty, &[], value, shape.repr_c.as_ref()),
        by_ref,
        |items| format!("&[{}]", items.join(", ")),
    )
}

/// The arguments of a call to a function with struct parameters, from an example's
/// inputs: a plain one by `plain`, a struct by `build` from its fields' values (passed
/// after `by_ref`: `&` in Rust), an array of structs by `array` from its structs built so.
fn shaped_call(
    shape: &Shape,
    args: &[LValue],
    plain: impl Fn(&LValue) -> String,
    build: impl Fn(&StructShape, &dyn Fn(usize) -> i64) -> String,
    by_ref: &str,
    array: impl Fn(Vec<String>) -> String,
) -> Vec<String> {
    shape
        .params
        .iter()
        .map(|p| match &p.kind {
            ShapedKind::Plain(i) => plain(&args[*i]),
            ShapedKind::Struct(st) => {
                let one = build(st, &|input| match &args[input] {
                    LValue::Int(v) => *v,
                    LValue::Bool(b) => i64::from(*b),
                    LValue::List(_) => 0,
                });
                format!("{by_ref}{one}")
            }
            ShapedKind::Structs(st) => {
                let n = st.fields.first().map_or(0, |(_, i)| match &args[*i] {
                    LValue::List(l) => l.len(),
                    _ => 0,
                });
                array(
                    (0..n)
                        .map(|k| {
                            build(st, &|input| match &args[input] {
                                LValue::List(l) => l.get(k).copied().unwrap_or(0),
                                _ => 0,
                            })
                        })
                        .collect(),
                )
            }
        })
        .collect()
}

pub(super) fn py_lit(v: &LValue) -> String {
    match v {
        LValue::Int(x) => x.to_string(),
        LValue::Bool(b) => if *b { "True" } else { "False" }.into(),
        LValue::List(l) => format!("{:?}", l.to_vec()),
    }
}

pub(super) fn rust_lit(v: &LValue) -> String {
    match v {
        LValue::Int(x) => x.to_string(),
        LValue::Bool(b) => b.to_string(),
        LValue::List(l) if l.is_empty() => "Vec::<i64>::new()".into(),
        LValue::List(l) => {
            let items: Vec<String> = l.iter().map(ToString::to_string).collect();
            format!("vec![{}_i64{}]", items[0], items[1..].iter().map(|i| format!(", {i}")).collect::<String>())
        }
    }
}

pub(super) fn rust_arg(v: &LValue) -> String {
    match v {
        LValue::List(l) => format!("&{:?}", l.to_vec()),
        other => rust_lit(other),
    }
}

// ---------------------------------------------------------------- Python

pub(super) fn py_type(t: LType) -> &'static str {
    match t {
        LType::Int => "int",
        LType::Bool => "bool",
        LType::List => "list[int]",
    }
}

fn python_function(problem: &ListProblem, program: &Expr) -> Result<String, ListEmitError> {
    let f = ident(&problem.name)?;
    if let Some(shape) = &problem.shape {
        return python_shaped(problem, shape, program);
    }
    let names: Vec<String> = problem.params.iter().map(|(n, _)| ident(n)).collect::<Result<_, _>>()?;
    let mut out = String::new();
    if uses(program, ListOp::Scanl1) {
        out.push_str("import itertools\n");
    }
    if uses(program, ListOp::Product) {
        out.push_str("import math\n");
    }
    if !out.is_empty() {
        out.push_str("\n\n");
    }
    for helper in py_truncating_helpers([program]) {
        out.push_str(helper);
        out.push_str("\n\n");
    }
    let sig: Vec<String> =
        names.iter().zip(&problem.params).map(|(n, (_, t))| format!("{n}: {}", py_type(*t))).collect();
    let body = Py { params: &names, bound: Vec::new(), columns: Vec::new() }.expr(program);
    let body = strip_parens(&body);
    match problem.result_in {
        // In place: the caller's list becomes the result.
        Some(k) => {
            let _ = write!(out, "def {f}({}) -> None:\n    {}[:] = {body}\n", sig.join(", "), names[k]);
        }
        None => {
            let _ = write!(out, "def {f}({}) -> {}:\n    return {body}\n", sig.join(", "), py_type(problem.output));
        }
    }
    Ok(out)
}

/// A function whose parameters include structs: `@dataclass`es for them, the inputs read
/// as their fields (`r.size.x`, `[item.qty for item in items]`).
fn python_shaped(problem: &ListProblem, shape: &Shape, program: &Expr) -> Result<String, ListEmitError> {
    let f = ident(&problem.name)?;
    if problem.result_in.is_some() {
        return Err(ListEmitError::Prototype("a struct function that writes its result is not emitted yet".into()));
    }
    let (inputs, columns) = py_inputs(problem, shape)?;
    let mut out = String::from("from dataclasses import dataclass\n");
    if uses(program, ListOp::Scanl1) {
        out.push_str("import itertools\n");
    }
    if uses(program, ListOp::Product) {
        out.push_str("import math\n");
    }
    let mut classes: Vec<String> = Vec::new();
    let sig = py_params(problem, shape, &mut classes)?;
    for c in &classes {
        let _ = write!(out, "\n\n{c}");
    }
    for helper in py_truncating_helpers([program]) {
        let _ = write!(out, "\n\n{helper}");
    }
    let body = Py { params: &inputs, bound: Vec::new(), columns }.expr(program);
    let _ = write!(
        out,
        "\n\ndef {f}({}) -> {}:\n    return {}\n",
        sig.join(", "),
        py_type(problem.output),
        strip_parens(&body)
    );
    Ok(out)
}

/// How the Python function reads each input of a task with struct parameters (`r.size.x`,
/// `[it.qty for it in items]`), and for a field across an array of structs the array and
/// field, so a loop over it reads `it.qty`.
pub(super) fn py_inputs(problem: &ListProblem, shape: &Shape) -> Result<(Vec<String>, Columns), ListEmitError> {
    let inputs: Vec<String> = (0..problem.params.len())
        .map(|i| match shape.source(i) {
            Some((p, [])) => ident(&p.name),
            Some((p, path)) => {
                let name = ident(&p.name)?;
                Ok(match &p.kind {
                    ShapedKind::Structs(_) => format!("[it.{} for it in {name}]", path.join(".")),
                    _ => format!("{name}.{}", path.join(".")),
                })
            }
            None => Err(ListEmitError::Prototype(format!("input `{}` is no parameter's", problem.params[i].0))),
        })
        .collect::<Result<_, _>>()?;
    let columns = (0..problem.params.len())
        .map(|i| match shape.source(i) {
            Some((p, path)) if matches!(p.kind, ShapedKind::Structs(_)) && !path.is_empty() => {
                Some((p.name.clone(), path.join(".")))
            }
            _ => None,
        })
        .collect();
    Ok((inputs, columns))
}

/// The Python parameters of a task with struct parameters (`r: RectT`, `items: list[Item]`),
/// their `@dataclass`es added to `classes`.
pub(super) fn py_params(
    problem: &ListProblem,
    shape: &Shape,
    classes: &mut Vec<String>,
) -> Result<Vec<String>, ListEmitError> {
    let mut sig = Vec::new();
    for p in &shape.params {
        let name = ident(&p.name)?;
        match &p.kind {
            ShapedKind::Plain(i) => sig.push(format!("{name}: {}", py_type(problem.params[*i].1))),
            ShapedKind::Struct(st) | ShapedKind::Structs(st) => {
                py_classes(st, classes);
                let class = class_name(&st.ty);
                sig.push(if matches!(p.kind, ShapedKind::Struct(_)) {
                    format!("{name}: {class}")
                } else {
                    format!("{name}: list[{class}]")
                });
            }
        }
    }
    Ok(sig)
}

/// The `@dataclass`es of `st`'s struct and its nested ones, nested first, each once in
/// `out`.
pub(super) fn py_classes(st: &StructShape, out: &mut Vec<String>) {
    for (ty, members) in st.types() {
        let class = class_name(ty);
        if out.iter().any(|c| c.contains(&format!("class {class}:"))) {
            continue;
        }
        let lines: Vec<String> = members
            .into_iter()
            .map(|m| match m {
                Member::Nested { name, ty, .. } => format!("    {name}: {}", class_name(ty)),
                Member::Int { name, .. } => format!("    {name}: int"),
            })
            .collect();
        out.push(format!("@dataclass\nclass {class}:\n{}\n", lines.join("\n")));
    }
}

/// A struct value in Python: `RectT(origin=Point(x=1, y=-2), visible=1)`.
fn py_struct(st: &StructShape, ty: &str, prefix: &[String], value: &dyn Fn(usize) -> i64) -> String {
    py_build(st, ty, prefix, &|input| value(input).to_string())
}

/// A struct value in Python from each field's text, by the number [`StructShape::fields`]
/// gives it.
pub(super) fn py_build(st: &StructShape, ty: &str, prefix: &[String], value: &dyn Fn(usize) -> String) -> String {
    st.build(ty, prefix, value, &|name, v| format!("{name}={v}"), &|class, members| {
        format!("{class}({})", members.join(", "))
    })
}

/// `(a + b)` → `a + b` when the outer parentheses enclose the whole text.
pub(super) fn strip_parens(s: &str) -> &str {
    if !(s.starts_with('(') && s.ends_with(')')) {
        return s;
    }
    let mut depth = 0i32;
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 && i + 1 < s.len() {
                    return s;
                }
            }
            _ => {}
        }
    }
    &s[1..s.len() - 1]
}

/// For each input that is a field across an array of structs: the array, and the field as
/// an element reads it; `None` for the others.
pub(super) type Columns = Vec<Option<(String, String)>>;

pub(super) struct Py<'a> {
    params: &'a [String],
    bound: Vec<[String; 2]>,
    /// For an input that is a field across an array of structs: the array and the field
    /// (`items`, `qty`), so a loop over it reads `it.qty` for `it in items`.
    columns: Vec<Option<(String, String)>>,
}

impl<'a> Py<'a> {
    /// Python for programs over the inputs read as `params` (`columns`: see [`py_inputs`]).
    pub(super) fn new(params: &'a [String], columns: Vec<Option<(String, String)>>) -> Self {
        Py { params, bound: Vec::new(), columns }
    }
}

impl Py<'_> {
    fn lambda(&mut self, arity: u8, body: &Expr) -> (String, String) {
        let names = lambda_names(self.bound.len(), self.params);
        self.bound.push(names.clone());
        let b = self.expr(body);
        self.bound.pop();
        let head = if arity == 1 { names[0].clone() } else { format!("{}, {}", names[0], names[1]) };
        (head, b)
    }

    pub(super) fn expr(&mut self, e: &Expr) -> String {
        match e {
            Expr::Input(i) => self.params[*i].clone(),
            Expr::Bound(b) => self.bound.last().map_or("?".into(), |n| n[usize::from(*b).min(1)].clone()),
            // Parenthesized, since `-1 ** 2` is `-(1 ** 2)` in Python.
            Expr::Const(c) if *c < 0 => format!("({c})"),
            Expr::Const(c) => c.to_string(),
            Expr::Apply(op, args) => self.apply(*op, args),
        }
    }

    /// The array and fields when every list argument is a field of the same array of
    /// structs: `(items, [qty, price])`.
    fn same_array(&self, lists: &[Expr]) -> Option<(String, Vec<String>)> {
        let mut array: Option<String> = None;
        let mut fields = Vec::new();
        for l in lists {
            let Expr::Input(i) = l else { return None };
            let (a, f) = self.columns.get(*i)?.as_ref()?;
            if array.as_ref().is_some_and(|x| x != a) {
                return None;
            }
            array = Some(a.clone());
            fields.push(f.clone());
        }
        array.map(|a| (a, fields))
    }

    fn apply(&mut self, op: ListOp, args: &[Expr]) -> String {
        let lam = op.slots().iter().position(|s| matches!(s, Slot::Lambda(..)));
        // A loop over fields of one array of structs reads them from each struct:
        // `[it.qty * it.price for it in items]`.
        if let (Some(_), Some((array, fields))) = (lam, self.same_array(&args[1..])) {
            if matches!(op, ListOp::Map | ListOp::ZipWith | ListOp::Count) {
                let it = if self.params.iter().any(|p| p == "it") { "it_".to_string() } else { "it".to_string() };
                let reads: Vec<String> = fields.iter().map(|f| format!("{it}.{f}")).collect();
                self.bound.push([reads[0].clone(), reads.get(1).cloned().unwrap_or_default()]);
                let body = self.expr(&args[0]);
                self.bound.pop();
                let body = strip_parens(&body).to_string();
                return match op {
                    ListOp::Count => format!("sum(1 for {it} in {array} if {body})"),
                    _ => format!("[{body} for {it} in {array}]"),
                };
            }
        }
        if let Some(k) = lam {
            let Slot::Lambda(arity, _) = op.slots()[k] else { unreachable!() };
            let rest: Vec<String> = args.iter().skip(1).map(|a| self.expr(a)).collect();
            let (head, body) = self.lambda(arity, &args[0]);
            let body = strip_parens(&body).to_string();
            return match op {
                ListOp::Map => format!("[{body} for {head} in {}]", rest[0]),
                ListOp::Filter => format!("[{head} for {head} in {} if {body}]", rest[0]),
                ListOp::Count => format!("sum(1 for {head} in {} if {body})", rest[0]),
                ListOp::ZipWith => format!("[{body} for {head} in zip({}, {})]", rest[0], rest[1]),
                _ => format!("list(itertools.accumulate({}, lambda {head}: {body}))", rest[0]),
            };
        }
        let a: Vec<String> = args.iter().map(|x| self.expr(x)).collect();
        match op {
            ListOp::Add => format!("({} + {})", a[0], a[1]),
            ListOp::Subtract => format!("({} - {})", a[0], a[1]),
            ListOp::Multiply => format!("({} * {})", a[0], a[1]),
            ListOp::IntDivide => format!("({} // {})", a[0], a[1]),
            ListOp::Modulo => format!("({} % {})", a[0], a[1]),
            ListOp::Quot => format!("_tdiv({}, {})", strip_parens(&a[0]), strip_parens(&a[1])),
            ListOp::Rem => format!("_tmod({}, {})", strip_parens(&a[0]), strip_parens(&a[1])),
            ListOp::Square => format!("({} ** 2)", a[0]),
            ListOp::Min => format!("min({}, {})", strip_parens(&a[0]), strip_parens(&a[1])),
            ListOp::Max => format!("max({}, {})", strip_parens(&a[0]), strip_parens(&a[1])),
            ListOp::If => format!("({} if {} else {})", a[1], strip_parens(&a[0]), a[2]),
            ListOp::Greater => format!("({} > {})", a[0], a[1]),
            ListOp::Less => format!("({} < {})", a[0], a[1]),
            ListOp::Equal => format!("({} == {})", a[0], a[1]),
            ListOp::IsEven => format!("({} % 2 == 0)", a[0]),
            ListOp::IsOdd => format!("({} % 2 == 1)", a[0]),
            ListOp::Head => format!("{}[0]", a[0]),
            ListOp::Last => format!("{}[-1]", a[0]),
            ListOp::Access => format!("{}[{}]", a[1], strip_parens(&a[0])),
            ListOp::Minimum => format!("min({})", a[0]),
            ListOp::Maximum => format!("max({})", a[0]),
            ListOp::Sum => format!("sum({})", a[0]),
            ListOp::Product => format!("math.prod({})", a[0]),
            ListOp::Length => format!("len({})", a[0]),
            ListOp::Take => format!("{}[:{}]", a[1], strip_parens(&a[0])),
            ListOp::Drop => format!("{}[{}:]", a[1], strip_parens(&a[0])),
            ListOp::Reverse => format!("{}[::-1]", a[0]),
            ListOp::Sort => format!("sorted({})", a[0]),
            ListOp::Replicate => format!("([{}] * max({}, 0))", strip_parens(&a[1]), strip_parens(&a[0])),
            _ => String::from("None"),
        }
    }
}

// ---------------------------------------------------------------- Rust

/// The helper functions among `used`, in their order, each followed by a blank line.
pub(super) fn rust_helpers(used: &[&'static str]) -> String {
    RUST_HELPERS.iter().filter(|(name, _)| used.contains(name)).map(|(_, text)| format!("{text}\n")).collect()
}

const RUST_HELPERS: &[(&str, &str)] = &[
    ("floor_div", "fn floor_div(a: i64, b: i64) -> i64 {\n    let q = a / b;\n    if a % b != 0 && ((a < 0) != (b < 0)) { q - 1 } else { q }\n}\n"),
    ("floor_mod", "fn floor_mod(a: i64, b: i64) -> i64 {\n    let r = a % b;\n    if r != 0 && ((r < 0) != (b < 0)) { r + b } else { r }\n}\n"),
    ("at", "/// `xs[n]` with Python's negative indices.\nfn at(xs: &[i64], n: i64) -> i64 {\n    let i = if n < 0 { n + xs.len() as i64 } else { n };\n    xs[usize::try_from(i).expect(\"index out of range\")]\n}\n"),
    ("cut", "/// Python's slice bound: `n` clamped to `xs`, negative counting from the end.\nfn cut(xs: &[i64], n: i64) -> usize {\n    let len = xs.len() as i64;\n    (if n < 0 { (n + len).max(0) } else { n.min(len) }) as usize\n}\n"),
    ("scanl1", "/// `ys[0] = xs[0]`, `ys[i] = f(ys[i - 1], xs[i])`.\nfn scanl1(xs: &[i64], f: impl Fn(i64, i64) -> i64) -> Vec<i64> {\n    let mut ys: Vec<i64> = Vec::with_capacity(xs.len());\n    for &x in xs {\n        let next = match ys.last() {\n            Some(&acc) => f(acc, x),\n            None => x,\n        };\n        ys.push(next);\n    }\n    ys\n}\n"),
];

pub(super) fn rust_type(t: LType, param: bool) -> &'static str {
    match (t, param) {
        (LType::Int, _) => "i64",
        (LType::Bool, _) => "bool",
        (LType::List, true) => "&[i64]",
        (LType::List, false) => "Vec<i64>",
    }
}

fn rust_function(problem: &ListProblem, program: &Expr) -> Result<String, ListEmitError> {
    let f = ident(&problem.name)?;
    if let Some(shape) = &problem.shape {
        return rust_shaped(problem, shape, program);
    }
    let names: Vec<String> = problem.params.iter().map(|(n, _)| ident(n)).collect::<Result<_, _>>()?;
    let mut r = Rs { params: &names, bound: Vec::new(), helpers: Vec::new(), columns: Vec::new() };
    let mut body = r.expr(program);
    if problem.output == LType::List && matches!(program, Expr::Input(_)) {
        body = format!("{body}.to_vec()");
    }
    let mut out = rust_helpers(&r.helpers);
    let sig: Vec<String> = names
        .iter()
        .zip(&problem.params)
        .enumerate()
        .map(|(k, (n, (_, t)))| {
            // A parameter of the original that the program does not read.
            let read = problem.result_in == Some(k) || mentions_name(&body, n);
            let n = if read { n.clone() } else { format!("_{n}") };
            if problem.result_in == Some(k) {
                format!("{n}: &mut [i64]")
            } else {
                format!("{n}: {}", rust_type(*t, true))
            }
        })
        .collect();
    match problem.result_in {
        // In place: as many elements of the caller's slice as the result has.
        Some(k) => {
            let _ = write!(
                out,
                "pub fn {f}({}) {{\n    let result: Vec<i64> = {};\n    for (slot, value) in {}.iter_mut().zip(result) {{\n        *slot = value;\n    }}\n}}\n",
                sig.join(", "),
                strip_parens(&body),
                names[k]
            );
        }
        None => out.push_str(&rust_returning(&f, &sig, problem.output, &body)),
    }
    Ok(out)
}

/// `pub fn f(SIG) -> T { BODY }`.
fn rust_returning(f: &str, sig: &[String], output: LType, body: &str) -> String {
    format!("pub fn {f}({}) -> {} {{\n    {}\n}}\n", sig.join(", "), rust_type(output, false), strip_parens(body))
}

/// A function whose parameters include structs, taken by reference, the inputs read as
/// their fields (`r.size.x`, `items.iter().map(|it| it.qty * it.price)`). The structs are
/// the `#[repr(C)]` ones C lays out when the shape knows them ([`Shape::repr_c`]: fields
/// of their C widths, widened to `i64` where read), else plain structs of `i64` fields.
fn rust_shaped(problem: &ListProblem, shape: &Shape, program: &Expr) -> Result<String, ListEmitError> {
    let f = ident(&problem.name)?;
    if problem.result_in.is_some() {
        return Err(ListEmitError::Prototype("a struct function that writes its result is not emitted yet".into()));
    }
    let (inputs, columns) = rs_inputs(problem, shape)?;
    let mut r = Rs { params: &inputs, bound: Vec::new(), helpers: Vec::new(), columns };
    let body = r.expr(program);
    let mut structs: Vec<String> = Vec::new();
    let sig = rs_params(problem, shape, &body, &[], &mut structs)?;
    let mut out = rs_declarations(shape, &structs);
    out.push_str(&rust_helpers(&r.helpers));
    out.push_str(&rust_returning(&f, &sig, problem.output, &body));
    Ok(out)
}

/// How the Rust function reads each input of a task with struct parameters, widened to
/// `i64` (`i64::from(r.size.x)`, `items.iter().map(|it| it.qty)...`), and for a field across
/// an array of structs the array and the field as read from its element `it`.
pub(super) fn rs_inputs(problem: &ListProblem, shape: &Shape) -> Result<(Vec<String>, Columns), ListEmitError> {
    let mut inputs = Vec::new();
    let mut columns = Vec::new();
    for i in 0..problem.params.len() {
        let (p, path) = shape
            .source(i)
            .ok_or_else(|| ListEmitError::Prototype(format!("input `{}` is no parameter's", problem.params[i].0)))?;
        let name = ident(&p.name)?;
        // A field read as the i64 the list language computes with.
        let read = |of: &str, st: &StructShape| -> String {
            let at = format!("{of}.{}", path.join("."));
            let c_type = shape.repr_c.as_ref().and_then(|r| r.type_at(st, path));
            match c_type {
                None | Some("i64") => at,
                Some("u64" | "usize" | "isize") => format!("({at} as i64)"),
                Some(_) => format!("i64::from({at})"),
            }
        };
        match &p.kind {
            ShapedKind::Plain(_) => {
                inputs.push(name);
                columns.push(None);
            }
            ShapedKind::Struct(st) => {
                inputs.push(read(&name, st));
                columns.push(None);
            }
            ShapedKind::Structs(st) => {
                let each = read("it", st);
                inputs.push(format!("{name}.iter().map(|it| {each}).collect::<Vec<i64>>()"));
                columns.push(Some((name, each)));
            }
        }
    }
    Ok((inputs, columns))
}

/// The Rust parameters of a task with struct parameters (`r: &RectT`, `items: &[Item]`;
/// `&mut` for those in `written`), `_`-prefixed where `body` does not read them; the
/// plain structs they need (when C's layout is not known) added to `structs`.
pub(super) fn rs_params(
    problem: &ListProblem,
    shape: &Shape,
    body: &str,
    written: &[&str],
    structs: &mut Vec<String>,
) -> Result<Vec<String>, ListEmitError> {
    let mut sig = Vec::new();
    for p in &shape.params {
        let name = ident(&p.name)?;
        let write = written.contains(&p.name.as_str());
        let shown = if write || mentions_name(body, &name) { name.clone() } else { format!("_{name}") };
        let by = if write { "&mut " } else { "&" };
        match &p.kind {
            ShapedKind::Plain(_) if write => sig.push(format!("{shown}: &mut [i64]")),
            ShapedKind::Plain(i) => sig.push(format!("{shown}: {}", rust_type(problem.params[*i].1, true))),
            ShapedKind::Struct(st) | ShapedKind::Structs(st) => {
                if shape.repr_c.is_none() {
                    rust_structs(st, structs);
                }
                let class = class_name(&st.ty);
                sig.push(if matches!(p.kind, ShapedKind::Struct(_)) {
                    format!("{shown}: {by}{class}")
                } else {
                    format!("{shown}: {by}[{class}]")
                });
            }
        }
    }
    Ok(sig)
}

/// The struct declarations a Rust function needs: C's layouts when known, else `structs`.
pub(super) fn rs_declarations(shape: &Shape, structs: &[String]) -> String {
    let mut out = String::new();
    if let Some(repr_c) = &shape.repr_c {
        let _ = writeln!(out, "{}", repr_c.rust);
    }
    for s in structs {
        let _ = writeln!(out, "{s}");
    }
    out
}

/// The Rust structs of `st`'s struct and its nested ones, nested first, each once in `out`.
pub(super) fn rust_structs(st: &StructShape, out: &mut Vec<String>) {
    for (ty, members) in st.types() {
        let class = class_name(ty);
        if out.iter().any(|c| c.contains(&format!("pub struct {class} {{"))) {
            continue;
        }
        let lines: Vec<String> = members
            .into_iter()
            .map(|m| match m {
                Member::Nested { name, ty, .. } => format!("    pub {name}: {},", class_name(ty)),
                Member::Int { name, .. } => format!("    pub {name}: i64,"),
            })
            .collect();
        out.push(format!(
            "/// `{ty}`'s integer fields.\n#[derive(Clone, Debug, PartialEq)]\npub struct {class} {{\n{}\n}}\n",
            lines.join("\n")
        ));
    }
}

/// A struct value in Rust: `RectT { origin: Point { x: 1, y: -2 }, visible: 1 }`. With the
/// structs as C lays them out (`repr_c`), every declared field is given: the inputs' values,
/// and zeros (null pointers, zeroed arrays) for the fields the function was not seen to read.
fn rust_struct(
    st: &StructShape,
    ty: &str,
    prefix: &[String],
    value: &dyn Fn(usize) -> i64,
    repr_c: Option<&crate::lists::shape::ReprC>,
) -> String {
    let members = st.members(prefix);
    let given = |m: &Member<'_>| match m {
        Member::Nested { name, ty, path } => format!("{name}: {}", rust_struct(st, ty, path, value, repr_c)),
        Member::Int { name, input } => format!("{name}: {}", value(*input)),
    };
    let name_of = |m: &Member<'_>| match m {
        Member::Nested { name, .. } | Member::Int { name, .. } => name.to_string(),
    };
    let parts: Vec<String> = match repr_c.and_then(|r| r.fields(ty)) {
        Some(fields) => fields
            .iter()
            .map(|(field, rust_ty)| match members.iter().find(|m| name_of(m) == *field) {
                Some(m) => given(m),
                None => format!("{field}: {}", rust_zero(rust_ty)),
            })
            .collect(),
        None => members.iter().map(given).collect(),
    };
    format!("{} {{ {} }}", class_name(ty), parts.join(", "))
}

/// A zero of a field type of a `#[repr(C)]` struct, for fields no input gives.
fn rust_zero(rust_ty: &str) -> String {
    if rust_ty.starts_with("*const") {
        "core::ptr::null()".into()
    } else if let Some(inner) = rust_ty.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
        let (elem, count) = inner.split_once(';').unwrap_or((inner, "1"));
        format!("[{}; {}]", rust_zero(elem.trim()), count.trim())
    } else if rust_ty.starts_with('f') {
        "0.0".into()
    } else if rust_ty.starts_with(|c: char| c.is_ascii_uppercase()) {
        // A nested struct no input reads: every field zero.
        format!("unsafe {{ core::mem::zeroed::<{rust_ty}>() }}")
    } else {
        "0".into()
    }
}

pub(super) struct Rs<'a> {
    params: &'a [String],
    bound: Vec<[String; 2]>,
    helpers: Vec<&'static str>,
    /// For an input that is a field across an array of structs: the array, and the field
    /// as read from its element `it` (`it.qty`, `i64::from(it.qty)`).
    columns: Vec<Option<(String, String)>>,
}

impl<'a> Rs<'a> {
    /// Rust for programs over the inputs read as `params` (`columns`: see [`rs_inputs`]).
    pub(super) fn new(params: &'a [String], columns: Vec<Option<(String, String)>>) -> Self {
        Rs { params, bound: Vec::new(), helpers: Vec::new(), columns }
    }

    /// The helper functions the code written so far calls.
    pub(super) fn helpers(&self) -> &[&'static str] {
        &self.helpers
    }
}

impl Rs<'_> {
    fn helper(&mut self, name: &'static str) -> &'static str {
        if !self.helpers.contains(&name) {
            self.helpers.push(name);
        }
        name
    }

    pub(super) fn expr(&mut self, e: &Expr) -> String {
        match e {
            Expr::Input(i) => self.params[*i].clone(),
            Expr::Bound(b) => self.bound.last().map_or("?".into(), |n| n[usize::from(*b).min(1)].clone()),
            Expr::Const(c) if *c < 0 => format!("({c})"),
            Expr::Const(c) => c.to_string(),
            Expr::Apply(op, args) => self.apply(*op, args),
        }
    }

    /// Whether input `e` is a field across an array of structs (an expression that builds
    /// a `Vec`, not a slice parameter).
    fn column(&self, e: &Expr) -> bool {
        matches!(e, Expr::Input(i) if self.columns.get(*i).is_some_and(Option::is_some))
    }

    /// A list argument as something that derefs to `&[i64]`.
    fn slice(&mut self, e: &Expr) -> String {
        match e {
            Expr::Input(_) if !self.column(e) => self.expr(e),
            _ => format!("&{}", self.expr(e)),
        }
    }

    /// A loop over fields of one array of structs, reading them from each struct:
    /// `items.iter().map(|it| it.qty * it.price)`.
    fn over_structs(&mut self, op: ListOp, args: &[Expr]) -> Option<String> {
        if !matches!(op, ListOp::Map | ListOp::ZipWith | ListOp::Count) {
            return None;
        }
        let mut array: Option<String> = None;
        let mut reads = Vec::new();
        for l in &args[1..] {
            let Expr::Input(i) = l else { return None };
            let (a, f) = self.columns.get(*i)?.as_ref()?;
            if array.as_ref().is_some_and(|x| x != a) {
                return None;
            }
            array = Some(a.clone());
            reads.push(f.clone());
        }
        let array = array?;
        self.bound.push([reads[0].clone(), reads.get(1).cloned().unwrap_or_default()]);
        let body = self.expr(&args[0]);
        self.bound.pop();
        let body = strip_parens(&body);
        Some(match op {
            ListOp::Count => format!("({array}.iter().filter(|it| {body}).count() as i64)"),
            _ => format!("{array}.iter().map(|it| {body}).collect::<Vec<i64>>()"),
        })
    }

    fn lambda(&mut self, body: &Expr) -> ([String; 2], String) {
        let names = lambda_names(self.bound.len(), self.params);
        self.bound.push(names.clone());
        let b = self.expr(body);
        self.bound.pop();
        (names, strip_parens(&b).to_string())
    }

    fn apply(&mut self, op: ListOp, args: &[Expr]) -> String {
        if let Some(fused) = self.over_structs(op, args) {
            return fused;
        }
        if op.higher_order() {
            let lists: Vec<String> = args.iter().skip(1).map(|a| self.slice(a)).collect();
            let iter = |s: &String| if s.starts_with('&') { format!("({s}).iter()") } else { format!("{s}.iter()") };
            let ([u, v], body) = self.lambda(&args[0]);
            return match op {
                ListOp::Map => format!("{}.map(|&{u}| {body}).collect::<Vec<i64>>()", iter(&lists[0])),
                ListOp::Filter => format!("{}.copied().filter(|&{u}| {body}).collect::<Vec<i64>>()", iter(&lists[0])),
                ListOp::Count => format!("({}.filter(|&&{u}| {body}).count() as i64)", iter(&lists[0])),
                ListOp::ZipWith => format!(
                    "{}.zip({}).map(|(&{u}, &{v})| {body}).collect::<Vec<i64>>()",
                    iter(&lists[0]),
                    iter(&lists[1])
                ),
                _ => format!("{}({}, |{u}, {v}| {body})", self.helper("scanl1"), lists[0]),
            };
        }
        let list_arg = |r: &mut Self, k: usize| r.slice(&args[k]);
        match op {
            ListOp::Add => format!("({} + {})", self.expr(&args[0]), self.expr(&args[1])),
            ListOp::Subtract => format!("({} - {})", self.expr(&args[0]), self.expr(&args[1])),
            ListOp::Multiply => format!("({} * {})", self.expr(&args[0]), self.expr(&args[1])),
            ListOp::IntDivide | ListOp::Modulo => {
                let h = self.helper(if op == ListOp::IntDivide { "floor_div" } else { "floor_mod" });
                let (a, b) = (self.expr(&args[0]), self.expr(&args[1]));
                format!("{h}({}, {})", strip_parens(&a), strip_parens(&b))
            }
            // Rust's own `/` and `%` truncate; by a divisor that may be 0 or -1, checked.
            ListOp::Quot | ListOp::Rem => {
                let (a, b) = (self.expr(&args[0]), self.expr(&args[1]));
                if plain_divisor(&args[1]) {
                    format!("({a} {} {b})", if op == ListOp::Quot { "/" } else { "%" })
                } else {
                    format!(
                        "i64::{}({}, {}).expect(\"division by zero or overflow\")",
                        if op == ListOp::Quot { "checked_div" } else { "checked_rem" },
                        strip_parens(&a),
                        strip_parens(&b)
                    )
                }
            }
            ListOp::Square => format!("i64::pow({}, 2)", strip_parens(&self.expr(&args[0]))),
            ListOp::Min | ListOp::Max => {
                let (a, b) = (self.expr(&args[0]), self.expr(&args[1]));
                let f = if op == ListOp::Min { "min" } else { "max" };
                format!("i64::{f}({}, {})", strip_parens(&a), strip_parens(&b))
            }
            ListOp::If => {
                let (c, a, b) = (self.expr(&args[0]), self.expr(&args[1]), self.expr(&args[2]));
                format!("(if {} {{ {} }} else {{ {} }})", strip_parens(&c), strip_parens(&a), strip_parens(&b))
            }
            ListOp::Greater | ListOp::Less | ListOp::Equal => {
                let sym = match op {
                    ListOp::Greater => ">",
                    ListOp::Less => "<",
                    _ => "==",
                };
                format!("({} {sym} {})", self.expr(&args[0]), self.expr(&args[1]))
            }
            ListOp::IsEven => format!("(i64::rem_euclid({}, 2) == 0)", strip_parens(&self.expr(&args[0]))),
            ListOp::IsOdd => format!("(i64::rem_euclid({}, 2) == 1)", strip_parens(&self.expr(&args[0]))),
            ListOp::Head => format!("{}[0]", self.paren_list(&args[0])),
            ListOp::Last => format!("(*{}.last().expect(\"empty list\"))", self.paren_list(&args[0])),
            ListOp::Access => {
                let n = self.expr(&args[0]);
                let xs = list_arg(self, 1);
                format!("{}({xs}, {})", self.helper("at"), strip_parens(&n))
            }
            ListOp::Minimum => format!("(*{}.iter().min().expect(\"empty list\"))", self.paren_list(&args[0])),
            ListOp::Maximum => format!("(*{}.iter().max().expect(\"empty list\"))", self.paren_list(&args[0])),
            // The sum of a mapped iterator needs no list between: `.map(..).sum::<i64>()`.
            ListOp::Sum => {
                let list = self.expr(&args[0]);
                match list.strip_suffix(".collect::<Vec<i64>>()") {
                    Some(iter) if matches!(&args[0], Expr::Apply(ListOp::Map | ListOp::ZipWith, _)) => {
                        format!("{iter}.sum::<i64>()")
                    }
                    _ if matches!(&args[0], Expr::Input(_)) && !self.column(&args[0]) => {
                        format!("{list}.iter().sum::<i64>()")
                    }
                    _ => format!("({list}).iter().sum::<i64>()"),
                }
            }
            ListOp::Product => format!("{}.iter().product::<i64>()", self.paren_list(&args[0])),
            ListOp::Length => format!("({}.len() as i64)", self.paren_list(&args[0])),
            ListOp::Take | ListOp::Drop => {
                let n = self.expr(&args[0]);
                let n = strip_parens(&n);
                let cut = self.helper("cut");
                let (xs, open) = match &args[1] {
                    Expr::Input(_) if !self.column(&args[1]) => (self.expr(&args[1]), String::new()),
                    other => {
                        let s = if self.params.iter().any(|p| p == "s") { "s_" } else { "s" };
                        (s.to_string(), format!("let {s}: &[i64] = &{}; ", self.expr(other)))
                    }
                };
                let range =
                    if op == ListOp::Take { format!("..{cut}({xs}, {n})") } else { format!("{cut}({xs}, {n})..") };
                if open.is_empty() {
                    format!("{xs}[{range}].to_vec()")
                } else {
                    format!("{{ {open}{xs}[{range}].to_vec() }}")
                }
            }
            ListOp::Reverse => format!("{}.iter().rev().copied().collect::<Vec<i64>>()", self.paren_list(&args[0])),
            ListOp::Sort => format!("{{ let mut v = {}.to_vec(); v.sort_unstable(); v }}", self.paren_list(&args[0])),
            ListOp::Replicate => {
                let (n, x) = (self.expr(&args[0]), self.expr(&args[1]));
                format!(
                    "std::iter::repeat_n({}, i64::max({}, 0) as usize).collect::<Vec<i64>>()",
                    strip_parens(&x),
                    strip_parens(&n)
                )
            }
            _ => String::from("unreachable!()"),
        }
    }

    /// A list expression usable before `.iter()` or `[i]`.
    fn paren_list(&mut self, e: &Expr) -> String {
        match e {
            Expr::Input(_) if !self.column(e) => self.expr(e),
            _ => format!("({})", self.expr(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lists::program::Expr::{Apply, Bound, Const, Input};

    fn problem() -> ListProblem {
        ListProblem {
            name: "f".into(),
            params: vec![("xs".into(), LType::List), ("n".into(), LType::Int)],
            output: LType::List,
            result_in: None,
            description: None,
            shape: None,
            result_field: None,
            examples: Vec::new(),
        }
    }

    #[test]
    fn python_reads_like_python() {
        let p = problem();
        let doubled_evens = Apply(
            ListOp::Map,
            vec![
                Apply(ListOp::Multiply, vec![Bound(0), Const(2)]),
                Apply(ListOp::Filter, vec![Apply(ListOp::IsEven, vec![Bound(0)]), Input(0)]),
            ],
        );
        let code = emit_list_function(Lang::Python, &p, &doubled_evens).unwrap();
        assert!(code.contains("def f(xs: list[int], n: int) -> list[int]:"), "{code}");
        assert!(code.contains("return [x * 2 for x in [x for x in xs if x % 2 == 0]]"), "{code}");
        let running = Apply(ListOp::Scanl1, vec![Apply(ListOp::Max, vec![Bound(0), Bound(1)]), Input(0)]);
        let code = emit_list_function(Lang::Python, &p, &running).unwrap();
        assert!(code.starts_with("import itertools"), "{code}");
        assert!(code.contains("list(itertools.accumulate(xs, lambda x, y: max(x, y)))"), "{code}");
    }
}
