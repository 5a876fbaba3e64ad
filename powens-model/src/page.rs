//! The hot path: a page of transactions decoded straight from the response bytes with a lean,
//! borrowing decoder, mapped row by row, each row's JSON kept as received.
//!
//! The page is read once into borrowed row slices ([`serde_json::value::RawValue`]); each row
//! is then decoded on its own into a borrowing row type that reads only the ~15 fields the
//! mapping needs (strings borrowed, no allocation for the ~25 others). A row that does not
//! decode (wrong field type, bad date) is skipped with [`SkipReason::MalformedRow`]: one bad
//! row never fails the page. Only bytes that are not a JSON page at all are an error.
//!
//! The mapping results are the same as [`crate::payment::map_transaction`] on the
//! `powens-api` types (tested on every fixture); only `raw` differs: here it is the row
//! exactly as received, kept borrowed in [`PaymentRow::raw`] and turned into the record's
//! `serde_json::Value` only by [`PaymentRow::into_payment`], because building a JSON tree per
//! row costs about ten times the rest of the mapping.

use std::borrow::Cow;
use std::collections::BTreeSet;

use chrono::NaiveDate;
use connector_core::model::{Account, Payment};
use powens_api::wire::{datetime, money, PowensDateTime};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::context::{AccountBook, MappingContext};
use crate::counterparty::CounterpartyView;
use crate::payment::{map_view, Tombstone, TransactionOutcome, TransactionView};
use crate::skip::{SkipReason, Skipped};

/// The page bytes are not a JSON transactions page.
#[derive(Debug, thiserror::Error)]
#[error("not a Powens transactions page: {source}")]
pub struct PageDecodeError {
    /// The JSON error (with line and column).
    #[source]
    pub source: serde_json::Error,
}

/// A mapped payment whose raw JSON is still the borrowed row.
#[derive(Debug, Clone)]
pub struct PaymentRow<'a> {
    /// The payment, with `raw` left `Null` until [`PaymentRow::into_payment`].
    pub payment: Payment,
    /// The row exactly as received.
    pub raw: &'a RawValue,
}

impl PaymentRow<'_> {
    /// The complete record, `raw` parsed from the row.
    pub fn into_payment(self) -> Payment {
        let mut payment = self.payment;
        payment.raw = serde_json::from_str(self.raw.get())
            .unwrap_or_else(|_| serde_json::Value::String(self.raw.get().to_owned()));
        payment
    }
}

/// Everything one page maps to.
#[derive(Debug, Clone, Default)]
pub struct PageMapped<'a> {
    /// One payment per live row, in page order.
    pub payments: Vec<PaymentRow<'a>>,
    /// One external account per distinct identified counterparty of the page (first
    /// occurrence wins).
    pub external_accounts: Vec<Account>,
    /// One tombstone per deleted row (seen with `all`), for [`crate::maturation`].
    pub tombstones: Vec<Tombstone>,
    /// Rows that could not be mapped, with the reason.
    pub skipped: Vec<Skipped>,
    /// `_links.next.href`, when the server gave one.
    pub next_href: Option<String>,
}

impl PageMapped<'_> {
    /// The payments as complete records.
    pub fn into_payments(self) -> Vec<Payment> {
        self.payments
            .into_iter()
            .map(PaymentRow::into_payment)
            .collect()
    }
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow, default)]
    transactions: Option<Vec<&'a RawValue>>,
    #[serde(default, rename = "_links")]
    links: Option<Links>,
}

#[derive(Deserialize)]
struct Links {
    #[serde(default)]
    next: Option<Link>,
}

#[derive(Deserialize)]
struct Link {
    #[serde(default)]
    href: Option<String>,
}

/// The lean row: only the fields the mapping reads; strings borrowed when unescaped.
#[derive(Deserialize)]
struct TxRow<'a> {
    #[serde(default)]
    id: Option<i64>,
    #[serde(default)]
    id_account: Option<i64>,
    #[serde(default, deserialize_with = "datetime::option_date")]
    date: Option<NaiveDate>,
    #[serde(default, deserialize_with = "datetime::option")]
    datetime: Option<PowensDateTime>,
    #[serde(default, deserialize_with = "money::option")]
    value: Option<Decimal>,
    #[serde(default, borrow, rename = "type")]
    transaction_type: Option<Cow<'a, str>>,
    #[serde(default)]
    coming: Option<bool>,
    #[serde(default, deserialize_with = "datetime::option")]
    deleted: Option<PowensDateTime>,
    #[serde(default, deserialize_with = "datetime::option")]
    last_update: Option<PowensDateTime>,
    #[serde(default, borrow)]
    wording: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    original_wording: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    simplified_wording: Option<Cow<'a, str>>,
    #[serde(default)]
    id_category: Option<i64>,
    #[serde(default, borrow)]
    categories: Option<Vec<CategoryRow<'a>>>,
    #[serde(default, borrow)]
    card: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    counterparty: Option<CounterpartyRow<'a>>,
}

