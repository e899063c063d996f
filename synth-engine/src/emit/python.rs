//! Python emitter (bit-vectors as masked `int`s).

use std::collections::HashMap;

use super::integers::{integer_view, Interval};
use super::sorts_of;
use super::{ident, EmitError, Helpers, Lang};
use crate::dsl::{to_signed, width_mask, Id, Op, Sort, Term, Value};
use crate::spec::{Example, Problem, TypeSpec};

fn unsupported(what: impl Into<String>) -> EmitError {
    EmitError::Unsupported { what: what.into(), lang: Lang::Python }
}

fn py_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

fn lit(v: &Value) -> String {
    match v {
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Int(i) => i.to_string(),
        Value::Str(s) => py_str(s),
        Value::Bv { bits, .. } => {
            if *bits < 10 {
                bits.to_string()
            } else {
                format!("0x{bits:X}")
            }
        }
    }
}

fn test_lit(v: &Value, ty: TypeSpec) -> String {
    match v {
        Value::Bv { width, bits } if ty.signed => to_signed(*bits, *width).to_string(),
        other => lit(other),
    }
}

fn hint(s: Sort) -> &'static str {
    match s {
        Sort::Bool => "bool",
        Sort::String => "str",
        Sort::Int | Sort::BitVec(_) => "int",
    }
}

struct Ctx<'a> {
    term: &'a Term,
    helpers: Helpers,
    sorts: Vec<Sort>,
    /// For an integer view: each node's interval, when known.
    intervals: &'a [Option<Interval>],
    /// Subterms (by their s-expression) already computed into a named local.
    named: HashMap<String, String>,
}

impl Ctx<'_> {
    /// Whether node `id` is positive on every input of the view's box.
    fn positive(&self, id: Id) -> bool {
        self.intervals.get(id.index()).copied().flatten().is_some_and(|i| i.lo >= 1)
    }

    /// Whether `a / b` in floating point, truncated, is the integer quotient on the whole
    /// box: |a| < 2^31 and 0 < |b| < 2^22 keep the rounding error below the distance to the
    /// next integer.
    fn float_exact(&self, a: Id, b: Id) -> bool {
        let get = |id: Id| self.intervals.get(id.index()).copied().flatten();
        let (Some(a), Some(b)) = (get(a), get(b)) else { return false };
        let small = |i: Interval, bound: i128| i.lo > -bound && i.hi < bound;
        small(a, 1 << 31) && small(b, 1 << 22) && (b.lo >= 1 || b.hi <= -1)
    }
}

