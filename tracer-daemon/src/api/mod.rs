//! The daemon's HTTP API (axum). [`router`] builds the routes over an [`ApiState`] and is
//! what tests drive with `oneshot`; [`serve`] runs it on a listener until shutdown.
//!
//! Every failure is an [`ApiError`]: 4xx with `{"error": "..."}`, 5xx with a generic body
//! and the cause in the log.
//!
//! Who may do what is decided per request ([`caller`]): on the Unix socket ([`serve_unix`])
//! by the peer's credentials, which the kernel gives; on TCP ([`serve`]) by the bearer
//! token every route but `/v1/health` then needs.
pub mod caller;
mod error;

use std::{future::Future, net::SocketAddr, sync::Arc};

use axum::{
    body::Body,
    extract::{
        connect_info::{ConnectInfo, Connected},
        rejection::{JsonRejection, PathRejection, QueryRejection},
        DefaultBodyLimit, Extension, Path, Query, Request, State,
    },
    http::{header, StatusCode},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{get, post},
    serve::IncomingStream,
    Json, Router,
};
use serde::{Deserialize, Serialize};
use tracer_export::values::ExportValues;
use utoipa::{IntoParams, OpenApi, ToSchema};

use self::caller::{Caller, Peer, TraceRefused};
pub use self::error::ApiError;
use crate::{
    daemon::{SessionRequest, Sessions},
    jobs::{JobProgress, JobState, JobView, Jobs, Language, SynthesizeRequest},
    store::{SessionLimits, SessionRecord, SessionState},
};
use tracer_probe::{
    probes::cfg::{BasicBlock, Branch, CallBlocks, CallEdge, Cfg, CfgEdge, CfgLoop, CountStats, FunctionCfg},
    trace::{Encoding, RetMode},
};

/// Largest request body accepted.
pub const BODY_LIMIT: usize = 64 * 1024;
/// Largest page of `GET /v1/traces/{id}/calls`.
pub const MAX_PAGE: usize = 10_000;

/// What the handlers share.
#[derive(Clone)]
pub struct ApiState {
    /// The sessions and their store.
    pub sessions: Sessions,
    /// Synthesis jobs.
    pub jobs: Jobs,
    /// Bearer token required on TCP on every route but `/v1/health`. Without one the
    /// daemon serves only its Unix socket; requests with neither a peer nor a token come
    /// from within the process (tests) and act as an operator.
    pub token: Option<Arc<str>>,
}

/// The peer of a Unix-socket connection, as the kernel gave it (`SO_PEERCRED`).
#[derive(Clone, Copy, Debug)]
pub struct UnixPeer(pub Option<Peer>);

impl Connected<IncomingStream<'_, tokio::net::UnixListener>> for UnixPeer {
    fn connect_info(stream: IncomingStream<'_, tokio::net::UnixListener>) -> Self {
        Self(stream.io().peer_cred().ok().map(|c| Peer { pid: c.pid(), uid: c.uid(), gid: c.gid() }))
    }
}

