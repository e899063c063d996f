//! Sorts and values of the term language.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// The sort (type) of a term.
///
/// Bit-vectors carry their width (1 to 64 bits); `Int` is the SMT-LIB
/// mathematical integer, represented here as a checked `i128` (an overflow is
/// reported as an evaluation error, never wrapped).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Sort {
    /// `Bool`.
    Bool,
    /// `Int`.
    Int,
    /// `String` (a sequence of Unicode code points).
    String,
    /// `(_ BitVec w)` with `1 <= w <= 64`.
    BitVec(u32),
}

impl Sort {
    /// Bit mask of a bit-vector sort (all ones in the low `w` bits).
    #[must_use]
    pub fn mask(self) -> u64 {
        match self {
            Sort::BitVec(w) => width_mask(w),
            _ => u64::MAX,
        }
    }
}

/// All ones in the low `w` bits.
#[must_use]
pub fn width_mask(w: u32) -> u64 {
    if w >= 64 {
        u64::MAX
    } else {
        (1u64 << w) - 1
    }
}

impl fmt::Display for Sort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Sort::Bool => f.write_str("Bool"),
            Sort::Int => f.write_str("Int"),
            Sort::String => f.write_str("String"),
            Sort::BitVec(w) => write!(f, "(_ BitVec {w})"),
        }
    }
}

/// A concrete value of some [`Sort`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Value {
    /// A Boolean.
    Bool(bool),
    /// An integer.
    Int(i128),
    /// A string (shared, immutable).
    Str(Arc<str>),
    /// A bit-vector: `width` bits stored in the low bits of `bits` (high bits zero).
    Bv {
        /// Width in bits.
        width: u32,
        /// The bits, masked to `width`.
        bits: u64,
    },
}

impl Value {
    /// The sort of this value.
    #[must_use]
    pub fn sort(&self) -> Sort {
        match self {
            Value::Bool(_) => Sort::Bool,
            Value::Int(_) => Sort::Int,
            Value::Str(_) => Sort::String,
            Value::Bv { width, .. } => Sort::BitVec(*width),
        }
    }

    /// A bit-vector value, masked to `width`.
    #[must_use]
    pub fn bv(width: u32, bits: u64) -> Value {
        Value::Bv { width, bits: bits & width_mask(width) }
    }

    /// A string value.
    #[must_use]
    pub fn str(s: &str) -> Value {
        Value::Str(Arc::from(s))
    }

    /// The number an integer or bit-vector value stands for (a bit-vector read as two's
    /// complement when `signed`); `None` for booleans and strings.
    #[must_use]
    pub fn integer(&self, signed: bool) -> Option<i128> {
        match self {
            Value::Bv { width, bits } if signed => Some(i128::from(to_signed(*bits, *width))),
            Value::Bv { bits, .. } => Some(i128::from(*bits)),
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }
}

/// The greatest common divisor of `|a|` and `|b|` (0 when both are 0).
#[must_use]
pub(crate) fn gcd(a: i128, b: i128) -> i128 {
    if b == 0 {
        a.abs()
    } else {
        gcd(b, a % b)
    }
}

impl fmt::Display for Value {
    /// Prints the value as an SMT-LIB literal.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) if *i < 0 => write!(f, "(- {})", i.unsigned_abs()),
            Value::Int(i) => write!(f, "{i}"),
            Value::Str(s) => write_smt_string(f, s),
            Value::Bv { width, bits } => {
                if width % 4 == 0 {
                    write!(f, "#x{:0w$x}", bits, w = (*width / 4) as usize)
                } else {
                    write!(f, "#b{:0w$b}", bits, w = *width as usize)
                }
            }
        }
    }
}

/// Writes an SMT-LIB 2.6 string literal: `"` doubled, non-printable and
/// non-ASCII characters as `\u{..}`.
fn write_smt_string(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    f.write_str("\"")?;
    for c in s.chars() {
        match c {
            '"' => f.write_str("\"\"")?,
            // A literal backslash could be read back as the start of an escape.
            '\\' => f.write_str("\\u{5c}")?,
            ' '..='~' => write!(f, "{c}")?,
            _ => write!(f, "\\u{{{:x}}}", c as u32)?,
        }
    }
    f.write_str("\"")
}

/// Sign-extends a `w`-bit value to `i64`.
#[must_use]
pub fn to_signed(v: u64, w: u32) -> i64 {
    let sh = 64 - w;
    #[allow(clippy::cast_possible_wrap, reason = "reinterpreting bits")]
    let r = ((v << sh) as i64) >> sh;
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_print_in_smt_form() {
        assert_eq!(Value::bv(32, 0x1f).to_string(), "#x0000001f");
        assert_eq!(Value::bv(3, 0b101).to_string(), "#b101");
        assert_eq!(Value::Int(-3).to_string(), "(- 3)");
        assert_eq!(Value::str("a\"b").to_string(), "\"a\"\"b\"");
        assert_eq!(Value::str("é").to_string(), "\"\\u{e9}\"");
        assert_eq!(Sort::BitVec(64).to_string(), "(_ BitVec 64)");
    }

    #[test]
    fn bv_constructor_masks() {
        assert_eq!(Value::bv(8, 0x1ff), Value::Bv { width: 8, bits: 0xff });
        assert_eq!(width_mask(64), u64::MAX);
        assert_eq!(width_mask(1), 1);
    }
}
