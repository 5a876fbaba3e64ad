//! The [`StateStore`] contract: versioned values with compare-and-set.

use std::fmt;
use std::path::PathBuf;

use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};

use super::StateKey;

/// The version of a stored state: 1 after the first write, +1 per write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Version(pub u64);

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}", self.0)
    }
}

/// A stored state with its version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Versioned {
    /// The version of `value`.
    pub version: Version,
    /// The task's state.
    pub value: serde_json::Value,
}

/// Why a state could not be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StateError {
    /// Someone else wrote the state since it was read.
    #[error("state {key} changed concurrently: expected {expected:?}, found {actual:?}")]
    Conflict {
        /// The key.
        key: String,
        /// The version the writer expected (`None`: no state yet).
        expected: Option<Version>,
        /// The version found.
        actual: Option<Version>,
    },
    /// The storage failed.
    #[error("state storage failed at {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Another process holds the state directory (one process per directory).
    #[error(
        "state directory {dir} is in use by another process: one process per state directory \
         (stop the other one, or give this one another directory)"
    )]
    Locked {
        /// The directory.
        dir: PathBuf,
    },
    /// A stored state is not readable.
    #[error("stored state at {path} is corrupt: {message}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A database-backed store failed (connection, query, transaction).
    #[error("state database failed while {operation}: {source}")]
    Database {
        /// What the store was doing, e.g. `"writing FETCH_PAYMENTS psu=psu-1"`.
        operation: String,
        /// The driver's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The state cannot be encoded.
    #[error("state for {key} cannot be encoded: {source}")]
    Encode {
        /// The key.
        key: String,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
}

/// Versioned storage of task states with compare-and-set, so that several engines may
/// share one store.
pub trait StateStore: Send + Sync {
    /// The state under `key`, if any.
    fn get<'a>(&'a self, key: &'a StateKey)
        -> BoxFuture<'a, Result<Option<Versioned>, StateError>>;

    /// Writes `value` under `key` if its current version is `expected` (`None`: no state
    /// yet); returns the new version, or [`StateError::Conflict`].
    fn put<'a>(
        &'a self,
        key: &'a StateKey,
        expected: Option<Version>,
        value: serde_json::Value,
    ) -> BoxFuture<'a, Result<Version, StateError>>;

    /// Removes the state under `key` (the task starts over), if its version is `expected`.
    fn delete<'a>(
        &'a self,
        key: &'a StateKey,
        expected: Version,
    ) -> BoxFuture<'a, Result<(), StateError>>;

    /// Every stored state with its key, sorted by key: for inspection, resets and pruning
    /// (e.g. the processed-webhook keys a long-running receiver records).
    fn list(&self) -> BoxFuture<'_, Result<Vec<(StateKey, Versioned)>, StateError>>;

    /// The stored states whose key `keep` accepts, sorted by key. The default filters
    /// [`StateStore::list`]; a store that can read its keys apart from their values
    /// ([`FileStateStore`](super::FileStateStore): from the file names) reads only the kept
    /// values, so that looking for a few states among many holds only those in memory.
    fn list_matching<'a>(
        &'a self,
        keep: &'a (dyn Fn(&StateKey) -> bool + Send + Sync),
    ) -> BoxFuture<'a, Result<Vec<(StateKey, Versioned)>, StateError>> {
        Box::pin(async move {
            let mut states = self.list().await?;
            states.retain(|(key, _)| keep(key));
            Ok(states)
        })
    }
}

/// The next version after `current`.
pub(crate) fn next_version(current: Option<Version>) -> Version {
    Version(current.map_or(1, |v| v.0.saturating_add(1)))
}
