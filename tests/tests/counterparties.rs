//! Counterparties (external accounts) are found by the payments scan: each transactions page
//! is read once, its counterparties delivered with it, ahead of the payments naming them; a
//! restart mid-scan still yields every counterparty.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use connector_core::engine::ProgressEvent;
use connector_core::model::{Record, TaskType};
use connector_core::sink::{Sink, SinkError};
use connector_core::state::FileStateStore;
use futures::future::BoxFuture;
use tests::*;

/// Every record in delivery order, and the ledger they make.
#[derive(Clone, Default)]
struct OrderedSink {
    records: Arc<Mutex<Vec<Record>>>,
    ledger: LedgerSink,
}

impl Sink for OrderedSink {
    fn accept<'a>(&'a self, batch: &'a [Record]) -> BoxFuture<'a, Result<(), SinkError>> {
        self.records.lock().unwrap().extend(batch.iter().cloned());
        self.ledger.accept(batch)
    }
}

impl OrderedSink {
    fn records(&self) -> Vec<Record> {
        self.records.lock().unwrap().clone()
    }
}

/// The reference of every counterparty the truth identifies.
fn expected_counterparties(
    sandbox: &powens_sandbox::SandboxHandle,
    user_id: u64,
) -> BTreeSet<String> {
    let truth = sandbox.control().truth(user_id).unwrap();
    truth
        .transactions
        .iter()
        .filter_map(|tx| tx.counterparty.as_ref())
        .filter_map(powens_sandbox::TruthCounterparty::expected_reference)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counterparties_come_from_the_payments_scan_ahead_of_the_payments_naming_them() {
    let sandbox = start_one_user_sandbox(2, 300).await.unwrap();
    let user = sandbox.users()[0].clone();
    let (connector, _clock) = connector_for(&sandbox, 50).unwrap();
    let sink = OrderedSink::default();
    let task_types = Arc::new(Mutex::new(BTreeSet::new()));
    let seen = Arc::clone(&task_types);
    let engine = memory_engine_for(connector, Arc::new(sink.clone()), &user)
        .unwrap()
        .with_progress(move |event| {
            if let ProgressEvent::TaskStarted { task, .. } = event {
                seen.lock().unwrap().insert(format!("{:?}", task.task_type));
            }
        });

    sync(&engine).await.unwrap();

    assert_matches_truth(
        &sink.ledger.snapshot(),
        &sandbox.control().truth(user.id).unwrap(),
    );
    // No second scan: only the accounts, balances and payments tasks ran.
    assert_eq!(
        *task_types.lock().unwrap(),
        BTreeSet::from([
            format!("{:?}", TaskType::FetchAccounts),
            format!("{:?}", TaskType::FetchBalances),
            format!("{:?}", TaskType::FetchPayments),
        ])
    );
    // Each counterparty is delivered before (or in the same page ahead of) the first payment
    // that names it, and once per account's scan at most.
    let records = sink.records();
    let mut delivered_at: BTreeMap<String, usize> = BTreeMap::new();
    let mut deliveries: BTreeMap<String, usize> = BTreeMap::new();
    for (index, record) in records.iter().enumerate() {
        if let Record::ExternalAccount(account) = record {
            delivered_at
                .entry(account.reference.clone())
                .or_insert(index);
            *deliveries.entry(account.reference.clone()).or_default() += 1;
        }
    }
    let expected = expected_counterparties(&sandbox, user.id);
    let mut named = 0;
    for (index, record) in records.iter().enumerate() {
        if let Record::Payment(payment) = record {
            for reference in [
                &payment.source_account_reference,
                &payment.destination_account_reference,
            ]
            .into_iter()
            .flatten()
            .filter(|r| expected.contains(r.as_str()))
            {
                let at = delivered_at.get(reference).unwrap_or_else(|| {
                    panic!(
                        "payment {} names {reference}, never delivered",
                        payment.reference
                    )
                });
                assert!(
                    *at < index,
                    "{reference} delivered after payment {}",
                    payment.reference
                );
                named += 1;
            }
        }
    }
    assert!(named > 0, "the fixture has payments naming counterparties");
    assert_eq!(
        delivered_at.keys().cloned().collect::<BTreeSet<_>>(),
        expected
    );
    for (reference, times) in deliveries {
        assert!(
            times <= 2,
            "{reference} delivered {times} times for 2 accounts"
        );
    }
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_mid_scan_still_yields_every_counterparty() {
    let sandbox = start_one_user_sandbox(2, 200).await.unwrap();
    let user = sandbox.users()[0].clone();
    let dir = tempfile::tempdir().unwrap();
    let sink = OrderedSink::default();

    // Process 1: stopped after the 3rd payments page of 10 rows.
    sync_interrupted_after_payments_pages(&sandbox, dir.path(), Arc::new(sink.clone()), &user, 3)
        .await
        .unwrap();
    let before_restart: BTreeSet<String> = sink
        .ledger
        .snapshot()
        .external_accounts
        .into_keys()
        .collect();
    assert!(
        before_restart.len() < expected_counterparties(&sandbox, user.id).len(),
        "the interruption came before every counterparty was met"
    );

    // Process 2: a new connector and engine on the same store resume the scan.
    let (connector, _clock) = connector_for(&sandbox, 10).unwrap();
    let engine = engine_for(
        connector,
        Arc::new(FileStateStore::open(dir.path()).unwrap()),
        Arc::new(sink.clone()),
        vec![seeded_user(&user)],
    )
    .unwrap();
    sync(&engine).await.unwrap();

    let truth = sandbox.control().truth(user.id).unwrap();
    let ledger = sink.ledger.snapshot();
    assert_matches_truth(&ledger, &truth);
    assert_eq!(
        ledger
            .external_accounts
            .into_keys()
            .collect::<BTreeSet<_>>(),
        expected_counterparties(&sandbox, user.id)
    );
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_external_accounts_capability_alone_still_yields_every_counterparty_once() {
    use connector_core::contract::{ExternalAccountsFetcher, FetchRequest};
    use futures::StreamExt;

    let sandbox = start_one_user_sandbox(2, 150).await.unwrap();
    let user = sandbox.users()[0].clone();
    let (connector, _clock) = connector_for(&sandbox, 40).unwrap();
    let request = FetchRequest {
        psu: Some(Arc::new(seeded_user(&user))),
        from_payload: None,
        state: None,
        page_size: 40.try_into().unwrap(),
    };
    let mut pages = connector.fetch_external_accounts(request);
    let mut references = Vec::new();
    let mut last_has_more = true;
    while let Some(page) = pages.next().await {
        let page = page.unwrap();
        references.extend(page.items.into_iter().map(|a| a.reference));
        last_has_more = page.has_more;
    }
    assert!(!last_has_more, "the scan ended on its last page");
    let distinct: BTreeSet<String> = references.iter().cloned().collect();
    assert_eq!(distinct.len(), references.len(), "each counterparty once");
    assert_eq!(distinct, expected_counterparties(&sandbox, user.id));
    sandbox.shutdown().await;
}

#[test]
fn the_sandbox_and_the_mapping_derive_the_same_counterparty_reference_on_their_own() {
    let cases = [
        ("iban", "FR76 3000 6000 0112 3456 7890 189"),
        ("IBAN", " fr76-3000\t6000 "),
        ("", "12345678"),
        (" Sort_Code_Account_Number ", "40-47-84 70501234"),
        ("bban", "ß é x"),
        ("iban", " - "),
    ];
    for (scheme, identification) in cases {
        let counterparty = powens_sandbox::TruthCounterparty {
            label: "ACME".into(),
            account_scheme_name: scheme.into(),
            account_identification: identification.into(),
            counterparty_type: "creditor".into(),
        };
        assert_eq!(
            counterparty.expected_reference(),
            powens_model::counterparty::counterparty_reference(Some(scheme), identification),
            "{scheme:?} {identification:?}"
        );
    }
}
