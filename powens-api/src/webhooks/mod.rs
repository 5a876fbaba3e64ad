//! Webhooks: the payload types of each event ([`payloads`]) and the `BI-Signature` HMAC
//! ([`signature`]).

pub mod payloads;
pub mod signature;

pub use payloads::{
    AccountEvent, AccountsFetched, ConnectionDeleted, ConnectionPendingDisconnect,
    ConnectionSynced, UserEvent, UserSynced, WebhookDecodeError, WebhookEvent, WebhookEventKind,
};
pub use signature::{sign, SignatureError, SignatureHeaders, SignatureVerifier};
