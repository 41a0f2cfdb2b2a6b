//! The hub's error: an HTTP status, a stable machine-readable code and a reason a
//! person can read, always sent as JSON ([`ErrorBody`]). Nothing a client sends can
//! make the hub panic; the worst it gets is one of these.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use testigo_core::sync::protocol::ErrorBody;

#[derive(Debug, thiserror::Error)]
#[error("{status} {code}: {reason}")]
pub struct HubError {
    pub status: StatusCode,
    pub code: &'static str,
    pub reason: String,
}

pub type HubResult<T> = std::result::Result<T, HubError>;

impl HubError {
    pub fn new(status: StatusCode, code: &'static str, reason: impl Into<String>) -> Self {
        Self {
            status,
            code,
            reason: reason.into(),
        }
    }

    pub fn bad_request(reason: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", reason)
    }

    pub fn unauthenticated(reason: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthenticated", reason)
    }

    pub fn forbidden(reason: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", reason)
    }

    /// Also what a device gets for an incident it may not see, so that guessing ids
    /// tells it nothing about which exist.
    pub fn not_found(reason: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", reason)
    }

    /// The request contradicts what the hub holds (a checklist version imported
    /// before with other content).
    pub fn conflict(reason: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", reason)
    }

    /// A request past the size limits of one request (413).
    pub fn too_large(reason: impl Into<String>) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", reason)
    }

    pub fn internal(reason: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", reason)
    }
}

impl From<rusqlite::Error> for HubError {
    fn from(e: rusqlite::Error) -> Self {
        tracing::error!(error = %e, "hub database");
        Self::internal("the hub's database failed; nothing was changed")
    }
}

impl From<testigo_core::sqlite::SqliteError> for HubError {
    fn from(e: testigo_core::sqlite::SqliteError) -> Self {
        match e {
            testigo_core::sqlite::SqliteError::Sqlite(e) => e.into(),
            other => {
                tracing::error!(error = %other, "hub database");
                Self::internal(other.to_string())
            }
        }
    }
}

impl From<testigo_core::Error> for HubError {
    fn from(e: testigo_core::Error) -> Self {
        use testigo_core::Error as E;
        match e {
            E::InvalidInput { .. } | E::InvalidTemplate(_) => Self::bad_request(e.to_string()),
            E::NotFound { .. } => Self::not_found(e.to_string()),
            E::NotPermitted { .. } => Self::forbidden(e.to_string()),
            other => {
                tracing::error!(error = %other, "hub core error");
                Self::internal(other.to_string())
            }
        }
    }
}

impl IntoResponse for HubError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(ErrorBody {
                error: self.code.to_owned(),
                reason: self.reason,
            }),
        )
            .into_response()
    }
}
