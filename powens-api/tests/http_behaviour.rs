//! HTTP behaviour against the local stub: pagination, retries, error mapping, secrets.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::error::Error as _;
use std::sync::Arc;
use std::time::Duration;

use powens_api::client::{RateLimit, Timeouts};
use powens_api::error::{ErrorCode, NextLinkProblem};
use powens_api::pagination::LinkGuard;
use powens_api::retry::RetryPolicy;
use powens_api::time::ManualClock;
use powens_api::transactions::{TransactionsPage, TransactionsQuery};
use powens_api::{Error, PowensClient};
use support::{client, t0, Recorded, Reply, Stub, CLIENT_SECRET, CONFIG_TOKEN, USER_TOKEN};

fn offset_of(request: &Recorded) -> u64 {
    request
        .query
        .as_deref()
        .unwrap_or_default()
        .split('&')
        .find_map(|pair| pair.strip_prefix("offset="))
        .map(|v| v.parse().unwrap())
        .unwrap_or(0)
}

fn page_json(ids: &[i64], next: Option<&str>) -> String {
    let transactions: Vec<_> = ids
        .iter()
        .map(|id| {
            serde_json::json!({"id": id, "id_account": 17, "date": "2026-06-18",
                               "value": -1.5, "type": "card", "coming": false})
        })
        .collect();
    serde_json::json!({
        "transactions": transactions,
        "_links": {"next": next.map(|href| serde_json::json!({"href": href}))}
    })
    .to_string()
}

/// Walks every page the way a connector would: resolve, guard, fetch.
async fn walk(client: &PowensClient, first: TransactionsPage) -> (Vec<i64>, Result<(), Error>) {
    let token = support::user_token();
    let mut ids: Vec<i64> = first.transactions.iter().map(|t| t.id).collect();
    let mut page = first;
    let mut guard = LinkGuard::new();
    loop {
        let Some(href) = page.next_href() else {
            return (ids, Ok(()));
        };
        let next = match client.resolve_next(href) {
            Ok(next) => next,
            Err(err) => return (ids, Err(err)),
        };
        if let Err(err) = guard.check(&next) {
            return (ids, Err(err));
        }
        page = match client.next_transactions(&token, &next).page().await {
            Ok(page) => page,
            Err(err) => return (ids, Err(err)),
        };
        ids.extend(page.transactions.iter().map(|t| t.id));
    }
}

#[tokio::test]
async fn multi_page_walk_follows_absolute_versioned_and_unprefixed_links() {
    let stub = Stub::start(|request, _| {
        let base = request.path.clone();
        assert_eq!(base, "/2.0/users/me/transactions");
        match offset_of(request) {
            0 => Reply::json(200, page_json(&[1, 2], Some("NEXT_ABSOLUTE"))),
            2 => Reply::json(
                200,
                page_json(
                    &[3, 4],
                    Some("/2.0/users/me/transactions?limit=2&offset=4&all"),
                ),
            ),
            4 => Reply::json(
                200,
                page_json(&[5, 6], Some("/users/me/transactions?limit=2&offset=6&all")),
            ),
            6 => Reply::json(200, page_json(&[7], None)),
            other => panic!("unexpected offset {other}"),
        }
    })
    .await;
    let (client, _) = client(&stub);
    let token = support::user_token();
    let mut first = client
        .transactions(&token, &TransactionsQuery::new(2).all(true))
        .page()
        .await
        .unwrap();
    // The absolute link needs the stub's address, which the responder cannot know up front.
    let absolute = format!(
        "{}/2.0/users/me/transactions?limit=2&offset=2&all",
        stub.base
    );
    first.links.as_mut().unwrap().next.as_mut().unwrap().href = absolute;
    let (ids, result) = walk(&client, first).await;
    result.unwrap();
    assert_eq!(ids, vec![1, 2, 3, 4, 5, 6, 7]);
    let offsets: Vec<u64> = stub.requests().iter().map(offset_of).collect();
    assert_eq!(offsets, vec![0, 2, 4, 6]);
    for request in stub.requests() {
        assert_eq!(
            request.authorization.as_deref(),
            Some(&*format!("Bearer {USER_TOKEN}"))
        );
        assert!(request.query.unwrap().contains("all"));
    }
}

