//! `tracesynth synth --pid`: from a live process to verified code, and the error paths.
use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
};

use tests::{build_fixture, require_root, set_binary, tracesynth, Fixture};

/// Starts `tracesynth synth --pid ...`, waits until attached, runs `drive` on the
/// fixture, and returns (exit code, stderr).
fn live(fixture: &mut Fixture, func: &str, extra: &[&str], drive: &[&str]) -> (i32, String) {
    let pid = fixture.pid().to_string();
    let mut child = Command::new(tracesynth())
        .args(["synth", "--pid", &pid, "--func", func])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        if err.read_line(&mut line).unwrap() == 0 {
            break;
        }
        seen.push_str(&line);
        if line.starts_with("attached") {
            for d in drive {
                fixture.command(d);
            }
            break;
        }
    }
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut err, &mut rest).unwrap();
    seen.push_str(&rest);
    (child.wait().unwrap().code().unwrap_or(-1), seen)
}

#[test]
fn synthesizes_verified_code_from_a_live_process() {
    set_binary(env!("CARGO_BIN_EXE_tracesynth-under-test"));
    if !require_root("synthesizes_verified_code_from_a_live_process") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = build_fixture("calls", &["-O2", "-g"], dir.path());
    for lang in ["rust", "python", "c"] {
        let mut fixture = Fixture::start(&bin);
        let out = dir.path().join(format!("out-{lang}"));
        let (code, err) = live(
            &mut fixture,
            "clear_lowest",
            &["--lang", lang, "--distinct", "50", "--max-seconds", "20", "--out", out.to_str().unwrap()],
            &["drive 100"],
        );
        assert_eq!(code, 0, "{lang}: {err}");
        let report: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
        let (agree, held) =
            (report["held_out_agree"][0].as_u64().unwrap(), report["held_out_agree"][1].as_u64().unwrap());
        assert!(held > 0 && agree == held, "{lang}: held-out {agree}/{held}");
        let tests = &report["report"];
        assert_eq!(tests["tests_passed"], tests["tests_total"], "{lang}: {tests}");
        assert!(tests["tests_total"].as_u64().unwrap() >= 40, "{tests}");
        assert!(report["code"].as_str().unwrap().contains("clear_lowest"), "{report}");
    }
}

#[test]
fn synthesizes_functions_over_arrays_from_a_live_process() {
    set_binary(env!("CARGO_BIN_EXE_tracesynth-under-test"));
    if !require_root("synthesizes_functions_over_arrays_from_a_live_process") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = build_fixture("calls", &["-O2", "-g"], dir.path());
    for (func, lang, expect) in [
        ("sum_ints", "python", "return sum(a)"),
        ("count_pos", "python", "if x > 0"),
        ("count_pos", "rust", "pub fn count_pos(a: &[i64], _n: i64) -> i64"),
        // `void`, writing through `a`: the memory it leaves is its result, written back.
        ("scale_ints", "python", "a[:] = [x * k for x in a]"),
        ("scale_ints", "rust", "pub fn scale_ints(a: &mut [i64], _n: i64, k: i64) {"),
        // An out-parameter: `out` is filled, `a` only read.
        ("prefix_sums", "python", "out[:] = list(itertools.accumulate(a, lambda x, y: x + y))"),
        ("prefix_sums", "rust", "pub fn prefix_sums(a: &[i64], out: &mut [i64], _n: i64) {"),
        // Two results: `a`, clamped in place, and the count returned.
        (
            "clamp_high",
            "python",
            "result = sum(1 for x in a if x > hi)\n    a[:] = [min(x, hi) for x in a]\n    return result",
        ),
    ] {
        let report = verified_report(&bin, dir.path(), func, lang, "arrdrive 300");
        let (agree, held) =
            (report["held_out_agree"][0].as_u64().unwrap(), report["held_out_agree"][1].as_u64().unwrap());
        assert!(held >= 5 && agree == held, "{func}: held-out {agree}/{held}");
        assert!(report["code"].as_str().unwrap().contains(expect), "{report}");
    }
}

/// The harness that runs the fixture's array functions and the synthesized C ones
/// (renamed `synth_*`) on the same 1,000 fresh inputs: longer arrays (up to 16) and
/// larger values (±1000) than the recording saw.
const ARRAY_HARNESS: &str = r#"#include <stdint.h>
#include <stdio.h>
#include <string.h>

int sum_ints(const int *a, int n);
int synth_sum_ints(const int *a, int n);
void scale_ints(int *a, int n, int k);
void synth_scale_ints(int *a, int n, int k);
void prefix_sums(const int *a, int *out, int n);
void synth_prefix_sums(const int *a, int *out, int n);
int clamp_high(int *a, int n, int hi);
int synth_clamp_high(int *a, int n, int hi);

