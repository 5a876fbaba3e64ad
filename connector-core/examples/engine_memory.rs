//! Streams N payments (default 1,000,000) through the engine from a fake in-memory
//! connector into a JSON-lines file, with a file state store, and prints throughput and
//! peak memory (Linux `VmHWM`). Shows that memory does not grow with history.
//!
//! `cargo run -p connector-core --release --example engine_memory -- 1000000`

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use chrono::{TimeZone, Utc};
use connector_core::contract::*;
use connector_core::engine::EngineConfig;
use connector_core::model::*;
use connector_core::money::{Amount, Asset};
use connector_core::openbanking::ForwardedUser;
use connector_core::sink::JsonLinesSink;
use connector_core::state::FileStateStore;
use connector_core::{Connector, ConnectorError, Engine};
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};
use serde_json::json;

const PSUS: u64 = 10;
const ACCOUNTS: u64 = 10;

struct Synthetic {
    payments_per_account: u64,
}

#[derive(Default, serde::Serialize, serde::Deserialize)]
struct Offset {
    offset: u64,
}

impl AccountsFetcher for Synthetic {
    fn fetch_accounts(&self, request: FetchRequest) -> PageStream<'_, Account> {
        async_stream::try_stream! {
            let psu = request.require_psu()?.psu_id.clone();
            let items = (0..ACCOUNTS).map(|i| Account {
                reference: format!("{psu}-{i}"),
                created_at: Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap(),
                account_type: AccountType::Internal,
                name: None,
                default_asset: Some(Asset::new("EUR", 2).unwrap()),
                psu_id: Some(psu.clone()),
                open_banking_connection_id: None,
                metadata: Metadata::new(),
                raw: serde_json::value::to_raw_value(&json!({"id": i})).unwrap().into(),
            }).collect();
            yield FetchPage { items, new_state: serde_json::Value::Null, has_more: false, skipped: Vec::new() };
        }
        .boxed()
    }
}

impl PaymentsFetcher for Synthetic {
    fn fetch_payments(&self, request: FetchRequest) -> PageStream<'_, PaymentChange> {
        async_stream::try_stream! {
            let account = request.parent_account()?;
            let mut state: Offset = request.state()?;
            let asset = Asset::new("EUR", 2).unwrap();
            while state.offset < self.payments_per_account {
                let end = (state.offset + u64::from(request.page_size.get())).min(self.payments_per_account);
                let items = (state.offset..end).map(|i| PaymentChange::Payment(Payment {
                    reference: format!("{}-{i}", account.reference),
                    parent_reference: None,
                    created_at: Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap() + chrono::Duration::seconds(i as i64),
                    payment_type: PaymentType::PayIn,
                    amount: Amount::from_minor(i128::from(i % 100_000)),
                    asset: asset.clone(),
                    scheme: PaymentScheme::Other,
                    status: PaymentStatus::Succeeded,
                    source_account_reference: None,
                    destination_account_reference: Some(account.reference.clone()),
                    psu_id: account.psu_id.clone(),
                    open_banking_connection_id: None,
                    metadata: Metadata::from([("com.example.spec/description".to_owned(), "CARTE X1234 SUPERMARCHE".to_owned())]),
                    raw: serde_json::value::to_raw_value(&json!({"id": i, "value": 12.34, "wording": "CARTE X1234 SUPERMARCHE", "coming": false})).unwrap().into(),
                })).collect();
                state.offset = end;
                yield FetchPage::new(items, &state, end < self.payments_per_account)?;
            }
        }
        .boxed()
    }
}

impl Connector for Synthetic {
    fn name(&self) -> &str {
        "synthetic"
    }
    fn capabilities(&self) -> &[Capability] {
        &[Capability::FetchAccounts, Capability::FetchPayments]
    }
    fn install(&self) -> Result<TaskTree, ConnectorError> {
        Ok(TaskTree(vec![TaskNode::new(
            TaskType::FetchAccounts,
            "fetch_accounts",
            true,
        )
        .then(TaskNode::new(
            TaskType::FetchPayments,
            "fetch_payments",
            true,
        ))]))
    }
    fn uninstall(&self, _: UninstallRequest) -> BoxFuture<'_, Result<(), ConnectorError>> {
        futures::future::ready(Ok(())).boxed()
    }
    fn accounts_fetcher(&self) -> Option<&dyn AccountsFetcher> {
        Some(self)
    }
    fn payments_fetcher(&self) -> Option<&dyn PaymentsFetcher> {
        Some(self)
    }
}

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let total: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let per_account = total / (PSUS * ACCOUNTS);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("records.jsonl");
    let psus: Vec<Arc<ForwardedUser>> = (0..PSUS)
        .map(|i| {
            Arc::new(ForwardedUser {
                psu_id: format!("psu-{i}"),
                connector_id: "synthetic".into(),
                access_token: None,
                psp_user_id: None,
                metadata: BTreeMap::new(),
            })
        })
        .collect();
    let engine = Engine::new(
        Arc::new(Synthetic {
            payments_per_account: per_account,
        }),
        Arc::new(FileStateStore::open(dir.path().join("state")).unwrap()),
        Arc::new(JsonLinesSink::append(&out).await.unwrap()),
        EngineConfig {
            page_size: 1000.try_into().unwrap(),
            ..EngineConfig::default()
        },
    )
    .unwrap()
    .with_psus(psus);
    let before = peak_rss_kib();
    let start = Instant::now();
    let summary = engine.run_once(&Default::default()).await.unwrap();
    let elapsed = start.elapsed();
    let bytes = std::fs::metadata(&out).unwrap().len();
    println!(
        "records: {} ({} payments) in {:.2?} = {:.0} records/s; output {:.1} MiB; pages {}",
        summary.records,
        per_account * PSUS * ACCOUNTS,
        elapsed,
        summary.records as f64 / elapsed.as_secs_f64(),
        bytes as f64 / 1048576.0,
        summary.pages
    );
    println!(
        "peak RSS: {:.1} MiB (before the run: {:.1} MiB)",
        peak_rss_kib().unwrap_or(0) as f64 / 1024.0,
        before.unwrap_or(0) as f64 / 1024.0
    );
}
