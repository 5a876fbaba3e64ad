//! Redelivery de-duplication around [`Engine::handle_webhook`].
//!
//! Powens redelivers a webhook (same body, same `id_webhook_data`) until it gets a 2xx, and
//! the engine itself does not de-duplicate. [`WebhookInbox::receive`] therefore:
//!
//! 1. verifies the webhook (a forged request never reaches the key store);
//! 2. looks its idempotency key up in [`ProcessedWebhooks`]: seen → [`InboxOutcome::Duplicate`],
//!    nothing delivered;
//! 3. else runs [`Engine::handle_webhook`] (verify, trim, translate, deliver to the sink);
//! 4. records the key only **after** the engine succeeded, so a failure is redelivered and
//!    processed again (at least once).
//!
//! A redelivery that arrives while the first delivery is still being processed (Powens timed
//! out waiting for a large first sync) is refused with [`InboxError::InFlight`] (HTTP 409):
//! Powens retries it later, when the key is recorded (→ duplicate) or free again (→ the first
//! attempt failed and this one processes it). Across processes sharing one key store, two
//! concurrent deliveries may both be processed; records are idempotent, and the second
//! recording is a compare-and-set conflict, reported as already recorded.
//!
//! [`ProcessedWebhooks`] keeps one state per key in any connector-core [`StateStore`] (the
//! file store survives restarts; several processes may share it thanks to compare-and-set).

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, TimeDelta, Utc};
use connector_core::contract::WebhookHandler;
use connector_core::engine::{EngineError, WebhookOutcome};
use connector_core::model::Capability;
use connector_core::state::{StateError, StateKey, StateStore};
use connector_core::webhook::{WebhookConfig, WebhookEnvelope};
use connector_core::{ConnectorError, Engine};
use powens_api::time::Clock;

/// The idempotency keys of processed webhooks, in a [`StateStore`] (one state per key under
/// capability `TRANSLATE_WEBHOOKS`, parent `webhook/<key>`).
#[derive(Clone)]
pub struct ProcessedWebhooks {
    store: Arc<dyn StateStore>,
}

impl std::fmt::Debug for ProcessedWebhooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProcessedWebhooks").finish_non_exhaustive()
    }
}

impl ProcessedWebhooks {
    /// Keys kept in `store`.
    pub fn new(store: Arc<dyn StateStore>) -> Self {
        Self { store }
    }

    fn state_key(key: &str) -> StateKey {
        StateKey::new(Capability::TranslateWebhooks).for_parent(format!("webhook/{key}"))
    }

    /// Whether `key` was recorded.
    pub async fn contains(&self, key: &str) -> Result<bool, StateError> {
        Ok(self.store.get(&Self::state_key(key)).await?.is_some())
    }

    /// Records `key` as processed at `at`; `false` when it already was.
    pub async fn record(&self, key: &str, at: DateTime<Utc>) -> Result<bool, StateError> {
        let value = serde_json::json!({ "processedAt": at });
        match self.store.put(&Self::state_key(key), None, value).await {
            Ok(_) => Ok(true),
            Err(StateError::Conflict { .. }) => Ok(false),
            Err(other) => Err(other),
        }
    }

    /// Forgets every key processed before `cutoff`; returns how many. A key whose state
    /// changed while pruning (recorded again by another process) is kept, and so is a state
    /// this type did not write (no readable `processedAt`). Other states of the store are
    /// never touched.
    pub async fn prune(&self, cutoff: DateTime<Utc>) -> Result<usize, StateError> {
        let mut removed = 0;
        for (key, stored) in self.store.list().await? {
            let is_webhook_key = key.capability == Capability::TranslateWebhooks
                && key.scope.psu_id.is_none()
                && key
                    .scope
                    .parent
                    .as_deref()
                    .is_some_and(|parent| parent.starts_with("webhook/"));
            let processed_at = stored
                .value
                .get("processedAt")
                .and_then(serde_json::Value::as_str)
                .and_then(|text| DateTime::parse_from_rfc3339(text).ok());
            let Some(processed_at) = processed_at.filter(|_| is_webhook_key) else {
                continue;
            };
            if processed_at >= cutoff {
                continue;
            }
            match self.store.delete(&key, stored.version).await {
                Ok(()) => removed += 1,
                Err(StateError::Conflict { .. }) => {}
                Err(other) => return Err(other),
            }
        }
        Ok(removed)
    }

