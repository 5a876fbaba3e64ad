//! The service's PSUs and open link attempts, kept in the state store (so a restart finds
//! them) and mirrored in memory (one process per store: `FileStateStore` takes a lock).
//!
//! Keys: capability `TRANSLATE_WEBHOOKS`, no PSU scope, parent `service/psu/<id>` (value: the
//! PSU and its forwarded user, with the Powens token), `service/attempt/<id>` (value: the
//! attempt) and `service/last-sync` (value: PSU id → end of its last successful sync, written
//! by [`Registry::flush_last_syncs`], merged with what is stored so that a time never goes
//! back). The engine's own keys (`psp-user/…`, `webhook/…`) never start with `service/`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Utc};
use connector_core::engine::{PsuSource, SyncGate, SyncPermit, SyncReason};
use connector_core::model::Capability;
use connector_core::openbanking::{CallbackState, ForwardedUser, PaymentServiceUser};
use connector_core::state::{StateError, StateKey, StateStore};
use connector_core::ConnectorError;
use futures::future::BoxFuture;
use futures::FutureExt;
use serde::{Deserialize, Serialize};

const PSU_PREFIX: &str = super::PSU_STATE_PREFIX;
const ATTEMPT_PREFIX: &str = "service/attempt/";
const LAST_SYNC_KEY: &str = "service/last-sync";

/// How long the syncs of a PSU deleted through this process are refused: far longer than a
/// webhook or a link callback in flight during the DELETE, or a triggered sync waiting for its
/// turn; short enough that the id can be given to a new PSU through another replica.
pub(crate) const DELETED_SYNCS_REFUSED: std::time::Duration = std::time::Duration::from_secs(600);

/// One PSU of the service, as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PsuEntry {
    pub psu: PaymentServiceUser,
    #[serde(with = "shared")]
    pub user: Arc<ForwardedUser>,
}

/// `Arc<ForwardedUser>` as the user itself (serde's `rc` feature is off in the workspace).
mod shared {
    use std::sync::Arc;

    use connector_core::openbanking::ForwardedUser;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(user: &Arc<ForwardedUser>, s: S) -> Result<S::Ok, S::Error> {
        user.as_ref().serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Arc<ForwardedUser>, D::Error> {
        ForwardedUser::deserialize(d).map(Arc::new)
    }
}

/// Which Webview flow an attempt is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum AttemptKind {
    Connect,
    Reconnect,
}

/// An open link attempt, as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AttemptEntry {
    pub id: String,
    pub psu_id: String,
    pub kind: AttemptKind,
    pub state: CallbackState,
    #[serde(rename = "clientRedirectURL")]
    pub client_redirect_url: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Default)]
struct Inner {
    psus: BTreeMap<String, PsuEntry>,
    attempts: BTreeMap<String, AttemptEntry>,
    last_sync: BTreeMap<String, DateTime<Utc>>,
    /// `last_sync` changed since the last flush.
    last_sync_dirty: bool,
    /// PSUs deleted through this process, and when: their syncs are refused for
    /// [`DELETED_SYNCS_REFUSED`] (or until the id is created again here).
    deleted: BTreeMap<String, std::time::Instant>,
}

/// PSUs and attempts: the store is the truth, memory the fast copy.
pub(crate) struct Registry {
    store: Arc<dyn StateStore>,
    inner: Mutex<Inner>,
}

fn key(prefix: &str, id: &str) -> StateKey {
    StateKey::new(Capability::TranslateWebhooks).for_parent(format!("{prefix}{id}"))
}

fn encode(key: &StateKey, value: &impl Serialize) -> Result<serde_json::Value, StateError> {
    serde_json::to_value(value).map_err(|source| StateError::Encode {
        key: key.to_string(),
        source,
    })
}

impl Registry {
    /// Reads every stored PSU and attempt.
    pub async fn load(store: Arc<dyn StateStore>) -> Result<Self, StateError> {
        let inner = Self::read(&store).await?;
        Ok(Self {
            store,
            inner: Mutex::new(inner),
        })
    }

