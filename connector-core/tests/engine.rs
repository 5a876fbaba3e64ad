#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The engine against a fake bank connector: delivery, resumption, cancellation,
//! concurrency, periodic runs, retries.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use connector_core::contract::*;
use connector_core::engine::{EngineConfig, EngineError, ProgressEvent, PsuSource};
use connector_core::model::*;
use connector_core::openbanking::ForwardedUser;
use connector_core::sink::{Sink, SinkError};
use connector_core::state::{FileStateStore, MemoryStateStore, StateKey, StateStore};
use connector_core::testing::{FakeBank, RecordingClock, RecordingSink};
use connector_core::{Connector, ConnectorError, Engine};
use futures::future::{self, BoxFuture};
use futures::{FutureExt, StreamExt};
use serde_json::json;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

// The fake bank, the recording sink and the recording clock are connector-core's own
// (`connector_core::testing`, feature `testing`).

fn psu(id: &str) -> Arc<ForwardedUser> {
    FakeBank::psu(id)
}

fn psus(n: usize) -> Vec<Arc<ForwardedUser>> {
    FakeBank::psus(n)
}

fn identity(record: &Record) -> String {
    let reference = match record {
        Record::Account(a) | Record::ExternalAccount(a) => a.reference.clone(),
        Record::Balance(b) => b.account_reference.clone(),
        Record::Payment(p) => p.reference.clone(),
        other => panic!("unexpected record {other:?}"),
    };
    format!("{}:{reference}", record.kind())
}

/// Records by identity; panics if one identity was delivered with two different contents.
fn by_identity(records: &[Record]) -> BTreeMap<String, String> {
    let mut seen = BTreeMap::new();
    for record in records {
        let json = serde_json::to_string(record).unwrap();
        if let Some(previous) = seen.insert(identity(record), json.clone()) {
            assert_eq!(previous, json, "a repeated record must be identical");
        }
    }
    seen
}

fn config(page_size: u32, max_concurrent_psus: usize) -> EngineConfig {
    EngineConfig {
        connector_id: "bank-1".into(),
        page_size: page_size.try_into().unwrap(),
        max_concurrent_psus: max_concurrent_psus.try_into().unwrap(),
        ..EngineConfig::default()
    }
}

fn engine(
    bank: Arc<FakeBank>,
    store: Arc<dyn StateStore>,
    sink: Arc<dyn Sink>,
    cfg: EngineConfig,
    users: Vec<Arc<ForwardedUser>>,
) -> Engine {
    Engine::new(bank, store, sink, cfg)
        .unwrap()
        .with_psus(users)
}

// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn one_cycle_delivers_every_record_of_the_tree_exactly_once() {
    let bank = Arc::new(FakeBank {
        external_accounts: true,
        ..FakeBank::new(3, 23)
    });
    let users = psus(4);
    let sink = Arc::new(RecordingSink::default());
    let store = Arc::new(MemoryStateStore::new());
    let engine = engine(
        bank.clone(),
        store.clone(),
        sink.clone(),
        config(10, 2),
        users.clone(),
    );

    let summary = engine.run_once(&CancellationToken::new()).await.unwrap();

    let records = sink.take();
    let delivered = by_identity(&records);
    assert_eq!(
        records.len(),
        delivered.len(),
        "no duplicates in an uninterrupted run"
    );
    assert_eq!(
        delivered.keys().cloned().collect::<BTreeSet<_>>(),
        bank.expected(&users)
    );
    assert_eq!(summary.records, records.len() as u64);
    assert_eq!((summary.tasks_failed, summary.failures.len()), (0, 0));
    // accounts are typed by their task
    assert!(records
        .iter()
        .any(|r| matches!(r, Record::Account(a) if a.account_type == AccountType::Internal)));
    assert!(records.iter().any(
        |r| matches!(r, Record::ExternalAccount(a) if a.account_type == AccountType::External)
    ));
    // the payments cursor of one account is committed at its end
    let key = StateKey::new(Capability::FetchPayments)
        .for_psu("psu-1")
        .for_parent("psu-1-acc-2");
    assert_eq!(
        store.get(&key).await.unwrap().unwrap().value,
        json!({"offset": 23})
    );
}