impl Ctx<'_> {
    fn emit(&mut self, id: Id) -> Result<String, EmitError> {
        if !self.named.is_empty() {
            if let Some(name) = self.named.get(&self.term.to_sexpr_at(id)) {
                return Ok(name.clone());
            }
        }
        let node = self.term.node(id).clone();
        let k = &node.children;
        let sort = self.sorts[id.index()];
        let arg_w = k.first().map_or(64, |c| match self.sorts[c.index()] {
            Sort::BitVec(w) => w,
            _ => 64,
        });
        let w = match sort {
            Sort::BitVec(w) => w,
            _ => arg_w,
        };
        let m = format!("0x{:X}", width_mask(w));
        let mut args = Vec::new();
        for c in k {
            args.push(self.emit(*c)?);
        }
        let a = |i: usize| args[i].clone();
        let r = match &node.op {
            Op::Var(v) => ident(v),
            Op::Const(v) => lit(v),
            Op::Call(f) => return Err(EmitError::UnknownFunction(f.to_string())),
            Op::Not => format!("(not {})", a(0)),
            Op::And => format!("({})", args.join(" and ")),
            Op::Or => format!("({})", args.join(" or ")),
            Op::Xor => format!("({} != {})", a(0), a(1)),
            Op::Implies => format!("((not {}) or {})", a(0), a(1)),
            Op::Eq => format!(
                "({})",
                args.windows(2).map(|p| format!("{} == {}", p[0], p[1])).collect::<Vec<_>>().join(" and ")
            ),
            Op::Distinct => {
                let mut parts = Vec::new();
                for i in 0..args.len() {
                    for j in i + 1..args.len() {
                        parts.push(format!("{} != {}", args[i], args[j]));
                    }
                }
                format!("({})", parts.join(" and "))
            }
            Op::Ite => format!("({} if {} else {})", a(1), a(0), a(2)),
            Op::Neg => format!("(-{})", a(0)),
            Op::Abs => format!("abs({})", a(0)),
            Op::Add => format!("({})", args.join(" + ")),
            Op::Sub => format!("({})", args.join(" - ")),
            Op::Mul => format!("({})", args.join(" * ")),
            // Over a positive divisor Python's flooring `//` and `%` are Euclidean.
            Op::Div | Op::Mod
                if self.positive(k[1]) || matches!(self.term.node(k[1]).op, Op::Const(Value::Int(d)) if d > 0) =>
            {
                let sym = if node.op == Op::Div { "//" } else { "%" };
                format!("({} {sym} {})", a(0), a(1))
            }
            // Truncating division: a float quotient is exact for these magnitudes.
            Op::TDiv if self.float_exact(k[0], k[1]) => format!("int({} / {})", a(0), a(1)),
            Op::TDiv | Op::TRem => {
                self.helpers.need("_tdiv");
                let h = if node.op == Op::TDiv { "_tdiv" } else { "_trem" };
                self.helpers.need(h);
                format!("{h}({}, {})", a(0), a(1))
            }
            Op::Div | Op::Mod => {
                let h = if node.op == Op::Div { "_ediv" } else { "_emod" };
                self.helpers.need(h);
                format!("{h}({}, {})", a(0), a(1))
            }
            Op::Le => format!("({} <= {})", a(0), a(1)),
            Op::Lt => format!("({} < {})", a(0), a(1)),
            Op::Ge => format!("({} >= {})", a(0), a(1)),
            Op::Gt => format!("({} > {})", a(0), a(1)),
            Op::BvNot => format!("(~{} & {m})", a(0)),
            Op::BvNeg => format!("(-{} & {m})", a(0)),
            Op::BvAnd => format!("({})", args.join(" & ")),
            Op::BvOr => format!("({})", args.join(" | ")),
            Op::BvXor => format!("({})", args.join(" ^ ")),
            Op::BvNand => format!("(~({} & {}) & {m})", a(0), a(1)),
            Op::BvNor => format!("(~({} | {}) & {m})", a(0), a(1)),
            Op::BvXnor => format!("(~({} ^ {}) & {m})", a(0), a(1)),
            Op::BvAdd => format!("(({}) & {m})", args.join(" + ")),
            Op::BvSub => format!("(({} - {}) & {m})", a(0), a(1)),
            Op::BvMul => format!("(({}) & {m})", args.join(" * ")),
            Op::BvUdiv | Op::BvUrem | Op::BvSdiv | Op::BvSrem | Op::BvSmod | Op::BvShl | Op::BvLshr | Op::BvAshr => {
                let h = format!("_{}", node.op.name());
                self.helpers.need(h.clone());
                format!("{h}({}, {}, {w})", a(0), a(1))
            }
            Op::BvUlt => format!("({} < {})", a(0), a(1)),
            Op::BvUle => format!("({} <= {})", a(0), a(1)),
            Op::BvUgt => format!("({} > {})", a(0), a(1)),
            Op::BvUge => format!("({} >= {})", a(0), a(1)),
            Op::BvSlt | Op::BvSle | Op::BvSgt | Op::BvSge => {
                self.helpers.need("_signed");
                let sym = match node.op {
                    Op::BvSlt => "<",
                    Op::BvSle => "<=",
                    Op::BvSgt => ">",
                    _ => ">=",
                };
                // A constant operand reads better as a signed literal.
                let side = |i: usize| match &self.term.node(k[i]).op {
                    Op::Const(Value::Bv { width, bits }) => to_signed(*bits, *width).to_string(),
                    _ => format!("_signed({}, {w})", a(i)),
                };
                format!("({} {sym} {})", side(0), side(1))
            }
            Op::BvComp => format!("(1 if {} == {} else 0)", a(0), a(1)),
            Op::Concat => {
                let mut acc = a(0);
                for (c, code) in k.iter().zip(&args).skip(1) {
                    let Sort::BitVec(cw) = self.sorts[c.index()] else { return Err(unsupported("concat")) };
                    acc = format!("(({acc} << {cw}) | {code})");
                }
                acc
            }
            Op::Extract(_, lo) => format!("(({} >> {lo}) & {m})", a(0)),
            Op::ZeroExtend(_) => a(0),
            Op::SignExtend(_) => {
                self.helpers.need("_signed");
                format!("(_signed({}, {arg_w}) & {m})", a(0))
            }
            Op::RotateLeft(n) | Op::RotateRight(n) => {
                let n = n % w;
                let n = if matches!(node.op, Op::RotateRight(_)) { (w - n) % w } else { n };
                if n == 0 {
                    a(0)
                } else {
                    format!("((({0} << {n}) | ({0} >> {1})) & {m})", a(0), w - n)
                }
            }
            Op::Repeat(n) => {
                let mut acc = a(0);
                for _ in 1..*n {
                    acc = format!("(({acc} << {arg_w}) | {})", a(0));
                }
                acc
            }
            Op::Int2Bv(_) => format!("({} & {m})", a(0)),
            Op::Bv2Nat => a(0),
            Op::StrConcat => format!("({})", args.join(" + ")),
            Op::StrLen => format!("len({})", a(0)),
            Op::StrSubstr => {
                self.helpers.need("_str_substr");
                format!("_str_substr({}, {}, {})", a(0), a(1), a(2))
            }
            Op::StrAt => {
                self.helpers.need("_str_substr");
                format!("_str_substr({}, {}, 1)", a(0), a(1))
            }
            Op::StrIndexOf => {
                self.helpers.need("_str_indexof");
                format!("_str_indexof({}, {}, {})", a(0), a(1), a(2))
            }
            Op::StrReplace => format!("{}.replace({}, {}, 1)", a(0), a(1), a(2)),
            Op::StrReplaceAll => {
                self.helpers.need("_str_replace_all");
                format!("_str_replace_all({}, {}, {})", a(0), a(1), a(2))
            }
            Op::StrPrefixOf => format!("{}.startswith({})", a(1), a(0)),
            Op::StrSuffixOf => format!("{}.endswith({})", a(1), a(0)),
            Op::StrContains => format!("({} in {})", a(1), a(0)),
            Op::StrToInt => {
                self.helpers.need("_str_to_int");
                format!("_str_to_int({})", a(0))
            }
            Op::StrFromInt => {
                self.helpers.need("_str_from_int");
                format!("_str_from_int({})", a(0))
            }
            Op::StrLt => format!("({} < {})", a(0), a(1)),
            Op::StrLe => format!("({} <= {})", a(0), a(1)),
            Op::StrIsDigit => format!("({0} in \"0123456789\" and len({0}) == 1)", a(0)),
            Op::StrToUpper | Op::StrToLower => {
                self.helpers.need("_ASCII_CASE");
                let table = if node.op == Op::StrToUpper { "_ASCII_UPPER" } else { "_ASCII_LOWER" };
                format!("{}.translate({table})", a(0))
            }
            Op::StrToTitle => {
                self.helpers.need("_ASCII_CASE");
                self.helpers.need("_str_to_title");
                format!("_str_to_title({})", a(0))
            }
            Op::StrTrim => format!("{}.strip(\" \\t\\n\\r\")", a(0)),
            Op::StrField => {
                self.helpers.need("_str_field");
                format!("_str_field({}, {}, {})", a(0), a(1), a(2))
            }
            Op::StrPadLeft => {
                // A one-character literal pad is what `rjust` takes as it is.
                let c = a(2);
                if c.len() == 3 && c.starts_with('"') && c.ends_with('"') && !c.contains('\\') {
                    format!("{}.rjust({}, {c})", a(0), a(1))
                } else {
                    self.helpers.need("_str_pad_left");
                    format!("_str_pad_left({}, {}, {c})", a(0), a(1))
                }
            }
            Op::StrRepeat => format!("({} * {})", a(0), a(1)),
        };
        Ok(r)
    }
}

