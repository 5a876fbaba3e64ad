//! Transactions taken out of a webhook body before it is decoded, so that they go through
//! `powens-model`'s lean page decoder: a malformed row is skipped with its reason instead of
//! failing the whole webhook (which Powens would redeliver forever), and each payment's `raw`
//! is the row exactly as received.

use std::collections::BTreeMap;

use powens_api::webhooks::WebhookEventKind;
use serde_json::value::RawValue;

use super::raw::{array, object, write_object};

/// Raw transaction rows by Powens account id, in body order.
pub(crate) type RowsByAccount<'a> = BTreeMap<i64, Vec<&'a RawValue>>;

/// The account without `transactions`; its rows go to `rows`.
fn strip_account<'a>(
    raw: &'a str,
    rows: &mut RowsByAccount<'a>,
) -> Result<String, serde_json::Error> {
    let account = object(raw)?;
    let transactions = array(account.get("transactions"))?;
    if let Some(id) = account
        .get("id")
        .and_then(|v| serde_json::from_str::<i64>(v.get()).ok())
    {
        rows.entry(id).or_default().extend(transactions);
    }
    let mut out = Vec::with_capacity(raw.len());
    write_object(
        &mut out,
        &account.0,
        |k| (k == "transactions").then_some(None),
        None,
    );
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// The connection with its accounts stripped.
fn strip_connection<'a>(
    raw: &'a str,
    rows: &mut RowsByAccount<'a>,
) -> Result<String, serde_json::Error> {
    let connection = object(raw)?;
    let Some(accounts_raw) = connection.get("accounts") else {
        return Ok(raw.to_owned());
    };
    let mut accounts = Vec::new();
    for account in array(Some(accounts_raw))? {
        accounts.push(strip_account(account.get(), rows)?);
    }
    let accounts = format!("[{}]", accounts.join(","));
    let mut out = Vec::with_capacity(raw.len());
    write_object(
        &mut out,
        &connection.0,
        |k| (k == "accounts").then_some(Some(accounts.as_str())),
        None,
    );
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// The body without transactions, and the transactions by account. Events without
/// transactions come back unchanged.
pub(crate) fn strip_transactions<'a>(
    kind: &WebhookEventKind,
    body: &'a [u8],
) -> Result<(Vec<u8>, RowsByAccount<'a>), serde_json::Error> {
    let mut rows = RowsByAccount::new();
    let mut out = Vec::with_capacity(body.len());
    match kind {
        WebhookEventKind::ConnectionSynced | WebhookEventKind::AccountsFetched => {
            let top: super::raw::RawObject<'a> = serde_json::from_slice(body)?;
            let connection = match top.get("connection") {
                Some(c) => Some(strip_connection(c.get(), &mut rows)?),
                None => None,
            };
            write_object(
                &mut out,
                &top.0,
                |k| (k == "connection").then_some(connection.as_deref()),
                None,
            );
        }
        WebhookEventKind::UserSynced => {
            let top: super::raw::RawObject<'a> = serde_json::from_slice(body)?;
            let connections = match top.get("connections") {
                Some(raw) => {
                    let mut stripped = Vec::new();
                    for c in array(Some(raw))? {
                        stripped.push(strip_connection(c.get(), &mut rows)?);
                    }
                    Some(format!("[{}]", stripped.join(",")))
                }
                None => None,
            };
            write_object(
                &mut out,
                &top.0,
                |k| (k == "connections").then_some(connections.as_deref()),
                None,
            );
        }
        WebhookEventKind::AccountSynced => {
            let text = std::str::from_utf8(body).map_err(|e| {
                <serde_json::Error as serde::de::Error>::custom(format!("body is not UTF-8: {e}"))
            })?;
            out = strip_account(text, &mut rows)?.into_bytes();
        }
        _ => out.extend_from_slice(body),
    }
    Ok((out, rows))
}
