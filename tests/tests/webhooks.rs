//! Webhooks end to end: the sandbox signs and delivers real webhooks over 127.0.0.1 to a small
//! axum receiver, which hands them to the engine's `WebhookInbox` (verify → freshness → read
//! once → de-duplicate → PSU → one batch to the sink → sync trigger) of a `PowensConnector`
//! installed against the same sandbox (the install created the `hmac_signature` provider
//! whose secret signs the deliveries).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, Uri};
use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use connector_core::engine::{InboxError, InboxOutcome, ProgressEvent, WebhookInbox};
use connector_core::model::{PaymentStatus, Record, TaskType};
use connector_core::openbanking::ForwardedUser;
use connector_core::state::{FileStateStore, MemoryStateStore, StateStore};
use connector_core::webhook::{Headers, WebhookConfig, WebhookEnvelope};
use connector_core::Engine;
use connector_powens::webhooks::config_for_request_path;
use connector_powens::{PowensConfig, PowensConnector};
use powens_api::time::ManualClock;
use powens_sandbox::{
    Fault, FaultRoute, FaultRule, Sandbox, SandboxHandle, SandboxSize, SeededUser, WebhookEvent,
};
use tests::{engine_config, seeded_user, MemorySink};
use tokio::sync::Semaphore;

/// One request as the receiver saw it, and what it answered.
#[derive(Debug, Clone)]
struct Received {
    path: String,
    envelope: WebhookEnvelope,
    status: u16,
    outcome: String,
}

/// Root `FETCH_ACCOUNTS` runs per PSU seen by the progress callback: started, and the most
/// running at once.
#[derive(Default)]
struct AccountRuns {
    started: Mutex<BTreeMap<String, usize>>,
    running: AtomicUsize,
    most_at_once: AtomicUsize,
}

struct Harness {
    sandbox: SandboxHandle,
    sink: Arc<MemorySink>,
    inbox: Arc<WebhookInbox>,
    /// The configs install returned (public base `{receiver}/webhooks/c1`).
    configs: Vec<WebhookConfig>,
    received: Arc<Mutex<Vec<Received>>>,
    engine: Arc<Engine>,
    connector: Arc<PowensConnector>,
    runs: Arc<AccountRuns>,
    /// The PSUs forwarded so far (registered in every engine the harness builds).
    psus: Mutex<Vec<ForwardedUser>>,
}

fn sandbox_event(name: &str) -> Option<WebhookEvent> {
    Some(match name {
        "CONNECTION_SYNCED" => WebhookEvent::ConnectionSynced,
        "USER_SYNCED" => WebhookEvent::UserSynced,
        "CONNECTION_DELETED" => WebhookEvent::ConnectionDeleted,
        "USER_DELETED" => WebhookEvent::UserDeleted,
        "CONNECTION_PENDING_DISCONNECT" => WebhookEvent::ConnectionPendingDisconnect,
        _ => return None,
    })
}

fn to_envelope(headers: &HeaderMap, body: Bytes) -> WebhookEnvelope {
    let mut out = Headers::new();
    for (name, value) in headers {
        if let Ok(value) = value.to_str() {
            out.append(name.as_str(), value);
        }
    }
    WebhookEnvelope {
        headers: out,
        body: body.to_vec(),
        ..WebhookEnvelope::default()
    }
}

/// The sandbox clock: 2026-06-18 08:00 Paris = 06:00 UTC, frozen.
fn sandbox_now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 18, 6, 0, 0).unwrap()
}

