//! [`ConnectorError`]: the one error type of the contract, classified for retries as in
//! Formance's error table.

use std::time::Duration;

use crate::model::Capability;

/// How the engine treats an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryClass {
    /// Retry with backoff (timeouts, 5xx, transport, not-yet-installed, anything unknown).
    Retryable,
    /// Retry after the given delay, or after backoff when none is known (429, 423, 425).
    RetryAfter(Option<Duration>),
    /// May succeed later, but the provider's client already retried it within its own budget
    /// (HTTP retries belong to the client): the engine does not retry the task in this run;
    /// the next run resumes it from its committed state.
    NextRun,
    /// Do not retry: the same call will fail the same way.
    Permanent,
}

/// How a provider's client classed a failed call, kept by [`ConnectorError::Upstream`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum UpstreamClass {
    /// The same call fails the same way (a refused request, an answer that does not match its
    /// type, an answer too large). The engine does not retry it.
    Permanent,
    /// May succeed later (no answer, a timeout, a 5xx); the client already retried it within
    /// its budget. The engine does not retry it in this run ([`RetryClass::NextRun`]).
    Transient,
    /// The provider throttled the call (429); the client already retried it within its
    /// budget, honouring `Retry-After`. The engine does not retry it in this run
    /// ([`RetryClass::NextRun`]).
    RateLimited,
    /// The answer's body was cut after its status (a reset or a truncated body): the client
    /// could not retry it, as its caller had consumed part of it. The engine retries the task
    /// from its committed state ([`RetryClass::Retryable`]).
    Interrupted,
}

/// Boxed error cause kept in the `source()` chain.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything a connector call can fail with.
///
/// Messages never contain secrets: build them from ids and provider error codes only.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectorError {
    /// The connector configuration is invalid. Permanent.
    #[error("invalid config: {message}")]
    InvalidConfig {
        /// What is wrong and what was expected.
        message: String,
    },
    /// A request to the connector lacks something it needs. Permanent.
    #[error("invalid request: {message}")]
    InvalidRequest {
        /// What is wrong.
        message: String,
    },
    /// A record or field failed validation. Permanent.
    #[error("validation error on {field}: {message}")]
    Validation {
        /// The field (or JSON path) at fault.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// An inbound webhook failed verification (signature, date, headers). Permanent.
    #[error("webhook verification failed: {message}")]
    WebhookVerification {
        /// Why, without the secret or the expected signature.
        message: String,
    },
    /// The connector does not offer this capability or operation. Permanent.
    #[error("not supported by this connector: {operation}")]
    NotSupported {
        /// The missing capability, when the operation maps to one.
        capability: Option<Capability>,
        /// The operation that was asked for, e.g. `fetch_payments` or `create_transfer`.
        operation: &'static str,
    },
    /// The connector is not installed yet. Retryable.
    #[error("connector not yet installed")]
    NotYetInstalled,
    /// A currency has no known precision. Permanent (connectors should skip such records).
    #[error("currency not supported: {currency}")]
    CurrencyNotSupported {
        /// The currency code.
        currency: String,
    },
    /// The provider throttled us (HTTP 429).
    #[error("rate limited by the provider{}", retry_hint(*retry_after))]
    UpstreamRateLimited {
        /// The provider's `Retry-After`, when given.
        retry_after: Option<Duration>,
    },
    /// The provider timed out (HTTP 408, 421, or a transport timeout). Retryable.
    #[error("provider timeout: {message}")]
    UpstreamTimeout {
        /// What timed out.
        message: String,
    },
    /// The provider asked us to come back later (HTTP 423, 425).
    #[error("provider asked to retry later (HTTP {status}){}", retry_hint(*retry_after))]
    UpstreamRetryAfter {
        /// The HTTP status.
        status: u16,
        /// The provider's `Retry-After`, when given.
        retry_after: Option<Duration>,
    },
    /// The provider refused the request (other HTTP 4xx). Permanent.
    #[error("provider refused the request (HTTP {status}): {message}")]
    UpstreamClient {
        /// The HTTP status.
        status: u16,
        /// The provider's error code and message.
        message: String,
    },
    /// The provider failed (HTTP 5xx). Retryable.
    #[error("provider error (HTTP {status}): {message}")]
    UpstreamServer {
        /// The HTTP status.
        status: u16,
        /// The provider's error code and message, or a short excerpt of the body.
        message: String,
    },
    /// A call to the provider failed, classed by the provider's client, its error kept as the
    /// source (downcast it to the provider crate's error for its code, request id or JSON
    /// path). The engine retries only [`UpstreamClass::Interrupted`] (see
    /// [`ConnectorError::retry_class`]).
    ///
    /// ```
    /// use std::error::Error as _;
    /// use connector_core::{ConnectorError, RetryClass, UpstreamClass};
    ///
    /// let error = ConnectorError::Upstream {
    ///     status: Some(503),
    ///     class: UpstreamClass::Transient,
    ///     retry_after: None,
    ///     source: "GET /accounts: HTTP 503".into(),
    /// };
    /// assert_eq!(error.retry_class(), RetryClass::NextRun);
    /// assert!(error.is_retryable());
    /// assert_eq!(error.source().map(|s| s.to_string()).as_deref(), Some("GET /accounts: HTTP 503"));
    /// ```
    #[error("provider call failed: {source}")]
    Upstream {
        /// The HTTP status, when the provider answered with an unsuccessful one.
        status: Option<u16>,
        /// How the provider's client classed the failure.
        class: UpstreamClass,
        /// The provider's `Retry-After`, when it throttled the call.
        retry_after: Option<Duration>,
        /// The provider client's error.
        #[source]
        source: BoxError,
    },
    /// Anything else, with its cause. Retryable, as in Formance (`DEFAULT`).
    #[error("{message}")]
    Other {
        /// What failed.
        message: String,
        /// The cause.
        #[source]
        source: Option<BoxError>,
    },
}

