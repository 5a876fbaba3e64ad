//! Unit tests of trimming and translation (verification and routes are tested in their
//! modules).

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use connector_core::model::{ConnectionDisconnectedErrorType, PaymentStatus};
use connector_core::webhook::{WebhookConfig, WebhookEnvelope, WebhookResponse};
use connector_core::ConnectorError;
use powens_api::time::ManualClock;
use serde_json::{json, Value};

use super::*;

const NOW: (i32, u32, u32) = (2026, 6, 18);

fn handler(chunk: usize) -> PowensWebhooks {
    let now = Utc.with_ymd_and_hms(NOW.0, NOW.1, NOW.2, 6, 0, 0).unwrap();
    PowensWebhooks::new(WebhookOptions {
        transactions_per_piece: chunk,
        ..WebhookOptions::default()
    })
    .with_clock(Arc::new(ManualClock::new(now)))
}

fn config(event: &str) -> WebhookConfig {
    let route = routes::route_for_event(event).unwrap();
    routes::config_for(route, "https://pay.example/hooks/c1", "s3cret")
}

fn envelope(body: impl Into<Vec<u8>>) -> WebhookEnvelope {
    WebhookEnvelope {
        body: body.into(),
        ..WebhookEnvelope::default()
    }
}

fn transaction(id: i64, account: i64, value: &str, coming: bool) -> String {
    format!(
        r#"{{"id": {id}, "id_account": {account}, "date": "2026-06-1{d}", "value": {value},
           "type": "card", "coming": {coming}, "wording": "tx {id}"}}"#,
        d = id % 8 + 1
    )
}

/// An account with `n` transactions, numbered from `first`.
fn account(id: i64, n: i64, first: i64) -> String {
    let txs: Vec<String> = (0..n)
        .map(|i| transaction(first + i, id, &format!("-{}.25", i + 1), i % 10 == 9))
        .collect();
    format!(
        r#"{{"id": {id}, "id_connection": 7, "original_name": "Compte {id}",
           "balance": 1234567890123456789.01, "coming": -10.5,
           "last_update": "2026-06-18 07:00:00",
           "currency": {{"id": "EUR", "precision": 2}},
           "transactions": [{}]}}"#,
        txs.join(",")
    )
}

fn connection_synced(state: &str, accounts: &[String], expire: &str) -> String {
    format!(
        r#"{{"user": {{"id": 42}},
            "connection": {{"id": 7, "id_user": 42, "state": {state}, "error_message": null,
              "last_update": "2026-06-18 07:30:00", "expire": {expire}, "active": true,
              "accounts": [{}]}},
            "id_webhook_data": 1001}}"#,
        accounts.join(",")
    )
}

fn synced(accounts: &[String]) -> String {
    connection_synced("null", accounts, "null")
}

fn pieces(chunk: usize, body: &str, event: &str) -> Vec<Value> {
    handler(chunk)
        .trim(envelope(body), &config(event))
        .unwrap()
        .iter()
        .map(|p| serde_json::from_slice(&p.body).unwrap())
        .collect()
}

fn transaction_counts(pieces: &[Value]) -> Vec<usize> {
    pieces
        .iter()
        .map(|p| {
            let accounts = p["connection"]["accounts"].as_array().unwrap();
            assert!(accounts.len() <= 1);
            accounts
                .first()
                .map_or(0, |a| a["transactions"].as_array().unwrap().len())
        })
        .collect()
}

#[test]
fn trimming_splits_per_account_and_per_chunk_at_the_boundaries() {
    for (n, expected) in [
        (0, vec![0]),
        (1, vec![1]),
        (100, vec![100]),
        (101, vec![100, 1]),
        (250, vec![100, 100, 50]),
    ] {
        let body = synced(&[account(17, n, 1)]);
        let got = pieces(100, &body, "CONNECTION_SYNCED");
        assert_eq!(transaction_counts(&got), expected, "{n} transactions");
    }
}

