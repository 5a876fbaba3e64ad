//! The rules every [`StateStore`] keeps, as checks a store's own tests run against it: the
//! memory and file stores here, a database-backed store in its crate.
//!
//! Each check needs an **empty** store and returns the first rule broken.
//!
//! ```
//! # async fn demo() {
//! use connector_core::state::{contract, MemoryStateStore};
//! let store = MemoryStateStore::new();
//! contract::check_compare_and_set(&store).await.unwrap();
//! contract::check_listing(&MemoryStateStore::new()).await.unwrap();
//! # }
//! ```

use serde_json::json;

use super::{StateError, StateKey, StateStore, Version, Versioned};
use crate::model::Capability;

/// A rule of the [`StateStore`] contract that a store broke.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("state store contract broken: {rule} (got {got})")]
pub struct ContractViolation {
    /// The rule, in words.
    pub rule: &'static str,
    /// What the store did instead.
    pub got: String,
}

fn check(
    holds: bool,
    rule: &'static str,
    got: impl std::fmt::Debug,
) -> Result<(), ContractViolation> {
    if holds {
        Ok(())
    } else {
        Err(ContractViolation {
            rule,
            got: format!("{got:?}"),
        })
    }
}

fn ok<T>(result: Result<T, StateError>, rule: &'static str) -> Result<T, ContractViolation> {
    result.map_err(|e| ContractViolation {
        rule,
        got: e.to_string(),
    })
}

/// The key the checks write: `FETCH_PAYMENTS psu=psu-1 parent=acc-42`.
pub fn payments_key() -> StateKey {
    StateKey::new(Capability::FetchPayments)
        .for_psu("psu-1")
        .for_parent("acc-42")
}

/// Compare-and-set: the first write expects no state, a stale writer is refused with
/// [`StateError::Conflict`] carrying the version found, versions count 1, 2, …, scopes are
/// independent, and delete is compare-and-set too.
pub async fn check_compare_and_set(store: &dyn StateStore) -> Result<(), ContractViolation> {
    let key = payments_key();
    let got = ok(store.get(&key).await, "an empty store reads")?;
    check(got.is_none(), "an empty store has no state", got)?;
    let err = store
        .put(&key, Some(Version(1)), json!({"offset": 1}))
        .await;
    check(
        matches!(err, Err(StateError::Conflict { actual: None, .. })),
        "a first write expecting a version is a conflict finding none",
        err,
    )?;
    let v1 = ok(
        store.put(&key, None, json!({"offset": 25})).await,
        "a first write expecting no state succeeds",
    )?;
    check(v1 == Version(1), "the first version is 1", v1)?;
    let err = store.put(&key, None, json!({"offset": 99})).await;
    check(
        matches!(
            err,
            Err(StateError::Conflict {
                actual: Some(Version(1)),
                ..
            })
        ),
        "a stale writer is a conflict naming the version found",
        err,
    )?;
    let v2 = ok(
        store.put(&key, Some(v1), json!({"offset": 50})).await,
        "a writer expecting the current version succeeds",
    )?;
    check(v2 == Version(2), "each write adds 1 to the version", v2)?;
    let got = ok(store.get(&key).await, "a stored state reads")?;
    let expected = Versioned {
        version: Version(2),
        value: json!({"offset": 50}),
    };
    check(
        got.as_ref() == Some(&expected),
        "a read gives the last write and its version, the refused ones left no trace",
        got,
    )?;
    let other = StateKey::new(Capability::FetchPayments)
        .for_psu("psu-2")
        .for_parent("acc-42");
    let got = ok(store.get(&other).await, "another scope reads")?;
    check(got.is_none(), "scopes are independent", got)?;
    let err = store.delete(&key, v1).await;
    check(
        matches!(err, Err(StateError::Conflict { .. })),
        "a delete expecting an old version is a conflict",
        err,
    )?;
    ok(
        store.delete(&key, v2).await,
        "a delete expecting the current version succeeds",
    )?;
    let got = ok(store.get(&key).await, "a deleted state reads")?;
    check(got.is_none(), "a deleted state is gone", got)?;
    let v1 = ok(
        store.put(&key, None, json!(null)).await,
        "a deleted state can be written again from no state",
    )?;
    check(
        v1 == Version(1),
        "a rewritten state starts at version 1",
        v1,
    )
}

/// Listing: every state with its key, version and value, sorted by key.
pub async fn check_listing(store: &dyn StateStore) -> Result<(), ContractViolation> {
    let accounts = StateKey::new(Capability::FetchAccounts).for_psu("psu-1");
    ok(
        store.put(&payments_key(), None, json!({"offset": 3})).await,
        "a first write succeeds",
    )?;
    ok(
        store.put(&accounts, None, json!(null)).await,
        "a first write succeeds",
    )?;
    let listed: Vec<String> = ok(store.list().await, "a store lists its states")?
        .into_iter()
        .map(|(key, v)| format!("{key} {} {}", v.version, v.value))
        .collect();
    check(
        listed
            == [
                "FETCH_ACCOUNTS psu=psu-1 v1 null",
                "FETCH_PAYMENTS psu=psu-1 parent=acc-42 v1 {\"offset\":3}",
            ],
        "the listing has every state with its version and value, sorted by key",
        listed,
    )
}
