//! Capture tests on the real kernel: start a C fixture, attach by PID with
//! `tracesynth record`, drive known calls, and check the trace exactly.
use serde_json::Value as Json;
use tests::{build_fixture, require_root, run_tracesynth, set_binary, Fixture, Recording};

fn func_args(funcs: &[&str], pid: u32, extra: &[&str]) -> Vec<String> {
    let mut args = vec!["--pid".to_string(), pid.to_string()];
    for f in funcs {
        args.push("--func".into());
        args.push((*f).into());
    }
    args.extend(extra.iter().map(|s| (*s).to_string()));
    args
}

/// `name(arg, ...) -> ret` for every call, in entry order, values rendered compactly.
fn rendered(trace: &Json) -> Vec<String> {
    let functions = trace["functions"].as_array().unwrap();
    trace["calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let f = &functions[c["function"].as_u64().unwrap() as usize]["name"];
            let args: Vec<String> = c["args"].as_array().unwrap().iter().map(value).collect();
            format!(
                "{}{}({}) -> {}",
                "  ".repeat(c["depth"].as_u64().unwrap() as usize),
                f.as_str().unwrap(),
                args.join(", "),
                value(&c["ret"])
            )
        })
        .collect()
}

fn value(v: &Json) -> String {
    if v.is_null() {
        return "none".into();
    }
    let (tag, inner) = v.as_object().unwrap().iter().next().unwrap();
    match tag.as_str() {
        "int" | "uint" | "bool" => inner.to_string(),
        "raw" => format!("raw:{inner}"),
        "str" => {
            let s = inner["value"].as_str().unwrap_or("<null>");
            let shown = if s.len() > 12 { format!("{}..{}", &s[..3], s.len()) } else { s.to_string() };
            format!("{shown:?}{}", if inner["truncated"].as_bool().unwrap() { "+" } else { "" })
        }
        "written" => format!("{} -> {}", value(&inner["before"]), value(&inner["after"])),
        "array" => match inner["fault"].as_str() {
            Some(why) => format!("<{why}>"),
            None => {
                let items: Vec<String> = inner["items"].as_array().unwrap().iter().map(value).collect();
                let shown = if items.len() > 6 {
                    format!("{},..{}", items[..3].join(","), items.len())
                } else {
                    items.join(",")
                };
                format!("[{shown}]{}", if inner["truncated"].as_bool().unwrap() { "+" } else { "" })
            }
        },
        "record" => {
            let fields: Vec<String> = inner["fields"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| format!("{}: {}", f["name"].as_str().unwrap(), value(&f["value"])))
                .collect();
            format!("{{{}}}", fields.join(", "))
        }
        other => format!("{other}:{inner}"),
    }
}

