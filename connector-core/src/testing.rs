//! Test doubles for the engine (feature `testing`): a fake bank connector, a recording sink
//! and a recording clock, shared by the tests of this workspace instead of a copy per test
//! file. Everything is kept in memory; nothing here is meant for production.
//!
//! ```
//! use std::sync::Arc;
//! use connector_core::engine::{Engine, EngineConfig};
//! use connector_core::state::MemoryStateStore;
//! use connector_core::testing::{FakeBank, RecordingSink};
//! use tokio_util::sync::CancellationToken;
//!
//! # tokio::runtime::Runtime::new()?.block_on(async {
//! let bank = Arc::new(FakeBank::new(2, 3));
//! let sink = Arc::new(RecordingSink::default());
//! let store = Arc::new(MemoryStateStore::new());
//! let engine = Engine::new(bank.clone(), store, sink.clone(), EngineConfig::default())?
//!     .with_psus(vec![FakeBank::psu("alice")]);
//! engine.run_once(&CancellationToken::new()).await?;
//! // 2 accounts, their 2 balances and 2 × 3 payments.
//! assert_eq!(sink.records().len(), 10);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use futures::future::{self, BoxFuture};
use futures::{FutureExt, StreamExt};
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::contract::{
    AccountsFetcher, BalancesFetcher, ExternalAccountsFetcher, FetchPage, FetchRequest, PageStream,
    PaymentChange, PaymentsFetcher, TaskTree, UninstallRequest,
};
use crate::model::{
    Account, AccountType, Balance, Capability, Metadata, Payment, PaymentScheme, PaymentStatus,
    PaymentType, RawJson, Record, TaskType,
};
use crate::money::{Amount, Asset};
use crate::openbanking::ForwardedUser;
use crate::sink::{Sink, SinkError};
use crate::{Connector, ConnectorError};

/// The instant every record of [`FakeBank`] is dated from: 2024-01-01T00:00:00Z.
pub fn t0() -> DateTime<Utc> {
    DateTime::UNIX_EPOCH + TimeDelta::seconds(1_704_067_200)
}

fn eur() -> Result<Asset, ConnectorError> {
    Asset::new("EUR", 2).map_err(|e| ConnectorError::Other {
        message: format!("EUR/2 is not an asset: {e}"),
        source: None,
    })
}

/// How many fetches run at once, and the most that ever did.
#[derive(Debug, Default)]
pub struct InFlight {
    now: AtomicUsize,
    max: AtomicUsize,
}

/// One fetch in flight, until dropped.
#[derive(Debug)]
pub struct InFlightGuard<'a>(&'a InFlight);

impl InFlight {
    /// Counts one more fetch in flight.
    pub fn enter(&self) -> InFlightGuard<'_> {
        let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.max.fetch_max(now, Ordering::SeqCst);
        InFlightGuard(self)
    }

    /// The most fetches that were ever in flight at once.
    pub fn max(&self) -> usize {
        self.max.load(Ordering::SeqCst)
    }
}