    /// Forgets `key` (the next delivery with it is processed again).
    pub async fn forget(&self, key: &str) -> Result<(), StateError> {
        let state_key = Self::state_key(key);
        match self.store.get(&state_key).await? {
            Some(found) => self.store.delete(&state_key, found.version).await,
            None => Ok(()),
        }
    }
}

/// What [`WebhookInbox::receive`] did.
#[derive(Debug, PartialEq, Eq)]
pub enum InboxOutcome {
    /// First delivery of this key: the engine handled it.
    Processed {
        /// The delivery's idempotency key.
        key: String,
        /// What the engine did.
        outcome: WebhookOutcome,
    },
    /// The key was already processed: nothing was delivered.
    Duplicate {
        /// The delivery's idempotency key.
        key: String,
    },
}

/// Why [`WebhookInbox::receive`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InboxError {
    /// The webhook was rejected (verification) or the engine failed.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The key store failed.
    #[error("webhook key store failed: {0}")]
    Keys(#[from] StateError),
    /// The same delivery is being processed right now; retry later.
    #[error("webhook {key} is already being processed; retry later")]
    InFlight {
        /// The delivery's idempotency key.
        key: String,
    },
}

impl InboxError {
    /// The HTTP status a receiver should answer: 401 for a failed verification, 400 for
    /// another permanent error (malformed body, unknown event), 409 for a delivery already in
    /// flight, 500 otherwise (Powens redelivers on any non-2xx).
    pub fn http_status(&self) -> u16 {
        match self {
            InboxError::InFlight { .. } => 409,
            InboxError::Engine(EngineError::Connector(ConnectorError::WebhookVerification {
                ..
            })) => 401,
            InboxError::Engine(EngineError::Connector(e)) if !e.is_retryable() => 400,
            _ => 500,
        }
    }
}

/// Verifies, de-duplicates and hands webhooks to the engine (see the module docs).
pub struct WebhookInbox {
    engine: Arc<Engine>,
    handler: Arc<dyn WebhookHandler>,
    processed: ProcessedWebhooks,
    clock: Arc<dyn Clock>,
    in_flight: Mutex<BTreeSet<String>>,
}

/// Removes a key from the in-flight set when processing ends, however it ends.
struct InFlightGuard<'a> {
    keys: &'a Mutex<BTreeSet<String>>,
    key: String,
}

impl Drop for InFlightGuard<'_> {
    fn drop(&mut self) {
        self.keys
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.key);
    }
}

impl std::fmt::Debug for WebhookInbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookInbox")
            .field("engine", &self.engine)
            .finish_non_exhaustive()
    }
}

