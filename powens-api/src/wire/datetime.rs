//! Powens dates and datetimes.
//!
//! * Dates (`date`, `rdate`, `first_date`, …) are `YYYY-MM-DD` and decode to
//!   [`chrono::NaiveDate`].
//! * Datetimes are documented as `YYYY-MM-DD HH:MM:SS` with no zone, but a `T` separator,
//!   fractional seconds, a trailing `Z` or an offset (`+0200`, `+02:00`, ` +0200`) are seen or
//!   reported too. [`PowensDateTime`] keeps the wall-clock value and *whether* an offset was
//!   given, so the mapping layer can apply its zone rule (Europe/Paris for naive values, the
//!   offset when present) without this crate guessing.
//!
//! For nullable fields (`#[serde_as(deserialize_as = "BlankAsNone")]`, see
//! [`BlankAsNone`](super::lenient::BlankAsNone)), `null`, a missing key, `""`, a blank string
//! and `"null"` all decode to `None`.

use std::fmt;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use serde::de::{self, Deserializer, Visitor};

use super::lenient::{is_blank_or_null, FromWireText};

/// A Powens datetime: the wall-clock value as sent and the offset, if the wire carried one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PowensDateTime {
    /// The wall-clock date and time exactly as sent (sub-second digits kept).
    pub naive: NaiveDateTime,
    /// `Some` when the wire value ended with `Z` or an offset; `None` for the documented naive
    /// form, whose zone the caller decides (Europe/Paris for most fields, UTC for a
    /// transaction's `datetime`/`vdatetime`/`rdatetime`/`bdatetime`).
    pub offset: Option<FixedOffset>,
}

/// Why a date or datetime string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid Powens {what} {value:?}: expected {expected}")]
pub struct DateTimeParseError {
    what: &'static str,
    value: String,
    expected: &'static str,
}

const DATETIME_FORMS: &str =
    "YYYY-MM-DD HH:MM:SS (or with T, fractional seconds, Z, +HHMM or +HH:MM)";

impl PowensDateTime {
    /// A naive (zone-less) value, as Powens documents its datetimes.
    pub fn naive(naive: NaiveDateTime) -> Self {
        Self {
            naive,
            offset: None,
        }
    }

    /// Parses any accepted form (see the module docs).
    pub fn parse(text: &str) -> Result<Self, DateTimeParseError> {
        parse_datetime(text.trim().as_bytes()).ok_or_else(|| DateTimeParseError {
            what: "datetime",
            value: text.to_owned(),
            expected: DATETIME_FORMS,
        })
    }

    /// `true` when the wire value carried `Z` or an explicit offset.
    pub fn has_offset(&self) -> bool {
        self.offset.is_some()
    }

    /// The UTC instant when the wire value carried an offset; `None` for a naive value (its zone
    /// is the caller's decision).
    pub fn instant_if_offset(&self) -> Option<DateTime<Utc>> {
        let offset = self.offset?;
        offset
            .from_local_datetime(&self.naive)
            .single()
            .map(|dt| dt.with_timezone(&Utc))
    }

    /// The value read in `zone_if_naive` when it carried no offset (earliest instant for an
    /// ambiguous wall-clock time, `None` in a gap), else at its own offset.
    pub fn to_utc_with<Tz: TimeZone>(&self, zone_if_naive: &Tz) -> Option<DateTime<Utc>> {
        match self.offset {
            Some(_) => self.instant_if_offset(),
            None => zone_if_naive
                .from_local_datetime(&self.naive)
                .earliest()
                .map(|dt| dt.with_timezone(&Utc)),
        }
    }
}

impl fmt::Display for PowensDateTime {
    /// The Powens form `YYYY-MM-DD HH:MM:SS`, fractional seconds only when non-zero, and the
    /// offset as `+HH:MM` only when one was given.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.naive.format("%Y-%m-%d %H:%M:%S%.f"))?;
        if let Some(offset) = self.offset {
            write!(f, "{offset}")?;
        }
        Ok(())
    }
}

