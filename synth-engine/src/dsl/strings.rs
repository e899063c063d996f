//! SMT-LIB string operators over Unicode code points, with their exact edge
//! semantics. ASCII strings take a byte-indexed fast path.

/// Number of characters (`str.len`).
#[must_use]
pub fn len(s: &str) -> i128 {
    if s.is_ascii() {
        s.len() as i128
    } else {
        s.chars().count() as i128
    }
}

/// Byte offset of the `i`-th character (or `s.len()` when `i == len`).
fn byte_at(s: &str, i: usize) -> usize {
    if s.is_ascii() {
        return i.min(s.len());
    }
    s.char_indices().nth(i).map_or(s.len(), |(b, _)| b)
}

/// `str.substr s i n`: the longest substring of `s` starting at `i` with at
/// most `n` characters; empty when `i` is out of `[0, len)` or `n <= 0`.
#[must_use]
pub fn substr(s: &str, i: i128, n: i128) -> String {
    let l = len(s);
    if i < 0 || i >= l || n <= 0 {
        return String::new();
    }
    let end = if n > l - i { l } else { i + n };
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "0 <= i <= end <= len")]
    let (a, b) = (byte_at(s, i as usize), byte_at(s, end as usize));
    s[a..b].to_string()
}

/// `str.at s i` = `str.substr s i 1`.
#[must_use]
pub fn at(s: &str, i: i128) -> String {
    substr(s, i, 1)
}

/// `str.indexof s t i`: the first position `>= i` where `t` occurs in `s`;
/// `-1` when there is none or `i` is outside `[0, len s]`. An empty `t`
/// occurs at `i`.
#[must_use]
pub fn indexof(s: &str, t: &str, i: i128) -> i128 {
    let l = len(s);
    if i < 0 || i > l {
        return -1;
    }
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "0 <= i <= len")]
    let start = byte_at(s, i as usize);
    match s[start..].find(t) {
        None => -1,
        Some(b) => {
            if s.is_ascii() {
                (start + b) as i128
            } else {
                s[..start + b].chars().count() as i128
            }
        }
    }
}

/// `str.replace s t u`: replaces the first occurrence of `t` in `s` by `u`;
/// an empty `t` prepends `u`.
#[must_use]
pub fn replace(s: &str, t: &str, u: &str) -> String {
    if t.is_empty() {
        let mut r = String::with_capacity(u.len() + s.len());
        r.push_str(u);
        r.push_str(s);
        return r;
    }
    s.replacen(t, u, 1)
}

/// `str.replace_all s t u`: replaces every non-overlapping occurrence, left
/// to right; an empty `t` leaves `s` unchanged.
#[must_use]
pub fn replace_all(s: &str, t: &str, u: &str) -> String {
    if t.is_empty() {
        return s.to_string();
    }
    s.replace(t, u)
}

/// `str.to_int s`: the decimal value of `s` when it is a non-empty string of
/// digits `0`-`9`, otherwise `-1`. `None` when the value does not fit in `i128`.
#[must_use]
pub fn to_int(s: &str) -> Option<i128> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Some(-1);
    }
    let mut v: i128 = 0;
    for b in s.bytes() {
        v = v.checked_mul(10)?.checked_add(i128::from(b - b'0'))?;
    }
    Some(v)
}

/// `str.from_int n`: decimal digits of `n` when `n >= 0`, else the empty string.
#[must_use]
pub fn from_int(n: i128) -> String {
    if n < 0 {
        String::new()
    } else {
        n.to_string()
    }
}

/// `str.<`: strict lexicographic order on code points.
#[must_use]
pub fn lt(a: &str, b: &str) -> bool {
    a.chars().lt(b.chars())
}

/// `str.is_digit`: a single character in `0`-`9`.
#[must_use]
pub fn is_digit(s: &str) -> bool {
    s.len() == 1 && s.as_bytes()[0].is_ascii_digit()
}

/// Longest string `str.pad_left` and `str.repeat` build; longer results are evaluation
/// errors, so a search never builds huge strings.
pub const MAX_BUILT: i128 = 4096;

/// `str.to_title`: an ASCII letter that starts the string or follows a character that is
/// not an ASCII letter becomes upper case, every other ASCII letter lower case; the rest
/// is unchanged.
#[must_use]
pub fn to_title(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut after_letter = false;
    for c in s.chars() {
        out.push(if after_letter { c.to_ascii_lowercase() } else { c.to_ascii_uppercase() });
        after_letter = c.is_ascii_alphabetic();
    }
    out
}

/// The characters `str.trim` removes from both ends.
pub const TRIMMED: [char; 4] = [' ', '\t', '\n', '\r'];

