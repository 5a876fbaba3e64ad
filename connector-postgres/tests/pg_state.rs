#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The PostgreSQL state store keeps the [`StateStore`] contract of the file store, and its
//! schema is created and versioned. Needs `POWENS_TEST_DATABASE_URL` (see
//! `connector_postgres::testing`).

use connector_core::model::Capability;
use connector_core::state::{contract, StateError, StateKey, StateStore, Version};
use connector_postgres::testing::{database_url, fresh_backend};
use connector_postgres::{schema_version_of_this_build, PgBackend, PgError, PgOptions};
use serde_json::json;

/// The backend of test `name`, or `None` when there is no test database (skipped).
async fn backend(name: &str) -> Option<PgBackend> {
    let url = database_url().unwrap()?;
    Some(fresh_backend(&url, name).await.unwrap())
}

#[tokio::test]
async fn pg_state_store_is_compare_and_set_on_the_version() {
    let Some(store) = backend("pg_state_cas").await else {
        return;
    };
    contract::check_compare_and_set(&store).await.unwrap();
}

#[tokio::test]
async fn pg_state_store_lists_every_state_sorted_by_key() {
    let Some(store) = backend("pg_state_list").await else {
        return;
    };
    contract::check_listing(&store).await.unwrap();
}

#[tokio::test]
async fn pg_state_store_is_shared_by_two_backends_on_one_schema() {
    let Some(first) = backend("pg_state_shared").await else {
        return;
    };
    let url = database_url().unwrap().unwrap();
    let second = PgBackend::connect_with(
        &url,
        PgOptions {
            schema: first.schema().to_owned(),
            ..PgOptions::default()
        },
    )
    .await
    .unwrap();
    let key = contract::payments_key();
    first.put(&key, None, json!({"n": 1})).await.unwrap();
    // The second process-like backend sees the write, and compare-and-set holds across them.
    let err = second.put(&key, None, json!({"n": 2})).await.unwrap_err();
    assert!(
        matches!(
            err,
            StateError::Conflict {
                actual: Some(Version(1)),
                ..
            }
        ),
        "{err}"
    );
    let got = second.get(&key).await.unwrap().unwrap();
    assert_eq!((got.version, got.value), (Version(1), json!({"n": 1})));
}

#[tokio::test]
async fn pg_state_store_keeps_none_and_empty_scopes_apart() {
    let Some(store) = backend("pg_state_scopes").await else {
        return;
    };
    let none = StateKey::new(Capability::FetchAccounts);
    let empty = StateKey::new(Capability::FetchAccounts).for_psu("");
    store.put(&none, None, json!("none")).await.unwrap();
    store.put(&empty, None, json!("empty")).await.unwrap();
    assert_eq!(
        store.get(&none).await.unwrap().unwrap().value,
        json!("none")
    );
    assert_eq!(
        store.get(&empty).await.unwrap().unwrap().value,
        json!("empty")
    );
    let listed: Vec<StateKey> = store
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.0)
        .collect();
    assert_eq!(listed, [none, empty]);
}

#[tokio::test]
async fn pg_concurrent_writers_on_one_version_have_exactly_one_winner() {
    let Some(store) = backend("pg_state_race").await else {
        return;
    };
    let key = contract::payments_key();
    let v1 = store.put(&key, None, json!(0)).await.unwrap();
    let writers: Vec<_> = (0..8)
        .map(|n| {
            let store = store.clone();
            let key = key.clone();
            tokio::spawn(async move { store.put(&key, Some(v1), json!(n)).await })
        })
        .collect();
    let mut won = 0;
    for writer in writers {
        match writer.await.unwrap() {
            Ok(version) => {
                assert_eq!(version, Version(2));
                won += 1;
            }
            Err(StateError::Conflict { actual, .. }) => assert_eq!(actual, Some(Version(2))),
            Err(other) => panic!("unexpected error: {other}"),
        }
    }
    assert_eq!(won, 1, "exactly one writer of version 1 wins");
}

#[tokio::test]
async fn pg_schema_is_migrated_once_and_versioned() {
    let Some(backend) = backend("pg_schema").await else {
        return;
    };
    let latest = schema_version_of_this_build();
    assert!(latest >= 2, "{latest}");
    assert_eq!(backend.schema_version().await.unwrap(), latest);
    // Connecting again (another replica starting) applies nothing twice.
    let url = database_url().unwrap().unwrap();
    let options = PgOptions {
        schema: backend.schema().to_owned(),
        ..PgOptions::default()
    };
    let (a, b) = tokio::join!(
        PgBackend::connect_with(&url, options.clone()),
        PgBackend::connect_with(&url, options.clone())
    );
    a.unwrap();
    b.unwrap();
    let client = backend.pool().get().await.unwrap();
    let rows = client
        .query(
            "SELECT version, name FROM schema_version ORDER BY version",
            &[],
        )
        .await
        .unwrap();
    let versions: Vec<(i32, String)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    assert_eq!(versions[0], (1, "init".to_owned()));
    assert_eq!(versions[1], (2, "sync_requests".to_owned()));
    let numbers: Vec<i32> = versions.iter().map(|v| v.0).collect();
    assert_eq!(
        numbers,
        (1..=latest).collect::<Vec<_>>(),
        "each applied once"
    );
    // A schema migrated by a newer build is refused with a clear error.
    client
        .execute(
            "INSERT INTO schema_version (version, name) VALUES (99, 'future')",
            &[],
        )
        .await
        .unwrap();
    let err = PgBackend::connect_with(&url, options).await.unwrap_err();
    assert!(
        matches!(
            err,
            PgError::SchemaTooNew {
                found: 99,
                known
            } if known == latest
        ),
        "{err}"
    );
}

#[tokio::test]
async fn pg_bad_urls_and_schema_names_are_refused_with_a_reason() {
    let err = PgBackend::connect("mysql://nope").await.unwrap_err();
    assert!(matches!(err, PgError::Url { .. }), "{err}");
    assert!(err.to_string().contains("expected postgres://"), "{err}");
    for name in [
        "",
        "Upper",
        "1st",
        "semi;colon",
        "quote\"d",
        &"x".repeat(64),
    ] {
        let err = PgBackend::connect_with(
            "postgres://u@127.0.0.1:1/db",
            PgOptions {
                schema: name.to_owned(),
                ..PgOptions::default()
            },
        )
        .await
        .unwrap_err();
        assert!(matches!(err, PgError::Schema { .. }), "{name:?}: {err}");
    }
}

#[tokio::test]
async fn pg_unreachable_server_error_names_the_target_without_the_password() {
    // Port 1 on loopback: nothing listens.
    let err = PgBackend::connect("postgres://user:s3cret-pw@127.0.0.1:1/powens")
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, PgError::Connect { .. }), "{message}");
    assert!(message.contains("127.0.0.1:1/powens"), "{message}");
    assert!(message.contains("cargo xtask pg start"), "{message}");
    assert!(!message.contains("s3cret-pw"), "{message}");
    assert!(!format!("{err:?}").contains("s3cret-pw"));
}
