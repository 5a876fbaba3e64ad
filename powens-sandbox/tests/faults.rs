//! Fault injection per route and per call count.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{client, sandbox};
use powens_sandbox::{
    Fault, FaultRoute, FaultRule, RetryAfter, SandboxHandle, CONTROL_CHARACTER_WORDING,
    INVALID_UTF8_WORDING, MALFORMED_VALUE,
};
use serde_json::Value;

fn tx_url(api: &str) -> String {
    format!("{api}/users/me/transactions?limit=5")
}

#[tokio::test]
async fn the_third_call_to_transactions_gets_a_429_with_retry_after_seconds() {
    let (s, u) = sandbox().await;
    s.control().inject_fault(FaultRule::new(
        FaultRoute::Transactions,
        3,
        Fault::RateLimited {
            retry_after: RetryAfter::Seconds(7),
        },
    ));
    let call = || get_tx(&s, &u.token);
    assert_eq!(call().await.unwrap().status(), 200);
    // Other routes do not count.
    let r = client()
        .get(format!("{}/currencies", s.api_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(call().await.unwrap().status(), 200);
    let r = call().await.unwrap();
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["retry-after"], "7");
    let body: Value = r.json().await.unwrap();
    assert!(body["code"].is_string());
    assert_eq!(call().await.unwrap().status(), 200);
}

#[tokio::test]
async fn a_429_can_give_retry_after_as_an_http_date_relative_to_the_date_header() {
    let (s, u) = sandbox().await;
    s.control().inject_fault(FaultRule::new(
        FaultRoute::Accounts,
        1,
        Fault::RateLimited {
            retry_after: RetryAfter::HttpDate(120),
        },
    ));
    let r = client()
        .get(format!("{}/users/me/accounts", s.api_url()))
        .bearer_auth(&u.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["date"], "Thu, 18 Jun 2026 06:00:00 GMT");
    assert_eq!(r.headers()["retry-after"], "Thu, 18 Jun 2026 06:02:00 GMT");
}

#[tokio::test]
async fn gateway_errors_have_html_bodies() {
    let (s, u) = sandbox().await;
    for status in [500u16, 502, 503] {
        s.control().inject_fault(FaultRule::new(
            FaultRoute::Any,
            1,
            Fault::ServerError { status },
        ));
        let r = client()
            .get(format!("{}/users/me", s.api_url()))
            .bearer_auth(&u.token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), status);
        assert!(r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        let body = r.text().await.unwrap();
        assert!(
            body.contains("<html>") && body.contains(&status.to_string()),
            "{body}"
        );
    }
}

#[tokio::test]
async fn a_fault_can_hit_several_consecutive_calls() {
    let (s, u) = sandbox().await;
    s.control().inject_fault(
        FaultRule::new(FaultRoute::User, 1, Fault::ServerError { status: 503 }).times(2),
    );
    let call = || {
        client()
            .get(format!("{}/users/me", s.api_url()))
            .bearer_auth(&u.token)
            .send()
    };
    let statuses = [
        call().await.unwrap().status().as_u16(),
        call().await.unwrap().status().as_u16(),
        call().await.unwrap().status().as_u16(),
    ];
    assert_eq!(statuses, [503, 503, 200]);
}

#[tokio::test]
async fn a_dropped_connection_closes_without_any_response() {
    let (s, u) = sandbox().await;
    s.control().inject_fault(FaultRule::new(
        FaultRoute::Transactions,
        1,
        Fault::DropConnection,
    ));
    let err = get_tx(&s, &u.token).await.unwrap_err();
    assert!(err.status().is_none(), "{err:?}");
    assert!(
        err.is_request() || err.is_connect() || err.is_body(),
        "{err:?}"
    );
    // The next call is served normally.
    let r = get_tx(&s, &u.token).await.unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn a_truncated_body_has_consistent_headers_but_is_not_valid_json() {
    let (s, u) = sandbox().await;
    s.control().inject_fault(FaultRule::new(
        FaultRoute::Transactions,
        1,
        Fault::TruncatedBody,
    ));
    let r = get_tx(&s, &u.token).await.unwrap();
    assert_eq!(r.status(), 200);
    let declared: usize = r.headers()["content-length"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let body = r.bytes().await.unwrap();
    assert_eq!(body.len(), declared);
    assert!(body.starts_with(b"{\"transactions\":["));
    let err = serde_json::from_slice::<Value>(&body).unwrap_err();
    assert!(err.is_eof(), "{err}");
}

#[tokio::test]
async fn a_delayed_call_still_answers_normally() {
    let (s, u) = sandbox().await;
    s.control().inject_fault(FaultRule::new(
        FaultRoute::Transactions,
        1,
        Fault::Delay { millis: 50 },
    ));
    let r = get_tx(&s, &u.token).await.unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["transactions"].as_array().unwrap().len(), 5);
}

#[tokio::test]
async fn faults_can_be_installed_and_cleared_over_http() {
    let (s, u) = sandbox().await;
    let r = client()
        .post(format!("{}/__sandbox/faults", s.base_url()))
        .json(&serde_json::json!({
            "route": "transactions",
            "nth": 1,
            "fault": {"server_error": {"status": 502}}
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let r = client()
        .delete(format!("{}/__sandbox/faults", s.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let r = get_tx(&s, &u.token).await.unwrap();
    assert_eq!(r.status(), 200);
}

/// `GET /users/me/transactions?limit=5` of the sandbox `s` with `token`.
async fn get_tx(s: &SandboxHandle, token: &str) -> reqwest::Result<reqwest::Response> {
    client()
        .get(tx_url(&s.api_url()))
        .bearer_auth(token)
        .send()
        .await
}

/// The body of a successful GET as text.
async fn get_text(url: &str, token: &str) -> String {
    let r = client().get(url).bearer_auth(token).send().await.unwrap();
    assert_eq!(r.status(), 200);
    r.text().await.unwrap()
}

#[tokio::test]
async fn a_malformed_row_fault_breaks_only_the_first_rows_value_and_keeps_the_rest_byte_for_byte() {
    let (s, u) = sandbox().await;
    let clean = get_text(&tx_url(&s.api_url()), &u.token).await;
    s.control().inject_fault(FaultRule::new(
        FaultRoute::Transactions,
        1,
        Fault::MalformedRow,
    ));
    let faulty = get_text(&tx_url(&s.api_url()), &u.token).await;
    let clean_page: Value = serde_json::from_str(&clean).unwrap();
    let faulty_page: Value = serde_json::from_str(&faulty).unwrap();
    let (clean_rows, faulty_rows) = (
        clean_page["transactions"].as_array().unwrap(),
        faulty_page["transactions"].as_array().unwrap(),
    );
    assert_eq!(clean_rows.len(), 5);
    assert_eq!(faulty_rows[0]["value"], MALFORMED_VALUE);
    assert_eq!(faulty_rows[0]["id"], clean_rows[0]["id"]);
    let mut repaired = faulty_rows[0].clone();
    repaired["value"] = clean_rows[0]["value"].clone();
    assert_eq!(repaired, clean_rows[0]);
    assert_eq!(faulty_rows[1..], clean_rows[1..]);
    // Everything after the first row is the same text.
    let tail = |page: &str| page[page.find("},{").unwrap()..].to_owned();
    assert_eq!(tail(&faulty), tail(&clean));
    // The fault hit one call only.
    let again = get_text(&tx_url(&s.api_url()), &u.token).await;
    assert_eq!(again, clean);
}

#[tokio::test]
async fn a_malformed_row_fault_leaves_an_answer_without_transactions_untouched() {
    let (s, u) = sandbox().await;
    let url = format!("{}/users/me/accounts", s.api_url());
    let clean = get_text(&url, &u.token).await;
    s.control()
        .inject_fault(FaultRule::new(FaultRoute::Any, 1, Fault::MalformedRow));
    let faulty = get_text(&url, &u.token).await;
    assert_eq!(faulty, clean);
}

#[tokio::test]
async fn row_isolation_faults_put_raw_bytes_in_the_first_rows_wording_and_keep_the_rest() {
    let (s, u) = sandbox().await;
    let clean = get_text(&tx_url(&s.api_url()), &u.token).await;
    for (fault, wording) in [
        (Fault::ControlCharacterRow, CONTROL_CHARACTER_WORDING),
        (Fault::InvalidUtf8Row, INVALID_UTF8_WORDING),
    ] {
        s.control()
            .inject_fault(FaultRule::new(FaultRoute::Transactions, 1, fault));
        let r = client()
            .get(tx_url(&s.api_url()))
            .bearer_auth(&u.token)
            .send()
            .await
            .unwrap();
        let faulty = r.bytes().await.unwrap().to_vec();
        assert!(
            serde_json::from_slice::<Value>(&faulty).is_err(),
            "{fault:?}: not JSON any more"
        );
        // The damaged wording, made a plain string again, gives back a page whose first row
        // is the clean one with another wording, and whose other rows are the same text.
        let at = faulty
            .windows(wording.len())
            .position(|w| w == wording)
            .unwrap();
        let mut repaired = faulty.clone();
        repaired.splice(at..at + wording.len(), b"X".iter().copied());
        let repaired: Value = serde_json::from_slice(&repaired).unwrap();
        let clean_page: Value = serde_json::from_str(&clean).unwrap();
        let mut first = repaired["transactions"][0].clone();
        assert_eq!(first["wording"], "X");
        first["wording"] = clean_page["transactions"][0]["wording"].clone();
        assert_eq!(first, clean_page["transactions"][0]);
        let tail = |page: &[u8]| {
            let at = page.windows(3).position(|w| w == b"},{").unwrap();
            page[at..].to_vec()
        };
        assert_eq!(tail(&faulty), tail(clean.as_bytes()), "{fault:?}");
    }
}
