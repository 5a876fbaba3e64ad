//! Fast paths for the fixed forms Powens sends almost always, each falling back to the
//! general `powens-api` parser for anything else, so the results are the same by
//! construction (and tested against the general parsers on edge inputs):
//!
//! * dates `YYYY-MM-DD` ([`date`]);
//! * datetimes `YYYY-MM-DD HH:MM:SS` ([`datetime`]);
//! * amounts `-?digits(.digits)?` with at most 18 digits ([`decimal`]).

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use powens_api::wire::datetime::{parse_date, DateTimeParseError};
use powens_api::wire::money::parse_decimal;
use powens_api::wire::PowensDateTime;
use rust_decimal::Decimal;

/// The value of `N` ASCII digits, `None` if any byte is not a digit.
#[inline(always)]
fn fixed_digits<const N: usize>(bytes: [u8; N]) -> Option<u32> {
    let mut value = 0u32;
    for b in bytes {
        let digit = b.wrapping_sub(b'0');
        if digit > 9 {
            return None;
        }
        value = value * 10 + u32::from(digit);
    }
    Some(value)
}

/// `YYYY-MM-DD` exactly (ten bytes): `Some(None)` for a date not in the calendar, `None` for
/// another form (not necessarily invalid: see [`date`]).
#[inline]
fn fixed_date(b: &[u8; 10]) -> Option<Option<NaiveDate>> {
    let [y0, y1, y2, y3, b'-', m0, m1, b'-', d0, d1] = *b else {
        return None;
    };
    let year = fixed_digits([y0, y1, y2, y3])?;
    let month = fixed_digits([m0, m1])?;
    let day = fixed_digits([d0, d1])?;
    // Four digits: the year fits an i32.
    Some(NaiveDate::from_ymd_opt(year as i32, month, day))
}

/// The last `YYYY-MM-DD` texts read and their dates (a page has few distinct dates, and
/// checking a date against the calendar costs more than comparing ten bytes).
#[derive(Default)]
pub(super) struct Dates {
    slots: [Option<([u8; 10], NaiveDate)>; 32],
}

impl Dates {
    /// [`fixed_date`], remembered.
    #[inline]
    pub(super) fn fixed(&mut self, text: &[u8; 10]) -> Option<Option<NaiveDate>> {
        // The day of the month picks the slot (a page's dates are mostly distinct days).
        let [.., d0, d1] = *text;
        let index = (usize::from(d0 & 0x0f) * 10 + usize::from(d1 & 0x0f)) % self.slots.len();
        if let Some(Some((key, date))) = self.slots.get(index) {
            if key == text {
                return Some(Some(*date));
            }
        }
        let date = fixed_date(text)?;
        if let (Some(slot), Some(date)) = (self.slots.get_mut(index), date) {
            *slot = Some((*text, date));
        }
        Some(date)
    }
}

/// A `YYYY-MM-DD` date, as [`parse_date`] reads it.
#[inline]
pub(super) fn date(text: &str, dates: &mut Dates) -> Result<NaiveDate, DateTimeParseError> {
    if let Ok(bytes) = <&[u8; 10]>::try_from(text.as_bytes()) {
        if let Some(Some(date)) = dates.fixed(bytes) {
            return Ok(date);
        }
    }
    parse_date(text)
}

/// A Powens datetime, as [`PowensDateTime::parse`] reads it.
#[inline]
pub(super) fn datetime(
    text: &str,
    dates: &mut Dates,
) -> Result<PowensDateTime, DateTimeParseError> {
    if let Ok(bytes) = <&[u8; 19]>::try_from(text.as_bytes()) {
        if let Some(naive) = fixed_datetime(bytes, dates) {
            return Ok(PowensDateTime::naive(naive));
        }
    }
    PowensDateTime::parse(text)
}

/// `YYYY-MM-DD HH:MM:SS` (or `T`/`t` between) exactly, else `None` (not necessarily
/// invalid: see [`datetime`]).
#[inline]
pub(super) fn fixed_datetime(b: &[u8; 19], dates: &mut Dates) -> Option<NaiveDateTime> {
    let [y0, y1, y2, y3, m, m0, m1, n, d0, d1, b' ' | b'T' | b't', h0, h1, b':', i0, i1, b':', s0, s1] =
        *b
    else {
        return None;
    };
    let date = dates.fixed(&[y0, y1, y2, y3, m, m0, m1, n, d0, d1])??;
    let hour = fixed_digits([h0, h1])?;
    let minute = fixed_digits([i0, i1])?;
    let second = fixed_digits([s0, s1])?;
    let time = NaiveTime::from_hms_opt(hour, minute, second)?;
    Some(NaiveDateTime::new(date, time))
}

/// A decimal amount, as [`parse_decimal`] reads it (same value *and* scale).
#[inline]
pub(super) fn decimal(text: &str) -> Result<Decimal, rust_decimal::Error> {
    fixed_decimal(text.as_bytes()).map_or_else(|| parse_decimal(text), Ok)
}

