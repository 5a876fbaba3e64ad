//! Syncs started by events: [`Engine::trigger_sync`].
//!
//! A trigger runs one cycle for one PSU in the background, soon:
//!
//! * **It settles first.** The sync waits [`EngineConfig::trigger_delay`] (1 s by default)
//!   before it starts, and every trigger of the PSU that arrives meanwhile joins it: a
//!   provider sends several events for one sync of its user (Powens: a `CONNECTION_SYNCED`
//!   per connection, then `USER_SYNCED`), and they make one sync.
//! * **At most [`EngineConfig::max_concurrent_psus`] triggered syncs run at once**; the
//!   others wait their turn (still joinable). A burst of webhooks is answered at once and
//!   its syncs queue, instead of thousands of PSUs syncing together.
//! * **Triggers coalesce.** A trigger for a PSU whose triggered sync is running marks it to
//!   run once more when it ends (however many triggers arrived meanwhile), and a PSU is
//!   never synced twice at once — the periodic cycle and triggered syncs take the same
//!   per-PSU lock.
//!
//! [`EngineConfig::trigger_delay`]: super::EngineConfig::trigger_delay
//! [`EngineConfig::max_concurrent_psus`]: super::EngineConfig::max_concurrent_psus

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use super::Engine;
use crate::openbanking::ForwardedUser;

/// Where a PSU's triggered sync is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pending {
    /// Settling or waiting for its turn: a new trigger joins it.
    Waiting,
    /// Running; `again`: a trigger arrived since it started, so it runs once more.
    Running { again: bool },
}

/// The triggered syncs of an engine.
pub(crate) struct Triggers {
    /// PSU id → its triggered sync.
    pending: Mutex<HashMap<String, Pending>>,
    /// How many PSUs have a triggered sync waiting or running.
    active: tokio::sync::watch::Sender<usize>,
    /// Turns to run: `max_concurrent_psus` of them.
    turns: tokio::sync::Semaphore,
}

impl Triggers {
    pub(crate) fn new(turns: usize) -> Self {
        Self {
            pending: Mutex::new(HashMap::new()),
            active: tokio::sync::watch::channel(0).0,
            turns: tokio::sync::Semaphore::new(turns),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Pending>> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Forgets `psu_id`'s triggered sync (it ended, or the engine is shutting down).
    fn done(&self, psu_id: &str) {
        if self.lock().remove(psu_id).is_some() {
            self.active.send_modify(|n| *n = n.saturating_sub(1));
        }
    }
}

impl Engine {
    /// Schedules a sync of `psu` (one cycle of the tree for that PSU, in the background,
    /// after [`trigger_delay`](super::EngineConfig::trigger_delay) and when one of the
    /// `max_concurrent_psus` turns is free). Returns `false` when the trigger joined a
    /// triggered sync of the PSU already scheduled (it will read what this trigger is
    /// about) or running (it will run once more when it ends). Needs a tokio runtime.
    pub fn trigger_sync(self: &Arc<Self>, psu: Arc<ForwardedUser>) -> bool {
        {
            let mut pending = self.triggers.lock();
            match pending.get_mut(&psu.psu_id) {
                Some(Pending::Waiting) => return false,
                Some(Pending::Running { again }) => {
                    *again = true;
                    return false;
                }
                None => {
                    pending.insert(psu.psu_id.clone(), Pending::Waiting);
                    self.triggers.active.send_modify(|n| *n += 1);
                }
            }
        }
        let engine = Arc::clone(self);
        tokio::spawn(async move {
            let triggers = &engine.triggers;
            loop {
                let turn = tokio::select! {
                    biased;
                    _ = engine.shutdown.cancelled() => None,
                    turn = async {
                        engine.clock.sleep(engine.config.trigger_delay).await;
                        triggers.turns.acquire().await.ok()
                    } => turn,
                };
                let Some(_turn) = turn else {
                    triggers.done(&psu.psu_id);
                    return;
                };
                triggers
                    .lock()
                    .insert(psu.psu_id.clone(), Pending::Running { again: false });
                let cancel = engine.shutdown.child_token();
                match engine.run_for_psus(vec![Arc::clone(&psu)], &cancel).await {
                    Ok(summary) => tracing::info!(
                        psu = %psu.psu_id,
                        records = summary.records,
                        tasks_failed = summary.tasks_failed,
                        "triggered sync finished"
                    ),
                    Err(error) => {
                        tracing::warn!(psu = %psu.psu_id, %error, "triggered sync failed")
                    }
                }
                // One lock for the check and the removal: a trigger arriving in between would
                // mark a run that has just been forgotten.
                let mut pending = triggers.lock();
                let again = pending.get(&psu.psu_id) == Some(&Pending::Running { again: true })
                    && !engine.shutdown.is_cancelled();
                if again {
                    pending.insert(psu.psu_id.clone(), Pending::Waiting);
                    continue;
                }
                pending.remove(&psu.psu_id);
                triggers.active.send_modify(|n| *n = n.saturating_sub(1));
                return;
            }
        });
        true
    }

    /// PSUs whose triggered sync is waiting (settling, or for its turn) or running.
    pub fn triggered_syncs(&self) -> usize {
        *self.triggers.active.borrow()
    }

    /// Waits until no triggered sync is running.
    pub async fn triggered_syncs_idle(&self) {
        let mut active = self.triggers.active.subscribe();
        // The sender lives as long as the engine, which `&self` keeps alive.
        let _ = active.wait_for(|n| *n == 0).await;
    }

    /// Stops triggered syncs (the running ones end cancelled; none starts again).
    pub fn shutdown(&self) {
        self.shutdown.cancel();
    }
}
