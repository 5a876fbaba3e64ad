//! The readers of one member's value: each takes what the mapping expects (an integer, a
//! string, a date, an amount, the counterparty object, the first category code), reads
//! `null` as absent, and records any other type as the row's problem (the row is then
//! skipped) instead of failing the page. Also the remembered-shape lookup of a member's key.

use std::borrow::Cow;

use chrono::NaiveDate;
use powens_api::wire::PowensDateTime;
use rust_decimal::Decimal;

use super::forms::{self, Dates};
use super::row::LeanCounterparty;
use crate::scan::{Reader, Stop, Token};

#[cold]
fn note(problem: &mut Option<String>, field: &str, expected: &str) {
    if problem.is_none() {
        *problem = Some(format!("field `{field}`: expected {expected}"));
    }
}

#[cold]
fn note_text(problem: &mut Option<String>, field: &str, expected: &str, got: &str) {
    if problem.is_none() {
        let got: String = got.chars().take(64).collect();
        *problem = Some(format!("field `{field}`: expected {expected}, got {got:?}"));
    }
}

/// Whether `text` is blank or `null` (a date field then reads as absent); a leading digit,
/// the usual case, answers at once.
#[inline]
fn is_blank_or_null(text: &str) -> bool {
    if text.as_bytes().first().is_some_and(u8::is_ascii_digit) {
        return false;
    }
    let text = text.trim();
    text.is_empty() || text == "null"
}

/// `null` → `None`; an integer → `Some`; anything else → a problem.
#[inline]
pub(super) fn opt_i64(
    r: &mut Reader<'_>,
    field: &str,
    problem: &mut Option<String>,
) -> Result<Option<i64>, Stop> {
    match r.peek() {
        Some(b'-' | b'0'..=b'9') => {
            if let Some(value) = r.integer()? {
                return Ok(Some(value));
            }
        }
        Some(b'n') if r.null()? => return Ok(None),
        _ => r.skip_value()?,
    }
    note(problem, field, "an integer");
    Ok(None)
}

/// `null` → `None`; a string → `Some`; anything else → a problem.
#[inline(always)]
pub(super) fn opt_str<'a>(
    r: &mut Reader<'a>,
    field: &str,
    problem: &mut Option<String>,
) -> Result<Option<Cow<'a, str>>, Stop> {
    match r.peek() {
        Some(b'"') => return r.string().map(Some),
        Some(b'n') if r.null()? => return Ok(None),
        _ => r.skip_value()?,
    }
    note(problem, field, "a string");
    Ok(None)
}

#[inline]
pub(super) fn opt_bool(
    r: &mut Reader<'_>,
    field: &str,
    problem: &mut Option<String>,
) -> Result<Option<bool>, Stop> {
    if let Some(value) = r.boolean()? {
        return Ok(Some(value));
    }
    if r.null()? {
        return Ok(None);
    }
    r.skip_value()?;
    note(problem, field, "a boolean");
    Ok(None)
}

#[inline]
pub(super) fn opt_date(
    r: &mut Reader<'_>,
    field: &str,
    problem: &mut Option<String>,
    dates: &mut Dates,
) -> Result<Option<NaiveDate>, Stop> {
    r.ws();
    // The usual `"YYYY-MM-DD"` straight from the bytes.
    if let Some(bytes) = r.plain_string_of::<10>() {
        if let Some(Some(date)) = dates.fixed(bytes) {
            return Ok(Some(date));
        }
        let text = std::str::from_utf8(bytes).unwrap_or_default();
        return Ok(date_of(text, field, problem, dates));
    }
    let Some(text) = opt_str(r, field, problem)? else {
        return Ok(None);
    };
    Ok(date_of(&text, field, problem, dates))
}

fn date_of(
    text: &str,
    field: &str,
    problem: &mut Option<String>,
    dates: &mut Dates,
) -> Option<NaiveDate> {
    if is_blank_or_null(text) {
        return None;
    }
    match forms::date(text, dates) {
        Ok(date) => Some(date),
        Err(_) => {
            note_text(problem, field, "a YYYY-MM-DD date", text);
            None
        }
    }
}

#[inline]
pub(super) fn opt_datetime(
    r: &mut Reader<'_>,
    field: &str,
    problem: &mut Option<String>,
    dates: &mut Dates,
) -> Result<Option<PowensDateTime>, Stop> {
    r.ws();
    // The usual `"YYYY-MM-DD HH:MM:SS"` straight from the bytes.
    if let Some(bytes) = r.plain_string_of::<19>() {
        if let Some(naive) = forms::fixed_datetime(bytes, dates) {
            return Ok(Some(PowensDateTime::naive(naive)));
        }
        let text = std::str::from_utf8(bytes).unwrap_or_default();
        return Ok(datetime_of(text, field, problem, dates));
    }
    let Some(text) = opt_str(r, field, problem)? else {
        return Ok(None);
    };
    Ok(datetime_of(&text, field, problem, dates))
}

