//! The fork oracle on a real process: it answers with the original function's results,
//! refuses a function that makes a system call before the call runs, and leaves the
//! target's own work untouched (its output over the run is exactly what it would print
//! without us) and without a child left behind.
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use synth_engine::{dsl::Value, spec::TypeSpec};
use tests::{build_fixture, require_root};
use tracer_patch::oracle::{Answer, ForkOracle, OracleError};
use tracer_probe::{probes, trace::RetMode};

fn fee(minutes: i32) -> i32 {
    if minutes <= 30 {
        return 0;
    }
    (200 * ((minutes + 59) / 60)).min(2000)
}

fn address(pid: u32, function: &str) -> u64 {
    let plan = probes::plan(pid, &[function.to_owned()], RetMode::Uretprobe).unwrap();
    plan.functions[0].runtime_address.expect("the function is mapped")
}

fn i32_type() -> TypeSpec {
    TypeSpec::parse("i32").unwrap()
}

#[test]
fn the_oracle_answers_for_the_binary_and_never_alters_it() {
    if !require_root("the_oracle_answers_for_the_binary_and_never_alters_it") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = build_fixture("oracle", &["-O1", "-g"], dir.path());
    let mut child = Command::new(&bin).stdout(Stdio::piped()).spawn().unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let pid: u32 = line.trim().parse().unwrap();
    let limit = Duration::from_millis(200);

    let oracle = ForkOracle::new(pid, address(pid, "fee"), vec![i32_type()], i32_type(), limit).unwrap();
    let inputs: Vec<i32> = vec![30, 31, 90, 91, 600, 601, -5, 0];
    let answers =
        oracle.ask(&inputs.iter().map(|m| vec![Value::bv(32, u64::from(*m as u32))]).collect::<Vec<_>>()).unwrap();
    for (m, answer) in inputs.iter().zip(&answers) {
        assert_eq!(*answer, Answer::Returned(Value::bv(32, u64::from(fee(*m) as u32))), "fee({m})");
    }

    let string = TypeSpec::parse("string").unwrap();
    let tagged =
        ForkOracle::new(pid, address(pid, "tagged"), vec![string], TypeSpec::parse("i64").unwrap(), limit).unwrap();
    let answers = tagged.ask(&[vec![Value::str("$12")], vec![Value::str("hello")]]).unwrap();
    assert_eq!(answers, [Answer::Returned(Value::bv(64, 31)), Answer::Returned(Value::bv(64, 50))]);

    let label = ForkOracle::new(pid, address(pid, "label"), vec![i32_type()], string, limit).unwrap();
    let answers = label.ask(&[vec![Value::bv(32, u64::from((-3i32) as u32))], vec![Value::bv(32, 7)]]).unwrap();
    assert_eq!(answers, [Answer::Returned(Value::str("negative")), Answer::Returned(Value::str("non-negative"))]);

    // write(2) is system call 1: refused before it runs, so no "!" appears below.
    let noisy = ForkOracle::new(pid, address(pid, "noisy"), vec![i32_type()], i32_type(), limit).unwrap();
    match noisy.ask(&[vec![Value::bv(32, 1)]]) {
        Err(OracleError::Impure(nr)) => assert_eq!(nr, 1, "write is system call 1 on x86-64"),
        other => panic!("an impure function must be refused, got {other:?}"),
    }

    // Through `synth --pid --oracle fork`: the binary is asked, and says the program is right.
    let report_dir = dir.path().join("synth");
    let (code, _, stderr) = tests::run_tracesynth(&[
        "synth",
        "--pid",
        &pid.to_string(),
        "--func",
        "fee",
        "--oracle",
        "fork",
        "--describe",
        "the first 30 minutes are free, then 200 per started hour, at most 2000",
        "--lang",
        "python",
        "--out",
        report_dir.to_str().unwrap(),
    ]);
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(report_dir.join("report.json")).unwrap_or_default())
            .unwrap_or_else(|e| panic!("no report ({e}); rc {code}: {stderr}"));
    let asked = &report["oracle"];
    assert!(asked["queries"].as_u64().unwrap_or(0) > 0, "the oracle was not asked: {asked} {stderr}");
    assert!(asked["refused"].is_null(), "{asked}");
    if report["status"] == "verified" {
        assert_eq!(asked["confirmed"], true, "verified needs the binary's agreement: {asked}");
    }

    // The target's output over the whole run: consecutive lines, each with fee's value.
    let mut previous: Option<i64> = None;
    // 8000 lines at 2 ms each span the whole run (what the pipe could not hold waited in the target).
    for _ in 0..8000 {
        line.clear();
        out.read_line(&mut line).unwrap();
        let (i, f) = line.trim().split_once(' ').unwrap_or_else(|| panic!("unexpected output line {line:?}"));
        let (i, f): (i64, i32) = (i.parse().unwrap(), f.parse().unwrap());
        assert_eq!(f, fee(i32::try_from(i % 900).unwrap()), "line {line:?}");
        if let Some(p) = previous {
            assert_eq!(i, p + 1, "a line is missing or repeated");
        }
        previous = Some(i);
    }
    let children = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap();
    assert_eq!(children.trim(), "", "a forked copy was left behind");
    assert!(child.try_wait().unwrap().is_none(), "the target stopped running");
    child.kill().unwrap();
    child.wait().unwrap();
}
