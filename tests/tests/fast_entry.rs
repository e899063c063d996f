//! `--fast-entry` on real processes with real uprobes: threads hammer functions whose first
//! bytes hold a `lea`, a RIP-relative load, a `call` and a short branch while the tracer
//! patches and restores them; refusals say why; the bytes after detach are the originals.
//! Leaves run through call-through trampolines (one probe per call), the rest keep an
//! entry probe and a uretprobe.
use std::{os::unix::fs::FileExt as _, path::Path, process::Command, time::Duration};

use serde_json::{json, Value as Json};
use tests::{
    build_fixture, require_root, run_tracesynth, set_binary, start_daemon, wait_for, DaemonClient, Fixture, Recording,
};
use tracer_common::EventKind;
use tracer_patch::fastentry::{FastEntry, Options, SlotProbes};
use tracer_probe::{
    probes::{
        self,
        symbols::{ElfSymbols, Lookup},
    },
    trace::RetMode,
};

const PATCHABLE: &[&str] = &["lea_first", "rip_first", "call_first", "branch_first"];
/// Patchable leaves that never name rsp or rbp: called through their trampolines.
const CALLED_THROUGH: &[&str] = &["lea_first", "rip_first", "branch_first"];
const REFUSED: &[(&str, &str)] =
    &[("too_short", "too short: 3 bytes"), ("loop_first", "jumps to"), ("call_mid", "its return address")];
const FLAGS: &[&[&str]] =
    &[&["-O2", "-g"], &["-O2", "-g", "-fcf-protection=full"], &["-O0", "-g", "-fcf-protection=none"]];

fn all_functions() -> Vec<&'static str> {
    PATCHABLE.iter().copied().chain(REFUSED.iter().map(|r| r.0)).collect()
}

/// Every traced function's bytes in the target equal the file's.
fn assert_bytes_are_original(binary: &Path, pid: u32, functions: &[&str]) {
    let elf = ElfSymbols::open(binary).unwrap();
    let plan =
        probes::plan(pid, &functions.iter().map(|f| (*f).to_owned()).collect::<Vec<_>>(), RetMode::Uretprobe).unwrap();
    let mem = std::fs::File::open(format!("/proc/{pid}/mem")).unwrap();
    for f in &plan.functions {
        let Lookup::Found(symbol) = elf.lookup(&f.name) else { panic!("{} not in the file", f.name) };
        let file = elf.function_bytes(&symbol);
        let mut memory = vec![0u8; file.len()];
        mem.read_exact_at(&mut memory, f.runtime_address.unwrap()).unwrap();
        assert_eq!(memory, file, "{}: bytes in memory differ from the file after detach", f.name);
    }
}

fn raw(v: &Json) -> u64 {
    v["raw"].as_u64().unwrap_or_else(|| panic!("not a raw value: {v}"))
}

fn func_args(pid: u32, extra: &[&str]) -> Vec<String> {
    let mut args = vec!["--pid".to_owned(), pid.to_string()];
    for f in all_functions() {
        args.push("--func".into());
        args.push(f.into());
    }
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    args
}

