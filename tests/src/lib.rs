//! End-to-end tests across the workspace crates live in `tests/tests/`; the shared helpers are
//! here, for those tests (the CLI has its own copies in `powens-cli/src/sync/`):
//!
//! * [`start_sandbox`], [`sandbox_config`], [`sandbox_clock`], [`connector_for`]: a sandbox on
//!   127.0.0.1 and a [`PowensConnector`] pointed at it, on a manual clock standing at the
//!   sandbox's time (retry waits return at once and are recorded);
//! * [`psu`], [`forward_psu`], [`seeded_user`], [`link_psu`]: PSUs, forwarded or taken from the
//!   sandbox's seeded users, and the whole Webview link flow;
//! * [`engine_for`], [`sync`]: an [`Engine`] over one PSU with a [`LedgerSink`] and no real
//!   waiting;
//! * [`Ledger`]: the records applied like a downstream store would (upserts, deletes,
//!   cancels), [`records_from_channel`] / [`records_from_json_lines`] for the other sinks;
//! * [`assert_matches_truth`]: the ledger against the sandbox's [`Truth`], exactly;
//! * [`WebhookReceiver`]: a loopback HTTP endpoint recording the webhooks the sandbox posts.

use std::collections::{BTreeMap, BTreeSet};
use std::num::{NonZeroU32, NonZeroUsize};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use connector_core::contract::{CompleteUserLinkRequest, CreateUserLinkRequest, OpenBankingFlows};
use connector_core::engine::{EngineConfig, RunSummary};
use connector_core::model::{
    Account, AttemptStatus, Balance, Payment, PaymentStatus, PaymentType, Record,
};
use connector_core::openbanking::{
    CallbackState, Connection, ForwardedUser, LinkAttempt, LinkOutcome, PaymentServiceUser, Token,
};
use connector_core::sink::{Sink, SinkError};
use connector_core::state::StateStore;
use connector_core::webhook::WebhookEnvelope;
use connector_core::Engine;
use connector_powens::{PowensConfig, PowensConnector};
use futures::future::BoxFuture;
use futures::FutureExt;
use powens_api::retry::RetryPolicy;
use powens_api::time::ManualClock;
use powens_api::PowensClient;
use powens_sandbox::{SandboxHandle, SandboxSize, SeededUser, Truth};
use rust_decimal::Decimal;
use secrecy::SecretString;
use tokio_util::sync::CancellationToken;

/// A boxed error for helpers.
pub type TestError = Box<dyn std::error::Error + Send + Sync>;

/// The redirect URL the link tests use (loopback, so plain http is allowed).
pub const REDIRECT_URL: &str = "http://127.0.0.1:1/powens/callback";

/// Starts a sandbox with seed 7 and `size`.
pub async fn start_sandbox(size: SandboxSize) -> Result<SandboxHandle, TestError> {
    Ok(powens_sandbox::Sandbox::builder()
        .seed(7)
        .size(size)
        .start()
        .await?)
}

/// A sandbox (seed 7) with one pre-seeded user: one connection of `accounts` accounts of
/// `transactions` transactions each.
pub async fn start_one_user_sandbox(
    accounts: u32,
    transactions: u32,
) -> Result<SandboxHandle, TestError> {
    start_sandbox(SandboxSize {
        users: 1,
        connections_per_link: 1,
        accounts_per_connection: accounts,
        transactions_per_account: transactions,
    })
    .await
}

/// The install payload for `sandbox` (its credentials, API and Webview), with `page_size`.
pub fn sandbox_config(sandbox: &SandboxHandle, page_size: u32) -> Result<PowensConfig, TestError> {
    Ok(PowensConfig::from_value(sandbox_config_payload(
        sandbox, page_size,
    ))?)
}

