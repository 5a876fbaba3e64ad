//! `connector_powens::service` (the library `powens serve` is built on) against the sandbox:
//! polling honours `pollingPeriod` per PSU, and a webhook's status makes Powens redeliver
//! exactly when the sink failed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use connector_core::model::Record;
use connector_core::state::{MemoryStateStore, StateStore};
use connector_core::webhook::Headers;
use connector_powens::service::{CreatePsu, Service, ServiceOptions};
use powens_sandbox::{Sandbox, SandboxHandle, SandboxSize, WebhookEvent};
use tests::{connector_for, MemorySink};
use tokio_util::sync::CancellationToken;

async fn sandbox() -> SandboxHandle {
    Sandbox::builder()
        .seed(5)
        .size(SandboxSize {
            users: 0,
            connections_per_link: 1,
            accounts_per_connection: 2,
            transactions_per_account: 30,
        })
        .webhook_retries(3, Duration::from_millis(20))
        .start()
        .await
        .unwrap()
}

/// A service on `sandbox` (its clock manual, at the sandbox's time) whose webhooks are
/// received by a small axum front on 127.0.0.1, registered at the sandbox for
/// `CONNECTION_SYNCED` when `webhooks` is set.
async fn service_on(
    sandbox: &SandboxHandle,
    sink: Arc<MemorySink>,
    webhooks: bool,
) -> (Arc<Service>, powens_api::time::ManualClock) {
    service_with_store(sandbox, sink, webhooks, Arc::new(MemoryStateStore::new())).await
}

/// [`service_on`] with the state store `store`.
async fn service_with_store(
    sandbox: &SandboxHandle,
    sink: Arc<MemorySink>,
    webhooks: bool,
    store: Arc<MemoryStateStore>,
) -> (Arc<Service>, powens_api::time::ManualClock) {
    let (connector, clock) = connector_for(sandbox, 50).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let public_url = format!("http://{}", listener.local_addr().unwrap());
    let service = Arc::new(
        Service::start(connector, store, sink, ServiceOptions::new(public_url))
            .await
            .unwrap(),
    );
    let app =
        axum::Router::new()
            .route(
                "/webhooks/{*event}",
                axum::routing::post(
                    |State(service): State<Arc<Service>>,
                     uri: Uri,
                     headers: HeaderMap,
                     body: Bytes| async move {
                        let mut envelope = Headers::new();
                        for (name, value) in &headers {
                            envelope.append(name.as_str(), value.to_str().unwrap());
                        }
                        let reply = service
                            .receive_webhook(uri.path(), envelope, body.to_vec())
                            .await;
                        (
                            StatusCode::from_u16(reply.status).unwrap(),
                            axum::Json(reply.body),
                        )
                    },
                ),
            )
            .with_state(Arc::clone(&service));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    if !webhooks {
        return (service, clock);
    }
    let config = service
        .webhook_configs()
        .iter()
        .find(|c| c.name == "CONNECTION_SYNCED")
        .unwrap();
    sandbox.control().register_webhook(
        WebhookEvent::ConnectionSynced,
        config.full_url.clone().unwrap(),
    );
    (service, clock)
}

fn payments_of(sink: &MemorySink, psu: &str) -> usize {
    sink.records()
        .iter()
        .filter(|r| matches!(r, Record::Payment(p) if p.psu_id.as_deref() == Some(psu)))
        .count()
}

#[tokio::test]
async fn serve_webhook_is_answered_500_while_the_sink_fails_then_processed_on_redelivery() {
    let sandbox = sandbox().await;
    let sink = Arc::new(MemorySink::default());
    let (service, _clock) = service_on(&sandbox, Arc::clone(&sink), true).await;
    let psu = service
        .create_psu(CreatePsu {
            id: Some("dora".into()),
            name: None,
        })
        .await
        .unwrap();
    let user_id: u64 = psu.powens_user_id.unwrap().parse().unwrap();

    sink.fail_next.store(true, Ordering::SeqCst);
    // Linking a bank makes the sandbox push CONNECTION_SYNCED with the whole history.
    sandbox.control().link_bank(user_id, 1).unwrap();
    sandbox.control().wait_for_webhooks().await;
    service.engine().triggered_syncs_idle().await;

    let deliveries = sandbox.control().webhook_deliveries();
    assert_eq!(deliveries.len(), 1, "{deliveries:?}");
    assert_eq!(deliveries[0].attempts, [500, 200], "{deliveries:?}");
    assert!(deliveries[0].delivered);
    // 30 rows per account, two accounts: the redelivery and the sync it triggered.
    assert!(
        payments_of(&sink, "dora") >= 60,
        "{}",
        payments_of(&sink, "dora")
    );
    let metrics = service.metrics_text();
    assert!(
        metrics.contains(
            r#"powens_webhooks_total{event="CONNECTION_SYNCED",outcome="rejected",status="500"} 1"#
        ),
        "{metrics}"
    );
    assert!(
        metrics.contains(
            r#"powens_webhooks_total{event="CONNECTION_SYNCED",outcome="processed",status="200"} 1"#
        ),
        "{metrics}"
    );
}

