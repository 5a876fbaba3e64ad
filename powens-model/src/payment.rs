//! One Powens `Transaction` → one [`Payment`] (plus its counterparty's external account), or
//! a [`Tombstone`] when the row is deleted.
//!
//! * reference = the transaction id; `created_at` = `datetime` (UTC) when present, else `date`
//!   at 00:00 UTC (deterministic across polls);
//! * amount = `|value|` in minor units at the **account's** asset precision (a value with
//!   non-zero digits beyond it is skipped: [`SkipReason::AmountPrecision`]);
//! * `value >= 0` → `PAY-IN` with the account as destination; `< 0` → `PAYOUT` with the
//!   account as source; the other side is the counterparty's external account when it has
//!   an identifier;
//! * `coming: true` → `PENDING`, `false` → `SUCCEEDED`;
//! * scheme per [`crate::scheme`];
//! * metadata `com.powens.spec/`: `transaction_id`, `category_id` (`id_category`, else the
//!   first `categories[].code`), `description` (`wording`), `original_wording`,
//!   `simplified_wording`, `last_update` (RFC 3339 UTC), `type`.

use chrono::{DateTime, NaiveDate, Utc};
use compact_str::{CompactString, ToCompactString};
use connector_core::model::{Account, Metadata, Payment, PaymentStatus, PaymentType};
use connector_core::money::Amount;
use powens_api::transactions::{Transaction, TransactionType};
use powens_api::wire::PowensDateTime;
use rust_decimal::Decimal;
use serde_json::value::RawValue;

use crate::context::{AccountBook, AccountContext, MappingContext};
use crate::counterparty::{map_counterparty, CounterpartyView};
use crate::keys;
use crate::money::{positive_minor_units, signed_minor_units};
use crate::scheme::scheme_for;
use crate::skip::{Mapped, SkipReason, Skipped};
use crate::text::integer_string;
use crate::time::{date_at_midnight_utc, rfc3339_compact, utc_field, zoned_field, ZonedTexts};

/// A borrowed view of the transaction fields the mapping reads, filled by the typed
/// (`powens_api::transactions::Transaction`) or the lean ([`crate::page`]) decoder.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TransactionView<'a> {
    /// `id`.
    pub id: Option<i64>,
    /// `id_account`.
    pub id_account: Option<i64>,
    /// `date`.
    pub date: Option<NaiveDate>,
    /// `datetime` (UTC).
    pub datetime: Option<PowensDateTime>,
    /// `value`.
    pub value: Option<Decimal>,
    /// `type` (empty when absent).
    pub transaction_type: &'a str,
    /// `coming`.
    pub coming: Option<bool>,
    /// `deleted`.
    pub deleted: Option<PowensDateTime>,
    /// `last_update`.
    pub last_update: Option<PowensDateTime>,
    /// `wording`.
    pub wording: Option<&'a str>,
    /// `original_wording`.
    pub original_wording: Option<&'a str>,
    /// `simplified_wording`.
    pub simplified_wording: Option<&'a str>,
    /// `id_category`.
    pub id_category: Option<i64>,
    /// The first `categories[].code` (the category when `id_category` is absent).
    pub first_category: Option<&'a str>,
    /// `card`.
    pub card: Option<&'a str>,
    /// `counterparty`.
    pub counterparty: Option<CounterpartyView<'a>>,
}

impl<'a> TransactionView<'a> {
    /// The view of a typed transaction.
    pub fn of(tx: &'a Transaction) -> Self {
        Self {
            id: Some(tx.id),
            id_account: Some(tx.id_account),
            date: Some(tx.date),
            datetime: tx.datetime,
            value: tx.value,
            transaction_type: tx.transaction_type.as_str(),
            coming: Some(tx.coming),
            deleted: tx.deleted,
            last_update: tx.last_update,
            wording: tx.wording.as_deref(),
            original_wording: tx.original_wording.as_deref(),
            simplified_wording: tx.simplified_wording.as_deref(),
            id_category: tx.id_category,
            first_category: tx.categories.first().and_then(|c| c.code.as_deref()),
            card: tx.card.as_deref(),
            counterparty: tx.counterparty.as_ref().map(|cp| CounterpartyView::of(cp)),
        }
    }
}

