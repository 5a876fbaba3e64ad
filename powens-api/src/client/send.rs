//! The one send path: every endpoint method builds an [`ApiRequest`] and calls
//! [`PowensClient::send_json`] / [`PowensClient::send_no_content`]. Here live the rate limit,
//! the concurrency bound, the timeouts, the retry loop and the mapping of answers to errors.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderMap, ACCEPT, AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER, USER_AGENT};
use http::{HeaderValue, Method};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use url::Url;

use super::{PowensClient, ResponseBody};
use crate::error::{ApiError, Error, ErrorBody};
use crate::retry::{self, AttemptOutcome, Replay, RetryAfter, RetryDecision};
use crate::wire::decode_json;

/// One logical API call. Holds the bearer token by reference only; has no `Debug` so that
/// neither the token nor the body can be printed.
pub(crate) struct ApiRequest<'a> {
    pub(crate) method: Method,
    pub(crate) url: Url,
    pub(crate) bearer: Option<&'a SecretString>,
    pub(crate) json_body: Option<Vec<u8>>,
    pub(crate) replay: Replay,
}

impl<'a> ApiRequest<'a> {
    /// A request with the replay rule of its method.
    pub(crate) fn new(method: Method, url: Url, bearer: Option<&'a SecretString>) -> Self {
        let replay = Replay::for_method(&method);
        Self {
            method,
            url,
            bearer,
            json_body: None,
            replay,
        }
    }

    pub(crate) fn json(mut self, body: &serde_json::Value) -> Self {
        self.json_body = Some(body.to_string().into_bytes());
        self
    }

    pub(crate) fn never_replay(mut self) -> Self {
        self.replay = Replay::Never;
        self
    }
}

/// A successful answer.
pub(crate) struct Answer {
    pub(crate) body: Bytes,
}

/// What the retry loop ends with.
enum Received {
    /// The whole body.
    Whole(Answer),
    /// A 2xx answer, its body not read yet.
    Streamed(ResponseBody),
}

/// At most this many characters of a non-JSON error body are kept.
const EXCERPT_CHARS: usize = 160;

impl PowensClient {
    /// Sends and decodes a JSON answer.
    pub(crate) async fn send_json<T: DeserializeOwned>(
        &self,
        request: ApiRequest<'_>,
    ) -> Result<T, Error> {
        let method = request.method.clone();
        let path = request.url.path().to_owned();
        let answer = self.send(request).await?;
        decode_json(&answer.body).map_err(|source| Error::Decode {
            method,
            path,
            source,
        })
    }

    /// Sends and decodes a JSON answer, or `None` when the answer has no body (204).
    pub(crate) async fn send_optional_json<T: DeserializeOwned>(
        &self,
        request: ApiRequest<'_>,
    ) -> Result<Option<T>, Error> {
        let method = request.method.clone();
        let path = request.url.path().to_owned();
        let answer = self.send(request).await?;
        if answer.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        decode_json(&answer.body)
            .map(Some)
            .map_err(|source| Error::Decode {
                method,
                path,
                source,
            })
    }

    /// Sends a request whose answer body is ignored (`DELETE` → 204).
    pub(crate) async fn send_no_content(&self, request: ApiRequest<'_>) -> Result<(), Error> {
        self.send(request).await.map(|_| ())
    }

    /// The retry loop, the whole body read.
    pub(crate) async fn send(&self, request: ApiRequest<'_>) -> Result<Answer, Error> {
        match self.exchange(request, false).await? {
            Received::Whole(answer) => Ok(answer),
            // Only returned when asked for; read whole all the same.
            Received::Streamed(mut body) => {
                let mut whole = Vec::new();
                while let Some(chunk) = body.chunk().await? {
                    whole.extend_from_slice(&chunk);
                }
                Ok(Answer {
                    body: Bytes::from(whole),
                })
            }
        }
    }

    /// The retry loop, a successful answer's body left to be read as it arrives (see
    /// [`ResponseBody`] for what is and is not retried).
    pub(crate) async fn send_streamed(
        &self,
        request: ApiRequest<'_>,
    ) -> Result<ResponseBody, Error> {
        let method = request.method.clone();
        let path = request.url.path().to_owned();
        match self.exchange(request, true).await? {
            Received::Streamed(body) => Ok(body),
            // A 404 on a retried DELETE is answered without a body.
            Received::Whole(answer) => Ok(ResponseBody::buffered(
                answer.body,
                method,
                path,
                self.inner.max_response_bytes,
            )),
        }
    }

