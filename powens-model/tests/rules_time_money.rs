//! Time (Paris zone, DST fold and gap) and money (assets, exact minor units) rules. One test per rule; the name states it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;

use connector_core::money::{Amount, Asset};
use powens_model::{account, money, time, SkipReason};
use serde_json::json;

#[test]
fn naive_powens_datetime_is_paris_wall_clock_converted_to_utc() {
    let paris = chrono_tz::Europe::Paris;
    assert_eq!(
        time::zoned_field(&naive("2026-06-18 06:12:45"), paris),
        utc("2026-06-18T04:12:45Z")
    );
    assert_eq!(
        time::zoned_field(&naive("2026-01-18 06:12:45"), paris),
        utc("2026-01-18T05:12:45Z")
    );
}

#[test]
fn explicit_offset_wins_over_the_zone() {
    let paris = chrono_tz::Europe::Paris;
    assert_eq!(
        time::zoned_field(&naive("2026-06-18 06:12:45 +0000"), paris),
        utc("2026-06-18T06:12:45Z")
    );
    assert_eq!(
        time::zoned_field(&naive("2026-06-18T06:12:45Z"), paris),
        utc("2026-06-18T06:12:45Z")
    );
}

#[test]
fn ambiguous_autumn_hour_takes_the_earlier_instant() {
    // 2026-10-25 02:30 happens twice in Paris (+02:00 then +01:00): the earlier is 00:30Z.
    let at = time::zoned_field(&naive("2026-10-25 02:30:00"), chrono_tz::Europe::Paris);
    assert_eq!(at, utc("2026-10-25T00:30:00Z"));
}

#[test]
fn spring_gap_wall_time_moves_forward_by_the_gap() {
    // 2026-03-29 02:30 does not exist in Paris: read as 03:30 local = 01:30Z.
    let at = time::zoned_field(&naive("2026-03-29 02:30:00"), chrono_tz::Europe::Paris);
    assert_eq!(at, utc("2026-03-29T01:30:00Z"));
    assert_eq!(
        at.with_timezone(&chrono_tz::Europe::Paris)
            .format("%H:%M")
            .to_string(),
        "03:30"
    );
}

#[test]
fn zone_of_naive_datetimes_is_configurable() {
    let ctx = ctx().with_zone(chrono_tz::America::New_York);
    let account = account::map_balance(&bank_account(json!({"balance": 1})), &ctx)
        .unwrap()
        .unwrap();
    assert_eq!(account.created_at, utc("2026-06-18T10:12:45Z"));
}

#[test]
fn transaction_datetime_is_utc_and_date_only_is_midnight_utc() {
    let with_datetime = payment_of(
        &transaction(json!({"datetime": "2026-06-18 21:14:03"})),
        &eur_account(),
    );
    assert_eq!(with_datetime.created_at, utc("2026-06-18T21:14:03Z"));
    let date_only = payment_of(&transaction(json!({})), &eur_account());
    assert_eq!(date_only.created_at, utc("2026-06-18T00:00:00Z"));
}

#[test]
fn asset_uses_powens_precision_first_then_iso_4217() {
    let powens = serde_json::from_value(json!({"id": "EUR", "precision": 3})).unwrap();
    assert_eq!(money::asset_of(&powens).unwrap().as_str(), "EUR/3");
    let iso = serde_json::from_value(json!({"id": "kwd"})).unwrap();
    assert_eq!(money::asset_of(&iso).unwrap().as_str(), "KWD/3");
    let jpy = serde_json::from_value(json!({"id": "JPY"})).unwrap();
    assert_eq!(money::asset_of(&jpy).unwrap().as_str(), "JPY/0");
}

#[test]
fn currency_without_any_known_precision_is_a_typed_skip() {
    let unknown = serde_json::from_value(json!({"id": "XBT"})).unwrap();
    assert_eq!(
        money::asset_of(&unknown),
        Err(SkipReason::UnknownCurrency {
            currency: "XBT".into()
        })
    );
    let skipped =
        account::map_accounts(&[bank_account(json!({"currency": {"id": "XBT"}}))], &ctx());
    assert!(skipped.accounts.is_empty());
    assert_eq!(skipped.skipped.len(), 1);
}

#[test]
fn extra_zero_decimals_are_exact_and_non_zero_ones_are_refused() {
    let eur = Asset::new("EUR", 2).unwrap();
    let exact = money::positive_minor_units("-16.220".parse().unwrap(), &eur).unwrap();
    assert_eq!(exact, Amount::from_minor(1622));
    assert!(matches!(
        money::positive_minor_units("16.225".parse().unwrap(), &eur),
        Err(SkipReason::AmountPrecision { .. })
    ));
}

proptest::proptest! {
    #[test]
    fn decimal_to_minor_units_and_back_round_trips(
        minor in -10_i64.pow(15)..10_i64.pow(15),
        precision in 0_u32..=8,
    ) {
        let asset = Asset::new("XTS", precision).unwrap();
        let value = rust_decimal::Decimal::new(minor, precision);
        let amount = money::signed_minor_units(value, &asset).unwrap();
        proptest::prop_assert_eq!(amount.minor(), i128::from(minor));
        proptest::prop_assert_eq!(money::to_decimal(amount, &asset).unwrap(), value);
    }
}

proptest::proptest! {
    #[test]
    fn metadata_instants_are_rfc3339_utc_like_chrono(seconds in -62_000_000_000_i64..253_000_000_000, nanos in proptest::prop_oneof![proptest::strategy::Just(0_u32), 0_u32..1_000_000_000]) {
        let instant = chrono::DateTime::from_timestamp(seconds, nanos).unwrap();
        proptest::prop_assert_eq!(
            time::rfc3339(instant),
            instant.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
        );
    }
}
