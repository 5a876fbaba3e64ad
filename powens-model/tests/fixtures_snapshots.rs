//! One insta JSON snapshot per fixture file (`tests/fixtures/*.json`): the fixture shows the
//! Powens input, the snapshot the Connectivity output (records, skips, maturation, connection
//! events). `raw` is redacted in snapshots (the row as received; covered by unit tests).
//!
//! Also checks, on every fixture, that the lean page decoder and the `powens-api` typed path
//! give the same mapping results.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use connector_core::model::{
    Account, Balance, Record, UserConnectionDisconnected, UserConnectionPendingDisconnect,
};
use powens_api::accounts::BankAccountsList;
use powens_api::connections::ConnectionsList;
use powens_api::transactions::TransactionsPage;
use powens_model::maturation::{mature, MaturationRule, ProvisionalPayment, Retirement};
use powens_model::payment::{map_transaction, Tombstone, TransactionOutcome};
use powens_model::{account, connection, page, AccountBook, MappingContext, Skipped};
use serde::Serialize;

#[derive(Serialize)]
struct Snapshot {
    accounts: Vec<Account>,
    balances: Vec<Balance>,
    skipped_accounts: Vec<Skipped>,
    #[serde(skip_serializing_if = "Option::is_none")]
    transactions: Option<TransactionsOut>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    connections: Vec<ConnectionOut>,
}

#[derive(Serialize)]
struct TransactionsOut {
    records: Vec<Record>,
    external_accounts: Vec<Account>,
    tombstones: Vec<Tombstone>,
    retired: Vec<Retirement>,
    still_pending: Vec<ProvisionalPayment>,
    skipped: Vec<Skipped>,
}

#[derive(Serialize)]
struct ConnectionOut {
    id: i64,
    state: Option<String>,
    disconnected: Option<UserConnectionDisconnected>,
    pending_disconnect: Option<UserConnectionPendingDisconnect>,
}

fn fallback() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap()
}

fn context() -> MappingContext {
    MappingContext::new(fallback()).with_psu_id("psu-1")
}

fn bytes_of(value: &serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(value).unwrap()
}

fn run(fixture: &serde_json::Value) -> Snapshot {
    let ctx = context();
    let mut snapshot = Snapshot {
        accounts: Vec::new(),
        balances: Vec::new(),
        skipped_accounts: Vec::new(),
        transactions: None,
        connections: Vec::new(),
    };
    let mut book = AccountBook::new();
    if let Some(accounts) = fixture.get("accounts") {
        let list: BankAccountsList = serde_json::from_slice(&bytes_of(accounts)).unwrap();
        let mapped = account::map_accounts(&list.accounts, &ctx);
        book = mapped.book;
        snapshot.accounts = mapped.accounts;
        snapshot.balances = mapped.balances;
        snapshot.skipped_accounts = mapped.skipped;
    }
    if let Some(transactions) = fixture.get("transactions") {
        let known: Vec<ProvisionalPayment> = fixture
            .get("known_pending")
            .map(|k| serde_json::from_slice(&bytes_of(k)).unwrap())
            .unwrap_or_default();
        let bytes = bytes_of(transactions);
        let mapped = page::map_transactions_page(&bytes, &book, &ctx).unwrap();
        let external_accounts = mapped.external_accounts.clone();
        let tombstones = mapped.tombstones.clone();
        let skipped = mapped.skipped.clone();
        let maturation = mature(
            &known,
            mapped.into_payments(),
            &tombstones,
            MaturationRule::default(),
        );
        snapshot.transactions = Some(TransactionsOut {
            records: maturation.records,
            external_accounts,
            tombstones,
            retired: maturation.retired,
            still_pending: maturation.pending,
            skipped,
        });
    }
    if let Some(connections) = fixture.get("connections") {
        let now: DateTime<Utc> = fixture["now"].as_str().unwrap().parse().unwrap();
        let horizon = TimeDelta::days(fixture["horizon_days"].as_i64().unwrap());
        let list: ConnectionsList = serde_json::from_slice(&bytes_of(connections)).unwrap();
        for conn in &list.connections {
            snapshot.connections.push(ConnectionOut {
                id: conn.id,
                state: conn.state.as_ref().map(|s| s.as_str().to_owned()),
                disconnected: connection::disconnected(
                    conn,
                    conn.id_user.map(|u| u.to_string()),
                    now,
                ),
                pending_disconnect: connection::pending_disconnect(conn, now, horizon, ctx.zone),
            });
        }
    }
    snapshot
}

#[test]
fn every_fixture_maps_to_its_reviewed_snapshot() {
    insta::glob!("fixtures/*.json", |path| {
        let fixture: serde_json::Value =
            serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        let snapshot = run(&fixture);
        insta::with_settings!({ description => fixture["description"].as_str().unwrap_or_default(), omit_expression => true }, {
            insta::assert_json_snapshot!(snapshot, { ".**.raw" => "[raw]" });
        });
    });
}

/// The lean page decoder and the typed `powens-api` path give the same payments, external
/// accounts and tombstones (raw aside) on every fixture the typed decoder accepts.
#[test]
fn lean_page_decoder_maps_like_the_typed_powens_api_path() {
    let ctx = context();
    let mut compared = 0;
    insta::glob!("fixtures/*.json", |path| {
        let fixture: serde_json::Value =
            serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        let (Some(accounts), Some(transactions)) =
            (fixture.get("accounts"), fixture.get("transactions"))
        else {
            return;
        };
        let list: BankAccountsList = serde_json::from_slice(&bytes_of(accounts)).unwrap();
        let book = account::map_accounts(&list.accounts, &ctx).book;
        let bytes = bytes_of(transactions);
        let Ok(typed) = serde_json::from_slice::<TransactionsPage>(&bytes) else {
            // The typed decoder refuses the whole page (e.g. a row without id); the lean one
            // skips the bad rows: covered by the rows_skipped_with_reasons snapshot.
            return;
        };
        let lean = page::map_transactions_page(&bytes, &book, &ctx).unwrap();
        let mut payments = Vec::new();
        let mut externals = Vec::new();
        let mut tombstones = Vec::new();
        for tx in &typed.transactions {
            let Some(account) = book.get(tx.id_account) else {
                continue;
            };
            match map_transaction(tx, account, &ctx) {
                Ok(TransactionOutcome::Payment {
                    mut payment,
                    external_account,
                }) => {
                    payment.raw = serde_json::value::RawValue::NULL.to_owned().into();
                    payments.push(*payment);
                    if let Some(external) = external_account {
                        if !externals
                            .iter()
                            .any(|e: &Account| e.reference == external.reference)
                        {
                            externals.push(*external);
                        }
                    }
                }
                Ok(TransactionOutcome::Deleted(tombstone)) => tombstones.push(tombstone),
                Err(_) => {}
            }
        }
        let lean_payments: Vec<_> = lean
            .payments
            .iter()
            .map(|row| row.payment.clone())
            .collect();
        assert_eq!(lean_payments, payments, "{}", path.display());
        assert_eq!(lean.external_accounts, externals, "{}", path.display());
        assert_eq!(lean.tombstones, tombstones, "{}", path.display());
        compared += 1;
    });
    assert!(compared >= 6, "only {compared} fixtures compared");
}
