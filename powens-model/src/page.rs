//! The hot path: a page of transactions decoded straight from the response bytes with a lean,
//! borrowing, single-pass reader ([`crate::scan`]), mapped row by row, each row's JSON kept
//! as received.
//!
//! The reader walks the page once, reads only the ~16 fields the mapping needs (strings
//! borrowed unless escaped), skips (and validates) everything else, and keeps each row's
//! exact text. A row whose fields have the wrong type (a non-numeric `value`, a bad date) is
//! skipped with [`SkipReason::MalformedRow`]: one bad row never fails the page. Only bytes
//! that are not a JSON page at all (not UTF-8, not JSON, not an object) are an error.
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
use powens_api::wire::datetime::parse_date;
use powens_api::wire::money::parse_decimal;
use powens_api::wire::PowensDateTime;
use rust_decimal::Decimal;

use crate::context::{AccountBook, MappingContext};
use crate::counterparty::CounterpartyView;
use crate::payment::{map_view, Tombstone, TransactionOutcome, TransactionView};
use crate::scan::{Reader, SyntaxError};
use crate::skip::{SkipReason, Skipped};

/// The page bytes are not a JSON transactions page.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a Powens transactions page: expected {expected} at byte {offset}")]
pub struct PageDecodeError {
    /// Byte offset of the problem.
    pub offset: usize,
    /// What was expected there.
    pub expected: &'static str,
}

impl From<SyntaxError> for PageDecodeError {
    fn from(err: SyntaxError) -> Self {
        Self {
            offset: err.offset,
            expected: err.expected,
        }
    }
}

/// A mapped payment whose raw JSON is still the borrowed row text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentRow<'a> {
    /// The payment, with `raw` left `Null` until [`PaymentRow::into_payment`].
    pub payment: Payment,
    /// The row exactly as received (one JSON object).
    pub raw: &'a str,
}

impl PaymentRow<'_> {
    /// The complete record, `raw` parsed from the row.
    pub fn into_payment(self) -> Payment {
        let mut payment = self.payment;
        payment.raw = serde_json::from_str(self.raw)
            .unwrap_or_else(|_| serde_json::Value::String(self.raw.to_owned()));
        payment
    }
}

/// Everything one page maps to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
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

/// The fields of one row the mapping reads; strings borrowed from the page when unescaped.
#[derive(Default)]
struct LeanRow<'a> {
    id: Option<i64>,
    id_account: Option<i64>,
    date: Option<NaiveDate>,
    datetime: Option<PowensDateTime>,
    value: Option<Decimal>,
    transaction_type: Option<Cow<'a, str>>,
    coming: Option<bool>,
    deleted: Option<PowensDateTime>,
    last_update: Option<PowensDateTime>,
    wording: Option<Cow<'a, str>>,
    original_wording: Option<Cow<'a, str>>,
    simplified_wording: Option<Cow<'a, str>>,
    id_category: Option<i64>,
    first_category: Option<Cow<'a, str>>,
    card: Option<Cow<'a, str>>,
    counterparty: Option<LeanCounterparty<'a>>,
    /// The first field whose value had the wrong type or form.
    problem: Option<String>,
}

#[derive(Default)]
struct LeanCounterparty<'a> {
    label: Option<Cow<'a, str>>,
    scheme: Option<Cow<'a, str>>,
    identification: Option<Cow<'a, str>>,
    kind: Option<Cow<'a, str>>,
}

impl<'a> LeanRow<'a> {
    fn view(&self) -> TransactionView<'_> {
        let category = match self.id_category {
            Some(id) => Some(Cow::Owned(id.to_string())),
            None => self.first_category.as_deref().map(Cow::Borrowed),
        };
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
                scheme: cp.scheme.as_deref(),
                identification: cp.identification.as_deref().filter(|s| !s.is_empty()),
                kind: cp.kind.as_deref(),
            }),
        }
    }
}

fn note(problem: &mut Option<String>, field: &str, expected: &str) {
    if problem.is_none() {
        *problem = Some(format!("field `{field}`: expected {expected}"));
    }
}

fn note_text(problem: &mut Option<String>, field: &str, expected: &str, got: &str) {
    if problem.is_none() {
        let got: String = got.chars().take(64).collect();
        *problem = Some(format!("field `{field}`: expected {expected}, got {got:?}"));
    }
}

fn is_blank_or_null(text: &str) -> bool {
    let text = text.trim();
    text.is_empty() || text == "null"
}

/// `null` → `None`; an integer → `Some`; anything else → a problem.
fn opt_i64(
    r: &mut Reader<'_>,
    field: &str,
    problem: &mut Option<String>,
) -> Result<Option<i64>, SyntaxError> {
    if r.null()? {
        return Ok(None);
    }
    if r.at_number() {
        let text = r.number()?;
        if let Ok(value) = text.parse::<i64>() {
            return Ok(Some(value));
        }
    } else {
        r.skip_value()?;
    }
    note(problem, field, "an integer");
    Ok(None)
}

