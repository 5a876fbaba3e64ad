//! The engine: runs a connector's workflow tree against a state store and a sink.
//!
//! One cycle ([`Engine::run_once`]) runs every periodic root task of the tree for every PSU
//! (at most [`EngineConfig::max_concurrent_psus`] PSUs at a time), and for each page:
//! hands the records to the [`Sink`], runs the child tasks for the
//! page's items, then commits the page's state (compare-and-set). A crash or cancellation
//! at any point therefore replays at most the pages whose state was not committed:
//! delivery is at least once, and records are idempotent.
//! [`Engine::run_periodically`] repeats cycles on the polling period plus jitter.
//!
//! Like Formance's engine, it checks each page before delivering it: references are
//! non-empty, payments have a known type and a non-negative amount; one invalid item fails
//! its task (permanently) without delivering the page.

mod config;
mod directory;
mod inbox;
mod pages;
mod progress;
mod runtime;
mod summary;
mod task;
mod trigger;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use futures::StreamExt;
use rand::Rng;
use tokio_util::sync::CancellationToken;

use crate::clock::{Clock, SystemClock};
use crate::contract::{ConnectorExt, CreateWebhooksRequest, TaskTree, UninstallRequest};
use crate::error::ConnectorError;
use crate::model::{Capability, TaskType};
use crate::openbanking::ForwardedUser;
use crate::sink::{Sink, SinkError};
use crate::state::{StateError, StateKey, StateStore};
use crate::webhook::WebhookConfig;
use crate::Connector;

pub use config::EngineConfig;
pub use directory::PsuDirectory;
pub use inbox::{
    InboxError, InboxOutcome, InboxSettings, ProcessedWebhooks, WebhookInbox, WebhookOutcome,
    DEFAULT_FRESHNESS_WINDOW, DEFAULT_KEY_RETENTION,
};
pub use progress::{ProgressCallback, ProgressEvent, TaskId};
pub use runtime::{PsuSource, SyncGate, SyncPermit, SyncReason};
pub use summary::{RunSummary, TaskFailure, SKIPPED_KEPT};