#[tokio::test]
async fn foreign_host_next_link_is_refused_without_sending_the_token() {
    let stub = Stub::start(|_, _| {
        Reply::json(
            200,
            page_json(
                &[1],
                Some("https://evil.example/2.0/users/me/transactions?offset=1"),
            ),
        )
    })
    .await;
    let (client, _) = client(&stub);
    let first = client
        .transactions(&support::user_token(), &TransactionsQuery::new(1))
        .page()
        .await
        .unwrap();
    let (ids, result) = walk(&client, first).await;
    assert_eq!(ids, vec![1]);
    let err = result.unwrap_err();
    assert!(
        matches!(
            &err,
            Error::NextLink {
                problem: NextLinkProblem::ForeignHost { .. },
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("evil.example"), "{err}");
    assert_eq!(stub.requests().len(), 1);
}

#[tokio::test]
async fn repeated_next_link_stops_the_walk() {
    let stub = Stub::start(|_, _| {
        Reply::json(
            200,
            page_json(&[1], Some("/2.0/users/me/transactions?limit=1&offset=1")),
        )
    })
    .await;
    let (client, _) = client(&stub);
    let first = client
        .transactions(&support::user_token(), &TransactionsQuery::new(1))
        .page()
        .await
        .unwrap();
    let (ids, result) = walk(&client, first).await;
    assert_eq!(ids, vec![1, 1]);
    assert!(
        matches!(
            result,
            Err(Error::NextLink {
                problem: NextLinkProblem::Repeated,
                ..
            })
        ),
        "{result:?}"
    );
    assert_eq!(stub.requests().len(), 2);
}

#[tokio::test]
async fn rate_limited_then_ok_honours_retry_after_seconds() {
    let stub = Stub::start(|_, index| {
        if index == 0 {
            Reply::json(429, r#"{"code":"tooManyRequests"}"#).header("retry-after", "7")
        } else {
            Reply::json(200, support::fixture("user.json"))
        }
    })
    .await;
    let (client, clock) = client(&stub);
    let user = client.get_me(&support::user_token()).await.unwrap();
    assert_eq!(user.id, 7);
    assert_eq!(stub.requests().len(), 2);
    assert_eq!(clock.sleeps(), vec![Duration::from_secs(7)]);
}

#[tokio::test]
async fn rate_limited_then_ok_honours_retry_after_http_date() {
    let retry_at = httpdate::fmt_http_date((t0() + chrono::Duration::seconds(30)).into());
    let stub = Stub::start(move |_, index| {
        if index == 0 {
            Reply::empty(429).header("retry-after", retry_at.clone())
        } else {
            Reply::json(200, support::fixture("user.json"))
        }
    })
    .await;
    let (client, clock) = client(&stub);
    client.get_me(&support::user_token()).await.unwrap();
    assert_eq!(clock.sleeps(), vec![Duration::from_secs(30)]);
}

#[tokio::test]
async fn post_is_retried_on_429_but_not_on_503() {
    let stub = Stub::start(|request, _| match request.query.as_deref() {
        Some(q) if q.contains("name=ratelimited") => Reply::empty(429).header("retry-after", "1"),
        _ => Reply::html(503, "<html>down</html>"),
    })
    .await;
    let (client, clock) = client(&stub);
    let name = powens_api::webhooks_auth::WebhookAuthName::new("ratelimited").unwrap();
    let err = client
        .create_webhook_auth(&support::config_token(), &name)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::RateLimited { .. }), "{err:?}");
    assert_eq!(stub.requests().len(), 4, "429 retried up to max_attempts");
    assert_eq!(clock.sleeps(), vec![Duration::from_secs(1); 3]);

    let name = powens_api::webhooks_auth::WebhookAuthName::new("down").unwrap();
    let err = client
        .create_webhook_auth(&support::config_token(), &name)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(503));
    assert_eq!(stub.requests().len(), 5, "503 on a POST is not replayed");
}

