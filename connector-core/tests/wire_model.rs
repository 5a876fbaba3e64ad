#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The JSON wire form of the model: exact strings, field names and field order.

use std::collections::BTreeMap;

use chrono::{TimeZone, Utc};
use connector_core::model::*;
use connector_core::money::{Amount, Asset};
use serde_json::json;

fn at(h: u32) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 3, 1, h, 30, 0).unwrap()
}

/// A `raw` payload: the provider's JSON text, kept verbatim.
fn raw(text: &str) -> RawJson {
    RawJson::from_string(text.to_owned()).unwrap()
}

fn account(account_type: AccountType) -> Account {
    Account {
        reference: "1042".into(),
        created_at: at(8),
        account_type,
        name: Some("Compte courant".into()),
        default_asset: Some(Asset::new("EUR", 2).unwrap()),
        psu_id: Some("psu-7".into()),
        open_banking_connection_id: Some("77".into()),
        metadata: Metadata::from([
            ("com.example.spec/iban", "FR7630006000011234567890189"),
            ("com.example.spec/account_id", "1042"),
        ]),
        raw: raw(r#"{"id":1042,"balance":1234.56,"currency":{"id":"EUR"}}"#),
    }
}

fn payment() -> Payment {
    Payment {
        reference: "900001".into(),
        parent_reference: None,
        created_at: at(0),
        payment_type: PaymentType::Payout,
        amount: Amount::from_minor(1250),
        asset: Asset::new("EUR", 2).unwrap(),
        scheme: PaymentScheme::Other,
        status: PaymentStatus::Pending,
        source_account_reference: Some("1042".into()),
        destination_account_reference: None,
        psu_id: Some("psu-7".into()),
        open_banking_connection_id: Some("77".into()),
        metadata: Metadata::from([("com.example.spec/description", "CB CAFE")]),
        raw: raw(r#"{"id": 900001, "value": -12.50, "coming": true}"#),
    }
}

fn balance() -> Balance {
    Balance {
        account_reference: "1042".into(),
        created_at: at(9),
        amount: Amount::from_minor(123456),
        available_amount: Some(Amount::from_minor(122206)),
        asset: Asset::new("EUR", 2).unwrap(),
        psu_id: None,
        open_banking_connection_id: None,
    }
}

fn every_record() -> Vec<Record> {
    vec![
        Record::Account(account(AccountType::Internal)),
        Record::ExternalAccount(Account {
            name: None,
            default_asset: None,
            ..account(AccountType::External)
        }),
        Record::Balance(balance()),
        Record::Payment(payment()),
        Record::PaymentToDelete(PaymentToDelete {
            reference: "899999".into(),
        }),
        Record::PaymentToCancel(PaymentToCancel {
            reference: "899998".into(),
        }),
        Record::UserDisconnected(UserDisconnected {
            psu_id: None,
            psp_user_id: "31".into(),
        }),
        Record::UserConnectionPendingDisconnect(UserConnectionPendingDisconnect {
            psu_id: None,
            connection_id: "77".into(),
            at: at(12),
            reason: Some("consent expires".into()),
        }),
        Record::UserConnectionDisconnected(UserConnectionDisconnected {
            psu_id: None,
            psp_user_id: None,
            connection_id: "77".into(),
            at: at(13),
            error_type: ConnectionDisconnectedErrorType::UserActionNeeded,
            reason: Some("SCA required".into()),
        }),
        Record::UserConnectionReconnected(UserConnectionReconnected {
            psu_id: None,
            psp_user_id: "31".into(),
            connection_id: "77".into(),
            at: at(14),
        }),
    ]
}

#[test]
fn account_record_wire_form() {
    insta::assert_snapshot!(pretty(&Record::Account(account(AccountType::Internal))));
}

#[test]
fn payment_record_wire_form() {
    insta::assert_snapshot!(pretty(&Record::Payment(payment())));
}

#[test]
fn balance_record_wire_form() {
    insta::assert_snapshot!(pretty(&Record::Balance(balance())));
}

#[test]
fn every_record_kind_wire_form() {
    let lines: Vec<String> = every_record()
        .iter()
        .map(|r| serde_json::to_string(r).unwrap())
        .collect();
    insta::assert_snapshot!(lines.join("\n"));
}

#[test]
fn records_round_trip_through_json_lines_with_exact_numbers() {
    for record in every_record() {
        let line = serde_json::to_string(&record).unwrap();
        let back: Record = serde_json::from_str(&line).unwrap();
        assert_eq!(back, record, "{line}");
        assert!(
            line.starts_with(&format!("{{\"kind\":\"{}\"", record.kind())),
            "{line}"
        );
    }
}

#[test]
fn raw_payload_numbers_keep_every_digit() {
    let mut p = payment();
    p.raw = raw(r#"{"value": -12.500000000000000000001, "z": 1, "a": 1.10}"#);
    let line = serde_json::to_string(&Record::Payment(p)).unwrap();
    assert!(
        line.ends_with(r#","raw":{"value": -12.500000000000000000001, "z": 1, "a": 1.10}}"#),
        "{line}"
    );
    let Record::Payment(back) = serde_json::from_str(&line).unwrap() else {
        panic!("not a payment: {line}");
    };
    assert_eq!(
        back.raw.get(),
        r#"{"value": -12.500000000000000000001, "z": 1, "a": 1.10}"#
    );
}

#[test]
fn multi_line_raw_payload_is_written_on_the_record_line_without_its_line_breaks() {
    let mut p = payment();
    p.raw = raw("{\n  \"wording\": \"CB  CAFE\\n\",\n  \"value\": -12.50\n}");
    let line = serde_json::to_string(&Record::Payment(p)).unwrap();
    assert!(!line.contains('\n'), "{line}");
    assert!(
        line.ends_with(r#","raw":{"wording":"CB  CAFE\n","value":-12.50}}"#),
        "{line}"
    );
}

#[test]
fn record_with_unknown_kind_or_bad_enum_is_refused_with_the_reason() {
    let err = serde_json::from_str::<Record>(r#"{"kind":"transfer"}"#).unwrap_err();
    assert!(
        err.to_string().contains("unknown variant `transfer`"),
        "{err}"
    );
    let mut value = serde_json::to_value(Record::Payment(payment())).unwrap();
    value["type"] = json!("PAYIN");
    let err = serde_json::from_value::<Record>(value).unwrap_err();
    assert!(
        err.to_string()
            .contains("unknown PaymentType value \"PAYIN\""),
        "{err}"
    );
}

#[test]
fn record_amount_must_be_an_integer() {
    let mut value = serde_json::to_value(Record::Payment(payment())).unwrap();
    value["amount"] = serde_json::from_str("12.5").unwrap();
    assert!(serde_json::from_value::<Record>(value).is_err());
}

/// Pretty JSON through serde_json itself: insta's own JSON writer would show
/// `arbitrary_precision` numbers as their internal map.
fn pretty<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string_pretty(value).unwrap()
}

fn strings<T: std::fmt::Display>(all: &[T]) -> Vec<String> {
    all.iter().map(ToString::to_string).collect()
}

#[test]
fn enum_wire_strings() {
    let all = BTreeMap::from([
        ("Capability", strings(Capability::ALL)),
        ("TaskType", strings(TaskType::ALL)),
        ("AccountType", strings(AccountType::ALL)),
        ("PaymentType", strings(PaymentType::ALL)),
        ("PaymentStatus", strings(PaymentStatus::ALL)),
        ("PaymentScheme", strings(PaymentScheme::ALL)),
        (
            "ConnectionDisconnectedErrorType",
            strings(ConnectionDisconnectedErrorType::ALL),
        ),
        ("ConnectionStatus", strings(ConnectionStatus::ALL)),
        ("AttemptStatus", strings(AttemptStatus::ALL)),
        ("DataToFetch", strings(DataToFetch::ALL)),
    ]);
    insta::assert_snapshot!(pretty(&all));
}

#[test]
fn enum_strings_round_trip_through_serde() {
    for s in PaymentStatus::ALL {
        let json = serde_json::to_string(s).unwrap();
        assert_eq!(&serde_json::from_str::<PaymentStatus>(&json).unwrap(), s);
    }
    assert_eq!(
        serde_json::to_string(&PaymentType::PayIn).unwrap(),
        "\"PAY-IN\""
    );
    assert_eq!(
        serde_json::to_string(&PaymentStatus::AmountAdjustment).unwrap(),
        "\"AMOUNT_ADJUSTEMENT\""
    );
    assert!(serde_json::from_str::<PaymentStatus>("\"AMOUNT_ADJUSTMENT\"").is_err());
    assert_eq!(
        TaskType::FetchPayments.capability(),
        Capability::FetchPayments
    );
}

#[test]
fn open_banking_events_wire_form() {
    let finished = UserLinkSessionFinished {
        attempt_id: "att-1".into(),
        status: AttemptStatus::Exited,
        error: Some("access_denied".into()),
    };
    let ready = DataReadyToFetch {
        psu_id: Some("psu-7".into()),
        connection_id: Some("77".into()),
        from_payload: json!({"id_connection": 77}),
        data_to_fetch: vec![DataToFetch::AccountsAndBalances, DataToFetch::Payments],
    };
    insta::assert_snapshot!(pretty(&(finished, ready)));
}
