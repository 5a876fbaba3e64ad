//! An in-memory [`StateStore`], for tests and one-shot runs.

use std::collections::HashMap;
use std::sync::Mutex;

use futures::future::{self, BoxFuture};
use futures::FutureExt;

use super::store::next_version;
use super::{StateError, StateKey, StateStore, Version, Versioned};

/// States in a map; lost when dropped.
#[derive(Debug, Default)]
pub struct MemoryStateStore {
    states: Mutex<HashMap<StateKey, Versioned>>,
}

impl MemoryStateStore {
    /// An empty store.
    pub fn new() -> Self {
        MemoryStateStore::default()
    }

    /// How many states are stored.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no state is stored.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<StateKey, Versioned>> {
        // A panic while holding the lock cannot leave a half-written entry (inserts are
        // single operations), so a poisoned map is still consistent.
        self.states.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl StateStore for MemoryStateStore {
    fn get<'a>(
        &'a self,
        key: &'a StateKey,
    ) -> BoxFuture<'a, Result<Option<Versioned>, StateError>> {
        future::ready(Ok(self.lock().get(key).cloned())).boxed()
    }

    fn put<'a>(
        &'a self,
        key: &'a StateKey,
        expected: Option<Version>,
        value: serde_json::Value,
    ) -> BoxFuture<'a, Result<Version, StateError>> {
        let mut states = self.lock();
        let actual = states.get(key).map(|v| v.version);
        let result = if actual == expected {
            let version = next_version(actual);
            states.insert(key.clone(), Versioned { version, value });
            Ok(version)
        } else {
            Err(StateError::Conflict {
                key: key.to_string(),
                expected,
                actual,
            })
        };
        future::ready(result).boxed()
    }

    fn delete<'a>(
        &'a self,
        key: &'a StateKey,
        expected: Version,
    ) -> BoxFuture<'a, Result<(), StateError>> {
        let mut states = self.lock();
        let actual = states.get(key).map(|v| v.version);
        let result = if actual == Some(expected) {
            states.remove(key);
            Ok(())
        } else {
            Err(StateError::Conflict {
                key: key.to_string(),
                expected: Some(expected),
                actual,
            })
        };
        future::ready(result).boxed()
    }

    fn list(&self) -> BoxFuture<'_, Result<Vec<(StateKey, Versioned)>, StateError>> {
        let mut states: Vec<(StateKey, Versioned)> = self
            .lock()
            .iter()
            .map(|(key, versioned)| (key.clone(), versioned.clone()))
            .collect();
        states.sort_by(|a, b| a.0.cmp(&b.0));
        future::ready(Ok(states)).boxed()
    }
}
