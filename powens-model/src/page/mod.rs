//! The hot path: a page of transactions decoded straight from the response bytes with a lean,
//! borrowing, single-pass reader (the private `scan` module), mapped row by row, each row's JSON kept
//! as received.
//!
//! The reader walks the page once, reads only the ~16 fields the mapping needs (strings
//! borrowed unless escaped), skips (and validates) everything else, and keeps each row's
//! exact text. A row whose fields have the wrong type (a non-numeric `value`, a bad date) is
//! skipped with [`SkipReason::MalformedRow`]: one bad row never fails the page. So is a row
//! with a raw control character in a string or bytes that are not UTF-8 (row isolation, see
//! [`map_transactions_page`]). Only bytes that are not a JSON page otherwise (damage outside
//! the rows, or damage that hides where a row ends) are an error.
//!
//! What makes it fast (about 1 µs per ~870-byte row, decode and mapping, on one core):
//!
//! * the page's UTF-8 check uses SIMD chosen at run time (`simdutf8`);
//! * rows share a remembered *shape*: the exact `"key":` text of each member position, so a
//!   repeated key is three word comparisons with the next offset known in advance (finding
//!   each string's end is the latency chain of a scalar JSON scan); other keys are read and
//!   classified in full, then remembered;
//! * fixed forms (`YYYY-MM-DD`, `YYYY-MM-DD HH:MM:SS`, plain decimals, integers) are parsed
//!   straight from the bytes, with the general `powens-api` parsers for anything else;
//! * pure results a page repeats are remembered for the page: calendar dates, the zoned
//!   `last_update` text (Europe/Paris conversion and RFC 3339 formatting), the category text,
//!   counterparty references (a SHA-256 each);
//! * metadata values of up to 24 bytes are stored inline, entries inserted in key order.
//!
//! Each shortcut is exact by construction and tested against the general path.
//!
//! The mapping results are the same as [`crate::payment::map_transaction`] on the
//! `powens-api` types (tested on every fixture); only `raw` differs: here it is the row
//! exactly as received, kept borrowed in [`PaymentRow::raw`] and copied into the record's
//! `RawValue` only by [`PaymentRow::into_payment`] (never parsed into a `serde_json::Value`:
//! building a JSON tree per row costs about ten times the rest of the mapping).

mod fields;
mod forms;
mod isolate;
mod row;
pub mod split;

use std::collections::{BTreeSet, HashMap};
use std::hash::{BuildHasherDefault, Hasher};

use chrono::{DateTime, Utc};
use connector_core::model::{Account, Payment};

use crate::context::{AccountBook, MappingContext};
use crate::counterparty::{counterparty_reference, map_counterparty, CounterpartyView};
use crate::payment::{map_parts, Parts, RowMemo, Tombstone};
pub(crate) use crate::scan::{Reader, Stop, SyntaxError};
use crate::skip::{SkipReason, Skipped};
use row::{LeanRow, RowReader};
pub use split::{PagePart, PageSplitter};

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
    /// The payment, with `raw` left `null` until [`PaymentRow::into_payment`].
    pub payment: Payment,
    /// The row exactly as received (one JSON object).
    pub raw: &'a str,
    /// The row's `last_update` as an instant (the same one its
    /// [`LAST_UPDATE`](crate::keys::LAST_UPDATE) metadata states): a server timestamp for a
    /// caller's watermark, without reading the metadata text back.
    pub last_update: Option<DateTime<Utc>>,
}

impl PaymentRow<'_> {
    /// The complete record, `raw` the row's text verbatim (copied, not parsed into a tree).
    pub fn into_payment(self) -> Payment {
        let mut payment = self.payment;
        payment.raw = row_raw(self.raw).into();
        payment
    }
}

