//! Rust emitter.

use std::collections::HashMap;

use super::integers::integer_view;
use super::sorts_of;
use super::{ident, EmitError, Helpers, Lang};
use crate::dsl::{to_signed, Id, Op, Sort, Term, Value};
use crate::spec::{Example, Problem, TypeSpec};

fn unsupported(what: impl Into<String>) -> EmitError {
    EmitError::Unsupported { what: what.into(), lang: Lang::Rust }
}

fn native(w: u32) -> Result<u32, EmitError> {
    if matches!(w, 8 | 16 | 32 | 64) {
        Ok(w)
    } else {
        Err(unsupported(format!("{w}-bit vectors")))
    }
}

fn sig_type(ty: TypeSpec, is_param: bool) -> Result<String, EmitError> {
    Ok(match ty.sort {
        Sort::BitVec(w) => format!("{}{}", if ty.signed { "i" } else { "u" }, native(w)?),
        Sort::Int => "i64".into(),
        Sort::Bool => "bool".into(),
        Sort::String => if is_param { "&str" } else { "String" }.into(),
    })
}

/// An emitted expression and whether it is an owned `String` (vs `&str`).
struct E {
    code: String,
    owned: bool,
}

fn e(code: String) -> E {
    E { code, owned: false }
}

struct Ctx<'a> {
    term: &'a Term,
    helpers: Helpers,
    sorts: Vec<Sort>,
    /// An integer view written in one fixed-width type ([`IntegerView::native_type`]):
    /// unsuffixed literals and `/`, `%`.
    native: bool,
    /// Subterms (by their s-expression) already computed into a named local.
    named: HashMap<String, String>,
}

impl Ctx<'_> {
    /// The root's expression, after `let` lines that compute its repeated subterms once
    /// ([`super::locals`]).
    fn body_with_locals(&mut self, problem: &Problem) -> Result<(String, E), EmitError> {
        let params: Vec<String> = problem.params.iter().map(|p| ident(&p.name)).collect();
        let mut lets = String::new();
        for local in super::locals::find(self.term, self.term.root(), &params) {
            let x = self.emit(local.id)?;
            if x.owned {
                lets.push_str(&format!("    let {}: &str = &{};\n", local.name, paren(x.code)));
            } else {
                lets.push_str(&format!("    let {} = {};\n", local.name, strip_outer(&x.code)));
            }
            self.named.insert(local.key, local.name);
        }
        let body = self.emit(self.term.root())?;
        self.named.clear();
        Ok((lets, body))
    }
}

fn lit(v: &Value) -> String {
    match v {
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => format!("{i}_i64"),
        Value::Str(s) => format!("{:?}", &**s),
        Value::Bv { width, bits } => {
            if *bits < 10 {
                format!("{bits}_u{width}")
            } else {
                format!("0x{bits:x}_u{width}")
            }
        }
    }
}

/// A typed literal for test code, with the signature's signedness.
fn test_lit(v: &Value, ty: TypeSpec) -> String {
    match v {
        Value::Bv { width, bits } if ty.signed => format!("{}_i{width}", to_signed(*bits, *width)),
        Value::Str(s) => format!("{:?}", &**s),
        other => lit(other),
    }
}

