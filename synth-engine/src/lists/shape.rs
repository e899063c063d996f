//! Struct parameters as the search sees them: each integer field of a struct (`r.size.x`)
//! is an integer input of its own, and each integer field across an array of structs
//! (`items.qty`) a list input; the emitters put the structs back, reading the fields where
//! the program reads its inputs.

use super::program::LType;
use super::ListError;
use crate::spec::{ExampleJson, Examples, ParamDecl};

/// The function's parameters as written, when some are structs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shape {
    /// In order.
    pub params: Vec<ShapedParam>,
    /// The structs as a C compiler laid them out, when known (live synthesis, from DWARF):
    /// Rust code then declares them `#[repr(C)]` so it shares them with C.
    pub repr_c: Option<ReprC>,
}

/// Structs laid out as C lays them out, for Rust.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReprC {
    /// Their `#[repr(C)]` Rust declarations, nested ones first.
    pub rust: String,
    /// Each struct's fields in order, with their Rust types (`i32`, `[i16; 3]`, `Point`):
    /// struct type as spelt in [`StructShape::ty`], then (field, type) pairs.
    pub structs: Vec<(String, Vec<(String, String)>)>,
}

impl ReprC {
    /// The Rust type of field `name` of struct type `ty`.
    #[must_use]
    pub fn field_type(&self, ty: &str, name: &str) -> Option<&str> {
        let (_, fields) = self.structs.iter().find(|(t, _)| t == ty)?;
        fields.iter().find(|(n, _)| n == name).map(|(_, r)| r.as_str())
    }

    /// The Rust type of the field at `path` (`["size", "x"]`) of `shape`'s struct.
    #[must_use]
    pub fn type_at(&self, shape: &StructShape, path: &[String]) -> Option<&str> {
        self.field_type(shape.holder(path), path.last()?)
    }

    /// The fields of struct type `ty`, in order.
    #[must_use]
    pub fn fields(&self, ty: &str) -> Option<&[(String, String)]> {
        self.structs.iter().find(|(t, _)| t == ty).map(|(_, f)| f.as_slice())
    }
}

/// One parameter as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShapedParam {
    /// Its name.
    pub name: String,
    /// What it is.
    pub kind: ShapedKind,
}

/// A parameter as written: an input as it is, or a struct (or an array of them) whose
/// integer fields are inputs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ShapedKind {
    /// This input of the problem, as it is.
    Plain(usize),
    /// A pointer to one struct.
    Struct(StructShape),
    /// A pointer to structs; each field's input is a list across them.
    Structs(StructShape),
}

/// A struct's integer fields and where each is an input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StructShape {
    /// The struct's type as C spells it: `struct rect`, `rect_t`.
    pub ty: String,
    /// Each integer field: its path (`["size", "x"]`) and the input it is.
    pub fields: Vec<(Vec<String>, usize)>,
    /// The type of each nested struct field, by path (`["origin"]` → `struct point`).
    pub nested: Vec<(Vec<String>, String)>,
}

impl Shape {
    /// For each input of the problem: the parameter it belongs to, and its field path
    /// (empty for a plain input).
    #[must_use]
    pub fn source(&self, input: usize) -> Option<(&ShapedParam, &[String])> {
        self.params.iter().find_map(|p| match &p.kind {
            ShapedKind::Plain(i) => (*i == input).then_some((p, &[][..])),
            ShapedKind::Struct(s) | ShapedKind::Structs(s) => {
                s.fields.iter().find(|(_, i)| *i == input).map(|(path, _)| (p, path.as_slice()))
            }
        })
    }
}