/// A row's text as a record's `raw` payload, verbatim (copied and checked by a skipping
/// pass, not parsed into a tree): what [`PaymentRow::into_payment`] does, for a caller that
/// keeps the row text aside until it delivers the payment.
pub fn row_raw(text: &str) -> Box<serde_json::value::RawValue> {
    crate::raw::verbatim(text)
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
    /// `_links.next.href` (or a bare-string `_links.next`), when the server gave one.
    pub next_href: Option<String>,
    /// Whether the page carries a `_links` member (a server that sends links says "last
    /// page" by a missing `next`).
    pub has_links: bool,
    /// The page's `total` (rows of the whole query), when the server gave one.
    pub total: Option<u64>,
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

/// `total` as a non-negative integer; any other value (null, a string, a fraction) is none.
fn read_total(r: &mut Reader<'_>) -> Result<Option<u64>, Stop> {
    r.ws();
    match r.peek() {
        Some(b'-' | b'0'..=b'9') => Ok(r.integer()?.and_then(|n| u64::try_from(n).ok())),
        _ => {
            r.skip_value()?;
            Ok(None)
        }
    }
}

/// `_links.next` as `{"href": "…"}` or a bare string `"…"`; anything else is no link.
fn read_next_href(r: &mut Reader<'_>) -> Result<Option<String>, Stop> {
    let mut href = None;
    if r.null()? || r.peek() != Some(b'{') {
        if !r.at_end() && r.peek() != Some(b',') && r.peek() != Some(b'}') {
            r.skip_value()?;
        }
        return Ok(None);
    }
    r.object(|r, key| {
        let next = key.as_ref() == b"next";
        if !next || r.null()? {
            return if next { Ok(()) } else { r.skip_value() };
        }
        if r.at_string() {
            href = Some(r.string()?.into_owned()).filter(|h| !h.is_empty());
            return Ok(());
        }
        if r.peek() != Some(b'{') {
            return r.skip_value();
        }
        r.object(|r, key| {
            if key.as_ref() == b"href" && r.at_string() {
                href = Some(r.string()?.into_owned()).filter(|h| !h.is_empty());
                Ok(())
            } else {
                r.skip_value()
            }
        })
    })?;
    Ok(href)
}

/// The page as text: checked with SIMD instructions chosen at run time (`simdutf8`, several
/// times faster than the standard check on a page), the standard check only to locate an
/// error.
pub(crate) fn utf8(bytes: &[u8]) -> Result<&str, PageDecodeError> {
    simdutf8::basic::from_utf8(bytes).or_else(|_| {
        std::str::from_utf8(bytes).map_err(|err| PageDecodeError {
            offset: err.valid_up_to(),
            expected: "UTF-8 text",
        })
    })
}

/// Decodes and maps one page of `GET …/transactions` for the accounts of `book`.
///
/// Rows of accounts missing from `book` are skipped ([`SkipReason::UnknownAccount`]).
///
/// **Row isolation.** A row whose only damage is text JSON forbids — a raw control
/// character (`U+0000`–`U+001F`) inside a string, or bytes that are not UTF-8 — is skipped
/// with [`SkipReason::MalformedRow`] (the detail names the byte and its offset in the row);
/// the rows around it are mapped. Such bytes never move a row boundary, so the rest of the
/// page is read exactly. Any other damage (a syntax error, an unterminated string, damaged
/// text outside the rows) refuses the page: its boundaries cannot be trusted.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use connector_core::money::Asset;
/// use powens_model::{page, AccountBook, AccountContext, MappingContext, SkipReason};
///
/// let book = AccountBook::single(AccountContext::new(17, Asset::new("EUR", 2).unwrap()));
/// let ctx = MappingContext::new(Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap());
/// let row = |id: u32, wording: &str| format!(
///     r#"{{"id":{id},"id_account":17,"date":"2026-05-02","value":-1.5,"type":"card","coming":false,"wording":"{wording}"}}"#
/// );
/// let body = format!(r#"{{"transactions":[{},{},{}]}}"#, row(1, "A"), row(2, "B\u{1}C"), row(3, "D"));
/// let mapped = page::map_transactions_page(body.as_bytes(), &book, &ctx).unwrap();
/// assert_eq!(mapped.payments.len(), 2);
/// assert_eq!(mapped.skipped[0].id, Some(2));
/// assert!(matches!(mapped.skipped[0].reason, SkipReason::MalformedRow { .. }));
/// ```
pub fn map_transactions_page<'a>(
    bytes: &'a [u8],
    book: &AccountBook,
    ctx: &MappingContext,
) -> Result<PageMapped<'a>, PageDecodeError> {
    let refused = match utf8(bytes) {
        Ok(text) => match map_text(text, book, ctx) {
            Ok(out) => return Ok(out),
            Err(err) => err,
        },
        Err(err) => err,
    };
    isolate::map_isolating(bytes, book, ctx, refused)
}