/// `null` → `None`; a string → `Some`; anything else → a problem.
fn opt_str<'a>(
    r: &mut Reader<'a>,
    field: &str,
    problem: &mut Option<String>,
) -> Result<Option<Cow<'a, str>>, SyntaxError> {
    if r.null()? {
        return Ok(None);
    }
    if r.at_string() {
        return r.string().map(Some);
    }
    r.skip_value()?;
    note(problem, field, "a string");
    Ok(None)
}

fn opt_bool(
    r: &mut Reader<'_>,
    field: &str,
    problem: &mut Option<String>,
) -> Result<Option<bool>, SyntaxError> {
    if r.null()? {
        return Ok(None);
    }
    if let Some(value) = r.boolean()? {
        return Ok(Some(value));
    }
    r.skip_value()?;
    note(problem, field, "a boolean");
    Ok(None)
}

fn opt_date(
    r: &mut Reader<'_>,
    field: &str,
    problem: &mut Option<String>,
) -> Result<Option<NaiveDate>, SyntaxError> {
    let Some(text) = opt_str(r, field, problem)? else {
        return Ok(None);
    };
    if is_blank_or_null(&text) {
        return Ok(None);
    }
    match parse_date(&text) {
        Ok(date) => Ok(Some(date)),
        Err(_) => {
            note_text(problem, field, "a YYYY-MM-DD date", &text);
            Ok(None)
        }
    }
}

fn opt_datetime(
    r: &mut Reader<'_>,
    field: &str,
    problem: &mut Option<String>,
) -> Result<Option<PowensDateTime>, SyntaxError> {
    let Some(text) = opt_str(r, field, problem)? else {
        return Ok(None);
    };
    if is_blank_or_null(&text) {
        return Ok(None);
    }
    match PowensDateTime::parse(&text) {
        Ok(datetime) => Ok(Some(datetime)),
        Err(_) => {
            note_text(problem, field, "a YYYY-MM-DD HH:MM:SS datetime", &text);
            Ok(None)
        }
    }
}

/// An amount as a JSON number or string (`""` and `null` → `None`), parsed exactly.
fn opt_amount(
    r: &mut Reader<'_>,
    field: &str,
    problem: &mut Option<String>,
) -> Result<Option<Decimal>, SyntaxError> {
    let text: Cow<'_, str> = if r.null()? {
        return Ok(None);
    } else if r.at_number() {
        Cow::Borrowed(r.number()?)
    } else if r.at_string() {
        let text = r.string()?;
        if text.trim().is_empty() {
            return Ok(None);
        }
        text
    } else {
        r.skip_value()?;
        note(problem, field, "a decimal amount");
        return Ok(None);
    };
    match parse_decimal(&text) {
        Ok(value) => Ok(Some(value)),
        Err(_) => {
            note_text(problem, field, "a decimal amount", &text);
            Ok(None)
        }
    }
}

fn read_counterparty<'a>(
    r: &mut Reader<'a>,
    problem: &mut Option<String>,
) -> Result<Option<LeanCounterparty<'a>>, SyntaxError> {
    if r.null()? {
        return Ok(None);
    }
    if r.peek() != Some(b'{') {
        r.skip_value()?;
        note(problem, "counterparty", "an object");
        return Ok(None);
    }
    let mut cp = LeanCounterparty::default();
    r.object(|r, key| {
        match key.as_ref() {
            "label" => cp.label = opt_str(r, "counterparty.label", problem)?,
            "account_scheme_name" => {
                cp.scheme = opt_str(r, "counterparty.account_scheme_name", problem)?
            }
            "account_identification" => {
                cp.identification = opt_str(r, "counterparty.account_identification", problem)?;
            }
            "type" => cp.kind = opt_str(r, "counterparty.type", problem)?,
            _ => r.skip_value()?,
        }
        Ok(())
    })?;
    Ok(Some(cp))
}

/// The first `categories[].code`; `null` is an empty list.
fn read_first_category<'a>(
    r: &mut Reader<'a>,
    problem: &mut Option<String>,
) -> Result<Option<Cow<'a, str>>, SyntaxError> {
    if r.null()? {
        return Ok(None);
    }
    if r.peek() != Some(b'[') {
        r.skip_value()?;
        note(problem, "categories", "a list");
        return Ok(None);
    }
    let mut first = None;
    let mut index = 0usize;
    r.array(|r| {
        if r.peek() != Some(b'{') {
            note(problem, "categories", "a list of objects");
            return r.skip_value();
        }
        let take = index == 0;
        index += 1;
        r.object(|r, key| {
            if take && key == "code" {
                first = opt_str(r, "categories.code", problem)?;
                Ok(())
            } else {
                r.skip_value()
            }
        })
    })?;
    Ok(first)
}