/// A struct-typed examples file (`"types"`, parameters of type `item` or `list[item]`, values
/// as JSON objects) as the search sees it: each integer field an input of its own (`r.size.x`)
/// or, across an array, a list input (`items.qty`), with the [`Shape`] that puts the structs
/// back. `None` when no parameter has a struct type.
///
/// # Errors
///
/// A field type that is neither an integer, a Boolean nor a declared struct, types that
/// contain themselves, a struct output, or a value without a field its type declares.
pub(crate) fn flatten_structs(ex: &Examples) -> Result<Option<(Examples, Shape)>, ListError> {
    let struct_of = |ty: &str| -> Option<(String, bool)> {
        let t: String = ty.chars().filter(|c| !c.is_whitespace()).collect();
        match t.strip_prefix("list[").and_then(|r| r.strip_suffix(']')) {
            Some(inner) => ex.types.get(inner).map(|_| (inner.to_string(), true)),
            None => ex.types.get(&t).map(|_| (t.clone(), false)),
        }
    };
    if !ex.params.iter().any(|p| struct_of(&p.ty).is_some()) {
        return Ok(None);
    }
    if struct_of(&ex.output_type).is_some() {
        return Err(ListError::BadStruct(format!(
            "the output is a struct (`{}`): read it with `ListProblem::outputs_from_examples`",
            ex.output_type
        )));
    }
    let mut params = Vec::new();
    let mut shaped = Vec::new();
    // For each input: the parameter it reads, and which field of it.
    let mut picks: Vec<(usize, Pick)> = Vec::new();
    for (i, p) in ex.params.iter().enumerate() {
        let Some((t, column)) = struct_of(&p.ty) else {
            shaped.push(ShapedParam { name: p.name.clone(), kind: ShapedKind::Plain(params.len()) });
            params.push(p.clone());
            picks.push((i, Pick::Whole));
            continue;
        };
        let (mut leaves, mut nested) = (Vec::new(), Vec::new());
        type_leaves(&ex.types, &t, &[], &mut leaves, &mut nested)?;
        let mut st = StructShape { ty: format!("struct {t}"), fields: Vec::new(), nested };
        for path in leaves {
            st.fields.push((path.clone(), params.len()));
            let ty = if column { "list[int]" } else { "int" };
            params.push(ParamDecl { name: format!("{}.{}", p.name, path.join(".")), ty: ty.into() });
            picks.push((i, if column { Pick::Column(path) } else { Pick::Field(path) }));
        }
        let kind = if column { ShapedKind::Structs(st) } else { ShapedKind::Struct(st) };
        shaped.push(ShapedParam { name: p.name.clone(), kind });
    }
    let mut examples = Vec::new();
    for (k, e) in ex.examples.iter().enumerate() {
        let missing = |what: &str| ListError::BadStruct(format!("example {}: {what}", k + 1));
        let mut args = Vec::new();
        for (i, how) in &picks {
            let arg = e.args.get(*i).ok_or_else(|| missing("too few arguments"))?;
            args.push(match how {
                Pick::Whole => arg.clone(),
                Pick::Field(path) => {
                    field_json(arg, path).ok_or_else(|| missing(&format!("no field `{}`", path.join("."))))?
                }
                Pick::Column(path) => serde_json::Value::Array(
                    arg.as_array()
                        .ok_or_else(|| missing("an array of structs is a JSON array"))?
                        .iter()
                        .map(|o| field_json(o, path))
                        .collect::<Option<Vec<_>>>()
                        .ok_or_else(|| missing(&format!("a struct without field `{}`", path.join("."))))?,
                ),
            });
        }
        examples.push(ExampleJson { args, output: e.output.clone() });
    }
    let flat = Examples { params, types: crate::spec::StructTypes::default(), examples, ..ex.clone() };
    Ok(Some((flat, Shape { params: shaped, repr_c: None })))
}

