//! Wire payloads of the Powens webhooks this SDK handles.
//!
//! The event name is **not** in the body: Powens posts each event to the URL registered for it,
//! so the receiver knows the [`WebhookEventKind`] from the path and calls
//! [`WebhookEvent::decode`]. Every body may carry a top-level integer `id_webhook_data`, the
//! idempotency key of the delivery.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_with::{serde_as, DefaultOnNull};

use crate::accounts::BankAccount;
use crate::connections::Connection;
use crate::users::User;
use crate::wire::lenient::BlankAsNone;
use crate::wire::open_enum::open_enum;
use crate::wire::{decode_json, JsonDecodeError, PowensDateTime};

open_enum! {
    /// The name of a webhook event.
    pub enum WebhookEventKind {
        /// `USER_SYNCED` (deprecated upstream): several connections of a user synced.
        UserSynced = "USER_SYNCED",
        /// `CONNECTION_SYNCED`: a connection synced (or failed to: see `connection.state`).
        ConnectionSynced = "CONNECTION_SYNCED",
        /// `CONNECTION_DELETED`: a connection was deleted.
        ConnectionDeleted = "CONNECTION_DELETED",
        /// `USER_DELETED`: a user was deleted.
        UserDeleted = "USER_DELETED",
        /// `USER_CREATED`: a permanent user was created.
        UserCreated = "USER_CREATED",
        /// `ACCOUNTS_FETCHED`: accounts synced, before transactions.
        AccountsFetched = "ACCOUNTS_FETCHED",
        /// `ACCOUNT_SYNCED`: one account processed, with its new transactions.
        AccountSynced = "ACCOUNT_SYNCED",
        /// `ACCOUNT_FOUND`: a new (disabled by default) account was discovered.
        AccountFound = "ACCOUNT_FOUND",
        /// `ACCOUNT_ENABLED`: an account was enabled.
        AccountEnabled = "ACCOUNT_ENABLED",
        /// `ACCOUNT_DISABLED`: an account was disabled.
        AccountDisabled = "ACCOUNT_DISABLED",
        /// `CONNECTION_PENDING_DISCONNECT`: the connection's consent is about to expire.
        ConnectionPendingDisconnect = "CONNECTION_PENDING_DISCONNECT",
    }
}

/// `USER_SYNCED`: `{user, connections: [Connection + accounts + transactions], id_webhook_data}`.
#[serde_as]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UserSynced {
    /// The user.
    pub user: User,
    /// The synced connections, with their accounts and new transactions.
    #[serde(default)]
    #[serde_as(deserialize_as = "DefaultOnNull")]
    pub connections: Vec<Connection>,
    /// Idempotency key of the delivery.
    #[serde(default)]
    pub id_webhook_data: Option<i64>,
}

/// `CONNECTION_SYNCED`: `{user, connection: Connection + accounts[+ transactions], id_webhook_data}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ConnectionSynced {
    /// The connection's owner.
    pub user: User,
    /// The connection, its synced accounts (`accounts`), each with its *new* transactions.
    pub connection: Connection,
    /// Idempotency key of the delivery.
    #[serde(default)]
    pub id_webhook_data: Option<i64>,
}

/// `ACCOUNTS_FETCHED`: `{user, connection: Connection + accounts, id_webhook_data}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AccountsFetched {
    /// The connection's owner.
    #[serde(default)]
    pub user: Option<User>,
    /// The connection with its accounts.
    pub connection: Connection,
    /// Idempotency key of the delivery.
    #[serde(default)]
    pub id_webhook_data: Option<i64>,
}

/// `USER_CREATED` and `USER_DELETED`: the body is a `User` object (plus `id_webhook_data`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct UserEvent {
    /// The user.
    pub user: User,
    /// Idempotency key of the delivery.
    pub id_webhook_data: Option<i64>,
}

/// `CONNECTION_DELETED`: the body is a `Connection` object (often only `id` matters).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ConnectionDeleted {
    /// The deleted connection.
    pub connection: Connection,
    /// Idempotency key of the delivery.
    pub id_webhook_data: Option<i64>,
}

