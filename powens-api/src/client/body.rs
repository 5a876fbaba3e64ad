//! [`ResponseBody`]: a successful answer's body read chunk by chunk as it arrives.

use bytes::Bytes;
use http::Method;

use crate::error::Error;

/// The body of a successful (2xx) answer, read as it arrives instead of assembled whole.
///
/// Returned by the `…_streamed` calls (e.g.
/// [`TransactionsCall::streamed`](crate::transactions::TransactionsCall::streamed))
/// for callers that process a large page in pieces, so that memory does not follow the page
/// size. The request, retries, rate limit and error mapping up to the answer's status are
/// those of every call; from then on:
///
/// * the body still counts against the client's `max_response_bytes`
///   ([`Error::ResponseTooLarge`] as soon as the bytes received exceed it, or at once when
///   `Content-Length` does);
/// * a transport failure while reading it (a connection reset, the per-attempt timeout) is
///   returned as [`Error::BodyInterrupted`] (class
///   [`Interrupted`](crate::retry::ErrorClass::Interrupted)) and *not* retried here: the caller
///   has already consumed part of the body, so only the caller knows where to resume;
/// * the client's concurrency slot is held until the body is read to its end or dropped.
///
/// ```no_run
/// # async fn demo(client: powens_api::PowensClient, token: secrecy::SecretString) -> Result<(), powens_api::Error> {
/// use powens_api::transactions::TransactionsQuery;
/// let mut body = client
///     .account_transactions(&token, 42, &TransactionsQuery::new(1000)).streamed()
///     .await?;
/// let mut total = 0;
/// while let Some(chunk) = body.chunk().await? {
///     total += chunk.len();
/// }
/// println!("{total} bytes");
/// # Ok(()) }
/// ```
pub struct ResponseBody {
    source: Source,
    _permit: Option<tokio::sync::OwnedSemaphorePermit>,
    method: Method,
    path: String,
    limit: usize,
    received: usize,
    ended: bool,
}

/// Where the bytes come from.
enum Source {
    /// An answer still being received.
    Http(reqwest::Response),
    /// An answer already read whole (the rest of it; empty once taken).
    Buffered(Bytes),
}

impl std::fmt::Debug for ResponseBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseBody")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("received", &self.received)
            .field("ended", &self.ended)
            .finish_non_exhaustive()
    }
}

impl ResponseBody {
    /// Wraps a successful response; fails at once when its declared length exceeds `limit`.
    pub(crate) fn new(
        response: reqwest::Response,
        permit: tokio::sync::OwnedSemaphorePermit,
        method: Method,
        path: String,
        limit: usize,
    ) -> Result<Self, Error> {
        let declared = response
            .content_length()
            .map(|n| usize::try_from(n).unwrap_or(usize::MAX));
        if declared.is_some_and(|n| n > limit) {
            return Err(Error::ResponseTooLarge {
                method,
                path,
                limit,
            });
        }
        Ok(Self {
            source: Source::Http(response),
            _permit: Some(permit),
            method,
            path,
            limit,
            received: 0,
            ended: false,
        })
    }

    /// A body already read whole, served as one chunk.
    pub(crate) fn buffered(body: Bytes, method: Method, path: String, limit: usize) -> Self {
        Self {
            source: Source::Buffered(body),
            _permit: None,
            method,
            path,
            limit,
            received: 0,
            ended: false,
        }
    }

    /// The next bytes of the body, or `None` at its end (and on every call after it).
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, Error> {
        if self.ended {
            return Ok(None);
        }
        let next = match &mut self.source {
            Source::Http(response) => {
                response
                    .chunk()
                    .await
                    .map_err(|err| Error::BodyInterrupted {
                        method: self.method.clone(),
                        path: self.path.clone(),
                        received: self.received,
                        source: err.without_url(),
                    })?
            }
            Source::Buffered(rest) => Some(std::mem::take(rest)).filter(|b| !b.is_empty()),
        };
        let Some(chunk) = next else {
            self.ended = true;
            return Ok(None);
        };
        if chunk.len() > self.limit.saturating_sub(self.received) {
            self.ended = true;
            return Err(Error::ResponseTooLarge {
                method: self.method.clone(),
                path: self.path.clone(),
                limit: self.limit,
            });
        }
        self.received += chunk.len();
        Ok(Some(chunk))
    }

    /// How many body bytes were received so far.
    pub fn received(&self) -> usize {
        self.received
    }
}