/// The examples a search saw (each struct field an input of its own, see
/// [`flatten_structs`]) with their structs put back: the parameters typed by struct name
/// (`rect`, `list[item]`), the struct types declared in `"types"` (every field `int`), and
/// each struct value a JSON object. What `synth --examples` reads again.
#[must_use]
pub fn structured(flat: &Examples, shape: &Shape) -> Examples {
    use serde_json::{Map, Value as Json};
    let mut types = flat.types.clone();
    let mut declare = |s: &StructShape| declare_types(&mut types, s);
    // One struct's value from the inputs, `at` picking an element of list inputs.
    fn object(s: &StructShape, prefix: &[String], args: &[Json], at: Option<usize>) -> Json {
        let mut map = Map::new();
        for m in s.members(prefix) {
            match m {
                Member::Int { name, input } => {
                    let v = args.get(input).cloned().unwrap_or(Json::Null);
                    let v = match at {
                        Some(k) => v.as_array().and_then(|a| a.get(k)).cloned().unwrap_or(Json::Null),
                        None => v,
                    };
                    map.insert(name.to_string(), v);
                }
                Member::Nested { name, path, .. } => {
                    map.insert(name.to_string(), object(s, &path, args, at));
                }
            }
        }
        Json::Object(map)
    }
    let mut params = Vec::new();
    for p in &shape.params {
        match &p.kind {
            ShapedKind::Plain(i) => params.extend(flat.params.get(*i).cloned()),
            ShapedKind::Struct(s) => {
                declare(s);
                params.push(ParamDecl { name: p.name.clone(), ty: json_type_name(&s.ty) });
            }
            ShapedKind::Structs(s) => {
                declare(s);
                params.push(ParamDecl { name: p.name.clone(), ty: format!("list[{}]", json_type_name(&s.ty)) });
            }
        }
    }
    let examples = flat
        .examples
        .iter()
        .map(|e| {
            let args = shape
                .params
                .iter()
                .map(|p| match &p.kind {
                    ShapedKind::Plain(i) => e.args.get(*i).cloned().unwrap_or(Json::Null),
                    ShapedKind::Struct(s) => object(s, &[], &e.args, None),
                    ShapedKind::Structs(s) => {
                        let n = s
                            .fields
                            .first()
                            .and_then(|(_, i)| e.args.get(*i))
                            .and_then(Json::as_array)
                            .map_or(0, Vec::len);
                        Json::Array((0..n).map(|k| object(s, &[], &e.args, Some(k))).collect())
                    }
                })
                .collect();
            ExampleJson { args, output: e.output.clone() }
        })
        .collect();
    Examples { params, types, examples, ..flat.clone() }
}

/// Declares in `types` the struct types of `shape` not declared yet, nested ones first,
/// each under its name as the examples JSON spells it (`struct span` as `span`).
pub fn declare_types(types: &mut crate::spec::StructTypes, shape: &StructShape) {
    for (ty, members) in shape.types() {
        let name = json_type_name(ty);
        if types.0.iter().any(|(n, _)| *n == name) {
            continue;
        }
        let fields = members
            .into_iter()
            .map(|m| match m {
                Member::Int { name, .. } => (name.to_string(), "int".to_string()),
                Member::Nested { name, ty, .. } => (name.to_string(), json_type_name(ty)),
            })
            .collect();
        types.0.push((name, fields));
    }
}

/// A C struct type's name as the examples JSON spells it: `struct span` is `span`,
/// `struct long name` is `long_name`.
#[must_use]
pub fn json_type_name(ty: &str) -> String {
    ty.trim().trim_start_matches("struct ").replace(' ', "_")
}

/// Which part of a JSON argument an input is.
enum Pick {
    /// The argument as it is.
    Whole,
    /// A field of a struct.
    Field(Vec<String>),
    /// A field across an array of structs.
    Column(Vec<String>),
}

/// The integer fields of struct type `t` under `prefix`, and its nested structs' types.
fn type_leaves(
    types: &crate::spec::StructTypes,
    t: &str,
    prefix: &[String],
    leaves: &mut Vec<Vec<String>>,
    nested: &mut Vec<(Vec<String>, String)>,
) -> Result<(), ListError> {
    if prefix.len() > 8 {
        return Err(ListError::BadStruct(format!("struct `{t}` contains itself")));
    }
    for (name, fty) in types.get(t).unwrap_or_default() {
        let mut path = prefix.to_vec();
        path.push(name.clone());
        if matches!(LType::parse(fty), Some(LType::Int | LType::Bool)) {
            leaves.push(path);
        } else if types.get(fty).is_some() {
            nested.push((path.clone(), format!("struct {fty}")));
            type_leaves(types, fty, &path, leaves, nested)?;
        } else {
            return Err(ListError::BadStruct(format!(
                "field `{name}` of `{t}` has type `{fty}` (fields are int, bool or a declared struct)"
            )));
        }
    }
    Ok(())
}

