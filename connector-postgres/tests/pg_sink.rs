#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! What the PostgreSQL sink does to its tables: payments upserted by reference, deletes and
//! cancels applied in batch order, accounts, balances and events stored once, and a page's
//! records committed with its state or not at all. Needs `POWENS_TEST_DATABASE_URL`.

use connector_core::model::{Capability, Record};
use connector_core::sink::{CommitError, Sink};
use connector_core::state::{StateError, StateKey, StateStore, Version};
use connector_postgres::testing::{
    compare_payments, database_url, fresh_backend, PaymentsComparison,
};
use connector_postgres::PgBackend;
use serde_json::{json, Value};

async fn backend(name: &str) -> Option<PgBackend> {
    let url = database_url().unwrap()?;
    Some(fresh_backend(&url, name).await.unwrap())
}

fn record(value: Value) -> Record {
    serde_json::from_value(value).unwrap()
}

/// A payment record `reference` of `amount` minor units of EUR/2 with `status`.
fn payment(reference: &str, amount: i64, status: &str) -> Record {
    record(json!({
        "kind": "payment",
        "reference": reference,
        "createdAt": "2026-03-01T10:00:00Z",
        "type": "PAY-IN",
        "amount": amount,
        "asset": "EUR/2",
        "scheme": "OTHER",
        "status": status,
        "destinationAccountReference": "acc-1",
        "psuID": "psu-1",
        "metadata": {"com.powens.spec/wording": "VIR SEPA"},
        "raw": {"id": reference, "value": amount}
    }))
}

fn delete(reference: &str) -> Record {
    record(json!({"kind": "payment_to_delete", "reference": reference}))
}

fn cancel(reference: &str) -> Record {
    record(json!({"kind": "payment_to_cancel", "reference": reference}))
}

