#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The JSON-lines and channel sinks, and the engine's webhook path (install, verify, trim,
//! translate, deliver).

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{TimeZone, Utc};
use connector_core::contract::*;
use connector_core::engine::{EngineConfig, EngineError, InboxError, InboxOutcome, WebhookInbox};
use connector_core::model::*;
use connector_core::openbanking::ForwardedUser;
use connector_core::sink::{ChannelSink, JsonLinesSink, Sink, SinkError};
use connector_core::state::MemoryStateStore;
use connector_core::webhook::*;
use connector_core::{Connector, ConnectorError, Engine};
use futures::future::{self, BoxFuture};
use futures::FutureExt;

fn at(h: u32) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 2, 2, h, 0, 0).unwrap()
}

fn events() -> Vec<Record> {
    vec![
        Record::UserDisconnected(UserDisconnected {
            psu_id: None,
            psp_user_id: "31".into(),
        }),
        Record::PaymentToDelete(PaymentToDelete {
            reference: "p-1".into(),
        }),
        Record::UserConnectionReconnected(UserConnectionReconnected {
            psu_id: None,
            psp_user_id: "31".into(),
            connection_id: "77".into(),
            at: at(3),
        }),
    ]
}

#[tokio::test]
async fn json_lines_sink_appends_one_record_per_line_per_batch() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("records.jsonl");
    let sink = JsonLinesSink::append(&path).await.unwrap().with_fsync(true);
    let batch = events();
    sink.accept(&batch[..2]).await.unwrap();
    // flushed per batch: visible before the sink is dropped
    assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 2);
    sink.accept(&batch[2..]).await.unwrap();
    drop(sink);
    // appending to an existing file keeps what was there
    let again = JsonLinesSink::append(&path).await.unwrap();
    again.accept(&batch[..1]).await.unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    insta::assert_snapshot!(text);
    let parsed: Vec<Record> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(parsed[..3], batch[..]);
}

#[tokio::test]
async fn json_lines_sink_cuts_a_torn_line_before_appending() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("records.jsonl");
    let batch = events();
    let sink = JsonLinesSink::append(&path).await.unwrap();
    assert_eq!(sink.torn_bytes_cut(), 0, "a new file has nothing torn");
    sink.accept(&batch[..2]).await.unwrap();
    drop(sink);
    // A write cut short: the second line loses its end (and its newline).
    let whole = std::fs::read(&path).unwrap();
    let first_line = whole.iter().position(|&b| b == b'\n').unwrap() + 1;
    let torn_at = first_line + 10;
    std::fs::write(&path, &whole[..torn_at]).unwrap();

    let sink = JsonLinesSink::append(&path).await.unwrap();
    assert_eq!(sink.torn_bytes_cut(), 10);
    sink.accept(&batch[2..]).await.unwrap();
    drop(sink);
    let text = std::fs::read_to_string(&path).unwrap();
    let parsed: Vec<Record> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(parsed, [batch[0].clone(), batch[2].clone()]);

    // A file that is one torn line only is emptied; a whole file is left alone.
    std::fs::write(&path, b"{\"type\":\"Pay").unwrap();
    assert_eq!(
        JsonLinesSink::append(&path).await.unwrap().torn_bytes_cut(),
        12
    );
    assert_eq!(std::fs::read(&path).unwrap(), b"");
    std::fs::write(&path, &whole).unwrap();
    assert_eq!(
        JsonLinesSink::append(&path).await.unwrap().torn_bytes_cut(),
        0
    );
    assert_eq!(std::fs::read(&path).unwrap(), whole);
    // A torn tail longer than one backwards read (64 KiB).
    let mut long = whole.clone();
    long.extend(std::iter::repeat_n(b'x', 200_000));
    std::fs::write(&path, &long).unwrap();
    assert_eq!(
        JsonLinesSink::append(&path).await.unwrap().torn_bytes_cut(),
        200_000
    );
    assert_eq!(std::fs::read(&path).unwrap(), whole);
}