/// Struct type `ty` of `types` as a result: its integer fields, numbered in order.
pub(crate) fn struct_output(types: &crate::spec::StructTypes, ty: &str) -> Result<StructShape, ListError> {
    let (mut leaves, mut nested) = (Vec::new(), Vec::new());
    type_leaves(types, ty, &[], &mut leaves, &mut nested)?;
    Ok(StructShape {
        ty: format!("struct {ty}"),
        fields: leaves.into_iter().enumerate().map(|(k, p)| (p, k)).collect(),
        nested,
    })
}

/// The field at `path` of a JSON struct value; a Boolean as 0 or 1.
pub(crate) fn field_json(value: &serde_json::Value, path: &[String]) -> Option<serde_json::Value> {
    let mut v = value;
    for p in path {
        v = v.as_object()?.get(p)?;
    }
    match v {
        serde_json::Value::Bool(b) => Some(serde_json::Value::from(i64::from(*b))),
        serde_json::Value::Number(_) => Some(v.clone()),
        _ => None,
    }
}

/// A member of a struct as the emitters declare or build it.
pub(crate) enum Member<'a> {
    /// An integer field: its name and the input it is.
    Int {
        /// The field's name.
        name: &'a str,
        /// The input it is.
        input: usize,
    },
    /// A nested struct: its name, its type and its path.
    Nested {
        /// The field's name.
        name: &'a str,
        /// Its type.
        ty: &'a str,
        /// Its path from the outer struct.
        path: Vec<String>,
    },
}

impl StructShape {
    /// A struct value of type `ty` (the members under `prefix`) as code: each integer field
    /// `field(name, value(number))`, nested structs built the same way, and the members put
    /// together by `whole(class, members)`.
    pub(crate) fn build(
        &self,
        ty: &str,
        prefix: &[String],
        value: &dyn Fn(usize) -> String,
        field: &dyn Fn(&str, String) -> String,
        whole: &dyn Fn(String, Vec<String>) -> String,
    ) -> String {
        let members: Vec<String> = self
            .members(prefix)
            .into_iter()
            .map(|m| match m {
                Member::Nested { name, ty, path } => field(name, self.build(ty, &path, value, field, whole)),
                Member::Int { name, input } => field(name, value(input)),
            })
            .collect();
        whole(class_name(ty), members)
    }

    /// The struct type that holds the field at `path` (the struct itself for a top-level
    /// field, else the nested struct's type).
    #[must_use]
    pub fn holder(&self, path: &[String]) -> &str {
        match path.split_last() {
            Some((_, [])) | None => &self.ty,
            Some((_, prefix)) => self.nested.iter().find(|(p, _)| p == prefix).map_or(&self.ty, |(_, t)| t),
        }
    }

    /// The struct types of this shape, each once, the nested ones before the types that
    /// hold them (the order a declaration needs): the type as spelt and its members.
    pub(crate) fn types(&self) -> Vec<(&str, Vec<Member<'_>>)> {
        fn visit<'a>(s: &'a StructShape, ty: &'a str, prefix: &[String], out: &mut Vec<(&'a str, Vec<Member<'a>>)>) {
            if out.iter().any(|(t, _)| *t == ty) {
                return;
            }
            let members = s.members(prefix);
            for m in &members {
                if let Member::Nested { ty, path, .. } = m {
                    visit(s, ty, path, out);
                }
            }
            out.push((ty, members));
        }
        let mut out = Vec::new();
        visit(self, &self.ty, &[], &mut out);
        out
    }

    /// The members directly under `prefix` (`[]`: the struct itself), in field order.
    pub(crate) fn members(&self, prefix: &[String]) -> Vec<Member<'_>> {
        let mut out: Vec<Member<'_>> = Vec::new();
        let mut seen: Vec<&str> = Vec::new();
        for (path, input) in self.fields.iter().filter(|(p, _)| p.len() > prefix.len() && p.starts_with(prefix)) {
            let name = path[prefix.len()].as_str();
            if seen.contains(&name) {
                continue;
            }
            seen.push(name);
            let sub = &path[..=prefix.len()];
            out.push(match self.nested.iter().find(|(p, _)| p == sub) {
                Some((_, ty)) => Member::Nested { name, ty, path: sub.to_vec() },
                None => Member::Int { name, input: *input },
            });
        }
        out
    }
}