/// An engine on `connector`, `store` and `sink`, whose clock reads `now`, reporting root
/// account runs to `runs`.
fn engine_on(
    connector: &Arc<PowensConnector>,
    store: Arc<dyn StateStore>,
    sink: Arc<MemorySink>,
    now: DateTime<Utc>,
    runs: Arc<AccountRuns>,
) -> Arc<Engine> {
    let clock = Arc::new(connector_powens::EngineClock(Arc::new(ManualClock::new(
        now,
    ))));
    Arc::new(
        Engine::new(connector.clone(), store, sink, engine_config())
            .unwrap()
            .with_clock(clock)
            .with_progress(move |event| match event {
                ProgressEvent::TaskStarted { task, attempt: 1 }
                    if task.task_type == TaskType::FetchAccounts
                        && task.name != "connection_events" =>
                {
                    let psu = task.psu_id.clone().unwrap_or_default();
                    *runs.started.lock().unwrap().entry(psu).or_default() += 1;
                    let now = runs.running.fetch_add(1, Ordering::SeqCst) + 1;
                    runs.most_at_once.fetch_max(now, Ordering::SeqCst);
                }
                ProgressEvent::TaskFinished { task, .. }
                | ProgressEvent::TaskFailed {
                    task,
                    will_retry: false,
                    ..
                } if task.task_type == TaskType::FetchAccounts
                    && task.name != "connection_events"
                    && task.parent.is_none() =>
                {
                    runs.running.fetch_sub(1, Ordering::SeqCst);
                }
                _ => {}
            }),
    )
}

/// Starts the sandbox, installs the connector (creating the auth provider), starts the
/// receiver and registers it for every configured event. `lose_first_acks` requests are
/// processed but answered 500 (an acknowledgement lost on the way back), so the sandbox
/// redelivers them. `store` is the engine's state store (processed keys, PSU directory).
async fn harness(lose_first_acks: usize, store: Arc<dyn StateStore>) -> Harness {
    let sandbox = Sandbox::builder()
        .seed(11)
        .size(SandboxSize {
            users: 0,
            connections_per_link: 1,
            accounts_per_connection: 6,
            transactions_per_account: 250,
        })
        .webhook_retries(3, Duration::from_millis(20))
        .start()
        .await
        .unwrap();
    let mut payload = sandbox.install_payload();
    payload["pageSize"] = 100.into();
    payload["name"] = "sandbox-powens".into();
    let config = PowensConfig::from_value(payload).unwrap();
    let connector = Arc::new(
        PowensConnector::builder(config)
            .clock(Arc::new(ManualClock::new(sandbox_now())))
            .build()
            .unwrap(),
    );
    let sink = Arc::new(MemorySink::default());
    let runs = Arc::new(AccountRuns::default());
    let engine = engine_on(&connector, store, sink.clone(), sandbox_now(), runs.clone());

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let receiver_url = format!("http://{}", listener.local_addr().unwrap());
    let configs = engine
        .install(&format!("{receiver_url}/webhooks/c1"))
        .await
        .unwrap();
    let inbox = Arc::new(engine.webhook_inbox());

    let received: Arc<Mutex<Vec<Received>>> = Arc::default();
    let app = {
        let (inbox, configs, received) = (inbox.clone(), configs.clone(), received.clone());
        axum::Router::new().fallback(move |uri: Uri, headers: HeaderMap, body: Bytes| {
            let (inbox, configs, received) = (inbox.clone(), configs.clone(), received.clone());
            async move {
                let envelope = to_envelope(&headers, body);
                let Some(config) = config_for_request_path(&configs, uri.path()) else {
                    return StatusCode::NOT_FOUND;
                };
                let result = inbox.receive(config, envelope.clone()).await;
                let (mut status, outcome) = match &result {
                    Ok(InboxOutcome::Processed { key, .. }) => (200, format!("processed {key}")),
                    Ok(InboxOutcome::Duplicate { key }) => (200, format!("duplicate {key}")),
                    Err(e) => (e.http_status(), format!("rejected: {e}")),
                };
                let mut log = received.lock().unwrap();
                if status == 200 && log.len() < lose_first_acks {
                    status = 500;
                }
                log.push(Received {
                    path: uri.path().to_owned(),
                    envelope,
                    status,
                    outcome,
                });
                StatusCode::from_u16(status).unwrap()
            }
        })
    };
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    for config in &configs {
        if let Some(event) = sandbox_event(&config.name) {
            let url = config.full_url.clone().unwrap();
            sandbox.control().register_webhook(event, url);
        }
    }
    Harness {
        sandbox,
        sink,
        inbox,
        configs,
        received,
        engine,
        connector,
        runs,
        psus: Mutex::new(Vec::new()),
    }
}

