//! Powens time rules, as pure functions (no clock).
//!
//! * A transaction's `datetime`/`vdatetime`/`rdatetime`/`bdatetime` are documented as UTC: a
//!   naive value is read as UTC ([`utc_field`]).
//! * Every other Powens datetime (`last_update`, `deleted`, `disabled`, `created`, `expire`,
//!   ...) is a naive wall-clock time in Europe/Paris by default; the zone is configurable
//!   ([`crate::MappingContext::zone`]). A trailing `Z` or offset, when sent, wins
//!   ([`zoned_field`]).
//! * DST: an ambiguous autumn wall time (the hour that happens twice) takes the **earlier**
//!   instant; a spring-gap wall time (which never happens) moves **forward** by the gap: Paris
//!   `02:30` on the spring day is read as `03:30` local, `01:30` UTC ([`local_to_utc`]).
//! * Date-only fields stay dates; where an instant is needed a date is 00:00 UTC
//!   ([`date_at_midnight_utc`]).

use chrono::{DateTime, NaiveDate, NaiveDateTime, Offset, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use powens_api::wire::PowensDateTime;

/// Reads a naive wall-clock time in `zone`: the earlier instant when ambiguous, moved forward
/// by the gap when it falls in a DST gap.
pub fn local_to_utc(naive: NaiveDateTime, zone: Tz) -> DateTime<Utc> {
    match zone.from_local_datetime(&naive).earliest() {
        Some(local) => local.with_timezone(&Utc),
        None => {
            // In a gap: read the wall time at the offset in force just before the gap, which
            // moves it forward by the gap length (02:30 +01:00 = 01:30 UTC = 03:30 +02:00).
            let before = naive
                .checked_sub_signed(TimeDelta::days(1))
                .unwrap_or(naive)
                .and_utc();
            let offset = zone.offset_from_utc_datetime(&before.naive_utc()).fix();
            let seconds = i64::from(offset.local_minus_utc());
            let utc = naive
                .checked_sub_signed(TimeDelta::seconds(seconds))
                .unwrap_or(naive);
            utc.and_utc()
        }
    }
}

/// A Powens datetime whose naive form is a wall-clock time in `zone` (Europe/Paris by
/// default); an explicit offset wins.
pub fn zoned_field(value: &PowensDateTime, zone: Tz) -> DateTime<Utc> {
    match value.offset {
        Some(offset) => fixed(value.naive, offset),
        None => local_to_utc(value.naive, zone),
    }
}

/// A Powens datetime documented as UTC (a transaction's `datetime`); an explicit offset wins.
pub fn utc_field(value: &PowensDateTime) -> DateTime<Utc> {
    match value.offset {
        Some(offset) => fixed(value.naive, offset),
        None => value.naive.and_utc(),
    }
}

/// A date at 00:00 UTC.
pub fn date_at_midnight_utc(date: NaiveDate) -> DateTime<Utc> {
    date.and_time(chrono::NaiveTime::MIN).and_utc()
}

fn fixed(naive: NaiveDateTime, offset: chrono::FixedOffset) -> DateTime<Utc> {
    // A fixed offset has no gaps nor folds: subtracting it is exact.
    let seconds = i64::from(offset.local_minus_utc());
    naive
        .checked_sub_signed(TimeDelta::seconds(seconds))
        .unwrap_or(naive)
        .and_utc()
}

/// RFC 3339 text of an instant, seconds precision, `Z` suffix (the metadata form).
pub fn rfc3339(instant: DateTime<Utc>) -> String {
    use chrono::{Datelike, Timelike};
    let year = instant.year();
    if instant.nanosecond() != 0 || !(0..=9999).contains(&year) {
        return instant.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
    }
    // The common case without the formatting machinery: `YYYY-MM-DDTHH:MM:SSZ`.
    let mut out = String::with_capacity(20);
    let mut push = |value: u32, width: u32, separator: char| {
        let mut divisor = 10u32.pow(width - 1);
        while divisor > 0 {
            out.push(char::from(b'0' + ((value / divisor) % 10) as u8));
            divisor /= 10;
        }
        out.push(separator);
    };
    push(year.unsigned_abs(), 4, '-');
    push(instant.month(), 2, '-');
    push(instant.day(), 2, 'T');
    push(instant.hour(), 2, ':');
    push(instant.minute(), 2, ':');
    push(instant.second(), 2, 'Z');
    out
}
