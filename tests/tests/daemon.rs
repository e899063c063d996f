//! The daemon on the real kernel: start `tracesynth daemon`, attach to the C fixture by PID
//! through the HTTP API and the client verbs, drive known calls, read them back, and check
//! that a trace survives `kill -9` of the daemon.
use std::{
    io::{BufRead, BufReader, Write as _},
    os::unix::process::CommandExt as _,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use serde_json::{json, Value as Json};
use tests::pki::{arg, TestPki};
use tests::{
    build_fixture, require_root, run_tracesynth, set_binary, start_daemon, tracesynth, wait_for, DaemonClient, Fixture,
};
use tracer_daemon::client::{Client, DaemonUrl};

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

fn value(v: &Json) -> String {
    let (_, inner) = v.as_object().unwrap().iter().next().unwrap();
    inner.to_string()
}

/// `name(args) -> ret` for each call, names from `functions`.
fn rendered(functions: &Json, calls: &Json) -> Vec<String> {
    calls
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let f = functions[c["function"].as_u64().unwrap() as usize].as_str().map_or_else(
                || functions[c["function"].as_u64().unwrap() as usize]["name"].as_str().unwrap().to_string(),
                str::to_string,
            );
            let args: Vec<String> = c["args"].as_array().unwrap().iter().map(value).collect();
            format!("{f}({}) -> {}", args.join(", "), value(&c["ret"]))
        })
        .collect()
}

fn total_calls(session: &Json) -> u64 {
    session["calls_per_function"].as_array().unwrap().iter().map(|n| n.as_u64().unwrap()).sum()
}

#[test]
fn daemon_captures_by_pid_and_a_trace_survives_kill_9() {
    set_binary(env!("CARGO_BIN_EXE_tracesynth-under-test"));
    if !require_root("daemon_captures_by_pid_and_a_trace_survives_kill_9") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let bin = build_fixture("calls", &["-O2", "-g"], dir.path());
    let mut fixture = Fixture::start(&bin);
    let mut daemon = start_daemon(&data, &[]);
    let client = daemon.client();
    assert_eq!(client.get_json("/v1/health").unwrap()["status"], "ok");

    let started = Instant::now();
    let session = client
        .post_json("/v1/sessions", &json!({"pid": fixture.pid(), "functions": ["clear_lowest", "add_push", "price"]}))
        .unwrap();
    eprintln!("attach through the API took {:?}", started.elapsed());
    let id = session["id"].as_u64().unwrap();
    assert_eq!(session["state"], "running");

    fixture.command("seq");
    let live = wait_for("8 calls", Duration::from_secs(10), || {
        let s = client.get_json(&format!("/v1/sessions/{id}")).unwrap();
        (total_calls(&s) == 8).then_some(s)
    });
    assert_eq!(live["calls_per_function"], json!([3, 2, 3]));
    assert_eq!(live["state"], "running");

    // Paged calls, ordered by (function, seq): here the same as entry order.
    let page = client.get_json(&format!("/v1/traces/{id}/calls?limit=100")).unwrap();
    assert_eq!(page["total"], 8);
    assert_eq!(rendered(&page["functions"], &page["calls"]), SEQ);
    let page = client.get_json(&format!("/v1/traces/{id}/calls?function=price&offset=1&limit=1")).unwrap();
    assert_eq!(
        (page["total"].as_u64(), rendered(&page["functions"], &page["calls"])),
        (Some(3), vec![SEQ[6].to_string()])
    );
    let before = client.get_json(&format!("/v1/traces/{id}")).unwrap();
    assert_eq!(rendered(&before["functions"], &before["calls"]), SEQ);
    let metrics = String::from_utf8(client.get_bytes("/metrics").unwrap()).unwrap();
    assert!(metrics.contains("tracesynth_sessions{state=\"running\"} 1"), "{metrics}");

    // Attaching to the daemon itself is refused.
    let err = client.post_json("/v1/sessions", &json!({"pid": daemon.child.id(), "functions": ["main"]})).unwrap_err();
    assert!(err.to_string().contains("403") && err.to_string().contains("own PID"), "{err}");

    // Past a flush (200 ms), kill -9 and restart on the same data dir.
    std::thread::sleep(Duration::from_millis(700));
    daemon.kill_9();
    let daemon = start_daemon(&data, &[]);
    let client = daemon.client();
    let after = client.get_json(&format!("/v1/traces/{id}")).unwrap();
    assert_eq!(after["calls"], before["calls"], "the trace is intact after kill -9");
    assert_eq!(after["functions"], before["functions"]);
    let s = client.get_json(&format!("/v1/sessions/{id}")).unwrap();
    assert_eq!(s["state"], "daemon-stopped");
    // The fixture is still there and untraced; a new session works on the new daemon.
    let second = client
        .post_json("/v1/sessions", &json!({"pid": fixture.pid(), "functions": ["price"], "limits": {"max_calls": 3}}))
        .unwrap();
    let second_id = second["id"].as_u64().unwrap();
    assert_eq!(second_id, id + 1, "ids are not reused and stay small");
    fixture.command("seq");
    let ended = wait_for("call limit", Duration::from_secs(10), || {
        let s = client.get_json(&format!("/v1/sessions/{second_id}")).unwrap();
        (s["state"] != "running").then_some(s)
    });
    assert_eq!(ended["state"], "call-limit");
    let page = client.get_json(&format!("/v1/traces/{second_id}/calls")).unwrap();
    assert_eq!(rendered(&page["functions"], &page["calls"]), &SEQ[5..]);
    assert_eq!(ended["loss"]["produced"], ended["loss"]["received"]);

    // SIGTERM with a session running: it is ended, stored and flushed before the exit.
    let third = client.post_json("/v1/sessions", &json!({"pid": fixture.pid(), "functions": ["add_push"]})).unwrap();
    let third_id = third["id"].as_u64().unwrap();
    fixture.command("seq");
    wait_for("2 calls", Duration::from_secs(10), || {
        let s = client.get_json(&format!("/v1/sessions/{third_id}")).unwrap();
        (total_calls(&s) == 2).then_some(s)
    });
    let mut daemon = daemon;
    assert!(Command::new("kill").args(["-TERM", &daemon.child.id().to_string()]).status().unwrap().success());
    assert!(daemon.child.wait().unwrap().success());
    let daemon = start_daemon(&data, &[]);
    let client = daemon.client();
    let s = client.get_json(&format!("/v1/sessions/{third_id}")).unwrap();
    assert_eq!((&s["state"], &s["calls_per_function"]), (&json!("daemon-stopped"), &json!([2])));
    assert!(s["ended_unix_ms"].is_u64());
    let page = client.get_json(&format!("/v1/traces/{third_id}/calls")).unwrap();
    assert_eq!(rendered(&page["functions"], &page["calls"]), &SEQ[3..5]);
}