impl Harness {
    /// The webhook config install returned for `event`.
    fn config(&self, event: &str) -> &WebhookConfig {
        self.configs.iter().find(|c| c.name == event).unwrap()
    }

    /// The `CONNECTION_SYNCED` webhook config install returned.
    fn connection_synced_config(&self) -> &WebhookConfig {
        self.config("CONNECTION_SYNCED")
    }

    /// A Powens user forwarded as PSU `psu-<id>` (recorded in the engine's PSU directory),
    /// then linked to `connections` banks: each link sends its `CONNECTION_SYNCED`.
    async fn create_user(&self, connections: u32) -> SeededUser {
        let control = self.sandbox.control();
        let mut user = control.create_user(0);
        let forwarded = seeded_user(&user);
        self.engine.register_psu(&forwarded).await.unwrap();
        self.psus.lock().unwrap().push(forwarded);
        user.connection_ids = control.link_bank(user.id, connections).unwrap();
        user
    }

    /// Waits for every webhook (with its retries) and every sync they triggered.
    async fn settle(&self) {
        self.sandbox.control().wait_for_webhooks().await;
        self.engine.triggered_syncs_idle().await;
    }

    /// Another engine on the same connector and sink, with its own state store and a clock
    /// reading `now`; the harness's PSUs are registered in it.
    async fn engine_with(&self, store: Arc<dyn StateStore>, now: DateTime<Utc>) -> Arc<Engine> {
        let engine = engine_on(
            &self.connector,
            store,
            self.sink.clone(),
            now,
            self.runs.clone(),
        );
        let psus = self.psus.lock().unwrap().clone();
        for psu in &psus {
            engine.register_psu(psu).await.unwrap();
        }
        engine
    }

    fn records(&self) -> Vec<Record> {
        self.sink.records()
    }
}

