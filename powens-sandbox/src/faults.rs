//! Fault injection per route and per call count: 429 with `Retry-After` (seconds or HTTP date),
//! 5xx with an HTML body, a delay, a dropped connection (closed without any response byte), a
//! truncated JSON body (valid headers, body cut mid-object), a page with one malformed row.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use http::Method;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// The routes faults can target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultRoute {
    /// Every Powens route (not the `/__sandbox/` control routes).
    Any,
    /// `POST /2.0/auth/init`.
    AuthInit,
    /// `GET /2.0/auth/token/code`.
    AuthTokenCode,
    /// `POST /2.0/auth/token/access`.
    AuthTokenAccess,
    /// `POST /2.0/auth/renew`.
    AuthRenew,
    /// `DELETE /2.0/auth/token`.
    AuthTokenDelete,
    /// `GET`/`DELETE /2.0/users/me`.
    User,
    /// `GET /2.0/users/me/connections`.
    Connections,
    /// `GET`/`PUT`/`POST`/`DELETE /2.0/users/me/connections/{id}`.
    Connection,
    /// Account listings (`/users/me/accounts`, `/users/me/connections/{id}/accounts`).
    Accounts,
    /// `GET /2.0/users/me/accounts/{id}`.
    Account,
    /// Transaction listings (user-wide and per account).
    Transactions,
    /// `GET /2.0/currencies`.
    Currencies,
    /// `/webhooks/auth` routes.
    WebhooksAuth,
    /// The Webview simulator (`/connect`, `/reconnect`).
    Webview,
}

/// How a 429 states when to come back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RetryAfter {
    /// `Retry-After: <seconds>`.
    Seconds(u64),
    /// `Retry-After: <HTTP date>`, this many seconds after the sandbox clock (the `Date` header
    /// carries the sandbox clock too).
    HttpDate(u64),
}

/// A fault to inject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    /// 429 with a Powens error body and `Retry-After`.
    RateLimited {
        /// The `Retry-After` form.
        retry_after: RetryAfter,
    },
    /// A gateway-style error (500, 502, 503, …) with an HTML body.
    ServerError {
        /// The HTTP status.
        status: u16,
    },
    /// Wait this long, then answer normally.
    Delay {
        /// Milliseconds.
        millis: u64,
    },
    /// Close the connection without sending a response.
    DropConnection,
    /// Answer normally but cut the body in the middle (`Content-Length` matches the cut body).
    TruncatedBody,
    /// Answer normally, except that the first transaction of the page has a `value` that is
    /// not an amount (the string `"12,50 EUR"`): valid JSON, one row a client must skip (and
    /// report) without failing the page. An answer without transactions is left as is.
    MalformedRow,
    /// Answer normally, except that the first transaction's `wording` holds a raw control
    /// character ([`CONTROL_CHARACTER_WORDING`]): the page is no longer JSON, yet every row
    /// boundary stands, so a client can skip (and report) that row and read the rest.
    ControlCharacterRow,
    /// Like [`Fault::ControlCharacterRow`] with bytes that are not UTF-8 in the `wording`
    /// ([`INVALID_UTF8_WORDING`]).
    InvalidUtf8Row,
}

/// The value [`Fault::MalformedRow`] puts in the first row's `value`.
pub const MALFORMED_VALUE: &str = "12,50 EUR";

/// The `wording` bytes [`Fault::ControlCharacterRow`] puts in the first row (a raw `U+0001`).
pub const CONTROL_CHARACTER_WORDING: &[u8] = b"CB \x01 SHOP";

/// The `wording` bytes [`Fault::InvalidUtf8Row`] puts in the first row (Latin-1 `é`).
pub const INVALID_UTF8_WORDING: &[u8] = b"CAF\xe9 DE PARIS";

/// `body` with the first transaction's `value` replaced by [`MALFORMED_VALUE`], and the id of
/// that transaction; `None` when `body` is not a JSON object with a non-empty `transactions`
/// list whose first element is an object. Every other byte of the page is kept as it was.
pub(crate) fn malform_first_row(body: &[u8]) -> Option<(Vec<u8>, Option<i64>)> {
    rewrite_first_row(body, |row| {
        row.insert("value".to_owned(), MALFORMED_VALUE.into());
    })
}

