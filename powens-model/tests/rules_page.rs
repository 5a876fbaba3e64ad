//! The transactions page reader: escapes, grammar, nesting, bad rows. One test per rule; the name states it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;

use powens_api::transactions::Transaction;
use powens_model::counterparty::counterparty_reference;
use powens_model::payment::{map_transaction, TransactionOutcome};
use powens_model::{keys, page, AccountBook, SkipReason};
use serde_json::json;

#[test]
fn page_reader_decodes_escapes_like_serde_and_maps_like_the_typed_path() {
    let row = r#"{"id":5,"id_account":17,"date":"2026-06-18","value":"-1.5","type":"card","coming":false,
        "wording":"L\u00e9a \"Caf\u00e9\" \ud83d\ude00 \/ \\ \n","original_wording":"A\tB",
        "categories":[{"code":"food","parent_code":null},{"code":"other"}],"id_category":null,
        "counterparty":{"label":"Z\u00fcrich AG","account_scheme_name":"iban","account_identification":"CH93 0076 2011 6238 5295 7","type":"creditor"}}"#;
    let bytes = format!(
        r#"{{"transactions":[{row}],"_links":{{"next":{{"href":"/2.0/users/me/transactions?offset=1"}}}}}}"#
    );
    let book = AccountBook::single(eur_account());
    let lean = page::map_transactions_page(bytes.as_bytes(), &book, &ctx()).unwrap();
    assert_eq!(
        lean.next_href.as_deref(),
        Some("/2.0/users/me/transactions?offset=1")
    );
    let typed: Transaction = serde_json::from_str(row).unwrap();
    let TransactionOutcome::Payment {
        mut payment,
        external_account,
    } = map_transaction(&typed, &eur_account(), &ctx()).unwrap()
    else {
        panic!("expected a payment");
    };
    payment.raw = serde_json::value::RawValue::NULL.to_owned().into();
    assert_eq!(lean.payments[0].payment, *payment);
    assert_eq!(lean.external_accounts, vec![*external_account.unwrap()]);
    assert_eq!(
        payment.metadata.get(keys::DESCRIPTION),
        Some("Léa \"Café\" 😀 / \\ \n")
    );
    assert_eq!(payment.metadata.get(keys::CATEGORY_ID), Some("food"));
}

#[test]
fn page_reader_refuses_what_is_not_json() {
    let book = AccountBook::single(eur_account());
    for bad in [
        &b"{\"transactions\":[] } x"[..],
        b"{\"transactions\":[{\"id\":01}]}",
        b"{\"transactions\":[{\"id\":1.}]}",
        b"{\"transactions\":[{\"a\":\"\\x\"}]}",
        b"{\"transactions\":[{\"a\":\"\\ud83d\"}]}",
        b"{\"transactions\":[{\"a\":tru}]}",
        b"{\"transactions\":[{\"a\":1,}]}",
        b"{\"transactions\":[{\"a\" 1}]}",
        b"{\"a\":\"unterminated}",
        b"{\"a\":\"\xff\"}",
        b"[]",
    ] {
        assert!(
            page::map_transactions_page(bad, &book, &ctx()).is_err(),
            "{}",
            String::from_utf8_lossy(bad)
        );
    }
}