#[tokio::test]
async fn a_cycle_with_no_change_at_the_provider_rewrites_no_state_but_delivers_its_pages() {
    let bank = Arc::new(FakeBank::new(2, 7));
    let users = psus(2);
    let sink = Arc::new(RecordingSink::default());
    let store = Arc::new(MemoryStateStore::new());
    let engine = engine(bank, store.clone(), sink.clone(), config(10, 2), users);
    let versions = |listed: Vec<(StateKey, connector_core::state::Versioned)>| {
        listed
            .into_iter()
            .map(|(key, stored)| (key.id(), (stored.version, stored.value)))
            .collect::<BTreeMap<_, _>>()
    };

    engine.run_once(&CancellationToken::new()).await.unwrap();
    let after_first = versions(store.list().await.unwrap());
    sink.take();
    let summary = engine.run_once(&CancellationToken::new()).await.unwrap();

    assert_eq!(
        versions(store.list().await.unwrap()),
        after_first,
        "an idle cycle leaves every state at its version"
    );
    assert!(summary.pages > 0, "the idle cycle still read its pages");
    assert!(
        sink.take().iter().any(|r| matches!(r, Record::Account(_))),
        "and delivered what they carried"
    );
}

#[tokio::test]
async fn records_of_an_account_come_before_its_balances_and_payments() {
    let bank = Arc::new(FakeBank::new(2, 3));
    let sink = Arc::new(RecordingSink::default());
    let engine = engine(
        bank,
        Arc::new(MemoryStateStore::new()),
        sink.clone(),
        config(10, 1),
        psus(1),
    );
    engine.run_once(&CancellationToken::new()).await.unwrap();
    let order: Vec<String> = sink.take().iter().map(identity).collect();
    insta::assert_snapshot!(order.join("\n"));
}

#[tokio::test]
async fn an_interrupted_run_resumes_on_the_same_file_store_without_losing_records() {
    let mut resumed_midway = 0;
    for fail_after_batches in [0, 1, 4, 9, 17] {
        let dir = tempfile::tempdir().unwrap();
        let bank = Arc::new(FakeBank {
            external_accounts: true,
            ..FakeBank::new(3, 25)
        });
        let users = psus(3);
        let expected = bank.expected(&users);

        // first run: the sink breaks after some batches
        let broken = Arc::new(RecordingSink::failing_after(fail_after_batches));
        let store = Arc::new(FileStateStore::open(dir.path()).unwrap());
        let first = engine(
            bank.clone(),
            store,
            broken.clone(),
            config(7, 2),
            users.clone(),
        );
        let err = first.run_once(&CancellationToken::new()).await.unwrap_err();
        assert!(matches!(err, EngineError::Sink(_)), "{err}");
        let mut delivered = broken.take();
        let first_count = delivered.len();

        // restart on the same directory
        let sink = Arc::new(RecordingSink::default());
        let store = Arc::new(FileStateStore::open(dir.path()).unwrap());
        let second = engine(
            bank.clone(),
            store,
            sink.clone(),
            config(7, 2),
            users.clone(),
        );
        second.run_once(&CancellationToken::new()).await.unwrap();
        let resumed = sink.take();
        delivered.extend(resumed.iter().cloned());

        let all = by_identity(&delivered);
        assert_eq!(
            all.keys().cloned().collect::<BTreeSet<_>>(),
            expected,
            "after failing at batch {fail_after_batches}"
        );
        // the restart did not start over: it skipped what the first run had committed
        if first_count > 30 {
            resumed_midway += 1;
            assert!(
                resumed.len() < expected.len(),
                "restart re-sent everything ({} records)",
                resumed.len()
            );
        }
    }
    assert!(resumed_midway >= 2, "too few runs were interrupted midway");
}

