//! The burn BERT against the reference implementation (sentence-transformers):
//! vectors in `fixtures/reference-embeddings.json`, made by `cargo xtask ref-vectors`.
//!
//! Needs the pretrained model files (`cargo xtask setup`). Without them the
//! tests fail under CI (`CI=true`) and are skipped with a note elsewhere.

use burn::prelude::*;
use synth_model::text::{default_model_dir, model_files_present, TextEncoder, TEXT_DIM};

#[derive(serde::Deserialize)]
struct Fixture {
    sentences: Vec<String>,
    vectors: Vec<Vec<f32>>,
    token_ids: std::collections::HashMap<String, Vec<u32>>,
}

fn fixture() -> Fixture {
    let text = include_str!("fixtures/reference-embeddings.json");
    serde_json::from_str(text).expect("fixture parses")
}

/// The encoder, or `None` when its files are absent (a failure under CI).
fn encoder() -> Option<TextEncoder> {
    let dir = default_model_dir();
    if !model_files_present(&dir) {
        test_support::ci::skip(
            "text encoder tests",
            &format!("the pretrained text encoder is missing at {}: run `cargo xtask setup`", dir.display()),
        );
        return None;
    }
    Some(TextEncoder::load(&dir, &Device::flex()).expect("encoder loads"))
}

fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| f64::from(*x) * f64::from(*y)).sum();
    let na: f64 = a.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    let nb: f64 = b.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    dot / (na * nb)
}

#[test]
fn embeddings_match_sentence_transformers() {
    let Some(enc) = encoder() else { return };
    let f = fixture();
    let refs: Vec<&str> = f.sentences.iter().map(String::as_str).collect();
    // One batch (padded) and one at a time must both match.
    let batch = enc.embed(&refs).unwrap();
    for (i, (s, want)) in f.sentences.iter().zip(&f.vectors).enumerate() {
        assert_eq!(want.len(), TEXT_DIM);
        let single = enc.embed(&[s]).unwrap().remove(0);
        for got in [&batch[i], &single] {
            let c = cosine(got, want);
            assert!(c >= 0.9999, "cosine {c} for {s:?}");
            let norm: f32 = got.iter().map(|x| x * x).sum::<f32>().sqrt();
            assert!((norm - 1.0).abs() < 1e-4, "norm {norm}");
        }
    }
}

#[test]
fn tokenizer_ids_match_the_reference_tokenizer() {
    let Some(enc) = encoder() else { return };
    let f = fixture();
    for (s, want) in &f.token_ids {
        assert_eq!(&enc.token_ids(s).unwrap(), want, "{s:?}");
    }
    // [CLS] clear the lowest set bit [SEP]
    assert_eq!(enc.token_ids("clear the lowest set bit").unwrap(), vec![101, 3154, 1996, 7290, 2275, 2978, 102]);
}