/// Why a run stopped before its end.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// The cancellation token fired.
    #[error("run cancelled")]
    Cancelled,
    /// The sink refused a batch; nothing after it was committed.
    #[error(transparent)]
    Sink(#[from] SinkError),
    /// The state store failed; nothing after it was committed.
    #[error(transparent)]
    State(#[from] StateError),
    /// The connector failed outside a fetch task (install, PSU listing, webhooks).
    #[error(transparent)]
    Connector(#[from] ConnectorError),
}

/// Runs one connector. Cheap to share behind an `Arc`; every method takes `&self`.
pub struct Engine {
    connector: Arc<dyn Connector>,
    store: Arc<dyn StateStore>,
    sink: Arc<dyn Sink>,
    config: EngineConfig,
    tree: TaskTree,
    psus: Option<Arc<dyn PsuSource>>,
    gate: Option<Arc<dyn SyncGate>>,
    progress: Option<ProgressCallback>,
    clock: Arc<dyn Clock>,
    triggers: trigger::Triggers,
    psu_locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    shutdown: CancellationToken,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("connector", &self.connector.name())
            .field("config", &self.config)
            .field("tree", &self.tree)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// An engine for `connector`, whose workflow tree is taken from its `install`.
    pub fn new(
        connector: Arc<dyn Connector>,
        store: Arc<dyn StateStore>,
        sink: Arc<dyn Sink>,
        config: EngineConfig,
    ) -> Result<Self, EngineError> {
        let tree = connector.install()?;
        let trigger_turns = config.max_concurrent_psus.get();
        Ok(Engine {
            connector,
            store,
            sink,
            config,
            tree,
            psus: None,
            gate: None,
            progress: None,
            clock: Arc::new(SystemClock),
            triggers: trigger::Triggers::new(trigger_turns),
            psu_locks: Mutex::new(HashMap::new()),
            shutdown: CancellationToken::new(),
        })
    }

    /// Runs root tasks once per PSU of `source` (open banking). Without a source, root
    /// tasks run once, with no PSU.
    pub fn with_psus(mut self, source: impl PsuSource + 'static) -> Self {
        self.psus = Some(Arc::new(source));
        self
    }

    /// Asks `gate` before syncing each PSU (see [`SyncGate`]): PSUs it refuses are skipped.
    pub fn with_sync_gate(mut self, gate: Arc<dyn SyncGate>) -> Self {
        self.gate = Some(gate);
        self
    }

    /// Reports progress to `callback`.
    pub fn with_progress(
        mut self,
        callback: impl Fn(&ProgressEvent) + Send + Sync + 'static,
    ) -> Self {
        self.progress = Some(Arc::new(callback));
        self
    }

    /// Replaces the system clock: retries, the polling period and its jitter wait on it, and
    /// the webhook inbox reads "now" from it (tests inject one that does not wait).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The engine's clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// The workflow tree being run.
    pub fn tree(&self) -> &TaskTree {
        &self.tree
    }

    /// The settings.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    pub(crate) fn emit(&self, event: ProgressEvent) {
        if let Some(callback) = &self.progress {
            callback(&event);
        }
    }

    fn webhook_configs_key() -> StateKey {
        StateKey::new(Capability::CreateWebhooks)
    }

    /// The webhook configs the last [`Engine::install`] stored (empty before any).
    pub async fn stored_webhook_configs(&self) -> Result<Vec<WebhookConfig>, EngineError> {
        Ok(match self.store.get(&Self::webhook_configs_key()).await? {
            Some(stored) => serde_json::from_value(stored.value).unwrap_or_default(),
            None => Vec::new(),
        })
    }

    /// Runs the tree's `CREATE_WEBHOOKS` tasks; returns the configs to route and verify
    /// incoming webhooks by, and stores them in the state store (they carry the signing
    /// secret): a re-install hands them to the connector, which reuses the secret rather than
    /// rotating it.
    pub async fn install(&self, webhook_base_url: &str) -> Result<Vec<WebhookConfig>, EngineError> {
        let key = Self::webhook_configs_key();
        let stored = self.store.get(&key).await?;
        let existing: Vec<WebhookConfig> = stored
            .as_ref()
            .and_then(|s| serde_json::from_value(s.value.clone()).ok())
            .unwrap_or_default();
        let mut configs = Vec::new();
        for node in self.tree.iter() {
            if node.task_type == TaskType::CreateWebhooks {
                let handler = self.connector.require_webhooks()?;
                let request = CreateWebhooksRequest {
                    connector_id: self.config.connector_id.clone(),
                    webhook_base_url: webhook_base_url.to_owned(),
                    existing: existing.clone(),
                };
                configs.extend(handler.create_webhooks(request).await?);
            }
        }
        let value = serde_json::to_value(&configs).map_err(|source| StateError::Encode {
            key: key.to_string(),
            source,
        })?;
        self.store
            .put(&key, stored.map(|s| s.version), value)
            .await?;
        Ok(configs)
    }

    /// Calls the connector's `uninstall` with `webhook_configs` (those [`Engine::install`]
    /// returned; the stored ones when empty), then forgets the stored configs.
    pub async fn uninstall(&self, webhook_configs: Vec<WebhookConfig>) -> Result<(), EngineError> {
        let webhook_configs = if webhook_configs.is_empty() {
            self.stored_webhook_configs().await?
        } else {
            webhook_configs
        };
        let request = UninstallRequest {
            connector_id: self.config.connector_id.clone(),
            webhook_configs,
        };
        self.connector.uninstall(request).await?;
        let key = Self::webhook_configs_key();
        if let Some(stored) = self.store.get(&key).await? {
            match self.store.delete(&key, stored.version).await {
                Ok(()) | Err(StateError::Conflict { .. }) => {}
                Err(other) => return Err(other.into()),
            }
        }
        Ok(())
    }

    /// The lock that keeps one PSU from being synced twice at once.
    fn psu_lock(&self, psu_id: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self
            .psu_locks
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        Arc::clone(locks.entry(psu_id.to_owned()).or_default())
    }

    async fn scopes(&self) -> Result<Vec<Option<Arc<ForwardedUser>>>, EngineError> {
        Ok(match &self.psus {
            Some(source) => source.psus().await?.into_iter().map(Some).collect(),
            None => vec![None],
        })
    }

    /// One cycle over the tree. Task failures (connector errors) are reported in the
    /// summary and do not stop other tasks; a sink or state-store failure stops the cycle
    /// with an error, as does cancellation ([`EngineError::Cancelled`]). A compare-and-set
    /// conflict (another run committed the same task first) is not fatal: the task retries
    /// from the state that won.
    pub async fn run_once(&self, cancel: &CancellationToken) -> Result<RunSummary, EngineError> {
        self.run_cycle(1, cancel).await
    }

    /// One cycle for the given PSUs only, e.g. when a webhook says a user's data is ready
    /// to fetch. Same rules as [`Engine::run_once`].
    pub async fn run_for_psus(
        &self,
        psus: Vec<Arc<ForwardedUser>>,
        cancel: &CancellationToken,
    ) -> Result<RunSummary, EngineError> {
        let scopes = psus.into_iter().map(Some).collect();
        self.run_scopes(1, scopes, SyncReason::Requested, cancel)
            .await
    }

    async fn run_cycle(
        &self,
        cycle: u64,
        cancel: &CancellationToken,
    ) -> Result<RunSummary, EngineError> {
        let scopes = self.scopes().await?;
        self.run_scopes(cycle, scopes, SyncReason::Periodic, cancel)
            .await
    }

    async fn run_scopes(
        &self,
        cycle: u64,
        scopes: Vec<Option<Arc<ForwardedUser>>>,
        reason: SyncReason,
        cancel: &CancellationToken,
    ) -> Result<RunSummary, EngineError> {
        self.emit(ProgressEvent::CycleStarted {
            cycle,
            scopes: scopes.len(),
        });
        // Stops the other PSUs when one hits a fatal error, without cancelling the caller.
        let stop = cancel.child_token();
        let summary = Mutex::new(RunSummary::default());
        let run = task::CycleRun {
            engine: self,
            cancel: &stop,
            summary: &summary,
        };
        let roots: Vec<_> = self
            .tree
            .0
            .iter()
            .filter(|node| node.task_type != TaskType::CreateWebhooks)
            .collect();
        let results: Vec<Result<(), EngineError>> = futures::stream::iter(scopes)
            .map(|psu| {
                let roots = &roots;
                let run = &run;
                let stop = &stop;
                async move {
                    let lock = psu.as_ref().map(|p| self.psu_lock(&p.psu_id));
                    let _running = match &lock {
                        Some(lock) => Some(lock.lock().await),
                        None => None,
                    };
                    let _permit = match (&psu, &self.gate) {
                        (Some(user), Some(gate)) => match gate.enter(&user.psu_id, reason).await {
                            Some(permit) => Some(permit),
                            None => {
                                tracing::debug!(psu = %user.psu_id, "PSU held by another replica; skipped");
                                return Ok(());
                            }
                        },
                        _ => None,
                    };
                    let result = run.run_psu(roots, psu).await;
                    if result.is_err() {
                        stop.cancel();
                    }
                    result
                }
            })
            .buffer_unordered(self.config.max_concurrent_psus.get())
            .collect()
            .await;
        let fatal = results
            .into_iter()
            .filter_map(Result::err)
            .find(|e| !matches!(e, EngineError::Cancelled));
        if let Some(error) = fatal {
            return Err(error);
        }
        if cancel.is_cancelled() {
            return Err(EngineError::Cancelled);
        }
        let summary = summary.into_inner().unwrap_or_else(|e| e.into_inner());
        self.emit(ProgressEvent::CycleFinished {
            cycle,
            records: summary.records,
            tasks_failed: summary.tasks_failed,
        });
        Ok(summary)
    }

    /// Runs cycles until `cancel` fires: the first at once, each next one a polling period
    /// plus a random jitter (up to [`EngineConfig::max_jitter`]) after the previous ended.
    /// Returns `Ok` when cancelled, or the first sink or state-store error.
    pub async fn run_periodically(&self, cancel: &CancellationToken) -> Result<(), EngineError> {
        let mut cycle = 0u64;
        loop {
            cycle += 1;
            match self.run_cycle(cycle, cancel).await {
                Ok(summary) => tracing::info!(
                    cycle,
                    records = summary.records,
                    tasks_failed = summary.tasks_failed,
                    "cycle finished"
                ),
                Err(EngineError::Cancelled) => return Ok(()),
                Err(EngineError::Connector(error)) => {
                    // e.g. the PSU list could not be read: try again next period
                    tracing::warn!(cycle, %error, "cycle could not start");
                }
                Err(fatal) => return Err(fatal),
            }
            let max_jitter = self.config.max_jitter();
            let jitter = if max_jitter.is_zero() {
                max_jitter
            } else {
                rand::thread_rng().gen_range(std::time::Duration::ZERO..=max_jitter)
            };
            let delay = self.config.polling_period.saturating_add(jitter);
            tokio::select! {
                biased;
                _ = cancel.cancelled() => return Ok(()),
                _ = self.clock.sleep(delay) => {}
            }
            match self.prune_webhook_keys().await {
                Ok(0) => {}
                Ok(pruned) => tracing::info!(pruned, "webhook keys past their retention pruned"),
                Err(error) => tracing::warn!(%error, "webhook keys could not be pruned"),
            }
        }
    }
}
