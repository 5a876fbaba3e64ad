//! A Powens connection's state → a disconnection record, and its consent expiry → a pending
//! disconnect.
//!
//! | `state` | error type |
//! |---|---|
//! | `null`, `""`, `"null"` (decoded as no state) | healthy: no record |
//! | `SCARequired`, `webauthRequired`, `additionalInformationNeeded`, `decoupled`, `actionNeeded`, `wrongpass`/`wrongPass`, `passwordExpired`, `validating` | `USER_ACTION_NEEDED` |
//! | `rateLimiting`, `websiteUnavailable` | `TEMPORARY_ERROR` |
//! | `bug`, `notSupported`, any unknown value | `NON_RECOVERABLE` |
//!
//! The reason is the bank's `error_message` when Powens sends one, else a fixed English text
//! naming the state and what to do.
//!
//! Consent expiry: when `expire` (Paris → UTC) is at or before `now + horizon`, the
//! connection yields a `UserConnectionPendingDisconnect` at `expire`, so renewal (Webview
//! `/reconnect`) can start before data stops. An `expire` already in the past still yields
//! one (the consent is due now).

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;
use connector_core::model::{
    ConnectionDisconnectedErrorType, UserConnectionDisconnected, UserConnectionPendingDisconnect,
};
use powens_api::connections::{Connection, ConnectionState};

use crate::time::{rfc3339, zoned_field};

/// What a connection state means for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectionHealth {
    /// The last sync succeeded.
    Healthy,
    /// The connection is disconnected.
    Disconnected {
        /// How it may recover.
        error_type: ConnectionDisconnectedErrorType,
        /// Why (the state name and what to do).
        reason: String,
    },
}

/// The health of a connection in `state` (`None` = the last sync succeeded).
pub fn connection_health(state: Option<&ConnectionState>) -> ConnectionHealth {
    use ConnectionDisconnectedErrorType::{NonRecoverable, TemporaryError, UserActionNeeded};
    let Some(state) = state else {
        return ConnectionHealth::Healthy;
    };
    let (error_type, what) = match state {
        ConnectionState::ScaRequired => (
            UserActionNeeded,
            "strong customer authentication required; reconnect through the Powens Webview",
        ),
        ConnectionState::WebauthRequired => (
            UserActionNeeded,
            "web authentication required; reconnect through the Powens Webview",
        ),
        ConnectionState::AdditionalInformationNeeded => (
            UserActionNeeded,
            "additional information (e.g. an OTP) needed from the user",
        ),
        ConnectionState::Decoupled => (
            UserActionNeeded,
            "the user must validate the access in the bank's app",
        ),
        ConnectionState::ActionNeeded => (
            UserActionNeeded,
            "the user must take an action on the bank's website",
        ),
        ConnectionState::WrongPass => (
            UserActionNeeded,
            "authentication failed; new credentials needed",
        ),
        ConnectionState::PasswordExpired => (
            UserActionNeeded,
            "the password expired; the user must change it at the bank",
        ),
        ConnectionState::Validating => (
            UserActionNeeded,
            "validation in progress; the user may have to confirm it",
        ),
        ConnectionState::RateLimiting => (
            TemporaryError,
            "the bank is throttling synchronisations; retry later",
        ),
        ConnectionState::WebsiteUnavailable => (
            TemporaryError,
            "the bank's website or API is unavailable; retry later",
        ),
        ConnectionState::Bug => (
            NonRecoverable,
            "internal Powens error; contact Powens support",
        ),
        ConnectionState::NotSupported => (NonRecoverable, "not supported by Powens"),
        ConnectionState::Unknown(_) => (NonRecoverable, "unknown Powens connection state"),
    };
    ConnectionHealth::Disconnected {
        error_type,
        reason: format!("{}: {what}", state.as_str()),
    }
}

/// The disconnection record of `connection`, seen at `at`, or `None` when it is healthy.
/// The reason is Powens' `error_message` when present, else [`connection_health`]'s.
pub fn disconnected(
    connection: &Connection,
    psp_user_id: Option<String>,
    at: DateTime<Utc>,
) -> Option<UserConnectionDisconnected> {
    match connection_health(connection.state.as_ref()) {
        ConnectionHealth::Healthy => None,
        ConnectionHealth::Disconnected { error_type, reason } => {
            let message = connection
                .error_message
                .as_deref()
                .map(str::trim)
                .filter(|m| !m.is_empty());
            Some(UserConnectionDisconnected {
                psp_user_id,
                psu_id: None,
                connection_id: connection.id.to_string(),
                at,
                error_type,
                reason: Some(match message {
                    Some(message) => format!("{reason} ({message})"),
                    None => reason,
                }),
            })
        }
    }
}

/// A pending disconnect when the consent of `connection` (`expire`, naive in `zone`) ends
/// at or before `now + horizon`.
pub fn pending_disconnect(
    connection: &Connection,
    now: DateTime<Utc>,
    horizon: TimeDelta,
    zone: Tz,
) -> Option<UserConnectionPendingDisconnect> {
    let expire = zoned_field(connection.expire.as_ref()?, zone);
    let limit = now
        .checked_add_signed(horizon)
        .unwrap_or(DateTime::<Utc>::MAX_UTC);
    (expire <= limit).then(|| UserConnectionPendingDisconnect {
        psu_id: None,
        connection_id: connection.id.to_string(),
        at: expire,
        reason: Some(format!("consent expires at {}", rfc3339(expire))),
    })
}
