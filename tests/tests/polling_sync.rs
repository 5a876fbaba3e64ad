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

/// Counts the Powens requests a connector's client answers.
#[derive(Default)]
struct Requests(std::sync::atomic::AtomicU64);

impl powens_api::client::CallObserver for Requests {
    fn attempt_finished(&self, _status: Option<u16>, _latency: std::time::Duration) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Requests {
    fn take(&self) -> u64 {
        self.0.swap(0, std::sync::atomic::Ordering::SeqCst)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_cycle_makes_one_request_plus_one_per_account_and_still_reports_a_disconnection() {
    let sandbox = start_one_user_sandbox(2, 30).await.unwrap();
    let user = sandbox.users()[0].clone();
    let requests = Arc::new(Requests::default());
    let clock = tests::sandbox_clock(&sandbox);
    let client = powens_api::PowensClient::builder(
        tests::sandbox_config(&sandbox, 100)
            .unwrap()
            .endpoint
            .as_str(),
    )
    .clock(Arc::new(clock.clone()))
    .retry_policy(tests::test_retry_policy())
    .rate_limit(None)
    .observer(requests.clone())
    .build()
    .unwrap();
    let connector =
        connector_powens::PowensConnector::builder(tests::sandbox_config(&sandbox, 100).unwrap())
            .client(client)
            .clock(Arc::new(clock))
            .build()
            .unwrap();
    let sink = LedgerSink::new();
    let store = Arc::new(MemoryStateStore::new());
    let engine = engine_for(
        connector,
        store.clone(),
        Arc::new(sink.clone()),
        vec![seeded_user(&user)],
    )
    .unwrap();
    sync(&engine).await.unwrap();
    sync(&engine).await.unwrap();
    let scanned = store
        .list()
        .await
        .unwrap()
        .iter()
        .filter(|(key, _)| key.capability == Capability::FetchPayments)
        .count() as u64;
    assert_eq!(scanned, 2, "both accounts are scanned");
    requests.take();

    // Nothing changed at the bank, but the connection now needs the user.
    sandbox
        .control()
        .set_connection_state(user.connection_ids[0], Some("SCARequired"))
        .unwrap();
    let disconnections = |ledger: tests::Ledger| {
        ledger
            .events
            .iter()
            .filter(|r| {
                matches!(
                    r,
                    connector_core::model::Record::UserConnectionDisconnected(_)
                )
            })
            .count()
    };
    let before = disconnections(sink.snapshot());
    let summary = sync(&engine).await.unwrap();

    assert_eq!(summary.tasks_failed, 0);
    assert_eq!(
        requests.take(),
        1 + scanned,
        "one listing of the connections with their accounts, one scan page per account"
    );
    assert_eq!(
        disconnections(sink.snapshot()),
        before + 1,
        "the listing's connection states still give the connection events"
    );
}
