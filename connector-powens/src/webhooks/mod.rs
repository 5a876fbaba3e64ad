//! Powens webhooks: verify, read once, translate.
//!
//! [`PowensWebhooks`] implements connector-core's [`WebhookHandler`], which the engine's
//! inbox ([`connector_core::engine::WebhookInbox`]) drives: it verifies once, checks
//! freshness, de-duplicates, ties records to the PSU and delivers the whole delivery at once.
//!
//! * [`verify`](PowensWebhooks::verify): `BI-Signature` over the public path the webhook was
//!   registered under; returns the signed date (the inbox checks its freshness window);
//!   the signed path is [`signed_path`], the delivery's key [`idempotency_key`];
//! * [`translate`](PowensWebhooks::translate): one read of the body (the page reader of
//!   `powens-model` for synced bodies) giving the idempotency key (`id_webhook_data`, else a
//!   body hash), the Powens user and the responses ordered connection → accounts → payments
//!   → balances;
//! * the event → path table ([`WEBHOOK_ROUTES`]) and the install configs ([`webhook_configs`],
//!   [`config_for`], [`config_for_request_path`]).
//!
//! ```
//! use connector_core::webhook::{Headers, WebhookEnvelope};
//! use connector_powens::webhooks::{webhook_configs, PowensWebhooks, WebhookOptions};
//! use powens_api::webhooks::sign;
//! use secrecy::SecretString;
//!
//! let configs = webhook_configs("https://pay.example/hooks/c1", "s3cret");
//! let config = configs.iter().find(|c| c.name == "USER_DELETED").unwrap();
//! let body = br#"{"id": 42, "signin": "2026-06-18 08:00:00", "id_webhook_data": 7}"#;
//! let date = "2026-06-18T06:00:00.000000Z";
//! let signature = sign(&SecretString::from("s3cret"), "/hooks/c1/user-deleted", date, body);
//! let webhook = WebhookEnvelope {
//!     headers: [("BI-Signature", signature.as_str()), ("BI-Signature-Date", date)]
//!         .into_iter()
//!         .collect::<Headers>(),
//!     body: body.to_vec(),
//!     ..WebhookEnvelope::default()
//! };
//! let handler = PowensWebhooks::new(WebhookOptions::default());
//! let verified = handler.verify(&webhook, config)?;
//! assert!(verified.signed_at.is_some());
//! let translation = handler.translate(&webhook, config)?;
//! assert_eq!(translation.idempotency_key, "id_webhook_data:7");
//! assert_eq!(translation.psp_user_id.as_deref(), Some("42"));
//! assert_eq!(
//!     serde_json::to_string(&translation.responses)?,
//!     r#"[{"UserDisconnected":{"pspUserID":"42"}}]"#
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod error;
pub(crate) mod routes;
mod translate;
mod verify;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use chrono::TimeDelta;
use chrono_tz::Tz;
use connector_core::contract::{
    CreateWebhooksRequest, VerifiedWebhook, WebhookHandler, WebhookTranslation,
};
use connector_core::model::Capability;
use connector_core::webhook::{WebhookConfig, WebhookEnvelope};
use connector_core::ConnectorError;
use futures::future::BoxFuture;
use powens_api::time::{Clock, SystemClock};
use powens_api::webhooks::WebhookEventKind;

pub use error::WebhookError;
pub use routes::{
    config_for, config_for_request_path, default_routes, route_for_event, webhook_configs,
    webhook_urls, WebhookRoute, SECRET_METADATA_KEY, WEBHOOK_ROUTES,
};
pub use translate::{ReadBody, Translation};
pub use verify::{idempotency_key, signed_path};

/// The raw `BI-Signature` check (`powens webhook verify`), for a body and path known apart
/// from any [`WebhookConfig`].
pub use powens_api::webhooks::{SignatureHeaders, SignatureVerifier};

/// Default consent horizon: a connection whose consent ends within 7 days yields a pending
/// disconnect.
pub const DEFAULT_CONSENT_HORIZON: TimeDelta = TimeDelta::days(7);

/// Settings of [`PowensWebhooks`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookOptions {
    /// When set, [`PowensWebhooks::verify`] itself refuses a `BI-Signature-Date` further than
    /// this from the clock's `now` (default none: the engine's inbox checks freshness, with
    /// its own window).
    pub freshness_window: Option<Duration>,
    /// A consent ending within this horizon yields a pending disconnect (default 7 days).
    pub consent_horizon: TimeDelta,
    /// Zone of naive Powens datetimes (default Europe/Paris).
    pub zone: Tz,
}

impl Default for WebhookOptions {
    fn default() -> Self {
        Self {
            freshness_window: None,
            consent_horizon: DEFAULT_CONSENT_HORIZON,
            zone: chrono_tz::Europe::Paris,
        }
    }
}