fn payments(records: &[Record]) -> BTreeMap<String, connector_core::model::Payment> {
    records
        .iter()
        .filter_map(|r| match r {
            Record::Payment(p) => Some((p.reference.clone(), p.clone())),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn signature_sandbox_signed_connection_synced_is_verified_read_once_and_translated() {
    let h = harness(0, Arc::new(MemoryStateStore::new())).await;
    let user = h.create_user(1).await;
    h.settle().await;

    let received = h.received.lock().unwrap().clone();
    assert_eq!(received.len(), 1, "{received:#?}");
    assert_eq!(received[0].path, "/webhooks/c1/connection-synced");
    assert_eq!(received[0].status, 200, "{}", received[0].outcome);
    assert!(received[0]
        .outcome
        .starts_with("processed id_webhook_data:"));

    let truth = h.sandbox.control().truth(user.id).unwrap();
    let records = h.records();
    assert!(
        matches!(&records[0], Record::UserConnectionReconnected(e)
            if e.psp_user_id == user.id.to_string()
            && e.connection_id == user.connection_ids[0].to_string()),
        "{:?}",
        records[0]
    );
    // Every payment matches the sandbox truth: reference, amount, status from `coming`.
    let precision: BTreeMap<u64, (String, Option<u32>)> = truth
        .accounts
        .iter()
        .map(|a| (a.id, (a.currency.clone(), a.precision)))
        .collect();
    let payments = payments(&records);
    let mut expected = 0;
    for t in &truth.transactions {
        let (currency, _) = &precision[&t.account_id];
        if currency == "GEMS" {
            // No precision published and not ISO 4217: skipped by the mapping.
            assert!(!payments.contains_key(&t.id.to_string()));
            continue;
        }
        expected += 1;
        let p = &payments[&t.id.to_string()];
        assert_eq!(
            p.amount.to_decimal(p.asset.precision()).unwrap(),
            t.value.abs()
        );
        let status = if t.coming {
            PaymentStatus::Pending
        } else {
            PaymentStatus::Succeeded
        };
        assert_eq!(p.status, status, "transaction {}", t.id);
    }
    assert!(expected > 250, "the history spans several accounts");
    assert_eq!(payments.len(), expected);
    // Balances come after the accounts they belong to.
    let first_account = records
        .iter()
        .position(|r| matches!(r, Record::Account(_)))
        .unwrap();
    let first_balance = records
        .iter()
        .position(|r| matches!(r, Record::Balance(_)))
        .unwrap();
    assert!(first_account < first_balance);
}

#[tokio::test]
async fn signature_every_registered_event_is_delivered_verified_and_translated() {
    let h = harness(0, Arc::new(MemoryStateStore::new())).await;
    let control = h.sandbox.control();
    let user = h.create_user(2).await;
    h.settle().await;
    let synced = h.records().len();
    let (first, second) = (user.connection_ids[0], user.connection_ids[1]);
    control.emit_pending_disconnect(first).unwrap();
    h.settle().await;
    control.delete_connection(second).unwrap();
    h.settle().await;
    control.delete_user(user.id).unwrap();
    h.settle().await;

    let received = h.received.lock().unwrap().clone();
    let paths: Vec<&str> = received.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/webhooks/c1/connection-synced",
            "/webhooks/c1/connection-synced",
            "/webhooks/c1/connection-pending-disconnect",
            "/webhooks/c1/connection-deleted",
            "/webhooks/c1/user-deleted",
        ]
    );
    assert!(received.iter().all(|r| r.status == 200), "{received:#?}");
    let psu = format!("psu-{}", user.id);
    let events: Vec<String> = h.records()[synced..]
        .iter()
        .map(|r| match r {
            Record::UserConnectionPendingDisconnect(e) => {
                assert_eq!(e.psu_id.as_deref(), Some(psu.as_str()));
                format!("pending {}", e.connection_id)
            }
            Record::UserConnectionDisconnected(e) => {
                assert_eq!(e.psu_id.as_deref(), Some(psu.as_str()));
                format!("disconnected {} {}", e.connection_id, e.error_type)
            }
            Record::UserDisconnected(e) => {
                assert_eq!(e.psu_id.as_deref(), Some(psu.as_str()));
                format!("user {}", e.psp_user_id)
            }
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(
        events,
        [
            format!("pending {first}"),
            format!("disconnected {second} USER_ACTION_NEEDED"),
            format!("user {}", user.id),
        ]
    );
}

#[tokio::test]
async fn tamper_with_body_path_date_or_secret_is_rejected_and_delivers_nothing() {
    let h = harness(0, Arc::new(MemoryStateStore::new())).await;
    h.create_user(1).await;
    h.settle().await;
    let genuine = h.received.lock().unwrap()[0].envelope.clone();
    let config = h.connection_synced_config().clone();
    let delivered = h.records().len();

    let mut body = genuine.clone();
    let text = String::from_utf8(body.body.clone()).unwrap();
    let digit = text.find("\"value\":").unwrap() + "\"value\":".len() + 1;
    body.body[digit] = if body.body[digit] == b'1' { b'2' } else { b'1' };

    let mut path = config.clone();
    path.full_url = Some(path.full_url.unwrap().replace("/c1/", "/c2/"));

    let mut date = genuine.clone();
    let signed_date = date.headers.get("bi-signature-date").unwrap().to_owned();
    let mut later = Headers::new();
    for (name, values) in date.headers.iter() {
        for value in values {
            let value = if name == "bi-signature-date" {
                signed_date.replace("06:00:00", "06:00:01")
            } else {
                value.clone()
            };
            later.append(name, value);
        }
    }
    date.headers = later;

    let mut secret = config.clone();
    secret
        .metadata
        .insert("secret".into(), "not-the-secret".into());

    for (what, config, webhook) in [
        ("body", &config, &body),
        ("path", &path, &genuine),
        ("date", &config, &date),
        ("secret", &secret, &genuine),
    ] {
        let err = h.inbox.receive(config, webhook.clone()).await.unwrap_err();
        assert_eq!(err.http_status(), 401, "{what}: {err}");
        assert!(err.to_string().contains("does not match"), "{what}: {err}");
    }
    assert_eq!(
        h.records().len(),
        delivered,
        "nothing delivered by tampered webhooks"
    );

    // And through the sandbox itself: a receiver holding the wrong secret answers 401 to
    // every attempt, and nothing reaches the sink.
    let h2 = harness(0, Arc::new(MemoryStateStore::new())).await;
    h2.sandbox.control().create_auth_provider("rotated");
    h2.create_user(1).await;
    h2.settle().await;
    let deliveries = h2.sandbox.control().webhook_deliveries();
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0].attempts, [401, 401, 401]);
    assert!(!deliveries[0].delivered);
    assert!(h2.records().is_empty());
}

#[tokio::test]
async fn webhook_psu_every_record_carries_the_psu_and_connection_that_polling_gives() {
    let h = harness(0, Arc::new(MemoryStateStore::new())).await;
    let user = h.create_user(1).await;
    h.settle().await;
    let psu = format!("psu-{}", user.id);
    let connection = user.connection_ids[0].to_string();
    let records = h.records();
    // The webhook's records, then those of the sync it triggered: the same accounts,
    // balances and payments, tied alike.
    let mut accounts: BTreeMap<String, usize> = BTreeMap::new();
    for record in &records {
        match record {
            Record::Account(a) => {
                assert_eq!(a.psu_id.as_deref(), Some(psu.as_str()), "{a:?}");
                assert_eq!(
                    a.open_banking_connection_id.as_deref(),
                    Some(connection.as_str())
                );
                *accounts.entry(a.reference.clone()).or_default() += 1;
            }
            Record::Balance(b) => {
                assert_eq!(b.psu_id.as_deref(), Some(psu.as_str()), "{b:?}");
                assert_eq!(
                    b.open_banking_connection_id.as_deref(),
                    Some(connection.as_str())
                );
            }
            Record::Payment(p) => {
                assert_eq!(p.psu_id.as_deref(), Some(psu.as_str()), "{}", p.reference);
                assert_eq!(
                    p.open_banking_connection_id.as_deref(),
                    Some(connection.as_str()),
                    "{}",
                    p.reference
                );
            }
            Record::UserConnectionReconnected(e) => {
                assert_eq!(e.psu_id.as_deref(), Some(psu.as_str()));
            }
            _ => {}
        }
    }
    assert!(!accounts.is_empty());
    assert!(
        accounts.values().filter(|n| **n == 2).count() >= 4,
        "the accounts came from the webhook and from polling: {accounts:?}"
    );
}

#[tokio::test]
async fn webhook_psu_of_an_unknown_powens_user_is_refused_with_a_typed_error_and_delivers_nothing()
{
    let h = harness(0, Arc::new(MemoryStateStore::new())).await;
    // A Powens user nobody forwarded through this engine.
    let stranger = h.sandbox.control().create_user(1);
    h.settle().await;
    let deliveries = h.sandbox.control().webhook_deliveries();
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0].attempts, [422, 422, 422]);
    assert!(h.records().is_empty(), "nothing delivered");
    let webhook = h.received.lock().unwrap()[0].envelope.clone();
    let err = h
        .inbox
        .receive(h.connection_synced_config(), webhook.clone())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, InboxError::UnknownUser { psp_user_id } if *psp_user_id == stranger.id.to_string()),
        "{err:?}"
    );
    assert!(err.to_string().contains("forward the PSU"), "{err}");

    // Once the PSU is forwarded, the redelivery goes through.
    h.engine
        .register_psu(&seeded_user(&stranger))
        .await
        .unwrap();
    let outcome = h
        .inbox
        .receive(h.connection_synced_config(), webhook)
        .await
        .unwrap();
    assert!(matches!(outcome, InboxOutcome::Processed { .. }));
    h.settle().await;
}