impl Ctx<'_> {
    fn s(&mut self, id: Id) -> Result<String, EmitError> {
        Ok(strip_outer(&self.emit(id)?.code))
    }

    /// An operand that becomes a method receiver, a cast operand or an
    /// operator argument: parenthesized unless it is a primary expression.
    fn p(&mut self, id: Id) -> Result<String, EmitError> {
        Ok(paren(self.emit(id)?.code))
    }

    fn concat_pieces(&mut self, id: Id, fmt: &mut String, args: &mut Vec<String>) -> Result<(), EmitError> {
        let node = self.term.node(id).clone();
        match &node.op {
            Op::StrConcat => {
                for c in &node.children {
                    self.concat_pieces(*c, fmt, args)?;
                }
            }
            Op::Const(Value::Str(lit)) => {
                let quoted = format!("{:?}", &**lit);
                fmt.push_str(&quoted[1..quoted.len() - 1].replace('{', "{{").replace('}', "}}"));
            }
            _ => {
                fmt.push_str("{}");
                args.push(self.s(id)?);
            }
        }
        Ok(())
    }

    /// A string function argument usable where `&str` is expected.
    fn sref(&mut self, id: Id) -> Result<String, EmitError> {
        let x = self.emit(id)?;
        Ok(if x.owned { format!("&{}", paren(x.code)) } else { strip_outer(&x.code) })
    }

    /// A string operand of `==`/`!=` (a `&str` or `&String`).
    fn sop(&mut self, id: Id) -> Result<String, EmitError> {
        let x = self.emit(id)?;
        Ok(if x.owned { format!("&{}", paren(x.code)) } else { paren(x.code) })
    }

    fn emit(&mut self, id: Id) -> Result<E, EmitError> {
        if !self.named.is_empty() {
            if let Some(name) = self.named.get(&self.term.to_sexpr_at(id)) {
                return Ok(e(name.clone()));
            }
        }
        let node = self.term.node(id).clone();
        let k = &node.children;
        let sort = self.sorts[id.index()];
        let w = match sort {
            Sort::BitVec(w) => native(w).unwrap_or(64),
            _ => k.first().map_or(64, |c| match self.sorts[c.index()] {
                Sort::BitVec(w) => w,
                _ => 64,
            }),
        };
        let t = format!("u{w}");
        let bin = |c: &mut Ctx<'_>, f: &dyn Fn(String, String) -> String| -> Result<E, EmitError> {
            let (a, b) = (c.p(k[0])?, c.p(k[1])?);
            Ok(e(f(a, b)))
        };
        let r = match &node.op {
            Op::Var(v) => e(ident(v)),
            Op::Const(Value::Int(i)) if self.native => e(i.to_string()),
            Op::Const(v) => e(lit(v)),
            Op::Call(f) => return Err(EmitError::UnknownFunction(f.to_string())),
            Op::Not => e(format!("!{}", self.p(k[0])?)),
            Op::And | Op::Or => {
                let sep = if node.op == Op::And { " && " } else { " || " };
                let parts: Result<Vec<String>, _> = k.iter().map(|c| self.p(*c)).collect();
                e(format!("({})", parts?.join(sep)))
            }
            Op::Xor => bin(self, &|a, b| format!("({a} != {b})"))?,
            Op::Implies => bin(self, &|a, b| format!("(!{a} || {b})"))?,
            Op::Eq | Op::Distinct => {
                let is_str = self.sorts[k[0].index()] == Sort::String;
                let mut parts = Vec::new();
                for i in 0..k.len() {
                    let range: Vec<usize> = if node.op == Op::Eq {
                        (i + 1..k.len().min(i + 2)).collect()
                    } else {
                        (i + 1..k.len()).collect()
                    };
                    for j in range {
                        let (a, b) =
                            if is_str { (self.sop(k[i])?, self.sop(k[j])?) } else { (self.p(k[i])?, self.p(k[j])?) };
                        let op = if node.op == Op::Eq { "==" } else { "!=" };
                        parts.push(format!("{a} {op} {b}"));
                    }
                }
                e(format!("({})", parts.join(" && ")))
            }
            Op::Ite => {
                let c = strip_outer(&self.p(k[0])?);
                let (a, b) = (self.emit(k[1])?, self.emit(k[2])?);
                if sort == Sort::String && a.owned != b.owned {
                    let own = |x: E| if x.owned { x.code } else { format!("{}.to_string()", x.code) };
                    E { code: format!("if {c} {{ {} }} else {{ {} }}", own(a), own(b)), owned: true }
                } else {
                    E { code: format!("if {c} {{ {} }} else {{ {} }}", a.code, b.code), owned: a.owned }
                }
            }
            Op::Neg => e(format!("-{}", self.p(k[0])?)),
            Op::Abs => e(format!("{}.abs()", self.p(k[0])?)),
            Op::Add | Op::Sub | Op::Mul => {
                let sym = match node.op {
                    Op::Add => " + ",
                    Op::Sub => " - ",
                    _ => " * ",
                };
                let parts: Result<Vec<String>, _> = k.iter().map(|c| self.p(*c)).collect();
                e(format!("({})", parts?.join(sym)))
            }
            Op::TDiv => bin(self, &|a, b| format!("({a} / {b})"))?,
            Op::TRem => bin(self, &|a, b| format!("({a} % {b})"))?,
            Op::Div if self.native => bin(self, &|a, b| format!("({a} / {b})"))?,
            Op::Mod if self.native => bin(self, &|a, b| format!("({a} % {b})"))?,
            Op::Div => bin(self, &|a, b| format!("{a}.div_euclid({})", strip_outer(&b)))?,
            Op::Mod => bin(self, &|a, b| format!("{a}.rem_euclid({})", strip_outer(&b)))?,
            Op::Le | Op::Lt | Op::Ge | Op::Gt => {
                let sym = match node.op {
                    Op::Le => "<=",
                    Op::Lt => "<",
                    Op::Ge => ">=",
                    _ => ">",
                };
                bin(self, &|a, b| format!("({a} {sym} {b})"))?
            }
            Op::BvNot => e(format!("!{}", self.p(k[0])?)),
            Op::BvNeg => e(format!("{}.wrapping_neg()", self.p(k[0])?)),
            Op::BvAnd | Op::BvOr | Op::BvXor => {
                let sym = match node.op {
                    Op::BvAnd => " & ",
                    Op::BvOr => " | ",
                    _ => " ^ ",
                };
                let parts: Result<Vec<String>, _> = k.iter().map(|c| self.p(*c)).collect();
                e(format!("({})", parts?.join(sym)))
            }
            Op::BvNand => bin(self, &|a, b| format!("!({a} & {b})"))?,
            Op::BvNor => bin(self, &|a, b| format!("!({a} | {b})"))?,
            Op::BvXnor => bin(self, &|a, b| format!("!({a} ^ {b})"))?,
            Op::BvAdd | Op::BvMul => {
                let m = if node.op == Op::BvAdd { "wrapping_add" } else { "wrapping_mul" };
                let mut acc = self.p(k[0])?;
                for c in &k[1..] {
                    acc = format!("{acc}.{m}({})", strip_outer(&self.p(*c)?));
                }
                e(acc)
            }
            Op::BvSub => bin(self, &|a, b| format!("{a}.wrapping_sub({})", strip_outer(&b)))?,
            Op::BvUdiv => bin(self, &|a, b| format!("{a}.checked_div({}).unwrap_or({t}::MAX)", strip_outer(&b)))?,
            Op::BvShl | Op::BvLshr => {
                let m = if node.op == Op::BvShl { "checked_shl" } else { "checked_shr" };
                bin(self, &|a, b| {
                    let b = strip_outer(&b);
                    let amount = if w == 32 { b } else { format!("u32::try_from({b}).unwrap_or(u32::MAX)") };
                    format!("{a}.{m}({amount}).unwrap_or(0)")
                })?
            }
            Op::BvUrem | Op::BvSdiv | Op::BvSrem | Op::BvSmod | Op::BvAshr => {
                let name = format!("{}_{t}", node.op.name());
                self.helpers.need(name.clone());
                bin(self, &|a, b| format!("{name}({}, {})", strip_outer(&a), strip_outer(&b)))?
            }
            Op::BvUlt | Op::BvUle | Op::BvUgt | Op::BvUge | Op::BvSlt | Op::BvSle | Op::BvSgt | Op::BvSge => {
                let (sym, signed) = match node.op {
                    Op::BvUlt => ("<", false),
                    Op::BvUle => ("<=", false),
                    Op::BvUgt => (">", false),
                    Op::BvUge => (">=", false),
                    Op::BvSlt => ("<", true),
                    Op::BvSle => ("<=", true),
                    Op::BvSgt => (">", true),
                    _ => (">=", true),
                };
                if signed {
                    // A constant operand reads better as a signed literal than as a cast.
                    let literal = |id: Id| match &self.term.node(id).op {
                        Op::Const(Value::Bv { width, bits }) if *bits != 1 << (width - 1) => {
                            Some(format!("{}_i{w}", to_signed(*bits, *width)))
                        }
                        _ => None,
                    };
                    let (la, lb) = (literal(k[0]), literal(k[1]));
                    bin(self, &|a, b| {
                        let a = la.clone().unwrap_or_else(|| format!("({a} as i{w})"));
                        let b = lb.clone().unwrap_or_else(|| format!("({b} as i{w})"));
                        format!("({a} {sym} {b})")
                    })?
                } else {
                    bin(self, &|a, b| format!("({a} {sym} {b})"))?
                }
            }
            Op::Concat if k.len() == 2 => {
                let Sort::BitVec(w2) = self.sorts[k[1].index()] else { return Err(unsupported("concat")) };
                let out = native(match sort {
                    Sort::BitVec(x) => x,
                    _ => 0,
                })?;
                bin(self, &|a, b| {
                    format!("((u{out}::from({}) << {w2}) | u{out}::from({}))", strip_outer(&a), strip_outer(&b))
                })?
            }
            Op::Extract(hi, lo) => {
                let out = native(hi - lo + 1)?;
                let a = self.p(k[0])?;
                if *lo == 0 {
                    e(format!("({a} as u{out})"))
                } else {
                    e(format!("(({a} >> {lo}) as u{out})"))
                }
            }
            Op::ZeroExtend(_) => {
                let out = native(match sort {
                    Sort::BitVec(x) => x,
                    _ => 0,
                })?;
                e(format!("u{out}::from({})", strip_outer(&self.p(k[0])?)))
            }
            Op::SignExtend(_) => {
                let out = native(match sort {
                    Sort::BitVec(x) => x,
                    _ => 0,
                })?;
                let Sort::BitVec(from) = self.sorts[k[0].index()] else { return Err(unsupported("sign_extend")) };
                let from = native(from)?;
                e(format!("(i{out}::from({} as i{from}) as u{out})", self.p(k[0])?))
            }
            Op::Int2Bv(_) => {
                let out = native(match sort {
                    Sort::BitVec(x) => x,
                    _ => 0,
                })?;
                e(format!("({} as u{out})", self.p(k[0])?))
            }
            Op::Bv2Nat => {
                let Sort::BitVec(from) = self.sorts[k[0].index()] else { return Err(unsupported("bv2nat")) };
                if native(from)? == 64 {
                    // `Int` is emitted as `i64`: values of 2^63 and more do not fit.
                    e(format!("({} as i64)", self.p(k[0])?))
                } else {
                    e(format!("i64::from({})", self.s(k[0])?))
                }
            }
            Op::RotateLeft(n) => e(format!("{}.rotate_left({})", self.p(k[0])?, n % w)),
            Op::RotateRight(n) => e(format!("{}.rotate_right({})", self.p(k[0])?, n % w)),
            Op::StrConcat => {
                // One `format!` for a whole concatenation chain, literals inlined.
                let mut fmt = String::new();
                let mut args = Vec::new();
                self.concat_pieces(id, &mut fmt, &mut args)?;
                if args.is_empty() {
                    E { code: format!("String::from(\"{fmt}\")"), owned: true }
                } else {
                    E { code: format!("format!(\"{fmt}\", {})", args.join(", ")), owned: true }
                }
            }
            Op::StrLen => e(format!("({}.chars().count() as i64)", self.p(k[0])?)),
            Op::StrSubstr => {
                self.helpers.need("str_substr");
                let (s, i, n) = (self.sref(k[0])?, strip_outer(&self.p(k[1])?), strip_outer(&self.p(k[2])?));
                E { code: format!("str_substr({s}, {i}, {n})"), owned: true }
            }
            Op::StrAt => {
                self.helpers.need("str_substr");
                let (s, i) = (self.sref(k[0])?, strip_outer(&self.p(k[1])?));
                E { code: format!("str_substr({s}, {i}, 1)"), owned: true }
            }
            Op::StrIndexOf => {
                self.helpers.need("str_indexof");
                let (s, p, i) = (self.sref(k[0])?, self.sref(k[1])?, strip_outer(&self.p(k[2])?));
                e(format!("str_indexof({s}, {p}, {i})"))
            }
            Op::StrReplace => {
                let (s, p, r) = (self.p(k[0])?, self.sref(k[1])?, self.sref(k[2])?);
                E { code: format!("{s}.replacen({p}, {r}, 1)"), owned: true }
            }
            Op::StrReplaceAll => {
                self.helpers.need("str_replace_all");
                let (s, p, r) = (self.sref(k[0])?, self.sref(k[1])?, self.sref(k[2])?);
                E { code: format!("str_replace_all({s}, {p}, {r})"), owned: true }
            }
            Op::StrPrefixOf | Op::StrSuffixOf | Op::StrContains => {
                let (a, b) = (self.sref(k[0])?, self.sref(k[1])?);
                let (a_recv, b_recv) = (self.p(k[0])?, self.p(k[1])?);
                e(match node.op {
                    Op::StrPrefixOf => format!("{b_recv}.starts_with({a})"),
                    Op::StrSuffixOf => format!("{b_recv}.ends_with({a})"),
                    _ => format!("{a_recv}.contains({b})"),
                })
            }
            Op::StrToInt => {
                self.helpers.need("str_to_int");
                let s = self.sref(k[0])?;
                e(format!("str_to_int({s})"))
            }
            Op::StrFromInt => {
                self.helpers.need("str_from_int");
                let n = strip_outer(&self.p(k[0])?);
                E { code: format!("str_from_int({n})"), owned: true }
            }
            Op::StrToUpper => E { code: format!("{}.to_ascii_uppercase()", self.p(k[0])?), owned: true },
            Op::StrToLower => E { code: format!("{}.to_ascii_lowercase()", self.p(k[0])?), owned: true },
            Op::StrToTitle => {
                self.helpers.need("str_to_title");
                E { code: format!("str_to_title({})", self.sref(k[0])?), owned: true }
            }
            Op::StrTrim => E {
                code: format!("{}.trim_matches(&[' ', '\\t', '\\n', '\\r'][..]).to_string()", self.p(k[0])?),
                owned: true,
            },
            Op::StrField => {
                self.helpers.need("str_field");
                let (s, sep, i) = (self.sref(k[0])?, self.sref(k[1])?, strip_outer(&self.p(k[2])?));
                E { code: format!("str_field({s}, {sep}, {i})"), owned: true }
            }
            Op::StrPadLeft => {
                self.helpers.need("str_pad_left");
                let (s, w, c) = (self.sref(k[0])?, strip_outer(&self.p(k[1])?), self.sref(k[2])?);
                E { code: format!("str_pad_left({s}, {w}, {c})"), owned: true }
            }
            Op::StrRepeat => {
                let (s, n) = (self.p(k[0])?, self.p(k[1])?);
                E { code: format!("{s}.repeat({n}.max(0) as usize)"), owned: true }
            }
            other => return Err(unsupported(format!("`{}`", other.name()))),
        };
        Ok(r)
    }
}

