//! C emitter (C11; bit-vectors as `uintN_t`, strings as byte strings).
//!
//! String results are allocated with `malloc` and not freed: the emitted
//! functions are meant for small, short-lived programs and tests.

use std::collections::HashMap;

use super::sorts_of;
use super::{ident, EmitError, Helpers, Lang};
use crate::dsl::{to_signed, Id, Op, Sort, Term, Value};
use crate::spec::{Example, Problem, TypeSpec};

fn unsupported(what: impl Into<String>) -> EmitError {
    EmitError::Unsupported { what: what.into(), lang: Lang::C }
}

fn native(w: u32) -> Result<u32, EmitError> {
    if matches!(w, 8 | 16 | 32 | 64) {
        Ok(w)
    } else {
        Err(unsupported(format!("{w}-bit vectors")))
    }
}

fn ctype(ty: TypeSpec) -> Result<String, EmitError> {
    Ok(match ty.sort {
        Sort::BitVec(w) => format!("{}int{}_t", if ty.signed { "" } else { "u" }, native(w)?),
        Sort::Int => "int64_t".into(),
        Sort::Bool => "bool".into(),
        Sort::String => "const char *".into(),
    })
}

fn c_str(s: &str) -> String {
    let mut out = String::from("\"");
    for b in s.bytes() {
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\t' => out.push_str("\\t"),
            b'?' => out.push_str("\\?"),
            0x20..=0x7e => out.push(char::from(b)),
            _ => out.push_str(&format!("\\{b:03o}")),
        }
    }
    out.push('"');
    out
}

fn lit(v: &Value) -> String {
    match v {
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => format!("INT64_C({i})"),
        Value::Str(s) => c_str(s),
        Value::Bv { width, bits } => {
            if *width >= 32 {
                format!("UINT{width}_C(0x{bits:x})")
            } else {
                format!("(uint{width}_t)0x{bits:x}")
            }
        }
    }
}

fn test_lit(v: &Value, ty: TypeSpec) -> String {
    match v {
        Value::Bv { width, bits } if ty.signed => {
            let s = to_signed(*bits, *width);
            if s == to_signed(1 << (width - 1), *width) {
                format!("INT{width}_MIN")
            } else if *width >= 32 {
                format!("INT{width}_C({s})")
            } else {
                format!("(int{width}_t){s}")
            }
        }
        other => lit(other),
    }
}

struct Ctx<'a> {
    term: &'a Term,
    helpers: Helpers,
    sorts: Vec<Sort>,
    problem: &'a Problem,
    /// An integer view written in the source's own type (see
    /// `IntegerView::native_type`): plain literals, `/` and `%`.
    native: bool,
    /// Subterms (by their s-expression) already computed into a named local.
    named: HashMap<String, String>,
}

