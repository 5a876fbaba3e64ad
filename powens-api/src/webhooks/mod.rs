//! Webhooks: the payload types of each event ([`payloads`]) and the `BI-Signature` HMAC
//! ([`signature`]).

pub mod payloads;

pub use payloads::{
    AccountEvent, AccountsFetched, ConnectionDeleted, ConnectionPendingDisconnect,
    ConnectionSynced, UserEvent, UserSynced, WebhookDecodeError, WebhookEvent, WebhookEventKind,
};
