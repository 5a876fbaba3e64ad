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
