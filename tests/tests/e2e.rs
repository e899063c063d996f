//! The main job end to end, on the real kernel: a demo process runs; the daemon attaches by
//! PID, records, and synthesizes each function in Rust, Python and C through
//! `POST /v1/synthesize`; the emitted code then has to agree with the original function
//! on 10,000 fresh random inputs (the demo evaluates its own functions on request), and
//! the error paths say what is wrong.
use std::time::{Duration, Instant};

use serde_json::{json, Value as Json};
use synth_engine::{
    dsl::Term,
    emit::{emit_tests, Lang},
    spec::Examples,
    verify::{verify, VerifyLimits},
};
use tests::{build_fixture, require_root, set_binary, start_daemon, Fixture};
use tracer_daemon::client::{Client, DaemonUrl};

const FRESH: usize = 10_000;

/// Deterministic pseudo-random numbers (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// One demo function: its signature in the examples format and how to draw fresh inputs
/// from the ranges the demo itself calls it with.
struct Target {
    name: &'static str,
    params: Json,
    output_type: &'static str,
    fresh: fn(&mut Rng) -> Vec<Json>,
}

fn targets() -> Vec<Target> {
    vec![
        Target {
            name: "clear_lowest_bit",
            params: json!([{"name": "x", "type": "u32"}]),
            output_type: "u32",
            fresh: |r| vec![json!(if r.below(2) == 0 { r.next() & 0xffff_ffff } else { r.below(4096) })],
        },
        Target {
            name: "bulk_price",
            params: json!([{"name": "qty", "type": "i32"}, {"name": "unit", "type": "i32"}]),
            output_type: "i32",
            fresh: |r| vec![json!(r.below(40)), json!(r.below(500))],
        },
        Target {
            name: "greeting",
            params: json!([{"name": "name", "type": "string"}]),
            output_type: "string",
            fresh: |r| {
                let len = 1 + r.below(12);
                let name: String = (0..len).map(|_| char::from(b'a' + r.below(26) as u8)).collect();
                vec![json!(name)]
            },
        },
    ]
}

/// The original function's answer, from the demo's `eval` command.
fn oracle(demo: &mut Fixture, target: &Target, args: &[Json]) -> Json {
    let words: Vec<String> = args.iter().map(|a| a.as_str().map_or_else(|| a.to_string(), str::to_owned)).collect();
    let reply = demo.ask(&format!("eval {} {}", target.name, words.join(" ")));
    let value = reply.strip_prefix("= ").unwrap_or_else(|| panic!("demo said {reply:?}"));
    match target.output_type {
        "string" => json!(value),
        _ => json!(value.parse::<i64>().unwrap()),
    }
}

fn wait_for_job(client: &Client, id: u64) -> Json {
    let started = Instant::now();
    loop {
        let view = client.get_json(&format!("/v1/jobs/{id}")).unwrap();
        if !matches!(view["state"].as_str(), Some("queued" | "running")) {
            return view;
        }
        assert!(started.elapsed() < Duration::from_secs(300), "job {id} still running: {view}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn demo_functions_from_a_live_pid_to_code_that_agrees_on_fresh_inputs() {
    if !require_root("e2e") {
        return;
    }
    set_binary(env!("CARGO_BIN_EXE_tracesynth-under-test"));
    let dir = tempfile::tempdir().unwrap();
    let demo_bin = build_fixture("demo", &["-g", "-O2"], dir.path());
    let mut demo = Fixture::start(&demo_bin);
    let daemon = start_daemon(&dir.path().join("data"), &[]);
    let client = Client::new(&DaemonUrl::at(&daemon.url)).unwrap();

    let functions = ["clear_lowest_bit", "bulk_price", "greeting", "next_ticket"];
    let session = client.post_json("/v1/sessions", &json!({"pid": demo.pid(), "functions": functions})).unwrap();
    let sid = session["id"].as_u64().unwrap();
    demo.command("run 500");
    let started = Instant::now();
    loop {
        let s = client.get_json(&format!("/v1/sessions/{sid}")).unwrap();
        if s["calls_per_function"].as_array().unwrap().iter().all(|c| c.as_u64() == Some(500)) {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "calls never arrived: {s}");
        std::thread::sleep(Duration::from_millis(100));
    }
    client.delete(&format!("/v1/sessions/{sid}")).unwrap();

    // Error paths first (they are quick): hidden state, unknown session, never called.
    let err = client
        .post_json("/v1/synthesize", &json!({"session_id": sid, "function": "next_ticket"}))
        .unwrap_err()
        .to_string();
    assert!(err.contains("422") && err.contains("not a pure function of its arguments"), "{err}");
    let err = client
        .post_json("/v1/synthesize", &json!({"session_id": 4242, "function": "greeting"}))
        .unwrap_err()
        .to_string();
    assert!(err.contains("404") && err.contains("no trace 4242"), "{err}");
    let quiet = client.post_json("/v1/sessions", &json!({"pid": demo.pid(), "functions": ["greeting"]})).unwrap();
    let quiet_id = quiet["id"].as_u64().unwrap();
    client.delete(&format!("/v1/sessions/{quiet_id}")).unwrap();
    let err = client
        .post_json("/v1/synthesize", &json!({"session_id": quiet_id, "function": "greeting"}))
        .unwrap_err()
        .to_string();
    assert!(err.contains("422") && err.contains("never called"), "{err}");

    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for target in targets() {
        // The same fresh inputs and the original's answers for all three languages.
        let examples: Vec<Json> = (0..FRESH)
            .map(|_| {
                let args = (target.fresh)(&mut rng);
                let output = oracle(&mut demo, &target, &args);
                json!({"args": args, "output": output})
            })
            .collect();
        let spec = json!({"function": target.name, "params": target.params, "output_type": target.output_type, "examples": examples});
        let problem = Examples::from_json(&spec.to_string()).unwrap().to_problem().unwrap();
        for lang in [Lang::Rust, Lang::Python, Lang::C] {
            let job = client
                .post_json(
                    "/v1/synthesize",
                    &json!({"session_id": sid, "function": target.name, "language": lang.to_string(), "budget_ms": 120_000}),
                )
                .unwrap();
            let view = wait_for_job(&client, job["id"].as_u64().unwrap());
            assert_eq!(view["state"], "verified", "{} in {lang}: {view}", target.name);
            let result = &view["result"];
            let code = result["code"].as_str().unwrap();
            let signature = match lang {
                Lang::Rust => format!("pub fn {}(", target.name),
                Lang::Python => format!("def {}(", target.name),
                Lang::C => format!("{}(", target.name),
            };
            assert!(code.contains(&signature), "{code}");
            for p in target.params.as_array().unwrap() {
                assert!(code.contains(p["name"].as_str().unwrap()), "parameter {} missing from {code}", p["name"]);
            }
            let term: Term = result["term"].as_str().unwrap().parse().unwrap();
            let tests = emit_tests(lang, &problem, &term, &problem.examples).unwrap();
            let limits = VerifyLimits {
                compile_timeout: Duration::from_secs(600),
                run_timeout: Duration::from_secs(120),
                ..VerifyLimits::default()
            };
            let report = verify(lang, code, &tests, &limits).unwrap();
            assert!(report.compiled, "{} in {lang} did not compile: {}", target.name, report.log);
            assert_eq!(
                (report.tests_passed, report.tests_total),
                (problem.examples.len(), problem.examples.len()),
                "{} in {lang} disagrees with the original on fresh inputs: {}",
                target.name,
                report.log
            );
        }
    }
}