#[tokio::test]
async fn a_cancelled_run_resumes_without_losing_records() {
    let notify = Arc::new(Notify::new());
    let bank = Arc::new(FakeBank {
        block_after_first_payments_page: Some(notify.clone()),
        ..FakeBank::new(2, 30)
    });
    let users = psus(1);
    let dir = tempfile::tempdir().unwrap();
    let sink = Arc::new(RecordingSink::default());
    let store = Arc::new(FileStateStore::open(dir.path()).unwrap());
    let engine = Arc::new(engine(
        bank.clone(),
        store,
        sink.clone(),
        config(10, 1),
        users.clone(),
    ));
    let cancel = CancellationToken::new();
    let run = tokio::spawn({
        let engine = engine.clone();
        let cancel = cancel.clone();
        async move { engine.run_once(&cancel).await }
    });
    notify.notified().await; // the fetcher now hangs on the provider
    cancel.cancel();
    let result = tokio::time::timeout(Duration::from_secs(30), run)
        .await
        .expect("cancellation must stop the run")
        .unwrap();
    assert!(matches!(result, Err(EngineError::Cancelled)), "{result:?}");
    let mut delivered = sink.take();
    assert!(
        delivered.iter().any(|r| matches!(r, Record::Payment(_))),
        "the first page was delivered"
    );

    let healthy = Arc::new(FakeBank::new(2, 30));
    let sink = Arc::new(RecordingSink::default());
    let store = Arc::new(FileStateStore::open(dir.path()).unwrap());
    let again = engine_for(healthy, store, sink.clone(), users.clone());
    again.run_once(&CancellationToken::new()).await.unwrap();
    delivered.extend(sink.take());
    assert_eq!(
        by_identity(&delivered)
            .keys()
            .cloned()
            .collect::<BTreeSet<_>>(),
        bank.expected(&users)
    );
}

fn engine_for(
    bank: Arc<FakeBank>,
    store: Arc<dyn StateStore>,
    sink: Arc<dyn Sink>,
    users: Vec<Arc<ForwardedUser>>,
) -> Engine {
    engine(bank, store, sink, config(10, 1), users)
}

#[tokio::test]
async fn cancellation_before_start_stops_at_once_and_commits_nothing() {
    let bank = Arc::new(FakeBank::new(2, 5));
    let store = Arc::new(MemoryStateStore::new());
    let sink = Arc::new(RecordingSink::default());
    let engine = engine(bank, store.clone(), sink.clone(), config(10, 1), psus(2));
    let cancel = CancellationToken::new();
    cancel.cancel();
    assert!(matches!(
        engine.run_once(&cancel).await,
        Err(EngineError::Cancelled)
    ));
    assert!(store.is_empty());
    assert!(sink.take().is_empty());
}

#[tokio::test]
async fn the_concurrency_bound_across_psus_holds() {
    for bound in [1, 3] {
        let bank = Arc::new(FakeBank::new(2, 5));
        let engine = engine(
            bank.clone(),
            Arc::new(MemoryStateStore::new()),
            Arc::new(RecordingSink::default()),
            config(1, bound),
            psus(9),
        );
        engine.run_once(&CancellationToken::new()).await.unwrap();
        assert_eq!(
            bank.in_flight.max(),
            bound,
            "max PSUs in flight with bound {bound}"
        );
    }
}

// One thread: each sync holds the bank until its first yield, so the two turns overlap for
// sure and the bound is what keeps the third out.
#[tokio::test]
async fn triggered_syncs_of_many_psus_run_at_most_max_concurrent_psus_at_once_and_all_run() {
    let bank = Arc::new(FakeBank::new(2, 5));
    let sink = Arc::new(RecordingSink::default());
    let engine = Arc::new(engine(
        bank.clone(),
        Arc::new(MemoryStateStore::new()),
        sink.clone(),
        EngineConfig {
            trigger_delay: Duration::ZERO,
            ..config(1, 2)
        },
        Vec::new(),
    ));
    let users = psus(9);
    for user in &users {
        assert!(engine.trigger_sync(user.clone()), "{}", user.psu_id);
    }
    engine.triggered_syncs_idle().await;

    assert_eq!(bank.in_flight.max(), 2, "two turns for nine triggered PSUs");
    let records = sink.take();
    assert_eq!(
        by_identity(&records)
            .keys()
            .cloned()
            .collect::<BTreeSet<_>>(),
        bank.expected(&users),
        "every triggered PSU was synced"
    );
}