impl Ctx<'_> {
    #[allow(clippy::too_many_lines, reason = "one arm per operator")]
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
            Sort::BitVec(w) => native(w)?,
            _ => arg_w,
        };
        let t = format!("uint{w}_t");
        let mut args = Vec::new();
        for c in k {
            args.push(self.emit(*c)?);
        }
        let a = |i: usize| args[i].clone();
        // Arithmetic below 32 bits goes through unsigned int to avoid signed promotion.
        let wide = |x: String| if w < 32 { format!("(uint32_t){x}") } else { x };
        let cast = |x: String| if w < 32 { format!("({t})({x})") } else { format!("({x})") };
        let is_str = k.first().is_some_and(|c| self.sorts[c.index()] == Sort::String);
        let r = match &node.op {
            Op::Var(v) => {
                let p = self.problem.params.iter().find(|p| *p.name == **v);
                match p {
                    Some(p) if p.ty.signed && matches!(p.ty.sort, Sort::BitVec(_)) => format!("u_{}", ident(v)),
                    _ => ident(v),
                }
            }
            Op::Const(Value::Int(i)) if self.native => i.to_string(),
            Op::Const(v) => lit(v),
            Op::Call(f) => return Err(EmitError::UnknownFunction(f.to_string())),
            Op::Not => format!("!{}", a(0)),
            Op::And => format!("({})", args.join(" && ")),
            Op::Or => format!("({})", args.join(" || ")),
            Op::Xor => format!("({} != {})", a(0), a(1)),
            Op::Implies => format!("(!{} || {})", a(0), a(1)),
            Op::Eq | Op::Distinct => {
                let (eq, neq) =
                    if is_str { ("strcmp({}, {}) == 0", "strcmp({}, {}) != 0") } else { ("{} == {}", "{} != {}") };
                let pat = if node.op == Op::Eq { eq } else { neq };
                let mut parts = Vec::new();
                for i in 0..args.len() {
                    let js: Vec<usize> = if node.op == Op::Eq {
                        (i + 1..args.len().min(i + 2)).collect()
                    } else {
                        (i + 1..args.len()).collect()
                    };
                    for j in js {
                        parts.push(pat.replacen("{}", &args[i], 1).replacen("{}", &args[j], 1));
                    }
                }
                format!("({})", parts.join(" && "))
            }
            Op::Ite => format!("({} ? {} : {})", a(0), a(1), a(2)),
            Op::Neg => format!("(-{})", a(0)),
            Op::Abs => format!("llabs({})", a(0)),
            Op::Add => format!("({})", args.join(" + ")),
            Op::Sub => format!("({})", args.join(" - ")),
            Op::Mul => format!("({})", args.join(" * ")),
            Op::TDiv | Op::TRem => {
                let sym = if node.op == Op::TDiv { "/" } else { "%" };
                format!("({} {sym} {})", a(0), a(1))
            }
            Op::Div | Op::Mod if self.native => {
                let sym = if node.op == Op::Div { "/" } else { "%" };
                format!("({} {sym} {})", a(0), a(1))
            }
            Op::Div | Op::Mod => {
                let h = if node.op == Op::Div { "int_div" } else { "int_mod" };
                self.helpers.need(h);
                format!("{h}({}, {})", a(0), a(1))
            }
            Op::Le => format!("({} <= {})", a(0), a(1)),
            Op::Lt => format!("({} < {})", a(0), a(1)),
            Op::Ge => format!("({} >= {})", a(0), a(1)),
            Op::Gt => format!("({} > {})", a(0), a(1)),
            Op::BvNot => cast(format!("~{}", wide(a(0)))),
            Op::BvNeg => cast(format!("0u - {}", wide(a(0)))),
            Op::BvAnd => format!("({})", args.join(" & ")),
            Op::BvOr => format!("({})", args.join(" | ")),
            Op::BvXor => format!("({})", args.join(" ^ ")),
            Op::BvNand => cast(format!("~({} & {})", wide(a(0)), wide(a(1)))),
            Op::BvNor => cast(format!("~({} | {})", wide(a(0)), wide(a(1)))),
            Op::BvXnor => cast(format!("~({} ^ {})", wide(a(0)), wide(a(1)))),
            Op::BvAdd => cast(args.iter().map(|x| wide(x.clone())).collect::<Vec<_>>().join(" + ")),
            Op::BvSub => cast(format!("{} - {}", wide(a(0)), wide(a(1)))),
            Op::BvMul => cast(args.iter().map(|x| wide(x.clone())).collect::<Vec<_>>().join(" * ")),
            Op::BvUdiv | Op::BvUrem | Op::BvSdiv | Op::BvSrem | Op::BvSmod | Op::BvShl | Op::BvLshr | Op::BvAshr => {
                let h = format!("{}{w}", node.op.name());
                self.helpers.need(h.clone());
                format!("{h}({}, {})", a(0), a(1))
            }
            Op::BvUlt => format!("({} < {})", a(0), a(1)),
            Op::BvUle => format!("({} <= {})", a(0), a(1)),
            Op::BvUgt => format!("({} > {})", a(0), a(1)),
            Op::BvUge => format!("({} >= {})", a(0), a(1)),
            Op::BvSlt | Op::BvSle | Op::BvSgt | Op::BvSge => {
                let sym = match node.op {
                    Op::BvSlt => "<",
                    Op::BvSle => "<=",
                    Op::BvSgt => ">",
                    _ => ">=",
                };
                format!("((int{arg_w}_t){} {sym} (int{arg_w}_t){})", a(0), a(1))
            }
            Op::Concat if k.len() == 2 => {
                let Sort::BitVec(w2) = self.sorts[k[1].index()] else { return Err(unsupported("concat")) };
                format!("(({t}){} << {w2} | ({t}){})", a(0), a(1))
            }
            Op::Extract(_, lo) => format!("(({t})({} >> {lo}))", a(0)),
            Op::ZeroExtend(_) => format!("(({t}){})", a(0)),
            Op::SignExtend(_) => format!("(({t})(int{w}_t)(int{arg_w}_t){})", a(0)),
            Op::RotateLeft(n) | Op::RotateRight(n) => {
                let n = n % w;
                let n = if matches!(node.op, Op::RotateRight(_)) { (w - n) % w } else { n };
                if n == 0 {
                    a(0)
                } else {
                    cast(format!("{0} << {n} | {0} >> {1}", wide(a(0)), w - n))
                }
            }
            Op::Int2Bv(_) => format!("(({t}){})", a(0)),
            Op::Bv2Nat => format!("((int64_t){})", a(0)),
            Op::StrConcat => {
                self.helpers.need("str_concat");
                let mut acc = a(0);
                for x in &args[1..] {
                    acc = format!("str_concat({acc}, {x})");
                }
                acc
            }
            Op::StrLen => format!("(int64_t)strlen({})", a(0)),
            Op::StrSubstr => {
                self.helpers.need("str_substr");
                format!("str_substr({}, {}, {})", a(0), a(1), a(2))
            }
            Op::StrAt => {
                self.helpers.need("str_substr");
                format!("str_substr({}, {}, 1)", a(0), a(1))
            }
            Op::StrIndexOf => {
                self.helpers.need("str_indexof");
                format!("str_indexof({}, {}, {})", a(0), a(1), a(2))
            }
            Op::StrReplace => {
                self.helpers.need("str_concat");
                self.helpers.need("str_replace");
                format!("str_replace({}, {}, {})", a(0), a(1), a(2))
            }
            Op::StrPrefixOf => format!("(strncmp({1}, {0}, strlen({0})) == 0)", a(0), a(1)),
            Op::StrSuffixOf => {
                self.helpers.need("str_suffixof");
                format!("str_suffixof({}, {})", a(0), a(1))
            }
            Op::StrContains => format!("(strstr({}, {}) != NULL)", a(0), a(1)),
            Op::StrToInt => {
                self.helpers.need("str_to_int");
                format!("str_to_int({})", a(0))
            }
            Op::StrFromInt => {
                self.helpers.need("str_from_int");
                format!("str_from_int({})", a(0))
            }
            Op::StrToUpper | Op::StrToLower | Op::StrToTitle | Op::StrTrim => {
                let h = match node.op {
                    Op::StrToUpper => "str_to_upper",
                    Op::StrToLower => "str_to_lower",
                    Op::StrToTitle => "str_to_title",
                    _ => "str_trim",
                };
                self.helpers.need("str_dup");
                self.helpers.need(h);
                format!("{h}({})", a(0))
            }
            Op::StrField => {
                self.helpers.need("str_field");
                format!("str_field({}, {}, {})", a(0), a(1), a(2))
            }
            Op::StrReplaceAll => {
                self.helpers.need("str_replace_all");
                format!("str_replace_all({}, {}, {})", a(0), a(1), a(2))
            }
            Op::StrPadLeft => {
                self.helpers.need("str_pad_left");
                format!("str_pad_left({}, {}, {})", a(0), a(1), a(2))
            }
            Op::StrRepeat => {
                self.helpers.need("str_repeat");
                format!("str_repeat({}, {})", a(0), a(1))
            }
            other => return Err(unsupported(format!("`{}`", other.name()))),
        };
        Ok(r)
    }
}

