//! The truth: the exact dataset a correct sync of one user must end with, in Powens terms.
//!
//! * `connections`: every live connection with its state and consent expiry.
//! * `accounts`: every account, with `visible` = neither disabled nor deleted (what
//!   `GET /users/me/accounts` lists without `all`). Balances are the account payload's.
//! * `transactions`: the live rows (not deleted) of visible accounts, sorted by id, with their
//!   `coming` status as the API reports it now.
//! * `replaced`: provisional ids retired by maturation with a new id ([`MaturationMode::Replace`]
//!   in one change, or a `PostReplacement` and a deletion of the provisional in either order),
//!   each with the id of the posted row that replaced it and whether the posted value differs.
//!   A provisional is listed only once both halves happened: posted but not deleted, it is
//!   still a live pending row (in `transactions`, next to its posted row); deleted but not
//!   posted yet, it is in `deleted`.
//! * `deleted`: ids deleted without (completed) replacement (to be emitted as cancelled).
//!
//! Amounts are exact `Decimal`s (serialized as strings), dates `NaiveDate`, datetimes naive
//! Paris `NaiveDateTime`s.
//!
//! [`MaturationMode::Replace`]: crate::MaturationMode::Replace

use chrono::{NaiveDate, NaiveDateTime};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::currency;
use crate::model::from_secs;
use crate::store::User;

/// The final dataset of one user (see the module documentation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Truth {
    /// The Powens user id.
    pub user_id: u64,
    /// Live connections, by id.
    pub connections: Vec<TruthConnection>,
    /// Every account (including hidden ones, flagged by `visible`), by id.
    pub accounts: Vec<TruthAccount>,
    /// Live transactions of visible accounts, by id.
    pub transactions: Vec<TruthTransaction>,
    /// Provisional rows retired by maturation with a new id (both halves done), by
    /// provisional id.
    pub replaced: Vec<ReplacedTransaction>,
    /// Rows deleted without replacement, by id.
    pub deleted: Vec<u64>,
}

/// A connection in the truth.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TruthConnection {
    /// Connection id.
    pub id: u64,
    /// Powens `state` (`None` = last sync succeeded).
    pub state: Option<String>,
    /// Consent expiry.
    pub expire: Option<NaiveDateTime>,
}

/// An account in the truth.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TruthAccount {
    /// Account id.
    pub id: u64,
    /// Parent connection.
    pub connection_id: u64,
    /// `name`.
    pub name: String,
    /// Powens account type code (`checking`, `savings`, `card`, `loan`).
    pub account_type: String,
    /// Currency code.
    pub currency: String,
    /// The precision Powens publishes for it (`None` = `precision: null`).
    pub precision: Option<u32>,
    /// `balance` (booked).
    pub balance: Decimal,
    /// `coming` (sum of pending rows).
    pub coming: Decimal,
    /// `coming_balance` = balance + coming.
    pub coming_balance: Decimal,
    /// `iban`.
    pub iban: Option<String>,
    /// `number`.
    pub number: String,
    /// `usage`.
    pub usage: String,
    /// Account-level `error`.
    pub error: Option<String>,
    /// `last_update`.
    pub last_update: NaiveDateTime,
    /// `disabled`.
    pub disabled: Option<NaiveDateTime>,
    /// `deleted`.
    pub deleted: Option<NaiveDateTime>,
    /// Listed without `all`.
    pub visible: bool,
}

impl TruthAccount {
    /// The UMN asset a connector must give this account, `CODE/precision`, from the precision
    /// the sandbox publishes for its currency; `None` when it publishes none (`GEMS`): the
    /// account and its records must then be skipped. Computed here, not by the mapping under
    /// test.
    pub fn expected_asset(&self) -> Option<String> {
        self.precision.map(|p| format!("{}/{p}", self.currency))
    }

    /// `value` in signed minor units of this account's asset (see
    /// [`expected_asset`](Self::expected_asset)); `None` without a precision, when `value`
    /// has a non-zero digit past it, or on overflow: such a value must not be delivered.
    pub fn expected_minor_units(&self, value: Decimal) -> Option<i128> {
        let precision = self.precision?;
        let value = value.normalize();
        let scale = value.scale();
        if scale > precision {
            return None;
        }
        10i128
            .checked_pow(precision - scale)
            .and_then(|factor| value.mantissa().checked_mul(factor))
    }
}

