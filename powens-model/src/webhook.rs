//! Synced webhook bodies (`CONNECTION_SYNCED`, `USER_SYNCED`, `ACCOUNTS_FETCHED`,
//! `ACCOUNT_SYNCED`) read in **one pass** with the reader that maps transactions pages.
//!
//! The body is walked once: the top-level `user` and `id_webhook_data`, each connection's
//! header (every member but `accounts`), each account (every member but `transactions`), and
//! each transaction row, read by the page reader (the same remembered row shape, the same
//! memos) and mapped as soon as the account around it is known. Nothing is re-parsed and no
//! page text is rebuilt: a connection header and an account without its rows (a few hundred
//! bytes each) are decoded with the typed `powens-api` decoders, the rows never are.
//!
//! Per-object leniency: an account whose members do not decode is skipped with its reason
//! (and its rows with it), a malformed row is skipped with its reason; neither fails the
//! body. Only bytes that are not the event's JSON shape are an error.

use powens_api::accounts::BankAccount;
use powens_api::connections::Connection;
use powens_api::wire::PowensDateTime;
use serde::Deserialize;

use connector_core::model::{Account, Balance};

use crate::account::map_accounts;
use crate::context::{AccountBook, MappingContext};
use crate::page::{utf8, PageDecodeError, PageMapped, PendingRow, Reader, RowsMapper, Stop};
use crate::skip::{SkipReason, Skipped};

/// Where the accounts are in a synced body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncedShape {
    /// `{"user", "connection": {…, "accounts": [...]}, …}` (`CONNECTION_SYNCED`,
    /// `ACCOUNTS_FETCHED`).
    Connection,
    /// `{"user", "connections": [{…, "accounts": [...]}, …], …}` (`USER_SYNCED`).
    Connections,
    /// The account itself, with its `transactions` (`ACCOUNT_SYNCED`).
    Account,
}

/// The accounts of one connection of a synced body, mapped.
#[derive(Debug, Clone, Default)]
pub struct SyncedAccounts {
    /// The internal accounts, in body order.
    pub accounts: Vec<Account>,
    /// Their balances, in body order.
    pub balances: Vec<Balance>,
    /// Accounts or balances that could not be mapped, with the reason.
    pub skipped: Vec<Skipped>,
    /// The `last_update` of the first account that has one (the instant of a connection
    /// event when the connection gives none).
    pub first_last_update: Option<PowensDateTime>,
}

/// One connection of a synced body.
#[derive(Debug, Clone)]
pub struct SyncedConnection<'a> {
    /// The connection's header (its members but `accounts`; `accounts` is `None`). `None`
    /// for an `ACCOUNT_SYNCED` body, which has no connection around its account.
    pub connection: Option<Connection>,
    /// Its accounts and balances.
    pub accounts: SyncedAccounts,
    /// Its transactions, mapped (payments, counterparties, tombstones, skipped rows).
    pub transactions: PageMapped<'a>,
    /// For `ACCOUNT_SYNCED`: the account's `id_user` and `id_connection`.
    pub owner: (Option<i64>, Option<i64>),
}

/// A synced body, read once.
#[derive(Debug, Clone, Default)]
pub struct SyncedBody<'a> {
    /// The top-level `user.id`.
    pub user_id: Option<i64>,
    /// The top-level `id_webhook_data`: a number's exact text or a non-empty string.
    pub id_webhook_data: Option<String>,
    /// The connections, in body order.
    pub connections: Vec<SyncedConnection<'a>>,
    /// Accounts that could not be read, with the reason.
    pub skipped: Vec<Skipped>,
}

/// The error of a body that is not the event's JSON.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SyncedBodyError {
    /// Not JSON, or not the shape.
    #[error(transparent)]
    Syntax(#[from] PageDecodeError),
    /// A connection header that does not decode (the connection cannot be attributed).
    #[error("the connection of the body does not decode: {0}")]
    Connection(String),
}

#[derive(Deserialize)]
struct UserRef {
    #[serde(default)]
    id: Option<i64>,
}

#[derive(Deserialize)]
struct AccountOwner {
    #[serde(default)]
    id_user: Option<i64>,
    #[serde(default)]
    id_connection: Option<i64>,
    #[serde(default)]
    id_webhook_data: Option<serde_json::Value>,
}

/// `id_webhook_data` from its raw JSON text.
fn delivery_id(value: serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        _ => None,
    }
}

