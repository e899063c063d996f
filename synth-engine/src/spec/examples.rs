//! The JSON examples format.
//!
//! ```json
//! {"function": "clear_lowest", "params": [{"name": "x", "type": "u32"}],
//!  "output_type": "u32", "description": "clear the lowest set bit",
//!  "examples": [{"args": [12], "output": 8}, {"args": ["0x10"], "output": 0}]}
//! ```
//!
//! Bit-vector values are JSON numbers (negative allowed for signed types) or
//! strings `"0x.."`, `"0b.."`, or decimal; `int` values are numbers (or
//! decimal strings for big ones).

use serde::{Deserialize, Serialize};

use super::{Example, Param, Problem, SpecError, TypeSpec};
use crate::dsl::{width_mask, Sort, Value};

/// A parameter declaration in the JSON format.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParamDecl {
    /// Parameter name.
    pub name: String,
    /// Type name (`u32`, `i64`, `bv32`, `int`, `bool`, `string`, C spellings...).
    #[serde(rename = "type")]
    pub ty: String,
}

/// Struct types a list task's parameters name, each with its fields in order:
/// `{"item": {"qty": "int", "price": "int"}}` (a field's type is `int`, `bool` or another
/// struct type of the map).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StructTypes(pub Vec<(String, Vec<(String, String)>)>);

impl StructTypes {
    /// Whether no type is declared.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The fields of type `name`.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&[(String, String)]> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, f)| f.as_slice())
    }
}

impl Serialize for StructTypes {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, fields) in &self.0 {
            map.serialize_entry(name, &NamedTypes(fields.clone()))?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for StructTypes {
    /// Keeps the fields in the order the document gives them (a struct's layout).
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Types;
        impl<'de> serde::de::Visitor<'de> for Types {
            type Value = Vec<(String, Vec<(String, String)>)>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object of struct types, each an object of field types")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some((k, NamedTypes(v))) = map.next_entry::<String, NamedTypes>()? {
                    out.push((k, v));
                }
                Ok(out)
            }
        }
        deserializer.deserialize_map(Types).map(StructTypes)
    }
}

/// Names with a type each, in the order the document gives them: a struct's fields, or a
/// function's outputs (`{"return": "int", "out": "list[int]"}`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NamedTypes(pub Vec<(String, String)>);

impl NamedTypes {
    /// The type of `name`.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, t)| t.as_str())
    }
}

impl Serialize for NamedTypes {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for NamedTypes {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Ordered;
        impl<'de> serde::de::Visitor<'de> for Ordered {
            type Value = Vec<(String, String)>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object of type names")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, serde_json::Value>()? {
                    match v {
                        serde_json::Value::String(t) => out.push((k, t)),
                        _ => return Err(serde::de::Error::custom(format!("`{k}`: a type name is a string"))),
                    }
                }
                Ok(out)
            }
        }
        deserializer.deserialize_map(Ordered).map(NamedTypes)
    }
}

/// One example in the JSON format.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExampleJson {
    /// Arguments, one per parameter.
    pub args: Vec<serde_json::Value>,
    /// Expected output.
    pub output: serde_json::Value,
}

/// An examples specification as read from JSON.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Examples {
    /// Function name.
    pub function: String,
    /// Parameters.
    pub params: Vec<ParamDecl>,
    /// Output type name (absent, or ignored, when `outputs` names several).
    #[serde(default)]
    pub output_type: String,
    /// Optional natural-language description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// For a function that leaves its result in a buffer it was given (in place, or an
    /// out-parameter): that parameter. Its value in `args` is the buffer before the call,
    /// `output` the buffer after. List tasks only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_param: Option<String>,
    /// For a function with several outputs (its return value and the buffers it writes):
    /// each output's name, `return` or the list parameter written into, and its type, in
    /// order. Each example's `output` is then an object with a value for each name. List
    /// tasks only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outputs: Option<NamedTypes>,
    /// Struct types the parameters name (list tasks).
    #[serde(default, skip_serializing_if = "StructTypes::is_empty")]
    pub types: StructTypes,
    /// The examples.
    pub examples: Vec<ExampleJson>,
}

