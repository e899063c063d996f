//! Bad input gets a clear message, a non-zero exit, and no output file.
use tests::{build_fixture, require_root, run_tracesynth, set_binary, Fixture};

#[test]
fn missing_pid_is_reported() {
    set_binary(env!("CARGO_BIN_EXE_tracesynth-under-test"));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("t.json");
    let (code, _, err) =
        run_tracesynth(&["record", "--pid", "999999999", "--func", "main", "-o", out.to_str().unwrap()]);
    assert_ne!(code, 0);
    assert!(err.contains("no process with PID 999999999"), "{err}");
    assert!(!out.exists());
}

#[test]
fn unknown_function_suggests_close_names() {
    set_binary(env!("CARGO_BIN_EXE_tracesynth-under-test"));
    let dir = tempfile::tempdir().unwrap();
    let bin = build_fixture("calls", &["-O2", "-g"], dir.path());
    let fixture = Fixture::start(&bin);
    let out = dir.path().join("t.json");
    let pid = fixture.pid().to_string();
    let (code, _, err) =
        run_tracesynth(&["record", "--pid", &pid, "--func", "clear_lowst", "-o", out.to_str().unwrap()]);
    assert_ne!(code, 0);
    assert!(err.contains("function `clear_lowst` not found"), "{err}");
    assert!(err.contains("did you mean: clear_lowest"), "{err}");
    assert!(!out.exists());
}

#[test]
fn stripped_binary_is_explained() {
    set_binary(env!("CARGO_BIN_EXE_tracesynth-under-test"));
    let dir = tempfile::tempdir().unwrap();
    let bin = build_fixture("calls", &["-O2", "-s"], dir.path());
    let fixture = Fixture::start(&bin);
    let pid = fixture.pid().to_string();
    let out = dir.path().join("t.json");
    let (code, _, err) =
        run_tracesynth(&["record", "--pid", &pid, "--func", "clear_lowest", "-o", out.to_str().unwrap()]);
    assert_ne!(code, 0);
    assert!(err.contains("is stripped (no .symtab) and its .dynsym has no `clear_lowest`"), "{err}");
    assert!(!out.exists());
}

#[test]
fn unprivileged_user_is_told_what_is_needed() {
    set_binary(env!("CARGO_BIN_EXE_tracesynth-under-test"));
    if !require_root("unprivileged_user_is_told_what_is_needed") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = build_fixture("calls", &["-O2", "-g"], dir.path());
    let fixture = Fixture::start(&bin);
    let pid = fixture.pid().to_string();
    let out = dir.path().join("t.json");
    // Run tracesynth as nobody; it can still read the fixture's maps? No: then the PID
    // check or the permission check must fail with a clear message.
    let status = std::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all"])
        .arg(tests::tracesynth())
        .args(["record", "--pid", &pid, "--func", "clear_lowest", "-o", out.to_str().unwrap()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&status.stderr);
    assert_ne!(status.status.code(), Some(0));
    assert!(err.contains("permission denied") || err.contains("cannot read /proc"), "{err}");
    assert!(!out.exists());
}

#[test]
fn malformed_trace_file_is_rejected() {
    set_binary(env!("CARGO_BIN_EXE_tracesynth-under-test"));
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{ not json").unwrap();
    let out = dir.path().join("o.json");
    let (code, _, err) =
        run_tracesynth(&["export", "--format", "chrome", bad.to_str().unwrap(), "-o", out.to_str().unwrap()]);
    assert_ne!(code, 0);
    assert!(err.contains("is not a valid trace"), "{err}");
    assert!(!out.exists());
}

#[test]
fn doctor_says_what_this_user_lacks() {
    set_binary(env!("CARGO_BIN_EXE_tracesynth-under-test"));
    if !require_root("doctor_says_what_this_user_lacks") {
        return;
    }
    let (code, out, err) = run_tracesynth(&["doctor"]);
    assert_eq!(code, 0, "root here can trace:\n{out}{err}");
    for what in ["kernel BTF", "uprobes", "CAP_BPF, CAP_PERFMON"] {
        assert!(out.lines().any(|l| l.starts_with("ok") && l.contains(what)), "{what}:\n{out}");
    }
    // nobody (the binary is read from the build tree, which others may not enter: copy it).
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let binary = dir.path().join("tracesynth");
    std::fs::copy(tests::tracesynth(), &binary).unwrap();
    let out = std::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all"])
        .arg(&binary)
        .arg("doctor")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_ne!(out.status.code(), Some(0), "{text}");
    assert!(text.lines().any(|l| l.starts_with("MISSING") && l.contains("CAP_BPF")), "{text}");
}
