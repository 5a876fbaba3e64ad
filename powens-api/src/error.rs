//! The crate's error type, by the stage that failed, and the Powens error body.
//!
//! No variant ever holds a secret: requests carry tokens only in the `Authorization` header,
//! errors name the method and the URL *path* (never the query), and an unparseable error body
//! is kept only as a short, single-line excerpt.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::retry::ErrorClass;
use crate::wire::open_enum::open_enum;
use crate::wire::{JsonDecodeError, RequestId};

open_enum! {
    /// `error.code` of a Powens error body (ErrorCode). Powens warns new codes appear.
    pub enum ErrorCode {
        /// `connectionLocked`: the connection is read-only.
        ConnectionLocked = "connectionLocked",
        /// `missingParameter`.
        MissingParameter = "missingParameter",
        /// `invalidValue`: details in `description`.
        InvalidValue = "invalidValue",
        /// `methodNotAllowed`.
        MethodNotAllowed = "methodNotAllowed",
        /// `bug`: internal Powens error.
        Bug = "bug",
        /// `noAccount`: the user has no account.
        NoAccount = "noAccount",
        /// Wrong credentials: `wrongpass` (also spelled `wrongPass`).
        WrongPass = "wrongpass" | "wrongPass",
        /// `websiteUnavailable`.
        WebsiteUnavailable = "websiteUnavailable",
        /// `tooManySync`.
        TooManySync = "tooManySync",
        /// `bankMessage`.
        BankMessage = "bankMessage",
        /// `actionNeeded`.
        ActionNeeded = "actionNeeded",
        /// `notSupported`.
        NotSupported = "notSupported",
        /// `config`.
        Config = "config",
        /// `keymanager`.
        Keymanager = "keymanager",
        /// `dataError` (e.g. a webhook auth name Powens dislikes).
        DataError = "dataError",
        /// `forbidden`.
        Forbidden = "forbidden",
        /// `notFound`.
        NotFound = "notFound",
        /// `authFailure` (legacy).
        AuthFailure = "authFailure",
    }
}

/// The JSON error body Powens sends with a non-2xx status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub struct ErrorBody {
    /// Error code.
    #[serde(default)]
    pub code: Option<ErrorCode>,
    /// Technical description, not for end users.
    #[serde(default)]
    pub description: Option<String>,
    /// Optional message from the institution, displayable to the user (untranslated).
    #[serde(default)]
    pub message: Option<String>,
    /// Request id (integer or string on the wire; `requestId` also read).
    #[serde(default, alias = "requestId")]
    pub request_id: Option<RequestId>,
}

/// A non-2xx answer from Powens.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApiError {
    /// HTTP method of the request.
    pub method: http::Method,
    /// URL path of the request (no query string).
    pub path: String,
    /// HTTP status.
    pub status: u16,
    /// Powens error code, when the body was a Powens error.
    pub code: Option<ErrorCode>,
    /// Powens `description`.
    pub description: Option<String>,
    /// Powens `message` (institution text).
    pub message: Option<String>,
    /// Powens request id, from the body or the `X-Request-Id` header.
    pub request_id: Option<String>,
    /// A short single-line excerpt of a body that was not a Powens error (e.g. a CDN HTML
    /// page).
    pub excerpt: Option<String>,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: HTTP {}", self.method, self.path, self.status)?;
        if let Some(code) = &self.code {
            write!(f, " {code}")?;
        }
        if let Some(description) = &self.description {
            write!(f, ": {description}")?;
        }
        if let Some(message) = &self.message {
            write!(f, " (institution says: {message})")?;
        }
        if let Some(excerpt) = &self.excerpt {
            write!(f, ": non-JSON body {excerpt:?}")?;
        }
        if let Some(request_id) = &self.request_id {
            write!(f, " [request id {request_id}]")?;
        }
        Ok(())
    }
}

/// Why a pagination link was not followed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NextLinkProblem {
    /// The link points at another host (or scheme or port) than the configured endpoint; the
    /// bearer token must not be sent there.
    ForeignHost {
        /// The configured origin.
        expected: String,
        /// The link's origin.
        found: String,
    },
    /// The link was already followed in this scan (loop guard).
    Repeated,
    /// The link is not a URL or path.
    Malformed(String),
    /// This many pages in a row had no row yet still pointed at a next page (an endless
    /// chain).
    EmptyPages {
        /// Empty pages in a row.
        pages: u32,
    },
    /// The scan read this many pages and the server still pointed at another.
    TooManyPages {
        /// The bound.
        limit: u64,
    },
}

impl fmt::Display for NextLinkProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ForeignHost { expected, found } => {
                write!(f, "it points at {found}, not at the configured {expected}")
            }
            Self::Repeated => f.write_str("it was already followed in this scan (pagination loop)"),
            Self::Malformed(reason) => write!(f, "it is malformed: {reason}"),
            Self::EmptyPages { pages } => write!(
                f,
                "{pages} pages in a row had no row yet pointed at a next page (an endless chain)"
            ),
            Self::TooManyPages { limit } => write!(
                f,
                "the scan read {limit} pages, the most one scan may read, and the server still \
                 pointed at another"
            ),
        }
    }
}

