//! Open-banking connection events and their enums.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::wire_enum::wire_enum;

wire_enum! {
    /// Why a bank connection stopped working.
    #[non_exhaustive]
    pub enum ConnectionDisconnectedErrorType {
        /// It may recover on its own (rate limiting, bank website down).
        TemporaryError => "TEMPORARY_ERROR",
        /// It will not recover (provider bug, unknown state).
        NonRecoverable => "NON_RECOVERABLE",
        /// The user must act (SCA, new password, extra information).
        UserActionNeeded => "USER_ACTION_NEEDED",
    }
}

wire_enum! {
    /// The status of a stored bank connection.
    #[non_exhaustive]
    pub enum ConnectionStatus {
        /// Working.
        Active => "ACTIVE",
        /// Disconnected, see its error.
        Error => "ERROR",
    }
}

wire_enum! {
    /// The status of a link attempt (lower case on the wire).
    #[non_exhaustive]
    pub enum AttemptStatus {
        /// The user has not come back yet.
        Pending => "pending",
        /// The user came back and the link succeeded.
        Completed => "completed",
        /// The user came back with an error or gave up.
        Exited => "exited",
    }
}

wire_enum! {
    /// What a `DataReadyToFetch` event asks the engine to fetch.
    #[non_exhaustive]
    pub enum DataToFetch {
        /// Payments.
        Payments => "payments",
        /// Accounts and their balances.
        AccountsAndBalances => "accounts_and_balances",
    }
}

/// The provider deleted a user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserDisconnected {
    /// The provider's user id.
    #[serde(rename = "pspUserID")]
    pub psp_user_id: String,
    /// The payment service user, when the event is tied to one (set by the engine).
    #[serde(default, rename = "psuID", skip_serializing_if = "Option::is_none")]
    pub psu_id: Option<String>,
}

/// A connection will stop working soon (consent expiry); renew it before `at`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserConnectionPendingDisconnect {
    /// The provider's connection id.
    #[serde(rename = "connectionID")]
    pub connection_id: String,
    /// When the connection will be disconnected.
    pub at: DateTime<Utc>,
    /// Why, when the provider says.
    #[serde(default)]
    pub reason: Option<String>,
    /// The payment service user, when the event is tied to one (set by the engine).
    #[serde(default, rename = "psuID", skip_serializing_if = "Option::is_none")]
    pub psu_id: Option<String>,
}

/// A connection stopped working.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserConnectionDisconnected {
    /// The provider's user id, when known (a deletion event may not carry it).
    #[serde(default, rename = "pspUserID")]
    pub psp_user_id: Option<String>,
    /// The provider's connection id.
    #[serde(rename = "connectionID")]
    pub connection_id: String,
    /// When it was seen disconnected.
    pub at: DateTime<Utc>,
    /// How to recover.
    #[serde(rename = "errorType")]
    pub error_type: ConnectionDisconnectedErrorType,
    /// The provider's explanation.
    #[serde(default)]
    pub reason: Option<String>,
    /// The payment service user, when the event is tied to one (set by the engine).
    #[serde(default, rename = "psuID", skip_serializing_if = "Option::is_none")]
    pub psu_id: Option<String>,
}

/// A connection works again (or synced successfully).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserConnectionReconnected {
    /// The provider's user id.
    #[serde(rename = "pspUserID")]
    pub psp_user_id: String,
    /// The provider's connection id.
    #[serde(rename = "connectionID")]
    pub connection_id: String,
    /// When it was seen working.
    pub at: DateTime<Utc>,
    /// The payment service user, when the event is tied to one (set by the engine).
    #[serde(default, rename = "psuID", skip_serializing_if = "Option::is_none")]
    pub psu_id: Option<String>,
}

/// A link session ended (the user left the provider's webview).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserLinkSessionFinished {
    /// The link attempt.
    #[serde(rename = "attemptID")]
    pub attempt_id: String,
    /// How it ended.
    pub status: AttemptStatus,
    /// The provider's error, when it failed.
    #[serde(default)]
    pub error: Option<String>,
}

/// The provider has new data: the engine should run the fetches named in `data_to_fetch`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataReadyToFetch {
    /// The payment service user, when known.
    #[serde(default, rename = "psuID")]
    pub psu_id: Option<String>,
    /// The connection, when known.
    #[serde(default, rename = "connectionID")]
    pub connection_id: Option<String>,
    /// What the fetch tasks receive as their parent payload.
    #[serde(default, rename = "fromPayload")]
    pub from_payload: serde_json::Value,
    /// What to fetch.
    #[serde(rename = "dataToFetch")]
    pub data_to_fetch: Vec<DataToFetch>,
}
