//! List programs as C: one translation unit that compiles alone (`gcc -std=c11 -c`), a
//! `for` loop over pointer and length for each list operator, and the examples as tests.
//!
//! The function is declared as [`CPrototype`] says: the original's prototype when it is
//! known (live synthesis takes it from DWARF, so `int sum(const int *a, int n)` stays
//! that), else [`CPrototype::default_for`]: each list parameter becomes a pointer and a
//! length, and a list result is written into a buffer the caller passes, `snprintf`
//! style. A list result written into a parameter (an in-place or out-buffer function)
//! is written there.
//!
//! Semantics are those of [`super::program`] wherever the interpreter gives a value.
//! Where it gives none, the C code stops the program: `assert` for the head of an empty
//! list, an index out of range and division by zero (so these stop only while `NDEBUG`
//! is not defined, as any `assert`), `abort` when memory for a list runs out. Arithmetic
//! is on `int64_t` with C's operators, so an overflow is undefined behaviour in C as in
//! the original: compile with `-ftrapv` to stop on it.

use std::fmt::Write as _;

use super::emit::{plain_divisor, strip_parens, ListEmitError};
use super::outputs::{check_parts, dest, early, needs_outputs_path, unchanged, Dest};
use super::program::{Expr, LType, LValue, ListOp};
use super::shape::ShapedKind;
use super::spec::ListProblem;

/// One C parameter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CParam {
    /// Its name.
    pub name: String,
    /// Its type as C spells it: `const int *`, `int64_t`, `size_t`.
    pub ctype: String,
    /// For a pointer to elements: the parameter that holds how many there are.
    pub len: Option<String>,
}

/// How the emitted C function is declared, and where its result goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CPrototype {
    /// The return type as C spells it (`int`, `long`, `void`, `int64_t`).
    pub ret: String,
    /// Every C parameter, in order. Each parameter of the problem is one of them, by name.
    pub params: Vec<CParam>,
    /// For a list result: the pointer parameter it is written into.
    pub result_into: Option<String>,
    /// Whether the function returns the length of its list result (of which at most the
    /// buffer's length is written).
    pub returns_len: bool,
    /// C declarations the prototype needs before it: the structs it names, as the
    /// original lays them out.
    pub declarations: String,
}

impl CPrototype {
    /// The prototype of a task that has none: `int64_t` integers, `bool`s, each list
    /// parameter `xs` as `const int64_t *xs, int64_t xs_len`, and a list result written
    /// into `int64_t *out, int64_t out_len` with its length returned; or, when the task
    /// leaves its result in a parameter ([`ListProblem::result_in`]), a `void` function
    /// writing into that one (`int64_t *xs, int64_t xs_len`).
    #[must_use]
    pub fn default_for(problem: &ListProblem) -> CPrototype {
        if let Some(shape) = &problem.shape {
            return Self::default_for_structs(problem, shape);
        }
        let mut taken: Vec<String> = problem.params.iter().map(|(n, _)| n.clone()).collect();
        let mut free = |base: &str| {
            let mut name = base.to_string();
            while taken.contains(&name) {
                name.push('_');
            }
            taken.push(name.clone());
            name
        };
        let mut params = Vec::new();
        for (k, (name, ty)) in problem.params.iter().enumerate() {
            match ty {
                LType::List => {
                    let len = free(&format!("{name}_len"));
                    let ctype = if problem.result_in == Some(k) { "int64_t *" } else { "const int64_t *" };
                    params.push(CParam { name: name.clone(), ctype: ctype.into(), len: Some(len.clone()) });
                    params.push(CParam { name: len, ctype: "int64_t".into(), len: None });
                }
                LType::Int => params.push(CParam { name: name.clone(), ctype: "int64_t".into(), len: None }),
                LType::Bool => params.push(CParam { name: name.clone(), ctype: "bool".into(), len: None }),
            }
        }
        let (ret, result_into) = match problem.output {
            LType::List if problem.result_in.is_some() => {
                ("void", problem.result_in.map(|k| problem.params[k].0.clone()))
            }
            LType::List => {
                let (out, cap) = (free("out"), free("out_len"));
                params.push(CParam { name: out.clone(), ctype: "int64_t *".into(), len: Some(cap.clone()) });
                params.push(CParam { name: cap, ctype: "int64_t".into(), len: None });
                ("int64_t", Some(out))
            }
            LType::Int => ("int64_t", None),
            LType::Bool => ("bool", None),
        };
        let returns_len = result_into.is_some() && problem.result_in.is_none();
        CPrototype { ret: ret.into(), params, returns_len, result_into, declarations: String::new() }
    }

    /// [`CPrototype::default_for`] of a task whose parameters include structs: each struct
    /// by `const` pointer (an array of them with an `int64_t` length), each declared with
    /// `int64_t` fields.
    fn default_for_structs(problem: &ListProblem, shape: &crate::lists::Shape) -> CPrototype {
        let mut params = Vec::new();
        let mut declarations: Vec<(String, String)> = Vec::new();
        for p in &shape.params {
            match &p.kind {
                ShapedKind::Plain(i) if problem.params[*i].1 == LType::List => {
                    let len = format!("{}_len", p.name);
                    let ctype = if problem.result_in == Some(*i) { "int64_t *" } else { "const int64_t *" };
                    params.push(CParam { name: p.name.clone(), ctype: ctype.into(), len: Some(len.clone()) });
                    params.push(CParam { name: len, ctype: "int64_t".into(), len: None });
                }
                ShapedKind::Plain(i) => {
                    let ctype = if problem.params[*i].1 == LType::Bool { "bool" } else { "int64_t" };
                    params.push(CParam { name: p.name.clone(), ctype: ctype.into(), len: None });
                }
                ShapedKind::Struct(st) | ShapedKind::Structs(st) => {
                    declare_shape(st, &mut declarations);
                    let array = matches!(p.kind, ShapedKind::Structs(_));
                    let len = array.then(|| format!("{}_len", p.name));
                    params.push(CParam { name: p.name.clone(), ctype: format!("const {} *", st.ty), len: len.clone() });
                    if let Some(len) = len {
                        params.push(CParam { name: len, ctype: "int64_t".into(), len: None });
                    }
                }
            }
        }
        // A list result is written into a buffer, its length returned, as without structs;
        // or into the list parameter it is left in.
        let (ret, result_into) = match (problem.output, problem.result_in) {
            (LType::List, Some(k)) => ("void", Some(problem.params[k].0.clone())),
            (LType::List, None) => {
                let taken = |n: &str| params.iter().any(|p| p.name == n);
                let mut out = "out".to_string();
                while taken(&out) || taken(&format!("{out}_len")) {
                    out.push('_');
                }
                let cap = format!("{out}_len");
                params.push(CParam { name: out.clone(), ctype: "int64_t *".into(), len: Some(cap.clone()) });
                params.push(CParam { name: cap, ctype: "int64_t".into(), len: None });
                ("int64_t", Some(out))
            }
            (LType::Bool, _) => ("bool", None),
            (LType::Int, _) => ("int64_t", None),
        };
        CPrototype {
            ret: ret.into(),
            returns_len: result_into.is_some() && problem.result_in.is_none(),
            params,
            result_into,
            declarations: declarations.into_iter().map(|(_, d)| d + "\n").collect(),
        }
    }

    /// `int f(const int *a, int n)`.
    #[must_use]
    pub fn declaration(&self, name: &str) -> String {
        let params: Vec<String> = self.params.iter().map(|p| declare(&p.ctype, &p.name)).collect();
        let params = if params.is_empty() { "void".to_string() } else { params.join(", ") };
        format!("{} {name}({params})", self.ret.trim())
    }

    /// Whether parameter `name` is a struct passed by value (its C type no pointer).
    fn by_value(&self, name: &str) -> bool {
        self.param(name).is_some_and(|p| !p.ctype.trim_end().ends_with('*'))
    }

    fn param(&self, name: &str) -> Option<&CParam> {
        self.params.iter().find(|p| p.name == name)
    }

    /// A length parameter as an `int64_t` expression.
    fn len_expr(&self, name: &str) -> String {
        match self.param(name) {
            Some(p) if unsigned(&p.ctype) => format!("(int64_t){name}"),
            _ => name.to_string(),
        }
    }
}

/// `struct T { int64_t f; struct U g; };` for `st`'s struct and its nested ones, nested
/// first, each once in `out`.
fn declare_shape(st: &crate::lists::StructShape, out: &mut Vec<(String, String)>) {
    use super::shape::Member;
    for (ty, members) in st.types() {
        if out.iter().any(|(n, _)| n == ty) {
            continue;
        }
        let lines: Vec<String> = members
            .into_iter()
            .map(|m| match m {
                Member::Nested { name, ty, .. } => format!("    {ty} {name};"),
                Member::Int { name, .. } => format!("    int64_t {name};"),
            })
            .collect();
        out.push((ty.to_string(), format!("{ty} {{\n{}\n}};\n", lines.join("\n"))));
    }
}

