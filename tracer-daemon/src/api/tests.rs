//! Router tests: every route and error through `oneshot`, no socket.
use axum::{
    body::Body,
    http::{header, Method, Request, StatusCode},
};
use http_body_util::BodyExt as _;
use serde_json::{json, Value as Json};
use tower::ServiceExt as _;

use super::*;
use crate::store::Store;
use tracer_probe::trace::Trace;

struct Harness {
    _dir: tempfile::TempDir,
    state: ApiState,
}

fn harness(token: Option<&str>) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("db")).unwrap();
    let sessions = Sessions::new(store).unwrap();
    Harness { _dir: dir, state: ApiState { sessions, jobs: crate::jobs::Jobs::default(), token: token.map(Arc::from) } }
}

async fn send(state: &ApiState, request: Request<Body>) -> (StatusCode, Vec<u8>) {
    let response = router(state.clone()).oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes().to_vec();
    (status, bytes)
}

async fn call(state: &ApiState, method: Method, uri: &str, body: Option<&str>) -> (StatusCode, Json) {
    let mut builder = Request::builder().method(method).uri(uri);
    if body.is_some() {
        builder = builder.header(header::CONTENT_TYPE, "application/json");
    }
    let request = builder.body(body.map_or_else(Body::empty, |b| Body::from(b.to_owned()))).unwrap();
    let (status, bytes) = send(state, request).await;
    let json = serde_json::from_slice(&bytes).unwrap_or_else(|_| Json::String(String::from_utf8_lossy(&bytes).into()));
    (status, json)
}

/// Asserts a 4xx JSON error whose message contains `needle`.
fn assert_error(got: &(StatusCode, Json), status: StatusCode, needle: &str) {
    assert_eq!(got.0, status, "{}", got.1);
    let message = got.1["error"].as_str().unwrap_or_else(|| panic!("no error field in {}", got.1));
    assert!(message.contains(needle), "{message:?} does not contain {needle:?}");
}

/// The sample trace with a second function, `other`, beside its `greet`.
fn greet_and_other() -> Trace {
    let mut trace = Trace::sample();
    let mut other = trace.functions[0].clone();
    other.name = "other".into();
    trace.functions.push(other);
    trace
}

/// Stores `trace` as finished (detached) session `id` of PID 42, as a daemon session would.
fn store_detached(state: &ApiState, id: u64, trace: &Trace, calls_per_function: Vec<u64>) {
    let store = state.sessions.store();
    store.put_trace_header(id, trace).unwrap();
    store.put_calls(id, &trace.calls).unwrap();
    store
        .put_session(&SessionRecord {
            id,
            pid: 42,
            functions: trace.functions.iter().map(|f| f.name.clone()).collect(),
            state: SessionState::Detached,
            limits: SessionLimits::default(),
            started_unix_ms: 1,
            ended_unix_ms: Some(2),
            calls_per_function,
            loss: trace.loss,
            error: None,
            owner_uid: None,
            max_overhead_percent: None,
            sampled_out: 0,
            sampling: None,
        })
        .unwrap();
}

/// Stores a finished session 7 with the sample trace plus calls, as a daemon session would.
fn seed(state: &ApiState) -> Trace {
    let mut trace = greet_and_other();
    for seq in 1..5 {
        let mut c = trace.calls[0].clone();
        c.seq = seq;
        c.function = u32::from(seq % 2 == 0);
        trace.calls.push(c);
    }
    state.sessions.store().put_resource(7, &trace.resources[0]).unwrap();
    store_detached(state, 7, &trace, vec![3, 2]);
    trace
}