/// A deleted row (seen with `all`): what maturation needs to retire or cancel it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Tombstone {
    /// The deleted row's reference (transaction id).
    pub reference: String,
    /// Its account's reference.
    pub account_reference: String,
    /// Its signed value in minor units of the account asset.
    pub value: Amount,
    /// Its date.
    pub date: NaiveDate,
    /// Whether it was still pending (`coming: true`) when deleted.
    pub was_pending: bool,
    /// When Powens deleted it (UTC).
    pub deleted_at: DateTime<Utc>,
}

/// The outcome of one transaction row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransactionOutcome {
    /// A live row: its payment and, when the counterparty is identified, its external
    /// account.
    Payment {
        /// The payment.
        payment: Box<Payment>,
        /// The counterparty's external account.
        external_account: Option<Box<Account>>,
    },
    /// A deleted row.
    Deleted(Tombstone),
}

/// Maps a typed transaction of `account` (its raw JSON is the typed row re-serialised; the
/// page decoder [`crate::page`] keeps the bytes as received instead).
pub fn map_transaction(
    tx: &Transaction,
    account: &AccountContext,
    ctx: &MappingContext,
) -> Result<TransactionOutcome, SkipReason> {
    map_view(
        &TransactionView::of(tx),
        account,
        ctx,
        crate::raw::serialised(tx),
    )
}

/// Maps typed transactions (e.g. those a `CONNECTION_SYNCED` webhook carries under each
/// account) for the accounts of `book`; a row that cannot be mapped is skipped with its
/// reason.
pub fn map_transactions(
    transactions: &[Transaction],
    book: &AccountBook,
    ctx: &MappingContext,
) -> Mapped<TransactionOutcome> {
    let mut out = Mapped::default();
    for tx in transactions {
        let outcome = match book.get(tx.id_account) {
            Some(account) => map_transaction(tx, account, ctx),
            None => Err(SkipReason::UnknownAccount {
                account_id: Some(tx.id_account),
            }),
        };
        match outcome {
            Ok(outcome) => out.records.push(outcome),
            Err(reason) => out
                .skipped
                .push(Skipped::new("transaction", Some(tx.id), reason)),
        }
    }
    out
}

/// Maps a transaction view with its raw JSON.
pub fn map_view(
    tx: &TransactionView<'_>,
    account: &AccountContext,
    ctx: &MappingContext,
    raw: Box<RawValue>,
) -> Result<TransactionOutcome, SkipReason> {
    let reference = tx
        .counterparty
        .as_ref()
        .and_then(CounterpartyView::reference);
    Ok(
        match map_parts(tx, account, ctx, raw, None, reference.as_deref())? {
            Parts::Deleted(tombstone) => TransactionOutcome::Deleted(tombstone),
            Parts::Payment(payment) => {
                let external_account = match (&tx.counterparty, &reference) {
                    (Some(cp), Some(_)) => map_counterparty(cp, account, payment.created_at),
                    _ => None,
                };
                TransactionOutcome::Payment {
                    payment: Box::new(payment),
                    external_account: external_account.map(Box::new),
                }
            }
        },
    )
}

/// [`map_parts`]' result: [`map_view`]'s without the external account.
#[allow(clippy::large_enum_variant)] // built and consumed at once; boxing costs an allocation
pub(crate) enum Parts {
    Payment(Payment),
    Deleted(Tombstone),
}

/// Texts the rows of a page share: RFC 3339 instants and the last category id's text.
pub(crate) struct RowMemo {
    zoned: ZonedTexts,
    category: Option<(i64, CompactString)>,
}

impl RowMemo {
    /// An empty memo for naive datetimes in `zone`.
    pub(crate) fn new(zone: chrono_tz::Tz) -> Self {
        Self {
            zoned: ZonedTexts::new(zone),
            category: None,
        }
    }

    /// A row's `last_update` as an instant (the memo its metadata text comes from).
    pub(crate) fn instant(&mut self, value: &PowensDateTime) -> DateTime<Utc> {
        self.zoned.instant(value)
    }

    /// The text of category `id` (the same category is usual on a page).
    fn category(&mut self, id: i64) -> CompactString {
        match &self.category {
            Some((last, text)) if *last == id => text.clone(),
            _ => {
                let text = id.to_compact_string();
                self.category = Some((id, text.clone()));
                text
            }
        }
    }
}

/// Whether `text` is empty or only white space (a leading visible ASCII byte, the usual
/// case, answers at once).
#[inline]
fn is_blank(text: &str) -> bool {
    match text.as_bytes().first() {
        Some(b) if b.is_ascii_graphic() => false,
        _ => text.trim().is_empty(),
    }
}

