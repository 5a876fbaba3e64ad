//! Accounts, internal and external.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::wire_enum::wire_enum;
use crate::money::Asset;

wire_enum! {
    /// Whether an account belongs to the user at the provider or is a counterparty.
    #[non_exhaustive]
    pub enum AccountType {
        /// Not known.
        Unknown => "UNKNOWN",
        /// An account held at the provider (for open banking: the PSU's bank account).
        Internal => "INTERNAL",
        /// A counterparty account seen in payments.
        External => "EXTERNAL",
    }
}

/// An account (Formance `PSPAccount` plus its `type`).
///
/// Wire form: `reference`, `createdAt`, `type`, `name`, `defaultAsset`, `psuID`,
/// `openBankingConnectionID`, `metadata`, `raw`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Account {
    /// The provider's reference, unique per connector.
    pub reference: String,
    /// When the account was created (or first seen, when the provider does not say).
    pub created_at: DateTime<Utc>,
    /// `INTERNAL` for fetched accounts, `EXTERNAL` for counterparties.
    #[serde(rename = "type")]
    pub account_type: AccountType,
    /// A human-readable name.
    #[serde(default)]
    pub name: Option<String>,
    /// The account's currency, when it has one.
    #[serde(default)]
    pub default_asset: Option<Asset>,
    /// The payment service user this account belongs to (open banking).
    #[serde(default, rename = "psuID")]
    pub psu_id: Option<String>,
    /// The bank connection this account comes through (open banking).
    #[serde(default, rename = "openBankingConnectionID")]
    pub open_banking_connection_id: Option<String>,
    /// Provider-specific facts, under a namespaced key such as `com.example.spec/iban`.
    #[serde(default)]
    pub metadata: super::Metadata,
    /// The provider's JSON for this account, exactly as received: its text is embedded verbatim
    /// when the record is serialised (only line breaks and the whitespace outside strings of a
    /// multi-line payload are dropped, to keep one record per line); equality compares the text.
    pub raw: super::RawJson,
}
