//! The retry decision as a table: (replay rule, outcome, attempt) → decision.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use powens_api::retry::{
    backoff_ceiling, decide, full_jitter, AttemptOutcome, Replay, RetryAfter, RetryDecision,
    RetryPolicy,
};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 18, 12, 0, 0).unwrap()
}

fn status(code: u16) -> AttemptOutcome {
    AttemptOutcome::Status {
        status: code,
        retry_after: None,
    }
}

fn with_retry_after(code: u16, header: &str) -> AttemptOutcome {
    AttemptOutcome::Status {
        status: code,
        retry_after: RetryAfter::parse(header),
    }
}

const fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn retry_decision_table() {
    use Replay::{Idempotent as Get, Never, NonIdempotent as Post};
    use RetryDecision::{After, Backoff, Stop};
    let policy = RetryPolicy {
        max_attempts: 4,
        base_delay: ms(250),
        max_delay: ms(8000),
        max_retry_after: Duration::from_secs(60),
    };
    let table: Vec<(&str, Replay, AttemptOutcome, u32, RetryDecision)> = vec![
        // 429: always retried (except never-replay requests), Retry-After honoured and capped.
        (
            "429 GET, no header",
            Get,
            status(429),
            1,
            Backoff { ceiling: ms(250) },
        ),
        (
            "429 POST, no header",
            Post,
            status(429),
            1,
            Backoff { ceiling: ms(250) },
        ),
        (
            "429 GET, seconds",
            Get,
            with_retry_after(429, "7"),
            1,
            After(Duration::from_secs(7)),
        ),
        (
            "429 POST, seconds",
            Post,
            with_retry_after(429, "3"),
            2,
            After(Duration::from_secs(3)),
        ),
        (
            "429 GET, seconds capped",
            Get,
            with_retry_after(429, "3600"),
            1,
            After(Duration::from_secs(60)),
        ),
        (
            "429 GET, HTTP-date",
            Get,
            with_retry_after(429, "Thu, 18 Jun 2026 12:00:30 GMT"),
            1,
            After(Duration::from_secs(30)),
        ),
        (
            "429 GET, HTTP-date in the past",
            Get,
            with_retry_after(429, "Thu, 18 Jun 2026 11:00:00 GMT"),
            1,
            After(Duration::ZERO),
        ),
        (
            "429 GET, HTTP-date capped",
            Get,
            with_retry_after(429, "Fri, 19 Jun 2026 12:00:00 GMT"),
            1,
            After(Duration::from_secs(60)),
        ),
        (
            "429 GET, garbage header → backoff",
            Get,
            with_retry_after(429, "soon"),
            1,
            Backoff { ceiling: ms(250) },
        ),
        ("429 auth/init never replayed", Never, status(429), 1, Stop),
        // 5xx and transport: idempotent only.
        ("500 GET", Get, status(500), 1, Backoff { ceiling: ms(250) }),
        (
            "502 GET attempt 2",
            Get,
            status(502),
            2,
            Backoff { ceiling: ms(500) },
        ),
        (
            "503 GET attempt 3",
            Get,
            status(503),
            3,
            Backoff { ceiling: ms(1000) },
        ),
        (
            "503 GET with Retry-After",
            Get,
            with_retry_after(503, "2"),
            1,
            After(Duration::from_secs(2)),
        ),
        ("504 POST", Post, status(504), 1, Stop),
        ("500 auth/init", Never, status(500), 1, Stop),
        ("408 GET", Get, status(408), 1, Backoff { ceiling: ms(250) }),
        ("408 POST", Post, status(408), 1, Stop),
        (
            "transport GET",
            Get,
            AttemptOutcome::Transport,
            1,
            Backoff { ceiling: ms(250) },
        ),
        ("transport POST", Post, AttemptOutcome::Transport, 1, Stop),
        (
            "transport code exchange",
            Never,
            AttemptOutcome::Transport,
            1,
            Stop,
        ),
        // Client errors are final.
        ("400 GET", Get, status(400), 1, Stop),
        ("401 GET", Get, status(401), 1, Stop),
        ("403 GET", Get, status(403), 1, Stop),
        ("404 GET", Get, status(404), 1, Stop),
        ("409 GET", Get, status(409), 1, Stop),
        // Budget exhausted.
        ("500 GET after the last attempt", Get, status(500), 4, Stop),
        (
            "429 GET after the last attempt",
            Get,
            with_retry_after(429, "1"),
            4,
            Stop,
        ),
    ];
    for (name, replay, outcome, attempt, expected) in table {
        assert_eq!(
            decide(&policy, replay, &outcome, attempt, now()),
            expected,
            "{name}"
        );
    }
}

#[test]
fn disabled_policy_never_retries() {
    let policy = RetryPolicy::disabled();
    assert_eq!(
        decide(&policy, Replay::Idempotent, &status(503), 1, now()),
        RetryDecision::Stop
    );
}

#[test]
fn backoff_ceiling_doubles_then_caps() {
    let policy = RetryPolicy {
        max_attempts: 50,
        base_delay: ms(100),
        max_delay: ms(1000),
        max_retry_after: Duration::from_secs(1),
    };
    let ceilings: Vec<_> = (1..=6).map(|a| backoff_ceiling(&policy, a)).collect();
    assert_eq!(
        ceilings,
        vec![ms(100), ms(200), ms(400), ms(800), ms(1000), ms(1000)]
    );
    assert_eq!(backoff_ceiling(&policy, 40), ms(1000), "no overflow");
}

#[test]
fn full_jitter_spans_zero_to_ceiling() {
    let ceiling = ms(1000);
    assert_eq!(full_jitter(ceiling, 0), Duration::ZERO);
    assert_eq!(full_jitter(ceiling, u64::MAX), ceiling);
    assert_eq!(
        full_jitter(ceiling, u64::MAX / 2),
        Duration::from_nanos(499_999_999)
    );
}

#[test]
fn replay_rule_follows_the_method() {
    assert_eq!(Replay::for_method(&http::Method::GET), Replay::Idempotent);
    assert_eq!(Replay::for_method(&http::Method::PUT), Replay::Idempotent);
    assert_eq!(
        Replay::for_method(&http::Method::DELETE),
        Replay::Idempotent
    );
    assert_eq!(
        Replay::for_method(&http::Method::POST),
        Replay::NonIdempotent
    );
}
