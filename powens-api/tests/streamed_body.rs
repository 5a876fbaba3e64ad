//! `account_transactions(..).streamed()`: a 2xx body read as it arrives ([`ResponseBody`]).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use powens_api::client::ResponseBody;
use powens_api::time::ManualClock;
use powens_api::transactions::TransactionsQuery;
use powens_api::{Error, PowensClient};
use support::{client, t0, Reply, Stub};

/// A page body of `rows` small rows.
fn page_body(rows: u32) -> String {
    let transactions: Vec<_> = (1..=rows)
        .map(|id| {
            serde_json::json!({"id": id, "id_account": 17, "date": "2026-06-18",
                               "value": "-1.50", "type": "card", "coming": false})
        })
        .collect();
    serde_json::json!({"transactions": transactions, "_links": {"next": null}}).to_string()
}

/// `GET /users/me/accounts/17/transactions?limit=<limit>`, streamed.
async fn streamed(client: &PowensClient, limit: u32) -> Result<ResponseBody, Error> {
    client
        .account_transactions(&support::user_token(), 17, &TransactionsQuery::new(limit))
        .streamed()
        .await
}

async fn read_all(body: &mut ResponseBody) -> Result<(Vec<u8>, usize), Error> {
    let mut all = Vec::new();
    let mut chunks = 0;
    while let Some(chunk) = body.chunk().await? {
        all.extend_from_slice(&chunk);
        chunks += 1;
    }
    Ok((all, chunks))
}

#[tokio::test]
async fn a_streamed_page_arrives_in_chunks_that_join_to_the_exact_body() {
    let body = page_body(100);
    let sent = body.clone();
    let stub = Stub::start(move |_, _| Reply::json(200, sent.clone()).chunked(7)).await;
    let (client, _) = client(&stub);
    let mut answer = streamed(&client, 100).await.unwrap();
    let (received, chunks) = read_all(&mut answer).await.unwrap();
    assert_eq!(received, body.as_bytes());
    assert!(
        chunks > 1,
        "the stub sent 7-byte pieces, got {chunks} chunk(s)"
    );
    assert_eq!(answer.received(), body.len());
    assert!(answer.chunk().await.unwrap().is_none(), "still ended");
    let request = stub.single();
    assert_eq!(request.path, "/2.0/users/me/accounts/17/transactions");
    assert_eq!(request.query.as_deref(), Some("limit=100"));
}