#[tokio::test]
async fn user_synced_triggers_sync_of_the_psu_connections_coalesced_never_twice_at_once() {
    let h = harness(0, Arc::new(MemoryStateStore::new())).await;
    let user = h.create_user(2).await;
    h.settle().await;
    let psu = format!("psu-{}", user.id);
    // Each CONNECTION_SYNCED triggered a sync of the PSU (coalesced when they overlapped).
    let after_links = h
        .runs
        .started
        .lock()
        .unwrap()
        .get(&psu)
        .copied()
        .unwrap_or(0);
    assert!((1..=2).contains(&after_links), "{after_links}");

    h.sandbox.control().emit_user_synced(user.id).unwrap();
    h.settle().await;
    let received = h.received.lock().unwrap().clone();
    let last = received.last().unwrap();
    assert_eq!(last.path, "/webhooks/c1/user-synced");
    assert_eq!(last.status, 200, "{}", last.outcome);
    assert_eq!(
        h.runs.started.lock().unwrap()[&psu],
        after_links + 1,
        "USER_SYNCED started one sync of the PSU"
    );
    // The sync read the PSU's accounts through polling: every account of the truth is here.
    let truth = h.sandbox.control().truth(user.id).unwrap();
    let accounts: std::collections::BTreeSet<String> = h
        .records()
        .iter()
        .filter_map(|r| match r {
            Record::Account(a) => Some(a.reference.clone()),
            _ => None,
        })
        .collect();
    for account in truth
        .accounts
        .iter()
        .filter(|a| a.visible && tests::expected_precision(a).is_some())
    {
        assert!(accounts.contains(&account.id.to_string()), "{}", account.id);
    }

    // Five triggers in a row before the sync starts: they all join it, one sync.
    let forwarded = Arc::new(seeded_user(&user));
    let runs = || h.runs.started.lock().unwrap()[&psu];
    let started: Vec<bool> = (0..5)
        .map(|_| h.engine.trigger_sync(forwarded.clone()))
        .collect();
    assert_eq!(started, [true, false, false, false, false]);
    h.settle().await;
    assert_eq!(runs(), after_links + 2, "the five triggers made one sync");

    // Three triggers while a sync runs (its pages are slow): one more run at its end.
    h.sandbox.control().inject_fault(FaultRule {
        times: 1_000,
        ..FaultRule::new(FaultRoute::Transactions, 1, Fault::Delay { millis: 100 })
    });
    assert!(h.engine.trigger_sync(forwarded.clone()));
    while runs() < after_links + 3 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let joined: Vec<bool> = (0..3)
        .map(|_| h.engine.trigger_sync(forwarded.clone()))
        .collect();
    assert_eq!(joined, [false, false, false]);
    h.settle().await;
    h.sandbox.control().clear_faults();
    assert_eq!(runs(), after_links + 4, "one more run for the three");
    assert_eq!(
        h.runs.most_at_once.load(Ordering::SeqCst),
        1,
        "never two syncs of the PSU at once"
    );
}

