//! Maturation: retiring a provisional (pending) payment when its transaction posts.
//!
//! Powens documents no link between a pending row and its posted version, and may do either:
//!
//! * **(a) same id**: the row keeps its id and `coming` flips `true → false`. The posted row
//!   maps to the same reference with status `SUCCEEDED`; emitting it is enough (Formance
//!   appends a `SUCCEEDED` adjustment to the payment).
//! * **(b) tombstone + new id**: the pending row gets `deleted` (visible with `all`) and a new
//!   row with a new id and `coming: false` appears. The posted payment is emitted under its
//!   own (permanent) reference with metadata `com.powens.spec/replaces` = the provisional
//!   reference, followed by a `PaymentToDelete` of the provisional reference.
//!
//! **Matching rule for (b).** A deleted provisional row P (a tombstone that was pending, or
//! whose reference is among the known provisional payments) is replaced by a posted row N of
//! the batch when: N is `SUCCEEDED`; N's reference is new (neither a known provisional nor a
//! deleted row); N is on the same account; N's signed value (type and amount) equals P's;
//! and N's date (the UTC date of its `created_at`: `date`, or `datetime` when sent) is within
//! `[P.date − 1 day, P.date + window]` (window
//! [`MaturationRule::window_days`], 10 days by default; the day before absorbs a booking date
//! set to the card date). Matching is one-to-one: provisionals are taken in order of pending
//! date, then lowest id; each takes the eligible posted row with the earliest date, then the
//! lowest id.
//!
//! **Cancellation.** A deleted row that is not replaced (a pending row with no posted match, or
//! a posted row the bank stopped reporting) is emitted as a `PaymentToCancel` (Formance
//! appends a `CANCELLED` adjustment; the payment's history is kept, unlike a delete).
//!
//! The function is pure: the caller keeps [`Maturation::pending`] (the provisional payments
//! still open after this batch) and passes it back with the next batch.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

use chrono::{NaiveDate, TimeDelta};
use connector_core::model::{
    Payment, PaymentStatus, PaymentToCancel, PaymentToDelete, PaymentType, Record,
};
use connector_core::money::Amount;
use serde::{Deserialize, Serialize};

use crate::keys;
use crate::payment::Tombstone;

/// A provisional payment the caller has already emitted as `PENDING`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProvisionalPayment {
    /// Its reference (the pending transaction id).
    pub reference: String,
    /// Its account's reference.
    pub account_reference: String,
    /// Its signed value in minor units (negative = money out).
    pub value: Amount,
    /// Its date.
    pub pending_date: NaiveDate,
}

impl ProvisionalPayment {
    /// The provisional form of a `PENDING` payment (`None` for any other status).
    pub fn from_payment(payment: &Payment) -> Option<Self> {
        if payment.status != PaymentStatus::Pending {
            return None;
        }
        Some(Self {
            reference: payment.reference.clone(),
            account_reference: account_of(payment)?.to_owned(),
            value: signed_value(payment)?,
            pending_date: payment.created_at.date_naive(),
        })
    }
}

/// The parameters of the matching rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaturationRule {
    /// How many days after the pending date a posted row may be dated (default 10).
    pub window_days: u32,
}

impl Default for MaturationRule {
    fn default() -> Self {
        Self { window_days: 10 }
    }
}

impl MaturationRule {
    /// Whether `posted` may replace the deleted provisional row `provisional` by the rule of
    /// the module docs: `posted` is `SUCCEEDED`, on the same account, of the same signed
    /// value, and dated within `[provisional.date − 1 day, provisional.date + window]`. That
    /// `posted`'s reference is new (no provisional, no deleted row, not already taken) is the
    /// caller's to check.
    pub fn accepts(&self, provisional: &Tombstone, posted: &Payment) -> bool {
        let earliest = provisional
            .date
            .checked_sub_signed(TimeDelta::days(1))
            .unwrap_or(provisional.date);
        let latest = provisional
            .date
            .checked_add_signed(TimeDelta::days(i64::from(self.window_days)))
            .unwrap_or(NaiveDate::MAX);
        posted.status == PaymentStatus::Succeeded
            && posted.reference != provisional.reference
            && account_of(posted) == Some(provisional.account_reference.as_str())
            && signed_value(posted) == Some(provisional.value)
            && (earliest..=latest).contains(&posted.created_at.date_naive())
    }
}

/// The order in which deleted provisional rows choose their replacement: pending date, then
/// lowest id.
pub fn provisional_order(a: &Tombstone, b: &Tombstone) -> Ordering {
    a.date
        .cmp(&b.date)
        .then_with(|| cmp_reference(&a.reference, &b.reference))
}

/// The order in which posted rows are preferred as a replacement: earliest date, then lowest
/// id.
pub fn posted_order(a: &Payment, b: &Payment) -> Ordering {
    a.created_at
        .date_naive()
        .cmp(&b.created_at.date_naive())
        .then_with(|| cmp_reference(&a.reference, &b.reference))
}

/// How a provisional reference was retired.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "how", rename_all = "snake_case")]
pub enum Retirement {
    /// (a) The same id posted.
    SameId {
        /// The reference (unchanged).
        reference: String,
    },
    /// (b) The provisional row was deleted and a new posted row replaces it.
    Replaced {
        /// The provisional reference (deleted).
        provisional: String,
        /// The posted reference that replaces it.
        posted: String,
    },
    /// The row was deleted and nothing replaces it.
    Cancelled {
        /// The cancelled reference.
        reference: String,
    },
}

