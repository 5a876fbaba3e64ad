//! Account and balance rules. One test per rule; the name states it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;

use powens_model::{account, keys};
use serde_json::json;

#[test]
fn account_raw_json_has_no_nested_transactions() {
    let with_txs = bank_account(json!({"transactions": [{"id": 1, "id_account": 17,
        "date": "2026-06-18", "value": 1, "type": "card", "coming": false}]}));
    let record = account::map_account(&with_txs, &ctx()).unwrap();
    let raw: serde_json::Value = serde_json::from_str(record.raw.get()).unwrap();
    assert!(raw.get("transactions").is_none());
    assert_eq!(raw["id"], json!(17));
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
    let keys: Vec<&str> = record.metadata.keys().collect();
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
    assert_eq!(record.metadata.get(keys::ERROR), Some("actionNeeded"));
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
        mapped.accounts[0].metadata.get(keys::DISABLED),
        Some("2026-05-30T08:00:00Z")
    );
    assert_eq!(
        mapped.accounts[1].metadata.get(keys::DELETED),
        Some("2026-04-02T07:30:00Z")
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

#[test]
fn account_raw_can_be_the_json_as_received_minus_transactions() {
    let received = r#"{"id": 17, "balance": 7481.010, "bookmarked": 0, "transactions": [],
        "currency": {"id": "EUR", "precision": 2}}"#;
    let typed: powens_api::accounts::BankAccount = serde_json::from_str(received).unwrap();
    let raw = serde_json::value::RawValue::from_string(received.to_owned()).unwrap();
    let record = account::map_account_with_raw(&typed, raw, &ctx()).unwrap();
    // Members keep their order and their exact text (`7481.010`); only `transactions` goes.
    assert_eq!(
        serde_json::to_string(&record.raw).unwrap(),
        r#"{"id":17,"balance":7481.010,"bookmarked":0,"currency":{"id": "EUR", "precision": 2}}"#
    );
}