/// Removes one pair of parentheses enclosing the whole expression.
pub(super) fn strip_outer(s: &str) -> String {
    let b = s.as_bytes();
    if b.first() != Some(&b'(') || b.last() != Some(&b')') {
        return s.to_string();
    }
    let mut depth = 0i32;
    let mut in_str = false;
    let mut prev = 0u8;
    for (i, &c) in b.iter().enumerate() {
        if in_str {
            if c == b'"' && prev != b'\\' {
                in_str = false;
            }
        } else if c == b'"' {
            in_str = true;
        } else if c == b'(' {
            depth += 1;
        } else if c == b')' {
            depth -= 1;
            if depth == 0 && i != b.len() - 1 {
                return s.to_string();
            }
        }
        prev = if prev == b'\\' && c == b'\\' { 0 } else { c };
    }
    s[1..s.len() - 1].to_string()
}

/// Whether `code` is a primary expression (a name, literal, call or method
/// chain, or fully parenthesized), safe as a method receiver or operand.
fn is_primary(code: &str) -> bool {
    if code.starts_with(['!', '-', '&', '*']) || code.is_empty() {
        return false;
    }
    let mut depth = 0i32;
    let mut in_str = false;
    let mut escaped = false;
    for c in code.chars() {
        if in_str {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_str = false;
            }
            continue;
        }
        match c {
            '"' => in_str = true,
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth -= 1,
            c if depth == 0 && (c.is_whitespace() || "+-*/%&|^<>=!?".contains(c)) => {
                // `!` of a macro call (`format!(`) and `::` paths are fine.
                if c == '!' {
                    continue;
                }
                return false;
            }
            _ => {}
        }
    }
    true
}