/// The helpers, from `helpers.py`.
const PY_HELPERS: &str = include_str!("helpers.py");

fn helper_code(name: &str) -> &'static str {
    super::helper_section(PY_HELPERS, "# helper: ", name).unwrap_or_default()
}

pub(super) fn function(problem: &Problem, term: &Term) -> Result<String, EmitError> {
    // Plain integers where the bit-vectors provably never wrap.
    if let Some(view) = integer_view(problem, term) {
        let note = super::integers::range_note(&view);
        return write_function(&view.problem, &view.term, &view.intervals, Some(&note));
    }
    write_function(problem, term, &[], None)
}

/// `term` as a Python function of `problem`'s signature; `intervals` as [`Ctx::intervals`],
/// `note` a paragraph for the docstring.
fn write_function(
    problem: &Problem,
    term: &Term,
    intervals: &[Option<Interval>],
    note: Option<&str>,
) -> Result<String, EmitError> {
    let sorts = sorts_of(problem, term).map_err(unsupported)?;
    let mut cx = Ctx { term, helpers: Helpers::default(), sorts, intervals, named: HashMap::new() };
    let params: Vec<String> = problem.params.iter().map(|p| ident(&p.name)).collect();
    let signed = match problem.output.sort {
        Sort::BitVec(w) if problem.output.signed => Some(w),
        _ => None,
    };
    // Case splits read as if / elif / else, nested as the tree is.
    let body = block(&mut cx, term.root(), 0, signed, &params)?;
    let mut out = String::new();
    for h in cx.helpers.iter() {
        out.push_str(helper_code(h));
        out.push_str("\n\n");
    }
    let params: Vec<String> =
        problem.params.iter().map(|p| format!("{}: {}", ident(&p.name), hint(p.ty.sort))).collect();
    out.push_str(&format!("def {}({}) -> {}:\n", ident(&problem.name), params.join(", "), hint(problem.output.sort)));
    let doc: Vec<&str> = problem.description.as_deref().into_iter().chain(note).collect();
    if !doc.is_empty() {
        let doc = doc.join("\n\n    ");
        out.push_str(&format!("    \"\"\"{}\"\"\"\n", doc.replace('\\', "\\\\").replace("\"\"\"", "\\\"\\\"\\\"")));
    }
    for p in &problem.params {
        if let Sort::BitVec(w) = p.ty.sort {
            out.push_str(&format!("    {0} = {0} & 0x{1:X}\n", ident(&p.name), width_mask(w)));
        }
    }
    out.push_str(&body);
    Ok(out)
}

