//! Decoding every wire object from JSON written for the tests (fixtures under `fixtures/`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::str::FromStr;

use chrono::{FixedOffset, NaiveDate};
use powens_api::accounts::{
    AccountTypeName, AccountUsage, BankAccount, BankAccountsList, LoanType, Ownership,
};
use powens_api::connections::{ConnectionState, ConnectionsList};
use powens_api::currencies::CurrenciesList;
use powens_api::transactions::{
    AccountSchemeName, CounterpartyType, Transaction, TransactionType, TransactionsPage,
};
use powens_api::users::User;
use powens_api::wire::{decode_json, PowensDateTime};
use rust_decimal::Decimal;

fn dec(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

fn date(text: &str) -> NaiveDate {
    NaiveDate::from_str(text).unwrap()
}

#[test]
fn realistic_card_transaction_decodes_every_field() {
    let tx: Transaction = decode_json(include_bytes!("fixtures/transaction_card.json")).unwrap();
    assert_eq!(tx.id, 309);
    assert_eq!(tx.id_account, 17);
    assert_eq!(tx.value, Some(dec("-16.22")));
    assert_eq!(tx.transaction_type, TransactionType::Card);
    assert_eq!(tx.date, date("2026-06-18"));
    assert_eq!(tx.rdate, Some(date("2026-06-17")));
    assert_eq!(tx.application_date, Some(date("2026-06-17")));
    assert_eq!(tx.datetime, None);
    assert!(!tx.coming);
    assert_eq!(tx.active, Some(true));
    assert_eq!(tx.id_category, Some(9998));
    assert_eq!(tx.card.as_deref(), Some("XXXXXXXXXXXX1234"));
    assert_eq!(tx.state.as_deref(), Some("parsed"));
    assert_eq!(tx.formatted_value.as_deref(), Some("-16,22 €"));
    assert!(tx.categories.is_empty());
    assert_eq!(tx.counterparty, None);
    let last_update = tx.last_update.unwrap();
    assert_eq!(last_update.to_string(), "2026-06-18 06:12:44");
    assert!(!last_update.has_offset());
}

#[test]
fn full_transfer_decodes_string_money_offsets_counterparty_and_ignores_unknown_fields() {
    let tx: Transaction =
        decode_json(include_bytes!("fixtures/transaction_transfer_full.json")).unwrap();
    assert_eq!(tx.value, Some(dec("1250.00")));
    assert_eq!(
        tx.value.unwrap().scale(),
        2,
        "trailing zeros of a string amount are kept"
    );
    assert_eq!(tx.gross_value, Some(dec("1250.005")));
    assert_eq!(tx.original_value, Some(dec("1462.5")));
    assert_eq!(tx.commission, Some(dec("0.35")));
    assert_eq!(tx.original_currency.as_ref().unwrap().id, "USD");
    assert_eq!(tx.commission_currency.as_ref().unwrap().precision, Some(2));
    assert!(tx.coming);
    assert_eq!(tx.transaction_type, TransactionType::Transfer);
    let cp = tx.counterparty.unwrap();
    assert_eq!(cp.label.as_deref(), Some("ACME SAS"));
    assert_eq!(cp.account_scheme_name, Some(AccountSchemeName::Iban));
    assert_eq!(
        cp.account_identification.as_deref(),
        Some("FR7630006000011234567890189")
    );
    assert_eq!(cp.counterparty_type, Some(CounterpartyType::Debtor));
    assert_eq!(tx.categories[0].code.as_deref(), Some("income"));
    let utc = FixedOffset::east_opt(0).unwrap();
    let datetime = tx.datetime.unwrap();
    assert_eq!(datetime.offset, Some(utc));
    assert_eq!(datetime.to_string(), "2026-07-02 08:15:00.123456+00:00");
    assert_eq!(tx.vdatetime.unwrap().offset, None);
    assert_eq!(
        tx.rdatetime.unwrap().offset,
        Some(FixedOffset::east_opt(7200).unwrap())
    );
    assert_eq!(
        tx.last_update.unwrap().offset,
        Some(FixedOffset::east_opt(7200).unwrap())
    );
    assert_eq!(tx.id_cluster, Some(12));
}

#[test]
fn money_from_number_and_from_string_is_the_same_exact_decimal() {
    let as_number: Transaction = decode_json(
        br#"{"id":1,"id_account":2,"date":"2026-01-01","type":"card","coming":false,"value":0.1}"#,
    )
    .unwrap();
    let as_string: Transaction = decode_json(
        br#"{"id":1,"id_account":2,"date":"2026-01-01","type":"card","coming":false,"value":"0.1"}"#,
    )
    .unwrap();
    assert_eq!(as_number.value, Some(dec("0.1")));
    assert_eq!(as_number.value, as_string.value);
}

#[test]
fn money_keeps_digits_a_float_would_lose() {
    let tx: Transaction = decode_json(
        br#"{"id":1,"id_account":2,"date":"2026-01-01","type":"card","coming":false,
             "value":12345678901234567.89,"gross_value":-0.000000000000000001}"#,
    )
    .unwrap();
    assert_eq!(tx.value.unwrap().to_string(), "12345678901234567.89");
    assert_eq!(tx.gross_value.unwrap().to_string(), "-0.000000000000000001");
}