/// `POST /v1/sessions` body (the client sends this very type).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSession {
    /// Target PID.
    pub pid: u32,
    /// Functions to trace.
    pub functions: Vec<String>,
    /// Also probe every basic block: `GET /v1/traces/{id}/cfg` then has the control-flow
    /// graphs with hit counts.
    #[serde(default)]
    pub blocks: bool,
    /// Limits.
    #[serde(default)]
    pub limits: SessionLimits,
    /// `uretprobe` (default) or `insn`.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub ret_probes: Option<RetMode>,
    /// Patch nop5 trampolines so every function gets a cheap entry probe (`--fast-entry`);
    /// refused functions are probed the normal way and listed in the trace's warnings.
    #[serde(default)]
    pub fast_entry: bool,
    /// With `fast_entry`: run leaves through call-through trampolines, one probe per call
    /// (default `true`); `false` keeps an entry probe and a uretprobe on every function.
    #[serde(default = "yes")]
    pub call_through: bool,
    /// When the daemon exports traces (`--export`): send argument and return values with
    /// the calls too, of every function (`true`) or of the functions listed (none by
    /// default: they may be data that must not leave the host). Also spelt `export_args`.
    #[serde(default, alias = "export_args")]
    #[schema(value_type = serde_json::Value, example = json!(["price"]))]
    pub export_values: ExportValues,
    /// Bytes read at most behind each pointer-to-integers argument (default 4096, the
    /// most; 0 reads none).
    #[serde(default)]
    pub array_cap: Option<u32>,
    /// What the DWARF heuristics cannot know about pointer parameters, as `attach --arg`
    /// takes them: `NAME:len=PARAM`, `NAME:out`, `NAME:in`, `NAME:len=PARAM,out`.
    #[serde(default)]
    pub args: Vec<String>,
    /// Ring buffer size in MiB, a power of two up to 1024 (default 16); resident while the
    /// session runs, twice over (the kernel maps its pages twice).
    #[serde(default)]
    pub ring_mb: Option<u32>,
    /// Keep the probes' cost to the target within this percentage of its own CPU time
    /// (default: the daemon's `--max-overhead`; 0: record every call). Calls are then
    /// sampled in the kernel, and the probes removed part of the time when even their
    /// traps cost too much; the trace records the sampling in force.
    #[serde(default)]
    pub max_overhead: Option<f64>,
    /// Leave out calls shorter than this many µs, in the kernel where a function's entry
    /// reads only registers (held until its return shows the duration); not with `blocks`.
    #[serde(default)]
    pub min_duration_us: Option<f64>,
}

fn yes() -> bool {
    true
}

/// A session with live numbers.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionView {
    /// The stored record.
    #[serde(flatten)]
    pub session: SessionRecord,
    /// Events per second (0 once ended).
    pub events_per_sec: f64,
    /// Newest resource samples of the target, oldest first.
    #[schema(value_type = Vec<Object>)]
    pub resources: Vec<tracer_probe::procfs::ResourceSample>,
    /// What became of the export of its trace, once the session has ended and the daemon
    /// exports.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub export: Option<crate::export::ExportOutcome>,
}

/// One stored trace in `GET /v1/traces`.
#[derive(Debug, Serialize, ToSchema)]
pub struct TraceSummary {
    /// Trace (= session) id.
    pub id: u64,
    /// Target PID.
    pub pid: u32,
    /// Function names.
    pub functions: Vec<String>,
    /// Session state.
    pub state: SessionState,
    /// Calls stored.
    pub calls: usize,
}

/// Trace download format.
#[derive(Clone, Copy, Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TraceFormat {
    /// The trace schema as JSON.
    #[default]
    Json,
    /// The trace schema as bincode.
    Bincode,
    /// Chrome trace-event JSON.
    Chrome,
}

/// `GET /v1/traces/{id}` query.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct TraceQuery {
    /// `json` (default), `bincode` or `chrome`.
    #[serde(default)]
    #[param(value_type = Option<String>)]
    pub format: TraceFormat,
}

/// `GET /v1/traces/{id}/calls` query.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CallsQuery {
    /// Only calls of this function.
    pub function: Option<String>,
    /// Calls to skip.
    #[serde(default)]
    pub offset: usize,
    /// Page size (1 ..= 10000, default 100).
    pub limit: Option<usize>,
}

/// A page of calls.
#[derive(Debug, Serialize, ToSchema)]
pub struct CallsPage {
    /// Calls matching the filter.
    pub total: usize,
    /// Offset of this page.
    pub offset: usize,
    /// Page size asked for.
    pub limit: usize,
    /// Function names by index (`calls[i].function` indexes this).
    pub functions: Vec<String>,
    /// The calls, ordered by function, then by seq within each write of the store (a call
    /// that returned after calls that began later can come after them).
    #[schema(value_type = Vec<Object>)]
    pub calls: Vec<tracer_probe::trace::Call>,
    /// Block paths of the calls on this page (traces recorded with `blocks: true`;
    /// absent otherwise), in the same order; a call without one is left out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paths: Option<Vec<CallBlocks>>,
}

