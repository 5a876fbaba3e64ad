//! Replicas sharing the PSUs of one schema: [`PsuLeases`], each PSU synced by one replica at
//! a time, with PostgreSQL's session advisory locks.
//!
//! Every replica keeps one dedicated connection (its *session*, outside the pool) and holds
//! on it:
//!
//! * a lock naming the replica (key class `replicas` of the schema), so that every replica
//!   can count the live ones in `pg_locks`;
//! * one lock per PSU it syncs (key class `psus` of the schema, the PSU id hashed).
//!
//! [`PsuLeases::rebalance`], run every [`ReplicaOptions::tick`], takes free PSUs until the
//! replica holds its share (`ceil(PSUs / live replicas)`) and lets go of the surplus that is
//! not syncing, so the PSUs spread evenly and move when replicas come and go. The engine
//! asks the leases before each PSU's sync ([`SyncGate`]): a PSU held by another replica is
//! skipped, and a sync asked for it (a webhook, a completed link) is passed on to its holder
//! through the table `sync_requests`, which the holder reads at its next round.
//!
//! **A dead replica**: PostgreSQL releases a session's locks when the session ends. A killed
//! process's socket is closed by its kernel, so its PSUs are free at once and taken at the
//! next tick of another replica (≤ 2 s by default). A frozen process or a vanished host is
//! cut by the server: the session's `idle_session_timeout` (15 s; a live replica uses its
//! session every tick) and TCP keepalives (probe after 5 s idle, every 5 s, 3 probes: 20 s)
//! end it. The bound stated: **a dead replica's PSUs are taken over within 22 s** (20 s for
//! the server to end its session, plus one tick), **2 s when its process died**. A replica
//! that loses its own session stops starting syncs until it has a new one.
//!
//! Locks only say who syncs; correctness does not rest on them: every page's records and
//! state commit in one transaction with a compare-and-set on the state's version, so two
//! syncs of one PSU overlapping in a hand-over (a sync that outlives its replica's session)
//! cannot store a page twice: the loser's transaction rolls back.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use connector_core::engine::{SyncGate, SyncPermit, SyncReason};
use futures::future::BoxFuture;
use futures::FutureExt;

use crate::backend::PgBackend;
use crate::error::PgError;

/// How a replica coordinates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicaOptions {
    /// The replica's name, unique among the live replicas of a schema; shown as the session's
    /// `application_name` (`powens replica <name>`), so `pg_stat_activity` says who holds
    /// what.
    pub name: String,
    /// How often [`PsuLeases::rebalance`] should run (the caller's loop). Default 2 s.
    pub tick: Duration,
    /// The server ends the session when it stays idle this long (a frozen replica).
    /// Default 15 s.
    pub idle_session_timeout: Duration,
}

impl ReplicaOptions {
    /// The defaults for a replica named `name`.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            tick: Duration::from_secs(2),
            idle_session_timeout: Duration::from_secs(15),
        }
    }
}

/// 32-bit FNV-1a of `text`, as a non-negative `int4` (advisory lock keys show unsigned in
/// `pg_locks`; non-negative keys read the same both ways).
fn key_of(text: &str) -> i32 {
    let mut hash: u32 = 0x811c_9dc5;
    for byte in text.bytes() {
        hash ^= u32::from(byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    i32::try_from(hash & 0x7fff_ffff).unwrap_or(0)
}

/// The advisory lock key `(class, object)` of `psu_id` in `schema`: who holds it is in
/// `pg_locks` (`classid`, `objid`, `objsubid = 2`).
pub fn psu_lock_key(schema: &str, psu_id: &str) -> (i32, i32) {
    (key_of(&format!("{schema} psus")), key_of(psu_id))
}

fn replica_lock_key(schema: &str, name: &str) -> (i32, i32) {
    (key_of(&format!("{schema} replicas")), key_of(name))
}

/// What the replica holds, shared with its permits.
#[derive(Default)]
struct Held {
    /// PSU id → its lock object key.
    psus: BTreeMap<String, i32>,
    /// PSU id → syncs running under a permit.
    syncing: BTreeMap<String, usize>,
    /// Whether the session is up (else no permit is given).
    connected: bool,
}

/// The result of one [`PsuLeases::rebalance`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rebalanced {
    /// PSUs taken by this call (sync them now: their previous holder may have died
    /// mid-sync).
    pub acquired: Vec<String>,
    /// PSUs held whose sync another replica asked for (table `sync_requests`): sync them
    /// now.
    pub requested: Vec<String>,
    /// PSUs let go by this call.
    pub released: Vec<String>,
    /// PSUs held after it.
    pub held: usize,
    /// Live replicas counted (this one included).
    pub replicas: usize,
}

/// The PSUs this replica holds (see the module docs). It is the engine's [`SyncGate`].
pub struct PsuLeases {
    backend: PgBackend,
    options: ReplicaOptions,
    psu_class: i32,
    replica_key: (i32, i32),
    session: tokio::sync::Mutex<Option<deadpool_postgres::ClientWrapper>>,
    held: Arc<Mutex<Held>>,
}

impl std::fmt::Debug for PsuLeases {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PsuLeases")
            .field("schema", &self.backend.schema())
            .field("name", &self.options.name)
            .finish_non_exhaustive()
    }
}