/// `const int *` + `a` → `const int *a`; `int` + `n` → `int n`.
fn declare(ctype: &str, name: &str) -> String {
    let t = ctype.trim();
    if t.ends_with('*') {
        format!("{t}{name}")
    } else {
        format!("{t} {name}")
    }
}

fn unsigned(ctype: &str) -> bool {
    let t = ctype.trim();
    t.contains("unsigned") || t.contains("size_t") || t.starts_with("uint") || t.starts_with("const uint")
}

/// Whether an integer type is narrower than the list language's 64 bits (so arithmetic on
/// it is widened first): `int`, `short`, `uint32_t`...
fn narrow(ctype: &str) -> bool {
    let t = ctype.trim().trim_start_matches("const ").trim();
    !matches!(
        t,
        "int64_t"
            | "uint64_t"
            | "long"
            | "long int"
            | "unsigned long"
            | "long unsigned int"
            | "long long"
            | "long long int"
            | "unsigned long long"
            | "long long unsigned int"
            | "size_t"
            | "ssize_t"
            | "ptrdiff_t"
            | "intptr_t"
            | "uintptr_t"
            | "bool"
            | "_Bool"
    ) && !t.ends_with('*')
}

/// The element type of a pointer type: `const int *` → `int`.
fn element_type(ctype: &str) -> String {
    let t = ctype.trim().trim_end_matches('*').trim();
    let t = t.strip_prefix("const ").unwrap_or(t).trim();
    t.strip_suffix(" const").unwrap_or(t).trim().to_string()
}

const C_KEYWORDS: &[&str] = &[
    "auto", "break", "case", "char", "const", "continue", "default", "do", "double", "else", "enum", "extern", "float",
    "for", "goto", "if", "inline", "int", "long", "register", "restrict", "return", "short", "signed", "sizeof",
    "static", "struct", "switch", "typedef", "union", "unsigned", "void", "volatile", "while", "bool", "true", "false",
];

/// Helper functions, emitted when used, in this order.
const HELPERS: &[(&str, &str)] = &[
    (
        "new_list",
        "/* Room for n elements (at least one); stops the program when memory runs out. */\n\
         static int64_t *new_list(int64_t n) {\n    int64_t *p = malloc(sizeof *p * (size_t)(n > 0 ? n : 1));\n    \
         if (p == NULL) {\n        abort();\n    }\n    return p;\n}\n",
    ),
    ("min_i64", "static int64_t min_i64(int64_t a, int64_t b) {\n    return a < b ? a : b;\n}\n"),
    ("max_i64", "static int64_t max_i64(int64_t a, int64_t b) {\n    return a > b ? a : b;\n}\n"),
    (
        "floor_div",
        "/* Division rounding down (Python's //). */\nstatic int64_t floor_div(int64_t a, int64_t b) {\n    \
         assert(b != 0);\n    int64_t q = a / b;\n    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;\n}\n",
    ),
    (
        "floor_mod",
        "/* Remainder with the sign of the divisor (Python's %). */\nstatic int64_t floor_mod(int64_t a, int64_t b) {\n    \
         assert(b != 0);\n    int64_t r = a % b;\n    return (r != 0 && (r < 0) != (b < 0)) ? r + b : r;\n}\n",
    ),
    (
        "trunc_div",
        "/* C's division, stopped where it has no value. */\nstatic int64_t trunc_div(int64_t a, int64_t b) {\n    \
         assert(b != 0 && !(a == INT64_MIN && b == -1));\n    return a / b;\n}\n",
    ),
    (
        "trunc_mod",
        "/* C's remainder, stopped where it has no value. */\nstatic int64_t trunc_mod(int64_t a, int64_t b) {\n    \
         assert(b != 0 && !(a == INT64_MIN && b == -1));\n    return a % b;\n}\n",
    ),
    (
        "index_from_end",
        "/* An index as Python reads it: negative counts from the end. */\n\
         static int64_t index_from_end(int64_t n, int64_t len) {\n    return n < 0 ? n + len : n;\n}\n",
    ),
    (
        "slice_bound",
        "/* A Python slice bound: n clamped to 0..len, negative counting from the end. */\n\
         static int64_t slice_bound(int64_t n, int64_t len) {\n    if (n < 0) {\n        return n + len > 0 ? n + len : 0;\n    }\n    \
         return n < len ? n : len;\n}\n",
    ),
    (
        "compare_ints",
        "static int compare_ints(const void *a, const void *b) {\n    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;\n    \
         return (x > y) - (x < y);\n}\n",
    ),
];

fn c_ident(name: &str) -> Result<String, ListEmitError> {
    let ok = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !C_KEYWORDS.contains(&name);
    if ok {
        Ok(name.to_string())
    } else {
        Err(ListEmitError::BadName(name.to_string()))
    }
}

/// A literal `int64_t`.
fn literal(c: i64) -> String {
    if c < 0 && i32::try_from(c).is_ok() {
        format!("({c})")
    } else {
        bare_literal(c)
    }
}

/// A literal `int64_t` where no operator precedes it (an initializer): negatives bare.
fn bare_literal(c: i64) -> String {
    if c == i64::MIN {
        "INT64_MIN".into()
    } else if i32::try_from(c).is_err() {
        format!("INT64_C({c})")
    } else {
        c.to_string()
    }
}

/// A list in C: its elements and how many there are.
#[derive(Clone, Debug)]
struct View {
    ptr: String,
    len: String,
    /// The element type (`int64_t` for the lists the function builds).
    elem: String,
    /// For a field across an array of structs: `.qty`, read after each element.
    field: String,
}

impl View {
    /// Element `i`: `xs[i]`, or `items[i].qty`.
    fn at(&self, i: &str) -> String {
        format!("{}[{i}]{}", self.ptr, self.field)
    }

    /// A list the function builds.
    fn built(ptr: String, len: String) -> View {
        View { ptr, len, elem: "int64_t".into(), field: String::new() }
    }
}

enum CValue {
    Scalar(String),
    List(View),
}

/// A block being written: names declared in it and lists to free at its end.
#[derive(Default)]
struct Block {
    names: Vec<String>,
    frees: Vec<String>,
}

/// A line of the function's body, and the name it declares when it only declares a
/// value that might go unread (then [`prune`] drops it).
struct Line {
    text: String,
    declares: Option<String>,
}

/// Drops declarations that nothing after them in their block reads, until none is left
/// (compilers warn about them; a lambda that ignores its argument has one).
fn prune(lines: &mut Vec<Line>) {
    let indent = |l: &Line| l.text.len() - l.text.trim_start().len();
    loop {
        let unread = lines.iter().enumerate().position(|(at, l)| {
            let Some(name) = &l.declares else { return false };
            let depth = indent(l);
            !lines[at + 1..].iter().take_while(|m| indent(m) >= depth).any(|m| mentions_name(&m.text, name))
        });
        match unread {
            Some(at) => {
                lines.remove(at);
            }
            None => return,
        }
    }
}

struct CWriter<'a> {
    lines: Vec<Line>,
    blocks: Vec<Block>,
    inputs: &'a [CValue],
    bound: Vec<[String; 2]>,
    helpers: Vec<&'static str>,
    /// The result buffer and its length, for the outermost operator to write into
    /// directly when it is element-wise (taken by the first operator that looks).
    direct: Option<(String, String)>,
}

/// Whether `text` uses the identifier `name` (not merely as part of a longer one).
pub(super) fn mentions_name(text: &str, name: &str) -> bool {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    text.match_indices(name).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + name.len()..].chars().next();
        !before.is_some_and(word) && !after.is_some_and(word)
    })
}

/// Whether `e` is a C expression without statements before it.
fn inline(e: &Expr) -> bool {
    match e {
        Expr::Input(_) | Expr::Bound(_) | Expr::Const(_) => true,
        Expr::Apply(op, args) => match op {
            ListOp::Add
            | ListOp::Subtract
            | ListOp::Multiply
            | ListOp::IntDivide
            | ListOp::Modulo
            | ListOp::Quot
            | ListOp::Rem
            | ListOp::Min
            | ListOp::Max
            | ListOp::Greater
            | ListOp::Less
            | ListOp::Equal
            | ListOp::IsEven
            | ListOp::IsOdd
            | ListOp::If => args.iter().all(inline),
            ListOp::Square => matches!(args[0], Expr::Input(_) | Expr::Bound(_) | Expr::Const(_)),
            ListOp::Length => matches!(args[0], Expr::Input(_)),
            _ => false,
        },
    }
}

