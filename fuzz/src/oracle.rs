//! What the targets compare: a page's mapping in owned form, the typed (serde) path that the
//! lean page reader must agree with, and small JSON facts read with serde_json.

use std::borrow::Cow;
use std::fmt;

use chrono::{Datelike, TimeZone, Utc};
use connector_core::model::{Account, Payment};
use connector_core::money::Asset;
use powens_api::transactions::Transaction;
use powens_api::wire::PowensDateTime;
use powens_model::payment::{map_transactions, Tombstone, TransactionOutcome};
use powens_model::{page, AccountBook, AccountContext, MappingContext, Skipped};
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::gen::BOOK;

/// Panics with a `disagreement:` message (a finding that is not a crash of the code under
/// test but two paths that must agree and do not).
#[macro_export]
macro_rules! disagree {
    ($($arg:tt)*) => {
        panic!("disagreement: {}", format_args!($($arg)*))
    };
}

/// The mapping context of every target: Paris, a fixed fallback instant, a PSU.
pub fn ctx() -> MappingContext {
    MappingContext::new(
        Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0)
            .single()
            .unwrap_or_default(),
    )
    .with_psu_id("psu-1")
}

/// The account book of [`BOOK`].
pub fn book() -> AccountBook {
    let mut book = AccountBook::new();
    for (id, code, precision) in BOOK {
        if let Ok(asset) = Asset::new(code, *precision) {
            let mut account = AccountContext::new(*id, asset);
            account.connection_id = Some("7".into());
            book.insert(account);
        }
    }
    book
}

/// A page mapping with owned results. External accounts are deduplicated by reference,
/// first occurrence kept (what a page does, and the connector across parts).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Mapping {
    /// Payments (their `raw` left null) and the raw row text each came from.
    pub payments: Vec<(Payment, String)>,
    /// External accounts, one per reference.
    pub external_accounts: Vec<Account>,
    /// Deleted rows.
    pub tombstones: Vec<Tombstone>,
    /// Skipped rows.
    pub skipped: Vec<Skipped>,
    /// `_links.next.href`.
    pub next_href: Option<String>,
}

impl Mapping {
    /// Adds the lean mapping of one page body; `Err` with the decode error's text.
    pub fn add_lean(&mut self, bytes: &[u8], book: &AccountBook) -> Result<(), String> {
        let mapped = page::map_transactions_page(bytes, book, &ctx()).map_err(|e| e.to_string())?;
        for row in mapped.payments {
            self.payments.push((row.payment, row.raw.to_owned()));
        }
        for external in mapped.external_accounts {
            self.add_external(external);
        }
        self.tombstones.extend(mapped.tombstones);
        self.skipped.extend(mapped.skipped);
        if mapped.next_href.is_some() {
            self.next_href = mapped.next_href;
        }
        Ok(())
    }

    fn add_external(&mut self, external: Account) {
        if !self
            .external_accounts
            .iter()
            .any(|e| e.reference == external.reference)
        {
            self.external_accounts.push(external);
        }
    }

    /// Adds the typed mapping of decoded transactions (raw texts given by the caller).
    pub fn add_typed(&mut self, transactions: &[Transaction], raws: &[String], book: &AccountBook) {
        let mapped = map_transactions(transactions, book, &ctx());
        // `map_transactions` keeps input order within records and within skips; the raw
        // text of each payment is found by its transaction's position.
        let mut raw_of = Vec::new();
        for (tx, raw) in transactions.iter().zip(raws) {
            raw_of.push((tx.id, raw.clone()));
        }
        let mut next_raw = 0;
        for outcome in mapped.records {
            match outcome {
                TransactionOutcome::Payment {
                    mut payment,
                    external_account,
                } => {
                    payment.raw = RawValue::NULL.to_owned().into();
                    // Find the row this payment came from (ids may repeat: the next one in
                    // order whose id matches).
                    let reference = payment.reference.clone();
                    let raw = raw_of
                        .iter()
                        .enumerate()
                        .skip(next_raw)
                        .find(|(_, (id, _))| id.to_string() == reference)
                        .map(|(i, (_, raw))| {
                            next_raw = i + 1;
                            raw.clone()
                        })
                        .unwrap_or_default();
                    self.payments.push((*payment, raw));
                    if let Some(external) = external_account {
                        self.add_external(*external);
                    }
                }
                TransactionOutcome::Deleted(tombstone) => self.tombstones.push(tombstone),
            }
        }
        self.skipped.extend(mapped.skipped);
    }