impl Drop for InFlightGuard<'_> {
    fn drop(&mut self) {
        self.0.now.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The offset cursor the fake bank keeps as its task state.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Offset {
    offset: u64,
}

/// A fake bank: every PSU has `accounts_per_psu` accounts, each with `payments_per_account`
/// payments, fetched in pages of the requested size with offset cursors. The other fields
/// inject failures.
#[derive(Debug, Default)]
pub struct FakeBank {
    /// Emit payments with a negative amount (a mapping bug the engine must refuse).
    pub signed_amounts: bool,
    /// Accounts of each PSU.
    pub accounts_per_psu: u64,
    /// Payments of each account.
    pub payments_per_account: u64,
    /// Keep `FETCH_EXTERNAL_ACCOUNTS` in the tree (one counterparty per PSU).
    pub external_accounts: bool,
    /// Counts the accounts fetches in flight (see [`InFlight::max`]).
    pub in_flight: InFlight,
    /// Fail the payments fetch once, retryably (a 503), when it reaches this offset.
    pub fail_payments_once_at: Option<u64>,
    /// Whether that failure happened.
    pub failed_once: AtomicBool,
    /// Fail the accounts fetch of this PSU permanently (a 403).
    pub forbidden_psu: Option<String>,
    /// After the first payments page, notify this and block forever.
    pub block_after_first_payments_page: Option<Arc<Notify>>,
}

impl FakeBank {
    /// A bank of `accounts_per_psu` accounts of `payments_per_account` payments each.
    pub fn new(accounts_per_psu: u64, payments_per_account: u64) -> Self {
        FakeBank {
            accounts_per_psu,
            payments_per_account,
            ..FakeBank::default()
        }
    }

    /// A PSU of this bank named `id` (its provider user is `user-of-<id>`).
    pub fn psu(id: &str) -> Arc<ForwardedUser> {
        Arc::new(ForwardedUser {
            psu_id: id.into(),
            connector_id: "bank".into(),
            access_token: None,
            psp_user_id: Some(format!("user-of-{id}")),
            metadata: BTreeMap::new(),
        })
    }

    /// `n` PSUs, `psu-0` to `psu-<n-1>`.
    pub fn psus(n: usize) -> Vec<Arc<ForwardedUser>> {
        (0..n).map(|i| Self::psu(&format!("psu-{i}"))).collect()
    }

    /// Account `i` of `psu`.
    pub fn account(&self, psu: &str, i: u64) -> Account {
        Account {
            reference: format!("{psu}-acc-{i}"),
            created_at: t0(),
            account_type: AccountType::Unknown, // the engine sets it from the task
            name: Some(format!("Account {i}")),
            default_asset: eur().ok(),
            psu_id: Some(psu.into()),
            open_banking_connection_id: Some("conn-1".into()),
            metadata: Metadata::new(),
            raw: RawJson::from_string(format!(r#"{{"id":{i},"balance":100.25}}"#))
                .unwrap_or_default(),
        }
    }

    /// Payment `i` of `account`.
    pub fn payment(account: &Account, i: u64) -> Result<Payment, ConnectorError> {
        Ok(Payment {
            reference: format!("{}-pay-{i}", account.reference),
            parent_reference: None,
            created_at: t0() + TimeDelta::minutes(i64::try_from(i).unwrap_or(i64::MAX)),
            payment_type: PaymentType::PayIn,
            amount: Amount::from_minor(i128::from(i) + 1),
            asset: eur()?,
            scheme: PaymentScheme::Other,
            status: PaymentStatus::Succeeded,
            source_account_reference: None,
            destination_account_reference: Some(account.reference.clone()),
            psu_id: account.psu_id.clone(),
            open_banking_connection_id: None,
            metadata: Metadata::new(),
            raw: RawJson::from_string(format!(r#"{{"id":{i}}}"#)).unwrap_or_default(),
        })
    }

    /// Every record one full cycle over `psus` must deliver, as `kind:reference`.
    pub fn expected(&self, psus: &[Arc<ForwardedUser>]) -> BTreeSet<String> {
        let mut all = BTreeSet::new();
        for p in psus {
            for a in 0..self.accounts_per_psu {
                let account = self.account(&p.psu_id, a);
                all.insert(format!("account:{}", account.reference));
                all.insert(format!("balance:{}", account.reference));
                for i in 0..self.payments_per_account {
                    all.insert(format!("payment:{}-pay-{i}", account.reference));
                }
            }
            if self.external_accounts {
                all.insert(format!("external_account:{}-counterparty", p.psu_id));
            }
        }
        all
    }
}

impl AccountsFetcher for FakeBank {
    fn fetch_accounts(&self, request: FetchRequest) -> PageStream<'_, Account> {
        async_stream::try_stream! {
            let psu = request.require_psu()?.psu_id.clone();
            if self.forbidden_psu.as_deref() == Some(psu.as_str()) {
                Err(ConnectorError::from_http_status(403, "forbidden", None))?;
            }
            let _guard = self.in_flight.enter();
            let mut state: Offset = request.state()?;
            loop {
                tokio::task::yield_now().await;
                let end = (state.offset + u64::from(request.page_size.get())).min(self.accounts_per_psu);
                let items = (state.offset..end).map(|i| self.account(&psu, i)).collect();
                let has_more = end < self.accounts_per_psu;
                state.offset = end;
                // The account list is re-read every cycle: reset the cursor after the last page.
                if has_more {
                    yield FetchPage::new(items, &state, true)?;
                } else {
                    yield FetchPage { items, new_state: serde_json::Value::Null, has_more: false, skipped: Vec::new() };
                    break;
                }
            }
        }
        .boxed()
    }
}

impl ExternalAccountsFetcher for FakeBank {
    fn fetch_external_accounts(&self, request: FetchRequest) -> PageStream<'_, Account> {
        async_stream::try_stream! {
            let psu = request.require_psu()?.psu_id.clone();
            let mut account = self.account(&psu, 0);
            account.reference = format!("{psu}-counterparty");
            yield FetchPage { items: vec![account], new_state: serde_json::Value::Null, has_more: false, skipped: Vec::new() };
        }
        .boxed()
    }
}

impl BalancesFetcher for FakeBank {
    fn fetch_balances(&self, request: FetchRequest) -> PageStream<'_, Balance> {
        async_stream::try_stream! {
            let account = request.parent_account()?;
            let balance = Balance {
                account_reference: account.reference.clone(),
                created_at: t0(),
                amount: Amount::from_minor(10025),
                available_amount: None,
                asset: eur()?,
                psu_id: account.psu_id.clone(),
                open_banking_connection_id: None,
            };
            yield FetchPage { items: vec![balance], new_state: serde_json::Value::Null, has_more: false, skipped: Vec::new() };
        }
        .boxed()
    }
}

impl PaymentsFetcher for FakeBank {
    fn fetch_payments(&self, request: FetchRequest) -> PageStream<'_, PaymentChange> {
        async_stream::try_stream! {
            let account = request.parent_account()?;
            let mut state: Offset = request.state()?;
            let mut first = true;
            while state.offset < self.payments_per_account {
                tokio::task::yield_now().await;
                if !first {
                    if let Some(blocked) = &self.block_after_first_payments_page {
                        blocked.notify_one();
                        future::pending::<()>().await;
                    }
                }
                first = false;
                if Some(state.offset) == self.fail_payments_once_at
                    && !self.failed_once.swap(true, Ordering::SeqCst)
                {
                    Err(ConnectorError::from_http_status(503, "maintenance", None))?;
                }
                let end = (state.offset + u64::from(request.page_size.get())).min(self.payments_per_account);
                let mut items = Vec::new();
                for i in state.offset..end {
                    let mut p = FakeBank::payment(&account, i)?;
                    if self.signed_amounts {
                        p.amount = Amount::from_minor(-p.amount.minor());
                    }
                    items.push(PaymentChange::Payment(p));
                }
                state.offset = end;
                yield FetchPage::new(items, &state, end < self.payments_per_account)?;
            }
        }
        .boxed()
    }
}

impl Connector for FakeBank {
    fn name(&self) -> &str {
        "bank"
    }

    fn capabilities(&self) -> &[Capability] {
        &[
            Capability::FetchAccounts,
            Capability::FetchBalances,
            Capability::FetchPayments,
        ]
    }

    fn install(&self) -> Result<TaskTree, ConnectorError> {
        let mut tree = TaskTree::polling_open_banking();
        if !self.external_accounts {
            tree.0
                .retain(|n| n.task_type != TaskType::FetchExternalAccounts);
        }
        Ok(tree)
    }

    fn uninstall(&self, _request: UninstallRequest) -> BoxFuture<'_, Result<(), ConnectorError>> {
        future::ready(Ok(())).boxed()
    }

    fn accounts_fetcher(&self) -> Option<&dyn AccountsFetcher> {
        Some(self)
    }

    fn external_accounts_fetcher(&self) -> Option<&dyn ExternalAccountsFetcher> {
        Some(self)
    }

    fn balances_fetcher(&self) -> Option<&dyn BalancesFetcher> {
        Some(self)
    }

    fn payments_fetcher(&self) -> Option<&dyn PaymentsFetcher> {
        Some(self)
    }
}

