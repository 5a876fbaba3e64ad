//! Row isolation: a row with a raw control character in a string, or bytes that are not
//! UTF-8, is skipped with its reason; the rows before and after it are mapped as if it were
//! not there; damage that makes the page's boundaries unknowable refuses the page. Whole
//! pages and split pages alike.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;

use powens_model::page::{self, PageMapped, PageSplitter};
use powens_model::{AccountBook, SkipReason, Skipped};
use proptest::prelude::*;

/// A Powens-shaped row of account 17 whose `wording` is `wording` (bytes as given).
fn row(id: u32, wording: &[u8]) -> Vec<u8> {
    [
        format!(
            r#"{{"id":{id},"id_account":17,"date":"2026-06-0{id}","value":-1{id}.5,"type":"card","coming":false,"last_update":"2026-06-0{id} 06:12:44","counterparty":{{"label":"ACME","account_scheme_name":"iban","account_identification":"FR7630006000011234567890189","type":"creditor"}},"wording":""#
        )
        .as_bytes(),
        wording,
        br#"","state":"parsed"}"#,
    ]
    .concat()
}

/// `{"transactions":[rows…],"_links":{"next":{"href":"/next"}}}`.
fn page_of(rows: &[Vec<u8>]) -> Vec<u8> {
    [
        &br#"{"transactions":["#[..],
        &rows.join(&b","[..]),
        br#"],"_links":{"next":{"href":"/next"}}}"#,
    ]
    .concat()
}

fn map(bytes: &[u8]) -> PageMapped<'_> {
    page::map_transactions_page(bytes, &AccountBook::single(eur_account()), &ctx()).unwrap()
}

fn detail(skipped: &Skipped) -> &str {
    match &skipped.reason {
        SkipReason::MalformedRow { detail } => detail,
        other => panic!("not a malformed row: {other:?}"),
    }
}

/// Where the wording of `row(id, …)` starts in the row.
fn wording_at(id: u32) -> usize {
    let row = row(id, b"");
    row.len() - br#"","state":"parsed"}"#.len()
}

/// Rows 1 and 3 clean, row 2 with `wording`: the page maps rows 1 and 3 exactly as the page
/// of those two rows does, with row 2 skipped for `expected_detail`.
fn assert_middle_row_skipped(wording: &[u8], expected_detail: &str) {
    let bytes = page_of(&[row(1, b"A"), row(2, wording), row(3, b"C")]);
    let mapped = map(&bytes);
    let without = page_of(&[row(1, b"A"), row(3, b"C")]);
    let clean = map(&without);
    assert_eq!(mapped.payments, clean.payments);
    assert_eq!(mapped.external_accounts, clean.external_accounts);
    assert_eq!(mapped.next_href.as_deref(), Some("/next"));
    assert!(mapped.has_links);
    let raws: Vec<&str> = mapped.payments.iter().map(|p| p.raw).collect();
    let expected_raws = [row(1, b"A"), row(3, b"C")].map(|r| String::from_utf8(r).unwrap());
    assert_eq!(raws, expected_raws, "rows kept byte for byte");
    assert_eq!(mapped.skipped.len(), 1, "{:?}", mapped.skipped);
    assert_eq!(mapped.skipped[0].kind, "transaction");
    assert_eq!(mapped.skipped[0].id, Some(2));
    assert_eq!(detail(&mapped.skipped[0]), expected_detail);
}

#[test]
fn row_isolation_a_raw_control_character_skips_its_row_and_delivers_the_rows_around_it() {
    let at = wording_at(2) + 3;
    assert_middle_row_skipped(
        b"CB \x01 SHOP",
        &format!(
            "a raw control character U+0001 in a string at byte {at} of the row (JSON requires it escaped)"
        ),
    );
}

#[test]
fn row_isolation_a_raw_newline_inside_a_string_skips_its_row() {
    let at = wording_at(2) + 4;
    assert_middle_row_skipped(
        b"LINE\nTWO",
        &format!(
            "a raw control character U+000A in a string at byte {at} of the row (JSON requires it escaped)"
        ),
    );
}

#[test]
fn row_isolation_bytes_that_are_not_utf8_skip_their_row_and_deliver_the_rows_around_it() {
    let at = wording_at(2) + 3;
    let expected = format!("bytes that are not UTF-8 at byte {at} of the row");
    // Latin-1 `é`, a lone continuation byte, a truncated sequence before the closing quote.
    for wording in [&b"CAF\xe9"[..], b"CAF\x80E", b"CAF\xc3"] {
        assert_middle_row_skipped(wording, &expected);
    }
}

#[test]
fn row_isolation_damaged_first_and_last_rows_are_skipped_in_page_order() {
    let bytes = page_of(&[row(1, b"\x1f"), row(2, b"B"), row(3, b"\xff\xfe")]);
    let mapped = map(&bytes);
    let ids: Vec<_> = mapped
        .payments
        .iter()
        .map(|p| p.payment.reference.as_str())
        .collect();
    assert_eq!(ids, ["2"]);
    let skipped: Vec<_> = mapped
        .skipped
        .iter()
        .map(|s| (s.id, detail(s).split(" at byte").next().unwrap()))
        .collect();
    assert_eq!(
        skipped,
        [
            (Some(1), "a raw control character U+001F in a string"),
            (Some(3), "bytes that are not UTF-8"),
        ]
    );
}

