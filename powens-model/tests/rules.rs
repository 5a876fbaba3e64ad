//! One test per mapping rule; the test name states the rule.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use connector_core::model::{
    ConnectionDisconnectedErrorType, Payment, PaymentScheme, PaymentStatus, PaymentType, Record,
};
use connector_core::money::{Amount, Asset};
use powens_api::accounts::BankAccount;
use powens_api::connections::Connection;
use powens_api::transactions::Transaction;
use powens_api::wire::PowensDateTime;
use powens_model::connection::{
    connection_health, disconnected, pending_disconnect, ConnectionHealth,
};
use powens_model::counterparty::counterparty_reference;
use powens_model::maturation::{mature, MaturationRule, ProvisionalPayment, Retirement};
use powens_model::payment::{map_transaction, Tombstone, TransactionOutcome};
use powens_model::{
    account, keys, money, page, time, AccountBook, AccountContext, MappingContext, SkipReason,
};
use serde_json::json;

fn utc(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

fn ctx() -> MappingContext {
    MappingContext::new(utc("2026-06-01T00:00:00Z")).with_psu_id("psu-1")
}

fn bank_account(extra: serde_json::Value) -> BankAccount {
    let mut base = json!({"id": 17, "id_connection": 7, "original_name": "Compte chèque",
        "currency": {"id": "EUR", "precision": 2}, "last_update": "2026-06-18 06:12:45"});
    for (k, v) in extra.as_object().unwrap() {
        base[k] = v.clone();
    }
    serde_json::from_slice(&serde_json::to_vec(&base).unwrap()).unwrap()
}

fn eur_account() -> AccountContext {
    let mut account = AccountContext::new(17, Asset::new("EUR", 2).unwrap());
    account.connection_id = Some("7".into());
    account
}

fn transaction(extra: serde_json::Value) -> Transaction {
    let mut base = json!({"id": 309, "id_account": 17, "date": "2026-06-18", "value": -16.22,
        "type": "card", "coming": false});
    for (k, v) in extra.as_object().unwrap() {
        base[k] = v.clone();
    }
    serde_json::from_slice(&serde_json::to_vec(&base).unwrap()).unwrap()
}

fn payment_of(tx: &Transaction, account: &AccountContext) -> Payment {
    match map_transaction(tx, account, &ctx()).unwrap() {
        TransactionOutcome::Payment { payment, .. } => *payment,
        other => panic!("expected a payment, got {other:?}"),
    }
}

fn naive(text: &str) -> PowensDateTime {
    PowensDateTime::parse(text).unwrap()
}

// ---- time ----

#[test]
fn naive_powens_datetime_is_paris_wall_clock_converted_to_utc() {
    let paris = chrono_tz::Europe::Paris;
    assert_eq!(
        time::zoned_field(&naive("2026-06-18 06:12:45"), paris),
        utc("2026-06-18T04:12:45Z")
    );
    assert_eq!(
        time::zoned_field(&naive("2026-01-18 06:12:45"), paris),
        utc("2026-01-18T05:12:45Z")
    );
}

#[test]
fn explicit_offset_wins_over_the_zone() {
    let paris = chrono_tz::Europe::Paris;
    assert_eq!(
        time::zoned_field(&naive("2026-06-18 06:12:45 +0000"), paris),
        utc("2026-06-18T06:12:45Z")
    );
    assert_eq!(
        time::zoned_field(&naive("2026-06-18T06:12:45Z"), paris),
        utc("2026-06-18T06:12:45Z")
    );
}

#[test]
fn ambiguous_autumn_hour_takes_the_earlier_instant() {
    // 2026-10-25 02:30 happens twice in Paris (+02:00 then +01:00): the earlier is 00:30Z.
    let at = time::zoned_field(&naive("2026-10-25 02:30:00"), chrono_tz::Europe::Paris);
    assert_eq!(at, utc("2026-10-25T00:30:00Z"));
}

#[test]
fn spring_gap_wall_time_moves_forward_by_the_gap() {
    // 2026-03-29 02:30 does not exist in Paris: read as 03:30 local = 01:30Z.
    let at = time::zoned_field(&naive("2026-03-29 02:30:00"), chrono_tz::Europe::Paris);
    assert_eq!(at, utc("2026-03-29T01:30:00Z"));
    assert_eq!(
        at.with_timezone(&chrono_tz::Europe::Paris)
            .format("%H:%M")
            .to_string(),
        "03:30"
    );
}

#[test]
fn zone_of_naive_datetimes_is_configurable() {
    let ctx = ctx().with_zone(chrono_tz::America::New_York);
    let account = account::map_balance(&bank_account(json!({"balance": 1})), &ctx)
        .unwrap()
        .unwrap();
    assert_eq!(account.created_at, utc("2026-06-18T10:12:45Z"));
}

#[test]
fn transaction_datetime_is_utc_and_date_only_is_midnight_utc() {
    let with_datetime = payment_of(
        &transaction(json!({"datetime": "2026-06-18 21:14:03"})),
        &eur_account(),
    );
    assert_eq!(with_datetime.created_at, utc("2026-06-18T21:14:03Z"));
    let date_only = payment_of(&transaction(json!({})), &eur_account());
    assert_eq!(date_only.created_at, utc("2026-06-18T00:00:00Z"));
}

// ---- money ----

#[test]
fn asset_uses_powens_precision_first_then_iso_4217() {
    let powens = serde_json::from_value(json!({"id": "EUR", "precision": 3})).unwrap();
    assert_eq!(money::asset_of(&powens).unwrap().as_str(), "EUR/3");
    let iso = serde_json::from_value(json!({"id": "kwd"})).unwrap();
    assert_eq!(money::asset_of(&iso).unwrap().as_str(), "KWD/3");
    let jpy = serde_json::from_value(json!({"id": "JPY"})).unwrap();
    assert_eq!(money::asset_of(&jpy).unwrap().as_str(), "JPY/0");
}

#[test]
fn currency_without_any_known_precision_is_a_typed_skip() {
    let unknown = serde_json::from_value(json!({"id": "XBT"})).unwrap();
    assert_eq!(
        money::asset_of(&unknown),
        Err(SkipReason::UnknownCurrency {
            currency: "XBT".into()
        })
    );
    let skipped =
        account::map_accounts(&[bank_account(json!({"currency": {"id": "XBT"}}))], &ctx());
    assert!(skipped.accounts.is_empty());
    assert_eq!(skipped.skipped.len(), 1);
}

#[test]
fn extra_zero_decimals_are_exact_and_non_zero_ones_are_refused() {
    let eur = Asset::new("EUR", 2).unwrap();
    let exact = money::positive_minor_units("-16.220".parse().unwrap(), &eur).unwrap();
    assert_eq!(exact, Amount::from_minor(1622));
    assert!(matches!(
        money::positive_minor_units("16.225".parse().unwrap(), &eur),
        Err(SkipReason::AmountPrecision { .. })
    ));
}

proptest::proptest! {
    #[test]
    fn decimal_to_minor_units_and_back_round_trips(
        minor in -10_i64.pow(15)..10_i64.pow(15),
        precision in 0_u32..=8,
    ) {
        let asset = Asset::new("XTS", precision).unwrap();
        let value = rust_decimal::Decimal::new(minor, precision);
        let amount = money::signed_minor_units(value, &asset).unwrap();
        proptest::prop_assert_eq!(amount.minor(), i128::from(minor));
        proptest::prop_assert_eq!(money::to_decimal(amount, &asset).unwrap(), value);
    }
}

// ---- accounts and balances ----

#[test]
fn account_raw_json_has_no_nested_transactions() {
    let with_txs = bank_account(json!({"transactions": [{"id": 1, "id_account": 17,
        "date": "2026-06-18", "value": 1, "type": "card", "coming": false}]}));
    let record = account::map_account(&with_txs, &ctx()).unwrap();
    assert!(record.raw.get("transactions").is_none());
    assert_eq!(record.raw["id"], json!(17));
}

#[test]
fn account_created_at_is_opening_date_else_last_update_else_fallback() {
    let opening = bank_account(json!({"opening_date": "2014-09-01"}));
    assert_eq!(
        account::map_account(&opening, &ctx()).unwrap().created_at,
        utc("2014-09-01T00:00:00Z")
    );
    let updated = bank_account(json!({}));
    assert_eq!(
        account::map_account(&updated, &ctx()).unwrap().created_at,
        utc("2026-06-18T04:12:45Z")
    );
    let neither = bank_account(json!({"last_update": null}));
    assert_eq!(
        account::map_account(&neither, &ctx()).unwrap().created_at,
        ctx().fallback_instant
    );
}

#[test]
fn account_reference_name_asset_psu_connection_and_metadata() {
    let record = account::map_account(
        &bank_account(
            json!({"iban": "FR7613048379405300290000016", "bic": "BNPAFRPPXXX",
            "number": "3002900000", "name": "Mon compte", "type": "checking", "usage": "PRIV",
            "error": ""}),
        ),
        &ctx(),
    )
    .unwrap();
    assert_eq!(record.reference, "17");
    assert_eq!(record.name.as_deref(), Some("Compte chèque"));
    assert_eq!(record.default_asset.unwrap().as_str(), "EUR/2");
    assert_eq!(record.psu_id.as_deref(), Some("psu-1"));
    assert_eq!(record.open_banking_connection_id.as_deref(), Some("7"));
    let keys: Vec<&str> = record.metadata.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            keys::ACCOUNT_ID,
            keys::ACCOUNT_NUMBER,
            keys::BIC,
            keys::IBAN,
            keys::NAME,
            keys::TYPE,
            keys::USAGE
        ]
    );
}