/// `GET /v1/traces/{id}/cfg` format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CfgFormat {
    /// [`Cfg`] as JSON.
    #[default]
    Json,
    /// Graphviz DOT, one digraph per function.
    Dot,
}

/// `GET /v1/traces/{id}/cfg` query.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CfgQuery {
    /// Only the graph of this function.
    pub function: Option<String>,
    /// `json` (default) or `dot`.
    #[serde(default)]
    #[param(value_type = Option<String>)]
    pub format: CfgFormat,
}

/// `GET /v1/health` body.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// Always `ok`.
    pub status: &'static str,
    /// tracesynth version.
    pub version: &'static str,
}

#[derive(OpenApi)]
#[openapi(
    info(title = "tracesynth daemon", description = "Tracing sessions over eBPF uprobes, and their stored traces."),
    paths(
        health,
        metrics,
        create_session,
        list_sessions,
        get_session,
        delete_session,
        list_traces,
        get_trace,
        get_calls,
        get_cfg,
        create_job,
        list_jobs,
        get_job,
        cancel_job
    ),
    components(schemas(
        SynthesizeRequest,
        Language,
        JobView,
        JobState,
        JobProgress,
        CreateSession,
        SessionView,
        SessionRecord,
        SessionLimits,
        SessionState,
        TraceSummary,
        CallsPage,
        Health,
        Cfg,
        FunctionCfg,
        BasicBlock,
        Branch,
        CfgEdge,
        CfgLoop,
        CountStats,
        CallBlocks,
        CallEdge
    ))
)]
struct ApiDoc;

/// The OpenAPI document of this API.
pub fn openapi() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// The routes over `state` (no socket: see [`serve`]).
pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/v1/health", get(health))
        .route("/metrics", get(metrics))
        .route("/v1/openapi.json", get(openapi_json))
        .route("/v1/sessions", get(list_sessions).post(create_session))
        .route("/v1/sessions/{id}", get(get_session).delete(delete_session))
        .route("/v1/traces", get(list_traces))
        .route("/v1/traces/{id}", get(get_trace))
        .route("/v1/traces/{id}/calls", get(get_calls))
        .route("/v1/traces/{id}/cfg", get(get_cfg))
        .route("/v1/synthesize", post(create_job))
        .route("/v1/jobs", get(list_jobs))
        .route("/v1/jobs/{id}", get(get_job).delete(cancel_job))
        .fallback(|| async { ApiError::not_found("no such route") })
        .method_not_allowed_fallback(|| async {
            ApiError::client(StatusCode::METHOD_NOT_ALLOWED, "method not allowed on this route")
        })
        .layer(middleware::from_fn_with_state(state.clone(), authorize))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}

/// Serves `router(state)` on `listener` until `shutdown` completes.
///
/// # Errors
/// I/O errors of the listener.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: ApiState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state)).with_graceful_shutdown(shutdown).await
}

/// Serves `router(state)` over TLS (`tls`, from [`tracer_export::tls::server_config`]) on
/// `listener` until `shutdown` completes; calls in flight then get a few seconds to end.
///
/// # Errors
/// I/O errors of the listener.
pub async fn serve_tls(
    listener: tokio::net::TcpListener,
    tls: Arc<rustls::ServerConfig>,
    state: ApiState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let handle = axum_server::Handle::new();
    let stopper = handle.clone();
    tokio::spawn(async move {
        shutdown.await;
        stopper.graceful_shutdown(Some(std::time::Duration::from_secs(5)));
    });
    let config = axum_server::tls_rustls::RustlsConfig::from_config(tls);
    axum_server::from_tcp_rustls(listener.into_std()?, config)?
        .handle(handle)
        .serve(router(state).into_make_service())
        .await
}

/// Serves `router(state)` on a Unix socket until `shutdown` completes; each request is
/// authorized by its peer's credentials.
///
/// # Errors
/// I/O errors of the listener.
pub async fn serve_unix(
    listener: tokio::net::UnixListener,
    state: ApiState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state).into_make_service_with_connect_info::<UnixPeer>())
        .with_graceful_shutdown(shutdown)
        .await
}

