#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Counterparties delivered by a payments page (`PaymentChange::ExternalAccount`): checked,
//! typed EXTERNAL by the engine, delivered in page order with the page's state commit.

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use connector_core::contract::*;
use connector_core::model::*;
use connector_core::money::{Amount, Asset};
use connector_core::state::{MemoryStateStore, StateKey, StateStore};
use connector_core::testing::RecordingSink;
use connector_core::{Connector, ConnectorError, Engine};
use futures::future::{self, BoxFuture};
use futures::{FutureExt, StreamExt};
use serde_json::json;
use tokio_util::sync::CancellationToken;

/// One payments page: a counterparty (its type left INTERNAL by mistake) and a payment to it.
struct Bank {
    counterparty_reference: &'static str,
}

fn counterparty(reference: &str) -> Account {
    Account {
        reference: reference.into(),
        created_at: Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap(),
        account_type: AccountType::Internal,
        name: Some("ACME".into()),
        default_asset: None,
        psu_id: None,
        open_banking_connection_id: None,
        metadata: Metadata::new(),
        raw: serde_json::value::to_raw_value(&json!({"label": "ACME"}))
            .unwrap()
            .into(),
    }
}

fn payment_to(reference: &str) -> Payment {
    Payment {
        reference: "pay-1".into(),
        parent_reference: None,
        created_at: Utc.with_ymd_and_hms(2026, 6, 2, 0, 0, 0).unwrap(),
        payment_type: PaymentType::Payout,
        amount: Amount::from_minor(1250),
        asset: Asset::new("EUR", 2).unwrap(),
        scheme: PaymentScheme::Other,
        status: PaymentStatus::Succeeded,
        source_account_reference: Some("acc-1".into()),
        destination_account_reference: Some(reference.into()),
        psu_id: None,
        open_banking_connection_id: None,
        metadata: Metadata::new(),
        raw: serde_json::value::to_raw_value(&json!({"id": 1}))
            .unwrap()
            .into(),
    }
}

impl PaymentsFetcher for Bank {
    fn fetch_payments(&self, _request: FetchRequest) -> PageStream<'_, PaymentChange> {
        let items = vec![
            PaymentChange::ExternalAccount(counterparty(self.counterparty_reference)),
            PaymentChange::Payment(payment_to(self.counterparty_reference)),
        ];
        futures::stream::iter([FetchPage::new(items, &json!({"offset": 2}), false)]).boxed()
    }
}

impl Connector for Bank {
    fn name(&self) -> &str {
        "bank"
    }

    fn capabilities(&self) -> &[Capability] {
        &[Capability::FetchPayments]
    }

    fn install(&self) -> Result<TaskTree, ConnectorError> {
        Ok(TaskTree(vec![TaskNode::new(
            TaskType::FetchPayments,
            "fetch_payments",
            true,
        )]))
    }

    fn uninstall(&self, _request: UninstallRequest) -> BoxFuture<'_, Result<(), ConnectorError>> {
        future::ready(Ok(())).boxed()
    }

    fn payments_fetcher(&self) -> Option<&dyn PaymentsFetcher> {
        Some(self)
    }
}

async fn run(bank: Bank) -> (Vec<Record>, Option<serde_json::Value>, u64) {
    let sink = Arc::new(RecordingSink::default());
    let store = Arc::new(MemoryStateStore::new());
    let engine = Engine::new(
        Arc::new(bank),
        store.clone(),
        sink.clone(),
        Default::default(),
    )
    .unwrap();
    let summary = engine.run_once(&CancellationToken::new()).await.unwrap();
    let state = store
        .get(&StateKey::new(Capability::FetchPayments))
        .await
        .unwrap()
        .map(|v| v.value);
    let records = sink.take();
    (records, state, summary.tasks_failed)
}

#[tokio::test]
async fn a_counterparty_of_a_payments_page_is_delivered_as_an_external_account_in_page_order() {
    let (records, state, failed) = run(Bank {
        counterparty_reference: "cp-acme",
    })
    .await;
    assert_eq!(failed, 0);
    let kinds: Vec<(&str, &str)> = records
        .iter()
        .map(|r| match r {
            Record::ExternalAccount(a) => (r.kind(), a.reference.as_str()),
            Record::Payment(p) => (r.kind(), p.reference.as_str()),
            other => (other.kind(), ""),
        })
        .collect();
    assert_eq!(
        kinds,
        vec![("external_account", "cp-acme"), ("payment", "pay-1")]
    );
    let Record::ExternalAccount(account) = &records[0] else {
        panic!("{:?}", records[0]);
    };
    assert_eq!(
        account.account_type,
        AccountType::External,
        "the engine decides the type"
    );
    assert_eq!(state, Some(json!({"offset": 2})), "committed with the page");
}

#[tokio::test]
async fn a_counterparty_without_reference_fails_the_task_without_delivering_the_page() {
    let (records, state, failed) = run(Bank {
        counterparty_reference: "",
    })
    .await;
    assert_eq!(failed, 1);
    assert!(records.is_empty(), "{records:?}");
    assert_eq!(state, None);
}