#[test]
fn a_minimum_duration_times_called_through_calls_in_the_kernel() {
    set_binary(env!("CARGO_BIN_EXE_tracesynth-under-test"));
    if !require_root("a_minimum_duration_times_called_through_calls_in_the_kernel") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = build_fixture("fastentry", FLAGS[0], dir.path());
    let mut fixture = Fixture::start(&bin);
    let (threads, rounds) = (2u64, 500u64);
    let per_function = threads * rounds;
    let called_through = |trace: &Json| -> Vec<u64> {
        let functions = trace["functions"].as_array().unwrap();
        CALLED_THROUGH
            .iter()
            .map(|name| {
                let i = functions.iter().position(|f| f["name"] == *name).unwrap();
                trace["calls"].as_array().unwrap().iter().filter(|c| c["function"] == i).count() as u64
            })
            .collect()
    };
    // The TSC here counts in steps of about 10 ns, so many of these calls measure 0 ns:
    // with 1 ns they are left out and every other call kept; nothing lasts 1 ms.
    for min in ["1ns", "1ms"] {
        let out = dir.path().join(format!("trace-{min}.json"));
        let mut args = vec!["--pid".to_string(), fixture.pid().to_string()];
        for f in CALLED_THROUGH {
            args.extend(["--func".to_string(), (*f).to_string()]);
        }
        args.extend(["--fast-entry", "--min-duration", min, "--duration", "3"].map(String::from));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let recording = Recording::start(&args, &out);
        let reply = fixture.command_reply(&format!("hammer {threads} {rounds}"));
        assert_eq!(reply, "done mismatches=0", "results changed under the patch");
        let trace = recording.finish();
        let kept: u64 = called_through(&trace).iter().sum();
        let left_out = trace["min_duration"]["left_out"].as_u64().unwrap();
        assert_eq!(
            kept + left_out,
            per_function * CALLED_THROUGH.len() as u64,
            "--min-duration {min}: every call kept or counted"
        );
        for c in trace["calls"].as_array().unwrap() {
            assert!(c["exit_ns"].as_u64().unwrap() > c["entry_ns"].as_u64().unwrap(), "a 0 ns call was kept: {c}");
        }
        if min == "1ms" {
            assert_eq!(kept, 0);
        } else {
            assert!(kept > 0, "calls of 10 ns and more are kept");
        }
    }
    assert_bytes_are_original(&bin, fixture.pid(), CALLED_THROUGH);
}

