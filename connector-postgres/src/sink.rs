//! The [`Sink`] and [`TransactionalSink`] of [`PgBackend`]: records into their tables.
//!
//! Rows are written in batches, one statement per table and run: `INSERT … SELECT FROM
//! unnest($1::text[], …) ON CONFLICT … DO UPDATE`, so a page of 1,000 payments is one
//! statement. Within a batch, records apply in their order where order matters (a payment,
//! then its `payment_to_delete`): a run of payments is flushed before a delete or cancel,
//! and the other way round. Rows of one statement are sorted by key (so that concurrent
//! writers lock rows in one order) and a key given twice keeps its last record.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use connector_core::model::{Account, Balance, Capability, Payment, Record};
use connector_core::sink::{CommitError, Sink, SinkError, TransactionalSink};
use connector_core::state::{StateKey, Version};
use deadpool_postgres::GenericClient;
use futures::future::BoxFuture;
use futures::FutureExt;

use crate::backend::PgBackend;
use crate::error::PgError;
use crate::state::{prepare, put};

const UPSERT_PAYMENTS: &str = "\
INSERT INTO payments (reference, parent_reference, created_at, type, amount, asset, scheme, \
    status, source_account_reference, destination_account_reference, psu_id, connection_id, \
    metadata, raw) \
SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[], \
    $5::text[]::numeric[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], \
    $11::text[], $12::text[], $13::text[]::json[], $14::text[]::json[]) \
ON CONFLICT (reference) DO UPDATE SET parent_reference = EXCLUDED.parent_reference, \
    created_at = EXCLUDED.created_at, type = EXCLUDED.type, amount = EXCLUDED.amount, \
    asset = EXCLUDED.asset, scheme = EXCLUDED.scheme, status = EXCLUDED.status, \
    source_account_reference = EXCLUDED.source_account_reference, \
    destination_account_reference = EXCLUDED.destination_account_reference, \
    psu_id = EXCLUDED.psu_id, connection_id = EXCLUDED.connection_id, \
    metadata = EXCLUDED.metadata, raw = EXCLUDED.raw, writes = payments.writes + 1, \
    updated_at = now() \
WHERE (payments.parent_reference, payments.created_at, payments.type, payments.amount, \
    payments.asset, payments.scheme, payments.status, payments.source_account_reference, \
    payments.destination_account_reference, payments.psu_id, payments.connection_id, \
    payments.metadata::text, payments.raw::text) \
    IS DISTINCT FROM (EXCLUDED.parent_reference, EXCLUDED.created_at, EXCLUDED.type, \
    EXCLUDED.amount, EXCLUDED.asset, EXCLUDED.scheme, EXCLUDED.status, \
    EXCLUDED.source_account_reference, EXCLUDED.destination_account_reference, \
    EXCLUDED.psu_id, EXCLUDED.connection_id, EXCLUDED.metadata::text, EXCLUDED.raw::text)";

const DELETE_PAYMENTS: &str = "DELETE FROM payments WHERE reference = ANY($1::text[])";

const CANCEL_PAYMENTS: &str = "UPDATE payments SET status = 'CANCELLED', updated_at = now() \
    WHERE reference = ANY($1::text[]) AND status <> 'CANCELLED'";

/// `{table}` is `accounts` or `external_accounts`.
fn upsert_accounts(table: &str) -> String {
    format!(
        "INSERT INTO {table} (reference, created_at, name, default_asset, psu_id, \
             connection_id, metadata, raw) \
         SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[], \
             $5::text[], $6::text[], $7::text[]::json[], $8::text[]::json[]) \
         ON CONFLICT (reference) DO UPDATE SET created_at = EXCLUDED.created_at, \
             name = EXCLUDED.name, default_asset = EXCLUDED.default_asset, \
             psu_id = EXCLUDED.psu_id, connection_id = EXCLUDED.connection_id, \
             metadata = EXCLUDED.metadata, raw = EXCLUDED.raw, updated_at = now() \
         WHERE ({table}.created_at, {table}.name, {table}.default_asset, {table}.psu_id, \
             {table}.connection_id, {table}.metadata::text, {table}.raw::text) \
             IS DISTINCT FROM (EXCLUDED.created_at, EXCLUDED.name, EXCLUDED.default_asset, \
             EXCLUDED.psu_id, EXCLUDED.connection_id, EXCLUDED.metadata::text, \
             EXCLUDED.raw::text)"
    )
}

