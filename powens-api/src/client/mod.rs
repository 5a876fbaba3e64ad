//! The HTTP client: configuration ([`PowensClientBuilder`]), the endpoint roots
//! ([`Endpoint`]) and the one send path every endpoint method goes through (retries, timeouts,
//! rate limit, concurrency bound, error mapping, decoding).

mod body;
mod builder;
pub(crate) mod endpoint;
mod observer;
mod rate_limit;
pub(crate) mod send;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

pub use body::ResponseBody;
pub use builder::{PowensClientBuilder, DEFAULT_MAX_RESPONSE_BYTES};
pub use endpoint::Endpoint;
pub use observer::CallObserver;
pub use rate_limit::RateLimit;

use crate::retry::RetryPolicy;
use crate::time::Clock;

/// The crate's user agent: `powens-api/<version>`.
pub const USER_AGENT: &str = concat!("powens-api/", env!("CARGO_PKG_VERSION"));

/// The three timeouts of a client. All are finite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// TCP + TLS connect (applies only to the `reqwest::Client` the builder creates).
    pub connect: Duration,
    /// One attempt, from sending to the end of the body.
    pub per_attempt: Duration,
    /// One call, all attempts and backoff waits included.
    pub overall: Duration,
}

impl Default for Timeouts {
    /// Connect 10 s, per attempt 30 s, overall 120 s.
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(10),
            per_attempt: Duration::from_secs(30),
            overall: Duration::from_secs(120),
        }
    }
}

/// A client for one Powens domain. Cheap to clone; clones share the connection pool, the rate
/// limiter and the concurrency bound.
#[derive(Clone)]
pub struct PowensClient {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) http: reqwest::Client,
    pub(crate) endpoint: Endpoint,
    pub(crate) retry: RetryPolicy,
    pub(crate) timeouts: Timeouts,
    pub(crate) rate_limiter: Option<rate_limit::RateLimiter>,
    pub(crate) concurrency: Arc<tokio::sync::Semaphore>,
    pub(crate) max_concurrent: usize,
    pub(crate) max_response_bytes: usize,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) user_agent: String,
    pub(crate) observer: Option<Arc<dyn CallObserver>>,
}

impl fmt::Debug for PowensClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        f.debug_struct("PowensClient")
            .field("api_root", &inner.endpoint.api_root().as_str())
            .field("retry", &inner.retry)
            .field("timeouts", &inner.timeouts)
            .field(
                "rate_limit",
                &inner.rate_limiter.as_ref().map(|l| l.limit()),
            )
            .field("max_concurrent", &inner.max_concurrent)
            .field("user_agent", &inner.user_agent)
            .finish_non_exhaustive()
    }
}

impl PowensClient {
    /// Starts configuring a client for `endpoint` (see [`Endpoint`]).
    pub fn builder(endpoint: impl Into<String>) -> PowensClientBuilder {
        PowensClientBuilder::new(endpoint)
    }

    /// The configured endpoint roots.
    pub fn endpoint(&self) -> &Endpoint {
        &self.inner.endpoint
    }
}
