//! One transactions page read from its raw body with `powens-model`'s one-pass reader
//! ([`powens_model::page::map_transactions_page`]): a malformed row is skipped (logged with its
//! reason, like every other mapping skip), never fatal to the page.
//!
//! Shared by [`super::payments`] and [`super::external`]: it maps the page, feeds the
//! watermark's server-time floor with the timestamps the rows carry, and says whether the page
//! is the last of its scan.

use chrono::{DateTime, Utc};
use connector_core::ConnectorError;
use powens_model::keys::LAST_UPDATE;
use powens_model::page::{map_transactions_page, PageMapped};
use powens_model::{AccountBook, MappingContext};

use super::log_skipped;
use super::watermark::Watermark;

/// A mapped page and where the scan stands after it.
pub(crate) struct PageRead<'a> {
    /// The page's payments, external accounts and tombstones (skips already logged).
    pub(crate) mapped: PageMapped<'a>,
    /// Whether this page ends the scan.
    pub(crate) last_page: bool,
}

/// Maps one page body for the accounts of `book`, observes its server timestamps in
/// `watermark` and logs its skipped rows for `psu`.
///
/// Timestamps observed (each a lower bound of the server clock, see [`super::watermark`]):
/// a payment's `last_update` (carried in its [`LAST_UPDATE`] metadata, the same instant the
/// typed path read) and a deleted row's `deleted` instant. A skipped row has none to offer.
///
/// The last page is the one without a `_links.next`, or, when the server sends no `_links`,
/// a short page.
pub(crate) fn read_page<'a>(
    body: &'a [u8],
    book: &AccountBook,
    ctx: &MappingContext,
    limit: u32,
    watermark: &mut Watermark,
    psu: &str,
) -> Result<PageRead<'a>, ConnectorError> {
    let mapped = read_part(body, book, ctx, watermark, psu)?;
    let rows = mapped.payments.len() + mapped.tombstones.len() + mapped.skipped.len();
    let last_page = is_last_page(&mapped, body, rows, limit);
    Ok(PageRead { mapped, last_page })
}

/// Maps a page body, or a part of one (a body of whole rows, see
/// [`powens_model::page::PageSplitter`]), observes its server timestamps in `watermark` and
/// logs its skipped rows for `psu`.
pub(crate) fn read_part<'a>(
    body: &'a [u8],
    book: &AccountBook,
    ctx: &MappingContext,
    watermark: &mut Watermark,
    psu: &str,
) -> Result<PageMapped<'a>, ConnectorError> {
    let mapped = map_transactions_page(body, book, ctx).map_err(|err| {
        // Like a `powens_api::Error::Decode` (e.g. a truncated page): retried by the engine.
        ConnectorError::other(
            format!("Powens call failed: cannot decode the transactions page: {err}"),
            err,
        )
    })?;
    for payment in &mapped.payments {
        watermark.observe(
            payment
                .payment
                .metadata
                .get(LAST_UPDATE)
                .and_then(parse_instant),
        );
    }
    for tombstone in &mapped.tombstones {
        watermark.observe(Some(tombstone.deleted_at));
    }
    log_skipped(psu, &mapped.skipped);
    Ok(mapped)
}

/// Whether a page of `rows` rows, whose envelope (the body, or the body without its rows)
/// mapped to `envelope`, ends its scan: no `_links.next`, and either a `_links` member or a
/// short page.
pub(crate) fn is_last_page(
    envelope: &PageMapped<'_>,
    body: &[u8],
    rows: usize,
    limit: u32,
) -> bool {
    envelope.next_href.is_none()
        && (has_links(body) || rows < usize::try_from(limit).unwrap_or(usize::MAX))
}

fn parse_instant(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|at| at.with_timezone(&Utc))
}

