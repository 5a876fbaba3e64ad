//! Balances.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::money::{Amount, Asset};

/// A balance snapshot of one account in one asset (Formance `PSPBalance`, plus the
/// available amount).
///
/// Wire form: `accountReference`, `createdAt`, `amount` (booked, minor units),
/// `availableAmount`, `asset`, `psuID`, `openBankingConnectionID`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Balance {
    /// The reference of the account this balance belongs to.
    pub account_reference: String,
    /// The provider's "balance as of" time.
    pub created_at: DateTime<Utc>,
    /// The booked balance in minor units; may be negative.
    pub amount: Amount,
    /// The available balance (booked plus pending), when known.
    #[serde(default)]
    pub available_amount: Option<Amount>,
    /// The asset of both amounts.
    pub asset: Asset,
    /// The payment service user (open banking).
    #[serde(default, rename = "psuID")]
    pub psu_id: Option<String>,
    /// The bank connection (open banking).
    #[serde(default, rename = "openBankingConnectionID")]
    pub open_banking_connection_id: Option<String>,
}
