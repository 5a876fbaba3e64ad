//! Checking a sync's output file against the sandbox's truth.
//!
//! The file is read back (records may appear more than once: delivery is at least once; the
//! last occurrence wins). For every user's [`Truth`]:
//!
//! * every account whose currency has a known precision has an `account` record (reference =
//!   Powens id, `defaultAsset` = `CODE/precision`) and a `balance` record (booked = `balance`,
//!   available = `coming_balance`, same asset); accounts in a currency with no known precision
//!   must be absent (skipped with a reason);
//! * every live transaction of a visible account has a `payment` record: reference = id,
//!   amount = |value| in minor units, asset, `PAY-IN`/`PAYOUT` by sign, `PENDING` when
//!   `coming`, else `SUCCEEDED`;
//! * every identified counterparty has an `external_account` record (the reference the
//!   sandbox computes from the spec's rule, [`powens_sandbox::TruthCounterparty::expected_reference`]);
//! * a row retired by maturation (`replaced`) has a `payment_to_delete` (a `payment_to_cancel`
//!   when it was posted at another amount), a deleted one a `payment_to_cancel`;
//! * no payment in the file is unknown to the sandbox.

use std::collections::{BTreeMap, BTreeSet};
use std::io::BufRead;
use std::path::Path;

use connector_core::model::{PaymentStatus, PaymentType, Record};
use connector_core::money::{Amount, Asset};
use connector_core::openbanking::ForwardedUser;
use powens_sandbox::{SandboxHandle, Truth, TruthAccount};

use crate::error::{failure_of, CliError};

/// The outcome of a check.
#[derive(Debug, Default)]
pub struct Verdict {
    /// Expected records found as expected.
    pub matched: u64,
    /// One line per difference.
    pub differences: Vec<String>,
}

#[derive(Default)]
struct FileContents {
    accounts: BTreeMap<String, Option<Asset>>,
    balances: BTreeMap<String, (Amount, Option<Amount>, Asset)>,
    payments: BTreeMap<String, (Amount, Asset, PaymentType, PaymentStatus)>,
    external: BTreeSet<String>,
    deleted: BTreeSet<String>,
    cancelled: BTreeSet<String>,
}

fn read_file(path: &Path) -> Result<FileContents, CliError> {
    let file = std::fs::File::open(path)
        .map_err(|e| failure_of(&format!("cannot read back {}", path.display()), &e))?;
    let mut contents = FileContents::default();
    for (index, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line =
            line.map_err(|e| failure_of(&format!("cannot read back {}", path.display()), &e))?;
        if line.trim().is_empty() {
            continue;
        }
        let record: Record = serde_json::from_str(&line).map_err(|e| {
            CliError::failure(format!(
                "{} line {} is not a record: {e}",
                path.display(),
                index + 1
            ))
        })?;
        match record {
            Record::Account(a) => {
                contents.accounts.insert(a.reference, a.default_asset);
            }
            Record::Balance(b) => {
                contents
                    .balances
                    .insert(b.account_reference, (b.amount, b.available_amount, b.asset));
            }
            Record::Payment(p) => {
                contents
                    .payments
                    .insert(p.reference, (p.amount, p.asset, p.payment_type, p.status));
            }
            Record::ExternalAccount(a) => {
                contents.external.insert(a.reference);
            }
            Record::PaymentToDelete(d) => {
                contents.deleted.insert(d.reference);
            }
            Record::PaymentToCancel(c) => {
                contents.cancelled.insert(c.reference);
            }
            _ => {}
        }
    }
    Ok(contents)
}

/// Compares the file at `path` with the truth of every linked user.
pub fn against_sandbox(
    path: &Path,
    sandbox: &SandboxHandle,
    users: &[ForwardedUser],
) -> Result<Verdict, CliError> {
    let contents = read_file(path)?;
    let mut verdict = Verdict::default();
    let mut expected_payments = BTreeSet::new();
    for user in users {
        let user_id: u64 = user
            .psp_user_id
            .as_deref()
            .and_then(|id| id.parse().ok())
            .ok_or_else(|| {
                CliError::failure(format!("PSU {} has no Powens user id", user.psu_id))
            })?;
        let truth = sandbox
            .control()
            .truth(user_id)
            .map_err(|e| failure_of("cannot read the sandbox truth", &e))?;
        check_user(&truth, &contents, &mut verdict, &mut expected_payments);
    }
    for reference in contents.payments.keys() {
        if !expected_payments.contains(reference) {
            verdict.differences.push(format!(
                "payment {reference}: in the file, not in the sandbox"
            ));
        }
    }
    Ok(verdict)
}