/// What a page carries besides its rows.
#[derive(Default)]
struct Envelope {
    next_href: Option<String>,
    has_links: bool,
    total: Option<u64>,
}

impl Envelope {
    fn fill(self, out: &mut PageMapped<'_>) {
        out.next_href = self.next_href;
        out.has_links = self.has_links;
        out.total = self.total;
    }
}

/// Walks the page object at the cursor: `element` reads each element of the `transactions`
/// array (at the cursor, it must consume it); the envelope's members are read here.
#[inline(always)]
fn walk_page<'t>(
    reader: &mut Reader<'t>,
    mut element: impl FnMut(&mut Reader<'t>) -> Result<(), Stop>,
) -> Result<Envelope, PageDecodeError> {
    let mut envelope = Envelope::default();
    // A second `transactions` member (the same key, perhaps spelled with escapes) is refused,
    // as serde refuses a duplicate field: which one counts would be a guess.
    let mut transactions_seen = false;
    let read = reader.object(|r, key| match key.as_ref() {
        b"transactions" => {
            if std::mem::replace(&mut transactions_seen, true) {
                return r.fail("a single `transactions` member (this is a second one)");
            }
            if r.null()? {
                return Ok(());
            }
            r.array(&mut element)
        }
        b"_links" => {
            envelope.has_links = true;
            envelope.next_href = read_next_href(r)?;
            Ok(())
        }
        b"total" => {
            envelope.total = read_total(r)?;
            Ok(())
        }
        _ => r.skip_value(),
    });
    if read.is_err() {
        return Err(reader.error().into());
    }
    if !reader.at_end() {
        return Err(PageDecodeError {
            offset: reader.pos(),
            expected: "the end of the page",
        });
    }
    Ok(envelope)
}

/// The page read and mapped in one pass (the hot path): every row read where it stands.
fn map_text<'a>(
    text: &'a str,
    book: &AccountBook,
    ctx: &MappingContext,
) -> Result<PageMapped<'a>, PageDecodeError> {
    let mut reader = Reader::new(text);
    // Powens rows are 0.5 to 1 KB: reserve once rather than regrow a vector of large items.
    let mut out = PageMapped {
        payments: Vec::with_capacity(text.len() / 640),
        ..PageMapped::default()
    };
    let mut memos = Memos::new(ctx);
    let mut rows = RowReader::default();
    let envelope = walk_page(&mut reader, |r| {
        map_element(r, &mut rows, book, ctx, &mut out, &mut memos)
    })?;
    envelope.fill(&mut out);
    Ok(out)
}

/// Reads the element of a `transactions` array at the cursor and maps it (an element that
/// is not an object is skipped).
#[inline(always)]
fn map_element<'a>(
    r: &mut Reader<'a>,
    rows: &mut RowReader<'a>,
    book: &AccountBook,
    ctx: &MappingContext,
    out: &mut PageMapped<'a>,
    memos: &mut Memos<'a>,
) -> Result<(), Stop> {
    let start = {
        r.ws();
        r.pos()
    };
    if r.peek() != Some(b'{') {
        r.skip_value()?;
        out.skipped.push(not_an_object());
        return Ok(());
    }
    let row = rows.read(r)?;
    let raw = r.slice(start, r.pos());
    map_row(row, raw, book, ctx, out, memos);
    Ok(())
}

/// The skip of an element of `transactions` that is not an object.
fn not_an_object() -> Skipped {
    Skipped::new(
        "transaction",
        None,
        SkipReason::MalformedRow {
            detail: "a transaction must be a JSON object".to_owned(),
        },
    )
}

/// Rows read by another reader than [`map_transactions_page`] (the rows of a webhook
/// account, read in the same single pass as the body around them), mapped with the same
/// machinery and memos: one `RowsMapper` per body.
pub(crate) struct RowsMapper<'a> {
    rows: RowReader<'a>,
    out: PageMapped<'a>,
    memos: Memos<'a>,
}

/// One row read, waiting for its account to be known.
pub(crate) struct PendingRow<'a> {
    row: Option<LeanRow<'a>>,
    raw: &'a str,
}

impl<'a> RowsMapper<'a> {
    pub(crate) fn new(ctx: &MappingContext) -> Self {
        Self {
            rows: RowReader::default(),
            out: PageMapped::default(),
            memos: Memos::new(ctx),
        }
    }

