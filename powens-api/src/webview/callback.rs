//! Parsing the Webview's redirect back to `redirect_uri`.
//!
//! Presence of `error` means failure (as in the official SDK). Otherwise the callback is a
//! success carrying `connection_id`, `connection_ids` (one comma list; repeated parameters are
//! also accepted and merged), `code` (when the flow was opened without one), `state`, and
//! `connection_deleted` (manage flow). Unknown parameters are ignored.

use secrecy::SecretString;

use crate::wire::open_enum::open_enum;

open_enum! {
    /// The Webview's `error` codes. Powens warns new ones may appear.
    pub enum WebviewErrorCode {
        /// `access_denied`: the user cancelled.
        AccessDenied = "access_denied",
        /// `server_error`: technical failure.
        ServerError = "server_error",
        /// `tos_declined`: the user refused the terms of service.
        TosDeclined = "tos_declined",
        /// `session_expired`.
        SessionExpired = "session_expired",
    }
}

/// A successful callback.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CallbackSuccess {
    /// `connection_id`.
    pub connection_id: Option<i64>,
    /// `connection_ids`, in order, without duplicates.
    pub connection_ids: Vec<i64>,
    /// `code` for a brand-new user (exchange it with `POST /auth/token/access`).
    pub code: Option<SecretString>,
    /// `state`, as sent.
    pub state: Option<String>,
    /// `connection_deleted=true` (manage flow).
    pub connection_deleted: bool,
}

impl CallbackSuccess {
    /// `connection_id` followed by the other `connection_ids`, without duplicates.
    pub fn all_connection_ids(&self) -> Vec<i64> {
        let mut ids = Vec::with_capacity(self.connection_ids.len() + 1);
        for id in self.connection_id.iter().chain(&self.connection_ids) {
            if !ids.contains(id) {
                ids.push(*id);
            }
        }
        ids
    }
}

/// A failed callback.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CallbackFailure {
    /// `error`.
    pub error: WebviewErrorCode,
    /// `error_description` (for logs, not for display).
    pub description: Option<String>,
    /// `state`, as sent.
    pub state: Option<String>,
}

/// The outcome the Webview reported.
#[derive(Debug, Clone)]
pub enum WebviewCallback {
    /// The user linked (or managed) connections.
    Success(CallbackSuccess),
    /// The flow failed or was cancelled.
    Failure(CallbackFailure),
}

/// A callback that cannot be interpreted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CallbackError {
    /// A connection id is not an integer.
    #[error("callback parameter `{param}` has a value that is not a connection id: {value:?}")]
    InvalidConnectionId {
        /// The parameter.
        param: &'static str,
        /// The offending item.
        value: String,
    },
    /// A single-valued parameter appears twice with different values.
    #[error("callback parameter `{0}` appears more than once")]
    Repeated(&'static str),
}

impl WebviewCallback {
    /// Parses a query string (with or without the leading `?`), or a whole URL (its query is
    /// used).
    pub fn from_query(query_or_url: &str) -> Result<Self, CallbackError> {
        let query = match query_or_url.split_once('?') {
            Some((_, query)) => query,
            None => query_or_url,
        };
        let query = query.split('#').next().unwrap_or_default();
        let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
        Self::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }

    /// Parses decoded `(name, value)` pairs (e.g. from a web framework's query extractor).
    pub fn from_pairs<'a, I>(pairs: I) -> Result<Self, CallbackError>
    where
        I: IntoIterator<Item = (&'a str, &'a str)>,
    {
        let mut error: Option<&str> = None;
        let mut description: Option<&str> = None;
        let mut state: Option<&str> = None;
        let mut code: Option<&str> = None;
        let mut connection_id: Option<i64> = None;
        let mut connection_ids: Vec<i64> = Vec::new();
        let mut connection_deleted = false;
        for (name, value) in pairs {
            match name {
                "error" => single(&mut error, value, "error")?,
                "error_description" => single(&mut description, value, "error_description")?,
                "state" => single(&mut state, value, "state")?,
                "code" => single(&mut code, value, "code")?,
                "connection_id" => {
                    let id = parse_id("connection_id", value)?;
                    if connection_id.is_some_and(|seen| seen != id) {
                        return Err(CallbackError::Repeated("connection_id"));
                    }
                    connection_id = Some(id);
                }
                "connection_ids" => {
                    for item in value.split(',').map(str::trim).filter(|i| !i.is_empty()) {
                        let id = parse_id("connection_ids", item)?;
                        if !connection_ids.contains(&id) {
                            connection_ids.push(id);
                        }
                    }
                }
                "connection_deleted" => {
                    connection_deleted = matches!(value.trim(), "true" | "1" | "True");
                }
                _ => {}
            }
        }
        let state = state.map(str::to_owned);
        if let Some(error) = error {
            return Ok(Self::Failure(CallbackFailure {
                error: WebviewErrorCode::from_wire(error),
                description: description.map(str::to_owned),
                state,
            }));
        }
        Ok(Self::Success(CallbackSuccess {
            connection_id,
            connection_ids,
            code: code.filter(|c| !c.is_empty()).map(SecretString::from),
            state,
            connection_deleted,
        }))
    }

    /// The `state` echoed back, on either outcome.
    pub fn state(&self) -> Option<&str> {
        match self {
            Self::Success(success) => success.state.as_deref(),
            Self::Failure(failure) => failure.state.as_deref(),
        }
    }
}

fn single<'a>(
    slot: &mut Option<&'a str>,
    value: &'a str,
    name: &'static str,
) -> Result<(), CallbackError> {
    match slot {
        Some(seen) if *seen != value => Err(CallbackError::Repeated(name)),
        _ => {
            *slot = Some(value);
            Ok(())
        }
    }
}

fn parse_id(param: &'static str, value: &str) -> Result<i64, CallbackError> {
    value
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| CallbackError::InvalidConnectionId {
            param,
            value: value.chars().take(64).collect(),
        })
}