impl Examples {
    /// Reads the JSON format.
    ///
    /// # Errors
    ///
    /// [`SpecError::Json`] for malformed JSON or missing fields.
    pub fn from_json(text: &str) -> Result<Examples, SpecError> {
        Ok(serde_json::from_str(text)?)
    }

    /// Converts to a validated [`Problem`].
    ///
    /// # Errors
    ///
    /// Unknown types, values that do not fit, contradicting examples, or no examples.
    pub fn to_problem(&self) -> Result<Problem, SpecError> {
        let mut params = Vec::new();
        for p in &self.params {
            let ty = TypeSpec::parse(&p.ty).ok_or_else(|| SpecError::UnknownType {
                name: p.ty.clone(),
                what: format!("parameter `{}`", p.name),
            })?;
            params.push(Param { name: p.name.clone(), ty });
        }
        if self.output_type.trim().is_empty() {
            return Err(SpecError::NoOutputType);
        }
        let output = TypeSpec::parse(&self.output_type)
            .ok_or_else(|| SpecError::UnknownType { name: self.output_type.clone(), what: "the output".into() })?;
        let mut problem = Problem::new(&self.function, params, output);
        problem.description.clone_from(&self.description);
        if self.examples.is_empty() {
            return Err(SpecError::NoExamples);
        }
        for (i, ex) in self.examples.iter().enumerate() {
            let bad = |message: String| SpecError::BadValue { index: i + 1, message };
            if ex.args.len() != problem.params.len() {
                return Err(bad(format!("expected {} argument(s), got {}", problem.params.len(), ex.args.len())));
            }
            let mut args = Vec::new();
            for (a, p) in ex.args.iter().zip(&problem.params) {
                args.push(json_value(a, p.ty).map_err(|m| bad(format!("argument `{}`: {m}", p.name)))?);
            }
            let output = json_value(&ex.output, output).map_err(|m| bad(format!("output: {m}")))?;
            problem.examples.push(Example { args, output });
        }
        problem.validate_examples()?;
        Ok(problem)
    }
}

/// Converts a JSON value to a value of type `ty`.
///
/// # Errors
///
/// A lowercase message when the value does not fit.
pub fn json_value(v: &serde_json::Value, ty: TypeSpec) -> Result<Value, String> {
    use serde_json::Value as J;
    match (ty.sort, v) {
        (Sort::Bool, J::Bool(b)) => Ok(Value::Bool(*b)),
        (Sort::String, J::String(s)) => Ok(Value::str(s)),
        (Sort::Int, J::Number(n)) => n
            .as_i64()
            .map(|i| Value::Int(i128::from(i)))
            .or_else(|| n.as_u64().map(|u| Value::Int(i128::from(u))))
            .ok_or_else(|| format!("{n} is not an integer")),
        (Sort::Int, J::String(s)) => {
            s.trim().parse::<i128>().map(Value::Int).map_err(|_| format!("`{s}` is not an integer"))
        }
        (Sort::BitVec(w), J::Number(n)) => {
            if let Some(u) = n.as_u64() {
                bv_fits(u128::from(u), false, w, ty.signed).map(|b| Value::bv(w, b))
            } else if let Some(i) = n.as_i64() {
                bv_fits(u128::from(i.unsigned_abs()), true, w, ty.signed).map(|b| Value::bv(w, b))
            } else {
                Err(format!("{n} is not an integer"))
            }
        }
        (Sort::BitVec(w), J::String(s)) => {
            let t = s.trim();
            let (neg, t) = t.strip_prefix('-').map_or((false, t), |r| (true, r));
            let mag = if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("#x")) {
                u128::from_str_radix(h, 16)
            } else if let Some(b) = t.strip_prefix("0b").or_else(|| t.strip_prefix("#b")) {
                u128::from_str_radix(b, 2)
            } else {
                t.parse::<u128>()
            }
            .map_err(|_| format!("`{s}` is not a number"))?;
            if neg {
                bv_fits(mag, true, w, ty.signed).map(|b| Value::bv(w, b))
            } else if mag <= u128::from(width_mask(w)) {
                #[allow(clippy::cast_possible_truncation, reason = "checked against the mask")]
                Ok(Value::bv(w, mag as u64))
            } else {
                Err(format!("`{s}` does not fit in {w} bits"))
            }
        }
        (s, v) => Err(format!("{v} is not a {s}")),
    }
}

