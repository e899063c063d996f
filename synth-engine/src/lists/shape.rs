//! Struct parameters as the search sees them: each integer field of a struct (`r.size.x`)
//! is an integer input of its own, and each integer field across an array of structs
//! (`items.qty`) a list input; the emitters put the structs back, reading the fields where
//! the program reads its inputs.

/// The function's parameters as written, when some are structs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shape {
    /// In order.
    pub params: Vec<ShapedParam>,
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
        let code = emit_list_c(&problem, &program, &proto).unwrap();
        assert!(code.contains("total += x * y;") && code.contains("items[i].qty"), "{code}");
        let tests = emit_list_c_tests(&problem, &problem.examples, &proto).unwrap();
        let report = verify(Lang::C, &code, &tests, &limits).unwrap();
        assert_eq!((report.tests_passed, report.tests_total), (3, 3), "{report:?}\n{code}\n{tests}");
        assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    }
}
