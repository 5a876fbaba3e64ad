//! The connector as a long-running service, independent of any HTTP framework: polling every
//! `pollingPeriod`, webhooks through the engine's inbox, PSU management (create, link,
//! callback, reconnect, status, delete), readiness and metrics. `powens serve` puts an HTTP
//! front on it; `examples/service.rs` shows it alone.
//!
//! * **Polling**: [`Service::run_polling`] runs a cycle over the service's PSUs
//!   ([`Engine::run_once`]) at once, then every `pollingPeriod` plus a jitter of at most
//!   `min(period / 2, 5 min)` (the rules of [`Engine::run_periodically`]), with the sink and
//!   state store given to [`Service::start`], each cycle measured in the metrics. A sink or
//!   store failure stops a cycle; the loop starts again after a pause and `/readyz` reports
//!   it meanwhile.
//! * **Webhooks**: [`Service::receive_webhook`] routes a request path under
//!   `<public URL>/webhooks` to the config of its event and hands it to the inbox (verify,
//!   freshness, de-duplicate, translate, one sink batch, ack). The reply's status makes
//!   Powens redeliver exactly when it should: 2xx processed or duplicate, 4xx a bad
//!   signature or body, 5xx when the sink or the store failed. `USER_SYNCED` and
//!   `CONNECTION_SYNCED` trigger a sync of the PSU.
//! * **PSUs**: kept in the state store (a restart finds them), each forwarded to Powens when
//!   created. A link's Webview comes back to `<public URL>/callback`, which
//!   [`Service::complete_callback`] completes (CSRF state checked), then it triggers a sync
//!   of the PSU and names the `clientRedirectURL` to send the user to. Users that exist at
//!   Powens already are added with [`Service::import_psu`] (their token).
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use connector_core::sink::JsonLinesSink;
//! use connector_core::state::FileStateStore;
//! use connector_powens::service::{CreatePsu, Service, ServiceOptions};
//! use connector_powens::{PowensConfig, PowensConnector};
//!
//! let config = PowensConfig::from_json(&std::fs::read("config.json")?)?;
//! let connector = PowensConnector::new(config)?;
//! let store = Arc::new(FileStateStore::open("state")?);
//! let sink = Arc::new(JsonLinesSink::append("records.jsonl").await?);
//! let service = Arc::new(
//!     Service::start(connector, store, sink, ServiceOptions::new("https://connector.example")).await?,
//! );
//! let alice = service.create_psu(CreatePsu { id: Some("alice".into()), name: None }).await?;
//! let link = service.create_link(&alice.id, "https://app.example/done").await?;
//! println!("send the user to {}", link.url);
//! let cancel = tokio_util::sync::CancellationToken::new();
//! service.run_polling(&cancel).await;
//! # Ok(()) }
//! ```

mod error;
pub mod metrics;
mod registry;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use connector_core::clock::Clock;
use connector_core::contract::{CompleteUserLinkRequest, CreateUserLinkRequest, OpenBankingFlows};
use connector_core::engine::{
    EngineConfig, EngineError, InboxOutcome, ProgressEvent, SyncGate, WebhookInbox,
};
use connector_core::model::{AttemptStatus, Capability, ConnectionStatus, TaskType};
use connector_core::openbanking::{
    CallbackState, Connection, ForwardedUser, LinkAttempt, LinkOutcome, PaymentServiceUser, Token,
};
use connector_core::sink::Sink;
use connector_core::state::{StateKey, StateStore};
use connector_core::webhook::{Headers, WebhookConfig, WebhookEnvelope};
use connector_core::{ConnectorError, Engine};
use powens_api::connections::ConnectionsQuery;
use rand::RngCore;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

pub use error::ServiceError;
pub use metrics::ServiceMetrics;
use registry::{AttemptEntry, AttemptKind, NotDeleted, PsuEntry, Registry, RegistrySource};

use crate::error::to_connector_error;
use crate::flows::user_token;
use crate::webhooks::routes;
use crate::PowensConnector;

/// The path webhooks are received under, below the public URL.
pub const WEBHOOK_PREFIX: &str = "/webhooks";
/// The path the Webview sends users back to, below the public URL.
pub const CALLBACK_PATH: &str = "/callback";
/// The longest PSU id accepted.
pub const MAX_PSU_ID_LEN: usize = 64;
/// How often changed last-successful-sync times are written to the state store while polling.
pub const LAST_SYNC_FLUSH: Duration = Duration::from_secs(1);

/// The parent prefix of the stored PSUs' state keys (capability `TRANSLATE_WEBHOOKS`, no
/// PSU scope): `service/psu/<id>`. Processes sharing a store list the PSUs by it.
pub const PSU_STATE_PREFIX: &str = "service/psu/";