#[test]
fn account_error_is_in_metadata_when_powens_reports_one() {
    let record =
        account::map_account(&bank_account(json!({"error": "actionNeeded"})), &ctx()).unwrap();
    assert_eq!(record.metadata[keys::ERROR], "actionNeeded");
}

#[test]
fn disabled_and_deleted_accounts_are_emitted_and_flagged() {
    let mapped = account::map_accounts(
        &[
            bank_account(json!({"id": 1, "disabled": "2026-05-30 10:00:00"})),
            bank_account(json!({"id": 2, "deleted": "2026-04-02 09:30:00"})),
        ],
        &ctx(),
    );
    assert_eq!(mapped.accounts.len(), 2);
    assert_eq!(
        mapped.accounts[0].metadata[keys::DISABLED],
        "2026-05-30T08:00:00Z"
    );
    assert_eq!(
        mapped.accounts[1].metadata[keys::DELETED],
        "2026-04-02T07:30:00Z"
    );
}

#[test]
fn available_balance_is_coming_balance_else_balance_plus_coming() {
    let with_cb = bank_account(json!({"balance": 100.00, "coming": -20, "coming_balance": 70.5}));
    let balance = account::map_balance(&with_cb, &ctx()).unwrap().unwrap();
    assert_eq!(
        (
            balance.amount.minor(),
            balance.available_amount.unwrap().minor()
        ),
        (10000, 7050)
    );
    let without_cb = bank_account(json!({"balance": 100.00, "coming": -20.10}));
    let balance = account::map_balance(&without_cb, &ctx()).unwrap().unwrap();
    assert_eq!(balance.available_amount.unwrap().minor(), 7990);
    assert_eq!(balance.created_at, utc("2026-06-18T04:12:45Z"));
    let neither = bank_account(json!({"balance": "100"}));
    assert_eq!(
        account::map_balance(&neither, &ctx())
            .unwrap()
            .unwrap()
            .available_amount,
        None
    );
    assert_eq!(
        account::map_balance(&bank_account(json!({})), &ctx()).unwrap(),
        None
    );
}

