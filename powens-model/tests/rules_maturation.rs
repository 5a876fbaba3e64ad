//! Maturation: same id, new id, cancellation, matching rule. One test per rule; the name states it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;

use chrono::NaiveDate;
use connector_core::model::{Payment, PaymentStatus, Record};
use connector_core::money::Amount;
use powens_model::keys;
use powens_model::maturation::{mature, MaturationRule, ProvisionalPayment, Retirement};
use powens_model::payment::Tombstone;
use serde_json::json;

fn posted(id: i64, value: f64, date: &str) -> Payment {
    payment_of(
        &transaction(json!({"id": id, "value": value, "date": date})),
        &eur_account(),
    )
}

fn provisional(reference: &str, minor: i128, date: &str) -> ProvisionalPayment {
    ProvisionalPayment {
        reference: reference.into(),
        account_reference: "17".into(),
        value: Amount::from_minor(minor),
        pending_date: date.parse::<NaiveDate>().unwrap(),
    }
}

fn tombstone(reference: &str, minor: i128, date: &str, was_pending: bool) -> Tombstone {
    Tombstone {
        reference: reference.into(),
        account_reference: "17".into(),
        value: Amount::from_minor(minor),
        date: date.parse().unwrap(),
        was_pending,
        deleted_at: utc("2026-06-20T00:00:00Z"),
    }
}

#[test]
fn same_id_flipping_coming_is_reemitted_succeeded_under_the_same_reference() {
    let out = mature(
        &[provisional("309", -1622, "2026-06-17")],
        vec![posted(309, -16.22, "2026-06-18")],
        &[],
        MaturationRule::default(),
    );
    assert_eq!(
        out.retired,
        [Retirement::SameId {
            reference: "309".into()
        }]
    );
    let Record::Payment(payment) = &out.records[0] else {
        panic!()
    };
    assert_eq!(
        (payment.reference.as_str(), payment.status),
        ("309", PaymentStatus::Succeeded)
    );
    assert!(out.pending.is_empty());
}

#[test]
fn deleted_provisional_is_replaced_by_a_new_id_with_same_value_within_the_window() {
    let out = mature(
        &[provisional("601", -2590, "2026-06-10")],
        vec![posted(611, -25.90, "2026-06-20")],
        &[tombstone("601", -2590, "2026-06-10", true)],
        MaturationRule::default(),
    );
    let Record::Payment(payment) = &out.records[0] else {
        panic!()
    };
    assert_eq!(payment.reference, "611");
    assert_eq!(payment.metadata.get(keys::REPLACES), Some("601"));
    assert_eq!(
        out.records[1],
        Record::PaymentToDelete(connector_core::model::PaymentToDelete {
            reference: "601".into()
        })
    );
    assert_eq!(out.records.len(), 2);
}

#[test]
fn posted_row_outside_the_window_or_with_another_value_does_not_replace() {
    let rule = MaturationRule::default();
    let late = mature(
        &[],
        vec![posted(611, -25.90, "2026-06-21")],
        &[tombstone("601", -2590, "2026-06-10", true)],
        rule,
    );
    assert_eq!(
        late.retired,
        [Retirement::Cancelled {
            reference: "601".into()
        }]
    );
    let other_value = mature(
        &[],
        vec![posted(611, -25.91, "2026-06-12")],
        &[tombstone("601", -2590, "2026-06-10", true)],
        rule,
    );
    assert_eq!(
        other_value.retired,
        [Retirement::Cancelled {
            reference: "601".into()
        }]
    );
    let wider = mature(
        &[],
        vec![posted(611, -25.90, "2026-06-21")],
        &[tombstone("601", -2590, "2026-06-10", true)],
        MaturationRule { window_days: 11 },
    );
    assert!(matches!(wider.retired[0], Retirement::Replaced { .. }));
}

#[test]
fn matching_is_one_to_one_earliest_posted_date_then_lowest_id() {
    let out = mature(
        &[],
        vec![
            posted(650, -5.0, "2026-06-12"),
            posted(640, -5.0, "2026-06-12"),
            posted(630, -5.0, "2026-06-13"),
        ],
        &[
            tombstone("602", -500, "2026-06-11", true),
            tombstone("601", -500, "2026-06-11", true),
        ],
        MaturationRule::default(),
    );
    assert_eq!(
        out.retired,
        [
            Retirement::Replaced {
                provisional: "601".into(),
                posted: "640".into()
            },
            Retirement::Replaced {
                provisional: "602".into(),
                posted: "650".into()
            },
        ]
    );
}

#[test]
fn deleted_rows_that_are_not_replaced_are_cancelled() {
    let out = mature(
        &[],
        vec![],
        &[
            tombstone("701", -1999, "2026-06-02", true),
            tombstone("702", 6000, "2026-05-28", false),
        ],
        MaturationRule::default(),
    );
    assert_eq!(
        out.records,
        [
            Record::PaymentToCancel(connector_core::model::PaymentToCancel {
                reference: "701".into()
            }),
            Record::PaymentToCancel(connector_core::model::PaymentToCancel {
                reference: "702".into()
            }),
        ]
    );
}

#[test]
fn pending_rows_of_the_batch_join_the_open_provisionals() {
    let pending = payment_of(
        &transaction(json!({"id": 800, "coming": true})),
        &eur_account(),
    );
    let out = mature(
        &[provisional("700", -100, "2026-06-01")],
        vec![pending],
        &[],
        MaturationRule::default(),
    );
    let refs: Vec<_> = out.pending.iter().map(|p| p.reference.as_str()).collect();
    assert_eq!(refs, ["700", "800"]);
}