#[test]
fn client_verbs_limits_and_target_exit() {
    set_binary(env!("CARGO_BIN_EXE_tracesynth-under-test"));
    if !require_root("client_verbs_limits_and_target_exit") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = build_fixture("calls", &["-O2", "-g"], dir.path());
    let mut fixture = Fixture::start(&bin);
    let daemon = start_daemon(&dir.path().join("data"), &[]);
    let client = daemon.client();
    let pid = fixture.pid().to_string();
    let url = daemon.url.as_str();

    // attach / sessions / export --session / detach through the CLI.
    let (code, out, err) =
        run_tracesynth(&["attach", "--pid", &pid, "--func", "clear_lowest", "--func", "add_push", "--daemon", url]);
    assert_eq!(code, 0, "{err}");
    let id: u64 = out.trim().parse().expect("attach prints the session id");
    // Per-function cap: one stored call of each, then the session ends by itself.
    let (code, out, err) = run_tracesynth(&[
        "attach",
        "--pid",
        &pid,
        "--func",
        "add_push",
        "--func",
        "price",
        "--calls-per-function",
        "1",
        "--daemon",
        url,
    ]);
    assert_eq!(code, 0, "{err}");
    let capped: u64 = out.trim().parse().unwrap();
    fixture.command("seq");
    wait_for("5 calls", Duration::from_secs(10), || {
        let s = client.get_json(&format!("/v1/sessions/{id}")).unwrap();
        (total_calls(&s) == 5).then_some(s)
    });
    let (code, out, err) = run_tracesynth(&["sessions", "--daemon", url]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.lines().any(|l| l.split_whitespace().next() == Some(&id.to_string()) && l.contains("running")),
        "{out}"
    );
    let exported = dir.path().join("exported.json");
    let (code, _, err) = run_tracesynth(&[
        "export",
        "--session",
        &id.to_string(),
        "--format",
        "json",
        "-o",
        exported.to_str().unwrap(),
        "--daemon",
        url,
    ]);
    assert_eq!(code, 0, "{err}");
    let trace: Json = serde_json::from_str(&std::fs::read_to_string(&exported).unwrap()).unwrap();
    let names = json!(["clear_lowest", "add_push"]);
    assert_eq!(rendered(&names, &trace["calls"]), &SEQ[..5]);
    let (code, _, err) = run_tracesynth(&["detach", &id.to_string(), "--daemon", url]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("detached"), "{err}");
    assert_eq!(client.get_json(&format!("/v1/traces/{id}")).unwrap()["end_reason"], "detached");
    let (code, _, err) = run_tracesynth(&["detach", "999", "--daemon", url]);
    assert_ne!(code, 0);
    assert!(err.contains("404") && err.contains("no session 999"), "{err}");

    let capped_s = wait_for("the capped session to end", Duration::from_secs(10), || {
        let s = client.get_json(&format!("/v1/sessions/{capped}")).unwrap();
        (s["state"] != "running").then_some(s)
    });
    assert_eq!(capped_s["state"], "call-limit");
    let page = client.get_json(&format!("/v1/traces/{capped}/calls")).unwrap();
    assert_eq!(rendered(&page["functions"], &page["calls"]), [SEQ[3], SEQ[5]]);

    // `attach --arg` reaches the daemon's plan: two elements (from `k`), not read again;
    // a 1 MiB ring is enough for one call.
    let (code, out, err) = run_tracesynth(&[
        "attach",
        "--pid",
        &pid,
        "--func",
        "scale_ints",
        "--arg",
        "a:len=k,in",
        "--calls",
        "1",
        "--ring-mb",
        "1",
        "--daemon",
        url,
    ]);
    assert_eq!(code, 0, "{err}");
    let scaled: u64 = out.trim().parse().unwrap();
    fixture.command("arr");
    wait_for("the scale_ints session to end", Duration::from_secs(10), || {
        let s = client.get_json(&format!("/v1/sessions/{scaled}")).unwrap();
        (s["state"] != "running").then_some(s)
    });
    let page = client.get_json(&format!("/v1/traces/{scaled}/calls")).unwrap();
    let a = &page["calls"][0]["args"][0];
    assert_eq!(a["array"]["items"], json!([{"int": 1}, {"int": 2}]), "{a}");
    let (code, _, err) =
        run_tracesynth(&["attach", "--pid", &pid, "--func", "scale_ints", "--arg", "k:out", "--daemon", url]);
    assert_ne!(code, 0);
    assert!(err.contains("400") && err.contains("`k` is int, not a pointer to integers"), "{err}");

    // A target that exits ends its session.
    let (code, out, err) = run_tracesynth(&["attach", "--pid", &pid, "--func", "price", "--daemon", url]);
    assert_eq!(code, 0, "{err}");
    let last: u64 = out.trim().parse().unwrap();
    fixture.command("seq");
    fixture.command("exit");
    let _ = fixture.child.wait();
    let s = wait_for("target-exited", Duration::from_secs(10), || {
        let s = client.get_json(&format!("/v1/sessions/{last}")).unwrap();
        (s["state"] != "running").then_some(s)
    });
    assert_eq!(s["state"], "target-exited");
    assert_eq!(s["calls_per_function"], json!([3]));
    let (code, out, _) = run_tracesynth(&["traces", "--daemon", url]);
    assert_eq!(code, 0);
    assert_eq!(out.lines().count(), 5, "header and four traces:\n{out}");
}