/// A Python class name for a C struct type: `struct rect` → `Rect`, `rect_t` → `RectT`.
#[must_use]
pub fn class_name(ty: &str) -> String {
    let bare = ty.trim().trim_start_matches("struct ").trim_start_matches("union ");
    bare.split('_')
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut c = w.chars();
            c.next().map(|f| f.to_ascii_uppercase().to_string() + c.as_str()).unwrap_or_default()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_classes_and_finds_where_each_input_comes_from() {
        assert_eq!(class_name("struct rect"), "Rect");
        assert_eq!(class_name("rect_t"), "RectT");
        assert_eq!(class_name("struct order_item"), "OrderItem");
        let shape = Shape {
            repr_c: None,
            params: vec![
                ShapedParam {
                    name: "r".into(),
                    kind: ShapedKind::Struct(StructShape {
                        ty: "rect_t".into(),
                        fields: vec![(vec!["size".into(), "x".into()], 0), (vec!["size".into(), "y".into()], 1)],
                        nested: vec![(vec!["size".into()], "struct point".into())],
                    }),
                },
                ShapedParam { name: "k".into(), kind: ShapedKind::Plain(2) },
            ],
        };
        let (p, path) = shape.source(1).unwrap();
        assert_eq!((p.name.as_str(), path), ("r", &["size".to_string(), "y".to_string()][..]));
        assert_eq!(shape.source(2).unwrap().1, &[] as &[String]);
        assert!(shape.source(3).is_none());
    }

    #[test]
    fn structs_flattened_for_the_search_are_put_back_as_they_were_written() {
        let spec = r#"{"function": "f",
            "types": {"rect": {"origin": "point", "w": "int"}, "point": {"x": "int", "y": "int"},
                      "item": {"qty": "int", "price": "int"}},
            "params": [{"name": "r", "type": "rect"}, {"name": "items", "type": "list[item]"}, {"name": "k", "type": "int"}],
            "output_type": "int",
            "examples": [
              {"args": [{"origin": {"x": 1, "y": -2}, "w": 3}, [{"qty": 2, "price": 5}, {"qty": 1, "price": 7}], 4], "output": 1},
              {"args": [{"origin": {"x": 0, "y": 0}, "w": 0}, [], 0], "output": 0}]}"#;
        let original = Examples::from_json(spec).unwrap();
        let (flat, shape) = flatten_structs(&original).unwrap().unwrap();
        assert_eq!(flat.params.len(), 6, "r.origin.x, r.origin.y, r.w, items.qty, items.price, k");
        let back = structured(&flat, &shape);
        assert_eq!(back.params, original.params);
        assert_eq!(back.examples, original.examples);
        let mut types = back.types.0.clone();
        let mut want = original.types.0.clone();
        types.sort();
        want.sort();
        assert_eq!(types, want);
        // And what comes back reads as the search saw it.
        let json = serde_json::to_string(&back).unwrap();
        let again = flatten_structs(&Examples::from_json(&json).unwrap()).unwrap().unwrap();
        assert_eq!(again, (flat, shape));
    }
}

#[cfg(test)]
mod emitted {
    use super::*;
    use crate::emit::Lang;
    use crate::lists::program::Expr::{Apply, Bound, Input};
    use crate::lists::{emit_list_c, emit_list_c_tests, emit_list_function, emit_list_tests, run, CParam, CPrototype};
    use crate::lists::{LType, LValue, ListOp, ListProblem};
    use crate::verify::{verify, VerifyLimits};