/// `ACCOUNT_SYNCED`, `ACCOUNT_FOUND`, `ACCOUNT_ENABLED`, `ACCOUNT_DISABLED`: the body is a
/// `BankAccount` object (with `transactions` for `ACCOUNT_SYNCED`; only `{id, id_user,
/// id_connection, disabled, type}` for `ACCOUNT_FOUND`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct AccountEvent {
    /// The account.
    pub account: BankAccount,
    /// Idempotency key of the delivery.
    pub id_webhook_data: Option<i64>,
}

/// `CONNECTION_PENDING_DISCONNECT`: the connection's consent is about to expire.
///
/// No Powens page documents this body. Both plausible shapes are accepted: a wrapper
/// `{user?, connection, expire?, id_webhook_data?}` and a bare `Connection` object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ConnectionPendingDisconnect {
    /// The connection's owner, when sent.
    pub user: Option<User>,
    /// The connection about to be disconnected.
    pub connection: Connection,
    /// When the consent expires: the wrapper's `expire`, else the connection's `expire`.
    pub expire: Option<PowensDateTime>,
    /// Idempotency key of the delivery, when sent.
    pub id_webhook_data: Option<i64>,
}

/// A decoded webhook body, by event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub enum WebhookEvent {
    /// `USER_SYNCED`.
    UserSynced(UserSynced),
    /// `CONNECTION_SYNCED`.
    ConnectionSynced(ConnectionSynced),
    /// `CONNECTION_DELETED`.
    ConnectionDeleted(ConnectionDeleted),
    /// `USER_DELETED`.
    UserDeleted(UserEvent),
    /// `USER_CREATED`.
    UserCreated(UserEvent),
    /// `ACCOUNTS_FETCHED`.
    AccountsFetched(AccountsFetched),
    /// `ACCOUNT_SYNCED`.
    AccountSynced(AccountEvent),
    /// `ACCOUNT_FOUND`.
    AccountFound(AccountEvent),
    /// `ACCOUNT_ENABLED`.
    AccountEnabled(AccountEvent),
    /// `ACCOUNT_DISABLED`.
    AccountDisabled(AccountEvent),
    /// `CONNECTION_PENDING_DISCONNECT`.
    ConnectionPendingDisconnect(ConnectionPendingDisconnect),
    /// An event this crate has no payload type for; the body is left to the caller.
    Unknown {
        /// The event name, verbatim.
        name: String,
    },
}

/// A webhook body that does not match its event's payload type.
#[derive(Debug, thiserror::Error)]
#[error("cannot decode the {event} webhook body: {source}")]
pub struct WebhookDecodeError {
    /// The event whose body failed.
    pub event: WebhookEventKind,
    /// The failure, with the JSON path.
    #[source]
    pub source: JsonDecodeError,
}

/// The `id_webhook_data` of a body whose top level is a resource object.
#[derive(Deserialize)]
struct DeliveryKey {
    #[serde(default)]
    id_webhook_data: Option<i64>,
}

/// The wrapper form of `CONNECTION_PENDING_DISCONNECT`.
#[serde_as]
#[derive(Deserialize)]
struct PendingDisconnectWrapper {
    #[serde(default)]
    user: Option<User>,
    #[serde(default)]
    connection: Option<Connection>,
    #[serde(default)]
    #[serde_as(deserialize_as = "BlankAsNone")]
    expire: Option<PowensDateTime>,
    #[serde(default)]
    id_webhook_data: Option<i64>,
}