#[test]
fn trimming_keeps_the_connection_header_and_the_account_balance_in_every_piece() {
    let body = synced(&[account(17, 5, 1), account(18, 0, 100), account(19, 3, 200)]);
    let got = pieces(2, &body, "CONNECTION_SYNCED");
    assert_eq!(transaction_counts(&got), [2, 2, 1, 0, 2, 1]);
    let accounts: Vec<i64> = got
        .iter()
        .map(|p| p["connection"]["accounts"][0]["id"].as_i64().unwrap())
        .collect();
    assert_eq!(accounts, [17, 17, 17, 18, 19, 19]);
    for piece in &got {
        assert_eq!(piece["user"]["id"], json!(42));
        assert_eq!(piece["id_webhook_data"], json!(1001));
        assert_eq!(piece["connection"]["id"], json!(7));
        assert_eq!(
            piece["connection"]["last_update"],
            json!("2026-06-18 07:30:00")
        );
        let account = &piece["connection"]["accounts"][0];
        assert_eq!(account["currency"]["id"], json!("EUR"));
        assert_eq!(account["balance"].to_string(), "1234567890123456789.01");
    }
    // Transactions keep their order across pieces.
    let ids: Vec<i64> = got
        .iter()
        .flat_map(|p| {
            p["connection"]["accounts"][0]["transactions"]
                .as_array()
                .unwrap()
                .clone()
        })
        .map(|t| t["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [1, 2, 3, 4, 5, 200, 201, 202]);
}

#[test]
fn trimming_preserves_exact_numbers_byte_for_byte() {
    let exact = r#"{"id": 1, "id_account": 17, "date": "2026-06-18", "value": -0.1000000000000000055511151231257827, "type": "card", "coming": false, "extra": 1e400}"#;
    let body = synced(&[account(17, 0, 0).replace(
        r#""transactions": []"#,
        &format!(r#""transactions": [{exact}]"#),
    )]);
    let trimmed = handler(100)
        .trim(envelope(body), &config("CONNECTION_SYNCED"))
        .unwrap();
    let text = String::from_utf8(trimmed[0].body.clone()).unwrap();
    assert!(text.contains(exact), "{text}");
    assert!(text.contains("1234567890123456789.01"), "{text}");
}

#[test]
fn a_connection_without_accounts_still_yields_one_piece_for_its_state() {
    let body = connection_synced(r#""SCARequired""#, &[], "null");
    let got = pieces(100, &body, "CONNECTION_SYNCED");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["connection"]["accounts"], json!([]));
    assert_eq!(got[0]["connection"]["state"], json!("SCARequired"));
}

#[test]
fn user_synced_and_account_synced_are_split_too_and_other_events_pass_whole() {
    let second = format!(r#"{{"id": 8, "accounts": [{}]}}"#, account(18, 3, 1));
    let body = format!(
        r#"{{"user": {{"id": 42}}, "connections": [{}, {second}], "id_webhook_data": 5}}"#,
        r#"{"id": 7, "accounts": []}"#,
    );
    let got = pieces(2, &body, "USER_SYNCED");
    let shape: Vec<(i64, usize)> = got
        .iter()
        .map(|p| {
            let c = &p["connections"][0];
            let n = c["accounts"][0]["transactions"]
                .as_array()
                .map_or(0, Vec::len);
            (c["id"].as_i64().unwrap(), n)
        })
        .collect();
    assert_eq!(shape, [(7, 0), (8, 2), (8, 1)]);

    let got = pieces(2, &account(18, 5, 1), "ACCOUNT_SYNCED");
    let sizes: Vec<usize> = got
        .iter()
        .map(|p| p["transactions"].as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, [2, 2, 1]);

    let deleted = r#"{"id": 7, "id_user": 42}"#;
    let whole = handler(1)
        .trim(envelope(deleted), &config("CONNECTION_DELETED"))
        .unwrap();
    assert_eq!(whole.len(), 1);
    assert_eq!(whole[0].body, deleted.as_bytes());
}

#[test]
fn malformed_json_and_unknown_events_are_typed_errors() {
    let h = handler(100);
    for body in [
        "",
        "{",
        "[1,2]",
        r#"{"user": {"id": 1}}"#,
        r#"{"connection": 5}"#,
    ] {
        let err = h
            .trim(envelope(body), &config("CONNECTION_SYNCED"))
            .unwrap_err();
        assert!(
            matches!(err, WebhookError::Unsplittable { .. }),
            "{body}: {err}"
        );
        let err = h
            .translate(&envelope(body), &config("CONNECTION_SYNCED"))
            .unwrap_err();
        assert!(
            matches!(err, WebhookError::MalformedBody(_)),
            "{body}: {err}"
        );
        let connector = ConnectorError::from(err);
        assert!(
            matches!(connector, ConnectorError::Validation { .. }) && !connector.is_retryable()
        );
    }
    let mut unknown = config("USER_DELETED");
    unknown.name = "ACCOUNT_FOUND".into();
    let err = h.translate(&envelope("{}"), &unknown).unwrap_err();
    assert!(matches!(err, WebhookError::UnknownEvent { .. }), "{err}");
    assert!(err.to_string().contains("CONNECTION_SYNCED"), "{err}");
    assert!(h.trim(envelope("{}"), &unknown).is_err());
}

fn translate(event: &str, body: &str) -> Vec<WebhookResponse> {
    handler(100)
        .translate(&envelope(body), &config(event))
        .unwrap()
        .responses
}

fn kinds(responses: &[WebhookResponse]) -> Vec<&'static str> {
    responses
        .iter()
        .map(|r| match r {
            WebhookResponse::UserConnectionReconnected(_) => "reconnected",
            WebhookResponse::UserConnectionDisconnected(_) => "disconnected",
            WebhookResponse::UserConnectionPendingDisconnect(_) => "pending_disconnect",
            WebhookResponse::OpenBankingAccount(_) => "account",
            WebhookResponse::ExternalAccount(_) => "external_account",
            WebhookResponse::OpenBankingPayment(_) => "payment",
            WebhookResponse::PaymentToDelete(_) => "payment_to_delete",
            WebhookResponse::PaymentToCancel(_) => "payment_to_cancel",
            WebhookResponse::Balance(_) => "balance",
            WebhookResponse::UserDisconnected(_) => "user_disconnected",
            _ => "other",
        })
        .collect()
}

#[test]
fn a_successful_sync_is_reconnected_then_accounts_then_payments_then_balances() {
    let body = synced(&[account(17, 2, 1), account(18, 1, 10)]);
    let responses = translate("CONNECTION_SYNCED", &body);
    assert_eq!(
        kinds(&responses),
        [
            "reconnected",
            "account",
            "account",
            "payment",
            "payment",
            "payment",
            "balance",
            "balance"
        ]
    );
    let WebhookResponse::UserConnectionReconnected(event) = &responses[0] else {
        unreachable!()
    };
    assert_eq!(
        (event.psp_user_id.as_str(), event.connection_id.as_str()),
        ("42", "7")
    );
    // The connection's last_update, Paris summer time (UTC+2).
    assert_eq!(event.at.to_rfc3339(), "2026-06-18T05:30:00+00:00");
    let WebhookResponse::OpenBankingAccount(account) = &responses[1] else {
        unreachable!()
    };
    assert_eq!(account.open_banking_user_id.as_deref(), Some("42"));
    assert_eq!(account.open_banking_connection_id.as_deref(), Some("7"));
}

#[test]
fn payment_status_comes_from_the_coming_flag() {
    let body = synced(&[account(17, 10, 1)]);
    let statuses: Vec<(String, PaymentStatus)> = translate("CONNECTION_SYNCED", &body)
        .into_iter()
        .filter_map(|r| match r {
            WebhookResponse::OpenBankingPayment(p) => Some((p.payment.reference, p.payment.status)),
            _ => None,
        })
        .collect();
    assert_eq!(statuses.len(), 10);
    for (reference, status) in statuses {
        let expected = if reference == "10" {
            PaymentStatus::Pending
        } else {
            PaymentStatus::Succeeded
        };
        assert_eq!(status, expected, "transaction {reference}");
    }
}

#[test]
fn every_connection_state_maps_to_its_disconnection_type() {
    use ConnectionDisconnectedErrorType::{NonRecoverable, TemporaryError, UserActionNeeded};
    let table = [
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
        ("notSupported", NonRecoverable),
        ("somethingNew", NonRecoverable),
    ];
    for (state, expected) in table {
        let body = connection_synced(&format!("{state:?}"), &[], "null");
        let responses = translate("CONNECTION_SYNCED", &body);
        let [WebhookResponse::UserConnectionDisconnected(event)] = responses.as_slice() else {
            panic!("{state}: {responses:?}")
        };
        assert_eq!(event.error_type, expected, "{state}");
        assert_eq!(event.psp_user_id.as_deref(), Some("42"));
        assert!(
            event.reason.as_deref().unwrap_or_default().contains(state),
            "{state}"
        );
    }
    for success in ["null", r#""""#, r#""null""#] {
        let body = connection_synced(success, &[], "null");
        assert_eq!(
            kinds(&translate("CONNECTION_SYNCED", &body)),
            ["reconnected"]
        );
    }
}

#[test]
fn a_failed_sync_still_translates_the_data_it_carries_after_the_disconnection() {
    let body = connection_synced(r#""wrongpass""#, &[account(17, 1, 1)], "null");
    assert_eq!(
        kinds(&translate("CONNECTION_SYNCED", &body)),
        ["disconnected", "account", "payment", "balance"]
    );
}

#[test]
fn a_consent_expiring_within_the_horizon_yields_a_pending_disconnect() {
    // now = 2026-06-18 06:00 UTC; horizon 7 days.
    let soon = connection_synced("null", &[], r#""2026-06-20 10:00:00""#);
    let responses = translate("CONNECTION_SYNCED", &soon);
    assert_eq!(kinds(&responses), ["reconnected", "pending_disconnect"]);
    let WebhookResponse::UserConnectionPendingDisconnect(p) = &responses[1] else {
        unreachable!()
    };
    assert_eq!(p.at.to_rfc3339(), "2026-06-20T08:00:00+00:00");
    let later = connection_synced("null", &[], r#""2026-09-20 10:00:00""#);
    assert_eq!(
        kinds(&translate("CONNECTION_SYNCED", &later)),
        ["reconnected"]
    );
}

#[test]
fn deletion_and_pending_disconnect_events_translate_to_connection_events() {
    let responses = translate("CONNECTION_DELETED", r#"{"id": 7, "id_user": 42}"#);
    let [WebhookResponse::UserConnectionDisconnected(event)] = responses.as_slice() else {
        panic!("{responses:?}")
    };
    assert_eq!(
        event.error_type,
        ConnectionDisconnectedErrorType::UserActionNeeded
    );
    assert_eq!(event.connection_id, "7");

    let responses = translate("USER_DELETED", r#"{"id": 42, "id_webhook_data": 3}"#);
    assert_eq!(kinds(&responses), ["user_disconnected"]);

    let body = r#"{"user": {"id": 42}, "connection": {"id": 7, "expire": "2026-07-01 00:00:00"}}"#;
    let responses = translate("CONNECTION_PENDING_DISCONNECT", body);
    let [WebhookResponse::UserConnectionPendingDisconnect(p)] = responses.as_slice() else {
        panic!("{responses:?}")
    };
    assert_eq!(
        (p.connection_id.as_str(), p.at.to_rfc3339().as_str()),
        ("7", "2026-06-30T22:00:00+00:00")
    );
}

#[test]
fn accounts_fetched_and_account_synced_translate_their_accounts() {
    let body = format!(
        r#"{{"user": {{"id": 42}}, "connection": {{"id": 7, "accounts": [{}]}}}}"#,
        account(17, 0, 0)
    );
    assert_eq!(
        kinds(&translate("ACCOUNTS_FETCHED", &body)),
        ["account", "balance"]
    );
    let body = account(17, 2, 1).replacen(
        "\"id_connection\": 7",
        "\"id_connection\": 7, \"id_user\": 42",
        1,
    );
    let responses = translate("ACCOUNT_SYNCED", &body);
    assert_eq!(
        kinds(&responses),
        ["account", "payment", "payment", "balance"]
    );
    let WebhookResponse::OpenBankingPayment(p) = &responses[1] else {
        unreachable!()
    };
    assert_eq!(p.open_banking_user_id.as_deref(), Some("42"));
}

#[test]
fn translating_the_pieces_gives_the_same_payments_as_the_whole_body() {
    let body = synced(&[
        account(17, 250, 1),
        account(18, 0, 1000),
        account(19, 101, 2000),
    ]);
    let h = handler(100);
    let c = config("CONNECTION_SYNCED");
    let payments = |responses: Vec<WebhookResponse>| -> Vec<(String, u128)> {
        responses
            .into_iter()
            .filter_map(|r| match r {
                WebhookResponse::OpenBankingPayment(p) => {
                    Some((p.payment.reference, p.payment.amount.minor().unsigned_abs()))
                }
                _ => None,
            })
            .collect()
    };
    let whole = payments(h.translate(&envelope(body.clone()), &c).unwrap().responses);
    let mut pieced = Vec::new();
    for piece in h.trim(envelope(body), &c).unwrap() {
        let responses = h.translate(&piece, &c).unwrap().responses;
        assert!(matches!(
            responses[0],
            WebhookResponse::UserConnectionReconnected(_)
        ));
        pieced.extend(payments(responses));
    }
    assert_eq!(whole.len(), 351);
    assert_eq!(pieced, whole);
}

#[test]
fn a_row_that_cannot_be_mapped_is_skipped_not_fatal() {
    let bad = account(17, 1, 1).replace(r#""value": -1.25"#, r#""value": -1.255"#);
    let translation = handler(100)
        .translate(&envelope(synced(&[bad])), &config("CONNECTION_SYNCED"))
        .unwrap();
    assert_eq!(
        kinds(&translation.responses),
        ["reconnected", "account", "balance"]
    );
    assert_eq!(translation.skipped.len(), 1);
    assert_eq!(translation.skipped[0].id, Some(1));
}

#[test]
fn a_deleted_row_and_its_possible_replacements_stay_in_one_piece() {
    let rows = [
        r#"{"id": 1, "id_account": 17, "date": "2026-06-10", "value": -5.00, "type": "card", "coming": false}"#,
        r#"{"id": 2, "id_account": 17, "date": "2026-06-11", "value": -120.5, "type": "card", "coming": true, "deleted": "2026-06-18 07:00:00"}"#,
        r#"{"id": 3, "id_account": 17, "date": "2026-06-12", "value": -6.00, "type": "card", "coming": false}"#,
        r#"{"id": 4, "id_account": 17, "date": "2026-06-13", "value": -7.00, "type": "card", "coming": false}"#,
        r#"{"id": 5, "id_account": 17, "date": "2026-06-14", "value": -120.50, "type": "card", "coming": false}"#,
    ];
    let account = account(17, 0, 0).replace(
        r#""transactions": []"#,
        &format!(r#""transactions": [{}]"#, rows.join(",")),
    );
    let body = synced(&[account]);
    let got = pieces(1, &body, "CONNECTION_SYNCED");
    let ids: Vec<Vec<i64>> = got
        .iter()
        .map(|p| {
            p["connection"]["accounts"][0]["transactions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["id"].as_i64().unwrap())
                .collect()
        })
        .collect();
    assert_eq!(ids, [vec![1], vec![3], vec![4], vec![2, 5]]);
    // The last piece retires the provisional row as the whole body would.
    let h = handler(1);
    let last = h
        .trim(envelope(body), &config("CONNECTION_SYNCED"))
        .unwrap()
        .pop()
        .unwrap();
    let responses = h
        .translate(&last, &config("CONNECTION_SYNCED"))
        .unwrap()
        .responses;
    assert_eq!(
        kinds(&responses),
        [
            "reconnected",
            "account",
            "payment",
            "payment_to_delete",
            "balance"
        ]
    );
}
