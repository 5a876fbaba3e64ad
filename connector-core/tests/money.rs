#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! UMN money: assets, decimal <-> minor units.

use std::str::FromStr;

use connector_core::money::{Amount, AmountError, Asset, AssetError};
use proptest::prelude::*;
use rust_decimal::Decimal;

/// (input, precision, expected minor units or the error's kind)
const PARSE_TABLE: &[(&str, u32, Result<i128, &str>)] = &[
    ("123.45", 2, Ok(12345)),
    ("-123.45", 2, Ok(-12345)),
    ("123.4", 2, Ok(12340)),
    ("123", 2, Ok(12300)),
    (".5", 2, Ok(50)),
    ("-.5", 2, Ok(-50)),
    ("5.", 2, Ok(500)),
    ("+12.3", 2, Ok(1230)),
    ("007.10", 2, Ok(710)),
    ("-0.00", 2, Ok(0)),
    ("0", 0, Ok(0)),
    ("1500", 0, Ok(1500)),
    ("1500.", 0, Ok(1500)),
    ("1.5", 3, Ok(1500)),
    ("0.001", 3, Ok(1)),
    // extra digits that are zeros are exact, hence accepted
    ("123.450", 2, Ok(12345)),
    ("1500.0", 0, Ok(1500)),
    ("1.230000000", 2, Ok(123)),
    // refused, never rounded
    ("123.456", 2, Err("too_many_decimals")),
    ("0.001", 2, Err("too_many_decimals")),
    ("1.5", 0, Err("too_many_decimals")),
    ("123.4501", 2, Err("too_many_decimals")),
    // malformed
    ("", 2, Err("empty")),
    ("-", 2, Err("invalid")),
    ("+", 2, Err("invalid")),
    (".", 2, Err("invalid")),
    ("1e3", 2, Err("invalid")),
    ("1E3", 2, Err("invalid")),
    ("1.5e2", 2, Err("invalid")),
    ("1,234.56", 2, Err("invalid")),
    (" 12.30", 2, Err("invalid")),
    ("12.30 ", 2, Err("invalid")),
    ("12.3a", 2, Err("invalid")),
    ("1.2.3", 2, Err("invalid")),
    ("--1", 2, Err("invalid")),
    ("+-1", 2, Err("invalid")),
    ("1_000", 2, Err("invalid")),
    ("NaN", 2, Err("invalid")),
    ("١٢", 2, Err("invalid")),
    // overflow
    ("170141183460469231731687303715884105727", 0, Ok(i128::MAX)),
    (
        "-170141183460469231731687303715884105727",
        0,
        Ok(-i128::MAX),
    ),
    (
        "170141183460469231731687303715884105728",
        0,
        Err("overflow"),
    ),
    ("1701411834604692317316873037158841057.27", 2, Ok(i128::MAX)),
    (
        "1701411834604692317316873037158841057.28",
        2,
        Err("overflow"),
    ),
    ("1", 39, Err("overflow")),
    (
        "99999999999999999999999999999999999999999",
        0,
        Err("overflow"),
    ),
];

fn kind(err: &AmountError) -> &'static str {
    match err {
        AmountError::Empty => "empty",
        AmountError::InvalidText { .. } => "invalid",
        AmountError::TooManyDecimals { .. } => "too_many_decimals",
        AmountError::Overflow => "overflow",
        AmountError::DecimalOutOfRange { .. } => "decimal_out_of_range",
        AmountError::PrecisionTooLarge { .. } => "precision_too_large",
        _ => "other",
    }
}

#[test]
fn strict_decimal_parser_follows_the_umn_table() {
    for (input, precision, expected) in PARSE_TABLE {
        let got = Amount::parse_decimal(input, *precision)
            .map(Amount::minor)
            .map_err(|e| kind(&e));
        assert_eq!(got, *expected, "parse_decimal({input:?}, {precision})");
    }
}

