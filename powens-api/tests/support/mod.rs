//! A local axum stub of Powens on 127.0.0.1 (port 0) that records every request and answers
//! from a responder closure given by each test.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Mutex};

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::response::Response;
use axum::Router;
use chrono::{DateTime, TimeZone, Utc};
use powens_api::time::ManualClock;
use powens_api::PowensClient;

/// One request as the stub saw it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub authorization: Option<String>,
    pub user_agent: Option<String>,
    pub content_type: Option<String>,
    pub body: String,
}

impl Recorded {
    pub fn body_json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

/// A canned answer.
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
    pub delay: Option<std::time::Duration>,
    /// Sent in pieces of this many bytes, without `Content-Length` (chunked encoding).
    pub chunked: Option<usize>,
}

impl Reply {
    pub fn json(status: u16, body: impl Into<String>) -> Self {
        Self {
            status,
            headers: vec![("content-type", "application/json".to_owned())],
            body: body.into(),
            delay: None,
            chunked: None,
        }
    }

    pub fn empty(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: String::new(),
            delay: None,
            chunked: None,
        }
    }

    pub fn html(status: u16, body: impl Into<String>) -> Self {
        Self {
            status,
            headers: vec![("content-type", "text/html".to_owned())],
            body: body.into(),
            delay: None,
            chunked: None,
        }
    }

    /// Holds the answer back (real time) so that requests overlap.
    pub fn delayed(mut self, delay: std::time::Duration) -> Self {
        self.delay = Some(delay);
        self
    }

    /// Streams the body in pieces of `piece` bytes with chunked transfer encoding (no
    /// `Content-Length`).
    pub fn chunked(mut self, piece: usize) -> Self {
        self.chunked = Some(piece.max(1));
        self
    }

    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
}

type Responder = dyn Fn(&Recorded, usize) -> Reply + Send + Sync;

#[derive(Clone)]
struct Shared {
    requests: Arc<Mutex<Vec<Recorded>>>,
    responder: Arc<Responder>,
    in_flight: Arc<Mutex<(usize, usize)>>,
}

/// A running stub.
pub struct Stub {
    pub base: String,
    requests: Arc<Mutex<Vec<Recorded>>>,
    in_flight: Arc<Mutex<(usize, usize)>>,
}

impl Stub {
    /// Starts a stub; the responder gets the request and its 0-based index.
    pub async fn start(
        responder: impl Fn(&Recorded, usize) -> Reply + Send + Sync + 'static,
    ) -> Self {
        let requests = Arc::new(Mutex::new(Vec::new()));
        let in_flight = Arc::new(Mutex::new((0, 0)));
        let shared = Shared {
            requests: requests.clone(),
            responder: Arc::new(responder),
            in_flight: in_flight.clone(),
        };
        let app = Router::new().fallback(handle).with_state(shared);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self {
            base: format!("http://{address}"),
            requests,
            in_flight,
        }
    }

    /// The largest number of requests the stub was handling at once.
    pub fn max_in_flight(&self) -> usize {
        self.in_flight.lock().unwrap().1
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }

    /// The only request received (fails when there were more or fewer).
    pub fn single(&self) -> Recorded {
        let requests = self.requests();
        assert_eq!(
            requests.len(),
            1,
            "expected exactly one request: {requests:#?}"
        );
        requests.into_iter().next().unwrap()
    }
}

async fn handle(State(shared): State<Shared>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let header = |name: &str| {
        parts
            .headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let body = to_bytes(body, 1 << 20).await.unwrap();
    let recorded = Recorded {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        authorization: header("authorization"),
        user_agent: header("user-agent"),
        content_type: header("content-type"),
        body: String::from_utf8(body.to_vec()).unwrap(),
    };
    let index = {
        let mut requests = shared.requests.lock().unwrap();
        requests.push(recorded.clone());
        requests.len() - 1
    };
    let reply = (shared.responder)(&recorded, index);
    if let Some(delay) = reply.delay {
        {
            let mut counts = shared.in_flight.lock().unwrap();
            counts.0 += 1;
            counts.1 = counts.1.max(counts.0);
        }
        tokio::time::sleep(delay).await;
        shared.in_flight.lock().unwrap().0 -= 1;
    }
    let mut response = Response::builder().status(reply.status);
    for (name, value) in reply.headers {
        response = response.header(name, value);
    }
    let body = match reply.chunked {
        None => Body::from(reply.body),
        Some(piece) => {
            let pieces: Vec<Result<Vec<u8>, std::convert::Infallible>> = reply
                .body
                .into_bytes()
                .chunks(piece)
                .map(|c| Ok(c.to_vec()))
                .collect();
            Body::from_stream(futures::stream::iter(pieces))
        }
    };
    response.body(body).unwrap()
}

pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 18, 12, 0, 0).unwrap()
}

/// A client on the stub with a manual clock (no real waiting) and no rate limit.
pub fn client(stub: &Stub) -> (PowensClient, ManualClock) {
    let clock = ManualClock::new(t0());
    let client = PowensClient::builder(format!("{}/2.0", stub.base))
        .clock(Arc::new(clock.clone()))
        .rate_limit(None)
        .build()
        .unwrap();
    (client, clock)
}

/// A client on the stub whose response bodies may not exceed `limit` bytes.
pub fn client_with_body_limit(stub: &Stub, limit: usize) -> PowensClient {
    PowensClient::builder(format!("{}/2.0", stub.base))
        .clock(Arc::new(ManualClock::new(t0())))
        .rate_limit(None)
        .max_response_bytes(limit)
        .build()
        .unwrap()
}

pub const USER_TOKEN: &str = "SECRET-USER-TOKEN-5f3a";
pub const CONFIG_TOKEN: &str = "SECRET-CONFIG-TOKEN-77b1";
pub const CLIENT_SECRET: &str = "SECRET-CLIENT-SECRET-9c2e";

pub fn user_token() -> secrecy::SecretString {
    secrecy::SecretString::from(USER_TOKEN)
}

pub fn config_token() -> secrecy::SecretString {
    secrecy::SecretString::from(CONFIG_TOKEN)
}

pub fn credentials() -> powens_api::auth::ClientCredentials {
    powens_api::auth::ClientCredentials::new("12345678", secrecy::SecretString::from(CLIENT_SECRET))
}

pub fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}