#[test]
fn synth_session_takes_functions_over_arrays_and_structs() {
    set_binary(env!("CARGO_BIN_EXE_tracesynth-under-test"));
    if !require_root("synth_session_takes_functions_over_arrays_and_structs") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = build_fixture("calls", &["-O2", "-g"], dir.path());
    let mut fixture = Fixture::start(&bin);
    let daemon = start_daemon(&dir.path().join("data"), &[]);
    let client = daemon.client();
    let pid = fixture.pid().to_string();
    let url = daemon.url.as_str();
    let (code, out, err) = run_tracesynth(&[
        "attach",
        "--pid",
        &pid,
        "--func",
        "bounds",
        "--func",
        "clamp_high",
        "--func",
        "move_rect",
        "--daemon",
        url,
    ]);
    assert_eq!(code, 0, "{err}");
    let id: u64 = out.trim().parse().expect("attach prints the session id");
    fixture.command("spandrive 200");
    fixture.command("arrdrive 200");
    fixture.command("rectdrive 200");
    wait_for("600 calls", Duration::from_secs(30), || {
        let s = client.get_json(&format!("/v1/sessions/{id}")).unwrap();
        (total_calls(&s) == 600).then_some(s)
    });
    let id = id.to_string();
    // A struct returned in registers, an array written in place with a count returned, a
    // struct written through its pointer: the list language's jobs, the structs laid out
    // from the binary's DWARF.
    for (func, lang, expect) in [
        ("bounds", "c", "struct span bounds(const int *xs, int n) {"),
        ("bounds", "python", "return Span(lo=min(xs), hi=max(xs), width=max(xs) - min(xs))"),
        ("clamp_high", "python", "a[:] = [min(x, hi) for x in a]"),
        ("move_rect", "c", "void move_rect(struct rect *r, int dx, int dy) {"),
    ] {
        let out_dir = dir.path().join(format!("out-{func}-{lang}"));
        let (code, text, err) = run_tracesynth(&[
            "synth",
            "--session",
            &id,
            "--func",
            func,
            "--lang",
            lang,
            "--daemon",
            url,
            "--out",
            out_dir.to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "{func} {lang}: {err}");
        assert!(text.contains(expect), "{func} {lang}: {text}");
        assert!(err.contains(&format!("{func}: verified")), "{err}");
        let report: Json =
            serde_json::from_str(&std::fs::read_to_string(out_dir.join("report.json")).unwrap()).unwrap();
        assert_eq!(report["status"], "verified", "{report}");
        assert!(out_dir.join("examples.json").exists());
    }
}

#[test]
fn block_probes_give_the_cfg_with_hit_counts() {
    set_binary(env!("CARGO_BIN_EXE_tracesynth-under-test"));
    if !require_root("block_probes_give_the_cfg_with_hit_counts") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = build_fixture("calls", &["-O2", "-g"], dir.path());
    let mut fixture = Fixture::start(&bin);
    let daemon = start_daemon(&dir.path().join("data"), &[]);
    let client = daemon.client();
    let session = client
        .post_json("/v1/sessions", &json!({"pid": fixture.pid(), "functions": ["price", "depth_sum"], "blocks": true}))
        .unwrap();
    let id = session["id"].as_u64().unwrap();
    fixture.command("seq");
    fixture.command("rec 3");
    wait_for("7 calls", Duration::from_secs(10), || {
        let s = client.get_json(&format!("/v1/sessions/{id}")).unwrap();
        (total_calls(&s) == 7).then_some(s)
    });
    client.delete(&format!("/v1/sessions/{id}")).unwrap();
    let cfg = client.get_json(&format!("/v1/traces/{id}/cfg")).unwrap();
    eprintln!("{}", serde_json::to_string_pretty(&cfg).unwrap());
    let functions = cfg["functions"].as_array().unwrap();
    assert_eq!(functions[0]["function"], "price");
    let hits = |f: &Json| -> Vec<u64> {
        f["blocks"].as_array().unwrap().iter().map(|b| b["hits"].as_u64().unwrap()).collect()
    };
    // price(3, 100), price(10, 100), price(-2, 5): every call runs the entry block and the
    // return; only qty >= 10 runs the discount.
    let price = hits(&functions[0]);
    assert_eq!(price[0], 3, "{price:?}");
    assert_eq!(*price.last().unwrap(), 3, "{price:?}");
    assert_eq!(price.iter().filter(|&&h| h == 1).count(), 1, "{price:?}");
    assert!(price.iter().all(|&h| h <= 3));
    // depth_sum(3): 4 entries, 3 recursive steps, 1 base case.
    let mut depth = hits(&functions[1]);
    assert_eq!(depth[0], 4, "{depth:?}");
    depth.sort_unstable();
    assert_eq!(depth, [1, 3, 4]);
    let entry = &functions[0]["blocks"][0];
    assert_eq!(entry["offset"], 0);
    assert_eq!(entry["successors"].as_array().unwrap().len(), 2, "the entry block of price branches");
    // The calls themselves are captured as without block probes.
    let page = client.get_json(&format!("/v1/traces/{id}/calls?function=price")).unwrap();
    assert_eq!(rendered(&page["functions"], &page["calls"]), &SEQ[5..]);
}

/// The edge `from -> to` of a graph (JSON), or of one call's block path.
fn edge_count(edges: &Json, from: u64, to: u64) -> u64 {
    edges
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["from"] == from && e["to"] == to)
        .map_or(0, |e| e["count"].as_u64().unwrap())
}