#[tokio::test]
async fn auth_init_is_never_replayed_even_on_429_or_503() {
    for reply in [429u16, 503] {
        let stub = Stub::start(move |_, _| Reply::empty(reply).header("retry-after", "1")).await;
        let (client, clock) = client(&stub);
        let err = client.auth_init(&support::credentials()).await.unwrap_err();
        assert_eq!(err.status(), Some(reply));
        assert_eq!(stub.requests().len(), 1, "HTTP {reply}");
        assert!(clock.sleeps().is_empty());
    }
}

#[tokio::test]
async fn html_503_gateway_page_becomes_an_api_error_with_an_excerpt() {
    let page = "<!DOCTYPE html>\n<html><head><title>503 Service Unavailable</title></head>\n<body>\n  <h1>Service   Unavailable</h1>\n  <p>The server is temporarily unable to service your request. Generated by cloudfront (CloudFront) Request ID: abcDEF123==</p>\n</body></html>";
    let stub = Stub::start(move |_, _| Reply::html(503, page)).await;
    let (client, clock) = client(&stub);
    let err = client.get_me(&support::user_token()).await.unwrap_err();
    let Error::Api(api) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(api.status, 503);
    assert_eq!(api.code, None);
    let excerpt = api.excerpt.as_deref().unwrap();
    assert!(
        excerpt.starts_with("<!DOCTYPE html> <html><head><title>503 Service Unavailable"),
        "{excerpt}"
    );
    assert!(excerpt.chars().count() <= 161, "{excerpt}");
    assert!(!excerpt.contains('\n'));
    assert!(err.is_retryable());
    assert_eq!(stub.requests().len(), 4, "GET retried up to max_attempts");
    assert_eq!(clock.sleeps().len(), 3);
    assert!(err.to_string().contains("HTTP 503"), "{err}");
}

#[tokio::test]
async fn json_error_body_fills_code_description_message_and_request_id() {
    let stub = Stub::start(|_, _| {
        Reply::json(
            400,
            r#"{"code":"invalidValue","description":"Invalid value for limit","message":"Banque indisponible","request_id":123456}"#,
        )
    })
    .await;
    let (client, _) = client(&stub);
    let err = client
        .transactions(&support::user_token(), &TransactionsQuery::new(10))
        .page()
        .await
        .unwrap_err();
    let Error::Api(api) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(api.status, 400);
    assert_eq!(api.code, Some(ErrorCode::InvalidValue));
    assert_eq!(api.description.as_deref(), Some("Invalid value for limit"));
    assert_eq!(api.message.as_deref(), Some("Banque indisponible"));
    assert_eq!(api.request_id.as_deref(), Some("123456"));
    assert_eq!(api.path, "/2.0/users/me/transactions");
    assert!(!err.is_retryable());
    assert_eq!(
        err.to_string(),
        "GET /2.0/users/me/transactions: HTTP 400 invalidValue: Invalid value for limit (institution says: Banque indisponible) [request id 123456]"
    );
    assert_eq!(stub.requests().len(), 1);
}

#[tokio::test]
async fn request_id_header_is_used_when_the_body_has_none() {
    let stub = Stub::start(|_, _| {
        Reply::json(
            404,
            r#"{"code":"notFound","description":"no such account"}"#,
        )
        .header("x-request-id", "req-abc")
    })
    .await;
    let (client, _) = client(&stub);
    let err = client
        .get_account(&support::user_token(), 99, &Default::default())
        .await
        .unwrap_err();
    let Error::Api(api) = err else { panic!() };
    assert_eq!(api.code, Some(ErrorCode::NotFound));
    assert_eq!(api.request_id.as_deref(), Some("req-abc"));
}