#[test]
fn a_second_transactions_member_is_refused_whole_and_split_alike() {
    // Found by the `page_split` fuzz target: with two `transactions` members (one spelled
    // with escapes) the whole page and its parts read different rows. Like serde's duplicate
    // field, the page is refused, whichever path reads it.
    let row = |id: u32| {
        format!(
            r#"{{"id":{id},"id_account":17,"date":"2026-06-18","value":1,"type":"card","coming":false}}"#
        )
    };
    let book = AccountBook::single(eur_account());
    for body in [
        format!(
            r#"{{"transactions":[{}],"transactions":[{}]}}"#,
            row(1),
            row(2)
        ),
        format!(
            r#"{{"tr\u0061nsactions":[{}],"transactions":[{}]}}"#,
            row(1),
            row(2)
        ),
        format!(r#"{{"transactions":null,"transactions":[{}]}}"#, row(2)),
    ] {
        let err = page::map_transactions_page(body.as_bytes(), &book, &ctx()).unwrap_err();
        assert!(
            err.to_string().contains("a single `transactions` member"),
            "{err}"
        );
        let mut splitter = page::PageSplitter::new(1, usize::MAX);
        splitter.push(body.as_bytes());
        let mut parts = Vec::new();
        while let Some(part) = splitter.next_part() {
            parts.push(part);
        }
        let (last, envelope) = splitter.finish();
        parts.extend(last);
        assert!(
            page::map_transactions_page(&envelope, &book, &ctx()).is_err(),
            "the envelope of {body} must be refused as the whole page is"
        );
    }
}

#[test]
fn page_reader_bounds_nesting_instead_of_overflowing_the_stack() {
    let deep = format!("{{\"x\":{}1{}}}", "[".repeat(100_000), "]".repeat(100_000));
    let book = AccountBook::single(eur_account());
    let err = page::map_transactions_page(deep.as_bytes(), &book, &ctx()).unwrap_err();
    assert!(err.to_string().contains("nesting"), "{err}");
    let ok = format!(
        "{{\"x\":{}1{}, \"transactions\":[]}}",
        "[".repeat(100),
        "]".repeat(100)
    );
    assert!(page::map_transactions_page(ok.as_bytes(), &book, &ctx()).is_ok());
}

#[test]
fn rows_that_are_not_objects_or_have_wrong_field_types_are_skipped_not_fatal() {
    let bytes = br#"{"transactions":[42,{"id":1,"id_account":17,"date":"2026-06-18","value":1,"type":"card","coming":"yes"},
        {"id":2,"id_account":17,"date":"18/06/2026","value":1,"type":"card","coming":false},
        {"id":3,"id_account":17,"date":"2026-06-18","value":"1,5","type":"card","coming":false}]}"#;
    let mapped =
        page::map_transactions_page(bytes, &AccountBook::single(eur_account()), &ctx()).unwrap();
    assert!(mapped.payments.is_empty());
    let details: Vec<String> = mapped
        .skipped
        .iter()
        .map(|s| match &s.reason {
            SkipReason::MalformedRow { detail } => detail.clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        details,
        [
            "a transaction must be a JSON object",
            "field `coming`: expected a boolean",
            "field `date`: expected a YYYY-MM-DD date, got \"18/06/2026\"",
            "field `value`: expected a decimal amount, got \"1,5\"",
        ]
    );
}

