//! What a description says that the search can use: its numbers (in the units people
//! write them), its quoted strings, and the thresholds its comparisons name ("under 65",
//! "at most 2000", "the first 30 minutes").

/// Number words.
const WORDS: [(&str, i64); 12] = [
    ("one", 1),
    ("two", 2),
    ("three", 3),
    ("four", 4),
    ("five", 5),
    ("six", 6),
    ("seven", 7),
    ("eight", 8),
    ("nine", 9),
    ("ten", 10),
    ("eleven", 11),
    ("twelve", 12),
];
/// Words that stand for a number.
const UNITS: [(&str, i64); 16] = [
    ("%", 100),
    ("percent", 100),
    ("hundred", 100),
    ("thousand", 1000),
    ("million", 1_000_000),
    ("hour", 60),
    ("hours", 60),
    ("minute", 60),
    ("minutes", 60),
    ("day", 24),
    ("week", 7),
    ("weeks", 7),
    ("dozen", 12),
    ("dime", 10),
    ("cent", 100),
    ("cents", 100),
];
/// Words that multiply the number before them.
const SCALES: [(&str, i64); 7] =
    [("kib", 1024), ("kb", 1000), ("mib", 1 << 20), ("mb", 1_000_000), ("gib", 1 << 30), ("k", 1000), ("kg", 1000)];
/// The description's tokens: numbers (with thousands commas and decimals), lowercase
/// words, and `%` after a number.
fn tokens(text: &str) -> Vec<String> {
    let mut tokens: Vec<String> = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_ascii_digit()
            || (c == '-'
                && chars.get(i + 1).is_some_and(char::is_ascii_digit)
                && (i == 0 || !chars[i - 1].is_alphanumeric()))
        {
            let start = i;
            i += 1;
            while i < chars.len()
                && (chars[i].is_ascii_digit()
                    || ((chars[i] == ',' || chars[i] == '.') && chars.get(i + 1).is_some_and(char::is_ascii_digit)))
            {
                i += 1;
            }
            tokens.push(chars[start..i].iter().collect());
        } else if c.is_alphabetic() {
            let start = i;
            while i < chars.len() && chars[i].is_alphabetic() {
                i += 1;
            }
            tokens.push(chars[start..i].iter().collect::<String>().to_lowercase());
        } else {
            // A percent sign after a number (19%); a lone one is more likely modulo.
            if c == '%' && i > 0 && chars[i - 1].is_ascii_digit() {
                tokens.push("%".into());
            }
            i += 1;
        }
    }
    tokens
}

/// The numbers a description names, with the units people write them in: digits ("30",
/// "1,000", "-5"), number words up to twelve, and the number a unit word stands for
/// ("percent" 100, "KiB" 1024 and "kg" 1000 times the number before it, "hour" 60, "week" 7, "dozen"
/// 12, "dime" 10, "cents" 100, "thousand" 1000). A decimal ("1.5") gives its fraction's
/// numerator and denominator.
#[must_use]
pub fn description_numbers(text: &str) -> Vec<i64> {
    let mut out: Vec<i64> = Vec::new();
    let push = |v: i64, out: &mut Vec<i64>| {
        if !out.contains(&v) {
            out.push(v);
        }
    };
    let tokens = tokens(text);
    let mut previous: Option<i64> = None;
    for token in &tokens {
        let decimal = token
            .starts_with(|c: char| c.is_ascii_digit() || c == '-')
            .then(|| token.replace(',', ""))
            .and_then(|plain| plain.split_once('.').map(|(w, f)| (w.to_owned(), f.to_owned())));
        let number = match decimal {
            Some((whole, frac)) => {
                // 1.5 = 15/10 = 3/2: the reduced numerator and denominator.
                let den = 10i64.checked_pow(u32::try_from(frac.len()).unwrap_or(u32::MAX));
                let num = format!("{whole}{frac}").parse::<i64>().ok();
                if let (Some(num), Some(den)) = (num, den) {
                    #[allow(clippy::cast_possible_truncation, reason = "divides an i64")]
                    let g = crate::dsl::gcd(i128::from(num), i128::from(den)).max(1) as i64;
                    push(num / g, &mut out);
                    push(den / g, &mut out);
                }
                None
            }
            None => whole_number(token),
        };
        if let Some(v) = number {
            push(v, &mut out);
            previous = Some(v);
            continue;
        }
        if let Some((_, scale)) = SCALES.iter().find(|(w, _)| w == token) {
            if let Some(v) = previous.and_then(|p| p.checked_mul(*scale)) {
                push(v, &mut out);
            }
            push(*scale, &mut out);
        } else if let Some((_, v)) = UNITS.iter().find(|(w, _)| w == token) {
            push(*v, &mut out);
        }
        previous = None;
    }
    out
}

