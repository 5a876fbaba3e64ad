//! The one classification of failures and the retry decision, both pure functions tested as
//! tables.
//!
//! * [`classify`]: every [`Error`] → its [`ErrorClass`] (permanent, transient, rate-limited,
//!   interrupted). [`Error::class`] and [`Error::is_retryable`] read it; so does a caller that
//!   maps errors to its own (connector-powens, into the engine's error).
//! * [`decide`]: after a failed attempt, retry or stop, from (policy, replay rule, outcome,
//!   attempt, now). A status is judged by [`status_class`], the same table [`classify`] uses.
//!
//! Who retries what: the client owns HTTP retries, within its [`RetryPolicy`] and its time
//! budget. What it returns as [`ErrorClass::Transient`] or [`ErrorClass::RateLimited`] was
//! already retried as far as allowed, so a caller should not retry it at once;
//! [`ErrorClass::Interrupted`] (a body cut after a successful status) is the one class only the
//! caller can retry.
//!
//! Retry rules:
//! * `429 Too Many Requests` is retried for every request that may be replayed at all,
//!   honouring `Retry-After` (seconds or HTTP-date) capped at [`RetryPolicy::max_retry_after`].
//! * `408`, `5xx` and transport errors are retried only for idempotent requests (`GET`, `PUT`,
//!   `DELETE`).
//! * Requests marked [`Replay::Never`] (`POST /auth/init`, `POST /auth/token/access`,
//!   `POST /auth/renew`) are never sent twice, whatever the outcome: a replayed `/auth/init`
//!   creates a duplicate, billable user, and a code exchange is single-use.
//! * Otherwise: exponential backoff (`base_delay * 2^(attempt-1)`, capped at `max_delay`) with
//!   full jitter (a uniform delay in `[0, ceiling]`).

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::error::Error;

/// What a failed call is, as far as retrying goes: one class per [`Error`], from [`classify`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorClass {
    /// Repeating the call fails the same way: an invalid configuration or parameter, a refused
    /// pagination link, a status other than 408, 429 and 5xx, an answer larger than the
    /// client's bound, or a complete answer that does not match its wire type.
    Permanent,
    /// May succeed later: no answer (connect, TLS, timeout, reset), 408 or 5xx. The client has
    /// already retried it as far as its policy, its time budget and the request's replay rule
    /// allowed.
    Transient,
    /// Powens throttled the call (429). The client has already retried it as far as allowed,
    /// honouring `Retry-After` ([`Error::retry_after`]).
    RateLimited,
    /// A successful answer's body ended early: cut while read as it arrived
    /// ([`Error::BodyInterrupted`]), or ending before its JSON did ([`Error::Decode`] at the end
    /// of the input). The client did not retry it: the caller may repeat the call.
    Interrupted,
}

/// The class of an unsuccessful HTTP status: 429 rate-limited, 408 and 5xx transient, any
/// other permanent.
///
/// ```
/// use powens_api::retry::{status_class, ErrorClass};
///
/// assert_eq!(status_class(503), ErrorClass::Transient);
/// assert_eq!(status_class(404), ErrorClass::Permanent);
/// ```
pub fn status_class(status: u16) -> ErrorClass {
    match status {
        429 => ErrorClass::RateLimited,
        408 | 500..=599 => ErrorClass::Transient,
        _ => ErrorClass::Permanent,
    }
}

/// The class of every [`Error`] (see [`ErrorClass`] for what each class means):
///
/// | `Error` | class |
/// |---|---|
/// | `Config`, `InvalidRequest`, `NextLink`, `ResponseTooLarge` | permanent |
/// | `Transport` | transient |
/// | `Api` | by its status ([`status_class`]) |
/// | `RateLimited` | rate-limited |
/// | `Decode` at the end of the input (a truncated body) | interrupted |
/// | `Decode` anywhere else | permanent |
/// | `BodyInterrupted` | interrupted |
pub fn classify(error: &Error) -> ErrorClass {
    match error {
        Error::Config { .. }
        | Error::InvalidRequest { .. }
        | Error::NextLink { .. }
        | Error::ResponseTooLarge { .. } => ErrorClass::Permanent,
        Error::Transport { .. } => ErrorClass::Transient,
        Error::Api(api) => status_class(api.status),
        Error::RateLimited { .. } => ErrorClass::RateLimited,
        Error::Decode { source, .. } if source.source.is_eof() => ErrorClass::Interrupted,
        Error::Decode { .. } => ErrorClass::Permanent,
        Error::BodyInterrupted { .. } => ErrorClass::Interrupted,
    }
}