#[test]
fn formatting_inserts_the_point_and_keeps_the_sign() {
    let table: &[(i128, u32, &str)] = &[
        (12345, 2, "123.45"),
        (5, 2, "0.05"),
        (-5, 2, "-0.05"),
        (0, 2, "0.00"),
        (100, 0, "100"),
        (-123456, 3, "-123.456"),
        (1, 6, "0.000001"),
        (i128::MIN, 0, "-170141183460469231731687303715884105728"),
    ];
    for (minor, precision, text) in table {
        assert_eq!(
            Amount::from_minor(*minor)
                .to_decimal_string(*precision)
                .unwrap(),
            *text
        );
    }
}

#[test]
fn formatting_refuses_a_precision_no_asset_can_have() {
    let amount = Amount::from_minor(1);
    assert_eq!(amount.to_decimal_string(999_999).unwrap().len(), 1_000_001);
    assert_eq!(
        amount.to_decimal_string(1_000_000).map_err(|e| kind(&e)),
        Err("precision_too_large")
    );
    assert_eq!(
        amount.to_decimal_string(u32::MAX).map_err(|e| kind(&e)),
        Err("precision_too_large")
    );
}

#[test]
fn from_decimal_is_exact_and_accepts_only_zero_extra_digits() {
    let table: &[(&str, u32, Result<i128, &str>)] = &[
        ("123.45", 2, Ok(12345)),
        ("123.4", 2, Ok(12340)),
        ("123", 0, Ok(123)),
        ("123.450", 2, Ok(12345)),
        ("-0.00", 2, Ok(0)),
        ("-7.5", 1, Ok(-75)),
        ("123.456", 2, Err("too_many_decimals")),
        (
            "0.0000000000000000000000000001",
            2,
            Err("too_many_decimals"),
        ),
        (
            "79228162514264337593543950335",
            9,
            Ok(79_228_162_514_264_337_593_543_950_335_000_000_000),
        ),
        ("79228162514264337593543950335", 39, Err("overflow")),
    ];
    for (input, precision, expected) in table {
        let decimal = Decimal::from_str(input).unwrap();
        let got = Amount::from_decimal(decimal, *precision)
            .map(Amount::minor)
            .map_err(|e| kind(&e));
        assert_eq!(got, *expected, "from_decimal({input}, {precision})");
    }
}

#[test]
fn to_decimal_has_exactly_the_precision_as_scale() {
    let d = Amount::from_minor(12340).to_decimal(2).unwrap();
    assert_eq!(d.to_string(), "123.40");
    assert_eq!(
        Amount::from_minor(-5).to_decimal(3).unwrap().to_string(),
        "-0.005"
    );
}

#[test]
fn to_decimal_reports_values_a_decimal_cannot_hold() {
    assert_eq!(
        Amount::from_minor(i128::MAX)
            .to_decimal(2)
            .map_err(|e| kind(&e)),
        Err("decimal_out_of_range")
    );
    assert_eq!(
        Amount::from_minor(1).to_decimal(29).map_err(|e| kind(&e)),
        Err("decimal_out_of_range")
    );
}

#[test]
fn arithmetic_overflow_is_an_error_not_a_wrap() {
    let max = Amount::from_minor(i128::MAX);
    let min = Amount::from_minor(i128::MIN);
    let one = Amount::from_minor(1);
    assert_eq!(max.checked_add(one), Err(AmountError::Overflow));
    assert_eq!(min.checked_sub(one), Err(AmountError::Overflow));
    assert_eq!(min.checked_neg(), Err(AmountError::Overflow));
    assert_eq!(min.checked_abs(), Err(AmountError::Overflow));
    assert_eq!(one.checked_add(one), Ok(Amount::from_minor(2)));
    assert_eq!(
        Amount::from_minor(-3).checked_abs(),
        Ok(Amount::from_minor(3))
    );
    assert!(Amount::from_minor(-3).is_negative());
}

#[test]
fn amount_serialises_as_a_bare_json_integer() {
    let json = serde_json::to_string(&Amount::from_minor(-12345)).unwrap();
    assert_eq!(json, "-12345");
    let big = serde_json::to_string(&Amount::from_minor(i128::MAX)).unwrap();
    assert_eq!(big, "170141183460469231731687303715884105727");
    let back: Amount = serde_json::from_str(&big).unwrap();
    assert_eq!(back, Amount::from_minor(i128::MAX));
}

