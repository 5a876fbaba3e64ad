//! Powens webhooks: verify, split, translate, de-duplicate.
//!
//! [`PowensWebhooks`] implements connector-core's [`WebhookHandler`]:
//!
//! * [`verify`](PowensWebhooks::verify): `BI-Signature` over the public path the webhook was
//!   registered under, the optional freshness window, and the idempotency key
//!   (`id_webhook_data`, else a body hash) — see [`verify`](mod@verify);
//! * [`trim`](PowensWebhooks::trim): large `CONNECTION_SYNCED` (and `USER_SYNCED`,
//!   `ACCOUNT_SYNCED`) bodies split per account and per chunk of transactions, byte-exact —
//!   see [`trim`](mod@trim);
//! * [`translate`](PowensWebhooks::translate): each event to responses ordered connection →
//!   accounts → payments → balances — see [`translate`](mod@translate);
//! * the event → path table and the install configs: [`routes`];
//! * redelivery de-duplication around the engine: [`inbox`].
//!
//! ```
//! use connector_core::webhook::{Headers, WebhookEnvelope};
//! use connector_powens::webhooks::{routes, PowensWebhooks, WebhookOptions};
//! use powens_api::webhooks::sign;
//! use secrecy::SecretString;
//!
//! let configs = routes::webhook_configs("https://pay.example/hooks/c1", "s3cret");
//! let config = &configs[2]; // USER_DELETED at https://pay.example/hooks/c1/user-deleted
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
//! assert_eq!(verified.idempotency_key.as_deref(), Some("id_webhook_data:7"));
//! let translation = handler.translate(&webhook, config)?;
//! assert_eq!(
//!     serde_json::to_string(&translation.responses)?,
//!     r#"[{"UserDisconnected":{"pspUserID":"42"}}]"#
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod error;
pub mod inbox;
mod raw;
pub mod routes;
mod rows;
pub mod translate;
pub mod trim;
pub mod verify;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use chrono::TimeDelta;
use chrono_tz::Tz;
use connector_core::contract::{CreateWebhooksRequest, VerifiedWebhook, WebhookHandler};
use connector_core::model::Capability;
use connector_core::webhook::{WebhookConfig, WebhookEnvelope, WebhookResponse};
use connector_core::ConnectorError;
use futures::future::BoxFuture;
use powens_api::time::{Clock, SystemClock};
use powens_api::webhooks::WebhookEventKind;

pub use error::WebhookError;
pub use inbox::{InboxOutcome, ProcessedWebhooks, WebhookInbox};
pub use routes::{WebhookRoute, SECRET_METADATA_KEY, WEBHOOK_ROUTES};
pub use translate::Translation;
pub use trim::DEFAULT_TRANSACTIONS_PER_PIECE;

/// Default consent horizon: a connection whose consent ends within 7 days yields a pending
/// disconnect.
pub const DEFAULT_CONSENT_HORIZON: TimeDelta = TimeDelta::days(7);

/// Settings of [`PowensWebhooks`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookOptions {
    /// Transactions per trimmed piece (default 100; 0 is read as 1).
    pub transactions_per_piece: usize,
    /// When set, `BI-Signature-Date` must be within this distance of the clock's `now`
    /// (default none: Powens may redeliver much later, with the original date).
    pub freshness_window: Option<Duration>,
    /// A consent ending within this horizon yields a pending disconnect (default 7 days).
    pub consent_horizon: TimeDelta,
    /// Zone of naive Powens datetimes (default Europe/Paris).
    pub zone: Tz,
}

impl Default for WebhookOptions {
    fn default() -> Self {
        Self {
            transactions_per_piece: DEFAULT_TRANSACTIONS_PER_PIECE,
            freshness_window: None,
            consent_horizon: DEFAULT_CONSENT_HORIZON,
            zone: chrono_tz::Europe::Paris,
        }
    }
}

/// Creates the webhook subscription at Powens (the `hmac_signature` auth provider) and
/// returns the configs to store — the install code's job, plugged into [`PowensWebhooks`] so
/// that it implements the whole [`WebhookHandler`]. [`routes::webhook_configs`] builds the
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

    /// Checks the signature (and the freshness window, when set) and returns the idempotency
    /// key.
    pub fn verify(
        &self,
        webhook: &WebhookEnvelope,
        config: &WebhookConfig,
    ) -> Result<VerifiedWebhook, WebhookError> {
        verify::verify_signature(
            webhook,
            config,
            self.options.freshness_window,
            self.clock.now(),
        )?;
        Ok(VerifiedWebhook {
            idempotency_key: Some(verify::idempotency_key(&webhook.body)),
        })
    }

    /// Splits a large body into pieces; each keeps the headers and query of the original.
    pub fn trim(
        &self,
        webhook: WebhookEnvelope,
        config: &WebhookConfig,
    ) -> Result<Vec<WebhookEnvelope>, WebhookError> {
        let kind = Self::event(config)?;
        let mut bodies =
            trim::split_body(&kind, &webhook.body, self.options.transactions_per_piece)?;
        if bodies.len() == 1 && bodies.first() == Some(&webhook.body) {
            return Ok(vec![webhook]);
        }
        let last = bodies.pop();
        let mut pieces: Vec<WebhookEnvelope> = bodies
            .into_iter()
            .map(|body| WebhookEnvelope {
                headers: webhook.headers.clone(),
                query_values: webhook.query_values.clone(),
                body,
            })
            .collect();
        if let Some(body) = last {
            pieces.push(WebhookEnvelope { body, ..webhook });
        }
        Ok(pieces)
    }

    /// Translates a (piece of a) webhook, keeping the skipped objects.
    pub fn translate(
        &self,
        webhook: &WebhookEnvelope,
        config: &WebhookConfig,
    ) -> Result<Translation, WebhookError> {
        let kind = Self::event(config)?;
        let cx = translate::TranslateContext {
            now: self.clock.now(),
            zone: self.options.zone,
            consent_horizon: self.options.consent_horizon,
        };
        translate::translate_body(&kind, &webhook.body, &cx)
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

    fn trim_webhook(
        &self,
        webhook: WebhookEnvelope,
        config: &WebhookConfig,
    ) -> Result<Vec<WebhookEnvelope>, ConnectorError> {
        Ok(self.trim(webhook, config)?)
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
    ) -> BoxFuture<'a, Result<Vec<WebhookResponse>, ConnectorError>> {
        let result = self.translate(webhook, config).map(|t| {
            for skipped in &t.skipped {
                tracing::warn!(
                    event = %config.name,
                    kind = skipped.kind,
                    id = ?skipped.id,
                    reason = %skipped.reason,
                    "webhook object skipped"
                );
            }
            t.responses
        });
        Box::pin(async move { result.map_err(ConnectorError::from) })
    }
}

#[cfg(test)]
mod tests;