#[tokio::test]
async fn a_streamed_call_retries_a_429_before_the_body_and_streams_the_answer_after_it() {
    let body = page_body(3);
    let sent = body.clone();
    let stub = Stub::start(move |_, index| {
        if index == 0 {
            Reply::json(429, r#"{"code":"tooManyRequests"}"#).header("retry-after", "2")
        } else {
            Reply::json(200, sent.clone())
        }
    })
    .await;
    let (client, clock) = client(&stub);
    let mut answer = streamed(&client, 3).await.unwrap();
    assert_eq!(read_all(&mut answer).await.unwrap().0, body.as_bytes());
    assert_eq!(stub.requests().len(), 2);
    assert_eq!(clock.sleeps(), vec![Duration::from_secs(2)]);
}

#[tokio::test]
async fn a_streamed_call_answered_with_an_error_status_fails_typed_before_any_body() {
    let stub = Stub::start(|_, _| Reply::json(403, r#"{"code":"forbidden","message":"no"}"#)).await;
    let (client, _) = client(&stub);
    let err = streamed(&client, 3).await.unwrap_err();
    assert!(matches!(err, Error::Api(_)), "{err:?}");
    assert_eq!(stub.requests().len(), 1);
}

#[tokio::test]
async fn a_streamed_limit_outside_1_to_1000_is_refused_before_sending() {
    let stub = Stub::start(|_, _| Reply::json(200, page_body(1))).await;
    let (client, _) = client(&stub);
    let err = streamed(&client, 0).await.unwrap_err();
    assert!(
        matches!(err, Error::InvalidRequest { field: "limit", .. }),
        "{err:?}"
    );
    assert!(stub.requests().is_empty());
}

#[tokio::test]
async fn a_streamed_body_declared_longer_than_max_response_bytes_fails_at_the_call() {
    let body = page_body(100);
    assert!(body.len() > 2048);
    let stub = Stub::start(move |_, _| Reply::json(200, body.clone())).await;
    let client = support::client_with_body_limit(&stub, 2048);
    let err = streamed(&client, 100).await.unwrap_err();
    assert!(
        matches!(err, Error::ResponseTooLarge { limit: 2048, .. }),
        "{err:?}"
    );
    assert!(!err.is_retryable());
    assert_eq!(stub.requests().len(), 1);
}

#[tokio::test]
async fn a_streamed_chunked_body_growing_past_max_response_bytes_fails_mid_body_then_ends() {
    let body = page_body(100);
    let stub = Stub::start(move |_, _| Reply::json(200, body.clone()).chunked(100)).await;
    let client = support::client_with_body_limit(&stub, 2048);
    let mut answer = streamed(&client, 100).await.unwrap();
    let err = read_all(&mut answer).await.unwrap_err();
    assert!(
        matches!(err, Error::ResponseTooLarge { limit: 2048, .. }),
        "{err:?}"
    );
    assert!(answer.received() <= 2048, "received {}", answer.received());
    assert!(
        answer.chunk().await.unwrap().is_none(),
        "nothing after the failure"
    );
}

#[tokio::test]
async fn a_streamed_body_holds_the_concurrency_slot_until_it_is_dropped() {
    let stub = Stub::start(|_, _| Reply::json(200, page_body(2))).await;
    let client = PowensClient::builder(format!("{}/2.0", stub.base))
        .clock(Arc::new(ManualClock::new(t0())))
        .rate_limit(None)
        .max_concurrent_requests(1)
        .build()
        .unwrap();
    let token = support::user_token();
    let query = TransactionsQuery::new(2);
    let first = client
        .account_transactions(&token, 17, &query)
        .streamed()
        .await
        .unwrap();
    let mut second = Box::pin(client.account_transactions(&token, 18, &query).streamed());
    assert!(
        (&mut second).now_or_never().is_none(),
        "the second call waits for the only slot"
    );
    assert_eq!(stub.requests().len(), 1);
    drop(first);
    let mut second = second.await.unwrap();
    assert!(!read_all(&mut second).await.unwrap().0.is_empty());
    assert_eq!(stub.requests().len(), 2);
}

/// A server that answers every connection `200` with `Content-Length: 1000`, sends the first
/// `sent` bytes of the body and closes; counts the connections it accepted.
async fn cutting_server(sent: usize) -> (String, Arc<std::sync::atomic::AtomicUsize>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let accepted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = Arc::clone(&accepted);
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let mut request = [0u8; 4096];
            let _ = socket.read(&mut request).await;
            let head =
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n";
            let body = format!("{{\"transactions\": [{}", " ".repeat(sent));
            let _ = socket.write_all(head.as_bytes()).await;
            let _ = socket.write_all(&body.as_bytes()[..sent]).await;
            let _ = socket.flush().await;
            drop(socket);
        }
    });
    (base, accepted)
}

#[tokio::test]
async fn a_streamed_body_cut_after_the_status_is_interrupted_and_not_retried_by_the_client() {
    let (base, accepted) = cutting_server(100).await;
    let clock = ManualClock::new(t0());
    let client = PowensClient::builder(format!("{base}/2.0"))
        .clock(Arc::new(clock.clone()))
        .rate_limit(None)
        .build()
        .unwrap();
    let mut answer = streamed(&client, 10).await.unwrap();
    let err = read_all(&mut answer).await.unwrap_err();
    let Error::BodyInterrupted { received, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(*received, 100, "the bytes before the cut were handed out");
    assert_eq!(err.class(), powens_api::retry::ErrorClass::Interrupted);
    assert!(err.is_retryable(), "the caller may repeat the call");
    assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert!(clock.sleeps().is_empty(), "the client did not retry");
    assert!(err.to_string().contains("cut after 100 bytes"), "{err}");
}