/// The fixed helpers, from `helpers.c`.
const C_HELPERS: &str = include_str!("helpers.c");

fn helper_code(name: &str) -> String {
    if let Some(wpos) = name.find(|c: char| c.is_ascii_digit()) {
        if name.starts_with("bv") {
            let (op, w) = name.split_at(wpos);
            let t = format!("uint{w}_t");
            let head = format!("static {t} {name}({t} a, {t} b)");
            let signs = format!("    const int neg_a = (int)(a >> ({w} - 1)), neg_b = (int)(b >> ({w} - 1));\n    const {t} ua = neg_a ? ({t})(0u - a) : a, ub = neg_b ? ({t})(0u - b) : b;\n");
            return match op {
                "bvudiv" => format!("{head} {{\n    return b == 0 ? ({t})~({t})0 : ({t})(a / b);\n}}\n"),
                "bvurem" => format!("{head} {{\n    return b == 0 ? a : ({t})(a % b);\n}}\n"),
                "bvshl" => format!("{head} {{\n    return b >= {w} ? 0 : ({t})(a << b);\n}}\n"),
                "bvlshr" => format!("{head} {{\n    return b >= {w} ? 0 : ({t})(a >> b);\n}}\n"),
                "bvashr" => format!(
                    "{head} {{\n    const {t} sign = (a >> ({w} - 1)) ? ({t})~({t})0 : 0;\n    if (b >= {w}) {{\n        return sign;\n    }}\n    return b == 0 ? a : ({t})((a >> b) | (sign << ({w} - b)));\n}}\n"
                ),
                "bvsdiv" => format!(
                    "{head} {{\n{signs}    const {t} q = ub == 0 ? ({t})~({t})0 : ({t})(ua / ub);\n    return neg_a != neg_b ? ({t})(0u - q) : q;\n}}\n"
                ),
                "bvsrem" => format!(
                    "{head} {{\n{signs}    const {t} r = ub == 0 ? ua : ({t})(ua % ub);\n    return neg_a ? ({t})(0u - r) : r;\n}}\n"
                ),
                "bvsmod" => format!(
                    "{head} {{\n{signs}    const {t} u = ub == 0 ? ua : ({t})(ua % ub);\n    if (u == 0 || (!neg_a && !neg_b)) {{\n        return u;\n    }}\n    if (neg_a && !neg_b) {{\n        return ({t})(b - u);\n    }}\n    if (!neg_a && neg_b) {{\n        return ({t})(u + b);\n    }}\n    return ({t})(0u - u);\n}}\n"
                ),
                _ => String::new(),
            };
        }
    }
    super::helper_section(C_HELPERS, "/* helper: ", name).unwrap_or_default().to_owned()
}

