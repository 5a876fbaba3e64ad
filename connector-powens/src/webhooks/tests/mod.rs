//! Unit tests of translation ([`translate`]); verification and routes are tested in their
//! modules. Shared body builders here.

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use connector_core::model::{ConnectionDisconnectedErrorType, PaymentStatus};
use connector_core::webhook::{WebhookConfig, WebhookEnvelope, WebhookResponse};
use powens_api::time::ManualClock;

use super::*;

const NOW: (i32, u32, u32) = (2026, 6, 18);

fn handler() -> PowensWebhooks {
    let now = Utc.with_ymd_and_hms(NOW.0, NOW.1, NOW.2, 6, 0, 0).unwrap();
    PowensWebhooks::new(WebhookOptions::default()).with_clock(Arc::new(ManualClock::new(now)))
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

fn translate(event: &str, body: &str) -> Vec<WebhookResponse> {
    handler()
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

mod translate;