/// Appends `"key":value` to an object text being rebuilt from members.
fn push_member(text: &mut String, key: &[u8], value: &str) {
    text.push(if text.is_empty() { '{' } else { ',' });
    match std::str::from_utf8(key) {
        Ok(plain) if !plain.bytes().any(|b| b == b'"' || b == b'\\' || b < b' ') => {
            text.push('"');
            text.push_str(plain);
            text.push('"');
        }
        _ => {
            let key = String::from_utf8_lossy(key);
            // A string always serialises.
            text.push_str(&serde_json::to_string(&key).unwrap_or_default());
        }
    }
    text.push(':');
    text.push_str(value);
}

fn close(mut text: String) -> String {
    if text.is_empty() {
        text.push('{');
    }
    text.push('}');
    text
}

/// The value at the cursor, skipped, as its text.
fn value_text<'a>(r: &mut Reader<'a>) -> Result<&'a str, Stop> {
    r.ws();
    let start = r.pos();
    r.skip_value()?;
    Ok(r.slice(start, r.pos()))
}

struct BodyReader<'a, 'c> {
    rows: RowsMapper<'a>,
    ctx: &'c MappingContext,
    skipped: Vec<Skipped>,
}

impl<'a> BodyReader<'a, '_> {
    /// One account object: its members but `transactions` decoded, its rows read and
    /// mapped. When the members before `transactions` already make the account (the usual
    /// order), each row is mapped as it is read; a member after the rows that changes the
    /// account's context has its rows mapped again from their text. Otherwise the rows wait,
    /// read, until the account is known. Returns the account's members text (for the owner
    /// fields of `ACCOUNT_SYNCED`).
    fn account(&mut self, r: &mut Reader<'a>, into: &mut SyncedAccounts) -> Result<String, Stop> {
        let ctx = self.ctx;
        let mut text = String::new();
        let mut pending: Vec<PendingRow<'a>> = Vec::new();
        // (account id, its context, what was mapped before its rows, the rows' text)
        let mut early: Option<(i64, AccountBook, [usize; 4], Vec<&'a str>)> = None;
        let mut members_after_rows = false;
        let mut rows_seen = false;
        r.object(|r, key| {
            if key.as_ref() == b"transactions" {
                rows_seen = true;
                if r.null()? {
                    return Ok(());
                }
                let header = close(text.clone());
                if let Ok(account) = serde_json::from_str::<BankAccount>(&header) {
                    let book = map_accounts(std::slice::from_ref(&account), ctx).book;
                    if book.get(account.id).is_some() {
                        let (id, mark) = (account.id, self.rows.mark());
                        let mut raws = Vec::new();
                        r.array(|r| {
                            raws.push(self.rows.read_and_map(r, id, &book, ctx)?);
                            Ok(())
                        })?;
                        early = Some((id, book, mark, raws));
                        return Ok(());
                    }
                }
                return r.array(|r| {
                    pending.push(self.rows.read(r)?);
                    Ok(())
                });
            }
            members_after_rows |= rows_seen;
            let value = value_text(r)?;
            push_member(&mut text, &key, value);
            Ok(())
        })?;
        let text = close(text);
        let account = match serde_json::from_str::<BankAccount>(&text) {
            Ok(account) => account,
            Err(err) => {
                let id = serde_json::from_str::<UserRef>(&text)
                    .ok()
                    .and_then(|a| a.id);
                let rows = match early.take() {
                    Some((_, _, mark, raws)) => {
                        self.rows.truncate(mark);
                        raws.len()
                    }
                    None => pending.len(),
                };
                let detail = match rows {
                    0 => format!("the account does not decode: {err}"),
                    n => format!(
                        "the account does not decode: {err}; its {n} transactions are skipped \
                         with it"
                    ),
                };
                self.skipped.push(Skipped::new(
                    "account",
                    id,
                    SkipReason::MalformedRow { detail },
                ));
                return Ok(text);
            }
        };
        if into.first_last_update.is_none() {
            into.first_last_update = account.last_update;
        }
        let mapped = map_accounts(std::slice::from_ref(&account), ctx);
        match early {
            Some((id, book, mark, raws)) => {
                let same = !members_after_rows
                    || (id == account.id && book.get(id) == mapped.book.get(account.id));
                if !same {
                    // The members after the rows changed the account: map its rows again.
                    self.rows.truncate(mark);
                    let mut again = RowsMapper::new(ctx);
                    for raw in raws {
                        let mut reader = Reader::new(raw);
                        again.read_and_map(&mut reader, account.id, &mapped.book, ctx)?;
                    }
                    self.rows.append(&mut again);
                }
            }
            None => self.rows.map(pending, account.id, &mapped.book, ctx),
        }
        into.accounts.extend(mapped.accounts);
        into.balances.extend(mapped.balances);
        into.skipped.extend(mapped.skipped);
        Ok(text)
    }

    /// One connection object: header decoded, accounts read.
    fn connection(&mut self, r: &mut Reader<'a>) -> Result<(String, SyncedAccounts), Stop> {
        let mut header = String::new();
        let mut accounts = SyncedAccounts::default();
        r.object(|r, key| match key.as_ref() {
            b"accounts" => {
                if r.null()? {
                    return Ok(());
                }
                r.array(|r| {
                    if r.peek() == Some(b'{') {
                        self.account(r, &mut accounts)?;
                    } else {
                        r.skip_value()?;
                        self.skipped.push(Skipped::new(
                            "account",
                            None,
                            SkipReason::MalformedRow {
                                detail: "an account must be a JSON object".to_owned(),
                            },
                        ));
                    }
                    Ok(())
                })
            }
            b"all_accounts" => r.skip_value(),
            _ => {
                let value = value_text(r)?;
                push_member(&mut header, &key, value);
                Ok(())
            }
        })?;
        Ok((close(header), accounts))
    }
}