fn read_row<'a>(r: &mut Reader<'a>) -> Result<LeanRow<'a>, SyntaxError> {
    let mut row = LeanRow::default();
    let mut problem = None;
    r.object(|r, key| {
        let p = &mut problem;
        match key.as_ref() {
            "id" => row.id = opt_i64(r, "id", p)?,
            "id_account" => row.id_account = opt_i64(r, "id_account", p)?,
            "date" => row.date = opt_date(r, "date", p)?,
            "datetime" => row.datetime = opt_datetime(r, "datetime", p)?,
            "value" => row.value = opt_amount(r, "value", p)?,
            "type" => row.transaction_type = opt_str(r, "type", p)?,
            "coming" => row.coming = opt_bool(r, "coming", p)?,
            "deleted" => row.deleted = opt_datetime(r, "deleted", p)?,
            "last_update" => row.last_update = opt_datetime(r, "last_update", p)?,
            "wording" => row.wording = opt_str(r, "wording", p)?,
            "original_wording" => row.original_wording = opt_str(r, "original_wording", p)?,
            "simplified_wording" => row.simplified_wording = opt_str(r, "simplified_wording", p)?,
            "id_category" => row.id_category = opt_i64(r, "id_category", p)?,
            "categories" => row.first_category = read_first_category(r, p)?,
            "card" => row.card = opt_str(r, "card", p)?,
            "counterparty" => row.counterparty = read_counterparty(r, p)?,
            _ => r.skip_value()?,
        }
        Ok(())
    })?;
    row.problem = problem;
    Ok(row)
}

fn read_next_href(r: &mut Reader<'_>) -> Result<Option<String>, SyntaxError> {
    let mut href = None;
    if r.null()? || r.peek() != Some(b'{') {
        if !r.at_end() && r.peek() != Some(b',') && r.peek() != Some(b'}') {
            r.skip_value()?;
        }
        return Ok(None);
    }
    r.object(|r, key| {
        if key != "next" || r.null()? {
            return if key == "next" {
                Ok(())
            } else {
                r.skip_value()
            };
        }
        if r.peek() != Some(b'{') {
            return r.skip_value();
        }
        r.object(|r, key| {
            if key == "href" && r.at_string() {
                href = Some(r.string()?.into_owned()).filter(|h| !h.is_empty());
                Ok(())
            } else {
                r.skip_value()
            }
        })
    })?;
    Ok(href)
}

/// Decodes and maps one page of `GET …/transactions` for the accounts of `book`.
///
/// Rows of accounts missing from `book` are skipped ([`SkipReason::UnknownAccount`]).
pub fn map_transactions_page<'a>(
    bytes: &'a [u8],
    book: &AccountBook,
    ctx: &MappingContext,
) -> Result<PageMapped<'a>, PageDecodeError> {
    let text = std::str::from_utf8(bytes).map_err(|err| PageDecodeError {
        offset: err.valid_up_to(),
        expected: "UTF-8 text",
    })?;
    let mut reader = Reader::new(text);
    // Powens rows are 0.5 to 1 KB: reserve once rather than regrow a vector of large items.
    let mut out = PageMapped {
        payments: Vec::with_capacity(bytes.len() / 640),
        ..PageMapped::default()
    };
    let mut seen_counterparties = BTreeSet::new();
    reader.object(|r, key| match key.as_ref() {
        "transactions" => {
            if r.null()? {
                return Ok(());
            }
            r.array(|r| {
                let start = {
                    r.ws();
                    r.pos()
                };
                if r.peek() != Some(b'{') {
                    r.skip_value()?;
                    out.skipped.push(Skipped::new(
                        "transaction",
                        None,
                        SkipReason::MalformedRow {
                            detail: "a transaction must be a JSON object".to_owned(),
                        },
                    ));
                    return Ok(());
                }
                let row = read_row(r)?;
                let raw = r.slice(start, r.pos());
                map_row(&row, raw, book, ctx, &mut out, &mut seen_counterparties);
                Ok(())
            })
        }
        "_links" => {
            out.next_href = read_next_href(r)?;
            Ok(())
        }
        _ => r.skip_value(),
    })?;
    if !reader.at_end() {
        return Err(PageDecodeError {
            offset: reader.pos(),
            expected: "the end of the page",
        });
    }
    Ok(out)
}

fn map_row<'a>(
    row: &LeanRow<'_>,
    raw: &'a str,
    book: &AccountBook,
    ctx: &MappingContext,
    out: &mut PageMapped<'a>,
    seen_counterparties: &mut BTreeSet<String>,
) {
    if let Some(problem) = &row.problem {
        out.skipped.push(Skipped::new(
            "transaction",
            row.id,
            SkipReason::MalformedRow {
                detail: problem.clone(),
            },
        ));
        return;
    }
    if row.id.is_none() {
        out.skipped
            .push(Skipped::new("transaction", None, SkipReason::MissingId));
        return;
    }
    let Some(account) = row.id_account.and_then(|id| book.get(id)) else {
        out.skipped.push(Skipped::new(
            "transaction",
            row.id,
            SkipReason::UnknownAccount {
                account_id: row.id_account,
            },
        ));
        return;
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