    /// The retry loop. With `stream`, a 2xx answer is returned before its body is read.
    async fn exchange(&self, request: ApiRequest<'_>, stream: bool) -> Result<Received, Error> {
        let inner = &self.inner;
        let clock = &*inner.clock;
        let method = request.method.clone();
        let path = request.url.path().to_owned();
        let authorization = match request.bearer {
            Some(token) => Some(bearer_header(token)?),
            None => None,
        };
        let start = clock.now();
        let mut attempt: u32 = 0;
        // Set once a DELETE attempt may have been applied without us seeing the answer
        // (transport failure or 5xx): a 404 on a later attempt then means "already deleted".
        let mut delete_maybe_applied = false;
        loop {
            attempt += 1;
            let remaining = inner.timeouts.overall.saturating_sub(elapsed(clock, start));
            if let Some(limiter) = &inner.rate_limiter {
                let waited = limiter.acquire(clock).await;
                if let (Some(observer), false) = (&inner.observer, waited.is_zero()) {
                    observer.rate_limit_waited(waited);
                }
            }
            let permit = Arc::clone(&inner.concurrency)
                .acquire_owned()
                .await
                .map_err(|_| Error::Config {
                    message: "the client's concurrency limiter was closed".to_owned(),
                })?;
            let mut builder = inner
                .http
                .request(method.clone(), request.url.clone())
                .timeout(inner.timeouts.per_attempt.min(remaining).max(MIN_ATTEMPT))
                .header(USER_AGENT, inner.user_agent.as_str())
                .header(ACCEPT, "application/json");
            if let Some(value) = &authorization {
                builder = builder.header(AUTHORIZATION, value.clone());
            }
            if let Some(body) = &request.json_body {
                builder = builder
                    .header(CONTENT_TYPE, "application/json")
                    .body(body.clone());
            }
            let sent_at = std::time::Instant::now();
            let sent = builder.send().await;
            if let Some(observer) = &inner.observer {
                let status = sent.as_ref().ok().map(|r| r.status().as_u16());
                observer.attempt_finished(status, sent_at.elapsed());
            }
            let result = match sent {
                Ok(response) if stream && response.status().is_success() => {
                    tracing::debug!(%method, %path, attempt, status = response.status().as_u16(), "powens call answered, body streamed");
                    return ResponseBody::new(
                        response,
                        permit,
                        method,
                        path,
                        inner.max_response_bytes,
                    )
                    .map(Received::Streamed);
                }
                Ok(response) => {
                    let status = response.status();
                    let headers = response.headers().clone();
                    match read_body(response, inner.max_response_bytes).await {
                        Ok(Some(body)) => Ok((status, headers, body)),
                        Ok(None) => {
                            return Err(Error::ResponseTooLarge {
                                method,
                                path,
                                limit: inner.max_response_bytes,
                            })
                        }
                        Err(err) => Err(err),
                    }
                }
                Err(err) => Err(err),
            };
            drop(permit);

            let (outcome, failure) = match result {
                Ok((status, _, body)) if status.is_success() => {
                    tracing::debug!(%method, %path, attempt, status = status.as_u16(), "powens call succeeded");
                    return Ok(Received::Whole(Answer { body }));
                }
                Ok((status, _, _))
                    if delete_maybe_applied && status == http::StatusCode::NOT_FOUND =>
                {
                    tracing::info!(%method, %path, attempt, "404 on a retried DELETE: an earlier attempt deleted it");
                    return Ok(Received::Whole(Answer { body: Bytes::new() }));
                }
                Ok((status, headers, body)) => {
                    let retry_after = headers
                        .get(RETRY_AFTER)
                        .and_then(|value| value.to_str().ok())
                        .and_then(RetryAfter::parse);
                    let outcome = AttemptOutcome::Status {
                        status: status.as_u16(),
                        retry_after,
                    };
                    let error = status_error(
                        &method,
                        &path,
                        status.as_u16(),
                        &headers,
                        &body,
                        retry_after.map(|r| r.delay_at(clock.now())),
                    );
                    (outcome, error)
                }
                Err(err) => (
                    AttemptOutcome::Transport,
                    Error::Transport {
                        method: method.clone(),
                        path: path.clone(),
                        attempts: attempt,
                        source: err.without_url(),
                    },
                ),
            };

            if method == Method::DELETE
                && matches!(
                    outcome,
                    AttemptOutcome::Transport | AttemptOutcome::Status { status: 500.., .. }
                )
            {
                delete_maybe_applied = true;
            }
            let decision =
                retry::decide(&inner.retry, request.replay, &outcome, attempt, clock.now());
            let wait = match decision {
                RetryDecision::Stop => return Err(failure),
                RetryDecision::After(wait) => wait,
                RetryDecision::Backoff { ceiling } => {
                    retry::full_jitter(ceiling, rand::random::<u64>())
                }
            };
            if elapsed(clock, start).saturating_add(wait) >= inner.timeouts.overall {
                tracing::warn!(%method, %path, attempt, "powens call out of time budget, not retrying");
                return Err(failure);
            }
            tracing::warn!(%method, %path, attempt, wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX), error = %failure, "powens call failed, retrying");
            clock.sleep(wait).await;
        }
    }
}