/// A live transaction in the truth.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TruthTransaction {
    /// Transaction id.
    pub id: u64,
    /// Account id.
    pub account_id: u64,
    /// Signed value (negative = money out).
    pub value: Decimal,
    /// `date`.
    pub date: NaiveDate,
    /// `rdate` (= `application_date`).
    pub rdate: NaiveDate,
    /// `coming` (true = pending).
    pub coming: bool,
    /// Powens transaction type.
    pub transaction_type: String,
    /// `wording`.
    pub wording: String,
    /// `last_update`.
    pub last_update: NaiveDateTime,
    /// The counterparty, when the row has one.
    pub counterparty: Option<TruthCounterparty>,
}

/// A transaction counterparty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TruthCounterparty {
    /// `label`.
    pub label: String,
    /// `account_scheme_name` (`iban`, `bban`, `sort_code_account_number`).
    pub account_scheme_name: String,
    /// `account_identification`.
    pub account_identification: String,
    /// `creditor` or `debtor`.
    pub counterparty_type: String,
}

impl TruthCounterparty {
    /// The reference of the external account a connector must deliver for this counterparty,
    /// computed here from the spec's rule, not by the mapping under test: `cp-<scheme>-<hex>`,
    /// `<scheme>` the scheme name trimmed and in lower case (`unknown` when blank), `<hex>` the
    /// first 16 bytes of SHA-256 of `"<scheme>:<identifier>"`, the identifier upper-cased
    /// without whitespace and `-`. `None` when the identifier is blank: such a counterparty
    /// identifies no account.
    ///
    /// ```
    /// use powens_sandbox::TruthCounterparty;
    ///
    /// let cp = |scheme: &str, id: &str| TruthCounterparty {
    ///     label: "ACME".into(),
    ///     account_scheme_name: scheme.into(),
    ///     account_identification: id.into(),
    ///     counterparty_type: "creditor".into(),
    /// };
    /// let reference = cp("IBAN", "FR76 3000-6000 0112").expected_reference().unwrap();
    /// assert!(reference.starts_with("cp-iban-") && reference.len() == 8 + 32);
    /// assert_eq!(cp("iban", "fr7630006000 0112").expected_reference(), Some(reference));
    /// assert_eq!(cp("iban", " - ").expected_reference(), None);
    /// ```
    pub fn expected_reference(&self) -> Option<String> {
        let scheme = match self.account_scheme_name.trim() {
            "" => "unknown".to_owned(),
            scheme => scheme.to_ascii_lowercase(),
        };
        let identifier: String = self
            .account_identification
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .map(|c| c.to_ascii_uppercase())
            .collect();
        if identifier.is_empty() {
            return None;
        }
        let digest = Sha256::digest(format!("{scheme}:{identifier}").as_bytes());
        let mut reference = format!("cp-{scheme}-");
        for byte in digest.iter().take(16) {
            reference.push_str(&format!("{byte:02x}"));
        }
        Some(reference)
    }
}

/// A provisional row retired by maturation and the posted row that replaced it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplacedTransaction {
    /// The provisional (deleted) id.
    pub id: u64,
    /// The posted row's id.
    pub replaced_by: u64,
    /// The posted value differs from the provisional's (a card hold settling at another
    /// amount).
    #[serde(default)]
    pub posted_value_differs: bool,
}

fn decimal(mantissa: i64, scale: u32) -> Decimal {
    Decimal::new(mantissa, scale)
}

