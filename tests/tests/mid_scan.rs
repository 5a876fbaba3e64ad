//! Rows inserted, matured and deleted while a scan pages through an account: nothing lost.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use connector_core::model::PaymentStatus;
use powens_sandbox::{Change, MaturationMode, PageScope, Trigger};
use rust_decimal::Decimal;
use tests::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mid_scan_changes_are_never_lost() {
    let sandbox = start_one_user_sandbox(1, 60).await.unwrap();
    let control = sandbox.control();
    let user = sandbox.users()[0].clone();
    let truth = control.truth(user.id).unwrap();
    let account = truth.accounts[0].id;
    let rows: Vec<_> = truth
        .transactions
        .iter()
        .filter(|t| t.account_id == account)
        .collect();
    let early_posted = rows.iter().find(|t| !t.coming).unwrap().id;
    let late_pending: Vec<u64> = rows.iter().filter(|t| t.coming).map(|t| t.id).collect();
    assert!(late_pending.len() >= 2);

    // Pages of 5: the changes land while the first scan is on page 2.
    let after_page_2 = Trigger {
        scope: PageScope::Account(account),
        after_page: 2,
    };
    // Already read: a deleted posted row.
    control.schedule(
        after_page_2,
        Change::DeleteTransaction {
            transaction_id: early_posted,
        },
    );
    // Not read yet: a pending row posting under its id, another replaced by a new row.
    control.schedule(
        after_page_2,
        Change::Mature {
            transaction_id: late_pending[0],
            mode: Some(MaturationMode::KeepId),
            posted_value: None,
        },
    );
    control.schedule(
        after_page_2,
        Change::Mature {
            transaction_id: late_pending[1],
            mode: Some(MaturationMode::Replace),
            posted_value: None,
        },
    );
    // Appended: a new pending row.
    control.schedule(
        after_page_2,
        Change::AddTransaction {
            account_id: account,
            value: Decimal::new(-4200, 2),
            date: None,
            coming: true,
            wording: Some("MID SCAN".into()),
        },
    );

    let (connector, _clock) = connector_for(&sandbox, 5).unwrap();
    let sink = LedgerSink::new();
    let engine = memory_engine_for(connector, Arc::new(sink.clone()), &user).unwrap();
    sync(&engine).await.unwrap();

    let during = sink.snapshot();
    // The scan read the deleted row before it was deleted, and everything after it as it
    // was when read.
    assert_eq!(
        during.payments[&early_posted.to_string()].status,
        PaymentStatus::Succeeded
    );
    assert!(!during.cancelled.contains(&early_posted.to_string()));
    assert_eq!(
        during.payments[&late_pending[0].to_string()].status,
        PaymentStatus::Succeeded
    );

    // The next run sees what changed behind the scan: nothing is lost.
    sync(&engine).await.unwrap();
    let truth = control.truth(user.id).unwrap();
    let ledger = sink.snapshot();
    assert_matches_truth(&ledger, &truth);
    assert!(ledger.cancelled.contains(&early_posted.to_string()));
    assert!(truth.transactions.iter().any(|t| t.wording == "MID SCAN"));
    assert!(!ledger
        .live_payments()
        .any(|p| p.reference == late_pending[1].to_string()));
    sandbox.shutdown().await;
}