#[tokio::test]
async fn health_openapi_and_metrics() {
    let h = harness(None);
    let (status, body) = call(&h.state, Method::GET, "/v1/health", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "ok");
    let (status, doc) = call(&h.state, Method::GET, "/v1/openapi.json", None).await;
    assert_eq!(status, StatusCode::OK);
    for path in ["/v1/sessions", "/v1/sessions/{id}", "/v1/traces/{id}", "/v1/traces/{id}/calls", "/metrics"] {
        assert!(doc["paths"][path].is_object(), "openapi lacks {path}");
    }
    assert!(doc["components"]["schemas"]["CreateSession"].is_object());
    seed(&h.state);
    let (status, text) = call(&h.state, Method::GET, "/metrics", None).await;
    assert_eq!(status, StatusCode::OK);
    let text = text.as_str().unwrap();
    assert!(text.contains("tracesynth_sessions{state=\"detached\"} 1"), "{text}");
    assert!(text.contains("tracesynth_sessions{state=\"running\"} 0"), "{text}");
    assert!(text.contains("tracesynth_events_dropped_total 0"));
    assert!(text.contains("tracesynth_calls_total 5"));
    assert!(text.contains("tracesynth_store_bytes "));
}

#[tokio::test]
async fn sessions_and_traces_from_the_store() {
    let h = harness(None);
    let (status, list) = call(&h.state, Method::GET, "/v1/sessions", None).await;
    assert_eq!((status, list), (StatusCode::OK, json!([])));
    let trace = seed(&h.state);
    let (status, list) = call(&h.state, Method::GET, "/v1/sessions", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list[0]["id"], 7);
    assert_eq!(list[0]["state"], "detached");
    let (status, s) = call(&h.state, Method::GET, "/v1/sessions/7", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(s["calls_per_function"], json!([3, 2]));
    assert_eq!(s["loss"]["produced"], 3);
    assert_eq!(s["resources"][0]["rss_bytes"], 4096);
    // Deleting an ended session returns it unchanged.
    let (status, s) = call(&h.state, Method::DELETE, "/v1/sessions/7", None).await;
    assert_eq!((status, &s["state"]), (StatusCode::OK, &json!("detached")));

    let (status, list) = call(&h.state, Method::GET, "/v1/traces", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list, json!([{"id": 7, "pid": 42, "functions": ["greet", "other"], "state": "detached", "calls": 5}]));

    let (status, back) = call(&h.state, Method::GET, "/v1/traces/7", None).await;
    assert_eq!(status, StatusCode::OK);
    let back: Trace = serde_json::from_value(back).unwrap();
    assert_eq!(back, trace);
    let (status, bytes) =
        send(&h.state, Request::get("/v1/traces/7?format=bincode").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(Trace::from_bytes(&bytes, std::path::Path::new("x")).unwrap(), trace);
    let (status, chrome) = call(&h.state, Method::GET, "/v1/traces/7?format=chrome", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(chrome["traceEvents"].as_array().unwrap().iter().filter(|e| e["ph"] == "X").count(), 5);
}

#[tokio::test]
async fn calls_are_paged_and_filtered() {
    let h = harness(None);
    seed(&h.state);
    assert_error(
        &call(&h.state, Method::GET, "/v1/traces/7/cfg", None).await,
        StatusCode::NOT_FOUND,
        "without block probes",
    );
    let (status, page) = call(&h.state, Method::GET, "/v1/traces/7/calls", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["total"], 5);
    let seqs = |p: &Json| p["calls"].as_array().unwrap().iter().map(|c| c["seq"].as_u64().unwrap()).collect::<Vec<_>>();
    assert_eq!(seqs(&page), [0, 1, 3, 2, 4], "(function, seq) order");
    let (_, page) = call(&h.state, Method::GET, "/v1/traces/7/calls?function=greet&offset=1&limit=1", None).await;
    assert_eq!((page["total"].as_u64(), seqs(&page)), (Some(3), vec![1]));
    let (_, page) = call(&h.state, Method::GET, "/v1/traces/7/calls?function=other&offset=5", None).await;
    assert_eq!((page["total"].as_u64(), seqs(&page)), (Some(2), vec![]));
    assert_error(
        &call(&h.state, Method::GET, "/v1/traces/7/calls?function=nope", None).await,
        StatusCode::NOT_FOUND,
        "no function `nope`",
    );
    assert_error(
        &call(&h.state, Method::GET, "/v1/traces/7/calls?limit=0", None).await,
        StatusCode::BAD_REQUEST,
        "limit",
    );
    assert_error(
        &call(&h.state, Method::GET, "/v1/traces/7/calls?limit=10001", None).await,
        StatusCode::BAD_REQUEST,
        "limit",
    );
    assert_error(
        &call(&h.state, Method::GET, "/v1/traces/7/calls?offset=-1", None).await,
        StatusCode::BAD_REQUEST,
        "offset",
    );
    assert_error(
        &call(&h.state, Method::GET, "/v1/traces/7/calls?bogus=1", None).await,
        StatusCode::BAD_REQUEST,
        "bogus",
    );
}

#[tokio::test]
async fn cfg_as_json_and_dot_per_function() {
    use tracer_probe::probes::cfg::basic_blocks;
    let h = harness(None);
    seed(&h.state);
    // 0: test edi,edi  2: jle 8  4: dec edi  6: jmp 2  8: ret; greet(3) went round 3 times.
    let code = [0x85, 0xff, 0x7e, 0x04, 0xff, 0xcf, 0xeb, 0xfa, 0xc3];
    let mut cfg = Cfg {
        functions: ["greet", "other"].map(|f| FunctionCfg::new(f.into(), basic_blocks(&code, 0))).into(),
        unattributed_blocks: 0,
    };
    let edge = |from, to, count| CallEdge { from, to, count };
    let path = CallBlocks {
        seq: 1,
        function: 0,
        path: vec![0, 2, 4, 2, 4, 2, 4, 2, 8],
        truncated: 0,
        edges: vec![edge(0, 2, 1), edge(2, 4, 3), edge(2, 8, 1), edge(4, 2, 3)],
    };
    cfg.add_call(&path);
    let store = h.state.sessions.store();
    store.put_cfg(7, &cfg).unwrap();
    store.put_call_blocks(7, [&path]).unwrap();

    let (status, all) = call(&h.state, Method::GET, "/v1/traces/7/cfg", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(all["functions"].as_array().unwrap().len(), 2);
    let (status, greet) = call(&h.state, Method::GET, "/v1/traces/7/cfg?function=greet&format=json", None).await;
    assert_eq!(status, StatusCode::OK);
    let greet = &greet["functions"];
    assert_eq!((greet.as_array().unwrap().len(), &greet[0]["function"]), (1, &json!("greet")));
    let back_edge = greet[0]["edges"].as_array().unwrap().iter().find(|e| e["back_edge"] == true).unwrap();
    assert_eq!((&back_edge["from"], &back_edge["to"], &back_edge["count"]), (&json!(4), &json!(2), &json!(3)));
    assert_eq!(greet[0]["loops"][0]["back_edges_taken"]["median"], 3);
    assert_eq!(greet[0]["blocks"][1]["branch"]["taken_ratio"], 0.25);

    let request = Request::get("/v1/traces/7/cfg?function=greet&format=dot").body(Body::empty()).unwrap();
    let response = router(h.state.clone()).oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::CONTENT_TYPE], "text/vnd.graphviz; charset=utf-8");
    let dot = String::from_utf8(response.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
    assert!(dot.starts_with("digraph \"greet\" {"), "{dot}");
    assert!(dot.contains("\"0x4\" -> \"0x2\" [label=\"3\", color=red"), "{dot}");
    assert_eq!(dot.matches("digraph").count(), 1, "{dot}");

    assert_error(
        &call(&h.state, Method::GET, "/v1/traces/7/cfg?function=nope", None).await,
        StatusCode::NOT_FOUND,
        "has no function `nope` (it has: greet, other)",
    );
    assert_error(
        &call(&h.state, Method::GET, "/v1/traces/7/cfg?format=svg", None).await,
        StatusCode::BAD_REQUEST,
        "format",
    );
    assert_error(
        &call(&h.state, Method::GET, "/v1/traces/7/cfg?bogus=1", None).await,
        StatusCode::BAD_REQUEST,
        "bogus",
    );

    // The calls page carries the stored block paths.
    let (status, page) = call(&h.state, Method::GET, "/v1/traces/7/calls?function=greet", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["paths"], json!([serde_json::to_value(&path).unwrap()]));
}

#[tokio::test]
async fn unknown_ids_routes_and_methods() {
    let h = harness(None);
    for uri in ["/v1/sessions/99", "/v1/traces/99", "/v1/traces/99/calls", "/v1/traces/99/cfg"] {
        assert_error(&call(&h.state, Method::GET, uri, None).await, StatusCode::NOT_FOUND, "99");
    }
    assert_error(
        &call(&h.state, Method::DELETE, "/v1/sessions/99", None).await,
        StatusCode::NOT_FOUND,
        "no session 99",
    );
    assert_error(&call(&h.state, Method::GET, "/v1/sessions/abc", None).await, StatusCode::BAD_REQUEST, "");
    assert_error(&call(&h.state, Method::GET, "/v1/traces/-1", None).await, StatusCode::BAD_REQUEST, "");
    assert_error(
        &call(&h.state, Method::GET, "/v1/traces/1?format=xml", None).await,
        StatusCode::BAD_REQUEST,
        "format",
    );
    assert_error(&call(&h.state, Method::GET, "/v2/nothing", None).await, StatusCode::NOT_FOUND, "no such route");
    assert_error(&call(&h.state, Method::PUT, "/v1/sessions", None).await, StatusCode::METHOD_NOT_ALLOWED, "method");
}

#[tokio::test]
async fn bad_session_requests_are_4xx_json() {
    let h = harness(None);
    let post = |body: String| {
        let state = h.state.clone();
        async move { call(&state, Method::POST, "/v1/sessions", Some(&body)).await }
    };
    let me = std::process::id();
    // A child process we may read /proc of, to look functions up in.
    let mut child = std::process::Command::new("sleep").arg("30").spawn().unwrap();
    let child_pid = child.id();
    std::thread::sleep(std::time::Duration::from_millis(50));

    assert_error(&post("{\"pid\": 1,".into()).await, StatusCode::BAD_REQUEST, "");
    assert_error(&post("[1, 2]".into()).await, StatusCode::UNPROCESSABLE_ENTITY, "");
    assert_error(
        &post(json!({"pid": child_pid, "functions": ["f"], "colour": "red"}).to_string()).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown field `colour`",
    );
    assert_error(
        &post(json!({"pid": child_pid, "functions": ["f"], "limits": {"max_call": 3}}).to_string()).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown field `max_call`",
    );
    assert_error(&post(json!({"functions": ["f"]}).to_string()).await, StatusCode::UNPROCESSABLE_ENTITY, "pid");
    assert_error(&post(json!({"pid": -3, "functions": ["f"]}).to_string()).await, StatusCode::UNPROCESSABLE_ENTITY, "");
    let huge = json!({"pid": child_pid, "functions": vec!["x".repeat(1000); 100]}).to_string();
    assert!(huge.len() > BODY_LIMIT);
    let got = post(huge).await;
    assert_eq!(got.0, StatusCode::PAYLOAD_TOO_LARGE, "{}", got.1);
    assert!(got.1["error"].is_string());
    let no_type =
        Request::post("/v1/sessions").body(Body::from(json!({"pid": 1, "functions": ["f"]}).to_string())).unwrap();
    let (status, body) = send(&h.state, no_type).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(serde_json::from_slice::<Json>(&body).unwrap()["error"].is_string());

    for (limits, needle) in [
        (json!({"max_calls": 0}), "max_calls"),
        (json!({"max_calls_per_function": 0}), "max_calls_per_function"),
        (json!({"max_seconds": -1.0}), "max_seconds"),
        (json!({"max_seconds": 1e9}), "max_seconds"),
        (json!({"max_calls": 2_000_000_000_000u64}), "max_calls"),
    ] {
        let body = json!({"pid": child_pid, "functions": ["f"], "limits": limits}).to_string();
        assert_error(&post(body).await, StatusCode::BAD_REQUEST, needle);
    }
    assert_error(
        &post(json!({"pid": child_pid, "functions": []}).to_string()).await,
        StatusCode::BAD_REQUEST,
        "at least one",
    );
    for (extra, needle) in [
        (json!({"args": ["buf:len=0"]}), "a fixed length is 1 to 4096 elements"),
        (json!({"args": ["a:sideways"]}), "give NAME:len=PARAM"),
        (json!({"array_cap": 5000}), "array_cap is at most 4096"),
        (json!({"ring_mb": 3}), "ring_mb must be a power of two"),
        (json!({"ring_mb": 2048}), "ring_mb must be a power of two"),
        (json!({"export_values": ["g"]}), "export_values names `g`, which the session does not trace"),
        (json!({"export_args": ["g"]}), "export_values names `g`"),
    ] {
        let mut body = json!({"pid": child_pid, "functions": ["f"]});
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        assert_error(&post(body.to_string()).await, StatusCode::BAD_REQUEST, needle);
    }
    assert_error(
        &post(json!({"pid": child_pid, "functions": ["f"], "export_values": 3}).to_string()).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "export_values: true, false or a list of function names",
    );
    assert_error(&post(json!({"pid": 0, "functions": ["f"]}).to_string()).await, StatusCode::BAD_REQUEST, "pid");
    assert_error(
        &post(json!({"pid": child_pid, "functions": ["no_such_function_xyz"], "blocks": true}).to_string()).await,
        StatusCode::NOT_FOUND,
        "`no_such_function_xyz` not found",
    );
    assert_error(&post(json!({"pid": me, "functions": ["f"]}).to_string()).await, StatusCode::FORBIDDEN, "own PID");
    assert_error(
        &post(json!({"pid": 3_999_999, "functions": ["f"]}).to_string()).await,
        StatusCode::NOT_FOUND,
        "no process with PID 3999999",
    );
    assert_error(
        &post(json!({"pid": child_pid, "functions": ["no_such_function_xyz"]}).to_string()).await,
        StatusCode::NOT_FOUND,
        "`no_such_function_xyz` not found",
    );
    assert_error(
        &post(json!({"pid": child_pid, "functions": ["f"], "ret_probes": "sideways"}).to_string()).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "sideways",
    );
    let _ = child.kill();
    let _ = child.wait();
    // Nothing was stored by any of these.
    assert_eq!(call(&h.state, Method::GET, "/v1/sessions", None).await.1, json!([]));
}

#[tokio::test]
async fn internal_errors_are_500_with_a_generic_body() {
    let h = harness(None);
    h.state.sessions.store().put_raw_session(5, b"not json");
    for uri in ["/v1/sessions", "/v1/sessions/5", "/metrics"] {
        let (status, body) = call(&h.state, Method::GET, uri, None).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{uri}");
        assert_eq!(body, json!({"error": "internal error; see the daemon's log"}), "{uri}");
    }
}

#[tokio::test]
async fn token_guards_every_route_but_health() {
    let h = harness(Some("s3cret"));
    assert_eq!(call(&h.state, Method::GET, "/v1/health", None).await.0, StatusCode::OK);
    for uri in ["/v1/sessions", "/metrics", "/v1/openapi.json", "/v1/traces/1"] {
        assert_error(&call(&h.state, Method::GET, uri, None).await, StatusCode::UNAUTHORIZED, "missing");
    }
    let with = |token: &str| {
        Request::get("/v1/sessions")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap()
    };
    assert_eq!(send(&h.state, with("wrong")).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(send(&h.state, with("s3cret")).await.0, StatusCode::OK);
}

/// A request from a local peer on the Unix socket.
fn from_peer(uid: u32, method: Method, uri: &str, body: Option<&str>) -> Request<Body> {
    let mut request = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::CONTENT_TYPE, "application/json")
        .body(body.map_or_else(Body::empty, |b| Body::from(b.to_owned())))
        .unwrap();
    request.extensions_mut().insert(ConnectInfo(UnixPeer(Some(Peer { pid: None, uid, gid: uid }))));
    request
}

#[tokio::test]
async fn a_local_user_sees_only_its_own_sessions_and_traces() {
    let h = harness(None);
    let trace = greet_and_other();
    store_detached(&h.state, 1, &trace, vec![1, 0]);
    let mut record = h.state.sessions.store().get_session(1).unwrap().unwrap();
    record.id = 2;
    record.owner_uid = Some(1000);
    h.state.sessions.store().put_session(&record).unwrap();
    h.state.sessions.store().put_trace_header(2, &trace).unwrap();
    // Session 1 was started by an operator, session 2 by uid 1000.
    for uri in ["/v1/sessions/1", "/v1/traces/1", "/v1/traces/1/calls", "/v1/traces/1/cfg"] {
        let (status, body) = send(&h.state, from_peer(1000, Method::GET, uri, None)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{uri}: {}", String::from_utf8_lossy(&body));
    }
    assert_eq!(send(&h.state, from_peer(1000, Method::DELETE, "/v1/sessions/1", None)).await.0, StatusCode::FORBIDDEN);
    let job = r#"{"session_id": 1, "function": "greet"}"#;
    assert_eq!(
        send(&h.state, from_peer(1000, Method::POST, "/v1/synthesize", Some(job))).await.0,
        StatusCode::FORBIDDEN
    );
    let (status, body) = send(&h.state, from_peer(1000, Method::GET, "/v1/sessions", None)).await;
    let list: Json = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        (status, list.as_array().unwrap().iter().map(|s| s["id"].as_u64().unwrap()).collect::<Vec<_>>()),
        (StatusCode::OK, vec![2])
    );
    let (_, body) = send(&h.state, from_peer(1000, Method::GET, "/v1/traces", None)).await;
    assert_eq!(serde_json::from_slice::<Json>(&body).unwrap().as_array().unwrap().len(), 1);
    assert_eq!(send(&h.state, from_peer(1000, Method::GET, "/v1/traces/2", None)).await.0, StatusCode::OK);
    assert_eq!(send(&h.state, from_peer(1001, Method::GET, "/v1/traces/2", None)).await.0, StatusCode::FORBIDDEN);
    // Root on the socket is an operator.
    assert_eq!(send(&h.state, from_peer(0, Method::GET, "/v1/traces/1", None)).await.0, StatusCode::OK);
    let (_, body) = send(&h.state, from_peer(0, Method::GET, "/v1/sessions", None)).await;
    assert_eq!(serde_json::from_slice::<Json>(&body).unwrap().as_array().unwrap().len(), 2);
}

#[test]
fn only_loopback_without_token() {
    assert!(is_loopback(&"127.0.0.1:7878".parse().unwrap()));
    assert!(is_loopback(&"[::1]:7878".parse().unwrap()));
    assert!(!is_loopback(&"0.0.0.0:7878".parse().unwrap()));
}

/// Root only: attach through the API to a child, read it back, detach.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attach_get_and_detach_as_root() {
    if !test_support::ci::require_root("attach_get_and_detach_as_root") {
        return;
    }
    let h = harness(None);
    let mut child = std::process::Command::new("sleep").arg("30").spawn().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(50));
    let body = json!({"pid": child.id(), "functions": ["clock_nanosleep"], "limits": {"max_seconds": 60}}).to_string();
    let (status, s) = call(&h.state, Method::POST, "/v1/sessions", Some(&body)).await;
    assert_eq!(status, StatusCode::CREATED, "{s}");
    let id = s["id"].as_u64().unwrap();
    assert_eq!(s["state"], "running");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let (status, s) = call(&h.state, Method::GET, &format!("/v1/sessions/{id}"), None).await;
    assert_eq!((status, &s["state"]), (StatusCode::OK, &json!("running")), "{s}");
    assert!(!s["resources"].as_array().unwrap().is_empty(), "{s}");
    let (status, s) = call(&h.state, Method::DELETE, &format!("/v1/sessions/{id}"), None).await;
    assert_eq!((status, &s["state"]), (StatusCode::OK, &json!("detached")), "{s}");
    let (status, t) = call(&h.state, Method::GET, &format!("/v1/traces/{id}"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(t["end_reason"], "detached");
    assert_eq!(t["functions"][0]["name"], "clock_nanosleep");
    let _ = child.kill();
    let _ = child.wait();
}

/// Stores a finished session 9 whose `greet` returned `strlen(name) + 7` on eight names,
/// and whose `other` was never called.
fn seed_greet(state: &ApiState) {
    let mut trace = greet_and_other();
    let template = trace.calls[0].clone();
    trace.calls.clear();
    for (seq, name) in ["a", "bb", "ccc", "dddd", "eeeee", "ffffff", "ggggggg", "hhhhhhhh"].iter().enumerate() {
        let mut c = template.clone();
        c.seq = seq as u64 + 1;
        c.function = 0;
        c.args = vec![tracer_probe::trace::Value::Str { ptr: 0x10, value: Some((*name).into()), truncated: false }];
        c.ret = Some(tracer_probe::trace::Value::Int(name.len() as i64 + 7));
        trace.calls.push(c);
    }
    store_detached(state, 9, &trace, vec![8, 0]);
}

/// Posts a synthesis job and waits for it to end; returns its final view.
async fn run_job(state: &ApiState, body: &str) -> serde_json::Value {
    let (status, job) = call(state, Method::POST, "/v1/synthesize", Some(body)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    let id = job["id"].as_u64().unwrap();
    let started = std::time::Instant::now();
    loop {
        let (status, view) = call(state, Method::GET, &format!("/v1/jobs/{id}"), None).await;
        assert_eq!(status, StatusCode::OK);
        if !matches!(view["state"].as_str(), Some("queued" | "running")) {
            return view;
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(120), "job still running: {view}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn synthesize_job_runs_to_verified_code() {
    let h = harness(None);
    seed_greet(&h.state);
    // The default guide: learned, or uniform costs where `cargo xtask setup` has not run.
    let body = r#"{"trace_id": 9, "function": "greet", "language": "python", "budget_ms": 30000, "description": "length plus seven"}"#;
    let view = run_job(&h.state, body).await;
    assert_eq!(view["state"], "verified", "{view}");
    let result = &view["result"];
    assert!(result["code"].as_str().unwrap().contains("def greet(name"), "{result}");
    assert_eq!(result["status"], "verified");
    let installed = synth_model::guide::Guider::load(synth_model::model::default_weights_dir()).is_ok();
    assert_eq!(result["guide"], if installed { "learned" } else { "uniform" });
    assert!(view["progress"]["iteration"].as_u64().unwrap() >= 1);
    assert!(view["progress"]["best_reward"].as_f64().unwrap() >= 0.95);
    assert!(!result["history"].as_array().unwrap().is_empty());
    assert!(result["regression_test"].as_str().unwrap().contains("greet("));
    assert!(result["invariants"].as_array().unwrap().iter().any(|i| i == "result ≥ 0"), "{}", result["invariants"]);
    // Uniform costs when asked.
    let body = r#"{"trace_id": 9, "function": "greet", "language": "python", "budget_ms": 30000, "guide": "uniform"}"#;
    let view = run_job(&h.state, body).await;
    assert_eq!(view["state"], "verified", "{view}");
    assert_eq!(view["result"]["guide"], "uniform");
    let (_, list) = call(&h.state, Method::GET, "/v1/jobs", None).await;
    assert_eq!(list.as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn bad_synthesize_requests_are_4xx_json() {
    let h = harness(None);
    seed_greet(&h.state);
    let post = |body: &'static str| {
        let state = h.state.clone();
        async move { call(&state, Method::POST, "/v1/synthesize", Some(body)).await }
    };
    assert_error(&post(r#"{"trace_id": 99, "function": "greet"}"#).await, StatusCode::NOT_FOUND, "no trace 99");
    assert_error(
        &post(r#"{"session_id": 9, "function": "nope"}"#).await,
        StatusCode::NOT_FOUND,
        "`nope` is not in the trace",
    );
    assert_error(
        &post(r#"{"session_id": 9, "function": "other"}"#).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "never called",
    );
    assert_error(&post(r#"{"function": "greet"}"#).await, StatusCode::BAD_REQUEST, "session_id or trace_id");
    assert_error(
        &post(r#"{"session_id": 9, "trace_id": 8, "function": "greet"}"#).await,
        StatusCode::BAD_REQUEST,
        "not two",
    );
    assert_error(
        &post(r#"{"session_id": 9, "function": "greet", "budget_ms": 0}"#).await,
        StatusCode::BAD_REQUEST,
        "budget_ms",
    );
    assert_error(
        &post(r#"{"session_id": 9, "function": "greet", "max_iterations": 0}"#).await,
        StatusCode::BAD_REQUEST,
        "max_iterations",
    );
    assert_error(
        &post(r#"{"session_id": 9, "function": "greet", "language": "cobol"}"#).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "language",
    );
    assert_error(
        &post(r#"{"session_id": 9, "function": "greet", "colour": 1}"#).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "colour",
    );
    assert_error(
        &post(r#"{"session_id": 9, "function": "greet", "guide": "oracle"}"#).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "guide",
    );
    assert_error(&post(r#"{"session_id": 9,"#).await, StatusCode::BAD_REQUEST, "");
    assert_error(&call(&h.state, Method::GET, "/v1/jobs/5", None).await, StatusCode::NOT_FOUND, "no job 5");
    assert_error(&call(&h.state, Method::DELETE, "/v1/jobs/5", None).await, StatusCode::NOT_FOUND, "no job 5");
    assert_eq!(call(&h.state, Method::GET, "/v1/jobs", None).await.1, json!([]));
}

#[tokio::test]
async fn too_many_pending_jobs_is_429_and_cancel_ends_them() {
    let h = harness(None);
    seed_greet(&h.state);
    let body = r#"{"trace_id": 9, "function": "greet", "language": "python", "budget_ms": 30000}"#;
    let mut ids = Vec::new();
    for _ in 0..crate::jobs::MAX_PENDING_JOBS {
        let (status, job) = call(&h.state, Method::POST, "/v1/synthesize", Some(body)).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{job}");
        ids.push(job["id"].as_u64().unwrap());
    }
    // Jobs run one at a time, so the last ones are still queued.
    assert_error(
        &call(&h.state, Method::POST, "/v1/synthesize", Some(body)).await,
        StatusCode::TOO_MANY_REQUESTS,
        "queued or running",
    );
    for id in &ids {
        let (status, view) = call(&h.state, Method::DELETE, &format!("/v1/jobs/{id}"), None).await;
        assert_eq!(status, StatusCode::OK);
        assert!(matches!(view["state"].as_str(), Some("cancelled" | "verified")), "{view}");
    }
    let (status, _) = call(&h.state, Method::POST, "/v1/synthesize", Some(body)).await;
    assert_eq!(status, StatusCode::ACCEPTED);
}
