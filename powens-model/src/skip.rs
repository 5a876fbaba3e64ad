//! Rows that cannot be mapped: [`SkipReason`], [`Skipped`] and the [`Mapped`] result that
//! carries both the records and the skips. A bad row never fails its page and never panics.

use serde::Serialize;

/// Why one Powens object was not turned into a record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "reason", rename_all = "snake_case")]
#[non_exhaustive]
pub enum SkipReason {
    /// The object has no currency at all, so no asset can be built.
    #[error("no currency: cannot build an asset")]
    MissingCurrency,
    /// Neither Powens (`currency.precision`) nor ISO 4217 knows the currency's precision.
    #[error("currency {currency:?} has no known precision (not in Powens' payload nor ISO 4217)")]
    UnknownCurrency {
        /// The Powens currency code.
        currency: String,
    },
    /// The currency code or precision breaks the UMN grammar.
    #[error("currency {currency:?} at precision {precision} is not a valid UMN asset: {detail}")]
    InvalidAsset {
        /// The Powens currency code.
        currency: String,
        /// The precision that was tried.
        precision: u32,
        /// What the asset check said.
        detail: String,
    },
    /// The amount has non-zero digits beyond the asset precision (it is never rounded).
    #[error("amount {value} has more decimals than the precision {precision} of {asset}")]
    AmountPrecision {
        /// The amount as sent (decimal text).
        value: String,
        /// The asset precision.
        precision: u32,
        /// The asset.
        asset: String,
    },
    /// The amount does not fit in 128-bit minor units.
    #[error("amount {value} overflows 128-bit minor units")]
    AmountOverflow {
        /// The amount as sent (decimal text).
        value: String,
    },
    /// The row has no usable `id`.
    #[error("row has no id")]
    MissingId,
    /// The transaction has no `date`.
    #[error("transaction has no date")]
    MissingDate,
    /// The transaction has no `value`.
    #[error("transaction has no value")]
    MissingValue,
    /// The transaction has no `coming` flag, so its status is unknown.
    #[error("transaction has no coming flag")]
    MissingComing,
    /// The transaction belongs to an account the caller did not provide.
    #[error("transaction belongs to account {account_id:?}, which is not in the mapping context")]
    UnknownAccount {
        /// The row's `id_account` (or `None` when absent).
        account_id: Option<i64>,
    },
    /// The row is not a well-formed Powens object (wrong field type, bad date text, ...).
    #[error("malformed row: {detail}")]
    MalformedRow {
        /// The decoder's message.
        detail: String,
    },
}

impl SkipReason {
    /// The reason's short, stable name: its `reason` tag in JSON, to group and count skips.
    ///
    /// ```
    /// use powens_model::SkipReason;
    ///
    /// let reason = SkipReason::MalformedRow { detail: "field `value`: expected a decimal amount".into() };
    /// assert_eq!(reason.code(), "malformed_row");
    /// assert_eq!(SkipReason::MissingId.code(), "missing_id");
    /// ```
    pub fn code(&self) -> &'static str {
        match self {
            Self::MissingCurrency => "missing_currency",
            Self::UnknownCurrency { .. } => "unknown_currency",
            Self::InvalidAsset { .. } => "invalid_asset",
            Self::AmountPrecision { .. } => "amount_precision",
            Self::AmountOverflow { .. } => "amount_overflow",
            Self::MissingId => "missing_id",
            Self::MissingDate => "missing_date",
            Self::MissingValue => "missing_value",
            Self::MissingComing => "missing_coming",
            Self::UnknownAccount { .. } => "unknown_account",
            Self::MalformedRow { .. } => "malformed_row",
        }
    }
}

/// One skipped object: which one (when it could be identified) and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    /// What was skipped: `"account"`, `"balance"`, `"transaction"`, `"counterparty"`.
    pub kind: &'static str,
    /// The Powens id of the object, when it could be read.
    pub id: Option<i64>,
    /// Why.
    #[serde(flatten)]
    pub reason: SkipReason,
}

impl Skipped {
    /// A skipped object of `kind` with its id, when known.
    pub fn new(kind: &'static str, id: Option<i64>, reason: SkipReason) -> Self {
        Self { kind, id, reason }
    }
}

/// Records mapped from a batch of Powens objects, plus every object that was skipped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mapped<T> {
    /// The records, in input order.
    pub records: Vec<T>,
    /// The skipped objects, in input order.
    pub skipped: Vec<Skipped>,
}

impl<T> Default for Mapped<T> {
    fn default() -> Self {
        Self {
            records: Vec::new(),
            skipped: Vec::new(),
        }
    }
}

impl<T> Mapped<T> {
    /// How many objects were skipped.
    pub fn skipped_count(&self) -> usize {
        self.skipped.len()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_code_of_every_reason_is_its_json_tag() {
        let text = || "x".to_owned();
        for reason in [
            SkipReason::MissingCurrency,
            SkipReason::UnknownCurrency { currency: text() },
            SkipReason::InvalidAsset {
                currency: text(),
                precision: 2,
                detail: text(),
            },
            SkipReason::AmountPrecision {
                value: text(),
                precision: 2,
                asset: text(),
            },
            SkipReason::AmountOverflow { value: text() },
            SkipReason::MissingId,
            SkipReason::MissingDate,
            SkipReason::MissingValue,
            SkipReason::MissingComing,
            SkipReason::UnknownAccount { account_id: None },
            SkipReason::MalformedRow { detail: text() },
        ] {
            let json = serde_json::to_value(&reason).unwrap();
            assert_eq!(json["reason"], reason.code(), "{reason:?}");
        }
    }
}
