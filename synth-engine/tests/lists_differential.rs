//! Random list programs (lambdas of one and two arguments, nested higher-order
//! operators, every operator of the list language) agree in the interpreter, in the
//! emitted Python run by `python3`, in the emitted Rust compiled by `rustc` (with
//! overflow checks, as in a debug build) and in the emitted C compiled by `gcc`
//! (`-Wall -Wextra -Werror`, less the self-comparisons random programs make; asserts on), on random inputs: the same value, or an error
//! in all four. A quarter of the list programs leave their result in their first
//! parameter (in place), as a traced `void f(int *a, ...)` does; there the buffer after
//! the call is compared. Programs over an array of structs (records) are checked the
//! same way through the tests each emitter writes.

use std::fmt::Write as _;
use std::process::Command;

use synth_engine::emit::Lang;
use synth_engine::lists::{
    emit_list_function, run, CPrototype, Expr, LType, LValue, ListOp, ListProblem, RunError, Slot,
};

/// A deterministic stream of numbers.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).unwrap()
    }

    fn int(&mut self, lo: i64, hi: i64) -> i64 {
        lo + i64::try_from(self.next() % u64::try_from(hi - lo + 1).unwrap()).unwrap()
    }
}

const PARAMS: [(&str, LType); 3] = [("xs", LType::List), ("ys", LType::List), ("n", LType::Int)];

/// A random program of type `ty`; `arity` is the innermost lambda's (0 outside one).
fn gen(rng: &mut Lcg, ty: LType, depth: u32, arity: u8) -> Expr {
    let leaf = depth == 0 || rng.below(4) == 0;
    if leaf {
        return match ty {
            LType::List => Expr::Input(rng.below(2)),
            LType::Bool => Expr::Apply(ListOp::IsEven, vec![gen(rng, LType::Int, 0, arity)]),
            LType::Int => match rng.below(3) {
                0 if arity > 0 => Expr::Bound(u8::try_from(rng.below(usize::from(arity))).unwrap()),
                1 => Expr::Input(2),
                _ => Expr::Const(rng.int(-3, 4)),
            },
        };
    }
    // The searched operators and C's division, which programs get by rewriting.
    let ops: Vec<ListOp> =
        ListOp::ALL.iter().chain(&[ListOp::Quot, ListOp::Rem]).copied().filter(|o| o.result() == ty).collect();
    let op = ops[rng.below(ops.len())];
    let args = op
        .slots()
        .iter()
        .map(|s| match s {
            Slot::Value(t) if op == ListOp::Replicate && *t == LType::Int && rng.below(2) == 0 => Expr::Const(3),
            Slot::Value(t) => gen(rng, *t, depth - 1, arity),
            Slot::Lambda(a, t) => gen(rng, *t, depth - 1, *a),
        })
        .collect();
    Expr::Apply(op, args)
}

/// A random program that keeps the length of `xs`, its result meant to replace `xs` in
/// place: an element-wise operator over `xs` (or a reordering of it).
fn gen_in_place(rng: &mut Lcg) -> Expr {
    let xs = Expr::Input(0);
    match rng.below(5) {
        0 => Expr::Apply(ListOp::Map, vec![gen(rng, LType::Int, 3, 1), xs]),
        1 => Expr::Apply(ListOp::Scanl1, vec![gen(rng, LType::Int, 3, 2), xs]),
        2 => Expr::Apply(ListOp::ZipWith, vec![gen(rng, LType::Int, 3, 2), xs.clone(), xs]),
        3 => Expr::Apply(ListOp::Reverse, vec![xs]),
        _ => Expr::Apply(ListOp::Map, vec![gen(rng, LType::Int, 3, 1), Expr::Apply(ListOp::Sort, vec![xs])]),
    }
}

fn list(rng: &mut Lcg) -> LValue {
    let n = rng.below(6);
    LValue::List((0..n).map(|_| rng.int(-9, 9)).collect::<Vec<i64>>().into())
}

/// What a run gives, as the drivers print it: JSON, or `error`.
fn shown(r: &Result<LValue, RunError>) -> String {
    match r {
        Ok(v) => v.to_json().to_string(),
        Err(_) => "error".into(),
    }
}