const UPSERT_BALANCES: &str = "\
INSERT INTO balances (account_reference, asset, created_at, amount, available_amount, psu_id, \
    connection_id) \
SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[]::numeric[], \
    $5::text[]::numeric[], $6::text[], $7::text[]) \
ON CONFLICT (account_reference, asset, created_at) DO UPDATE SET amount = EXCLUDED.amount, \
    available_amount = EXCLUDED.available_amount, psu_id = EXCLUDED.psu_id, \
    connection_id = EXCLUDED.connection_id \
WHERE (balances.amount, balances.available_amount, balances.psu_id, balances.connection_id) \
    IS DISTINCT FROM (EXCLUDED.amount, EXCLUDED.available_amount, EXCLUDED.psu_id, \
    EXCLUDED.connection_id)";

const INSERT_EVENTS: &str = "\
INSERT INTO connection_events (event_key, kind, psu_id, psp_user_id, connection_id, at, record) \
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], \
    $6::timestamptz[], $7::text[]::json[]) \
ON CONFLICT (event_key) DO NOTHING";

/// A page's transaction does not wait for its WAL flush (docs/DECISIONS.md, "PostgreSQL
/// pages committed asynchronously"): a server crash can lose the last committed pages, but
/// each with its state, so they are fetched again; nothing is stored twice or skipped.
const ASYNCHRONOUS_COMMIT: &str = "SET LOCAL synchronous_commit = off";

/// Whether the transaction that stores records with the state under `key` may commit without
/// waiting for its WAL flush. Pages a task fetched may: a server crash loses them with their
/// state and the task fetches them again. A webhook delivery's records and key may not: the
/// service answers Powens 2xx once they are committed, and Powens does not send an
/// acknowledged delivery again, so losing it would leave its data to the next polling cycle.
fn commits_asynchronously(key: &StateKey) -> bool {
    key.capability != Capability::TranslateWebhooks
}

fn encode<T: serde::Serialize + ?Sized>(what: &str, value: &T) -> Result<String, PgError> {
    serde_json::to_string(value).map_err(|e| PgError::Corrupt {
        what: format!("{what} to store"),
        message: e.to_string(),
    })
}

/// Writes `payments` (one upsert).
async fn write_payments<C: GenericClient + Sync>(
    client: &C,
    payments: &BTreeMap<&str, &Payment>,
) -> Result<(), PgError> {
    if payments.is_empty() {
        return Ok(());
    }
    let n = payments.len();
    let mut reference = Vec::with_capacity(n);
    let mut parent = Vec::with_capacity(n);
    let mut created_at = Vec::with_capacity(n);
    let mut kind = Vec::with_capacity(n);
    let mut amount = Vec::with_capacity(n);
    let mut asset = Vec::with_capacity(n);
    let mut scheme = Vec::with_capacity(n);
    let mut status = Vec::with_capacity(n);
    let mut source = Vec::with_capacity(n);
    let mut destination = Vec::with_capacity(n);
    let mut psu = Vec::with_capacity(n);
    let mut connection = Vec::with_capacity(n);
    let mut metadata = Vec::with_capacity(n);
    let mut raw = Vec::with_capacity(n);
    for p in payments.values() {
        reference.push(p.reference.as_str());
        parent.push(p.parent_reference.as_deref());
        created_at.push(p.created_at);
        kind.push(p.payment_type.as_str());
        amount.push(p.amount.to_string());
        asset.push(p.asset.as_str());
        scheme.push(p.scheme.as_str());
        status.push(p.status.as_str());
        source.push(p.source_account_reference.as_deref());
        destination.push(p.destination_account_reference.as_deref());
        psu.push(p.psu_id.as_deref());
        connection.push(p.open_banking_connection_id.as_deref());
        metadata.push(encode("payment metadata", &p.metadata)?);
        raw.push(p.raw.get());
    }
    let statement = prepare(client, UPSERT_PAYMENTS).await?;
    client
        .execute(
            &statement,
            &[
                &reference,
                &parent,
                &created_at,
                &kind,
                &amount,
                &asset,
                &scheme,
                &status,
                &source,
                &destination,
                &psu,
                &connection,
                &metadata,
                &raw,
            ],
        )
        .await
        .map_err(PgError::query(format!("writing {n} payments")))?;
    Ok(())
}

