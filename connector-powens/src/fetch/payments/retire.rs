//! Retiring provisional payments, whatever the order and timing in which Powens shows it.
//!
//! A pending row (`coming: true`, emitted `PENDING`) ends in one of three ways:
//!
//! * **same id**: the row posts under its id (`coming` flips): it is simply emitted again as
//!   `SUCCEEDED` (its reference is unchanged, the last record wins);
//! * **swapped**: Powens deletes it (a tombstone, seen with `all`) and posts a new row with a
//!   new id. The posted payment is emitted with `com.powens.spec/replaces` = the provisional
//!   reference, and a `PaymentToDelete` retires the provisional reference;
//! * **cancelled**: it is deleted and nothing replaces it: a `PaymentToCancel`.
//!
//! Both halves of a swap can arrive in any order: in one part, in different parts or pages
//! of a scan (rows newest first or oldest first), or in different syncs (posted in sync k,
//! deleted in k+1, or the other way round). The rule does not depend on which:
//!
//! 1. a provisional tombstone is matched against **the server's live rows** of its account
//!    dated within the maturation window (one `GET …/transactions?filter=date&min_date=…&
//!    max_date=…` per part that holds provisional tombstones), not against whatever rows
//!    happen to share its page: the posted row is found whether it was read before, is
//!    read later, or is not in this scan at all. The match is `powens-model`'s
//!    [`MaturationRule`] (same account and signed value, dated within the window; earliest
//!    posted row, then lowest id), one to one;
//! 2. a swap is remembered ([`Swap`], for the horizon below): the posted row, whenever it is
//!    read again, keeps its `replaces` metadata, and a second provisional cannot take it;
//! 3. a provisional tombstone with no posted row yet is kept ([`RetiringProvisional`]) and
//!    every later posted row of the account is checked against it (in any later part or
//!    sync). At the end of the scan that first saw it, it is emitted as `PaymentToCancel`
//!    (a provisional never silently disappears, and a downstream ledger does not keep a
//!    payment pending that Powens has deleted); a posted row found later within the horizon
//!    still swaps it (`PaymentToDelete` supersedes the cancel);
//! 4. the **horizon**: a kept provisional and a remembered swap are forgotten once the
//!    observed server time is past their pending date + the window + 2 days, when no posted
//!    row can match them any more.
//!
//! **A posted amount different from the pending one** (a card hold released at another
//! amount) does not match: Powens gives no link between the two rows, and matching on
//! anything looser than the exact value would swap unrelated payments of the same shop. The
//! provisional is cancelled and the posted row stands as a payment of its own; the decision is
//! in `docs/DECISIONS.md`.

use std::cmp::Ordering;
use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use connector_core::contract::PaymentChange;
use connector_core::model::{Payment, PaymentStatus, PaymentToCancel, PaymentToDelete};
use connector_core::money::Amount;
use powens_model::keys;
use powens_model::maturation::{posted_order, provisional_order, MaturationRule};
use powens_model::payment::Tombstone;
use serde::{Deserialize, Serialize};

/// A provisional row Powens deleted, with no posted row found to replace it yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RetiringProvisional {
    /// The provisional reference.
    pub reference: String,
    /// Its account's reference.
    pub account_reference: String,
    /// Its signed value in minor units.
    pub value: Amount,
    /// Its pending date.
    pub date: NaiveDate,
    /// When Powens deleted it.
    pub deleted_at: DateTime<Utc>,
    /// Whether its `PaymentToCancel` was emitted (at the end of the scan that saw it).
    #[serde(default)]
    pub cancelled: bool,
}

impl RetiringProvisional {
    fn from_tombstone(t: &Tombstone) -> Self {
        RetiringProvisional {
            reference: t.reference.clone(),
            account_reference: t.account_reference.clone(),
            value: t.value,
            date: t.date,
            deleted_at: t.deleted_at,
            cancelled: false,
        }
    }

