//! The retry policy and its decision, a pure function of (policy, replay rule, outcome,
//! attempt, now) tested as a table.
//!
//! Rules:
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
            status: 429,
            retry_after,
        } => (true, retry_after),
        AttemptOutcome::Status {
            status,
            retry_after,
        } if status == 408 || (500..=599).contains(&status) => {
            (replay == Replay::Idempotent, retry_after)
        }
        AttemptOutcome::Status { .. } => (false, None),
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