/// Reads a synced body of `shape` (see the module docs).
pub fn read_synced<'a>(
    bytes: &'a [u8],
    shape: SyncedShape,
    ctx: &MappingContext,
) -> Result<SyncedBody<'a>, SyncedBodyError> {
    let text = utf8(bytes)?;
    let mut r = Reader::new(text);
    let mut reader = BodyReader {
        rows: RowsMapper::new(ctx),
        ctx,
        skipped: Vec::new(),
    };
    let mut out = SyncedBody::default();
    let mut headers: Vec<(String, SyncedAccounts, PageMapped<'a>)> = Vec::new();
    let mut owner_text = None;
    let read = match shape {
        SyncedShape::Account => {
            let mut accounts = SyncedAccounts::default();
            reader.account(&mut r, &mut accounts).map(|text| {
                owner_text = Some(text);
                headers.push((String::new(), accounts, reader.rows.take()));
            })
        }
        SyncedShape::Connection | SyncedShape::Connections => {
            r.object(|r, key| match key.as_ref() {
                b"user" => {
                    let value = value_text(r)?;
                    out.user_id = serde_json::from_str::<UserRef>(value)
                        .ok()
                        .and_then(|u| u.id);
                    Ok(())
                }
                b"id_webhook_data" => {
                    let value = value_text(r)?;
                    out.id_webhook_data = serde_json::from_str(value).ok().and_then(delivery_id);
                    Ok(())
                }
                b"connection" if shape == SyncedShape::Connection => {
                    if r.null()? {
                        return Ok(());
                    }
                    let (header, accounts) = reader.connection(r)?;
                    headers.push((header, accounts, reader.rows.take()));
                    Ok(())
                }
                b"connections" if shape == SyncedShape::Connections => {
                    if r.null()? {
                        return Ok(());
                    }
                    r.array(|r| {
                        let (header, accounts) = reader.connection(r)?;
                        headers.push((header, accounts, reader.rows.take()));
                        Ok(())
                    })
                }
                _ => r.skip_value(),
            })
        }
    };
    if read.is_err() {
        return Err(PageDecodeError::from(r.error()).into());
    }
    if !r.at_end() {
        return Err(PageDecodeError {
            offset: r.pos(),
            expected: "the end of the body",
        }
        .into());
    }
    if let Some(text) = owner_text {
        if let Ok(owner) = serde_json::from_str::<AccountOwner>(&text) {
            out.id_webhook_data = owner.id_webhook_data.and_then(delivery_id);
            out.user_id = owner.id_user;
            for (_, accounts, transactions) in headers {
                out.connections.push(SyncedConnection {
                    connection: None,
                    accounts,
                    transactions,
                    owner: (owner.id_user, owner.id_connection),
                });
            }
        }
        out.skipped = reader.skipped;
        return Ok(out);
    }
    for (header, accounts, transactions) in headers {
        let connection: Connection = serde_json::from_str(&header)
            .map_err(|e| SyncedBodyError::Connection(e.to_string()))?;
        out.connections.push(SyncedConnection {
            connection: Some(connection),
            accounts,
            transactions,
            owner: (None, None),
        });
    }
    out.skipped = reader.skipped;
    Ok(out)
}