/// Ends a PSU's "syncing" mark when its sync ends.
struct Permit {
    held: Arc<Mutex<Held>>,
    psu_id: String,
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = held.syncing.get_mut(&self.psu_id) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                held.syncing.remove(&self.psu_id);
            }
        }
    }
}

impl PsuLeases {
    /// Opens the replica's session on `backend` and registers the replica (its lock).
    ///
    /// # Errors
    ///
    /// [`PgError::Connect`] or [`PgError::Query`]; [`PgError::ReplicaTaken`] when a live
    /// replica of the schema has the same name.
    pub async fn start(backend: PgBackend, options: ReplicaOptions) -> Result<Arc<Self>, PgError> {
        let psu_class = psu_lock_key(backend.schema(), "").0;
        let replica_key = replica_lock_key(backend.schema(), &options.name);
        let leases = Arc::new(Self {
            backend,
            options,
            psu_class,
            replica_key,
            session: tokio::sync::Mutex::new(None),
            held: Arc::new(Mutex::new(Held::default())),
        });
        let mut session = leases.session.lock().await;
        *session = Some(leases.open_session().await?);
        leases.lock_held().connected = true;
        drop(session);
        Ok(leases)
    }

    fn lock_held(&self) -> std::sync::MutexGuard<'_, Held> {
        self.held.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The options in force.
    pub fn options(&self) -> &ReplicaOptions {
        &self.options
    }