/// Whether `python3`, `rustc` and `gcc` are all there (CI requires them).
fn have_compilers() -> bool {
    ["python3", "rustc", "gcc"].iter().all(|tool| test_support::ci::require_tool("lists_differential", tool))
}

#[test]
fn interpreter_python_rust_and_c_agree_on_random_programs() {
    if !have_compilers() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut c_files: Vec<String> = Vec::new();
    let mut c_main = String::from(
        "#define _POSIX_C_SOURCE 200809L\n#include <stdbool.h>\n#include <stdint.h>\n#include <stdio.h>\n\
         #include <sys/types.h>\n#include <sys/wait.h>\n#include <unistd.h>\n\n\
         static void show_list(const int64_t *v, int64_t n) {\n    printf(\"[\");\n    \
         for (int64_t i = 0; i < n; i++) {\n        printf(i ? \",%lld\" : \"%lld\", (long long)v[i]);\n    }\n    \
         printf(\"]\\n\");\n}\n\n",
    );
    let mut c_cases = String::from("int main(void) {\n    int64_t out[4096];\n    (void)out;\n");
    let mut rng = Lcg(0x11575);
    let mut py = String::from("import itertools\nimport json\nimport math\n\n");
    let mut rs =
        String::from("#![allow(unused_parens, clippy::all)]\nuse std::panic::{catch_unwind, AssertUnwindSafe};\n\n");
    let py_main = String::from("\nfor name, args, in_place in CASES:\n    try:\n        r = globals()[name](*args)\n        print(json.dumps(args[0] if in_place else r))\n    except Exception:\n        print(\"error\")\n");
    let mut py_cases = String::from("CASES = [\n");
    let mut rs_main = String::from("fn show_list(v: &[i64]) -> String {\n    format!(\"[{}]\", v.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(\", \"))\n}\n\nfn main() {\n    std::panic::set_hook(Box::new(|_| {}));\n");
    let mut expected = Vec::new();
    let mut programs = 0;
    let mut in_place_programs = 0;
    while programs < 120 {
        let out_ty = [LType::Int, LType::List, LType::Bool][rng.below(3)];
        let in_place = out_ty == LType::List && rng.below(4) == 0;
        let program = if in_place { gen_in_place(&mut rng) } else { gen(&mut rng, out_ty, 4, 0) };
        let problem = ListProblem {
            name: format!("f{programs}"),
            params: PARAMS.iter().map(|(n, t)| ((*n).to_string(), *t)).collect(),
            output: out_ty,
            result_in: in_place.then_some(0),
            description: None,
            shape: None,
            result_field: None,
            examples: Vec::new(),
        };
        let inputs: Vec<Vec<LValue>> =
            (0..4).map(|_| vec![list(&mut rng), list(&mut rng), LValue::Int(rng.int(-4, 6))]).collect();
        let results: Vec<Result<LValue, RunError>> = inputs.iter().map(|i| run(&program, i)).collect();
        // Python's integers do not overflow and its lists have no cap: compare only where
        // the interpreter's errors are errors in every language.
        if results.iter().any(|r| matches!(r, Err(RunError::Overflow | RunError::TooLong))) {
            continue;
        }
        // In place, a result fills the buffer it came in: the same length (else Python's
        // `xs[:] = ...` resizes the list where C and Rust cannot).
        let same_length = |(inp, r): (&Vec<LValue>, &Result<LValue, RunError>)| match (&inp[0], r) {
            (LValue::List(buf), Ok(LValue::List(l))) => buf.len() == l.len(),
            _ => true,
        };
        if in_place && !inputs.iter().zip(&results).all(same_length) {
            continue;
        }
        in_place_programs += usize::from(in_place);
        let py_fn = emit_list_function(Lang::Python, &problem, &program).unwrap();
        let rs_fn = emit_list_function(Lang::Rust, &problem, &program).unwrap();
        let c_fn = emit_list_function(Lang::C, &problem, &program).unwrap();
        // Each C function is a translation unit of its own (its helpers are `static`).
        let c_file = format!("f{programs}.c");
        std::fs::write(dir.path().join(&c_file), &c_fn).unwrap();
        c_files.push(c_file);
        let _ = writeln!(c_main, "{};", CPrototype::default_for(&problem).declaration(&problem.name));
        // Each emitted Python function is a module of its own; drop its imports here.
        py.push_str(&py_fn.lines().filter(|l| !l.starts_with("import ")).collect::<Vec<_>>().join("\n"));
        py.push_str("\n\n");
        // Rust helpers are emitted per function; keep each function in its own module.
        let _ = write!(rs, "mod m{programs} {{\n#![allow(dead_code)]\n{rs_fn}}}\n\n");
        for (inp, res) in inputs.iter().zip(&results) {
            let args: Vec<String> = inp.iter().map(|v| v.to_json().to_string()).collect();
            let py_in_place = if in_place { "True" } else { "False" };
            let _ = writeln!(py_cases, "    (\"f{programs}\", [{}], {py_in_place}),", args.join(", "));
            let rargs: Vec<String> = inp
                .iter()
                .enumerate()
                .map(|(k, v)| match v {
                    LValue::List(_) if in_place && k == 0 => "&mut buf".to_string(),
                    LValue::List(l) => format!("&{:?}", l.to_vec()),
                    other => other.to_json().to_string(),
                })
                .collect();
            let show = match out_ty {
                LType::List => "show_list(&r)",
                _ => "r.to_string()",
            };
            let call = if in_place {
                format!(
                    "{{ let mut buf: Vec<i64> = vec!{:?}; m{programs}::f{programs}({}); buf }}",
                    inp[0]
                        .to_json()
                        .as_array()
                        .map(|a| a.iter().filter_map(serde_json::Value::as_i64).collect::<Vec<i64>>())
                        .unwrap_or_default(),
                    rargs.join(", ")
                )
            } else {
                format!("m{programs}::f{programs}({})", rargs.join(", "))
            };
            let _ = writeln!(
                rs_main,
                "    match catch_unwind(AssertUnwindSafe(|| {call})) {{ Ok(r) => println!(\"{{}}\", {show}), Err(_) => println!(\"error\") }}"
            );
            // One child process per case: an `assert` that stops one case is its error.
            let mut decl = String::new();
            let mut cargs = Vec::new();
            for (k, v) in inp.iter().enumerate() {
                match v {
                    LValue::List(l) => {
                        let items: Vec<String> = l.iter().map(ToString::to_string).collect();
                        let _ = write!(
                            decl,
                            "{}int64_t a{k}[] = {{{}}}; ",
                            if in_place && k == 0 { "" } else { "const " },
                            if l.is_empty() { "0".into() } else { items.join(", ") }
                        );
                        cargs.push(format!("a{k}, {}", l.len()));
                    }
                    other => cargs.push(other.to_json().to_string()),
                }
            }
            let call = format!("f{programs}({})", cargs.join(", "));
            let print = match out_ty {
                LType::List if in_place => {
                    let n = inp[0].to_json().as_array().map_or(0, Vec::len);
                    format!("{call}; show_list(a0, {n});")
                }
                LType::List => format!(
                    "int64_t n = {}, out, 4096); show_list(out, n < 4096 ? n : 4096);",
                    call.trim_end_matches(')')
                ),
                LType::Int => format!("printf(\"%lld\\n\", (long long){call});"),
                LType::Bool => format!("printf(\"%s\\n\", {call} ? \"true\" : \"false\");"),
            };
            let _ = writeln!(
                c_cases,
                "    {{ {decl}fflush(stdout); pid_t c = fork(); if (c == 0) {{ {print} fflush(stdout); _exit(0); }} \
                 int st = 0; if (c < 0 || waitpid(c, &st, 0) != c || !WIFEXITED(st) || WEXITSTATUS(st) != 0) printf(\"error\\n\"); }}"
            );
            expected.push((program.show(&PARAMS.map(|p| p.0.to_string())), shown(res)));
        }
        programs += 1;
    }
    py_cases.push_str("]\n");
    py.push_str(&py_cases);
    py.push_str(&py_main);
    rs_main.push_str("}\n");
    rs.push_str(&rs_main);

    c_cases.push_str("    return 0;\n}\n");
    c_main.push_str(&c_cases);
    std::fs::write(dir.path().join("main.c"), &c_main).unwrap();
    std::fs::write(dir.path().join("all.py"), &py).unwrap();
    std::fs::write(dir.path().join("all.rs"), &rs).unwrap();
    let py_out = Command::new("python3").arg("all.py").current_dir(dir.path()).output().unwrap();
    assert!(py_out.status.success(), "{}", String::from_utf8_lossy(&py_out.stderr));
    let build = Command::new("rustc")
        .args(["--edition", "2021", "-C", "overflow-checks=on", "-o", "all", "all.rs"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(build.status.success(), "{}", String::from_utf8_lossy(&build.stderr));
    let rs_out = Command::new(dir.path().join("all")).output().unwrap();
    let c_build = Command::new("gcc")
        .args(["-std=c11", "-O1", "-Wall", "-Wextra", "-Werror", "-Wno-tautological-compare", "-o", "c_all", "main.c"])
        .args(&c_files)
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(c_build.status.success(), "{}", String::from_utf8_lossy(&c_build.stderr));
    let c_out = Command::new(dir.path().join("c_all")).output().unwrap();
    let c_lines: Vec<String> = String::from_utf8_lossy(&c_out.stdout).lines().map(|l| l.replace(' ', "")).collect();
    let py_lines: Vec<String> = String::from_utf8_lossy(&py_out.stdout).lines().map(|l| l.replace(' ', "")).collect();
    let rs_lines: Vec<String> = String::from_utf8_lossy(&rs_out.stdout).lines().map(|l| l.replace(' ', "")).collect();
    assert_eq!(py_lines.len(), expected.len());
    assert_eq!(rs_lines.len(), expected.len());
    assert_eq!(c_lines.len(), expected.len());
    let mut values = 0;
    for (k, (program, want)) in expected.iter().enumerate() {
        assert_eq!(&py_lines[k], want, "python differs on case {k}: {program}");
        assert_eq!(&rs_lines[k], want, "rust differs on case {k}: {program}");
        assert_eq!(&c_lines[k], want, "c differs on case {k}: {program}");
        values += usize::from(want != "error");
    }
    assert!(in_place_programs >= 5, "only {in_place_programs} programs worked in place");
    // The programs must mostly compute, or the test would show little.
    assert!(values * 2 > expected.len(), "only {values} of {} runs gave a value", expected.len());
}

/// Records: programs over an array of `struct item {qty, price}` and an integer, given
/// as an examples file with a `"types"` map. The emitted Python (`@dataclass`), Rust
/// (structs of `i64`) and C (`const struct item *items, int64_t items_len`) each pass the
/// tests emitted from the interpreter's outputs on random structs (inputs where the
/// interpreter has no value are left out: tests check values).
#[test]
fn interpreter_and_emitters_agree_on_random_programs_over_records() {
    if !have_compilers() {
        return;
    }
    let mut rng = Lcg(0x05ee_d7ec);
    let mut checked = 0;
    let mut attempts = 0;
    while checked < 12 {
        attempts += 1;
        assert!(attempts < 2000, "too few programs with values");
        let output = if rng.below(2) == 0 { LType::Int } else { LType::List };
        let program = gen(&mut rng, output, 3, 0);
        // Inputs as the flattened problem orders them (the fields as the JSON text gives
        // them; `json!` writes keys sorted): xs = items.price, ys = items.qty, n = k.
        let mut examples = Vec::new();
        let mut spec_examples = Vec::new();
        for _ in 0..40 {
            if examples.len() == 5 {
                break;
            }
            let len = rng.below(6);
            let qty: Vec<i64> = (0..len).map(|_| rng.int(-9, 9)).collect();
            let price: Vec<i64> = (0..len).map(|_| rng.int(-9, 9)).collect();
            let k = rng.int(-3, 5);
            let args = vec![LValue::List(price.clone().into()), LValue::List(qty.clone().into()), LValue::Int(k)];
            let Ok(out) = run(&program, &args) else { continue };
            if examples.iter().any(|(a, _): &(Vec<LValue>, LValue)| *a == args) {
                continue;
            }
            let items: Vec<serde_json::Value> =
                qty.iter().zip(&price).map(|(q, p)| serde_json::json!({"qty": q, "price": p})).collect();
            spec_examples.push(serde_json::json!({"args": [items, k], "output": out.to_json()}));
            examples.push((args, out));
        }
        if examples.len() < 3 {
            continue;
        }
        let spec = serde_json::json!({
            "function": "over_items",
            "types": {"item": {"price": "int", "qty": "int"}},
            "params": [{"name": "items", "type": "list[item]"}, {"name": "k", "type": "int"}],
            "output_type": output.to_string(),
            "examples": spec_examples,
        });
        let problem =
            ListProblem::from_examples(&synth_engine::spec::Examples::from_json(&spec.to_string()).unwrap()).unwrap();
        assert_eq!(problem.param_names(), ["items.price", "items.qty", "k"], "the flattening this test assumes");
        assert_eq!(problem.examples, examples);
        let shown_program = program.show(&problem.param_names());
        for lang in [Lang::Python, Lang::Rust, Lang::C] {
            let code = emit_list_function(lang, &problem, &program).unwrap();
            let tests = synth_engine::lists::emit_list_tests(lang, &problem, &problem.examples).unwrap();
            let report =
                synth_engine::verify::verify(lang, &code, &tests, &synth_engine::verify::VerifyLimits::default())
                    .unwrap();
            assert!(
                report.compiled && report.tests_total == examples.len() && report.tests_passed == report.tests_total,
                "{lang:?} disagrees on {shown_program}:\n{code}\n{tests}\n{report:?}"
            );
        }
        checked += 1;
    }
}

/// Several outputs: random functions of `xs`, `ys` (of one length) and `n` that write
/// `xs`, sometimes `ys` too, and return a value, each output a random program over the
/// inputs as they came (so a buffer may be written from the other: a swap), given as an
/// examples file with `"outputs"`. The emitted Python, Rust and C each pass the tests
/// emitted from the interpreter's outputs, every buffer checked after the call.
#[test]
fn interpreter_and_emitters_agree_on_random_functions_with_several_outputs() {
    if !have_compilers() {
        return;
    }
    let mut rng = Lcg(0x0070_7075);
    let mut checked = 0;
    let mut attempts = 0;
    let mut both_written = 0;
    while checked < 12 {
        attempts += 1;
        assert!(attempts < 2000, "too few functions with values");
        // A buffer output keeps its buffer's length: an element-wise program over either list.
        let buffer_program = |rng: &mut Lcg| {
            let mut p = gen_in_place(rng);
            if rng.below(2) == 0 {
                swap_lists(&mut p);
            }
            p
        };
        let mut outputs: Vec<(&str, LType, Expr)> = vec![("xs", LType::List, buffer_program(&mut rng))];
        if rng.below(2) == 0 {
            outputs.push(("ys", LType::List, buffer_program(&mut rng)));
        }
        let ret = [LType::Int, LType::List, LType::Bool][rng.below(3)];
        outputs.push(("return", ret, gen(&mut rng, ret, 3, 0)));
        let mut spec_examples = Vec::new();
        for _ in 0..40 {
            if spec_examples.len() == 5 {
                break;
            }
            let len = rng.below(6);
            let xs: Vec<i64> = (0..len).map(|_| rng.int(-9, 9)).collect();
            let ys: Vec<i64> = (0..len).map(|_| rng.int(-9, 9)).collect();
            let n = rng.int(-3, 5);
            let args = vec![LValue::List(xs.clone().into()), LValue::List(ys.clone().into()), LValue::Int(n)];
            let Ok(values) = outputs.iter().map(|(_, _, p)| run(p, &args)).collect::<Result<Vec<_>, _>>() else {
                continue;
            };
            let mut output = serde_json::Map::new();
            for ((name, _, _), v) in outputs.iter().zip(&values) {
                output.insert((*name).to_string(), v.to_json());
            }
            // Buffers keep their lengths (Python's `xs[:] = ...` would resize where C cannot).
            let same_length = values.iter().zip(&outputs).all(|(v, (name, _, _))| match (v, *name) {
                (LValue::List(l), "xs" | "ys") => l.len() == len,
                _ => true,
            });
            if same_length {
                spec_examples.push(serde_json::json!({"args": [xs, ys, n], "output": output}));
            }
        }
        if spec_examples.len() < 3 {
            continue;
        }
        let declared: serde_json::Map<String, serde_json::Value> =
            outputs.iter().map(|(name, t, _)| ((*name).to_string(), serde_json::json!(t.to_string()))).collect();
        let spec = serde_json::json!({
            "function": "several",
            "params": [{"name": "xs", "type": "list[int]"}, {"name": "ys", "type": "list[int]"}, {"name": "n", "type": "int"}],
            "outputs": declared,
            "examples": spec_examples,
        });
        let parts =
            ListProblem::outputs_from_examples(&synth_engine::spec::Examples::from_json(&spec.to_string()).unwrap())
                .unwrap();
        // `json!` orders the outputs by name: `return`, `xs`, `ys`.
        let found: Vec<(ListProblem, Expr)> = parts
            .iter()
            .map(|p| {
                let program = outputs.iter().find(|(name, _, _)| *name == p.output_name()).unwrap().2.clone();
                (p.clone(), program)
            })
            .collect();
        let shown =
            synth_engine::lists::show_outputs(&parts, &found.iter().map(|(_, e)| e.clone()).collect::<Vec<_>>());
        emitted_code_passes_its_tests(&found, spec_examples.len(), &shown);
        both_written += usize::from(outputs.len() == 3);
        checked += 1;
    }
    assert!(both_written >= 2, "only {both_written} functions wrote both buffers");
}

/// Asserts that the Python, Rust and C of the function with outputs `found` each pass the
/// tests emitted from its `examples` examples; C, where the function returns an array of
/// structs, is refused with the reason.
fn emitted_code_passes_its_tests(found: &[(ListProblem, Expr)], examples: usize, shown: &str) {
    use synth_engine::lists::{emit_outputs_function, emit_outputs_tests, joint_examples};
    let parts: Vec<ListProblem> = found.iter().map(|(p, _)| p.clone()).collect();
    let returns_records =
        parts.iter().any(|p| p.result_field.as_ref().is_some_and(|f| f.output == "return" && f.column));
    for lang in [Lang::Python, Lang::Rust, Lang::C] {
        if returns_records && lang == Lang::C {
            let err = emit_outputs_function(lang, found).unwrap_err().to_string();
            assert!(err.contains("C returns no array"), "{err}");
            continue;
        }
        let code = emit_outputs_function(lang, found).unwrap();
        let tests = emit_outputs_tests(lang, &parts, &joint_examples(&parts)).unwrap();
        let report =
            synth_engine::verify::verify(lang, &code, &tests, &synth_engine::verify::VerifyLimits::default()).unwrap();
        assert!(
            report.compiled && report.tests_total == examples && report.tests_passed == report.tests_total,
            "{lang:?} disagrees on {shown}:\n{code}\n{tests}\n{report:?}"
        );
    }
}

/// `p` with `xs` and `ys` exchanged.
fn swap_lists(p: &mut Expr) {
    match p {
        Expr::Input(i) if *i < 2 => *i = 1 - *i,
        Expr::Apply(_, args) => args.iter_mut().for_each(swap_lists),
        _ => {}
    }
}

/// Struct results: random functions over an array of `struct item {price, qty}` and an
/// integer that return a `struct pair {first, second}` built from two random programs,
/// write one through a pointer (`out`, whose fields as they came some programs read, so
/// one field is computed before the other is written) and return an integer, or write the
/// array of items in place field by field (each from either field, some left as they
/// were) and return an integer, or return a new array of items built field by field. The
/// emitted
/// Python, Rust and C each pass the tests emitted from the interpreter's values, every
/// field checked.
#[test]
fn interpreter_and_emitters_agree_on_random_functions_with_struct_results() {
    if !have_compilers() {
        return;
    }
    let mut rng = Lcg(0x0057_4c75);
    let mut checked = 0;
    let mut attempts = 0;
    while checked < 16 {
        attempts += 1;
        assert!(attempts < 2000, "too few functions with values");
        // 0: a pair returned; 1: a pair written through `out`; 2: the array of items written
        // in place, field by field (a field's program keeps the array's length); 3: a new
        // array of items returned, field by field.
        let variant = checked % 4;
        // Inputs as flattened: items.price, items.qty, k, then out.first, out.second.
        let field = |rng: &mut Lcg, other: usize| {
            let p = gen(rng, LType::Int, 3, 0);
            if variant == 1 && rng.below(2) == 0 {
                Expr::Apply(ListOp::Add, vec![Expr::Input(other), p])
            } else {
                p
            }
        };
        let column = |rng: &mut Lcg, own: usize| match rng.below(3) {
            0 => Expr::Input(own),
            _ => {
                let mut p = gen_in_place(rng);
                if rng.below(2) == 0 {
                    swap_lists(&mut p);
                }
                p
            }
        };
        let (first, second) = if variant >= 2 {
            (column(&mut rng, 0), column(&mut rng, 1))
        } else {
            (field(&mut rng, 4), field(&mut rng, 3))
        };
        let ret = gen(&mut rng, LType::Int, 3, 0);
        let mut spec_examples = Vec::new();
        for _ in 0..40 {
            if spec_examples.len() == 5 {
                break;
            }
            let len = rng.below(6);
            let qty: Vec<i64> = (0..len).map(|_| rng.int(-9, 9)).collect();
            let price: Vec<i64> = (0..len).map(|_| rng.int(-9, 9)).collect();
            let k = rng.int(-3, 5);
            let before = (rng.int(-9, 9), rng.int(-9, 9));
            let mut args = vec![LValue::List(price.clone().into()), LValue::List(qty.clone().into()), LValue::Int(k)];
            if variant == 1 {
                args.extend([LValue::Int(before.0), LValue::Int(before.1)]);
            }
            let (Ok(a), Ok(b), Ok(r)) = (run(&first, &args), run(&second, &args), run(&ret, &args)) else { continue };
            let items: Vec<serde_json::Value> =
                qty.iter().zip(&price).map(|(q, p)| serde_json::json!({"qty": q, "price": p})).collect();
            let pair = serde_json::json!({"first": a.to_json(), "second": b.to_json()});
            spec_examples.push(match variant {
                0 => serde_json::json!({"args": [items, k], "output": pair}),
                1 => serde_json::json!({"args": [items, k, {"first": before.0, "second": before.1}],
                                        "output": {"out": pair, "return": r.to_json()}}),
                _ => {
                    let (LValue::List(new_price), LValue::List(new_qty)) = (&a, &b) else { continue };
                    if new_price.len() != len || new_qty.len() != len {
                        continue;
                    }
                    let after: Vec<serde_json::Value> = new_qty
                        .iter()
                        .zip(new_price.iter())
                        .map(|(q, p)| serde_json::json!({"qty": q, "price": p}))
                        .collect();
                    if variant == 3 {
                        serde_json::json!({"args": [items, k], "output": after})
                    } else {
                        serde_json::json!({"args": [items, k], "output": {"items": after, "return": r.to_json()}})
                    }
                }
            });
        }
        if spec_examples.len() < 3 {
            continue;
        }
        let mut spec = serde_json::json!({
            "function": "pairs",
            "types": {"item": {"price": "int", "qty": "int"}, "pair": {"first": "int", "second": "int"}},
            "params": [{"name": "items", "type": "list[item]"}, {"name": "k", "type": "int"}],
            "output_type": "pair",
            "examples": spec_examples,
        });
        if variant == 1 {
            spec["params"].as_array_mut().unwrap().push(serde_json::json!({"name": "out", "type": "pair"}));
            spec["outputs"] = serde_json::json!({"out": "pair", "return": "int"});
        }
        if variant == 2 {
            spec["outputs"] = serde_json::json!({"items": "list[item]", "return": "int"});
        }
        if variant == 3 {
            spec["output_type"] = serde_json::json!("list[item]");
        }
        let parts =
            ListProblem::outputs_from_examples(&synth_engine::spec::Examples::from_json(&spec.to_string()).unwrap())
                .unwrap();
        let names: Vec<String> = parts.iter().map(ListProblem::output_name).collect();
        let want_names: &[&str] = match variant {
            0 => &["return.first", "return.second"],
            1 => &["out.first", "out.second", "return"],
            2 => &["items.price", "items.qty", "return"],
            _ => &["return.price", "return.qty"],
        };
        assert_eq!(names, want_names);
        let programs = [first.clone(), second.clone(), ret.clone()];
        let found: Vec<(ListProblem, Expr)> = parts.iter().cloned().zip(programs.iter().cloned()).collect();
        let shown = synth_engine::lists::show_outputs(&parts, &programs[..parts.len()]);
        emitted_code_passes_its_tests(&found, spec_examples.len(), &shown);
        checked += 1;
    }
}
