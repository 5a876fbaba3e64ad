//! The lean row: the ~16 transaction fields the mapping reads, read straight from the page
//! with [`Reader`]; a field of the wrong type is recorded as the row's problem (the row is
//! then skipped), never an error for the page.

use std::borrow::Cow;

use chrono::NaiveDate;
use powens_api::wire::PowensDateTime;
use rust_decimal::Decimal;

use super::fields::{
    member_field, opt_amount, opt_bool, opt_date, opt_datetime, opt_i64, opt_str,
    read_counterparty, read_first_category, CounterpartyField,
};
use super::forms::Dates;
use crate::counterparty::CounterpartyView;
use crate::payment::TransactionView;
use crate::scan::{Reader, Stop, Token};

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
    pub(super) counterparty: Option<LeanCounterparty<'a>>,
    /// The first field whose value had the wrong type or form.
    pub(super) problem: Option<String>,
}

#[derive(Default)]
pub(super) struct LeanCounterparty<'a> {
    pub(super) label: Option<Cow<'a, str>>,
    pub(super) scheme: Option<Cow<'a, str>>,
    pub(super) identification: Option<Cow<'a, str>>,
    pub(super) kind: Option<Cow<'a, str>>,
}

impl<'a> LeanCounterparty<'a> {
    /// What the counterparty reference depends on, as borrowed page text (`None` when a
    /// part was unescaped into an owned string, or there is no identifier).
    pub(super) fn reference_key(&self) -> Option<(Option<&'a str>, &'a str)> {
        let identification = match self.identification.as_ref()? {
            Cow::Borrowed(text) if !text.is_empty() => *text,
            _ => return None,
        };
        let scheme = match &self.scheme {
            None => None,
            Some(Cow::Borrowed(text)) => Some(*text),
            Some(Cow::Owned(_)) => return None,
        };
        Some((scheme, identification))
    }
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

/// The row fields the mapping reads, classified from a key's bytes by length then content
/// (no string comparison chain).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RowField {
    Id,
    IdAccount,
    Date,
    Datetime,
    Value,
    Type,
    Coming,
    Deleted,
    LastUpdate,
    Wording,
    OriginalWording,
    SimplifiedWording,
    IdCategory,
    Categories,
    Card,
    Counterparty,
    /// Any other key: its value is skipped.
    Other,
}

impl RowField {
    /// Every field the mapping reads, with its key (the classifier's specification).
    #[cfg(test)]
    const KEYS: [(&'static str, RowField); 16] = [
        ("id", RowField::Id),
        ("id_account", RowField::IdAccount),
        ("date", RowField::Date),
        ("datetime", RowField::Datetime),
        ("value", RowField::Value),
        ("type", RowField::Type),
        ("coming", RowField::Coming),
        ("deleted", RowField::Deleted),
        ("last_update", RowField::LastUpdate),
        ("wording", RowField::Wording),
        ("original_wording", RowField::OriginalWording),
        ("simplified_wording", RowField::SimplifiedWording),
        ("id_category", RowField::IdCategory),
        ("categories", RowField::Categories),
        ("card", RowField::Card),
        ("counterparty", RowField::Counterparty),
    ];

    #[inline]
    fn of(key: &[u8]) -> Self {
        use RowField::*;
        fn is<const N: usize>(key: &[u8], name: &[u8; N]) -> bool {
            <&[u8; N]>::try_from(key).is_ok_and(|key| key == name)
        }
        match key.len() {
            2 if is(key, b"id") => Id,
            4 if is(key, b"date") => Date,
            4 if is(key, b"type") => Type,
            4 if is(key, b"card") => Card,
            5 if is(key, b"value") => Value,
            6 if is(key, b"coming") => Coming,
            7 if is(key, b"deleted") => Deleted,
            7 if is(key, b"wording") => Wording,
            8 if is(key, b"datetime") => Datetime,
            10 if is(key, b"id_account") => IdAccount,
            10 if is(key, b"categories") => Categories,
            11 if is(key, b"last_update") => LastUpdate,
            11 if is(key, b"id_category") => IdCategory,
            12 if is(key, b"counterparty") => Counterparty,
            16 if is(key, b"original_wording") => OriginalWording,
            18 if is(key, b"simplified_wording") => SimplifiedWording,
            _ => Other,
        }
    }
}

/// Reads the rows of a page one after the other into one reused [`LeanRow`], remembering
/// the dates it has parsed.
///
/// It also remembers the rows' *shape*: the exact `"key":` text of each member position and
/// its field. Powens writes every row's members in the same order, so a member's key is
/// usually checked by comparing three words with the remembered one, which also tells the
/// next offset in advance (the scan is bound by the latency of finding each string's end);
/// any other key is read and classified in full, and remembered for the next rows.
#[derive(Default)]
pub(super) struct RowReader<'a> {
    row: LeanRow<'a>,
    dates: Dates,
    shape: Vec<(Token, RowField)>,
    counterparty_shape: Vec<(Token, CounterpartyField)>,
}