/// Creates the webhook subscription at Powens (the `hmac_signature` auth provider) and
/// returns the configs to store — the install code's job, plugged into [`PowensWebhooks`] so
/// that it implements the whole [`WebhookHandler`]. [`webhook_configs`] builds the
/// configs from the provider's secret.
pub trait WebhookSubscriber: Send + Sync {
    /// Subscribes and returns the configs.
    fn subscribe(
        &self,
        request: CreateWebhooksRequest,
    ) -> BoxFuture<'_, Result<Vec<WebhookConfig>, ConnectorError>>;
}

/// The Powens webhook handler (see the [module docs](self)).
#[derive(Clone)]
pub struct PowensWebhooks {
    options: WebhookOptions,
    clock: Arc<dyn Clock>,
    subscriber: Option<Arc<dyn WebhookSubscriber>>,
}

impl fmt::Debug for PowensWebhooks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PowensWebhooks")
            .field("options", &self.options)
            .field("clock", &self.clock)
            .field("subscriber", &self.subscriber.is_some())
            .finish()
    }
}

impl PowensWebhooks {
    /// A handler on the system clock, without subscriber.
    pub fn new(options: WebhookOptions) -> Self {
        Self {
            options,
            clock: Arc::new(SystemClock),
            subscriber: None,
        }
    }

    /// Uses `clock` for the freshness window and for instants the body does not give.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Uses `subscriber` for [`WebhookHandler::create_webhooks`].
    pub fn with_subscriber(mut self, subscriber: Arc<dyn WebhookSubscriber>) -> Self {
        self.subscriber = Some(subscriber);
        self
    }

    /// The settings.
    pub fn options(&self) -> &WebhookOptions {
        &self.options
    }

    fn event(config: &WebhookConfig) -> Result<WebhookEventKind, WebhookError> {
        routes::event_of(config).ok_or_else(|| error::unknown_event(&config.name))
    }

    /// Checks the signature (and the handler's own freshness window, when set); returns when
    /// the delivery was signed. Reads nothing of the body but its bytes for the HMAC.
    pub fn verify(
        &self,
        webhook: &WebhookEnvelope,
        config: &WebhookConfig,
    ) -> Result<VerifiedWebhook, WebhookError> {
        let signed_at = verify::verify_signature(
            webhook,
            config,
            self.options.freshness_window,
            self.clock.now(),
        )?;
        Ok(VerifiedWebhook {
            signed_at: Some(signed_at),
        })
    }

    /// Reads the whole body once: key, Powens user, responses, skipped objects.
    pub fn translate(
        &self,
        webhook: &WebhookEnvelope,
        config: &WebhookConfig,
    ) -> Result<Translation, WebhookError> {
        self.translate_body(&webhook.body, config)
    }

    /// [`PowensWebhooks::translate`] of a raw body.
    pub fn translate_body(
        &self,
        body: &[u8],
        config: &WebhookConfig,
    ) -> Result<Translation, WebhookError> {
        self.read_body(body, config).map(ReadBody::complete)
    }

    /// Reads a raw body once (decode, split per account, translate); payments' `raw` stays
    /// pending until [`ReadBody::complete`].
    pub fn read_body<'a>(
        &self,
        body: &'a [u8],
        config: &WebhookConfig,
    ) -> Result<ReadBody<'a>, WebhookError> {
        let kind = Self::event(config)?;
        let cx = translate::TranslateContext {
            now: self.clock.now(),
            zone: self.options.zone,
            consent_horizon: self.options.consent_horizon,
        };
        translate::read_body(&kind, body, &cx)
    }
}

impl WebhookHandler for PowensWebhooks {
    fn create_webhooks(
        &self,
        request: CreateWebhooksRequest,
    ) -> BoxFuture<'_, Result<Vec<WebhookConfig>, ConnectorError>> {
        match &self.subscriber {
            Some(subscriber) => subscriber.subscribe(request),
            None => Box::pin(async {
                Err(ConnectorError::not_supported(
                    Some(Capability::CreateWebhooks),
                    "create_webhooks (no subscriber configured)",
                ))
            }),
        }
    }

    fn verify_webhook<'a>(
        &'a self,
        webhook: &'a WebhookEnvelope,
        config: &'a WebhookConfig,
    ) -> BoxFuture<'a, Result<VerifiedWebhook, ConnectorError>> {
        let result = self.verify(webhook, config).map_err(ConnectorError::from);
        Box::pin(async move { result })
    }

    fn translate_webhook<'a>(
        &'a self,
        webhook: &'a WebhookEnvelope,
        config: &'a WebhookConfig,
    ) -> BoxFuture<'a, Result<WebhookTranslation, ConnectorError>> {
        let result = self.translate(webhook, config).map(|t| WebhookTranslation {
            idempotency_key: t.idempotency_key,
            psp_user_id: t.psp_user_id,
            responses: t.responses,
            skipped: crate::fetch::skipped_objects(&t.skipped),
            sync_requested: t.sync_requested,
        });
        Box::pin(async move { result.map_err(ConnectorError::from) })
    }
}

#[cfg(test)]
mod tests;