/// `body` with the first account's `balance` replaced by text no money decoder reads.
fn with_malformed_first_account(body: &[u8]) -> Vec<u8> {
    let text = String::from_utf8(body.to_vec()).unwrap();
    let at = text.find("\"balance\":").unwrap();
    let value_start = at + "\"balance\":".len();
    let value_end = value_start + text[value_start..].find([',', '}']).unwrap();
    format!(
        "{}\"twelve euros\"{}",
        &text[..value_start],
        &text[value_end..]
    )
    .into_bytes()
}

#[tokio::test]
async fn partial_delivery_a_malformed_account_is_skipped_and_a_failed_delivery_is_redelivered_whole(
) {
    let h = harness(0, Arc::new(MemoryStateStore::new())).await;
    let user = h.create_user(1).await;
    h.settle().await;
    let genuine = h.received.lock().unwrap()[0].envelope.clone();
    let config = h.connection_synced_config().clone();
    let whole = payments(&h.records());

    // The same delivery, one account malformed, signed again by the provider's secret.
    let body = with_malformed_first_account(&genuine.body);
    let date = genuine.headers.get("bi-signature-date").unwrap().to_owned();
    let secret = secrecy::SecretString::from(config.metadata["secret"].clone());
    let signature =
        powens_api::webhooks::sign(&secret, "/webhooks/c1/connection-synced", &date, &body);
    let webhook = WebhookEnvelope {
        headers: [
            ("BI-Signature", signature.as_str()),
            ("BI-Signature-Date", date.as_str()),
        ]
        .into_iter()
        .collect(),
        body,
        ..WebhookEnvelope::default()
    };

    // A fresh engine (its own key store); the sink refuses the first attempt.
    let engine = h
        .engine_with(Arc::new(MemoryStateStore::new()), sandbox_now())
        .await;
    let inbox = engine.webhook_inbox();
    let before = h.records().len();
    h.sink.fail_next.store(true, Ordering::SeqCst);
    let err = inbox.receive(&config, webhook.clone()).await.unwrap_err();
    assert_eq!(err.http_status(), 500, "{err}");
    assert_eq!(
        h.records().len(),
        before,
        "nothing of a failed delivery reached the sink"
    );

    // The redelivery is processed whole, once: every account but the malformed one.
    let InboxOutcome::Processed { outcome, .. } =
        inbox.receive(&config, webhook.clone()).await.unwrap()
    else {
        panic!("expected the redelivery to be processed");
    };
    engine.triggered_syncs_idle().await;
    let skipped_accounts: Vec<_> = outcome
        .skipped
        .iter()
        .filter(|s| s.kind == "account" && s.reason.contains("does not decode"))
        .collect();
    assert_eq!(skipped_accounts.len(), 1);
    assert!(
        skipped_accounts[0]
            .reason
            .contains("transactions are skipped with it"),
        "{:?}",
        skipped_accounts[0]
    );
    let bad_account = skipped_accounts[0].id.clone().unwrap();
    let delivered = &h.records()[before..before + outcome.records as usize];
    let got = payments(delivered);
    let expected: BTreeMap<_, _> = whole
        .iter()
        .filter(|(_, p)| {
            p.metadata.get("com.powens.spec/account_id") != Some(bad_account.as_str())
                && p.source_account_reference.as_deref() != Some(bad_account.as_str())
                && p.destination_account_reference.as_deref() != Some(bad_account.as_str())
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>()
    );
    assert!(matches!(
        inbox.receive(&config, webhook).await.unwrap(),
        InboxOutcome::Duplicate { .. }
    ));
    let _ = user;
}

#[tokio::test]
async fn replay_of_the_same_id_webhook_data_has_no_duplicate_effect() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn StateStore> = Arc::new(FileStateStore::open(dir.path()).unwrap());
    // The first acknowledgement is lost: the sandbox redelivers the same body.
    let h = harness(1, store).await;
    h.create_user(1).await;
    h.settle().await;

    let deliveries = h.sandbox.control().webhook_deliveries();
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0].attempts, [500, 200]);
    let received = h.received.lock().unwrap().clone();
    assert_eq!(received.len(), 2);
    assert_eq!(received[0].envelope.body, received[1].envelope.body);
    let key = format!("id_webhook_data:{}", deliveries[0].id_webhook_data);
    assert_eq!(received[0].outcome, format!("processed {key}"));
    assert_eq!(received[1].outcome, format!("duplicate {key}"));
    let once = h.records().len();
    assert!(once > 0);

    // A restarted receiver on the same store still recognises it.
    let config = h.connection_synced_config();
    let restarted = h
        .engine_with(
            Arc::new(FileStateStore::open(dir.path()).unwrap()),
            sandbox_now(),
        )
        .await;
    let again = restarted
        .webhook_inbox()
        .receive(config, received[0].envelope.clone())
        .await
        .unwrap();
    assert_eq!(again, InboxOutcome::Duplicate { key: key.clone() });
    assert_eq!(h.records().len(), once, "no record delivered twice");
}

