//! Money in Universal Monetary Notation (UMN): an [`Asset`] such as `EUR/2` and an
//! [`Amount`] in minor units of that asset (`12345` at `EUR/2` is €123.45).
//!
//! Conversions between decimals and minor units are exact: nothing is ever rounded. A value
//! with more decimals than the precision is accepted only when the extra digits are zeros.

mod amount;
mod asset;
mod decimal_text;

pub use amount::{Amount, AmountError};
pub use asset::{Asset, AssetError, MAX_PRECISION};