impl CWriter<'_> {
    fn line(&mut self, text: &str) {
        let depth = self.blocks.len();
        self.lines.push(Line { text: format!("{}{text}", "    ".repeat(depth)), declares: None });
    }

    /// A line that declares `name`, dropped if nothing reads it.
    fn declare(&mut self, text: &str, name: &str) {
        self.line(text);
        if let Some(l) = self.lines.last_mut() {
            l.declares = Some(name.to_string());
        }
    }

    /// A name not declared in any enclosing block: `base`, else `base2`, `base3`...
    fn fresh(&mut self, base: &str) -> String {
        let taken = |n: &str| self.blocks.iter().any(|b| b.names.iter().any(|x| x == n)) || C_KEYWORDS.contains(&n);
        let mut name = base.to_string();
        let mut k = 2;
        while taken(&name) {
            name = format!("{base}{k}");
            k += 1;
        }
        if let Some(b) = self.blocks.last_mut() {
            b.names.push(name.clone());
        }
        name
    }

    fn helper(&mut self, name: &'static str) -> &'static str {
        if !self.helpers.contains(&name) {
            self.helpers.push(name);
        }
        name
    }

    /// Opens `header {`; a new block.
    fn open(&mut self, header: &str) {
        self.line(&format!("{header} {{"));
        self.blocks.push(Block::default());
    }

    /// Frees the block's lists and closes it.
    fn close(&mut self) {
        self.close_with("}");
    }

    /// Frees the block's lists and closes it with `closing` (`}` or `} else {`).
    fn close_with(&mut self, closing: &str) {
        let frees = self.blocks.last().map(|b| b.frees.clone()).unwrap_or_default();
        for f in frees.iter().rev() {
            self.line(&format!("free({f});"));
        }
        self.blocks.pop();
        self.line(closing);
    }

    /// Opens `for (int64_t i = from; COND; i++) {`, `cond` given the index's name, and
    /// returns that name.
    fn open_loop(&mut self, from: usize, cond: impl Fn(&str) -> String) -> String {
        self.blocks.push(Block::default());
        let i = self.fresh("i");
        self.blocks.pop();
        self.open(&format!("for (int64_t {i} = {from}; {}; {i}++)", cond(&i)));
        if let Some(b) = self.blocks.last_mut() {
            b.names.push(i.clone());
        }
        i
    }

    /// Opens `for (int64_t i = from; i < len; i++) {` and returns the index's name.
    fn open_for(&mut self, from: usize, len: &str) -> String {
        self.open_loop(from, |i| format!("{i} < {len}"))
    }

    /// A new list of `len` elements, freed when the current block ends.
    fn new_list(&mut self, base: &str, len: &str) -> String {
        let name = self.fresh(base);
        let h = self.helper("new_list");
        self.line(&format!("int64_t *{name} = {h}({len});"));
        if let Some(b) = self.blocks.last_mut() {
            b.frees.push(name.clone());
        }
        name
    }

    /// Where an element-wise operator writes: the result buffer when the writer was told
    /// it may ([`CWriter::direct`]), else a new list; and the buffer's length when the
    /// loop must also stop there.
    fn target(&mut self, direct: Option<(String, String)>, base: &str, len: &str) -> (String, Option<String>) {
        match direct {
            Some((into, cap)) => {
                let cap = (cap != len).then_some(cap);
                (into, cap)
            }
            None => (self.new_list(base, len), None),
        }
    }

    /// [`CWriter::open_for`], also stopping at `cap` when there is one.
    fn open_bounded(&mut self, from: usize, len: &str, cap: Option<&String>) -> String {
        match cap {
            Some(c) => self.open_loop(from, |i| format!("{i} < {len} && {i} < {c}")),
            None => self.open_for(from, len),
        }
    }

    /// How many elements a loop over all of `lists` at once takes: their common length,
    /// or the shorter one's.
    fn common_len(&mut self, lists: &[View]) -> String {
        match lists {
            [a, b] if a.len != b.len => {
                let len = self.fresh("zipped_len");
                let h = self.helper("min_i64");
                self.line(&format!("int64_t {len} = {h}({}, {});", a.len, b.len));
                len
            }
            _ => lists.first().map_or_else(|| "0".to_string(), |v| v.len.clone()),
        }
    }

    /// Declares a lambda's arguments in the current block, bound to `values`.
    fn bind(&mut self, values: &[String]) {
        let bases = [["x", "y"], ["v", "w"], ["p", "q"], ["s", "t"]];
        let base = bases[self.bound.len().min(bases.len() - 1)];
        let mut names = [String::new(), String::new()];
        for (k, v) in values.iter().enumerate() {
            names[k] = self.fresh(base[k]);
            self.declare(&format!("int64_t {} = {v};", names[k]), &names[k]);
        }
        self.bound.push(names);
    }

    fn scalar(&mut self, e: &Expr) -> String {
        match self.value(e) {
            CValue::Scalar(s) => s,
            CValue::List(v) => v.ptr,
        }
    }

    fn list(&mut self, e: &Expr) -> View {
        match self.value(e) {
            CValue::List(v) => v,
            CValue::Scalar(s) => View::built(s, "0".into()),
        }
    }

    /// A scalar that will be used more than once: a name, hoisted when it is not one.
    fn named(&mut self, e: &Expr, base: &str) -> String {
        let s = self.scalar(e);
        if matches!(e, Expr::Input(_) | Expr::Bound(_) | Expr::Const(_)) {
            return s;
        }
        let name = self.fresh(base);
        self.line(&format!("int64_t {name} = {};", strip_parens(&s)));
        name
    }

    fn value(&mut self, e: &Expr) -> CValue {
        match e {
            Expr::Input(i) => match &self.inputs[*i] {
                CValue::Scalar(s) => CValue::Scalar(s.clone()),
                CValue::List(v) => CValue::List(v.clone()),
            },
            Expr::Bound(b) => {
                CValue::Scalar(self.bound.last().map_or("?".into(), |n| n[usize::from(*b).min(1)].clone()))
            }
            Expr::Const(c) => CValue::Scalar(literal(*c)),
            Expr::Apply(op, args) => self.apply(*op, args),
        }
    }

    #[allow(clippy::too_many_lines)]
    fn apply(&mut self, op: ListOp, args: &[Expr]) -> CValue {
        if !matches!(op, ListOp::Map | ListOp::ZipWith | ListOp::Scanl1) {
            self.direct = None;
        }
        let binary = |w: &mut Self, sym: &str| {
            let (a, b) = (w.scalar(&args[0]), w.scalar(&args[1]));
            CValue::Scalar(format!("({a} {sym} {b})"))
        };
        let call = |w: &mut Self, h: &'static str| {
            let (a, b) = (w.scalar(&args[0]), w.scalar(&args[1]));
            let h = w.helper(h);
            CValue::Scalar(format!("{h}({}, {})", strip_parens(&a), strip_parens(&b)))
        };
        match op {
            ListOp::Add => binary(self, "+"),
            ListOp::Subtract => binary(self, "-"),
            ListOp::Multiply => binary(self, "*"),
            ListOp::Greater => binary(self, ">"),
            ListOp::Less => binary(self, "<"),
            ListOp::Equal => binary(self, "=="),
            ListOp::IntDivide => call(self, "floor_div"),
            ListOp::Modulo => call(self, "floor_mod"),
            // C's own `/` and `%` truncate; by a divisor that may be 0 or -1, through a
            // helper that stops where C has no value.
            ListOp::Quot | ListOp::Rem => match (plain_divisor(&args[1]), op == ListOp::Quot) {
                (true, true) => binary(self, "/"),
                (true, false) => binary(self, "%"),
                (false, true) => call(self, "trunc_div"),
                (false, false) => call(self, "trunc_mod"),
            },
            ListOp::Min => call(self, "min_i64"),
            ListOp::Max => call(self, "max_i64"),
            ListOp::Square => {
                let a = self.named(&args[0], "base");
                CValue::Scalar(format!("({a} * {a})"))
            }
            ListOp::IsEven => CValue::Scalar(format!("({} % 2 == 0)", self.scalar(&args[0]))),
            ListOp::IsOdd => CValue::Scalar(format!("({} % 2 != 0)", self.scalar(&args[0]))),
            ListOp::If => {
                let c = self.scalar(&args[0]);
                if inline(&args[1]) && inline(&args[2]) {
                    let (a, b) = (self.scalar(&args[1]), self.scalar(&args[2]));
                    return CValue::Scalar(format!("({} ? {a} : {b})", strip_parens(&c)));
                }
                let v = self.fresh("value");
                self.line(&format!("int64_t {v};"));
                self.open(&format!("if ({})", strip_parens(&c)));
                let a = self.scalar(&args[1]);
                self.line(&format!("{v} = {};", strip_parens(&a)));
                self.close_with("} else {");
                self.blocks.push(Block::default());
                let b = self.scalar(&args[2]);
                self.line(&format!("{v} = {};", strip_parens(&b)));
                self.close();
                CValue::Scalar(v)
            }
            ListOp::Head | ListOp::Last => {
                let xs = self.list(&args[0]);
                self.line(&format!("assert({} > 0);", xs.len));
                let at = if op == ListOp::Head { "0".to_string() } else { format!("{} - 1", xs.len) };
                CValue::Scalar(xs.at(&at))
            }
            ListOp::Access => {
                let n = self.scalar(&args[0]);
                let xs = self.list(&args[1]);
                let h = self.helper("index_from_end");
                let k = self.fresh("index");
                self.line(&format!("int64_t {k} = {h}({}, {});", strip_parens(&n), xs.len));
                self.line(&format!("assert(0 <= {k} && {k} < {});", xs.len));
                CValue::Scalar(xs.at(&k))
            }
            ListOp::Length => CValue::Scalar(self.list(&args[0]).len),
            ListOp::Sum | ListOp::Product => {
                let (base, init, sym) = if op == ListOp::Sum { ("total", 0, "+=") } else { ("product", 1, "*=") };
                // A fold of a map is one loop: `total += x * y;` with no list between.
                if let Expr::Apply(ListOp::Map | ListOp::ZipWith, inner) = &args[0] {
                    let lists: Vec<View> = inner[1..].iter().map(|a| self.list(a)).collect();
                    let len = self.common_len(&lists);
                    let acc = self.fresh(base);
                    self.line(&format!("int64_t {acc} = {init};"));
                    let i = self.open_for(0, &len);
                    self.bind(&lists.iter().map(|v| v.at(&i)).collect::<Vec<_>>());
                    let body = self.scalar(&inner[0]);
                    self.line(&format!("{acc} {sym} {};", strip_parens(&body)));
                    self.bound.pop();
                    self.close();
                    return CValue::Scalar(acc);
                }
                let xs = self.list(&args[0]);
                let acc = self.fresh(base);
                self.line(&format!("int64_t {acc} = {init};"));
                let i = self.open_for(0, &xs.len);
                self.line(&format!("{acc} {sym} {};", xs.at(&i)));
                self.close();
                CValue::Scalar(acc)
            }
            ListOp::Minimum | ListOp::Maximum => {
                let xs = self.list(&args[0]);
                let (base, cmp) = if op == ListOp::Minimum { ("smallest", "<") } else { ("largest", ">") };
                self.line(&format!("assert({} > 0);", xs.len));
                let acc = self.fresh(base);
                self.line(&format!("int64_t {acc} = {};", xs.at("0")));
                let i = self.open_for(1, &xs.len);
                self.open(&format!("if ({} {cmp} {acc})", xs.at(&i)));
                self.line(&format!("{acc} = {};", xs.at(&i)));
                self.close();
                self.close();
                CValue::Scalar(acc)
            }
            ListOp::Count => {
                let xs = self.list(&args[1]);
                let acc = self.fresh("count");
                self.line(&format!("int64_t {acc} = 0;"));
                let i = self.open_for(0, &xs.len);
                self.bind(&[xs.at(&i)]);
                let p = self.scalar(&args[0]);
                self.open(&format!("if ({})", strip_parens(&p)));
                self.line(&format!("{acc}++;"));
                self.close();
                self.bound.pop();
                self.close();
                CValue::Scalar(acc)
            }
            ListOp::Map => {
                let direct = self.direct.take();
                let xs = self.list(&args[1]);
                let (out, cap) = self.target(direct, "mapped", &xs.len);
                let i = self.open_bounded(0, &xs.len, cap.as_ref());
                self.bind(&[xs.at(&i)]);
                let body = self.scalar(&args[0]);
                self.line(&format!("{out}[{i}] = {};", strip_parens(&body)));
                self.bound.pop();
                self.close();
                CValue::List(View::built(out, xs.len))
            }
            ListOp::Filter => {
                let xs = self.list(&args[1]);
                let out = self.new_list("kept", &xs.len);
                let len = self.fresh(&format!("{out}_len"));
                self.line(&format!("int64_t {len} = 0;"));
                let i = self.open_for(0, &xs.len);
                self.bind(&[xs.at(&i)]);
                let x = self.bound.last().map(|b| b[0].clone()).unwrap_or_default();
                let p = self.scalar(&args[0]);
                self.open(&format!("if ({})", strip_parens(&p)));
                self.line(&format!("{out}[{len}++] = {x};"));
                self.close();
                self.bound.pop();
                self.close();
                CValue::List(View::built(out, len))
            }
            ListOp::ZipWith => {
                let direct = self.direct.take();
                let (xs, ys) = (self.list(&args[1]), self.list(&args[2]));
                let len = self.common_len(&[xs.clone(), ys.clone()]);
                let (out, cap) = self.target(direct, "zipped", &len);
                let i = self.open_bounded(0, &len, cap.as_ref());
                self.bind(&[xs.at(&i), ys.at(&i)]);
                let body = self.scalar(&args[0]);
                self.line(&format!("{out}[{i}] = {};", strip_parens(&body)));
                self.bound.pop();
                self.close();
                CValue::List(View::built(out, len))
            }
            ListOp::Scanl1 => {
                let direct = self.direct.take();
                let xs = self.list(&args[1]);
                let (out, cap) = self.target(direct, "scanned", &xs.len);
                let nonempty = match &cap {
                    Some(c) => format!("{} > 0 && {c} > 0", xs.len),
                    None => format!("{} > 0", xs.len),
                };
                self.open(&format!("if ({nonempty})"));
                self.line(&format!("{out}[0] = {};", xs.at("0")));
                self.close();
                let i = self.open_bounded(1, &xs.len, cap.as_ref());
                self.bind(&[format!("{out}[{i} - 1]"), xs.at(&i)]);
                let body = self.scalar(&args[0]);
                self.line(&format!("{out}[{i}] = {};", strip_parens(&body)));
                self.bound.pop();
                self.close();
                CValue::List(View::built(out, xs.len))
            }
            ListOp::Reverse | ListOp::Sort => {
                let xs = self.list(&args[0]);
                let reverse = op == ListOp::Reverse;
                let out = self.new_list(if reverse { "reversed" } else { "sorted" }, &xs.len);
                let i = self.open_for(0, &xs.len);
                let from = if reverse { format!("{} - 1 - {i}", xs.len) } else { i.clone() };
                self.line(&format!("{out}[{i}] = {};", xs.at(&from)));
                self.close();
                if !reverse {
                    let h = self.helper("compare_ints");
                    self.line(&format!("qsort({out}, (size_t){}, sizeof *{out}, {h});", xs.len));
                }
                CValue::List(View::built(out, xs.len))
            }
            ListOp::Take | ListOp::Drop => {
                let n = self.scalar(&args[0]);
                let xs = self.list(&args[1]);
                let h = self.helper("slice_bound");
                if op == ListOp::Take {
                    let len = self.fresh("taken");
                    self.declare(&format!("int64_t {len} = {h}({}, {});", strip_parens(&n), xs.len), &len);
                    return CValue::List(View { len, ..xs });
                }
                let skip = self.fresh("skipped");
                self.declare(&format!("int64_t {skip} = {h}({}, {});", strip_parens(&n), xs.len), &skip);
                let rest = self.fresh("rest");
                let len = self.fresh("rest_len");
                self.declare(&format!("const {} *{rest} = {} + {skip};", xs.elem, xs.ptr), &rest);
                self.declare(&format!("int64_t {len} = {} - {skip};", xs.len), &len);
                CValue::List(View { ptr: rest, len, ..xs })
            }
            ListOp::Replicate => {
                let n = self.scalar(&args[0]);
                let x = self.named(&args[1], "item");
                let len = self.fresh("repeated_len");
                let h = self.helper("max_i64");
                self.line(&format!("int64_t {len} = {h}({}, 0);", strip_parens(&n)));
                let out = self.new_list("repeated", &len);
                let i = self.open_for(0, &len);
                self.line(&format!("{out}[{i}] = {x};"));
                self.close();
                CValue::List(View::built(out, len))
            }
        }
    }
}