    /// The same mapping with payments' raw texts dropped (the typed path re-serialises).
    pub fn without_raw(&self) -> Mapping {
        let mut out = self.clone();
        for (_, raw) in &mut out.payments {
            raw.clear();
        }
        out
    }

    /// An order-independent form (for the pages whose rows the splitter cannot place).
    pub fn sorted(&self) -> Vec<String> {
        let mut items: Vec<String> = Vec::new();
        items.extend(self.payments.iter().map(|p| format!("p {p:?}")));
        items.extend(self.external_accounts.iter().map(|a| format!("e {a:?}")));
        items.extend(self.tombstones.iter().map(|t| format!("t {t:?}")));
        items.extend(self.skipped.iter().map(|s| format!("s {s:?}")));
        items.sort();
        items
    }
}

/// A lean single-row page's outcome, for the row-by-row comparison.
pub fn row_page(row: &str) -> String {
    format!("{{\"transactions\":[{row}]}}")
}

/// A key as read by serde_json: its decoded text, and whether it was written without
/// escapes (serde_json then hands it out borrowed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyText {
    /// The decoded key.
    pub text: String,
    /// Written without escapes.
    pub plain: bool,
}

impl<'de> Deserialize<'de> for KeyText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = KeyText;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<KeyText, E> {
                Ok(KeyText {
                    text: v.to_owned(),
                    plain: true,
                })
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<KeyText, E> {
                Ok(KeyText {
                    text: v.to_owned(),
                    plain: false,
                })
            }
        }
        deserializer.deserialize_str(V)
    }
}

/// The members of a JSON object in order, repeated keys kept, values as their raw text.
pub struct Members<'a>(pub Vec<(KeyText, &'a RawValue)>);

impl<'de: 'a, 'a> Deserialize<'de> for Members<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Members<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members<'a>, A::Error> {
                let mut out = Vec::new();
                while let Some(key) = map.next_key::<KeyText>()? {
                    let value: &'a RawValue = map.next_value()?;
                    out.push((key, value));
                }
                Ok(Members(out))
            }
        }
        deserializer.deserialize_map(V(std::marker::PhantomData))
    }
}

/// The members of the object `text`, or `None` when it is not a JSON object.
pub fn members(text: &str) -> Option<Members<'_>> {
    serde_json::from_str::<Members<'_>>(text).ok()
}

/// The elements of the array `text` as raw texts, or `None` when it is not an array.
pub fn elements(text: &str) -> Option<Vec<&RawValue>> {
    serde_json::from_str::<Vec<&RawValue>>(text).ok()
}

/// Whether `text` is one JSON value (serde_json decides; nesting within its limit).
pub fn is_json(bytes: &[u8]) -> bool {
    serde_json::from_slice::<IgnoredAny>(bytes).is_ok()
}

