//! Incremental polling runs: new pending rows, maturation in both of Powens' ways (same id;
//! tombstone + new id), deletions — always equal to the truth, provisional references
//! retired.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use chrono::TimeDelta;
use connector_core::model::PaymentStatus;
use powens_sandbox::{Change, MaturationMode};
use rust_decimal::Decimal;
use tests::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incremental_runs_follow_pending_rows_their_maturation_both_ways_and_deletions() {
    let sandbox = start_one_user_sandbox(2, 40).await.unwrap();
    let control = sandbox.control();
    let user = sandbox.users()[0].clone();
    // Small pages: a tombstone and the row replacing it land on different pages.
    let (connector, _clock) = connector_for(&sandbox, 3).unwrap();
    let sink = LedgerSink::new();
    let engine = memory_engine_for(connector, Arc::new(sink.clone()), &user).unwrap();

    sync(&engine).await.unwrap();
    let truth = control.truth(user.id).unwrap();
    assert_matches_truth(&sink.snapshot(), &truth);
    let account = truth
        .accounts
        .iter()
        .find(|a| a.visible && a.currency == "EUR")
        .expect("a visible EUR account")
        .id;

    // New pending rows.
    control.advance(TimeDelta::hours(1));
    let pending: Vec<u64> = (1..=4)
        .map(|i| {
            control
                .apply(Change::AddTransaction {
                    account_id: account,
                    value: Decimal::new(-1250 * i, 2),
                    date: None,
                    coming: true,
                    wording: Some(format!("CARD {i}")),
                })
                .unwrap()
                .created[0]
        })
        .collect();
    let posted = control.add_transactions(account, 3, false).unwrap();
    sync(&engine).await.unwrap();
    let ledger = sink.snapshot();
    for id in &pending {
        assert_eq!(
            ledger.payments[&id.to_string()].status,
            PaymentStatus::Pending
        );
    }
    assert_matches_truth(&ledger, &control.truth(user.id).unwrap());

    // Maturation both ways, a deleted pending row and a deleted posted row.
    control.advance(TimeDelta::hours(1));
    let same_id = control
        .apply(Change::Mature {
            transaction_id: pending[0],
            mode: Some(MaturationMode::KeepId),
            posted_value: None,
        })
        .unwrap();
    assert_eq!(same_id.updated, vec![pending[0]]);
    let replaced = control
        .apply(Change::Mature {
            transaction_id: pending[1],
            mode: Some(MaturationMode::Replace),
            posted_value: None,
        })
        .unwrap();
    let replaced_by = replaced.created[0];
    control
        .apply(Change::MatureComing {
            account_id: account,
            count: 2,
            mode: Some(MaturationMode::Replace),
        })
        .unwrap();
    control.delete_transaction(pending[2]).unwrap();
    control.delete_transaction(posted[0]).unwrap();
    sync(&engine).await.unwrap();

    let truth = control.truth(user.id).unwrap();
    let ledger = sink.snapshot();
    assert_matches_truth(&ledger, &truth);
    // Same id: the reference stays, now SUCCEEDED.
    assert_eq!(
        ledger.payments[&pending[0].to_string()].status,
        PaymentStatus::Succeeded
    );
    // New id: the posted payment names the provisional one, which is deleted.
    assert!(truth.replaced.len() >= 3, "{:?}", truth.replaced);
    for r in &truth.replaced {
        let posted = &ledger.payments[&r.replaced_by.to_string()];
        assert_eq!(posted.status, PaymentStatus::Succeeded);
        assert_eq!(
            posted.metadata.get("com.powens.spec/replaces"),
            Some(r.id.to_string().as_str()),
            "posted {} must name the provisional {}",
            r.replaced_by,
            r.id
        );
        assert!(
            ledger.deleted.contains(&r.id.to_string()),
            "{} retired",
            r.id
        );
        assert!(!ledger.payments.contains_key(&r.id.to_string()));
    }
    assert!(truth
        .replaced
        .iter()
        .any(|r| r.id == pending[1] && r.replaced_by == replaced_by));
    // Deletions without replacement: cancelled.
    assert!(ledger.cancelled.contains(&pending[2].to_string()));
    assert!(ledger.cancelled.contains(&posted[0].to_string()));
    assert_eq!(
        truth
            .deleted
            .iter()
            .filter(|id| **id == pending[2] || **id == posted[0])
            .count(),
        2
    );

    // A quiet run changes nothing.
    let before = sink.snapshot();
    sync(&engine).await.unwrap();
    let after = sink.snapshot();
    assert_eq!(before.payments, after.payments);
    assert_eq!(before.cancelled, after.cancelled);
    sandbox.shutdown().await;
}
