//! The Webview simulator: connect and reconnect redirects.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{client, get, sandbox};
use powens_sandbox::SandboxHandle;
use serde_json::Value;
use url::Url;

async fn fresh_code(s: &SandboxHandle, token: &str) -> String {
    let (_, body) = get(&format!("{}/auth/token/code", s.api_url()), token).await;
    body["code"].as_str().unwrap().to_owned()
}

fn webview_url(s: &SandboxHandle, path: &str, pairs: &[(&str, &str)]) -> String {
    let mut u = Url::parse(&format!("{}{path}", s.base_url())).unwrap();
    u.query_pairs_mut().extend_pairs(pairs);
    u.to_string()
}

/// Follows nothing: returns the status and the parsed `Location`.
async fn open(url: &str) -> (u16, Option<Url>, String) {
    let r = client().get(url).send().await.unwrap();
    let status = r.status().as_u16();
    let location = r
        .headers()
        .get("location")
        .map(|l| Url::parse(l.to_str().unwrap()).unwrap());
    (status, location, r.text().await.unwrap())
}

fn param(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

#[tokio::test]
async fn connect_links_max_connections_banks_and_redirects_with_ids_and_the_state() {
    let (s, u) = sandbox().await;
    let code = fresh_code(&s, &u.token).await;
    let state = "attempt=42&nonce=a/b+c d";
    let url = webview_url(
        &s,
        "/fr/connect",
        &[
            ("domain", "sandbox"),
            ("client_id", &s.credentials().client_id),
            ("code", &code),
            ("redirect_uri", "http://127.0.0.1:9/callback"),
            ("state", state),
            ("max_connections", "3"),
        ],
    );
    let (status, location, _) = open(&url).await;
    assert_eq!(status, 303);
    let location = location.unwrap();
    assert_eq!(location.path(), "/callback");
    assert_eq!(param(&location, "state").as_deref(), Some(state));
    let ids: Vec<u64> = param(&location, "connection_ids")
        .unwrap()
        .split(',')
        .map(|i| i.parse().unwrap())
        .collect();
    assert_eq!(ids.len(), 3);
    assert_eq!(param(&location, "connection_id"), Some(ids[0].to_string()));
    let truth = s.control().truth(u.id).unwrap();
    for id in &ids {
        assert!(truth.connections.iter().any(|c| c.id == *id));
    }
}

#[tokio::test]
async fn connect_without_lang_and_without_max_connections_links_one_bank() {
    let (s, u) = sandbox().await;
    let code = fresh_code(&s, &u.token).await;
    let url = webview_url(
        &s,
        "/connect",
        &[
            ("client_id", &s.credentials().client_id),
            ("code", &code),
            ("redirect_uri", "https://example.com/cb"),
        ],
    );
    let (status, location, _) = open(&url).await;
    assert_eq!(status, 303);
    let location = location.unwrap();
    assert_eq!(
        param(&location, "connection_ids")
            .unwrap()
            .split(',')
            .count(),
        1
    );
    assert_eq!(param(&location, "state"), None);
}

#[tokio::test]
async fn invalid_webview_requests_are_refused_without_redirecting() {
    let (s, u) = sandbox().await;
    let code = fresh_code(&s, &u.token).await;
    let client_id = s.credentials().client_id.clone();
    let cases: Vec<(&str, Vec<(&str, &str)>)> = vec![
        (
            "wrong client",
            vec![
                ("client_id", "999"),
                ("code", &code),
                ("redirect_uri", "https://e.com/cb"),
            ],
        ),
        (
            "relative redirect",
            vec![
                ("client_id", &client_id),
                ("code", &code),
                ("redirect_uri", "/cb"),
            ],
        ),
        (
            "redirect with query",
            vec![
                ("client_id", &client_id),
                ("code", &code),
                ("redirect_uri", "https://e.com/cb?x=1"),
            ],
        ),
        (
            "unknown code",
            vec![
                ("client_id", &client_id),
                ("code", "nope"),
                ("redirect_uri", "https://e.com/cb"),
            ],
        ),
        (
            "bad max",
            vec![
                ("client_id", &client_id),
                ("code", &code),
                ("redirect_uri", "https://e.com/cb"),
                ("max_connections", "0"),
            ],
        ),
        (
            "no redirect",
            vec![("client_id", &client_id), ("code", &code)],
        ),
    ];
    for (name, pairs) in cases {
        let (status, location, body) = open(&webview_url(&s, "/en/connect", &pairs)).await;
        assert_eq!(status, 400, "{name}");
        assert!(location.is_none(), "{name}");
        let err: Value = serde_json::from_str(&body).unwrap();
        assert!(err["code"].is_string(), "{name}");
    }
    let (status, _, _) = open(&webview_url(&s, "/xx/connect", &[])).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_denied_webview_redirects_with_access_denied_and_the_state() {
    let (s, u) = sandbox().await;
    s.control().deny_webview(Some("user cancelled".to_owned()));
    let code = fresh_code(&s, &u.token).await;
    let url = webview_url(
        &s,
        "/connect",
        &[
            ("client_id", &s.credentials().client_id),
            ("code", &code),
            ("redirect_uri", "https://example.com/cb"),
            ("state", "s&1"),
        ],
    );
    let (status, location, _) = open(&url).await;
    assert_eq!(status, 303);
    let location = location.unwrap();
    assert_eq!(param(&location, "error").as_deref(), Some("access_denied"));
    assert_eq!(
        param(&location, "error_description").as_deref(),
        Some("user cancelled")
    );
    assert_eq!(param(&location, "state").as_deref(), Some("s&1"));
    assert_eq!(param(&location, "connection_id"), None);
    assert_eq!(s.control().truth(u.id).unwrap().connections.len(), 1);
}

#[tokio::test]
async fn reconnect_clears_the_error_state_and_moves_expire_forward() {
    let (s, u) = sandbox().await;
    let id = u.connection_ids[0];
    s.control()
        .set_connection_state(id, Some("SCARequired"))
        .unwrap();
    s.control().advance(chrono::TimeDelta::days(1));
    let code = fresh_code(&s, &u.token).await;
    let url = webview_url(
        &s,
        "/de/reconnect",
        &[
            ("client_id", &s.credentials().client_id),
            ("code", &code),
            ("connection_id", &id.to_string()),
            ("redirect_uri", "https://example.com/cb"),
            ("state", "r"),
        ],
    );
    let (status, location, _) = open(&url).await;
    assert_eq!(status, 303);
    let location = location.unwrap();
    assert_eq!(param(&location, "connection_id"), Some(id.to_string()));
    let (_, c) = get(
        &format!("{}/users/me/connections/{id}", s.api_url()),
        &u.token,
    )
    .await;
    assert_eq!(c["state"], Value::Null);
    assert_eq!(c["error_message"], Value::Null);
    assert_eq!(c["expire"], "2026-12-16 08:00:00");
    // Another user's connection cannot be renewed.
    let other = s.control().create_user(0);
    let code = fresh_code(&s, &other.token).await;
    let url = webview_url(
        &s,
        "/reconnect",
        &[
            ("client_id", &s.credentials().client_id),
            ("code", &code),
            ("connection_id", &id.to_string()),
            ("redirect_uri", "https://example.com/cb"),
        ],
    );
    assert_eq!(open(&url).await.0, 404);
}
