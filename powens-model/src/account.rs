//! One Powens `BankAccount` → one internal [`Account`] and its [`Balance`].
//!
//! * reference = the account id as a string; name = `original_name`;
//! * default asset = `currency.id` at Powens' `currency.precision`, else at the ISO 4217
//!   precision; no precision known → the account is skipped ([`SkipReason::UnknownCurrency`]);
//! * `created_at` (Powens gives no creation time) = `opening_date` at 00:00 UTC when sent
//!   (stable across syncs), else `last_update` (Paris → UTC), else the caller's
//!   [`MappingContext::fallback_instant`]; never the wall clock;
//! * PSU id from the context; connection id = `id_connection`, else the context's;
//! * metadata `com.powens.spec/`: `account_id`, `iban`, `bic`, `account_number`, `name`,
//!   `type`, `usage`, `error` (non-empty only), and the flags `disabled` / `deleted` (RFC 3339
//!   UTC) so disabled and deleted accounts are emitted *and* recognisable;
//! * raw = the account JSON without nested `transactions`.
//!
//! Balance: booked = `balance`; available = `coming_balance`, else `balance + coming`, else
//! unknown; at the account's asset; stamped with `last_update` (Paris → UTC, else the fallback
//! instant). No `balance` → no balance record.

use connector_core::model::{Account, AccountType, Balance, Metadata, Record};
use powens_api::accounts::BankAccount;
use serde_json::value::RawValue;

use crate::context::{AccountBook, AccountContext, MappingContext};
use crate::keys;
use crate::money::{asset_of, signed_minor_units};
use crate::skip::{SkipReason, Skipped};
use crate::time::{date_at_midnight_utc, rfc3339, zoned_field};

/// What a transaction of `account` needs (reference, asset, PSU and connection).
pub fn account_context(
    account: &BankAccount,
    ctx: &MappingContext,
) -> Result<AccountContext, SkipReason> {
    let asset = account
        .currency
        .as_ref()
        .ok_or(SkipReason::MissingCurrency)
        .and_then(asset_of)?;
    Ok(AccountContext {
        account_id: account.id,
        reference: account.id.to_string(),
        asset,
        psu_id: ctx.psu_id.clone(),
        connection_id: account
            .id_connection
            .map(|id| id.to_string())
            .or_else(|| ctx.connection_id.clone()),
    })
}

/// The internal account record of `account`; `raw` is the typed account re-serialised (use
/// [`map_account_with_raw`] to keep the JSON exactly as received).
pub fn map_account(account: &BankAccount, ctx: &MappingContext) -> Result<Account, SkipReason> {
    map_account_with_raw(account, crate::raw::serialised(account), ctx)
}

/// The internal account record of `account` with `raw`, the account's JSON as received
/// (its nested `transactions`, if any, are removed; every other member keeps its order and
/// exact text).
pub fn map_account_with_raw(
    account: &BankAccount,
    raw: Box<RawValue>,
    ctx: &MappingContext,
) -> Result<Account, SkipReason> {
    let account_ctx = account_context(account, ctx)?;
    let created_at = match (account.opening_date, &account.last_update) {
        (Some(date), _) => date_at_midnight_utc(date),
        (None, Some(last_update)) => zoned_field(last_update, ctx.zone),
        (None, None) => ctx.fallback_instant,
    };

    let mut metadata = Metadata::with_capacity(10);
    let mut put = |key: &'static str, value: Option<String>| {
        if let Some(value) = value.filter(|v| !v.trim().is_empty()) {
            metadata.insert(key, value);
        }
    };
    put(keys::ACCOUNT_ID, Some(account.id.to_string()));
    put(keys::IBAN, account.iban.clone());
    put(keys::BIC, account.bic.clone());
    put(keys::ACCOUNT_NUMBER, account.number.clone());
    put(keys::NAME, account.name.clone());
    put(
        keys::TYPE,
        account.account_type.as_ref().map(|t| t.as_str().to_owned()),
    );
    put(
        keys::USAGE,
        account.usage.as_ref().map(|u| u.as_str().to_owned()),
    );
    put(keys::ERROR, account.error.clone());
    put(
        keys::DISABLED,
        account
            .disabled
            .as_ref()
            .map(|at| rfc3339(zoned_field(at, ctx.zone))),
    );
    put(
        keys::DELETED,
        account
            .deleted
            .as_ref()
            .map(|at| rfc3339(zoned_field(at, ctx.zone))),
    );

    Ok(Account {
        reference: account_ctx.reference,
        created_at,
        account_type: AccountType::Internal,
        name: account.original_name.clone(),
        default_asset: Some(account_ctx.asset),
        psu_id: account_ctx.psu_id,
        open_banking_connection_id: account_ctx.connection_id,
        metadata,
        raw: crate::raw::without_member(raw, "transactions").into(),
    })
}

