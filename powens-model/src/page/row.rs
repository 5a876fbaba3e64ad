//! The lean row: the ~16 transaction fields the mapping reads, read straight from the page
//! with [`Reader`]; a field of the wrong type is recorded as the row's problem (the row is
//! then skipped), never an error for the page.

use std::borrow::Cow;

use chrono::NaiveDate;
use powens_api::wire::datetime::parse_date;
use powens_api::wire::money::parse_decimal;
use powens_api::wire::PowensDateTime;
use rust_decimal::Decimal;

use crate::counterparty::CounterpartyView;
use crate::payment::TransactionView;
use crate::scan::{Reader, SyntaxError};

/// The fields of one row the mapping reads; strings borrowed from the page when unescaped.
#[derive(Default)]
pub(super) struct LeanRow<'a> {
    pub(super) id: Option<i64>,
    pub(super) id_account: Option<i64>,
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
    pub(super) problem: Option<String>,
}

#[derive(Default)]
struct LeanCounterparty<'a> {
    label: Option<Cow<'a, str>>,
    scheme: Option<Cow<'a, str>>,
    identification: Option<Cow<'a, str>>,
    kind: Option<Cow<'a, str>>,
}

impl<'a> LeanRow<'a> {
    pub(super) fn view(&self) -> TransactionView<'_> {
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
            id_category: self.id_category,
            first_category: self.first_category.as_deref(),
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

pub(super) fn read_row<'a>(r: &mut Reader<'a>) -> Result<LeanRow<'a>, SyntaxError> {
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
