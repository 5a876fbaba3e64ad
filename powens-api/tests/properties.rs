//! Property tests: exact money and datetime round trips.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use powens_api::transactions::Transaction;
use powens_api::wire::{decode_json, PowensDateTime};
use proptest::prelude::*;
use rust_decimal::Decimal;

fn tx_with_value(value_json: &str) -> Transaction {
    let body = format!(
        r#"{{"id":1,"id_account":2,"date":"2026-01-01","type":"card","coming":false,"value":{value_json}}}"#
    );
    decode_json(body.as_bytes()).unwrap()
}

proptest! {
    #[test]
    fn any_decimal_text_decodes_identically_as_number_and_as_string(
        units in -999_999_999_999i64..999_999_999_999i64,
        scale in 0u32..=8,
    ) {
        let expected = Decimal::new(units, scale);
        let text = expected.to_string();
        let from_number = tx_with_value(&text).value.unwrap();
        let from_string = tx_with_value(&format!("\"{text}\"")).value.unwrap();
        prop_assert_eq!(from_number, expected);
        prop_assert_eq!(from_string, expected);
        prop_assert_eq!(from_number.to_string(), text);
    }

    #[test]
    fn naive_datetimes_round_trip_through_display(
        secs in 0i64..4_102_444_800i64,
        separator in prop::sample::select(vec![' ', 'T']),
    ) {
        let naive = chrono::DateTime::from_timestamp(secs, 0).unwrap().naive_utc();
        let text = naive.format(&format!("%Y-%m-%d{separator}%H:%M:%S")).to_string();
        let parsed = PowensDateTime::parse(&text).unwrap();
        prop_assert_eq!(parsed.naive, naive);
        prop_assert_eq!(parsed.offset, None);
        prop_assert_eq!(PowensDateTime::parse(&parsed.to_string()).unwrap(), parsed);
    }

    #[test]
    fn offsets_are_kept_in_both_notations(
        hours in 0i32..=14,
        minutes in prop::sample::select(vec![0i32, 30, 45]),
        negative in any::<bool>(),
    ) {
        let sign = if negative { '-' } else { '+' };
        let seconds = (hours * 3600 + minutes * 60) * if negative { -1 } else { 1 };
        for text in [
            format!("2026-03-29 02:30:00{sign}{hours:02}{minutes:02}"),
            format!("2026-03-29T02:30:00 {sign}{hours:02}:{minutes:02}"),
        ] {
            let parsed = PowensDateTime::parse(&text).unwrap();
            prop_assert_eq!(parsed.offset.unwrap().local_minus_utc(), seconds);
        }
    }
}
