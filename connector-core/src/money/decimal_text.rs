//! The one strict decimal-text parser and formatter of the workspace.
//!
//! Grammar: `[+-]? digits* ( "." digits* )?` with at least one digit in total. No exponent,
//! no spaces, no separators. Digits beyond the precision must be zeros: they are then exact
//! and dropped; anything else is refused, never rounded.

use super::amount::AmountError;

/// Parses `text` into minor units at `precision`, with checked arithmetic.
pub(crate) fn parse_minor_units(text: &str, precision: u32) -> Result<i128, AmountError> {
    let invalid = |reason: &'static str| AmountError::InvalidText {
        text: text.chars().take(64).collect(),
        reason,
    };
    if text.is_empty() {
        return Err(AmountError::Empty);
    }
    let (negative, unsigned) = match text.as_bytes().first() {
        Some(b'-') => (true, text.get(1..).unwrap_or_default()),
        Some(b'+') => (false, text.get(1..).unwrap_or_default()),
        _ => (false, text),
    };
    let (int_part, frac_part) = match unsigned.split_once('.') {
        Some((int_part, frac_part)) => (int_part, frac_part),
        None => (unsigned, ""),
    };
    if int_part.is_empty() && frac_part.is_empty() {
        return Err(invalid("no digits"));
    }
    for part in [int_part, frac_part] {
        if let Some(c) = part.chars().find(|c| !c.is_ascii_digit()) {
            return Err(match c {
                'e' | 'E' => invalid("exponent notation is not accepted"),
                '.' => invalid("more than one decimal point"),
                _ => invalid("only digits, one optional sign and one optional '.' are accepted"),
            });
        }
    }
    let precision_len = usize::try_from(precision).unwrap_or(usize::MAX);
    let (kept_frac, extra_frac) = frac_part.split_at(frac_part.len().min(precision_len));
    if extra_frac.bytes().any(|b| b != b'0') {
        return Err(AmountError::TooManyDecimals {
            text: text.chars().take(64).collect(),
            precision,
        });
    }
    let mut minor: i128 = 0;
    for digit in int_part.bytes().chain(kept_frac.bytes()) {
        minor = minor
            .checked_mul(10)
            .and_then(|m| m.checked_add(i128::from(digit - b'0')))
            .ok_or(AmountError::Overflow)?;
    }
    let missing = precision.saturating_sub(u32::try_from(kept_frac.len()).unwrap_or(u32::MAX));
    minor = minor
        .checked_mul(pow10(missing)?)
        .ok_or(AmountError::Overflow)?;
    Ok(if negative { -minor } else { minor })
}

/// `10^exp` as an `i128`, or [`AmountError::Overflow`].
pub(crate) fn pow10(exp: u32) -> Result<i128, AmountError> {
    10i128.checked_pow(exp).ok_or(AmountError::Overflow)
}

/// Formats minor units at `precision` as a plain decimal: `(12345, 2)` is `"123.45"`,
/// `(-5, 2)` is `"-0.05"`, `(100, 0)` is `"100"`.
pub(crate) fn format_minor_units(minor: i128, precision: u32) -> String {
    let digits = minor.unsigned_abs().to_string();
    let sign = if minor < 0 { "-" } else { "" };
    let precision = usize::try_from(precision).unwrap_or(usize::MAX);
    if precision == 0 {
        return format!("{sign}{digits}");
    }
    let padded = if digits.len() <= precision {
        let zeros = precision - digits.len() + 1;
        format!("{}{digits}", "0".repeat(zeros))
    } else {
        digits
    };
    let (int_part, frac_part) = padded.split_at(padded.len() - precision);
    format!("{sign}{int_part}.{frac_part}")
}