    fn to_tombstone(&self) -> Tombstone {
        Tombstone {
            reference: self.reference.clone(),
            account_reference: self.account_reference.clone(),
            value: self.value,
            date: self.date,
            was_pending: true,
            deleted_at: self.deleted_at,
        }
    }
}

/// A provisional reference swapped for a posted one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Swap {
    /// The provisional (deleted) reference.
    pub provisional: String,
    /// The posted reference that replaces it.
    pub posted: String,
    /// The provisional's pending date (for the horizon).
    pub date: NaiveDate,
}

/// What the retirement of provisionals keeps between parts, pages and syncs (part of
/// [`super::PaymentsState`]).
#[derive(Debug)]
pub(crate) struct Retirements<'a> {
    pub(crate) retiring: &'a mut Vec<RetiringProvisional>,
    pub(crate) swapped: &'a mut Vec<Swap>,
}

/// The changes of one part, and the provisional tombstones to look up on the server.
#[derive(Debug, Default)]
pub(crate) struct Settled {
    /// Payments (annotated), then deletes, then cancels.
    pub(crate) changes: Vec<PaymentChange>,
    /// Provisional tombstones of the part not swapped yet: match them with
    /// [`Retirements::settle_lookup`] against the server's rows.
    pub(crate) lookups: Vec<Tombstone>,
}

fn annotate(payment: &mut Payment, provisional: &str) {
    payment
        .metadata
        .insert(keys::REPLACES.to_owned(), provisional.to_owned());
}

fn delete(reference: &str) -> PaymentChange {
    PaymentChange::Delete(PaymentToDelete {
        reference: reference.to_owned(),
    })
}

fn cancel(reference: &str) -> PaymentChange {
    PaymentChange::Cancel(PaymentToCancel {
        reference: reference.to_owned(),
    })
}