/// Applies a run of cancels and deletes: cancels first (a cancelled and deleted payment is
/// deleted whatever their order).
async fn write_retirements<C: GenericClient + Sync>(
    client: &C,
    cancels: &[&str],
    deletes: &[&str],
) -> Result<(), PgError> {
    for (sql, references, what) in [
        (CANCEL_PAYMENTS, cancels, "cancelling"),
        (DELETE_PAYMENTS, deletes, "deleting"),
    ] {
        if references.is_empty() {
            continue;
        }
        let statement = prepare(client, sql).await?;
        client
            .execute(&statement, &[&references])
            .await
            .map_err(PgError::query(format!(
                "{what} {} payments",
                references.len()
            )))?;
    }
    Ok(())
}

async fn write_accounts<C: GenericClient + Sync>(
    client: &C,
    table: &str,
    accounts: &BTreeMap<&str, &Account>,
) -> Result<(), PgError> {
    if accounts.is_empty() {
        return Ok(());
    }
    let n = accounts.len();
    let mut reference = Vec::with_capacity(n);
    let mut created_at = Vec::with_capacity(n);
    let mut name = Vec::with_capacity(n);
    let mut asset = Vec::with_capacity(n);
    let mut psu = Vec::with_capacity(n);
    let mut connection = Vec::with_capacity(n);
    let mut metadata = Vec::with_capacity(n);
    let mut raw = Vec::with_capacity(n);
    for a in accounts.values() {
        reference.push(a.reference.as_str());
        created_at.push(a.created_at);
        name.push(a.name.as_deref());
        asset.push(a.default_asset.as_ref().map(|asset| asset.as_str()));
        psu.push(a.psu_id.as_deref());
        connection.push(a.open_banking_connection_id.as_deref());
        metadata.push(encode("account metadata", &a.metadata)?);
        raw.push(a.raw.get());
    }
    let statement = prepare(client, &upsert_accounts(table)).await?;
    client
        .execute(
            &statement,
            &[
                &reference,
                &created_at,
                &name,
                &asset,
                &psu,
                &connection,
                &metadata,
                &raw,
            ],
        )
        .await
        .map_err(PgError::query(format!("writing {n} {table}")))?;
    Ok(())
}

type BalanceKey<'a> = (&'a str, &'a str, DateTime<Utc>);

async fn write_balances<C: GenericClient + Sync>(
    client: &C,
    balances: &BTreeMap<BalanceKey<'_>, &Balance>,
) -> Result<(), PgError> {
    if balances.is_empty() {
        return Ok(());
    }
    let n = balances.len();
    let mut account = Vec::with_capacity(n);
    let mut asset = Vec::with_capacity(n);
    let mut created_at = Vec::with_capacity(n);
    let mut amount = Vec::with_capacity(n);
    let mut available = Vec::with_capacity(n);
    let mut psu = Vec::with_capacity(n);
    let mut connection = Vec::with_capacity(n);
    for b in balances.values() {
        account.push(b.account_reference.as_str());
        asset.push(b.asset.as_str());
        created_at.push(b.created_at);
        amount.push(b.amount.to_string());
        available.push(b.available_amount.map(|a| a.to_string()));
        psu.push(b.psu_id.as_deref());
        connection.push(b.open_banking_connection_id.as_deref());
    }
    let statement = prepare(client, UPSERT_BALANCES).await?;
    client
        .execute(
            &statement,
            &[
                &account,
                &asset,
                &created_at,
                &amount,
                &available,
                &psu,
                &connection,
            ],
        )
        .await
        .map_err(PgError::query(format!("writing {n} balances")))?;
    Ok(())
}

