//! The raw transaction-page calls (`*_raw`): the same request, retries and error mapping as the
//! typed calls, with the successful body handed back unparsed (a row the typed decoder would
//! refuse comes through untouched).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::Duration;

use powens_api::transactions::TransactionsQuery;
use powens_api::wire::PowensDateTime;
use support::{client, fixture, Reply, Stub, USER_TOKEN};

/// A page whose second row lacks `id`, `date`, `type` and `coming`: the typed decoder refuses
/// the whole page.
const PAGE_WITH_A_MALFORMED_ROW: &str = r#"{"transactions":[{"id":1,"id_account":3,"date":"2026-06-01","type":"card","coming":false,"value":-1.5},{"id_account":3,"value":"oops"}],"first_date":null,"last_date":null,"result_min_date":null,"result_max_date":null,"_links":{"next":null}}"#;

#[tokio::test]
async fn user_transactions_as_bytes_sends_the_typed_query_and_returns_the_body_unparsed() {
    let stub = Stub::start(|_, _| Reply::json(200, PAGE_WITH_A_MALFORMED_ROW)).await;
    let (client, _) = client(&stub);
    let query = TransactionsQuery::new(1000)
        .offset(2000)
        .all(true)
        .last_update(PowensDateTime::parse("2026-06-18 06:00:00").unwrap());
    let body = client
        .transactions(&support::user_token(), &query)
        .bytes()
        .await
        .unwrap();
    assert_eq!(&body[..], PAGE_WITH_A_MALFORMED_ROW.as_bytes());
    let typed = client
        .transactions(&support::user_token(), &query)
        .page()
        .await;
    assert!(
        matches!(typed, Err(powens_api::Error::Decode { .. })),
        "{typed:?}"
    );
    let requests = stub.requests();
    assert_eq!(requests.len(), 2);
    for request in &requests {
        assert_eq!(
            (request.method.as_str(), request.path.as_str()),
            ("GET", "/2.0/users/me/transactions")
        );
        assert_eq!(
            request.query.as_deref(),
            Some("limit=1000&offset=2000&all&last_update=2026-06-18+06%3A00%3A00")
        );
        assert_eq!(request.authorization, Some(format!("Bearer {USER_TOKEN}")));
    }
}

#[tokio::test]
async fn account_transactions_as_bytes_use_the_account_route() {
    let stub = Stub::start(|_, _| Reply::json(200, fixture("transactions_page.json"))).await;
    let (client, _) = client(&stub);
    let body = client
        .account_transactions(&support::user_token(), 17, &TransactionsQuery::new(25))
        .bytes()
        .await
        .unwrap();
    assert_eq!(&body[..], fixture("transactions_page.json").as_bytes());
    let request = stub.single();
    assert_eq!(
        (request.method.as_str(), request.path.as_str()),
        ("GET", "/2.0/users/me/accounts/17/transactions")
    );
    assert_eq!(request.query.as_deref(), Some("limit=25"));
}

#[tokio::test]
async fn next_transactions_as_bytes_fetch_the_resolved_next_link() {
    let stub = Stub::start(|_, _| Reply::json(200, PAGE_WITH_A_MALFORMED_ROW)).await;
    let (client, _) = client(&stub);
    let next = client
        .resolve_next("/users/me/transactions?limit=2&offset=2")
        .unwrap();
    let body = client
        .next_transactions(&support::user_token(), &next)
        .bytes()
        .await
        .unwrap();
    assert_eq!(&body[..], PAGE_WITH_A_MALFORMED_ROW.as_bytes());
    let request = stub.single();
    assert_eq!(
        (request.method.as_str(), request.path.as_str()),
        ("GET", "/2.0/users/me/transactions")
    );
    assert_eq!(request.query.as_deref(), Some("limit=2&offset=2"));
}

#[tokio::test]
async fn raw_page_is_retried_on_429_like_the_typed_call() {
    let stub = Stub::start(|_, index| {
        if index == 0 {
            Reply::json(429, r#"{"code":"tooManyRequests"}"#).header("retry-after", "7")
        } else {
            Reply::json(200, PAGE_WITH_A_MALFORMED_ROW)
        }
    })
    .await;
    let (client, clock) = client(&stub);
    let body = client
        .transactions(&support::user_token(), &TransactionsQuery::new(10))
        .bytes()
        .await
        .unwrap();
    assert_eq!(&body[..], PAGE_WITH_A_MALFORMED_ROW.as_bytes());
    assert_eq!(stub.requests().len(), 2);
    assert_eq!(clock.sleeps(), vec![Duration::from_secs(7)]);
}

#[tokio::test]
async fn raw_page_error_status_is_an_api_error_not_a_body() {
    let stub = Stub::start(|_, _| Reply::json(404, r#"{"code":"accountNotFound"}"#)).await;
    let (client, _) = client(&stub);
    let err = client
        .account_transactions(&support::user_token(), 9, &TransactionsQuery::new(10))
        .bytes()
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(404), "{err:?}");
}

#[tokio::test]
async fn raw_page_limit_outside_1_to_1000_is_refused_before_sending() {
    let stub = Stub::start(|_, _| Reply::json(200, PAGE_WITH_A_MALFORMED_ROW)).await;
    let (client, _) = client(&stub);
    let err = client
        .transactions(&support::user_token(), &TransactionsQuery::new(0))
        .bytes()
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            powens_api::Error::InvalidRequest { field: "limit", .. }
        ),
        "{err:?}"
    );
    assert!(stub.requests().is_empty());
}