/// The quoted strings of a description (`'...'` or `"..."`; a single quote opens only
/// after a space or at the start, and closes only before a non-letter, so apostrophes in
/// words are not quotes).
#[must_use]
pub fn description_strings(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let q = chars[i];
        let opens = q == '"' || (q == '\'' && (i == 0 || !chars[i - 1].is_alphanumeric()));
        if !opens {
            i += 1;
            continue;
        }
        let close = (i + 1..chars.len())
            .find(|&j| chars[j] == q && (q == '"' || chars.get(j + 1).is_none_or(|c| !c.is_alphanumeric())));
        match close {
            Some(j) if j > i + 1 => {
                let inside: String = chars[i + 1..j].iter().collect();
                if !out.contains(&inside) {
                    out.push(inside);
                }
                i = j + 1;
            }
            _ => i += 1,
        }
    }
    out
}

/// Words that name a character ("replace dashes with dots").
const SYMBOLS: [(&str, &str); 26] = [
    ("comma", ","),
    ("dash", "-"),
    ("hyphen", "-"),
    ("dot", "."),
    ("period", "."),
    ("underscore", "_"),
    ("slash", "/"),
    ("backslash", "\\"),
    ("colon", ":"),
    ("semicolon", ";"),
    ("space", " "),
    ("zero", "0"),
    ("hash", "#"),
    ("pipe", "|"),
    ("tab", "\t"),
    ("newline", "\n"),
    ("dollar", "$"),
    ("plus", "+"),
    ("asterisk", "*"),
    ("star", "*"),
    ("ampersand", "&"),
    ("exclamation", "!"),
    ("question", "?"),
    ("quote", "\""),
    ("apostrophe", "'"),
    ("tilde", "~"),
];

/// The characters a description names by word ("comma", "dashes", "zeros", "dots").
#[must_use]
pub fn description_symbols(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for token in tokens(text) {
        let singular = [token.as_str(), token.strip_suffix("es").unwrap_or(""), token.strip_suffix('s').unwrap_or("")];
        if let Some((_, sym)) = SYMBOLS.iter().find(|(w, _)| singular.contains(w)) {
            if !out.iter().any(|o| o == sym) {
                out.push((*sym).to_owned());
            }
        }
    }
    out
}

/// A whole number token: digits (with thousands commas) or a number word.
fn whole_number(token: &str) -> Option<i64> {
    if token.starts_with(|c: char| c.is_ascii_digit() || c == '-') {
        if token.contains('.') {
            return None;
        }
        return token.replace(',', "").parse().ok();
    }
    WORDS.iter().find(|(w, _)| *w == token).map(|(_, v)| *v)
}

