//! The page splitter: mapping its parts and its envelope gives what mapping the whole page
//! gives, whatever the chunking, on the fixtures and on generated pages; it never panics.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;

use connector_core::model::{Account, Payment};
use powens_model::page::{self, PagePart, PageSplitter};
use powens_model::payment::Tombstone;
use powens_model::{account, AccountBook, MappingContext, Skipped};
use proptest::prelude::*;

/// A page mapping with owned results, external accounts deduplicated by reference (first
/// occurrence wins, as the connector does across parts).
#[derive(Debug, Default, PartialEq)]
struct Mapping {
    payments: Vec<(Payment, String)>,
    external_accounts: Vec<Account>,
    tombstones: Vec<Tombstone>,
    skipped: Vec<Skipped>,
    next_href: Option<String>,
}

impl Mapping {
    /// Adds the mapping of one page body; `Err` with the decode error's text when it fails.
    fn add(
        &mut self,
        bytes: &[u8],
        book: &AccountBook,
        ctx: &MappingContext,
    ) -> Result<(), String> {
        let mapped = page::map_transactions_page(bytes, book, ctx).map_err(|e| e.to_string())?;
        for row in mapped.payments {
            self.payments.push((row.payment, row.raw.to_owned()));
        }
        for external in mapped.external_accounts {
            if !self
                .external_accounts
                .iter()
                .any(|e| e.reference == external.reference)
            {
                self.external_accounts.push(external);
            }
        }
        self.tombstones.extend(mapped.tombstones);
        self.skipped.extend(mapped.skipped);
        if mapped.next_href.is_some() {
            self.next_href = mapped.next_href;
        }
        Ok(())
    }
}

/// Splits `body` pushed in chunks of the given sizes (cycled): the parts and the envelope.
fn split(
    body: &[u8],
    chunks: &[usize],
    max_rows: usize,
    max_bytes: usize,
) -> (Vec<PagePart>, Vec<u8>) {
    let mut splitter = PageSplitter::new(max_rows, max_bytes);
    let mut parts = Vec::new();
    let mut rest = body;
    for size in chunks.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let (chunk, tail) = rest.split_at((*size).clamp(1, rest.len()));
        splitter.push(chunk);
        while let Some(part) = splitter.next_part() {
            parts.push(part);
        }
        rest = tail;
    }
    let seen = splitter.rows_seen();
    let (last, envelope) = splitter.finish();
    parts.extend(last);
    assert_eq!(parts.iter().map(|p| p.rows).sum::<usize>(), seen);
    (parts, envelope)
}

/// Maps the parts then the envelope, as the connector does: `Err` at the first refused body.
fn map_split(
    parts: &[PagePart],
    envelope: &[u8],
    book: &AccountBook,
    ctx: &MappingContext,
) -> Result<Mapping, String> {
    let mut mapping = Mapping::default();
    for part in parts {
        mapping.add(&part.body, book, ctx)?;
    }
    mapping.add(envelope, book, ctx)?;
    Ok(mapping)
}

fn map_whole(body: &[u8], book: &AccountBook, ctx: &MappingContext) -> Result<Mapping, String> {
    let mut mapping = Mapping::default();
    mapping.add(body, book, ctx)?;
    Ok(mapping)
}

/// Mapping the parts and the envelope equals mapping the whole page (both refused, or the
/// same results), and the chunking changes nothing.
fn assert_split_maps_like_whole(
    body: &[u8],
    chunks: &[usize],
    max_rows: usize,
    max_bytes: usize,
    book: &AccountBook,
) {
    let ctx = ctx();
    let (parts, envelope) = split(body, chunks, max_rows, max_bytes);
    assert_eq!(
        (parts.clone(), envelope.clone()),
        split(body, &[body.len()], max_rows, max_bytes)
    );
    let whole = map_whole(body, book, &ctx);
    let split = map_split(&parts, &envelope, book, &ctx);
    match (&whole, &split) {
        (Ok(whole), Ok(split)) => assert_eq!(split, whole, "{}", String::from_utf8_lossy(body)),
        (Err(_), Err(_)) => {}
        _ => panic!(
            "whole {:?} but split {:?}: {}",
            whole.as_ref().map(|_| ()),
            split.as_ref().map(|_| ()),
            String::from_utf8_lossy(body)
        ),
    }
}