static uint32_t state = 2024u;
static int next(int lo, int hi) {
    state = state * 1103515245u + 12345u;
    return lo + (int)((state >> 8) % (uint32_t)(hi - lo + 1));
}

int main(void) {
    int agree[5] = {0, 0, 0, 0, 0};
    for (int t = 0; t < 1000; t++) {
        int a[16], b[16], c[16];
        memset(a, 0, sizeof a);
        int n = next(0, 16), k = next(-5, 5);
        for (int i = 0; i < n; i++) a[i] = next(-1000, 1000);
        agree[0] += sum_ints(a, n) == synth_sum_ints(a, n);
        memcpy(b, a, sizeof b);
        memcpy(c, a, sizeof c);
        scale_ints(b, n, k);
        synth_scale_ints(c, n, k);
        agree[1] += memcmp(b, c, sizeof b) == 0;
        /* The whole buffer: nothing past n may be written either. */
        memset(b, 0x55, sizeof b);
        memset(c, 0x55, sizeof c);
        prefix_sums(a, b, n);
        synth_prefix_sums(a, c, n);
        agree[2] += memcmp(b, c, sizeof b) == 0;
        int hi = next(-1000, 1000);
        memcpy(b, a, sizeof b);
        memcpy(c, a, sizeof c);
        int changed = clamp_high(b, n, hi);
        agree[3] += changed == synth_clamp_high(c, n, hi) && memcmp(b, c, sizeof b) == 0;
    }
    printf("sum_ints %d\nscale_ints %d\nprefix_sums %d\nclamp_high %d\n", agree[0], agree[1], agree[2], agree[3]);
    return 0;
}
"#;

/// `synth --pid` of `func` in `lang` on a fresh fixture driven by `drive`: the report,
/// which must say `verified`.
fn verified_report(
    bin: &std::path::Path,
    dir: &std::path::Path,
    func: &str,
    lang: &str,
    drive: &str,
) -> serde_json::Value {
    verified_report_with(bin, dir, func, lang, drive, &[])
}