// ---- payments ----

#[test]
fn non_negative_value_is_payin_to_the_account_and_negative_is_payout_from_it() {
    let payin = payment_of(&transaction(json!({"value": 0})), &eur_account());
    assert_eq!(payin.payment_type, PaymentType::PayIn);
    assert_eq!(payin.destination_account_reference.as_deref(), Some("17"));
    let payout = payment_of(&transaction(json!({"value": "-16.22"})), &eur_account());
    assert_eq!(payout.payment_type, PaymentType::Payout);
    assert_eq!(payout.source_account_reference.as_deref(), Some("17"));
    assert_eq!(payout.amount, Amount::from_minor(1622));
}

#[test]
fn coming_true_is_pending_and_false_is_succeeded() {
    assert_eq!(
        payment_of(&transaction(json!({"coming": true})), &eur_account()).status,
        PaymentStatus::Pending
    );
    assert_eq!(
        payment_of(&transaction(json!({"coming": false})), &eur_account()).status,
        PaymentStatus::Succeeded
    );
}

#[test]
fn amount_uses_the_account_asset_precision() {
    let jpy = AccountContext::new(17, Asset::new("JPY", 0).unwrap());
    let payment = payment_of(&transaction(json!({"value": -3000})), &jpy);
    assert_eq!(
        (payment.amount.minor(), payment.asset.as_str()),
        (3000, "JPY/0")
    );
    assert!(matches!(
        map_transaction(&transaction(json!({"value": 12.5})), &jpy, &ctx()),
        Err(SkipReason::AmountPrecision { .. })
    ));
}

