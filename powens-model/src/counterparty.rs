//! A transaction's counterparty → an external [`Account`].
//!
//! Reference rule: `cp-<scheme>-<32 hex>` where `<scheme>` is the Powens
//! `account_scheme_name` in lower case (`unknown` when absent) and the hex is the first 16
//! bytes of SHA-256 of `"<scheme>:<identifier>"`, the identifier upper-cased with spaces and
//! `-` removed (`FR76 3000…` and `fr763000…` are one counterparty). The label is *not* part
//! of the reference (banks spell names differently across rows). The identifier is hashed
//! because references end up in ids, URLs and logs, where an IBAN (personal data) should not;
//! the identifier itself is kept in metadata (`iban` for the `iban` scheme, `account_number`
//! otherwise), with `counterparty_id` (= the reference) and `name` (= the label).
//!
//! A counterparty without an identifier gives **no** external account (a label alone does
//! not identify an account and would merge unrelated payees).

use chrono::{DateTime, Utc};
use connector_core::model::{Account, AccountType, Metadata};
use powens_api::transactions::Counterparty;
use sha2::{Digest, Sha256};

use crate::context::AccountContext;
use crate::keys;

/// A borrowed view of a counterparty (from the typed or the lean decoder).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CounterpartyView<'a> {
    /// `label`.
    pub label: Option<&'a str>,
    /// `account_scheme_name`.
    pub scheme: Option<&'a str>,
    /// `account_identification`.
    pub identification: Option<&'a str>,
    /// `type` (`creditor` / `debtor`).
    pub kind: Option<&'a str>,
}

impl<'a> CounterpartyView<'a> {
    /// The view of a typed counterparty.
    pub fn of(counterparty: &'a Counterparty) -> Self {
        Self {
            label: counterparty.label.as_deref(),
            scheme: counterparty
                .account_scheme_name
                .as_ref()
                .map(|s| s.as_str()),
            identification: counterparty.account_identification.as_deref(),
            kind: counterparty.counterparty_type.as_ref().map(|t| t.as_str()),
        }
    }

    /// The external account reference, or `None` without an identifier.
    pub fn reference(&self) -> Option<String> {
        counterparty_reference(self.scheme, self.identification?)
    }
}

/// The deterministic reference of the counterparty identified by `identification` in
/// `scheme` (see the module docs); `None` when the identifier is blank.
pub fn counterparty_reference(scheme: Option<&str>, identification: &str) -> Option<String> {
    let normalized = normalized_identifier(identification);
    if normalized.is_empty() {
        return None;
    }
    let scheme = normalized_scheme(scheme);
    let mut hasher = Sha256::new();
    hasher.update(scheme.as_bytes());
    hasher.update(b":");
    hasher.update(normalized.as_bytes());
    let digest = hasher.finalize();
    let mut hex = String::with_capacity(32);
    for byte in digest.iter().take(16) {
        hex.push(HEX[usize::from(byte >> 4)]);
        hex.push(HEX[usize::from(byte & 0x0f)]);
    }
    Some(format!("cp-{scheme}-{hex}"))
}

fn normalized_identifier(identification: &str) -> String {
    identification
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

const HEX: [char; 16] = [
    '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'a', 'b', 'c', 'd', 'e', 'f',
];

fn normalized_scheme(scheme: Option<&str>) -> String {
    match scheme.map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => s.to_ascii_lowercase(),
        None => "unknown".to_owned(),
    }
}

/// The external account of a counterparty, first seen at `seen_at` (the payment's
/// `created_at`), linked to the PSU and connection of `account`; `None` without an
/// identifier.
pub fn map_counterparty(
    counterparty: &CounterpartyView<'_>,
    account: &AccountContext,
    seen_at: DateTime<Utc>,
) -> Option<Account> {
    let identification = counterparty.identification?;
    let reference = counterparty_reference(counterparty.scheme, identification)?;
    let scheme = normalized_scheme(counterparty.scheme);
    let mut metadata = Metadata::with_capacity(6);
    metadata.insert(keys::COUNTERPARTY_ID, reference.clone());
    let id_key = if scheme == "iban" {
        keys::IBAN
    } else {
        keys::ACCOUNT_NUMBER
    };
    let identifier = if scheme == "iban" {
        // The electronic IBAN form: no spaces, upper case.
        normalized_identifier(identification)
    } else {
        identification.trim().to_owned()
    };
    metadata.insert(id_key, identifier);
    metadata.insert(keys::SCHEME, scheme);
    if let Some(label) = counterparty.label.filter(|l| !l.trim().is_empty()) {
        metadata.insert(keys::NAME, label);
    }
    if let Some(kind) = counterparty.kind.filter(|k| !k.trim().is_empty()) {
        metadata.insert(keys::COUNTERPARTY_TYPE, kind);
    }
    let raw = crate::raw::serialised(&serde_json::json!({
        "label": counterparty.label,
        "account_scheme_name": counterparty.scheme,
        "account_identification": counterparty.identification,
        "type": counterparty.kind,
    }));
    Some(Account {
        reference,
        created_at: seen_at,
        account_type: AccountType::External,
        name: counterparty.label.map(str::to_owned),
        default_asset: None,
        psu_id: account.psu_id.clone(),
        open_banking_connection_id: account.connection_id.clone(),
        metadata,
        raw,
    })
}
