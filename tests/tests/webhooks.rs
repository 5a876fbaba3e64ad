//! Webhooks end to end: the sandbox signs and delivers real webhooks over 127.0.0.1 to a small
//! axum receiver, which hands them to a `WebhookInbox` (verify → de-duplicate → engine →
//! sink) of a `PowensConnector` installed against the same sandbox (the install created the
//! `hmac_signature` provider whose secret signs the deliveries).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, Uri};
use chrono::{DateTime, TimeZone, Utc};
use connector_core::engine::EngineConfig;
use connector_core::model::{PaymentStatus, Record};
use connector_core::sink::{Sink, SinkError};
use connector_core::state::{FileStateStore, MemoryStateStore, StateStore};
use connector_core::webhook::{Headers, WebhookConfig, WebhookEnvelope};
use connector_core::Engine;
use connector_powens::webhooks::{
    routes, InboxOutcome, PowensWebhooks, ProcessedWebhooks, WebhookInbox, WebhookOptions,
};
use connector_powens::{PowensConfig, PowensConnector};
use futures::future::BoxFuture;
use powens_api::time::{Clock, ManualClock};
use powens_sandbox::{Sandbox, SandboxHandle, SandboxSize, WebhookEvent};
use serde_json::json;
use tokio::sync::{Notify, Semaphore};

/// Every record the engine delivered, in order. When a gate is set, each batch waits for
/// the gate to close (after signalling `entered`), so a test can hold a delivery in flight.
#[derive(Default)]
struct MemorySink {
    records: Mutex<Vec<Record>>,
    gate: Mutex<Option<Arc<Semaphore>>>,
    entered: Notify,
}

impl Sink for MemorySink {
    fn accept<'a>(&'a self, batch: &'a [Record]) -> BoxFuture<'a, Result<(), SinkError>> {
        let gate = self.gate.lock().unwrap().clone();
        Box::pin(async move {
            if let Some(gate) = gate {
                self.entered.notify_one();
                // Closed = open gate: `acquire` then fails at once.
                let _ = gate.acquire().await;
            }
            self.records.lock().unwrap().extend_from_slice(batch);
            Ok(())
        })
    }
}

/// One request as the receiver saw it, and what it answered.
#[derive(Debug, Clone)]
struct Received {
    path: String,
    envelope: WebhookEnvelope,
    status: u16,
    outcome: String,
}