/// [`sandbox_config`] as JSON (for a child process to build the same connector).
pub fn sandbox_config_payload(sandbox: &SandboxHandle, page_size: u32) -> serde_json::Value {
    let mut payload = sandbox.install_payload();
    payload["maxConnectionsPerLink"] = 2.into();
    payload["pageSize"] = page_size.into();
    payload["pollingPeriod"] = "30m".into();
    payload["name"] = "sandbox-powens".into();
    payload
}

/// A naive Paris wall-clock time as UTC (how the sandbox clock reads).
pub fn paris_to_utc(at: NaiveDateTime) -> DateTime<Utc> {
    chrono_tz::Europe::Paris
        .from_local_datetime(&at)
        .earliest()
        .map_or_else(|| at.and_utc(), |t| t.with_timezone(&Utc))
}

/// A manual clock standing at the sandbox's time: retry waits return at once (and are
/// recorded in [`ManualClock::sleeps`]).
pub fn sandbox_clock(sandbox: &SandboxHandle) -> ManualClock {
    ManualClock::new(paris_to_utc(sandbox.control().now()))
}

/// The retry policy of the tests: 4 attempts, tiny backoff, `Retry-After` honoured up to 60 s
/// (on the manual clock, so nobody waits).
pub fn test_retry_policy() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 4,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
        max_retry_after: Duration::from_secs(60),
    }
}

/// A connector on `config` with a client using `clock` and `retry`.
pub fn connector_with(
    config: PowensConfig,
    clock: &ManualClock,
    retry: RetryPolicy,
) -> Result<PowensConnector, TestError> {
    let clock: Arc<dyn powens_api::time::Clock> = Arc::new(clock.clone());
    let client = PowensClient::builder(config.endpoint.as_str())
        .clock(Arc::clone(&clock))
        .retry_policy(retry)
        .rate_limit(None)
        .build()?;
    Ok(PowensConnector::builder(config)
        .client(client)
        .clock(clock)
        .build()?)
}

/// A connector for `sandbox` with [`sandbox_config`], [`sandbox_clock`] and
/// [`test_retry_policy`]; returns the clock too.
pub fn connector_for(
    sandbox: &SandboxHandle,
    page_size: u32,
) -> Result<(PowensConnector, ManualClock), TestError> {
    let clock = sandbox_clock(sandbox);
    let connector = connector_with(
        sandbox_config(sandbox, page_size)?,
        &clock,
        test_retry_policy(),
    )?;
    Ok((connector, clock))
}

/// A PSU with a French locale.
pub fn psu(id: &str) -> PaymentServiceUser {
    PaymentServiceUser {
        id: id.to_owned(),
        name: format!("PSU {id}"),
        created_at: DateTime::<Utc>::UNIX_EPOCH,
        contact_details: Some(connector_core::openbanking::ContactDetails {
            locale: Some("fr-FR".into()),
            ..Default::default()
        }),
        address: None,
        metadata: BTreeMap::new(),
    }
}

/// Forwards `psu` to Powens (`create_user`) and returns the user to store.
pub async fn forward_psu(
    connector: &PowensConnector,
    psu: &PaymentServiceUser,
) -> Result<ForwardedUser, TestError> {
    let created = connector.create_user(psu).await?;
    Ok(connector_powens::forwarded_user(
        "sandbox-powens",
        psu,
        created,
    ))
}

/// A sandbox seeded user as a forwarded PSU (`psu-<id>`), with its permanent token.
pub fn seeded_user(user: &SeededUser) -> ForwardedUser {
    ForwardedUser {
        psu_id: format!("psu-{}", user.id),
        connector_id: "sandbox-powens".into(),
        access_token: Some(Token::new(SecretString::from(user.token.clone()), None)),
        psp_user_id: Some(user.id.to_string()),
        metadata: BTreeMap::new(),
    }
}