impl WebhookInbox {
    /// An inbox for `engine`, whose connector's webhook handler is `handler`.
    pub fn new(
        engine: Arc<Engine>,
        handler: Arc<dyn WebhookHandler>,
        processed: ProcessedWebhooks,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            engine,
            handler,
            processed,
            clock,
            in_flight: Mutex::new(BTreeSet::new()),
        }
    }

    /// Forgets the keys of deliveries processed more than `retention` ago (by the inbox's
    /// clock); returns how many. Without it the key store grows by one state per webhook.
    /// Powens redelivers a webhook only until it gets a 2xx, so a retention of a few days
    /// (e.g. `TimeDelta::days(7)`) is ample; run it periodically, e.g. once per polling
    /// cycle. A redelivery of a pruned key would be processed again, which is harmless:
    /// records are idempotent.
    pub async fn prune_processed(&self, retention: TimeDelta) -> Result<usize, StateError> {
        let now = self.clock.now();
        self.processed
            .prune(now.checked_sub_signed(retention).unwrap_or(now))
            .await
    }

    /// Handles one delivery (see the module docs).
    pub async fn receive(
        &self,
        config: &WebhookConfig,
        webhook: WebhookEnvelope,
    ) -> Result<InboxOutcome, InboxError> {
        let verified = self
            .handler
            .verify_webhook(&webhook, config)
            .await
            .map_err(EngineError::from)?;
        let Some(key) = verified.idempotency_key else {
            let outcome = self.engine.handle_webhook(config, webhook).await?;
            return Ok(InboxOutcome::Processed {
                key: String::new(),
                outcome,
            });
        };
        let inserted = self
            .in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key.clone());
        if !inserted {
            return Err(InboxError::InFlight { key });
        }
        let _guard = InFlightGuard {
            keys: &self.in_flight,
            key: key.clone(),
        };
        if self.processed.contains(&key).await? {
            return Ok(InboxOutcome::Duplicate { key });
        }
        let outcome = self.engine.handle_webhook(config, webhook).await?;
        self.processed.record(&key, self.clock.now()).await?;
        Ok(InboxOutcome::Processed { key, outcome })
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use connector_core::state::MemoryStateStore;

    use super::*;

    #[tokio::test]
    async fn a_key_is_recorded_once_and_can_be_forgotten() {
        let keys = ProcessedWebhooks::new(Arc::new(MemoryStateStore::new()));
        let at = Utc.with_ymd_and_hms(2026, 6, 18, 6, 0, 0).unwrap();
        assert!(!keys.contains("id_webhook_data:1").await.unwrap());
        assert!(keys.record("id_webhook_data:1", at).await.unwrap());
        assert!(keys.contains("id_webhook_data:1").await.unwrap());
        assert!(!keys.contains("id_webhook_data:2").await.unwrap());
        assert!(
            !keys.record("id_webhook_data:1", at).await.unwrap(),
            "second record"
        );
        keys.forget("id_webhook_data:1").await.unwrap();
        assert!(!keys.contains("id_webhook_data:1").await.unwrap());
        keys.forget("never-seen").await.unwrap();
    }

    #[tokio::test]
    async fn pruning_forgets_only_webhook_keys_processed_before_the_cutoff() {
        let store = Arc::new(MemoryStateStore::new());
        let keys = ProcessedWebhooks::new(Arc::clone(&store) as Arc<dyn StateStore>);
        let day = |d: u32| Utc.with_ymd_and_hms(2026, 6, d, 6, 0, 0).unwrap();
        keys.record("id_webhook_data:1", day(1)).await.unwrap();
        keys.record("id_webhook_data:2", day(9)).await.unwrap();
        keys.record("id_webhook_data:3", day(10)).await.unwrap();
        // Another task's state and a foreign state under the same capability stay.
        let payments = StateKey::new(Capability::FetchPayments).for_parent("webhook/1");
        store
            .put(&payments, None, serde_json::json!({"processedAt": day(1)}))
            .await
            .unwrap();
        let foreign = StateKey::new(Capability::TranslateWebhooks).for_parent("webhook/raw");
        store
            .put(&foreign, None, serde_json::json!({"note": "not a key"}))
            .await
            .unwrap();

        assert_eq!(keys.prune(day(9)).await.unwrap(), 1);
        assert!(!keys.contains("id_webhook_data:1").await.unwrap());
        assert!(
            keys.contains("id_webhook_data:2").await.unwrap(),
            "at the cutoff"
        );
        assert!(keys.contains("id_webhook_data:3").await.unwrap());
        assert!(store.get(&payments).await.unwrap().is_some());
        assert!(store.get(&foreign).await.unwrap().is_some());
        assert_eq!(
            keys.prune(day(9)).await.unwrap(),
            0,
            "nothing left to prune"
        );
    }

    #[tokio::test]
    async fn pruning_works_on_the_file_store_across_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let open = || {
            Arc::new(connector_core::state::FileStateStore::open(dir.path()).unwrap())
                as Arc<dyn StateStore>
        };
        let day = |d: u32| Utc.with_ymd_and_hms(2026, 6, d, 6, 0, 0).unwrap();
        let keys = ProcessedWebhooks::new(open());
        keys.record("id_webhook_data:7", day(1)).await.unwrap();
        keys.record("id_webhook_data:8", day(20)).await.unwrap();
        let reopened = ProcessedWebhooks::new(open());
        assert_eq!(reopened.prune(day(10)).await.unwrap(), 1);
        assert!(!reopened.contains("id_webhook_data:7").await.unwrap());
        assert!(reopened.contains("id_webhook_data:8").await.unwrap());
    }

    #[test]
    fn rejections_map_to_http_statuses_powens_understands() {
        let verification = InboxError::Engine(EngineError::Connector(
            ConnectorError::WebhookVerification {
                message: "mismatch".into(),
            },
        ));
        assert_eq!(verification.http_status(), 401);
        let malformed = InboxError::Engine(EngineError::Connector(ConnectorError::Validation {
            field: "body".into(),
            message: "bad".into(),
        }));
        assert_eq!(malformed.http_status(), 400);
        let transient = InboxError::Engine(EngineError::Connector(ConnectorError::Other {
            message: "disk".into(),
            source: None,
        }));
        assert_eq!(transient.http_status(), 500);
        let in_flight = InboxError::InFlight { key: "k".into() };
        assert_eq!(in_flight.http_status(), 409);
    }
}
