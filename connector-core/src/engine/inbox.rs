//! The webhook inbox: every inbound delivery goes through [`WebhookInbox::receive`].
//!
//! 1. **Verify once**: the connector's [`WebhookHandler::verify_webhook`] checks the
//!    signature; a forged request never reaches anything else.
//! 2. **Freshness**: a delivery signed longer ago than the freshness window (default
//!    [`DEFAULT_FRESHNESS_WINDOW`]) is refused as stale, so a captured delivery cannot be
//!    replayed after its key was pruned.
//! 3. **Read once**: [`WebhookHandler::translate_webhook`] reads the body once and returns the
//!    idempotency key, the provider user and the whole translation.
//! 4. **In flight / duplicate**: a delivery whose key is being processed is refused
//!    ([`InboxError::InFlight`], HTTP 409); one whose key was processed is a
//!    [`InboxOutcome::Duplicate`] and delivers nothing.
//! 5. **PSU**: the provider user is resolved through the [`super::PsuDirectory`]; an unknown
//!    user is refused ([`InboxError::UnknownUser`]) and delivers nothing. Every record gets
//!    the PSU's id.
//! 6. **All or nothing**: the records of the whole delivery reach the sink as one batch,
//!    after the whole body was translated; the key is recorded only after the sink accepted
//!    them, so a failure anywhere is redelivered and processed again, whole. With a
//!    transactional sink ([`crate::sink::Sink::transactional`]) and the keys in the engine's
//!    store, records and key are one transaction: exactly once, also across processes
//!    sharing the store (the losing key insert stores nothing and answers duplicate).
//! 7. **Sync**: when the event says the user has new data (`USER_SYNCED`,
//!    `CONNECTION_SYNCED`), a sync of the PSU is triggered ([`Engine::trigger_sync`]).
//!
//! Processed keys are kept [`DEFAULT_KEY_RETENTION`] (longer than the freshness window, so a
//! delivery is always either stale or a known duplicate) and pruned by
//! [`WebhookInbox::prune_processed`] (the inbox's retention) or
//! [`Engine::prune_webhook_keys`] (the default retention, in the engine's store), which
//! [`Engine::run_periodically`] runs every cycle.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

use super::{Engine, EngineError};
use crate::contract::{ConnectorExt, SkippedObject};
use crate::error::ConnectorError;
use crate::model::{Capability, DataReadyToFetch, Record, UserLinkSessionFinished};
use crate::sink::{CommitError, SinkError};
use crate::state::{StateError, StateKey, StateStore};
use crate::webhook::{WebhookConfig, WebhookEnvelope, WebhookResponse};

/// How long after its signature date a delivery is accepted: 3 days. Powens redelivers a
/// failed webhook "regularly until accepted" and, after 10 failures in a row, resumes at its
/// next run; three days cover a receiver down over a weekend. Polling picks up anything a
/// stale delivery carried.
pub const DEFAULT_FRESHNESS_WINDOW: Duration = Duration::from_secs(3 * 24 * 3600);