/// A connection event's row: key, kind, PSU, provider user, connection, time.
struct EventRow<'a> {
    psu: Option<&'a str>,
    psp_user: Option<&'a str>,
    connection: Option<&'a str>,
    at: Option<DateTime<Utc>>,
}

fn event_row(record: &Record) -> Option<EventRow<'_>> {
    Some(match record {
        Record::UserDisconnected(e) => EventRow {
            psu: e.psu_id.as_deref(),
            psp_user: Some(&e.psp_user_id),
            connection: None,
            at: None,
        },
        Record::UserConnectionPendingDisconnect(e) => EventRow {
            psu: e.psu_id.as_deref(),
            psp_user: None,
            connection: Some(&e.connection_id),
            at: Some(e.at),
        },
        Record::UserConnectionDisconnected(e) => EventRow {
            psu: e.psu_id.as_deref(),
            psp_user: e.psp_user_id.as_deref(),
            connection: Some(&e.connection_id),
            at: Some(e.at),
        },
        Record::UserConnectionReconnected(e) => EventRow {
            psu: e.psu_id.as_deref(),
            psp_user: Some(&e.psp_user_id),
            connection: Some(&e.connection_id),
            at: Some(e.at),
        },
        _ => return None,
    })
}

/// The identity of an event: its kind and what names the fact (the same disconnection
/// reported by every cycle is one row).
fn event_key(kind: &str, row: &EventRow<'_>) -> String {
    format!(
        "{kind}/{}/{}/{}",
        row.psp_user.unwrap_or(""),
        row.connection.unwrap_or(""),
        row.at.map(|at| at.to_rfc3339()).unwrap_or_default()
    )
}

async fn write_events<C: GenericClient + Sync>(
    client: &C,
    events: &[&Record],
) -> Result<(), PgError> {
    if events.is_empty() {
        return Ok(());
    }
    let n = events.len();
    let mut key = Vec::with_capacity(n);
    let mut kind = Vec::with_capacity(n);
    let mut psu = Vec::with_capacity(n);
    let mut psp_user = Vec::with_capacity(n);
    let mut connection = Vec::with_capacity(n);
    let mut at = Vec::with_capacity(n);
    let mut record = Vec::with_capacity(n);
    for event in events {
        let Some(row) = event_row(event) else {
            continue;
        };
        key.push(event_key(event.kind(), &row));
        kind.push(event.kind());
        psu.push(row.psu);
        psp_user.push(row.psp_user);
        connection.push(row.connection);
        at.push(row.at);
        record.push(encode("connection event", event)?);
    }
    let statement = prepare(client, INSERT_EVENTS).await?;
    client
        .execute(
            &statement,
            &[&key, &kind, &psu, &psp_user, &connection, &at, &record],
        )
        .await
        .map_err(PgError::query(format!("writing {n} connection events")))?;
    Ok(())
}