#[test]
fn block_paths_give_exact_loop_and_branch_counts() {
    set_binary(env!("CARGO_BIN_EXE_tracesynth-under-test"));
    if !require_root("block_paths_give_exact_loop_and_branch_counts") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = build_fixture("calls", &["-O2", "-g"], dir.path());
    let mut fixture = Fixture::start(&bin);
    let daemon = start_daemon(&dir.path().join("data"), &[]);
    let client = daemon.client();
    let session = client
        .post_json("/v1/sessions", &json!({"pid": fixture.pid(), "functions": ["count_odd", "price"], "blocks": true}))
        .unwrap();
    let id = session["id"].as_u64().unwrap();
    // count_odd(5) three times, count_odd(2) once, count_odd(0) once; then price x3.
    fixture.command("odd 5 3");
    fixture.command("odd 2 1");
    fixture.command("odd 0 1");
    fixture.command("seq");
    wait_for("8 calls", Duration::from_secs(10), || {
        let s = client.get_json(&format!("/v1/sessions/{id}")).unwrap();
        (total_calls(&s) == 8).then_some(s)
    });
    let ended = client.delete(&format!("/v1/sessions/{id}")).unwrap();
    assert_eq!(ended["loss"]["dropped"], 0);

    // count_odd's shape is fixed in the fixture (asm): entry +0x0 -> header +0x5
    // (jge +0x14 leaves), +0x9 (je +0x10 for even i), +0xe (odd i), +0x10 (jmp +0x5:
    // the back edge), +0x14 ret. A call count_odd(k) takes the back edge exactly k times.
    let cfg = client.get_json(&format!("/v1/traces/{id}/cfg?function=count_odd")).unwrap();
    let f = &cfg["functions"][0];
    assert_eq!(cfg["functions"].as_array().unwrap().len(), 1);
    let offsets: Vec<u64> = f["blocks"].as_array().unwrap().iter().map(|b| b["offset"].as_u64().unwrap()).collect();
    assert_eq!(offsets, [0x0, 0x5, 0x9, 0xe, 0x10, 0x14]);
    let back: Vec<(u64, u64)> = f["edges"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["back_edge"] == true)
        .map(|e| (e["from"].as_u64().unwrap(), e["to"].as_u64().unwrap()))
        .collect();
    assert_eq!(back, [(0x10, 0x5)]);
    assert_eq!(f["calls"], 5);
    // Over all calls: k = 5, 5, 5, 2, 0.
    let edges = &f["edges"];
    assert_eq!(edge_count(edges, 0x0, 0x5), 5);
    assert_eq!(edge_count(edges, 0x10, 0x5), 17, "back edge: sum of k");
    assert_eq!(edge_count(edges, 0x5, 0x14), 5, "every call leaves the loop once");
    assert_eq!(edge_count(edges, 0x5, 0x9), 17);
    assert_eq!(edge_count(edges, 0x9, 0x10), 3 * 3 + 1, "i even: 0, 2, 4 and 0");
    assert_eq!(edge_count(edges, 0x9, 0xe), 3 * 2 + 1, "i odd: 1, 3 and 1");
    assert_eq!(edge_count(edges, 0xe, 0x10), 7);
    let header = &f["blocks"][1]["branch"];
    assert_eq!(
        (header["taken_to"].as_u64(), header["taken"].as_u64(), header["not_taken"].as_u64()),
        (Some(0x14), Some(5), Some(17))
    );
    let parity = &f["blocks"][2]["branch"];
    assert_eq!(
        (parity["taken_to"].as_u64(), parity["taken"].as_u64(), parity["not_taken"].as_u64()),
        (Some(0x10), Some(10), Some(7))
    );
    assert_eq!(parity["taken_ratio"].as_f64(), Some(10.0 / 17.0));
    let l = &f["loops"][0];
    assert_eq!((l["header"].as_u64(), &l["blocks"]), (Some(0x5), &json!([0x5, 0x9, 0xe, 0x10])));
    assert_eq!(l["back_edges_taken"]["histogram"], json!([[0, 1], [2, 1], [5, 3]]));
    assert_eq!(
        (&l["back_edges_taken"]["min"], &l["back_edges_taken"]["median"], &l["back_edges_taken"]["max"]),
        (&json!(0), &json!(5), &json!(5))
    );
    assert_eq!(l["header_entries"]["histogram"], json!([[1, 1], [3, 1], [6, 3]]), "k + 1 tests per call");
    let hits: Vec<u64> = f["blocks"].as_array().unwrap().iter().map(|b| b["hits"].as_u64().unwrap()).collect();
    assert_eq!(hits, [5, 22, 17, 7, 17, 5]);

    // Per call: the block path and its edges, next to the call's argument.
    let page = client.get_json(&format!("/v1/traces/{id}/calls?function=count_odd")).unwrap();
    let calls = page["calls"].as_array().unwrap();
    let paths = page["paths"].as_array().unwrap();
    assert_eq!((calls.len(), paths.len()), (5, 5));
    for (call, path) in calls.iter().zip(paths) {
        assert_eq!(call["seq"], path["seq"]);
        // int or raw registers, depending on what DWARF gcc emits for the asm function.
        let k: u64 = value(&call["args"][0]).parse().unwrap();
        assert_eq!(value(&call["ret"]), (k / 2).to_string());
        assert_eq!(edge_count(&path["edges"], 0x10, 0x5), k, "count_odd({k}) takes the back edge k times");
        let mut expected = vec![0x0, 0x5];
        for i in 0..k {
            expected.extend(if i % 2 == 0 { vec![0x9, 0x10, 0x5] } else { vec![0x9, 0xe, 0x10, 0x5] });
        }
        expected.push(0x14);
        assert_eq!(path["path"], json!(expected), "count_odd({k})");
        assert_eq!(path["truncated"], 0);
    }

    // price (C, -O2 -g): its blocks carry source lines from DWARF.
    let price = client.get_json(&format!("/v1/traces/{id}/cfg?function=price")).unwrap();
    let entry = &price["functions"][0]["blocks"][0];
    assert_eq!(entry["line"]["file"], "calls.c");
    let source = std::fs::read_to_string(tests::workspace().join("tests/fixtures/calls.c")).unwrap();
    let decl = source.lines().position(|l| l.contains("int64_t price(")).unwrap() as u64 + 1;
    let line = entry["line"]["line"].as_u64().unwrap();
    assert!((decl..decl + 3).contains(&line), "price's entry block at line {line}, declared at {decl}");

    // DOT over HTTP and through the CLI verb; errors are clear.
    let dot =
        String::from_utf8(client.get_bytes(&format!("/v1/traces/{id}/cfg?function=count_odd&format=dot")).unwrap())
            .unwrap();
    assert!(dot.contains("\"0x10\" -> \"0x5\" [label=\"17\", color=red"), "{dot}");
    let out = dir.path().join("count_odd.dot");
    let (code, _, err) = run_tracesynth(&[
        "cfg",
        &id.to_string(),
        "--function",
        "count_odd",
        "--format",
        "dot",
        "-o",
        out.to_str().unwrap(),
        "--daemon",
        &daemon.url,
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), dot);
    let (code, json_out, err) = run_tracesynth(&["cfg", &id.to_string(), "--daemon", &daemon.url]);
    assert_eq!(code, 0, "{err}");
    let all: Json = serde_json::from_str(&json_out).unwrap();
    assert_eq!(all["functions"].as_array().unwrap().len(), 2);
    let (code, _, err) = run_tracesynth(&["cfg", &id.to_string(), "--function", "nope", "--daemon", &daemon.url]);
    assert_ne!(code, 0);
    assert!(err.contains("has no function `nope`"), "{err}");
    let (code, _, err) = run_tracesynth(&["cfg", &id.to_string(), "--format", "svg", "--daemon", &daemon.url]);
    assert_ne!(code, 0);
    assert!(err.contains("svg"), "{err}");
}

