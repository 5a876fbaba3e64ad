//! Decoding each webhook body from the fixtures under `fixtures/webhooks/`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use powens_api::accounts::AccountTypeName;
use powens_api::transactions::TransactionType;
use powens_api::webhooks::{WebhookEvent, WebhookEventKind};

fn decode(kind: &str, body: &[u8]) -> WebhookEvent {
    WebhookEvent::decode(&WebhookEventKind::from_wire(kind), body).unwrap()
}

#[test]
fn connection_synced_carries_accounts_with_their_new_transactions() {
    let event = decode(
        "CONNECTION_SYNCED",
        include_bytes!("fixtures/webhooks/connection_synced.json"),
    );
    let WebhookEvent::ConnectionSynced(body) = &event else {
        panic!("{event:?}")
    };
    assert_eq!(body.user.id, 7);
    assert_eq!(body.connection.id, 7);
    assert_eq!(body.connection.state, None);
    let accounts = body.connection.accounts.as_ref().unwrap();
    let transactions = accounts[0].transactions.as_ref().unwrap();
    assert_eq!(transactions.len(), 2);
    assert_eq!(
        transactions[1].transaction_type,
        TransactionType::LoanPayment
    );
    assert_eq!(event.id_webhook_data(), Some(555001));
    assert_eq!(event.kind(), WebhookEventKind::ConnectionSynced);
}

#[test]
fn user_synced_carries_connections() {
    let event = decode(
        "USER_SYNCED",
        include_bytes!("fixtures/webhooks/user_synced.json"),
    );
    let WebhookEvent::UserSynced(body) = &event else {
        panic!("{event:?}")
    };
    assert_eq!(body.connections.len(), 1);
    assert_eq!(body.user.platform.as_deref(), Some("sharedAccess"));
    assert_eq!(event.id_webhook_data(), Some(555002));
}

#[test]
fn user_created_and_deleted_bodies_are_user_objects() {
    let created = decode(
        "USER_CREATED",
        include_bytes!("fixtures/webhooks/user_created.json"),
    );
    let WebhookEvent::UserCreated(body) = &created else {
        panic!("{created:?}")
    };
    assert_eq!(body.user.id, 7);
    assert_eq!(created.id_webhook_data(), Some(555003));

    let deleted = decode(
        "USER_DELETED",
        include_bytes!("fixtures/webhooks/user_deleted.json"),
    );
    let WebhookEvent::UserDeleted(body) = &deleted else {
        panic!("{deleted:?}")
    };
    assert_eq!(body.user.id, 7);
    assert_eq!(deleted.id_webhook_data(), None);
}

#[test]
fn connection_deleted_body_is_a_connection_object() {
    let event = decode(
        "CONNECTION_DELETED",
        include_bytes!("fixtures/webhooks/connection_deleted.json"),
    );
    let WebhookEvent::ConnectionDeleted(body) = &event else {
        panic!("{event:?}")
    };
    assert_eq!(body.connection.id, 8);
    assert_eq!(event.id_webhook_data(), Some(555004));
}

#[test]
fn accounts_fetched_carries_the_connection_accounts() {
    let event = decode(
        "ACCOUNTS_FETCHED",
        include_bytes!("fixtures/webhooks/accounts_fetched.json"),
    );
    let WebhookEvent::AccountsFetched(body) = &event else {
        panic!("{event:?}")
    };
    assert_eq!(body.connection.accounts.as_ref().unwrap().len(), 2);
    assert_eq!(body.connection.state, None, "\"\" state means success");
}

#[test]
fn account_events_decode_the_account_object() {
    let synced = decode(
        "ACCOUNT_SYNCED",
        include_bytes!("fixtures/webhooks/account_synced.json"),
    );
    let WebhookEvent::AccountSynced(body) = &synced else {
        panic!("{synced:?}")
    };
    assert_eq!(
        body.account.transactions.as_ref().unwrap()[0].transaction_type,
        TransactionType::SummaryCard
    );
    assert_eq!(synced.id_webhook_data(), Some(555006));

    let found = decode(
        "ACCOUNT_FOUND",
        include_bytes!("fixtures/webhooks/account_found.json"),
    );
    let WebhookEvent::AccountFound(body) = &found else {
        panic!("{found:?}")
    };
    assert_eq!(body.account.id, 20);
    assert_eq!(body.account.account_type, Some(AccountTypeName::Savings));
    assert!(body.account.disabled.is_some());

    let enabled = decode(
        "ACCOUNT_ENABLED",
        include_bytes!("fixtures/webhooks/account_enabled.json"),
    );
    assert!(matches!(&enabled, WebhookEvent::AccountEnabled(b) if b.account.disabled.is_none()));
    let disabled = decode(
        "ACCOUNT_DISABLED",
        include_bytes!("fixtures/webhooks/account_disabled.json"),
    );
    assert!(matches!(&disabled, WebhookEvent::AccountDisabled(b) if b.account.disabled.is_some()));
}

#[test]
fn connection_pending_disconnect_accepts_wrapper_and_bare_connection() {
    let wrapped = decode(
        "CONNECTION_PENDING_DISCONNECT",
        include_bytes!("fixtures/webhooks/connection_pending_disconnect.json"),
    );
    let WebhookEvent::ConnectionPendingDisconnect(body) = &wrapped else {
        panic!("{wrapped:?}")
    };
    assert_eq!(body.connection.id, 7);
    assert_eq!(body.user.as_ref().unwrap().id, 7);
    assert_eq!(body.expire.unwrap().to_string(), "2026-11-28 10:00:00");
    assert_eq!(wrapped.id_webhook_data(), Some(555009));

    let bare = decode(
        "CONNECTION_PENDING_DISCONNECT",
        include_bytes!("fixtures/webhooks/connection_pending_disconnect_bare.json"),
    );
    let WebhookEvent::ConnectionPendingDisconnect(body) = &bare else {
        panic!("{bare:?}")
    };
    assert_eq!(body.connection.id, 7);
    assert!(body.expire.unwrap().has_offset());
    assert_eq!(bare.id_webhook_data(), None);
}

#[test]
fn unknown_event_names_are_kept_without_decoding_the_body() {
    let event = decode("TRANSACTIONS_CLUSTERED", b"not even json");
    assert_eq!(
        event,
        WebhookEvent::Unknown {
            name: "TRANSACTIONS_CLUSTERED".to_owned()
        }
    );
}

#[test]
fn malformed_webhook_body_names_event_and_json_path() {
    let err = WebhookEvent::decode(
        &WebhookEventKind::ConnectionSynced,
        br#"{"user":{"id":7},"connection":{"id":"seven"}}"#,
    )
    .unwrap_err();
    assert_eq!(err.source.path, "connection.id");
    assert!(err.to_string().contains("CONNECTION_SYNCED"), "{err}");
}
