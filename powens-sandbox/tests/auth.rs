//! `/2.0/auth/*` and token scoping.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use chrono::TimeDelta;
use common::{client, get, sandbox};
use serde_json::{json, Value};

#[tokio::test]
async fn auth_init_with_client_credentials_creates_a_permanent_user() {
    let (s, _) = sandbox().await;
    let c = s.credentials();
    let r = client()
        .post(format!("{}/auth/init", s.api_url()))
        .json(&json!({"client_id": c.client_id, "client_secret": c.client_secret}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["type"], "permanent");
    assert_eq!(body["expires_in"], Value::Null);
    assert!(body["id_user"].as_u64().unwrap() >= 1);
    let token = body["auth_token"].as_str().unwrap();
    let (status, me) = get(&format!("{}/users/me", s.api_url()), token).await;
    assert_eq!(status, 200);
    assert_eq!(me["id"], body["id_user"]);
    assert_eq!(me["signin"], "2026-06-18 08:00:00");
}

#[tokio::test]
async fn auth_init_with_a_wrong_secret_is_refused() {
    let (s, _) = sandbox().await;
    let r = client()
        .post(format!("{}/auth/init", s.api_url()))
        .json(&json!({"client_id": s.credentials().client_id, "client_secret": "nope"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["code"], "invalidClient");
}

#[tokio::test]
async fn auth_init_without_credentials_gives_a_temporary_user_that_expires_after_30_minutes() {
    let (s, _) = sandbox().await;
    let body: Value = client()
        .post(format!("{}/auth/init", s.api_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["type"], "temporary");
    assert_eq!(body["expires_in"], 1800);
    let token = body["auth_token"].as_str().unwrap();
    let me = format!("{}/users/me", s.api_url());
    assert_eq!(get(&me, token).await.0, 200);
    s.control().advance(TimeDelta::minutes(30));
    let (status, err) = get(&me, token).await;
    assert_eq!(status, 401);
    assert_eq!(err["code"], "invalidToken");
}

#[tokio::test]
async fn missing_or_unknown_tokens_get_401_with_powens_error_json() {
    let (s, _) = sandbox().await;
    let url = format!("{}/users/me/accounts", s.api_url());
    let r = client().get(&url).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["code"], "invalidToken");
    assert!(body["description"].is_string());
    assert!(body.get("message").is_some());
    assert!(body["request_id"].is_u64());
    assert_eq!(get(&url, "not-a-token").await.0, 401);
}

#[tokio::test]
async fn a_token_cannot_read_another_users_data() {
    let (s, user) = sandbox().await;
    let other = s.control().create_user(1);
    let url = format!("{}/users/{}/accounts", s.api_url(), other.id);
    assert_eq!(get(&url, &user.token).await.0, 403);
    assert_eq!(get(&url, &other.token).await.0, 200);
    // Each token sees only its own accounts through `me`.
    let (_, mine) = get(
        &format!("{}/users/me/accounts?all", s.api_url()),
        &user.token,
    )
    .await;
    for a in mine["accounts"].as_array().unwrap() {
        assert_eq!(a["id_user"].as_u64(), Some(user.id));
    }
}

#[tokio::test]
async fn temporary_codes_contain_characters_that_need_encoding() {
    let (s, user) = sandbox().await;
    let (status, body) = get(&format!("{}/auth/token/code", s.api_url()), &user.token).await;
    assert_eq!(status, 200);
    let code = body["code"].as_str().unwrap();
    assert!(
        code.contains('/') && code.contains('+') && code.contains('_'),
        "{code}"
    );
    assert_eq!(body["type"], "temporary");
    assert_eq!(body["access"], "standard");
    assert_eq!(body["expires_in"], 1800);
    let (_, single) = get(
        &format!("{}/auth/token/code?type=singleAccess", s.api_url()),
        &user.token,
    )
    .await;
    assert_eq!(single["access"], "single");
    let (status, _) = get(
        &format!("{}/auth/token/code?type=forever", s.api_url()),
        &user.token,
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        client()
            .get(format!("{}/auth/token/code", s.api_url()))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
}

#[tokio::test]
async fn a_code_exchanges_for_a_permanent_token_of_the_same_user() {
    let (s, user) = sandbox().await;
    let c = s.credentials();
    let (_, code) = get(
        &format!("{}/auth/token/code?type=singleAccess", s.api_url()),
        &user.token,
    )
    .await;
    let exchange = || {
        client()
            .post(format!("{}/auth/token/access", s.api_url()))
            .json(&json!({
                "grant_type": "authorization_code",
                "client_id": c.client_id,
                "client_secret": c.client_secret,
                "code": code["code"],
            }))
            .send()
    };
    let r = exchange().await.unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    let (_, me) = get(
        &format!("{}/users/me", s.api_url()),
        body["access_token"].as_str().unwrap(),
    )
    .await;
    assert_eq!(me["id"].as_u64(), Some(user.id));
    // A single-access code is used up.
    assert_eq!(exchange().await.unwrap().status(), 400);
}

#[tokio::test]
async fn renew_with_revoke_previous_invalidates_the_old_tokens() {
    let (s, user) = sandbox().await;
    let c = s.credentials();
    let r = client()
        .post(format!("{}/auth/renew", s.api_url()))
        .json(&json!({
            "grant_type": "client_credentials",
            "client_id": c.client_id,
            "client_secret": c.client_secret,
            "id_user": user.id,
            "revoke_previous": true,
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    let new_token = body["access_token"].as_str().unwrap();
    let me = format!("{}/users/me", s.api_url());
    assert_eq!(get(&me, new_token).await.0, 200);
    assert_eq!(get(&me, &user.token).await.0, 401);
}

#[tokio::test]
async fn deleting_the_token_revokes_it() {
    let (s, user) = sandbox().await;
    let r = client()
        .delete(format!("{}/auth/token", s.api_url()))
        .bearer_auth(&user.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(
        get(&format!("{}/users/me", s.api_url()), &user.token)
            .await
            .0,
        401
    );
}

#[tokio::test]
async fn deleting_the_user_removes_it_and_its_tokens() {
    let (s, user) = sandbox().await;
    let r = client()
        .delete(format!("{}/users/me", s.api_url()))
        .bearer_auth(&user.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(
        get(&format!("{}/users/me", s.api_url()), &user.token)
            .await
            .0,
        401
    );
    assert!(s.control().truth(user.id).is_err());
}