/// How long processed keys are kept: 7 days, more than twice the freshness window, so a
/// replayed delivery is either stale or a known duplicate.
pub const DEFAULT_KEY_RETENTION: Duration = Duration::from_secs(7 * 24 * 3600);

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
    /// changed while pruning is kept, and so is a state this type did not write (no readable
    /// `processedAt`). Other states of the store are never touched.
    pub async fn prune(&self, cutoff: DateTime<Utc>) -> Result<usize, StateError> {
        let mut removed = 0;
        let is_webhook_key =
            |key: &StateKey| key.is_unscoped_under(Capability::TranslateWebhooks, "webhook/");
        for (key, stored) in self.store.list_matching(&is_webhook_key).await? {
            let is_webhook_key = is_webhook_key(&key);
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

/// What one processed delivery did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct WebhookOutcome {
    /// The PSU the delivery was tied to, when it named a provider user.
    pub psu_id: Option<String>,
    /// Records delivered to the sink (in one batch).
    pub records: u64,
    /// Objects of the body that could not be translated, with the reason.
    pub skipped: Vec<SkippedObject>,
    /// Whether a sync of the PSU was triggered.
    pub sync_triggered: bool,
    /// Fetches the provider says are due.
    pub data_ready: Vec<DataReadyToFetch>,
    /// Link sessions that ended (for the caller to update its attempts).
    pub link_sessions: Vec<UserLinkSessionFinished>,
}

/// What [`WebhookInbox::receive`] did.
#[derive(Debug, PartialEq, Eq)]
pub enum InboxOutcome {
    /// First delivery of this key: translated and delivered.
    Processed {
        /// The delivery's idempotency key.
        key: String,
        /// What was delivered.
        outcome: WebhookOutcome,
    },
    /// The key was already processed: nothing was delivered.
    Duplicate {
        /// The delivery's idempotency key.
        key: String,
    },
}

/// Why [`WebhookInbox::receive`] refused or failed a delivery. Nothing was delivered.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InboxError {
    /// Verification or translation failed (see [`InboxError::http_status`]).
    #[error(transparent)]
    Connector(#[from] ConnectorError),
    /// The signature is older (or further in the future) than the freshness window.
    #[error(
        "webhook signed at {signed_at} is outside the freshness window of {window_secs} s \
         (now {now}): refused as a possible replay; a genuine redelivery carries a fresh date"
    )]
    Stale {
        /// The signature date.
        signed_at: DateTime<Utc>,
        /// The inbox clock.
        now: DateTime<Utc>,
        /// The window, in seconds.
        window_secs: u64,
    },
    /// The delivery names a provider user no PSU is recorded for.
    #[error(
        "webhook for provider user {psp_user_id}, which no PSU is forwarded to in this \
         connector's state store: forward the PSU (or register it) first; the redelivery \
         will then be processed"
    )]
    UnknownUser {
        /// The provider's user id.
        psp_user_id: String,
    },
    /// The same delivery is being processed right now; retry later.
    #[error("webhook {key} is already being processed; retry later")]
    InFlight {
        /// The delivery's idempotency key.
        key: String,
    },
    /// The key store or the PSU directory failed.
    #[error("webhook state store failed: {0}")]
    State(#[from] StateError),
    /// The sink refused the delivery's records.
    #[error(transparent)]
    Sink(#[from] SinkError),
}

impl From<EngineError> for InboxError {
    fn from(error: EngineError) -> Self {
        match error {
            EngineError::Connector(e) => InboxError::Connector(e),
            EngineError::State(e) => InboxError::State(e),
            EngineError::Sink(e) => InboxError::Sink(e),
            EngineError::Cancelled => InboxError::Connector(ConnectorError::Other {
                message: "the engine is shutting down".into(),
                source: None,
            }),
        }
    }
}

impl InboxError {
    /// The HTTP status a receiver should answer: 401 for a failed verification or a stale
    /// delivery, 422 for an unknown user (redelivered until the PSU is known), 400 for
    /// another permanent error (malformed body, unknown event), 409 for a delivery already
    /// in flight, 500 otherwise (Powens redelivers on any non-2xx).
    pub fn http_status(&self) -> u16 {
        match self {
            InboxError::InFlight { .. } => 409,
            InboxError::Stale { .. } => 401,
            InboxError::UnknownUser { .. } => 422,
            InboxError::Connector(ConnectorError::WebhookVerification { .. }) => 401,
            InboxError::Connector(e) if !e.is_retryable() => 400,
            _ => 500,
        }
    }
}

/// The inbox's windows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InboxSettings {
    /// Deliveries signed further than this from now are refused as stale; `None` turns the
    /// check off (not recommended: a captured delivery could be replayed once its key is
    /// pruned). Default [`DEFAULT_FRESHNESS_WINDOW`].
    pub freshness_window: Option<Duration>,
    /// How long processed keys are kept. Always kept longer than the freshness window (a
    /// shorter value is raised to twice the window). Default [`DEFAULT_KEY_RETENTION`].
    pub key_retention: Duration,
}

impl Default for InboxSettings {
    fn default() -> Self {
        Self {
            freshness_window: Some(DEFAULT_FRESHNESS_WINDOW),
            key_retention: DEFAULT_KEY_RETENTION,
        }
    }
}

impl InboxSettings {
    /// The retention actually applied: at least twice the freshness window.
    pub fn effective_retention(&self) -> Duration {
        match self.freshness_window {
            Some(window) => self.key_retention.max(window.saturating_mul(2)),
            None => self.key_retention,
        }
    }
}

/// Verifies, de-duplicates, ties to the PSU and delivers webhooks (see the module docs).
pub struct WebhookInbox {
    engine: Arc<Engine>,
    processed: ProcessedWebhooks,
    settings: InboxSettings,
    in_flight: Mutex<BTreeSet<String>>,
    /// Whether the keys live in the engine's store, so that a transactional sink can store
    /// a delivery's records and its key in one transaction.
    keys_in_engine_store: bool,
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
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// The inbox of this engine, keeping processed keys in the engine's state store.
    pub fn webhook_inbox(self: &Arc<Self>) -> WebhookInbox {
        let store = Arc::clone(&self.store);
        let mut inbox = self.webhook_inbox_with(store);
        inbox.keys_in_engine_store = true;
        inbox
    }

    /// The inbox of this engine, keeping processed keys in `keys`.
    pub fn webhook_inbox_with(self: &Arc<Self>, keys: Arc<dyn StateStore>) -> WebhookInbox {
        WebhookInbox {
            engine: Arc::clone(self),
            processed: ProcessedWebhooks::new(keys),
            settings: InboxSettings::default(),
            in_flight: Mutex::new(BTreeSet::new()),
            keys_in_engine_store: false,
        }
    }