fn check(verdict: &mut Verdict, ok: bool, difference: impl FnOnce() -> String) {
    if ok {
        verdict.matched += 1;
    } else {
        verdict.differences.push(difference());
    }
}

fn check_user(
    truth: &Truth,
    file: &FileContents,
    verdict: &mut Verdict,
    expected_payments: &mut BTreeSet<String>,
) {
    let mut assets: BTreeMap<u64, (&TruthAccount, Asset)> = BTreeMap::new();
    for account in &truth.accounts {
        let reference = account.id.to_string();
        let Some(asset) = account
            .expected_asset()
            .and_then(|asset| asset.parse::<Asset>().ok())
        else {
            // Must be skipped (with a reason), not mapped: not a record, so not counted.
            if file.accounts.contains_key(&reference) {
                verdict.differences.push(format!(
                    "account {reference}: currency {} has no known precision, yet it is in the file",
                    account.currency
                ));
            }
            continue;
        };
        assets.insert(account.id, (account, asset.clone()));
        let found = file.accounts.get(&reference);
        check(
            verdict,
            found == Some(&Some(asset.clone())),
            || match found {
                None => format!("account {reference}: missing from the file"),
                Some(other) => format!(
                    "account {reference}: asset {} in the file, {asset} in the sandbox",
                    other.as_ref().map_or("none", Asset::as_str)
                ),
            },
        );
        let booked = account
            .expected_minor_units(account.balance)
            .map(Amount::from_minor);
        let available = account
            .expected_minor_units(account.coming_balance)
            .map(Amount::from_minor);
        let balance = file.balances.get(&reference);
        let expected = booked.map(|b| (b, available, asset.clone()));
        check(verdict, balance == expected.as_ref(), || {
            match balance {
            None => format!("balance of account {reference}: missing from the file"),
            Some((amount, available_amount, found_asset)) => format!(
                "balance of account {reference}: {amount} (available {}) {found_asset} in the file, {} (available {}) {asset} in the sandbox",
                available_amount.map(|a| a.to_string()).unwrap_or_default(),
                booked.map(|a| a.to_string()).unwrap_or_default(),
                available.map(|a| a.to_string()).unwrap_or_default(),
            ),
        }
        });
    }
    let mut counterparties = BTreeSet::new();
    for tx in &truth.transactions {
        let Some((account, asset)) = assets.get(&tx.account_id) else {
            continue;
        };
        let reference = tx.id.to_string();
        expected_payments.insert(reference.clone());
        let Some(amount) = account
            .expected_minor_units(tx.value)
            .and_then(i128::checked_abs)
            .map(Amount::from_minor)
        else {
            continue;
        };
        let payment_type = if tx.value.is_sign_negative() {
            PaymentType::Payout
        } else {
            PaymentType::PayIn
        };
        let status = if tx.coming {
            PaymentStatus::Pending
        } else {
            PaymentStatus::Succeeded
        };
        let expected = (amount, asset.clone(), payment_type, status);
        let found = file.payments.get(&reference);
        check(verdict, found == Some(&expected), || {
            match found {
            None => format!("payment {reference}: missing from the file"),
            Some((a, s, t, st)) => format!(
                "payment {reference}: {a} {s} {} {} in the file, {amount} {asset} {} {} in the sandbox",
                t.as_str(),
                st.as_str(),
                payment_type.as_str(),
                status.as_str()
            ),
        }
        });
        if let Some(cp) = &tx.counterparty {
            if let Some(reference) = cp.expected_reference() {
                counterparties.insert(reference);
            }
        }
    }
    for reference in counterparties {
        check(verdict, file.external.contains(&reference), || {
            format!("external account {reference}: missing from the file")
        });
    }
    for replaced in &truth.replaced {
        let reference = replaced.id.to_string();
        expected_payments.insert(reference.clone());
        if replaced.posted_value_differs {
            // Posted at another amount: no link between the rows, so a cancel, not a swap.
            check(verdict, file.cancelled.contains(&reference), || {
                format!(
                    "payment {reference}: posted at another amount in the sandbox, no \
                     payment_to_cancel in the file"
                )
            });
            continue;
        }
        check(verdict, file.deleted.contains(&reference), || {
            format!(
                "payment {reference}: replaced in the sandbox, no payment_to_delete in the file"
            )
        });
    }
    for deleted in &truth.deleted {
        let reference = deleted.to_string();
        expected_payments.insert(reference.clone());
        check(verdict, file.cancelled.contains(&reference), || {
            format!("payment {reference}: deleted in the sandbox, no payment_to_cancel in the file")
        });
    }
}