/// [`map_view`] without the external account; `memo` remembers texts across the rows of a
/// page; `counterparty_reference` is the reference of `tx.counterparty` (see
/// [`CounterpartyView::reference`]), computed by the caller, which may remember it.
pub(crate) fn map_parts(
    tx: &TransactionView<'_>,
    account: &AccountContext,
    ctx: &MappingContext,
    raw: Box<RawValue>,
    mut memo: Option<&mut RowMemo>,
    counterparty_reference: Option<&str>,
) -> Result<Parts, SkipReason> {
    let id = tx.id.ok_or(SkipReason::MissingId)?;
    if tx.id_account.is_some_and(|a| a != account.account_id) {
        return Err(SkipReason::UnknownAccount {
            account_id: tx.id_account,
        });
    }
    let date = match (tx.date, &tx.datetime) {
        (Some(date), _) => date,
        (None, Some(datetime)) => utc_field(datetime).date_naive(),
        (None, None) => return Err(SkipReason::MissingDate),
    };
    let value = tx.value.ok_or(SkipReason::MissingValue)?;
    let coming = tx.coming.ok_or(SkipReason::MissingComing)?;
    let asset = &account.asset;

    if let Some(deleted) = &tx.deleted {
        return Ok(Parts::Deleted(Tombstone {
            reference: integer_string(id),
            account_reference: account.reference.clone(),
            value: signed_minor_units(value, asset)?,
            date,
            was_pending: coming,
            deleted_at: zoned_field(deleted, ctx.zone),
        }));
    }

    let amount = positive_minor_units(value, asset)?;
    // The lean reader hands the type as received; both paths write its canonical spelling
    // (`card_summary` → `summary_card`), as the typed path's enum does.
    let transaction_type = TransactionType::canonical(tx.transaction_type);
    let created_at = tx
        .datetime
        .as_ref()
        .map_or_else(|| date_at_midnight_utc(date), utc_field);
    let other_side = counterparty_reference.map(str::to_owned);
    let (payment_type, source, destination) = if value.is_sign_negative() && !value.is_zero() {
        (
            PaymentType::Payout,
            Some(account.reference.clone()),
            other_side,
        )
    } else {
        (
            PaymentType::PayIn,
            other_side,
            Some(account.reference.clone()),
        )
    };

    // Inserted in key order (each insert then only compares with the last key); values of up
    // to 24 bytes are stored inline.
    let mut metadata = Metadata::with_capacity(7);
    let reference = integer_string(id);
    match (tx.id_category, tx.first_category) {
        (Some(id), _) => {
            let text = match memo.as_deref_mut() {
                Some(memo) => memo.category(id),
                None => id.to_compact_string(),
            };
            metadata.insert(keys::CATEGORY_ID, text);
        }
        (None, Some(code)) if !is_blank(code) => {
            metadata.insert(keys::CATEGORY_ID, code);
        }
        _ => {}
    }
    let mut put = |key: &'static str, value: Option<&str>| {
        if let Some(value) = value.filter(|v| !is_blank(v)) {
            metadata.insert(key, value);
        }
    };
    put(keys::DESCRIPTION, tx.wording);
    if let Some(last_update) = &tx.last_update {
        let text = match memo {
            Some(memo) => memo.zoned.text(last_update),
            None => rfc3339_compact(zoned_field(last_update, ctx.zone)),
        };
        metadata.insert(keys::LAST_UPDATE, text);
    }
    let mut put = |key: &'static str, value: Option<&str>| {
        if let Some(value) = value.filter(|v| !is_blank(v)) {
            metadata.insert(key, value);
        }
    };
    put(keys::ORIGINAL_WORDING, tx.original_wording);
    put(keys::SIMPLIFIED_WORDING, tx.simplified_wording);
    put(keys::TRANSACTION_ID, Some(&reference));
    put(keys::TYPE, Some(transaction_type));

    let payment = Payment {
        reference,
        parent_reference: None,
        created_at,
        payment_type,
        amount,
        asset: asset.clone(),
        scheme: scheme_for(transaction_type, tx.card, asset),
        status: if coming {
            PaymentStatus::Pending
        } else {
            PaymentStatus::Succeeded
        },
        source_account_reference: source,
        destination_account_reference: destination,
        psu_id: account.psu_id.clone(),
        open_banking_connection_id: account.connection_id.clone(),
        metadata,
        raw: raw.into(),
    };
    Ok(Parts::Payment(payment))
}