    /// `long order_total(const struct item *items, int count)` as the search sees it.
    fn order_total() -> (ListProblem, crate::lists::Expr) {
        let program = Apply(
            ListOp::Sum,
            vec![Apply(ListOp::ZipWith, vec![Apply(ListOp::Multiply, vec![Bound(0), Bound(1)]), Input(0), Input(1)])],
        );
        let column = |v: &[i64]| LValue::List(v.to_vec().into());
        let inputs = [
            vec![column(&[2, 1]), column(&[150, -40]), LValue::Int(2)],
            vec![column(&[]), column(&[]), LValue::Int(0)],
            vec![column(&[5]), column(&[7]), LValue::Int(1)],
        ];
        let examples = inputs.iter().map(|i| (i.clone(), run(&program, i).unwrap())).collect();
        let shape = Shape {
            repr_c: None,
            params: vec![
                ShapedParam {
                    name: "items".into(),
                    kind: ShapedKind::Structs(StructShape {
                        ty: "struct item".into(),
                        fields: vec![(vec!["qty".into()], 0), (vec!["price".into()], 1)],
                        nested: Vec::new(),
                    }),
                },
                ShapedParam { name: "count".into(), kind: ShapedKind::Plain(2) },
            ],
        };
        let problem = ListProblem {
            name: "order_total".into(),
            params: vec![
                ("items.qty".into(), LType::List),
                ("items.price".into(), LType::List),
                ("count".into(), LType::Int),
            ],
            output: LType::Int,
            result_in: None,
            description: None,
            shape: Some(shape),
            result_field: None,
            examples,
        };
        (problem, program)
    }

    #[test]
    fn an_array_of_structs_reads_its_fields_in_every_language_and_passes_its_examples() {
        for tool in ["python3", "rustc", "gcc"] {
            if !test_support::ci::require_tool("an_array_of_structs_reads_its_fields", tool) {
                return;
            }
        }
        let (problem, program) = order_total();
        let limits = VerifyLimits::default();
        for (lang, expect) in [
            (Lang::Python, "return sum([it.qty * it.price for it in items])"),
            (Lang::Rust, "items.iter().map(|it| it.qty * it.price).sum::<i64>()"),
        ] {
            let code = emit_list_function(lang, &problem, &program).unwrap();
            assert!(code.contains(expect), "{code}");
            let tests = emit_list_tests(lang, &problem, &problem.examples).unwrap();
            let report = verify(lang, &code, &tests, &limits).unwrap();
            assert_eq!((report.tests_passed, report.tests_total), (3, 3), "{lang}: {report:?}\n{code}\n{tests}");
        }
        let proto = CPrototype {
            ret: "long".into(),
            params: vec![
                CParam { name: "items".into(), ctype: "const struct item *".into(), len: Some("count".into()) },
                CParam { name: "count".into(), ctype: "int".into(), len: None },
            ],
            result_into: None,
            returns_len: false,
            declarations: "struct item {\n    int qty;\n    int price;\n    unsigned flags;\n};\n".into(),
        };
        // Rust with the struct as C lays it out: its fields of their widths, widened where
        // read; the tests give the field no input reads a zero.
        let mut laid_out = problem.clone();
        laid_out.shape.as_mut().unwrap().repr_c = Some(ReprC {
            rust: "#[repr(C)]\n#[derive(Clone, Copy, Debug)]\npub struct Item {\n    pub qty: i32,\n    pub price: i32,\n    \
                   pub note: *const core::ffi::c_char,\n    pub flags: [u8; 4],\n}\n"
                .into(),
            structs: vec![(
                "struct item".into(),
                vec![
                    ("qty".into(), "i32".into()),
                    ("price".into(), "i32".into()),
                    ("note".into(), "*const core::ffi::c_char".into()),
                    ("flags".into(), "[u8; 4]".into()),
                ],
            )],
        });
        let code = emit_list_function(Lang::Rust, &laid_out, &program).unwrap();
        assert!(code.contains("items.iter().map(|it| i64::from(it.qty) * i64::from(it.price))"), "{code}");
        assert!(code.contains("#[repr(C)]") && !code.contains("pub qty: i64"), "{code}");
        let tests = emit_list_tests(Lang::Rust, &laid_out, &laid_out.examples).unwrap();
        assert!(tests.contains("note: core::ptr::null(), flags: [0; 4]"), "{tests}");
        let report = verify(Lang::Rust, &code, &tests, &limits).unwrap();
        assert_eq!((report.tests_passed, report.tests_total), (3, 3), "{report:?}\n{code}\n{tests}");

        let code = emit_list_c(&problem, &program, &proto).unwrap();
        assert!(code.contains("total += x * y;") && code.contains("items[i].qty"), "{code}");
        let tests = emit_list_c_tests(&problem, &problem.examples, &proto).unwrap();
        let report = verify(Lang::C, &code, &tests, &limits).unwrap();
        assert_eq!((report.tests_passed, report.tests_total), (3, 3), "{report:?}\n{code}\n{tests}");
        assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    }

