//! Helpers shared by the integration tests: start a sandbox, call it over 127.0.0.1.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use powens_sandbox::{Sandbox, SandboxHandle, SandboxSize, SeededUser};
use serde_json::Value;

/// A sandbox with one pre-seeded user (1 connection × 6 accounts × 20 transactions).
pub async fn sandbox() -> (SandboxHandle, SeededUser) {
    sandbox_sized(SandboxSize {
        users: 1,
        connections_per_link: 1,
        accounts_per_connection: 6,
        transactions_per_account: 20,
    })
    .await
}

pub async fn sandbox_sized(size: SandboxSize) -> (SandboxHandle, SeededUser) {
    let s = Sandbox::builder().seed(7).size(size).start().await.unwrap();
    let user = s.users().first().cloned().unwrap();
    (s, user)
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// GET with a bearer token; returns (status, JSON body).
pub async fn get(url: &str, token: &str) -> (u16, Value) {
    let r = client().get(url).bearer_auth(token).send().await.unwrap();
    let status = r.status().as_u16();
    let body = r.text().await.unwrap();
    (
        status,
        serde_json::from_str(&body).unwrap_or(Value::String(body)),
    )
}

/// Pages a transactions listing through `_links.next` and returns every row.
pub async fn all_rows(first_url: &str, token: &str) -> Vec<Value> {
    let mut rows = Vec::new();
    let mut url = first_url.to_owned();
    for _ in 0..10_000 {
        let (status, page) = get(&url, token).await;
        assert_eq!(status, 200, "{page}");
        rows.extend(page["transactions"].as_array().unwrap().iter().cloned());
        match page["_links"]["next"]["href"].as_str() {
            Some(next) => url = next.to_owned(),
            None => return rows,
        }
    }
    panic!("paging did not end");
}

pub fn ids(rows: &[Value]) -> Vec<u64> {
    rows.iter().map(|r| r["id"].as_u64().unwrap()).collect()
}