/// Whether `addr` is a loopback address.
pub fn is_loopback(addr: &SocketAddr) -> bool {
    addr.ip().is_loopback()
}

/// Finds out who the caller is and hands it to the handlers as a [`Caller`] extension.
async fn authorize(State(state): State<ApiState>, mut request: Request, next: Next) -> Response {
    if request.uri().path() == "/v1/health" {
        return next.run(request).await;
    }
    let caller = match request.extensions().get::<ConnectInfo<UnixPeer>>().map(|c| c.0 .0) {
        Some(Some(peer)) => Caller::from_peer(peer),
        Some(None) => {
            return ApiError::client(StatusCode::FORBIDDEN, "the kernel did not say who is calling (SO_PEERCRED)")
                .into_response()
        }
        None => match &state.token {
            None => Caller::Operator,
            Some(token) => {
                let given = request
                    .headers()
                    .get(header::AUTHORIZATION)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.strip_prefix("Bearer "));
                match given {
                    Some(g) if constant_time_eq(g.as_bytes(), token.as_bytes()) => Caller::Operator,
                    Some(_) => return ApiError::client(StatusCode::UNAUTHORIZED, "wrong bearer token").into_response(),
                    None => {
                        return ApiError::client(StatusCode::UNAUTHORIZED, "missing `Authorization: Bearer` token")
                            .into_response()
                    }
                }
            }
        },
    };
    request.extensions_mut().insert(caller);
    next.run(request).await
}