#[test]
fn reads_arrays_through_pointer_arguments_from_dwarf() {
    set_binary(env!("CARGO_BIN_EXE_tracesynth-under-test"));
    if !require_root("reads_arrays_through_pointer_arguments_from_dwarf") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = build_fixture("calls", &["-O2", "-g"], dir.path());
    let expected = [
        "sum_ints([1,2,3,4], 4) -> 10",
        // 4 KiB of 2000 ints: the first 1024, marked truncated.
        "sum_ints([0,1,2,..1024]+, 2000) -> 1999000",
        "sum_ints(<NULL pointer>, 3) -> -1",
        "sum_ints(<unreadable memory (errno 14)>, 4) -> -1",
        "sum_ints([], -2) -> -1",
        // Not `const`: read again at the return, which shows what the call wrote.
        "scale_ints([1,2,3] -> [2,4,6], 3, 2) -> none",
        "sum_u16([7,65535], 2) -> 65542",
    ];
    let trace = record_commands(&bin, &["sum_ints", "scale_ints", "sum_u16"], &["arr"], 7, &[]);
    assert_eq!(rendered(&trace), expected);
    // With fast entry the entry probe moves to a trampoline (calls are not run through
    // it, since memory is read at entry); the same values are read.
    let fast = record_commands(&bin, &["sum_ints", "scale_ints", "sum_u16"], &["arr"], 7, &["--fast-entry"]);
    assert_eq!(rendered(&fast), expected);
    assert_loss_balanced(&fast);
    let calls = trace["calls"].as_array().unwrap();
    assert_eq!(calls[1]["args"][0]["array"]["count"], 2000);
    assert_eq!(calls[4]["args"][0]["array"]["count"], -2);
    assert_loss_balanced(&trace);
    assert_eq!(trace["functions"][0]["params"][0]["ctype"]["kind"]["elements"]["count_param"], 1);

    // `--array-cap 0` reads nothing and says so per value; the calls are all there.
    let none = record_commands(&bin, &["sum_ints", "scale_ints", "sum_u16"], &["arr"], 7, &["--array-cap", "0"]);
    assert_eq!(rendered(&none)[0], "sum_ints(<not read>, 4) -> 10");
    assert_eq!(rendered(&none).len(), 7);

    // `--explain` names what is read.
    let mut fixture = Fixture::start(&bin);
    let pid = fixture.pid().to_string();
    let (code, text, err) = run_tracesynth(&["record", "--pid", &pid, "--func", "sum_ints", "--explain"]);
    assert_eq!(code, 0, "{err}");
    assert!(text.contains("reads: `a` (const int *): `n` elements of 4 bytes at entry, up to 4096 bytes"), "{text}");
    let (code, text, err) = run_tracesynth(&["record", "--pid", &pid, "--func", "scale_ints", "--explain"]);
    assert_eq!(code, 0, "{err}");
    assert!(text.contains("reads: `a` (int *): `n` elements of 4 bytes at entry and again at the return"), "{text}");
    // What the heuristics cannot know, said with `--arg`: the length from another
    // parameter, and a pointer the function does not write.
    let with_k = ["record", "--pid", &pid, "--func", "scale_ints", "--explain", "--arg", "a:len=k,in"];
    let (code, text, err) = run_tracesynth(&with_k);
    assert_eq!(code, 0, "{err}");
    assert!(text.contains("reads: `a` (int *): `k` elements of 4 bytes at entry, up to 4096 bytes"), "{text}");
    for (func, arg, message) in [
        ("scale_ints", "nope:out", "no traced function has a parameter `nope`"),
        ("scale_ints", "n:out", "`n` is int, not a pointer to integers"),
        ("scale_ints", "a:len=nope", "there is no parameter `nope`"),
        ("sum_ints", "a:out", "`a` is const int *: the function cannot write through it"),
        ("sum_ints", "a:len=4097", "a fixed length is 1 to 4096 elements"),
        ("scale_ints", "n:len=4", "`n` is int, not a pointer to integers or bytes"),
    ] {
        let (code, _, err) = run_tracesynth(&["record", "--pid", &pid, "--func", func, "--explain", "--arg", arg]);
        assert_ne!(code, 0, "--arg {arg}");
        assert!(err.contains(message), "--arg {arg}: {err}");
    }
    let synth = ["synth", "--pid", &pid, "--func", "sum_ints", "--lang", "python", "--arg", "a:out"];
    let (code, _, err) = run_tracesynth(&synth);
    assert_ne!(code, 0);
    assert!(err.contains("`a` is const int *: the function cannot write through it"), "synth --pid --arg: {err}");
    fixture.command("exit");
    let overridden = record_commands(&bin, &["scale_ints"], &["arr"], 1, &["--arg", "a:len=k,in"]);
    assert_eq!(rendered(&overridden), ["scale_ints([1,2], 3, 2) -> none"]);
    // A fixed length: that many elements whatever the count says, and a `char *` read
    // as bytes.
    let fixed = record_commands(&bin, &["sum_ints"], &["arr"], 1, &["--arg", "a:len=2"]);
    assert_eq!(rendered(&fixed)[..2], ["sum_ints([1,2], 4) -> 10", "sum_ints([0,1], 2000) -> 1999000"]);
    let bytes = record_commands(&bin, &["greet"], &["secret"], 1, &["--arg", "name:len=5"]);
    assert_eq!(rendered(&bytes)[0], "greet([119,114,105,116,101]) -> 31");
    let mut fixture = Fixture::start(&bin);
    let pid = fixture.pid().to_string();
    let (code, text, err) =
        run_tracesynth(&["record", "--pid", &pid, "--func", "greet", "--explain", "--arg", "name:len=5"]);
    assert_eq!(code, 0, "{err}");
    assert!(text.contains("reads: `name` (const char *): 5 elements (fixed) of 1 bytes at entry"), "{text}");
    fixture.command("exit");
}

fn assert_loss_balanced(trace: &Json) {
    let loss = &trace["loss"];
    let (p, r, d) =
        (loss["produced"].as_u64().unwrap(), loss["received"].as_u64().unwrap(), loss["dropped"].as_u64().unwrap());
    assert_eq!(p, r + d, "produced = received + dropped: {loss}");
    assert_eq!(d, 0, "nothing dropped at this rate");
}

