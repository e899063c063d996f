//! The clap-free entry points behind `tracesynth synth`.

use std::time::Duration;

use synth_engine::cli::{run_examples_with, run_sygus};
use synth_engine::emit::Lang;
use synth_engine::search::SearchLimits;
use synth_engine::Error;

#[test]
fn sygus_file_gives_define_fun() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("t.sl");
    std::fs::write(
        &f,
        "(set-logic BV)\n(synth-fun f ((x (_ BitVec 32))) (_ BitVec 32) ((Start (_ BitVec 32))) ((Start (_ BitVec 32) (x #x00000001 (bvand Start Start) (bvsub Start Start)))))\n(constraint (= (f #x0000000c) #x00000008))\n(constraint (= (f #x00000007) #x00000006))\n(check-synth)\n",
    )
    .unwrap();
    let out = run_sygus(&f, Duration::from_secs(30)).unwrap();
    assert_eq!(out, "(define-fun f ((x (_ BitVec 32))) (_ BitVec 32) (bvand x (bvsub x #x00000001)))");
}

#[test]
fn malformed_sygus_names_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("bad.sl");
    std::fs::write(
        &f,
        "(set-logic BV)\n(synth-fun f ((x (_ BitVec 32))) (_ BitVec 32))\n(constraint (= (f #x00000001) #x01)\n",
    )
    .unwrap();
    let err = run_sygus(&f, Duration::from_secs(5)).unwrap_err();
    assert!(err.to_string().contains("line 3"), "{err}");
    let err = run_sygus(dir.path().join("missing.sl"), Duration::from_secs(5)).unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err}");
}

#[test]
fn a_case_per_example_is_emitted_only_with_a_note_that_it_memorizes() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("ex.json");
    std::fs::write(
        &f,
        r#"{"function": "f", "params": [{"name": "x", "type": "int"}], "output_type": "int",
            "examples": [{"args": [1], "output": 1}, {"args": [2], "output": 0}, {"args": [5], "output": 5}]}"#,
    )
    .unwrap();
    let run =
        run_examples_with(&f, Lang::Python, None, None, &SearchLimits::for_examples(Duration::from_secs(2))).unwrap();
    assert!(run.term.starts_with("(ite "), "{}", run.term);
    assert!(run.report.passed(), "{:#?}", run.report);
    assert!(
        run.report.notes.iter().any(|n| n.contains("fits the examples only by a case split")),
        "{:?}",
        run.report.notes
    );
    // Two examples of each case make a rule: no note.
    std::fs::write(
        &f,
        r#"{"function": "f", "params": [{"name": "x", "type": "int"}], "output_type": "int",
            "examples": [{"args": [1], "output": 1}, {"args": [2], "output": 0}, {"args": [5], "output": 5},
                         {"args": [8], "output": 0}]}"#,
    )
    .unwrap();
    let run =
        run_examples_with(&f, Lang::Python, None, None, &SearchLimits::for_examples(Duration::from_secs(10))).unwrap();
    assert!(!run.report.notes.iter().any(|n| n.contains("fits the examples only")), "{:?}", run.report.notes);
}

#[test]
fn examples_file_gives_code_tests_and_report() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("ex.json");
    std::fs::write(
        &f,
        r#"{"function": "clear_lowest", "params": [{"name": "x", "type": "uint32_t"}], "output_type": "uint32_t",
            "examples": [{"args": [12], "output": 8}, {"args": [7], "output": 6}, {"args": [16], "output": 0},
                         {"args": [0], "output": 0}, {"args": [4294967295], "output": 4294967294}]}"#,
    )
    .unwrap();
    let out = dir.path().join("out");
    let limits = SearchLimits { timeout: Duration::from_secs(60), ..SearchLimits::default() };
    let run = run_examples_with(&f, Lang::Python, Some("clears the lowest set bit"), Some(&out), &limits).unwrap();
    assert!(run.report.passed(), "{:#?}", run.report);
    assert_eq!(run.report.tests_total, 5);
    assert!(run.code.contains("def clear_lowest(x: int) -> int:"), "{}", run.code);
    assert!(run.code.contains("clears the lowest set bit"));
    for name in ["solution.py", "test_solution.py", "report.json"] {
        assert!(out.join(name).exists(), "{name}");
    }
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["report"]["tests_passed"], 5);
}