#[tokio::test]
async fn json_lines_sink_writes_a_batch_larger_than_one_file_write_as_whole_lines_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("records.jsonl");
    let sink = JsonLinesSink::append(&path).await.unwrap();
    // About 1 MiB of lines: several pieces of whole lines.
    let batch: Vec<Record> = (0..20_000)
        .map(|n| {
            Record::PaymentToDelete(PaymentToDelete {
                reference: format!("payment-{n:05}-{}", "x".repeat(30)),
            })
        })
        .collect();
    sink.accept(&batch).await.unwrap();
    sink.accept(&batch[..1]).await.unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.len() > 1024 * 1024, "{} bytes", text.len());
    let parsed: Vec<Record> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(parsed.len(), batch.len() + 1);
    assert_eq!(parsed[..batch.len()], batch[..]);
    assert_eq!(parsed[batch.len()], batch[0]);
}

#[tokio::test]
async fn json_lines_sink_writes_to_any_async_writer() {
    let (client, mut server) = tokio::io::duplex(64 * 1024);
    let sink = JsonLinesSink::new(client);
    sink.accept(&events()).await.unwrap();
    drop(sink);
    let mut out = String::new();
    tokio::io::AsyncReadExt::read_to_string(&mut server, &mut out)
        .await
        .unwrap();
    assert_eq!(out.lines().count(), 3);
    assert!(out.ends_with('\n'));
}

#[tokio::test]
async fn channel_sink_delivers_batches_and_reports_a_dropped_receiver() {
    let (sink, mut receiver) = ChannelSink::new(2);
    sink.accept(&events()).await.unwrap();
    assert_eq!(receiver.recv().await.unwrap(), events());
    drop(receiver);
    assert!(matches!(
        sink.accept(&events()).await,
        Err(SinkError::Closed)
    ));
}

// ---------------------------------------------------------------------------------------
// A connector with webhooks only, like an open-banking push connector.

#[derive(Default)]
struct PushConnector {
    uninstalled: std::sync::Mutex<Vec<String>>,
}

const SECRET: &str = "s3cret";

impl WebhookHandler for PushConnector {
    fn create_webhooks(
        &self,
        request: CreateWebhooksRequest,
    ) -> BoxFuture<'_, Result<Vec<WebhookConfig>, ConnectorError>> {
        let config = |name: &str, path: &str| WebhookConfig {
            name: name.into(),
            url_path: path.into(),
            full_url: Some(format!("{}{path}", request.webhook_base_url)),
            metadata: BTreeMap::from([("secret".into(), SECRET.into())]),
        };
        future::ready(Ok(vec![
            config("CONNECTION_SYNCED", "/connection-synced"),
            config("USER_DELETED", "/user-deleted"),
        ]))
        .boxed()
    }

    fn verify_webhook<'a>(
        &'a self,
        webhook: &'a WebhookEnvelope,
        config: &'a WebhookConfig,
    ) -> BoxFuture<'a, Result<VerifiedWebhook, ConnectorError>> {
        let result = match webhook.headers.get_exactly_one("X-Secret") {
            Ok(value) if Some(value) == config.metadata.get("secret").map(String::as_str) => {
                Ok(VerifiedWebhook { signed_at: None })
            }
            Ok(_) => Err(ConnectorError::WebhookVerification {
                message: "bad signature".into(),
            }),
            Err(e) => Err(ConnectorError::WebhookVerification {
                message: e.to_string(),
            }),
        };
        future::ready(result).boxed()
    }

    /// One meaning per line of the body; an unknown line fails the whole delivery.
    fn translate_webhook<'a>(
        &'a self,
        webhook: &'a WebhookEnvelope,
        _config: &'a WebhookConfig,
    ) -> BoxFuture<'a, Result<WebhookTranslation, ConnectorError>> {
        let mut translation = WebhookTranslation {
            idempotency_key: webhook.headers.get("X-Id").unwrap_or("no-id").to_owned(),
            psp_user_id: Some("31".into()),
            ..WebhookTranslation::default()
        };
        for line in String::from_utf8_lossy(&webhook.body).lines() {
            match line {
                "deleted" => translation
                    .responses
                    .push(WebhookResponse::UserDisconnected(UserDisconnected {
                        psu_id: None,
                        psp_user_id: "31".into(),
                    })),
                "synced" => translation.responses.extend([
                    WebhookResponse::UserConnectionReconnected(UserConnectionReconnected {
                        psu_id: None,
                        psp_user_id: "31".into(),
                        connection_id: "77".into(),
                        at: at(4),
                    }),
                    WebhookResponse::DataReadyToFetch(DataReadyToFetch {
                        psu_id: None,
                        connection_id: Some("77".into()),
                        from_payload: serde_json::Value::Null,
                        data_to_fetch: vec![DataToFetch::AccountsAndBalances],
                    }),
                ]),
                other => {
                    return future::ready(Err(ConnectorError::Validation {
                        field: "body".into(),
                        message: other.to_owned(),
                    }))
                    .boxed()
                }
            }
        }
        future::ready(Ok(translation)).boxed()
    }
}