#[tokio::test]
async fn undecodable_success_body_is_a_decode_error_with_the_json_path() {
    let stub = Stub::start(|_, _| {
        Reply::json(
            200,
            r#"{"transactions":[{"id":1,"id_account":2,"date":"2026-01-01","type":"card","coming":false},{"id":2,"id_account":2,"date":"2026-01-01","type":"card","coming":false,"value":"abc"}]}"#,
        )
    })
    .await;
    let (client, _) = client(&stub);
    let err = client
        .transactions(&support::user_token(), &TransactionsQuery::new(10))
        .page()
        .await
        .unwrap_err();
    let Error::Decode { source, path, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(source.path, "transactions[1].value");
    assert_eq!(err.json_path(), Some("transactions[1].value"));
    assert_eq!(path, "/2.0/users/me/transactions");
    assert!(err.source().is_some(), "source() is kept");
}

#[tokio::test]
async fn transport_errors_are_retried_for_get_and_keep_their_source() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let clock = ManualClock::new(t0());
    let client = PowensClient::builder(format!("http://{address}/2.0"))
        .clock(Arc::new(clock.clone()))
        .rate_limit(None)
        .build()
        .unwrap();
    let err = client.get_me(&support::user_token()).await.unwrap_err();
    let Error::Transport { attempts, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(*attempts, 4);
    assert_eq!(clock.sleeps().len(), 3);
    assert!(err.is_retryable());
    assert!(err.source().is_some());
}

#[tokio::test]
async fn retry_after_beyond_the_overall_budget_stops_at_once() {
    let stub = Stub::start(|_, _| Reply::empty(429).header("retry-after", "50")).await;
    let clock = ManualClock::new(t0());
    let client = PowensClient::builder(format!("{}/2.0", stub.base))
        .clock(Arc::new(clock.clone()))
        .rate_limit(None)
        .timeouts(Timeouts {
            connect: Duration::from_secs(1),
            per_attempt: Duration::from_secs(5),
            overall: Duration::from_secs(30),
        })
        .build()
        .unwrap();
    let err = client.get_me(&support::user_token()).await.unwrap_err();
    assert!(
        matches!(err, Error::RateLimited { retry_after: Some(d), .. } if d == Duration::from_secs(50)),
        "{err:?}"
    );
    assert_eq!(stub.requests().len(), 1);
    assert!(clock.sleeps().is_empty());
}

#[tokio::test]
async fn client_side_rate_limit_spaces_request_starts() {
    let stub = Stub::start(|_, _| Reply::json(200, support::fixture("user.json"))).await;
    let clock = ManualClock::new(t0());
    let client = PowensClient::builder(format!("{}/2.0", stub.base))
        .clock(Arc::new(clock.clone()))
        .rate_limit(Some(RateLimit {
            max_requests: 2,
            per: Duration::from_secs(1),
        }))
        .build()
        .unwrap();
    for _ in 0..3 {
        client.get_me(&support::user_token()).await.unwrap();
    }
    assert_eq!(
        clock.sleeps(),
        vec![Duration::from_millis(500), Duration::from_millis(500)]
    );
}

#[tokio::test]
async fn disabled_retry_policy_sends_once() {
    let stub = Stub::start(|_, _| Reply::html(502, "bad gateway")).await;
    let client = PowensClient::builder(format!("{}/2.0", stub.base))
        .retry_policy(RetryPolicy::disabled())
        .rate_limit(None)
        .build()
        .unwrap();
    let err = client.get_me(&support::user_token()).await.unwrap_err();
    assert_eq!(err.status(), Some(502));
    assert_eq!(stub.requests().len(), 1);
}

#[test]
fn invalid_builder_settings_are_config_errors() {
    let zero_timeout = PowensClient::builder("https://acme.biapi.pro/2.0")
        .timeouts(Timeouts {
            connect: Duration::ZERO,
            ..Timeouts::default()
        })
        .build();
    assert!(matches!(zero_timeout, Err(Error::Config { .. })));
    let zero_concurrency = PowensClient::builder("https://acme.biapi.pro/2.0")
        .max_concurrent_requests(0)
        .build();
    assert!(matches!(zero_concurrency, Err(Error::Config { .. })));
    let no_attempts = PowensClient::builder("https://acme.biapi.pro/2.0")
        .retry_policy(RetryPolicy {
            max_attempts: 0,
            ..RetryPolicy::default()
        })
        .build();
    assert!(matches!(no_attempts, Err(Error::Config { .. })));
}

fn assert_no_secret(text: &str) {
    for secret in [USER_TOKEN, CONFIG_TOKEN, CLIENT_SECRET] {
        assert!(!text.contains(secret), "secret leaked in: {text}");
    }
}

fn error_chain_text(err: &Error) -> String {
    let mut text = format!("{err} | {err:?}");
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(&format!(" | {cause} | {cause:?}"));
        source = cause.source();
    }
    text
}