/// A fresh link attempt for `psu`.
pub fn link_attempt(psu: &PaymentServiceUser, attempt_id: &str) -> LinkAttempt {
    LinkAttempt {
        id: attempt_id.to_owned(),
        psu_id: psu.id.clone(),
        connector_id: "sandbox-powens".into(),
        created_at: DateTime::<Utc>::UNIX_EPOCH,
        status: AttemptStatus::Pending,
        state: CallbackState::new(attempt_id),
        client_redirect_url: None,
        temporary_token: None,
        error: None,
    }
}

/// The link request for `attempt`.
pub fn link_request(
    psu: &PaymentServiceUser,
    forwarded: &ForwardedUser,
    attempt: &LinkAttempt,
) -> CreateUserLinkRequest {
    CreateUserLinkRequest {
        attempt_id: attempt.id.clone(),
        psu: psu.clone(),
        forwarded_user: forwarded.clone(),
        application_name: "tests".into(),
        client_redirect_url: None,
        redirect_url: REDIRECT_URL.into(),
        callback_state: attempt.state.clone(),
        webhook_base_url: None,
    }
}

/// Follows a Webview link like a browser would, without following the final redirect:
/// returns the `Location` the Webview sent the user to.
pub async fn follow_webview(link: &str) -> Result<String, TestError> {
    Ok(powens_sandbox::follow_webview(link).await?.location)
}

/// The redirect request the Webview sent the user to, as the envelope
/// `complete_user_link` reads.
pub fn callback_envelope(location: &str) -> Result<WebhookEnvelope, TestError> {
    Ok(WebhookEnvelope {
        query_values: powens_sandbox::WebviewCallback::parse(location)?.query_values,
        ..WebhookEnvelope::default()
    })
}

/// The whole link flow for a forwarded PSU: link URL, Webview, callback; returns the
/// outcome.
pub async fn link_psu(
    connector: &PowensConnector,
    psu: &PaymentServiceUser,
    forwarded: &ForwardedUser,
) -> Result<LinkOutcome, TestError> {
    let attempt = link_attempt(psu, "attempt-1");
    let link = connector
        .create_user_link(link_request(psu, forwarded, &attempt))
        .await?;
    let location = follow_webview(&link.link).await?;
    let outcome = connector
        .complete_user_link(CompleteUserLinkRequest {
            call: callback_envelope(&location)?,
            attempt,
        })
        .await?;
    Ok(outcome)
}

/// The contract's view of a linked connection (active, no error), as `update_user_link`
/// takes it.
pub fn connection_of(linked: &connector_core::openbanking::PspConnection) -> Connection {
    Connection {
        connection_id: linked.connection_id.clone(),
        connector_id: "sandbox-powens".into(),
        created_at: linked.created_at,
        data_updated_at: None,
        status: connector_core::model::ConnectionStatus::Active,
        updated_at: linked.created_at,
        access_token: None,
        error: None,
        metadata: Default::default(),
    }
}

/// The engine settings of the tests: accounts pages of 100, 3 attempts per task.
pub fn engine_config() -> EngineConfig {
    EngineConfig {
        connector_id: "sandbox-powens".into(),
        page_size: NonZeroU32::new(100).unwrap_or(NonZeroU32::MIN),
        max_concurrent_psus: NonZeroUsize::new(2).unwrap_or(NonZeroUsize::MIN),
        task_attempts: NonZeroU32::new(3).unwrap_or(NonZeroU32::MIN),
        retry_base_delay: Duration::from_millis(1),
        retry_max_delay: Duration::from_millis(10),
        ..EngineConfig::default()
    }
}

/// An engine running `connector` for `psus`, writing to `sink`, committing to `store`, on
/// the connector's (manual) clock: retries of the engine do not wait.
pub fn engine_for(
    connector: PowensConnector,
    store: Arc<dyn StateStore>,
    sink: Arc<dyn Sink>,
    psus: Vec<ForwardedUser>,
) -> Result<Engine, TestError> {
    let psus: Vec<Arc<ForwardedUser>> = psus.into_iter().map(Arc::new).collect();
    let clock = connector.engine_clock();
    Ok(
        Engine::new(Arc::new(connector), store, sink, engine_config())?
            .with_psus(psus)
            .with_clock(clock),
    )
}