impl Connector for PushConnector {
    fn name(&self) -> &str {
        "push"
    }
    fn capabilities(&self) -> &[Capability] {
        &[Capability::CreateWebhooks, Capability::TranslateWebhooks]
    }
    fn install(&self) -> Result<TaskTree, ConnectorError> {
        Ok(TaskTree(vec![TaskNode::new(
            TaskType::CreateWebhooks,
            "create_webhooks",
            false,
        )]))
    }
    fn uninstall(&self, request: UninstallRequest) -> BoxFuture<'_, Result<(), ConnectorError>> {
        let mut seen = self.uninstalled.lock().unwrap();
        seen.extend(request.webhook_configs.into_iter().map(|c| c.name));
        future::ready(Ok(())).boxed()
    }
    fn webhooks(&self) -> Option<&dyn WebhookHandler> {
        Some(self)
    }
}

fn push_engine() -> (Arc<Engine>, tokio::sync::mpsc::Receiver<Vec<Record>>) {
    let (sink, receiver) = ChannelSink::new(16);
    let engine = Engine::new(
        Arc::new(PushConnector::default()),
        Arc::new(MemoryStateStore::new()),
        Arc::new(sink),
        EngineConfig::default(),
    )
    .unwrap();
    (Arc::new(engine), receiver)
}

/// An installed push engine's inbox, provider user 31 forwarded to `psu-31`; the config of
/// `CONNECTION_SYNCED`; the records delivered.
async fn installed_inbox() -> (
    WebhookInbox,
    WebhookConfig,
    tokio::sync::mpsc::Receiver<Vec<Record>>,
) {
    let (engine, rx) = push_engine();
    let config = engine
        .install("https://hooks.example.test/p1")
        .await
        .unwrap()
        .remove(0);
    engine.register_psu(&psu_31()).await.unwrap();
    (engine.webhook_inbox(), config, rx)
}

/// The PSU provider user 31 is forwarded to.
fn psu_31() -> ForwardedUser {
    ForwardedUser {
        psu_id: "psu-31".into(),
        connector_id: "push".into(),
        access_token: None,
        psp_user_id: Some("31".into()),
        metadata: BTreeMap::new(),
    }
}

#[tokio::test]
async fn install_runs_the_create_webhooks_task() {
    let (engine, _rx) = push_engine();
    let configs = engine
        .install("https://hooks.example.test/p1")
        .await
        .unwrap();
    let paths: Vec<_> = configs
        .iter()
        .map(|c| c.full_url.clone().unwrap())
        .collect();
    assert_eq!(
        paths,
        [
            "https://hooks.example.test/p1/connection-synced",
            "https://hooks.example.test/p1/user-deleted"
        ]
    );
    // a push-only tree has no fetch task: a cycle delivers nothing and fails nothing
    let summary = engine.run_once(&Default::default()).await.unwrap();
    assert_eq!((summary.records, summary.tasks_failed), (0, 0));
}

#[tokio::test]
async fn a_verified_webhook_is_translated_whole_tied_to_its_psu_and_delivered_in_one_batch() {
    let (inbox, config, mut rx) = installed_inbox().await;
    let webhook = WebhookEnvelope {
        headers: [("x-secret", SECRET), ("X-Id", "evt-9")]
            .into_iter()
            .collect(),
        query_values: BTreeMap::new(),
        body: b"synced\ndeleted".to_vec(),
    };
    let InboxOutcome::Processed { key, outcome } =
        inbox.receive(&config, webhook.clone()).await.unwrap()
    else {
        panic!("expected a processed delivery");
    };
    assert_eq!(key, "evt-9");
    assert_eq!(outcome.psu_id.as_deref(), Some("psu-31"));
    assert_eq!(outcome.records, 2);
    assert_eq!(outcome.data_ready.len(), 1);
    let batch = rx.recv().await.unwrap();
    assert_eq!(
        batch.iter().map(Record::kind).collect::<Vec<_>>(),
        ["user_connection_reconnected", "user_disconnected"]
    );
    assert!(batch.iter().all(|r| match r {
        Record::UserConnectionReconnected(e) => e.psu_id.as_deref() == Some("psu-31"),
        Record::UserDisconnected(e) => e.psu_id.as_deref() == Some("psu-31"),
        _ => false,
    }));
    assert_eq!(
        inbox.receive(&config, webhook).await.unwrap(),
        InboxOutcome::Duplicate {
            key: "evt-9".into()
        }
    );
    assert!(rx.try_recv().is_err(), "a duplicate delivers nothing");
}

