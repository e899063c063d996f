//! [`ApiError`]: every failure of a request, as a JSON `{"error": "..."}` response.
use axum::{
    extract::rejection::{JsonRejection, PathRejection, QueryRejection},
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};

use crate::{daemon::DaemonError, jobs::JobError, store::StoreError};
use carving::spec::SpecError;
use tracer_probe::{
    probes::{loader::LoadError, PlanError},
    procfs::ProcError,
    record::RecordError,
};

/// A failed request. 4xx carry a message for the client; 5xx a generic body, with the
/// cause logged.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// 400 and friends: the request is wrong (the status and message say how).
    #[error("{message}")]
    Client {
        /// 4xx status.
        status: StatusCode,
        /// Message for the client.
        message: String,
    },
    /// 500: something broke inside the daemon.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// A 4xx error.
    pub fn client(status: StatusCode, message: impl Into<String>) -> Self {
        Self::Client { status, message: message.into() }
    }

    /// 400 Bad Request.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::client(StatusCode::BAD_REQUEST, message)
    }

    /// 404 Not Found.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::client(StatusCode::NOT_FOUND, message)
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Client { status, .. } => *status,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let message = match &self {
            Self::Client { message, .. } => message.clone(),
            Self::Internal(cause) => {
                tracing::error!(%cause, "internal error");
                "internal error; see the daemon's log".to_string()
            }
        };
        (self.status(), Json(serde_json::json!({ "error": message }))).into_response()
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        Self::client(r.status(), r.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        Self::client(StatusCode::BAD_REQUEST, r.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        Self::client(StatusCode::BAD_REQUEST, r.body_text())
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        Self::Internal(e.to_string())
    }
}

impl From<JobError> for ApiError {
    fn from(e: JobError) -> Self {
        let message = e.to_string();
        match e {
            JobError::Invalid(_) => Self::bad_request(message),
            JobError::UnknownTrace(_) | JobError::Spec(SpecError::UnknownFunction(_)) => Self::not_found(message),
            JobError::Spec(_) => Self::client(StatusCode::UNPROCESSABLE_ENTITY, message),
            JobError::Store(e) => Self::from(e),
            JobError::Busy(_) => Self::client(StatusCode::TOO_MANY_REQUESTS, message),
            JobError::Spawn(_) => Self::Internal(message),
        }
    }
}

impl From<DaemonError> for ApiError {
    fn from(e: DaemonError) -> Self {
        let message = e.to_string();
        match e {
            DaemonError::Invalid(_) => Self::bad_request(message),
            DaemonError::OwnPid(_) | DaemonError::Lacks { .. } => Self::client(StatusCode::FORBIDDEN, message),
            DaemonError::Plan(PlanError::Proc(ProcError::NoSuchProcess { .. }))
            | DaemonError::Plan(PlanError::FunctionNotFound { .. }) => Self::not_found(message),
            DaemonError::Plan(PlanError::Proc(_)) => Self::client(StatusCode::FORBIDDEN, message),
            DaemonError::Plan(_) => Self::client(StatusCode::UNPROCESSABLE_ENTITY, message),
            DaemonError::Record(RecordError::Load(LoadError::NotPermitted { .. })) => {
                Self::client(StatusCode::FORBIDDEN, message)
            }
            DaemonError::FastEntry(tracer_patch::fastentry::FastEntryError::AlreadyPatched { .. }) => {
                Self::client(StatusCode::CONFLICT, message)
            }
            DaemonError::FastEntry(_) => Self::client(StatusCode::UNPROCESSABLE_ENTITY, message),
            DaemonError::Record(RecordError::Load(LoadError::Patched(_))) => {
                Self::client(StatusCode::CONFLICT, message)
            }
            DaemonError::Record(RecordError::Load(LoadError::TooManyProbes(_))) => {
                Self::client(StatusCode::UNPROCESSABLE_ENTITY, message)
            }
            _ => Self::Internal(message),
        }
    }
}
