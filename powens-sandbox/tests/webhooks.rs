//! `/webhooks/auth` and signed webhook delivery.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, Uri};
use common::{client, sandbox};
use powens_sandbox::{sign, SandboxHandle, WebhookEvent};
use serde_json::{json, Value};

#[derive(Debug, Clone)]
struct Received {
    path: String,
    signature: Option<String>,
    date: Option<String>,
    body: Bytes,
}

/// A receiver on 127.0.0.1 that answers `fail_first` times with 500, then 200.
async fn receiver(fail_first: usize) -> (String, Arc<Mutex<Vec<Received>>>) {
    let got: Arc<Mutex<Vec<Received>>> = Arc::default();
    let store = Arc::clone(&got);
    let app = axum::Router::new().fallback(move |uri: Uri, headers: HeaderMap, body: Bytes| {
        let store = Arc::clone(&store);
        async move {
            let mut list = store.lock().unwrap();
            let header = |n: &str| headers.get(n).map(|v| v.to_str().unwrap().to_owned());
            list.push(Received {
                path: uri.path().to_owned(),
                signature: header("bi-signature"),
                date: header("bi-signature-date"),
                body,
            });
            if list.len() <= fail_first {
                StatusCode::INTERNAL_SERVER_ERROR
            } else {
                StatusCode::OK
            }
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, got)
}

async fn create_provider(s: &SandboxHandle, body: Option<Value>, query: &str) -> reqwest::Response {
    let mut r = client()
        .post(format!("{}/webhooks/auth{query}", s.base_url()))
        .bearer_auth(&s.credentials().configuration_token);
    if let Some(b) = body {
        r = r.json(&b);
    }
    r.send().await.unwrap()
}

#[tokio::test]
async fn auth_providers_are_created_listed_and_deleted_with_the_configuration_token() {
    let (s, _) = sandbox().await;
    let r = create_provider(
        &s,
        Some(json!({"type": "hmac_signature", "name": "sandboxhooks"})),
        "",
    )
    .await;
    assert_eq!(r.status(), 200);
    let created: Value = r.json().await.unwrap();
    assert_eq!(created["type"], "hmac_signature");
    assert_eq!(created["name"], "sandboxhooks");
    assert!(created["config"]["secret_key"].as_str().unwrap().len() >= 16);
    let id = created["id"].as_u64().unwrap();
    // Query parameters with an empty body work too (as Formance calls it live).
    let r = create_provider(&s, None, "?type=hmac_signature&name=second").await;
    assert_eq!(r.status(), 200);
    let list: Value = client()
        .get(format!("{}/webhooks/auth", s.base_url()))
        .bearer_auth(&s.credentials().configuration_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["total"], 2);
    assert!(
        list["authproviders"][0].get("config").is_none(),
        "no secret in listings"
    );
    let del = |id: u64| {
        client()
            .delete(format!("{}/webhooks/auth/{id}", s.base_url()))
            .bearer_auth(&s.credentials().configuration_token)
            .send()
    };
    assert_eq!(del(id).await.unwrap().status(), 204);
    assert_eq!(del(id).await.unwrap().status(), 404);
}

#[tokio::test]
async fn long_or_dashed_provider_names_fail_with_data_error_like_live() {
    let (s, _) = sandbox().await;
    for name in [
        "powens-connector-01J8ZQK4X2M5N7P9R3T6V8W0Y",
        "with-dash",
        &"x".repeat(33),
    ] {
        let r = create_provider(
            &s,
            Some(json!({"type": "hmac_signature", "name": name})),
            "",
        )
        .await;
        assert_eq!(r.status(), 500, "{name}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["code"], "dataError");
    }
}

#[tokio::test]
async fn webhooks_auth_needs_the_configuration_token() {
    let (s, u) = sandbox().await;
    let r = client()
        .get(format!("{}/webhooks/auth", s.base_url()))
        .bearer_auth(&u.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn deliveries_are_signed_with_the_provider_secret_over_the_receiver_path() {
    let (s, _) = sandbox().await;
    let (url, got) = receiver(0).await;
    let created: Value = create_provider(
        &s,
        Some(json!({"type": "hmac_signature", "name": "hooks"})),
        "",
    )
    .await
    .json()
    .await
    .unwrap();
    let secret = created["config"]["secret_key"].as_str().unwrap().to_owned();
    s.control().register_webhook(
        WebhookEvent::ConnectionSynced,
        format!("{url}/hooks/connection-synced"),
    );
    let user = s.control().create_user(1);
    s.control().wait_for_webhooks().await;
    let got = got.lock().unwrap().clone();
    assert_eq!(got.len(), 1);
    let r = &got[0];
    assert_eq!(r.path, "/hooks/connection-synced");
    let date = r.date.clone().unwrap();
    assert_eq!(date, "2026-06-18T06:00:00.000000Z");
    assert_eq!(
        r.signature.as_deref(),
        Some(sign(&secret, "/hooks/connection-synced", &date, &r.body).as_str())
    );
    // The first CONNECTION_SYNCED carries the whole history of the visible accounts.
    let body: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(body["user"]["id"].as_u64(), Some(user.id));
    assert!(body["id_webhook_data"].is_u64());
    let truth = s.control().truth(user.id).unwrap();
    let pushed: Vec<u64> = body["connection"]["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|a| a["transactions"].as_array().unwrap().iter())
        .map(|t| t["id"].as_u64().unwrap())
        .collect();
    let mut expected: Vec<u64> = truth.transactions.iter().map(|t| t.id).collect();
    let mut sorted = pushed.clone();
    sorted.sort_unstable();
    expected.sort_unstable();
    assert_eq!(sorted, expected);
}

#[tokio::test]
async fn later_connection_synced_bodies_carry_only_changed_rows() {
    let (s, u) = sandbox().await;
    let (url, got) = receiver(0).await;
    s.control()
        .register_webhook(WebhookEvent::ConnectionSynced, format!("{url}/cs"));
    let conn = u.connection_ids[0];
    s.control().emit_connection_synced(conn).unwrap();
    s.control().advance(chrono::TimeDelta::minutes(5));
    let account = s.control().truth(u.id).unwrap().accounts[0].id;
    let new = s.control().add_transactions(account, 2, false).unwrap();
    s.control().emit_connection_synced(conn).unwrap();
    s.control().wait_for_webhooks().await;
    let mut bodies: Vec<Value> = got
        .lock()
        .unwrap()
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    // Deliveries run concurrently: order them by id_webhook_data (dispatch order).
    bodies.sort_by_key(|b| b["id_webhook_data"].as_u64());
    assert_eq!(bodies.len(), 2);
    let second = &bodies[1];
    let pushed: Vec<u64> = second["connection"]["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|a| a["transactions"].as_array().unwrap().iter())
        .map(|t| t["id"].as_u64().unwrap())
        .collect();
    assert_eq!(pushed, new);
    assert_ne!(bodies[0]["id_webhook_data"], second["id_webhook_data"]);
}

#[tokio::test]
async fn a_failed_delivery_is_retried_with_the_same_id_webhook_data() {
    let (s, u) = sandbox().await;
    s.control().create_auth_provider("hooks");
    let (url, got) = receiver(2).await;
    s.control()
        .register_webhook(WebhookEvent::UserDeleted, format!("{url}/user-deleted"));
    s.control().delete_user(u.id).unwrap();
    s.control().wait_for_webhooks().await;
    let got = got.lock().unwrap().clone();
    assert_eq!(got.len(), 3);
    let bodies: Vec<Value> = got
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    assert!(bodies
        .iter()
        .all(|b| b["id_webhook_data"] == bodies[0]["id_webhook_data"]));
    assert_eq!(bodies[0]["id"].as_u64(), Some(u.id));
    let log = s.control().webhook_deliveries();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].attempts, vec![500, 500, 200]);
    assert!(log[0].delivered);
}

#[tokio::test]
async fn redelivery_stops_after_the_bounded_number_of_attempts() {
    let s = powens_sandbox::Sandbox::builder()
        .size(powens_sandbox::SandboxSize {
            users: 1,
            ..Default::default()
        })
        .webhook_retries(3, std::time::Duration::from_millis(1))
        .start()
        .await
        .unwrap();
    let (url, got) = receiver(usize::MAX).await;
    s.control()
        .register_webhook(WebhookEvent::UserSynced, format!("{url}/us"));
    s.control().emit_user_synced(s.users()[0].id).unwrap();
    s.control().wait_for_webhooks().await;
    assert_eq!(got.lock().unwrap().len(), 3);
    let log = s.control().webhook_deliveries();
    assert!(!log[0].delivered);
}

#[tokio::test]
async fn deleting_a_connection_and_pending_disconnects_send_their_events() {
    let (s, u) = sandbox().await;
    let (url, got) = receiver(0).await;
    s.control()
        .register_webhook(WebhookEvent::ConnectionDeleted, format!("{url}/deleted"));
    s.control().register_webhook(
        WebhookEvent::ConnectionPendingDisconnect,
        format!("{url}/pending"),
    );
    let conn = u.connection_ids[0];
    s.control().emit_pending_disconnect(conn).unwrap();
    s.control().wait_for_webhooks().await;
    let r = client()
        .delete(format!("{}/users/me/connections/{conn}", s.api_url()))
        .bearer_auth(&u.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    s.control().wait_for_webhooks().await;
    let got = got.lock().unwrap().clone();
    assert_eq!(
        got.iter().map(|r| r.path.as_str()).collect::<Vec<_>>(),
        ["/pending", "/deleted"]
    );
    let pending: Value = serde_json::from_slice(&got[0].body).unwrap();
    assert_eq!(pending["connection"]["id"].as_u64(), Some(conn));
    assert!(pending["connection"]["expire"].is_string());
    let deleted: Value = serde_json::from_slice(&got[1].body).unwrap();
    assert_eq!(deleted["id"].as_u64(), Some(conn));
    // Without an auth provider, deliveries are not signed.
    assert!(got[1].signature.is_none());
}

#[tokio::test]
async fn a_webview_link_sends_connection_synced_for_each_new_connection() {
    let (s, u) = sandbox().await;
    let (url, got) = receiver(0).await;
    s.control()
        .register_webhook(WebhookEvent::ConnectionSynced, format!("{url}/cs"));
    let (_, code) = common::get(&format!("{}/auth/token/code", s.api_url()), &u.token).await;
    let mut link = url::Url::parse(&format!("{}/connect", s.base_url())).unwrap();
    link.query_pairs_mut()
        .append_pair("client_id", &s.credentials().client_id)
        .append_pair("code", code["code"].as_str().unwrap())
        .append_pair("redirect_uri", "https://example.com/cb")
        .append_pair("max_connections", "2");
    let r = client().get(link.as_str()).send().await.unwrap();
    assert_eq!(r.status(), 303);
    s.control().wait_for_webhooks().await;
    let mut connections: Vec<u64> = got
        .lock()
        .unwrap()
        .iter()
        .map(|r| {
            let b: Value = serde_json::from_slice(&r.body).unwrap();
            b["connection"]["id"].as_u64().unwrap()
        })
        .collect();
    connections.sort_unstable();
    let truth = s.control().truth(u.id).unwrap();
    let new: Vec<u64> = truth
        .connections
        .iter()
        .map(|c| c.id)
        .filter(|id| !u.connection_ids.contains(id))
        .collect();
    assert_eq!(connections, new);
}