#[tokio::test]
async fn a_delivery_that_fails_to_translate_delivers_nothing_and_is_not_recorded() {
    let (inbox, config, mut rx) = installed_inbox().await;
    let webhook = |body: &[u8]| WebhookEnvelope {
        headers: [("x-secret", SECRET), ("X-Id", "evt-10")]
            .into_iter()
            .collect(),
        query_values: BTreeMap::new(),
        body: body.to_vec(),
    };
    let err = inbox
        .receive(&config, webhook(b"synced\noops"))
        .await
        .unwrap_err();
    assert_eq!(err.http_status(), 400, "{err}");
    assert!(rx.try_recv().is_err(), "nothing of the delivery delivered");
    // Not recorded: the corrected redelivery is processed.
    assert!(matches!(
        inbox.receive(&config, webhook(b"deleted")).await.unwrap(),
        InboxOutcome::Processed { .. }
    ));
}

#[tokio::test]
async fn an_unverified_webhook_is_rejected_before_translation() {
    let (inbox, config, mut rx) = installed_inbox().await;
    for headers in [
        vec![("X-Secret", "wrong")],
        vec![],
        vec![("X-Secret", SECRET), ("x-secret", SECRET)],
    ] {
        let webhook = WebhookEnvelope {
            headers: headers.into_iter().collect(),
            query_values: BTreeMap::new(),
            body: b"deleted".to_vec(),
        };
        let err = inbox.receive(&config, webhook).await.unwrap_err();
        assert!(
            matches!(
                err,
                InboxError::Connector(ConnectorError::WebhookVerification { .. })
            ),
            "{err}"
        );
        assert_eq!(err.http_status(), 401);
    }
    assert!(rx.try_recv().is_err(), "nothing delivered");
}

#[tokio::test]
async fn a_connector_without_webhooks_says_so() {
    struct Silent;
    impl Connector for Silent {
        fn name(&self) -> &str {
            "silent"
        }
        fn capabilities(&self) -> &[Capability] {
            &[]
        }
        fn install(&self) -> Result<TaskTree, ConnectorError> {
            Ok(TaskTree(vec![TaskNode::new(
                TaskType::CreateWebhooks,
                "create_webhooks",
                false,
            )]))
        }
        fn uninstall(&self, _r: UninstallRequest) -> BoxFuture<'_, Result<(), ConnectorError>> {
            future::ready(Ok(())).boxed()
        }
    }
    let (sink, _rx) = ChannelSink::new(1);
    let engine = Engine::new(
        Arc::new(Silent),
        Arc::new(MemoryStateStore::new()),
        Arc::new(sink),
        EngineConfig::default(),
    )
    .unwrap();
    let err = engine.install("https://x.test").await.unwrap_err();
    assert!(
        matches!(
            err,
            EngineError::Connector(ConnectorError::NotSupported { .. })
        ),
        "{err}"
    );
    let connector: &dyn Connector = &Silent;
    assert!(connector.require_open_banking().is_err());
    assert!(connector.require_payments().is_err());
}

#[tokio::test]
async fn uninstall_hands_the_installed_configs_back_to_the_connector() {
    let connector = Arc::new(PushConnector::default());
    let (sink, _rx) = ChannelSink::new(1);
    let engine = Engine::new(
        connector.clone(),
        Arc::new(MemoryStateStore::new()),
        Arc::new(sink),
        EngineConfig::default(),
    )
    .unwrap();
    let configs = engine
        .install("https://hooks.example.test/p1")
        .await
        .unwrap();
    engine.uninstall(configs).await.unwrap();
    assert_eq!(
        *connector.uninstalled.lock().unwrap(),
        ["CONNECTION_SYNCED", "USER_DELETED"]
    );
}