/// The thresholds `t` of the comparisons `x < t` a description's numbers stand for: "under
/// 65", "below 1 KiB", "from 10", "at least 10", "10 or more" give `t` = the number;
/// "over 40", "above 40", "more than 40", "at most 2000", "up to 1000", "the first 30",
/// "within 5", "40 or less" give the number plus one. A number without such a word gives
/// both readings, unless it is one of the function's `results` ("499 up to 1 kg": 499 is
/// what it returns, not where it changes).
#[must_use]
pub fn description_thresholds(text: &str, results: &[i128]) -> Vec<i64> {
    const BELOW: [&str; 6] = ["below", "under", "before", "from", "least", "minimum"];
    const AT_MOST: [&str; 10] =
        ["above", "over", "after", "first", "most", "to", "within", "maximum", "exceeds", "exceeding"];
    let toks = tokens(text);
    let mut out: Vec<i64> = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        let Some(mut value) = whole_number(&toks[i]) else {
            i += 1;
            continue;
        };
        let start = i;
        i += 1;
        if let Some((_, scale)) = toks.get(i).and_then(|t| SCALES.iter().find(|(w, _)| w == t)) {
            value = value.saturating_mul(*scale);
            i += 1;
        }
        let word = |back: usize| start.checked_sub(back).map(|j| toks[j].as_str());
        let after: Vec<&str> = toks[i..].iter().take(3).map(String::as_str).collect();
        let follows = |a: &str, b: &str| after.windows(2).any(|w| w[0] == a && w[1] == b);
        let strict = match (word(2), word(1)) {
            (Some("less" | "fewer"), Some("than")) => Some(true),
            (Some("more" | "greater"), Some("than")) => Some(false),
            (_, Some(w)) if BELOW.contains(&w) => Some(true),
            (_, Some(w)) if AT_MOST.contains(&w) => Some(false),
            _ if follows("or", "more") || follows("and", "up") || follows("or", "above") => Some(true),
            _ if follows("or", "less") || follows("or", "fewer") || follows("or", "below") => Some(false),
            _ => None,
        };
        let readings = match strict {
            Some(true) => vec![value],
            Some(false) => vec![value.saturating_add(1)],
            None if results.contains(&i128::from(value)) => Vec::new(),
            None => vec![value, value.saturating_add(1)],
        };
        for t in readings {
            if !out.contains(&t) {
                out.push(t);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_comparison_word_says_which_side_the_number_is_on() {
        let t = |text: &str| description_thresholds(text, &[]);
        assert_eq!(t("parking: the first 30 minutes are free, at most 2,000"), [31, 2001]);
        assert_eq!(t("small below 1 KiB, medium below 1 MiB"), [1024, 1_048_576]);
        assert_eq!(t("hours above 40 paid at one and a half times"), [41, 1, 2]);
        assert_eq!(t("child under 13, less than 20, 65 or more, more than 9"), [13, 20, 65, 10]);
        assert_eq!(t("10 items or fewer, from 5, up to 1000"), [11, 5, 1001]);
        assert_eq!(t("499 up to 1 kg"), [499, 500, 1001]);
        assert_eq!(description_thresholds("499 up to 1 kg", &[499, 749]), [1001]);
    }

    #[test]
    fn a_description_gives_its_numbers_in_the_units_people_write() {
        let n = |t: &str| description_numbers(t);
        assert_eq!(
            n("parking: the first 30 minutes are free, then 200 per started hour, at most 2,000"),
            [30, 60, 200, 2000]
        );
        assert_eq!(n("19% of the net amount, 7% when reduced"), [19, 100, 7]);
        assert_eq!(n("small below 1 KiB, medium below 1 MiB"), [1, 1024, 1_048_576]);
        assert_eq!(n("one and a half times the rate, 1.5x"), [1, 15 / 5, 2]);
        assert_eq!(n("(day + n) % 7, one point per 100 cents"), [24, 7, 1, 100]);
        assert_eq!(n("from -40 degrees"), [-40]);
        assert!(n("no numbers here").is_empty());
    }

    #[test]
    fn a_description_gives_its_quoted_strings() {
        assert_eq!(description_strings(r#"prepend "Mr. " to the last name, don't trim 'x'"#), ["Mr. ", "x"]);
        assert!(description_strings("the user's name isn't quoted").is_empty());
    }

    #[test]
    fn a_description_names_characters_by_word() {
        assert_eq!(description_symbols("replace dashes with dots"), ["-", "."]);
        assert_eq!(description_symbols("pad with zeros; split at the comma"), ["0", ","]);
        assert!(description_symbols("the user's name").is_empty());
    }
}