#[tokio::test]
async fn serve_polling_syncs_every_psu_each_polling_period_plus_at_most_the_jitter() {
    let sandbox = sandbox().await;
    let sink = Arc::new(MemorySink::default());
    let (service, clock) = service_on(&sandbox, Arc::clone(&sink), false).await;
    for id in ["erin", "fred"] {
        let psu = service
            .create_psu(CreatePsu {
                id: Some(id.into()),
                name: None,
            })
            .await
            .unwrap();
        let user_id: u64 = psu.powens_user_id.unwrap().parse().unwrap();
        // No webhook is registered: only polling can find the data.
        sandbox.control().link_bank(user_id, 1).unwrap();
    }
    assert!(sink.records().is_empty());

    // The manual clock returns from every sleep at once and records it.
    let cancel = CancellationToken::new();
    let polling = {
        let (service, cancel) = (Arc::clone(&service), cancel.clone());
        tokio::spawn(async move { service.run_polling(&cancel).await })
    };
    let period = Duration::from_secs(30 * 60); // the config's pollingPeriod
    let max_jitter = Duration::from_secs(5 * 60); // min(period / 2, 5 min)
    let waits = loop {
        let waits: Vec<Duration> = clock
            .sleeps()
            .into_iter()
            .filter(|d| *d >= Duration::from_secs(60))
            .collect();
        if waits.len() >= 3 {
            break waits;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    cancel.cancel();
    polling.await.unwrap();
    for wait in &waits {
        assert!(
            *wait >= period && *wait <= period + max_jitter,
            "a wait of {wait:?} between cycles"
        );
    }
    // The cycles synced both PSUs: 30 rows on each of their two accounts.
    assert!(payments_of(&sink, "erin") >= 60);
    assert!(payments_of(&sink, "fred") >= 60);
    let erin = service.psu_status("erin").await.unwrap();
    assert!(erin.last_successful_sync.is_some());
    assert_eq!(erin.connections.len(), 1);
}

#[tokio::test]
async fn serve_a_sync_asked_for_after_a_delete_writes_nothing_and_does_not_bring_the_psu_back() {
    let sandbox = sandbox().await;
    let sink = Arc::new(MemorySink::default());
    let store = Arc::new(MemoryStateStore::new());
    let (service, _clock) =
        service_with_store(&sandbox, Arc::clone(&sink), true, Arc::clone(&store)).await;
    let psu = service
        .create_psu(CreatePsu {
            id: Some("erin".into()),
            name: None,
        })
        .await
        .unwrap();
    let powens_user = psu.powens_user_id.unwrap();
    sandbox
        .control()
        .link_bank(powens_user.parse().unwrap(), 1)
        .unwrap();
    sandbox.control().wait_for_webhooks().await;
    service.engine().triggered_syncs_idle().await;
    let directory = service.engine().psu_directory();
    let forwarded = Arc::new(directory.get(&powens_user).await.unwrap().unwrap());
    assert!(payments_of(&sink, "erin") > 0);

    service.delete_psu("erin").await.unwrap();
    // A webhook that found the PSU just before the DELETE triggers its sync just after.
    let records_before = sink.records().len();
    service.engine().trigger_sync(forwarded);
    service.engine().triggered_syncs_idle().await;

    assert_eq!(
        directory.get(&powens_user).await.unwrap(),
        None,
        "the Powens user stays forgotten"
    );
    assert_eq!(sink.records().len(), records_before, "nothing delivered");
    let states = store.list().await.unwrap();
    assert!(
        states
            .iter()
            .all(|(key, _)| key.scope.psu_id.as_deref() != Some("erin")),
        "no state of the deleted PSU: {states:?}"
    );
}
