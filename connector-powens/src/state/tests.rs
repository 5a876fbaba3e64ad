#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::{NaiveDate, TimeZone, Utc};
use connector_core::money::Amount;
use serde_json::Value;

use super::*;

/// The states format 1 wrote, committed as they were written.
const PAYMENTS_V1: &str = include_str!("../../tests/fixtures/state/payments.v1.json");
const EXTERNAL_V1: &str = include_str!("../../tests/fixtures/state/external_accounts.v1.json");

fn at(day: u32, h: u32, m: u32) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, day, h, m, 0).unwrap()
}

fn date(day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 6, day).unwrap()
}

/// The JSON of `state` without its `format` field (what format 1 wrote for the same state).
fn without_format<T: Serialize>(state: &T) -> Value {
    let mut value = serde_json::to_value(state).unwrap();
    value.as_object_mut().unwrap().remove("format");
    value
}

#[test]
fn a_payments_state_written_by_format_1_reads_with_its_scan_link_and_retirements() {
    let state: PaymentsState = serde_json::from_str(PAYMENTS_V1).unwrap();
    let expected = PaymentsState {
        format: StateFormat,
        watermark: Watermark {
            since: Some(at(17, 5, 50)),
            scan: Some(ScanProgress {
                offset: 75,
                next_since: Some(at(18, 5, 50)),
                link: Some(PageLink {
                    href: "https://acme.biapi.pro/2.0/users/me/accounts/7/transactions?all&limit=25&offset=75".into(),
                    offset: 75,
                }),
            }),
            server_time_floor: Some(at(18, 7, 0)),
        },
        retiring: vec![RetiringProvisional {
            reference: "9001".into(),
            account_reference: "7".into(),
            value: Amount::from_minor(-1250),
            date: date(16),
            deleted_at: at(18, 6, 30),
            cancelled: false,
        }],
        swapped: vec![Swap {
            provisional: "9000".into(),
            posted: "9002".into(),
            date: date(15),
        }],
    };
    assert_eq!(state, expected);
    // Nothing of the old state is lost: written back, it differs by the format field only.
    let old: Value = serde_json::from_str(PAYMENTS_V1).unwrap();
    assert_eq!(without_format(&state), old);
}

#[test]
fn an_external_accounts_state_written_by_format_1_reads_as_it_was() {
    let state: ExternalAccountsState = serde_json::from_str(EXTERNAL_V1).unwrap();
    assert_eq!(state.watermark.since, Some(at(17, 5, 50)));
    assert_eq!(state.watermark.server_time_floor, Some(at(18, 7, 0)));
    assert_eq!(state.watermark.scan, None);
    let old: Value = serde_json::from_str(EXTERNAL_V1).unwrap();
    assert_eq!(without_format(&state), old);
}

#[test]
fn a_state_is_written_with_the_current_format_version() {
    let state: PaymentsState = serde_json::from_str(PAYMENTS_V1).unwrap();
    let written = serde_json::to_value(&state).unwrap();
    assert_eq!(written["format"], FORMAT_VERSION);
    assert_eq!(
        serde_json::to_string(&ExternalAccountsState::default()).unwrap(),
        r#"{"format":2,"watermark":{"since":null,"scan":null,"serverTimeFloor":null}}"#
    );
}

#[test]
fn a_state_of_a_newer_format_is_refused_with_the_way_out() {
    let newer = format!(r#"{{"format":{},"watermark":{{}}}}"#, FORMAT_VERSION + 1);
    let error = serde_json::from_str::<PaymentsState>(&newer).unwrap_err();
    assert_eq!(
        error.to_string(),
        "the task state has format 3, this release reads formats 1 to 2: run a newer \
         connector-powens, or reset the task state at line 1 column 11"
    );
}