#[test]
fn card_scheme_only_when_the_card_network_is_visible() {
    let masked = payment_of(
        &transaction(json!({"card": "XXXXXXXXXXXX1234"})),
        &eur_account(),
    );
    assert_eq!(masked.scheme, PaymentScheme::Other);
    let visa = payment_of(
        &transaction(json!({"card": "497010XXXXXX1234"})),
        &eur_account(),
    );
    assert_eq!(visa.scheme, PaymentScheme::CardVisa);
    let mastercard = payment_of(
        &transaction(json!({"card": "2221XXXXXXXX1234"})),
        &eur_account(),
    );
    assert_eq!(mastercard.scheme, PaymentScheme::CardMastercard);
    let transfer = payment_of(&transaction(json!({"type": "transfer"})), &eur_account());
    assert_eq!(transfer.scheme, PaymentScheme::SepaCredit);
    let order = payment_of(&transaction(json!({"type": "order"})), &eur_account());
    assert_eq!(order.scheme, PaymentScheme::SepaDebit);
    let usd = AccountContext::new(17, Asset::new("USD", 2).unwrap());
    assert_eq!(
        payment_of(&transaction(json!({"type": "transfer"})), &usd).scheme,
        PaymentScheme::Other
    );
}

#[test]
fn payment_metadata_names_the_powens_fields() {
    let payment = payment_of(
        &transaction(
            json!({"wording": "HALL'S BEER", "original_wording": "CARTE X1234 HALL'S BEER",
            "simplified_wording": "HALL'S BEER", "id_category": 9998,
            "last_update": "2026-06-18 06:12:44"}),
        ),
        &eur_account(),
    );
    assert_eq!(payment.metadata[keys::TRANSACTION_ID], "309");
    assert_eq!(payment.metadata[keys::CATEGORY_ID], "9998");
    assert_eq!(payment.metadata[keys::DESCRIPTION], "HALL'S BEER");
    assert_eq!(
        payment.metadata[keys::ORIGINAL_WORDING],
        "CARTE X1234 HALL'S BEER"
    );
    assert_eq!(payment.metadata[keys::SIMPLIFIED_WORDING], "HALL'S BEER");
    assert_eq!(payment.metadata[keys::LAST_UPDATE], "2026-06-18T04:12:44Z");
    assert_eq!(payment.metadata[keys::TYPE], "card");
}