    #[test]
    fn an_examples_file_with_struct_types_is_searched_over_its_fields_and_emitted_in_every_language() {
        use crate::lists::{synthesize_lists, CoreOpsFirst, ListLimits, ListOutcome};
        use crate::search::CancelToken;
        use crate::spec::Examples;
        for tool in ["python3", "rustc", "gcc"] {
            if !test_support::ci::require_tool("an_examples_file_with_struct_types", tool) {
                return;
            }
        }
        let spec = r#"{"function": "order_total",
            "types": {"item": {"qty": "int", "price": "int", "gift": "bool"}},
            "params": [{"name": "items", "type": "list[item]"}],
            "output_type": "int",
            "examples": [
              {"args": [[{"qty": 2, "price": 150, "gift": false}, {"qty": 1, "price": -40, "gift": true}]], "output": 260},
              {"args": [[]], "output": 0},
              {"args": [[{"qty": 5, "price": 7, "gift": false}]], "output": 35},
              {"args": [[{"qty": 3, "price": 3, "gift": true}, {"qty": 0, "price": 9, "gift": false}]], "output": 9}]}"#;
        let ex = Examples::from_json(spec).unwrap();
        assert!(crate::lists::is_list_spec(&ex));
        let problem = ListProblem::from_examples(&ex).unwrap();
        assert_eq!(problem.param_names(), ["items.qty", "items.price", "items.gift"]);
        let out = synthesize_lists(&problem, &ListLimits::default(), &CoreOpsFirst, &CancelToken::new());
        let ListOutcome::Found { program, .. } = out else { panic!("{out:?}") };
        let limits = VerifyLimits::default();
        for (lang, expect) in [
            (Lang::Python, "it.qty * it.price"),
            (Lang::Rust, "items.iter().map(|it| it.qty * it.price)"),
            (Lang::C, "struct item {\n    int64_t qty;\n    int64_t price;\n    int64_t gift;\n};"),
        ] {
            let code = emit_list_function(lang, &problem, &program).unwrap();
            assert!(code.contains(expect), "{lang}: {code}");
            let tests = emit_list_tests(lang, &problem, &problem.examples).unwrap();
            let report = verify(lang, &code, &tests, &limits).unwrap();
            assert_eq!((report.tests_passed, report.tests_total), (4, 4), "{lang}: {report:?}\n{code}\n{tests}");
        }

        // What cannot be read says why.
        let bad = |types: &str, ty: &str| {
            let text = spec
                .replace(r#"{"item": {"qty": "int", "price": "int", "gift": "bool"}}"#, types)
                .replace("list[item]", ty);
            ListProblem::from_examples(&Examples::from_json(&text).unwrap()).unwrap_err().to_string()
        };
        assert!(bad(r#"{"item": {"qty": "float"}}"#, "list[item]").contains("field `qty` of `item` has type `float`"));
        assert!(bad(r#"{"item": {"next": "item"}}"#, "list[item]").contains("contains itself"));
        assert!(bad(r#"{"item": {"qty": "int", "count": "int"}}"#, "list[item]").contains("without field `count`"));
    }
}