/// `str.field s sep i`: the `i`-th piece (from 0) of `s` split at every `sep`, a negative
/// `i` counting from the end (-1 the last piece), as Python indexes `s.split(sep)`; empty
/// past either end. An empty `sep` leaves `s` whole (one piece).
#[must_use]
pub fn field(s: &str, sep: &str, i: i128) -> String {
    let pieces: Vec<&str> = if sep.is_empty() { vec![s] } else { s.split(sep).collect() };
    let n = i128::try_from(pieces.len()).unwrap_or(i128::MAX);
    let k = if i < 0 { n + i } else { i };
    usize::try_from(k).ok().and_then(|k| pieces.get(k)).map_or_else(String::new, |p| (*p).to_string())
}

/// `str.pad_left s w c`: `s` preceded by enough copies of `c` to be `w` characters long,
/// when `c` is one character and `s` is shorter; else `s`. `None` past [`MAX_BUILT`].
#[must_use]
pub fn pad_left(s: &str, w: i128, c: &str) -> Option<String> {
    let l = len(s);
    let mut chars = c.chars();
    let (Some(pad), None) = (chars.next(), chars.next()) else { return Some(s.to_string()) };
    if w <= l {
        return Some(s.to_string());
    }
    if w > MAX_BUILT {
        return None;
    }
    let n = usize::try_from(w - l).ok()?;
    let mut out: String = std::iter::repeat_n(pad, n).collect();
    out.push_str(s);
    Some(out)
}

/// `str.repeat s n`: `s` `n` times; empty for `n <= 0`. `None` past [`MAX_BUILT`].
#[must_use]
pub fn repeat(s: &str, n: i128) -> Option<String> {
    if n <= 0 || s.is_empty() {
        return Some(String::new());
    }
    if len(s).checked_mul(n)? > MAX_BUILT {
        return None;
    }
    Some(s.repeat(usize::try_from(n).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_operators_people_use() {
        assert_eq!(to_title("hELLO wORLD-x 2nd"), "Hello World-X 2Nd");
        assert_eq!(to_title("élan o'neil"), "éLan O'Neil");
        assert_eq!(field("x,y,,z", ",", 0), "x");
        assert_eq!(field("x,y,,z", ",", 2), "");
        assert_eq!(field("x,y,,z", ",", 3), "z");
        assert_eq!(field("x,y,,z", ",", 4), "");
        assert_eq!(field("x,y,,z", ",", -1), "z");
        assert_eq!(field("x,y,,z", ",", -4), "x");
        assert_eq!(field("x,y,,z", ",", -5), "");
        assert_eq!(field("x,y", "", -1), "x,y");
        assert_eq!(field("x,y", "", 0), "x,y");
        assert_eq!(field("x,y", "", 1), "");
        assert_eq!(pad_left("7", 3, "0").as_deref(), Some("007"));
        assert_eq!(pad_left("1234", 3, "0").as_deref(), Some("1234"));
        assert_eq!(pad_left("7", 3, "ab").as_deref(), Some("7"), "the pad must be one character");
        assert_eq!(pad_left("7", MAX_BUILT + 1, "0"), None);
        assert_eq!(repeat("ab", 3).as_deref(), Some("ababab"));
        assert_eq!(repeat("ab", -2).as_deref(), Some(""));
        assert_eq!(repeat("ab", MAX_BUILT), None);
        assert_eq!(" \t a b \r\n".trim_matches(&TRIMMED[..]), "a b");
    }

    #[test]
    fn substr_edges() {
        assert_eq!(substr("hello", 1, 3), "ell");
        assert_eq!(substr("hello", 3, 10), "lo");
        assert_eq!(substr("hello", 5, 1), "");
        assert_eq!(substr("hello", -1, 2), "");
        assert_eq!(substr("hello", 0, 0), "");
        assert_eq!(substr("hello", 0, -2), "");
        assert_eq!(substr("héllo", 1, 2), "él");
        assert_eq!(at("abc", 2), "c");
        assert_eq!(at("abc", 3), "");
    }

    #[test]
    fn indexof_edges() {
        assert_eq!(indexof("abcabc", "c", 0), 2);
        assert_eq!(indexof("abcabc", "c", 3), 5);
        assert_eq!(indexof("abc", "", 3), 3);
        assert_eq!(indexof("abc", "", 4), -1);
        assert_eq!(indexof("abc", "a", -1), -1);
        assert_eq!(indexof("abc", "d", 0), -1);
        assert_eq!(indexof("éa", "a", 0), 1);
    }

    #[test]
    fn replace_and_conversions() {
        assert_eq!(replace("aXbX", "X", "-"), "a-bX");
        assert_eq!(replace("ab", "", "-"), "-ab");
        assert_eq!(replace_all("aXbX", "X", "-"), "a-b-");
        assert_eq!(replace_all("ab", "", "-"), "ab");
        assert_eq!(to_int("0042"), Some(42));
        assert_eq!(to_int(""), Some(-1));
        assert_eq!(to_int("-3"), Some(-1));
        assert_eq!(to_int("4a"), Some(-1));
        assert_eq!(to_int(&"9".repeat(60)), None);
        assert_eq!(from_int(-5), "");
        assert_eq!(from_int(120), "120");
        assert!(lt("ab", "abc") && !lt("b", "abc"));
        assert!(is_digit("7") && !is_digit("77"));
    }
}
