//! Helpers shared by the rule tests: a mapping context and Powens payload builders.
#![allow(
    dead_code,
    unused_imports,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use connector_core::model::{
    ConnectionDisconnectedErrorType, Payment, PaymentScheme, PaymentStatus, PaymentType, Record,
};
use connector_core::money::{Amount, Asset};
use powens_api::accounts::BankAccount;
use powens_api::connections::Connection;
use powens_api::transactions::Transaction;
use powens_api::wire::PowensDateTime;
use powens_model::connection::{
    connection_health, disconnected, pending_disconnect, ConnectionHealth,
};
use powens_model::counterparty::counterparty_reference;
use powens_model::maturation::{mature, MaturationRule, ProvisionalPayment, Retirement};
use powens_model::payment::{map_transaction, Tombstone, TransactionOutcome};
use powens_model::{
    account, keys, money, page, time, AccountBook, AccountContext, MappingContext, SkipReason,
};
use serde_json::json;

pub fn utc(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

pub fn ctx() -> MappingContext {
    MappingContext::new(utc("2026-06-01T00:00:00Z")).with_psu_id("psu-1")
}

pub fn bank_account(extra: serde_json::Value) -> BankAccount {
    let mut base = json!({"id": 17, "id_connection": 7, "original_name": "Compte chèque",
        "currency": {"id": "EUR", "precision": 2}, "last_update": "2026-06-18 06:12:45"});
    for (k, v) in extra.as_object().unwrap() {
        base[k] = v.clone();
    }
    serde_json::from_slice(&serde_json::to_vec(&base).unwrap()).unwrap()
}

pub fn eur_account() -> AccountContext {
    let mut account = AccountContext::new(17, Asset::new("EUR", 2).unwrap());
    account.connection_id = Some("7".into());
    account
}

pub fn transaction(extra: serde_json::Value) -> Transaction {
    let mut base = json!({"id": 309, "id_account": 17, "date": "2026-06-18", "value": -16.22,
        "type": "card", "coming": false});
    for (k, v) in extra.as_object().unwrap() {
        base[k] = v.clone();
    }
    serde_json::from_slice(&serde_json::to_vec(&base).unwrap()).unwrap()
}

pub fn payment_of(tx: &Transaction, account: &AccountContext) -> Payment {
    match map_transaction(tx, account, &ctx()).unwrap() {
        TransactionOutcome::Payment { payment, .. } => *payment,
        other => panic!("expected a payment, got {other:?}"),
    }
}

pub fn naive(text: &str) -> PowensDateTime {
    PowensDateTime::parse(text).unwrap()
}
