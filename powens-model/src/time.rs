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
use compact_str::CompactString;
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
    rfc3339_compact(instant).into()
}

/// [`rfc3339`] as a [`CompactString`]: the usual 20-byte form is stored inline, without
/// allocation.
pub fn rfc3339_compact(instant: DateTime<Utc>) -> CompactString {
    use chrono::{Datelike, Timelike};
    let year = instant.year();
    if instant.nanosecond() != 0 || !(0..=9999).contains(&year) {
        return instant
            .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
            .into();
    }
    // The common case without the formatting machinery: `YYYY-MM-DDTHH:MM:SSZ`.
    let mut out = *b"0000-00-00T00:00:00Z";
    let mut put = |at: usize, value: u32, width: usize| {
        let mut value = value;
        for i in (at..at + width).rev() {
            if let Some(digit) = out.get_mut(i) {
                *digit = b'0' + (value % 10) as u8;
            }
            value /= 10;
        }
    };
    put(0, year.unsigned_abs(), 4);
    put(5, instant.month(), 2);
    put(8, instant.day(), 2);
    put(11, instant.hour(), 2);
    put(14, instant.minute(), 2);
    put(17, instant.second(), 2);
    CompactString::from_utf8(out).unwrap_or_default()
}

/// Remembers the [`rfc3339_compact`] text of the last zoned datetimes converted (a page's rows
/// share few distinct `last_update` values, and the zone conversion is the costly part). A
/// memo of a pure function: the same value always gives the same text.
pub(crate) struct ZonedTexts {
    zone: Tz,
    slots: [Option<(PowensDateTime, DateTime<Utc>, CompactString)>; 32],
}

impl ZonedTexts {
    /// An empty memo for `zone`.
    pub(crate) fn new(zone: Tz) -> Self {
        Self {
            zone,
            slots: std::array::from_fn(|_| None),
        }
    }

    /// `rfc3339_compact(zoned_field(value, zone))`.
    pub(crate) fn text(&mut self, value: &PowensDateTime) -> CompactString {
        self.get(value).1
    }

    /// `zoned_field(value, zone)` (from the same memo as [`ZonedTexts::text`]).
    pub(crate) fn instant(&mut self, value: &PowensDateTime) -> DateTime<Utc> {
        self.get(value).0
    }

    fn get(&mut self, value: &PowensDateTime) -> (DateTime<Utc>, CompactString) {
        use chrono::{Datelike, Timelike};
        let day = value.naive.date().num_days_from_ce() as u32;
        let second = value.naive.time().num_seconds_from_midnight();
        let hash = day.wrapping_add(second.wrapping_mul(0x9E37_79B9));
        let index = (hash as usize) % self.slots.len();
        let Some(slot) = self.slots.get_mut(index) else {
            let instant = zoned_field(value, self.zone);
            return (instant, rfc3339_compact(instant));
        };
        if let Some((key, instant, text)) = slot {
            if key == value {
                return (*instant, text.clone());
            }
        }
        let instant = zoned_field(value, self.zone);
        let text = rfc3339_compact(instant);
        *slot = Some((*value, instant, text.clone()));
        (instant, text)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn zoned_texts_memo_gives_what_the_direct_conversion_gives_around_both_dst_edges() {
        let paris = chrono_tz::Europe::Paris;
        let mut memo = ZonedTexts::new(paris);
        // Both DST edges (fold and gap), their neighbours, and values that share a slot.
        let mut values = Vec::new();
        for day in [
            "2026-03-28",
            "2026-03-29",
            "2026-03-30",
            "2026-10-24",
            "2026-10-25",
        ] {
            for time in [
                "00:00:00", "01:59:59", "02:00:00", "02:30:00", "02:59:59", "03:00:00",
            ] {
                values.push(format!("{day} {time}"));
            }
        }
        values.push("2026-10-25 02:30:00+0100".to_owned());
        values.push("2026-10-25 02:30:00Z".to_owned());
        for _ in 0..3 {
            for text in &values {
                let value = PowensDateTime::parse(text).unwrap();
                assert_eq!(
                    memo.text(&value),
                    rfc3339(zoned_field(&value, paris)),
                    "{text}"
                );
            }
        }
    }
}