#[tokio::test(start_paused = true)]
async fn a_triggered_sync_settles_for_the_trigger_delay_and_the_triggers_meanwhile_join_it() {
    let bank = Arc::new(FakeBank::new(1, 3));
    let sink = Arc::new(RecordingSink::default());
    let engine = Arc::new(
        Engine::new(
            bank.clone(),
            Arc::new(MemoryStateStore::new()),
            sink.clone(),
            EngineConfig {
                trigger_delay: Duration::from_secs(2),
                ..config(10, 2)
            },
        )
        .unwrap()
        .with_psus(Vec::<Arc<ForwardedUser>>::new()),
    );
    let user = psu("psu-1");
    assert!(engine.trigger_sync(user.clone()));
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(bank.in_flight.max(), 0, "nothing ran during the delay");
    assert!(
        !engine.trigger_sync(user.clone()),
        "a trigger during the delay joins the waiting sync"
    );
    engine.triggered_syncs_idle().await;
    let accounts = sink
        .take()
        .iter()
        .filter(|r| matches!(r, Record::Account(_)))
        .count();
    assert_eq!(accounts, 1, "then it ran, once");
}

#[tokio::test]
async fn state_is_committed_only_after_the_sink_accepted_the_page() {
    let bank = Arc::new(FakeBank::new(2, 5));
    let store = Arc::new(MemoryStateStore::new());
    let engine = engine(
        bank,
        store.clone(),
        Arc::new(RecordingSink::failing_after(0)),
        config(10, 1),
        psus(1),
    );
    assert!(engine.run_once(&CancellationToken::new()).await.is_err());
    assert!(store.is_empty(), "a refused page must not move the cursor");
}

#[tokio::test]
async fn a_retryable_fetch_error_is_retried_from_the_committed_state() {
    let bank = Arc::new(FakeBank {
        fail_payments_once_at: Some(4),
        ..FakeBank::new(1, 10)
    });
    let users = psus(1);
    let sink = Arc::new(RecordingSink::default());
    let events = Arc::new(Mutex::new(Vec::new()));
    let sleeper = RecordingClock::default();
    let engine = engine(
        bank.clone(),
        Arc::new(MemoryStateStore::new()),
        sink.clone(),
        config(2, 1),
        users.clone(),
    )
    .with_clock(Arc::new(sleeper.clone()))
    .with_progress({
        let events = events.clone();
        move |e: &ProgressEvent| events.lock().unwrap().push(e.clone())
    });
    let summary = engine.run_once(&CancellationToken::new()).await.unwrap();
    assert_eq!(summary.tasks_failed, 0);
    let records = sink.take();
    assert_eq!(
        records.len(),
        by_identity(&records).len(),
        "resuming from the committed offset repeats nothing here"
    );
    assert_eq!(
        by_identity(&records)
            .keys()
            .cloned()
            .collect::<BTreeSet<_>>(),
        bank.expected(&users)
    );
    assert_eq!(sleeper.delays(), vec![Duration::from_secs(1)]);
    let retried = events.lock().unwrap().iter().any(|e| {
        matches!(e,
        ProgressEvent::TaskFailed { will_retry: true, error, .. } if error.contains("503"))
    });
    assert!(retried);
}