    /// A new session: its settings, then the replica's lock.
    async fn open_session(&self) -> Result<deadpool_postgres::ClientWrapper, PgError> {
        let client = deadpool_postgres::Object::take(self.backend.client().await?);
        let idle_ms = u64::try_from(self.options.idle_session_timeout.as_millis()).unwrap_or(0);
        client
            .batch_execute(&format!(
                "SET tcp_keepalives_idle = 5;
                 SET tcp_keepalives_interval = 5;
                 SET tcp_keepalives_count = 3;
                 SET idle_session_timeout = {idle_ms};"
            ))
            .await
            .map_err(PgError::query("setting up the replica's session"))?;
        client
            .execute(
                "SELECT set_config('application_name', $1, false)",
                &[&format!("powens replica {}", self.options.name)],
            )
            .await
            .map_err(PgError::query("naming the replica's session"))?;
        // A replica restarted at once after a kill may find its old session not yet ended:
        // the server ends it as soon as it reads the closed socket, so wait a little.
        for attempt in 0..20 {
            let taken: bool = client
                .query_one(
                    "SELECT pg_try_advisory_lock($1, $2)",
                    &[&self.replica_key.0, &self.replica_key.1],
                )
                .await
                .map_err(PgError::query("registering the replica"))?
                .get(0);
            if taken {
                return Ok(client);
            }
            if attempt < 19 {
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        }
        Err(PgError::ReplicaTaken {
            name: self.options.name.clone(),
        })
    }

    /// Takes free PSUs of `psus` (every PSU of the schema) up to this replica's share and
    /// lets go of the surplus not syncing, and of held PSUs no longer in `psus`. Reopens the
    /// session first when it was lost (all its locks were then lost with it).
    ///
    /// # Errors
    ///
    /// [`PgError`] when the database fails: the session is then dropped (its locks with it)
    /// and no sync starts until a later call opens a new one.
    pub async fn rebalance(&self, psus: &[String]) -> Result<Rebalanced, PgError> {
        let mut session = self.session.lock().await;
        if session.as_ref().is_none_or(|client| client.is_closed()) {
            self.lose_all(&mut session);
            *session = Some(self.open_session().await?);
            self.lock_held().connected = true;
        }
        let Some(client) = session.as_ref() else {
            return Ok(Rebalanced::default());
        };
        let result = self.rebalance_on(client, psus).await;
        if result.is_err() {
            self.lose_all(&mut session);
        }
        result
    }

    /// Forgets every lock (the session is dropped, so the server frees them).
    fn lose_all(&self, session: &mut Option<deadpool_postgres::ClientWrapper>) {
        let mut held = self.lock_held();
        if !held.psus.is_empty() {
            tracing::warn!(
                replica = %self.options.name,
                psus = held.psus.len(),
                "the replica's session is lost; its PSUs are free for other replicas"
            );
        }
        held.psus.clear();
        held.connected = false;
        *session = None;
    }

    async fn rebalance_on(
        &self,
        client: &tokio_postgres::Client,
        psus: &[String],
    ) -> Result<Rebalanced, PgError> {
        let replicas: i64 = client
            .query_one(
                "SELECT count(DISTINCT pid) FROM pg_locks WHERE locktype = 'advisory' \
                 AND granted AND objsubid = 2 AND classid::int8 = $1::int8 \
                 AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
                &[&i64::from(self.replica_key.0)],
            )
            .await
            .map_err(PgError::query("counting the live replicas"))?
            .get(0);
        let replicas = usize::try_from(replicas).unwrap_or(1).max(1);
        let share = psus.len().div_ceil(replicas);
        let mut outcome = Rebalanced {
            replicas,
            ..Rebalanced::default()
        };

        // Let go: PSUs gone from the schema, then the surplus that is not syncing.
        let to_release: Vec<(String, i32)> = {
            let mut held = self.lock_held();
            let known: std::collections::BTreeSet<&str> = psus.iter().map(String::as_str).collect();
            let mut release: Vec<String> = held
                .psus
                .keys()
                .filter(|psu| !known.contains(psu.as_str()))
                .cloned()
                .collect();
            let kept = held.psus.len() - release.len();
            let surplus = kept.saturating_sub(share);
            release.extend(
                held.psus
                    .keys()
                    .filter(|psu| known.contains(psu.as_str()) && !held.syncing.contains_key(*psu))
                    .take(surplus)
                    .cloned(),
            );
            release
                .into_iter()
                .filter_map(|psu| held.psus.remove(&psu).map(|key| (psu, key)))
                .collect()
        };
        for (psu, key) in to_release {
            // A key shared by another held PSU (a hash collision) stays locked for it.
            let shared = self.lock_held().psus.values().any(|k| *k == key);
            if !shared {
                client
                    .query_one(
                        "SELECT pg_advisory_unlock($1, $2)",
                        &[&self.psu_class, &key],
                    )
                    .await
                    .map_err(PgError::query(format!("releasing PSU {psu}")))?;
            }
            outcome.released.push(psu);
        }

        // Take free PSUs up to the share, in an order of this replica's own (replicas
        // starting together then try different PSUs first).
        let mut candidates: Vec<&String> = {
            let held = self.lock_held();
            psus.iter()
                .filter(|p| !held.psus.contains_key(*p))
                .collect()
        };
        candidates.sort_by_key(|psu| key_of(&format!("{} {psu}", self.options.name)));
        for psu in candidates {
            if self.lock_held().psus.len() >= share {
                break;
            }
            let key = key_of(psu);
            let already = self.lock_held().psus.values().any(|k| *k == key);
            let taken = already
                || client
                    .query_one(
                        "SELECT pg_try_advisory_lock($1, $2)",
                        &[&self.psu_class, &key],
                    )
                    .await
                    .map_err(PgError::query(format!("taking PSU {psu}")))?
                    .get::<_, bool>(0);
            if taken {
                self.lock_held().psus.insert(psu.clone(), key);
                outcome.acquired.push(psu.clone());
            }
        }
        let held: Vec<String> = self.held();
        if !held.is_empty() {
            let rows = client
                .query(
                    "DELETE FROM sync_requests WHERE psu_id = ANY($1) RETURNING psu_id",
                    &[&held],
                )
                .await
                .map_err(PgError::query("taking the sync requests"))?;
            outcome.requested = rows.iter().map(|row| row.get(0)).collect();
            outcome.requested.sort();
        }
        outcome.held = held.len();
        Ok(outcome)
    }

    /// The PSUs this replica holds now.
    pub fn held(&self) -> Vec<String> {
        self.lock_held().psus.keys().cloned().collect()
    }

    /// Lets go of every PSU and ends the session (at shutdown: other replicas take the PSUs
    /// at their next tick).
    pub async fn release_all(&self) {
        let mut session = self.session.lock().await;
        {
            let mut held = self.lock_held();
            held.psus.clear();
            held.connected = false;
        }
        if let Some(client) = session.take() {
            // Unlocked before the session closes, so the others see the PSUs free at once
            // (closing alone frees them too, as soon as the server reads the closed socket).
            if let Err(error) = client
                .batch_execute("SELECT pg_advisory_unlock_all()")
                .await
            {
                tracing::warn!(%error, "releasing the replica's locks failed; closing its session frees them");
            }
        }
    }

    /// The `application_name` of the session holding `psu_id` in `backend`'s schema
    /// (`powens replica <name>`), if any replica holds it.
    ///
    /// # Errors
    ///
    /// [`PgError::Connect`] or [`PgError::Query`].
    pub async fn holder_of(backend: &PgBackend, psu_id: &str) -> Result<Option<String>, PgError> {
        let (class, object) = psu_lock_key(backend.schema(), psu_id);
        let client = backend.client().await?;
        let row = client
            .query_opt(
                "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a USING (pid) \
                 WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2 \
                 AND l.classid::int8 = $1::int8 AND l.objid::int8 = $2::int8 \
                 AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())",
                &[&i64::from(class), &i64::from(object)],
            )
            .await
            .map_err(PgError::query(format!(
                "finding the holder of PSU {psu_id}"
            )))?;
        Ok(row.map(|row| row.get(0)))
    }
}

impl PsuLeases {
    /// Asks the holder of `psu_id` to sync it (table `sync_requests`, taken by the holder's
    /// next [`PsuLeases::rebalance`]).
    ///
    /// # Errors
    ///
    /// [`PgError::Connect`] or [`PgError::Query`].
    pub async fn request_sync(&self, psu_id: &str) -> Result<(), PgError> {
        let client = self.backend.client().await?;
        client
            .execute(
                "INSERT INTO sync_requests (psu_id) VALUES ($1) \
                 ON CONFLICT (psu_id) DO UPDATE SET requested_at = now()",
                &[&psu_id],
            )
            .await
            .map_err(PgError::query(format!("asking for a sync of PSU {psu_id}")))?;
        Ok(())
    }
}

impl SyncGate for PsuLeases {
    fn enter<'a>(
        &'a self,
        psu_id: &'a str,
        reason: SyncReason,
    ) -> BoxFuture<'a, Option<SyncPermit>> {
        let permit = {
            let mut held = self.lock_held();
            if held.connected && held.psus.contains_key(psu_id) {
                *held.syncing.entry(psu_id.to_owned()).or_default() += 1;
                Some(Box::new(Permit {
                    held: Arc::clone(&self.held),
                    psu_id: psu_id.to_owned(),
                }) as SyncPermit)
            } else {
                None
            }
        };
        async move {
            if permit.is_none() && reason == SyncReason::Requested {
                match self.request_sync(psu_id).await {
                    Ok(()) => tracing::debug!(psu = psu_id, "sync passed on to the PSU's holder"),
                    Err(error) => tracing::warn!(
                        psu = psu_id,
                        %error,
                        "cannot pass the sync on to the PSU's holder; it syncs at its next poll"
                    ),
                }
            }
            permit
        }
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_keys_are_non_negative_and_differ_by_schema() {
        let (class_a, psu_a) = psu_lock_key("powens", "alice");
        let (class_b, psu_b) = psu_lock_key("other", "alice");
        assert!(class_a >= 0 && psu_a >= 0);
        assert_ne!(class_a, class_b);
        assert_eq!(psu_a, psu_b);
        assert_ne!(psu_lock_key("powens", "bob").1, psu_a);
        assert_ne!(replica_lock_key("powens", "a").0, class_a);
    }
}