#[test]
fn reads_the_strings_of_the_first_structs_of_an_array() {
    set_binary(env!("CARGO_BIN_EXE_tracesynth-under-test"));
    if !require_root("reads_the_strings_of_the_first_structs_of_an_array") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = build_fixture("calls", &["-O2", "-g"], dir.path());
    for extra in [&[][..], &["--fast-entry"][..]] {
        let mut fixture = Fixture::start(&bin);
        let out = dir.path().join("named.json");
        let args = func_args(&["named_total"], fixture.pid(), &["--calls", "1"]);
        let mut args: Vec<&str> = args.iter().map(String::as_str).collect();
        args.extend_from_slice(extra);
        let recording = Recording::start(&args, &out);
        let replies = fixture.exchange("named").unwrap();
        let logged = replies.iter().find_map(|l| l.strip_prefix("named ")).unwrap().to_string();
        recording.finish();
        fixture.command("exit");
        let trace = tracer_probe::trace::Trace::read(&out).unwrap();
        assert_eq!(trace.calls.len(), 1);
        let call = &trace.calls[0];
        assert_eq!(call.args[0].to_string(), logged, "{extra:?}");
        // 1+2+0+4+...: qty times the name's length (2), the third has none.
        assert_eq!(call.ret, Some(tracer_probe::trace::Value::Int(2 * (55 - 3))), "{extra:?}");
        assert!(
            trace.warnings.iter().all(|w| !w.contains("recorded as an address")),
            "one member, within the limit: {:?}",
            trace.warnings
        );
    }
}

