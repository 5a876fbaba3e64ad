//! [`FileStateStore`]: the embedded default, one JSON file per state, written atomically.

use std::collections::HashMap;
use std::fs::{self, File, TryLockError};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, SystemTime};

use futures::future::BoxFuture;
use futures::FutureExt;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::private::{create_private_dir, open_private, replace_private_file, sync_dir};
use super::store::next_version;
use super::{StateError, StateKey, StateStore, Version, Versioned};

/// A temporary file this old was left by a killed writer.
const ORPHAN_AGE: Duration = Duration::from_secs(60);

/// Longest key id used as a file name as is; longer ones are hashed.
const MAX_PLAIN_NAME: usize = 180;

/// Stripes of the write locks (see `Inner::write_locks`).
const WRITE_STRIPES: usize = 64;

/// The file whose exclusive lock says which process holds the directory (a dot file: never
/// listed as a state).
const LOCK_FILE: &str = ".lock";

/// The directories this process holds, so that opening one twice shares the store (its
/// lock and its compare-and-set) instead of failing on its own lock.
fn open_stores() -> &'static Mutex<HashMap<PathBuf, Weak<Inner>>> {
    static OPEN: OnceLock<Mutex<HashMap<PathBuf, Weak<Inner>>>> = OnceLock::new();
    OPEN.get_or_init(Mutex::default)
}

/// States in a directory, one file per key, each write atomic and durable: the new content
/// goes to a temporary file in the same directory, which is fsynced, renamed over the old
/// file, and the directory is fsynced. A `kill -9` (or power loss) at any instant leaves
/// either the old or the new state, never a torn one. On unix the directory is created with
/// mode `0700` and every file is written `0600` (see
/// [`write_private_file`](super::write_private_file)).
///
/// **One process per directory.** `open` takes an exclusive lock on the directory's `.lock`
/// file for as long as the store lives (the operating system releases it when the process
/// ends, `kill -9` included); a second process gets [`StateError::Locked`]. Within the
/// process, opening the same directory again gives the same store, so compare-and-set holds
/// across every value and clone. Sharing states between processes is what a
/// database-backed store behind the same trait is for.
#[derive(Debug, Clone)]
pub struct FileStateStore {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    dir: PathBuf,
    /// One lock per stripe of keys: a write holds its key's lock from the version check to
    /// the rename, so writes of one key are one at a time while writes of different keys run
    /// side by side (their fsyncs overlap instead of queueing).
    write_locks: Box<[Mutex<()>]>,
    /// The group commit of the directory's entries (see `Inner::sync_dir`).
    dir_sync: DirSync,
    /// Holds the directory's exclusive lock while open.
    _lock: File,
}

/// Directory changes (renames, removals) counted, and how many an fsync of the directory
/// has covered.
#[derive(Debug, Default)]
struct DirSync {
    changed: AtomicU64,
    synced: Mutex<u64>,
    /// Directory fsyncs made.
    fsyncs: AtomicU64,
}

/// The file content.
#[derive(Serialize, Deserialize)]
struct StoredState {
    key: StateKey,
    version: Version,
    value: serde_json::Value,
}

