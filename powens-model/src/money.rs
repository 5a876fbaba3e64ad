//! Assets and amounts: Powens currency → UMN asset, decimal → positive minor units, exactly.

use connector_core::money::{Amount, AmountError, Asset};
use powens_api::currencies::Currency;
use rust_decimal::Decimal;

use crate::skip::SkipReason;

/// The precision of `code`: Powens' `precision` when given, else ISO 4217 (`iso_currency`),
/// else `None`.
pub fn precision_of(code: &str, powens_precision: Option<u32>) -> Option<u32> {
    powens_precision.or_else(|| {
        iso_currency::Currency::from_code(&code.to_ascii_uppercase())
            .and_then(|currency| currency.exponent())
            .map(u32::from)
    })
}

/// The UMN asset `CODE/precision` of a Powens currency (see [`precision_of`]).
pub fn asset_of(currency: &Currency) -> Result<Asset, SkipReason> {
    asset_for(&currency.id, currency.precision)
}

/// The UMN asset of `code` at Powens' precision, else the ISO 4217 one.
pub fn asset_for(code: &str, powens_precision: Option<u32>) -> Result<Asset, SkipReason> {
    let code = code.trim();
    if code.is_empty() {
        return Err(SkipReason::MissingCurrency);
    }
    let precision =
        precision_of(code, powens_precision).ok_or_else(|| SkipReason::UnknownCurrency {
            currency: code.to_owned(),
        })?;
    Asset::new(code, precision).map_err(|err| SkipReason::InvalidAsset {
        currency: code.to_owned(),
        precision,
        detail: err.to_string(),
    })
}

/// `value` in signed minor units of `asset`, exactly (extra zero digits are fine, others are
/// refused; overflow is an error).
pub fn signed_minor_units(value: Decimal, asset: &Asset) -> Result<Amount, SkipReason> {
    Amount::from_decimal(value, asset.precision()).map_err(|err| match err {
        AmountError::TooManyDecimals { .. } => SkipReason::AmountPrecision {
            value: value.to_string(),
            precision: asset.precision(),
            asset: asset.to_string(),
        },
        _ => SkipReason::AmountOverflow {
            value: value.to_string(),
        },
    })
}

/// `|value|` in minor units of `asset` (the payment form: the sign goes into the type).
pub fn positive_minor_units(value: Decimal, asset: &Asset) -> Result<Amount, SkipReason> {
    // The usual case directly: no more decimals than the asset, no overflow (what
    // `Amount::from_decimal` then `checked_abs` compute); anything else the general way, for
    // its typed error.
    let (mantissa, scale, precision) = (value.mantissa(), value.scale(), asset.precision());
    if scale <= precision {
        let minor = 10i128
            .checked_pow(precision - scale)
            .and_then(|factor| mantissa.checked_mul(factor))
            .and_then(i128::checked_abs);
        if let Some(minor) = minor {
            return Ok(Amount::from_minor(minor));
        }
    }
    signed_minor_units(value, asset)?
        .checked_abs()
        .map_err(|_| SkipReason::AmountOverflow {
            value: value.to_string(),
        })
}

/// Minor units of `asset` back to a decimal in major units (the inverse of
/// [`signed_minor_units`]).
pub fn to_decimal(amount: Amount, asset: &Asset) -> Result<Decimal, SkipReason> {
    amount
        .to_decimal(asset.precision())
        .map_err(|_| SkipReason::AmountOverflow {
            value: amount.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The rule without the fast path: exact signed minor units, then the absolute value.
    fn by_signed(value: Decimal, asset: &Asset) -> Result<Amount, SkipReason> {
        signed_minor_units(value, asset)?
            .checked_abs()
            .map_err(|_| SkipReason::AmountOverflow {
                value: value.to_string(),
            })
    }

    proptest! {
        #[test]
        fn positive_minor_units_is_the_absolute_signed_value(
            mantissa in prop_oneof![any::<i64>().prop_map(i128::from), -(1i128 << 95)..(1i128 << 95)],
            scale in 0u32..=28,
            precision in 0u32..=30,
        ) {
            let value = Decimal::from_i128_with_scale(mantissa, scale);
            let asset = Asset::new("EUR", precision).unwrap();
            prop_assert_eq!(positive_minor_units(value, &asset), by_signed(value, &asset));
        }
    }
}