fn signature(problem: &Problem) -> Result<String, EmitError> {
    let params: Result<Vec<String>, EmitError> =
        problem.params.iter().map(|p| Ok(format!("{} {}", ctype(p.ty)?, ident(&p.name)).replace("* ", "*"))).collect();
    let params = params?;
    let params = if params.is_empty() { "void".to_string() } else { params.join(", ") };
    Ok(format!("{} {}({params})", ctype(problem.output)?, ident(&problem.name)).replace("* ", "*"))
}

const INCLUDES: &str =
    "#include <stdbool.h>\n#include <stdint.h>\n#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n";

pub(super) fn function(problem: &Problem, term: &Term) -> Result<String, EmitError> {
    // The source's own integer type and plain operators where no value can wrap.
    if let Some(view) = super::integers::integer_view(problem, term) {
        if view.native_type(problem).is_some() {
            let sorts = sorts_of(&view.problem, &view.term).map_err(unsupported)?;
            let mut cx = Ctx {
                term: &view.term,
                helpers: Helpers::default(),
                sorts,
                problem: &view.problem,
                native: true,
                named: HashMap::new(),
            };
            let mut body = block(&mut cx, view.term.root(), 0)?;
            body.push_str("}\n");
            let mut out = String::from(INCLUDES);
            out.push('\n');
            let note = super::integers::range_note(&view);
            match &problem.description {
                Some(d) => out.push_str(&format!("/* {}\n * {note} */\n", d.replace("*/", "* /"))),
                None => out.push_str(&format!("/* {note} */\n")),
            }
            out.push_str(&signature(problem)?);
            out.push_str(" {\n");
            out.push_str(&body);
            return Ok(out);
        }
    }
    let sorts = sorts_of(problem, term).map_err(unsupported)?;
    let mut cx = Ctx { term, helpers: Helpers::default(), sorts, problem, native: false, named: HashMap::new() };
    // Case splits read as if / else if / else, nested as the tree is.
    let mut body = block(&mut cx, term.root(), 0)?;
    body.push_str("}\n");
    let mut out = String::from(INCLUDES);
    out.push('\n');
    for h in cx.helpers.iter() {
        out.push_str(&helper_code(h));
        out.push('\n');
    }
    if let Some(d) = &problem.description {
        out.push_str(&format!("/* {} */\n", d.replace("*/", "* /")));
    }
    out.push_str(&signature(problem)?);
    out.push_str(" {\n");
    for p in &problem.params {
        if let Sort::BitVec(w) = p.ty.sort {
            if p.ty.signed {
                out.push_str(&format!("    const uint{w}_t u_{0} = (uint{w}_t){0};\n", ident(&p.name)));
            }
        }
    }
    out.push_str(&body);
    Ok(out)
}