impl WebhookEvent {
    /// Decodes the raw body of a webhook of the given kind.
    pub fn decode(kind: &WebhookEventKind, body: &[u8]) -> Result<Self, WebhookDecodeError> {
        let failed = |source| WebhookDecodeError {
            event: kind.clone(),
            source,
        };
        let event = match kind {
            WebhookEventKind::UserSynced => Self::UserSynced(decode_json(body).map_err(failed)?),
            WebhookEventKind::ConnectionSynced => {
                Self::ConnectionSynced(decode_json(body).map_err(failed)?)
            }
            WebhookEventKind::AccountsFetched => {
                Self::AccountsFetched(decode_json(body).map_err(failed)?)
            }
            WebhookEventKind::ConnectionDeleted => {
                let (connection, id_webhook_data) = with_key(body).map_err(failed)?;
                Self::ConnectionDeleted(ConnectionDeleted {
                    connection,
                    id_webhook_data,
                })
            }
            WebhookEventKind::UserDeleted | WebhookEventKind::UserCreated => {
                let (user, id_webhook_data) = with_key(body).map_err(failed)?;
                let event = UserEvent {
                    user,
                    id_webhook_data,
                };
                if *kind == WebhookEventKind::UserDeleted {
                    Self::UserDeleted(event)
                } else {
                    Self::UserCreated(event)
                }
            }
            WebhookEventKind::AccountSynced
            | WebhookEventKind::AccountFound
            | WebhookEventKind::AccountEnabled
            | WebhookEventKind::AccountDisabled => {
                let (account, id_webhook_data) = with_key(body).map_err(failed)?;
                let event = AccountEvent {
                    account,
                    id_webhook_data,
                };
                match kind {
                    WebhookEventKind::AccountSynced => Self::AccountSynced(event),
                    WebhookEventKind::AccountFound => Self::AccountFound(event),
                    WebhookEventKind::AccountEnabled => Self::AccountEnabled(event),
                    _ => Self::AccountDisabled(event),
                }
            }
            WebhookEventKind::ConnectionPendingDisconnect => {
                let wrapper: PendingDisconnectWrapper = decode_json(body).map_err(failed)?;
                let connection = match wrapper.connection {
                    Some(connection) => connection,
                    None => decode_json(body).map_err(failed)?,
                };
                Self::ConnectionPendingDisconnect(ConnectionPendingDisconnect {
                    user: wrapper.user,
                    expire: wrapper.expire.or(connection.expire),
                    connection,
                    id_webhook_data: wrapper.id_webhook_data,
                })
            }
            WebhookEventKind::Unknown(name) => Self::Unknown { name: name.clone() },
        };
        Ok(event)
    }

    /// The event's name.
    pub fn kind(&self) -> WebhookEventKind {
        match self {
            Self::UserSynced(_) => WebhookEventKind::UserSynced,
            Self::ConnectionSynced(_) => WebhookEventKind::ConnectionSynced,
            Self::ConnectionDeleted(_) => WebhookEventKind::ConnectionDeleted,
            Self::UserDeleted(_) => WebhookEventKind::UserDeleted,
            Self::UserCreated(_) => WebhookEventKind::UserCreated,
            Self::AccountsFetched(_) => WebhookEventKind::AccountsFetched,
            Self::AccountSynced(_) => WebhookEventKind::AccountSynced,
            Self::AccountFound(_) => WebhookEventKind::AccountFound,
            Self::AccountEnabled(_) => WebhookEventKind::AccountEnabled,
            Self::AccountDisabled(_) => WebhookEventKind::AccountDisabled,
            Self::ConnectionPendingDisconnect(_) => WebhookEventKind::ConnectionPendingDisconnect,
            Self::Unknown { name } => WebhookEventKind::Unknown(name.clone()),
        }
    }

    /// The delivery's idempotency key, when the body carried one.
    pub fn id_webhook_data(&self) -> Option<i64> {
        match self {
            Self::UserSynced(e) => e.id_webhook_data,
            Self::ConnectionSynced(e) => e.id_webhook_data,
            Self::ConnectionDeleted(e) => e.id_webhook_data,
            Self::UserDeleted(e) | Self::UserCreated(e) => e.id_webhook_data,
            Self::AccountsFetched(e) => e.id_webhook_data,
            Self::AccountSynced(e)
            | Self::AccountFound(e)
            | Self::AccountEnabled(e)
            | Self::AccountDisabled(e) => e.id_webhook_data,
            Self::ConnectionPendingDisconnect(e) => e.id_webhook_data,
            Self::Unknown { .. } => None,
        }
    }
}

/// Decodes a body whose top level is a resource object, and its `id_webhook_data`.
fn with_key<T: DeserializeOwned>(body: &[u8]) -> Result<(T, Option<i64>), JsonDecodeError> {
    let value = decode_json::<T>(body)?;
    let key = decode_json::<DeliveryKey>(body)?;
    Ok((value, key.id_webhook_data))
}