struct Harness {
    sandbox: SandboxHandle,
    sink: Arc<MemorySink>,
    inbox: Arc<WebhookInbox>,
    /// The configs install returned (public base `{receiver}/webhooks/c1`).
    configs: Vec<WebhookConfig>,
    received: Arc<Mutex<Vec<Received>>>,
    engine: Arc<Engine>,
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

/// Starts the sandbox, installs the connector (creating the auth provider), starts the
/// receiver and registers it for every configured event. `lose_first_acks` requests are
/// processed but answered 500 (an acknowledgement lost on the way back), so the sandbox
/// redelivers them. `keys` is the store of processed idempotency keys.
async fn harness(lose_first_acks: usize, keys: Arc<dyn StateStore>) -> Harness {
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
    let credentials = sandbox.credentials().clone();
    let config = PowensConfig::from_value(json!({
        "clientID": credentials.client_id,
        "clientSecret": credentials.client_secret,
        "configurationToken": credentials.configuration_token,
        "domain": credentials.domain,
        "endpoint": sandbox.api_url(),
        "maxConnectionsPerLink": 1,
    }))
    .unwrap();
    // The sandbox clock: 2026-06-18 08:00 Paris = 06:00 UTC, frozen.
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 6, 18, 6, 0, 0).unwrap(),
    ));
    let connector = Arc::new(
        PowensConnector::builder(config)
            .clock(clock.clone())
            .build()
            .unwrap(),
    );
    let handler = Arc::new(connector.webhook_handler().clone());
    let sink = Arc::new(MemorySink::default());
    let engine = Arc::new(
        Engine::new(
            connector,
            Arc::new(MemoryStateStore::new()),
            sink.clone(),
            EngineConfig::default(),
        )
        .unwrap(),
    );

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let receiver_url = format!("http://{}", listener.local_addr().unwrap());
    let configs = engine
        .install(&format!("{receiver_url}/webhooks/c1"))
        .await
        .unwrap();
    let inbox = Arc::new(WebhookInbox::new(
        engine.clone(),
        handler,
        ProcessedWebhooks::new(keys),
        clock as Arc<dyn Clock>,
    ));

    let received: Arc<Mutex<Vec<Received>>> = Arc::default();
    let app = {
        let (inbox, configs, received) = (inbox.clone(), configs.clone(), received.clone());
        axum::Router::new().fallback(move |uri: Uri, headers: HeaderMap, body: Bytes| {
            let (inbox, configs, received) = (inbox.clone(), configs.clone(), received.clone());
            async move {
                let envelope = to_envelope(&headers, body);
                let Some(config) = routes::config_for_request_path(&configs, uri.path()) else {
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
    }
}

impl Harness {
    /// The `CONNECTION_SYNCED` webhook config install returned.
    fn connection_synced_config(&self) -> &WebhookConfig {
        self.configs
            .iter()
            .find(|c| c.name == "CONNECTION_SYNCED")
            .unwrap()
    }

    /// Another receiver on this engine, with its own key store and a clock reading `now`.
    fn inbox_with(&self, keys: Arc<dyn StateStore>, now: DateTime<Utc>) -> WebhookInbox {
        WebhookInbox::new(
            self.engine.clone(),
            Arc::new(PowensWebhooks::new(WebhookOptions::default())),
            ProcessedWebhooks::new(keys),
            Arc::new(ManualClock::new(now)),
        )
    }
}

fn records(h: &Harness) -> Vec<Record> {
    h.sink.records.lock().unwrap().clone()
}

#[tokio::test]
async fn signature_sandbox_signed_connection_synced_is_verified_trimmed_and_translated() {
    let h = harness(0, Arc::new(MemoryStateStore::new())).await;
    let user = h.sandbox.control().create_user(1);
    h.sandbox.control().wait_for_webhooks().await;

    let received = h.received.lock().unwrap().clone();
    assert_eq!(received.len(), 1, "{received:#?}");
    assert_eq!(received[0].path, "/webhooks/c1/connection-synced");
    assert_eq!(received[0].status, 200, "{}", received[0].outcome);
    assert!(received[0]
        .outcome
        .starts_with("processed id_webhook_data:"));

    let truth = h.sandbox.control().truth(user.id).unwrap();
    let records = records(&h);
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
    let payments: BTreeMap<String, _> = records
        .iter()
        .filter_map(|r| match r {
            Record::Payment(p) => Some((p.reference.clone(), p.clone())),
            _ => None,
        })
        .collect();
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
    assert!(expected > 250, "the history spans several pieces");
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
    let user = control.create_user(2);
    control.wait_for_webhooks().await;
    let synced = records(&h).len();
    let (first, second) = (user.connection_ids[0], user.connection_ids[1]);
    control.emit_pending_disconnect(first).unwrap();
    control.wait_for_webhooks().await;
    control.delete_connection(second).unwrap();
    control.wait_for_webhooks().await;
    control.delete_user(user.id).unwrap();
    control.wait_for_webhooks().await;

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
    let events: Vec<String> = records(&h)[synced..]
        .iter()
        .map(|r| match r {
            Record::UserConnectionPendingDisconnect(e) => format!("pending {}", e.connection_id),
            Record::UserConnectionDisconnected(e) => {
                format!("disconnected {} {}", e.connection_id, e.error_type)
            }
            Record::UserDisconnected(e) => format!("user {}", e.psp_user_id),
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
    let user = h.sandbox.control().create_user(1);
    h.sandbox.control().wait_for_webhooks().await;
    let genuine = h.received.lock().unwrap()[0].envelope.clone();
    let config = h.connection_synced_config().clone();
    let delivered = records(&h).len();

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
        records(&h).len(),
        delivered,
        "nothing delivered by tampered webhooks"
    );

    // And through the sandbox itself: a receiver holding the wrong secret answers 401 to
    // every attempt, and nothing reaches the sink.
    let h2 = harness(0, Arc::new(MemoryStateStore::new())).await;
    h2.sandbox.control().create_auth_provider("rotated");
    h2.sandbox.control().create_user(1);
    h2.sandbox.control().wait_for_webhooks().await;
    let deliveries = h2.sandbox.control().webhook_deliveries();
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0].attempts, [401, 401, 401]);
    assert!(!deliveries[0].delivered);
    assert!(records(&h2).is_empty());
    let _ = user;
}

#[tokio::test]
async fn replay_of_the_same_id_webhook_data_has_no_duplicate_effect() {
    let dir = tempfile::tempdir().unwrap();
    let keys: Arc<dyn StateStore> = Arc::new(FileStateStore::open(dir.path()).unwrap());
    // The first acknowledgement is lost: the sandbox redelivers the same body.
    let h = harness(1, keys).await;
    h.sandbox.control().create_user(1);
    h.sandbox.control().wait_for_webhooks().await;

    let deliveries = h.sandbox.control().webhook_deliveries();
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0].attempts, [500, 200]);
    let received = h.received.lock().unwrap().clone();
    assert_eq!(received.len(), 2);
    assert_eq!(received[0].envelope.body, received[1].envelope.body);
    let key = format!("id_webhook_data:{}", deliveries[0].id_webhook_data);
    assert_eq!(received[0].outcome, format!("processed {key}"));
    assert_eq!(received[1].outcome, format!("duplicate {key}"));
    let once = records(&h).len();
    assert!(once > 0);

    // A restarted receiver on the same key store still recognises it.
    let config = h.connection_synced_config();
    let restarted = h.inbox_with(
        Arc::new(FileStateStore::open(dir.path()).unwrap()),
        Utc::now(),
    );
    let again = restarted
        .receive(config, received[0].envelope.clone())
        .await
        .unwrap();
    assert_eq!(again, InboxOutcome::Duplicate { key: key.clone() });
    assert_eq!(records(&h).len(), once, "no record delivered twice");

    // Without the key store, the engine alone would deliver everything again.
    let outcome = h
        .engine
        .handle_webhook(config, received[0].envelope.clone())
        .await
        .unwrap();
    assert_eq!(outcome.idempotency_keys[0], format!("{key}-0"));
    assert_eq!(records(&h).len(), 2 * once);
}