/// The result buffer and its length when the program's outermost operator may write
/// into it as it goes: an element-wise operator (`Map`, `ZipWith`, `Scanl1`) whose lambda
/// does not read the buffer (each element is read before it is written, and no later step
/// reads it again).
fn direct_target(problem: &ListProblem, program: &Expr, proto: &CPrototype) -> Option<(String, String)> {
    fn mentions(e: &Expr, input: usize) -> bool {
        match e {
            Expr::Input(i) => *i == input,
            Expr::Apply(_, args) => args.iter().any(|a| mentions(a, input)),
            _ => false,
        }
    }
    let into = proto.result_into.as_ref()?;
    let Expr::Apply(ListOp::Map | ListOp::ZipWith | ListOp::Scanl1, args) = program else { return None };
    if let Some(k) = problem.params.iter().position(|(n, _)| n == into) {
        if mentions(&args[0], k) {
            return None;
        }
    }
    let cap = proto.len_expr(proto.param(into)?.len.as_deref()?);
    Some((into.clone(), cap))
}

/// Checks that `proto` can carry `problem`: every parameter is declared, every list has
/// a length, and the result has somewhere to go.
/// Checks that parameter `name` of `proto` is a pointer the function may write, with a length.
fn writable(proto: &CPrototype, name: &str) -> Result<(), ListEmitError> {
    match proto.param(name) {
        Some(p) if p.len.is_some() && p.ctype.contains('*') && !p.ctype.trim_start().starts_with("const ") => Ok(()),
        _ => Err(ListEmitError::Prototype(format!(
            "the result goes into `{name}`, which is not a writable pointer with a length"
        ))),
    }
}

