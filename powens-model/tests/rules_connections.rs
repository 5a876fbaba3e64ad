//! Connection state and consent expiry rules. One test per rule; the name states it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;

use chrono::TimeDelta;
use connector_core::model::ConnectionDisconnectedErrorType;
use powens_api::connections::Connection;
use powens_model::connection::{
    connection_health, disconnected, pending_disconnect, ConnectionHealth,
};
use serde_json::json;

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