/// The session `id` if `caller` may see it: 404 when there is none, 403 when it is
/// another user's; `what` names it in the messages (`session`, `trace`).
fn visible_session(
    store: &crate::store::Store,
    caller: &Caller,
    id: u64,
    what: &str,
) -> Result<SessionRecord, ApiError> {
    let record = store.get_session(id)?.ok_or_else(|| ApiError::not_found(format!("no {what} {id}")))?;
    if caller.may_see(record.owner_uid) {
        Ok(record)
    } else {
        Err(ApiError::client(StatusCode::FORBIDDEN, format!("{what} {id} belongs to another user")))
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T, ApiError> + Send + 'static) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| ApiError::Internal(format!("task failed: {e}")))?
}

/// Liveness; needs no token.
#[utoipa::path(get, path = "/v1/health", responses((status = 200, body = Health)))]
async fn health() -> Json<Health> {
    Json(Health { status: "ok", version: env!("CARGO_PKG_VERSION") })
}

/// Prometheus metrics: sessions by state, events/s, dropped, store size, exports.
#[utoipa::path(get, path = "/metrics", responses((status = 200, body = String, content_type = "text/plain")))]
async fn metrics(State(state): State<ApiState>) -> Result<Response, ApiError> {
    let sessions = state.sessions.clone();
    let text = blocking(move || {
        let records = sessions.store().sessions()?;
        let mut out = String::new();
        out.push_str("# HELP tracesynth_sessions Sessions by state.\n# TYPE tracesynth_sessions gauge\n");
        for s in [
            SessionState::Running,
            SessionState::Detached,
            SessionState::TargetExited,
            SessionState::CallLimit,
            SessionState::Duration,
            SessionState::DaemonStopped,
            SessionState::Failed,
        ] {
            let n = records.iter().filter(|r| r.state == s).count();
            let name = serde_json::to_value(s).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
            out.push_str(&format!("tracesynth_sessions{{state=\"{name}\"}} {n}\n"));
        }
        let dropped: u64 = records.iter().map(|r| r.loss.dropped).sum();
        let received: u64 = records.iter().map(|r| r.loss.received).sum();
        let calls: u64 = records.iter().flat_map(|r| &r.calls_per_function).sum();
        out.push_str(&format!(
            "# HELP tracesynth_events_per_second Events per second over running sessions.\n\
             # TYPE tracesynth_events_per_second gauge\ntracesynth_events_per_second {}\n\
             # HELP tracesynth_events_received_total Events read from the ring buffers.\n\
             # TYPE tracesynth_events_received_total counter\ntracesynth_events_received_total {received}\n\
             # HELP tracesynth_events_dropped_total Events dropped because a ring buffer was full.\n\
             # TYPE tracesynth_events_dropped_total counter\ntracesynth_events_dropped_total {dropped}\n\
             # HELP tracesynth_calls_total Completed calls.\n\
             # TYPE tracesynth_calls_total counter\ntracesynth_calls_total {calls}\n\
             # HELP tracesynth_store_bytes Size of the trace store on disk.\n\
             # TYPE tracesynth_store_bytes gauge\ntracesynth_store_bytes {}\n",
            sessions.events_per_sec(),
            sessions.store().size_on_disk()
        ));
        let (spans, failed) = sessions.exports().totals();
        let pending = sessions.store().export_pending()?.len();
        let (calls, spooled) = sessions.exports().call_counts(sessions.store())?;
        out.push_str(&format!(
            "# HELP tracesynth_export_calls_produced_total Calls handed to export since the daemon started \
             (= exported + spooled + dropped).\n\
             # TYPE tracesynth_export_calls_produced_total counter\ntracesynth_export_calls_produced_total {}\n\
             # HELP tracesynth_export_calls_exported_total Calls every receiver took.\n\
             # TYPE tracesynth_export_calls_exported_total counter\ntracesynth_export_calls_exported_total {}\n\
             # HELP tracesynth_export_calls_spooled Calls waiting in the store for a receiver.\n\
             # TYPE tracesynth_export_calls_spooled gauge\ntracesynth_export_calls_spooled {spooled}\n\
             # HELP tracesynth_export_calls_dropped_total Calls given up for export at --export-spool-calls \
             (their traces stay in the store).\n\
             # TYPE tracesynth_export_calls_dropped_total counter\ntracesynth_export_calls_dropped_total {}\n",
            calls.produced, calls.exported, calls.dropped
        ));
        out.push_str(&format!(
            "# HELP tracesynth_exported_spans_total Spans OTLP receivers accepted since the daemon started.\n\
             # TYPE tracesynth_exported_spans_total counter\ntracesynth_exported_spans_total {spans}\n\
             # HELP tracesynth_export_failed_attempts_total Exports a receiver refused or missed since the daemon started.\n\
             # TYPE tracesynth_export_failed_attempts_total counter\ntracesynth_export_failed_attempts_total {failed}\n\
             # HELP tracesynth_export_pending_sessions Sessions whose trace waits in the store for a receiver.\n\
             # TYPE tracesynth_export_pending_sessions gauge\ntracesynth_export_pending_sessions {pending}\n"
        ));
        Ok(out)
    })
    .await?;
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response())
}

async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(openapi())
}

/// Attaches to a process and starts a session.
#[utoipa::path(post, path = "/v1/sessions", request_body = CreateSession, responses(
    (status = 201, body = SessionView),
    (status = 400, description = "malformed or invalid request"),
    (status = 403, description = "the caller may not ptrace this process"),
    (status = 404, description = "no such PID or function"),
))]
async fn create_session(
    State(state): State<ApiState>,
    Extension(caller): Extension<Caller>,
    body: Result<Json<CreateSession>, JsonRejection>,
) -> Result<(StatusCode, Json<SessionView>), ApiError> {
    let Json(body) = body?;
    let request = SessionRequest {
        pid: body.pid,
        functions: body.functions,
        blocks: body.blocks,
        limits: body.limits,
        ret_mode: body.ret_probes.unwrap_or_default(),
        fast_entry: body.fast_entry,
        call_through: body.call_through,
        owner_uid: caller.uid(),
        export_values: body.export_values,
        array_cap: body.array_cap,
        args: body.args,
        ring_mb: body.ring_mb,
        max_overhead: body.max_overhead,
        min_duration_us: body.min_duration_us,
    };
    request.validate()?;
    let sessions = state.sessions.clone();
    let session = blocking(move || {
        if let Caller::User(peer) = caller {
            caller::may_ptrace(peer, request.pid).map_err(|e| match e {
                TraceRefused::Denied { .. } => ApiError::client(StatusCode::FORBIDDEN, e.to_string()),
                TraceRefused::Check { .. } => ApiError::Internal(e.to_string()),
            })?;
        }
        Ok(sessions.attach(&request)?)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(SessionView { session, events_per_sec: 0.0, resources: Vec::new(), export: None })))
}