/// The statements returning the value of `id` at nesting `depth`: an `if` / `else if` /
/// `else` for a case split (each branch a block of its own), else a `return`.
fn block(cx: &mut Ctx<'_>, id: Id, depth: usize) -> Result<String, EmitError> {
    let pad = "    ".repeat(depth + 1);
    let (arms, last) = if depth < super::MAX_NESTED_CASES { super::case_arms(cx.term, id) } else { (Vec::new(), id) };
    let output = cx.problem.output;
    let cast = |code: String| match output.sort {
        Sort::BitVec(w) if output.signed => format!("(int{w}_t){code}"),
        _ => code,
    };
    if arms.is_empty() {
        // A repeated subterm is computed once, into a named local.
        let params: Vec<String> = cx.problem.params.iter().map(|p| ident(&p.name)).collect();
        let mut out = String::new();
        for local in super::locals::find(cx.term, id, &params) {
            let ty = match cx.sorts[local.id.index()] {
                Sort::BitVec(w) => format!("uint{}_t", native(w)?),
                Sort::Int => "int64_t".into(),
                Sort::Bool => "bool".into(),
                Sort::String => "const char *".into(),
            };
            let code = cx.emit(local.id)?;
            out.push_str(&format!("{pad}{ty}{}{} = {code};\n", if ty.ends_with('*') { "" } else { " " }, local.name));
            cx.named.insert(local.key, local.name);
        }
        out.push_str(&format!("{pad}return {};\n", cast(cx.emit(id)?)));
        cx.named.clear();
        return Ok(out);
    }
    let mut out = String::new();
    for (i, (cond, then)) in arms.iter().enumerate() {
        let kw = if i == 0 { "if" } else { "} else if" };
        out.push_str(&format!("{pad}{kw} ({}) {{\n", cx.emit(*cond)?));
        out.push_str(&block(cx, *then, depth + 1)?);
    }
    out.push_str(&format!("{pad}}} else {{\n"));
    out.push_str(&block(cx, last, depth + 1)?);
    out.push_str(&format!("{pad}}}\n"));
    Ok(out)
}

pub(super) fn tests(problem: &Problem, examples: &[Example]) -> Result<String, EmitError> {
    let f = ident(&problem.name);
    let mut out = String::from(INCLUDES);
    out.push_str(&format!("\n{};\n\nint main(void) {{\n    int passed = 0, total = 0;\n", signature(problem)?));
    for (i, ex) in examples.iter().enumerate() {
        let args: Vec<String> = ex.args.iter().zip(&problem.params).map(|(v, p)| test_lit(v, p.ty)).collect();
        let want = test_lit(&ex.output, problem.output);
        let call = format!("{f}({})", args.join(", "));
        let check = if problem.output.sort == Sort::String {
            format!("strcmp({call}, {want}) == 0")
        } else {
            format!("{call} == {want}")
        };
        out.push_str(&format!(
            "    total++;\n    if ({check}) {{\n        passed++;\n    }} else {{\n        printf(\"FAILED example_{}\\n\");\n    }}\n",
            i + 1
        ));
    }
    out.push_str("    printf(\"passed %d/%d\\n\", passed, total);\n    return passed == total ? 0 : 1;\n}\n");
    Ok(out)
}
