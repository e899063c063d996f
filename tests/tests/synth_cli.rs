//! `tracesynth synth` from the command line: SyGuS in, `(define-fun ...)` out; examples in,
//! verified code out; bad input gets a clear message and a non-zero exit.
use tests::{run_tracesynth, set_binary};

const CLEAR_LOWEST: &str = r#"(set-logic BV)
(synth-fun f ((x (_ BitVec 32))) (_ BitVec 32))
(declare-var x (_ BitVec 32))
(constraint (= (f #x0000000c) #x00000008))
(constraint (= (f #x00000000) #x00000000))
(constraint (= (f #x00000007) #x00000006))
(constraint (= (f #x80000000) #x00000000))
(constraint (= (f #x0000000a) #x00000008))
(check-synth)
"#;

#[test]
fn solves_a_sygus_file() {
    set_binary(env!("CARGO_BIN_EXE_tracesynth-under-test"));
    let dir = tempfile::tempdir().unwrap();
    let sl = dir.path().join("clear.sl");
    std::fs::write(&sl, CLEAR_LOWEST).unwrap();
    let (code, out, err) = run_tracesynth(&["synth", "--sygus", sl.to_str().unwrap(), "--timeout", "10"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("(define-fun f ((x (_ BitVec 32))) (_ BitVec 32)"), "{out}");
}

#[test]
fn emits_verified_code_from_examples() {
    set_binary(env!("CARGO_BIN_EXE_tracesynth-under-test"));
    let dir = tempfile::tempdir().unwrap();
    let ex = dir.path().join("ex.json");
    std::fs::write(
        &ex,
        r#"{"function": "clear_lowest", "params": [{"name": "x", "type": "uint32_t"}], "output_type": "uint32_t",
            "examples": [{"args": [12], "output": 8}, {"args": [0], "output": 0}, {"args": [7], "output": 6},
                         {"args": [2147483648], "output": 0}, {"args": [10], "output": 8}]}"#,
    )
    .unwrap();
    let out = dir.path().join("out");
    let (code, _, err) =
        run_tracesynth(&["synth", "--examples", ex.to_str().unwrap(), "--lang", "c", "--out", out.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["report"]["tests_passed"], 5, "{report}");
    let code_files: Vec<_> = std::fs::read_dir(&out).unwrap().filter_map(Result::ok).map(|e| e.file_name()).collect();
    assert!(code_files.len() >= 3, "{code_files:?}");
}

#[test]
fn malformed_sygus_is_rejected() {
    set_binary(env!("CARGO_BIN_EXE_tracesynth-under-test"));
    let dir = tempfile::tempdir().unwrap();
    let sl = dir.path().join("bad.sl");
    std::fs::write(&sl, "(set-logic BV)\n(synth-fun f ((x (_ BitVec 32)) (_ BitVec 32))\n").unwrap();
    let (code, _, err) = run_tracesynth(&["synth", "--sygus", sl.to_str().unwrap()]);
    assert_ne!(code, 0);
    assert!(err.starts_with("error:"), "{err}");
    let (code, _, err) = run_tracesynth(&["synth", "--sygus", "/nonexistent.sl"]);
    assert_ne!(code, 0);
    assert!(err.contains("/nonexistent.sl"), "{err}");
}

#[test]
fn learned_and_uniform_guides_both_solve_and_a_missing_encoder_falls_back_with_a_warning() {
    set_binary(env!("CARGO_BIN_EXE_tracesynth-under-test"));
    let dir = tempfile::tempdir().unwrap();
    let sl = dir.path().join("clear.sl");
    std::fs::write(&sl, CLEAR_LOWEST).unwrap();
    for guide in ["uniform", "learned"] {
        let (code, out, err) = run_tracesynth(&["synth", "--sygus", sl.to_str().unwrap(), "--guide", guide]);
        assert_eq!(code, 0, "{guide}: {err}");
        assert!(out.starts_with("(define-fun f"), "{guide}: {out}");
        assert!(!err.contains("warning"), "{guide}: {err}");
    }
    let empty = dir.path().join("no-model");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tracesynth-under-test"))
        .args(["synth", "--sygus", sl.to_str().unwrap(), "--guide", "learned"])
        .env("TRACESYNTH_MODEL_DIR", &empty)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("warning: learned guide unavailable") && err.contains("cargo xtask setup"), "{err}");
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("(define-fun f"));
    let (code, _, err) = run_tracesynth(&["synth", "--sygus", sl.to_str().unwrap(), "--guide", "smart"]);
    assert_ne!(code, 0);
    assert!(err.contains("smart"), "{err}");
}

#[test]
fn by_default_the_search_has_the_common_constants_the_examples_do_not_show() {
    set_binary(env!("CARGO_BIN_EXE_tracesynth-under-test"));
    let dir = tempfile::tempdir().unwrap();
    let ex = dir.path().join("byte.json");
    // (x >> 8) & 0xff: neither constant is in the examples or the plain default grammar;
    // the default search adds the common constants (the prior guide, then the model's).
    let xs = [0x1234_5678u64, 0xdead_beef, 0x0000_ff00, 0xffff_ffff, 0x8000_0001, 42, 0x00ab_cdef, 0x7fff_0100];
    let examples: Vec<String> =
        xs.iter().map(|x| format!(r#"{{"args": [{x}], "output": {}}}"#, (x >> 8) & 0xff)).collect();
    std::fs::write(
        &ex,
        format!(r#"{{"function": "byte1", "params": [{{"name": "x", "type": "u32"}}], "output_type": "u32", "examples": [{}]}}"#, examples.join(", ")),
    )
    .unwrap();
    let (code, out, err) =
        run_tracesynth(&["synth", "--examples", ex.to_str().unwrap(), "--lang", "python", "--timeout", "10"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("def byte1") && out.to_lowercase().contains("0xff"), "{out}");
    let report: serde_json::Value = serde_json::from_str(err.trim()).unwrap_or_default();
    assert_eq!(report["tests_passed"], 8, "{err}");
    // Plain uniform costs have no 0xff to start from.
    let (code, _, err) =
        run_tracesynth(&["synth", "--examples", ex.to_str().unwrap(), "--guide", "uniform", "--timeout", "2"]);
    assert_ne!(code, 0);
    assert!(err.contains("no solution found"), "{err}");
}

#[test]
fn the_list_guide_is_learned_by_default_and_missing_weights_fall_back_with_a_warning() {
    set_binary(env!("CARGO_BIN_EXE_tracesynth-under-test"));
    let dir = tempfile::tempdir().unwrap();
    let ex = dir.path().join("evens.json");
    std::fs::write(
        &ex,
        r#"{"function": "sum_odd", "params": [{"name": "xs", "type": "list[int]"}], "output_type": "int",
            "examples": [{"args": [[1, 2, 3, 4, 5]], "output": 9}, {"args": [[7, -3, 10]], "output": 4},
                         {"args": [[2, 6, 11]], "output": 11}, {"args": [[8, 2, 6, 4]], "output": 0}]}"#,
    )
    .unwrap();
    let run = |guide: Option<&str>, weights: Option<&std::path::Path>| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_tracesynth-under-test"));
        cmd.args(["synth", "--examples", ex.to_str().unwrap(), "--lang", "python"]);
        if let Some(g) = guide {
            cmd.args(["--guide", g]);
        }
        if let Some(w) = weights {
            cmd.env("TRACESYNTH_GUIDE_DIR", w);
        }
        let out = cmd.output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    for guide in [None, Some("learned"), Some("uniform")] {
        let (ok, out, err) = run(guide, None);
        assert!(ok, "{guide:?}: {err}");
        assert!(out.contains("def sum_odd(xs"), "{guide:?}: {out}");
        assert!(!err.contains("warning:"), "{guide:?}: {err}");
    }
    // Without the list model's weights: `--guide learned` says so and searches with
    // uniform costs; the default stays quiet (the core-first prior).
    let empty = dir.path().join("no-weights");
    let (ok, out, err) = run(Some("learned"), Some(&empty));
    assert!(ok, "{err}");
    assert!(err.contains("warning: learned list guide unavailable") && err.contains("train --lists"), "{err}");
    assert!(out.contains("def sum_odd(xs"), "{out}");
    let (ok, _, err) = run(None, Some(&empty));
    assert!(ok && !err.contains("warning:"), "{err}");
}

#[test]
fn functions_with_several_outputs_and_struct_results_are_synthesized_from_examples_and_bad_outputs_are_refused() {
    set_binary(env!("CARGO_BIN_EXE_tracesynth-under-test"));
    let dir = tempfile::tempdir().unwrap();
    let run = |name: &str, spec: &str, lang: &str| {
        let path = dir.path().join(format!("{name}.json"));
        std::fs::write(&path, spec).unwrap();
        let (code, out, err) =
            run_tracesynth(&["synth", "--examples", path.to_str().unwrap(), "--lang", lang, "--timeout", "20"]);
        (code == 0, out, err)
    };
    // Exchanges two buffers and returns the last element of the first as it came: each
    // output is computed from the inputs before any buffer is written.
    let swap = r#"{"function": "swap_last", "params": [{"name": "a", "type": "list[int]"}, {"name": "b", "type": "list[int]"}],
        "outputs": {"a": "list[int]", "b": "list[int]", "return": "int"},
        "examples": [
          {"args": [[1, 2, 3], [4, 0, 6]], "output": {"return": 3, "a": [4, 0, 6], "b": [1, 2, 3]}},
          {"args": [[5, 9], [2, 2]], "output": {"return": 9, "a": [2, 2], "b": [5, 9]}},
          {"args": [[-3, -8, 0, 1], [7, 7, 7, 7]], "output": {"return": 1, "a": [7, 7, 7, 7], "b": [-3, -8, 0, 1]}}]}"#;
    for (lang, signature) in [
        ("python", "def swap_last(a: list[int], b: list[int]) -> int:"),
        ("rust", "pub fn swap_last(a: &mut [i64], b: &mut [i64]) -> i64 {"),
        ("c", "int64_t swap_last(int64_t *a, int64_t a_len, int64_t *b, int64_t b_len) {"),
    ] {
        let (ok, out, err) = run("swap", swap, lang);
        assert!(ok, "{lang}: {err}");
        assert!(out.contains(signature), "{lang}: {out}");
        assert!(err.contains("\"tests_passed\": 3") && err.contains("\"tests_total\": 3"), "{lang}: {err}");
    }
    // A struct built and returned, a struct written through its pointer, and a list written
    // in place beside an array of structs.
    let structs = [
        (
            "min_max",
            r#"{"function": "min_max", "types": {"range": {"lo": "int", "hi": "int"}},
                "params": [{"name": "xs", "type": "list[int]"}], "output_type": "range",
                "examples": [{"args": [[3, 1, 4]], "output": {"lo": 1, "hi": 4}},
                             {"args": [[-5, 9, 2, 7]], "output": {"lo": -5, "hi": 9}},
                             {"args": [[6]], "output": {"lo": 6, "hi": 6}},
                             {"args": [[8, 8, -1]], "output": {"lo": -1, "hi": 8}}]}"#,
            "return Range(lo=min(xs), hi=max(xs))",
        ),
        (
            "summarize",
            r#"{"function": "summarize", "types": {"stats": {"count": "int", "total": "int"}},
                "params": [{"name": "xs", "type": "list[int]"}, {"name": "out", "type": "stats"}],
                "outputs": {"out": "stats", "return": "int"},
                "examples": [
                  {"args": [[3, 1, 4], {"count": 0, "total": 0}], "output": {"out": {"count": 3, "total": 8}, "return": 4}},
                  {"args": [[-5, 9, 2, 7], {"count": 7, "total": 1}], "output": {"out": {"count": 4, "total": 13}, "return": 9}},
                  {"args": [[6], {"count": 0, "total": 0}], "output": {"out": {"count": 1, "total": 6}, "return": 6}},
                  {"args": [[8, 8, -1, 0, 2], {"count": 2, "total": 2}], "output": {"out": {"count": 5, "total": 17}, "return": 8}}]}"#,
            "    out.count = len(xs)\n    out.total = sum(xs)\n    return max(xs)",
        ),
        (
            "restock",
            r#"{"function": "restock", "types": {"item": {"qty": "int", "price": "int"}},
                "params": [{"name": "items", "type": "list[item]"}, {"name": "a", "type": "list[int]"}],
                "outputs": {"a": "list[int]"},
                "examples": [
                  {"args": [[{"qty": 1, "price": 5}, {"qty": 2, "price": 7}], [10, 20]], "output": {"a": [11, 22]}},
                  {"args": [[{"qty": 3, "price": 1}], [0]], "output": {"a": [3]}},
                  {"args": [[{"qty": 0, "price": 1}, {"qty": 5, "price": 2}, {"qty": 4, "price": 4}], [1, 1, 1]],
                   "output": {"a": [1, 6, 5]}}]}"#,
            "a[:] = [x + y for x, y in zip([it.qty for it in items], a)]",
        ),
    ];
    for (name, spec, python) in structs {
        for lang in ["python", "rust", "c"] {
            let (ok, out, err) = run(name, spec, lang);
            assert!(ok, "{name} {lang}: {err}");
            assert!(!err.contains("FAILED"), "{name} {lang}: {err}");
            if lang == "python" {
                assert!(out.contains(python), "{name}: {out}");
            }
        }
    }
    // An array of structs returned, built field by field: Python and Rust; C returns no
    // array, so it is refused with the reason and a failing exit.
    let priced = r#"{"function": "priced", "types": {"item": {"qty": "int", "price": "int"}},
        "params": [{"name": "qtys", "type": "list[int]"}, {"name": "unit", "type": "int"}],
        "output_type": "list[item]",
        "examples": [
          {"args": [[1, 2, 3], 10], "output": [{"qty": 1, "price": 10}, {"qty": 2, "price": 20}, {"qty": 3, "price": 30}]},
          {"args": [[5], 3], "output": [{"qty": 5, "price": 15}]},
          {"args": [[0, 7, 4, 2], 6],
           "output": [{"qty": 0, "price": 0}, {"qty": 7, "price": 42}, {"qty": 4, "price": 24}, {"qty": 2, "price": 12}]},
          {"args": [[], 4], "output": []}]}"#;
    for (lang, code) in [
        ("python", "return [Item(qty=qty, price=price) for qty, price in zip(qtys, [x * unit for x in qtys])]"),
        ("rust", "(0..n).map(|i| Item { qty: qty[i], price: price[i] }).collect()"),
    ] {
        let (ok, out, err) = run("priced", priced, lang);
        assert!(ok, "{lang}: {err}");
        assert!(out.contains(code), "{lang}: {out}");
        assert!(err.contains("\"tests_passed\": 4") && err.contains("\"tests_total\": 4"), "{lang}: {err}");
    }
    let (ok, _, err) = run("priced", priced, "c");
    assert!(!ok && err.contains("C returns no array"), "{err}");
    // Outputs that are not the function's: a clear message and a failing exit.
    let bad = r#"{"function": "f", "params": [{"name": "a", "type": "list[int]"}],
        "outputs": {"out": "list[int]"}, "examples": [{"args": [[1]], "output": {"out": [2]}}]}"#;
    let (ok, _, err) = run("bad", bad, "python");
    assert!(!ok && err.contains("output `out` is neither `return` nor a parameter"), "{err}");
}