    /// Forgets the webhook keys processed longer ago than the default retention (by the
    /// engine's clock); returns how many.
    pub async fn prune_webhook_keys(&self) -> Result<usize, StateError> {
        prune(
            &ProcessedWebhooks::new(Arc::clone(&self.store)),
            self.clock.now(),
            InboxSettings::default().effective_retention(),
        )
        .await
    }
}

async fn prune(
    keys: &ProcessedWebhooks,
    now: DateTime<Utc>,
    retention: Duration,
) -> Result<usize, StateError> {
    let retention = TimeDelta::from_std(retention).unwrap_or(TimeDelta::MAX);
    keys.prune(now.checked_sub_signed(retention).unwrap_or(now))
        .await
}

impl WebhookInbox {
    /// Uses `settings` instead of the defaults.
    pub fn with_settings(mut self, settings: InboxSettings) -> Self {
        self.settings = settings;
        self
    }

    /// The windows in force.
    pub fn settings(&self) -> &InboxSettings {
        &self.settings
    }

    /// Forgets the keys of deliveries processed longer ago than the retention (by the
    /// engine's clock); returns how many.
    pub async fn prune_processed(&self) -> Result<usize, StateError> {
        prune(
            &self.processed,
            self.engine.clock.now(),
            self.settings.effective_retention(),
        )
        .await
    }

    fn check_freshness(&self, signed_at: Option<DateTime<Utc>>) -> Result<(), InboxError> {
        let (Some(window), Some(signed_at)) = (self.settings.freshness_window, signed_at) else {
            return Ok(());
        };
        let now = self.engine.clock.now();
        let distance = (now - signed_at).abs().to_std().unwrap_or(Duration::MAX);
        if distance > window {
            return Err(InboxError::Stale {
                signed_at,
                now,
                window_secs: window.as_secs(),
            });
        }
        Ok(())
    }

    /// Handles one delivery (see the module docs).
    pub async fn receive(
        &self,
        config: &WebhookConfig,
        webhook: WebhookEnvelope,
    ) -> Result<InboxOutcome, InboxError> {
        let engine = &self.engine;
        let handler = engine.connector.require_webhooks()?;
        let verified = handler.verify_webhook(&webhook, config).await?;
        self.check_freshness(verified.signed_at)?;
        let translation = handler.translate_webhook(&webhook, config).await?;
        let key = translation.idempotency_key.clone();
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
        let psu = match translation.psp_user_id.as_deref() {
            Some(psp_user_id) => Some(engine.psu_directory().get(psp_user_id).await?.ok_or_else(
                || InboxError::UnknownUser {
                    psp_user_id: psp_user_id.to_owned(),
                },
            )?),
            None => None,
        };
        let mut outcome = WebhookOutcome {
            psu_id: psu.as_ref().map(|p| p.psu_id.clone()),
            skipped: translation.skipped,
            ..WebhookOutcome::default()
        };
        for skipped in &outcome.skipped {
            tracing::warn!(
                event = %config.name,
                kind = %skipped.kind,
                id = ?skipped.id,
                reason = %skipped.reason,
                "webhook object skipped"
            );
        }
        let mut records: Vec<Record> = Vec::with_capacity(translation.responses.len());
        for response in translation.responses {
            match response {
                WebhookResponse::DataReadyToFetch(ready) => outcome.data_ready.push(ready),
                WebhookResponse::UserLinkSessionFinished(done) => outcome.link_sessions.push(done),
                other => records.extend(other.into_record()),
            }
        }
        if let Some(psu) = &psu {
            for record in &mut records {
                record.set_psu(&psu.psu_id);
            }
        }
        match engine
            .sink
            .transactional()
            .filter(|_| self.keys_in_engine_store)
        {
            // Records and key in one transaction: a crash keeps both or neither, and of two
            // processes sharing the store that receive the same delivery at once, the one
            // whose key insert loses stores nothing and answers duplicate.
            Some(transactional) => {
                let value = serde_json::json!({ "processedAt": engine.clock.now() });
                let state_key = ProcessedWebhooks::state_key(&key);
                match transactional
                    .accept_and_commit(&records, &state_key, None, value)
                    .await
                {
                    Ok(_) => {}
                    Err(CommitError::State(StateError::Conflict { .. })) => {
                        return Ok(InboxOutcome::Duplicate { key });
                    }
                    Err(CommitError::State(error)) => return Err(error.into()),
                    Err(CommitError::Sink(error)) => return Err(error.into()),
                }
                outcome.records = records.len() as u64;
            }
            None => {
                if !records.is_empty() {
                    engine.sink.accept(&records).await?;
                    outcome.records = records.len() as u64;
                }
                self.processed.record(&key, engine.clock.now()).await?;
            }
        }
        if translation.sync_requested {
            if let Some(psu) = psu {
                engine.trigger_sync(Arc::new(psu));
                outcome.sync_triggered = true;
            }
        }
        Ok(InboxOutcome::Processed { key, outcome })
    }
}