#[test]
fn page_payment_raw_is_the_row_as_received() {
    let bytes = br#"{"transactions":[{"id":1,"id_account":17,"date":"2026-06-18","value":-1.50,"type":"card","coming":false,"extra":{"x":[1,2]}}]}"#;
    let mapped =
        page::map_transactions_page(bytes, &AccountBook::single(eur_account()), &ctx()).unwrap();
    let row = mapped.payments.into_iter().next().unwrap();
    assert_eq!(
        row.raw,
        r#"{"id":1,"id_account":17,"date":"2026-06-18","value":-1.50,"type":"card","coming":false,"extra":{"x":[1,2]}}"#
    );
    assert_eq!(row.into_payment().raw["extra"]["x"][1], json!(2));
}

#[test]
fn a_bad_row_is_skipped_with_a_reason_and_never_fails_the_page() {
    let bytes = br#"{"transactions":[{"id":"x"},{"id":2,"id_account":17,"type":"card","coming":false,"value":1},
        {"id":3,"id_account":17,"date":"2026-06-18","value":1,"type":"card","coming":false}]}"#;
    let mapped =
        page::map_transactions_page(bytes, &AccountBook::single(eur_account()), &ctx()).unwrap();
    assert_eq!(mapped.payments.len(), 1);
    let reasons: Vec<_> = mapped.skipped.iter().map(|s| &s.reason).collect();
    assert!(matches!(reasons[0], SkipReason::MalformedRow { .. }));
    assert_eq!(reasons[1], &SkipReason::MissingDate);
}

#[test]
fn bytes_that_are_not_a_page_are_an_error_not_a_panic() {
    let book = AccountBook::single(eur_account());
    assert!(page::map_transactions_page(b"<html>503</html>", &book, &ctx()).is_err());
    assert!(page::map_transactions_page(b"{\"transactions\":[{\"id\":1", &book, &ctx()).is_err());
}

// ---- external accounts ----

#[test]
fn same_counterparty_gets_the_same_reference_whatever_spacing_case_or_label() {
    let a = counterparty_reference(Some("iban"), "FR76 3000 6000 0112 3456 7890 189").unwrap();
    let b = counterparty_reference(Some("IBAN"), "fr7630006000011234567890189").unwrap();
    assert_eq!(a, b);
    assert!(a.starts_with("cp-iban-") && !a.contains("FR76"));
    let other_scheme = counterparty_reference(Some("bban"), "FR7630006000011234567890189").unwrap();
    assert_ne!(a, other_scheme);
}