/// How many attempts and how long to wait between them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in total, the first included (`1` disables retries).
    pub max_attempts: u32,
    /// Backoff ceiling of the first retry.
    pub base_delay: Duration,
    /// Largest backoff ceiling.
    pub max_delay: Duration,
    /// Largest wait honoured from a `Retry-After` header.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    /// 4 attempts, 250 ms base, 8 s backoff cap, `Retry-After` capped at 60 s.
    fn default() -> Self {
        Self {
            max_attempts: 4,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn disabled() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }
}

/// Whether a request may be sent again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replay {
    /// Safe to repeat (`GET`, `PUT`, `DELETE`): retried on 429, 408, 5xx and transport errors.
    Idempotent,
    /// Not idempotent (`POST`): retried only on 429 (the request was not processed).
    NonIdempotent,
    /// Never sent twice (`POST /auth/init`, code exchanges).
    Never,
}

impl Replay {
    /// The rule for an ordinary request of this method.
    pub fn for_method(method: &http::Method) -> Self {
        if method == http::Method::GET
            || method == http::Method::PUT
            || method == http::Method::DELETE
            || method == http::Method::HEAD
        {
            Self::Idempotent
        } else {
            Self::NonIdempotent
        }
    }
}

/// A parsed `Retry-After` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryAfter {
    /// Delta-seconds form.
    Seconds(u64),
    /// HTTP-date form.
    At(DateTime<Utc>),
}

impl RetryAfter {
    /// Parses delta-seconds (`120`) or an HTTP-date (`Wed, 21 Oct 2015 07:28:00 GMT`).
    pub fn parse(value: &str) -> Option<Self> {
        let value = value.trim();
        if let Ok(seconds) = value.parse::<u64>() {
            return Some(Self::Seconds(seconds));
        }
        httpdate::parse_http_date(value)
            .ok()
            .map(|time| Self::At(DateTime::<Utc>::from(time)))
    }

    /// The wait it asks for at `now` (zero for a date in the past).
    pub fn delay_at(&self, now: DateTime<Utc>) -> Duration {
        match *self {
            Self::Seconds(seconds) => Duration::from_secs(seconds),
            Self::At(when) => (when - now).to_std().unwrap_or(Duration::ZERO),
        }
    }
}

/// What one attempt produced, as far as retrying is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// An HTTP answer with an unsuccessful status.
    Status {
        /// The status code.
        status: u16,
        /// Its `Retry-After`, if any.
        retry_after: Option<RetryAfter>,
    },
    /// No HTTP answer (connect, TLS, timeout, reset).
    Transport,
}

/// The decision after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryDecision {
    /// Stop and report the failure.
    Stop,
    /// Retry after exactly this wait (the server's `Retry-After`, capped).
    After(Duration),
    /// Retry after a random wait in `[0, ceiling]` (see [`full_jitter`]).
    Backoff {
        /// Largest wait.
        ceiling: Duration,
    },
}

/// Decides whether to retry after `attempt` attempts (1-based) ended with `outcome`.
pub fn decide(
    policy: &RetryPolicy,
    replay: Replay,
    outcome: &AttemptOutcome,
    attempt: u32,
    now: DateTime<Utc>,
) -> RetryDecision {
    if replay == Replay::Never || attempt >= policy.max_attempts {
        return RetryDecision::Stop;
    }
    let (retryable, retry_after) = match *outcome {
        AttemptOutcome::Status {
            status,
            retry_after,
        } => match status_class(status) {
            ErrorClass::RateLimited => (true, retry_after),
            ErrorClass::Transient => (replay == Replay::Idempotent, retry_after),
            ErrorClass::Permanent | ErrorClass::Interrupted => (false, None),
        },
        AttemptOutcome::Transport => (replay == Replay::Idempotent, None),
    };
    if !retryable {
        return RetryDecision::Stop;
    }
    match retry_after {
        Some(header) => RetryDecision::After(header.delay_at(now).min(policy.max_retry_after)),
        None => RetryDecision::Backoff {
            ceiling: backoff_ceiling(policy, attempt),
        },
    }
}

/// `base_delay * 2^(attempt-1)`, capped at `max_delay`.
pub fn backoff_ceiling(policy: &RetryPolicy, attempt: u32) -> Duration {
    let exponent = attempt.saturating_sub(1).min(31);
    policy
        .base_delay
        .checked_mul(1u32 << exponent)
        .unwrap_or(policy.max_delay)
        .min(policy.max_delay)
}