/// Builds the truth of one user.
pub(crate) fn truth_of(
    user: &User,
    wordings: &[String],
    counterparties: &[crate::model::Counterparty],
) -> Truth {
    let connections = user
        .connections
        .iter()
        .map(|c| TruthConnection {
            id: c.id,
            state: c.state.clone(),
            expire: c.expire,
        })
        .collect();
    let mut accounts: Vec<TruthAccount> = user
        .accounts
        .iter()
        .map(|a| {
            let cur = currency::currency(a.currency);
            TruthAccount {
                id: a.id,
                connection_id: a.id_connection,
                name: a.name.clone(),
                account_type: a.kind.code().to_owned(),
                currency: cur.id.to_owned(),
                precision: cur.precision,
                balance: decimal(a.balance, cur.scale),
                coming: decimal(a.coming, cur.scale),
                coming_balance: decimal(a.balance.saturating_add(a.coming), cur.scale),
                iban: a.iban.clone(),
                number: a.number.clone(),
                usage: a.usage.to_owned(),
                error: a.error.clone(),
                last_update: a.last_update,
                disabled: a.disabled,
                deleted: a.deleted,
                visible: a.visible(),
            }
        })
        .collect();
    accounts.sort_by_key(|a| a.id);
    let visible: Vec<(u64, u32)> = user
        .accounts
        .iter()
        .filter(|a| a.visible())
        .map(|a| (a.id, currency::currency(a.currency).scale))
        .collect();
    let transactions = user
        .txs
        .iter()
        .filter(|t| !t.is_deleted())
        .filter_map(|t| {
            let scale = visible.iter().find(|(id, _)| *id == t.account_id)?.1;
            let cp = counterparties.get(t.counterparty as usize);
            Some(TruthTransaction {
                id: t.id,
                account_id: t.account_id,
                value: decimal(t.value, scale),
                date: t.date,
                rdate: t.rdate,
                coming: t.coming,
                transaction_type: t.kind.code().to_owned(),
                wording: wordings
                    .get(t.wording as usize)
                    .cloned()
                    .unwrap_or_default(),
                last_update: from_secs(t.last_update),
                counterparty: cp.map(|cp| TruthCounterparty {
                    label: cp.label.clone(),
                    account_scheme_name: cp.scheme.to_owned(),
                    account_identification: cp.identification.clone(),
                    counterparty_type: if t.value < 0 { "creditor" } else { "debtor" }.to_owned(),
                }),
            })
        })
        .collect();
    // A replacement counts once both halves happened: the posted row exists and the
    // provisional is deleted (in one change, or in two in either order).
    let row = |id: u64| user.tx_position(id).and_then(|p| user.txs.get(p));
    let mut replaced: Vec<ReplacedTransaction> = user
        .replaced
        .iter()
        .filter_map(|&(id, replaced_by)| {
            let provisional = row(id).filter(|t| t.is_deleted())?;
            let posted = row(replaced_by)?;
            Some(ReplacedTransaction {
                id,
                replaced_by,
                posted_value_differs: posted.value != provisional.value,
            })
        })
        .collect();
    replaced.sort_by_key(|r| r.id);
    let retired: std::collections::HashSet<u64> = replaced.iter().map(|r| r.id).collect();
    let deleted = user
        .txs
        .iter()
        .filter(|t| t.is_deleted() && !retired.contains(&t.id))
        .map(|t| t.id)
        .collect();
    Truth {
        user_id: user.id,
        connections,
        accounts,
        transactions,
        replaced,
        deleted,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn account(currency: &str, precision: Option<u32>) -> TruthAccount {
        TruthAccount {
            id: 1,
            connection_id: 1,
            name: "Compte".into(),
            account_type: "checking".into(),
            currency: currency.into(),
            precision,
            balance: Decimal::ZERO,
            coming: Decimal::ZERO,
            coming_balance: Decimal::ZERO,
            iban: None,
            number: "1".into(),
            usage: "PRIV".into(),
            error: None,
            last_update: NaiveDate::from_ymd_opt(2026, 6, 18)
                .unwrap()
                .and_hms_opt(8, 0, 0)
                .unwrap(),
            disabled: None,
            deleted: None,
            visible: true,
        }
    }

    #[test]
    fn the_expected_asset_is_the_published_precision_and_none_without_one() {
        assert_eq!(
            account("EUR", Some(2)).expected_asset().as_deref(),
            Some("EUR/2")
        );
        assert_eq!(
            account("XBT", Some(8)).expected_asset().as_deref(),
            Some("XBT/8")
        );
        assert_eq!(account("GEMS", None).expected_asset(), None);
    }

    #[test]
    fn expected_minor_units_are_exact_and_refuse_digits_past_the_precision() {
        let eur = account("EUR", Some(2));
        assert_eq!(
            eur.expected_minor_units(Decimal::new(-12_500, 3)),
            Some(-1250)
        );
        assert_eq!(eur.expected_minor_units(Decimal::new(7, 0)), Some(700));
        assert_eq!(eur.expected_minor_units(Decimal::new(-12_505, 3)), None);
        assert_eq!(
            account("GEMS", None).expected_minor_units(Decimal::ONE),
            None
        );
    }
}