/// Parenthesizes `code` unless it is a primary expression.
pub(super) fn paren(code: String) -> String {
    if is_primary(&code) {
        code
    } else {
        format!("({code})")
    }
}

fn helper_code(name: &str) -> String {
    if let Some((op, t)) = name.split_once("_u") {
        let t = format!("u{t}");
        let i = t.replace('u', "i");
        let bits = &t[1..];
        return match op {
            "bvurem" => format!("fn {name}(a: {t}, b: {t}) -> {t} {{\n    a.checked_rem(b).unwrap_or(a)\n}}\n"),
            "bvashr" => format!(
                "fn {name}(a: {t}, b: {t}) -> {t} {{\n    let s = a as {i};\n    (if b >= {bits} {{ s >> ({bits} - 1) }} else {{ s >> b }}) as {t}\n}}\n"
            ),
            "bvsdiv" => format!(
                "fn {name}(a: {t}, b: {t}) -> {t} {{\n    let (x, y) = (a as {i}, b as {i});\n    if y == 0 {{\n        if x < 0 {{ 1 }} else {{ {t}::MAX }}\n    }} else {{\n        x.wrapping_div(y) as {t}\n    }}\n}}\n"
            ),
            "bvsrem" => format!(
                "fn {name}(a: {t}, b: {t}) -> {t} {{\n    let (x, y) = (a as {i}, b as {i});\n    if y == 0 {{ a }} else {{ x.wrapping_rem(y) as {t} }}\n}}\n"
            ),
            "bvsmod" => format!(
                "fn {name}(a: {t}, b: {t}) -> {t} {{\n    let (x, y) = (a as {i}, b as {i});\n    if y == 0 {{\n        return a;\n    }}\n    let r = x.wrapping_rem(y);\n    (if r != 0 && (r < 0) != (y < 0) {{ r.wrapping_add(y) }} else {{ r }}) as {t}\n}}\n"
            ),
            _ => String::new(),
        };
    }
    match name {
        "str_to_title" => r#"/// Each word's first ASCII letter upper case, its other ASCII letters lower case.
fn str_to_title(s: &str) -> String {
    let mut after_letter = false;
    s.chars()
        .map(|c| {
            let t = if after_letter { c.to_ascii_lowercase() } else { c.to_ascii_uppercase() };
            after_letter = c.is_ascii_alphabetic();
            t
        })
        .collect()
}
"#
        .into(),
        "str_field" => r#"/// The `i`-th piece (from 0; -1 the last) of `s` split at each `sep`; empty past either end.
fn str_field(s: &str, sep: &str, i: i64) -> String {
    let pieces: Vec<&str> = if sep.is_empty() { vec![s] } else { s.split(sep).collect() };
    let k = if i < 0 { pieces.len() as i64 + i } else { i };
    usize::try_from(k).ok().and_then(|k| pieces.get(k)).map_or_else(String::new, |p| p.to_string())
}
"#
        .into(),
        "str_pad_left" => r#"/// `s` padded on the left with the one character `c` to `w` characters.
fn str_pad_left(s: &str, w: i64, c: &str) -> String {
    let mut cs = c.chars();
    let (Some(pad), None) = (cs.next(), cs.next()) else { return s.to_string() };
    let len = s.chars().count() as i64;
    if w <= len {
        return s.to_string();
    }
    let mut out: String = std::iter::repeat_n(pad, (w - len) as usize).collect();
    out.push_str(s);
    out
}
"#
        .into(),
        "str_substr" => "/// SMT-LIB `str.substr`: at most `n` characters from index `i`; empty when out of range.\nfn str_substr(s: &str, i: i64, n: i64) -> String {\n    let len = s.chars().count() as i64;\n    if i < 0 || i >= len || n <= 0 {\n        return String::new();\n    }\n    s.chars().skip(i as usize).take(n.min(len - i) as usize).collect()\n}\n".into(),
        "str_indexof" => "/// SMT-LIB `str.indexof`: first occurrence of `t` at or after character `i`, or -1.\nfn str_indexof(s: &str, t: &str, i: i64) -> i64 {\n    let len = s.chars().count() as i64;\n    if i < 0 || i > len {\n        return -1;\n    }\n    let start = s.char_indices().nth(i as usize).map_or(s.len(), |(b, _)| b);\n    match s[start..].find(t) {\n        Some(b) => s[..start + b].chars().count() as i64,\n        None => -1,\n    }\n}\n".into(),
        "str_replace_all" => "/// SMT-LIB `str.replace_all`: an empty pattern leaves `s` unchanged.\nfn str_replace_all(s: &str, t: &str, u: &str) -> String {\n    if t.is_empty() {\n        s.to_string()\n    } else {\n        s.replace(t, u)\n    }\n}\n".into(),
        "str_to_int" => "/// SMT-LIB `str.to_int`: the value of a non-empty digit string, else -1.\nfn str_to_int(s: &str) -> i64 {\n    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {\n        return -1;\n    }\n    s.parse().unwrap_or(i64::MAX)\n}\n".into(),
        "str_from_int" => "/// SMT-LIB `str.from_int`: decimal digits, or empty for negative numbers.\nfn str_from_int(n: i64) -> String {\n    if n >= 0 {\n        n.to_string()\n    } else {\n        String::new()\n    }\n}\n".into(),
        _ => String::new(),
    }
}