/// Full jitter: maps a uniformly random `u64` onto `[0, ceiling]` (integer arithmetic only).
pub fn full_jitter(ceiling: Duration, random: u64) -> Duration {
    let nanos = ceiling.as_nanos();
    let scaled = nanos.saturating_mul(u128::from(random)) / u128::from(u64::MAX);
    Duration::from_nanos(u64::try_from(scaled).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use std::collections::BTreeSet;
    use std::time::Duration;

    use super::{classify, ErrorClass};
    use crate::error::{ApiError, Error, NextLinkProblem};
    use crate::wire::JsonDecodeError;

    /// The variant's name, by an exhaustive match: a new variant does not compile until it is
    /// named here, and [`every_error_variant_has_its_class`] then fails until the table has it.
    fn variant(error: &Error) -> &'static str {
        match error {
            Error::Config { .. } => "Config",
            Error::InvalidRequest { .. } => "InvalidRequest",
            Error::Transport { .. } => "Transport",
            Error::Api(_) => "Api",
            Error::RateLimited { .. } => "RateLimited",
            Error::Decode { .. } => "Decode",
            Error::BodyInterrupted { .. } => "BodyInterrupted",
            Error::ResponseTooLarge { .. } => "ResponseTooLarge",
            Error::NextLink { .. } => "NextLink",
        }
    }

    const VARIANTS: [&str; 9] = [
        "Config",
        "InvalidRequest",
        "Transport",
        "Api",
        "RateLimited",
        "Decode",
        "BodyInterrupted",
        "ResponseTooLarge",
        "NextLink",
    ];

    /// A transport error made without the network: a request whose URL does not parse.
    fn reqwest_error() -> reqwest::Error {
        reqwest::Client::new()
            .get("http://")
            .build()
            .expect_err("an URL without a host is refused")
    }

    fn api(status: u16) -> Error {
        Error::Api(Box::new(ApiError {
            method: http::Method::GET,
            path: "/2.0/users/me/accounts".into(),
            status,
            code: None,
            description: None,
            message: None,
            request_id: Some("req-1".into()),
            excerpt: None,
        }))
    }

    fn decode(body: &str) -> Error {
        let source = serde_json::from_str::<Vec<u32>>(body).expect_err("not a list of numbers");
        Error::Decode {
            method: http::Method::GET,
            path: "/2.0/users/me/transactions".into(),
            source: JsonDecodeError {
                path: ".".into(),
                source,
            },
        }
    }

    #[test]
    fn every_error_variant_has_its_class() {
        use ErrorClass::{Interrupted, Permanent, RateLimited, Transient};
        let get = || http::Method::GET;
        let path = || "/2.0/users/me/accounts".to_owned();
        let table: Vec<(&str, Error, ErrorClass)> = vec![
            (
                "bad configuration",
                Error::Config {
                    message: "endpoint is not https".into(),
                },
                Permanent,
            ),
            (
                "bad parameter",
                Error::InvalidRequest {
                    field: "limit",
                    reason: "1 to 1000".into(),
                },
                Permanent,
            ),
            (
                "no answer",
                Error::Transport {
                    method: get(),
                    path: path(),
                    attempts: 4,
                    source: reqwest_error(),
                },
                Transient,
            ),
            ("HTTP 400", api(400), Permanent),
            ("HTTP 401", api(401), Permanent),
            ("HTTP 404", api(404), Permanent),
            ("HTTP 408", api(408), Transient),
            ("HTTP 409", api(409), Permanent),
            ("HTTP 423", api(423), Permanent),
            ("HTTP 429 as an API error", api(429), RateLimited),
            ("HTTP 500", api(500), Transient),
            ("HTTP 503", api(503), Transient),
            ("HTTP 599", api(599), Transient),
            ("HTTP 302", api(302), Permanent),
            (
                "throttled",
                Error::RateLimited {
                    method: get(),
                    path: path(),
                    retry_after: Some(Duration::from_secs(30)),
                },
                RateLimited,
            ),
            ("body ends mid-JSON", decode("[1, 2, 3"), Interrupted),
            ("empty body", decode(""), Interrupted),
            ("wrong type", decode(r#"["one"]"#), Permanent),
            ("not JSON", decode("<html>"), Permanent),
            (
                "body cut while streamed",
                Error::BodyInterrupted {
                    method: get(),
                    path: path(),
                    received: 4096,
                    source: reqwest_error(),
                },
                Interrupted,
            ),
            (
                "answer too large",
                Error::ResponseTooLarge {
                    method: get(),
                    path: path(),
                    limit: 1024,
                },
                Permanent,
            ),
            (
                "refused link",
                Error::NextLink {
                    href: "https://elsewhere.example/2.0/x".into(),
                    problem: NextLinkProblem::Repeated,
                },
                Permanent,
            ),
        ];
        let mut covered = BTreeSet::new();
        for (name, error, class) in &table {
            assert_eq!(classify(error), *class, "{name}: {error}");
            assert_eq!(error.class(), *class, "{name}");
            assert_eq!(error.is_retryable(), *class != Permanent, "{name}");
            covered.insert(variant(error));
        }
        assert_eq!(
            covered,
            BTreeSet::from(VARIANTS),
            "every variant in the table"
        );
    }
}