    /// Reads the store again (PSUs and attempts another process sharing the store added or
    /// removed, and the last syncs it stored); for each PSU still there the later last sync of
    /// the stored one and this process's own is kept.
    pub async fn reload(&self) -> Result<(), StateError> {
        let fresh = Self::read(&self.store).await?;
        let mut inner = self.lock();
        let mut last_sync = fresh.last_sync;
        for (id, at) in std::mem::take(&mut inner.last_sync) {
            let kept = last_sync.entry(id).or_insert(at);
            *kept = (*kept).max(at);
        }
        inner.psus = fresh.psus;
        inner.attempts = fresh.attempts;
        inner.last_sync = last_sync
            .into_iter()
            .filter(|(id, _)| inner.psus.contains_key(id))
            .collect();
        Ok(())
    }

    /// The stored PSUs and attempts.
    async fn read(store: &Arc<dyn StateStore>) -> Result<Inner, StateError> {
        let mut inner = Inner::default();
        // Only the service's own states: with many PSUs the store holds many more (their
        // sync states), which a file store then never reads.
        let own = |key: &StateKey| key.is_unscoped_under(Capability::TranslateWebhooks, "service/");
        for (key, stored) in store.list_matching(&own).await? {
            let Some(parent) = key.scope.parent.as_deref() else {
                continue;
            };
            if parent == LAST_SYNC_KEY {
                match serde_json::from_value::<BTreeMap<String, DateTime<Utc>>>(stored.value) {
                    Ok(times) => inner.last_sync = times,
                    Err(error) => {
                        tracing::warn!(%error, "stored last sync times unreadable, skipped")
                    }
                }
            } else if let Some(id) = parent.strip_prefix(PSU_PREFIX) {
                match serde_json::from_value::<PsuEntry>(stored.value) {
                    Ok(entry) => {
                        inner.psus.insert(id.to_owned(), entry);
                    }
                    Err(error) => {
                        tracing::warn!(psu = id, %error, "stored PSU unreadable, skipped")
                    }
                }
            } else if let Some(id) = parent.strip_prefix(ATTEMPT_PREFIX) {
                if let Ok(entry) = serde_json::from_value::<AttemptEntry>(stored.value) {
                    inner.attempts.insert(id.to_owned(), entry);
                }
            }
        }
        let Inner {
            psus, last_sync, ..
        } = &mut inner;
        last_sync.retain(|id, _| psus.contains_key(id));
        Ok(inner)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn get(&self, id: &str) -> Option<PsuEntry> {
        self.lock().psus.get(id).cloned()
    }

    /// Whether `id` was deleted through this process less than [`DELETED_SYNCS_REFUSED`]
    /// ago (and not created again since).
    pub fn is_deleted(&self, id: &str) -> bool {
        self.lock()
            .deleted
            .get(id)
            .is_some_and(|at| at.elapsed() < DELETED_SYNCS_REFUSED)
    }

    pub fn contains(&self, id: &str) -> bool {
        self.lock().psus.contains_key(id)
    }

    pub fn ids(&self) -> Vec<String> {
        self.lock().psus.keys().cloned().collect()
    }

    pub fn len(&self) -> usize {
        self.lock().psus.len()
    }

    /// The PSU whose Powens user is `psp_user_id`, if any.
    pub fn by_powens_user(&self, psp_user_id: &str) -> Option<PsuEntry> {
        self.lock()
            .psus
            .values()
            .find(|e| e.user.psp_user_id.as_deref() == Some(psp_user_id))
            .cloned()
    }

    pub fn users(&self) -> Vec<Arc<ForwardedUser>> {
        self.lock()
            .psus
            .values()
            .map(|e| Arc::clone(&e.user))
            .collect()
    }

    /// Stores a new PSU; a conflict when the id is taken (in memory or in the store).
    pub async fn insert(&self, entry: PsuEntry) -> Result<bool, StateError> {
        let id = entry.psu.id.clone();
        let key = key(PSU_PREFIX, &id);
        let value = encode(&key, &entry)?;
        match self.store.put(&key, None, value).await {
            Ok(_) => {
                let mut inner = self.lock();
                inner.deleted.remove(&id);
                inner.psus.insert(id, entry);
                Ok(true)
            }
            Err(StateError::Conflict { .. }) => Ok(false),
            Err(other) => Err(other),
        }
    }

    /// Forgets a PSU, its attempts and every state scoped to it. From the start, the PSU
    /// counts as [deleted](Self::is_deleted).
    pub async fn remove(&self, id: &str) -> Result<(), StateError> {
        {
            let mut inner = self.lock();
            let now = std::time::Instant::now();
            inner
                .deleted
                .retain(|_, at| now.duration_since(*at) < DELETED_SYNCS_REFUSED);
            inner.deleted.insert(id.to_owned(), now);
        }
        for (key, stored) in self.store.list().await? {
            let attempt_of_psu = key
                .scope
                .parent
                .as_deref()
                .and_then(|p| p.strip_prefix(ATTEMPT_PREFIX))
                .is_some_and(|a| {
                    self.lock()
                        .attempts
                        .get(a)
                        .is_some_and(|entry| entry.psu_id == id)
                });
            let own = key.scope.psu_id.as_deref() == Some(id)
                || key.scope.parent.as_deref() == Some(&format!("{PSU_PREFIX}{id}"))
                || attempt_of_psu;
            if own {
                match self.store.delete(&key, stored.version).await {
                    Ok(()) | Err(StateError::Conflict { .. }) => {}
                    Err(other) => return Err(other),
                }
            }
        }
        let mut inner = self.lock();
        inner.psus.remove(id);
        inner.attempts.retain(|_, a| a.psu_id != id);
        if inner.last_sync.remove(id).is_some() {
            inner.last_sync_dirty = true;
        }
        Ok(())
    }

    pub async fn insert_attempt(&self, attempt: AttemptEntry) -> Result<(), StateError> {
        let key = key(ATTEMPT_PREFIX, &attempt.id);
        let value = encode(&key, &attempt)?;
        self.store.put(&key, None, value).await?;
        self.lock().attempts.insert(attempt.id.clone(), attempt);
        Ok(())
    }

    pub fn attempt(&self, id: &str) -> Option<AttemptEntry> {
        self.lock().attempts.get(id).cloned()
    }

    /// Forgets a finished attempt (a second callback with its state is then refused).
    pub async fn finish_attempt(&self, id: &str) -> Result<(), StateError> {
        let key = key(ATTEMPT_PREFIX, id);
        if let Some(stored) = self.store.get(&key).await? {
            match self.store.delete(&key, stored.version).await {
                Ok(()) | Err(StateError::Conflict { .. }) => {}
                Err(other) => return Err(other),
            }
        }
        self.lock().attempts.remove(id);
        Ok(())
    }

    pub fn record_sync(&self, psu_id: &str, at: DateTime<Utc>) {
        let mut inner = self.lock();
        if inner.psus.contains_key(psu_id) {
            inner.last_sync.insert(psu_id.to_owned(), at);
            inner.last_sync_dirty = true;
        }
    }

    pub fn last_sync(&self, psu_id: &str) -> Option<DateTime<Utc>> {
        self.lock().last_sync.get(psu_id).copied()
    }

    /// Writes the last sync times to the store when they changed since the last flush: one
    /// state for every PSU (a cycle over many PSUs costs one write a flush, not one per PSU),
    /// merged with the stored times (the later of the two wins, PSUs no longer known are
    /// dropped) under compare-and-set.
    pub async fn flush_last_syncs(&self) -> Result<(), StateError> {
        let times = {
            let mut inner = self.lock();
            if !inner.last_sync_dirty {
                return Ok(());
            }
            inner.last_sync_dirty = false;
            inner.last_sync.clone()
        };
        let key = key(LAST_SYNC_KEY, "");
        let result = async {
            for _ in 0..5 {
                let current = self.store.get(&key).await?;
                let mut merged = times.clone();
                if let Some(stored) = &current {
                    let stored: BTreeMap<String, DateTime<Utc>> =
                        serde_json::from_value(stored.value.clone()).unwrap_or_default();
                    // Times another process sharing the store wrote (replicas) are kept.
                    for (psu, at) in stored {
                        let mine = merged.entry(psu).or_insert(at);
                        *mine = (*mine).max(at);
                    }
                }
                {
                    let inner = self.lock();
                    merged.retain(|psu, _| inner.psus.contains_key(psu));
                }
                let value = encode(&key, &merged)?;
                match self
                    .store
                    .put(&key, current.map(|c| c.version), value)
                    .await
                {
                    Ok(_) => return Ok(()),
                    Err(StateError::Conflict { .. }) => continue,
                    Err(other) => return Err(other),
                }
            }
            Err(StateError::Conflict {
                key: key.to_string(),
                expected: None,
                actual: None,
            })
        }
        .await;
        if result.is_err() {
            self.lock().last_sync_dirty = true;
        }
        result
    }

    /// The most recent successful sync of any PSU.
    pub fn newest_sync(&self) -> Option<DateTime<Utc>> {
        self.lock().last_sync.values().max().copied()
    }
}

/// The engine asks the registry for its PSUs at every cycle.
pub(crate) struct RegistrySource(pub Arc<Registry>);

impl PsuSource for RegistrySource {
    fn psus(&self) -> BoxFuture<'_, Result<Vec<Arc<ForwardedUser>>, ConnectorError>> {
        futures::future::ready(Ok(self.0.users())).boxed()
    }
}