#[test]
fn amount_grammar_is_json_number_text_and_a_malformed_amount_skips_only_its_row() {
    // Accepted: JSON-number text, as a number or inside a string, spaces around tolerated.
    let good = [
        ("\"-16.22\"", -1622),
        ("-16.22", -1622),
        ("\" 7.5 \"", 750),
        ("\"1.5e1\"", 1500),
        ("1E-1", 10),
        ("\"007.10\"", 710),
    ];
    // Refused by the grammar (rust_decimal alone reads the first three).
    let bad = [
        "\"1_000\"",
        "\"+5\"",
        "\"1__0\"",
        "\"12,50\"",
        "\"5.\"",
        "\".5\"",
        "\"1e\"",
        "\"--1\"",
    ];
    let row = |id: usize, value: &str| {
        format!(
            r#"{{"id":{id},"id_account":17,"date":"2026-06-18","value":{value},"type":"card","coming":false}}"#
        )
    };
    let rows: Vec<String> = good
        .iter()
        .map(|(v, _)| *v)
        .chain(bad)
        .enumerate()
        .map(|(i, v)| row(i + 1, v))
        .collect();
    let bytes = format!(r#"{{"transactions":[{}]}}"#, rows.join(","));
    let book = AccountBook::single(eur_account());
    let mapped = page::map_transactions_page(bytes.as_bytes(), &book, &ctx()).unwrap();
    let amounts: Vec<i128> = mapped
        .payments
        .iter()
        .map(|p| {
            let minor = p.payment.amount.minor();
            match p.payment.payment_type {
                connector_core::model::PaymentType::Payout => -minor,
                _ => minor,
            }
        })
        .collect();
    assert_eq!(amounts, good.map(|(_, minor)| minor));
    let skipped: Vec<(Option<i64>, String)> = mapped
        .skipped
        .iter()
        .map(|s| match &s.reason {
            SkipReason::MalformedRow { detail } => (s.id, detail.clone()),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(skipped.len(), bad.len(), "{skipped:?}");
    for ((id, detail), text) in skipped.iter().zip(bad) {
        assert_eq!(
            *id,
            Some((good.len() + 1 + bad.iter().position(|b| *b == text).unwrap()) as i64)
        );
        assert!(
            detail.starts_with("field `value`: expected a decimal amount"),
            "{detail}"
        );
    }
    // The typed path (webhooks, accounts, balances) reads the same grammar.
    for text in bad {
        let typed = serde_json::from_str::<Transaction>(&row(1, text));
        assert!(typed.is_err(), "{text} read by the typed path");
    }
}

#[test]
fn typed_transactions_of_unknown_accounts_are_skipped_with_the_account_id() {
    let txs = vec![
        transaction(json!({"id": 1})),
        transaction(json!({"id": 2, "id_account": 99})),
    ];
    let mapped =
        powens_model::payment::map_transactions(&txs, &AccountBook::single(eur_account()), &ctx());
    assert_eq!(mapped.records.len(), 1);
    assert_eq!(mapped.skipped_count(), 1);
    assert_eq!(
        mapped.skipped[0].reason,
        SkipReason::UnknownAccount {
            account_id: Some(99)
        }
    );
    assert_eq!(mapped.skipped[0].id, Some(2));
}

#[test]
fn one_external_account_per_counterparty_from_its_first_mapped_payment_whatever_the_spelling() {
    let cp = |iban: &str| {
        format!(
            r#"{{"label":"ACME","account_scheme_name":"iban","account_identification":"{iban}","type":"creditor"}}"#
        )
    };
    let row = |id: u32, day: u32, extra: &str, iban: &str| {
        format!(
            r#"{{"id":{id},"id_account":17,"date":"2026-06-{day:02}","value":-1,"type":"transfer","coming":false{extra},"counterparty":{}}}"#,
            cp(iban)
        )
    };
    let spaced = "FR76 3000 6000 0112 3456 7890 189";
    let compact = "FR7630006000011234567890189";
    let other = "DE89370400440532013000";
    let rows = [
        // Deleted, and a value beyond the precision: neither emits the external account.
        row(1, 1, r#","deleted":"2026-06-02 10:00:00""#, spaced),
        row(2, 2, "", spaced).replace(r#""value":-1"#, r#""value":-1.001"#),
        row(3, 3, "", spaced),
        row(4, 4, "", compact),
        row(5, 5, "", spaced),
        row(6, 6, "", other),
        row(7, 7, "", other),
    ];
    let bytes = format!(r#"{{"transactions":[{}]}}"#, rows.join(","));
    let book = AccountBook::single(eur_account());
    let mapped = page::map_transactions_page(bytes.as_bytes(), &book, &ctx()).unwrap();
    let reference = counterparty_reference(Some("iban"), compact).unwrap();
    let created: Vec<_> = mapped
        .external_accounts
        .iter()
        .map(|a| (a.reference.clone(), a.created_at))
        .collect();
    assert_eq!(
        created,
        [
            (reference.clone(), utc("2026-06-03T00:00:00Z")),
            (
                counterparty_reference(Some("iban"), other).unwrap(),
                utc("2026-06-06T00:00:00Z")
            ),
        ]
    );
    let destinations: Vec<_> = mapped
        .payments
        .iter()
        .map(|p| p.payment.destination_account_reference.clone().unwrap())
        .collect();
    assert_eq!(
        destinations[..3],
        [reference.clone(), reference.clone(), reference]
    );
    assert_eq!((mapped.tombstones.len(), mapped.skipped.len()), (1, 1));
}

/// Four rows shaped like Powens', the later ones read through the remembered shape.
fn four_row_page() -> Vec<u8> {
    let row = |id: u32, cp: &str| {
        format!(
            r#"{{"id":{id},"id_account":17,"webid":null,"date":"2026-06-0{id}","datetime":null,"value":-1{id}.5,"type":"card","original_wording":"CARTE {id}","simplified_wording":"A","wording":"A","categories":[{{"code":"food"}}],"id_category":null,"coming":false,"last_update":"2026-06-0{id} 06:12:44","deleted":null,"card":"XXXX1234","counterparty":{cp},"state":"parsed","documents_count":0}}"#
        )
    };
    let cp = r#"{"label":"ACME","account_scheme_name":"iban","account_identification":"FR7630006000011234567890189","type":"creditor"}"#;
    format!(
        r#"{{"transactions":[{},{},{},{}],"_links":{{"next":null}}}}"#,
        row(1, cp),
        row(2, "null"),
        row(3, cp),
        row(4, cp)
    )
    .into_bytes()
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2_000))]

    /// Whatever byte is changed, the reader never panics, and it never accepts what is not
    /// JSON (serde_json decides) but for row isolation: a control character in a string or
    /// a byte that is not UTF-8, whose row is then skipped.
    #[test]
    fn a_changed_byte_never_panics_nor_passes_invalid_json_but_an_isolated_row(
        at in 0usize..1_400,
        byte in proptest::sample::select(b"\"\\{}[]:,0123456789-+.eEtfnul \t\n\x01\x7f\xc3\xa9\xff ax".to_vec()),
    ) {
        let mut bytes = four_row_page();
        let at = at % bytes.len();
        bytes[at] = byte;
        let book = AccountBook::single(eur_account());
        let ours = page::map_transactions_page(&bytes, &book, &ctx());
        let serde = serde_json::from_slice::<serde::de::IgnoredAny>(&bytes);
        if let (Ok(ours), Err(_)) = (&ours, &serde) {
            let isolated = ours.skipped.iter().any(|s| matches!(&s.reason,
                SkipReason::MalformedRow { detail }
                    if detail.contains("control character") || detail.contains("not UTF-8")));
            proptest::prop_assert!(
                isolated && !(0x20..0x80).contains(&byte),
                "accepted invalid JSON: {}", String::from_utf8_lossy(&bytes)
            );
        }
    }
}

#[test]
fn the_four_row_page_maps_every_row() {
    let book = AccountBook::single(eur_account());
    let bytes = four_row_page();
    let mapped = page::map_transactions_page(&bytes, &book, &ctx()).unwrap();
    assert_eq!(mapped.payments.len(), 4);
    assert_eq!(mapped.external_accounts.len(), 1);
}

#[test]
fn a_type_alias_is_written_in_its_canonical_spelling_by_both_paths() {
    let book = AccountBook::single(eur_account());
    for (alias, canonical) in [
        ("card_summary", "summary_card"),
        ("loan_repayment", "loan_payment"),
        ("summary_card", "summary_card"),
        ("brand_new_type", "brand_new_type"),
    ] {
        let row = format!(
            r#"{{"id":9,"id_account":17,"date":"2026-06-18","value":"-3.00","type":"{alias}","coming":false}}"#
        );
        let bytes = format!(r#"{{"transactions":[{row}]}}"#);
        let lean = page::map_transactions_page(bytes.as_bytes(), &book, &ctx()).unwrap();
        let typed: Transaction = serde_json::from_str(&row).unwrap();
        let TransactionOutcome::Payment { payment, .. } =
            map_transaction(&typed, &eur_account(), &ctx()).unwrap()
        else {
            panic!("expected a payment");
        };
        assert_eq!(
            lean.payments[0].payment.metadata.get(keys::TYPE),
            Some(canonical),
            "{alias}"
        );
        assert_eq!(payment.metadata.get(keys::TYPE), Some(canonical), "{alias}");
    }
}