#[test]
fn every_fixture_page_maps_the_same_split_in_any_chunking_as_whole() {
    let ctx = ctx();
    let (mut pages, mut payments) = (0, 0);
    for entry in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures")).unwrap()
    {
        let fixture: serde_json::Value =
            serde_json::from_slice(&std::fs::read(entry.unwrap().path()).unwrap()).unwrap();
        let (Some(accounts), Some(transactions)) =
            (fixture.get("accounts"), fixture.get("transactions"))
        else {
            continue;
        };
        let list: powens_api::accounts::BankAccountsList =
            serde_json::from_slice(&serde_json::to_vec(accounts).unwrap()).unwrap();
        let book = account::map_accounts(&list.accounts, &ctx).book;
        // Compact (members in key order: `_links` first) and pretty-printed.
        for body in [
            serde_json::to_vec(transactions).unwrap(),
            serde_json::to_vec_pretty(transactions).unwrap(),
        ] {
            let whole = map_whole(&body, &book, &ctx).unwrap();
            payments += whole.payments.len();
            for (chunks, max_rows, max_bytes) in [
                (&[1][..], 1, usize::MAX),
                (&[7, 3, 50], 2, usize::MAX),
                (&[4096], 1000, 600),
                (&[16 * 1024], 1000, 64 * 1024),
            ] {
                assert_split_maps_like_whole(&body, chunks, max_rows, max_bytes, &book);
            }
            pages += 1;
        }
    }
    assert!(
        pages >= 16 && payments >= 40,
        "only {pages} pages, {payments} payments"
    );
}

