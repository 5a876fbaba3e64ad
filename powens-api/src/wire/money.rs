//! Exact money decoding: a JSON number **or** a JSON string, straight into
//! [`rust_decimal::Decimal`], never through a binary float.
//!
//! serde_json is compiled with `arbitrary_precision` in this workspace, so a JSON number reaches a
//! visitor either as an integer (`visit_u64`/`visit_i64`) or, when it has a fraction or an
//! exponent, as a one-entry map whose value is the number's exact text. Both are handled here,
//! as are strings (`"-16.22"`, as in some community fixtures) and exponent forms (`"1.5e3"`).

use std::fmt;

use rust_decimal::Decimal;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};

/// The key serde_json uses for an arbitrary-precision number seen through `deserialize_any`.
const NUMBER_TOKEN: &str = "$serde_json::private::Number";

/// Parses the exact decimal text of an amount (`-16.22`, `7481`, `1.5e3`, surrounding spaces
/// tolerated). Fails rather than rounds when the value does not fit a `Decimal` exactly.
///
/// The text must be JSON-number text: an optional `-`, digits, an optional `.` followed by
/// digits, an optional exponent (`e`/`E`, optional sign, digits). Leading zeros are read as
/// written (`007.10` is 7.10). Anything else is refused, even where `rust_decimal` would read
/// it: `1_000` (a digit separator), `+5`, `12,50`, `5.`, `.5`.
///
/// ```
/// use powens_api::wire::money::parse_decimal;
/// assert_eq!(parse_decimal(" -16.22 ").unwrap().to_string(), "-16.22");
/// assert_eq!(parse_decimal("1.5e3").unwrap().to_string(), "1500");
/// assert!(parse_decimal("1_000").is_err());
/// assert!(parse_decimal("+5").is_err());
/// ```
pub fn parse_decimal(text: &str) -> Result<Decimal, rust_decimal::Error> {
    let text = text.trim();
    if !is_json_number(text) {
        return Err(rust_decimal::Error::ErrorString(format!(
            "{text:?} is not a decimal number (optional -, digits, optional fraction and exponent)"
        )));
    }
    match text.find(['e', 'E']) {
        Some(at) => {
            // `from_scientific` reads the mantissa with the *rounding* `from_str`: check first
            // that the mantissa is exact (at most 28 significant digits).
            let (mantissa, _) = text.split_at(at);
            Decimal::from_str_exact(mantissa)?;
            Decimal::from_scientific(text)
        }
        None => Decimal::from_str_exact(text),
    }
}

/// Whether `text` is JSON-number text, leading zeros allowed:
/// `-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
fn is_json_number(text: &str) -> bool {
    /// The digits at the start of `b`, and what follows them.
    fn digits(b: &[u8]) -> (usize, &[u8]) {
        let n = b.iter().take_while(|c| c.is_ascii_digit()).count();
        (n, &b[n..])
    }
    let b = text.as_bytes();
    let b = b.strip_prefix(b"-").unwrap_or(b);
    let (int, mut rest) = digits(b);
    if int == 0 {
        return false;
    }
    if let Some(after) = rest.strip_prefix(b".") {
        let (fraction, after) = digits(after);
        if fraction == 0 {
            return false;
        }
        rest = after;
    }
    if let Some(after) = rest.strip_prefix(b"e").or_else(|| rest.strip_prefix(b"E")) {
        let after = after
            .strip_prefix(b"-")
            .or_else(|| after.strip_prefix(b"+"))
            .unwrap_or(after);
        let (exponent, after) = digits(after);
        if exponent == 0 {
            return false;
        }
        rest = after;
    }
    rest.is_empty()
}

struct DecimalVisitor;