#[test]
fn amount_deserialisation_refuses_fractions_exponents_strings_and_overflow() {
    for bad in [
        "1.0",
        "1e2",
        "\"12\"",
        "170141183460469231731687303715884105728",
        "null",
    ] {
        assert!(
            serde_json::from_str::<Amount>(bad).is_err(),
            "{bad} must be refused"
        );
    }
}

#[test]
fn asset_is_built_from_code_and_precision_always_with_the_suffix() {
    assert_eq!(Asset::new("EUR", 2).unwrap().as_str(), "EUR/2");
    assert_eq!(Asset::new("jpy", 0).unwrap().as_str(), "JPY/0");
    assert_eq!(Asset::new("kwd", 3).unwrap().to_string(), "KWD/3");
    let usdc = Asset::new("USDC_ETH", 6).unwrap();
    assert_eq!((usdc.code(), usdc.precision()), ("USDC_ETH", 6));
    assert!(matches!(
        Asset::new("EUR", 1_000_000),
        Err(AssetError::PrecisionTooLarge { .. })
    ));
    for bad in [
        "",
        "1EUR",
        "EU R",
        "EUR_",
        "EUR_1",
        "ÉUR",
        "ABCDEFGHIJKLMNOPQR",
        "A_B_C",
    ] {
        assert!(
            matches!(Asset::new(bad, 2), Err(AssetError::InvalidCode { .. })),
            "{bad:?} must be refused"
        );
    }
}

#[test]
fn asset_parsing_is_strict_and_requires_the_precision() {
    for good in [
        "EUR/2",
        "JPY/0",
        "USDC_ETH/6",
        "A/999999",
        "ABCDEFGHIJKLMNOPQ/2",
    ] {
        assert_eq!(Asset::from_str(good).unwrap().as_str(), good);
    }
    for bad in [
        "EUR",
        "eur/2",
        "EUR/",
        "EUR/1234567",
        "EUR/02",
        "EUR/-1",
        "EUR/2 ",
        "/2",
        "EUR/2/3",
    ] {
        assert!(Asset::from_str(bad).is_err(), "{bad:?} must be refused");
    }
    let asset: Asset = serde_json::from_str("\"EUR/2\"").unwrap();
    assert_eq!(serde_json::to_string(&asset).unwrap(), "\"EUR/2\"");
    let err = serde_json::from_str::<Asset>("\"JPY\"")
        .unwrap_err()
        .to_string();
    assert!(err.contains("expected CODE/precision"), "{err}");
}

proptest! {
    #[test]
    fn amount_text_round_trips(minor in any::<i64>(), precision in 0u32..=18) {
        let amount = Amount::from_minor(i128::from(minor));
        let text = amount.to_decimal_string(precision).unwrap();
        prop_assert_eq!(Amount::parse_decimal(&text, precision), Ok(amount));
    }

    #[test]
    fn amount_decimal_round_trips(minor in any::<i64>(), precision in 0u32..=18) {
        let amount = Amount::from_minor(i128::from(minor));
        let decimal = amount.to_decimal(precision).unwrap();
        prop_assert_eq!(Amount::from_decimal(decimal, precision), Ok(amount));
        prop_assert_eq!(decimal.to_string(), amount.to_decimal_string(precision).unwrap());
    }

    #[test]
    fn decimal_text_and_decimal_paths_agree(mantissa in any::<i64>(), scale in 0u32..=10, precision in 0u32..=10) {
        let decimal = Decimal::new(mantissa, scale);
        let via_decimal = Amount::from_decimal(decimal, precision);
        let via_text = Amount::parse_decimal(&decimal.to_string(), precision);
        prop_assert_eq!(via_decimal, via_text);
    }

    #[test]
    fn asset_validation_matches_the_formance_regex(code in "[A-Z0-9_a-z]{0,20}", precision in 0u32..=20) {
        let re = regex::Regex::new(r"^[A-Z][A-Z0-9]{0,16}(_[A-Z]{1,16})?(/\d{1,6})?$").unwrap();
        let text = format!("{code}/{precision}");
        prop_assert_eq!(Asset::from_str(&text).is_ok(), re.is_match(&text), "{}", text);
    }
}