/// `body` with the first transaction's `wording` made of the raw bytes `wording` (which need
/// not be UTF-8 nor JSON), and the id of that transaction; `None` as for
/// [`malform_first_row`].
pub(crate) fn damage_first_row(body: &[u8], wording: &[u8]) -> Option<(Vec<u8>, Option<i64>)> {
    // A placeholder JSON writes verbatim, then swapped for the raw bytes.
    const MARK: &str = "sandbox-damaged-wording-7f3a";
    let (mut out, id) = rewrite_first_row(body, |row| {
        row.insert("wording".to_owned(), MARK.into());
    })?;
    let at = out.windows(MARK.len()).position(|w| w == MARK.as_bytes())?;
    out.splice(at..at + MARK.len(), wording.iter().copied());
    Some((out, id))
}

/// `body` with its first transaction rewritten by `rewrite`, and that transaction's id.
fn rewrite_first_row(
    body: &[u8],
    rewrite: impl FnOnce(&mut serde_json::Map<String, serde_json::Value>),
) -> Option<(Vec<u8>, Option<i64>)> {
    #[derive(Deserialize)]
    struct Page<'a> {
        #[serde(borrow)]
        transactions: Vec<&'a serde_json::value::RawValue>,
    }
    let text = std::str::from_utf8(body).ok()?;
    let page: Page<'_> = serde_json::from_str(text).ok()?;
    let first = page.transactions.first()?.get();
    // `first` borrows from `text`: its offset is the distance between the two pointers.
    let start = (first.as_ptr() as usize).checked_sub(text.as_ptr() as usize)?;
    let end = start.checked_add(first.len())?;
    let mut row: serde_json::Map<String, serde_json::Value> = serde_json::from_str(first).ok()?;
    let id = row.get("id").and_then(serde_json::Value::as_i64);
    rewrite(&mut row);
    let mut out = Vec::with_capacity(body.len() + 16);
    out.extend_from_slice(body.get(..start)?);
    serde_json::to_writer(&mut out, &row).ok()?;
    out.extend_from_slice(body.get(end..)?);
    Some((out, id))
}

/// "The `nth` call to `route` (counted from when the rule is installed), and the `times - 1`
/// calls after it, get `fault`."
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultRule {
    /// The targeted route.
    pub route: FaultRoute,
    /// 1-based call number, counted from installation.
    pub nth: u32,
    /// How many consecutive calls are affected (at least 1).
    #[serde(default = "one")]
    pub times: u32,
    /// The fault.
    pub fault: Fault,
}

fn one() -> u32 {
    1
}

impl FaultRule {
    /// The `nth` call to `route` gets `fault`.
    pub fn new(route: FaultRoute, nth: u32, fault: Fault) -> Self {
        Self {
            route,
            nth,
            times: 1,
            fault,
        }
    }

    /// Affect `times` consecutive calls.
    pub fn times(mut self, times: u32) -> Self {
        self.times = times;
        self
    }
}

#[derive(Debug, Default)]
pub(crate) struct FaultBook {
    calls: HashMap<FaultRoute, u32>,
    rules: Vec<(u32, u32, FaultRoute, Fault)>,
}

impl FaultBook {
    pub(crate) fn install(&mut self, rule: FaultRule) {
        let seen = self.calls.get(&rule.route).copied().unwrap_or(0);
        let first = seen.saturating_add(rule.nth.max(1));
        let last = first.saturating_add(rule.times.max(1) - 1);
        self.rules.push((first, last, rule.route, rule.fault));
    }

    pub(crate) fn clear(&mut self) {
        self.rules.clear();
    }

    /// Counts a call to `route` and returns the fault it must get, if any.
    pub(crate) fn hit(&mut self, route: FaultRoute) -> Option<Fault> {
        let mut fault = None;
        for r in [route, FaultRoute::Any] {
            let n = self.calls.entry(r).or_insert(0);
            *n += 1;
            let n = *n;
            if fault.is_none() {
                fault = self
                    .rules
                    .iter()
                    .find(|(first, last, rr, _)| *rr == r && (*first..=*last).contains(&n))
                    .map(|(_, _, _, f)| *f);
            }
        }
        self.rules
            .retain(|(_, last, rr, _)| self.calls.get(rr).copied().unwrap_or(0) < *last);
        fault
    }
}