#[tokio::test]
async fn replay_of_a_captured_webhook_is_a_duplicate_within_the_window_and_stale_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn StateStore> = Arc::new(FileStateStore::open(dir.path()).unwrap());
    let h = harness(0, store).await;
    h.create_user(1).await;
    h.settle().await;
    let captured = h.received.lock().unwrap()[0].envelope.clone();
    let config = h.connection_synced_config();
    let delivered = h.records().len();
    // A receiver whose clock reads `at`, on the same store (key recorded at 2026-06-18 06:00).
    let h = &h;
    let inbox_at = |days: i64| {
        let at = sandbox_now() + TimeDelta::days(days);
        let dir = dir.path().to_owned();
        async move {
            h.engine_with(Arc::new(FileStateStore::open(dir).unwrap()), at)
                .await
                .webhook_inbox()
        }
    };

    // Two days later: within the freshness window, the key is known: a duplicate.
    let soon = inbox_at(2).await;
    assert_eq!(soon.prune_processed().await.unwrap(), 0);
    let again = soon.receive(config, captured.clone()).await.unwrap();
    assert!(matches!(again, InboxOutcome::Duplicate { .. }), "{again:?}");

    // Four days later: the key is still kept, and the capture is refused as stale.
    let later = inbox_at(4).await;
    assert_eq!(later.prune_processed().await.unwrap(), 0);
    let err = later.receive(config, captured.clone()).await.unwrap_err();
    assert!(matches!(err, InboxError::Stale { .. }), "{err:?}");
    assert_eq!(err.http_status(), 401);

    // Past the retention the key is pruned, and the capture is still stale: never processed
    // twice.
    let much_later = inbox_at(15).await;
    assert_eq!(much_later.prune_processed().await.unwrap(), 1);
    let err = much_later.receive(config, captured).await.unwrap_err();
    assert!(matches!(err, InboxError::Stale { .. }), "{err:?}");
    assert_eq!(h.records().len(), delivered, "nothing delivered again");
    assert!(
        much_later.settings().effective_retention()
            > much_later.settings().freshness_window.unwrap()
    );
}

