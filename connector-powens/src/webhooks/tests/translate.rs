//! Translation: ordering, statuses, connection states, consent, events, skips.

use super::*;

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
fn one_read_gives_the_key_the_user_and_every_account_payments_in_body_order() {
    let body = synced(&[
        account(17, 250, 1),
        account(18, 0, 1000),
        account(19, 101, 2000),
    ]);
    let translation = handler()
        .translate(&envelope(body), &config("CONNECTION_SYNCED"))
        .unwrap();
    assert_eq!(translation.idempotency_key, "id_webhook_data:1001");
    assert_eq!(translation.psp_user_id.as_deref(), Some("42"));
    assert!(translation.sync_requested);
    let references: Vec<i64> = translation
        .responses
        .iter()
        .filter_map(|r| match r {
            WebhookResponse::OpenBankingPayment(p) => p.payment.reference.parse().ok(),
            _ => None,
        })
        .collect();
    let expected: Vec<i64> = (1..=250).chain(2000..2101).collect();
    assert_eq!(references, expected);
}

#[test]
fn a_row_without_id_account_belongs_to_the_account_it_is_listed_under() {
    let row = r#"{"id": 5, "date": "2026-06-10", "value": -3.5, "type": "card", "coming": false}"#;
    let account = account(17, 0, 0).replace(
        r#""transactions": []"#,
        &format!(r#""transactions": [{row}]"#),
    );
    let translation = handler()
        .translate(&envelope(synced(&[account])), &config("CONNECTION_SYNCED"))
        .unwrap();
    assert!(translation.skipped.is_empty(), "{:?}", translation.skipped);
    assert_eq!(
        kinds(&translation.responses),
        ["reconnected", "account", "payment", "balance"]
    );
}

#[test]
fn a_row_that_cannot_be_mapped_is_skipped_not_fatal() {
    let bad = account(17, 1, 1).replace(r#""value": -1.25"#, r#""value": -1.255"#);
    let translation = handler()
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
fn a_malformed_row_is_skipped_and_the_payment_raw_is_the_row_as_received() {
    let rows = [
        r#"{"id": 1, "id_account": 17, "date": "2026-06-10", "value": -16.220, "type": "card", "coming": false}"#,
        r#"{"id": 2, "id_account": 17, "date": "not a date", "value": -1, "type": "card", "coming": false}"#,
        r#"{"id": 3, "id_account": 17, "date": "2026-06-12", "value": {"oops": 1}, "type": "card", "coming": false}"#,
    ];
    let account = account(17, 0, 0).replace(
        r#""transactions": []"#,
        &format!(r#""transactions": [{}]"#, rows.join(",")),
    );
    let translation = handler()
        .translate(&envelope(synced(&[account])), &config("CONNECTION_SYNCED"))
        .unwrap();
    assert_eq!(
        kinds(&translation.responses),
        ["reconnected", "account", "payment", "balance"]
    );
    let skipped: Vec<Option<i64>> = translation.skipped.iter().map(|s| s.id).collect();
    assert_eq!(skipped, [Some(2), Some(3)]);
    let WebhookResponse::OpenBankingPayment(p) = &translation.responses[2] else {
        unreachable!()
    };
    assert_eq!(p.payment.raw.get(), rows[0]);
    assert_eq!(p.payment.amount.minor(), 1622);
}

#[test]
fn an_account_whose_currency_follows_its_rows_maps_them_in_that_currency() {
    let rows = r#"[{"id": 1, "id_account": 17, "date": "2026-06-10", "value": -16.5, "type": "card", "coming": false}]"#;
    let account = format!(
        r#"{{"id": 17, "original_name": "Compte", "balance": 10, "transactions": {rows},
            "currency": {{"id": "JPY", "precision": 0}}, "last_update": "2026-06-18 07:00:00"}}"#
    );
    let translation = handler()
        .translate(&envelope(synced(&[account])), &config("CONNECTION_SYNCED"))
        .unwrap();
    let skipped: Vec<_> = translation.skipped.iter().map(|s| s.id).collect();
    assert_eq!(skipped, [Some(1)], "-16.5 has too many decimals for JPY/0");
    let account = format!(
        r#"{{"id": 17, "original_name": "Compte", "balance": 10, "transactions": {},
            "currency": {{"id": "JPY", "precision": 0}}}}"#,
        rows.replace("-16.5", "-16")
    );
    let translation = handler()
        .translate(&envelope(synced(&[account])), &config("CONNECTION_SYNCED"))
        .unwrap();
    let WebhookResponse::OpenBankingPayment(p) = &translation.responses[2] else {
        panic!("{:?}", translation.responses)
    };
    assert_eq!(p.payment.asset.as_str(), "JPY/0");
    assert_eq!(p.payment.amount.minor(), 16);
}