/// Checks that a magnitude (negated when `neg`) fits in `w` bits for the
/// signedness and returns its two's-complement bits.
fn bv_fits(mag: u128, neg: bool, w: u32, signed: bool) -> Result<u64, String> {
    let m = u128::from(width_mask(w));
    if neg {
        let lim = 1u128 << (w - 1);
        if mag > lim {
            return Err(format!("-{mag} does not fit in {w} bits"));
        }
        #[allow(clippy::cast_possible_truncation, reason = "masked")]
        Ok((mag.wrapping_neg() & m) as u64)
    } else {
        // Non-negative values may use the full width even for signed types
        // (`0xffffffff` for an `i32` is -1).
        let _ = signed;
        if mag > m {
            return Err(format!("{mag} does not fit in {w} bits"));
        }
        #[allow(clippy::cast_possible_truncation, reason = "checked")]
        Ok(mag as u64)
    }
}

/// Converts a value of type `ty` to JSON (signed bit-vectors as negative numbers).
#[must_use]
pub fn value_json(v: &Value, ty: TypeSpec) -> serde_json::Value {
    match v {
        Value::Bool(b) => serde_json::Value::Bool(*b),
        Value::Str(s) => serde_json::Value::String(s.to_string()),
        Value::Int(i) => {
            i64::try_from(*i).map_or_else(|_| serde_json::Value::String(i.to_string()), serde_json::Value::from)
        }
        Value::Bv { width, bits } => {
            if ty.signed {
                serde_json::Value::from(crate::dsl::to_signed(*bits, *width))
            } else {
                serde_json::Value::from(*bits)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_typed_examples() {
        let text = r#"{"function": "f", "params": [{"name": "x", "type": "i32"}, {"name": "s", "type": "string"}],
            "output_type": "uint32_t", "description": "d",
            "examples": [{"args": [-1, "a"], "output": "0xff"}, {"args": ["0x7fffffff", ""], "output": 4294967295}]}"#;
        let p = Examples::from_json(text).unwrap().to_problem().unwrap();
        assert_eq!(p.examples[0].args[0], Value::bv(32, 0xffff_ffff));
        assert_eq!(p.examples[0].output, Value::bv(32, 0xff));
        assert_eq!(p.examples[1].output, Value::bv(32, u64::from(u32::MAX)));
        assert!(p.params[0].ty.signed && !p.output.signed);
        assert_eq!(p.description.as_deref(), Some("d"));
        assert_eq!(value_json(&p.examples[0].args[0], p.params[0].ty), serde_json::json!(-1));
    }

    #[test]
    fn bad_values_name_the_example() {
        let text = r#"{"function": "f", "params": [{"name": "x", "type": "u32"}], "output_type": "u32",
            "examples": [{"args": [1], "output": 2}, {"args": [4294967296], "output": 2}]}"#;
        let err = Examples::from_json(text).unwrap().to_problem().unwrap_err();
        assert!(err.to_string().starts_with("example 2: argument `x`"), "{err}");
        let text =
            r#"{"function": "f", "params": [{"name": "x", "type": "float"}], "output_type": "u32", "examples": []}"#;
        assert!(Examples::from_json(text)
            .unwrap()
            .to_problem()
            .unwrap_err()
            .to_string()
            .contains("unknown type `float`"));
        assert!(Examples::from_json("{").is_err());
    }
}