#[tokio::test]
async fn replay_arriving_while_the_first_delivery_is_in_flight_is_refused_with_409() {
    let h = harness(0, Arc::new(MemoryStateStore::new())).await;
    h.create_user(1).await;
    h.settle().await;
    let webhook = h.received.lock().unwrap()[0].envelope.clone();
    let config = h.connection_synced_config().clone();
    // A fresh store, so this delivery is new to the inbox.
    let engine = h
        .engine_with(Arc::new(MemoryStateStore::new()), sandbox_now())
        .await;
    let inbox = Arc::new(engine.webhook_inbox());
    let gate = Arc::new(Semaphore::new(0));
    *h.sink.gate.lock().unwrap() = Some(gate.clone());

    let first = tokio::spawn({
        let (inbox, config, webhook) = (inbox.clone(), config.clone(), webhook.clone());
        async move { inbox.receive(&config, webhook).await }
    });
    h.sink.entered.notified().await; // the first delivery is at the sink
    let err = inbox.receive(&config, webhook.clone()).await.unwrap_err();
    assert_eq!(err.http_status(), 409, "{err}");

    gate.close();
    assert!(matches!(
        first.await.unwrap().unwrap(),
        InboxOutcome::Processed { .. }
    ));
    assert!(matches!(
        inbox.receive(&config, webhook).await.unwrap(),
        InboxOutcome::Duplicate { .. }
    ));
    engine.triggered_syncs_idle().await;
}
