//! A description's words as a bag of hashed unigrams and bigrams (feature
//! hashing): the model's fast view of a description. It costs microseconds,
//! so the guide that reads it is ready with the examples' (1–3 ms); the
//! sentence embedding ([`crate::text`]) takes ≈ 20 ms more.
//!
//! Words are runs of letters and digits, lowercased; every other visible
//! character is a word of its own, so `"0xff"`, `<<` and a quoted `","` all
//! count. Each unigram and each bigram of adjacent words is hashed (64-bit
//! FNV-1a, the same on every machine) into one of `buckets` slots.

/// Default number of hash buckets.
pub const WORD_BUCKETS: usize = 4096;

/// The words of `text`, in order.
#[must_use]
pub fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut run = String::new();
    for c in text.chars() {
        if c.is_alphanumeric() {
            run.extend(c.to_lowercase());
            continue;
        }
        if !run.is_empty() {
            out.push(std::mem::take(&mut run));
        }
        if !c.is_whitespace() {
            out.push(c.to_string());
        }
    }
    if !run.is_empty() {
        out.push(run);
    }
    out
}

/// 64-bit FNV-1a of the parts, each followed by a separator byte.
fn fnv1a(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for &b in part.as_bytes().iter().chain(&[0x1f]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

/// The buckets (of `buckets`) that the unigrams and bigrams of `text` fall
/// into, sorted, without repeats. Empty when `buckets` is 0.
#[must_use]
pub fn word_buckets(text: &str, buckets: usize) -> Vec<usize> {
    if buckets == 0 {
        return Vec::new();
    }
    let w = words(text);
    let index = |h: u64| usize::try_from(h % buckets as u64).unwrap_or(0);
    let mut out: Vec<usize> = w.iter().map(|a| index(fnv1a(&[a]))).collect();
    out.extend(w.windows(2).map(|p| index(fnv1a(&[&p[0], &p[1]]))));
    out.sort_unstable();
    out.dedup();
    out
}

/// The bag as a dense vector of `buckets` values: 1/√k in each of the k
/// buckets hit, so a long description weighs no more than a short one. All
/// zeros without a description (or an empty one).
#[must_use]
pub fn word_bag(text: Option<&str>, buckets: usize) -> Vec<f32> {
    let mut v = vec![0.0f32; buckets];
    let hit = text.map(|t| word_buckets(t, buckets)).unwrap_or_default();
    if !hit.is_empty() {
        let w = 1.0 / (hit.len() as f32).sqrt();
        for i in hit {
            v[i] = w;
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_keep_numbers_and_symbols() {
        assert_eq!(
            words("Shift x LEFT by 8, then AND 0xff"),
            ["shift", "x", "left", "by", "8", ",", "then", "and", "0xff"]
        );
        assert_eq!(words("join \",\" and s  << 2"), ["join", "\"", ",", "\"", "and", "s", "<", "<", "2"]);
        assert!(words("  ").is_empty());
    }

    #[test]
    fn bags_are_stable_and_tell_word_order_apart() {
        let a = word_buckets("shift left by 8", WORD_BUCKETS);
        assert_eq!(a, word_buckets("Shift  LEFT by 8", WORD_BUCKETS));
        // Unigrams alike, bigrams not.
        let b = word_buckets("left shift 8 by", WORD_BUCKETS);
        assert_ne!(a, b);
        assert!(a.iter().all(|&i| i < WORD_BUCKETS));
        // Fixed hashes (the committed weights depend on them): FNV-1a of "a\x1f".
        assert_eq!(fnv1a(&["a"]), 0x089b_e907_b544_fdc9);
    }

    #[test]
    fn a_bag_has_unit_length_or_is_empty() {
        let v = word_bag(Some("clear the lowest set bit"), 512);
        let norm: f32 = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5, "{norm}");
        assert!(word_bag(None, 512).iter().all(|&x| x == 0.0));
        assert!(word_bag(Some(" "), 512).iter().all(|&x| x == 0.0));
        assert!(word_bag(Some("x"), 0).is_empty());
    }
}