/// How the service runs.
#[derive(Clone)]
pub struct ServiceOptions {
    /// The service's public base URL (scheme, host, port, optional path; no trailing `/`):
    /// webhooks are registered under `<public_url>/webhooks/…` and the Webview comes back to
    /// `<public_url>/callback`.
    pub public_url: String,
    /// The connector instance id (state keys, forwarded users). Default `powens`.
    pub connector_id: String,
    /// The application name shown in the Webview. Default `powens-serve`.
    pub application_name: String,
    /// PSUs synced at the same time. Default 4.
    pub max_concurrent_psus: usize,
    /// Where to count; share it with the Powens client's observer to count requests.
    pub metrics: Arc<ServiceMetrics>,
    /// Asked before each PSU's sync when replicas share the store (e.g.
    /// `connector_postgres::PsuLeases`): PSUs it refuses are synced by another replica.
    /// Default none: every PSU is synced here.
    pub sync_gate: Option<Arc<dyn SyncGate>>,
}

impl std::fmt::Debug for ServiceOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceOptions")
            .field("public_url", &self.public_url)
            .field("connector_id", &self.connector_id)
            .field("application_name", &self.application_name)
            .field("max_concurrent_psus", &self.max_concurrent_psus)
            .field("sync_gate", &self.sync_gate.is_some())
            .finish_non_exhaustive()
    }
}

impl ServiceOptions {
    /// The defaults for a service reachable at `public_url`.
    pub fn new(public_url: impl Into<String>) -> Self {
        Self {
            public_url: public_url.into().trim_end_matches('/').to_owned(),
            connector_id: "powens".into(),
            application_name: "powens-serve".into(),
            max_concurrent_psus: 4,
            metrics: Arc::new(ServiceMetrics::default()),
            sync_gate: None,
        }
    }
}

/// `POST /psus`.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreatePsu {
    /// The PSU id: 1 to 64 of `[A-Za-z0-9._-]`; generated (`psu-<16 hex>`) when absent.
    pub id: Option<String>,
    /// A display name (default: the id).
    pub name: Option<String>,
}

/// A created PSU.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PsuCreated {
    /// The PSU id.
    pub id: String,
    /// The Powens user id it was forwarded to.
    #[serde(rename = "powensUserID")]
    pub powens_user_id: Option<String>,
}

/// What [`Service::import_psu`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PsuImport {
    /// The PSU was added.
    Imported(PsuCreated),
    /// A PSU with this id and this token existed already: nothing changed.
    AlreadyKnown(PsuCreated),
}

/// The prefix of the id [`Service::import_psu`] gives a PSU imported without one, before its
/// Powens user id (as `powens sync` names a bare token).
pub const IMPORTED_ID_PREFIX: &str = "powens-user-";

/// A Webview link for a PSU.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct LinkCreated {
    /// The Webview URL to send the user to (it carries a one-time code).
    pub url: String,
    /// The link attempt, named again by the callback's `state`.
    #[serde(rename = "attemptID")]
    pub attempt_id: String,
}

impl std::fmt::Debug for LinkCreated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown = self.url.split('?').next().unwrap_or_default();
        f.debug_struct("LinkCreated")
            .field("url", &format!("{shown}?[REDACTED]"))
            .field("attempt_id", &self.attempt_id)
            .finish()
    }
}

/// What a completed callback asks the front end to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackDone {
    /// The PSU the attempt belonged to.
    pub psu_id: String,
    /// Where to send the user (`303`): the attempt's `clientRedirectURL`, with `error` (and
    /// `error_description`) added when the link failed.
    pub redirect_to: String,
    /// Whether the link succeeded (a sync of the PSU was then started).
    pub linked: bool,
}

/// One connection in [`PsuStatus`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionView {
    /// The Powens connection id.
    pub id: String,
    /// Powens' state (`null` when the last sync went well, else e.g. `SCARequired`).
    pub state: Option<String>,
    /// Whether Powens syncs it.
    pub active: Option<bool>,
    /// Powens' message for the state, when given.
    pub error_message: Option<String>,
    /// When the consent ends (`expire`), UTC.
    pub consent_expires_at: Option<DateTime<Utc>>,
    /// When Powens last synced it, UTC.
    pub last_update: Option<DateTime<Utc>>,
}

/// `GET /psus/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PsuStatus {
    /// The PSU id.
    pub id: String,
    /// Its display name.
    pub name: String,
    /// The Powens user id.
    #[serde(rename = "powensUserID")]
    pub powens_user_id: Option<String>,
    /// When the PSU was created.
    pub created_at: DateTime<Utc>,
    /// The end of its last sync without a failed task (kept in the state store: a restart
    /// shows it too).
    pub last_successful_sync: Option<DateTime<Utc>>,
    /// Its connections, as Powens reports them now.
    pub connections: Vec<ConnectionView>,
}

