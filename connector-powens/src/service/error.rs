//! What a service call can fail with, and the HTTP status each failure stands for.

use connector_core::engine::EngineError;
use connector_core::sink::SinkError;
use connector_core::state::StateError;
use connector_core::ConnectorError;

/// Why a [`super::Service`] call failed. Every variant carries an actionable message and never
/// a secret (tokens, webhook secrets, Webview codes).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServiceError {
    /// No PSU (or link attempt) has this id.
    #[error("{what} {id:?} not found")]
    NotFound {
        /// What was looked up: `PSU`, `link attempt`, `connection`.
        what: &'static str,
        /// The id asked for.
        id: String,
    },
    /// The request is malformed (bad id, bad URL, bad callback).
    #[error("bad request: {message}")]
    BadRequest {
        /// What is wrong and what is expected.
        message: String,
    },
    /// The request conflicts with what exists (a PSU id already taken).
    #[error("conflict: {message}")]
    Conflict {
        /// What conflicts.
        message: String,
    },
    /// Powens refused or failed the call.
    #[error("Powens call failed: {0}")]
    Upstream(#[source] ConnectorError),
    /// The state store failed; nothing was changed.
    #[error("state store failed: {0}")]
    State(#[from] StateError),
    /// The sink refused records; their state was not committed.
    #[error("sink failed: {0}")]
    Sink(#[from] SinkError),
}

impl ServiceError {
    /// The HTTP status a front end answers with: 404 unknown id, 400 bad request, 409
    /// conflict, 502 Powens failed (503 when it asked to retry later), 500 store or sink.
    ///
    /// ```
    /// use connector_powens::service::ServiceError;
    /// let e = ServiceError::NotFound { what: "PSU", id: "bob".into() };
    /// assert_eq!(e.http_status(), 404);
    /// ```
    pub fn http_status(&self) -> u16 {
        match self {
            ServiceError::NotFound { .. } => 404,
            ServiceError::BadRequest { .. } => 400,
            ServiceError::Conflict { .. } => 409,
            ServiceError::Upstream(ConnectorError::InvalidRequest { .. })
            | ServiceError::Upstream(ConnectorError::Validation { .. }) => 400,
            ServiceError::Upstream(
                ConnectorError::UpstreamRateLimited { .. }
                | ConnectorError::UpstreamRetryAfter { .. }
                | ConnectorError::UpstreamTimeout { .. },
            ) => 503,
            ServiceError::Upstream(_) => 502,
            ServiceError::State(_) | ServiceError::Sink(_) => 500,
        }
    }

    /// A short machine-readable code for JSON error bodies, e.g. `not_found`.
    pub fn code(&self) -> &'static str {
        match self.http_status() {
            404 => "not_found",
            400 => "bad_request",
            409 => "conflict",
            502 | 503 => "upstream",
            _ => "internal",
        }
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        ServiceError::BadRequest {
            message: message.into(),
        }
    }
}

impl From<EngineError> for ServiceError {
    fn from(error: EngineError) -> Self {
        match error {
            EngineError::Sink(e) => ServiceError::Sink(e),
            EngineError::State(e) => ServiceError::State(e),
            EngineError::Connector(e) => ServiceError::Upstream(e),
            EngineError::Cancelled => ServiceError::Upstream(ConnectorError::Other {
                message: "the service is shutting down".into(),
                source: None,
            }),
            other => ServiceError::Upstream(ConnectorError::Other {
                message: other.to_string(),
                source: None,
            }),
        }
    }
}
