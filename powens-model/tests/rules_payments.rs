//! Payment, scheme and external-account rules. One test per rule; the name states it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;

use connector_core::model::{PaymentScheme, PaymentStatus, PaymentType};
use connector_core::money::{Amount, Asset};
use powens_model::counterparty::counterparty_reference;
use powens_model::payment::{map_transaction, TransactionOutcome};
use powens_model::{keys, page, AccountBook, AccountContext, SkipReason};
use serde_json::json;

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
    assert_eq!(payment.metadata.get(keys::TRANSACTION_ID), Some("309"));
    assert_eq!(payment.metadata.get(keys::CATEGORY_ID), Some("9998"));
    assert_eq!(payment.metadata.get(keys::DESCRIPTION), Some("HALL'S BEER"));
    assert_eq!(
        payment.metadata.get(keys::ORIGINAL_WORDING),
        Some("CARTE X1234 HALL'S BEER")
    );
    assert_eq!(
        payment.metadata.get(keys::SIMPLIFIED_WORDING),
        Some("HALL'S BEER")
    );
    assert_eq!(
        payment.metadata.get(keys::LAST_UPDATE),
        Some("2026-06-18T04:12:44Z")
    );
    assert_eq!(payment.metadata.get(keys::TYPE), Some("card"));
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
    let text = row.raw;
    assert_eq!(row.into_payment().raw.get(), text);
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
    assert_eq!(
        external.metadata.get(keys::IBAN),
        Some("DE89370400440532013000")
    );
    assert_eq!(external.metadata.get(keys::NAME), Some("ACME"));
    assert_eq!(
        external.metadata.get(keys::COUNTERPARTY_ID),
        Some(external.reference.as_str())
    );
}