fn check(problem: &ListProblem, proto: &CPrototype) -> Result<(), ListEmitError> {
    check_params(problem, proto)?;
    check_result(problem.output, proto)
}

/// Checks that `proto` declares every parameter of `problem`, each list with a length.
fn check_params(problem: &ListProblem, proto: &CPrototype) -> Result<(), ListEmitError> {
    let bad = |detail: String| Err(ListEmitError::Prototype(detail));
    for p in &proto.params {
        c_ident(&p.name)?;
        if let Some(len) = &p.len {
            if proto.param(len).is_none() {
                return bad(format!("`{}` is counted by `{len}`, which is not a parameter", p.name));
            }
        }
    }
    for (k, (name, ty)) in problem.params.iter().enumerate() {
        // An input that is a struct's field is declared as the struct.
        let (declared, array) = match problem.shape.as_ref().and_then(|s| s.source(k)) {
            Some((p, path)) if !path.is_empty() => (p.name.as_str(), matches!(p.kind, ShapedKind::Structs(_))),
            _ => (name.as_str(), *ty == LType::List),
        };
        let Some(p) = proto.param(declared) else {
            return bad(format!("the C prototype has no parameter `{declared}`"));
        };
        if array && p.len.is_none() {
            return bad(format!("`{declared}` is a list, but no parameter says how many elements it has"));
        }
    }
    Ok(())
}

/// Checks that `proto` can return a result of type `output` (a list into its buffer).
fn check_result(output: LType, proto: &CPrototype) -> Result<(), ListEmitError> {
    let bad = |detail: String| Err(ListEmitError::Prototype(detail));
    match (output, &proto.result_into) {
        (LType::List, None) => bad("a list result needs a buffer parameter to be written into".into()),
        (LType::List, Some(into)) => writable(proto, into),
        (_, Some(_)) => bad("a scalar result is returned, not written into a parameter".into()),
        (_, None) if proto.ret.trim() == "void" => bad("a `void` function cannot return the result".into()),
        _ => Ok(()),
    }
}

/// The program as one C translation unit defining `problem.name` with prototype `proto`.
///
/// # Errors
///
/// Names that are not C identifiers, and a prototype that cannot carry the problem's
/// parameters or result.
pub fn emit_list_c(problem: &ListProblem, program: &Expr, proto: &CPrototype) -> Result<String, ListEmitError> {
    let f = c_ident(&problem.name)?;
    check(problem, proto)?;
    let inputs = c_inputs(problem, proto);
    let mut w = CWriter::new(&inputs, proto, &f, direct_target(problem, program, proto));
    let result = w.value(program);
    let frees = w.blocks.last().map(|b| b.frees.clone()).unwrap_or_default();
    match (result, &proto.result_into) {
        (CValue::List(v), Some(into)) => {
            w.copy_into(&v, into, "", proto);
            for name in frees.iter().rev() {
                w.line(&format!("free({name});"));
            }
            if proto.returns_len {
                w.line(&format!("return {};", v.len));
            }
        }
        (CValue::Scalar(s), _) | (CValue::List(View { ptr: s, .. }), None) => {
            if frees.is_empty() {
                w.line(&format!("return {};", strip_parens(&s)));
            } else {
                let r = w.fresh("result");
                w.line(&format!("{} {r} = {};", proto.ret.trim(), strip_parens(&s)));
                for name in frees.iter().rev() {
                    w.line(&format!("free({name});"));
                }
                w.line(&format!("return {r};"));
            }
        }
    }
    Ok(w.finish(proto, &f))
}

/// Each input of `problem` as the C function reads it: a parameter, a struct's field
/// (`r->size.x`), or a field across an array of structs (`items[i].qty`).
fn c_inputs(problem: &ListProblem, proto: &CPrototype) -> Vec<CValue> {
    problem
        .params
        .iter()
        .enumerate()
        .map(|(k, (name, ty))| {
            match problem.shape.as_ref().and_then(|s| s.source(k)).filter(|(_, path)| !path.is_empty()) {
                // A struct's field: `r->size.x`, or `p.x` for one passed by value.
                // Widened, as the list language computes in 64 bits.
                Some((sp, path)) if matches!(sp.kind, ShapedKind::Struct(_)) => {
                    let arrow = if proto.by_value(&sp.name) { "." } else { "->" };
                    CValue::Scalar(format!("(int64_t){}{arrow}{}", sp.name, path.join(".")))
                }
                // A field across an array of structs: `items[i].qty`.
                Some((sp, path)) => {
                    let p = proto.param(&sp.name).expect("checked");
                    CValue::List(View {
                        ptr: sp.name.clone(),
                        len: proto.len_expr(p.len.as_deref().unwrap_or_default()),
                        elem: element_type(&p.ctype),
                        field: format!(".{}", path.join(".")),
                    })
                }
                None => {
                    let p = proto.param(name).expect("checked");
                    match ty {
                        LType::List => CValue::List(View {
                            ptr: name.clone(),
                            len: proto.len_expr(p.len.as_deref().unwrap_or_default()),
                            elem: element_type(&p.ctype),
                            field: String::new(),
                        }),
                        _ if narrow(&p.ctype) => CValue::Scalar(format!("(int64_t){name}")),
                        _ => CValue::Scalar(name.clone()),
                    }
                }
            }
        })
        .collect()
}