    /// Reads one element of a `transactions` array (at the cursor).
    pub(crate) fn read(&mut self, r: &mut Reader<'a>) -> Result<PendingRow<'a>, Stop> {
        let start = {
            r.ws();
            r.pos()
        };
        if r.peek() != Some(b'{') {
            r.skip_value()?;
            return Ok(PendingRow {
                row: None,
                raw: r.slice(start, r.pos()),
            });
        }
        let row = self.rows.read_owned(r)?;
        Ok(PendingRow {
            row: Some(row),
            raw: r.slice(start, r.pos()),
        })
    }

    /// Reads one element of a `transactions` array (at the cursor) of account `account_id`
    /// (already known: `book` holds it) and maps it at once; returns the row's text.
    pub(crate) fn read_and_map(
        &mut self,
        r: &mut Reader<'a>,
        account_id: i64,
        book: &AccountBook,
        ctx: &MappingContext,
    ) -> Result<&'a str, Stop> {
        let start = {
            r.ws();
            r.pos()
        };
        if r.peek() != Some(b'{') {
            r.skip_value()?;
            self.out.skipped.push(not_an_object());
            return Ok(r.slice(start, r.pos()));
        }
        let row = self.rows.read_for(r, account_id)?;
        let raw = r.slice(start, r.pos());
        map_row(row, raw, book, ctx, &mut self.out, &mut self.memos);
        Ok(raw)
    }

    /// How much is mapped so far, to [`RowsMapper::truncate`] back to.
    pub(crate) fn mark(&self) -> [usize; 4] {
        [
            self.out.payments.len(),
            self.out.external_accounts.len(),
            self.out.tombstones.len(),
            self.out.skipped.len(),
        ]
    }

    /// Forgets what was mapped since `mark`.
    pub(crate) fn truncate(&mut self, mark: [usize; 4]) {
        self.out.payments.truncate(mark[0]);
        self.out.external_accounts.truncate(mark[1]);
        self.out.tombstones.truncate(mark[2]);
        self.out.skipped.truncate(mark[3]);
    }

    /// Appends what `other` mapped.
    pub(crate) fn append(&mut self, other: &mut RowsMapper<'a>) {
        let mut taken = other.take();
        self.out.payments.append(&mut taken.payments);
        self.out
            .external_accounts
            .append(&mut taken.external_accounts);
        self.out.tombstones.append(&mut taken.tombstones);
        self.out.skipped.append(&mut taken.skipped);
    }

    /// Maps `rows` of the account `account_id` (a row without `id_account` belongs to it).
    pub(crate) fn map(
        &mut self,
        rows: Vec<PendingRow<'a>>,
        account_id: i64,
        book: &AccountBook,
        ctx: &MappingContext,
    ) {
        self.out.payments.reserve(rows.len());
        for pending in rows {
            let Some(mut row) = pending.row else {
                self.out.skipped.push(not_an_object());
                continue;
            };
            row.id_account.get_or_insert(account_id);
            map_row(&row, pending.raw, book, ctx, &mut self.out, &mut self.memos);
        }
    }

    /// Everything mapped so far (the mapper starts empty again, keeping its memos).
    pub(crate) fn take(&mut self) -> PageMapped<'a> {
        std::mem::take(&mut self.out)
    }
}

/// What the rows of one page share.
struct Memos<'a> {
    /// The external accounts already emitted (by reference).
    seen_counterparties: BTreeSet<String>,
    /// Texts the payments share.
    texts: RowMemo,
    /// Counterparty references.
    references: References<'a>,
}

impl Memos<'_> {
    fn new(ctx: &MappingContext) -> Self {
        Self {
            seen_counterparties: BTreeSet::new(),
            texts: RowMemo::new(ctx.zone),
            references: References::default(),
        }
    }
}

/// Counterparty references already computed on this page, by their borrowed scheme and
/// identifier text (a page repeats its counterparties; the reference is a SHA-256).
#[derive(Default)]
struct References<'a> {
    known: HashMap<(Option<&'a str>, &'a str), Known, BuildHasherDefault<WordHasher>>,
}

