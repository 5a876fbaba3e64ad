//! One transactions page read from its raw body with `powens-model`'s one-pass reader
//! ([`powens_model::page::map_transactions_page`]): a malformed row is skipped (logged with its
//! reason, like every other mapping skip), never fatal to the page.
//!
//! Shared by [`super::payments`] and [`super::external`]: it maps the page (or a part of
//! one), feeds the watermark's server-time floor with the timestamps the rows carry, and
//! says how the page ends ([`PageEnd`]).

use connector_core::ConnectorError;
use powens_model::page::{map_transactions_page, PageMapped};
use powens_model::{AccountBook, MappingContext};

use super::log_skipped;
use super::watermark::{PageEnd, Watermark};
use crate::error::page_decode_error;

/// Maps a page body, or a part of one (a body of whole rows, see
/// [`powens_model::page::PageSplitter`]), observes its server timestamps in `watermark` and
/// logs its skipped rows for `psu`.
///
/// Timestamps observed (each a lower bound of the server clock, see [`super::watermark`]):
/// a payment's `last_update` and a deleted row's `deleted` instant. A skipped row has none to
/// offer.
pub(crate) fn read_part<'a>(
    body: &'a [u8],
    book: &AccountBook,
    ctx: &MappingContext,
    watermark: &mut Watermark,
    psu: &str,
) -> Result<PageMapped<'a>, ConnectorError> {
    let mapped =
        map_transactions_page(body, book, ctx).map_err(|err| page_decode_error(body, err))?;
    for payment in &mapped.payments {
        watermark.observe(payment.last_update);
    }
    for tombstone in &mapped.tombstones {
        watermark.observe(Some(tombstone.deleted_at));
    }
    log_skipped(psu, &mapped.skipped);
    Ok(mapped)
}

/// Rows a mapped page (or part) held: payments, tombstones and skipped rows.
pub(crate) fn rows_of(mapped: &PageMapped<'_>) -> u64 {
    let rows = mapped.payments.len() + mapped.tombstones.len() + mapped.skipped.len();
    u64::try_from(rows).unwrap_or(u64::MAX)
}

/// How a page of `rows` rows that started at `page_offset` ends, from its envelope (the body,
/// or the body without its rows): see [`PageEnd::of`].
pub(crate) fn page_end(envelope: &PageMapped<'_>, page_offset: u64, rows: u64) -> PageEnd {
    PageEnd::of(
        envelope.next_href.as_deref(),
        envelope.has_links,
        envelope.total,
        page_offset,
        rows,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
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
        let page = read_part(body.as_bytes(), &book, &ctx, &mut watermark, "psu-1").unwrap();
        let references: Vec<&str> = page
            .payments
            .iter()
            .map(|p| p.payment.reference.as_str())
            .collect();
        assert_eq!(references, vec!["1", "3"]);
        assert_eq!(page.skipped.len(), 1);
        assert_eq!(page.skipped[0].id, Some(2));
        assert!(
            matches!(page.skipped[0].reason, SkipReason::MalformedRow { .. }),
            "{:?}",
            page.skipped[0]
        );
        assert_eq!(
            page_end(&page, 0, rows_of(&page)),
            PageEnd::Last,
            "_links without next ends the scan"
        );
        // Europe/Paris summer time: 09:30 local is 07:30 UTC.
        assert_eq!(
            watermark.server_time_floor,
            Some(Utc.with_ymd_and_hms(2026, 6, 18, 7, 30, 0).unwrap())
        );
    }

    #[test]
    fn without_links_a_short_page_is_not_the_last_unless_total_says_so() {
        let ctx = MappingContext::new(Utc.with_ymd_and_hms(2026, 6, 20, 0, 0, 0).unwrap());
        let book = book_of_account_3(&ctx);
        let mut watermark = Watermark::default();
        let body = format!(r#"{{"transactions":[{}]}}"#, row(1, "2026-06-18 08:00:00"));
        let page = read_part(body.as_bytes(), &book, &ctx, &mut watermark, "psu-1").unwrap();
        assert_eq!(page_end(&page, 0, 1), PageEnd::Offset);
        let body = format!(
            r#"{{"transactions":[{}],"total":1}}"#,
            row(1, "2026-06-18 08:00:00")
        );
        let page = read_part(body.as_bytes(), &book, &ctx, &mut watermark, "psu-1").unwrap();
        assert_eq!(page_end(&page, 0, 1), PageEnd::Last);
    }

    #[test]
    fn a_row_without_id_account_belongs_to_the_account_of_a_scoped_listing() {
        let ctx = MappingContext::new(Utc.with_ymd_and_hms(2026, 6, 20, 0, 0, 0).unwrap());
        let account: BankAccount = serde_json::from_str(
            r#"{"id": 3, "id_connection": 7, "currency": {"id": "EUR", "precision": 2}}"#,
        )
        .unwrap();
        let book = AccountBook::scoped(account_context(&account, &ctx).unwrap());
        let body = r#"{"transactions":[{"id":9,"date":"2026-06-12","value":-1.5,"type":"card","coming":false}]}"#;
        let mut watermark = Watermark::default();
        let page = read_part(body.as_bytes(), &book, &ctx, &mut watermark, "psu-1").unwrap();
        assert_eq!(page.payments.len(), 1, "{:?}", page.skipped);
        assert_eq!(
            page.payments[0].payment.source_account_reference.as_deref(),
            Some("3")
        );
        // Unscoped, the same row belongs to no known account.
        let book = AccountBook::single(account_context(&account, &ctx).unwrap());
        let page = read_part(body.as_bytes(), &book, &ctx, &mut watermark, "psu-1").unwrap();
        assert!(page.payments.is_empty());
    }
}