#[test]
fn counterparty_without_identifier_gives_no_external_account() {
    let tx = transaction(
        json!({"counterparty": {"label": "M DUPONT", "account_scheme_name": null,
        "account_identification": null, "type": "creditor"}}),
    );
    match map_transaction(&tx, &eur_account(), &ctx()).unwrap() {
        TransactionOutcome::Payment {
            payment,
            external_account,
        } => {
            assert!(external_account.is_none());
            assert_eq!(payment.destination_account_reference, None);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn identified_counterparty_is_an_external_account_on_the_other_side() {
    let tx = transaction(
        json!({"value": 12, "counterparty": {"label": "ACME", "account_scheme_name": "iban",
        "account_identification": "DE89370400440532013000", "type": "debtor"}}),
    );
    let TransactionOutcome::Payment {
        payment,
        external_account,
    } = map_transaction(&tx, &eur_account(), &ctx()).unwrap()
    else {
        panic!("expected a payment");
    };
    let external = external_account.unwrap();
    assert_eq!(
        payment.source_account_reference.as_deref(),
        Some(external.reference.as_str())
    );
    assert_eq!(external.metadata[keys::IBAN], "DE89370400440532013000");
    assert_eq!(external.metadata[keys::NAME], "ACME");
    assert_eq!(external.metadata[keys::COUNTERPARTY_ID], external.reference);
}

// ---- maturation ----

fn posted(id: i64, value: f64, date: &str) -> Payment {
    payment_of(
        &transaction(json!({"id": id, "value": value, "date": date})),
        &eur_account(),
    )
}

fn provisional(reference: &str, minor: i128, date: &str) -> ProvisionalPayment {
    ProvisionalPayment {
        reference: reference.into(),
        account_reference: "17".into(),
        value: Amount::from_minor(minor),
        pending_date: date.parse::<NaiveDate>().unwrap(),
    }
}

fn tombstone(reference: &str, minor: i128, date: &str, was_pending: bool) -> Tombstone {
    Tombstone {
        reference: reference.into(),
        account_reference: "17".into(),
        value: Amount::from_minor(minor),
        date: date.parse().unwrap(),
        was_pending,
        deleted_at: utc("2026-06-20T00:00:00Z"),
    }
}

#[test]
fn same_id_flipping_coming_is_reemitted_succeeded_under_the_same_reference() {
    let out = mature(
        &[provisional("309", -1622, "2026-06-17")],
        vec![posted(309, -16.22, "2026-06-18")],
        &[],
        MaturationRule::default(),
    );
    assert_eq!(
        out.retired,
        [Retirement::SameId {
            reference: "309".into()
        }]
    );
    let Record::Payment(payment) = &out.records[0] else {
        panic!()
    };
    assert_eq!(
        (payment.reference.as_str(), payment.status),
        ("309", PaymentStatus::Succeeded)
    );
    assert!(out.pending.is_empty());
}

#[test]
fn deleted_provisional_is_replaced_by_a_new_id_with_same_value_within_the_window() {
    let out = mature(
        &[provisional("601", -2590, "2026-06-10")],
        vec![posted(611, -25.90, "2026-06-20")],
        &[tombstone("601", -2590, "2026-06-10", true)],
        MaturationRule::default(),
    );
    let Record::Payment(payment) = &out.records[0] else {
        panic!()
    };
    assert_eq!(payment.reference, "611");
    assert_eq!(payment.metadata[keys::REPLACES], "601");
    assert_eq!(
        out.records[1],
        Record::PaymentToDelete(connector_core::model::PaymentToDelete {
            reference: "601".into()
        })
    );
    assert_eq!(out.records.len(), 2);
}

#[test]
fn posted_row_outside_the_window_or_with_another_value_does_not_replace() {
    let rule = MaturationRule::default();
    let late = mature(
        &[],
        vec![posted(611, -25.90, "2026-06-21")],
        &[tombstone("601", -2590, "2026-06-10", true)],
        rule,
    );
    assert_eq!(
        late.retired,
        [Retirement::Cancelled {
            reference: "601".into()
        }]
    );
    let other_value = mature(
        &[],
        vec![posted(611, -25.91, "2026-06-12")],
        &[tombstone("601", -2590, "2026-06-10", true)],
        rule,
    );
    assert_eq!(
        other_value.retired,
        [Retirement::Cancelled {
            reference: "601".into()
        }]
    );
    let wider = mature(
        &[],
        vec![posted(611, -25.90, "2026-06-21")],
        &[tombstone("601", -2590, "2026-06-10", true)],
        MaturationRule { window_days: 11 },
    );
    assert!(matches!(wider.retired[0], Retirement::Replaced { .. }));
}

#[test]
fn matching_is_one_to_one_earliest_posted_date_then_lowest_id() {
    let out = mature(
        &[],
        vec![
            posted(650, -5.0, "2026-06-12"),
            posted(640, -5.0, "2026-06-12"),
            posted(630, -5.0, "2026-06-13"),
        ],
        &[
            tombstone("602", -500, "2026-06-11", true),
            tombstone("601", -500, "2026-06-11", true),
        ],
        MaturationRule::default(),
    );
    assert_eq!(
        out.retired,
        [
            Retirement::Replaced {
                provisional: "601".into(),
                posted: "640".into()
            },
            Retirement::Replaced {
                provisional: "602".into(),
                posted: "650".into()
            },
        ]
    );
}

#[test]
fn deleted_rows_that_are_not_replaced_are_cancelled() {
    let out = mature(
        &[],
        vec![],
        &[
            tombstone("701", -1999, "2026-06-02", true),
            tombstone("702", 6000, "2026-05-28", false),
        ],
        MaturationRule::default(),
    );
    assert_eq!(
        out.records,
        [
            Record::PaymentToCancel(connector_core::model::PaymentToCancel {
                reference: "701".into()
            }),
            Record::PaymentToCancel(connector_core::model::PaymentToCancel {
                reference: "702".into()
            }),
        ]
    );
}

#[test]
fn pending_rows_of_the_batch_join_the_open_provisionals() {
    let pending = payment_of(
        &transaction(json!({"id": 800, "coming": true})),
        &eur_account(),
    );
    let out = mature(
        &[provisional("700", -100, "2026-06-01")],
        vec![pending],
        &[],
        MaturationRule::default(),
    );
    let refs: Vec<_> = out.pending.iter().map(|p| p.reference.as_str()).collect();
    assert_eq!(refs, ["700", "800"]);
}

// ---- connections ----

fn connection(state: serde_json::Value, expire: serde_json::Value) -> Connection {
    serde_json::from_value(json!({"id": 7, "id_user": 3, "state": state, "expire": expire}))
        .unwrap()
}

#[test]
fn connection_states_map_to_user_action_temporary_or_non_recoverable() {
    use ConnectionDisconnectedErrorType::*;
    let cases = [
        ("SCARequired", UserActionNeeded),
        ("webauthRequired", UserActionNeeded),
        ("additionalInformationNeeded", UserActionNeeded),
        ("decoupled", UserActionNeeded),
        ("actionNeeded", UserActionNeeded),
        ("wrongpass", UserActionNeeded),
        ("passwordExpired", UserActionNeeded),
        ("validating", UserActionNeeded),
        ("rateLimiting", TemporaryError),
        ("websiteUnavailable", TemporaryError),
        ("bug", NonRecoverable),
        ("somethingNew", NonRecoverable),
    ];
    for (state, expected) in cases {
        let conn = connection(json!(state), json!(null));
        let record = disconnected(&conn, Some("3".into()), utc("2026-06-20T00:00:00Z")).unwrap();
        assert_eq!(record.error_type, expected, "{state}");
        assert!(record.reason.unwrap().starts_with(state));
    }
}

#[test]
fn null_empty_and_string_null_states_are_healthy() {
    for state in [json!(null), json!(""), json!("null")] {
        let conn = connection(state, json!(null));
        assert_eq!(
            connection_health(conn.state.as_ref()),
            ConnectionHealth::Healthy
        );
        assert!(disconnected(&conn, None, utc("2026-06-20T00:00:00Z")).is_none());
    }
}

#[test]
fn consent_expiring_within_the_horizon_is_a_pending_disconnect() {
    let now = utc("2026-06-20T00:00:00Z");
    let paris = chrono_tz::Europe::Paris;
    let soon = connection(json!(null), json!("2026-06-24 23:59:59"));
    let pending = pending_disconnect(&soon, now, TimeDelta::days(7), paris).unwrap();
    assert_eq!(pending.at, utc("2026-06-24T21:59:59Z"));
    let later = connection(json!(null), json!("2026-09-18 06:12:45"));
    assert!(pending_disconnect(&later, now, TimeDelta::days(7), paris).is_none());
    let none = connection(json!(null), json!(null));
    assert!(pending_disconnect(&none, now, TimeDelta::days(7), paris).is_none());
}

// ---- the page reader ----

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
    payment.raw = serde_json::Value::Null;
    assert_eq!(lean.payments[0].payment, *payment);
    assert_eq!(lean.external_accounts, vec![*external_account.unwrap()]);
    assert_eq!(
        payment.metadata[keys::DESCRIPTION],
        "Léa \"Café\" 😀 / \\ \n"
    );
    assert_eq!(payment.metadata[keys::CATEGORY_ID], "food");
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
