//! S-expression reader shared by the term parser and the SyGuS front end.
//!
//! Every node remembers the line it starts on, so errors can name it.

use std::fmt;

use thiserror::Error;

/// A syntax error in s-expression text.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error("line {line}: {message}")]
pub struct SExprError {
    /// 1-based line number.
    pub line: usize,
    /// What went wrong (lowercase).
    pub message: String,
}

/// A parsed s-expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SExpr {
    /// A symbol, numeral, or `#x`/`#b` literal.
    Atom(String, usize),
    /// A string literal, with SMT-LIB escapes (`""`, `\u{..}`, `\uXXXX`) resolved.
    Str(String, usize),
    /// A parenthesised list.
    List(Vec<SExpr>, usize),
}

impl SExpr {
    /// The line this expression starts on.
    #[must_use]
    pub fn line(&self) -> usize {
        match self {
            SExpr::Atom(_, l) | SExpr::Str(_, l) | SExpr::List(_, l) => *l,
        }
    }

    /// The atom text, if this is an atom.
    #[must_use]
    pub fn atom(&self) -> Option<&str> {
        match self {
            SExpr::Atom(a, _) => Some(a),
            _ => None,
        }
    }

    /// The list items, if this is a list.
    #[must_use]
    pub fn list(&self) -> Option<&[SExpr]> {
        match self {
            SExpr::List(items, _) => Some(items),
            _ => None,
        }
    }

    /// An error located at this expression.
    pub fn error(&self, message: impl Into<String>) -> SExprError {
        SExprError { line: self.line(), message: message.into() }
    }
}

impl fmt::Display for SExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SExpr::Atom(a, _) => f.write_str(a),
            SExpr::Str(s, _) => write!(f, "{}", super::types::Value::str(s)),
            SExpr::List(items, _) => {
                f.write_str("(")?;
                for (i, it) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" ")?;
                    }
                    write!(f, "{it}")?;
                }
                f.write_str(")")
            }
        }
    }
}

/// Parses all top-level s-expressions in `src`.
///
/// # Errors
///
/// Unbalanced parentheses and unterminated strings or quoted symbols, with
/// the line they start on.
pub fn parse_all(src: &str) -> Result<Vec<SExpr>, SExprError> {
    let chars: Vec<char> = src.chars().collect();
    let mut pos = 0usize;
    let mut line = 1usize;
    // Stack of open lists: (items, start line).
    let mut stack: Vec<(Vec<SExpr>, usize)> = vec![(Vec::new(), 1)];
    while pos < chars.len() {
        let c = chars[pos];
        match c {
            '\n' => {
                line += 1;
                pos += 1;
            }
            c if c.is_whitespace() => pos += 1,
            ';' => {
                while pos < chars.len() && chars[pos] != '\n' {
                    pos += 1;
                }
            }
            '(' => {
                stack.push((Vec::new(), line));
                pos += 1;
            }
            ')' => {
                if stack.len() == 1 {
                    return Err(SExprError { line, message: "unexpected `)`".into() });
                }
                let (items, start) = stack.pop().expect("stack has an open list");
                stack.last_mut().expect("outer list").0.push(SExpr::List(items, start));
                pos += 1;
            }
            '"' => {
                let start = line;
                pos += 1;
                let mut raw = String::new();
                loop {
                    let Some(&ch) = chars.get(pos) else {
                        return Err(SExprError { line: start, message: "unterminated string literal".into() });
                    };
                    pos += 1;
                    if ch == '"' {
                        if chars.get(pos) == Some(&'"') {
                            raw.push('"');
                            pos += 1;
                            continue;
                        }
                        break;
                    }
                    if ch == '\n' {
                        line += 1;
                    }
                    raw.push(ch);
                }
                stack.last_mut().expect("list").0.push(SExpr::Str(unescape(&raw), start));
            }
            '|' => {
                let start = line;
                pos += 1;
                let mut sym = String::new();
                loop {
                    let Some(&ch) = chars.get(pos) else {
                        return Err(SExprError { line: start, message: "unterminated quoted symbol".into() });
                    };
                    pos += 1;
                    if ch == '|' {
                        break;
                    }
                    if ch == '\n' {
                        line += 1;
                    }
                    sym.push(ch);
                }
                stack.last_mut().expect("list").0.push(SExpr::Atom(sym, start));
            }
            _ => {
                let mut atom = String::new();
                while pos < chars.len() {
                    let ch = chars[pos];
                    if ch.is_whitespace() || ch == '(' || ch == ')' || ch == '"' || ch == ';' {
                        break;
                    }
                    atom.push(ch);
                    pos += 1;
                }
                stack.last_mut().expect("list").0.push(SExpr::Atom(atom, line));
            }
        }
    }
    if stack.len() > 1 {
        let (_, start) = stack.last().expect("open list");
        return Err(SExprError { line: *start, message: "unclosed `(`".into() });
    }
    Ok(stack.pop().expect("top level").0)
}

/// Resolves SMT-LIB 2.6 unicode escapes `\u{d..}` and `\ud₃d₂d₁d₀`.
/// Anything else (including a backslash not forming an escape) stays as is.
fn unescape(raw: &str) -> String {
    let chars: Vec<char> = raw.chars().collect();
    let mut out = String::with_capacity(raw.len());
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '\\' && chars.get(i + 1) == Some(&'u') {
            if chars.get(i + 2) == Some(&'{') {
                if let Some(close) = chars[i + 3..].iter().position(|&c| c == '}') {
                    let hex: String = chars[i + 3..i + 3 + close].iter().collect();
                    if (1..=5).contains(&hex.len()) {
                        if let Some(c) = u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                            out.push(c);
                            i += 4 + close;
                            continue;
                        }
                    }
                }
            } else if i + 6 <= chars.len() {
                let hex: String = chars[i + 2..i + 6].iter().collect();
                if hex.chars().all(|c| c.is_ascii_hexdigit()) {
                    if let Some(c) = u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                        out.push(c);
                        i += 6;
                        continue;
                    }
                }
            }
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_nested_lists_strings_and_comments() {
        let v = parse_all("(a (b \"x\"\"y\") |q s|) ; c\n(d)").unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].to_string(), "(a (b \"x\"\"y\") q s)");
        assert_eq!(v[1].line(), 2);
        match &v[0].list().unwrap()[1].list().unwrap()[1] {
            SExpr::Str(s, _) => assert_eq!(s, "x\"y"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn unicode_escapes_resolve() {
        let v = parse_all(r#""a\u{e9}\u0041\n""#).unwrap();
        assert_eq!(v[0], SExpr::Str("a\u{e9}A\\n".into(), 1));
    }

    #[test]
    fn errors_name_the_line() {
        assert_eq!(parse_all("(a\n(b)").unwrap_err().line, 1);
        assert_eq!(parse_all("a\n)").unwrap_err().line, 2);
        assert_eq!(parse_all("\n\"abc").unwrap_err().line, 2);
    }
}