impl<'a> RowReader<'a> {
    /// Reads the row at the cursor (an object).
    pub(super) fn read(&mut self, r: &mut Reader<'a>) -> Result<&LeanRow<'a>, Stop> {
        self.row = LeanRow::default();
        let shapes = (&mut self.shape, &mut self.counterparty_shape);
        read_fields(r, &mut self.row, &mut self.dates, shapes)?;
        Ok(&self.row)
    }

    /// Reads the row at the cursor (an object) of an account's listing: a row without
    /// `id_account` belongs to `account_id`.
    pub(super) fn read_for(
        &mut self,
        r: &mut Reader<'a>,
        account_id: i64,
    ) -> Result<&LeanRow<'a>, Stop> {
        self.read(r)?;
        self.row.id_account.get_or_insert(account_id);
        Ok(&self.row)
    }

    /// Reads the row at the cursor (an object) and hands it over, for rows whose mapping
    /// must wait (a webhook account's rows, mapped once the account around them is read).
    pub(super) fn read_owned(&mut self, r: &mut Reader<'a>) -> Result<LeanRow<'a>, Stop> {
        self.read(r)?;
        Ok(std::mem::take(&mut self.row))
    }
}

/// The remembered shapes of rows and of their counterparties.
type Shapes<'s> = (
    &'s mut Vec<(Token, RowField)>,
    &'s mut Vec<(Token, CounterpartyField)>,
);