#[test]
fn records_exact_calls_through_trampolines_and_restores_the_bytes() {
    set_binary(env!("CARGO_BIN_EXE_tracesynth-under-test"));
    if !require_root("records_exact_calls_through_trampolines_and_restores_the_bytes") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for flags in FLAGS {
        let bin = build_fixture("fastentry", flags, dir.path());
        let mut fixture = Fixture::start(&bin);
        let (threads, rounds) = (4u64, 1000u64);
        let per_function = threads * rounds;
        let total = per_function * all_functions().len() as u64;
        let out = dir.path().join("trace.json");
        let args = func_args(fixture.pid(), &["--fast-entry", "--calls", &total.to_string()]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let recording = Recording::start(&args, &out);
        let reply = fixture.command_reply(&format!("hammer {threads} {rounds}"));
        assert_eq!(reply, "done mismatches=0", "{flags:?}: results changed under the patch");
        let trace = recording.finish();

        let functions = trace["functions"].as_array().unwrap();
        let warnings: Vec<&str> = trace["warnings"].as_array().unwrap().iter().map(|w| w.as_str().unwrap()).collect();
        for (i, f) in functions.iter().enumerate() {
            let name = f["name"].as_str().unwrap();
            let calls: Vec<&Json> = trace["calls"].as_array().unwrap().iter().filter(|c| c["function"] == i).collect();
            assert_eq!(calls.len() as u64, per_function, "{flags:?}: calls of {name}");
            let patched = PATCHABLE.contains(&name);
            assert_eq!(f["entry_site"]["cost"] == "optimized", patched, "{flags:?} {name}: {}", f["entry_site"]);
            for c in &calls {
                let a = raw(&c["args"][0]) as u32;
                let r = raw(&c["ret"]) as u32;
                let want = match name {
                    "lea_first" => a & a.wrapping_sub(1),
                    "rip_first" => a.wrapping_add(100),
                    "call_first" => a.wrapping_add(7),
                    "branch_first" => {
                        if (a as i32) < 0 {
                            0
                        } else {
                            a + 1
                        }
                    }
                    "too_short" => a,
                    "loop_first" => {
                        let n = a as i32;
                        (if n > 0 { n * (n + 1) / 2 } else { n }) as u32
                    }
                    "call_mid" => 8,
                    _ => unreachable!(),
                };
                assert_eq!(r, want, "{flags:?}: {name}({a}) returned {r}");
            }
        }
        for (i, f) in
            functions.iter().enumerate().filter(|(_, f)| CALLED_THROUGH.contains(&f["name"].as_str().unwrap()))
        {
            // Seen whole at the return: the entry time is the return time less the TSC ticks.
            for c in trace["calls"].as_array().unwrap().iter().filter(|c| c["function"] == i) {
                let (entry, exit, took) = (
                    c["entry_ns"].as_u64().unwrap(),
                    c["exit_ns"].as_u64().unwrap(),
                    c["duration_ns"].as_u64().unwrap(),
                );
                assert_eq!(entry + took, exit, "{flags:?} {}: {c}", f["name"]);
                assert!(took < 1_000_000_000, "{flags:?} {}: {c}", f["name"]);
                assert!(c["cpu_ns"].as_u64().is_some_and(|t| t <= took), "{flags:?} {}: {c}", f["name"]);
            }
        }
        for name in PATCHABLE {
            let mode = if CALLED_THROUGH.contains(name) {
                "calls run through it (one probe per call, at its return)".to_owned()
            } else {
                "entry probe and uretprobe on its nop (not called through: `call".to_owned()
            };
            assert!(
                warnings
                    .iter()
                    .any(|w| w.starts_with(&format!("fast-entry: {name}: patched 5 bytes")) && w.contains(&mode)),
                "{flags:?}: {name} should say {mode:?}: {warnings:#?}"
            );
            assert!(warnings.iter().any(|w| w.starts_with(&format!("fast-entry: {name}: restored"))), "{warnings:#?}");
        }
        for (name, why) in REFUSED {
            assert!(
                warnings
                    .iter()
                    .any(|w| w.starts_with(&format!("fast-entry: {name}: not patched, probed the normal way: "))
                        && w.contains(why)),
                "{flags:?}: no refusal for {name} saying {why:?}: {warnings:#?}"
            );
        }
        assert!(warnings.iter().any(|w| w.contains("stays mapped")), "{warnings:#?}");
        let maps = std::fs::read_to_string(format!("/proc/{}/maps", fixture.pid())).unwrap();
        assert!(maps.lines().any(|l| l.ends_with(".tramp") && l.contains("r-xp")), "{maps}");
        assert_bytes_are_original(&bin, fixture.pid(), &all_functions());
        fixture.command("exit");
    }
}

#[test]
fn patches_and_restores_repeatedly_while_threads_hammer() {
    set_binary(env!("CARGO_BIN_EXE_tracesynth-under-test"));
    if !require_root("patches_and_restores_repeatedly_while_threads_hammer") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for flags in &FLAGS[..2] {
        let bin = build_fixture("fastentry", flags, dir.path());
        let mut fixture = Fixture::start(&bin);
        let pid = fixture.pid();
        fixture.command("spin 3");
        let names: Vec<String> = all_functions().iter().map(|f| (*f).to_owned()).collect();
        let mut patched_total = 0;
        for _ in 0..15 {
            let mut plan = probes::plan(pid, &names, RetMode::Uretprobe).unwrap();
            let mut fast = FastEntry::install(&mut plan, &Options::default()).unwrap();
            patched_total += fast.patched().len();
            // Every patched function's probes now point at its trampoline: one at the
            // call-through slot's return, or the entry probe and uretprobe on its nop.
            for p in fast.patched() {
                let index = plan.functions.iter().position(|f| f.name == p.function).unwrap() as u32;
                let points: Vec<_> = plan.points.iter().filter(|q| q.function == index).collect();
                match p.probes {
                    SlotProbes::CallThrough { probe } => {
                        assert!(CALLED_THROUGH.contains(&p.function.as_str()), "{}", p.function);
                        assert_eq!(points.len(), 1, "{}: {points:?}", p.function);
                        assert_eq!(points[0].kind, EventKind::Call);
                        assert_eq!(
                            (points[0].object.as_path(), points[0].file_offset),
                            (p.file.as_path(), p.file_offset + probe)
                        );
                    }
                    SlotProbes::EntryAndUretprobe(_) => {
                        assert_eq!(p.function, "call_first");
                        for q in points {
                            assert_eq!((q.object.as_path(), q.file_offset), (p.file.as_path(), p.file_offset));
                        }
                    }
                }
            }
            assert!(plan.points.iter().enumerate().all(|(i, q)| q.id == i as u32), "ids stay indexes");
            std::thread::sleep(Duration::from_millis(30));
            let report = fast.restore();
            assert!(report.iter().all(|l| !l.contains("could not")), "{report:#?}");
            assert_bytes_are_original(&bin, pid, &all_functions());
        }
        // A thread can sit inside a hot function's first bytes at a stop; those are retried,
        // so nearly every attempt patches all four.
        assert!(patched_total >= 15 * PATCHABLE.len() - 3, "{flags:?}: patched {patched_total}");
        let reply = fixture.command_reply("stop");
        assert!(reply.ends_with("mismatches=0"), "{flags:?}: {reply}");
        // And through the CLI with real uprobes while threads keep calling (with pauses, so
        // the tracer gets CPU on a small machine).
        fixture.command("spin 2 300");
        for _ in 0..3 {
            let out = dir.path().join("spin.json");
            let args = func_args(pid, &["--fast-entry", "--duration", "0.3"]);
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let trace = Recording::start(&args, &out).finish();
            assert!(trace["calls"].as_array().unwrap().len() > 10, "{flags:?}: nothing recorded");
            assert_bytes_are_original(&bin, pid, &all_functions());
        }
        let reply = fixture.command_reply("stop");
        assert!(reply.ends_with("mismatches=0"), "{flags:?}: {reply}");
        fixture.command("exit");
    }
}

#[test]
fn a_thread_in_a_system_call_ending_at_the_patch_is_refused() {
    set_binary(env!("CARGO_BIN_EXE_tracesynth-under-test"));
    if !require_root("a_thread_in_a_system_call_ending_at_the_patch_is_refused") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for flags in &FLAGS[..2] {
        let bin = build_fixture("fastentry", flags, dir.path());
        let mut fixture = Fixture::start(&bin);
        // Its RIP is right after the 6 bytes the jmp would cover; the kernel restarts the
        // read 2 bytes back, which would land inside the jmp.
        fixture.command("blockedge");
        let names = vec!["raw_read_edge".to_owned(), "lea_first".to_owned()];
        let mut plan = probes::plan(fixture.pid(), &names, RetMode::Uretprobe).unwrap();
        let mut fast = FastEntry::install(&mut plan, &Options { attempts: 3, ..Options::default() }).unwrap();
        assert_eq!(fast.patched().iter().map(|p| p.function.as_str()).collect::<Vec<_>>(), ["lea_first"]);
        let refusal = fast.refusals().iter().find(|(f, _)| f == "raw_read_edge").expect("refused").1.to_string();
        assert!(refusal.contains("in a system call ending there (tried 3 times)"), "{refusal}");
        fast.restore();
        assert_bytes_are_original(&bin, fixture.pid(), &["raw_read_edge", "lea_first"]);
        fixture.command("hammer 1 10");
    }
}

#[test]
fn a_seccomp_filtered_target_is_probed_the_normal_way() {
    set_binary(env!("CARGO_BIN_EXE_tracesynth-under-test"));
    if !require_root("a_seccomp_filtered_target_is_probed_the_normal_way") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = build_fixture("fastentry", FLAGS[0], dir.path());
    let mut fixture = Fixture::start(&bin);
    assert_eq!(fixture.command_reply("seccomp"), "done");
    let names = vec!["lea_first".to_owned()];
    let mut plan = probes::plan(fixture.pid(), &names, RetMode::Uretprobe).unwrap();
    let mut fast = FastEntry::install(&mut plan, &Options::default()).unwrap();
    assert!(fast.patched().is_empty());
    let refusal = fast.refusals()[0].1.to_string();
    assert!(refusal.contains("runs under seccomp (mode 2"), "{refusal}");
    assert!(
        plan.warnings.iter().any(|w| w.starts_with("fast-entry: lea_first: not patched, probed the normal way")),
        "{:#?}",
        plan.warnings
    );
    fast.restore();
    assert_bytes_are_original(&bin, fixture.pid(), &["lea_first"]);
    // Recording still works, the normal way.
    let out = dir.path().join("seccomp.json");
    let args = func_args(fixture.pid(), &["--fast-entry", "--calls", "20"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let recording = Recording::start(&args, &out);
    fixture.command("hammer 1 10");
    let trace = recording.finish();
    assert!(trace["calls"].as_array().unwrap().len() >= 10);
}

/// Patches `raw_read` and `lea_first` after the fixture's `command` left a thread where
/// `raw_read` must not be patched: only `lea_first` is, `raw_read`'s refusal and warning
/// meet `refused` and `warned`, the bytes come back, and the process still answers.
fn raw_read_is_refused_after(command: &str, refused: impl Fn(&str) -> bool, warned: &str) {
    let dir = tempfile::tempdir().unwrap();
    for flags in &FLAGS[..2] {
        let bin = build_fixture("fastentry", flags, dir.path());
        let mut fixture = Fixture::start(&bin);
        fixture.command(command);
        let names = vec!["raw_read".to_owned(), "lea_first".to_owned()];
        let mut plan = probes::plan(fixture.pid(), &names, RetMode::Uretprobe).unwrap();
        let mut fast = FastEntry::install(&mut plan, &Options { attempts: 3, ..Options::default() }).unwrap();
        assert_eq!(fast.patched().iter().map(|p| p.function.as_str()).collect::<Vec<_>>(), ["lea_first"]);
        let refusal = fast.refusals().iter().find(|(f, _)| f == "raw_read").expect("raw_read refused").1.to_string();
        assert!(refused(&refusal), "{refusal}");
        assert!(
            plan.warnings.iter().any(|w| w.starts_with("fast-entry: raw_read: not patched") && w.contains(warned)),
            "{:#?}",
            plan.warnings
        );
        fast.restore();
        assert_bytes_are_original(&bin, fixture.pid(), &["raw_read", "lea_first"]);
        // The blocked thread's read was restarted, not broken: the process still answers.
        fixture.command("hammer 1 10");
    }
}

#[test]
fn a_thread_inside_the_first_bytes_is_refused() {
    set_binary(env!("CARGO_BIN_EXE_tracesynth-under-test"));
    if !require_root("a_thread_inside_the_first_bytes_is_refused") {
        return;
    }
    let refused = |r: &str| {
        r.starts_with("thread ")
            && r.contains("inside the bytes to overwrite or in a system call ending there (tried 3 times)")
    };
    raw_read_is_refused_after("block", refused, "is stopped at +0x");
}

#[test]
fn a_signal_handler_that_would_resume_inside_the_first_bytes_is_refused() {
    set_binary(env!("CARGO_BIN_EXE_tracesynth-under-test"));
    if !require_root("a_signal_handler_that_would_resume_inside_the_first_bytes_is_refused") {
        return;
    }
    // The thread runs its handler (RIP in libc's read); its signal frame holds a RIP
    // inside raw_read's first bytes, where it would resume.
    let refused = |r: &str| r.contains("stack points to +0x") && r.contains("a signal handler may resume there");
    raw_read_is_refused_after("blocksig", refused, "a signal handler may resume there");
}

#[test]
fn explain_says_what_fast_entry_would_do() {
    set_binary(env!("CARGO_BIN_EXE_tracesynth-under-test"));
    let dir = tempfile::tempdir().unwrap();
    let bin = build_fixture("fastentry", &["-O2", "-g", "-fcf-protection=full"], dir.path());
    let fixture = Fixture::start(&bin);
    let args = func_args(fixture.pid(), &["--explain", "--fast-entry"]);
    let args: Vec<&str> = ["record"].into_iter().chain(args.iter().map(String::as_str)).collect();
    let (code, stdout, stderr) = run_tracesynth(&args);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("fast-entry: lea_first: would move 5 bytes from +0x4 (`lea eax,[rdi-1]; and eax,edi`)"),
        "{stdout}"
    );
    assert!(stdout.contains("fast-entry: rip_first: would move 6 bytes from +0x4"), "{stdout}");
    assert!(
        stdout.contains("`lea eax,[rdi-1]; and eax,edi`) to a nop5 trampoline; calls would run through it"),
        "{stdout}"
    );
    assert!(stdout.contains("fast-entry: call_first: would move") && stdout.contains("not a leaf"), "{stdout}");
    // Turned off, every patched function keeps an entry probe and a uretprobe.
    let (code, stdout, stderr) = run_tracesynth(&[args.as_slice(), &["--no-call-through"]].concat());
    assert_eq!(code, 0, "{stderr}");
    assert!(!stdout.contains("calls would run through it"), "{stdout}");
    assert!(
        stdout.contains("lea_first: would move 5 bytes") && stdout.contains("call-through is turned off"),
        "{stdout}"
    );
    let plain: Vec<&str> = args.iter().copied().filter(|a| *a != "--fast-entry").chain(["--no-call-through"]).collect();
    let (code, _, stderr) = run_tracesynth(&plain);
    assert_ne!(code, 0);
    assert!(stderr.contains("--no-call-through") && stderr.contains("--fast-entry"), "{stderr}");
    for (name, why) in REFUSED {
        assert!(stdout.contains(&format!("fast-entry: {name}: refused")) && stdout.contains(why), "{name}: {stdout}");
    }
}

/// A C leaf with six parameters and DWARF, at -O2 (no frame) and -O0 (`push rbp` and
/// stores through rbp): called through, every argument register arrives in the trace,
/// and the results are unchanged.
#[test]
fn call_through_records_all_six_arguments_of_a_c_leaf() {
    set_binary(env!("CARGO_BIN_EXE_tracesynth-under-test"));
    if !require_root("call_through_records_all_six_arguments_of_a_c_leaf") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for flags in [FLAGS[0], FLAGS[2]] {
        let bin = build_fixture("fastentry", flags, dir.path());
        let mut fixture = Fixture::start(&bin);
        let out = dir.path().join("mix.json");
        let n = 2000u64;
        let pid = fixture.pid().to_string();
        let args = ["--pid", &pid, "--func", "mix6", "--fast-entry", "--calls", &n.to_string()];
        let recording = Recording::start(&args, &out);
        assert_eq!(fixture.command_reply(&format!("mix {n}")), "done mismatches=0", "{flags:?}");
        let trace = recording.finish();
        let warnings = trace["warnings"].to_string();
        assert!(
            warnings.contains("fast-entry: mix6: patched 5 bytes") && warnings.contains("calls run through it"),
            "{flags:?}: {warnings}"
        );
        let calls = trace["calls"].as_array().unwrap();
        assert_eq!(calls.len() as u64, n, "{flags:?}");
        for (i, c) in calls.iter().enumerate() {
            let i = i as i64;
            let want = [i, 3 * i, -i, i ^ 0x55, 1000 + i, i * i];
            let got: Vec<i64> = (0..6).map(|k| c["args"][k]["int"].as_i64().unwrap_or_else(|| panic!("{c}"))).collect();
            assert_eq!(got, want, "{flags:?}: call {i}");
            let sum = want[0] + 2 * want[1] + 3 * want[2] + 4 * want[3] + 5 * want[4] + 6 * want[5];
            assert_eq!(c["ret"]["int"].as_i64(), Some(sum), "{flags:?}: call {i}: {c}");
        }
        assert_bytes_are_original(&bin, fixture.pid(), &["mix6"]);
        fixture.command("exit");
    }
}

/// Starts a daemon session with `body`, runs `hammer 1 1000` in the fixture (results must
/// not change), and returns the ended session and its trace.
fn hammered_session(client: &tracer_daemon::client::Client, fixture: &mut Fixture, body: &Json) -> (Json, Json) {
    let session = client.post_json("/v1/sessions", body).unwrap();
    let id = session["id"].as_u64().unwrap();
    assert_eq!(fixture.command_reply("hammer 1 1000"), "done mismatches=0");
    let ended = wait_for("the call limit", Duration::from_secs(20), || {
        let s = client.get_json(&format!("/v1/sessions/{id}")).unwrap();
        (s["state"] != "running").then_some(s)
    });
    let trace = client.get_json(&format!("/v1/traces/{id}")).unwrap();
    (ended, trace)
}

#[test]
fn daemon_sessions_patch_restore_and_a_killed_daemon_leaves_a_working_target() {
    set_binary(env!("CARGO_BIN_EXE_tracesynth-under-test"));
    if !require_root("daemon_sessions_patch_restore_and_a_killed_daemon_leaves_a_working_target") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = build_fixture("fastentry", &["-O2", "-g"], dir.path());
    let mut fixture = Fixture::start(&bin);
    let pid = fixture.pid();
    let mut daemon = start_daemon(&dir.path().join("data"), &[]);
    let client = daemon.client();

    let functions = ["lea_first", "call_first", "too_short"];
    let (ended, trace) = hammered_session(
        &client,
        &mut fixture,
        &json!({"pid": pid, "functions": functions, "fast_entry": true, "limits": {"max_calls": 3000}}),
    );
    assert_eq!(ended["state"], "call-limit");
    assert_eq!(ended["calls_per_function"], json!([1000, 1000, 1000]));
    let warnings: Vec<&str> = trace["warnings"].as_array().unwrap().iter().map(|w| w.as_str().unwrap()).collect();
    for expected in [
        "fast-entry: lea_first: patched 5 bytes",
        "fast-entry: call_first: patched 5 bytes",
        "fast-entry: too_short: not patched, probed the normal way: too short",
        "fast-entry: lea_first: restored",
        "fast-entry: call_first: restored",
    ] {
        assert!(warnings.iter().any(|w| w.starts_with(expected)), "no {expected:?} in {warnings:#?}");
    }
    assert_eq!(trace["functions"][0]["entry_site"]["cost"], "optimized");
    assert!(warnings
        .iter()
        .any(|w| w.starts_with("fast-entry: lea_first: patched") && w.contains("calls run through it")));
    assert_bytes_are_original(&bin, pid, &functions);

    // `"call_through": false`: the leaf keeps an entry probe and a uretprobe.
    let (ended, trace) = hammered_session(
        &client,
        &mut fixture,
        &json!({"pid": pid, "functions": ["lea_first"], "fast_entry": true, "call_through": false, "limits": {"max_calls": 1000}}),
    );
    assert_eq!(ended["calls_per_function"], json!([1000]));
    let warnings = trace["warnings"].to_string();
    assert!(
        warnings.contains("entry probe and uretprobe on its nop (not called through: call-through is turned off"),
        "{warnings}"
    );
    assert_bytes_are_original(&bin, pid, &functions);

    // A daemon killed while patched: the jump stays, its trampoline is still mapped, and
    // the target keeps computing the right results.
    let second =
        client.post_json("/v1/sessions", &json!({"pid": pid, "functions": ["lea_first"], "fast_entry": true})).unwrap();
    assert_eq!(second["state"], "running");
    Command::new("kill").args(["-9", &daemon.child.id().to_string()]).status().unwrap();
    let _ = daemon.child.wait();
    assert_eq!(fixture.command_reply("hammer 2 2000"), "done mismatches=0");
    let plan = probes::plan(pid, &["lea_first".to_owned()], RetMode::Uretprobe).unwrap();
    let mut first = [0u8; 1];
    let mem = std::fs::File::open(format!("/proc/{pid}/mem")).unwrap();
    mem.read_exact_at(&mut first, plan.functions[0].runtime_address.unwrap()).unwrap();
    assert_eq!(first[0], 0xe9, "still jumps to the trampoline");
    // Patching it again is refused with a conflict, not stacked on the old jump.
    let daemon = start_daemon(&dir.path().join("data"), &[]);
    let err = daemon
        .client()
        .post_json("/v1/sessions", &json!({"pid": pid, "functions": ["lea_first"], "fast_entry": true}))
        .unwrap_err()
        .to_string();
    assert!(err.contains("409") && err.contains("already starts with a jump"), "{err}");
    // So is a plain uprobe on the jump, through the daemon and the CLI.
    let err = daemon
        .client()
        .post_json("/v1/sessions", &json!({"pid": pid, "functions": ["lea_first"]}))
        .unwrap_err()
        .to_string();
    assert!(err.contains("409") && err.contains("a uprobe at +0x0 would break it"), "{err}");
    let (code, _, stderr) = run_tracesynth(&[
        "record",
        "--pid",
        &pid.to_string(),
        "--func",
        "lea_first",
        "--duration",
        "1",
        "-o",
        "/dev/null",
    ]);
    assert_ne!(code, 0);
    assert!(stderr.contains("starts with a jump that is not in its file"), "{stderr}");
    assert_eq!(fixture.command_reply("hammer 1 100"), "done mismatches=0");
}