/// Every failure of this crate, by stage.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The client configuration is invalid (endpoint, timeouts, …).
    #[error("invalid Powens client configuration: {message}")]
    Config {
        /// What is wrong and what was expected.
        message: String,
    },
    /// A request parameter was rejected before sending.
    #[error("invalid request parameter `{field}`: {reason}")]
    InvalidRequest {
        /// The parameter.
        field: &'static str,
        /// What was expected.
        reason: String,
    },
    /// The request did not get an HTTP answer (DNS, connect, TLS, timeout, reset).
    #[error("{method} {path}: transport error (after {attempts} attempt(s))")]
    Transport {
        /// HTTP method.
        method: http::Method,
        /// URL path (no query string).
        path: String,
        /// Attempts made.
        attempts: u32,
        /// The transport error.
        #[source]
        source: reqwest::Error,
    },
    /// Powens answered with an error status.
    #[error("{0}")]
    Api(Box<ApiError>),
    /// Powens answered 429 and the retry budget (or the replay rule) stopped here.
    #[error("{method} {path}: rate limited by Powens (HTTP 429){}", retry_after_text(*.retry_after))]
    RateLimited {
        /// HTTP method.
        method: http::Method,
        /// URL path (no query string).
        path: String,
        /// The server's `Retry-After`, when given.
        retry_after: Option<Duration>,
    },
    /// A 2xx body did not match the expected wire type.
    #[error("{method} {path}: cannot decode the response body: {source}")]
    Decode {
        /// HTTP method.
        method: http::Method,
        /// URL path (no query string).
        path: String,
        /// The decoding failure, with the JSON path.
        #[source]
        source: JsonDecodeError,
    },
    /// The body of a successful answer read as it arrives ([`ResponseBody`](crate::client::ResponseBody))
    /// was cut: a connection reset or the per-attempt timeout after the status. Not retried by
    /// the client: the caller has consumed part of the body, so only the caller knows where to
    /// resume ([`ErrorClass::Interrupted`]).
    #[error(
        "{method} {path}: the answer's body was cut after {received} bytes (transport error; \
         not retried by the client, the call may be repeated)"
    )]
    BodyInterrupted {
        /// HTTP method.
        method: http::Method,
        /// URL path (no query string).
        path: String,
        /// Body bytes received before the cut.
        received: usize,
        /// The transport error.
        #[source]
        source: reqwest::Error,
    },
    /// The response body is longer than the client's bound
    /// ([`PowensClientBuilder::max_response_bytes`](crate::client::PowensClientBuilder::max_response_bytes)).
    #[error(
        "{method} {path}: the response body is larger than {limit} bytes (the client's \
         max_response_bytes; raise it if this answer is legitimate)"
    )]
    ResponseTooLarge {
        /// HTTP method.
        method: http::Method,
        /// URL path (no query string).
        path: String,
        /// The bound that was exceeded, in bytes.
        limit: usize,
    },
    /// A `_links.next` link was refused.
    #[error("refused to follow pagination link {href:?}: {problem}")]
    NextLink {
        /// The link (truncated to 200 characters).
        href: String,
        /// Why it was refused.
        problem: NextLinkProblem,
    },
}

fn retry_after_text(retry_after: Option<Duration>) -> String {
    match retry_after {
        Some(delay) => format!(", retry after {}s", delay.as_secs()),
        None => String::new(),
    }
}

impl Error {
    /// What this failure is as far as retrying goes, from the one table
    /// ([`retry::classify`](crate::retry::classify)).
    ///
    /// ```
    /// use powens_api::retry::ErrorClass;
    ///
    /// let error = powens_api::Error::InvalidRequest { field: "limit", reason: "1 to 1000".into() };
    /// assert_eq!(error.class(), ErrorClass::Permanent);
    /// ```
    pub fn class(&self) -> ErrorClass {
        crate::retry::classify(self)
    }

    /// `true` when the same request may succeed later: every class but
    /// [`ErrorClass::Permanent`] (transport failures, 408, 429, 5xx, a body cut after the
    /// status). The client has already retried what it may (see [`ErrorClass`]).
    pub fn is_retryable(&self) -> bool {
        self.class() != ErrorClass::Permanent
    }

    /// `true` for a transport error caused by a timeout (connect or per attempt), before the
    /// answer or while its body was read.
    pub fn is_timeout(&self) -> bool {
        match self {
            Self::Transport { source, .. } | Self::BodyInterrupted { source, .. } => {
                source.is_timeout()
            }
            _ => false,
        }
    }

    /// The HTTP status, for API and rate-limit errors.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Api(api) => Some(api.status),
            Self::RateLimited { .. } => Some(429),
            _ => None,
        }
    }

    /// The `Retry-After` wait Powens asked for, for a rate-limited call.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RateLimited { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// The Powens request id of an API error (from its body or the `X-Request-Id` header):
    /// what Powens support asks for.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Self::Api(api) => api.request_id.as_deref(),
            _ => None,
        }
    }

    /// The JSON path of a decoding failure (`transactions[3].value`).
    pub fn json_path(&self) -> Option<&str> {
        match self {
            Self::Decode { source, .. } => Some(&source.path),
            _ => None,
        }
    }

    /// The Powens error code, for API errors that carried one.
    pub fn api_code(&self) -> Option<&ErrorCode> {
        match self {
            Self::Api(api) => api.code.as_ref(),
            _ => None,
        }
    }

    pub(crate) fn next_link(href: &str, problem: NextLinkProblem) -> Self {
        Self::NextLink {
            href: href.chars().take(200).collect(),
            problem,
        }
    }
}