/// All sessions, by id.
#[utoipa::path(get, path = "/v1/sessions", responses((status = 200, body = Vec<SessionRecord>)))]
async fn list_sessions(
    State(state): State<ApiState>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<Vec<SessionRecord>>, ApiError> {
    let sessions = state.sessions.clone();
    let mut list = blocking(move || Ok(sessions.store().sessions()?)).await?;
    list.retain(|s| caller.may_see(s.owner_uid));
    Ok(Json(list))
}

/// One session: state, calls per function, loss counters, newest resource samples.
#[utoipa::path(get, path = "/v1/sessions/{id}", params(("id" = u64, Path, description = "session id")),
    responses((status = 200, body = SessionView), (status = 404, description = "unknown id")))]
async fn get_session(
    State(state): State<ApiState>,
    Extension(caller): Extension<Caller>,
    id: Result<Path<u64>, PathRejection>,
) -> Result<Json<SessionView>, ApiError> {
    let Path(id) = id?;
    let sessions = state.sessions.clone();
    let found = blocking(move || {
        visible_session(sessions.store(), &caller, id, "session")?;
        Ok(sessions.get(id)?.map(|s| (s, sessions.exports().outcome(id))))
    })
    .await?;
    let ((session, live), export) = found.ok_or_else(|| ApiError::not_found(format!("no session {id}")))?;
    Ok(Json(SessionView { session, events_per_sec: live.events_per_sec, resources: live.resources.into(), export }))
}

/// Detaches a session; its trace stays.
#[utoipa::path(delete, path = "/v1/sessions/{id}", params(("id" = u64, Path, description = "session id")),
    responses((status = 200, body = SessionRecord), (status = 404, description = "unknown id")))]
async fn delete_session(
    State(state): State<ApiState>,
    Extension(caller): Extension<Caller>,
    id: Result<Path<u64>, PathRejection>,
) -> Result<Json<SessionRecord>, ApiError> {
    let Path(id) = id?;
    let sessions = state.sessions.clone();
    let found = blocking(move || {
        visible_session(sessions.store(), &caller, id, "session")?;
        Ok(sessions.detach(id)?)
    })
    .await?;
    Ok(Json(found.ok_or_else(|| ApiError::not_found(format!("no session {id}")))?))
}

/// Stored traces.
#[utoipa::path(get, path = "/v1/traces", responses((status = 200, body = Vec<TraceSummary>)))]
async fn list_traces(
    State(state): State<ApiState>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<Vec<TraceSummary>>, ApiError> {
    let sessions = state.sessions.clone();
    let list = blocking(move || {
        let store = sessions.store();
        let mut out = Vec::new();
        for id in store.trace_ids()? {
            let Some(s) = store.get_session(id)?.filter(|s| caller.may_see(s.owner_uid)) else { continue };
            out.push(TraceSummary {
                id,
                pid: s.pid,
                functions: s.functions,
                state: s.state,
                calls: store.count_calls(id, None),
            });
        }
        Ok(out)
    })
    .await?;
    Ok(Json(list))
}

/// A whole trace (calls in entry order) as JSON, bincode or Chrome trace events.
#[utoipa::path(get, path = "/v1/traces/{id}", params(("id" = u64, Path, description = "trace id"), TraceQuery),
    responses((status = 200, description = "the trace"), (status = 404, description = "unknown id")))]