/// The outcome of one batch.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Maturation {
    /// The records to emit, in order: the batch's payments (replacements annotated with
    /// `com.powens.spec/replaces`), then one `PaymentToDelete` per replaced provisional
    /// reference, then one `PaymentToCancel` per unreplaced deleted row.
    pub records: Vec<Record>,
    /// What happened to each retired reference.
    pub retired: Vec<Retirement>,
    /// The provisional payments still open after the batch (keep them for the next one).
    pub pending: Vec<ProvisionalPayment>,
}

fn account_of(payment: &Payment) -> Option<&str> {
    match payment.payment_type {
        PaymentType::Payout => payment.source_account_reference.as_deref(),
        _ => payment.destination_account_reference.as_deref(),
    }
}

fn signed_value(payment: &Payment) -> Option<Amount> {
    match payment.payment_type {
        PaymentType::Payout => payment.amount.checked_neg().ok(),
        _ => Some(payment.amount),
    }
}

/// Orders references numerically when both are integers, else as text.
fn cmp_reference(a: &str, b: &str) -> Ordering {
    match (a.parse::<i128>(), b.parse::<i128>()) {
        (Ok(x), Ok(y)) => x.cmp(&y),
        _ => a.cmp(b),
    }
}

/// Applies the maturation rule to one batch (see the module docs).
///
/// `known` are the provisional payments already emitted; `payments` the live rows of the
/// batch, mapped; `tombstones` its deleted rows.
pub fn mature(
    known: &[ProvisionalPayment],
    payments: Vec<Payment>,
    tombstones: &[Tombstone],
    rule: MaturationRule,
) -> Maturation {
    let known_refs: BTreeMap<&str, &ProvisionalPayment> =
        known.iter().map(|p| (p.reference.as_str(), p)).collect();
    let deleted_refs: BTreeSet<&str> = tombstones.iter().map(|t| t.reference.as_str()).collect();
    let mut out = Maturation::default();

    // (a) same id posted.
    for payment in &payments {
        if payment.status == PaymentStatus::Succeeded
            && known_refs.contains_key(payment.reference.as_str())
        {
            out.retired.push(Retirement::SameId {
                reference: payment.reference.clone(),
            });
        }
    }

    // (b) deleted provisionals, in order of pending date then id.
    let mut provisionals: Vec<&Tombstone> = tombstones
        .iter()
        .filter(|t| t.was_pending || known_refs.contains_key(t.reference.as_str()))
        .collect();
    provisionals.sort_by(|a, b| provisional_order(a, b));
    let mut taken: BTreeMap<usize, String> = BTreeMap::new();
    let mut replaced: BTreeSet<&str> = BTreeSet::new();
    for provisional in provisionals {
        let candidate = payments
            .iter()
            .enumerate()
            .filter(|(index, p)| {
                !taken.contains_key(index)
                    && !known_refs.contains_key(p.reference.as_str())
                    && !deleted_refs.contains(p.reference.as_str())
                    && rule.accepts(provisional, p)
            })
            .min_by(|(_, a), (_, b)| posted_order(a, b));
        if let Some((index, posted)) = candidate {
            taken.insert(index, provisional.reference.clone());
            replaced.insert(provisional.reference.as_str());
            out.retired.push(Retirement::Replaced {
                provisional: provisional.reference.clone(),
                posted: posted.reference.clone(),
            });
        }
    }

    // Still-open provisionals: known ones not retired, plus new pending rows.
    let retired_same_id: BTreeSet<&str> = payments
        .iter()
        .filter(|p| p.status == PaymentStatus::Succeeded)
        .map(|p| p.reference.as_str())
        .collect();
    let mut pending: BTreeMap<String, ProvisionalPayment> = known
        .iter()
        .filter(|p| {
            !retired_same_id.contains(p.reference.as_str())
                && !deleted_refs.contains(p.reference.as_str())
        })
        .map(|p| (p.reference.clone(), p.clone()))
        .collect();
    for payment in &payments {
        if let Some(provisional) = ProvisionalPayment::from_payment(payment) {
            pending.insert(provisional.reference.clone(), provisional);
        }
    }
    let mut pending: Vec<ProvisionalPayment> = pending.into_values().collect();
    pending.sort_by(|a, b| {
        a.pending_date
            .cmp(&b.pending_date)
            .then_with(|| cmp_reference(&a.reference, &b.reference))
    });
    out.pending = pending;

    // Records: payments (annotated), deletes, cancels.
    for (index, mut payment) in payments.into_iter().enumerate() {
        if let Some(provisional) = taken.get(&index) {
            payment
                .metadata
                .insert(keys::REPLACES.to_owned(), provisional.clone());
        }
        out.records.push(Record::Payment(payment));
    }
    for retirement in &out.retired {
        if let Retirement::Replaced { provisional, .. } = retirement {
            out.records.push(Record::PaymentToDelete(PaymentToDelete {
                reference: provisional.clone(),
            }));
        }
    }
    for tombstone in tombstones {
        if !replaced.contains(tombstone.reference.as_str()) {
            out.retired.push(Retirement::Cancelled {
                reference: tombstone.reference.clone(),
            });
            out.records.push(Record::PaymentToCancel(PaymentToCancel {
                reference: tombstone.reference.clone(),
            }));
        }
    }
    out
}
