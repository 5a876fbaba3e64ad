//! Amounts in minor units.

use std::fmt;

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::decimal_text::{format_minor_units, parse_minor_units, pow10};

/// An amount in minor units of an [`Asset`](super::Asset): `12345` at `EUR/2` is €123.45.
///
/// Stored as an `i128`: signed because balances can be negative (payments carry positive
/// amounts and a direction in their type), and 128 bits because every `rust_decimal` value
/// (a 96-bit mantissa) scaled to a usual precision fits without the cost of a big integer.
/// Every arithmetic operation is checked: overflow is an [`AmountError::Overflow`], never a
/// wrap. Serialised as a bare JSON integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Amount(i128);

/// Why a value cannot be turned into, or combined as, an [`Amount`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AmountError {
    /// The text was empty.
    #[error("empty amount: expected a decimal such as 123.45")]
    Empty,
    /// The text is not a plain decimal.
    #[error("invalid amount {text:?}: {reason}")]
    InvalidText {
        /// The rejected text (at most 64 characters of it).
        text: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The value has non-zero digits beyond the precision; it is refused, not rounded.
    #[error("amount {text} has more than {precision} decimals; refusing to round")]
    TooManyDecimals {
        /// The rejected value.
        text: String,
        /// The precision of the asset.
        precision: u32,
    },
    /// The precision is above the UMN maximum of 999 999.
    #[error("precision {precision} is above the UMN maximum of 999999")]
    PrecisionTooLarge {
        /// The requested precision.
        precision: u32,
    },
    /// The result does not fit in 128 bits.
    #[error("amount overflow: the result does not fit in 128-bit minor units")]
    Overflow,
    /// The amount cannot be represented as a `rust_decimal::Decimal` (scale above 28 or
    /// mantissa above 96 bits).
    #[error("amount {minor} at precision {precision} does not fit in a decimal")]
    DecimalOutOfRange {
        /// The minor units.
        minor: i128,
        /// The requested precision.
        precision: u32,
    },
}

impl Amount {
    /// Zero.
    pub const ZERO: Amount = Amount(0);

    /// An amount of `minor` minor units.
    pub const fn from_minor(minor: i128) -> Self {
        Amount(minor)
    }

    /// The minor units.
    pub const fn minor(self) -> i128 {
        self.0
    }

    /// Converts a decimal in major units to minor units at `precision`, exactly.
    ///
    /// `123.45` at 2 is `12345`; `123.4` at 2 is `12340`; `123.450` at 2 is `12345` (the extra
    /// digit is a zero); `123.456` at 2 is [`AmountError::TooManyDecimals`]; `-0.00` is `0`.
    pub fn from_decimal(value: Decimal, precision: u32) -> Result<Self, AmountError> {
        let mantissa = value.mantissa();
        let scale = value.scale();
        let minor = if scale <= precision {
            mantissa
                .checked_mul(pow10(precision - scale)?)
                .ok_or(AmountError::Overflow)?
        } else {
            let divisor = pow10(scale - precision)?;
            if mantissa % divisor != 0 {
                return Err(AmountError::TooManyDecimals {
                    text: value.to_string(),
                    precision,
                });
            }
            mantissa / divisor
        };
        Ok(Amount(minor))
    }

    /// Parses a decimal text in major units to minor units at `precision`, strictly.
    ///
    /// Accepts an optional sign, digits and one optional `.` (`"5."`, `".5"`, `"+1"`,
    /// `"007.10"`). Refuses the empty string, exponents (`"1e3"`), spaces, separators, and
    /// non-zero digits beyond the precision. Overflow is an error.
    pub fn parse_decimal(text: &str, precision: u32) -> Result<Self, AmountError> {
        parse_minor_units(text, precision).map(Amount)
    }

    /// The value in major units as a decimal with exactly `precision` decimals.
    pub fn to_decimal(self, precision: u32) -> Result<Decimal, AmountError> {
        Decimal::try_from_i128_with_scale(self.0, precision).map_err(|_| {
            AmountError::DecimalOutOfRange {
                minor: self.0,
                precision,
            }
        })
    }

    /// The value in major units as plain text with exactly `precision` decimals:
    /// `12345` at 2 is `"123.45"`, `-5` at 2 is `"-0.05"`, `100` at 0 is `"100"`.
    ///
    /// Fails only for a precision above [`MAX_PRECISION`](super::MAX_PRECISION), which no
    /// [`Asset`](super::Asset) has (it would format a string of that many digits).
    pub fn to_decimal_string(self, precision: u32) -> Result<String, AmountError> {
        if precision > super::MAX_PRECISION {
            return Err(AmountError::PrecisionTooLarge { precision });
        }
        Ok(format_minor_units(self.0, precision))
    }

    /// `self + other`, or [`AmountError::Overflow`].
    pub fn checked_add(self, other: Amount) -> Result<Amount, AmountError> {
        self.0
            .checked_add(other.0)
            .map(Amount)
            .ok_or(AmountError::Overflow)
    }

    /// `self - other`, or [`AmountError::Overflow`].
    pub fn checked_sub(self, other: Amount) -> Result<Amount, AmountError> {
        self.0
            .checked_sub(other.0)
            .map(Amount)
            .ok_or(AmountError::Overflow)
    }

    /// `-self`, or [`AmountError::Overflow`] for the most negative value.
    pub fn checked_neg(self) -> Result<Amount, AmountError> {
        self.0
            .checked_neg()
            .map(Amount)
            .ok_or(AmountError::Overflow)
    }

    /// `|self|`, or [`AmountError::Overflow`] for the most negative value.
    pub fn checked_abs(self) -> Result<Amount, AmountError> {
        self.0
            .checked_abs()
            .map(Amount)
            .ok_or(AmountError::Overflow)
    }

    /// Whether the amount is below zero.
    pub const fn is_negative(self) -> bool {
        self.0 < 0
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl Serialize for Amount {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_i128(self.0)
    }
}

impl<'de> Deserialize<'de> for Amount {
    /// Reads a JSON integer. Goes through `serde_json::Number` so that it works under
    /// `arbitrary_precision` even inside buffered (tagged) content, then parses its text
    /// strictly: `1.0` or `1e2` are refused.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let number = serde_json::Number::deserialize(deserializer)?;
        let text = number.to_string();
        let digits_ok = text
            .strip_prefix('-')
            .unwrap_or(&text)
            .bytes()
            .all(|b| b.is_ascii_digit());
        if !digits_ok {
            return Err(serde::de::Error::custom(format_args!(
                "invalid amount {text}: expected an integer number of minor units"
            )));
        }
        text.parse::<i128>().map(Amount).map_err(|_| {
            serde::de::Error::custom(format_args!(
                "amount {text} does not fit in 128-bit minor units"
            ))
        })
    }
}