/// Reads a whole body into one buffer, or `None` when it is longer than `limit` bytes.
///
/// The buffer is sized once from `Content-Length` (when given and within `limit`) and each
/// chunk is appended and released as it arrives, so a page is held once, not once in chunks
/// plus once assembled (what `Response::bytes` does for a multi-chunk body). A single-chunk
/// body is returned as is, without a copy.
async fn read_body(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Option<Bytes>, reqwest::Error> {
    let declared = response
        .content_length()
        .map(|n| usize::try_from(n).unwrap_or(usize::MAX));
    if declared.is_some_and(|n| n > limit) {
        return Ok(None);
    }
    let Some(first) = response.chunk().await? else {
        return Ok(Some(Bytes::new()));
    };
    if first.len() > limit {
        return Ok(None);
    }
    let Some(second) = response.chunk().await? else {
        return Ok(Some(first));
    };
    let mut body = Vec::with_capacity(declared.unwrap_or(0).max(first.len() + second.len()));
    let mut next = Some(second);
    body.extend_from_slice(&first);
    drop(first);
    while let Some(chunk) = next {
        if chunk.len() > limit.saturating_sub(body.len()) {
            return Ok(None);
        }
        body.extend_from_slice(&chunk);
        drop(chunk);
        next = response.chunk().await?;
    }
    Ok(Some(Bytes::from(body)))
}

/// Never give an attempt less than this, even at the end of the overall budget.
const MIN_ATTEMPT: Duration = Duration::from_millis(100);

fn elapsed(clock: &dyn crate::time::Clock, start: chrono::DateTime<chrono::Utc>) -> Duration {
    (clock.now() - start).to_std().unwrap_or(Duration::ZERO)
}

fn bearer_header(token: &SecretString) -> Result<HeaderValue, Error> {
    let mut value =
        HeaderValue::from_str(&format!("Bearer {}", token.expose_secret())).map_err(|_| {
            Error::InvalidRequest {
                field: "token",
                reason: "contains characters that cannot appear in an HTTP header".to_owned(),
            }
        })?;
    value.set_sensitive(true);
    Ok(value)
}

/// Maps an unsuccessful answer to [`Error::RateLimited`] or [`Error::Api`].
fn status_error(
    method: &Method,
    path: &str,
    status: u16,
    headers: &HeaderMap,
    body: &[u8],
    retry_after: Option<Duration>,
) -> Error {
    if status == 429 {
        return Error::RateLimited {
            method: method.clone(),
            path: path.to_owned(),
            retry_after,
        };
    }
    let header_request_id = headers
        .get("x-request-id")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let parsed = serde_json::from_slice::<ErrorBody>(body)
        .ok()
        .filter(|b| b.code.is_some() || b.description.is_some());
    let (code, description, message, body_request_id, excerpt) = match parsed {
        Some(b) => (
            b.code,
            b.description,
            b.message,
            b.request_id.map(|id| id.0),
            None,
        ),
        None => (None, None, None, None, excerpt(body)),
    };
    Error::Api(Box::new(ApiError {
        method: method.clone(),
        path: path.to_owned(),
        status,
        code,
        description,
        message,
        request_id: body_request_id.or(header_request_id),
        excerpt,
    }))
}

/// A short single-line excerpt of a body (`None` for an empty one).
fn excerpt(body: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(body);
    let mut words = text.split_whitespace().peekable();
    words.peek()?;
    let collapsed: String = words.collect::<Vec<_>>().join(" ");
    let mut short: String = collapsed.chars().take(EXCERPT_CHARS).collect();
    if short.len() < collapsed.len() {
        short.push('…');
    }
    Some(short)
}