#[test]
fn money_accepts_integers_negative_integers_and_exponents() {
    let tx: Transaction = decode_json(
        br#"{"id":1,"id_account":2,"date":"2026-01-01","type":"card","coming":false,
             "value":-42,"gross_value":1.5e3,"original_value":"2.5E-2","commission":18446744073709551615}"#,
    )
    .unwrap();
    assert_eq!(tx.value, Some(dec("-42")));
    assert_eq!(tx.gross_value, Some(dec("1500")));
    assert_eq!(tx.original_value, Some(dec("0.025")));
    assert_eq!(tx.commission, Some(dec("18446744073709551615")));
}

#[test]
fn money_that_is_not_a_number_fails_with_the_json_path() {
    let err = decode_json::<TransactionsPage>(
        br#"{"transactions":[{"id":1,"id_account":2,"date":"2026-01-01","type":"card","coming":false,"value":"12,50"}]}"#,
    )
    .unwrap_err();
    assert_eq!(err.path, "transactions[0].value");
    assert!(err.to_string().contains("12,50"), "{err}");
}

#[test]
fn money_refuses_to_round_too_many_digits_with_or_without_an_exponent() {
    // 31 significant digits do not fit a Decimal: an error, never a silently rounded amount.
    for value in [
        "1.000000000000000000000000000001",
        "1.000000000000000000000000000001e1",
        "\"1.000000000000000000000000000001E1\"",
        "1e29",
        "1e-29",
    ] {
        let json = format!(
            r#"{{"id":1,"id_account":2,"date":"2026-01-01","type":"card","coming":false,"value":{value}}}"#
        );
        let result = decode_json::<Transaction>(json.as_bytes());
        assert!(
            result.is_err(),
            "{value} decoded as {:?}",
            result.map(|t| t.value)
        );
    }
}

#[test]
fn money_accepts_the_longest_exact_mantissa_with_an_exponent() {
    let tx: Transaction = decode_json(
        br#"{"id":1,"id_account":2,"date":"2026-01-01","type":"card","coming":false,
             "value":1.234567890123456789012345678e2,"gross_value":"-5E+2"}"#,
    )
    .unwrap();
    assert_eq!(tx.value, Some(dec("123.4567890123456789012345678")));
    assert_eq!(tx.gross_value, Some(dec("-500")));
}

#[test]
fn empty_string_money_is_none() {
    let tx: Transaction = decode_json(
        br#"{"id":1,"id_account":2,"date":"2026-01-01","type":"card","coming":false,"value":""}"#,
    )
    .unwrap();
    assert_eq!(tx.value, None);
}

#[test]
fn null_and_missing_fields_decode_alike() {
    let with_nulls: Transaction = decode_json(
        br#"{"id":1,"id_account":2,"date":"2026-01-01","type":"card","coming":false,
             "value":null,"rdate":null,"last_update":null,"counterparty":null,"categories":null,
             "original_currency":null,"active":null,"wording":null}"#,
    )
    .unwrap();
    let missing: Transaction =
        decode_json(br#"{"id":1,"id_account":2,"date":"2026-01-01","type":"card","coming":false}"#)
            .unwrap();
    assert_eq!(with_nulls, missing);
    assert_eq!(missing.value, None);
    assert!(missing.categories.is_empty());
}

#[test]
fn transaction_without_required_id_fails_with_path() {
    let err = decode_json::<TransactionsPage>(
        br#"{"transactions":[{"id_account":2,"date":"2026-01-01","type":"card","coming":false}]}"#,
    )
    .unwrap_err();
    assert_eq!(err.path, "transactions[0]");
    assert!(err.to_string().contains("missing field `id`"), "{err}");
}