#[tokio::test]
async fn pruned_keys_are_forgotten_after_their_retention_and_recent_ones_stay_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let keys: Arc<dyn StateStore> = Arc::new(FileStateStore::open(dir.path()).unwrap());
    let h = harness(0, keys).await;
    h.sandbox.control().create_user(1);
    h.sandbox.control().wait_for_webhooks().await;
    let received = h.received.lock().unwrap().clone();
    assert_eq!(received.len(), 1);
    let config = h.connection_synced_config();
    // A receiver whose clock reads `at`, on the same key store (recorded at 2026-06-18 06:00).
    let inbox_at = |at| h.inbox_with(Arc::new(FileStateStore::open(dir.path()).unwrap()), at);
    let seven_days = chrono::TimeDelta::days(7);

    // Six days later the key is within its retention: kept, the redelivery is a duplicate.
    let soon = inbox_at(Utc.with_ymd_and_hms(2026, 6, 24, 6, 0, 0).unwrap());
    assert_eq!(soon.prune_processed(seven_days).await.unwrap(), 0);
    let again = soon
        .receive(config, received[0].envelope.clone())
        .await
        .unwrap();
    assert!(matches!(again, InboxOutcome::Duplicate { .. }), "{again:?}");

    // Eight days later it is pruned; a (late) redelivery is processed again.
    let later = inbox_at(Utc.with_ymd_and_hms(2026, 6, 26, 6, 0, 0).unwrap());
    assert_eq!(later.prune_processed(seven_days).await.unwrap(), 1);
    let late = later
        .receive(config, received[0].envelope.clone())
        .await
        .unwrap();
    assert!(matches!(late, InboxOutcome::Processed { .. }), "{late:?}");
}

#[tokio::test]
async fn replay_arriving_while_the_first_delivery_is_in_flight_is_refused_with_409() {
    let h = harness(0, Arc::new(MemoryStateStore::new())).await;
    h.sandbox.control().create_user(1);
    h.sandbox.control().wait_for_webhooks().await;
    let webhook = h.received.lock().unwrap()[0].envelope.clone();
    let config = h.connection_synced_config().clone();
    // A fresh key store, so this delivery is new to the inbox.
    let inbox = Arc::new(h.inbox_with(Arc::new(MemoryStateStore::new()), Utc::now()));
    let gate = Arc::new(Semaphore::new(0));
    *h.sink.gate.lock().unwrap() = Some(gate.clone());

    let first = tokio::spawn({
        let (inbox, config, webhook) = (inbox.clone(), config.clone(), webhook.clone());
        async move { inbox.receive(&config, webhook).await }
    });
    h.sink.entered.notified().await; // the first delivery is inside the engine
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
}