async fn get_trace(
    State(state): State<ApiState>,
    Extension(caller): Extension<Caller>,
    id: Result<Path<u64>, PathRejection>,
    query: Result<Query<TraceQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Path(id) = id?;
    let Query(query) = query?;
    let sessions = state.sessions.clone();
    let trace = blocking(move || {
        visible_session(sessions.store(), &caller, id, "trace")?;
        Ok(sessions.store().trace(id)?)
    })
    .await?;
    let trace = trace.ok_or_else(|| ApiError::not_found(format!("no trace {id}")))?;
    let (content_type, bytes) = match query.format {
        TraceFormat::Json => ("application/json", serde_json::to_vec(&trace).expect("trace serializes")),
        TraceFormat::Bincode => ("application/octet-stream", trace.to_bytes(Encoding::Bincode)),
        TraceFormat::Chrome => (
            "application/json",
            serde_json::to_vec(&tracer_probe::chrome::to_chrome(&trace)).expect("chrome trace serializes"),
        ),
    };
    Ok(([(header::CONTENT_TYPE, content_type)], Body::from(bytes)).into_response())
}

/// A page of a trace's calls, optionally of one function.
#[utoipa::path(get, path = "/v1/traces/{id}/calls", params(("id" = u64, Path, description = "trace id"), CallsQuery),
    responses((status = 200, body = CallsPage), (status = 404, description = "unknown id or function")))]
async fn get_calls(
    State(state): State<ApiState>,
    Extension(caller): Extension<Caller>,
    id: Result<Path<u64>, PathRejection>,
    query: Result<Query<CallsQuery>, QueryRejection>,
) -> Result<Json<CallsPage>, ApiError> {
    let Path(id) = id?;
    let Query(query) = query?;
    let limit = query.limit.unwrap_or(100);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::bad_request(format!("limit must be in 1..={MAX_PAGE}, got {limit}")));
    }
    let sessions = state.sessions.clone();
    blocking(move || {
        let store = sessions.store();
        let session = visible_session(store, &caller, id, "trace")?;
        let function = match &query.function {
            Some(name) => Some(session.functions.iter().position(|f| f == name).ok_or_else(|| {
                ApiError::not_found(format!(
                    "trace {id} has no function `{name}` (it has: {})",
                    session.functions.join(", ")
                ))
            })? as u32),
            None => None,
        };
        let calls = store.calls(id, function, query.offset, limit)?;
        let paths = if store.has_cfg(id)? {
            let mut paths = Vec::new();
            for c in &calls {
                paths.extend(store.call_blocks(id, c.function, c.seq)?);
            }
            Some(paths)
        } else {
            None
        };
        Ok(Json(CallsPage {
            total: store.count_calls(id, function),
            offset: query.offset,
            limit,
            functions: session.functions,
            calls,
            paths,
        }))
    })
    .await
}

/// The control-flow graphs of a trace recorded with `blocks: true`: blocks with hits and
/// source lines, edges with counts, branch taken ratios, loops with per-call iteration
/// counts; as JSON or Graphviz DOT.
#[utoipa::path(get, path = "/v1/traces/{id}/cfg", params(("id" = u64, Path, description = "trace id"), CfgQuery),
    responses((status = 200, body = Cfg, description = "JSON, or text/vnd.graphviz with format=dot"),
        (status = 400, description = "bad query"),
        (status = 404, description = "unknown id or function, or recorded without blocks")))]
async fn get_cfg(
    State(state): State<ApiState>,
    Extension(caller): Extension<Caller>,
    id: Result<Path<u64>, PathRejection>,
    query: Result<Query<CfgQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Path(id) = id?;
    let Query(query) = query?;
    let sessions = state.sessions.clone();
    let mut cfg = blocking(move || {
        let store = sessions.store();
        visible_session(store, &caller, id, "trace")?;
        store.cfg(id)?.ok_or_else(|| {
            ApiError::not_found(format!("trace {id} was recorded without block probes (attach with \"blocks\": true)"))
        })
    })
    .await?;
    if let Some(name) = &query.function {
        let Some(f) = cfg.function(name).cloned() else {
            let names: Vec<&str> = cfg.functions.iter().map(|f| f.function.as_str()).collect();
            return Err(ApiError::not_found(format!(
                "trace {id} has no function `{name}` (it has: {})",
                names.join(", ")
            )));
        };
        cfg.functions = vec![f];
    }
    Ok(match query.format {
        CfgFormat::Json => Json(cfg).into_response(),
        CfgFormat::Dot => ([(header::CONTENT_TYPE, "text/vnd.graphviz; charset=utf-8")], cfg.to_dot()).into_response(),
    })
}