/// An engine running `connector` for one seeded `user`, writing to `sink`, committing to a
/// fresh in-memory state store.
pub fn memory_engine_for(
    connector: PowensConnector,
    sink: Arc<dyn Sink>,
    user: &SeededUser,
) -> Result<Engine, TestError> {
    engine_for(
        connector,
        Arc::new(connector_core::state::MemoryStateStore::new()),
        sink,
        vec![seeded_user(user)],
    )
}

/// A process that dies in the middle of a scan: one engine (page size 10) on a file state
/// store in `state_dir`, cancelled as soon as `pages` pages of `FETCH_PAYMENTS` are done.
/// Fails unless the run ends cancelled; what it committed stays in `state_dir` and `sink`.
pub async fn sync_interrupted_after_payments_pages(
    sandbox: &SandboxHandle,
    state_dir: &std::path::Path,
    sink: Arc<dyn Sink>,
    user: &SeededUser,
    pages: u32,
) -> Result<(), TestError> {
    let (connector, _clock) = connector_for(sandbox, 10)?;
    let store = Arc::new(connector_core::state::FileStateStore::open(state_dir)?);
    let cancel = CancellationToken::new();
    let done = Arc::new(std::sync::atomic::AtomicU32::new(0));
    let stop = cancel.clone();
    let engine =
        engine_for(connector, store, sink, vec![seeded_user(user)])?.with_progress(move |event| {
            if let connector_core::engine::ProgressEvent::PageDone { task, .. } = event {
                if task.task_type == connector_core::model::TaskType::FetchPayments
                    && done.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1 == pages
                {
                    stop.cancel();
                }
            }
        });
    match engine.run_once(&cancel).await {
        Err(connector_core::engine::EngineError::Cancelled) => Ok(()),
        other => Err(format!(
            "expected the run to be cancelled after {pages} pages, got {other:?}"
        )
        .into()),
    }
}

/// One cycle of `engine`, failing on any failed task.
pub async fn sync(engine: &Engine) -> Result<RunSummary, TestError> {
    let summary = engine.run_once(&CancellationToken::new()).await?;
    if let Some(failure) = summary.failures.first() {
        return Err(format!("task {:?} failed: {}", failure.task, failure.error).into());
    }
    Ok(summary)
}

/// The downstream view of the records: what a store applying them in order would hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ledger {
    /// Internal accounts by reference.
    pub accounts: BTreeMap<String, Account>,
    /// External accounts by reference.
    pub external_accounts: BTreeMap<String, Account>,
    /// The latest balance by account reference.
    pub balances: BTreeMap<String, Balance>,
    /// Payments by reference (deleted ones removed; cancelled ones kept, see `cancelled`).
    pub payments: BTreeMap<String, Payment>,
    /// References deleted by a `PaymentToDelete`.
    pub deleted: BTreeSet<String>,
    /// The last payment record of each deleted reference (its counterparty was announced).
    pub removed: BTreeMap<String, Payment>,
    /// References cancelled by a `PaymentToCancel`.
    pub cancelled: BTreeSet<String>,
    /// Connection events, in arrival order.
    pub events: Vec<Record>,
    /// Every record received, counted.
    pub records: u64,
}

impl Ledger {
    /// Applies one record.
    pub fn apply(&mut self, record: Record) {
        self.records += 1;
        match record {
            Record::Account(a) => {
                self.accounts.insert(a.reference.clone(), a);
            }
            Record::ExternalAccount(a) => {
                self.external_accounts.insert(a.reference.clone(), a);
            }
            Record::Balance(b) => {
                self.balances.insert(b.account_reference.clone(), b);
            }
            Record::Payment(p) => {
                self.deleted.remove(&p.reference);
                self.payments.insert(p.reference.clone(), p);
            }
            Record::PaymentToDelete(d) => {
                if let Some(removed) = self.payments.remove(&d.reference) {
                    self.removed.insert(d.reference.clone(), removed);
                }
                self.deleted.insert(d.reference);
            }
            Record::PaymentToCancel(c) => {
                self.cancelled.insert(c.reference);
            }
            other => self.events.push(other),
        }
    }