/// Whether the page carries a `_links` member. Inside a JSON string a quote is escaped, so
/// the exact bytes `"_links"` only occur as a key (Powens rows have no such key).
fn has_links(body: &[u8]) -> bool {
    const KEY: &[u8] = b"\"_links\"";
    body.windows(KEY.len()).rev().any(|window| window == KEY)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use powens_api::accounts::BankAccount;
    use powens_model::account::account_context;
    use powens_model::SkipReason;

    fn book_of_account_3(ctx: &MappingContext) -> AccountBook {
        let account: BankAccount = serde_json::from_str(
            r#"{
            "id": 3, "id_connection": 7, "id_user": 7, "id_source": 9, "id_parent": null,
            "number": "3002900000", "webid": "3002900000", "original_name": "Compte chèque",
            "name": "Compte Chèque", "balance": 10.0, "coming": null, "coming_balance": 10.0,
            "formatted_balance": null, "display": true, "bookmarked": 0,
            "last_update": "2026-06-18 06:12:45", "deleted": null, "disabled": null,
            "iban": null, "bic": null,
            "currency": {"id": "EUR", "symbol": "€", "prefix": false, "crypto": false,
                "precision": 2, "marketcap": null, "datetime": null, "name": "Euro"},
            "type": "checking", "id_type": 2, "usage": "PRIV", "ownership": "owner",
            "company_name": null, "opening_date": "2014-09-01", "error": null, "loan": null,
            "information": {}
        }"#,
        )
        .unwrap();
        AccountBook::single(account_context(&account, ctx).unwrap())
    }

    fn row(id: u32, last_update: &str) -> String {
        format!(
            r#"{{"id":{id},"id_account":3,"date":"2026-06-1{id}","rdate":"2026-06-1{id}","value":-12.5,"original_wording":"CB SHOP","wording":"Shop","type":"card","coming":false,"deleted":null,"last_update":"{last_update}"}}"#
        )
    }

    #[test]
    fn a_malformed_row_is_skipped_and_the_rest_of_the_page_comes_through() {
        let ctx = MappingContext::new(Utc.with_ymd_and_hms(2026, 6, 20, 0, 0, 0).unwrap());
        let book = book_of_account_3(&ctx);
        let body = format!(
            r#"{{"transactions":[{},{{"id":2,"id_account":3,"date":"2026-06-12","value":"not a number","type":"card","coming":false}},{}],"_links":{{"next":null}}}}"#,
            row(1, "2026-06-18 08:00:00"),
            row(3, "2026-06-18 09:30:00"),
        );
        let mut watermark = Watermark::default();
        let page = read_page(body.as_bytes(), &book, &ctx, 3, &mut watermark, "psu-1").unwrap();
        let references: Vec<&str> = page
            .mapped
            .payments
            .iter()
            .map(|p| p.payment.reference.as_str())
            .collect();
        assert_eq!(references, vec!["1", "3"]);
        assert_eq!(page.mapped.skipped.len(), 1);
        assert_eq!(page.mapped.skipped[0].id, Some(2));
        assert!(
            matches!(
                page.mapped.skipped[0].reason,
                SkipReason::MalformedRow { .. }
            ),
            "{:?}",
            page.mapped.skipped[0]
        );
        assert!(page.last_page, "_links without next ends the scan");
        // Europe/Paris summer time: 09:30 local is 07:30 UTC.
        assert_eq!(
            watermark.server_time_floor,
            Some(Utc.with_ymd_and_hms(2026, 6, 18, 7, 30, 0).unwrap())
        );
    }

    #[test]
    fn without_links_only_a_short_page_is_the_last() {
        let ctx = MappingContext::new(Utc.with_ymd_and_hms(2026, 6, 20, 0, 0, 0).unwrap());
        let book = book_of_account_3(&ctx);
        let body = format!(r#"{{"transactions":[{}]}}"#, row(1, "2026-06-18 08:00:00"));
        let mut watermark = Watermark::default();
        let full = read_page(body.as_bytes(), &book, &ctx, 1, &mut watermark, "psu-1").unwrap();
        assert!(!full.last_page);
        let short = read_page(body.as_bytes(), &book, &ctx, 2, &mut watermark, "psu-1").unwrap();
        assert!(short.last_page);
    }
}