/// The deepest nesting of `[`/`{` outside strings (on any bytes).
pub fn depth(bytes: &[u8]) -> usize {
    let (mut depth, mut max, mut in_string, mut escape) = (0usize, 0usize, false, false);
    for &b in bytes {
        if in_string {
            if escape {
                escape = false;
            } else if b == b'\\' {
                escape = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                max = max.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

/// Whether an object's members repeat a key.
pub fn repeats_a_key(members: &Members<'_>) -> bool {
    let mut keys: Vec<&str> = members.0.iter().map(|(k, _)| k.text.as_str()).collect();
    keys.sort_unstable();
    keys.windows(2).any(|w| w[0] == w[1])
}

/// The transaction fields the lean reader reads (the others it skips, validated as JSON
/// only).
pub const LEAN_FIELDS: &[&str] = &[
    "id",
    "id_account",
    "date",
    "datetime",
    "value",
    "type",
    "coming",
    "deleted",
    "last_update",
    "wording",
    "original_wording",
    "simplified_wording",
    "id_category",
    "categories",
    "card",
    "counterparty",
];

/// The counterparty fields the lean reader reads.
pub const LEAN_COUNTERPARTY_FIELDS: &[&str] = &[
    "label",
    "account_scheme_name",
    "account_identification",
    "type",
];

/// Why a row cannot be compared with the typed path, if it cannot.
pub enum Projection {
    /// The row as the typed decoder must see it to read what the lean reader reads.
    Row(String),
    /// The row is not an object (both paths skip it).
    NotAnObject,
    /// Not comparable: a member the lean reader reads is repeated (serde's derive refuses
    /// what the lean reader reads as the last value), or the date the mapping would take
    /// from `datetime` has no `YYYY-MM-DD` form. Only the lean paths are compared.
    Repeated,
}

/// The row restricted to what the lean reader reads, for the typed decoder:
///
/// * members the lean reader skips are dropped (it checks only that they are JSON, the
///   typed decoder also their types);
/// * in `counterparty`, only `label`, `account_scheme_name`, `account_identification`,
///   `type`; in `categories`, only the first object's `code` (other objects become `{}`);
/// * a missing or `null` `type` becomes `""` (the typed decoder requires it; the mapping
///   reads a missing type as empty).
pub fn project(row: &str) -> Projection {
    let Some(row_members) = members(row) else {
        return Projection::NotAnObject;
    };
    if repeats_a_key(&row_members) {
        return Projection::Repeated;
    }
    let mut out = Map::new();
    for (key, value) in &row_members.0 {
        let key = key.text.as_str();
        if !LEAN_FIELDS.contains(&key) {
            continue;
        }
        let value: Value = match key {
            "counterparty" => match members(value.get()) {
                Some(cp) => {
                    if repeats_a_key(&cp) {
                        return Projection::Repeated;
                    }
                    let mut kept = Map::new();
                    for (k, v) in &cp.0 {
                        if LEAN_COUNTERPARTY_FIELDS.contains(&k.text.as_str()) {
                            kept.insert(k.text.clone(), parse_value(v));
                        }
                    }
                    Value::Object(kept)
                }
                None => not_a_struct(value),
            },
            "categories" => match elements(value.get()) {
                Some(items) => {
                    let mut kept = Vec::new();
                    for (i, item) in items.iter().enumerate() {
                        match members(item.get()) {
                            Some(category) => {
                                if i == 0 && repeats_a_key(&category) {
                                    return Projection::Repeated;
                                }
                                let mut c = Map::new();
                                if i == 0 {
                                    for (k, v) in &category.0 {
                                        if k.text == "code" {
                                            c.insert("code".to_owned(), parse_value(v));
                                        }
                                    }
                                }
                                kept.push(Value::Object(c));
                            }
                            None => kept.push(not_a_struct(item)),
                        }
                    }
                    Value::Array(kept)
                }
                None => parse_value(value),
            },
            _ => parse_value(value),
        };
        out.insert(key.to_owned(), value);
    }
    // `-0` is the integer 0 to the lean reader (`str::parse::<i64>`), a float to serde_json.
    for key in ["id", "id_account", "id_category"] {
        if out.get(key).is_some_and(|v| v.to_string() == "-0") {
            out.insert(key.to_owned(), Value::from(0));
        }
    }
    // Date and datetime texts that are blank or `null` are absent to the lean reader.
    for key in ["date", "datetime", "deleted", "last_update"] {
        if let Some(Value::String(text)) = out.get(key) {
            if text.trim().is_empty() || text.trim() == "null" {
                out.insert(key.to_owned(), Value::Null);
            }
        }
    }
    if out.get("type").is_none_or(Value::is_null) {
        out.insert("type".to_owned(), Value::String(String::new()));
    }
    // A missing date is the UTC date of `datetime` (the mapping's rule), when there is one.
    if out.get("date").is_none_or(Value::is_null) {
        if let Some(Value::String(text)) = out.get("datetime") {
            if let Ok(datetime) = PowensDateTime::parse(text) {
                let date = powens_model::time::utc_field(&datetime).date_naive();
                if !(0..=9999).contains(&date.year()) {
                    return Projection::Repeated;
                }
                let text = date.format("%Y-%m-%d").to_string();
                out.insert("date".to_owned(), Value::String(text));
            }
        }
    }
    Projection::Row(Value::Object(out).to_string())
}

/// A value where an object is expected: serde's derive also reads a struct from a JSON
/// array (`[]` is a `Category` with no code), the lean reader only from an object. An array
/// becomes a number, which both refuse.
fn not_a_struct(raw: &RawValue) -> Value {
    match parse_value(raw) {
        Value::Array(_) => Value::from(0),
        other => other,
    }
}

fn parse_value(raw: &RawValue) -> Value {
    serde_json::from_str(raw.get()).unwrap_or(Value::Null)
}

/// Decodes one typed transaction.
pub fn typed_row(text: &str) -> Result<Transaction, String> {
    serde_json::from_str::<Transaction>(text).map_err(|e| e.to_string())
}

/// The rows of every top-level member the lean reader reads as rows (named `transactions`
/// once decoded), in order: `None` when the page is not an object.
pub fn page_rows(bytes: &[u8]) -> Option<PageRows<'_>> {
    let text = std::str::from_utf8(bytes).ok()?;
    let top = members(text)?;
    let mut rows = Vec::new();
    let mut arrays = 0;
    let mut odd = false;
    let mut not_arrays = false;
    let mut named = 0;
    for (key, value) in &top.0 {
        if key.text != "transactions" {
            continue;
        }
        named += 1;
        odd |= !key.plain || arrays > 0;
        if value.get() == "null" {
            continue;
        }
        match elements(value.get()) {
            Some(items) => {
                arrays += 1;
                rows.extend(items);
            }
            None => not_arrays = true,
        }
    }
    Some(PageRows {
        rows,
        odd,
        not_arrays,
        duplicate: named > 1,
    })
}

/// The rows of a page (see [`page_rows`]).
pub struct PageRows<'a> {
    /// Every row, in order.
    pub rows: Vec<&'a RawValue>,
    /// A `transactions` key spelled with escapes, or more than one `transactions` array.
    pub odd: bool,
    /// A `transactions` member that is neither an array nor `null`.
    pub not_arrays: bool,
    /// More than one `transactions` member (however spelled): refused, like serde's
    /// duplicate field.
    pub duplicate: bool,
}

/// The page with what row isolation sets aside blanked, one `?` per byte (offsets kept):
/// bytes that are not UTF-8, and control characters inside strings (strings told by their
/// quotes and escapes alone); and the offsets of those bytes.
pub fn blank_damage(bytes: &[u8]) -> (Vec<u8>, Vec<usize>) {
    let mut clean = bytes.to_vec();
    let mut damaged = Vec::new();
    let mut from = 0;
    while from < clean.len() {
        let Err(err) = std::str::from_utf8(&clean[from..]) else {
            break;
        };
        let bad = from + err.valid_up_to();
        let end = bad + err.error_len().unwrap_or(clean.len() - bad);
        for at in bad..end {
            clean[at] = b'?';
            damaged.push(at);
        }
        from = end;
    }
    let (mut in_string, mut escape) = (false, false);
    for (at, byte) in clean.iter_mut().enumerate() {
        if escape {
            escape = false;
        } else if in_string {
            match *byte {
                b'"' => in_string = false,
                b'\\' => escape = true,
                0..=0x1f => {
                    *byte = b'?';
                    damaged.push(at);
                }
                _ => {}
            }
        } else if *byte == b'"' {
            in_string = true;
        }
    }
    damaged.sort_unstable();
    (clean, damaged)
}

/// Where `row` (a slice of `text`) starts and ends in `text`.
pub fn span_in(text: &str, row: &str) -> std::ops::Range<usize> {
    let start = (row.as_ptr() as usize).saturating_sub(text.as_ptr() as usize);
    start..start + row.len()
}

/// `Cow`'s text (for messages).
pub fn lossy(bytes: &[u8]) -> Cow<'_, str> {
    String::from_utf8_lossy(bytes)
}