#[test]
fn row_isolation_a_damaged_row_without_a_readable_id_is_skipped_without_one() {
    let bytes = b"{\"transactions\":[{\"id\":\"\x01\"},\"\xff\"]}";
    let mapped = map(bytes);
    let ids: Vec<_> = mapped.skipped.iter().map(|s| s.id).collect();
    assert_eq!(ids, [None, None]);
    assert_eq!(
        detail(&mapped.skipped[1]),
        "bytes that are not UTF-8 at byte 1 of the row"
    );
}

#[test]
fn row_isolation_refuses_the_page_when_its_boundaries_cannot_be_trusted() {
    let book = AccountBook::single(eur_account());
    let good = String::from_utf8(row(1, b"A")).unwrap();
    type Offset = fn(&str) -> usize;
    let control: Offset = |bad| bad.find('\x01').unwrap();
    for (bad, offset, expected) in [
        // An unterminated string: the rest of the page is inside it.
        (
            format!("{{\"transactions\":[{good},{{\"id\":2,\"w\":\"\x01]}}"),
            (|bad| bad.len()) as Offset,
            "the end of the string",
        ),
        // Damage and a syntax error (a missing comma) in the same row.
        (
            format!("{{\"transactions\":[{good},{{\"id\":2,\"w\":\"\x01\" \"x\":1}}]}}"),
            (|bad| bad.find(" \"x\"").unwrap() + 1) as Offset,
            "',' or '}' in an object",
        ),
        // A control character outside a string.
        (
            format!("{{\"transactions\":[{good},{{\"id\":2,\x01\"w\":1}}]}}"),
            control,
            "a string",
        ),
        // Damage in the envelope.
        (
            format!("{{\"transactions\":[{good}],\"_links\":{{\"next\":\"/n\x01\"}}}}"),
            control,
            "no control character in a string",
        ),
    ] {
        let err = page::map_transactions_page(bad.as_bytes(), &book, &ctx()).unwrap_err();
        assert_eq!(
            (err.offset, err.expected),
            (offset(&bad), expected),
            "{bad:?}"
        );
    }
    let not_utf8 = [
        &b"{\"total\":1,\"x\":\"\xff\",\"transactions\":["[..],
        good.as_bytes(),
        b"]}",
    ]
    .concat();
    let err = page::map_transactions_page(&not_utf8, &book, &ctx()).unwrap_err();
    assert_eq!((err.offset, err.expected), (16, "UTF-8 text"));
}

/// Parts of `body` split in chunks of `chunk` bytes, mapped one after the other.
fn map_split(body: &[u8], chunk: usize, max_rows: usize) -> (Vec<String>, Vec<Skipped>) {
    let book = AccountBook::single(eur_account());
    let mut splitter = PageSplitter::new(max_rows, 64 * 1024);
    let mut parts = Vec::new();
    for piece in body.chunks(chunk.max(1)) {
        splitter.push(piece);
        while let Some(part) = splitter.next_part() {
            parts.push(part);
        }
    }
    let (last, envelope) = splitter.finish();
    parts.extend(last);
    let (mut references, mut skipped) = (Vec::new(), Vec::new());
    for part in &parts {
        let mapped = page::map_transactions_page(&part.body, &book, &ctx()).unwrap();
        references.extend(mapped.payments.iter().map(|p| p.payment.reference.clone()));
        skipped.extend(mapped.skipped);
    }
    let envelope = page::map_transactions_page(&envelope, &book, &ctx()).unwrap();
    assert_eq!(envelope.next_href.as_deref(), Some("/next"));
    (references, skipped)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// The splitter finds the boundaries of damaged rows in any chunking: its parts map the
    /// same payments and the same skips as the whole page.
    #[test]
    fn row_isolation_the_splitter_finds_the_boundaries_of_damaged_rows_in_any_chunking(
        damaged in prop::collection::vec(any::<bool>(), 1..6),
        damage in prop::sample::select(vec![&b"\x01"[..], b"\n", b"\t\x7f", b"\xff", b"\xe2\x82", b"\\\"\x00"]),
        chunk in 1usize..400,
        max_rows in 1usize..4,
    ) {
        let rows: Vec<Vec<u8>> = damaged
            .iter()
            .zip(1u32..)
            .map(|(&bad, id)| row(id, if bad { damage } else { b"ok" }))
            .collect();
        let body = page_of(&rows);
        let whole = map(&body);
        let references: Vec<String> =
            whole.payments.iter().map(|p| p.payment.reference.clone()).collect();
        let expected: Vec<String> = damaged
            .iter()
            .zip(1u32..)
            .filter(|(&bad, _)| !bad)
            .map(|(_, id)| id.to_string())
            .collect();
        prop_assert_eq!(&references, &expected);
        let skipped_ids: Vec<Option<i64>> = whole.skipped.iter().map(|s| s.id).collect();
        let expected_skips: Vec<Option<i64>> = damaged
            .iter()
            .zip(1i64..)
            .filter(|(&bad, _)| bad)
            .map(|(_, id)| Some(id))
            .collect();
        prop_assert_eq!(skipped_ids, expected_skips);
        let (split_references, split_skipped) = map_split(&body, chunk, max_rows);
        prop_assert_eq!(split_references, references);
        prop_assert_eq!(split_skipped, whole.skipped.clone());
    }
}