#[test]
fn tcp_needs_a_token_loopback_too_tls_beyond_it_and_then_requires_both() {
    set_binary(env!("CARGO_BIN_EXE_tracesynth-under-test"));
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let socket = dir.path().join("api.sock");
    let pki = TestPki::create(dir.path());
    let daemon = |extra: &[&str]| {
        let mut args = vec!["daemon", "--socket", socket.to_str().unwrap(), "--data-dir", data.to_str().unwrap()];
        args.extend_from_slice(extra);
        run_tracesynth(&args)
    };
    for listen in ["0.0.0.0:0", "127.0.0.1:0"] {
        let (code, _, err) = daemon(&["--listen", listen]);
        assert_ne!(code, 0);
        assert!(err.contains(&format!("refusing to listen on {listen} without --token-file")), "{err}");
    }
    let empty = dir.path().join("empty");
    std::fs::write(&empty, "\n").unwrap();
    let (code, _, err) = daemon(&["--listen", "0.0.0.0:0", "--token-file", empty.to_str().unwrap()]);
    assert_ne!(code, 0);
    assert!(err.contains("is empty"), "{err}");

    let token = dir.path().join("token");
    std::fs::write(&token, "t0ken\n").unwrap();
    let (code, _, err) = daemon(&["--listen", "0.0.0.0:0", "--token-file", arg(&token)]);
    assert_ne!(code, 0);
    assert!(err.contains("refusing to listen on 0.0.0.0:0 without TLS"), "{err}");
    let (code, _, err) = daemon(&[
        "--listen",
        "0.0.0.0:0",
        "--token-file",
        arg(&token),
        "--tls-cert",
        arg(&pki.server_cert),
        "--tls-key",
        arg(&pki.client_key),
    ]);
    assert_ne!(code, 0);
    assert!(err.contains("the API's TLS certificate"), "a key of another certificate: {err}");

    let mut child = Command::new(tracesynth())
        .args(["daemon", "--listen", "0.0.0.0:0", "--socket", arg(&socket), "--data-dir", arg(&data)])
        .args(["--token-file", arg(&token), "--tls-cert", arg(&pki.server_cert), "--tls-key", arg(&pki.server_key)])
        .args(["--tls-client-ca", arg(&pki.ca)])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let port = loop {
        let mut line = String::new();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "daemon exited");
        if let Some(rest) = line.strip_prefix("listening on https://0.0.0.0:") {
            assert!(rest.contains("client certificate required"), "{line}");
            break rest.split_whitespace().next().unwrap().to_string();
        }
    };
    // Talk to it over loopback only.
    let url = format!("https://127.0.0.1:{port}");
    let client = |ca: &std::path::Path, identity: bool| {
        let mut at = DaemonUrl::at(&url);
        at.daemon_ca = Some(ca.to_owned());
        if identity {
            at.client_cert = Some(pki.client_cert.clone());
            at.client_key = Some(pki.client_key.clone());
        }
        Client::new(&at).unwrap()
    };
    let anonymous = client(&pki.ca, true);
    assert_eq!(anonymous.get_json("/v1/health").unwrap()["status"], "ok");
    let err = anonymous.get_json("/v1/sessions").unwrap_err().to_string();
    assert!(err.contains("401"), "{err}");
    let err = client(&pki.other_ca, true).get_json("/v1/health").unwrap_err().to_string();
    assert!(err.contains("cannot reach the daemon") && err.contains("UnknownIssuer"), "an unknown CA: {err}");
    let err = client(&pki.ca, false).get_json("/v1/health").unwrap_err().to_string();
    assert!(err.contains("cannot reach the daemon"), "no client certificate: {err}");
    let err = Client::new(&DaemonUrl::at(&format!("http://127.0.0.1:{port}"))).unwrap().get_json("/v1/health");
    assert!(err.is_err(), "plain HTTP to the TLS port");
    let (code, out, err) = run_tracesynth(&[
        "sessions",
        "--daemon",
        &url,
        "--token-file",
        arg(&token),
        "--daemon-ca",
        arg(&pki.ca),
        "--client-cert",
        arg(&pki.client_cert),
        "--client-key",
        arg(&pki.client_key),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("    id"), "{out}");
    // The Unix socket serves root without a token.
    let (code, out, err) = run_tracesynth(&["sessions", "--daemon", &format!("unix:{}", socket.display())]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("    id"), "{out}");
    // SIGTERM ends it cleanly, and the socket goes with it.
    assert!(Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap().success());
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");
    assert!(!socket.exists());
}

