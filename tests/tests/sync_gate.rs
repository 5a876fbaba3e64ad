//! The engine's [`SyncGate`] (replicas sharing a store): PSUs the gate refuses are skipped,
//! periodic or requested, the gate learns why each sync is asked, and a permit lasts as long
//! as its PSU's sync.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use connector_core::engine::{SyncGate, SyncPermit, SyncReason};
use connector_core::model::Record;
use futures::future::BoxFuture;
use futures::FutureExt;
use powens_sandbox::SandboxSize;
use tests::{connector_for, engine_for, seeded_user, start_sandbox, MemorySink};
use tokio_util::sync::CancellationToken;

/// Admits one PSU; records every question; counts the permits alive.
struct OnePsu {
    admitted: String,
    asked: Mutex<Vec<(String, SyncReason)>>,
    alive: Arc<AtomicUsize>,
}

struct Permit(Arc<AtomicUsize>);

impl Drop for Permit {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl SyncGate for OnePsu {
    fn enter<'a>(
        &'a self,
        psu_id: &'a str,
        reason: SyncReason,
    ) -> BoxFuture<'a, Option<SyncPermit>> {
        self.asked.lock().unwrap().push((psu_id.to_owned(), reason));
        let permit = (psu_id == self.admitted).then(|| {
            self.alive.fetch_add(1, Ordering::SeqCst);
            Box::new(Permit(Arc::clone(&self.alive))) as SyncPermit
        });
        futures::future::ready(permit).boxed()
    }
}

fn psus_of(records: &[Record]) -> std::collections::BTreeSet<String> {
    records
        .iter()
        .filter_map(|r| {
            serde_json::to_value(r).unwrap()["psuID"]
                .as_str()
                .map(str::to_owned)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn engine_with_a_gate_syncs_only_the_psus_it_admits_and_tells_it_why() {
    let sandbox = start_sandbox(SandboxSize {
        users: 2,
        connections_per_link: 1,
        accounts_per_connection: 1,
        transactions_per_account: 20,
    })
    .await
    .unwrap();
    let users: Vec<_> = sandbox.users().iter().map(seeded_user).collect();
    let (mine, theirs) = (users[0].psu_id.clone(), users[1].psu_id.clone());
    let gate = Arc::new(OnePsu {
        admitted: mine.clone(),
        asked: Mutex::new(Vec::new()),
        alive: Arc::new(AtomicUsize::new(0)),
    });
    let (connector, _clock) = connector_for(&sandbox, 50).unwrap();
    let sink = Arc::new(MemorySink::default());
    let engine = engine_for(
        connector,
        Arc::new(connector_core::state::MemoryStateStore::new()),
        sink.clone(),
        users.clone(),
    )
    .unwrap()
    .with_sync_gate(gate.clone());

    let cancel = CancellationToken::new();
    engine.run_once(&cancel).await.unwrap();
    assert_eq!(psus_of(&sink.records()), [mine.clone()].into());
    let mut asked = gate.asked.lock().unwrap().clone();
    asked.sort_by(|a, b| a.0.cmp(&b.0));
    let mut expected = vec![
        (mine.clone(), SyncReason::Periodic),
        (theirs.clone(), SyncReason::Periodic),
    ];
    expected.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(asked, expected);
    assert_eq!(
        gate.alive.load(Ordering::SeqCst),
        0,
        "permits end with the sync"
    );

    // A sync asked for the other PSU is refused too, and the gate is told it was asked.
    gate.asked.lock().unwrap().clear();
    let before = sink.records().len();
    engine
        .run_for_psus(vec![Arc::new(users[1].clone())], &cancel)
        .await
        .unwrap();
    assert_eq!(sink.records().len(), before);
    assert_eq!(
        gate.asked.lock().unwrap().clone(),
        vec![(theirs, SyncReason::Requested)]
    );
}
