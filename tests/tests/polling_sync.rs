//! A full polling sync of one PSU equals the sandbox truth exactly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use connector_core::state::MemoryStateStore;
use powens_sandbox::SandboxSize;
use tests::{
    assert_matches_truth, connector_for, engine_for, seeded_user, start_sandbox, sync, LedgerSink,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_sync_of_3_accounts_with_2500_transactions_each_equals_the_truth() {
    let sandbox = start_sandbox(SandboxSize {
        users: 1,
        connections_per_link: 1,
        accounts_per_connection: 3,
        transactions_per_account: 2500,
    })
    .await
    .unwrap();
    let user = sandbox.users()[0].clone();
    let (connector, _clock) = connector_for(&sandbox, 500).unwrap();
    let sink = LedgerSink::new();
    let engine = engine_for(
        connector,
        Arc::new(MemoryStateStore::new()),
        Arc::new(sink.clone()),
        vec![seeded_user(&user)],
    )
    .unwrap();

    let summary = sync(&engine).await.unwrap();

    let truth = sandbox.control().truth(user.id).unwrap();
    let ledger = sink.snapshot();
    assert_eq!(truth.accounts.len(), 3);
    assert!(
        truth.transactions.len() >= 2 * 2500,
        "{}",
        truth.transactions.len()
    );
    assert_matches_truth(&ledger, &truth);
    assert!(summary.pages > 0);
    println!(
        "synced {} records in {} pages ({} live payments)",
        summary.records,
        summary.pages,
        ledger.live_payments().count()
    );
    sandbox.shutdown().await;
}