/// Runs `tracesynth ARGS` as `nobody` (uid 65534, group nogroup, no other groups).
fn as_nobody(binary: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new("setpriv")
        .args(["--reuid", "65534", "--regid", "65534", "--clear-groups", "--"])
        .arg(binary)
        .args(args)
        .output()
        .expect("run setpriv");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[test]
fn a_local_user_may_trace_only_what_it_could_ptrace_and_read_only_its_own_traces() {
    use std::os::unix::fs::PermissionsExt as _;
    set_binary(env!("CARGO_BIN_EXE_tracesynth-under-test"));
    if !require_root("a_local_user_may_trace_only_what_it_could_ptrace_and_read_only_its_own_traces") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    // nobody runs its own copy of the binary (the build tree may not be open to it).
    let binary = dir.path().join("tracesynth");
    std::fs::copy(tracesynth(), &binary).unwrap();
    std::fs::set_permissions(&binary, std::fs::Permissions::from_mode(0o755)).unwrap();
    let fixture_bin = build_fixture("calls", &["-O2", "-g"], dir.path());
    std::fs::set_permissions(&fixture_bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    let daemon = start_daemon(&dir.path().join("data"), &["--socket-group", "nogroup"]);
    let url = daemon.url.as_str();

    // A root-owned target: nobody may not trace it, fast entry or not.
    let mut root_target = Fixture::start(&fixture_bin);
    let root_pid = root_target.pid().to_string();
    for extra in [&[][..], &["--fast-entry"][..]] {
        let mut args = vec!["attach", "--pid", &root_pid, "--func", "clear_lowest", "--daemon", url];
        args.extend_from_slice(extra);
        let (code, _, err) = as_nobody(&binary, &args);
        assert_ne!(code, 0, "{err}");
        assert!(err.contains("403") && err.contains("uid 65534 may not trace PID"), "{err}");
    }
    // Root may; its session and trace stay hidden from nobody.
    let (code, out, err) = run_tracesynth(&["attach", "--pid", &root_pid, "--func", "clear_lowest", "--daemon", url]);
    assert_eq!(code, 0, "{err}");
    let root_session = out.trim().to_string();
    root_target.command("seq");
    for verb in [
        &["export", "--session", &root_session, "--format", "json", "-o", "/dev/null"][..],
        &["detach", &root_session][..],
    ] {
        let mut args = verb.to_vec();
        args.extend(["--daemon", url]);
        let (code, _, err) = as_nobody(&binary, &args);
        assert_ne!(code, 0, "{verb:?}: {err}");
        assert!(err.contains("403") && err.contains("belongs to another user"), "{verb:?}: {err}");
    }
    let (code, out, err) = as_nobody(&binary, &["sessions", "--daemon", url]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), 1, "only the header: {out}");

    // A process of nobody's own: nobody may trace it and read what it recorded.
    let mut own =
        Command::new(&fixture_bin).uid(65534).gid(65534).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    let mut own_out = BufReader::new(own.stdout.take().unwrap());
    let mut line = String::new();
    own_out.read_line(&mut line).unwrap();
    assert!(line.starts_with("ready"), "{line}");
    let own_pid = own.id().to_string();
    let (code, out, err) =
        as_nobody(&binary, &["attach", "--pid", &own_pid, "--func", "clear_lowest", "--calls", "3", "--daemon", url]);
    assert_eq!(code, 0, "{err}");
    let own_session = out.trim().to_string();
    let mut stdin = own.stdin.take().unwrap();
    writeln!(stdin, "seq").unwrap();
    line.clear();
    own_out.read_line(&mut line).unwrap();
    // Exports are written through a temporary file beside them: nobody needs the folder.
    let out_dir = dir.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    std::fs::set_permissions(&out_dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let exported = out_dir.join("own.json");
    let client = daemon.client();
    wait_for("nobody's session to end", Duration::from_secs(10), || {
        let s = client.get_json(&format!("/v1/sessions/{own_session}")).unwrap();
        (s["state"] != "running").then_some(s)
    });
    let (code, _, err) = as_nobody(
        &binary,
        &["export", "--session", &own_session, "--format", "json", "-o", exported.to_str().unwrap(), "--daemon", url],
    );
    assert_eq!(code, 0, "{err}");
    let trace: Json = serde_json::from_str(&std::fs::read_to_string(&exported).unwrap()).unwrap();
    assert_eq!(trace["calls"].as_array().unwrap().len(), 3);
    let (code, out, _) = as_nobody(&binary, &["sessions", "--daemon", url]);
    assert_eq!(code, 0);
    assert_eq!(out.lines().count(), 2, "the header and nobody's session: {out}");
    let _ = own.kill();
    let _ = own.wait();
}

#[test]
fn the_daemon_s_overhead_budget_samples_hot_functions_unless_a_session_opts_out() {
    set_binary(env!("CARGO_BIN_EXE_tracesynth-under-test"));
    if !require_root("the_daemon_s_overhead_budget_samples_hot_functions_unless_a_session_opts_out") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = build_fixture("calls", &["-O2", "-g"], dir.path());
    let mut fixture = Fixture::start(&bin);
    let daemon = start_daemon(&dir.path().join("data"), &["--max-overhead", "1"]);
    let client = daemon.client();
    let bad = client
        .post_json("/v1/sessions", &json!({"pid": fixture.pid(), "functions": ["push_fn"], "max_overhead": 150}))
        .unwrap_err();
    assert!(bad.to_string().contains("400") && bad.to_string().contains("max_overhead"), "{bad}");

    // The daemon's default budget: a function that costs ns, probed at µs per call.
    let session = client.post_json("/v1/sessions", &json!({"pid": fixture.pid(), "functions": ["push_fn"]})).unwrap();
    let id = session["id"].as_u64().unwrap();
    assert_eq!(session["max_overhead_percent"], 1.0);
    fixture.timed("bench push 50000000").unwrap();
    let view = wait_for("the budget's first decision", Duration::from_secs(10), || {
        let s = client.get_json(&format!("/v1/sessions/{id}")).unwrap();
        s["sampling"].is_object().then_some(s)
    });
    assert_eq!(view["sampling"]["duty_cycle"], true, "{view}");
    client.delete(&format!("/v1/sessions/{id}")).unwrap();
    let trace = client.get_json(&format!("/v1/traces/{id}")).unwrap();
    // The probes came off after the first window: its calls stand for more than themselves.
    let sampling = trace["sampling"].as_array().unwrap();
    assert!(sampling.iter().any(|s| s["duty"].as_f64().unwrap() < 1.0), "{sampling:?}");
    assert!(trace["calls"].as_array().unwrap().len() < 5_000_000, "most of the 50M calls went unrecorded");

    // Opting out: every call recorded.
    let session = client
        .post_json("/v1/sessions", &json!({"pid": fixture.pid(), "functions": ["push_fn"], "max_overhead": 0}))
        .unwrap();
    let id = session["id"].as_u64().unwrap();
    assert!(session["max_overhead_percent"].is_null(), "{session}");
    fixture.command("loop 1000");
    wait_for("1000 calls", Duration::from_secs(10), || {
        let s = client.get_json(&format!("/v1/sessions/{id}")).unwrap();
        (total_calls(&s) == 1000).then_some(s)
    });
    client.delete(&format!("/v1/sessions/{id}")).unwrap();
    let trace = client.get_json(&format!("/v1/traces/{id}")).unwrap();
    assert_eq!(trace["sampling"], json!([]));
    fixture.command("exit");
}

#[test]
fn a_session_with_a_minimum_duration_keeps_only_the_long_calls() {
    set_binary(env!("CARGO_BIN_EXE_tracesynth-under-test"));
    if !require_root("a_session_with_a_minimum_duration_keeps_only_the_long_calls") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = build_fixture("calls", &["-O2", "-g"], dir.path());
    let mut fixture = Fixture::start(&bin);
    let daemon = start_daemon(&dir.path().join("data"), &[]);
    let client = daemon.client();
    for (body, what) in [
        (json!({"pid": fixture.pid(), "functions": ["spin"], "min_duration_us": -1}), "min_duration_us"),
        (json!({"pid": fixture.pid(), "functions": ["spin"], "min_duration_us": 100, "blocks": true}), "blocks"),
    ] {
        let err = client.post_json("/v1/sessions", &body).unwrap_err().to_string();
        assert!(err.contains("400") && err.contains(what), "{err}");
    }
    let body = json!({"pid": fixture.pid(), "functions": ["spin", "spin_parent"], "min_duration_us": 100});
    let id = client.post_json("/v1/sessions", &body).unwrap()["id"].as_u64().unwrap();
    fixture.command("durations 5");
    // spin(500) alone and inside spin_parent(500), and spin_parent(500), each round.
    wait_for("15 calls", Duration::from_secs(10), || {
        let s = client.get_json(&format!("/v1/sessions/{id}")).unwrap();
        (total_calls(&s) == 15).then_some(s)
    });
    client.delete(&format!("/v1/sessions/{id}")).unwrap();
    let trace = client.get_json(&format!("/v1/traces/{id}")).unwrap();
    assert_eq!(trace["calls"].as_array().unwrap().len(), 15);
    assert_eq!(trace["min_duration"], json!({"ns": 100_000, "left_out": 35}), "7 short calls a round");
    fixture.command("exit");
}