fn retry_hint(retry_after: Option<Duration>) -> String {
    match retry_after {
        Some(d) => format!(", retry after {}s", d.as_secs()),
        None => String::new(),
    }
}

impl ConnectorError {
    /// A [`ConnectorError::NotSupported`] for a capability's operation.
    pub fn not_supported(capability: Option<Capability>, operation: &'static str) -> Self {
        ConnectorError::NotSupported {
            capability,
            operation,
        }
    }

    /// A [`ConnectorError::Other`] wrapping a cause.
    pub fn other(message: impl Into<String>, source: impl Into<BoxError>) -> Self {
        ConnectorError::Other {
            message: message.into(),
            source: Some(source.into()),
        }
    }

    /// The error for an HTTP response status, mirroring Formance's `httpwrapper`:
    /// 408/421 timeout, 423/425 retry-after, 429 rate-limited, other 4xx client (permanent),
    /// 5xx server (retryable). Any other status becomes [`ConnectorError::Other`].
    pub fn from_http_status(
        status: u16,
        message: impl Into<String>,
        retry_after: Option<Duration>,
    ) -> Self {
        let message = message.into();
        match status {
            408 | 421 => ConnectorError::UpstreamTimeout {
                message: format!("HTTP {status}: {message}"),
            },
            423 | 425 => ConnectorError::UpstreamRetryAfter {
                status,
                retry_after,
            },
            429 => ConnectorError::UpstreamRateLimited { retry_after },
            400..=499 => ConnectorError::UpstreamClient { status, message },
            500..=599 => ConnectorError::UpstreamServer { status, message },
            _ => ConnectorError::Other {
                message: format!("unexpected HTTP status {status}: {message}"),
                source: None,
            },
        }
    }

    /// How the engine should treat this error.
    pub fn retry_class(&self) -> RetryClass {
        match self {
            ConnectorError::InvalidConfig { .. }
            | ConnectorError::InvalidRequest { .. }
            | ConnectorError::Validation { .. }
            | ConnectorError::WebhookVerification { .. }
            | ConnectorError::NotSupported { .. }
            | ConnectorError::CurrencyNotSupported { .. }
            | ConnectorError::UpstreamClient { .. } => RetryClass::Permanent,
            ConnectorError::UpstreamRateLimited { retry_after }
            | ConnectorError::UpstreamRetryAfter { retry_after, .. } => {
                RetryClass::RetryAfter(*retry_after)
            }
            ConnectorError::NotYetInstalled
            | ConnectorError::UpstreamTimeout { .. }
            | ConnectorError::UpstreamServer { .. }
            | ConnectorError::Other { .. } => RetryClass::Retryable,
            ConnectorError::Upstream { class, .. } => match class {
                UpstreamClass::Permanent => RetryClass::Permanent,
                UpstreamClass::Transient | UpstreamClass::RateLimited => RetryClass::NextRun,
                UpstreamClass::Interrupted => RetryClass::Retryable,
            },
        }
    }

    /// Whether retrying the same call may succeed, now or in a later run (every class but
    /// [`RetryClass::Permanent`]). A webhook receiver answers such a failure with a 5xx, so
    /// that the provider delivers again.
    pub fn is_retryable(&self) -> bool {
        self.retry_class() != RetryClass::Permanent
    }

    /// Whether the engine retries the failed task within the same run:
    /// [`RetryClass::Retryable`] and [`RetryClass::RetryAfter`], not
    /// [`RetryClass::NextRun`] (already retried by the provider's client).
    pub fn is_retried_in_run(&self) -> bool {
        matches!(
            self.retry_class(),
            RetryClass::Retryable | RetryClass::RetryAfter(_)
        )
    }
}
