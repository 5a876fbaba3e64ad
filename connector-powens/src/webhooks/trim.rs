//! Splitting large webhook bodies into pieces that translate independently.
//!
//! The first `CONNECTION_SYNCED` of a connection carries its whole history (several MB), so
//! before translation it is split **per account and per chunk of transactions** (chunk size
//! configurable, default 100, as Formance's `webhookAccountSyncedTransactionsLimit`):
//!
//! * every piece keeps the top-level fields (`user`, `id_webhook_data`, …), the connection's
//!   fields except `accounts`/`all_accounts` (the header: `id`, `state`, `error_message`,
//!   `last_update`, `expire`, …) and exactly one account with every field but
//!   `transactions` (so its `balance`, `coming`, `currency`, `last_update`), plus at most
//!   `chunk` of its transactions, in order;
//! * an account with no transactions still yields one piece (its account and balance);
//! * deleted rows and the live rows of the same value (the only rows maturation can pair)
//!   travel together in the account's last piece, which may therefore exceed the chunk size:
//!   a provisional row and its replacement are never split apart;
//! * a connection with no accounts yields one piece with `accounts: []`, unlike Formance
//!   (which yields none): an error-state `CONNECTION_SYNCED` usually has no accounts, and its
//!   disconnection must not be lost.
//!
//! `USER_SYNCED` is split the same way (per connection, then as above) and `ACCOUNT_SYNCED`
//! per chunk of its transactions; other events pass through whole.
//!
//! Nothing is re-encoded: every value is copied as the raw JSON text it arrived as
//! ([`RawValue`]), so amounts keep every digit (no `f64` anywhere) and field order is kept.

use std::collections::BTreeSet;

use powens_api::webhooks::WebhookEventKind;
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::error::WebhookError;
use super::raw::{array, missing, object, raw_array, write_object, RawObject};

/// Default number of transactions per piece.
pub const DEFAULT_TRANSACTIONS_PER_PIECE: usize = 100;

/// What the splitter reads of a transaction to keep maturation intact.
#[derive(Deserialize)]
struct RowFacts {
    #[serde(default)]
    deleted: Option<serde::de::IgnoredAny>,
    #[serde(default, deserialize_with = "powens_api::wire::money::option")]
    value: Option<Decimal>,
}

fn facts(row: &RawValue) -> Option<RowFacts> {
    serde_json::from_str::<RowFacts>(row.get()).ok()
}

/// Splits rows into chunks, keeping the maturation group together: the deleted rows and the
/// live rows of the same value (the only candidates `powens_model::maturation` can pair with
/// them) go into one last chunk, which may exceed `chunk`, so that a piece translates them
/// exactly as the whole body would (replacement → delete, else cancel).
fn chunks<'a>(rows: &[&'a RawValue], chunk: usize) -> Vec<Vec<&'a RawValue>> {
    let row_facts: Vec<Option<RowFacts>> = rows.iter().map(|r| facts(r)).collect();
    let is_deleted = |f: &Option<RowFacts>| f.as_ref().is_some_and(|f| f.deleted.is_some());
    let deleted_values: BTreeSet<Decimal> = row_facts
        .iter()
        .filter(|f| is_deleted(f))
        .filter_map(|f| f.as_ref().and_then(|f| f.value))
        .map(|v| v.normalize())
        .collect();
    let (mut group, mut plain) = (Vec::new(), Vec::new());
    for (row, f) in rows.iter().zip(&row_facts) {
        let same_value = f
            .as_ref()
            .and_then(|f| f.value)
            .is_some_and(|v| deleted_values.contains(&v.normalize()));
        if is_deleted(f) || same_value {
            group.push(*row);
        } else {
            plain.push(*row);
        }
    }
    let mut out: Vec<Vec<&RawValue>> = plain.chunks(chunk.max(1)).map(<[_]>::to_vec).collect();
    if !group.is_empty() {
        out.push(group);
    }
    if out.is_empty() {
        out.push(Vec::new());
    }
    out
}

