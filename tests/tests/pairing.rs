//! How calls are paired under load, on the real kernel: recordings that attach and detach
//! while the target calls traced functions as fast as it can end with every call either
//! complete (exit time and return value) or marked incomplete, no call nested deeper than
//! the fixture really nests, and no incomplete call the parent of another. The same through
//! `record`, `record --fast-entry` and the daemon.
use std::{collections::HashMap, time::Duration};

use serde_json::Value as Json;
use tests::{
    build_fixture, require_root, run_tracesynth, set_binary, start_daemon, wait_for, DaemonClient, Fixture, Recording,
};

/// Traced functions: `depth_sum(2)` recurses three deep, `outer` calls `inner` twice.
const FUNCS: &[&str] = &["clear_lowest", "add_push", "depth_sum", "outer", "inner"];

/// The deepest a call of `name` really is among the traced calls, and its real parent.
fn real_nesting(name: &str) -> (u64, Option<&'static str>) {
    match name {
        "depth_sum" => (2, Some("depth_sum")),
        "inner" => (1, Some("outer")),
        _ => (0, None),
    }
}

/// Checks the pairing of every call; returns (calls, incomplete calls).
fn check_pairing(trace: &Json) -> (usize, usize) {
    let names: Vec<&str> = trace["functions"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap()).collect();
    let calls = trace["calls"].as_array().unwrap();
    let by_seq: HashMap<u64, &Json> = calls.iter().map(|c| (c["seq"].as_u64().unwrap(), c)).collect();
    let mut incomplete = 0;
    for c in calls {
        let name = names[c["function"].as_u64().unwrap() as usize];
        let depth = c["depth"].as_u64().unwrap();
        let (deepest, real_parent) = real_nesting(name);
        assert!(depth <= deepest, "{name} at depth {depth}, really at most {deepest}: {c}");
        if c["incomplete"].is_null() {
            assert!(c["exit_ns"].is_u64() && !c["ret"].is_null(), "a complete call has its return: {c}");
        } else {
            incomplete += 1;
            assert!(c["exit_ns"].is_null() && c["ret"].is_null(), "an incomplete call has no return: {c}");
        }
        match c["parent"].as_u64() {
            None => assert_eq!(depth, 0, "{c}"),
            Some(p) => {
                let parent = by_seq.get(&p).unwrap_or_else(|| panic!("parent {p} of {c} is in the trace"));
                // A parent was running the whole time its child ran.
                assert!(parent["entry_ns"].as_u64() <= c["entry_ns"].as_u64(), "{c} under {parent}");
                if let (Some(end), Some(child_end)) = (parent["exit_ns"].as_u64(), c["exit_ns"].as_u64()) {
                    assert!(child_end <= end, "{c} under {parent}");
                }
                let parent_name = names[parent["function"].as_u64().unwrap() as usize];
                assert_eq!(Some(parent_name), real_parent, "{c} under {parent}");
                assert_eq!(parent["depth"].as_u64().unwrap() + 1, depth, "{c} under {parent}");
                assert_eq!(parent["tid"], c["tid"]);
            }
        }
    }
    assert_eq!(trace["loss"]["incomplete_calls"].as_u64().unwrap(), incomplete as u64, "{}", trace["loss"]);
    (calls.len(), incomplete)
}

/// The target is already calling when the probes attach and still calling when they go.
fn assert_well_paired(trace: &Json, how: &str) {
    let (calls, incomplete) = check_pairing(trace);
    eprintln!("{how}: {calls} calls, {incomplete} incomplete; loss {}", trace["loss"]);
    assert!(calls > 1_000, "{how}: the fixture was hot ({calls} calls)");
    // At this rate nothing is dropped; returns are attached before entries and detached
    // after the calls in flight return, so every call seen entering is seen returning.
    assert_eq!(trace["loss"]["dropped"].as_u64(), Some(0), "{how}: {}", trace["loss"]);
    assert_eq!(incomplete, 0, "{how}: every call is complete");
}

fn record_while_hot(extra: &[&str]) -> Json {
    let dir = tempfile::tempdir().unwrap();
    let bin = build_fixture("calls", &["-O2", "-g"], dir.path());
    let mut fixture = Fixture::start(&bin);
    fixture.send("hot 5000");
    std::thread::sleep(Duration::from_millis(200));
    let pid = fixture.pid().to_string();
    let mut args = vec!["--pid", pid.as_str(), "--duration", "1.5"];
    for f in FUNCS {
        args.extend(["--func", f]);
    }
    args.extend_from_slice(extra);
    let out = dir.path().join("trace.json");
    let trace = Recording::start(&args, &out).finish();
    let rounds = fixture.read_line();
    assert!(rounds.starts_with("hot "), "{rounds}");
    assert_eq!(fixture.read_line(), "done");
    trace
}

#[test]
fn a_recording_of_hot_functions_pairs_every_call() {
    set_binary(env!("CARGO_BIN_EXE_tracesynth-under-test"));
    if !require_root("a_recording_of_hot_functions_pairs_every_call") {
        return;
    }
    assert_well_paired(&record_while_hot(&[]), "record");
}

#[test]
fn a_fast_entry_recording_of_hot_functions_pairs_every_call() {
    set_binary(env!("CARGO_BIN_EXE_tracesynth-under-test"));
    if !require_root("a_fast_entry_recording_of_hot_functions_pairs_every_call") {
        return;
    }
    let trace = record_while_hot(&["--fast-entry"]);
    let warnings = trace["warnings"].as_array().unwrap();
    assert!(warnings.iter().any(|w| w.as_str().unwrap().contains("patched 5 bytes")), "{warnings:#?}");
    assert_well_paired(&trace, "record --fast-entry");
}

#[test]
fn a_daemon_session_on_hot_functions_pairs_every_call() {
    set_binary(env!("CARGO_BIN_EXE_tracesynth-under-test"));
    if !require_root("a_daemon_session_on_hot_functions_pairs_every_call") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = build_fixture("calls", &["-O2", "-g"], dir.path());
    let mut fixture = Fixture::start(&bin);
    let daemon = start_daemon(&dir.path().join("data"), &[]);
    let client = daemon.client();
    fixture.send("hot 5000");
    std::thread::sleep(Duration::from_millis(200));
    let pid = fixture.pid().to_string();
    let mut args = vec!["attach", "--pid", pid.as_str(), "--duration", "1.5", "--daemon", daemon.url.as_str()];
    for f in FUNCS {
        args.extend(["--func", f]);
    }
    let (code, out, err) = run_tracesynth(&args);
    assert_eq!(code, 0, "{err}");
    let id: u64 = out.trim().parse().expect("attach prints the session id");
    let s = wait_for("the session to end", Duration::from_secs(30), || {
        let s = client.get_json(&format!("/v1/sessions/{id}")).unwrap();
        (s["state"] != "running").then_some(s)
    });
    assert_eq!(s["state"], "duration", "{s}");
    let exported = dir.path().join("exported.json");
    let id = id.to_string();
    let (code, _, err) = run_tracesynth(&[
        "export",
        "--session",
        &id,
        "--format",
        "json",
        "-o",
        exported.to_str().unwrap(),
        "--daemon",
        &daemon.url,
    ]);
    assert_eq!(code, 0, "{err}");
    let trace: Json = serde_json::from_str(&std::fs::read_to_string(&exported).unwrap()).unwrap();
    assert_well_paired(&trace, "daemon");
    assert!(fixture.read_line().starts_with("hot "));
}