#[tokio::test]
async fn no_secret_appears_in_any_error_or_debug_output() {
    let stub = Stub::start(|request, _| match request.path.as_str() {
        "/2.0/auth/init" => {
            Reply::json(401, r#"{"code":"authFailure","description":"bad client"}"#)
        }
        "/2.0/users/me" => Reply::html(503, "<html>gateway</html>"),
        "/webhooks/auth" => Reply::json(
            500,
            r#"{"code":"dataError","description":"boom","request_id":"r1"}"#,
        ),
        _ => Reply::json(200, r#"{"transactions":[{"id":"x"}]}"#),
    })
    .await;
    let (client, _) = client(&stub);
    let mut texts = vec![
        format!("{client:?}"),
        format!("{:?}", support::credentials()),
    ];
    let errors = vec![
        client.auth_init(&support::credentials()).await.unwrap_err(),
        client.get_me(&support::user_token()).await.unwrap_err(),
        client
            .list_webhook_auths(&support::config_token())
            .await
            .unwrap_err(),
        client
            .transactions(&support::user_token(), &TransactionsQuery::new(5))
            .page()
            .await
            .unwrap_err(),
    ];
    for err in &errors {
        texts.push(error_chain_text(err));
    }
    // A transport error too.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let offline = PowensClient::builder(format!("http://{address}"))
        .retry_policy(RetryPolicy::disabled())
        .build()
        .unwrap();
    texts.push(error_chain_text(
        &offline.get_me(&support::user_token()).await.unwrap_err(),
    ));
    // Decoded secrets print redacted.
    let token: powens_api::auth::AuthToken = serde_json::from_str(&format!(
        r#"{{"auth_token":"{USER_TOKEN}","type":"permanent","id_user":1}}"#
    ))
    .unwrap();
    texts.push(format!("{token:?}"));
    // Request parameter types that carry secrets print them redacted.
    let exchange = powens_api::auth::CodeExchange {
        credentials: support::credentials(),
        code: secrecy::SecretString::from(USER_TOKEN),
        redirect_uri: None,
    };
    let renewal = powens_api::auth::TokenRenewal {
        credentials: support::credentials(),
        id_user: 7,
        revoke_previous: false,
    };
    texts.push(format!("{exchange:?} {renewal:?}"));
    for text in &texts {
        assert_no_secret(text);
    }
    assert_eq!(texts.len(), 9);
}

#[tokio::test]
async fn concurrent_requests_are_bounded_by_the_semaphore() {
    let stub = Stub::start(|_, _| {
        Reply::json(200, support::fixture("user.json")).delayed(Duration::from_millis(200))
    })
    .await;
    let client = PowensClient::builder(format!("{}/2.0", stub.base))
        .rate_limit(None)
        .max_concurrent_requests(2)
        .build()
        .unwrap();
    let token = support::user_token();
    let calls: Vec<_> = (0..6).map(|_| client.get_me(&token)).collect();
    for result in futures::future::join_all(calls).await {
        result.unwrap();
    }
    assert_eq!(stub.requests().len(), 6);
    assert_eq!(stub.max_in_flight(), 2);
}

fn assert_send<T: Send>(_: &T) {}
fn assert_send_sync<T: Send + Sync>() {}

#[test]
fn client_errors_and_call_futures_can_cross_threads() {
    assert_send_sync::<PowensClient>();
    assert_send_sync::<Error>();
    assert_send_sync::<TransactionsPage>();
    let client = PowensClient::builder("https://acme.biapi.pro/2.0")
        .build()
        .unwrap();
    let token = support::user_token();
    let query = TransactionsQuery::new(10);
    // Not polled: this only checks that `tokio::spawn` would accept them.
    assert_send(&client.get_me(&token));
    assert_send(&client.transactions(&token, &query).page());
    assert_send(&client.auth_init(&support::credentials()));
    assert_send(&client.create_webhook_auth(
        &support::config_token(),
        &powens_api::webhooks_auth::WebhookAuthName::new("x").unwrap(),
    ));
}

#[tokio::test]
async fn a_body_declared_longer_than_max_response_bytes_fails_typed_and_is_not_retried() {
    let ids: Vec<i64> = (1..=100).collect();
    let body = page_json(&ids, None);
    assert!(body.len() > 2048, "fixture is {} bytes", body.len());
    let stub = Stub::start(move |_, _| Reply::json(200, body.clone())).await;
    let client = support::client_with_body_limit(&stub, 2048);
    let err = client
        .transactions(&support::user_token(), &TransactionsQuery::new(100))
        .bytes()
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::ResponseTooLarge { limit: 2048, path, .. } if path == "/2.0/users/me/transactions"),
        "{err:?}"
    );
    assert!(!err.is_retryable());
    assert!(err.to_string().contains("max_response_bytes"), "{err}");
    assert_eq!(stub.requests().len(), 1);
}