/// A remembered counterparty reference.
struct Known {
    reference: Option<String>,
    /// Whether a payment with this counterparty was mapped (its external account is then
    /// emitted, or was by another spelling of the same identifier).
    emitted: bool,
}

/// A word-at-a-time multiplicative hash for the memo's short keys. Not collision-resistant:
/// a page holds at most a few thousand keys, so even crafted collisions stay cheap.
#[derive(Default)]
struct WordHasher(u64);

impl WordHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

impl Hasher for WordHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let mut tail = [0u8; 8];
        for (slot, byte) in tail.iter_mut().zip(chunks.remainder()) {
            *slot = *byte;
        }
        self.add(u64::from_le_bytes(tail) ^ bytes.len() as u64);
    }

    #[inline]
    fn write_u8(&mut self, value: u8) {
        self.add(u64::from(value));
    }

    #[inline]
    fn write_usize(&mut self, value: usize) {
        self.add(value as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

impl<'a> References<'a> {
    /// The reference of the row's counterparty, when it is memoizable (borrowed text);
    /// `Err(())` when it must be computed from the view.
    fn of(&mut self, row: &LeanRow<'a>) -> Result<(Option<&str>, &mut bool), ()> {
        let Some(key) = row.counterparty.as_ref().and_then(|cp| cp.reference_key()) else {
            return Err(());
        };
        let known = self.known.entry(key).or_insert_with(|| Known {
            reference: counterparty_reference(key.0, key.1),
            emitted: false,
        });
        Ok((known.reference.as_deref(), &mut known.emitted))
    }
}

fn map_row<'a>(
    row: &LeanRow<'a>,
    raw: &'a str,
    book: &AccountBook,
    ctx: &MappingContext,
    out: &mut PageMapped<'a>,
    memos: &mut Memos<'a>,
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
    let Some(account) = book.account_of(row.id_account) else {
        out.skipped.push(Skipped::new(
            "transaction",
            row.id,
            SkipReason::UnknownAccount {
                account_id: row.id_account,
            },
        ));
        return;
    };
    let view = row.view();
    let computed;
    let (reference, emitted) = match memos.references.of(row) {
        Ok((reference, emitted)) => (reference, Some(emitted)),
        Err(()) => {
            computed = view
                .counterparty
                .as_ref()
                .and_then(CounterpartyView::reference);
            (computed.as_deref(), None)
        }
    };
    let texts = Some(&mut memos.texts);
    match map_parts(&view, account, ctx, crate::raw::null(), texts, reference) {
        Ok(Parts::Payment(payment)) => {
            if let (Some(reference), Some(cp)) = (reference, &view.counterparty) {
                let seen = &mut memos.seen_counterparties;
                if emitted.as_deref() != Some(&true) && !seen.contains(reference) {
                    if let Some(external) = map_counterparty(cp, account, payment.created_at) {
                        out.external_accounts.push(external);
                    }
                    seen.insert(reference.to_owned());
                }
                if let Some(emitted) = emitted {
                    *emitted = true;
                }
            }
            let last_update = view.last_update.as_ref().map(|at| memos.texts.instant(at));
            out.payments.push(PaymentRow {
                payment,
                raw,
                last_update,
            });
        }
        Ok(Parts::Deleted(tombstone)) => out.tombstones.push(tombstone),
        Err(reason) => out
            .skipped
            .push(Skipped::new("transaction", row.id, reason)),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn utf8_check_accepts_any_text_and_locates_invalid_bytes_inside_and_outside_strings() {
        let text = format!("{{\"w\":\"Léa 😀 {}\"}}", "é".repeat(100));
        assert_eq!(utf8(text.as_bytes()).unwrap(), text);
        for (bytes, offset) in [
            (&b"{\"w\":\"L\xe9a\"}"[..], 7),
            (b"{\"w\":\"\xf0\x9f\x98\"}", 6),
            (b"{\"w\":\"\xed\xa0\x80\"}", 6),
            (b"{\"w\":1}\xff", 7),
            (b"\xc0\x80{}", 0),
        ] {
            let err = utf8(bytes).unwrap_err();
            assert_eq!((err.offset, err.expected), (offset, "UTF-8 text"));
        }
        let long = [&b"{\"w\":\""[..], &[b'a'; 200], b"\xff\"}"].concat();
        assert_eq!(utf8(&long).unwrap_err().offset, 206);
    }
}
