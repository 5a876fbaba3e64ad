//! `CREATE_WEBHOOKS` and `TRANSLATE_WEBHOOKS`.

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
}

/// The result of verifying a webhook.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifiedWebhook {
    /// A provider id for de-duplication, when the payload has one.
    pub idempotency_key: Option<String>,
}

/// Webhook subscription and translation.
pub trait WebhookHandler: Send + Sync {
    /// Subscribes at the provider; returns the configs to store and route by.
    fn create_webhooks(
        &self,
        request: CreateWebhooksRequest,
    ) -> BoxFuture<'_, Result<Vec<WebhookConfig>, ConnectorError>>;

    /// Splits one large webhook into several smaller ones. The default keeps it whole.
    fn trim_webhook(
        &self,
        webhook: WebhookEnvelope,
        config: &WebhookConfig,
    ) -> Result<Vec<WebhookEnvelope>, ConnectorError> {
        let _ = config;
        Ok(vec![webhook])
    }

    /// Checks the webhook's authenticity; fails with
    /// [`ConnectorError::WebhookVerification`].
    fn verify_webhook<'a>(
        &'a self,
        webhook: &'a WebhookEnvelope,
        config: &'a WebhookConfig,
    ) -> BoxFuture<'a, Result<VerifiedWebhook, ConnectorError>>;

    /// What the webhook means, in processing order.
    fn translate_webhook<'a>(
        &'a self,
        webhook: &'a WebhookEnvelope,
        config: &'a WebhookConfig,
    ) -> BoxFuture<'a, Result<Vec<WebhookResponse>, ConnectorError>>;
}