/// Writes `batch` on `client` (an open transaction): see the module's rules.
pub(crate) async fn write_records<C: GenericClient + Sync>(
    client: &C,
    batch: &[Record],
) -> Result<(), PgError> {
    let mut accounts = BTreeMap::new();
    let mut external = BTreeMap::new();
    let mut balances = BTreeMap::new();
    let mut events = Vec::new();
    let mut payments: BTreeMap<&str, &Payment> = BTreeMap::new();
    let mut cancels: Vec<&str> = Vec::new();
    let mut deletes: Vec<&str> = Vec::new();
    for record in batch {
        match record {
            Record::Payment(p) => {
                if !cancels.is_empty() || !deletes.is_empty() {
                    write_retirements(client, &cancels, &deletes).await?;
                    cancels.clear();
                    deletes.clear();
                }
                payments.insert(&p.reference, p);
            }
            Record::PaymentToDelete(d) => {
                write_payments(client, &payments).await?;
                payments.clear();
                deletes.push(&d.reference);
            }
            Record::PaymentToCancel(c) => {
                write_payments(client, &payments).await?;
                payments.clear();
                cancels.push(&c.reference);
            }
            Record::Account(a) => {
                accounts.insert(a.reference.as_str(), a);
            }
            Record::ExternalAccount(a) => {
                external.insert(a.reference.as_str(), a);
            }
            Record::Balance(b) => {
                balances.insert(
                    (b.account_reference.as_str(), b.asset.as_str(), b.created_at),
                    b,
                );
            }
            other => events.push(other),
        }
    }
    write_payments(client, &payments).await?;
    write_retirements(client, &cancels, &deletes).await?;
    write_accounts(client, "accounts", &accounts).await?;
    write_accounts(client, "external_accounts", &external).await?;
    write_balances(client, &balances).await?;
    write_events(client, &events).await
}

impl PgBackend {
    async fn accept_batch(&self, batch: &[Record]) -> Result<(), PgError> {
        if batch.is_empty() {
            return Ok(());
        }
        let mut client = self.client().await?;
        let tx = client
            .transaction()
            .await
            .map_err(PgError::query("starting a transaction"))?;
        write_records(&tx, batch).await?;
        tx.commit().await.map_err(PgError::query(format!(
            "committing {} records",
            batch.len()
        )))
    }

    async fn commit_page(
        &self,
        batch: &[Record],
        key: &StateKey,
        expected: Option<Version>,
        state: serde_json::Value,
    ) -> Result<Version, CommitError> {
        let mut client = self.client().await.map_err(SinkError::from)?;
        let tx = client
            .transaction()
            .await
            .map_err(|e| SinkError::from(PgError::query("starting a transaction")(e)))?;
        // The three are sent together (tokio-postgres pipelines the queries of concurrent
        // futures on one connection): one round trip instead of one per statement. Their
        // order does not matter, they commit together or not at all.
        let asynchronous = async {
            if !commits_asynchronously(key) {
                return Ok(());
            }
            tx.batch_execute(ASYNCHRONOUS_COMMIT).await.map_err(|e| {
                CommitError::from(SinkError::from(PgError::query(
                    "turning synchronous_commit off for a page",
                )(e)))
            })
        };
        let records = async {
            write_records(&tx, batch)
                .await
                .map_err(|e| CommitError::from(SinkError::from(e)))
        };
        let state = async {
            put(&tx, key, expected, &state)
                .await
                .map_err(CommitError::from)
        };
        // An error (a conflict included) returns before the commit: the transaction is
        // rolled back when dropped.
        let ((), (), version) = futures::try_join!(asynchronous, records, state)?;
        tx.commit().await.map_err(|e| {
            SinkError::from(PgError::query(format!(
                "committing {} records with the state of {key}",
                batch.len()
            ))(e))
        })?;
        Ok(version)
    }
}

impl Sink for PgBackend {
    fn accept<'a>(&'a self, batch: &'a [Record]) -> BoxFuture<'a, Result<(), SinkError>> {
        async move { Ok(self.accept_batch(batch).await?) }.boxed()
    }

    fn transactional(&self) -> Option<&dyn TransactionalSink> {
        Some(self)
    }
}

impl TransactionalSink for PgBackend {
    fn accept_and_commit<'a>(
        &'a self,
        batch: &'a [Record],
        key: &'a StateKey,
        expected: Option<Version>,
        state: serde_json::Value,
    ) -> BoxFuture<'a, Result<Version, CommitError>> {
        self.commit_page(batch, key, expected, state).boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fetched_pages_commit_asynchronously_and_webhook_deliveries_wait_for_the_disk() {
        let page = StateKey::new(Capability::FetchPayments).for_parent("account/1");
        let delivery = StateKey::new(Capability::TranslateWebhooks).for_parent("webhook/k1");
        assert!(commits_asynchronously(&page));
        assert!(!commits_asynchronously(&delivery));
    }
}