impl<'de> Visitor<'de> for DecimalVisitor {
    type Value = Decimal;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a decimal amount as a JSON number or string")
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Decimal, E> {
        Ok(Decimal::from(value))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Decimal, E> {
        Ok(Decimal::from(value))
    }

    fn visit_u128<E: de::Error>(self, value: u128) -> Result<Decimal, E> {
        Decimal::try_from_i128_with_scale(
            i128::try_from(value).map_err(|_| E::custom("amount out of range"))?,
            0,
        )
        .map_err(|_| E::custom("amount out of range"))
    }

    fn visit_i128<E: de::Error>(self, value: i128) -> Result<Decimal, E> {
        Decimal::try_from_i128_with_scale(value, 0).map_err(|_| E::custom("amount out of range"))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Decimal, E> {
        parse_decimal(value)
            .map_err(|err| E::custom(format_args!("invalid decimal amount {value:?}: {err}")))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Decimal, A::Error> {
        match map.next_key_seed(NumberKey)? {
            Some(()) => map.next_value_seed(DecimalText),
            None => Err(de::Error::custom(
                "expected a number, found an empty object",
            )),
        }
    }
}

/// Accepts only serde_json's private number key.
struct NumberKey;

impl<'de> DeserializeSeed<'de> for NumberKey {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = ();
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON number")
            }
            fn visit_str<E: de::Error>(self, key: &str) -> Result<(), E> {
                if key == NUMBER_TOKEN {
                    Ok(())
                } else {
                    Err(E::custom("expected a number, found an object"))
                }
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

/// Parses the number text carried by serde_json's arbitrary-precision map.
struct DecimalText;

impl<'de> DeserializeSeed<'de> for DecimalText {
    type Value = Decimal;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Decimal, D::Error> {
        deserializer.deserialize_str(DecimalVisitor)
    }
}

/// Reads the exact text of a number seen through `deserialize_any` (shared with the other
/// lenient decoders of this crate).
pub(crate) struct NumberText;

impl<'de> DeserializeSeed<'de> for NumberText {
    type Value = String;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<String, D::Error> {
        struct TextVisitor;
        impl<'de> Visitor<'de> for TextVisitor {
            type Value = String;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("number text")
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<String, E> {
                Ok(value.to_owned())
            }
        }
        deserializer.deserialize_str(TextVisitor)
    }
}

/// Reads serde_json's arbitrary-precision number map and returns the number's text.
pub(crate) fn number_text_from_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<String, A::Error> {
    match map.next_key_seed(NumberKey)? {
        Some(()) => map.next_value_seed(NumberText),
        None => Err(de::Error::custom(
            "expected a number, found an empty object",
        )),
    }
}

/// `#[serde(deserialize_with = "money::deserialize")]` for a required amount.
pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Decimal, D::Error> {
    deserializer.deserialize_any(DecimalVisitor)
}

/// `#[serde(default, deserialize_with = "money::option")]` for a nullable amount
/// (`null`, missing and `""` all give `None`).
pub fn option<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Decimal>, D::Error> {
    struct OptionVisitor;
    impl<'de> Visitor<'de> for OptionVisitor {
        type Value = Option<Decimal>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a decimal amount or null")
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(OptionalDecimal)
        }
    }
    deserializer.deserialize_option(OptionVisitor)
}

/// Like [`DecimalVisitor`] but an empty string is `None`.
struct OptionalDecimal;

impl<'de> Visitor<'de> for OptionalDecimal {
    type Value = Option<Decimal>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a decimal amount as a JSON number or string")
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        DecimalVisitor.visit_u64(v).map(Some)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        DecimalVisitor.visit_i64(v).map(Some)
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Self::Value, E> {
        DecimalVisitor.visit_u128(v).map(Some)
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Self::Value, E> {
        DecimalVisitor.visit_i128(v).map(Some)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        if v.trim().is_empty() {
            Ok(None)
        } else {
            DecimalVisitor.visit_str(v).map(Some)
        }
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        DecimalVisitor.visit_map(map).map(Some)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// A per-currency map of amounts (`{"EUR": 12345.67}`); `null` and missing give `None`.
pub fn option_map<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<std::collections::BTreeMap<String, Decimal>>, D::Error> {
    #[derive(serde::Deserialize)]
    struct Amount(#[serde(deserialize_with = "deserialize")] Decimal);
    let raw: Option<std::collections::BTreeMap<String, Amount>> =
        serde::Deserialize::deserialize(deserializer)?;
    Ok(raw.map(|map| map.into_iter().map(|(k, Amount(v))| (k, v)).collect()))
}