/// Which fault route a request belongs to (`None` for control routes and unknown paths).
pub(crate) fn classify(method: &Method, path: &str) -> Option<FaultRoute> {
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let route = match segs.as_slice() {
        ["2.0", "auth", "init"] => FaultRoute::AuthInit,
        ["2.0", "auth", "token", "code"] => FaultRoute::AuthTokenCode,
        ["2.0", "auth", "token", "access"] => FaultRoute::AuthTokenAccess,
        ["2.0", "auth", "renew"] => FaultRoute::AuthRenew,
        ["2.0", "auth", "token"] if method == Method::DELETE => FaultRoute::AuthTokenDelete,
        ["2.0", "users", _] => FaultRoute::User,
        ["2.0", "users", _, "connections"] => FaultRoute::Connections,
        ["2.0", "users", _, "connections", _] => FaultRoute::Connection,
        ["2.0", "users", _, "connections", _, "accounts"] | ["2.0", "users", _, "accounts"] => {
            FaultRoute::Accounts
        }
        ["2.0", "users", _, "accounts", _] => FaultRoute::Account,
        ["2.0", "users", _, "transactions"]
        | ["2.0", "users", _, "accounts", _, "transactions"] => FaultRoute::Transactions,
        ["2.0", "currencies"] => FaultRoute::Currencies,
        ["webhooks", "auth", ..] => FaultRoute::WebhooksAuth,
        ["connect" | "reconnect"] | [_, "connect" | "reconnect"] => FaultRoute::Webview,
        _ => return None,
    };
    Some(route)
}

/// The HTML body of a gateway error, like a CDN's.
pub(crate) fn gateway_html(status: u16) -> String {
    let reason = http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Error");
    format!(
        "<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 4.01 Transitional//EN\">\n<html><head><title>{status} {reason}</title></head>\n<body><h1>{status} {reason}</h1><p>The request could not be satisfied.</p><hr>Generated by cloudfront (CloudFront)</body></html>\n"
    )
}

/// A TCP listener whose connections can be dropped from inside a request handler.
pub(crate) struct KillableListener(pub(crate) TcpListener);

/// A connection that fails every read and write once killed.
pub(crate) struct KillableStream {
    inner: TcpStream,
    killed: Arc<AtomicBool>,
}

/// Handle to kill the connection a request arrived on (available as `ConnectInfo`).
#[derive(Debug, Clone)]
pub(crate) struct ConnectionKiller(Arc<AtomicBool>);

impl ConnectionKiller {
    pub(crate) fn kill(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

impl Listener for KillableListener {
    type Io = KillableStream;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.0.accept().await {
                Ok((stream, addr)) => {
                    let _ = stream.set_nodelay(true);
                    return (
                        KillableStream {
                            inner: stream,
                            killed: Arc::new(AtomicBool::new(false)),
                        },
                        addr,
                    );
                }
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(5)).await,
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.0.local_addr()
    }
}

impl Connected<IncomingStream<'_, KillableListener>> for ConnectionKiller {
    fn connect_info(stream: IncomingStream<'_, KillableListener>) -> Self {
        Self(Arc::clone(&stream.io().killed))
    }
}

fn killed_error() -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::ConnectionReset,
        "connection dropped by fault injection",
    )
}

impl AsyncRead for KillableStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if self.killed.load(Ordering::SeqCst) {
            return Poll::Ready(Err(killed_error()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for KillableStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        if self.killed.load(Ordering::SeqCst) {
            return Poll::Ready(Err(killed_error()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        if self.killed.load(Ordering::SeqCst) {
            return Poll::Ready(Err(killed_error()));
        }
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        if self.killed.load(Ordering::SeqCst) {
            return Poll::Ready(Err(killed_error()));
        }
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nth_call_counted_from_installation_gets_the_fault() {
        let mut book = FaultBook::default();
        assert_eq!(book.hit(FaultRoute::Transactions), None);
        book.install(FaultRule::new(FaultRoute::Transactions, 2, Fault::DropConnection).times(2));
        assert_eq!(book.hit(FaultRoute::Transactions), None);
        assert_eq!(book.hit(FaultRoute::Accounts), None);
        assert_eq!(
            book.hit(FaultRoute::Transactions),
            Some(Fault::DropConnection)
        );
        assert_eq!(
            book.hit(FaultRoute::Transactions),
            Some(Fault::DropConnection)
        );
        assert_eq!(book.hit(FaultRoute::Transactions), None);
    }

    #[test]
    fn routes_are_classified_by_path() {
        let get = Method::GET;
        assert_eq!(
            classify(&get, "/2.0/users/me/accounts/3/transactions"),
            Some(FaultRoute::Transactions)
        );
        assert_eq!(
            classify(&get, "/2.0/users/me/accounts"),
            Some(FaultRoute::Accounts)
        );
        assert_eq!(classify(&get, "/fr/connect"), Some(FaultRoute::Webview));
        assert_eq!(classify(&get, "/__sandbox/clock"), None);
    }
}
