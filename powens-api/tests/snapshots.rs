//! The decoded (normalised) form of realistic payloads, as reviewed JSON snapshots: amounts as
//! exact decimal strings, datetimes in Powens form with their offset only when one was sent,
//! enums in canonical spelling, unknown fields gone, `null` and missing alike.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use powens_api::transactions::Transaction;
use powens_api::webhooks::{WebhookEvent, WebhookEventKind};
use powens_api::wire::decode_json;

#[test]
fn decoded_full_transfer_transaction() {
    let tx: Transaction =
        decode_json(include_bytes!("fixtures/transaction_transfer_full.json")).unwrap();
    insta::assert_json_snapshot!(tx);
}

#[test]
fn decoded_connection_synced_webhook() {
    let event = WebhookEvent::decode(
        &WebhookEventKind::ConnectionSynced,
        include_bytes!("fixtures/webhooks/connection_synced.json"),
    )
    .unwrap();
    insta::assert_json_snapshot!(event);
}

#[test]
fn decoded_values_serialize_back_to_json_that_decodes_to_the_same_values() {
    let tx: Transaction =
        decode_json(include_bytes!("fixtures/transaction_transfer_full.json")).unwrap();
    let again: Transaction = decode_json(&serde_json::to_vec(&tx).unwrap()).unwrap();
    assert_eq!(again, tx);
    let page: powens_api::transactions::TransactionsPage =
        decode_json(include_bytes!("fixtures/transactions_page.json")).unwrap();
    let again: powens_api::transactions::TransactionsPage =
        decode_json(&serde_json::to_vec(&page).unwrap()).unwrap();
    assert_eq!(again, page);
    let list: powens_api::accounts::BankAccountsList =
        decode_json(include_bytes!("fixtures/accounts_list.json")).unwrap();
    let again: powens_api::accounts::BankAccountsList =
        decode_json(&serde_json::to_vec(&list).unwrap()).unwrap();
    assert_eq!(again, list);
}