#[derive(Deserialize)]
struct CategoryRow<'a> {
    #[serde(default, borrow)]
    code: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct CounterpartyRow<'a> {
    #[serde(default, borrow)]
    label: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    account_scheme_name: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    account_identification: Option<Cow<'a, str>>,
    #[serde(default, borrow, rename = "type")]
    kind: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct IdOnly {
    #[serde(default)]
    id: Option<serde_json::Value>,
}

impl<'a> TxRow<'a> {
    fn view(&self) -> TransactionView<'_> {
        let category = self
            .id_category
            .map(|id| Cow::Owned(id.to_string()))
            .or_else(|| {
                self.categories
                    .as_ref()
                    .and_then(|c| c.first())
                    .and_then(|c| c.code.as_deref())
                    .map(Cow::Borrowed)
            });
        TransactionView {
            id: self.id,
            id_account: self.id_account,
            date: self.date,
            datetime: self.datetime,
            value: self.value,
            transaction_type: self.transaction_type.as_deref().unwrap_or_default(),
            coming: self.coming,
            deleted: self.deleted,
            last_update: self.last_update,
            wording: self.wording.as_deref(),
            original_wording: self.original_wording.as_deref(),
            simplified_wording: self.simplified_wording.as_deref(),
            category,
            card: self.card.as_deref(),
            counterparty: self.counterparty.as_ref().map(|cp| CounterpartyView {
                label: cp.label.as_deref(),
                scheme: cp.account_scheme_name.as_deref(),
                identification: cp.account_identification.as_deref(),
                kind: cp.kind.as_deref(),
            }),
        }
    }
}

/// Decodes and maps one page of `GET …/transactions` for the accounts of `book`.
///
/// Rows of accounts missing from `book` are skipped ([`SkipReason::UnknownAccount`]).
pub fn map_transactions_page<'a>(
    bytes: &'a [u8],
    book: &AccountBook,
    ctx: &MappingContext,
) -> Result<PageMapped<'a>, PageDecodeError> {
    let envelope: Envelope<'a> =
        serde_json::from_slice(bytes).map_err(|source| PageDecodeError { source })?;
    let rows = envelope.transactions.unwrap_or_default();
    let mut out = PageMapped {
        payments: Vec::with_capacity(rows.len()),
        next_href: envelope
            .links
            .and_then(|l| l.next)
            .and_then(|l| l.href)
            .filter(|h| !h.is_empty()),
        ..PageMapped::default()
    };
    let mut seen_counterparties = BTreeSet::new();
    for raw in rows {
        let row: TxRow<'_> = match serde_json::from_str(raw.get()) {
            Ok(row) => row,
            Err(err) => {
                let id = serde_json::from_str::<IdOnly>(raw.get())
                    .ok()
                    .and_then(|r| r.id)
                    .and_then(|v| v.as_i64());
                out.skipped.push(Skipped::new(
                    "transaction",
                    id,
                    SkipReason::MalformedRow {
                        detail: err.to_string(),
                    },
                ));
                continue;
            }
        };
        let Some(account) = row.id_account.and_then(|id| book.get(id)) else {
            out.skipped.push(Skipped::new(
                "transaction",
                row.id,
                SkipReason::UnknownAccount {
                    account_id: row.id_account,
                },
            ));
            continue;
        };
        match map_view(&row.view(), account, ctx, serde_json::Value::Null) {
            Ok(TransactionOutcome::Payment {
                payment,
                external_account,
            }) => {
                if let Some(external) = external_account {
                    if seen_counterparties.insert(external.reference.clone()) {
                        out.external_accounts.push(*external);
                    }
                }
                out.payments.push(PaymentRow {
                    payment: *payment,
                    raw,
                });
            }
            Ok(TransactionOutcome::Deleted(tombstone)) => out.tombstones.push(tombstone),
            Err(reason) => out
                .skipped
                .push(Skipped::new("transaction", row.id, reason)),
        }
    }
    Ok(out)
}