#[tokio::test]
async fn a_chunked_body_growing_past_max_response_bytes_fails_typed() {
    let ids: Vec<i64> = (1..=100).collect();
    let body = page_json(&ids, None);
    let stub = Stub::start(move |_, _| Reply::json(200, body.clone()).chunked(100)).await;
    let client = support::client_with_body_limit(&stub, 2048);
    let err = client
        .transactions(&support::user_token(), &TransactionsQuery::new(100))
        .page()
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::ResponseTooLarge { limit: 2048, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_body_in_many_chunks_is_assembled_exactly_and_one_at_the_bound_is_accepted() {
    let ids: Vec<i64> = (1..=100).collect();
    let body = page_json(&ids, None);
    let size = body.len();
    let chunked = body.clone();
    let stub = Stub::start(move |_, index| {
        if index == 0 {
            Reply::json(200, chunked.clone()).chunked(7)
        } else {
            Reply::json(200, chunked.clone())
        }
    })
    .await;
    let client = support::client_with_body_limit(&stub, size);
    let query = TransactionsQuery::new(100);
    let raw = client
        .transactions(&support::user_token(), &query)
        .bytes()
        .await
        .unwrap();
    assert_eq!(raw.as_ref(), body.as_bytes());
    let page = client
        .transactions(&support::user_token(), &query)
        .page()
        .await
        .unwrap();
    assert_eq!(
        page.transactions.iter().map(|t| t.id).collect::<Vec<_>>(),
        ids
    );
}

#[test]
fn max_response_bytes_below_one_kib_is_refused_by_name() {
    let err = PowensClient::builder("https://acme.biapi.pro/2.0")
        .max_response_bytes(1023)
        .build()
        .unwrap_err();
    assert!(matches!(err, Error::Config { .. }), "{err:?}");
    assert!(err.to_string().contains("max_response_bytes"), "{err}");
}

const NOT_FOUND: &str = r#"{"code":"notFound","description":"connection not found"}"#;

#[tokio::test]
async fn a_404_on_a_delete_retried_after_a_5xx_means_already_deleted() {
    let stub = Stub::start(|_, index| match index {
        0 => Reply::html(503, "<html>busy</html>"),
        _ => Reply::json(404, NOT_FOUND),
    })
    .await;
    let (client, _) = client(&stub);
    client
        .delete_connection(&support::user_token(), 7)
        .await
        .unwrap();
    assert_eq!(stub.requests().len(), 2);
}

#[tokio::test]
async fn a_404_on_the_first_delete_attempt_stays_an_error() {
    let stub = Stub::start(|_, _| Reply::json(404, NOT_FOUND)).await;
    let (client, _) = client(&stub);
    let err = client
        .delete_connection(&support::user_token(), 7)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(404), "{err:?}");
    assert_eq!(stub.requests().len(), 1);
}

#[tokio::test]
async fn a_404_after_a_5xx_on_a_get_stays_an_error() {
    let stub = Stub::start(|_, index| match index {
        0 => Reply::html(503, "<html>busy</html>"),
        _ => Reply::json(404, NOT_FOUND),
    })
    .await;
    let (client, _) = client(&stub);
    let err = client
        .get_connection(&support::user_token(), 7, &Default::default())
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(404), "{err:?}");
    assert_eq!(stub.requests().len(), 2);
}