#[test]
fn contradicting_examples_name_both() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("ex.json");
    std::fs::write(
        &f,
        r#"{"function": "g", "params": [{"name": "s", "type": "string"}], "output_type": "string",
            "examples": [{"args": ["a"], "output": "b"}, {"args": ["c"], "output": "d"}, {"args": ["a"], "output": "e"}]}"#,
    )
    .unwrap();
    let err = run_examples_with(&f, Lang::Rust, None, None, &SearchLimits::default()).unwrap_err();
    assert_eq!(err.to_string(), "examples 1 and 3 have the same input but different outputs (\"b\" vs \"e\")");
}

#[test]
fn list_examples_give_checked_python_and_bad_list_specs_a_clear_error() {
    use synth_engine::cli::run_list_examples;
    use synth_engine::lists::CoreOpsFirst;
    if !test_support::ci::require_tool("list_examples_give_checked_python", "python3") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let spec = |examples: &str, ty: &str| {
        format!(
            r#"{{"function": "running_max", "params": [{{"name": "xs", "type": "{ty}"}}],
                "output_type": "list[int]", "examples": [{examples}]}}"#
        )
    };
    let good = dir.path().join("good.json");
    std::fs::write(
        &good,
        spec(r#"{"args": [[3, 1, 4, 1, 5]], "output": [3, 3, 4, 4, 5]}, {"args": [[2, 7, 1, 8]], "output": [2, 7, 7, 8]}"#, "list[int]"),
    )
    .unwrap();
    let out = dir.path().join("out");
    let run = run_list_examples(&good, Lang::Python, None, Some(&out), Duration::from_secs(10), &CoreOpsFirst).unwrap();
    assert_eq!(run.program, "Scanl1(lambda u1, u2: Max(u1, u2), xs)");
    assert!(run.code.contains("list(itertools.accumulate(xs, lambda x, y: max(x, y)))"), "{}", run.code);
    assert_eq!((run.report.tests_passed, run.report.tests_total), (2, 2), "{:?}", run.report);
    assert!(out.join("solution.py").exists() && out.join("report.json").exists());

    let failing = |name: &str, text: String, lang: Lang| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        run_list_examples(&path, lang, None, None, Duration::from_secs(5), &CoreOpsFirst).unwrap_err().to_string()
    };
    let err = failing(
        "contradiction.json",
        spec(r#"{"args": [[1]], "output": [1]}, {"args": [[1]], "output": [2]}"#, "list[int]"),
        Lang::Python,
    );
    assert!(err.contains("examples 1 and 2 have the same inputs and different outputs"), "{err}");
    let err = failing("strings.json", spec(r#"{"args": [["a"]], "output": [1]}"#, "list[str]"), Lang::Python);
    assert!(err.contains("unknown type `list[str]`"), "{err}");
    let err = failing(
        "keyword.json",
        spec(r#"{"args": [[1, 2]], "output": [1, 2]}"#, "list[int]").replace("\"xs\"", "\"for\""),
        Lang::C,
    );
    assert!(err.contains("`for` is not a valid identifier"), "{err}");

    // The same task in C: one translation unit, checked by gcc and its examples.
    if test_support::ci::require_tool("list_examples_give_checked_c", "gcc") {
        let out = dir.path().join("out-c");
        let run = run_list_examples(&good, Lang::C, None, Some(&out), Duration::from_secs(10), &CoreOpsFirst).unwrap();
        assert!(
            run.code.contains("int64_t running_max(const int64_t *xs, int64_t xs_len, int64_t *out, int64_t out_len)"),
            "{}",
            run.code
        );
        assert_eq!((run.report.tests_passed, run.report.tests_total), (2, 2), "{:?}", run.report);
        assert!(run.report.warnings.is_empty(), "{:?}", run.report.warnings);
    }
}