/// Starts a synthesis job on a session's or trace's calls of one function.
#[utoipa::path(post, path = "/v1/synthesize", request_body = SynthesizeRequest, responses(
    (status = 202, body = JobView),
    (status = 400, description = "malformed or invalid request"),
    (status = 404, description = "unknown session/trace, or the function is not in it"),
    (status = 422, description = "the calls do not make a specification: never called, not pure, unsupported types"),
    (status = 429, description = "too many jobs queued or running"),
))]
async fn create_job(
    State(state): State<ApiState>,
    Extension(caller): Extension<Caller>,
    body: Result<Json<SynthesizeRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<JobView>), ApiError> {
    let Json(body) = body?;
    let (sessions, jobs) = (state.sessions.clone(), state.jobs.clone());
    let view = blocking(move || {
        if let Some(id) = body.session_id.or(body.trace_id) {
            visible_session(sessions.store(), &caller, id, "trace")?;
        }
        Ok(jobs.start(sessions.store(), &body)?)
    })
    .await?;
    Ok((StatusCode::ACCEPTED, Json(view)))
}

/// All synthesis jobs (without their results).
#[utoipa::path(get, path = "/v1/jobs", responses((status = 200, body = Vec<JobView>)))]
async fn list_jobs(
    State(state): State<ApiState>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<Vec<JobView>>, ApiError> {
    let sessions = state.sessions.clone();
    let mut list = state.jobs.list();
    if caller != Caller::Operator {
        list = blocking(move || {
            let store = sessions.store();
            Ok(list.into_iter().filter(|j| visible_session(store, &caller, j.trace_id, "trace").is_ok()).collect())
        })
        .await?;
    }
    Ok(Json(list))
}

/// Job `id` if `caller` may see it (the job's trace decides).
async fn visible_job(state: &ApiState, caller: Caller, id: u64) -> Result<JobView, ApiError> {
    let view = state.jobs.get(id).ok_or_else(|| ApiError::not_found(format!("no job {id}")))?;
    if caller != Caller::Operator {
        let (sessions, trace_id) = (state.sessions.clone(), view.trace_id);
        blocking(move || visible_session(sessions.store(), &caller, trace_id, "trace").map(drop))
            .await
            .map_err(|_| ApiError::client(StatusCode::FORBIDDEN, format!("job {id} belongs to another user")))?;
    }
    Ok(view)
}

/// A synthesis job: live progress, then code, tests, verification report and reward history.
#[utoipa::path(get, path = "/v1/jobs/{id}", params(("id" = u64, Path, description = "job id")),
    responses((status = 200, body = JobView), (status = 404, description = "unknown id")))]
async fn get_job(
    State(state): State<ApiState>,
    Extension(caller): Extension<Caller>,
    id: Result<Path<u64>, PathRejection>,
) -> Result<Json<JobView>, ApiError> {
    let Path(id) = id?;
    visible_job(&state, caller, id).await.map(Json)
}

/// Cancels a queued or running synthesis job.
#[utoipa::path(delete, path = "/v1/jobs/{id}", params(("id" = u64, Path, description = "job id")),
    responses((status = 200, body = JobView), (status = 404, description = "unknown id")))]
async fn cancel_job(
    State(state): State<ApiState>,
    Extension(caller): Extension<Caller>,
    id: Result<Path<u64>, PathRejection>,
) -> Result<Json<JobView>, ApiError> {
    let Path(id) = id?;
    visible_job(&state, caller, id).await?;
    state.jobs.cancel(id).map(Json).ok_or_else(|| ApiError::not_found(format!("no job {id}")))
}

#[cfg(test)]
mod tests;