/// [`verified_report`] with `extra` arguments to `synth`.
fn verified_report_with(
    bin: &std::path::Path,
    dir: &std::path::Path,
    func: &str,
    lang: &str,
    drive: &str,
    extra: &[&str],
) -> serde_json::Value {
    let mut fixture = Fixture::start(bin);
    let out = dir.join(format!("out-{func}-{lang}"));
    let mut args = vec!["--lang", lang, "--distinct", "60", "--max-seconds", "20", "--out", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    let (code, err) = live(&mut fixture, func, &args, &[drive]);
    assert_eq!(code, 0, "{func} {lang}: {err}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["status"], "verified", "{report}");
    report
}

/// Compiles synthesized C `code` of `func` in `dir`, renamed `synth_FUNC` so it links
/// beside the original; returns the object's name.
fn compile_renamed(dir: &std::path::Path, func: &str, code: &str) -> String {
    std::fs::write(dir.join(format!("{func}.c")), code).unwrap();
    checked(
        Command::new("gcc").args(["-std=c11", "-O1", "-c", &format!("-D{func}=synth_{func}"), &format!("{func}.c")]),
        dir,
    );
    format!("{func}.o")
}

/// The fixture's own functions as an object (its `main` renamed) in `dir`.
fn compile_original(dir: &std::path::Path) {
    let source = test_support::workspace().join("tests/fixtures/calls.c");
    checked(
        Command::new("gcc").args(["-O2", "-fPIC", "-Dmain=fixture_main", "-c", "-o", "original.o"]).arg(&source),
        dir,
    );
}

/// Runs `cmd` in `dir`, panicking with its output when it fails; returns stdout.
fn checked(cmd: &mut Command, dir: &std::path::Path) -> String {
    let out = cmd.current_dir(dir).output().unwrap();
    assert!(out.status.success(), "{cmd:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The same comparison in Rust: the synthesized Rust functions (each in a module named
/// after it) against the originals called through `extern "C"`.
const RUST_ARRAY_HARNESS: &str = r#"
extern "C" {
    #[link_name = "sum_ints"]
    fn original_sum_ints(a: *const i32, n: i32) -> i32;
    #[link_name = "scale_ints"]
    fn original_scale_ints(a: *mut i32, n: i32, k: i32);
    #[link_name = "prefix_sums"]
    fn original_prefix_sums(a: *const i32, out: *mut i32, n: i32);
    #[link_name = "clamp_high"]
    fn original_clamp_high(a: *mut i32, n: i32, hi: i32) -> i32;
}

fn main() {
    let mut state: u32 = 2024;
    let mut next = |lo: i32, hi: i32| {
        state = state.wrapping_mul(1103515245).wrapping_add(12345);
        lo + ((state >> 8) % (hi - lo + 1) as u32) as i32
    };
    let wide = |v: &[i32]| v.iter().map(|&x| i64::from(x)).collect::<Vec<i64>>();
    let mut agree = [0; 4];
    for _ in 0..1000 {
        let (n, k) = (next(0, 16), next(-5, 5));
        // Allocated even when empty: the original reads a low (dangling) address as -1.
        let mut a: Vec<i32> = Vec::with_capacity(16);
        a.extend((0..n).map(|_| next(-1000, 1000)));
        let a64 = wide(&a);
        let original = unsafe { original_sum_ints(a.as_ptr(), n) };
        agree[0] += usize::from(i64::from(original) == sum_ints::sum_ints(&a64, i64::from(n)));
        let mut b = a.clone();
        unsafe { original_scale_ints(b.as_mut_ptr(), n, k) };
        let mut c = a64.clone();
        scale_ints::scale_ints(&mut c, i64::from(n), i64::from(k));
        agree[1] += usize::from(wide(&b) == c);
        let mut b = vec![0x55; a.len()];
        unsafe { original_prefix_sums(a.as_ptr(), b.as_mut_ptr(), n) };
        let mut c = vec![0x55; a.len()];
        prefix_sums::prefix_sums(&a64, &mut c, i64::from(n));
        agree[2] += usize::from(wide(&b) == c);
        let hi = next(-1000, 1000);
        let mut b = a.clone();
        let changed = unsafe { original_clamp_high(b.as_mut_ptr(), n, hi) };
        let mut c = a64.clone();
        let synth_changed = clamp_high::clamp_high(&mut c, i64::from(n), i64::from(hi));
        agree[3] += usize::from(i64::from(changed) == synth_changed && wide(&b) == c);
    }
    println!("sum_ints {}\nscale_ints {}\nprefix_sums {}\nclamp_high {}", agree[0], agree[1], agree[2], agree[3]);
}
"#;

/// Compiles the Rust `source` in `dir` linked with the original (`original.o`) and runs it:
/// its output.
fn run_rust_harness(dir: &std::path::Path, source: &str) -> String {
    std::fs::write(dir.join("harness.rs"), source).unwrap();
    let rustc = ["--edition", "2021", "-O", "-C", "link-arg=original.o", "-o", "harness_rs", "harness.rs"];
    checked(Command::new("rustc").args(rustc), dir);
    checked(&mut Command::new(dir.join("harness_rs")), dir)
}

#[test]
fn array_functions_synthesized_in_c_and_rust_agree_with_the_original_on_fresh_inputs() {
    set_binary(env!("CARGO_BIN_EXE_tracesynth-under-test"));
    if !require_root("array_functions_synthesized_in_c_and_rust_agree_with_the_original") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = build_fixture("calls", &["-O2", "-g"], dir.path());
    let mut objects = vec!["original.o".to_string()];
    let mut rust = String::from(RUST_ARRAY_HARNESS);
    // A fold, an in-place map, an out-buffer scan and a function with two results (in
    // place and returned); C keeps the original's prototype.
    for (func, prototype) in [
        ("sum_ints", "int sum_ints(const int *a, int n) {"),
        ("scale_ints", "void scale_ints(int *a, int n, int k) {"),
        ("prefix_sums", "void prefix_sums(const int *a, int *out, int n) {"),
        // In place and returned: two results.
        ("clamp_high", "int clamp_high(int *a, int n, int hi) {"),
    ] {
        for lang in ["c", "rust"] {
            let report = verified_report(&bin, dir.path(), func, lang, "arrdrive 300");
            assert!(report["report"]["warnings"].as_array().is_some_and(Vec::is_empty), "{report}");
            let code = report["code"].as_str().unwrap();
            if lang == "rust" {
                rust.push_str(&format!("\nmod {func} {{\n{code}}}\n"));
                continue;
            }
            assert!(code.contains(prototype), "{func}: {code}");
            objects.push(compile_renamed(dir.path(), func, code));
        }
    }
    compile_original(dir.path());
    let want = "sum_ints 1000\nscale_ints 1000\nprefix_sums 1000\nclamp_high 1000\n";
    std::fs::write(dir.path().join("harness.c"), ARRAY_HARNESS).unwrap();
    checked(Command::new("gcc").args(["-O1", "-o", "harness", "harness.c"]).args(&objects), dir.path());
    assert_eq!(checked(&mut Command::new(dir.path().join("harness")), dir.path()), want, "C");
    assert_eq!(run_rust_harness(dir.path(), &rust), want, "Rust");
}

#[test]
fn a_branch_seen_one_way_is_reported() {
    set_binary(env!("CARGO_BIN_EXE_tracesynth-under-test"));
    if !require_root("a_branch_seen_one_way_is_reported") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = build_fixture("calls", &["-O2", "-g"], dir.path());
    let mut fixture = Fixture::start(&bin);
    let out = dir.path().join("out");
    // `price` discounts from 10 items; the program only ever buys fewer.
    let (code, err) = live(
        &mut fixture,
        "price",
        &["--lang", "python", "--distinct", "60", "--max-seconds", "10", "--out", out.to_str().unwrap()],
        &["cheap 400"],
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    let branches = report["coverage"]["branches"].as_array().unwrap();
    assert!(branches.iter().any(|b| b["taken"] == 0 || b["not_taken"] == 0), "{branches:?}");
    assert!(err.contains("went one way only in the recorded calls"), "{code}: {err}");
}

#[test]
fn function_never_called_is_reported() {
    set_binary(env!("CARGO_BIN_EXE_tracesynth-under-test"));
    if !require_root("function_never_called_is_reported") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = build_fixture("calls", &["-O2", "-g"], dir.path());
    let mut fixture = Fixture::start(&bin);
    let (code, err) = live(&mut fixture, "inner", &["--max-seconds", "0.5"], &[]);
    assert_ne!(code, 0);
    assert!(err.contains("`inner` was never called"), "{err}");
}

#[test]
fn hidden_state_is_not_a_pure_function() {
    set_binary(env!("CARGO_BIN_EXE_tracesynth-under-test"));
    if !require_root("hidden_state_is_not_a_pure_function") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = build_fixture("calls", &["-O2", "-g"], dir.path());
    let mut fixture = Fixture::start(&bin);
    let (code, err) = live(&mut fixture, "bump", &["--max-seconds", "1.5"], &["bump"]);
    assert_ne!(code, 0);
    assert!(err.contains("not a pure function of its arguments: bump(1) returned 1 and later 2"), "{err}");
}

#[test]
fn a_function_reading_a_writable_global_is_not_called_verified() {
    set_binary(env!("CARGO_BIN_EXE_tracesynth-under-test"));
    if !require_root("a_function_reading_a_writable_global_is_not_called_verified") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = build_fixture("calls", &["-O2", "-g"], dir.path());
    let mut fixture = Fixture::start(&bin);
    // The global never changes while recording, so every call agrees with `x * 3`; the
    // code still reads it, and the report says so rather than guessing.
    let out = dir.path().join("out");
    let (code, err) = live(
        &mut fixture,
        "scaled",
        &["--lang", "python", "--distinct", "40", "--max-seconds", "10", "--out", out.to_str().unwrap()],
        &["drive 100"],
    );
    assert_ne!(code, 0, "not verified: {err}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["status"], "fits-observed", "{report}");
    let why = report["status_reason"].as_str().unwrap();
    assert!(why.contains("also reads `scale_factor` (.data"), "{why}");
    let (code, text, err) =
        tests::run_tracesynth(&["record", "--pid", &fixture.pid().to_string(), "--func", "scaled", "--explain"]);
    assert_eq!(code, 0, "{err}");
    assert!(text.contains("also reads, uncaptured: `scale_factor` (.data, 0x"), "{text}");
    // A function of its arguments alone says nothing of the kind.
    let (_, text, _) =
        tests::run_tracesynth(&["record", "--pid", &fixture.pid().to_string(), "--func", "clear_lowest", "--explain"]);
    assert!(!text.contains("uncaptured"), "{text}");
}

/// One function to synthesize: its name, the language, more `synth` arguments, and text
/// the code must contain.
type Case<'a> = (&'a str, &'a str, &'a [&'a str], &'a str);

/// Synthesizes each case from a fresh fixture driven by `drive`, each `verified` and its code
/// reading as expected; links the C beside the originals with the C harness of `harnesses`,
/// and runs its Rust harness with the Rust code (each in a module named after its function,
/// `#[repr(C)]` structs shared with C): both must print `agreed`. The code of each
/// (function, language).
fn agree_with_originals(
    bin: &std::path::Path,
    dir: &std::path::Path,
    drive: &str,
    cases: &[Case<'_>],
    (c_harness, rust_harness): (&str, &str),
    agreed: &str,
) -> std::collections::HashMap<(String, String), String> {
    let mut objects = vec!["original.o".to_string()];
    let mut rust = String::from(rust_harness);
    let mut codes = std::collections::HashMap::new();
    for &(func, lang, extra, expect) in cases {
        let report = verified_report_with(bin, dir, func, lang, drive, extra);
        let code = report["code"].as_str().unwrap();
        assert!(code.contains(expect), "{func} {lang}: {code}");
        if lang == "c" {
            assert!(report["report"]["warnings"].as_array().is_some_and(Vec::is_empty), "{report}");
            objects.push(compile_renamed(dir, func, code));
        }
        if lang == "rust" {
            assert!(code.contains("#[repr(C)]"), "{code}");
            rust.push_str(&format!("\nmod {func} {{\n{code}}}\n"));
        }
        codes.insert((func.to_string(), lang.to_string()), code.to_string());
    }
    compile_original(dir);
    std::fs::write(dir.join("harness.c"), c_harness).unwrap();
    checked(Command::new("gcc").args(["-O1", "-o", "harness", "harness.c"]).args(&objects), dir);
    assert_eq!(checked(&mut Command::new(dir.join("harness")), dir), agreed, "C");
    assert_eq!(run_rust_harness(dir, &rust), agreed, "Rust");
    codes
}

/// The fixture's struct functions and the synthesized C ones (renamed `synth_*`) on the
/// same 1,000 fresh inputs: coordinates and prices well beyond what the recording saw,
/// and up to 8 items where it saw at most 4.
const STRUCT_HARNESS: &str = r#"#include <stdint.h>
#include <stdio.h>

struct point {
    int x;
    int y;
};
typedef struct rect {
    struct point origin;
    struct point size;
    const char *label;
    short tags[3];
    unsigned char visible;
} rect_t;
struct item {
    int qty;
    int price;
    unsigned flags;
};

long rect_area(const rect_t *r);
long synth_rect_area(const rect_t *r);
long order_total(const struct item *items, int count);
long synth_order_total(const struct item *items, int count);
void move_rect(struct rect *r, int dx, int dy);
void synth_move_rect(struct rect *r, int dx, int dy);
void restock(struct item *items, int count, int k);
void synth_restock(struct item *items, int count, int k);

static uint32_t state = 77u;
static int next(int lo, int hi) {
    state = state * 1103515245u + 12345u;
    return lo + (int)((state >> 8) % (uint32_t)(hi - lo + 1));
}

int main(void) {
    int agree[5] = {0, 0, 0, 0, 0};
    for (int t = 0; t < 1000; t++) {
        rect_t r = {{next(-1000, 1000), next(-1000, 1000)}, {next(0, 5000), next(0, 5000)}, "x", {1, 2, 3}, 1};
        agree[0] += rect_area(&r) == synth_rect_area(&r);
        struct item items[8];
        int count = next(0, 8);
        for (int j = 0; j < count; j++) {
            items[j].qty = next(0, 100);
            items[j].price = next(-500, 500);
            items[j].flags = (unsigned)next(0, 3);
        }
        agree[1] += order_total(items, count) == synth_order_total(items, count);
        rect_t moved = r, synth_moved = r;
        int dx = next(-1000, 1000), dy = next(-1000, 1000);
        move_rect(&moved, dx, dy);
        synth_move_rect(&synth_moved, dx, dy);
        agree[2] += memcmp(&moved, &synth_moved, sizeof moved) == 0;
        struct item stock[8] = {{0}}, synth_stock[8] = {{0}};
        memcpy(stock, items, (size_t)count * sizeof *items);
        memcpy(synth_stock, items, (size_t)count * sizeof *items);
        int k = next(-1000, 1000);
        restock(stock, count, k);
        synth_restock(synth_stock, count, k);
        agree[3] += memcmp(stock, synth_stock, sizeof stock) == 0;
    }
    printf("rect_area %d\norder_total %d\nmove_rect %d\nrestock %d\n", agree[0], agree[1], agree[2], agree[3]);
    return 0;
}
"#;

/// Calls the original struct functions through their C ABI with the synthesized Rust
/// structs (`#[repr(C)]`), so a layout that differs from C's shows as disagreement.
const RUST_STRUCT_HARNESS: &str = r#"
extern "C" {
    #[link_name = "rect_area"]
    fn original_rect_area(r: *const rect_area::RectT) -> i64;
    #[link_name = "order_total"]
    fn original_order_total(items: *const order_total::Item, count: i32) -> i64;
    #[link_name = "move_rect"]
    fn original_move_rect(r: *mut move_rect::Rect, dx: i32, dy: i32);
    #[link_name = "restock"]
    fn original_restock(items: *mut restock::Item, count: i32, k: i32);
}

fn main() {
    let mut state: u32 = 77;
    let mut next = |lo: i32, hi: i32| {
        state = state.wrapping_mul(1103515245).wrapping_add(12345);
        lo + ((state >> 8) % (hi - lo + 1) as u32) as i32
    };
    let mut agree = [0; 4];
    for _ in 0..1000 {
        let r = rect_area::RectT {
            origin: rect_area::Point { x: next(-1000, 1000), y: next(-1000, 1000) },
            size: rect_area::Point { x: next(0, 5000), y: next(0, 5000) },
            label: c"x".as_ptr(),
            tags: [1, 2, 3],
            visible: 1,
        };
        agree[0] += usize::from(unsafe { original_rect_area(&r) } == rect_area::rect_area(&r));
        let count = next(0, 8);
        let items: Vec<order_total::Item> = (0..count)
            .map(|_| order_total::Item { qty: next(0, 100), price: next(-500, 500), flags: next(0, 3) as u32 })
            .collect();
        let original = unsafe { original_order_total(items.as_ptr(), count) };
        agree[1] += usize::from(original == order_total::order_total(&items, i64::from(count)));
        let (dx, dy) = (next(-1000, 1000), next(-1000, 1000));
        let copy = || move_rect::Rect {
            origin: move_rect::Point { x: r.origin.x, y: r.origin.y },
            size: move_rect::Point { x: r.size.x, y: r.size.y },
            label: r.label,
            tags: r.tags,
            visible: r.visible,
        };
        let (mut moved, mut synth_moved) = (copy(), copy());
        unsafe { original_move_rect(&mut moved, dx, dy) };
        move_rect::move_rect(&mut synth_moved, i64::from(dx), i64::from(dy));
        let fields = |m: &move_rect::Rect| (m.origin.x, m.origin.y, m.size.x, m.size.y, m.tags, m.visible);
        agree[2] += usize::from(fields(&moved) == fields(&synth_moved));
        let k = next(-1000, 1000);
        let stock = || {
            items.iter().map(|it| restock::Item { qty: it.qty, price: it.price, flags: it.flags }).collect::<Vec<_>>()
        };
        let (mut original, mut synthesized) = (stock(), stock());
        unsafe { original_restock(original.as_mut_ptr(), count, k) };
        restock::restock(&mut synthesized, i64::from(count), i64::from(k));
        let each = |v: &[restock::Item]| v.iter().map(|it| (it.qty, it.price, it.flags)).collect::<Vec<_>>();
        agree[3] += usize::from(each(&original) == each(&synthesized));
    }
    println!(
        "rect_area {}\norder_total {}\nmove_rect {}\nrestock {}",
        agree[0], agree[1], agree[2], agree[3]
    );
}
"#;

#[test]
fn struct_functions_synthesized_from_their_fields_agree_with_the_original_on_fresh_inputs() {
    set_binary(env!("CARGO_BIN_EXE_tracesynth-under-test"));
    if !require_root("struct_functions_synthesized_from_their_fields") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = build_fixture("calls", &["-O2", "-g"], dir.path());
    let cases: &[(&str, &str, &str)] = &[
        ("rect_area", "c", "long int rect_area(const rect_t *r) {"),
        ("rect_area", "python", "def rect_area(r: RectT) -> int:\n    return r.size.x * r.size.y"),
        ("order_total", "c", "long int order_total(const struct item *items, int count) {"),
        ("order_total", "python", "return sum([it.qty * it.price for it in items])"),
        // Rust shares the structs with C (`#[repr(C)]`, the DWARF names and widths).
        ("rect_area", "rust", "pub fn rect_area(r: &RectT) -> i64 {\n    i64::from(r.size.x) * i64::from(r.size.y)"),
        ("order_total", "rust", "items.iter().map(|it| i64::from(it.qty) * i64::from(it.price)).sum::<i64>()"),
        // A struct written through its pointer: the fields it changes are its results.
        ("move_rect", "c", "void move_rect(struct rect *r, int dx, int dy) {"),
        (
            "move_rect",
            "python",
            "def move_rect(r: Rect, dx: int, dy: int) -> None:\n    r.origin.x = r.origin.x + dx\n    r.origin.y = r.origin.y + dy\n",
        ),
        ("move_rect", "rust", "pub fn move_rect(r: &mut Rect, dx: i64, dy: i64) {"),
        // An array of structs written in place: the field it changes across them.
        ("restock", "c", "void restock(struct item *items, int count, int k) {"),
        ("restock", "python", "    for it, value in zip(items, [it.qty + k for it in items]):\n        it.qty = value\n"),
        ("restock", "rust", "pub fn restock(items: &mut [Item], _count: i64, k: i64) {"),
    ];
    let cases: Vec<Case> = cases.iter().map(|&(func, lang, expect)| (func, lang, &[][..], expect)).collect();
    // The Rust, its structs passed to the originals as they are.
    agree_with_originals(
        &bin,
        dir.path(),
        "rectdrive 300",
        &cases,
        (STRUCT_HARNESS, RUST_STRUCT_HARNESS),
        "rect_area 1000\norder_total 1000\nmove_rect 1000\nrestock 1000\n",
    );

    // The calls synthesized from, written as the examples JSON with their struct types,
    // synthesize the same function again.
    let written = dir.path().join("out-order_total-python").join("examples.json");
    let examples: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&written).unwrap()).unwrap();
    assert_eq!(examples["params"][0], serde_json::json!({"name": "items", "type": "list[item]"}), "{examples}");
    assert_eq!(examples["types"]["item"], serde_json::json!({"qty": "int", "price": "int", "flags": "int"}));
    assert!(examples["examples"][0]["args"][0].is_array(), "{examples}");
    let (code, text, err) = tests::run_tracesynth(&[
        "synth",
        "--examples",
        written.to_str().unwrap(),
        "--lang",
        "python",
        "--domain",
        "lists",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(text.contains("return sum([it.qty * it.price for it in items])"), "{text}");

    // One call of a function that writes a struct: code that fits it, not called verified.
    let mut fixture = Fixture::start(&bin);
    let (code, err) = live(&mut fixture, "move_rect", &["--lang", "c", "--max-seconds", "5"], &["rect"]);
    assert_ne!(code, 0, "not verified: {err}");
    assert!(err.contains("move_rect: fits-observed") && err.contains("1 calls"), "{err}");
}

/// Structs passed and returned by value, each compared with the synthesized C.
const BY_VALUE_HARNESS: &str = r#"#include <stdint.h>
#include <stdio.h>

struct point {
    int x;
    int y;
};
struct range64 {
    long lo;
    long hi;
};
struct span {
    int lo;
    int hi;
    int width;
};
struct money {
    int dollars;
    int cents;
};
struct wide {
    long lo;
    long hi;
    long sum;
};

struct span bounds(const int *xs, int n);
struct span synth_bounds(const int *xs, int n);
struct money split_cents(int total);
struct money synth_split_cents(int total);
long dot(struct point a, struct point b);
long synth_dot(struct point a, struct point b);
long scaled_len(struct range64 r, int scale);
long synth_scaled_len(struct range64 r, int scale);
struct wide widen(long lo, long hi);
struct wide synth_widen(long lo, long hi);

static uint32_t state = 99u;
static int next(int lo, int hi) {
    state = state * 1103515245u + 12345u;
    return lo + (int)((state >> 8) % (uint32_t)(hi - lo + 1));
}

int main(void) {
    int agree[5] = {0, 0, 0, 0, 0};
    for (int t = 0; t < 1000; t++) {
        int xs[16];
        int n = next(1, 16);
        for (int j = 0; j < n; j++) xs[j] = next(-100000, 100000);
        struct span a = bounds(xs, n), b = synth_bounds(xs, n);
        agree[0] += a.lo == b.lo && a.hi == b.hi && a.width == b.width;
        /* Negative totals too, which no call showed: C's division. */
        int total = next(-10000000, 10000000);
        struct money m = split_cents(total), s = synth_split_cents(total);
        agree[1] += m.dollars == s.dollars && m.cents == s.cents;
        struct point p = {next(-30000, 30000), next(-30000, 30000)}, q = {next(-30000, 30000), next(-30000, 30000)};
        agree[2] += dot(p, q) == synth_dot(p, q);
        struct range64 r = {next(-100000, 100000), 0};
        r.hi = r.lo + next(0, 100000);
        int scale = next(-1000, 1000);
        agree[3] += scaled_len(r, scale) == synth_scaled_len(r, scale);
        long lo = next(-1000000, 1000000), hi = next(-1000000, 1000000);
        struct wide w = widen(lo, hi), v = synth_widen(lo, hi);
        agree[4] += w.lo == v.lo && w.hi == v.hi && w.sum == v.sum;
    }
    printf("bounds %d\nsplit_cents %d\ndot %d\nscaled_len %d\nwiden %d\n", agree[0], agree[1], agree[2], agree[3],
           agree[4]);
    return 0;
}
"#;

/// The same in Rust: the originals return and take the synthesized `#[repr(C)]` structs.
const RUST_BY_VALUE_HARNESS: &str = r#"
extern "C" {
    #[link_name = "bounds"]
    fn original_bounds(xs: *const i32, n: i32) -> bounds::Span;
    #[link_name = "split_cents"]
    fn original_split_cents(total: i32) -> split_cents::Money;
    #[link_name = "dot"]
    fn original_dot(a: dot::Point, b: dot::Point) -> i64;
    #[link_name = "scaled_len"]
    fn original_scaled_len(r: scaled_len::Range64, scale: i32) -> i64;
    #[link_name = "widen"]
    fn original_widen(lo: i64, hi: i64) -> widen::Wide;
}

fn main() {
    let mut state: u32 = 99;
    let mut next = |lo: i32, hi: i32| {
        state = state.wrapping_mul(1103515245).wrapping_add(12345);
        lo + ((state >> 8) % (hi - lo + 1) as u32) as i32
    };
    let mut agree = [0; 5];
    for _ in 0..1000 {
        let n = next(1, 16);
        let xs: Vec<i32> = (0..n).map(|_| next(-100000, 100000)).collect();
        let wide: Vec<i64> = xs.iter().map(|&x| i64::from(x)).collect();
        let a = unsafe { original_bounds(xs.as_ptr(), n) };
        let b = bounds::bounds(&wide, i64::from(n));
        agree[0] += usize::from((a.lo, a.hi, a.width) == (b.lo, b.hi, b.width));
        let total = next(-10000000, 10000000);
        let m = unsafe { original_split_cents(total) };
        let s = split_cents::split_cents(i64::from(total));
        agree[1] += usize::from((m.dollars, m.cents) == (s.dollars, s.cents));
        let p = dot::Point { x: next(-30000, 30000), y: next(-30000, 30000) };
        let q = dot::Point { x: next(-30000, 30000), y: next(-30000, 30000) };
        agree[2] += usize::from(unsafe { original_dot(p, q) } == dot::dot(&p, &q));
        let lo = i64::from(next(-100000, 100000));
        let r = scaled_len::Range64 { lo, hi: lo + i64::from(next(0, 100000)) };
        let scale = next(-1000, 1000);
        agree[3] += usize::from(unsafe { original_scaled_len(r, scale) } == scaled_len::scaled_len(&r, i64::from(scale)));
        let (lo, hi) = (i64::from(next(-1000000, 1000000)), i64::from(next(-1000000, 1000000)));
        let (w, v) = (unsafe { original_widen(lo, hi) }, widen::widen(lo, hi));
        agree[4] += usize::from((w.lo, w.hi, w.sum) == (v.lo, v.hi, v.sum));
    }
    println!(
        "bounds {}\nsplit_cents {}\ndot {}\nscaled_len {}\nwiden {}",
        agree[0], agree[1], agree[2], agree[3], agree[4]
    );
}
"#;

#[test]
fn structs_passed_and_returned_by_value_synthesized_in_c_and_rust_agree_with_the_original_on_fresh_inputs() {
    set_binary(env!("CARGO_BIN_EXE_tracesynth-under-test"));
    if !require_root("structs_passed_and_returned_by_value_synthesized") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = build_fixture("calls", &["-O2", "-g"], dir.path());
    let cents = ["--describe", "whole dollars and the cents left of a total in cents, 100 cents a dollar"];
    let cases: Vec<Case> = vec![
        ("bounds", "c", &[][..], "struct span bounds(const int *xs, int n) {"),
        ("bounds", "python", &[], "return Span(lo=min(xs), hi=max(xs), width=max(xs) - min(xs))"),
        ("bounds", "rust", &[], "pub fn bounds(xs: &[i64], _n: i64) -> Span {"),
        // 100 built from the search's small constants, written as 100; C's division, as
        // the calls cannot tell it from Python's.
        ("split_cents", "c", &[], "int64_t dollars = (int64_t)total / 100;"),
        ("split_cents", "python", &[], "return Money(dollars=_tdiv(total, 100), cents=_tmod(total, 100))"),
        ("split_cents", "rust", &cents, "Money { dollars: (total / 100) as i32, cents: (total % 100) as i32 }"),
        // Passed by value: read with `.`, called without `&`.
        ("dot", "c", &[], "long int dot(struct point a, struct point b) {"),
        ("dot", "python", &[], "return (a.x * b.x) + (a.y * b.y)"),
        ("dot", "rust", &[], "pub fn dot(a: &Point, b: &Point) -> i64 {"),
        ("scaled_len", "c", &[], "long int scaled_len(struct range64 r, int scale) {"),
        ("scaled_len", "python", &[], "return scale * (r.hi - r.lo)"),
        ("scaled_len", "rust", &[], "pub fn scaled_len(r: &Range64, scale: i64) -> i64 {"),
        // Returned in memory, read through the hidden pointer at the return.
        ("widen", "c", &[], "struct wide widen(long int lo, long int hi) {"),
        ("widen", "python", &[], "return Wide(lo=lo, hi=hi, sum=lo + hi)"),
        ("widen", "rust", &[], "pub fn widen(lo: i64, hi: i64) -> Wide {"),
    ];
    let codes = agree_with_originals(
        &bin,
        dir.path(),
        "spandrive 300",
        &cases,
        (BY_VALUE_HARNESS, RUST_BY_VALUE_HARNESS),
        "bounds 1000\nsplit_cents 1000\ndot 1000\nscaled_len 1000\nwiden 1000\n",
    );
    // C's layout (`int` fields as `i32`), so the originals can take and return it.
    for func in ["bounds", "split_cents", "dot"] {
        assert!(codes[&(func.to_string(), "rust".to_string())].contains(": i32,"), "{codes:?}");
    }
}