/// Parses a state file's bytes; a file that is not a stored state is [`StateError::Corrupt`].
fn decode(path: &Path, bytes: &[u8]) -> Result<StoredState, StateError> {
    serde_json::from_slice(bytes).map_err(|e| StateError::Corrupt {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> StateError + '_ {
    move |source| StateError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Removes the temporary files of `dir` that a killed writer left (older than
/// [`ORPHAN_AGE`]).
fn remove_orphans(dir: &Path) -> Result<(), StateError> {
    let now = SystemTime::now();
    for entry in fs::read_dir(dir).map_err(io_error(dir))? {
        let entry = entry.map_err(io_error(dir))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if !(name.starts_with('.') && name.ends_with(".tmp")) {
            continue;
        }
        let age = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|modified| now.duration_since(modified).ok());
        if age.is_some_and(|age| age >= ORPHAN_AGE) {
            let path = entry.path();
            match fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                Err(e) => return Err(io_error(&path)(e)),
            }
        }
    }
    Ok(())
}

impl FileStateStore {
    /// Opens (creating it if needed) the store in `dir`, takes the directory's exclusive
    /// lock, and removes temporary files a killed writer left behind (those older than a
    /// minute: a live writer's temporary file exists for milliseconds, and must not be
    /// pulled from under it).
    ///
    /// Opening a directory this process already holds returns the same store.
    ///
    /// # Errors
    ///
    /// [`StateError::Locked`] when another process holds the directory;
    /// [`StateError::Io`] when it cannot be created, read or locked.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Self, StateError> {
        let dir = dir.into();
        create_private_dir(&dir).map_err(io_error(&dir))?;
        let canonical = fs::canonicalize(&dir).map_err(io_error(&dir))?;
        // The registry's data stays consistent even if a holder panicked.
        let mut open = open_stores().lock().unwrap_or_else(|e| e.into_inner());
        if let Some(inner) = open.get(&canonical).and_then(Weak::upgrade) {
            return Ok(FileStateStore { inner });
        }
        let lock_path = dir.join(LOCK_FILE);
        let lock = open_private(&lock_path, false).map_err(io_error(&lock_path))?;
        // A store of this process that is being dropped (its last handle gone, its lock file
        // not yet closed, perhaps on a blocking thread) still holds the lock for a moment:
        // wait for it rather than report another process.
        let ours_closing = open.contains_key(&canonical);
        let mut waits = 0;
        loop {
            match lock.try_lock() {
                Ok(()) => break,
                Err(TryLockError::WouldBlock) if ours_closing && waits < 200 => {
                    waits += 1;
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(TryLockError::WouldBlock) => return Err(StateError::Locked { dir }),
                Err(TryLockError::Error(e)) => return Err(io_error(&lock_path)(e)),
            }
        }
        remove_orphans(&dir)?;
        let inner = Arc::new(Inner {
            dir,
            write_locks: (0..WRITE_STRIPES).map(|_| Mutex::new(())).collect(),
            dir_sync: DirSync::default(),
            _lock: lock,
        });
        open.retain(|_, held| held.strong_count() > 0);
        open.insert(canonical, Arc::downgrade(&inner));
        Ok(FileStateStore { inner })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// The file that holds `key`'s state.
    pub fn path_of(&self, key: &StateKey) -> PathBuf {
        self.inner.path_of(key)
    }

    /// Every stored state with its key, sorted by key (for inspection and resets).
    pub async fn list(&self) -> Result<Vec<(StateKey, Versioned)>, StateError> {
        self.blocking(|inner| inner.list()).await
    }

    async fn blocking<T: Send + 'static>(
        &self,
        job: impl FnOnce(&Inner) -> Result<T, StateError> + Send + 'static,
    ) -> Result<T, StateError> {
        let inner = Arc::clone(&self.inner);
        let dir = inner.dir.clone();
        tokio::task::spawn_blocking(move || job(&inner))
            .await
            .map_err(|e| StateError::Io {
                path: dir,
                source: std::io::Error::other(e),
            })?
    }
}

/// The key a plain state file name stands for: the base64url of the key's JSON
/// ([`StateKey::id`]); `None` for a hashed name (a long key: read the file) or anything else.
fn key_of_file(path: &Path) -> Option<StateKey> {
    use base64::Engine as _;
    let name = path.file_name()?.to_str()?;
    let id = name.strip_suffix(".json")?;
    if id.starts_with("h-") {
        return None;
    }
    let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(id)
        .ok()?;
    serde_json::from_slice(&json).ok()
}

impl Inner {
    fn path_of(&self, key: &StateKey) -> PathBuf {
        let id = key.id();
        let name = if id.len() <= MAX_PLAIN_NAME {
            id
        } else {
            let digest = Sha256::digest(id.as_bytes());
            let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
            format!("h-{hex}")
        };
        self.dir.join(format!("{name}.json"))
    }

    fn read(&self, key: &StateKey) -> Result<Option<Versioned>, StateError> {
        let path = self.path_of(key);
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_error(&path)(e)),
        };
        let stored = decode(&path, &bytes)?;
        if &stored.key != key {
            return Err(StateError::Corrupt {
                path,
                message: format!("file holds the state of {}, not {key}", stored.key),
            });
        }
        Ok(Some(Versioned {
            version: stored.version,
            value: stored.value,
        }))
    }

    fn list(&self) -> Result<Vec<(StateKey, Versioned)>, StateError> {
        let mut states = self.read_states(self.state_files()?)?;
        states.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(states)
    }

    /// The state files of the directory (not the lock, not temporary files).
    fn state_files(&self) -> Result<Vec<PathBuf>, StateError> {
        let mut files = Vec::new();
        for entry in fs::read_dir(&self.dir).map_err(io_error(&self.dir))? {
            let path = entry.map_err(io_error(&self.dir))?.path();
            let is_state = path.extension().is_some_and(|e| e == "json")
                && !path
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'));
            if is_state {
                files.push(path);
            }
        }
        Ok(files)
    }

    /// The states of `files` (a file deleted since the listing is left out).
    fn read_states(&self, files: Vec<PathBuf>) -> Result<Vec<(StateKey, Versioned)>, StateError> {
        let mut states = Vec::with_capacity(files.len());
        for path in files {
            let bytes = match fs::read(&path) {
                Ok(bytes) => bytes,
                // deleted since the listing
                Err(e) if e.kind() == ErrorKind::NotFound => continue,
                Err(e) => return Err(io_error(&path)(e)),
            };
            let stored = decode(&path, &bytes)?;
            states.push((
                stored.key,
                Versioned {
                    version: stored.version,
                    value: stored.value,
                },
            ));
        }
        Ok(states)
    }

    /// The stripe of `key`'s write lock.
    fn stripe(key: &StateKey) -> usize {
        use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
        let hash = BuildHasherDefault::<DefaultHasher>::default().hash_one(key);
        usize::try_from(hash % WRITE_STRIPES as u64).unwrap_or(0)
    }

    fn lock(&self, key: &StateKey) -> std::sync::MutexGuard<'_, ()> {
        // The guarded data is `()`: poisoning carries no broken invariant.
        self.write_locks[Self::stripe(key)]
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    fn check(
        &self,
        key: &StateKey,
        expected: Option<Version>,
    ) -> Result<Option<Version>, StateError> {
        let actual = self.read(key)?.map(|v| v.version);
        if actual == expected {
            Ok(actual)
        } else {
            Err(StateError::Conflict {
                key: key.to_string(),
                expected,
                actual,
            })
        }
    }

    fn put(
        &self,
        key: &StateKey,
        expected: Option<Version>,
        value: serde_json::Value,
    ) -> Result<Version, StateError> {
        let _guard = self.lock(key);
        let version = next_version(self.check(key, expected)?);
        let stored = StoredState {
            key: key.clone(),
            version,
            value,
        };
        let mut bytes = serde_json::to_vec(&stored).map_err(|source| StateError::Encode {
            key: key.to_string(),
            source,
        })?;
        bytes.push(b'\n');
        self.write_atomic(&self.path_of(key), &bytes)?;
        Ok(version)
    }

    fn delete(&self, key: &StateKey, expected: Version) -> Result<(), StateError> {
        let _guard = self.lock(key);
        self.check(key, Some(expected))?;
        let path = self.path_of(key);
        fs::remove_file(&path).map_err(io_error(&path))?;
        self.sync_dir()
    }

    /// Replaces `path`'s content atomically and durably (see [`FileStateStore`]); the
    /// directory's fsync is shared with the writes of other keys running at the same time.
    fn write_atomic(&self, path: &Path, bytes: &[u8]) -> Result<(), StateError> {
        replace_private_file(path, bytes).map_err(io_error(path))?;
        self.sync_dir()
    }

    /// Makes every rename and removal done so far durable: returns at once when an fsync of
    /// the directory that started after them has ended, else runs one (covering the entries
    /// of every write that reached this point by then). Writers of other keys wait on the
    /// same lock and mostly find themselves covered: one directory fsync for many writes.
    fn sync_dir(&self) -> Result<(), StateError> {
        let sync = &self.dir_sync;
        let mine = sync.changed.fetch_add(1, Ordering::SeqCst) + 1;
        // The guarded count stays meaningful even if a holder panicked.
        let mut synced = sync.synced.lock().unwrap_or_else(|e| e.into_inner());
        if *synced >= mine {
            return Ok(());
        }
        let covers = sync.changed.load(Ordering::SeqCst);
        sync_dir(&self.dir).map_err(io_error(&self.dir))?;
        *synced = covers;
        sync.fsyncs.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

impl StateStore for FileStateStore {
    fn get<'a>(
        &'a self,
        key: &'a StateKey,
    ) -> BoxFuture<'a, Result<Option<Versioned>, StateError>> {
        let key = key.clone();
        self.blocking(move |inner| inner.read(&key)).boxed()
    }

    fn put<'a>(
        &'a self,
        key: &'a StateKey,
        expected: Option<Version>,
        value: serde_json::Value,
    ) -> BoxFuture<'a, Result<Version, StateError>> {
        let key = key.clone();
        self.blocking(move |inner| inner.put(&key, expected, value))
            .boxed()
    }

    fn delete<'a>(
        &'a self,
        key: &'a StateKey,
        expected: Version,
    ) -> BoxFuture<'a, Result<(), StateError>> {
        let key = key.clone();
        self.blocking(move |inner| inner.delete(&key, expected))
            .boxed()
    }

    fn list(&self) -> BoxFuture<'_, Result<Vec<(StateKey, Versioned)>, StateError>> {
        FileStateStore::list(self).boxed()
    }

    /// Reads only the files whose name is a kept key (and those with a hashed name, whose
    /// key is in the file), so the other states are never in memory.
    fn list_matching<'a>(
        &'a self,
        keep: &'a (dyn Fn(&StateKey) -> bool + Send + Sync),
    ) -> BoxFuture<'a, Result<Vec<(StateKey, Versioned)>, StateError>> {
        async move {
            let files = self.blocking(|inner| inner.state_files()).await?;
            let wanted: Vec<PathBuf> = files
                .into_iter()
                .filter(|path| key_of_file(path).is_none_or(|key| keep(&key)))
                .collect();
            let mut states = self
                .blocking(move |inner| inner.read_states(wanted))
                .await?;
            states.retain(|(key, _)| keep(key));
            states.sort_by(|a, b| a.0.cmp(&b.0));
            Ok(states)
        }
        .boxed()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::model::Capability;

    fn key(n: usize) -> StateKey {
        StateKey::new(Capability::FetchPayments).for_psu(format!("psu-{n}"))
    }

    #[test]
    fn writes_waiting_for_the_directory_fsync_share_one_and_writes_in_turn_get_one_each() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileStateStore::open(dir.path()).unwrap();
        let inner = Arc::clone(&store.inner);
        let fsyncs = || inner.dir_sync.fsyncs.load(Ordering::Relaxed);
        // 8 keys of 8 different stripes (so that no writer waits for another's stripe).
        let mut stripes = std::collections::BTreeSet::new();
        let keys: Vec<StateKey> = (0..)
            .map(key)
            .filter(|k| stripes.insert(Inner::stripe(k)))
            .take(8)
            .collect();
        // Hold the directory's sync while the 8 writers reach it.
        let held = inner.dir_sync.synced.lock().unwrap();
        let writers: Vec<_> = keys
            .into_iter()
            .map(|key| {
                let inner = Arc::clone(&inner);
                std::thread::spawn(move || inner.put(&key, None, serde_json::json!(1)))
            })
            .collect();
        while inner.dir_sync.changed.load(Ordering::SeqCst) < 8 {
            std::thread::yield_now();
        }
        drop(held);
        for writer in writers {
            assert_eq!(writer.join().unwrap().unwrap(), Version(1));
        }
        assert_eq!(fsyncs(), 1, "one directory fsync for the 8 renames");
        for n in 1000..1003 {
            inner.put(&key(n), None, serde_json::json!(n)).unwrap();
        }
        assert_eq!(fsyncs(), 4, "then one per write");
        assert_eq!(inner.list().unwrap().len(), 11);
    }
}