    /// Payments neither deleted nor cancelled.
    pub fn live_payments(&self) -> impl Iterator<Item = &Payment> {
        self.payments
            .values()
            .filter(|p| !self.cancelled.contains(&p.reference))
    }
}

/// A sink applying every batch to a shared [`Ledger`] (and counting batches).
#[derive(Debug, Clone, Default)]
pub struct LedgerSink {
    ledger: Arc<Mutex<Ledger>>,
}

impl LedgerSink {
    /// An empty ledger.
    pub fn new() -> Self {
        Self::default()
    }

    /// A copy of the ledger now.
    pub fn snapshot(&self) -> Ledger {
        self.ledger
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Sink for LedgerSink {
    fn accept<'a>(&'a self, batch: &'a [Record]) -> BoxFuture<'a, Result<(), SinkError>> {
        let mut ledger = self.ledger.lock().unwrap_or_else(PoisonError::into_inner);
        for record in batch {
            ledger.apply(record.clone());
        }
        futures::future::ready(Ok(())).boxed()
    }
}

/// Every record delivered, in order. When a gate is set, each batch waits for the gate to
/// close (after signalling `entered`), so a test can hold a delivery in flight; when
/// `fail_next` is set, the next batch is refused (and nothing of it kept).
#[derive(Default)]
pub struct MemorySink {
    records: Mutex<Vec<Record>>,
    /// Held deliveries wait on this semaphore until it is closed.
    pub gate: Mutex<Option<Arc<tokio::sync::Semaphore>>>,
    /// Signalled when a batch reaches a gate.
    pub entered: tokio::sync::Notify,
    /// Refuse the next batch.
    pub fail_next: std::sync::atomic::AtomicBool,
}

impl MemorySink {
    /// Every record delivered so far.
    pub fn records(&self) -> Vec<Record> {
        self.records
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Sink for MemorySink {
    fn accept<'a>(&'a self, batch: &'a [Record]) -> BoxFuture<'a, Result<(), SinkError>> {
        let gate = self
            .gate
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        Box::pin(async move {
            if let Some(gate) = gate {
                self.entered.notify_one();
                // Closed = open gate: `acquire` then fails at once.
                let _ = gate.acquire().await;
            }
            if self
                .fail_next
                .swap(false, std::sync::atomic::Ordering::SeqCst)
            {
                return Err(SinkError::Other("the test sink refused this batch".into()));
            }
            self.records
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .extend_from_slice(batch);
            Ok(())
        })
    }
}

/// Every record a `ChannelSink` receiver holds now (the sender side must be done).
pub async fn records_from_channel(
    mut receiver: tokio::sync::mpsc::Receiver<Vec<Record>>,
) -> Vec<Record> {
    let mut records = Vec::new();
    receiver.close();
    while let Some(batch) = receiver.recv().await {
        records.extend(batch);
    }
    records
}

/// The records of a JSON-lines file written by `JsonLinesSink`.
pub fn records_from_json_lines(text: &str) -> Result<Vec<Record>, TestError> {
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| serde_json::from_str(line).map_err(Into::into))
        .collect()
}

/// `value` in minor units at `precision` (exact).
pub fn minor_units(value: Decimal, precision: u32) -> i128 {
    let mut scaled = value;
    scaled.rescale(precision);
    scaled.mantissa()
}

/// The precision the connector must use for a truth account, `None` when the account is
/// skipped (no precision known to Powens nor to ISO 4217 among the sandbox's currencies).
pub fn expected_precision(account: &powens_sandbox::TruthAccount) -> Option<u32> {
    account.precision.or(match account.currency.as_str() {
        "EUR" | "GBP" | "USD" | "CHF" => Some(2),
        "JPY" => Some(0),
        "KWD" => Some(3),
        _ => None,
    })
}

/// Asserts the ledger holds exactly the truth of one sandbox user: every account (hidden ones
/// flagged) and its balance, every live transaction as a payment with the right amount,
/// asset, type, status, accounts and metadata, no other live payment, every unreplaced
/// deletion cancelled, every replaced provisional retired, and one external account per
/// identified counterparty.
// An assertion helper: failing loudly with the first difference is its job.
#[allow(clippy::panic)]
pub fn assert_matches_truth(ledger: &Ledger, truth: &Truth) {
    let mut precisions = BTreeMap::new();
    for account in &truth.accounts {
        let reference = account.id.to_string();
        let Some(precision) = expected_precision(account) else {
            assert!(
                !ledger.accounts.contains_key(&reference),
                "account {reference} in {} has no known precision and must be skipped",
                account.currency
            );
            continue;
        };
        precisions.insert(account.id, (precision, account));
        let asset = format!("{}/{precision}", account.currency);
        let got = ledger
            .accounts
            .get(&reference)
            .unwrap_or_else(|| panic!("account {reference} missing"));
        assert_eq!(
            got.default_asset.as_ref().map(|a| a.as_str()),
            Some(asset.as_str())
        );
        assert_eq!(
            got.name.as_deref(),
            Some(account.name.as_str()),
            "account {reference}"
        );
        assert_eq!(
            got.metadata.contains_key("com.powens.spec/disabled"),
            account.disabled.is_some(),
            "account {reference} disabled flag"
        );
        assert_eq!(
            got.metadata.get("com.powens.spec/error"),
            account.error.as_deref().filter(|e| !e.is_empty()),
            "account {reference} error"
        );
        let balance = ledger
            .balances
            .get(&reference)
            .unwrap_or_else(|| panic!("balance of account {reference} missing"));
        assert_eq!(balance.asset.as_str(), asset);
        assert_eq!(
            balance.amount.minor(),
            minor_units(account.balance, precision)
        );
        assert_eq!(
            balance.available_amount.map(|a| a.minor()),
            Some(minor_units(account.coming_balance, precision)),
            "available balance of {reference}"
        );
    }
    assert_eq!(
        ledger.accounts.len(),
        precisions.len(),
        "accounts: unexpected extra accounts"
    );

    let mut expected_refs = BTreeSet::new();
    let mut expected_externals = BTreeSet::new();
    for tx in &truth.transactions {
        let Some((precision, account)) = precisions.get(&tx.account_id) else {
            continue;
        };
        let reference = tx.id.to_string();
        expected_refs.insert(reference.clone());
        let p = ledger
            .payments
            .get(&reference)
            .unwrap_or_else(|| panic!("payment {reference} missing"));
        assert!(
            !ledger.cancelled.contains(&reference),
            "payment {reference} cancelled"
        );
        assert_eq!(
            p.amount.minor(),
            minor_units(tx.value.abs(), *precision),
            "{reference}"
        );
        assert_eq!(
            p.asset.as_str(),
            format!("{}/{precision}", account.currency)
        );
        let (kind, source, destination) = if tx.value.is_sign_negative() && !tx.value.is_zero() {
            (PaymentType::Payout, Some(account.id.to_string()), None)
        } else {
            (PaymentType::PayIn, None, Some(account.id.to_string()))
        };
        assert_eq!(p.payment_type, kind, "{reference}");
        if let Some(source) = source {
            assert_eq!(p.source_account_reference.as_ref(), Some(&source));
        }
        if let Some(destination) = destination {
            assert_eq!(p.destination_account_reference.as_ref(), Some(&destination));
        }
        let status = if tx.coming {
            PaymentStatus::Pending
        } else {
            PaymentStatus::Succeeded
        };
        assert_eq!(p.status, status, "status of {reference}");
        assert_eq!(p.created_at.date_naive(), tx.date, "date of {reference}");
        assert_eq!(
            p.metadata.get("com.powens.spec/transaction_id"),
            Some(reference.as_str())
        );
        assert_eq!(
            p.metadata.get("com.powens.spec/type"),
            Some(tx.transaction_type.as_str()),
            "type of {reference}"
        );
        if let Some(cp) = &tx.counterparty {
            if let Some(r) = cp.expected_reference() {
                expected_externals.insert(r);
            }
        }
    }
    let live: BTreeSet<String> = ledger
        .live_payments()
        .map(|p| p.reference.clone())
        .collect();
    let extra: Vec<&String> = live.difference(&expected_refs).collect();
    assert!(
        extra.is_empty(),
        "live payments not in the truth: {extra:?}"
    );
    for replaced in &truth.replaced {
        let provisional = replaced.id.to_string();
        assert!(
            !live.contains(&provisional),
            "provisional {provisional} still live"
        );
    }
    for id in &truth.deleted {
        let reference = id.to_string();
        if ledger.payments.contains_key(&reference) {
            assert!(
                ledger.cancelled.contains(&reference),
                "deleted payment {reference} not cancelled"
            );
        }
    }
    // Every counterparty of a live row is known; an external account is insert-once
    // downstream, so one announced for a row the bank deleted later stays, but none comes
    // from nowhere: each is the other side of a payment the ledger received.
    let externals: BTreeSet<String> = ledger.external_accounts.keys().cloned().collect();
    let missing: Vec<&String> = expected_externals.difference(&externals).collect();
    assert!(missing.is_empty(), "external accounts missing: {missing:?}");
    let other_sides: BTreeSet<&str> = ledger
        .payments
        .values()
        .chain(ledger.removed.values())
        .flat_map(|p| {
            [
                p.source_account_reference.as_deref(),
                p.destination_account_reference.as_deref(),
            ]
        })
        .flatten()
        .collect();
    let phantoms: Vec<&String> = externals
        .iter()
        .filter(|r| !other_sides.contains(r.as_str()))
        .collect();
    assert!(
        phantoms.is_empty(),
        "external accounts of no payment: {phantoms:?}"
    );
}

/// One webhook as a receiver got it: the request path and the envelope.
#[derive(Debug, Clone)]
pub struct ReceivedWebhook {
    /// The request path, e.g. `/webhooks/c1/connection-synced`.
    pub path: String,
    /// Headers and raw body.
    pub envelope: WebhookEnvelope,
}

/// A loopback HTTP server that answers 200 to every POST and records it.
#[derive(Debug, Clone)]
pub struct WebhookReceiver {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    received: Arc<Mutex<Vec<ReceivedWebhook>>>,
}

impl WebhookReceiver {
    /// Starts a receiver on a free port.
    pub async fn start() -> Result<Self, TestError> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let received: Arc<Mutex<Vec<ReceivedWebhook>>> = Arc::default();
        let log = Arc::clone(&received);
        let app = axum::Router::new().fallback(
            move |uri: axum::http::Uri, headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                let log = Arc::clone(&log);
                async move {
                    let mut out = connector_core::webhook::Headers::new();
                    for (name, value) in &headers {
                        if let Ok(value) = value.to_str() {
                            out.append(name.as_str(), value);
                        }
                    }
                    log.lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .push(ReceivedWebhook {
                            path: uri.path().to_owned(),
                            envelope: WebhookEnvelope {
                                headers: out,
                                body: body.to_vec(),
                                ..WebhookEnvelope::default()
                            },
                        });
                    axum::http::StatusCode::OK
                }
            },
        );
        tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, app).await {
                eprintln!("webhook receiver stopped: {error}");
            }
        });
        Ok(Self { url, received })
    }

    /// Everything received so far, in arrival order.
    pub fn received(&self) -> Vec<ReceivedWebhook> {
        self.received
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}