#[test]
fn unknown_transaction_type_is_kept_verbatim() {
    let tx: Transaction = decode_json(
        br#"{"id":1,"id_account":2,"date":"2026-01-01","type":"instant","coming":false}"#,
    )
    .unwrap();
    assert_eq!(
        tx.transaction_type,
        TransactionType::Unknown("instant".to_owned())
    );
    assert_eq!(tx.transaction_type.as_str(), "instant");
}

#[test]
fn both_loan_spellings_and_both_summary_card_spellings_are_one_variant() {
    assert_eq!(
        TransactionType::from_wire("loan_payment"),
        TransactionType::LoanPayment
    );
    assert_eq!(
        TransactionType::from_wire("loan_repayment"),
        TransactionType::LoanPayment
    );
    assert_eq!(
        TransactionType::from_wire("summary_card"),
        TransactionType::SummaryCard
    );
    assert_eq!(
        TransactionType::from_wire("card_summary"),
        TransactionType::SummaryCard
    );
    // `unknown` is a real Powens value, distinct from the catch-all.
    assert_eq!(
        TransactionType::from_wire("unknown"),
        TransactionType::UnknownType
    );
    assert!(TransactionType::UnknownType.is_known());
}

#[test]
fn transactions_page_keeps_envelope_dates_total_and_links() {
    let page: TransactionsPage =
        decode_json(include_bytes!("fixtures/transactions_page.json")).unwrap();
    assert_eq!(page.transactions.len(), 2);
    assert_eq!(page.first_date, Some(date("2019-03-01")));
    assert_eq!(page.last_date, Some(date("2026-08-12")));
    assert_eq!(page.result_min_date, Some(date("2026-06-18")));
    assert_eq!(page.result_max_date, Some(date("2026-06-19")));
    assert_eq!(page.total, Some(1834));
    assert_eq!(
        page.next_href(),
        Some("https://acme.biapi.pro/2.0/users/me/transactions?limit=2&offset=2")
    );
    let links = page.links.as_ref().unwrap();
    assert_eq!(links.prev, None);
    assert!(links.this.is_some());
    assert!(page.transactions[0].coming);
    assert!(page.transactions[1].deleted.is_some());
}

#[test]
fn last_page_without_links_has_no_next() {
    for body in [
        &br#"{"transactions":[]}"#[..],
        br#"{"transactions":[],"_links":null}"#,
        br#"{"transactions":[],"_links":{"next":null}}"#,
        br#"{"transactions":null,"_links":{"self":{"href":"/2.0/users/me/transactions"}}}"#,
    ] {
        let page: TransactionsPage = decode_json(body).unwrap();
        assert_eq!(page.next_href(), None);
        assert!(page.transactions.is_empty());
    }
}

#[test]
fn checking_account_decodes_every_field() {
    let account: BankAccount =
        decode_json(include_bytes!("fixtures/bank_account_checking.json")).unwrap();
    assert_eq!(account.id, 17);
    assert_eq!(account.id_connection, Some(7));
    assert_eq!(account.id_source, Some(9));
    assert_eq!(account.balance, Some(dec("7481.01")));
    assert_eq!(account.coming, Some(dec("-120.50")));
    assert_eq!(account.coming_balance, Some(dec("7360.51")));
    assert_eq!(account.bookmarked, Some(false));
    assert_eq!(account.display, Some(true));
    assert_eq!(account.account_type, Some(AccountTypeName::Checking));
    assert_eq!(account.usage, Some(AccountUsage::Private));
    assert_eq!(account.ownership, Some(Ownership::Owner));
    assert_eq!(account.iban.as_deref(), Some("FR7613048379405300290000016"));
    assert_eq!(account.bic.as_deref(), Some("BNPAFRPPXXX"));
    assert_eq!(account.original_name.as_deref(), Some("Compte chèque"));
    let currency = account.currency.unwrap();
    assert_eq!(currency.id, "EUR");
    assert_eq!(currency.precision, Some(2));
    assert_eq!(currency.symbol.as_deref(), Some("€"));
    assert_eq!(currency.prefix, Some(false));
    assert_eq!(account.loan, None);
    assert_eq!(account.error, None);
}

