//! A full polling sync of one PSU equals the sandbox truth exactly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use connector_core::model::Capability;
use connector_core::state::{MemoryStateStore, StateKey, StateStore};
use connector_powens::state::PaymentsState;
use powens_sandbox::AccountStatus;
use tests::{
    assert_matches_truth, connector_for, engine_for, seeded_user, start_one_user_sandbox, sync,
    LedgerSink,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_sync_of_3_accounts_with_2500_transactions_each_equals_the_truth() {
    let sandbox = start_one_user_sandbox(3, 2500).await.unwrap();
    let user = sandbox.users()[0].clone();
    // One account disabled by the user: emitted, flagged, its rows not listed by Powens.
    let before = sandbox.control().truth(user.id).unwrap();
    let disabled = before.accounts.last().unwrap().id;
    sandbox
        .control()
        .set_account_status(disabled, AccountStatus::Disabled(true))
        .unwrap();
    let (connector, _clock) = connector_for(&sandbox, 500).unwrap();
    let sink = LedgerSink::new();
    let store = Arc::new(MemoryStateStore::new());
    let engine = engine_for(
        connector,
        store.clone(),
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
    assert!(ledger.accounts[&disabled.to_string()]
        .metadata
        .contains_key("com.powens.spec/disabled"));
    assert!(summary.pages > 0);

    // The state does not grow with the history: a watermark, no per-row data.
    for account in &truth.accounts {
        let key = StateKey::new(Capability::FetchPayments)
            .for_psu(seeded_user(&user).psu_id)
            .for_parent(account.id.to_string());
        let stored = store.get(&key).await.unwrap().unwrap();
        let size = stored.value.to_string().len();
        assert!(size < 300, "state of account {}: {size} bytes", account.id);
        let state: PaymentsState = serde_json::from_value(stored.value).unwrap();
        assert!(state.watermark.scan.is_none() && state.retiring.is_empty());
        if account.visible {
            assert!(state.watermark.since.is_some(), "next scan is incremental");
        }
    }
    println!(
        "synced {} records in {} pages ({} live payments)",
        summary.records,
        summary.pages,
        ledger.live_payments().count()
    );
    sandbox.shutdown().await;
}