impl Retirements<'_> {
    fn swap_of_posted(&self, posted: &str) -> Option<&Swap> {
        self.swapped.iter().find(|s| s.posted == posted)
    }

    fn swap_of_provisional(&self, provisional: &str) -> Option<&Swap> {
        self.swapped.iter().find(|s| s.provisional == provisional)
    }

    /// Whether `payment` may still replace a provisional: posted, and its reference neither
    /// taken by a swap nor deleted (`deleted`).
    fn free(&self, payment: &Payment, deleted: &BTreeSet<&str>) -> bool {
        payment.status == PaymentStatus::Succeeded
            && self.swap_of_posted(&payment.reference).is_none()
            && !deleted.contains(payment.reference.as_str())
    }

    /// Settles one part: its `payments` (live rows, mapped) and `tombstones` (deleted rows;
    /// none in a first scan). See the module docs.
    pub(crate) fn settle_part(
        &mut self,
        mut payments: Vec<Payment>,
        tombstones: Vec<Tombstone>,
        rule: MaturationRule,
    ) -> Settled {
        let mut deletes = Vec::new();
        let mut cancels = Vec::new();
        let mut lookups = Vec::new();
        // 1. Posted rows already known to replace a provisional keep saying so.
        for payment in &mut payments {
            if let Some(swap) = self.swap_of_posted(&payment.reference) {
                let provisional = swap.provisional.clone();
                annotate(payment, &provisional);
            }
        }
        // 2. Provisionals deleted earlier take the posted rows of this part.
        let deleted: BTreeSet<&str> = tombstones.iter().map(|t| t.reference.as_str()).collect();
        let mut waiting: Vec<Tombstone> = self
            .retiring
            .iter()
            .map(RetiringProvisional::to_tombstone)
            .collect();
        waiting.sort_by(provisional_order);
        for provisional in &waiting {
            let Some(posted) = payments
                .iter_mut()
                .filter(|p| self.free(p, &deleted) && rule.accepts(provisional, p))
                .min_by(|a, b| posted_order(a, b))
            else {
                continue;
            };
            annotate(posted, &provisional.reference);
            self.swapped.push(Swap {
                provisional: provisional.reference.clone(),
                posted: posted.reference.clone(),
                date: provisional.date,
            });
            self.retiring
                .retain(|r| r.reference != provisional.reference);
            deletes.push(delete(&provisional.reference));
        }
        // 3. This part's tombstones.
        for tombstone in tombstones {
            if self.swap_of_provisional(&tombstone.reference).is_some() {
                // Read again (its `last_update` moved): the swap stands.
                deletes.push(delete(&tombstone.reference));
            } else if self
                .retiring
                .iter()
                .any(|r| r.reference == tombstone.reference)
            {
                // Already waiting for its posted row.
            } else if tombstone.was_pending {
                lookups.push(tombstone);
            } else {
                cancels.push(cancel(&tombstone.reference));
            }
        }
        let mut changes: Vec<PaymentChange> =
            payments.into_iter().map(PaymentChange::Payment).collect();
        changes.extend(deletes);
        changes.extend(cancels);
        Settled { changes, lookups }
    }

    /// Matches the provisional `tombstones` of a part against `candidates`, the server's live
    /// rows of the account dated around them: a match emits the posted payment annotated and
    /// a `PaymentToDelete`; the others are kept until a posted row comes (or the horizon).
    pub(crate) fn settle_lookup(
        &mut self,
        mut tombstones: Vec<Tombstone>,
        mut candidates: Vec<Payment>,
        rule: MaturationRule,
        changes: &mut Vec<PaymentChange>,
    ) {
        tombstones.sort_by(provisional_order);
        let deleted: BTreeSet<String> = tombstones.iter().map(|t| t.reference.clone()).collect();
        let deleted: BTreeSet<&str> = deleted.iter().map(String::as_str).collect();
        candidates.sort_by(posted_order);
        let mut deletes = Vec::new();
        for tombstone in &tombstones {
            let found = candidates
                .iter()
                .position(|p| self.free(p, &deleted) && rule.accepts(tombstone, p));
            match found {
                Some(index) => {
                    let mut posted = candidates.remove(index);
                    annotate(&mut posted, &tombstone.reference);
                    self.swapped.push(Swap {
                        provisional: tombstone.reference.clone(),
                        posted: posted.reference.clone(),
                        date: tombstone.date,
                    });
                    changes.push(PaymentChange::Payment(posted));
                    deletes.push(delete(&tombstone.reference));
                }
                None => self
                    .retiring
                    .push(RetiringProvisional::from_tombstone(tombstone)),
            }
        }
        changes.extend(deletes);
    }

    /// The end of a scan: provisionals still waiting are cancelled (once), and what is past
    /// the horizon at the server time `floor` is forgotten.
    pub(crate) fn finish_scan(
        &mut self,
        floor: Option<DateTime<Utc>>,
        rule: MaturationRule,
        changes: &mut Vec<PaymentChange>,
    ) {
        for waiting in self.retiring.iter_mut().filter(|r| !r.cancelled) {
            waiting.cancelled = true;
            changes.push(cancel(&waiting.reference));
        }
        let Some(today) = floor.map(|at| at.date_naive()) else {
            return;
        };
        let horizon = TimeDelta::days(i64::from(rule.window_days).saturating_add(2));
        let alive = |date: NaiveDate| {
            date.checked_add_signed(horizon)
                .is_none_or(|end| end.cmp(&today) != Ordering::Less)
        };
        self.retiring.retain(|r| alive(r.date));
        self.swapped.retain(|s| alive(s.date));
    }
}

/// The dates to look up for `tombstones`: from the earliest pending date − 2 days to the
/// latest + the window + 2 days (the rule's own bounds, with a day of slack on each side for
/// a `datetime` in another day than the `date`).
pub(crate) fn lookup_window(
    tombstones: &[Tombstone],
    rule: MaturationRule,
) -> Option<(NaiveDate, NaiveDate)> {
    let first = tombstones.iter().map(|t| t.date).min()?;
    let last = tombstones.iter().map(|t| t.date).max()?;
    let after = TimeDelta::days(i64::from(rule.window_days).saturating_add(2));
    Some((
        first
            .checked_sub_signed(TimeDelta::days(2))
            .unwrap_or(first),
        last.checked_add_signed(after).unwrap_or(NaiveDate::MAX),
    ))
}