/// The statements returning the value of `id` at nesting `depth`: an `if` / `elif` / `else`
/// for a case split (each branch a block of its own), else a `return`; `signed`: the width
/// of a signed result.
fn block(cx: &mut Ctx<'_>, id: Id, depth: usize, signed: Option<u32>, params: &[String]) -> Result<String, EmitError> {
    let pad = "    ".repeat(depth + 1);
    let (arms, last) = if depth < super::MAX_NESTED_CASES { super::case_arms(cx.term, id) } else { (Vec::new(), id) };
    if arms.is_empty() {
        // A repeated subterm is computed once, into a named local.
        let mut out = String::new();
        for local in super::locals::find(cx.term, id, params) {
            out.push_str(&format!("{pad}{} = {}\n", local.name, cx.emit(local.id)?));
            cx.named.insert(local.key, local.name);
        }
        let code = cx.emit(id)?;
        cx.named.clear();
        let code = match signed {
            Some(w) => {
                cx.helpers.need("_signed");
                format!("_signed({code}, {w})")
            }
            None => code,
        };
        out.push_str(&format!("{pad}return {code}\n"));
        return Ok(out);
    }
    let mut out = String::new();
    for (i, (cond, then)) in arms.iter().enumerate() {
        let cond = cx.emit(*cond)?;
        let cond = cond.strip_prefix('(').and_then(|c| c.strip_suffix(')')).filter(|c| balanced(c)).unwrap_or(&cond);
        out.push_str(&format!("{pad}{} {cond}:\n", if i == 0 { "if" } else { "elif" }));
        out.push_str(&block(cx, *then, depth + 1, signed, params)?);
    }
    out.push_str(&format!("{pad}else:\n"));
    out.push_str(&block(cx, last, depth + 1, signed, params)?);
    Ok(out)
}

/// Whether dropping a pair of outer parentheses keeps `s`'s own parentheses balanced.
fn balanced(s: &str) -> bool {
    let mut depth = 0i32;
    for c in s.chars() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth < 0 {
                    return false;
                }
            }
            _ => {}
        }
    }
    depth == 0
}

/// The end of a Python test file: run standalone, it runs every `test_*` function (a test
/// that raises fails; the others still run) and prints `passed N/M`.
pub(crate) const STANDALONE_RUNNER: &str = "\nif __name__ == \"__main__\":\n    tests = [v for k, v in sorted(globals().items()) if k.startswith(\"test_\")]\n    passed = 0\n    for t in tests:\n        try:\n            t()\n            passed += 1\n        except Exception as e:\n            print(\"FAILED\", t.__name__, repr(e))\n    print(f\"passed {passed}/{len(tests)}\")\n    raise SystemExit(0 if passed == len(tests) else 1)\n";

pub(super) fn tests(problem: &Problem, examples: &[Example]) -> Result<String, EmitError> {
    let f = ident(&problem.name);
    let mut out = format!("from solution import {f}\n\n");
    for (i, ex) in examples.iter().enumerate() {
        let args: Vec<String> = ex.args.iter().zip(&problem.params).map(|(v, p)| test_lit(v, p.ty)).collect();
        let want = test_lit(&ex.output, problem.output);
        out.push_str(&format!("\ndef test_example_{}():\n    assert {f}({}) == {want}\n\n", i + 1, args.join(", ")));
    }
    out.push_str(STANDALONE_RUNNER);
    Ok(out)
}
