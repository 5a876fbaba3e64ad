//! The UMN asset: `CODE/precision`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The largest precision the UMN grammar allows (`/\d{1,6}`).
pub const MAX_PRECISION: u32 = 999_999;

/// A UMN asset, always written with its precision: `EUR/2`, `JPY/0`, `USDC_ETH/6`.
///
/// Valid assets match Formance's `^[A-Z][A-Z0-9]{0,16}(_[A-Z]{1,16})?(/\d{1,6})?$`; this type
/// additionally requires the `/n` suffix, so that `JPY` and `JPY/0` can never be two assets
/// that fail to net against each other.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Asset {
    /// Inline (no allocation) up to 24 bytes: every ISO 4217 asset is, so cloning one per
    /// record is free.
    text: compact_str::CompactString,
    code_len: usize,
    precision: u32,
}

/// Why a string or a (code, precision) pair is not a UMN asset.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AssetError {
    /// The currency code part breaks the grammar.
    #[error(
        "invalid asset code {code:?}: expected an upper-case letter followed by up to 16 \
         upper-case letters or digits, optionally `_` and 1 to 16 upper-case letters"
    )]
    InvalidCode {
        /// The rejected code (at most 64 characters of it).
        code: String,
    },
    /// The precision does not fit the grammar's 1 to 6 digits.
    #[error("invalid asset precision {precision}: at most {MAX_PRECISION}")]
    PrecisionTooLarge {
        /// The rejected precision.
        precision: u64,
    },
    /// A parsed asset lacks its `/n` suffix or has a malformed one.
    #[error("invalid asset {text:?}: expected CODE/precision, e.g. EUR/2 or JPY/0")]
    MissingPrecision {
        /// The rejected text (at most 64 characters of it).
        text: String,
    },
}

fn excerpt(s: &str) -> String {
    s.chars().take(64).collect()
}

/// Checks the code part of the UMN grammar: `[A-Z][A-Z0-9]{0,16}(_[A-Z]{1,16})?`.
pub(crate) fn is_valid_code(code: &str) -> bool {
    let (head, suffix) = match code.split_once('_') {
        Some((head, suffix)) => (head, Some(suffix)),
        None => (code, None),
    };
    let mut chars = head.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_uppercase());
    let head_ok =
        first_ok && head.len() <= 17 && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
    let suffix_ok = suffix
        .is_none_or(|s| (1..=16).contains(&s.len()) && s.chars().all(|c| c.is_ascii_uppercase()));
    head_ok && suffix_ok
}

impl Asset {
    /// Builds the asset `CODE/precision`, upper-casing an ASCII code first (as Formance's
    /// `FormatAssetWithPrecision` does): `Asset::new("eur", 2)` is `EUR/2`.
    pub fn new(code: &str, precision: u32) -> Result<Self, AssetError> {
        let code = code.to_ascii_uppercase();
        if !is_valid_code(&code) {
            return Err(AssetError::InvalidCode {
                code: excerpt(&code),
            });
        }
        if precision > MAX_PRECISION {
            return Err(AssetError::PrecisionTooLarge {
                precision: u64::from(precision),
            });
        }
        let code_len = code.len();
        Ok(Asset {
            text: compact_str::format_compact!("{code}/{precision}"),
            code_len,
            precision,
        })
    }

    /// The currency code, e.g. `EUR`.
    pub fn code(&self) -> &str {
        self.text.get(..self.code_len).unwrap_or_default()
    }

    /// The number of decimals of one unit, e.g. `2` for `EUR/2`.
    pub fn precision(&self) -> u32 {
        self.precision
    }

    /// The UMN text, e.g. `EUR/2`.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl FromStr for Asset {
    type Err = AssetError;

    /// Parses `CODE/precision` strictly: no case folding, the `/n` suffix is required, the
    /// precision has 1 to 6 digits (leading zeros are refused so that one asset has one text).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let missing = || AssetError::MissingPrecision { text: excerpt(s) };
        let (code, digits) = s.split_once('/').ok_or_else(missing)?;
        if !is_valid_code(code) {
            return Err(AssetError::InvalidCode {
                code: excerpt(code),
            });
        }
        let digits_ok = (1..=6).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit())
            && (digits == "0" || !digits.starts_with('0'));
        if !digits_ok {
            return Err(missing());
        }
        let precision: u32 = digits.parse().map_err(|_| missing())?;
        Asset::new(code, precision)
    }
}

impl fmt::Display for Asset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Serialize for Asset {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for Asset {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}