pub(super) fn function(problem: &Problem, term: &Term) -> Result<String, EmitError> {
    // The source's own integer type and plain operators where no value can wrap.
    if let Some(view) = integer_view(problem, term) {
        if view.native_type(problem).is_some() {
            let sorts = sorts_of(&view.problem, &view.term).map_err(unsupported)?;
            let mut cx =
                Ctx { term: &view.term, helpers: Helpers::default(), sorts, native: true, named: HashMap::new() };
            let (lets, body) = cx.body_with_locals(&view.problem)?;
            let mut out = String::new();
            if let Some(d) = &problem.description {
                for line in d.lines() {
                    out.push_str(&format!("/// {line}\n"));
                }
                out.push_str("///\n");
            }
            out.push_str(&format!("/// {}\n", super::integers::range_note(&view)));
            let params: Result<Vec<String>, EmitError> =
                problem.params.iter().map(|p| Ok(format!("{}: {}", ident(&p.name), sig_type(p.ty, true)?))).collect();
            let ret = sig_type(problem.output, false)?;
            out.push_str(&format!("pub fn {}({}) -> {ret} {{\n", ident(&problem.name), params?.join(", ")));
            out.push_str(&lets);
            out.push_str(&format!("    {}\n}}\n", strip_outer(&body.code)));
            return Ok(out);
        }
    }
    let sorts = sorts_of(problem, term).map_err(unsupported)?;
    let mut cx = Ctx { term, helpers: Helpers::default(), sorts, native: false, named: HashMap::new() };
    let (lets, body) = cx.body_with_locals(problem)?;
    let mut out = String::new();
    for h in cx.helpers.iter() {
        out.push_str(&helper_code(h));
        out.push('\n');
    }
    if let Some(d) = &problem.description {
        for line in d.lines() {
            out.push_str(&format!("/// {line}\n"));
        }
    }
    let params: Result<Vec<String>, EmitError> =
        problem.params.iter().map(|p| Ok(format!("{}: {}", ident(&p.name), sig_type(p.ty, true)?))).collect();
    let ret = sig_type(problem.output, false)?;
    out.push_str(&format!("pub fn {}({}) -> {ret} {{\n", ident(&problem.name), params?.join(", ")));
    for p in &problem.params {
        if let Sort::BitVec(w) = p.ty.sort {
            if p.ty.signed {
                out.push_str(&format!("    let {0} = {0} as u{w};\n", ident(&p.name)));
            }
        }
    }
    out.push_str(&lets);
    let mut code = strip_outer(&body.code);
    if problem.output.sort == Sort::String && !body.owned {
        code = format!("{code}.to_string()");
    }
    if let Sort::BitVec(w) = problem.output.sort {
        if problem.output.signed {
            code = format!("({code}) as i{w}");
        }
    }
    out.push_str(&format!("    {code}\n}}\n"));
    Ok(out)
}

pub(super) fn tests(problem: &Problem, examples: &[Example]) -> Result<String, EmitError> {
    let f = ident(&problem.name);
    let mut out = String::from("#[cfg(test)]\nmod tests {\n");
    if !examples.is_empty() {
        out.push_str("    use super::*;\n");
    }
    for (i, ex) in examples.iter().enumerate() {
        let args: Vec<String> = ex.args.iter().zip(&problem.params).map(|(v, p)| test_lit(v, p.ty)).collect();
        let want = test_lit(&ex.output, problem.output);
        let cmp = format!("        assert_eq!({f}({}), {want});\n", args.join(", "));
        out.push_str(&format!("\n    #[test]\n    fn example_{}() {{\n{cmp}    }}\n", i + 1));
    }
    out.push_str("}\n");
    let _ = sig_type(problem.output, false)?;
    Ok(out)
}
