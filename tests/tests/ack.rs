//! At-least-once for a channel consumer: a batch is committed only when the consumer
//! acknowledges it, so a consumer that dies with a batch in hand gets it again next run.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::sync::Arc;

use connector_core::model::Record;
use connector_core::sink::{AckChannelSink, Delivery};
use connector_core::state::FileStateStore;
use tests::*;

fn payment_references(records: &[Record]) -> BTreeSet<String> {
    records
        .iter()
        .filter_map(|r| match r {
            Record::Payment(p) => Some(p.reference.clone()),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ack_a_batch_the_consumer_dropped_unacknowledged_is_delivered_again_next_run() {
    let sandbox = start_one_user_sandbox(1, 40).await.unwrap();
    let user = sandbox.users()[0].clone();
    let dir = tempfile::tempdir().unwrap();

    // Run 1: the consumer stores and acknowledges every batch until the first one with
    // payments, then dies holding it (the delivery and the receiver are dropped).
    let lost = {
        let store = Arc::new(FileStateStore::open(dir.path()).unwrap());
        let (connector, _clock) = connector_for(&sandbox, 10).unwrap();
        let (sink, mut deliveries) = AckChannelSink::new(4);
        let engine =
            engine_for(connector, store, Arc::new(sink), vec![seeded_user(&user)]).unwrap();
        let run = tokio::spawn(async move { engine.run_once(&Default::default()).await });
        let mut lost = BTreeSet::new();
        while let Some(delivery) = deliveries.recv().await {
            let payments = payment_references(delivery.records());
            if payments.is_empty() {
                delivery.ack();
                continue;
            }
            lost = payments;
            drop::<Delivery>(delivery);
            break;
        }
        drop(deliveries);
        let _ = run.await.unwrap(); // the payments task fails: its consumer is gone
        lost
    };
    assert!(!lost.is_empty(), "run 1 delivered no payments");

    // Run 2: a new engine on the same state directory; this consumer acknowledges everything.
    let store = Arc::new(FileStateStore::open(dir.path()).unwrap());
    let (connector, _clock) = connector_for(&sandbox, 10).unwrap();
    let (sink, mut deliveries) = AckChannelSink::new(4);
    let engine = engine_for(connector, store, Arc::new(sink), vec![seeded_user(&user)]).unwrap();
    let run = tokio::spawn(async move { engine.run_once(&Default::default()).await });
    let mut again = BTreeSet::new();
    while let Some(delivery) = deliveries.recv().await {
        again.extend(payment_references(delivery.records()));
        delivery.ack();
    }
    let summary = run.await.unwrap().unwrap();
    assert_eq!(summary.tasks_failed, 0, "{summary:?}");
    assert!(
        lost.is_subset(&again),
        "not delivered again: {:?}",
        lost.difference(&again).collect::<Vec<_>>()
    );
    sandbox.shutdown().await;
}

#[tokio::test]
async fn ack_refused_or_dropped_deliveries_fail_accept_and_acked_ones_pass() {
    use connector_core::sink::{Sink, SinkError};
    let (sink, mut deliveries) = AckChannelSink::new(1);
    let consumer = tokio::spawn(async move {
        deliveries.recv().await.unwrap().ack();
        deliveries.recv().await.unwrap().refuse("database down");
        drop(deliveries.recv().await.unwrap());
    });
    assert!(sink.accept(&[]).await.is_ok());
    assert!(matches!(sink.accept(&[]).await, Err(SinkError::Refused(r)) if r == "database down"));
    assert!(matches!(
        sink.accept(&[]).await,
        Err(SinkError::NotAcknowledged)
    ));
    consumer.await.unwrap();
    assert!(matches!(sink.accept(&[]).await, Err(SinkError::Closed)));
}
