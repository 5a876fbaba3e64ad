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
    // One allocation: the result; the normalised identifier is hashed as it is produced.
    let mut hasher = Sha256::new();
    let mut scheme_text = String::with_capacity(3 + 16 + 1 + 32);
    scheme_text.push_str("cp-");
    push_normalized_scheme(&mut scheme_text, scheme);
    hasher.update(scheme_text.get(3..).unwrap_or_default().as_bytes());
    hasher.update(b":");
    let mut empty = true;
    let mut chunk = [0u8; 64];
    let mut filled = 0;
    for c in identification.chars() {
        if c.is_whitespace() || c == '-' {
            continue;
        }
        empty = false;
        let c = c.to_ascii_uppercase();
        let mut utf8 = [0u8; 4];
        for &b in c.encode_utf8(&mut utf8).as_bytes() {
            if let Some(slot) = chunk.get_mut(filled) {
                *slot = b;
                filled += 1;
            } else {
                hasher.update(chunk);
                chunk[0] = b;
                filled = 1;
            }
        }
    }
    if empty {
        return None;
    }
    hasher.update(chunk.get(..filled).unwrap_or_default());
    let digest = hasher.finalize();
    scheme_text.push('-');
    for byte in digest.iter().take(16) {
        scheme_text.push(HEX[usize::from(byte >> 4)]);
        scheme_text.push(HEX[usize::from(byte & 0x0f)]);
    }
    Some(scheme_text)
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
    let mut out = String::new();
    push_normalized_scheme(&mut out, scheme);
    out
}

/// Appends the scheme in lower case, `unknown` when absent or blank.
fn push_normalized_scheme(out: &mut String, scheme: Option<&str>) {
    match scheme.map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => out.extend(s.chars().map(|c| c.to_ascii_lowercase())),
        None => out.push_str("unknown"),
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
        raw: raw.into(),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    /// The rule written plainly: `cp-<scheme>-<hex of the first 16 bytes of SHA-256>`.
    fn plain_reference(scheme: Option<&str>, identification: &str) -> Option<String> {
        let normalized = normalized_identifier(identification);
        if normalized.is_empty() {
            return None;
        }
        let scheme = normalized_scheme(scheme);
        let digest = Sha256::digest(format!("{scheme}:{normalized}").as_bytes());
        let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
        Some(format!("cp-{scheme}-{hex}"))
    }

    #[test]
    fn reference_hashes_identifiers_longer_than_one_chunk_and_non_ascii_ones() {
        for (scheme, id) in [
            (Some("iban"), "FR76 3000 6000 0112 3456 7890 189"),
            (None, "x"),
            (Some("  "), "é-ü ß"),
            (Some("BBAN"), &"1234-5678 ".repeat(20)),
            (Some("iban"), &"é".repeat(40)),
            (Some("iban"), " - "),
        ] {
            assert_eq!(
                counterparty_reference(scheme, id),
                plain_reference(scheme, id)
            );
        }
    }

    proptest! {
        #[test]
        fn reference_is_the_plain_rule(scheme in proptest::option::of("[ a-zA-Zé]{0,8}"), id in "[ a-zA-Z0-9éß-]{0,90}") {
            prop_assert_eq!(counterparty_reference(scheme.as_deref(), &id), plain_reference(scheme.as_deref(), &id));
        }
    }
}