impl std::str::FromStr for PowensDateTime {
    type Err = DateTimeParseError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

impl serde::Serialize for PowensDateTime {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for PowensDateTime {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct DateTimeVisitor;
        impl<'de> Visitor<'de> for DateTimeVisitor {
            type Value = PowensDateTime;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(DATETIME_FORMS)
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<PowensDateTime, E> {
                PowensDateTime::parse(value).map_err(E::custom)
            }
        }
        deserializer.deserialize_str(DateTimeVisitor)
    }
}

/// Parses a `YYYY-MM-DD` date.
pub fn parse_date(text: &str) -> Result<NaiveDate, DateTimeParseError> {
    let bytes = text.trim().as_bytes();
    match bytes {
        [_, _, _, _, b'-', _, _, b'-', _, _] => date_from(bytes),
        _ => None,
    }
    .ok_or_else(|| DateTimeParseError {
        what: "date",
        value: text.to_owned(),
        expected: "YYYY-MM-DD",
    })
}

fn digits(bytes: &[u8]) -> Option<u32> {
    let mut out: u32 = 0;
    if bytes.is_empty() {
        return None;
    }
    for &b in bytes {
        if !b.is_ascii_digit() {
            return None;
        }
        out = out.checked_mul(10)?.checked_add(u32::from(b - b'0'))?;
    }
    Some(out)
}

fn date_from(bytes: &[u8]) -> Option<NaiveDate> {
    let year = i32::try_from(digits(bytes.get(0..4)?)?).ok()?;
    let month = digits(bytes.get(5..7)?)?;
    let day = digits(bytes.get(8..10)?)?;
    NaiveDate::from_ymd_opt(year, month, day)
}

fn parse_datetime(bytes: &[u8]) -> Option<PowensDateTime> {
    // YYYY-MM-DD?HH:MM:SS
    if bytes.len() < 19
        || bytes.get(4) != Some(&b'-')
        || bytes.get(7) != Some(&b'-')
        || !matches!(bytes.get(10), Some(b' ' | b'T' | b't'))
        || bytes.get(13) != Some(&b':')
        || bytes.get(16) != Some(&b':')
    {
        return None;
    }
    let date = date_from(bytes)?;
    let hour = digits(bytes.get(11..13)?)?;
    let minute = digits(bytes.get(14..16)?)?;
    let second = digits(bytes.get(17..19)?)?;
    let mut rest = bytes.get(19..)?;

    let mut nanos: u32 = 0;
    if let Some((b'.', tail)) = rest.split_first() {
        let len = tail.iter().take_while(|b| b.is_ascii_digit()).count();
        if len == 0 {
            return None;
        }
        let (fraction, after) = tail.split_at(len);
        // Keep up to nanoseconds; further digits are below chrono's resolution.
        let kept = fraction.get(..len.min(9))?;
        let mut value = digits(kept)?;
        for _ in kept.len()..9 {
            value *= 10;
        }
        nanos = value;
        rest = after;
    }
    let time = NaiveTime::from_hms_nano_opt(hour, minute, second, nanos)?;
    let naive = NaiveDateTime::new(date, time);

    // Optional space before the zone (`… 12:00:00 +0200`).
    if let Some((b' ', tail)) = rest.split_first() {
        rest = tail;
    }
    let offset = match rest {
        [] => None,
        [b'Z' | b'z'] => Some(FixedOffset::east_opt(0)?),
        [sign @ (b'+' | b'-'), zone @ ..] => {
            let (hours, minutes) = match zone {
                [h1, h2] => (digits(&[*h1, *h2])?, 0),
                [h1, h2, m1, m2] => (digits(&[*h1, *h2])?, digits(&[*m1, *m2])?),
                [h1, h2, b':', m1, m2] => (digits(&[*h1, *h2])?, digits(&[*m1, *m2])?),
                _ => return None,
            };
            if hours > 23 || minutes > 59 {
                return None;
            }
            let seconds = i32::try_from(hours * 3600 + minutes * 60).ok()?;
            let seconds = if *sign == b'-' { -seconds } else { seconds };
            Some(FixedOffset::east_opt(seconds)?)
        }
        _ => return None,
    };
    Some(PowensDateTime { naive, offset })
}

impl FromWireText for PowensDateTime {
    const EXPECTING: &'static str = DATETIME_FORMS;

    /// `""`, a blank string and `"null"` are no value.
    fn from_wire_text(text: &str) -> Result<Option<Self>, String> {
        if is_blank_or_null(text) {
            return Ok(None);
        }
        Self::parse(text).map(Some).map_err(|e| e.to_string())
    }
}

impl FromWireText for NaiveDate {
    const EXPECTING: &'static str = "a YYYY-MM-DD date or null";

    /// `""`, a blank string and `"null"` are no value.
    fn from_wire_text(text: &str) -> Result<Option<Self>, String> {
        if is_blank_or_null(text) {
            return Ok(None);
        }
        parse_date(text).map(Some).map_err(|e| e.to_string())
    }
}

/// `#[serde(deserialize_with = "datetime::date")]` for a required `YYYY-MM-DD` date.
pub fn date<'de, D: Deserializer<'de>>(deserializer: D) -> Result<NaiveDate, D::Error> {
    struct DateVisitor;
    impl<'de> Visitor<'de> for DateVisitor {
        type Value = NaiveDate;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a YYYY-MM-DD date")
        }
        fn visit_str<E: de::Error>(self, value: &str) -> Result<NaiveDate, E> {
            parse_date(value).map_err(E::custom)
        }
    }
    deserializer.deserialize_str(DateVisitor)
}
