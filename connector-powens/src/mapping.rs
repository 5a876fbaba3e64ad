//! Mapping a Powens body read outside a sync (`powens map`): the same `powens-model` rules
//! the fetch streams apply, one body at a time, with no client and no state.

use chrono::{DateTime, Utc};
use connector_core::model::Record;
use connector_core::money::Asset;
use powens_api::accounts::{BankAccount, BankAccountsList};
use powens_api::wire::{decode_json, JsonDecodeError};
use powens_model::maturation::{mature, MaturationRule};
use powens_model::page::{map_transactions_page, PageDecodeError};
use powens_model::{account, AccountBook, AccountContext, MappingContext, Skipped};

/// What a body maps to: the records in delivery order, and the rows that could not be mapped
/// (each with its reason).
#[derive(Debug, Clone, Default)]
pub struct MappedBody {
    /// The records: accounts then balances; or counterparties (external accounts) then
    /// payments.
    pub records: Vec<Record>,
    /// The rows skipped, in body order.
    pub skipped: Vec<Skipped>,
}

/// Why a body could not be read at all (a bad row is skipped, not an error).
#[derive(Debug, thiserror::Error)]
pub enum MapBodyError {
    /// The body starts with `[` but is not an array of Powens accounts.
    #[error("not a JSON array of Powens accounts: {0}")]
    AccountsArray(#[source] JsonDecodeError),
    /// The body is not a `GET /users/me/accounts` response.
    #[error("not a Powens accounts list: {0}")]
    AccountsList(#[source] JsonDecodeError),
    /// The body is not a transactions page.
    #[error("{0}")]
    TransactionsPage(#[source] PageDecodeError),
}

fn context(psu_id: Option<&str>, now: DateTime<Utc>) -> MappingContext {
    let ctx = MappingContext::new(now);
    match psu_id {
        Some(psu) => ctx.with_psu_id(psu),
        None => ctx,
    }
}

/// Maps a `GET /users/me/accounts` body (or a bare JSON array of accounts) to accounts and
/// balances. `now` is used only for an account with no instant at all (neither opening date
/// nor last update).
pub fn map_accounts_body(
    body: &[u8],
    psu_id: Option<&str>,
    now: DateTime<Utc>,
) -> Result<MappedBody, MapBodyError> {
    let first = body.iter().find(|b| !b.is_ascii_whitespace()).copied();
    let list: Vec<BankAccount> = if first == Some(b'[') {
        decode_json(body).map_err(MapBodyError::AccountsArray)?
    } else {
        decode_json::<BankAccountsList>(body)
            .map_err(MapBodyError::AccountsList)?
            .accounts
    };
    let mapped = account::map_accounts(&list, &context(psu_id, now));
    let skipped = mapped.skipped.clone();
    Ok(MappedBody {
        records: mapped.into_records(),
        skipped,
    })
}

/// Maps one transactions page of the Powens account `account_id` held in `asset`: its
/// identified counterparties (as external accounts), then its payments after maturation
/// (deleted provisional rows become deletes or cancels, as in a first scan).
pub fn map_transactions_body(
    body: &[u8],
    account_id: i64,
    asset: Asset,
    psu_id: Option<&str>,
    now: DateTime<Utc>,
) -> Result<MappedBody, MapBodyError> {
    let mut account = AccountContext::new(account_id, asset);
    account.psu_id = psu_id.map(str::to_owned);
    let book = AccountBook::single(account);
    let mapped = map_transactions_page(body, &book, &context(psu_id, now))
        .map_err(MapBodyError::TransactionsPage)?;
    let skipped = mapped.skipped.clone();
    let mut records: Vec<Record> = mapped
        .external_accounts
        .iter()
        .cloned()
        .map(Record::ExternalAccount)
        .collect();
    let tombstones = mapped.tombstones.clone();
    let payments = mapped.into_payments();
    let matured = mature(&[], payments, &tombstones, MaturationRule::default());
    records.extend(matured.records);
    Ok(MappedBody { records, skipped })
}