/// `reference|amount|status|writes` of every payment, by reference.
async fn payments(backend: &PgBackend) -> Vec<String> {
    let client = backend.pool().get().await.unwrap();
    client
        .query(
            "SELECT reference || '|' || amount || '|' || status || '|' || writes \
             FROM payments ORDER BY reference",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect()
}

async fn count(backend: &PgBackend, table: &str) -> i64 {
    let client = backend.pool().get().await.unwrap();
    client
        .query_one(&format!("SELECT count(*) FROM {table}"), &[])
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn pg_sink_upserts_payments_by_reference() {
    let Some(sink) = backend("pg_sink_upsert").await else {
        return;
    };
    sink.accept(&[
        payment("p1", 250, "PENDING"),
        payment("p2", 100, "SUCCEEDED"),
    ])
    .await
    .unwrap();
    // p1 matured at another amount: the same row, updated.
    sink.accept(&[payment("p1", 300, "SUCCEEDED")])
        .await
        .unwrap();
    assert_eq!(
        payments(&sink).await,
        ["p1|300|SUCCEEDED|2", "p2|100|SUCCEEDED|1"]
    );
}

#[tokio::test]
async fn pg_sink_writes_nothing_for_a_payment_delivered_again_unchanged() {
    let Some(sink) = backend("pg_sink_again").await else {
        return;
    };
    let page = [
        payment("p1", 250, "PENDING"),
        payment("p2", 100, "SUCCEEDED"),
    ];
    sink.accept(&page).await.unwrap();
    let stamp = "SELECT string_agg(updated_at::text, ',' ORDER BY reference) FROM payments";
    let client = sink.pool().get().await.unwrap();
    let before: String = client.query_one(stamp, &[]).await.unwrap().get(0);
    // The same page again (a restart reading it again), then p1 matured: only p1 changes.
    sink.accept(&page).await.unwrap();
    let after: String = client.query_one(stamp, &[]).await.unwrap().get(0);
    assert_eq!(
        after, before,
        "a row delivered again unchanged was rewritten"
    );
    sink.accept(&[payment("p1", 250, "SUCCEEDED")])
        .await
        .unwrap();
    assert_eq!(
        payments(&sink).await,
        ["p1|250|SUCCEEDED|2", "p2|100|SUCCEEDED|1"]
    );
}

#[tokio::test]
async fn pg_comparison_counts_missing_extra_changed_and_rewritten_rows() {
    let (Some(clean), Some(run)) = (backend("pg_cmp_clean").await, backend("pg_cmp_run").await)
    else {
        return;
    };
    let page = [
        payment("p1", 1, "SUCCEEDED"),
        payment("p2", 2, "SUCCEEDED"),
        payment("p3", 3, "PENDING"),
    ];
    clean.accept(&page).await.unwrap();
    run.accept(&page).await.unwrap();
    run.accept(&page).await.unwrap(); // delivered twice, unchanged: no duplicate
    let same = PaymentsComparison {
        payments: 3,
        missing: 0,
        extra: 0,
        changed: 0,
        duplicates: 0,
    };
    assert_eq!(compare_payments(&run, clean.schema()).await.unwrap(), same);
    // A sink rewriting an unchanged row (what the no-op rule prevents) is counted.
    let client = run.pool().get().await.unwrap();
    client
        .execute(
            "UPDATE payments SET writes = writes + 1 WHERE reference = 'p2'",
            &[],
        )
        .await
        .unwrap();
    let p2_rewritten = PaymentsComparison {
        duplicates: 1,
        ..same
    };
    assert_eq!(
        compare_payments(&run, clean.schema()).await.unwrap(),
        p2_rewritten
    );
    // A stale page applied over p1 and the current one again: the same content in the
    // end, written twice more than in the clean run.
    run.accept(&[payment("p1", 9, "PENDING")]).await.unwrap();
    run.accept(&[payment("p1", 1, "SUCCEEDED")]).await.unwrap();
    assert_eq!(
        compare_payments(&run, clean.schema()).await.unwrap(),
        PaymentsComparison {
            duplicates: 2,
            ..same
        }
    );
    // p2 lost, p4 never in the clean run, p3 stored with another amount.
    run.accept(&[
        delete("p2"),
        payment("p4", 4, "SUCCEEDED"),
        payment("p3", 30, "PENDING"),
    ])
    .await
    .unwrap();
    assert_eq!(
        compare_payments(&run, clean.schema()).await.unwrap(),
        PaymentsComparison {
            payments: 3,
            missing: 1,
            extra: 1,
            changed: 1,
            duplicates: 2,
        }
    );
    assert!(compare_payments(&run, "no schema").await.is_err());
}

#[tokio::test]
async fn pg_sink_keeps_the_last_record_of_a_reference_given_twice_in_a_batch() {
    let Some(sink) = backend("pg_sink_twice").await else {
        return;
    };
    sink.accept(&[payment("p1", 1, "PENDING"), payment("p1", 2, "SUCCEEDED")])
        .await
        .unwrap();
    assert_eq!(payments(&sink).await, ["p1|2|SUCCEEDED|1"]);
}

#[tokio::test]
async fn pg_sink_applies_deletes_and_cancels_in_batch_order() {
    let Some(sink) = backend("pg_sink_retire").await else {
        return;
    };
    sink.accept(&[
        payment("deleted", 1, "PENDING"),
        payment("cancelled", 2, "PENDING"),
        payment("reposted", 3, "PENDING"),
        delete("deleted"),
        cancel("cancelled"),
        delete("reposted"),
        // posted again after its delete, in the same batch: it stands
        payment("reposted", 4, "SUCCEEDED"),
        // retiring what was never stored changes nothing
        delete("unknown"),
        cancel("unknown-too"),
    ])
    .await
    .unwrap();
    assert_eq!(
        payments(&sink).await,
        ["cancelled|2|CANCELLED|1", "reposted|4|SUCCEEDED|1"]
    );
    // A later batch cancels and deletes what earlier batches stored.
    sink.accept(&[cancel("reposted"), delete("cancelled")])
        .await
        .unwrap();
    assert_eq!(payments(&sink).await, ["reposted|4|CANCELLED|1"]);
}

#[tokio::test]
async fn pg_sink_stores_amounts_exactly() {
    let Some(sink) = backend("pg_sink_exact").await else {
        return;
    };
    let huge = "123456789012345678901234567890123456789";
    let mut record = serde_json::to_value(payment("big", 1, "SUCCEEDED")).unwrap();
    record["amount"] = serde_json::from_str(huge).unwrap();
    sink.accept(&[serde_json::from_value(record).unwrap()])
        .await
        .unwrap();
    assert_eq!(payments(&sink).await, [format!("big|{huge}|SUCCEEDED|1")]);
}

/// One of each other record kind.
fn others() -> Vec<Record> {
    vec![
        record(json!({
            "kind": "account", "reference": "acc-1", "createdAt": "2026-01-01T00:00:00Z",
            "type": "INTERNAL", "name": "Compte courant", "defaultAsset": "EUR/2",
            "psuID": "psu-1", "openBankingConnectionID": "7", "metadata": {}, "raw": {"id": 1}
        })),
        record(json!({
            "kind": "external_account", "reference": "FR7630001007941234567890185",
            "createdAt": "2026-01-01T00:00:00Z", "type": "EXTERNAL", "name": "ACME",
            "metadata": {}, "raw": {"iban": "FR7630001007941234567890185"}
        })),
        record(json!({
            "kind": "balance", "accountReference": "acc-1",
            "createdAt": "2026-03-01T00:00:00Z", "amount": -1050, "availableAmount": 2000,
            "asset": "EUR/2", "psuID": "psu-1"
        })),
        record(json!({
            "kind": "user_connection_disconnected", "connectionID": "7",
            "at": "2026-03-02T00:00:00Z", "errorType": "USER_ACTION_NEEDED",
            "reason": "SCA required", "psuID": "psu-1"
        })),
        record(json!({"kind": "user_disconnected", "pspUserID": "42", "psuID": "psu-1"})),
    ]
}

#[tokio::test]
async fn pg_sink_stores_accounts_balances_and_events_once_however_often_delivered() {
    let Some(sink) = backend("pg_sink_others").await else {
        return;
    };
    for _ in 0..3 {
        sink.accept(&others()).await.unwrap();
    }
    for (table, rows) in [
        ("accounts", 1),
        ("external_accounts", 1),
        ("balances", 1),
        ("connection_events", 2),
        ("payments", 0),
    ] {
        assert_eq!(count(&sink, table).await, rows, "{table}");
    }
    let client = sink.pool().get().await.unwrap();
    let row = client
        .query_one(
            "SELECT a.name, a.default_asset, a.connection_id, b.amount::text, \
                    b.available_amount::text, e.kind, e.connection_id \
             FROM accounts a JOIN balances b ON b.account_reference = a.reference \
             JOIN connection_events e ON e.psu_id = a.psu_id AND e.connection_id IS NOT NULL",
            &[],
        )
        .await
        .unwrap();
    let got: (String, String, String, String, String, String, String) = (
        row.get(0),
        row.get(1),
        row.get(2),
        row.get(3),
        row.get(4),
        row.get(5),
        row.get(6),
    );
    assert_eq!(
        got,
        (
            "Compte courant".into(),
            "EUR/2".into(),
            "7".into(),
            "-1050".into(),
            "2000".into(),
            "user_connection_disconnected".into(),
            "7".into()
        )
    );
}

fn page_key() -> StateKey {
    StateKey::new(Capability::FetchPayments)
        .for_psu("psu-1")
        .for_parent("acc-1")
}

#[tokio::test]
async fn pg_page_records_and_state_commit_together_or_not_at_all() {
    let Some(backend) = backend("pg_sink_commit").await else {
        return;
    };
    let sink = backend
        .transactional()
        .expect("the PG sink is transactional");
    let key = page_key();
    let v1 = sink
        .accept_and_commit(
            &[payment("p1", 1, "SUCCEEDED")],
            &key,
            None,
            json!({"offset": 1}),
        )
        .await
        .unwrap();
    assert_eq!(v1, Version(1));
    // A stale writer (another run committed version 1 first): refused, and its records
    // are not stored either.
    let err = sink
        .accept_and_commit(
            &[payment("p2", 2, "SUCCEEDED")],
            &key,
            None,
            json!({"offset": 9}),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            CommitError::State(StateError::Conflict {
                actual: Some(Version(1)),
                ..
            })
        ),
        "{err}"
    );
    assert_eq!(payments(&backend).await, ["p1|1|SUCCEEDED|1"]);
    let state = backend.get(&key).await.unwrap().unwrap();
    assert_eq!((state.version, state.value), (v1, json!({"offset": 1})));
    // A batch the database refuses (PostgreSQL text cannot hold a NUL character) leaves
    // the state where it was, and stores none of the batch's records.
    let ok = sink
        .accept_and_commit(
            &[
                payment("p2", 2, "SUCCEEDED"),
                payment("p\u{0}3", 3, "SUCCEEDED"),
            ],
            &key,
            Some(v1),
            json!(2),
        )
        .await;
    let Err(err) = ok else {
        panic!("PostgreSQL accepted a NUL in a text column");
    };
    assert!(matches!(err, CommitError::Sink(_)), "{err}");
    assert!(err.to_string().contains("writing 2 payments"), "{err}");
    assert_eq!(backend.get(&key).await.unwrap().unwrap().version, v1);
    assert_eq!(payments(&backend).await, ["p1|1|SUCCEEDED|1"]);
}