/// The pieces of one account: its members with each chunk of transactions in place.
fn account_pieces(account: &RawObject<'_>, chunk: usize) -> Result<Vec<String>, serde_json::Error> {
    let transactions = array(account.get("transactions"))?;
    Ok(chunks(&transactions, chunk)
        .into_iter()
        .map(|slice| {
            let text = raw_array(&slice);
            let mut out = Vec::new();
            write_object(
                &mut out,
                &account.0,
                |k| (k == "transactions").then_some(Some(text.as_str())),
                None,
            );
            String::from_utf8_lossy(&out).into_owned()
        })
        .collect())
}

/// The pieces of one connection: the header with one account piece each (or none).
fn connection_pieces(raw: &str, chunk: usize) -> Result<Vec<String>, serde_json::Error> {
    let connection = object(raw)?;
    let accounts = array(connection.get("accounts"))?;
    let mut account_texts = Vec::new();
    for account in accounts {
        account_texts.extend(account_pieces(&object(account.get())?, chunk)?);
    }
    let wrap = |accounts: &str| {
        let mut out = Vec::new();
        let had_accounts = connection.get("accounts").is_some();
        write_object(
            &mut out,
            &connection.0,
            |k| match k {
                "accounts" => Some(Some(accounts)),
                "all_accounts" => Some(None),
                _ => None,
            },
            (!had_accounts).then_some(("accounts", accounts)),
        );
        String::from_utf8_lossy(&out).into_owned()
    };
    if account_texts.is_empty() {
        return Ok(vec![wrap("[]")]);
    }
    Ok(account_texts
        .iter()
        .map(|account| wrap(&format!("[{account}]")))
        .collect())
}

/// The top-level body with `key` replaced by each of `values`.
fn with_member(top: &RawObject<'_>, key: &str, values: Vec<String>) -> Vec<Vec<u8>> {
    values
        .iter()
        .map(|value| {
            let mut out = Vec::with_capacity(value.len() + 256);
            write_object(
                &mut out,
                &top.0,
                |k| (k == key).then_some(Some(value)),
                None,
            );
            out
        })
        .collect()
}

/// Splits a body of event `kind` into pieces of at most `chunk` transactions (see the module
/// docs). Events that are not split come back as one piece, unchanged.
pub fn split_body(
    kind: &WebhookEventKind,
    body: &[u8],
    chunk: usize,
) -> Result<Vec<Vec<u8>>, WebhookError> {
    let failed = |source| WebhookError::Unsplittable {
        event: kind.as_str().to_owned(),
        source,
    };
    match kind {
        WebhookEventKind::ConnectionSynced => {
            let top: RawObject<'_> = serde_json::from_slice(body).map_err(failed)?;
            let connection = top
                .get("connection")
                .ok_or_else(|| failed(missing("connection")))?;
            let pieces = connection_pieces(connection.get(), chunk).map_err(failed)?;
            Ok(with_member(&top, "connection", pieces))
        }
        WebhookEventKind::UserSynced => {
            let top: RawObject<'_> = serde_json::from_slice(body).map_err(failed)?;
            let mut pieces = Vec::new();
            for connection in array(top.get("connections")).map_err(failed)? {
                let split = connection_pieces(connection.get(), chunk).map_err(failed)?;
                pieces.extend(split.into_iter().map(|c| format!("[{c}]")));
            }
            if pieces.is_empty() {
                return Ok(vec![body.to_vec()]);
            }
            Ok(with_member(&top, "connections", pieces))
        }
        WebhookEventKind::AccountSynced => {
            let account: RawObject<'_> = serde_json::from_slice(body).map_err(failed)?;
            Ok(account_pieces(&account, chunk)
                .map_err(failed)?
                .into_iter()
                .map(String::into_bytes)
                .collect())
        }
        _ => Ok(vec![body.to_vec()]),
    }
}
