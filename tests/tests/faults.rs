//! Faults on the transaction listings: 429 with `Retry-After` in seconds and as an HTTP
//! date, a 503 HTML page, a dropped connection, a truncated page, a page with one malformed row.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use connector_core::{ConnectorError, UpstreamClass};
use powens_api::retry::RetryPolicy;
use powens_sandbox::{Fault, FaultRoute, FaultRule, RetryAfter, SandboxSize};
use tests::*;
use tokio_util::sync::CancellationToken;

fn size() -> SandboxSize {
    SandboxSize {
        users: 1,
        connections_per_link: 1,
        accounts_per_connection: 2,
        transactions_per_account: 60,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_completes_through_429_retry_after_503_html_dropped_connection_and_truncated_page() {
    let sandbox = start_sandbox(size()).await.unwrap();
    let control = sandbox.control();
    let user = sandbox.users()[0].clone();
    let tx = FaultRoute::Transactions;
    control.inject_fault(FaultRule::new(
        tx,
        2,
        Fault::RateLimited {
            retry_after: RetryAfter::HttpDate(3),
        },
    ));
    control.inject_fault(FaultRule::new(
        tx,
        4,
        Fault::RateLimited {
            retry_after: RetryAfter::Seconds(2),
        },
    ));
    control.inject_fault(FaultRule::new(tx, 6, Fault::ServerError { status: 503 }));
    control.inject_fault(FaultRule::new(tx, 8, Fault::DropConnection));
    control.inject_fault(FaultRule::new(tx, 10, Fault::TruncatedBody));

    let (connector, clock) = connector_for(&sandbox, 10).unwrap();
    let sink = LedgerSink::new();
    let failures = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = Arc::clone(&failures);
    let engine = memory_engine_for(connector, Arc::new(sink.clone()), &user)
        .unwrap()
        .with_progress(move |event| {
            if let connector_core::engine::ProgressEvent::TaskFailed {
                error, will_retry, ..
            } = event
            {
                seen.lock().unwrap().push((error.clone(), *will_retry));
            }
        });

    sync(&engine).await.unwrap();

    assert_matches_truth(&sink.snapshot(), &control.truth(user.id).unwrap());
    // The client honoured both Retry-After forms (on the manual clock: nobody waited).
    let sleeps = clock.sleeps();
    assert!(
        sleeps.contains(&Duration::from_secs(3)),
        "HTTP-date form: {sleeps:?}"
    );
    assert!(
        sleeps.contains(&Duration::from_secs(2)),
        "seconds form: {sleeps:?}"
    );
    // 429, 503 and the dropped connection were retried inside the client; the truncated
    // page (a body cut after its status, which the client cannot retry) failed its task
    // once, and the engine retried it from the committed state.
    let failures = failures.lock().unwrap().clone();
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(failures[0].0.contains("cannot decode"), "{failures:?}");
    assert!(failures[0].1, "retried");
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn persistent_429_fails_with_a_typed_retry_after_error_and_the_state_resumes() {
    let sandbox = start_sandbox(size()).await.unwrap();
    let control = sandbox.control();
    let user = sandbox.users()[0].clone();
    let clock = sandbox_clock(&sandbox);
    let connector = connector_with(
        sandbox_config(&sandbox, 10).unwrap(),
        &clock,
        RetryPolicy::disabled(),
    )
    .unwrap();
    let sink = LedgerSink::new();
    let engine = memory_engine_for(connector, Arc::new(sink.clone()), &user).unwrap();
    // From the 3rd listing call on, 30 calls in a row are throttled.
    control.inject_fault(
        FaultRule::new(
            FaultRoute::Transactions,
            3,
            Fault::RateLimited {
                retry_after: RetryAfter::Seconds(30),
            },
        )
        .times(30),
    );

    let summary = engine.run_once(&CancellationToken::new()).await.unwrap();
    assert!(summary.tasks_failed >= 1);
    for failure in &summary.failures {
        match &failure.error {
            ConnectorError::Upstream {
                status: Some(429),
                class: UpstreamClass::RateLimited,
                retry_after,
                ..
            } => {
                assert_eq!(*retry_after, Some(Duration::from_secs(30)));
            }
            other => panic!("expected a typed 429, got {other}"),
        }
    }
    let partial = sink.snapshot();
    assert!(
        partial.live_payments().count() >= 20,
        "two pages committed before the 429s"
    );

    // Once Powens lets us in again, the same engine and state finish the job.
    control.clear_faults();
    sync(&engine).await.unwrap();
    assert_matches_truth(&sink.snapshot(), &control.truth(user.id).unwrap());
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_row_is_skipped_without_failing_its_page_and_every_other_row_matches_the_truth()
{
    let sandbox = start_sandbox(size()).await.unwrap();
    let control = sandbox.control();
    let user = sandbox.users()[0].clone();
    // The first row of the second transactions page gets `"value": "12,50 EUR"`.
    control.inject_fault(FaultRule::new(
        FaultRoute::Transactions,
        2,
        Fault::MalformedRow,
    ));
    let (connector, _clock) = connector_for(&sandbox, 10).unwrap();
    let sink = LedgerSink::new();
    let engine = memory_engine_for(connector, Arc::new(sink.clone()), &user).unwrap();

    let summary = engine.run_once(&CancellationToken::new()).await.unwrap();
    assert_eq!(summary.tasks_failed, 0, "{:?}", summary.failures);

    let ledger = sink.snapshot();
    let mut truth = control.truth(user.id).unwrap();
    let missing: Vec<u64> = truth
        .transactions
        .iter()
        .map(|t| t.id)
        .filter(|id| !ledger.payments.contains_key(&id.to_string()))
        .collect();
    assert_eq!(
        missing.len(),
        1,
        "exactly the malformed row is missing: {missing:?}"
    );
    // Without that row, what was delivered is exactly the truth (rows of the same page
    // after it included).
    truth.transactions.retain(|t| t.id != missing[0]);
    assert_matches_truth(&ledger, &truth);
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row_isolation_a_row_with_a_control_character_or_invalid_utf8_is_skipped_counted_and_the_account_keeps_syncing(
) {
    for fault in [Fault::ControlCharacterRow, Fault::InvalidUtf8Row] {
        let sandbox = start_sandbox(size()).await.unwrap();
        let control = sandbox.control();
        let user = sandbox.users()[0].clone();
        // The first row of the second transactions page is no longer JSON text.
        control.inject_fault(FaultRule::new(FaultRoute::Transactions, 2, fault));
        let (connector, _clock) = connector_for(&sandbox, 10).unwrap();
        let sink = LedgerSink::new();
        let engine = memory_engine_for(connector, Arc::new(sink.clone()), &user).unwrap();

        let summary = sync(&engine).await.unwrap();
        assert_eq!(summary.skipped, 1, "{fault:?}");
        assert_eq!(
            summary.skipped_by_code.iter().collect::<Vec<_>>(),
            [(&"malformed_row".to_owned(), &1)]
        );
        let (task, skipped) = &summary.skipped_first[0];
        assert_eq!(
            task.task_type,
            connector_core::model::TaskType::FetchPayments
        );
        let expected = match fault {
            Fault::ControlCharacterRow => "a raw control character U+0001 in a string",
            _ => "bytes that are not UTF-8",
        };
        assert!(skipped.reason.contains(expected), "{skipped:?}");

        // Every other row of the page, and of the account, was delivered.
        let ledger = sink.snapshot();
        let mut truth = control.truth(user.id).unwrap();
        let missing: Vec<u64> = truth
            .transactions
            .iter()
            .map(|t| t.id)
            .filter(|id| !ledger.payments.contains_key(&id.to_string()))
            .collect();
        assert_eq!(missing.len(), 1, "{fault:?}: {missing:?}");
        assert_eq!(skipped.id, Some(missing[0].to_string()));
        let account = truth
            .transactions
            .iter()
            .find(|t| t.id == missing[0])
            .map(|t| t.account_id)
            .unwrap();
        truth.transactions.retain(|t| t.id != missing[0]);
        assert_matches_truth(&ledger, &truth);

        // The account keeps syncing: its new rows come with the next cycle.
        control.advance(chrono::TimeDelta::hours(1));
        let posted = control.add_transactions(account, 3, false).unwrap();
        let summary = sync(&engine).await.unwrap();
        assert_eq!(summary.skipped, 0);
        let ledger = sink.snapshot();
        for id in posted {
            assert!(
                ledger.payments.contains_key(&id.to_string()),
                "{fault:?}: {id}"
            );
        }
        sandbox.shutdown().await;
    }
}