#[test]
fn reads_structs_through_pointer_arguments_by_their_dwarf_layout() {
    set_binary(env!("CARGO_BIN_EXE_tracesynth-under-test"));
    if !require_root("reads_structs_through_pointer_arguments_by_their_dwarf_layout") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = build_fixture("calls", &["-O2", "-g"], dir.path());
    for extra in [&[][..], &["--fast-entry"][..]] {
        let mut fixture = Fixture::start(&bin);
        let out = dir.path().join("structs.json");
        let args = func_args(&["rect_area", "move_rect", "order_total"], fixture.pid(), &["--calls", "4"]);
        let mut args: Vec<&str> = args.iter().map(String::as_str).collect();
        args.extend_from_slice(extra);
        let recording = Recording::start(&args, &out);
        // The fixture logs each struct as tracesynth shows one: before and after the move.
        let replies = fixture.exchange("rect").unwrap();
        let logged: Vec<String> = replies.iter().filter_map(|l| l.strip_prefix("rect ").map(str::to_string)).collect();
        let items = replies.iter().find_map(|l| l.strip_prefix("items ")).unwrap().to_string();
        assert_eq!(logged.len(), 2, "{logged:?}");
        assert!(logged[1].contains("origin: {x: 11, y: -22}"), "{logged:?}");
        recording.finish();
        let trace = tracer_probe::trace::Trace::read(&out).unwrap();
        let shown: Vec<String> = trace
            .calls
            .iter()
            .map(|c| {
                let args: Vec<String> = c.args.iter().map(ToString::to_string).collect();
                format!("{}({})", trace.functions[c.function as usize].name, args.join(", "))
            })
            .collect();
        assert_eq!(
            shown,
            [
                format!("rect_area({})", logged[0]),
                // Not `const`: read again at the return; the fields the call changed.
                format!(
                    "move_rect({}, 10, -20)",
                    logged[0].replace("origin: {x: 1, y: -2}", "origin: {x: 1 → 11, y: -2 → -22}")
                ),
                "rect_area(<unreadable memory (errno 14)>)".to_string(),
                // An array of structs, as many as `count` says.
                format!("order_total({items}, 3)"),
            ],
            "{extra:?}"
        );
        assert_eq!(trace.calls[0].ret, Some(tracer_probe::trace::Value::Int(120_000)));
        // The `char *` member, read as a string one level deep.
        assert!(logged[0].contains("label: \"box\""), "{logged:?}");
        assert_eq!(trace.calls[2].ret, Some(tracer_probe::trace::Value::Int(-1)), "the call is kept");
        assert_eq!(trace.calls[3].ret, Some(tracer_probe::trace::Value::Int(300 - 40 + 35)));
        let tracer_probe::trace::Value::Record { ty, fields, .. } = &trace.calls[0].args[0] else { panic!() };
        assert_eq!(ty, "rect_t");
        // Each field with its C type.
        let types: Vec<(&str, &str)> = fields.iter().map(|f| (f.name.as_str(), f.ctype.as_str())).collect();
        assert_eq!(
            types,
            [
                ("origin", "struct point"),
                ("size", "struct point"),
                ("label", "const char *"),
                ("tags", "short int[3]"),
                ("visible", "unsigned char")
            ]
        );
        assert_loss_balanced(&serde_json::to_value(&trace).unwrap());
    }

    // `--explain` shows the layout read.
    let mut fixture = Fixture::start(&bin);
    let pid = fixture.pid().to_string();
    let (code, text, err) = run_tracesynth(&["record", "--pid", &pid, "--func", "move_rect", "--explain"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        text.contains(
            "reads: `r` (struct rect *): 32 bytes at entry and again at the return (the function may write it), \
             up to 4096 bytes, as struct rect {origin: struct point {x: int, y: int}, size: struct point {x: int, \
             y: int}, label: const char * (the string too; in an array, of the first 8 structs), tags: short int[3], visible: \
             unsigned char}"
        ),
        "{text}"
    );
    let (code, text, err) = run_tracesynth(&["record", "--pid", &pid, "--func", "order_total", "--explain"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        text.contains(
            "reads: `items` (const struct item *): `count` structs of 12 bytes at entry, up to 4096 bytes, \
             as struct item {qty: int, price: int, flags: unsigned int}"
        ),
        "{text}"
    );
    // The count named with `--arg` where its name does not say so.
    let (code, text, err) =
        run_tracesynth(&["record", "--pid", &pid, "--func", "move_rect", "--explain", "--arg", "r:len=dx"]);
    assert_eq!(code, 0, "{err}");
    assert!(text.contains("reads: `r` (struct rect *): `dx` structs of 32 bytes at entry"), "{text}");
    fixture.command("rect");
}

/// What `record --explain` prints for `funcs` in a fresh run of `binary`.
fn explain(binary: &std::path::Path, funcs: &[&str]) -> String {
    let fixture = Fixture::start(binary);
    let pid = fixture.pid().to_string();
    let mut args = vec!["record", "--pid", &pid];
    for f in funcs {
        args.extend(["--func", f]);
    }
    args.push("--explain");
    let (code, out, err) = run_tracesynth(&args);
    assert_eq!(code, 0, "{err}");
    out
}

fn record_commands(binary: &std::path::Path, funcs: &[&str], commands: &[&str], calls: usize, extra: &[&str]) -> Json {
    let dir = tempfile::tempdir().unwrap();
    let mut fixture = Fixture::start(binary);
    let out = dir.path().join("trace.json");
    let calls_s = calls.to_string();
    let mut extra_args = vec!["--calls", calls_s.as_str()];
    extra_args.extend_from_slice(extra);
    let args = func_args(funcs, fixture.pid(), &extra_args);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let recording = Recording::start(&args, &out);
    for c in commands {
        fixture.command(c);
    }
    recording.finish()
}

const SEQ: &[&str] = &[
    "clear_lowest(12) -> 8",
    "clear_lowest(0) -> 0",
    "clear_lowest(2147483648) -> 0",
    "add_push(2, 3) -> 5",
    "add_push(-7, 4) -> -3",
    "price(3, 100) -> 300",
    "price(10, 100) -> 900",
    "price(-2, 5) -> -10",
];

#[test]
fn captures_exact_arguments_and_returns_across_builds() {
    set_binary(env!("CARGO_BIN_EXE_tracesynth-under-test"));
    if !require_root("captures_exact_arguments_and_returns_across_builds") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for flags in [
        &["-O2", "-g"][..],
        &["-O0", "-g"],
        &["-O2", "-g", "-fcf-protection=full"],
        &["-O0", "-g", "-fno-omit-frame-pointer", "-fcf-protection=none"],
    ] {
        let bin = build_fixture("calls", flags, dir.path());
        let trace = record_commands(&bin, &["clear_lowest", "add_push", "price"], &["seq"], 8, &[]);
        assert_eq!(rendered(&trace), SEQ, "flags {flags:?}");
        assert_loss_balanced(&trace);
        assert_eq!(trace["end_reason"], "call_limit");
        let f = &trace["functions"][2];
        assert_eq!(f["params"][0]["name"], "qty");
        assert_eq!(f["params"][0]["ctype"]["name"], "int32_t");
        assert_eq!(f["ret"]["name"], "int64_t");
        for call in trace["calls"].as_array().unwrap() {
            let (entry, exit) = (call["entry_ns"].as_u64().unwrap(), call["exit_ns"].as_u64().unwrap());
            assert!(exit >= entry);
            assert_eq!(call["duration_ns"].as_u64().unwrap(), exit - entry);
            assert_eq!(call["tid"].as_u64().unwrap() as u32, trace["pid"].as_u64().unwrap() as u32);
        }
    }
}

#[test]
fn pairs_recursion_and_nested_calls() {
    set_binary(env!("CARGO_BIN_EXE_tracesynth-under-test"));
    if !require_root("pairs_recursion_and_nested_calls") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = build_fixture("calls", &["-O2", "-g"], dir.path());
    let trace = record_commands(&bin, &["depth_sum", "outer", "inner"], &["rec 3", "nest"], 7, &[]);
    assert_eq!(
        rendered(&trace),
        [
            "depth_sum(3) -> 6",
            "  depth_sum(2) -> 3",
            "    depth_sum(1) -> 1",
            "      depth_sum(0) -> 0",
            "outer(5) -> 22",
            "  inner(5) -> 10",
            "  inner(6) -> 12",
        ]
    );
    let calls = trace["calls"].as_array().unwrap();
    assert_eq!(calls[1]["parent"], calls[0]["seq"]);
    assert_eq!(calls[6]["parent"], calls[4]["seq"]);
    assert_loss_balanced(&trace);
}

#[test]
fn reads_strings_with_truncation_flag() {
    set_binary(env!("CARGO_BIN_EXE_tracesynth-under-test"));
    if !require_root("reads_strings_with_truncation_flag") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = build_fixture("calls", &["-O2", "-g"], dir.path());
    let trace = record_commands(&bin, &["greet", "pick"], &["str"], 3, &[]);
    assert_eq!(rendered(&trace), ["greet(\"alice\") -> 12", "greet(\"xxx..256\"+) -> 307", "pick(1) -> \"one\""]);
    assert_eq!(trace["functions"][0]["params"][0]["ctype"]["name"], "const char *");
}

#[test]
fn return_instruction_probes_match_uretprobes() {
    set_binary(env!("CARGO_BIN_EXE_tracesynth-under-test"));
    if !require_root("return_instruction_probes_match_uretprobes") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = build_fixture("calls", &["-O2", "-g"], dir.path());
    let trace = record_commands(&bin, &["clear_lowest", "add_push", "price"], &["seq"], 8, &["--ret-probes", "insn"]);
    assert_eq!(rendered(&trace), SEQ);
    assert!(!trace["functions"][2]["ret_sites"].as_array().unwrap().is_empty());
}

#[test]
fn reads_structs_passed_and_returned_by_value_and_the_parameters_after_a_hidden_pointer() {
    set_binary(env!("CARGO_BIN_EXE_tracesynth-under-test"));
    if !require_root("reads_structs_returned_by_value") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = build_fixture("calls", &["-O2", "-g"], dir.path());
    let expected = [
        // 12 bytes: rax and rdx.
        "bounds([3,-1,7], 3) -> {lo: -1, hi: 7, width: 8}",
        // 8 bytes: rax.
        "split_cents(12345) -> {dollars: 123, cents: 45}",
        // 24 bytes, in memory: rdi is the hidden pointer, so `lo` is in rsi; the struct is
        // read where it points at the return.
        "widen(-5, 9) -> {lo: -5, hi: 9, sum: 4}",
        // Passed by value: 8 bytes in one register each; 16 bytes in two, then `scale`.
        "dot({x: 1, y: 2}, {x: 3, y: -4}) -> -5",
        "scaled_len({lo: -3, hi: 10}, 2) -> 26",
    ];
    // Uretprobes, probes on `ret`, and leaves run through a call-through trampoline.
    for extra in [&[][..], &["--ret-probes", "insn"], &["--fast-entry"]] {
        let functions = ["bounds", "split_cents", "widen", "dot", "scaled_len"];
        let trace = record_commands(&bin, &functions, &["span"], 5, extra);
        let mut expected = expected.map(str::to_string);
        if extra == ["--ret-probes", "insn"] {
            // A probe on `ret` reads no memory at the return.
            expected[2] = "widen(-5, 9) -> unavailable:\"the struct returned is not in rax:rdx\"".into();
            let warnings = trace["warnings"].to_string();
            assert!(warnings.contains("widen: struct wide is returned in memory, which probes on `ret`"), "{warnings}");
        }
        assert_eq!(rendered(&trace), expected, "{extra:?}");
        assert_eq!(trace["functions"][0]["ret"]["name"], "struct span");
    }
    // `--explain` says where each struct travels.
    let out = explain(&bin, &["bounds", "widen", "scaled_len"]);
    for line in [
        "returns: in rax and rdx, as struct span {lo: int, hi: int, width: int}",
        "returns: 24 bytes in memory, read at the return where the hidden pointer (rdi) points",
        "reads: `r` (struct range64): passed by value in rdi and rsi, as struct range64 {lo: long int, hi: long int}",
    ] {
        assert!(out.contains(line), "{out}");
    }
}

#[test]
fn without_debug_info_records_raw_registers() {
    set_binary(env!("CARGO_BIN_EXE_tracesynth-under-test"));
    if !require_root("without_debug_info_records_raw_registers") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = build_fixture("calls", &["-O2"], dir.path());
    let trace = record_commands(&bin, &["clear_lowest"], &["seq"], 3, &[]);
    let calls = trace["calls"].as_array().unwrap();
    assert_eq!(calls[0]["args"][0], serde_json::json!({"raw": 12}));
    assert_eq!(calls[0]["ret"], serde_json::json!({"raw": 8}));
    assert!(trace["warnings"].to_string().contains("no DWARF"));
}

#[test]
fn cheap_sites_are_chosen_and_explained() {
    set_binary(env!("CARGO_BIN_EXE_tracesynth-under-test"));
    if !require_root("cheap_sites_are_chosen_and_explained") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = build_fixture("calls", &["-O2", "-g"], dir.path());
    let out = explain(&bin, &["lea_fn", "push_fn", "nop5_fn", "depth_sum"]);
    assert!(out.contains("lea_fn") && out.contains("(SingleStep)"), "{out}");
    assert!(out.contains("+0x0 `push rbx` (Emulated)"), "{out}");
    assert!(out.contains("(Optimized)"), "{out}");
    assert!(out.contains("+0x2 `jle"), "{out}");
}

#[test]
fn target_exit_keeps_calls_and_says_why() {
    set_binary(env!("CARGO_BIN_EXE_tracesynth-under-test"));
    if !require_root("target_exit_keeps_calls_and_says_why") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = build_fixture("calls", &["-O2", "-g"], dir.path());
    let mut fixture = Fixture::start(&bin);
    let out = dir.path().join("t.json");
    let pid = fixture.pid().to_string();
    let rec = Recording::start(&["--pid", &pid, "--func", "clear_lowest", "--duration", "60"], &out);
    fixture.command("seq");
    fixture.command("exit");
    let _ = fixture.child.wait();
    let trace = rec.finish();
    assert_eq!(trace["end_reason"], "target_exited");
    assert_eq!(rendered(&trace), &SEQ[..3]);
}

#[test]
fn interrupt_writes_the_trace() {
    set_binary(env!("CARGO_BIN_EXE_tracesynth-under-test"));
    if !require_root("interrupt_writes_the_trace") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = build_fixture("calls", &["-O2", "-g"], dir.path());
    let mut fixture = Fixture::start(&bin);
    let out = dir.path().join("t.bin");
    let pid = fixture.pid().to_string();
    let rec = Recording::start(&["--pid", &pid, "--func", "add_push"], &out);
    fixture.command("seq");
    std::thread::sleep(std::time::Duration::from_millis(200));
    let status = std::process::Command::new("kill").args(["-INT", &rec.child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let mut child = rec.child;
    assert!(child.wait().unwrap().success());
    // bincode by extension; export converts it to JSON and Chrome format.
    let json = dir.path().join("t.json");
    let (code, _, err) =
        run_tracesynth(&["export", "--format", "json", out.to_str().unwrap(), "-o", json.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let trace: Json = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(trace["end_reason"], "interrupted");
    assert_eq!(rendered(&trace), &SEQ[3..5]);
    let chrome = dir.path().join("c.json");
    let (code, _, err) =
        run_tracesynth(&["export", "--format", "chrome", out.to_str().unwrap(), "-o", chrome.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let doc: Json = serde_json::from_str(&std::fs::read_to_string(&chrome).unwrap()).unwrap();
    let x: Vec<&Json> = doc["traceEvents"].as_array().unwrap().iter().filter(|e| e["ph"] == "X").collect();
    assert_eq!(x.len(), 2);
    assert_eq!(x[0]["name"], "add_push");
    assert_eq!(x[0]["args"]["a"], 2);
}

#[test]
fn resource_series_and_on_cpu_time_are_recorded() {
    set_binary(env!("CARGO_BIN_EXE_tracesynth-under-test"));
    if !require_root("resource_series_and_on_cpu_time_are_recorded") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = build_fixture("calls", &["-O2", "-g"], dir.path());
    let mut fixture = Fixture::start(&bin);
    let out = dir.path().join("t.json");
    let pid = fixture.pid().to_string();
    let rec =
        Recording::start(&["--pid", &pid, "--func", "depth_sum", "--duration", "0.6", "--interval-ms", "50"], &out);
    fixture.command("rec 2");
    let trace = rec.finish();
    let samples = trace["resources"].as_array().unwrap();
    assert!(samples.len() >= 5, "{} samples", samples.len());
    assert!(samples.iter().all(|s| s["rss_bytes"].as_u64().unwrap() > 0));
    assert_eq!(trace["on_cpu"]["available"], true, "{}", trace["on_cpu"]);
    let calls = trace["calls"].as_array().unwrap();
    assert_eq!(calls.len(), 3);
    for c in calls {
        let cpu = c["cpu_ns"].as_u64().expect("on-CPU time per call");
        assert!(cpu <= c["duration_ns"].as_u64().unwrap() + 1_000, "{c}");
    }
}

/// The raw argument and return of a call of one of the fixture's `i & (i - 1)` functions.
fn raw_arg_and_ret(call: &Json) -> (u64, u64) {
    (call["args"][0]["raw"].as_u64().unwrap() & 0xffff_ffff, call["ret"]["raw"].as_u64().unwrap() & 0xffff_ffff)
}

#[test]
fn samples_one_call_in_n_in_the_kernel_and_keeps_pairs_right() {
    set_binary(env!("CARGO_BIN_EXE_tracesynth-under-test"));
    if !require_root("samples_one_call_in_n_in_the_kernel_and_keeps_pairs_right") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = build_fixture("calls", &["-O2", "-g"], dir.path());
    let mut fixture = Fixture::start(&bin);
    let out = dir.path().join("trace.json");
    let args = func_args(&["push_fn", "nop5_fn"], fixture.pid(), &["--sample-every", "4", "--duration", "3"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let recording = Recording::start(&args, &out);
    fixture.command("loop 2000");
    let trace = recording.finish();
    fixture.command("exit");

    let calls = trace["calls"].as_array().unwrap();
    for f in 0..2 {
        let n = calls.iter().filter(|c| c["function"] == f).count();
        // One in four per CPU: each migration between CPUs can shift the count by one.
        assert!((450..=550).contains(&n), "function {f}: {n} of 2000 calls recorded, want about 500");
    }
    for c in calls {
        assert!(c["incomplete"].is_null(), "a sampled call is whole: {c}");
        // Entries skipped must not pair with other calls' returns.
        let (arg, ret) = raw_arg_and_ret(c);
        assert_eq!(ret, arg & arg.wrapping_sub(1) & 0xffff_ffff, "{c}");
    }
    assert_eq!(trace["loss"]["unmatched_returns"], 0, "skipped entries skip their returns too");
    assert_loss_balanced(&trace);
    assert_eq!(trace["sampling"].as_array().unwrap().len(), 1, "{}", trace["sampling"]);
    assert_eq!(trace["sampling"][0]["sample_every"], serde_json::json!([4, 4]));
}

#[test]
fn a_minimum_duration_leaves_short_calls_out_in_the_kernel_and_keeps_the_nesting() {
    set_binary(env!("CARGO_BIN_EXE_tracesynth-under-test"));
    if !require_root("a_minimum_duration_leaves_short_calls_out_in_the_kernel_and_keeps_the_nesting") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = build_fixture("calls", &["-O2", "-g"], dir.path());
    let mut fixture = Fixture::start(&bin);
    let out = dir.path().join("trace.json");
    let args =
        func_args(&["spin", "spin_parent", "greet"], fixture.pid(), &["--min-duration", "100us", "--duration", "3"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let recording = Recording::start(&args, &out);
    let rounds = 20;
    fixture.command(&format!("durations {rounds}"));
    fixture.command("str");
    let trace = recording.finish();
    fixture.command("exit");

    let calls = trace["calls"].as_array().unwrap();
    let (spin, parent) = (0, 1);
    let duration = |c: &Json| c["exit_ns"].as_u64().unwrap() - c["entry_ns"].as_u64().unwrap();
    for c in calls {
        assert!(c["incomplete"].is_null(), "{c}");
        assert!(duration(c) >= 100_000, "a call under 100 µs was kept: {c}");
    }
    // A call meant to be short may still take 100 µs when the VM deschedules it; it is
    // then rightly kept (its duration was checked above) and counted apart.
    let us = |c: &Json| c["args"][0]["int"].as_i64().expect("an int argument");
    let parents: Vec<&Json> = calls.iter().filter(|c| c["function"] == parent && us(c) == 500).collect();
    assert_eq!(parents.len(), rounds, "spin_parent(500) each round");
    let spins: Vec<&Json> = calls.iter().filter(|c| c["function"] == spin && us(c) == 500).collect();
    assert_eq!(spins.len(), 2 * rounds, "spin(500) alone and in spin_parent(500)");
    let nested: Vec<&&Json> = spins.iter().filter(|c| !c["parent"].is_null()).collect();
    assert_eq!(nested.len(), rounds, "one spin(500) a round inside spin_parent(500)");
    for child in nested {
        let p = parents.iter().find(|p| p["seq"] == child["parent"]).expect("the parent is a kept spin_parent call");
        assert_eq!(child["depth"], 1);
        assert!(
            p["entry_ns"].as_u64() <= child["entry_ns"].as_u64() && child["exit_ns"].as_u64() <= p["exit_ns"].as_u64()
        );
    }
    assert!(calls.iter().all(|c| c["function"] != 2), "greet's calls are short: left out after the ring");
    // Each round makes seven short calls: spin(0), spin_parent(0) with its three children,
    // and the two short children of spin_parent(500); greet's two calls are left out in
    // user space. Those the kernel did not leave out are the short calls that ran long.
    let ran_long = calls.iter().filter(|c| us(c) == 0).count();
    assert!(ran_long <= 7 * rounds / 10, "{ran_long} of {} short calls took 100 µs", 7 * rounds);
    let in_kernel = 7 * rounds - ran_long;
    assert_eq!(calls.len(), 3 * rounds + ran_long);
    assert_eq!(trace["min_duration"], serde_json::json!({"ns": 100_000, "left_out": in_kernel + 2}));
    let warnings = trace["warnings"].to_string();
    assert!(
        warnings.contains(&format!("calls shorter than 100 µs were left out: {in_kernel} in the kernel, 2 after it")),
        "{warnings}"
    );
    assert_eq!(trace["loss"]["unmatched_returns"], 0);
    assert_loss_balanced(&trace);
}

#[test]
fn an_overhead_budget_removes_costly_probes_and_weights_what_it_kept() {
    set_binary(env!("CARGO_BIN_EXE_tracesynth-under-test"));
    if !require_root("an_overhead_budget_removes_costly_probes_and_weights_what_it_kept") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = build_fixture("calls", &["-O2", "-g"], dir.path());
    let mut fixture = Fixture::start(&bin);
    let out = dir.path().join("trace.json");
    // push_fn costs a few ns; each probed call costs µs: far over 1 %, traps alone too.
    let args = func_args(&["push_fn"], fixture.pid(), &["--max-overhead", "1", "--duration", "4"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let recording = Recording::start(&args, &out);
    let ns = fixture.timed("bench push 100000000").unwrap();
    assert!(ns > 0.0);
    let trace = recording.finish();
    // The target still answers, and right.
    fixture.command("loop 3");
    fixture.command("exit");

    let sampling = trace["sampling"].as_array().unwrap();
    assert!(!sampling.is_empty(), "the budget sampled: {trace:#}");
    let windows: Vec<f64> = sampling.iter().map(|s| s["duty"].as_f64().unwrap()).collect();
    assert!(windows.iter().any(|d| *d < 0.5), "the probes were removed most of the time: {windows:?}");
    let warnings = trace["warnings"].as_array().unwrap();
    assert!(
        warnings.iter().any(|w| w.as_str().unwrap().starts_with("the overhead budget of 1.00 % sampled the calls")),
        "{warnings:?}"
    );
    let calls = trace["calls"].as_array().unwrap();
    assert!(!calls.is_empty());
    for c in calls.iter().filter(|c| c["incomplete"].is_null()) {
        let (arg, ret) = raw_arg_and_ret(c);
        assert_eq!(ret, arg & arg.wrapping_sub(1) & 0xffff_ffff, "{c}");
    }
    let loss = &trace["loss"];
    assert_eq!(
        loss["produced"].as_u64().unwrap(),
        loss["received"].as_u64().unwrap() + loss["dropped"].as_u64().unwrap(),
        "{loss}"
    );
}