fn datetime_of(
    text: &str,
    field: &str,
    problem: &mut Option<String>,
    dates: &mut Dates,
) -> Option<PowensDateTime> {
    if is_blank_or_null(text) {
        return None;
    }
    match forms::datetime(text, dates) {
        Ok(datetime) => Some(datetime),
        Err(_) => {
            note_text(problem, field, "a YYYY-MM-DD HH:MM:SS datetime", text);
            None
        }
    }
}

/// An amount as a JSON number or string (`""` and `null` → `None`), parsed exactly.
#[inline]
pub(super) fn opt_amount(
    r: &mut Reader<'_>,
    field: &str,
    problem: &mut Option<String>,
) -> Result<Option<Decimal>, Stop> {
    let text: Cow<'_, str> = match r.peek() {
        Some(b'-' | b'0'..=b'9') => Cow::Borrowed(r.number()?),
        Some(b'"') => {
            let text = r.string()?;
            if text.trim().is_empty() {
                return Ok(None);
            }
            text
        }
        Some(b'n') if r.null()? => return Ok(None),
        _ => {
            r.skip_value()?;
            note(problem, field, "a decimal amount");
            return Ok(None);
        }
    };
    match forms::decimal(&text) {
        Ok(value) => Ok(Some(value)),
        Err(_) => {
            note_text(problem, field, "a decimal amount", &text);
            Ok(None)
        }
    }
}

/// The counterparty members the mapping reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CounterpartyField {
    Label,
    Scheme,
    Identification,
    Kind,
    Other,
}

impl CounterpartyField {
    #[inline]
    fn of(key: &[u8]) -> Self {
        match key {
            b"label" => Self::Label,
            b"account_scheme_name" => Self::Scheme,
            b"account_identification" => Self::Identification,
            b"type" => Self::Kind,
            _ => Self::Other,
        }
    }
}

#[inline]
pub(super) fn read_counterparty<'a>(
    r: &mut Reader<'a>,
    problem: &mut Option<String>,
    shape: &mut Vec<(Token, CounterpartyField)>,
) -> Result<Option<LeanCounterparty<'a>>, Stop> {
    if r.null()? {
        return Ok(None);
    }
    if r.peek() != Some(b'{') {
        r.skip_value()?;
        note(problem, "counterparty", "an object");
        return Ok(None);
    }
    let mut cp = LeanCounterparty::default();
    let mut index = 0;
    if r.begin_object()? {
        loop {
            let field = member_field(r, shape, index, CounterpartyField::of)?;
            index += 1;
            match field {
                CounterpartyField::Label => {
                    cp.label = opt_str(r, "counterparty.label", problem)?;
                }
                CounterpartyField::Scheme => {
                    cp.scheme = opt_str(r, "counterparty.account_scheme_name", problem)?;
                }
                CounterpartyField::Identification => {
                    cp.identification = opt_str(r, "counterparty.account_identification", problem)?;
                }
                CounterpartyField::Kind => cp.kind = opt_str(r, "counterparty.type", problem)?,
                CounterpartyField::Other => r.skip_member_value()?,
            }
            if !r.next_member()? {
                break;
            }
        }
    }
    Ok(Some(cp))
}

/// The first `categories[].code`; `null` is an empty list.
#[inline]
pub(super) fn read_first_category<'a>(
    r: &mut Reader<'a>,
    problem: &mut Option<String>,
) -> Result<Option<Cow<'a, str>>, Stop> {
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
            if take && key.as_ref() == b"code" {
                first = opt_str(r, "categories.code", problem)?;
                Ok(())
            } else {
                r.skip_value()
            }
        })
    })?;
    Ok(first)
}

/// The field of the member at the cursor, its key and colon consumed: the remembered key of
/// member `index` when the input repeats it exactly, else the key read in full (and
/// remembered).
#[inline(always)]
pub(super) fn member_field<F: Copy>(
    r: &mut Reader<'_>,
    shape: &mut Vec<(Token, F)>,
    index: usize,
    classify: impl Fn(&[u8]) -> F,
) -> Result<F, Stop> {
    if let Some((token, field)) = shape.get(index) {
        if r.eat_token(token) {
            return Ok(*field);
        }
    }
    let start = r.pos();
    let field = classify(&r.key()?);
    if let Some(token) = Token::of(r.bytes_between(start, r.pos())) {
        if let Some(slot) = shape.get_mut(index) {
            *slot = (token, field);
        } else if shape.len() == index && index < MAX_SHAPE {
            shape.push((token, field));
        }
    }
    Ok(field)
}

/// Member positions remembered (Powens rows have about 45 members).
const MAX_SHAPE: usize = 128;
