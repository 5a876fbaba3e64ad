#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! [`PsuLeases`]: replicas of one schema share its PSUs through session advisory locks, a PSU
//! held by one is refused to the other, a syncing PSU is never let go, and a replica gone
//! frees its PSUs for the others. Needs `POWENS_TEST_DATABASE_URL` (see
//! `connector_postgres::testing`).

use std::collections::BTreeSet;

use connector_core::engine::{SyncGate, SyncReason};
use connector_postgres::testing::{database_url, fresh_backend};
use connector_postgres::{PgBackend, PgError, PgOptions, PsuLeases, ReplicaOptions};

fn psus(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("psu-{i}")).collect()
}

/// A second backend on the schema of `first` (another process, in effect).
async fn same_schema(first: &PgBackend) -> PgBackend {
    let url = database_url().unwrap().unwrap();
    PgBackend::connect_with(
        &url,
        PgOptions {
            schema: first.schema().to_owned(),
            max_connections: 4,
        },
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn pg_leases_split_the_psus_between_two_replicas_and_refuse_the_others() {
    let Some(url) = database_url().unwrap() else {
        return;
    };
    let backend = fresh_backend(&url, "pg_leases_split").await.unwrap();
    let all = psus(5);
    let left = PsuLeases::start(backend.clone(), ReplicaOptions::new("left"))
        .await
        .unwrap();
    // Alone, a replica takes every PSU.
    let alone = left.rebalance(&all).await.unwrap();
    assert_eq!((alone.held, alone.replicas), (5, 1));

    let right = PsuLeases::start(same_schema(&backend).await, ReplicaOptions::new("right"))
        .await
        .unwrap();
    let first = right.rebalance(&all).await.unwrap();
    assert_eq!((first.held, first.replicas), (0, 2), "every PSU is taken");
    // `left` lets go of its surplus (share: ceil(5 / 2) = 3), `right` takes it.
    let shrunk = left.rebalance(&all).await.unwrap();
    assert_eq!((shrunk.held, shrunk.released.len()), (3, 2));
    let grown = right.rebalance(&all).await.unwrap();
    let set = |v: &[String]| v.iter().cloned().collect::<BTreeSet<_>>();
    assert_eq!(set(&grown.acquired), set(&shrunk.released));
    let (l, r): (BTreeSet<String>, BTreeSet<String>) = (
        left.held().into_iter().collect(),
        right.held().into_iter().collect(),
    );
    assert!(l.is_disjoint(&r));
    assert_eq!(l.len() + r.len(), 5);

    // The gate: a permit for one's own PSUs only.
    let mine = left.held()[0].clone();
    assert!(left.enter(&mine, SyncReason::Periodic).await.is_some());
    assert!(right.enter(&mine, SyncReason::Periodic).await.is_none());
    assert!(left.rebalance(&all).await.unwrap().requested.is_empty());
    // A sync asked of `right` for it is passed on to `left`, once.
    assert!(right.enter(&mine, SyncReason::Requested).await.is_none());
    assert_eq!(
        left.rebalance(&all).await.unwrap().requested,
        vec![mine.clone()]
    );
    assert!(left.rebalance(&all).await.unwrap().requested.is_empty());
    let holder = PsuLeases::holder_of(&backend, &mine).await.unwrap();
    assert_eq!(holder.as_deref(), Some("powens replica left"));
}

#[tokio::test]
async fn pg_leases_keep_a_syncing_psu_and_free_a_gone_replicas_psus() {
    let Some(url) = database_url().unwrap() else {
        return;
    };
    let backend = fresh_backend(&url, "pg_leases_handover").await.unwrap();
    let all = psus(2);
    let left = PsuLeases::start(backend.clone(), ReplicaOptions::new("left"))
        .await
        .unwrap();
    left.rebalance(&all).await.unwrap();
    // Both PSUs syncing on `left` when `right` arrives: neither is let go.
    let permits = [
        left.enter("psu-0", SyncReason::Periodic).await.unwrap(),
        left.enter("psu-1", SyncReason::Requested).await.unwrap(),
    ];
    let right = PsuLeases::start(same_schema(&backend).await, ReplicaOptions::new("right"))
        .await
        .unwrap();
    assert_eq!(right.rebalance(&all).await.unwrap().held, 0);
    let kept = left.rebalance(&all).await.unwrap();
    assert!(kept.released.is_empty(), "{kept:?}");
    drop(permits);
    assert_eq!(left.rebalance(&all).await.unwrap().released.len(), 1);
    assert_eq!(right.rebalance(&all).await.unwrap().acquired.len(), 1);

    // `left` ends (its session closes): `right` takes its PSU at the next round.
    left.release_all().await;
    let took = right.rebalance(&all).await.unwrap();
    assert_eq!((took.held, took.replicas), (2, 1), "{took:?}");
    // A PSU gone from the schema is let go.
    let fewer = right.rebalance(&all[..1]).await.unwrap();
    assert_eq!(fewer.released, vec!["psu-1".to_owned()]);
}

#[tokio::test]
async fn pg_leases_refuse_a_second_live_replica_of_the_same_name() {
    let Some(url) = database_url().unwrap() else {
        return;
    };
    let backend = fresh_backend(&url, "pg_leases_name").await.unwrap();
    let _first = PsuLeases::start(backend.clone(), ReplicaOptions::new("twin"))
        .await
        .unwrap();
    let second = PsuLeases::start(same_schema(&backend).await, ReplicaOptions::new("twin")).await;
    match second {
        Err(error @ PgError::ReplicaTaken { .. }) => {
            assert!(error.to_string().contains("--replica-name"), "{error}");
        }
        other => panic!("expected ReplicaTaken, got {other:?}"),
    }
}
