//! A page is mapped and delivered in parts of at most `PAYMENTS_PART_ROWS` (50) rows, each
//! committed with the offset after its last row: memory does not follow the page size, and a
//! page cut short keeps its whole parts and resumes after them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Mutex};

use connector_core::engine::ProgressEvent;
use connector_core::model::TaskType;
use connector_core::Engine;
use connector_powens::PAYMENTS_PART_ROWS;
use powens_sandbox::{Fault, FaultRoute, FaultRule, SandboxHandle};
use tests::*;

/// One account of 1,200 transactions, read with 1,000-row pages.
async fn one_account_of_1200() -> SandboxHandle {
    start_one_user_sandbox(1, 1_200).await.unwrap()
}

/// For each payments page (or part) done, whether more follow.
type Parts = Arc<Mutex<Vec<bool>>>;
/// Each failed task's error.
type Failures = Arc<Mutex<Vec<String>>>;

/// An engine on `sandbox` with 1,000-row pages that records its parts and failures.
fn recording_engine(sandbox: &SandboxHandle, sink: &LedgerSink) -> (Engine, Parts, Failures) {
    let user = sandbox.users()[0].clone();
    let (connector, _clock) = connector_for(sandbox, 1_000).unwrap();
    let parts = Arc::new(Mutex::new(Vec::new()));
    let failures = Arc::new(Mutex::new(Vec::new()));
    let (seen_parts, seen_failures) = (Arc::clone(&parts), Arc::clone(&failures));
    let engine = memory_engine_for(connector, Arc::new(sink.clone()), &user)
        .unwrap()
        .with_progress(move |event| match event {
            ProgressEvent::PageDone { task, has_more, .. }
                if task.task_type == TaskType::FetchPayments =>
            {
                seen_parts.lock().unwrap().push(*has_more);
            }
            ProgressEvent::TaskFailed { error, .. } => {
                seen_failures.lock().unwrap().push(error.clone())
            }
            _ => {}
        });
    (engine, parts, failures)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_1000_row_page_is_delivered_in_parts_of_50_rows_and_the_short_page_ends_the_scan() {
    let sandbox = one_account_of_1200().await;
    let user = sandbox.users()[0].clone();
    let sink = LedgerSink::new();
    let (engine, parts, failures) = recording_engine(&sandbox, &sink);

    sync(&engine).await.unwrap();

    assert_matches_truth(&sink.snapshot(), &sandbox.control().truth(user.id).unwrap());
    assert!(failures.lock().unwrap().is_empty());
    // Page 1 (rows 0..1000): 20 parts; page 2 (rows 1000..1200): 4 parts, the last one
    // ending the scan.
    assert_eq!(PAYMENTS_PART_ROWS, 50);
    let mut expected = vec![true; 23];
    expected.push(false);
    assert_eq!(*parts.lock().unwrap(), expected);
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_cut_mid_body_keeps_its_whole_parts_and_resumes_after_them() {
    let sandbox = one_account_of_1200().await;
    let user = sandbox.users()[0].clone();
    let control = sandbox.control();
    // The first page's body stops halfway (about row 500).
    control.inject_fault(FaultRule::new(
        FaultRoute::Transactions,
        1,
        Fault::TruncatedBody,
    ));
    let sink = LedgerSink::new();
    let (engine, parts, failures) = recording_engine(&sandbox, &sink);

    sync(&engine).await.unwrap();

    assert_matches_truth(&sink.snapshot(), &control.truth(user.id).unwrap());
    let failures = failures.lock().unwrap().clone();
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(failures[0].contains("cannot decode"), "{failures:?}");
    // Before the cut (about row 500) come the whole parts d × 50 rows; the retry asks for
    // offset 50·d and reads rows 50·d..1,200 as one short page of 24 − d parts: 24 in all.
    // Restarting the page from row 0 would deliver d more.
    let parts = parts.lock().unwrap().clone();
    assert_eq!(parts.len(), 24, "{parts:?}");
    assert_eq!(parts.last(), Some(&false));
    assert!(parts[..23].iter().all(|more| *more), "{parts:?}");
    sandbox.shutdown().await;
}