#[tokio::test]
async fn a_permanent_error_fails_only_its_task() {
    let bank = Arc::new(FakeBank {
        forbidden_psu: Some("psu-1".into()),
        ..FakeBank::new(1, 3)
    });
    let users = psus(3);
    let sink = Arc::new(RecordingSink::default());
    let engine = engine(
        bank.clone(),
        Arc::new(MemoryStateStore::new()),
        sink.clone(),
        config(10, 3),
        users.clone(),
    );
    let summary = engine.run_once(&CancellationToken::new()).await.unwrap();
    assert_eq!(summary.tasks_failed, 1);
    let failure = &summary.failures[0];
    assert_eq!(failure.task.psu_id.as_deref(), Some("psu-1"));
    assert!(matches!(
        failure.error,
        ConnectorError::UpstreamClient { status: 403, .. }
    ));
    let delivered = by_identity(&sink.take());
    let healthy = [users[0].clone(), users[2].clone()];
    assert_eq!(
        delivered.keys().cloned().collect::<BTreeSet<_>>(),
        bank.expected(&healthy)
    );
}

/// A connector whose tree names a capability it does not implement.
struct Incomplete;

impl Connector for Incomplete {
    fn name(&self) -> &str {
        "incomplete"
    }
    fn capabilities(&self) -> &[Capability] {
        &[]
    }
    fn install(&self) -> Result<TaskTree, ConnectorError> {
        Ok(TaskTree(vec![TaskNode::new(
            TaskType::FetchExternalAccounts,
            "fetch_external_accounts",
            true,
        )]))
    }
    fn uninstall(&self, _request: UninstallRequest) -> BoxFuture<'_, Result<(), ConnectorError>> {
        future::ready(Ok(())).boxed()
    }
}

