//! A fleet: three daemons, each with its own data directory, `host.name` and copy of a
//! fixture, export to one ClickHouse server (Debian's 18.16, started by the test on
//! loopback); `tracesynth fleet hosts|functions` then see every host, `synth
//! --clickhouse` synthesizes a function from two hosts' calls, and a session that ends
//! while the server is down reaches it, once, when it is back.
use serde_json::json;
use test_support::{ci::require_file, clickhouse::ClickHouseServer};
use tests::pki::{arg, TestPki};
use tests::{
    build_fixture, require_root, run_tracesynth, session_when, set_binary, start_daemon, DaemonClient, Fixture,
};

/// How long the test waits for an export to happen or fail.
const EXPORT_WAIT: std::time::Duration = std::time::Duration::from_secs(60);

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
    // HTTPS too, with a certificate the operator's own CA signed.
    let pki = TestPki::create(dir.path());
    let mut server =
        ClickHouseServer::start_tls(&dir.path().join("clickhouse"), &pki.server_cert, &pki.server_key).unwrap();
    let https = server.https_url.clone().unwrap();
    let bin = build_fixture("calls", &["-O2", "-g"], dir.path());
    let mut hosts = Vec::new();
    for name in ["fleet-a", "fleet-b", "fleet-c"] {
        let fixture = Fixture::start(&bin);
        // One host sends over TLS.
        let export =
            if name == "fleet-c" { format!("clickhouse={https}") } else { format!("clickhouse={}", server.url) };
        let daemon = start_daemon(
            &dir.path().join(name).join("data"),
            &[
                "--export-ca",
                arg(&pki.ca),
                "--export",
                &export,
                "--export-retry-secs",
                "0.5",
                "--label",
                &format!("host.name={name}"),
                "--label",
                &format!("host.id=id-{name}"),
            ],
        );
        hosts.push((fixture, daemon));
    }
    for (fixture, daemon) in &mut hosts {
        let client = daemon.client();
        let body = json!({"pid": fixture.pid(), "functions": ["outer", "inner"], "limits": {"max_calls": 3},
                          "export_values": true});
        let id = client.post_json("/v1/sessions", &body).unwrap()["id"].as_u64().unwrap();
        fixture.command("nest");
        let view = session_when(&client, id, "the export to ClickHouse", EXPORT_WAIT, |s| s.get("export").is_some());
        assert_eq!(view["export"]["error"], serde_json::Value::Null, "{view}");
        assert_eq!(view["export"]["rows_sent"], 3, "{view}");
    }
    let (code, out, err) = run_tracesynth(&["fleet", "hosts", "--clickhouse", &server.url]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    for (line, name) in lines.iter().zip(["fleet-a", "fleet-b", "fleet-c"]) {
        assert!(line.starts_with(&format!("{name}\tid-{name}\t3 calls\t2 functions")), "{out}");
    }
    let (code, over_tls, err) =
        run_tracesynth(&["fleet", "hosts", "--clickhouse", &https, "--clickhouse-ca", arg(&pki.ca)]);
    assert_eq!((code, over_tls.as_str()), (0, out.as_str()), "{err}");
    let (code, _, err) = run_tracesynth(&["fleet", "hosts", "--clickhouse", &https]);
    assert_ne!(code, 0, "a certificate no trusted CA signed");
    assert!(err.contains("UnknownIssuer"), "{err}");
    let (code, out, err) = run_tracesynth(&["fleet", "functions", "--clickhouse", &server.url]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "one build of each function: {out}");
    for (line, function) in lines.iter().zip(["inner", "outer"]) {
        assert!(line.starts_with(&format!("{function}\t")) && line.contains("\t3 hosts\t"), "{out}");
    }
    // Call rates per function and host.
    let (code, out, err) = run_tracesynth(&["fleet", "calls", "--clickhouse", &server.url, "--func", "inner"]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    for (line, name) in lines.iter().zip(["fleet-a", "fleet-b", "fleet-c"]) {
        let fields: Vec<&str> = line.split('\t').collect();
        assert_eq!(fields[..5], ["inner", name, &format!("id-{name}"), "2 calls", "1 recordings"], "{out}");
        let rate: f64 = fields[5].strip_suffix(" calls/s").unwrap().parse().unwrap();
        assert!(rate > 0.0 && fields[6].starts_with("mean "), "{out}");
    }
    let (code, out, _) = run_tracesynth(&["fleet", "calls", "--clickhouse", &server.url]);
    assert_eq!((code, out.lines().count()), (0, 6), "outer and inner on three hosts: {out}");
    let (code, _, err) = run_tracesynth(&["fleet", "calls", "--clickhouse", &server.url, "--func", "nope"]);
    assert_ne!(code, 0);
    assert!(err.contains("no calls of `nope`"), "{err}");
    // Fleet synthesis: one host only ever buys fewer than 10 items, the other all sorts;
    // the function is synthesized from both hosts' calls, discount included.
    for ((fixture, daemon), (command, calls)) in hosts.iter_mut().zip([("cheap 300", 300), ("drive 300", 300)]) {
        let client = daemon.client();
        let body = json!({"pid": fixture.pid(), "functions": ["price"], "limits": {"max_calls": calls},
                          "export_values": true});
        let id = client.post_json("/v1/sessions", &body).unwrap()["id"].as_u64().unwrap();
        fixture.command(command);
        let view = session_when(&client, id, "the export of price", EXPORT_WAIT, |s| s.get("export").is_some());
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
    // A session with block probes sends its control-flow edges; `fleet edges` sums them.
    let (fixture, daemon) = &mut hosts[0];
    let client = daemon.client();
    let body = json!({"pid": fixture.pid(), "functions": ["price"], "blocks": true, "limits": {"max_calls": 40}});
    let id = client.post_json("/v1/sessions", &body).unwrap()["id"].as_u64().unwrap();
    fixture.command("drive 40");
    let view = session_when(&client, id, "the export of price's edges", EXPORT_WAIT, |s| s.get("export").is_some());
    assert_eq!(view["export"]["error"], serde_json::Value::Null, "{view}");
    let cfg = client.get_json(&format!("/v1/traces/{id}/cfg?function=price")).unwrap();
    let mut stored: Vec<(u64, u64, u64)> = cfg["functions"][0]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["from"].as_u64().unwrap(), e["to"].as_u64().unwrap(), e["count"].as_u64().unwrap()))
        .collect();
    assert!(stored.len() >= 2, "{cfg}");
    stored.sort_unstable();
    let (code, out, err) = run_tracesynth(&["fleet", "edges", "--clickhouse", &server.url, "--func", "price"]);
    assert_eq!(code, 0, "{err}");
    let listed: Vec<(u64, u64, u64)> = out
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            let (from, to) = f[1].split_once(" -> ").unwrap();
            let hex = |s: &str| u64::from_str_radix(s.trim_start_matches("0x"), 16).unwrap();
            assert_eq!(f[3], "1 hosts", "{out}");
            (hex(from), hex(to), f[2].strip_suffix(" times").unwrap().parse().unwrap())
        })
        .collect();
    assert_eq!(listed, stored, "every edge with its count: {out}");
    let (code, _, err) = run_tracesynth(&["fleet", "edges", "--clickhouse", &server.url, "--func", "inner"]);
    assert_ne!(code, 0);
    assert!(err.contains("no control-flow edges of `inner`"), "{err}");
    // The server goes down: a session that ends meanwhile waits in its daemon's store and
    // is sent when the server is back, once.
    server.stop();
    let (fixture, daemon) = &mut hosts[2];
    let client = daemon.client();
    let body = json!({"pid": fixture.pid(), "functions": ["outer", "inner"], "limits": {"max_calls": 30}});
    let id = client.post_json("/v1/sessions", &body).unwrap()["id"].as_u64().unwrap();
    for _ in 0..10 {
        fixture.command("nest");
    }
    let failed = session_when(&client, id, "a failed export", EXPORT_WAIT, |s| s["export"]["error"].is_string());
    assert_eq!(failed["export"]["rows_sent"], 0, "{failed}");
    server.restart().unwrap();
    let delivered = session_when(&client, id, "the retry", EXPORT_WAIT, |s| s["export"]["error"].is_null());
    assert_eq!(delivered["export"]["rows_sent"], 30, "{delivered}");
    assert!(delivered["export"]["attempts"].as_u64().unwrap() >= 2, "{delivered}");
    let (code, out, err) = run_tracesynth(&["fleet", "hosts", "--clickhouse", &server.url]);
    assert_eq!(code, 0, "{err}");
    assert!(out.lines().any(|l| l.starts_with("fleet-c\tid-fleet-c\t33 calls\t")), "every call once: {out}");
    // An absent server is a clear error, not an empty fleet.
    let (code, _, err) = run_tracesynth(&["fleet", "hosts", "--clickhouse", "http://127.0.0.1:9"]);
    assert_ne!(code, 0);
    assert!(err.contains("ClickHouse at http://127.0.0.1:9"), "{err}");
}
