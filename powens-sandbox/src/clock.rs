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
    /// A clock showing `start`, brought into [`earliest`]..=[`latest`] when outside it.
    pub(crate) fn new(start: NaiveDateTime, mode: ClockMode) -> Self {
        Self {
            base: start.clamp(earliest(), latest()),
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
        TimeDelta::try_seconds(elapsed)
            .and_then(|d| self.base.checked_add_signed(d))
            .unwrap_or(self.base)
    }

    /// Moves the clock by `by`, stopping at [`earliest`] or [`latest`].
    pub(crate) fn advance(&mut self, by: TimeDelta) {
        let target = self
            .now()
            .checked_add_signed(by)
            .unwrap_or(if by < TimeDelta::zero() {
                earliest()
            } else {
                latest()
            });
        self.set(target);
    }

    /// Moves the clock by `by`, or fails (leaving it unchanged) when the result would be outside
    /// [`earliest`]..=[`latest`].
    pub(crate) fn try_advance(&mut self, by: TimeDelta) -> Result<(), String> {
        let target = self
            .now()
            .checked_add_signed(by)
            .filter(|t| (earliest()..=latest()).contains(t))
            .ok_or_else(out_of_range)?;
        self.set(target);
        Ok(())
    }

    /// Sets the clock to `at`, brought into [`earliest`]..=[`latest`] when outside it.
    pub(crate) fn set(&mut self, at: NaiveDateTime) {
        let at = at.clamp(earliest(), latest());
        let elapsed = self.now() - self.base;
        self.base = at.checked_sub_signed(elapsed).unwrap_or(at);
    }

    /// Sets the clock to `at`, or fails (leaving it unchanged) when `at` is outside
    /// [`earliest`]..=[`latest`].
    pub(crate) fn try_set(&mut self, at: NaiveDateTime) -> Result<(), String> {
        if !(earliest()..=latest()).contains(&at) {
            return Err(out_of_range());
        }
        self.set(at);
        Ok(())
    }
}

/// The earliest time the sandbox clock shows. HTTP dates (the `Date` header every answer
/// carries, `Retry-After`) exist only from 1970 to 9999, and `httpdate` panics outside them.
pub(crate) fn earliest() -> NaiveDateTime {
    NaiveDateTime::new(
        chrono::NaiveDate::from_ymd_opt(1970, 1, 2).unwrap_or_default(),
        chrono::NaiveTime::MIN,
    )
}

/// The latest time the sandbox clock shows (see [`earliest`]).
pub(crate) fn latest() -> NaiveDateTime {
    NaiveDateTime::new(
        chrono::NaiveDate::from_ymd_opt(9999, 12, 30).unwrap_or_default(),
        chrono::NaiveTime::MIN,
    )
}

fn out_of_range() -> String {
    format!(
        "the sandbox clock stays between {} and {}",
        format_naive_datetime(earliest()),
        format_naive_datetime(latest())
    )
}

/// The last instant an HTTP date can name (9999-12-31 23:59:59 UTC), in Unix seconds.
const LAST_HTTP_DATE_SECS: u64 = 253_402_300_799;

/// The HTTP-date text of `at` (`Date`, `Retry-After`), brought into the years an HTTP date can
/// carry (1970 to 9999) instead of panicking like `httpdate` does outside them.
pub(crate) fn http_date(at: chrono::DateTime<chrono::Utc>) -> String {
    let secs = u64::try_from(at.timestamp())
        .unwrap_or(0)
        .min(LAST_HTTP_DATE_SECS);
    httpdate::fmt_http_date(std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs))
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
    fn the_clock_stops_at_the_years_http_dates_can_carry() {
        let mut clock = Clock::new(at("2026-06-18 08:00:00"), ClockMode::Frozen);
        clock.advance(TimeDelta::MAX);
        assert_eq!(clock.now(), latest());
        clock.advance(TimeDelta::MIN);
        assert_eq!(clock.now(), earliest());
        clock.set(at("1900-01-01 00:00:00"));
        assert_eq!(clock.now(), earliest());
        let clock = Clock::new(at("0001-01-01 00:00:00"), ClockMode::Frozen);
        assert_eq!(clock.now(), earliest());
    }

    #[test]
    fn an_advance_or_set_out_of_range_fails_and_leaves_the_clock_unchanged() {
        let mut clock = Clock::new(at("2026-06-18 08:00:00"), ClockMode::Frozen);
        assert!(clock.try_advance(TimeDelta::days(3_000_000)).is_err());
        assert!(clock.try_advance(TimeDelta::days(-30_000)).is_err());
        assert!(clock.try_set(at("1969-12-31 23:59:59")).is_err());
        assert_eq!(clock.now(), at("2026-06-18 08:00:00"));
        assert!(clock.try_advance(TimeDelta::seconds(90)).is_ok());
        assert_eq!(clock.now(), at("2026-06-18 08:01:30"));
    }

    #[test]
    fn http_dates_are_clamped_to_the_years_1970_to_9999() {
        let utc = |s: &str| at(s).and_utc();
        assert_eq!(
            http_date(utc("2026-06-18 06:00:00")),
            "Thu, 18 Jun 2026 06:00:00 GMT"
        );
        assert_eq!(
            http_date(utc("1960-01-01 00:00:00")),
            "Thu, 01 Jan 1970 00:00:00 GMT"
        );
        assert_eq!(
            http_date(
                chrono::NaiveDate::from_ymd_opt(12000, 1, 1)
                    .unwrap()
                    .and_time(chrono::NaiveTime::MIN)
                    .and_utc()
            ),
            "Fri, 31 Dec 9999 23:59:59 GMT"
        );
    }

    #[test]
    fn paris_summer_time_is_two_hours_ahead_of_utc() {
        let utc = paris_to_utc(at("2026-06-18 08:00:00"));
        assert_eq!(utc.to_rfc3339(), "2026-06-18T06:00:00+00:00");
    }
}
