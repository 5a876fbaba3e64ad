//! The control API over HTTP (`/__sandbox/`) and the binary.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use common::{all_rows, client, get, ids, sandbox};
use serde_json::{json, Value};

async fn post(url: String, body: Value) -> (u16, Value) {
    let r = client().post(url).json(&body).send().await.unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[tokio::test]
async fn the_clock_is_read_advanced_and_set_over_http() {
    let (s, _) = sandbox().await;
    let base = s.base_url();
    let (_, now) = get(&format!("{base}/__sandbox/clock"), "").await;
    assert_eq!(now["now"], "2026-06-18 08:00:00");
    let (_, now) = post(
        format!("{base}/__sandbox/clock/advance"),
        json!({"seconds": 90}),
    )
    .await;
    assert_eq!(now["now"], "2026-06-18 08:01:30");
    let (_, now) = post(
        format!("{base}/__sandbox/clock/set"),
        json!({"now": "2026-10-25 02:30:00"}),
    )
    .await;
    assert_eq!(now["now"], "2026-10-25 02:30:00");
}

#[tokio::test]
async fn a_clock_move_out_of_the_http_date_years_is_a_400_and_the_server_keeps_answering() {
    let (s, _) = sandbox().await;
    let base = s.base_url();
    for (route, body) in [
        ("clock/advance", json!({"seconds": i64::MAX})),
        ("clock/advance", json!({"seconds": 400_000_000_000_i64})),
        ("clock/advance", json!({"seconds": -2_000_000_000_i64})),
        ("clock/set", json!({"now": "1960-01-01 00:00:00"})),
        ("changes", json!({"advance_clock": {"seconds": i64::MIN}})),
    ] {
        let (status, answer) = post(format!("{base}/__sandbox/{route}"), body.clone()).await;
        assert_eq!(status, 400, "{route} {body}: {answer}");
        assert_eq!(answer["code"], "invalidValue", "{answer}");
    }
    let (status, now) = get(&format!("{base}/__sandbox/clock"), "").await;
    assert_eq!(status, 200);
    assert_eq!(now["now"], "2026-06-18 08:00:00");
}

#[tokio::test]
async fn a_huge_retry_after_date_names_the_last_http_date() {
    let (s, user) = sandbox().await;
    let base = s.base_url();
    let r = client()
        .post(format!("{base}/__sandbox/faults"))
        .json(&json!({"route": "transactions", "nth": 1, "fault": {"rate_limited": {"retry_after": {"http_date": u64::MAX}}}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 204, "{}", r.text().await.unwrap());
    let r = client()
        .get(format!("{}/users/me/transactions?limit=1", s.api_url()))
        .bearer_auth(&user.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 429);
    assert_eq!(
        r.headers()["retry-after"].to_str().unwrap(),
        "Fri, 31 Dec 9999 23:59:59 GMT"
    );
}

#[tokio::test]
async fn changes_schedules_and_truth_work_over_http() {
    let (s, _) = sandbox().await;
    let base = s.base_url();
    let (status, user) = post(format!("{base}/__sandbox/users"), json!({"connections": 1})).await;
    assert_eq!(status, 200);
    let (user_id, token) = (
        user["id"].as_u64().unwrap(),
        user["token"].as_str().unwrap().to_owned(),
    );
    let (_, truth) = get(&format!("{base}/__sandbox/truth/{user_id}"), "").await;
    let account = truth["accounts"][0]["id"].as_u64().unwrap();
    let (status, out) = post(
        format!("{base}/__sandbox/changes"),
        json!({"add_transaction": {"account_id": account, "value": "-12.50", "coming": true, "wording": "TEST SHOP"}}),
    )
    .await;
    assert_eq!(status, 200, "{out}");
    let new_id = out["created"][0].as_u64().unwrap();
    let (_, row) = get(
        &format!(
            "{}/users/me/accounts/{account}/transactions?limit=1000",
            s.api_url()
        ),
        &token,
    )
    .await;
    let added = row["transactions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == new_id)
        .unwrap()
        .clone();
    assert_eq!(added["value"].to_string(), "-12.50");
    assert_eq!(added["wording"], "TEST SHOP");
    assert_eq!(added["coming"], true);
    // Too many decimals for EUR is refused.
    let (status, err) = post(
        format!("{base}/__sandbox/changes"),
        json!({"add_transaction": {"account_id": account, "value": "1.001"}}),
    )
    .await;
    assert_eq!((status, err["code"].as_str()), (400, Some("invalidValue")));
    // Replace mode, then a maturation scheduled after the first page.
    let r = client()
        .put(format!("{base}/__sandbox/maturation"))
        .json(&json!({"mode": "replace"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let (status, _) = post(
        format!("{base}/__sandbox/schedule"),
        json!({"trigger": {"scope": {"user": user_id}, "after_page": 1},
               "change": {"mature": {"transaction_id": new_id}}}),
    )
    .await;
    assert_eq!(status, 204);
    let rows = all_rows(
        &format!("{}/users/me/transactions?limit=50&all", s.api_url()),
        &token,
    )
    .await;
    let (_, truth) = get(&format!("{base}/__sandbox/truth/{user_id}"), "").await;
    assert_eq!(truth["replaced"][0]["id"].as_u64(), Some(new_id));
    let replacement = truth["replaced"][0]["replaced_by"].as_u64().unwrap();
    assert!(ids(&rows).contains(&replacement));
    assert_eq!(get(&format!("{base}/__sandbox/truth/999"), "").await.0, 404);
}

#[tokio::test]
async fn connection_states_account_status_and_denial_are_set_over_http() {
    let (s, u) = sandbox().await;
    let base = s.base_url();
    let conn = u.connection_ids[0];
    let r = client()
        .put(format!("{base}/__sandbox/connections/{conn}/state"))
        .json(&json!({"state": "SCARequired"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let (_, c) = get(
        &format!("{}/users/me/connections/{conn}", s.api_url()),
        &u.token,
    )
    .await;
    assert_eq!(c["state"], "SCARequired");
    let account = s.control().truth(u.id).unwrap().accounts[0].id;
    let r = client()
        .put(format!("{base}/__sandbox/accounts/{account}/status"))
        .json(&json!({"error": "actionNeeded"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let (_, a) = get(
        &format!("{}/users/me/accounts/{account}", s.api_url()),
        &u.token,
    )
    .await;
    assert_eq!(a["error"], "actionNeeded");
    let r = client()
        .put(format!("{base}/__sandbox/webview/denial"))
        .json(&json!({"description": "no"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
}

#[test]
fn the_binary_prints_its_address_and_credentials() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_powens-sandbox"))
        .args([
            "--port",
            "0",
            "--seed",
            "7",
            "--users",
            "1",
            "--transactions-per-account",
            "5",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let second = lines.next().unwrap().unwrap();
    let third = lines.next().unwrap().unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        first.starts_with("listening on http://127.0.0.1:"),
        "{first}"
    );
    for key in [
        "client_id=",
        "client_secret=",
        "configuration_token=",
        "domain=",
    ] {
        assert!(second.contains(key), "{second}");
    }
    assert!(third.starts_with("user id=1 token="), "{third}");
}

#[tokio::test]
async fn control_counts_above_their_bounds_are_400s_and_create_nothing() {
    let (s, u) = sandbox().await;
    let base = s.base_url();
    let too_many = powens_sandbox::MAX_CONNECTIONS_PER_CALL + 1;
    let (status, body) = post(
        format!("{base}/__sandbox/users"),
        json!({"connections": too_many}),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("connections per call"), "{body}");
    let (status, body) = post(
        format!("{base}/__sandbox/users/{}/link", u.id),
        json!({"count": too_many}),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    let (_, truth) = get(&format!("{base}/__sandbox/truth/{}", u.id), "").await;
    let account = truth["accounts"][0]["id"].as_u64().unwrap();
    let rows_before = truth["transactions"].as_array().map(Vec::len);
    assert!(rows_before.is_some_and(|n| n > 0), "{truth}");
    let (status, body) = post(
        format!("{base}/__sandbox/changes"),
        json!({"add_transactions": {"account_id": account, "count": powens_sandbox::MAX_TRANSACTIONS_PER_CHANGE + 1}}),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    let (_, truth) = get(&format!("{base}/__sandbox/truth/{}", u.id), "").await;
    assert_eq!(truth["transactions"].as_array().map(Vec::len), rows_before);
    // At the bound of connections it still works.
    let (status, _) = post(
        format!("{base}/__sandbox/users/{}/link", u.id),
        json!({"count": 2}),
    )
    .await;
    assert_eq!(status, 200);
}