/// Each change as a line (`payment 9 replaces 5`, `delete 5`, …), for tests.
#[cfg(test)]
pub(crate) fn kinds(changes: &[PaymentChange]) -> Vec<String> {
    changes
        .iter()
        .map(|c| match c {
            PaymentChange::Payment(p) => match p.metadata.get(keys::REPLACES) {
                Some(provisional) => format!("payment {} replaces {provisional}", p.reference),
                None => format!("payment {}", p.reference),
            },
            PaymentChange::Delete(d) => format!("delete {}", d.reference),
            PaymentChange::Cancel(c) => format!("cancel {}", c.reference),
            PaymentChange::ExternalAccount(a) => format!("external {}", a.reference),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use connector_core::model::{PaymentScheme, PaymentType};
    use connector_core::money::Asset;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 6, d).unwrap()
    }

    fn posted(reference: &str, minor: i128, d: u32) -> Payment {
        Payment {
            reference: reference.into(),
            parent_reference: None,
            created_at: Utc.from_utc_datetime(&day(d).and_hms_opt(0, 0, 0).unwrap()),
            payment_type: PaymentType::Payout,
            amount: Amount::from_minor(minor),
            asset: Asset::new("EUR", 2).unwrap(),
            scheme: PaymentScheme::Other,
            status: PaymentStatus::Succeeded,
            source_account_reference: Some("1".into()),
            destination_account_reference: None,
            psu_id: None,
            open_banking_connection_id: None,
            metadata: Default::default(),
            raw: serde_json::value::RawValue::NULL.to_owned().into(),
        }
    }

    fn tombstone(reference: &str, minor: i128, d: u32, was_pending: bool) -> Tombstone {
        Tombstone {
            reference: reference.into(),
            account_reference: "1".into(),
            value: Amount::from_minor(-minor),
            date: day(d),
            was_pending,
            deleted_at: DateTime::<Utc>::UNIX_EPOCH,
        }
    }

    #[derive(Default)]
    struct Book {
        retiring: Vec<RetiringProvisional>,
        swapped: Vec<Swap>,
    }

    impl Book {
        fn r(&mut self) -> Retirements<'_> {
            Retirements {
                retiring: &mut self.retiring,
                swapped: &mut self.swapped,
            }
        }
    }

    const RULE: MaturationRule = MaturationRule { window_days: 10 };

    #[test]
    fn a_provisional_tombstone_is_looked_up_and_swapped_for_the_posted_row_found() {
        let mut book = Book::default();
        let settled = book
            .r()
            .settle_part(Vec::new(), vec![tombstone("7", 1250, 16, true)], RULE);
        assert!(settled.changes.is_empty());
        let mut changes = settled.changes;
        book.r().settle_lookup(
            settled.lookups,
            vec![
                posted("95", 1250, 19),
                posted("90", 1250, 18),
                posted("91", 999, 17),
            ],
            RULE,
            &mut changes,
        );
        assert_eq!(kinds(&changes), ["payment 90 replaces 7", "delete 7"]);
        // Read again later in the scan, the posted row keeps its `replaces`.
        let settled = book
            .r()
            .settle_part(vec![posted("90", 1250, 18)], Vec::new(), RULE);
        assert_eq!(kinds(&settled.changes), ["payment 90 replaces 7"]);
    }

    #[test]
    fn a_provisional_with_no_posted_row_yet_is_cancelled_and_swapped_when_it_posts() {
        let mut book = Book::default();
        let settled = book
            .r()
            .settle_part(Vec::new(), vec![tombstone("7", 1250, 16, true)], RULE);
        let mut changes = settled.changes;
        book.r()
            .settle_lookup(settled.lookups, Vec::new(), RULE, &mut changes);
        assert!(changes.is_empty());
        book.r().finish_scan(None, RULE, &mut changes);
        assert_eq!(kinds(&changes), ["cancel 7"]);
        // The next sync: the posted row comes, the swap is made.
        let mut changes = book
            .r()
            .settle_part(vec![posted("90", 1250, 18)], Vec::new(), RULE)
            .changes;
        book.r().finish_scan(None, RULE, &mut changes);
        assert_eq!(kinds(&changes), ["payment 90 replaces 7", "delete 7"]);
        assert!(book.retiring.is_empty());
    }

    #[test]
    fn a_deleted_posted_row_is_cancelled_at_once() {
        let mut book = Book::default();
        let settled = book
            .r()
            .settle_part(Vec::new(), vec![tombstone("5", 300, 10, false)], RULE);
        assert_eq!(kinds(&settled.changes), ["cancel 5"]);
        assert!(settled.lookups.is_empty());
    }

    #[test]
    fn a_posted_row_takes_one_provisional_only() {
        let mut book = Book::default();
        let settled = book.r().settle_part(
            Vec::new(),
            vec![tombstone("8", 500, 16, true), tombstone("7", 500, 16, true)],
            RULE,
        );
        let mut changes = settled.changes;
        book.r().settle_lookup(
            settled.lookups,
            vec![posted("90", 500, 17)],
            RULE,
            &mut changes,
        );
        assert_eq!(kinds(&changes), ["payment 90 replaces 7", "delete 7"]);
        assert_eq!(book.retiring.len(), 1);
        assert_eq!(book.retiring[0].reference, "8");
        // 90 is taken: a second lookup does not give it to 8.
        let mut changes = Vec::new();
        book.r().settle_lookup(
            vec![tombstone("8", 500, 16, true)],
            vec![posted("90", 500, 17)],
            RULE,
            &mut changes,
        );
        assert!(changes.is_empty(), "{:?}", kinds(&changes));
    }

    #[test]
    fn a_posted_amount_different_from_the_pending_one_does_not_swap() {
        let mut book = Book::default();
        let mut changes = Vec::new();
        book.r().settle_lookup(
            vec![tombstone("7", 5000, 16, true)],
            vec![posted("90", 4320, 17)],
            RULE,
            &mut changes,
        );
        book.r().finish_scan(None, RULE, &mut changes);
        assert_eq!(kinds(&changes), ["cancel 7"]);
    }

    #[test]
    fn what_is_past_the_horizon_is_forgotten() {
        let mut book = Book::default();
        let mut changes = Vec::new();
        book.r().settle_lookup(
            vec![tombstone("7", 500, 1, true)],
            Vec::new(),
            RULE,
            &mut changes,
        );
        book.swapped.push(Swap {
            provisional: "3".into(),
            posted: "30".into(),
            date: day(1),
        });
        // June 13 = June 1 + 10 + 2: still kept.
        let at = |d| Some(Utc.from_utc_datetime(&day(d).and_hms_opt(12, 0, 0).unwrap()));
        book.r().finish_scan(at(13), RULE, &mut changes);
        assert_eq!((book.retiring.len(), book.swapped.len()), (1, 1));
        book.r().finish_scan(at(14), RULE, &mut changes);
        assert_eq!((book.retiring.len(), book.swapped.len()), (0, 0));
        assert_eq!(kinds(&changes), ["cancel 7"], "cancelled once");
    }

    #[test]
    fn the_lookup_window_covers_the_rule_with_a_day_of_slack() {
        let window = lookup_window(
            &[tombstone("7", 1, 16, true), tombstone("8", 1, 12, true)],
            RULE,
        );
        assert_eq!(window, Some((day(10), day(28))));
        assert_eq!(lookup_window(&[], RULE), None);
    }
}