#[tokio::test]
async fn a_task_the_connector_lacks_fails_as_not_supported() {
    let engine = Engine::new(
        Arc::new(Incomplete),
        Arc::new(MemoryStateStore::new()),
        Arc::new(RecordingSink::default()),
        config(10, 1),
    )
    .unwrap();
    let summary = engine.run_once(&CancellationToken::new()).await.unwrap();
    assert_eq!(summary.tasks_failed, 1);
    assert!(matches!(
        summary.failures[0].error,
        ConnectorError::NotSupported {
            capability: Some(Capability::FetchExternalAccounts),
            ..
        }
    ));
    assert!(!summary.failures[0].error.is_retryable());
    // without a PSU source, root tasks run once, for no PSU
    assert_eq!(summary.failures[0].task.psu_id, None);
    // and install without CREATE_WEBHOOKS in the tree creates nothing
    assert!(engine
        .install("https://example.test/hooks")
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn periodic_runs_wait_the_polling_period_plus_bounded_jitter() {
    let bank = Arc::new(FakeBank::new(1, 4));
    let cancel = CancellationToken::new();
    let sleeper = RecordingClock::default().cancel_at(3, cancel.clone());
    let cycles = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::new(RecordingSink::default());
    let mut cfg = config(10, 1);
    cfg.polling_period = Duration::from_secs(20 * 60);
    let engine = engine(
        bank,
        Arc::new(MemoryStateStore::new()),
        sink.clone(),
        cfg.clone(),
        psus(1),
    )
    .with_clock(Arc::new(sleeper.clone()))
    .with_progress({
        let cycles = cycles.clone();
        move |e: &ProgressEvent| {
            if let ProgressEvent::CycleFinished { cycle, records, .. } = e {
                cycles.lock().unwrap().push((*cycle, *records));
            }
        }
    });
    engine.run_periodically(&cancel).await.unwrap();
    // every cycle re-lists the account and its balance; payments come once (watermark)
    assert_eq!(*cycles.lock().unwrap(), vec![(1, 6), (2, 2), (3, 2)]);
    let delays = sleeper.delays();
    assert_eq!(delays.len(), 3);
    assert_eq!(cfg.max_jitter(), Duration::from_secs(5 * 60));
    for delay in delays {
        assert!(
            delay >= cfg.polling_period && delay <= cfg.polling_period + cfg.max_jitter(),
            "{delay:?}"
        );
    }
}

#[tokio::test]
async fn progress_events_describe_tasks_and_pages() {
    let bank = Arc::new(FakeBank::new(1, 3));
    let events = Arc::new(Mutex::new(Vec::new()));
    let engine = engine(
        bank,
        Arc::new(MemoryStateStore::new()),
        Arc::new(RecordingSink::default()),
        config(2, 1),
        psus(1),
    )
    .with_progress({
        let events = events.clone();
        move |e: &ProgressEvent| {
            events
                .lock()
                .unwrap()
                .push(serde_json::to_string(e).unwrap())
        }
    });
    engine.run_once(&CancellationToken::new()).await.unwrap();
    insta::assert_snapshot!(events.lock().unwrap().join("\n"));
}

#[test]
fn the_run_future_can_be_spawned() {
    fn assert_send<T: Send>(_: &T) {}
    let engine = Engine::new(
        Arc::new(FakeBank::new(1, 1)),
        Arc::new(MemoryStateStore::new()),
        Arc::new(RecordingSink::default()),
        config(1, 1),
    )
    .unwrap();
    let token = CancellationToken::new();
    assert_send(&engine.run_once(&token));
    assert_send(&engine.run_periodically(&token));
}

#[tokio::test]
async fn the_psu_source_is_asked_every_cycle() {
    struct Counting(AtomicUsize);
    impl PsuSource for Counting {
        fn psus(&self) -> BoxFuture<'_, Result<Vec<Arc<ForwardedUser>>, ConnectorError>> {
            let n = self.0.fetch_add(1, Ordering::SeqCst) + 1;
            future::ready(Ok(psus(n))).boxed()
        }
    }
    let bank = Arc::new(FakeBank::new(1, 1));
    let sink = Arc::new(RecordingSink::default());
    let engine = Engine::new(
        bank,
        Arc::new(MemoryStateStore::new()),
        sink.clone(),
        config(10, 2),
    )
    .unwrap()
    .with_psus(Counting(AtomicUsize::new(0)));
    engine.run_once(&CancellationToken::new()).await.unwrap();
    engine.run_once(&CancellationToken::new()).await.unwrap();
    let mut accounts: Vec<String> = sink
        .take()
        .iter()
        .filter(|r| r.kind() == "account")
        .map(identity)
        .collect();
    accounts.sort();
    assert_eq!(
        accounts,
        vec![
            "account:psu-0-acc-0",
            "account:psu-0-acc-0",
            "account:psu-1-acc-0"
        ]
    );
}

#[tokio::test]
async fn page_streams_are_consumed_lazily_one_page_at_a_time() {
    // a page stream is pulled only as the engine goes: after the first page no second
    // page has been produced yet
    let bank = FakeBank::new(1, 100);
    let request = FetchRequest {
        psu: Some(psu("psu-0")),
        from_payload: Some(FromPayload::account(&bank.account("psu-0", 0)).unwrap()),
        state: Some(json!({"offset": 90})),
        page_size: 4.try_into().unwrap(),
    };
    let mut stream = bank.fetch_payments(request);
    let page = stream.next().await.unwrap().unwrap();
    assert_eq!(page.items.len(), 4);
    assert_eq!(page.new_state, json!({"offset": 94}));
    assert!(page.has_more);
    let rest: Vec<_> = stream.collect().await;
    assert_eq!(rest.len(), 2, "94..98, 98..100");
}

#[tokio::test]
async fn a_run_for_chosen_psus_syncs_only_them() {
    let bank = Arc::new(FakeBank::new(1, 2));
    let sink = Arc::new(RecordingSink::default());
    let engine = engine(
        bank.clone(),
        Arc::new(MemoryStateStore::new()),
        sink.clone(),
        config(10, 2),
        psus(5),
    );
    let only = vec![psu("psu-3")];
    let summary = engine
        .run_for_psus(only.clone(), &CancellationToken::new())
        .await
        .unwrap();
    let delivered = by_identity(&sink.take());
    assert_eq!(
        delivered.keys().cloned().collect::<BTreeSet<_>>(),
        bank.expected(&only)
    );
    assert_eq!(summary.records, delivered.len() as u64);
}

#[tokio::test]
async fn an_invalid_item_fails_its_task_without_delivering_the_page() {
    let bank = Arc::new(FakeBank {
        signed_amounts: true,
        ..FakeBank::new(1, 3)
    });
    let sink = Arc::new(RecordingSink::default());
    let store = Arc::new(MemoryStateStore::new());
    let engine = engine(bank, store.clone(), sink.clone(), config(10, 1), psus(1));
    let summary = engine.run_once(&CancellationToken::new()).await.unwrap();
    assert_eq!(summary.tasks_failed, 1);
    let error = &summary.failures[0].error;
    assert!(
        matches!(error, ConnectorError::Validation { field, .. } if field == "amount"),
        "{error}"
    );
    assert!(!error.is_retryable());
    assert!(
        sink.take().iter().all(|r| r.kind() != "payment"),
        "no payment of the invalid page"
    );
    let key = StateKey::new(Capability::FetchPayments)
        .for_psu("psu-0")
        .for_parent("psu-0-acc-0");
    assert_eq!(store.get(&key).await.unwrap(), None);
}

/// A store where another writer advances one key right before our first write to it.
struct RacingStore {
    inner: MemoryStateStore,
    raced: AtomicBool,
}

impl StateStore for RacingStore {
    fn get<'a>(
        &'a self,
        key: &'a StateKey,
    ) -> BoxFuture<
        'a,
        Result<Option<connector_core::state::Versioned>, connector_core::state::StateError>,
    > {
        self.inner.get(key)
    }

    fn put<'a>(
        &'a self,
        key: &'a StateKey,
        expected: Option<connector_core::state::Version>,
        value: serde_json::Value,
    ) -> BoxFuture<'a, Result<connector_core::state::Version, connector_core::state::StateError>>
    {
        async move {
            if key.capability == Capability::FetchPayments
                && !self.raced.swap(true, Ordering::SeqCst)
            {
                // the other runner got two pages further
                self.inner
                    .put(key, expected, json!({"offset": 4}))
                    .await
                    .unwrap();
            }
            self.inner.put(key, expected, value).await
        }
        .boxed()
    }

    fn delete<'a>(
        &'a self,
        key: &'a StateKey,
        expected: connector_core::state::Version,
    ) -> BoxFuture<'a, Result<(), connector_core::state::StateError>> {
        self.inner.delete(key, expected)
    }

    fn list(
        &self,
    ) -> BoxFuture<
        '_,
        Result<
            Vec<(StateKey, connector_core::state::Versioned)>,
            connector_core::state::StateError,
        >,
    > {
        StateStore::list(&self.inner)
    }
}

