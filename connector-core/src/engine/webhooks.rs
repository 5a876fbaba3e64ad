//! Inbound webhooks: verify, trim, translate, deliver.

use super::{Engine, EngineError};
use crate::contract::ConnectorExt;
use crate::model::{DataReadyToFetch, UserLinkSessionFinished};
use crate::webhook::{WebhookConfig, WebhookEnvelope, WebhookResponse};

/// What handling one webhook produced.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct WebhookOutcome {
    /// One idempotency key per trimmed piece (`<key>-<i>`), when the provider gave one.
    pub idempotency_keys: Vec<String>,
    /// Records delivered to the sink.
    pub records: u64,
    /// Fetches the provider says are due (for the caller to schedule).
    pub data_ready: Vec<DataReadyToFetch>,
    /// Link sessions that ended (for the caller to update its attempts).
    pub link_sessions: Vec<UserLinkSessionFinished>,
}

impl Engine {
    /// Verifies `webhook` against `config`, splits it, translates each piece and delivers
    /// the resulting records to the sink, piece by piece, in the connector's order.
    pub async fn handle_webhook(
        &self,
        config: &WebhookConfig,
        webhook: WebhookEnvelope,
    ) -> Result<WebhookOutcome, EngineError> {
        let handler = self.connector.require_webhooks()?;
        let verified = handler.verify_webhook(&webhook, config).await?;
        let pieces = handler.trim_webhook(webhook, config)?;
        let mut outcome = WebhookOutcome::default();
        for (i, piece) in pieces.iter().enumerate() {
            if let Some(key) = &verified.idempotency_key {
                outcome.idempotency_keys.push(format!("{key}-{i}"));
            }
            let mut records = Vec::new();
            for response in handler.translate_webhook(piece, config).await? {
                match response {
                    WebhookResponse::DataReadyToFetch(ready) => outcome.data_ready.push(ready),
                    WebhookResponse::UserLinkSessionFinished(done) => {
                        outcome.link_sessions.push(done)
                    }
                    other => records.extend(other.into_record()),
                }
            }
            if !records.is_empty() {
                self.sink.accept(&records).await?;
                outcome.records += records.len() as u64;
            }
        }
        Ok(outcome)
    }
}