#[test]
fn loan_account_decodes_loan_string_balance_true_bookmark_and_blank_iban() {
    let account: BankAccount =
        decode_json(include_bytes!("fixtures/bank_account_loan.json")).unwrap();
    assert_eq!(account.balance, Some(dec("-182345.67")));
    assert_eq!(account.bookmarked, Some(true));
    assert_eq!(account.iban, None, "an empty IBAN is no IBAN");
    assert_eq!(account.usage, Some(AccountUsage::Organisation));
    assert_eq!(account.ownership, Some(Ownership::CoOwner));
    assert_eq!(account.opening_date, Some(date("2015-03-01")));
    assert_eq!(account.error.as_deref(), Some("websiteUnavailable"));
    assert!(account.disabled.is_some());
    let loan = account.loan.unwrap();
    assert_eq!(loan.total_amount, Some(dec("250000")));
    assert_eq!(loan.used_amount, Some(dec("250000.00")));
    assert_eq!(loan.rate, Some(dec("1.35")));
    assert_eq!(loan.insurance_rate, Some(dec("0.0036")));
    assert_eq!(loan.nb_payments_left, Some(105));
    assert_eq!(loan.next_payment_date, Some(date("2026-07-05")));
    assert_eq!(loan.start_repayment_date, None);
    assert_eq!(loan.deferred, Some(false));
    assert_eq!(loan.loan_type, Some(LoanType::Mortgage));
    assert_eq!(loan.duration, Some(240));
}

#[test]
fn accounts_list_decodes_balances_maps_unknown_types_and_bookmark_forms() {
    let list: BankAccountsList =
        decode_json(include_bytes!("fixtures/accounts_list.json")).unwrap();
    assert_eq!(list.accounts.len(), 3);
    assert_eq!(list.accounts[0].bookmarked, Some(true));
    assert_eq!(list.accounts[1].bookmarked, Some(false));
    assert_eq!(
        list.accounts[1].account_type,
        Some(AccountTypeName::LivretA)
    );
    assert_eq!(list.accounts[1].usage, None);
    assert_eq!(
        list.accounts[2].account_type,
        Some(AccountTypeName::Unknown("brand_new_type".to_owned()))
    );
    assert_eq!(list.accounts[2].usage, Some(AccountUsage::Association));
    assert_eq!(list.accounts[2].balance, Some(dec("125000")));
    let balances = list.balances.unwrap();
    assert_eq!(balances["EUR"], dec("8981.01"));
    assert_eq!(balances["JPY"], dec("125000"));
    assert_eq!(list.coming_balances.unwrap()["EUR"], dec("-120.5"));
    assert_eq!(list.balance, Some(dec("8981.01")));
    assert_eq!(list.total, Some(3));
}

