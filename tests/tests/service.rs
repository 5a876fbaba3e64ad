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
use connector_core::state::MemoryStateStore;
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
    let (connector, clock) = connector_for(sandbox, 50).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let public_url = format!("http://{}", listener.local_addr().unwrap());
    let service = Arc::new(
        Service::start(
            connector,
            Arc::new(MemoryStateStore::new()),
            sink,
            ServiceOptions::new(public_url),
        )
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