impl<'a> CWriter<'a> {
    /// A writer for the body of function `f` declared by `proto`, reading `inputs`.
    fn new(inputs: &'a [CValue], proto: &CPrototype, f: &str, direct: Option<(String, String)>) -> CWriter<'a> {
        let mut w =
            CWriter { lines: Vec::new(), blocks: Vec::new(), inputs, bound: Vec::new(), helpers: Vec::new(), direct };
        w.blocks.push(Block {
            names: proto.params.iter().map(|p| p.name.clone()).chain([f.to_string()]).collect(),
            frees: Vec::new(),
        });
        w
    }

    /// Writes list `v` into buffer parameter `into` (as many elements as both hold), or
    /// into field `field` (`.qty`) of each struct of the array `into`.
    fn copy_into(&mut self, v: &View, into: &str, field: &str, proto: &CPrototype) {
        if v.ptr == into && v.field == field {
            return;
        }
        let cap = proto.len_expr(proto.param(into).and_then(|p| p.len.as_deref()).unwrap_or_default());
        let cap = (cap != v.len).then_some(cap);
        let i = self.open_bounded(0, &v.len, cap.as_ref());
        self.line(&format!("{into}[{i}]{field} = {};", v.at(&i)));
        self.close();
    }

    /// The translation unit: includes, struct declarations, helpers, and the function.
    fn finish(mut self, proto: &CPrototype, f: &str) -> String {
        let w = &mut self;
        // Parameters of the original that the program does not read (the original's
        // prototype keeps them) are marked as such, which compilers understand.
        prune(&mut w.lines);
        let unused: Vec<String> = proto
            .params
            .iter()
            .filter(|p| !w.lines.iter().any(|l| mentions_name(&l.text, &p.name)))
            .map(|p| format!("    (void){};", p.name))
            .collect();
        let body = unused.into_iter().chain(w.lines.iter().map(|l| l.text.clone())).collect::<Vec<_>>().join("\n");
        // A helper whose only use was pruned is left out too.
        w.helpers.retain(|h| mentions_name(&body, h));
        let mut out = String::from("#include <stdint.h>\n");
        let text = format!("{body}\n{}", proto.declaration(f));
        if mentions_name(&text, "bool") {
            out.push_str("#include <stdbool.h>\n");
        }
        if mentions_name(&text, "size_t") || mentions_name(&text, "ptrdiff_t") {
            out.push_str("#include <stddef.h>\n");
        }
        if w.helpers.iter().any(|h| matches!(*h, "new_list" | "compare_ints")) {
            out.push_str("#include <stdlib.h>\n");
        }
        if body.contains("assert(")
            || w.helpers.iter().any(|h| matches!(*h, "floor_div" | "floor_mod" | "trunc_div" | "trunc_mod"))
        {
            out.push_str("#include <assert.h>\n");
        }
        out.push('\n');
        if !proto.declarations.is_empty() {
            out.push_str(&proto.declarations);
            out.push('\n');
        }
        for (name, text) in HELPERS {
            if w.helpers.contains(name) {
                out.push_str(text);
                out.push('\n');
            }
        }
        let _ = write!(out, "{} {{\n{body}\n}}\n", proto.declaration(f));
        out
    }
}

/// A designated initializer from field paths and values: `{.origin = {.x = 1}, .visible = 1}`.
fn designated(fields: &[(Vec<String>, String)]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut done: Vec<&str> = Vec::new();
    for (path, value) in fields {
        let Some(first) = path.first() else { continue };
        if done.contains(&first.as_str()) {
            continue;
        }
        done.push(first);
        if path.len() == 1 {
            parts.push(format!(".{first} = {value}"));
        } else {
            let inner: Vec<(Vec<String>, String)> = fields
                .iter()
                .filter(|(p, _)| p.first() == Some(first) && p.len() > 1)
                .map(|(p, v)| (p[1..].to_vec(), v.clone()))
                .collect();
            parts.push(format!(".{first} = {}", designated(&inner)));
        }
    }
    format!("{{{}}}", parts.join(", "))
}

/// A C array literal of `elem`s.
fn array_init(items: &[i64]) -> String {
    let items: Vec<String> = items.iter().map(|&v| bare_literal(v)).collect();
    format!("{{{}}}", items.join(", "))
}

/// The examples as a C test program for [`emit_list_c`]'s function: each example runs in
/// a child process (an `assert` that stops one example fails that example only), then
/// `passed P/T`.
///
/// # Errors
///
/// As [`emit_list_c`].
pub fn emit_list_c_tests(
    problem: &ListProblem,
    examples: &[(Vec<LValue>, LValue)],
    proto: &CPrototype,
) -> Result<String, ListEmitError> {
    let f = c_ident(&problem.name)?;
    check(problem, proto)?;
    let mut out = tests_header(proto, &f);
    for (k, (args, want)) in examples.iter().enumerate() {
        let _ = writeln!(out, "static int example_{}(void) {{", k + 1);
        let want_len = match want {
            LValue::List(l) => l.len(),
            _ => 0,
        };
        let call_args = c_call_args(problem, proto, args, want_len, &mut out);
        let call = format!("{f}({})", call_args.join(", "));
        match want {
            LValue::List(l) => {
                let into = proto.result_into.clone().unwrap_or_default();
                if proto.returns_len {
                    let _ = writeln!(out, "    if ({call} != {}) {{\n        return 0;\n    }}", l.len());
                } else {
                    let _ = writeln!(out, "    {call};");
                }
                check_buffer(&mut out, &into, "", l, "want");
                out.push_str("    return 1;\n}\n\n");
            }
            LValue::Int(v) => {
                let _ = writeln!(out, "    return {call} == {};\n}}\n", literal(*v));
            }
            LValue::Bool(b) => {
                let _ = writeln!(out, "    return {call} == {b};\n}}\n");
            }
        }
    }
    out.push_str(&tests_main(examples.len()));
    Ok(out)
}

/// The test program's includes and the declarations of the function under test.
fn tests_header(proto: &CPrototype, f: &str) -> String {
    let mut out = String::from(
        "#define _POSIX_C_SOURCE 200809L\n#include <stdbool.h>\n#include <stdint.h>\n#include <stdio.h>\n\
         #include <sys/types.h>\n#include <sys/wait.h>\n#include <unistd.h>\n\n",
    );
    out.push_str(&proto.declarations);
    let _ = writeln!(out, "{};\n", proto.declaration(f));
    out
}

/// The test program's `main`: each of `examples` examples in a child process, then
/// `passed P/T`.
fn tests_main(examples: usize) -> String {
    let mut out = String::new();
    let list: Vec<String> = (1..=examples).map(|k| format!("example_{k}")).collect();
    let _ = write!(
        out,
        "int main(void) {{\n    int (*const examples[])(void) = {{{}}};\n    int total = {}, passed = 0;\n    \
         for (int k = 0; k < total; k++) {{\n        fflush(stdout);\n        pid_t child = fork();\n        \
         if (child == 0) {{\n            _exit(examples[k]() ? 0 : 1);\n        }}\n        int status = 0;\n        \
         if (child > 0 && waitpid(child, &status, 0) == child && WIFEXITED(status) && WEXITSTATUS(status) == 0) {{\n            \
         passed++;\n        }} else {{\n            printf(\"FAILED example_%d\\n\", k + 1);\n        }}\n    }}\n    \
         printf(\"passed %d/%d\\n\", passed, total);\n    return passed == total ? 0 : 1;\n}}\n",
        if list.is_empty() { "0".to_string() } else { list.join(", ") },
        examples
    );
    out
}

/// Checks, into `out`, that buffer `buf` starts with `want` (`tag` names the array); with
/// a `field` (`.qty`), that field of each struct of the array `buf`.
fn check_buffer(out: &mut String, buf: &str, field: &str, want: &[i64], tag: &str) {
    if want.is_empty() {
        return;
    }
    let _ = writeln!(out, "    const int64_t {tag}[] = {};", array_init(want));
    let _ = writeln!(
        out,
        "    for (int i = 0; i < {}; i++) {{\n        if ({buf}[i]{field} != {tag}[i]) {{\n            return 0;\n        }}\n    }}",
        want.len()
    );
}

impl CPrototype {
    /// [`CPrototype::default_for`] of a function with several outputs: the value returned
    /// as [`CPrototype::default_for`] returns it, a struct built from fields as that struct
    /// (declared with `int64_t` fields), `void` without one; each buffer an output is
    /// written into as `int64_t *xs, int64_t xs_len`, each struct written through as a
    /// pointer that is not `const`.
    #[must_use]
    pub fn default_for_outputs(parts: &[ListProblem]) -> CPrototype {
        let ret = parts.iter().find(|p| matches!(dest(p), Dest::Return | Dest::ReturnField(_)));
        let Some(base) = ret.or(parts.first()) else {
            return CPrototype {
                ret: "void".into(),
                params: Vec::new(),
                result_into: None,
                returns_len: false,
                declarations: String::new(),
            };
        };
        let mut proto = CPrototype::default_for(base);
        if ret.is_none() && (parts.len() > 1 || base.result_field.is_some()) {
            // Nothing returned: no buffer for a list returned either.
            if let Some(out) =
                proto.result_into.take().filter(|_| base.output == LType::List && base.result_in.is_none())
            {
                let len = proto.param(&out).and_then(|p| p.len.clone());
                proto.params.retain(|p| p.name != out && Some(&p.name) != len.as_ref());
            }
            proto.ret = "void".into();
            proto.returns_len = false;
        }
        for p in parts {
            match dest(p) {
                Dest::Buffer(k) => {
                    let name = &p.params[k].0;
                    if let Some(c) = proto.params.iter_mut().find(|c| c.name == *name) {
                        c.ctype = "int64_t *".into();
                    }
                }
                Dest::ParamField(f) | Dest::ParamColumn(f) => {
                    if let Some(c) = proto.params.iter_mut().find(|c| c.name == f.output) {
                        c.ctype = c.ctype.trim_start().trim_start_matches("const ").to_string();
                    }
                }
                Dest::ReturnField(f) => {
                    proto.ret.clone_from(&f.shape.ty);
                    let mut declared = Vec::new();
                    declare_shape(&f.shape, &mut declared);
                    for (ty, text) in declared {
                        if !proto.declarations.contains(&format!("{ty} {{")) {
                            proto.declarations.push_str(&text);
                            proto.declarations.push('\n');
                        }
                    }
                }
                Dest::Return | Dest::ReturnColumn(_) => {}
            }
        }
        proto
    }
}

/// Checks that `proto` can carry a function with the outputs `parts`.
fn check_outputs(parts: &[ListProblem], proto: &CPrototype) -> Result<(), ListEmitError> {
    check_parts(parts)?;
    check_params(&parts[0], proto)?;
    let bad = |why: String| Err(ListEmitError::Prototype(why));
    for p in parts {
        match dest(p) {
            Dest::Buffer(k) => writable(proto, &p.params[k].0)?,
            Dest::Return => check_result(p.output, proto)?,
            Dest::ReturnField(_) if proto.ret.trim() == "void" => {
                return bad("a `void` function cannot return a struct".into())
            }
            Dest::ParamField(f) | Dest::ParamColumn(f) => match proto.param(&f.output) {
                Some(c) if c.ctype.contains('*') && !c.ctype.trim_start().starts_with("const ") => {}
                _ => return bad(format!("`{}` is written through, so it is a pointer that is not `const`", f.output)),
            },
            Dest::ReturnField(_) => {}
            Dest::ReturnColumn(_) => {
                return bad("C returns no array: an array of structs returned is written in Python and Rust; \
                            for C, declare it written into a parameter (`\"outputs\": {\"items\": \"list[item]\"}`)"
                    .into())
            }
        }
    }
    if parts.iter().all(|p| matches!(dest(p), Dest::Buffer(_) | Dest::ParamField(_) | Dest::ParamColumn(_)))
        && proto.ret.trim() != "void"
    {
        return bad(format!("the function returns `{}`, but no output is its return value", proto.ret.trim()));
    }
    Ok(())
}

/// The programs of a function with several outputs (see [`super::outputs`]) as one C
/// translation unit with prototype `proto`: every output that reads what another writes
/// computed first, then each buffer and struct field written, then the value (or the
/// struct built from its fields) returned. One output that is not a struct's field is
/// [`emit_list_c`]'s function (then `proto` says where its result goes).
///
/// # Errors
///
/// As [`emit_list_c`], and outputs that are not of one function.
pub fn emit_outputs_c(parts: &[(ListProblem, Expr)], proto: &CPrototype) -> Result<String, ListEmitError> {
    if let [(problem, program)] = parts {
        if !needs_outputs_path(problem) {
            return emit_list_c(problem, program, proto);
        }
    }
    let problems: Vec<ListProblem> = parts.iter().map(|(p, _)| p.clone()).collect();
    check_outputs(&problems, proto)?;
    let first = &problems[0];
    let f = c_ident(&first.name)?;
    let inputs = c_inputs(first, proto);
    let mut w = CWriter::new(&inputs, proto, &f, None);
    let mut values = Vec::new();
    for (j, (p, e)) in parts.iter().enumerate() {
        // A field left as it was is not written, so not computed.
        if unchanged(p, e) {
            values.push(CValue::Scalar(String::new()));
            continue;
        }
        let value = w.value(e);
        w.direct = None;
        let built = |w: &CWriter<'_>, ptr: &str| w.blocks.last().is_some_and(|b| b.frees.iter().any(|f| f == ptr));
        values.push(match value {
            // A literal or a variable (a parameter passed by value, or a value computed
            // above) cannot change with the writes; anything else is read now.
            CValue::Scalar(s) if s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') => CValue::Scalar(s),
            // A field written through its pointer is written before the lists are freed,
            // and after nothing it reads has changed unless it is read early.
            CValue::Scalar(s) if matches!(dest(p), Dest::ParamField(_)) && !early(parts, j) => CValue::Scalar(s),
            CValue::Scalar(s) => {
                let base = match dest(p) {
                    Dest::ReturnField(fl) | Dest::ParamField(fl) => fl.path.join("_"),
                    _ => "result".into(),
                };
                let r = w.fresh(&base);
                let ty = if matches!(dest(p), Dest::Return) { proto.ret.trim() } else { "int64_t" };
                w.line(&format!("{ty} {r} = {};", strip_parens(&s)));
                CValue::Scalar(r)
            }
            // Part of a buffer another output writes: copied before that write.
            CValue::List(v) if early(parts, j) && !built(&w, &v.ptr) => {
                let copy = w.new_list("before", &v.len);
                let i = w.open_for(0, &v.len);
                w.line(&format!("{copy}[{i}] = {};", v.at(&i)));
                w.close();
                CValue::List(View::built(copy, v.len))
            }
            list @ CValue::List(_) => list,
        });
    }
    let mut returned = None;
    let mut fields: Vec<(Vec<String>, String)> = Vec::new();
    for ((p, e), value) in parts.iter().zip(values) {
        match (dest(p), value) {
            (Dest::Buffer(k), CValue::List(v)) => w.copy_into(&v, &p.params[k].0, "", proto),
            (Dest::ParamColumn(_), _) if unchanged(p, e) => {}
            (Dest::ParamColumn(fl), CValue::List(v)) => {
                w.copy_into(&v, &fl.output, &format!(".{}", fl.path.join(".")), proto);
            }
            (Dest::ParamField(_), _) if unchanged(p, e) => {}
            (Dest::Return, CValue::List(v)) => {
                let into = proto.result_into.clone().unwrap_or_default();
                w.copy_into(&v, &into, "", proto);
                returned = proto.returns_len.then_some(v.len);
            }
            (Dest::ParamField(fl), CValue::Scalar(s)) => {
                w.line(&format!("{}->{} = {};", fl.output, fl.path.join("."), strip_parens(&s)));
            }
            (Dest::ReturnField(fl), CValue::Scalar(s)) => fields.push((fl.path.clone(), strip_parens(&s).to_string())),
            (_, CValue::Scalar(s)) => returned = Some(s),
            (_, CValue::List(v)) => returned = Some(v.ptr),
        }
    }
    if !fields.is_empty() {
        returned = Some(format!("({}){}", proto.ret.trim(), designated(&fields)));
    }
    let frees = w.blocks.last().map(|b| b.frees.clone()).unwrap_or_default();
    for name in frees.iter().rev() {
        w.line(&format!("free({name});"));
    }
    if let Some(r) = returned {
        w.line(&format!("return {};", strip_parens(&r)));
    }
    Ok(w.finish(proto, &f))
}

/// The examples of a function with several outputs (see [`super::outputs::joint_examples`])
/// as a C test program for [`emit_outputs_c`]'s function: the value returned (each field
/// of a struct) and every buffer and struct written checked after each call.
///
/// # Errors
///
/// As [`emit_outputs_c`].
pub fn emit_outputs_c_tests(
    parts: &[ListProblem],
    examples: &[super::outputs::JointExample],
    proto: &CPrototype,
) -> Result<String, ListEmitError> {
    if let [problem] = parts {
        if !needs_outputs_path(problem) {
            return emit_list_c_tests(problem, &super::outputs::single_output(examples), proto);
        }
    }
    check_outputs(parts, proto)?;
    let first = &parts[0];
    let f = c_ident(&first.name)?;
    let mut out = tests_header(proto, &f);
    let ret = parts.iter().position(|p| matches!(dest(p), Dest::Return));
    let builds = parts.iter().any(|p| matches!(dest(p), Dest::ReturnField(_)));
    let mut got = "got".to_string();
    while proto.params.iter().any(|p| p.name == got) {
        got.push('_');
    }
    for (k, (args, wants)) in examples.iter().enumerate() {
        let _ = writeln!(out, "static int example_{}(void) {{", k + 1);
        let want = ret.and_then(|j| wants.get(j));
        let want_len = match want {
            Some(LValue::List(l)) => l.len(),
            _ => 0,
        };
        let call_args = c_call_args(first, proto, args, want_len, &mut out);
        let call = format!("{f}({})", call_args.join(", "));
        match want {
            Some(LValue::List(l)) if proto.returns_len => {
                let _ = writeln!(out, "    if ({call} != {}) {{\n        return 0;\n    }}", l.len());
            }
            Some(LValue::Int(v)) => {
                let _ = writeln!(out, "    if ({call} != {}) {{\n        return 0;\n    }}", literal(*v));
            }
            Some(LValue::Bool(b)) => {
                let _ = writeln!(out, "    if ({call} != {b}) {{\n        return 0;\n    }}");
            }
            _ if builds => {
                let _ = writeln!(out, "    {} {got} = {call};", proto.ret.trim());
            }
            _ => {
                let _ = writeln!(out, "    {call};");
            }
        }
        for (j, (p, want)) in parts.iter().zip(wants).enumerate() {
            let place = match dest(p) {
                Dest::ReturnField(fl) => format!("{got}.{}", fl.path.join(".")),
                Dest::ParamField(fl) => format!("{}.{}", fl.output, fl.path.join(".")),
                Dest::ParamColumn(fl) => {
                    if let LValue::List(l) = want {
                        let field = format!(".{}", fl.path.join("."));
                        check_buffer(&mut out, &fl.output, &field, l, &format!("want{}", j + 1));
                    }
                    continue;
                }
                Dest::Buffer(i) => {
                    if let LValue::List(l) = want {
                        check_buffer(&mut out, &p.params[i].0, "", l, &format!("want{}", j + 1));
                    }
                    continue;
                }
                Dest::ReturnColumn(_) => continue,
                Dest::Return => {
                    if let LValue::List(l) = want {
                        let into = proto.result_into.clone().unwrap_or_default();
                        check_buffer(&mut out, &into, "", l, &format!("want{}", j + 1));
                    }
                    continue;
                }
            };
            if let LValue::Int(v) = want {
                let _ = writeln!(out, "    if ({place} != {}) {{\n        return 0;\n    }}", literal(*v));
            }
        }
        out.push_str("    return 1;\n}\n\n");
    }
    out.push_str(&tests_main(examples.len()));
    Ok(out)
}

/// Declares, into `out`, the arrays and structs an example's call passes (each buffer with
/// its value before the call; a result buffer of `want_len` zeros), and returns the call's
/// arguments.
fn c_call_args(
    problem: &ListProblem,
    proto: &CPrototype,
    args: &[LValue],
    want_len: usize,
    out: &mut String,
) -> Vec<String> {
    let value_of = |name: &str| problem.params.iter().position(|(n, _)| n == name).map(|i| &args[i]);
    let structs_len = |name: &str| {
        let sp = problem.shape.as_ref()?.params.iter().find(|p| p.name == name)?;
        let ShapedKind::Structs(st) = &sp.kind else { return None };
        match &args[st.fields.first()?.1] {
            LValue::List(l) => Some(l.len()),
            _ => None,
        }
    };
    let mut call_args = Vec::new();
    for p in &proto.params {
        let counted = proto.params.iter().find(|q| q.len.as_deref() == Some(p.name.as_str()));
        // A struct, or an array of them, built from the inputs that are its fields.
        let shaped = problem.shape.as_ref().and_then(|s| s.params.iter().find(|sp| sp.name == p.name));
        if let Some(ShapedKind::Struct(st) | ShapedKind::Structs(st)) = shaped.map(|sp| &sp.kind) {
            let elem = element_type(&p.ctype);
            let field = |path: &Vec<String>, input: usize, at: Option<usize>| {
                let v = match (&args[input], at) {
                    (LValue::List(l), Some(k)) => l.get(k).copied().unwrap_or(0),
                    (LValue::Int(v), None) => *v,
                    (LValue::Bool(b), None) => i64::from(*b),
                    _ => 0,
                };
                (path.clone(), bare_literal(v))
            };
            if matches!(shaped.map(|sp| &sp.kind), Some(ShapedKind::Struct(_))) {
                let values: Vec<(Vec<String>, String)> =
                    st.fields.iter().map(|(path, i)| field(path, *i, None)).collect();
                let _ = writeln!(out, "    {elem} {} = {};", p.name, designated(&values));
                call_args.push(if proto.by_value(&p.name) { p.name.clone() } else { format!("&{}", p.name) });
            } else {
                let n = st.fields.first().and_then(|(_, i)| match &args[*i] {
                    LValue::List(l) => Some(l.len()),
                    _ => None,
                });
                let items: Vec<String> = (0..n.unwrap_or(0))
                    .map(|k| {
                        designated(&st.fields.iter().map(|(path, i)| field(path, *i, Some(k))).collect::<Vec<_>>())
                    })
                    .collect();
                let init = if items.is_empty() { "{{0}}".to_string() } else { format!("{{{}}}", items.join(", ")) };
                let size = if items.is_empty() { "1" } else { "" };
                let _ = writeln!(out, "    {elem} {}[{size}] = {init};", p.name);
                call_args.push(p.name.clone());
            }
            continue;
        }
        let arg = match value_of(&p.name) {
            Some(LValue::List(l)) => {
                let elem = element_type(&p.ctype);
                let size = if l.is_empty() { "1".into() } else { String::new() };
                let init = if l.is_empty() { "{0}".into() } else { array_init(l) };
                let _ = writeln!(out, "    {elem} {}[{size}] = {init};", p.name);
                p.name.clone()
            }
            Some(LValue::Int(v)) => literal(*v),
            Some(LValue::Bool(b)) => b.to_string(),
            None if proto.result_into.as_deref() == Some(p.name.as_str()) => {
                let _ = writeln!(out, "    {} {}[{}] = {{0}};", element_type(&p.ctype), p.name, want_len.max(1));
                p.name.clone()
            }
            None => match counted.and_then(|q| value_of(&q.name)) {
                Some(LValue::List(l)) => l.len().to_string(),
                // The length of an array of structs: of any of its fields' columns.
                None if counted.is_some_and(|q| structs_len(&q.name).is_some()) => {
                    counted.and_then(|q| structs_len(&q.name)).unwrap_or(0).to_string()
                }
                _ if counted.is_some_and(|q| proto.result_into.as_deref() == Some(q.name.as_str())) => {
                    want_len.to_string()
                }
                _ => "0".into(),
            },
        };
        call_args.push(arg);
    }
    call_args
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lists::program::Expr::{Apply, Bound, Const, Input};
    use crate::lists::run;

    fn problem(params: &[(&str, LType)], output: LType) -> ListProblem {
        ListProblem {
            name: "f".into(),
            params: params.iter().map(|(n, t)| ((*n).to_string(), *t)).collect(),
            output,
            result_in: None,
            description: None,
            shape: None,
            result_field: None,
            examples: Vec::new(),
        }
    }

    fn list(v: &[i64]) -> LValue {
        LValue::List(v.to_vec().into())
    }

    /// Compiles the function and its tests with gcc and returns the test program's output.
    fn compile_and_test(code: &str, tests: &str) -> String {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("f.c"), code).unwrap();
        std::fs::write(dir.path().join("t.c"), tests).unwrap();
        let cc = std::process::Command::new("gcc")
            .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "f.c", "t.c", "-o", "t"])
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(cc.status.success(), "{}\n{code}\n{tests}", String::from_utf8_lossy(&cc.stderr));
        let run = std::process::Command::new(dir.path().join("t")).output().unwrap();
        String::from_utf8_lossy(&run.stdout).into_owned()
    }

    #[test]
    fn a_filtered_map_is_two_loops_that_compile_and_pass_their_examples() {
        if !test_support::ci::require_tool("a_filtered_map_is_two_loops", "gcc") {
            return;
        }
        let p = problem(&[("xs", LType::List)], LType::List);
        let doubled_evens = Apply(
            ListOp::Map,
            vec![
                Apply(ListOp::Multiply, vec![Bound(0), Const(2)]),
                Apply(ListOp::Filter, vec![Apply(ListOp::IsEven, vec![Bound(0)]), Input(0)]),
            ],
        );
        let code = emit_list_c(&p, &doubled_evens, &CPrototype::default_for(&p)).unwrap();
        assert!(
            code.contains("int64_t f(const int64_t *xs, int64_t xs_len, int64_t *out, int64_t out_len) {"),
            "{code}"
        );
        assert!(code.contains("if (x % 2 == 0) {"), "{code}");
        assert!(code.contains("out[i] = x * 2;"), "{code}");
        let examples: Vec<(Vec<LValue>, LValue)> = [vec![1, 2, 3, 4], vec![], vec![-2, 7], vec![6_000_000_000, -4]]
            .iter()
            .map(|xs| {
                let args = vec![list(xs)];
                let want = run(&doubled_evens, &args).unwrap();
                (args, want)
            })
            .collect();
        let tests = emit_list_c_tests(&p, &examples, &CPrototype::default_for(&p)).unwrap();
        assert!(compile_and_test(&code, &tests).contains("passed 4/4"));
    }

    #[test]
    fn the_original_prototype_is_kept_and_an_in_place_result_is_written_back() {
        if !test_support::ci::require_tool("the_original_prototype_is_kept", "gcc") {
            return;
        }
        // void scale(int *a, int n, int k): the memory it leaves is its result.
        let p = problem(&[("a", LType::List), ("n", LType::Int), ("k", LType::Int)], LType::List);
        let proto = CPrototype {
            ret: "void".into(),
            params: vec![
                CParam { name: "a".into(), ctype: "int *".into(), len: Some("n".into()) },
                CParam { name: "n".into(), ctype: "int".into(), len: None },
                CParam { name: "k".into(), ctype: "int".into(), len: None },
            ],
            result_into: Some("a".into()),
            returns_len: false,
            declarations: String::new(),
        };
        let scale = Apply(ListOp::Map, vec![Apply(ListOp::Multiply, vec![Bound(0), Input(2)]), Input(0)]);
        let code = emit_list_c(&p, &scale, &proto).unwrap();
        assert!(code.contains("void f(int *a, int n, int k) {"), "{code}");
        assert!(
            code.contains(
                "    for (int64_t i = 0; i < n; i++) {\n        int64_t x = a[i];\n        a[i] = x * (int64_t)k;\n    }\n}"
            ),
            "{code}"
        );
        assert!(!code.contains("malloc"), "{code}");
        let examples = vec![
            (vec![list(&[1, 2, 3]), LValue::Int(3), LValue::Int(2)], list(&[2, 4, 6])),
            (vec![list(&[-5]), LValue::Int(1), LValue::Int(-3)], list(&[15])),
        ];
        let tests = emit_list_c_tests(&p, &examples, &proto).unwrap();
        assert!(compile_and_test(&code, &tests).contains("passed 2/2"));

        // A prototype that cannot hold the result is refused, not guessed at.
        let mut no_buffer = proto.clone();
        no_buffer.result_into = None;
        let err = emit_list_c(&p, &scale, &no_buffer).unwrap_err();
        assert!(err.to_string().contains("buffer"), "{err}");
    }

    #[test]
    fn default_names_never_collide() {
        let p = problem(&[("out", LType::List), ("out_len", LType::Int)], LType::List);
        let proto = CPrototype::default_for(&p);
        let names: Vec<&str> = proto.params.iter().map(|q| q.name.as_str()).collect();
        assert_eq!(names, ["out", "out_len_", "out_len", "out_", "out_len__"]);
        assert_eq!(
            proto.declaration("f"),
            "int64_t f(const int64_t *out, int64_t out_len_, int64_t out_len, int64_t *out_, int64_t out_len__)"
        );
    }

    #[test]
    fn an_example_that_stops_on_an_assert_fails_alone() {
        if !test_support::ci::require_tool("an_example_that_stops_on_an_assert_fails_alone", "gcc") {
            return;
        }
        let p = problem(&[("xs", LType::List)], LType::Int);
        let head = Apply(ListOp::Head, vec![Input(0)]);
        let proto = CPrototype::default_for(&p);
        let code = emit_list_c(&p, &head, &proto).unwrap();
        assert!(code.contains("assert(xs_len > 0);"), "{code}");
        let examples = vec![(vec![list(&[])], LValue::Int(0)), (vec![list(&[7, 8])], LValue::Int(7))];
        let out = compile_and_test(&code, &emit_list_c_tests(&p, &examples, &proto).unwrap());
        assert!(out.contains("FAILED example_1") && out.contains("passed 1/2"), "{out}");
    }
}