fn read_fields<'a>(
    r: &mut Reader<'a>,
    row: &mut LeanRow<'a>,
    dates: &mut Dates,
    (shape, counterparty_shape): Shapes<'_>,
) -> Result<(), Stop> {
    let mut problem = None;
    let p = &mut problem;
    let d = dates;
    let mut index = 0;
    if r.begin_object()? {
        loop {
            let field = member_field(r, shape, index, RowField::of)?;
            index += 1;
            match field {
                RowField::Id => row.id = opt_i64(r, "id", p)?,
                RowField::IdAccount => row.id_account = opt_i64(r, "id_account", p)?,
                RowField::Date => row.date = opt_date(r, "date", p, d)?,
                RowField::Datetime => row.datetime = opt_datetime(r, "datetime", p, d)?,
                RowField::Value => row.value = opt_amount(r, "value", p)?,
                RowField::Type => row.transaction_type = opt_str(r, "type", p)?,
                RowField::Coming => row.coming = opt_bool(r, "coming", p)?,
                RowField::Deleted => row.deleted = opt_datetime(r, "deleted", p, d)?,
                RowField::LastUpdate => row.last_update = opt_datetime(r, "last_update", p, d)?,
                RowField::Wording => row.wording = opt_str(r, "wording", p)?,
                RowField::OriginalWording => {
                    row.original_wording = opt_str(r, "original_wording", p)?
                }
                RowField::SimplifiedWording => {
                    row.simplified_wording = opt_str(r, "simplified_wording", p)?
                }
                RowField::IdCategory => row.id_category = opt_i64(r, "id_category", p)?,
                RowField::Categories => row.first_category = read_first_category(r, p)?,
                RowField::Card => row.card = opt_str(r, "card", p)?,
                RowField::Counterparty => {
                    row.counterparty = read_counterparty(r, p, counterparty_shape)?
                }
                RowField::Other => r.skip_member_value()?,
            }
            if !r.next_member()? {
                break;
            }
        }
    }
    row.problem = problem;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn field_classifier_knows_exactly_the_mapped_keys() {
        for (key, field) in RowField::KEYS {
            assert_eq!(RowField::of(key.as_bytes()), field, "{key}");
            // Same length, one byte off, a prefix, an extension: all other keys.
            let mut near = key.as_bytes().to_vec();
            if let Some(last) = near.last_mut() {
                *last ^= 1;
            }
            assert_eq!(RowField::of(&near), RowField::Other, "{key} altered");
            assert_eq!(
                RowField::of(&key.as_bytes()[1..]),
                RowField::Other,
                "{key} tail"
            );
            assert_eq!(
                RowField::of(format!("{key}_").as_bytes()),
                RowField::Other,
                "{key} extended"
            );
            assert_eq!(
                RowField::of(key.to_uppercase().as_bytes()),
                RowField::Other,
                "{key} upper case"
            );
        }
        for other in [
            "",
            "i",
            "webid",
            "vdate",
            "rdate",
            "bdate",
            "vdatetime",
            "state",
            "active",
            "comment",
            "country",
            "stemmed_wording",
            "date_scraped",
            "gross_value",
        ] {
            assert_eq!(RowField::of(other.as_bytes()), RowField::Other, "{other}");
        }
    }

    #[test]
    fn escaped_keys_are_classified_after_decoding() {
        let text = r#"{"id":7,"id_account":17,"value":1.5}"#;
        let mut rows = RowReader::default();
        let row = rows.read(&mut Reader::new(text)).unwrap();
        assert_eq!((row.id, row.id_account), (Some(7), Some(17)));
        assert_eq!(row.value, Some(Decimal::new(15, 1)));
    }

    #[test]
    fn remembered_row_shape_reads_like_a_fresh_reader_whatever_the_member_order() {
        // Same members in another order, a member missing or added, white space, an escaped
        // key, a key that extends or shortens a remembered one, a wrong type at a remembered
        // position, an empty row.
        let rows = [
            r#"{"id":1,"id_account":17,"date":"2026-06-18","value":-1.5,"type":"card","coming":false,"wording":"A"}"#,
            r#"{"id":2,"id_account":17,"date":"2026-06-19","value":2,"type":"card","coming":true,"wording":"B"}"#,
            r#"{"id_account":17,"id":3,"value":3,"date":"2026-06-20","coming":false,"type":"order"}"#,
            r#"{"id":4, "id_account" :17,"date":"2026-06-21","value":4,"type":"card","coming":false,"wording":"D"}"#,
            r#"{"id":5,"id_account":17,"date":"2026-06-22","value":5,"type":"card","coming":false}"#,
            r#"{"idx":6,"id_accountx":17,"date":"2026-06-23","value":6,"type":"card","coming":false}"#,
            r#"{"i":7,"id":7,"dat":1,"date":"2026-06-24","value":7,"type":"card","coming":false}"#,
            r#"{"id":"8","id_account":17,"date":"2026-06-25","value":8,"type":"card","coming":1}"#,
            r#"{}"#,
            r#"{"id":9,"id_account":17,"date":"2026-06-26","value":9,"type":"card","coming":false,"wording":"I","simplified_wording_of_a_very_long_key":"x","original_wording":"O"}"#,
            r#"{"id":10,"id_account":17,"date":"2026-06-27","value":10,"type":"card","coming":false,"wording":"J","simplified_wording_of_a_very_long_key":"y","original_wording":"P"}"#,
            r#"{"id":11,"counterparty":{"label":"A","account_scheme_name":"iban","account_identification":"FR76","type":"creditor"}}"#,
            r#"{"id":12,"counterparty":{"type":"debtor","account_identification":"X","label":"B"}}"#,
            r#"{"id":13,"counterparty":{"label":"A","account_scheme_name":"iban","account_identification":"FR76","type":"creditor","extra":[1]}}"#,
            r#"{"id":14,"counterparty":{"label":"A","account_scheme_name":7,"account_identification":"FR76","type":"creditor"}}"#,
            r#"{"id":15,"counterparty":null}"#,
        ];
        let mut remembering = RowReader::default();
        for _ in 0..2 {
            for text in rows {
                let seen = remembering.read(&mut Reader::new(text)).unwrap();
                let mut fresh = RowReader::default();
                let expected = fresh.read(&mut Reader::new(text)).unwrap();
                assert_eq!(seen.view(), expected.view(), "{text}");
                assert_eq!(seen.problem, expected.problem, "{text}");
            }
        }
    }

    #[test]
    fn a_remembered_key_followed_by_bad_json_is_still_an_error() {
        let mut rows = RowReader::default();
        rows.read(&mut Reader::new(r#"{"id":1,"type":"card"}"#))
            .unwrap();
        for bad in [
            r#"{"id":1,"type":"card}"#,
            r#"{"id":1,"type":}"#,
            r#"{"id":1,"type":"card",}"#,
        ] {
            assert!(rows.read(&mut Reader::new(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn dates_read_from_the_bytes_agree_with_the_general_parsers() {
        use powens_api::wire::datetime::parse_date;
        for (date, datetime) in [
            (r#""2026-06-18""#, r#""2026-06-18 06:12:44""#),
            (r#""2026-02-30""#, r#""2026-02-30 06:12:44""#),
            (r#""18/06/2026""#, r#""2026-06-18T06:12:44""#),
            (r#""2026-06-18""#, r#""2026-06-18 06:12:44""#),
            (r#" "2026-06-18""#, r#" "2026-06-18 06:12:44+0200""#),
            (r#""""#, r#""null""#),
            (r#""é026-06-1""#, r#""2026-06-18 24:00:00""#),
        ] {
            let text = format!(r#"{{"date":{date},"last_update":{datetime}}}"#);
            let mut rows = RowReader::default();
            let row = rows.read(&mut Reader::new(&text)).unwrap();
            let date_text: String = serde_json::from_str(date.trim()).unwrap();
            let datetime_text: String = serde_json::from_str(datetime.trim()).unwrap();
            let expected_date = parse_date(&date_text).ok();
            let expected_datetime = PowensDateTime::parse(&datetime_text).ok();
            assert_eq!(row.view().date, expected_date, "{text}");
            assert_eq!(row.view().last_update, expected_datetime, "{text}");
            let blank = |t: &str| t.trim().is_empty() || t.trim() == "null";
            let bad = (expected_date.is_none() && !blank(&date_text))
                || (expected_datetime.is_none() && !blank(&datetime_text));
            assert_eq!(row.problem.is_some(), bad, "{text}: {:?}", row.problem);
        }
    }

    #[test]
    fn a_repeated_key_keeps_its_last_value_like_serde() {
        let mut rows = RowReader::default();
        let row = rows.read(&mut Reader::new(r#"{"id":1,"id":2}"#)).unwrap();
        assert_eq!(row.id, Some(2));
    }
}