#[tokio::test]
async fn a_state_conflict_resumes_from_the_state_the_other_run_committed() {
    let bank = Arc::new(FakeBank::new(1, 6));
    let users = psus(1);
    let sink = Arc::new(RecordingSink::default());
    let store = Arc::new(RacingStore {
        inner: MemoryStateStore::new(),
        raced: AtomicBool::new(false),
    });
    let sleeper = RecordingClock::default();
    let engine = engine(
        bank.clone(),
        store.clone(),
        sink.clone(),
        config(2, 1),
        users.clone(),
    )
    .with_clock(Arc::new(sleeper));
    let summary = engine.run_once(&CancellationToken::new()).await.unwrap();
    assert_eq!(summary.tasks_failed, 0);
    let payments: Vec<String> = sink
        .take()
        .iter()
        .filter(|r| r.kind() == "payment")
        .map(identity)
        .collect();
    // page 0..2 delivered by us, then the other run's offset 4 wins: 4..6 (its 2..4 is its own)
    assert_eq!(
        payments,
        [
            "payment:psu-0-acc-0-pay-0",
            "payment:psu-0-acc-0-pay-1",
            "payment:psu-0-acc-0-pay-4",
            "payment:psu-0-acc-0-pay-5"
        ]
    );
    let key = StateKey::new(Capability::FetchPayments)
        .for_psu("psu-0")
        .for_parent("psu-0-acc-0");
    assert_eq!(
        store.get(&key).await.unwrap().unwrap().value,
        json!({"offset": 6})
    );
}

