//! A sync interrupted after page k resumes, in a new engine on the same file store, from the
//! committed offset: nothing lost, the history not read again.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use connector_core::engine::ProgressEvent;
use connector_core::model::{Capability, TaskType};
use connector_core::state::FileStateStore;
use connector_powens::state::PaymentsState;
use tests::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_after_a_restart_from_the_committed_offset_on_the_same_file_store() {
    let sandbox = start_one_user_sandbox(2, 200).await.unwrap();
    let user = sandbox.users()[0].clone();
    let dir = tempfile::tempdir().unwrap();
    let sink = LedgerSink::new(); // the downstream store outlives both processes

    // Process 1: dropped after the 5th payments page.
    sync_interrupted_after_payments_pages(&sandbox, dir.path(), Arc::new(sink.clone()), &user, 5)
        .await
        .unwrap();
    let after_stop = sink.snapshot();
    assert!(after_stop.live_payments().count() >= 50);

    // The store holds a scan in progress at the committed offset.
    let store = FileStateStore::open(dir.path()).unwrap();
    let offsets: Vec<u64> = store
        .list()
        .await
        .unwrap()
        .into_iter()
        .filter(|(key, _)| key.capability == Capability::FetchPayments)
        .filter_map(|(_, v)| serde_json::from_value::<PaymentsState>(v.value).ok())
        .filter_map(|s| s.watermark.scan.map(|scan| scan.offset))
        .collect();
    assert_eq!(offsets, vec![50], "5 pages of 10 committed");

    // Process 2: a new connector and engine on the same store.
    let (connector, _clock) = connector_for(&sandbox, 10).unwrap();
    let engine = engine_for(
        connector,
        Arc::new(store),
        Arc::new(sink.clone()),
        vec![seeded_user(&user)],
    )
    .unwrap();
    let resumed = Arc::new(AtomicU32::new(0));
    let counter = Arc::clone(&resumed);
    let engine = engine.with_progress(move |event| {
        if let ProgressEvent::PageDone { task, .. } = event {
            if task.task_type == TaskType::FetchPayments {
                counter.fetch_add(1, Ordering::SeqCst);
            }
        }
    });
    sync(&engine).await.unwrap();

    let truth = sandbox.control().truth(user.id).unwrap();
    assert_matches_truth(&sink.snapshot(), &truth);
    // 2 accounts × 200 rows = 40 pages in all; 5 were done before the restart.
    assert_eq!(
        resumed.load(Ordering::SeqCst),
        35,
        "restart resumed, did not start over"
    );
    sandbox.shutdown().await;
}