/// A sink that keeps every record; it can refuse every batch after the first
/// `accept_batches` ([`RecordingSink::failing_after`]).
#[derive(Debug, Default)]
pub struct RecordingSink {
    records: Mutex<Vec<Record>>,
    batches: AtomicUsize,
    accept_batches: Option<usize>,
}

impl RecordingSink {
    /// A sink that accepts `batches` batches, then refuses every one ("disk full").
    pub fn failing_after(batches: usize) -> Self {
        RecordingSink {
            accept_batches: Some(batches),
            ..RecordingSink::default()
        }
    }

    /// Every record accepted so far.
    pub fn records(&self) -> Vec<Record> {
        self.records
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Every record accepted so far, forgetting them.
    pub fn take(&self) -> Vec<Record> {
        std::mem::take(&mut *self.records.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// How many batches were offered (accepted or refused).
    pub fn batches(&self) -> usize {
        self.batches.load(Ordering::SeqCst)
    }
}

impl Sink for RecordingSink {
    fn accept<'a>(&'a self, batch: &'a [Record]) -> BoxFuture<'a, Result<(), SinkError>> {
        let n = self.batches.fetch_add(1, Ordering::SeqCst);
        let result = if self.accept_batches.is_some_and(|limit| n >= limit) {
            Err(SinkError::Other("disk full".into()))
        } else {
            self.records
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .extend_from_slice(batch);
            Ok(())
        };
        future::ready(result).boxed()
    }
}

/// A clock whose "now" stands still and whose sleeps return at once, recording the delays
/// asked for; it can cancel a token at the n-th sleep, to end a periodic loop. Clones share
/// the record.
#[derive(Clone)]
pub struct RecordingClock {
    now: DateTime<Utc>,
    delays: Arc<Mutex<Vec<Duration>>>,
    cancel: Option<(usize, CancellationToken)>,
}

impl RecordingClock {
    /// A clock standing at `now`.
    pub fn at(now: DateTime<Utc>) -> Self {
        RecordingClock {
            now,
            delays: Arc::default(),
            cancel: None,
        }
    }

    /// Cancels `token` at the `nth` sleep (counting from 1).
    pub fn cancel_at(mut self, nth: usize, token: CancellationToken) -> Self {
        self.cancel = Some((nth, token));
        self
    }

    /// The delays of every sleep so far, in order.
    pub fn delays(&self) -> Vec<Duration> {
        self.delays
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Default for RecordingClock {
    /// Standing at the Unix epoch.
    fn default() -> Self {
        Self::at(DateTime::UNIX_EPOCH)
    }
}

impl fmt::Debug for RecordingClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordingClock")
            .field("now", &self.now)
            .field("sleeps", &self.delays().len())
            .finish_non_exhaustive()
    }
}

impl Clock for RecordingClock {
    fn now(&self) -> DateTime<Utc> {
        self.now
    }

    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        let mut delays = self.delays.lock().unwrap_or_else(PoisonError::into_inner);
        delays.push(duration);
        if let Some((nth, token)) = &self.cancel {
            if delays.len() >= *nth {
                token.cancel();
            }
        }
        future::ready(()).boxed()
    }
}