/// A row of the generated pages: Powens-shaped payments (posted, pending, deleted, with or
/// without a counterparty, of an unknown account, with a malformed field), and rows that
/// are not objects.
fn row(kind: u8, id: u32, wording: &str, space: &str) -> String {
    let cp = |iban: &str| {
        format!(
            r#"{{"label":"ACME \"SAS\"","account_scheme_name":"iban","account_identification":"{iban}","type":"creditor"}}"#
        )
    };
    let payment = |account: u32, extra: &str, counterparty: &str| {
        format!(
            r#"{{{space}"id":{id},"id_account":{account},"webid":null,"date":"2026-06-{day:02}","datetime":null,"value":-1{id}.5,{space}"type":"card","original_wording":"{wording}","wording":"{wording}","categories":[{{"code":"food","parent_code":null}}],"id_category":null,"coming":false{extra},"last_update":"2026-06-{day:02} 06:12:44","card":"XXXX1234","counterparty":{counterparty},"extra":{{"transactions":[{{"id":9}}],"w":"]}},"}},"documents_count":0{space}}}"#,
            day = 1 + id % 28
        )
    };
    match kind % 10 {
        0 | 1 => payment(17, "", "null"),
        2 => payment(17, "", &cp("FR76 3000 6000 0112 3456 7890 189")),
        3 => payment(17, "", &cp("FR7630006000011234567890189")),
        4 => payment(17, "", &cp("DE89370400440532013000")),
        5 => payment(17, r#","coming":true"#, "null").replacen(r#""coming":false,"#, "", 1),
        6 => payment(
            17,
            r#","deleted":"2026-06-20 10:00:00""#,
            &cp("DE89370400440532013000"),
        ),
        7 => payment(99, "", "null"),
        8 => payment(17, r#","value":"1,5""#, "null").replacen(
            &format!(r#""value":-1{id}.5,"#),
            "",
            1,
        ),
        _ => ["42", r#""a,\"]""#, "null", r#"[1,[2,{"z":"]"}]]"#][id as usize % 4].to_owned(),
    }
}

fn page_body(rows: &[String], members: &[u8], space: &str, links: u8) -> Vec<u8> {
    let mut out = String::from("{");
    for (i, member) in members.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(space);
        let text = match member {
            0 => format!(r#""transactions"{space}:{space}[{space}{}{space}]"#, rows.join(&format!("{space},{space}"))),
            1 => r#""first_date":"2019-03-01","last_date":"2026-08-12""#.to_owned(),
            2 => r#""result_min_date":"2026-06-01","result_max_date":"2026-06-28","total":1000"#.to_owned(),
            3 => match links % 3 {
                0 => r#""_links":{"self":{"href":"/2.0/users/me/transactions"},"next":{"href":"\/2.0\/users\/me\/transactions?offset=1000&q=\"x\""}}"#.to_owned(),
                1 => r#""_links":{"next":null}"#.to_owned(),
                _ => r#""_links":{}"#.to_owned(),
            },
            _ => r#""notes":{"transactions":["[","{"],"k":"\"transactions\":[1]"},"transactions_total":"transactions""#.to_owned(),
        };
        out.push_str(&text);
    }
    out.push_str(space);
    out.push('}');
    out.into_bytes()
}

fn generated_page() -> impl Strategy<Value = Vec<u8>> {
    let wording = prop::sample::select(vec![
        "CARTE X1234 HALL'S BEER",
        r#"L\u00e9a \"Caf\u00e9\" \\ ]},[{"#,
        r#"\\"#,
        "A,B:C",
        "",
    ]);
    let space = prop::sample::select(vec!["", " ", "\n  ", "\t\r\n "]);
    let rows = prop::collection::vec((any::<u8>(), wording), 0..12);
    // `transactions` and `_links` always; the other members sometimes.
    let members =
        (Just(vec![0u8, 1, 2, 3, 4]).prop_shuffle(), 2usize..=5).prop_map(|(order, keep)| {
            order
                .into_iter()
                .enumerate()
                .filter(|(i, m)| *m == 0 || *m == 3 || *i < keep)
                .map(|(_, m)| m)
                .collect::<Vec<_>>()
        });
    (rows, members, space, any::<u8>()).prop_map(|(rows, members, space, links)| {
        let rows: Vec<String> = rows
            .iter()
            .enumerate()
            .map(|(i, (kind, wording))| row(*kind, i as u32 + 1, wording, space))
            .collect();
        page_body(&rows, &members, space, links)
    })
}

fn chunking() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(1usize..300, 1..8)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(600))]

    /// The key property: parts then envelope map like the whole page, in any chunking.
    #[test]
    fn generated_pages_map_the_same_split_in_any_chunking_as_whole(
        body in generated_page(),
        chunks in chunking(),
        max_rows in 1usize..6,
        max_bytes in 0usize..4000,
    ) {
        let whole = map_whole(&body, &AccountBook::single(eur_account()), &ctx());
        prop_assert!(whole.is_ok(), "{}", String::from_utf8_lossy(&body));
        assert_split_maps_like_whole(&body, &chunks, max_rows, max_bytes, &AccountBook::single(eur_account()));
    }

    /// A changed byte anywhere: the split is refused exactly when the whole page is, and
    /// otherwise maps the same.
    #[test]
    fn a_changed_byte_is_refused_split_exactly_when_refused_whole(
        body in generated_page(),
        at in any::<prop::sample::Index>(),
        byte in prop::sample::select(b"\"\\{}[]:,0123456789-+.eEtfnul \t\n\x01\xc3\xa9\xff ax".to_vec()),
        chunks in chunking(),
        max_rows in 1usize..4,
    ) {
        let mut body = body;
        let at = at.index(body.len());
        body[at] = byte;
        assert_split_maps_like_whole(&body, &chunks, max_rows, usize::MAX, &AccountBook::single(eur_account()));
    }

    /// Any bytes in any chunking: no panic, and the chunking changes nothing.
    #[test]
    fn arbitrary_bytes_in_arbitrary_chunks_never_panic(
        body in prop::collection::vec(
            prop_oneof![
                4 => prop::sample::select(b"{}[],:\"\\ \nta".to_vec()),
                1 => any::<u8>(),
            ],
            0..400,
        ),
        prefix in prop::sample::select(vec!["", "{\"transactions\":[", "{\"transactions\":[\"", "{\"a\":\""]),
        chunks in chunking(),
        max_rows in 0usize..4,
        max_bytes in 0usize..64,
    ) {
        let body = [prefix.as_bytes(), &body].concat();
        let (parts, envelope) = split(&body, &chunks, max_rows, max_bytes);
        prop_assert_eq!((parts, envelope), split(&body, &[body.len()], max_rows, max_bytes));
    }
}

#[test]
fn a_page_with_a_malformed_envelope_or_a_truncated_body_is_refused_split_as_whole() {
    let book = AccountBook::single(eur_account());
    let body = page_body(
        &[row(0, 1, "A", ""), row(2, 2, "B", ""), row(9, 3, "C", "")],
        &[1, 0, 3],
        " ",
        0,
    );
    for cut in 0..body.len() {
        assert_split_maps_like_whole(&body[..cut], &[5, 64], 1, usize::MAX, &book);
    }
    assert_split_maps_like_whole(&body, &[5, 64], 1, usize::MAX, &book);
}
