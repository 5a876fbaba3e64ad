//! The sandbox clock: naive Europe/Paris wall-clock time, frozen by default and moved only by the
//! control API, so that every `last_update` the sandbox stamps is deterministic.

use std::time::Instant;

use chrono::{NaiveDateTime, TimeDelta, TimeZone};
use chrono_tz::Europe::Paris;

/// How the sandbox clock moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClockMode {
    /// The clock only moves when the control API advances it (the default: deterministic).
    #[default]
    Frozen,
    /// The clock follows real elapsed time from the start, plus every manual advance.
    Ticking,
}

/// The controllable clock. Times are naive Europe/Paris wall-clock times, like Powens'
/// `last_update`.
#[derive(Debug, Clone)]
pub(crate) struct Clock {
    base: NaiveDateTime,
    ticking_since: Option<Instant>,
}

impl Clock {
    pub(crate) fn new(start: NaiveDateTime, mode: ClockMode) -> Self {
        Self {
            base: start,
            ticking_since: match mode {
                ClockMode::Frozen => None,
                ClockMode::Ticking => Some(Instant::now()),
            },
        }
    }

    /// The current Paris wall-clock time, truncated to whole seconds (Powens' precision).
    pub(crate) fn now(&self) -> NaiveDateTime {
        let elapsed = self
            .ticking_since
            .map(|since| since.elapsed().as_secs())
            .and_then(|s| i64::try_from(s).ok())
            .unwrap_or(0);
        self.base + TimeDelta::seconds(elapsed)
    }

    pub(crate) fn advance(&mut self, by: TimeDelta) {
        self.base += by;
    }

    pub(crate) fn set(&mut self, at: NaiveDateTime) {
        let elapsed = self.now() - self.base;
        self.base = at - elapsed;
    }
}

/// The UTC instant of a naive Paris wall-clock time (the earlier instant in the autumn fold,
/// shifted forward by an hour in the spring gap).
pub(crate) fn paris_to_utc(at: NaiveDateTime) -> chrono::DateTime<chrono::Utc> {
    match Paris.from_local_datetime(&at) {
        chrono::LocalResult::Single(t) => t.with_timezone(&chrono::Utc),
        chrono::LocalResult::Ambiguous(early, _) => early.with_timezone(&chrono::Utc),
        chrono::LocalResult::None => {
            let shifted = at + TimeDelta::hours(1);
            match Paris.from_local_datetime(&shifted) {
                chrono::LocalResult::Single(t) | chrono::LocalResult::Ambiguous(t, _) => {
                    t.with_timezone(&chrono::Utc)
                }
                chrono::LocalResult::None => shifted.and_utc(),
            }
        }
    }
}

/// Parses Powens' naive datetime `YYYY-MM-DD HH:MM:SS` (also accepting a `T` separator).
pub(crate) fn parse_naive_datetime(text: &str) -> Option<NaiveDateTime> {
    let text = text.trim();
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S")
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S"))
        .ok()
}

/// Formats a naive datetime the Powens way: `YYYY-MM-DD HH:MM:SS`.
pub(crate) fn format_naive_datetime(at: NaiveDateTime) -> String {
    at.format("%Y-%m-%d %H:%M:%S").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> NaiveDateTime {
        parse_naive_datetime(text).unwrap()
    }

    #[test]
    fn frozen_clock_moves_only_when_advanced() {
        let mut clock = Clock::new(at("2026-06-18 08:00:00"), ClockMode::Frozen);
        assert_eq!(clock.now(), at("2026-06-18 08:00:00"));
        clock.advance(TimeDelta::minutes(5));
        assert_eq!(clock.now(), at("2026-06-18 08:05:00"));
        clock.set(at("2026-07-01 00:00:00"));
        assert_eq!(clock.now(), at("2026-07-01 00:00:00"));
    }

    #[test]
    fn the_autumn_fold_takes_the_earlier_instant_and_the_spring_gap_moves_forward() {
        // 2026-10-25 02:30 happens twice in Paris (CEST then CET): the earlier is 00:30 UTC.
        assert_eq!(
            paris_to_utc(at("2026-10-25 02:30:00")).to_rfc3339(),
            "2026-10-25T00:30:00+00:00"
        );
        // 2026-03-29 02:30 does not exist in Paris: read as 03:30 CEST = 01:30 UTC.
        assert_eq!(
            paris_to_utc(at("2026-03-29 02:30:00")).to_rfc3339(),
            "2026-03-29T01:30:00+00:00"
        );
    }

    #[test]
    fn paris_summer_time_is_two_hours_ahead_of_utc() {
        let utc = paris_to_utc(at("2026-06-18 08:00:00"));
        assert_eq!(utc.to_rfc3339(), "2026-06-18T06:00:00+00:00");
    }
}