/// The engine's sync gate: refuses the syncs of PSUs deleted through this process (a webhook
/// or a link callback that raced the DELETE would otherwise sync the PSU again, store its
/// states and put its Powens user back in the directory), then asks `next` (the replicas'
/// gate), if any.
pub(crate) struct NotDeleted {
    pub registry: Arc<Registry>,
    pub next: Option<Arc<dyn SyncGate>>,
}

impl SyncGate for NotDeleted {
    fn enter<'a>(
        &'a self,
        psu_id: &'a str,
        reason: SyncReason,
    ) -> BoxFuture<'a, Option<SyncPermit>> {
        if self.registry.is_deleted(psu_id) {
            tracing::info!(psu = psu_id, "sync of a deleted PSU refused");
            return futures::future::ready(None).boxed();
        }
        match &self.next {
            Some(next) => next.enter(psu_id, reason),
            None => futures::future::ready(Some(Box::new(()) as SyncPermit)).boxed(),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use chrono::TimeZone;
    use connector_core::state::MemoryStateStore;

    fn entry(id: &str) -> PsuEntry {
        serde_json::from_value(serde_json::json!({
            "psu": { "id": id, "name": id, "createdAt": "2026-12-07T10:00:00Z" },
            "user": { "psuID": id, "connectorID": "powens", "pspUserID": id }
        }))
        .unwrap()
    }

    fn at(minute: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 7, 12, minute, 0).unwrap()
    }

    /// Two processes sharing one store (replicas): each flushes the syncs it ran, and neither
    /// flush drops the other's times; a reload keeps the later time of each PSU.
    #[tokio::test]
    async fn last_syncs_flushed_by_two_processes_sharing_a_store_are_all_kept() {
        let store: Arc<dyn StateStore> = Arc::new(MemoryStateStore::new());
        let a = Registry::load(Arc::clone(&store)).await.unwrap();
        a.insert(entry("alice")).await.unwrap();
        a.insert(entry("bob")).await.unwrap();
        let b = Registry::load(Arc::clone(&store)).await.unwrap();

        b.record_sync("bob", at(2));
        b.flush_last_syncs().await.unwrap();
        a.record_sync("alice", at(1));
        a.flush_last_syncs().await.unwrap(); // `a` knows nothing of bob's sync
        let fresh = Registry::load(Arc::clone(&store)).await.unwrap();
        assert_eq!(fresh.last_sync("alice"), Some(at(1)));
        assert_eq!(fresh.last_sync("bob"), Some(at(2)));

        b.record_sync("alice", at(0)); // older than what `a` stored
        b.reload().await.unwrap();
        assert_eq!(b.last_sync("alice"), Some(at(1)));
        assert_eq!(b.last_sync("bob"), Some(at(2)));
    }
}