/// The balance snapshot carried by the account payload, or `None` when Powens sends no
/// `balance`.
pub fn map_balance(
    account: &BankAccount,
    ctx: &MappingContext,
) -> Result<Option<Balance>, SkipReason> {
    let Some(booked) = account.balance else {
        return Ok(None);
    };
    let account_ctx = account_context(account, ctx)?;
    let asset = &account_ctx.asset;
    let amount = signed_minor_units(booked, asset)?;
    let available = match (account.coming_balance, account.coming) {
        (Some(coming_balance), _) => Some(signed_minor_units(coming_balance, asset)?),
        (None, Some(coming)) => Some(
            amount
                .checked_add(signed_minor_units(coming, asset)?)
                .map_err(|_| SkipReason::AmountOverflow {
                    value: format!("{booked} + {coming}"),
                })?,
        ),
        (None, None) => None,
    };
    let created_at = account
        .last_update
        .as_ref()
        .map_or(ctx.fallback_instant, |at| zoned_field(at, ctx.zone));
    Ok(Some(Balance {
        account_reference: account_ctx.reference,
        created_at,
        amount,
        available_amount: available,
        asset: account_ctx.asset,
        psu_id: account_ctx.psu_id,
        open_banking_connection_id: account_ctx.connection_id,
    }))
}

/// Accounts, balances and the account book of a list of Powens accounts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountsMapped {
    /// One internal account per mappable Powens account (disabled and deleted ones included,
    /// flagged in metadata).
    pub accounts: Vec<Account>,
    /// One balance per account that carries a `balance`.
    pub balances: Vec<Balance>,
    /// The contexts the transactions of these accounts are mapped with.
    pub book: AccountBook,
    /// Accounts or balances that could not be mapped, with the reason.
    pub skipped: Vec<Skipped>,
}

impl AccountsMapped {
    /// The records in the design's order: accounts first, then balances.
    pub fn into_records(self) -> Vec<Record> {
        let accounts = self.accounts.into_iter().map(Record::Account);
        let balances = self.balances.into_iter().map(Record::Balance);
        accounts.chain(balances).collect()
    }
}

/// Maps every account of a list; a bad account is skipped with its reason, never fatal.
pub fn map_accounts(accounts: &[BankAccount], ctx: &MappingContext) -> AccountsMapped {
    let mut out = AccountsMapped::default();
    for account in accounts {
        match map_account(account, ctx) {
            Ok(record) => out.accounts.push(record),
            Err(reason) => {
                out.skipped
                    .push(Skipped::new("account", Some(account.id), reason));
                continue;
            }
        }
        if let Ok(account_ctx) = account_context(account, ctx) {
            out.book.insert(account_ctx);
        }
        match map_balance(account, ctx) {
            Ok(Some(balance)) => out.balances.push(balance),
            Ok(None) => {}
            Err(reason) => out
                .skipped
                .push(Skipped::new("balance", Some(account.id), reason)),
        }
    }
    out
}
