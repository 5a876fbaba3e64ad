//! `CREATE_WEBHOOKS` and `TRANSLATE_WEBHOOKS`.
//!
//! The engine's inbox ([`crate::engine::WebhookInbox`]) drives a delivery through this
//! contract exactly once per step: [`WebhookHandler::verify_webhook`] checks the signature
//! (and says when the delivery was signed, for the inbox's freshness window), then
//! [`WebhookHandler::translate_webhook`] reads the body **once** and returns everything the
//! inbox needs: the idempotency key, the provider user the delivery belongs to (the inbox
//! resolves it to a PSU), the whole translation, the objects it skipped and whether the
//! event asks for a sync of that user's connections.

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;

use crate::error::ConnectorError;
use crate::webhook::{WebhookConfig, WebhookEnvelope, WebhookResponse};

/// What `create_webhooks` is given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateWebhooksRequest {
    /// The connector instance.
    pub connector_id: String,
    /// The public base URL webhooks are delivered under; configs' paths are appended to it.
    pub webhook_base_url: String,
    /// The configs a previous install stored (empty at the first install): a connector whose
    /// provider shows a signing secret only once reuses the stored one instead of rotating it.
    pub existing: Vec<WebhookConfig>,
}

/// The result of verifying a webhook's authenticity.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifiedWebhook {
    /// When the provider signed the delivery, when the signature covers a date (the inbox
    /// checks it against its freshness window).
    pub signed_at: Option<DateTime<Utc>>,
}

/// An object the connector could not turn into a record, and why: in a webhook delivery
/// ([`WebhookTranslation::skipped`]) or a fetched page
/// ([`FetchPage::skipped`](crate::contract::FetchPage::skipped)). It fails neither.
///
/// ```
/// use connector_core::contract::SkippedObject;
///
/// let skipped = SkippedObject {
///     kind: "transaction".into(),
///     id: Some("309".into()),
///     code: "malformed_row".into(),
///     reason: "malformed row: field `value`: expected a decimal amount".into(),
/// };
/// assert_eq!(skipped.code, "malformed_row");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedObject {
    /// What it was (`account`, `transaction`, …).
    pub kind: String,
    /// The provider's id of it, when known.
    pub id: Option<String>,
    /// A short, stable name of the reason (`malformed_row`, `unknown_account`, …), to group
    /// and count skips by.
    pub code: String,
    /// Why it was skipped, in words a person can act on.
    pub reason: String,
}

/// One delivery, read once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WebhookTranslation {
    /// The delivery's idempotency key (a provider id, else a digest of the body).
    pub idempotency_key: String,
    /// The provider user the delivery belongs to, when the body names one.
    pub psp_user_id: Option<String>,
    /// Every meaning of the delivery, in processing order.
    pub responses: Vec<WebhookResponse>,
    /// The objects that could not be translated.
    pub skipped: Vec<SkippedObject>,
    /// Whether the event asks for a sync of the user's connections (new data at the
    /// provider).
    pub sync_requested: bool,
}

/// Webhook subscription and translation.
pub trait WebhookHandler: Send + Sync {
    /// Subscribes at the provider; returns the configs to store and route by.
    fn create_webhooks(
        &self,
        request: CreateWebhooksRequest,
    ) -> BoxFuture<'_, Result<Vec<WebhookConfig>, ConnectorError>>;

    /// Checks the webhook's authenticity; fails with
    /// [`ConnectorError::WebhookVerification`]. Does not read the body beyond what the
    /// signature covers.
    fn verify_webhook<'a>(
        &'a self,
        webhook: &'a WebhookEnvelope,
        config: &'a WebhookConfig,
    ) -> BoxFuture<'a, Result<VerifiedWebhook, ConnectorError>>;

    /// Reads the body once: key, user, responses in processing order, skipped objects.
    /// A malformed object inside the body is skipped, not an error; only a body that is not
    /// the event at all fails.
    fn translate_webhook<'a>(
        &'a self,
        webhook: &'a WebhookEnvelope,
        config: &'a WebhookConfig,
    ) -> BoxFuture<'a, Result<WebhookTranslation, ConnectorError>>;
}