/// A sink that keeps the states too (as a database does): the engine must hand it each page's
/// records together with the page's state, never through `accept` and the store separately.
#[derive(Default)]
struct OneTransaction {
    states: MemoryStateStore,
    records: Mutex<Vec<Record>>,
    commits: AtomicUsize,
    plain_accepts: AtomicUsize,
    page_puts: AtomicUsize,
}

impl Sink for OneTransaction {
    fn accept<'a>(&'a self, batch: &'a [Record]) -> BoxFuture<'a, Result<(), SinkError>> {
        self.plain_accepts.fetch_add(1, Ordering::SeqCst);
        self.records.lock().unwrap().extend_from_slice(batch);
        future::ready(Ok(())).boxed()
    }

    fn transactional(&self) -> Option<&dyn connector_core::sink::TransactionalSink> {
        Some(self)
    }
}

impl connector_core::sink::TransactionalSink for OneTransaction {
    fn accept_and_commit<'a>(
        &'a self,
        batch: &'a [Record],
        key: &'a StateKey,
        expected: Option<connector_core::state::Version>,
        state: serde_json::Value,
    ) -> BoxFuture<'a, Result<connector_core::state::Version, connector_core::sink::CommitError>>
    {
        async move {
            let version = self.states.put(key, expected, state).await?;
            self.records.lock().unwrap().extend_from_slice(batch);
            self.commits.fetch_add(1, Ordering::SeqCst);
            Ok(version)
        }
        .boxed()
    }
}

type Versioned = connector_core::state::Versioned;
type StateResult<T> = Result<T, connector_core::state::StateError>;

impl StateStore for OneTransaction {
    fn get<'a>(&'a self, key: &'a StateKey) -> BoxFuture<'a, StateResult<Option<Versioned>>> {
        self.states.get(key)
    }

    /// Other states (the PSU directory) go through the store as usual; page states must not.
    fn put<'a>(
        &'a self,
        key: &'a StateKey,
        expected: Option<connector_core::state::Version>,
        value: serde_json::Value,
    ) -> BoxFuture<'a, StateResult<connector_core::state::Version>> {
        if key.capability.as_str().starts_with("FETCH_") {
            self.page_puts.fetch_add(1, Ordering::SeqCst);
        }
        self.states.put(key, expected, value)
    }

    fn delete<'a>(
        &'a self,
        key: &'a StateKey,
        expected: connector_core::state::Version,
    ) -> BoxFuture<'a, StateResult<()>> {
        self.states.delete(key, expected)
    }

    fn list(&self) -> BoxFuture<'_, StateResult<Vec<(StateKey, Versioned)>>> {
        self.states.list()
    }
}

#[tokio::test]
async fn a_transactional_sink_gets_each_page_with_its_state_in_one_call() {
    let bank = Arc::new(FakeBank::new(2, 23));
    let users = psus(1);
    let backend = Arc::new(OneTransaction::default());
    let engine = engine(
        bank.clone(),
        backend.clone(),
        backend.clone(),
        config(10, 1),
        users.clone(),
    );
    let summary = engine.run_once(&CancellationToken::new()).await.unwrap();
    let records = std::mem::take(&mut *backend.records.lock().unwrap());
    assert_eq!(
        by_identity(&records)
            .keys()
            .cloned()
            .collect::<BTreeSet<_>>(),
        bank.expected(&users)
    );
    assert_eq!(backend.plain_accepts.load(Ordering::SeqCst), 0);
    assert_eq!(
        backend.page_puts.load(Ordering::SeqCst),
        0,
        "page states are committed with their records, not through the store"
    );
    assert_eq!(
        backend.commits.load(Ordering::SeqCst) as u64,
        summary.pages,
        "one commit per page"
    );
    let key = StateKey::new(Capability::FetchPayments)
        .for_psu("psu-0")
        .for_parent("psu-0-acc-1");
    assert_eq!(
        backend.get(&key).await.unwrap().unwrap().value,
        json!({"offset": 23})
    );
}