/// The answer to a webhook delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookReply {
    /// The HTTP status: 200 processed or duplicate; 400/401/404/422 refused for good
    /// (or until the PSU is known); 409 in flight; 500 sink or store failed.
    pub status: u16,
    /// A JSON body saying what happened.
    pub body: serde_json::Value,
}

/// The service (see the module docs). Share it behind an `Arc`.
pub struct Service {
    connector: Arc<PowensConnector>,
    engine: Arc<Engine>,
    inbox: WebhookInbox,
    configs: Vec<WebhookConfig>,
    registry: Arc<Registry>,
    store: Arc<dyn StateStore>,
    sink: Arc<dyn Sink>,
    options: ServiceOptions,
    clock: Arc<dyn Clock>,
    poll_failed: Arc<AtomicBool>,
    creating: Mutex<BTreeSet<String>>,
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service")
            .field("public_url", &self.options.public_url)
            .field("psus", &self.registry.len())
            .finish_non_exhaustive()
    }
}

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

fn check_psu_id(id: &str) -> Result<(), ServiceError> {
    let ok = !id.is_empty()
        && id.len() <= MAX_PSU_ID_LEN
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(ServiceError::bad_request(format!(
            "PSU id {id:?} is invalid: use 1 to {MAX_PSU_ID_LEN} characters of A-Z, a-z, 0-9, '.', '_', '-'"
        )))
    }
}

fn check_client_redirect(url: &str) -> Result<url::Url, ServiceError> {
    let parsed = url::Url::parse(url).map_err(|e| {
        ServiceError::bad_request(format!(
            "clientRedirectURL {url:?} is not an absolute URL: {e}"
        ))
    })?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(ServiceError::bad_request(format!(
            "clientRedirectURL {url:?} must be an http or https URL with a host"
        )));
    }
    Ok(parsed)
}

/// A fetch task's name in [`ServiceMetrics`]' running set: type, PSU, parent.
fn task_key(task: &connector_core::engine::TaskId) -> String {
    format!(
        "{}/{}/{}/{}",
        task.task_type.as_str(),
        task.name,
        task.psu_id.as_deref().unwrap_or_default(),
        task.parent.as_deref().unwrap_or_default()
    )
}

fn is_root_accounts(task: &connector_core::engine::TaskId) -> bool {
    task.task_type == TaskType::FetchAccounts
        && task.parent.is_none()
        && task.name != "connection_events"
}

