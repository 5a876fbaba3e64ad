//! [`PowensClientBuilder`]: every knob of a client, with finite defaults.

use std::fmt;
use std::sync::Arc;

use super::endpoint::{shown, Endpoint};
use super::rate_limit::{RateLimit, RateLimiter};
use super::{CallObserver, Inner, PowensClient, Timeouts, USER_AGENT};
use crate::error::Error;
use crate::retry::RetryPolicy;
use crate::time::{Clock, SystemClock};

/// Configures a [`PowensClient`].
///
/// Defaults: [`Timeouts::default`], [`RetryPolicy::default`], [`RateLimit::default`], at most 8
/// requests in flight, response bodies of at most [`DEFAULT_MAX_RESPONSE_BYTES`], user agent `powens-api/<version>`, a rustls `reqwest::Client`, the
/// system clock.
pub struct PowensClientBuilder {
    endpoint: String,
    http: Option<reqwest::Client>,
    timeouts: Timeouts,
    retry: RetryPolicy,
    rate_limit: Option<RateLimit>,
    max_concurrent: usize,
    max_response_bytes: usize,
    clock: Arc<dyn Clock>,
    user_agent: String,
    observer: Option<Arc<dyn CallObserver>>,
}

/// The default bound on one response body: 64 MiB. A full Powens page (1,000 transactions)
/// is about 1 MiB, so this only stops a broken or hostile server from exhausting memory.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;

impl fmt::Debug for PowensClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PowensClientBuilder")
            .field("endpoint", &format_args!("{}", shown(&self.endpoint)))
            .field("custom_http_client", &self.http.is_some())
            .field("timeouts", &self.timeouts)
            .field("retry", &self.retry)
            .field("rate_limit", &self.rate_limit)
            .field("max_concurrent", &self.max_concurrent)
            .field("max_response_bytes", &self.max_response_bytes)
            .field("user_agent", &self.user_agent)
            .finish_non_exhaustive()
    }
}

impl PowensClientBuilder {
    /// A builder for `endpoint` (`https://{domain}.biapi.pro/2.0` or without `/2.0`).
    pub fn new(endpoint: impl Into<String>) -> Self {
        Self {
            endpoint: endpoint.into(),
            http: None,
            timeouts: Timeouts::default(),
            retry: RetryPolicy::default(),
            rate_limit: Some(RateLimit::default()),
            max_concurrent: 8,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            clock: Arc::new(SystemClock),
            user_agent: USER_AGENT.to_owned(),
            observer: None,
        }
    }

    /// Reports every request attempt and rate-limit wait to `observer` (metrics).
    pub fn observer(mut self, observer: Arc<dyn CallObserver>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Uses a caller-built `reqwest::Client` (its own connect timeout and TLS settings apply;
    /// the per-attempt timeout is still set on each request).
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// Sets all three timeouts (each must be non-zero).
    pub fn timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// Sets the retry policy ([`RetryPolicy::disabled`] for none).
    pub fn retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Sets the client-side rate limit for this domain; `None` disables it.
    pub fn rate_limit(mut self, limit: Option<RateLimit>) -> Self {
        self.rate_limit = limit;
        self
    }

    /// Bounds the requests in flight at once (at least 1).
    pub fn max_concurrent_requests(mut self, max: usize) -> Self {
        self.max_concurrent = max;
        self
    }

    /// Bounds the size of one response body (at least 1 KiB; default
    /// [`DEFAULT_MAX_RESPONSE_BYTES`]). A longer body fails the call with
    /// [`Error::ResponseTooLarge`] as soon as its `Content-Length` or its bytes exceed the bound,
    /// without being buffered.
    pub fn max_response_bytes(mut self, max: usize) -> Self {
        self.max_response_bytes = max;
        self
    }

    /// Injects the clock and sleep (tests use [`ManualClock`](crate::time::ManualClock)).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Appends a product token to the user agent: `powens-api/<version> <suffix>`.
    pub fn user_agent_suffix(mut self, suffix: &str) -> Self {
        self.user_agent = format!("{USER_AGENT} {suffix}");
        self
    }

    /// Validates the configuration and builds the client.
    pub fn build(self) -> Result<PowensClient, Error> {
        let endpoint = Endpoint::parse(&self.endpoint)?;
        let config = |message: &str| Error::Config {
            message: message.to_owned(),
        };
        let t = self.timeouts;
        if t.connect.is_zero() || t.per_attempt.is_zero() || t.overall.is_zero() {
            return Err(config(
                "timeouts must be non-zero (connect, per attempt, overall)",
            ));
        }
        if self.retry.max_attempts == 0 {
            return Err(config(
                "retry policy max_attempts must be at least 1 (1 = no retries)",
            ));
        }
        if self.max_concurrent == 0 {
            return Err(config("max_concurrent_requests must be at least 1"));
        }
        if self.max_response_bytes < 1024 {
            return Err(config("max_response_bytes must be at least 1024"));
        }
        if let Some(limit) = self.rate_limit {
            if limit.max_requests == 0 || limit.per.is_zero() {
                return Err(config(
                    "rate limit needs max_requests >= 1 and a non-zero period",
                ));
            }
        }
        let http = match self.http {
            Some(http) => http,
            None => {
                let builder = reqwest::Client::builder()
                    .use_rustls_tls()
                    .connect_timeout(t.connect)
                    .user_agent(self.user_agent.clone())
                    // Never follow a redirect: it would resend the client secret (`/auth/*`)
                    // or the bearer token to wherever it points. A 3xx is an error instead.
                    .redirect(reqwest::redirect::Policy::none());
                // A loopback endpoint is plain http: through a proxy (HTTP_PROXY…) its bearer
                // token would travel in clear.
                let builder = if super::endpoint::is_loopback(&endpoint.api_root) {
                    builder.no_proxy()
                } else {
                    builder
                };
                builder.build()
            }
            .map_err(|err| Error::Config {
                message: format!("cannot build the HTTP client: {err}"),
            })?,
        };
        Ok(PowensClient {
            inner: Arc::new(Inner {
                http,
                endpoint,
                retry: self.retry,
                timeouts: t,
                rate_limiter: self.rate_limit.map(RateLimiter::new),
                concurrency: Arc::new(tokio::sync::Semaphore::new(self.max_concurrent)),
                max_concurrent: self.max_concurrent,
                max_response_bytes: self.max_response_bytes,
                clock: self.clock,
                user_agent: self.user_agent,
                observer: self.observer,
            }),
        })
    }
}
