//! A fleet: two daemons, each with its own data directory, `host.name` and copy of a
//! fixture, export to one ClickHouse server (Debian's 18.16, started by the test on
//! loopback); `tracesynth fleet hosts|functions` then see both hosts, and `synth
//! --clickhouse` synthesizes a function from both hosts' calls.
use serde_json::json;
use test_support::{ci::require_file, clickhouse::ClickHouseServer};
use tests::{build_fixture, require_root, run_tracesynth, set_binary, start_daemon, wait_for, DaemonClient, Fixture};

#[test]
fn daemons_export_calls_to_clickhouse_and_the_fleet_queries_see_every_host() {
    set_binary(env!("CARGO_BIN_EXE_tracesynth-under-test"));
    if !require_root("daemons_export_calls_to_clickhouse_and_the_fleet_queries_see_every_host")
        || !require_file(
            "daemons_export_calls_to_clickhouse_and_the_fleet_queries_see_every_host",
            std::path::Path::new(test_support::clickhouse::SERVER),
            "`cargo xtask setup` installs clickhouse-server",
        )
    {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let server = ClickHouseServer::start(&dir.path().join("clickhouse")).unwrap();
    let bin = build_fixture("calls", &["-O2", "-g"], dir.path());
    let export = format!("clickhouse={}", server.url);
    let mut hosts = Vec::new();
    for name in ["fleet-a", "fleet-b"] {
        let fixture = Fixture::start(&bin);
        let daemon = start_daemon(
            &dir.path().join(name).join("data"),
            &["--export", &export, "--label", &format!("host.name={name}"), "--label", &format!("host.id=id-{name}")],
        );
        hosts.push((fixture, daemon));
    }
    for (fixture, daemon) in &mut hosts {
        let client = daemon.client();
        let body = json!({"pid": fixture.pid(), "functions": ["outer", "inner"], "limits": {"max_calls": 3},
                          "export_values": true});
        let id = client.post_json("/v1/sessions", &body).unwrap()["id"].as_u64().unwrap();
        fixture.command("nest");
        let view = wait_for("the export to ClickHouse", std::time::Duration::from_secs(60), || {
            let s = client.get_json(&format!("/v1/sessions/{id}")).ok()?;
            s.get("export").is_some().then_some(s)
        });
        assert_eq!(view["export"]["error"], serde_json::Value::Null, "{view}");
        assert_eq!(view["export"]["rows_sent"], 3, "{view}");
    }
    let (code, out, err) = run_tracesynth(&["fleet", "hosts", "--clickhouse", &server.url]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(lines[0].starts_with("fleet-a\tid-fleet-a\t3 calls\t2 functions"), "{out}");
    assert!(lines[1].starts_with("fleet-b\tid-fleet-b\t3 calls\t2 functions"), "{out}");
    let (code, out, err) = run_tracesynth(&["fleet", "functions", "--clickhouse", &server.url]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "one build of each function: {out}");
    for (line, function) in lines.iter().zip(["inner", "outer"]) {
        assert!(line.starts_with(&format!("{function}\t")) && line.contains("\t2 hosts\t"), "{out}");
    }
    // Fleet synthesis: one host only ever buys fewer than 10 items, the other all sorts;
    // the function is synthesized from both hosts' calls, discount included.
    for ((fixture, daemon), (command, calls)) in hosts.iter_mut().zip([("cheap 300", 300), ("drive 300", 300)]) {
        let client = daemon.client();
        let body = json!({"pid": fixture.pid(), "functions": ["price"], "limits": {"max_calls": calls},
                          "export_values": true});
        let id = client.post_json("/v1/sessions", &body).unwrap()["id"].as_u64().unwrap();
        fixture.command(command);
        let view = wait_for("the export of price", std::time::Duration::from_secs(60), || {
            let s = client.get_json(&format!("/v1/sessions/{id}")).ok()?;
            s.get("export").is_some().then_some(s)
        });
        assert_eq!(view["export"]["rows_sent"], calls, "{view}");
    }
    let out = dir.path().join("price");
    let (code, _, err) = run_tracesynth(&[
        "synth",
        "--clickhouse",
        &server.url,
        "--func",
        "price",
        "--lang",
        "python",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(err.contains("600 calls of price from 2 hosts"), "{err}");
    assert_eq!(code, 0, "verified from the fleet's calls: {err}");
    let code = std::fs::read_to_string(out.join("solution.py")).unwrap();
    assert!(code.contains("10"), "the discount from 10 items: {code}");
    // An absent server is a clear error, not an empty fleet.
    let (code, _, err) = run_tracesynth(&["fleet", "hosts", "--clickhouse", "http://127.0.0.1:9"]);
    assert_ne!(code, 0);
    assert!(err.contains("ClickHouse at http://127.0.0.1:9"), "{err}");
}