/// `-?[0-9]+(\.[0-9]+)?` with at most 18 digits in all (no overflow possible), else `None`.
#[inline]
fn fixed_decimal(text: &[u8]) -> Option<Decimal> {
    let (negative, rest) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, text),
    };
    let (int, fraction) = match rest.iter().position(|&b| b == b'.') {
        Some(dot) => (rest.get(..dot)?, rest.get(dot + 1..)?),
        None => (rest, &[][..]),
    };
    if int.is_empty() || int.len() + fraction.len() > 18 {
        return None;
    }
    if rest.len() > int.len() && fraction.is_empty() {
        return None;
    }
    let mut mantissa = 0i64;
    for &b in int.iter().chain(fraction) {
        let digit = b.wrapping_sub(b'0');
        if digit > 9 {
            return None;
        }
        mantissa = mantissa * 10 + i64::from(digit);
    }
    // At most 18 fraction digits: within Decimal's 28.
    let mut value = Decimal::new(mantissa, fraction.len() as u32);
    value.set_sign_negative(negative && mantissa != 0);
    Some(value)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    /// The fast path (twice: computed, then remembered) gives what the general parser gives.
    fn same_date(text: &str) {
        let mut dates = Dates::default();
        for _ in 0..2 {
            assert_eq!(
                date(text, &mut dates).ok(),
                parse_date(text).ok(),
                "{text:?}"
            );
        }
    }

    fn same_datetime(text: &str) {
        let mut dates = Dates::default();
        for _ in 0..2 {
            assert_eq!(
                datetime(text, &mut dates).ok(),
                PowensDateTime::parse(text).ok(),
                "{text:?}"
            );
        }
    }

    fn same_decimal(text: &str) {
        let fast = decimal(text).ok().map(|d| d.serialize());
        let general = parse_decimal(text).ok().map(|d| d.serialize());
        assert_eq!(fast, general, "{text:?}");
    }

    #[test]
    fn date_fast_path_agrees_with_the_general_parser_on_edge_inputs() {
        for text in [
            "2026-06-18",
            "2024-02-29",
            "2026-02-29",
            "2026-13-01",
            "2026-00-10",
            "2026-06-00",
            "2026-06-31",
            "0000-01-01",
            "9999-12-31",
            " 2026-06-18",
            "2026-06-18 ",
            "2026/06/18",
            "2026-6-18",
            "2026-06-1x",
            "+026-06-18",
            "２０２６-06-18",
            "",
        ] {
            same_date(text);
        }
        assert_eq!(
            date("2026-06-18", &mut Dates::default()).unwrap(),
            NaiveDate::from_ymd_opt(2026, 6, 18).unwrap()
        );
    }

    #[test]
    fn remembered_dates_are_keyed_by_their_whole_text() {
        // Texts that share a slot (same last digits) or differ only in the year or month.
        let mut dates = Dates::default();
        let texts = [
            "2026-06-18",
            "2025-06-18",
            "2026-07-18",
            "2026-06-28",
            "2026-02-29",
            "2024-02-29",
            "2026-06-18",
        ];
        for _ in 0..3 {
            for text in texts {
                assert_eq!(date(text, &mut dates).ok(), parse_date(text).ok(), "{text}");
                let datetime_text = format!("{text} 10:00:00");
                assert_eq!(
                    datetime(&datetime_text, &mut dates).ok(),
                    PowensDateTime::parse(&datetime_text).ok(),
                    "{datetime_text}"
                );
            }
        }
    }

    #[test]
    fn datetime_fast_path_agrees_with_the_general_parser_on_edge_inputs() {
        for text in [
            "2026-06-18 06:12:44",
            "2026-06-18T06:12:44",
            "2026-06-18t06:12:44",
            "2026-06-18_06:12:44",
            "2026-06-18 24:00:00",
            "2026-06-18 23:60:00",
            "2026-06-18 23:59:60",
            "2026-06-18 23:59:59",
            "2026-02-30 10:00:00",
            "2026-06-18 6:12:44 ",
            "2026-06-18 06:12:44Z",
            "2026-06-18 06:12:44.5",
            "2026-06-18 06:12:44+0200",
            " 2026-06-18 06:12:4",
            "2026-06-18 06-12-44",
            "2026-03-29 02:30:00",
        ] {
            same_datetime(text);
        }
    }

    #[test]
    fn decimal_fast_path_agrees_with_the_general_parser_value_and_scale() {
        for text in [
            "0",
            "-0",
            "-0.00",
            "1.50",
            "-16.22",
            "007.10",
            "123456789012345678",
            "1234567890123456789",
            "0.123456789012345678",
            "1.",
            ".5",
            "-",
            "",
            "1e3",
            "-1.5E-2",
            " 1.5",
            "1,5",
            "+1.5",
            "1.2.3",
            "--1",
        ] {
            same_decimal(text);
        }
    }

    proptest! {
        #[test]
        fn date_fast_path_agrees_on_digit_shaped_text(y in 0u32..10000, m in 0u32..14, d in 0u32..33) {
            same_date(&format!("{y:04}-{m:02}-{d:02}"));
        }

        #[test]
        fn datetime_fast_path_agrees_on_digit_shaped_text(
            d in 0u32..33, h in 0u32..26, mi in 0u32..62, s in 0u32..62, sep in "[ Tt_]"
        ) {
            same_datetime(&format!("2024-02-{d:02}{sep}{h:02}:{mi:02}:{s:02}"));
        }

        #[test]
        fn decimal_fast_path_agrees_on_number_shaped_text(text in "-?[0-9]{0,20}(\\.[0-9]{0,20})?") {
            same_decimal(&text);
        }
    }
}
