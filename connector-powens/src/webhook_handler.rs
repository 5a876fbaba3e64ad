//! [`WebhookHandler`] for [`PowensConnector`]: `create_webhooks` provisions the auth provider
//! ([`crate::install`]); verification, trimming and translation are [`crate::webhooks`]'.

use std::sync::Arc;

use connector_core::contract::{CreateWebhooksRequest, VerifiedWebhook, WebhookHandler};
use connector_core::model::Capability;
use connector_core::webhook::{WebhookConfig, WebhookEnvelope, WebhookResponse};
use connector_core::ConnectorError;
use futures::future::BoxFuture;
use futures::FutureExt;

use crate::connector::PowensConnector;

impl WebhookHandler for PowensConnector {
    fn create_webhooks(
        &self,
        request: CreateWebhooksRequest,
    ) -> BoxFuture<'_, Result<Vec<WebhookConfig>, ConnectorError>> {
        crate::install::create_webhooks(Arc::clone(&self.shared), request).boxed()
    }

    fn verify_webhook<'a>(
        &'a self,
        _webhook: &'a WebhookEnvelope,
        _config: &'a WebhookConfig,
    ) -> BoxFuture<'a, Result<VerifiedWebhook, ConnectorError>> {
        futures::future::ready(Err(ConnectorError::not_supported(
            Some(Capability::TranslateWebhooks),
            "verify_webhook",
        )))
        .boxed()
    }

    fn translate_webhook<'a>(
        &'a self,
        _webhook: &'a WebhookEnvelope,
        _config: &'a WebhookConfig,
    ) -> BoxFuture<'a, Result<Vec<WebhookResponse>, ConnectorError>> {
        futures::future::ready(Err(ConnectorError::not_supported(
            Some(Capability::TranslateWebhooks),
            "translate_webhook",
        )))
        .boxed()
    }
}