impl Service {
    /// Builds the engine over `store` and `sink` (the service's PSUs, the config's
    /// `pollingPeriod` and `pageSize`), installs the connector with webhooks under
    /// `<public_url>/webhooks` (reusing a stored signing secret), and reads the stored PSUs.
    pub async fn start(
        connector: PowensConnector,
        store: Arc<dyn StateStore>,
        sink: Arc<dyn Sink>,
        options: ServiceOptions,
    ) -> Result<Self, ServiceError> {
        let connector = Arc::new(connector);
        let metrics = Arc::clone(&options.metrics);
        let registry = Arc::new(Registry::load(Arc::clone(&store)).await?);
        let clock = connector.engine_clock();
        let config = EngineConfig {
            connector_id: options.connector_id.clone(),
            page_size: std::num::NonZeroU32::new(connector.config().page_size)
                .unwrap_or(std::num::NonZeroU32::MIN),
            max_concurrent_psus: std::num::NonZeroUsize::new(options.max_concurrent_psus)
                .unwrap_or(std::num::NonZeroUsize::MIN),
            polling_period: connector.config().polling_period,
            ..EngineConfig::default()
        };
        let poll_failed = Arc::new(AtomicBool::new(false));
        let metered: Arc<dyn Sink> = Arc::new(metrics::MeteredSink {
            inner: Arc::clone(&sink),
            metrics: Arc::clone(&metrics),
        });
        let progress = {
            let (metrics, registry, clock) = (
                Arc::clone(&metrics),
                Arc::clone(&registry),
                Arc::clone(&clock),
            );
            // PSUs whose current sync has a failed task.
            let failed: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());
            move |event: &ProgressEvent| match event {
                ProgressEvent::TaskStarted { task, attempt } => {
                    if *attempt == 1 {
                        metrics.task_running(task_key(task));
                    }
                    if let (1, true, Some(psu)) = (*attempt, is_root_accounts(task), &task.psu_id) {
                        failed
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .remove(psu);
                    }
                }
                ProgressEvent::TaskFailed {
                    task,
                    will_retry: false,
                    ..
                } => {
                    metrics.task_ended(&task_key(task));
                    metrics.task_failed(task.task_type.as_str());
                    if let Some(psu) = &task.psu_id {
                        failed
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .insert(psu.clone());
                    }
                }
                ProgressEvent::TaskFinished { task, .. } => {
                    metrics.task_ended(&task_key(task));
                    if let (true, Some(psu)) = (is_root_accounts(task), &task.psu_id) {
                        let clean = !failed
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .contains(psu);
                        if clean {
                            registry.record_sync(psu, clock.now());
                        }
                    }
                }
                _ => {}
            }
        };
        let mut engine = Engine::new(
            Arc::clone(&connector) as Arc<dyn connector_core::Connector>,
            Arc::clone(&store),
            metered,
            config,
        )?
        .with_psus(RegistrySource(Arc::clone(&registry)))
        .with_clock(Arc::clone(&clock))
        .with_progress(progress);
        engine = engine.with_sync_gate(Arc::new(NotDeleted {
            registry: Arc::clone(&registry),
            next: options.sync_gate.clone(),
        }));
        let engine = Arc::new(engine);
        let webhook_base = format!("{}{WEBHOOK_PREFIX}", options.public_url);
        let configs = engine.install(&webhook_base).await?;
        let inbox = engine.webhook_inbox();
        for user in registry.users() {
            engine.register_psu(&user).await?;
        }
        Ok(Self {
            connector,
            engine,
            inbox,
            configs,
            registry,
            store,
            sink,
            options,
            clock,
            poll_failed,
            creating: Mutex::new(BTreeSet::new()),
        })
    }

    /// The engine (for its inbox, triggers and directory).
    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    /// The connector.
    pub fn connector(&self) -> &Arc<PowensConnector> {
        &self.connector
    }

    /// The webhook configs install returned: `(event, full URL)` is what to register at
    /// Powens (its console) — the embedded sandbox is pointed at them directly.
    pub fn webhook_configs(&self) -> &[WebhookConfig] {
        &self.configs
    }

    /// The URL the Webview sends users back to.
    pub fn callback_url(&self) -> String {
        format!("{}{CALLBACK_PATH}", self.options.public_url)
    }

    /// The metrics.
    pub fn metrics(&self) -> &Arc<ServiceMetrics> {
        &self.options.metrics
    }

    /// The ids of the PSUs known here.
    pub fn psu_ids(&self) -> Vec<String> {
        self.registry.ids()
    }

    /// Reads the stored PSUs and link attempts again: those another replica sharing the
    /// store created or deleted.
    pub async fn reload_psus(&self) -> Result<(), ServiceError> {
        Ok(self.registry.reload().await?)
    }

    /// Starts a sync of `psu_id` now (in the background; see [`Engine::trigger_sync`]);
    /// `false` when the PSU is unknown here.
    pub fn sync_psu(&self, psu_id: &str) -> bool {
        match self.registry.get(psu_id) {
            Some(entry) => {
                self.engine.trigger_sync(entry.user);
                true
            }
            None => false,
        }
    }

    /// Polls until `cancel` fires: the engine's periodic loop over the service's PSUs. A sink
    /// or store failure ends a cycle; the loop waits `min(pollingPeriod, 30 s)` and starts
    /// again (readiness reports the failure until a cycle completes).
    pub async fn run_polling(&self, cancel: &CancellationToken) {
        tokio::join!(self.poll(cancel), self.flush_last_syncs_until(cancel));
    }

    /// Writes the last successful sync times every [`LAST_SYNC_FLUSH`] while they change,
    /// until `cancel` fires ([`Service::shutdown`] writes them a last time).
    async fn flush_last_syncs_until(&self, cancel: &CancellationToken) {
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return,
                // Real time, not the service clock: a test's manual clock returns at once.
                _ = tokio::time::sleep(LAST_SYNC_FLUSH) => {}
            }
            if let Err(error) = self.registry.flush_last_syncs().await {
                tracing::warn!(%error, "last sync times could not be stored; trying again");
            }
        }
    }

    /// The polling loop: a cycle over every PSU at once, then every `pollingPeriod` plus a
    /// jitter (as [`Engine::run_periodically`], whose rules it keeps), each measured in
    /// [`ServiceMetrics::polling_cycle`]. A sink or store failure ends a cycle; the next one
    /// starts after `min(pollingPeriod, 30 s)`.
    async fn poll(&self, cancel: &CancellationToken) {
        let period = self.connector.config().polling_period;
        let mut cycle = 0u64;
        loop {
            cycle += 1;
            let started = std::time::Instant::now();
            let requests_before = self.metrics().requests_total();
            let mut pause = period;
            match self.engine.run_once(cancel).await {
                Ok(summary) => {
                    self.poll_failed.store(false, Ordering::Relaxed);
                    let requests = self.metrics().requests_total() - requests_before;
                    self.metrics().polling_cycle(started.elapsed(), requests);
                    tracing::info!(
                        cycle,
                        records = summary.records,
                        tasks_failed = summary.tasks_failed,
                        requests,
                        "polling cycle finished"
                    );
                }
                Err(EngineError::Cancelled) => return,
                Err(EngineError::Connector(error)) => {
                    tracing::warn!(cycle, %error, "polling cycle could not start");
                }
                Err(error) => {
                    self.poll_failed.store(true, Ordering::Relaxed);
                    tracing::error!(%error, "polling stopped by a sink or store failure; starting again soon");
                    pause = period.min(Duration::from_secs(30));
                }
            }
            let max_jitter = self.engine.config().max_jitter();
            let jitter = if max_jitter.is_zero() || pause < period {
                Duration::ZERO
            } else {
                use rand::Rng;
                rand::thread_rng().gen_range(Duration::ZERO..=max_jitter)
            };
            tokio::select! {
                biased;
                _ = cancel.cancelled() => return,
                _ = self.clock.sleep(pause.saturating_add(jitter)) => {}
            }
            match self.engine.prune_webhook_keys().await {
                Ok(0) => {}
                Ok(pruned) => tracing::info!(pruned, "webhook keys past their retention pruned"),
                Err(error) => tracing::warn!(%error, "webhook keys could not be pruned"),
            }
        }
    }

    /// Handles a webhook delivered to `request_path` (the full path, e.g.
    /// `/webhooks/connection-synced`) with its headers and raw body.
    pub async fn receive_webhook(
        &self,
        request_path: &str,
        headers: Headers,
        body: Vec<u8>,
    ) -> WebhookReply {
        let Some(config) = routes::config_for_request_path(&self.configs, request_path) else {
            let known: Vec<&str> = self.configs.iter().map(|c| c.url_path.as_str()).collect();
            self.metrics().webhook("unknown", "rejected", 404);
            return WebhookReply {
                status: 404,
                body: serde_json::json!({
                    "error": "not_found",
                    "message": format!(
                        "no webhook event is registered at {request_path:?}; the paths under {WEBHOOK_PREFIX} are {}",
                        known.join(", ")
                    ),
                }),
            };
        };
        let envelope = WebhookEnvelope {
            headers,
            body,
            ..WebhookEnvelope::default()
        };
        let (status, outcome, body) = match self.inbox.receive(config, envelope).await {
            Ok(InboxOutcome::Processed { key, outcome }) => (
                200,
                "processed",
                serde_json::json!({
                    "outcome": "processed",
                    "key": key,
                    "psuID": outcome.psu_id,
                    "records": outcome.records,
                    "syncTriggered": outcome.sync_triggered,
                }),
            ),
            Ok(InboxOutcome::Duplicate { key }) => (
                200,
                "duplicate",
                serde_json::json!({ "outcome": "duplicate", "key": key }),
            ),
            Err(error) => {
                let status = error.http_status();
                if status >= 500 {
                    tracing::error!(event = %config.name, %error, "webhook failed; Powens will redeliver it");
                } else {
                    tracing::warn!(event = %config.name, status, %error, "webhook refused");
                }
                (
                    status,
                    "rejected",
                    serde_json::json!({ "error": "rejected", "message": error.to_string() }),
                )
            }
        };
        self.metrics().webhook(&config.name, outcome, status);
        WebhookReply { status, body }
    }

    /// Creates a PSU and forwards it to Powens (a Powens user is created).
    pub async fn create_psu(&self, request: CreatePsu) -> Result<PsuCreated, ServiceError> {
        let id = match request.id {
            Some(id) => {
                check_psu_id(&id)?;
                id
            }
            None => format!("psu-{}", random_hex(8)),
        };
        let name = request.name.unwrap_or_else(|| id.clone());
        if name.chars().count() > 256 {
            return Err(ServiceError::bad_request(
                "name is longer than 256 characters",
            ));
        }
        let taken = || ServiceError::Conflict {
            message: format!("PSU {id:?} exists already; choose another id or omit it"),
        };
        if self.registry.contains(&id)
            || !self
                .creating
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(id.clone())
        {
            return Err(taken());
        }
        let result = async {
            let psu = PaymentServiceUser {
                id: id.clone(),
                name,
                created_at: self.clock.now(),
                contact_details: None,
                address: None,
                metadata: BTreeMap::new(),
            };
            let user = self.engine.forward_user(&psu).await?;
            let created = PsuCreated {
                id: id.clone(),
                powens_user_id: user.psp_user_id.clone(),
            };
            if !self
                .registry
                .insert(PsuEntry {
                    psu,
                    user: Arc::new(user),
                })
                .await?
            {
                return Err(taken());
            }
            tracing::info!(psu = %id, "PSU created");
            Ok(created)
        }
        .await;
        self.creating
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&id);
        result
    }

    /// Adds a PSU for an existing Powens user, given by its permanent `token` (e.g. users
    /// linked before the service ran): no Powens user is created. The token is checked and
    /// the Powens user id learnt with `GET /users/me`, then the PSU is stored and its user
    /// recorded in the PSU directory (so its webhooks reach it). Without `id`, the PSU is
    /// `powens-user-<Powens user id>`.
    ///
    /// Idempotent: an id already stored with the same token is [`PsuImport::AlreadyKnown`]
    /// (no request sent). An id stored with another token, or a Powens user that is already
    /// another PSU, is a conflict: one person, one PSU.
    pub async fn import_psu(
        &self,
        id: Option<&str>,
        token: &secrecy::SecretString,
    ) -> Result<PsuImport, ServiceError> {
        use secrecy::ExposeSecret;
        let known = |entry: &PsuEntry| -> Result<PsuImport, ServiceError> {
            let same =
                user_token(&entry.user).is_ok_and(|t| t.expose_secret() == token.expose_secret());
            if same {
                Ok(PsuImport::AlreadyKnown(PsuCreated {
                    id: entry.psu.id.clone(),
                    powens_user_id: entry.user.psp_user_id.clone(),
                }))
            } else {
                Err(ServiceError::Conflict {
                    message: format!(
                        "PSU {:?} exists already with another Powens token; delete it first or import under another id",
                        entry.psu.id
                    ),
                })
            }
        };
        if let Some(id) = id {
            check_psu_id(id)?;
            if let Some(entry) = self.registry.get(id) {
                return known(&entry);
            }
        }
        let me = self
            .connector
            .client()
            .get_me(token)
            .await
            .map_err(|e| ServiceError::Upstream(to_connector_error(e)))?;
        let powens_user_id = me.id.to_string();
        let id = match id {
            Some(id) => id.to_owned(),
            None => format!("{IMPORTED_ID_PREFIX}{powens_user_id}"),
        };
        if let Some(entry) = self.registry.get(&id) {
            return known(&entry);
        }
        if let Some(other) = self.registry.by_powens_user(&powens_user_id) {
            return Err(ServiceError::Conflict {
                message: format!(
                    "Powens user {powens_user_id} is PSU {:?} already; one Powens user is one PSU",
                    other.psu.id
                ),
            });
        }
        let psu = PaymentServiceUser {
            id: id.clone(),
            name: id.clone(),
            created_at: self.clock.now(),
            contact_details: None,
            address: None,
            metadata: BTreeMap::new(),
        };
        let user = ForwardedUser {
            psu_id: id.clone(),
            connector_id: self.options.connector_id.clone(),
            access_token: Some(Token::new(token.clone(), None)),
            psp_user_id: Some(powens_user_id.clone()),
            metadata: BTreeMap::new(),
        };
        self.engine.register_psu(&user).await?;
        let created = PsuCreated {
            id: id.clone(),
            powens_user_id: Some(powens_user_id),
        };
        if !self
            .registry
            .insert(PsuEntry {
                psu,
                user: Arc::new(user),
            })
            .await?
        {
            return Err(ServiceError::Conflict {
                message: format!("PSU {id:?} exists already; choose another id"),
            });
        }
        Ok(PsuImport::Imported(created))
    }

    fn entry(&self, psu_id: &str) -> Result<PsuEntry, ServiceError> {
        self.registry
            .get(psu_id)
            .ok_or_else(|| ServiceError::NotFound {
                what: "PSU",
                id: psu_id.to_owned(),
            })
    }

    async fn open_attempt(
        &self,
        entry: &PsuEntry,
        client_redirect_url: &str,
        connection: Option<Connection>,
    ) -> Result<LinkCreated, ServiceError> {
        check_client_redirect(client_redirect_url)?;
        let attempt_id = format!("att-{}", random_hex(8));
        let state = CallbackState::new(attempt_id.clone());
        let request = CreateUserLinkRequest {
            attempt_id: attempt_id.clone(),
            psu: entry.psu.clone(),
            forwarded_user: (*entry.user).clone(),
            application_name: self.options.application_name.clone(),
            client_redirect_url: Some(client_redirect_url.to_owned()),
            redirect_url: self.callback_url(),
            callback_state: state.clone(),
            webhook_base_url: Some(format!("{}{WEBHOOK_PREFIX}", self.options.public_url)),
        };
        let kind = if connection.is_some() {
            AttemptKind::Reconnect
        } else {
            AttemptKind::Connect
        };
        let link = match connection {
            Some(connection) => self.connector.update_user_link(request, connection).await,
            None => self.connector.create_user_link(request).await,
        }
        .map_err(ServiceError::Upstream)?;
        self.registry
            .insert_attempt(AttemptEntry {
                id: attempt_id.clone(),
                psu_id: entry.psu.id.clone(),
                kind,
                state,
                client_redirect_url: client_redirect_url.to_owned(),
                created_at: self.clock.now(),
            })
            .await?;
        Ok(LinkCreated {
            url: link.link,
            attempt_id,
        })
    }

    /// A Webview link to connect a bank for `psu_id`; the user comes back to
    /// [`Service::callback_url`], then is sent to `client_redirect_url`.
    pub async fn create_link(
        &self,
        psu_id: &str,
        client_redirect_url: &str,
    ) -> Result<LinkCreated, ServiceError> {
        let entry = self.entry(psu_id)?;
        self.open_attempt(&entry, client_redirect_url, None).await
    }

    /// A Webview link to renew the consent of one of the PSU's connections: `connection_id`,
    /// else the first connection Powens reports in a state needing the user, else the first.
    pub async fn reconnect(
        &self,
        psu_id: &str,
        client_redirect_url: &str,
        connection_id: Option<&str>,
    ) -> Result<LinkCreated, ServiceError> {
        let entry = self.entry(psu_id)?;
        check_client_redirect(client_redirect_url)?;
        let connections = self.connections(&entry).await?;
        let chosen = match connection_id {
            Some(wanted) => connections.iter().find(|c| c.id == wanted).ok_or_else(|| {
                ServiceError::NotFound {
                    what: "connection",
                    id: wanted.to_owned(),
                }
            })?,
            None => connections
                .iter()
                .find(|c| c.state.is_some())
                .or_else(|| connections.first())
                .ok_or_else(|| {
                    ServiceError::bad_request(format!(
                        "PSU {psu_id:?} has no bank connection to renew; create a link first"
                    ))
                })?,
        };
        let now = self.clock.now();
        let connection = Connection {
            connection_id: chosen.id.clone(),
            connector_id: self.options.connector_id.clone(),
            created_at: now,
            data_updated_at: chosen.last_update,
            status: if chosen.state.is_some() {
                ConnectionStatus::Error
            } else {
                ConnectionStatus::Active
            },
            updated_at: now,
            access_token: None,
            error: chosen.state.clone(),
            metadata: BTreeMap::new(),
        };
        self.open_attempt(&entry, client_redirect_url, Some(connection))
            .await
    }

    /// Completes the Webview's redirect back to the service (its query values), checking its
    /// CSRF `state` against the open attempt; on success starts a sync of the PSU.
    pub async fn complete_callback(
        &self,
        query_values: BTreeMap<String, Vec<String>>,
    ) -> Result<CallbackDone, ServiceError> {
        let state_text = query_values
            .get("state")
            .and_then(|v| v.first())
            .ok_or_else(|| {
                ServiceError::bad_request(
                    "the callback carries no `state`: open the Webview link the service gave",
                )
            })?;
        let state = CallbackState::decode(state_text).map_err(|e| {
            ServiceError::bad_request(format!("the callback `state` is unreadable: {e}"))
        })?;
        if self.registry.attempt(&state.attempt_id).is_none() {
            // Opened by another replica sharing the store, perhaps.
            self.registry.reload().await?;
        }
        let attempt =
            self.registry
                .attempt(&state.attempt_id)
                .ok_or_else(|| ServiceError::NotFound {
                    what: "link attempt",
                    id: state.attempt_id.clone(),
                })?;
        let entry = self.entry(&attempt.psu_id)?;
        let request = CompleteUserLinkRequest {
            call: WebhookEnvelope {
                query_values,
                ..WebhookEnvelope::default()
            },
            attempt: LinkAttempt {
                id: attempt.id.clone(),
                psu_id: attempt.psu_id.clone(),
                connector_id: self.options.connector_id.clone(),
                created_at: attempt.created_at,
                status: AttemptStatus::Pending,
                state: attempt.state.clone(),
                client_redirect_url: Some(attempt.client_redirect_url.clone()),
                temporary_token: None,
                error: None,
            },
        };
        let outcome = match attempt.kind {
            AttemptKind::Connect => self.connector.complete_user_link(request).await,
            AttemptKind::Reconnect => self.connector.complete_update_user_link(request).await,
        }
        .map_err(ServiceError::Upstream)?;
        self.registry.finish_attempt(&attempt.id).await?;
        match outcome {
            LinkOutcome::Success { .. } => {
                tracing::info!(psu = %entry.psu.id, attempt = %attempt.id, "link completed; syncing");
                self.engine.trigger_sync(Arc::clone(&entry.user));
                Ok(CallbackDone {
                    psu_id: entry.psu.id,
                    redirect_to: attempt.client_redirect_url,
                    linked: true,
                })
            }
            LinkOutcome::Error { error, description } => {
                tracing::warn!(psu = %entry.psu.id, %error, "link failed at the Webview");
                let mut url = check_client_redirect(&attempt.client_redirect_url)?;
                {
                    let mut pairs = url.query_pairs_mut();
                    pairs.append_pair("error", &error);
                    if let Some(description) = &description {
                        pairs.append_pair("error_description", description);
                    }
                }
                Ok(CallbackDone {
                    psu_id: entry.psu.id,
                    redirect_to: url.into(),
                    linked: false,
                })
            }
        }
    }

    async fn connections(&self, entry: &PsuEntry) -> Result<Vec<ConnectionView>, ServiceError> {
        let token = user_token(&entry.user).map_err(ServiceError::Upstream)?;
        let list = self
            .connector
            .client()
            .list_connections(token, &ConnectionsQuery::new())
            .await
            .map_err(|e| ServiceError::Upstream(to_connector_error(e)))?;
        let zone = self.connector.config().time_zone;
        Ok(list
            .connections
            .iter()
            .map(|c| ConnectionView {
                id: c.id.to_string(),
                state: c.state.as_ref().map(|s| s.as_str().to_owned()),
                active: c.active,
                error_message: c.error_message.clone(),
                consent_expires_at: c.expire.as_ref().and_then(|t| t.to_utc_with(&zone)),
                last_update: c.last_update.as_ref().and_then(|t| t.to_utc_with(&zone)),
            })
            .collect())
    }

    /// The PSU, its connections as Powens reports them now, and its last successful sync.
    pub async fn psu_status(&self, psu_id: &str) -> Result<PsuStatus, ServiceError> {
        let entry = self.entry(psu_id)?;
        let connections = self.connections(&entry).await?;
        Ok(PsuStatus {
            id: entry.psu.id.clone(),
            name: entry.psu.name.clone(),
            powens_user_id: entry.user.psp_user_id.clone(),
            created_at: entry.psu.created_at,
            last_successful_sync: self.registry.last_sync(psu_id),
            connections,
        })
    }

    /// Deletes the PSU's Powens user (a user Powens no longer knows counts as deleted), then
    /// forgets the PSU, its open attempts, its sync states and its Powens user in the PSU
    /// directory (a later webhook about that user is refused as unknown, 422).
    pub async fn delete_psu(&self, psu_id: &str) -> Result<(), ServiceError> {
        let entry = self.entry(psu_id)?;
        match self.connector.delete_user(&entry.psu, &entry.user).await {
            Ok(()) => {}
            Err(ConnectorError::UpstreamClient { status: 404, .. }) => {
                tracing::info!(psu = %psu_id, "the Powens user was already gone");
            }
            Err(error) => return Err(ServiceError::Upstream(error)),
        }
        self.registry.remove(psu_id).await?;
        if let Some(powens_user) = entry.user.psp_user_id.as_deref() {
            // Forgotten first (its webhooks stop triggering syncs), then again once a sync
            // that was running has ended: a sync records its user when it ends.
            let directory = self.engine.psu_directory();
            directory.forget(powens_user).await?;
            self.engine.psu_idle(psu_id).await;
            directory.forget(powens_user).await?;
        }
        tracing::info!(psu = %psu_id, "PSU deleted");
        Ok(())
    }

    /// Whether the store and the sink answer and polling is not stopped by a failure.
    pub async fn ready(&self) -> Result<(), String> {
        let probe = StateKey::new(Capability::TranslateWebhooks).for_parent("service/readiness");
        self.store
            .get(&probe)
            .await
            .map_err(|e| format!("state store: {e}"))?;
        self.sink
            .accept(&[])
            .await
            .map_err(|e| format!("sink: {e}"))?;
        if self.poll_failed.load(Ordering::Relaxed) {
            return Err("polling stopped on a sink or store failure; retrying".into());
        }
        Ok(())
    }

    /// The Prometheus text exposition of [`ServiceMetrics`].
    pub fn metrics_text(&self) -> String {
        let age = self
            .registry
            .newest_sync()
            .and_then(|at| (self.clock.now() - at).to_std().ok());
        self.options
            .metrics
            .render(self.registry.len(), self.engine.triggered_syncs(), age)
    }

    /// Stops triggered syncs (their uncommitted pages are replayed at the next start), waits
    /// at most `grace` for them to end, and stores the last successful sync times.
    pub async fn shutdown(&self, grace: Duration) {
        self.engine.shutdown();
        if tokio::time::timeout(grace, self.engine.triggered_syncs_idle())
            .await
            .is_err()
        {
            tracing::warn!("triggered syncs still running at shutdown; abandoned uncommitted");
        }
        if let Err(error) = self.registry.flush_last_syncs().await {
            tracing::warn!(%error, "last sync times could not be stored at shutdown");
        }
    }
}