#[test]
fn bookmarked_rejects_values_other_than_booleans_0_and_1() {
    let err = decode_json::<BankAccount>(br#"{"id":1,"bookmarked":2}"#).unwrap_err();
    assert_eq!(err.path, "bookmarked");
    assert!(decode_json::<BankAccount>(br#"{"id":1,"bookmarked":"1"}"#)
        .unwrap()
        .bookmarked
        .unwrap());
}

#[test]
fn connections_decode_states_null_empty_and_null_string_as_success() {
    let list: ConnectionsList =
        decode_json(include_bytes!("fixtures/connections_list.json")).unwrap();
    let states: Vec<_> = list.connections.iter().map(|c| c.state.clone()).collect();
    assert_eq!(
        states,
        vec![
            None,
            Some(ConnectionState::ScaRequired),
            Some(ConnectionState::WrongPass),
            None,
            None,
            Some(ConnectionState::Unknown("quantumEntanglement".to_owned())),
        ]
    );
    let first = &list.connections[0];
    assert_eq!(
        first.connector_uuid.as_deref(),
        Some("f5c29767-1bc8-5337-9e4e-68a0fbd91c9a")
    );
    assert_eq!(first.expire.unwrap().to_string(), "2026-11-28 10:00:00");
    assert_eq!(first.active, Some(true));
    assert_eq!(first.connector.as_ref().unwrap().id, Some(40));
    let source = &first.sources.as_ref().unwrap()[0];
    assert_eq!(source.name.as_deref(), Some("openapi"));
    assert_eq!(source.id_connector_source, Some(88));
    assert_eq!(
        source.access_expire.unwrap().to_string(),
        "2026-11-28 10:00:00"
    );
    assert_eq!(
        list.connections[1].error_message.as_deref(),
        Some("Veuillez vous authentifier")
    );
    assert_eq!(
        list.connections[1].error,
        Some(ConnectionState::ScaRequired)
    );
}

#[test]
fn wrongpass_spellings_are_one_connection_state() {
    assert_eq!(
        ConnectionState::from_wire("wrongpass"),
        ConnectionState::from_wire("wrongPass")
    );
    assert_eq!(ConnectionState::WrongPass.as_str(), "wrongpass");
}

#[test]
fn currencies_decode_precision_crypto_and_marketcap() {
    let list: CurrenciesList = decode_json(include_bytes!("fixtures/currencies.json")).unwrap();
    let precisions: Vec<_> = list.currencies.iter().map(|c| c.precision).collect();
    assert_eq!(precisions, vec![Some(2), Some(0), Some(3), Some(8)]);
    let btc = &list.currencies[3];
    assert_eq!(btc.crypto, Some(true));
    assert_eq!(btc.marketcap, Some(dec("1234567890123.45")));
    assert!(btc.datetime.is_some());
    assert_eq!(list.currencies[2].symbol.as_deref(), Some("KD"));
    assert_eq!(list.currencies[2].crypto, None);
}

#[test]
fn user_decodes_id_and_signin() {
    let user: User = decode_json(include_bytes!("fixtures/user.json")).unwrap();
    assert_eq!(user.id, 7);
    assert_eq!(user.signin.unwrap().to_string(), "2025-12-01 09:59:58");
}

#[test]
fn datetime_accepts_every_documented_and_observed_form() {
    let paris = FixedOffset::east_opt(7200).unwrap();
    let utc = FixedOffset::east_opt(0).unwrap();
    let cases: [(&str, &str, Option<FixedOffset>); 9] = [
        ("2026-06-18 06:12:44", "2026-06-18 06:12:44", None),
        ("2026-06-18T06:12:44", "2026-06-18 06:12:44", None),
        ("2026-06-18 06:12:44.5", "2026-06-18 06:12:44.500", None),
        (
            "2022-06-27T11:08:52.577831Z",
            "2022-06-27 11:08:52.577831",
            Some(utc),
        ),
        ("2026-06-18 06:12:44Z", "2026-06-18 06:12:44", Some(utc)),
        (
            "2026-06-18 12:00:00 +0200",
            "2026-06-18 12:00:00",
            Some(paris),
        ),
        (
            "2026-06-18 12:00:00+02:00",
            "2026-06-18 12:00:00",
            Some(paris),
        ),
        ("2026-06-18T12:00:00+02", "2026-06-18 12:00:00", Some(paris)),
        (
            "2026-01-18T12:00:00-05:30",
            "2026-01-18 12:00:00",
            FixedOffset::east_opt(-19800),
        ),
    ];
    for (input, naive, offset) in cases {
        let parsed = PowensDateTime::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(
            parsed.naive.format("%Y-%m-%d %H:%M:%S%.f").to_string(),
            naive,
            "{input}"
        );
        assert_eq!(parsed.offset, offset, "{input}");
    }
}

#[test]
fn datetime_rejects_malformed_values() {
    for input in [
        "2026-06-18",
        "2026-13-18 06:12:44",
        "2026-06-18 25:00:00",
        "18/06/2026 06:12:44",
        "2026-06-18 06:12:44 CEST",
        "2026-06-18 06:12:44+0",
        "2026-06-18 06:12:44.",
    ] {
        assert!(PowensDateTime::parse(input).is_err(), "{input} accepted");
    }
}

#[test]
fn datetime_with_offset_gives_its_instant_and_naive_one_defers_to_caller_zone() {
    let with_offset = PowensDateTime::parse("2026-06-18 12:00:00 +0200").unwrap();
    assert_eq!(
        with_offset.instant_if_offset().unwrap().to_rfc3339(),
        "2026-06-18T10:00:00+00:00"
    );
    let naive = PowensDateTime::parse("2026-06-18 12:00:00").unwrap();
    assert_eq!(naive.instant_if_offset(), None);
    let plus_one = FixedOffset::east_opt(3600).unwrap();
    assert_eq!(
        naive.to_utc_with(&plus_one).unwrap().to_rfc3339(),
        "2026-06-18T11:00:00+00:00"
    );
    // An explicit offset wins over the caller's zone.
    assert_eq!(
        with_offset.to_utc_with(&plus_one).unwrap().to_rfc3339(),
        "2026-06-18T10:00:00+00:00"
    );
}

#[test]
fn malformed_date_fails_with_path() {
    let err = decode_json::<TransactionsPage>(
        br#"{"transactions":[{"id":1,"id_account":2,"date":"18/06/2026","type":"card","coming":false}]}"#,
    )
    .unwrap_err();
    assert_eq!(err.path, "transactions[0].date");
}

#[test]
fn request_id_decodes_from_integer_and_string() {
    #[derive(serde::Deserialize)]
    struct Probe {
        request_id: powens_api::wire::RequestId,
    }
    let from_int: Probe = decode_json(br#"{"request_id": 123456}"#).unwrap();
    let from_str: Probe = decode_json(br#"{"request_id": "a1b2c3"}"#).unwrap();
    let huge: Probe = decode_json(br#"{"request_id": 123456789012345678901234567890}"#).unwrap();
    assert_eq!(from_int.request_id.as_str(), "123456");
    assert_eq!(from_str.request_id.as_str(), "a1b2c3");
    assert_eq!(huge.request_id.as_str(), "123456789012345678901234567890");
}

#[test]
fn opaque_fields_keep_raw_json_and_do_not_break_the_error_path() {
    let tx: Transaction = decode_json(
        br#"{"id":1,"id_account":2,"date":"2026-01-01","type":"card","coming":false,
             "informations":{"a":[1,2.5,"x"]},"attachments":[{"id":3}]}"#,
    )
    .unwrap();
    assert_eq!(
        tx.information.as_ref().unwrap().get(),
        r#"{"a":[1,2.5,"x"]}"#
    );
    assert_eq!(
        tx.information.unwrap().to_value().unwrap()["a"][1].to_string(),
        "2.5"
    );
    assert_eq!(tx.attachments.unwrap()[0].get(), r#"{"id":3}"#);
    let err = decode_json::<TransactionsPage>(
        br#"{"transactions":[{"id":1,"id_account":2,"date":"2026-01-01","type":"card","coming":false,
             "information":{"k":{"deep":[1,{"x":null}]}},"value":"oops"}]}"#,
    )
    .unwrap_err();
    assert_eq!(err.path, "transactions[0].value");
}

#[test]
fn a_category_or_counterparty_sent_as_an_array_is_refused_not_read_as_an_empty_object() {
    let row = |extra: &str| {
        format!(
            r#"{{"id":1,"id_account":2,"date":"2026-06-18","value":-1,"type":"card","coming":false,{extra}}}"#
        )
    };
    for extra in [
        r#""categories":[[]]"#,
        r#""categories":[["food","other"]]"#,
        r#""counterparty":[]"#,
        r#""counterparty":["ACME",null,null,null]"#,
    ] {
        let error = serde_json::from_str::<Transaction>(&row(extra)).unwrap_err();
        assert!(
            error.to_string().contains("a JSON object"),
            "{extra}: {error}"
        );
    }
    // The object forms still decode, an empty object included.
    let tx: Transaction =
        serde_json::from_str(&row(r#""categories":[{}],"counterparty":{"label":"ACME"}"#)).unwrap();
    assert_eq!(tx.categories.len(), 1);
    assert_eq!(tx.categories[0].code, None);
    assert_eq!(tx.counterparty.unwrap().label.as_deref(), Some("ACME"));
    // And they serialise as objects, as before.
    let page: TransactionsPage = serde_json::from_str(&format!(
        r#"{{"transactions":[{}]}}"#,
        row(r#""categories":[{"code":"food"}]"#)
    ))
    .unwrap();
    let text = serde_json::to_string(&page.transactions[0].categories).unwrap();
    assert_eq!(text, r#"[{"code":"food","parent_code":null}]"#);
}

#[test]
fn links_sent_as_an_array_are_refused_not_read_by_position() {
    let page = r#"{"transactions":[],"_links":[null,null,"/2.0/users/me/transactions?offset=9"]}"#;
    let error = serde_json::from_str::<TransactionsPage>(page).unwrap_err();
    assert!(error.to_string().contains("a JSON object"), "{error}");
    let page: TransactionsPage = serde_json::from_str(
        r#"{"transactions":[],"_links":{"next":"/2.0/users/me/transactions?offset=9"}}"#,
    )
    .unwrap();
    assert_eq!(
        page.next_href(),
        Some("/2.0/users/me/transactions?offset=9")
    );
}
