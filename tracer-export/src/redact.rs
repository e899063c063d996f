//! What a string value looks like when it leaves the host: e-mail addresses, card
//! numbers and bearer tokens replaced, the operator's own patterns too, then cut to a
//! length.
use regex::{Captures, Regex};

/// A rule that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum RedactError {
    /// Not a built-in name and not `PATTERN=>REPLACEMENT`.
    #[error("--redact {0:?}: give email, card, bearer or PATTERN=>REPLACEMENT")]
    Rule(String),
    /// The pattern is not a regular expression.
    #[error("--redact {rule:?}: {source}")]
    Pattern {
        /// The rule.
        rule: String,
        /// Why.
        source: regex::Error,
    },
}

/// One replacement.
#[derive(Clone, Debug)]
struct Rule {
    pattern: Regex,
    replacement: String,
    /// Replace a match only when its digits pass the Luhn check (card numbers).
    luhn: bool,
}

/// The rules applied to every string value before it is exported.
#[derive(Clone, Debug)]
pub struct Redactor {
    rules: Vec<Rule>,
    /// Longest value exported, in characters; longer ones are cut and end in `…`.
    pub max_chars: usize,
}

/// Longest string value exported by default, in characters.
pub const MAX_CHARS: usize = 256;

impl Default for Redactor {
    /// The built-in rules: e-mail addresses, card numbers (Luhn-valid runs of 13–19
    /// digits, spaces or dashes between them) and bearer tokens.
    fn default() -> Self {
        let mut r = Self { rules: Vec::new(), max_chars: MAX_CHARS };
        for name in ["email", "card", "bearer"] {
            r.add(name).expect("the built-in rules are valid");
        }
        r
    }
}

impl Redactor {
    /// Adds `rule`: a built-in name (`email`, `card`, `bearer`) or `PATTERN=>REPLACEMENT`
    /// (a regular expression; `$1` and `${name}` in the replacement refer to its groups).
    ///
    /// # Errors
    /// Neither form, or a pattern that does not compile.
    pub fn add(&mut self, rule: &str) -> Result<(), RedactError> {
        let (pattern, replacement, luhn) = match rule {
            "email" => (r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}", "<email>", false),
            "card" => (r"\b\d(?:[ -]?\d){12,18}\b", "<card>", true),
            "bearer" => (r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]+", "Bearer <token>", false),
            custom => match custom.split_once("=>") {
                Some((p, r)) if !p.is_empty() => (p, r, false),
                _ => return Err(RedactError::Rule(rule.to_owned())),
            },
        };
        let pattern = Regex::new(pattern).map_err(|source| RedactError::Pattern { rule: rule.to_owned(), source })?;
        self.rules.push(Rule { pattern, replacement: replacement.to_owned(), luhn });
        Ok(())
    }

    /// `value` with every rule applied in order, then cut to [`Self::max_chars`].
    #[must_use]
    pub fn apply(&self, value: &str) -> String {
        let mut out = value.to_owned();
        for rule in &self.rules {
            out = if rule.luhn {
                rule.pattern
                    .replace_all(
                        &out,
                        |c: &Captures<'_>| {
                            if luhn_valid(&c[0]) {
                                rule.replacement.clone()
                            } else {
                                c[0].to_owned()
                            }
                        },
                    )
                    .into_owned()
            } else {
                rule.pattern.replace_all(&out, rule.replacement.as_str()).into_owned()
            };
        }
        if out.chars().count() > self.max_chars {
            out = out.chars().take(self.max_chars).collect::<String>() + "…";
        }
        out
    }
}

/// Whether the digits of `s` pass the Luhn check.
fn luhn_valid(s: &str) -> bool {
    let digits: Vec<u32> = s.chars().filter_map(|c| c.to_digit(10)).collect();
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            if i % 2 == 1 {
                if d * 2 > 9 {
                    d * 2 - 9
                } else {
                    d * 2
                }
            } else {
                d
            }
        })
        .sum();
    digits.len() >= 13 && sum.is_multiple_of(10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_rules_hide_mail_cards_and_tokens_only() {
        let r = Redactor::default();
        assert_eq!(r.apply("write to bob.smith@example.com now"), "write to <email> now");
        assert_eq!(r.apply("card 4111 1111 1111 1111 ok"), "card <card> ok");
        assert_eq!(r.apply("order 1234567890123"), "order 1234567890123", "not a Luhn-valid number");
        assert_eq!(r.apply("Authorization: Bearer abc.DEF-123"), "Authorization: Bearer <token>");
        assert_eq!(r.apply("alice"), "alice");
    }

    #[test]
    fn custom_rules_and_the_length_cut() {
        let mut r = Redactor::default();
        r.add(r"user-(\d+)=>user-#").unwrap();
        assert_eq!(r.apply("user-42 logged in"), "user-# logged in");
        r.max_chars = 4;
        assert_eq!(r.apply("abcdefgh"), "abcd…");
        assert!(Redactor::default().add("nonsense").is_err());
        assert!(Redactor::default().add("(unclosed=>x").is_err());
    }
}
