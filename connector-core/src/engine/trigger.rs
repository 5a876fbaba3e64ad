//! Syncs started by events: [`Engine::trigger_sync`].
//!
//! A trigger runs one cycle for one PSU in the background, soon. Triggers coalesce: a
//! trigger for a PSU whose triggered sync is running marks it to run once more when it ends
//! (however many triggers arrived meanwhile), and a PSU is never synced twice at once — the
//! periodic cycle and triggered syncs take the same per-PSU lock.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use super::Engine;
use crate::openbanking::ForwardedUser;

/// The triggered syncs of an engine.
pub(crate) struct Triggers {
    /// PSU id → whether another run was asked for while one is running.
    running: Mutex<HashMap<String, bool>>,
    /// How many PSUs have a triggered sync running.
    active: tokio::sync::watch::Sender<usize>,
}

impl Default for Triggers {
    fn default() -> Self {
        Self {
            running: Mutex::new(HashMap::new()),
            active: tokio::sync::watch::channel(0).0,
        }
    }
}

impl Triggers {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, bool>> {
        self.running.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Engine {
    /// Schedules a sync of `psu` (one cycle of the tree for that PSU, in the background).
    /// Returns `false` when a triggered sync of the PSU is already running: it will run
    /// once more when it ends (triggers coalesce). Needs a tokio runtime.
    pub fn trigger_sync(self: &Arc<Self>, psu: Arc<ForwardedUser>) -> bool {
        {
            let mut running = self.triggers.lock();
            if let Some(again) = running.get_mut(&psu.psu_id) {
                *again = true;
                return false;
            }
            running.insert(psu.psu_id.clone(), false);
            self.triggers.active.send_modify(|n| *n += 1);
        }
        let engine = Arc::clone(self);
        tokio::spawn(async move {
            loop {
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
                let mut running = engine.triggers.lock();
                match running.get_mut(&psu.psu_id) {
                    Some(again) if *again && !engine.shutdown.is_cancelled() => *again = false,
                    _ => {
                        running.remove(&psu.psu_id);
                        engine
                            .triggers
                            .active
                            .send_modify(|n| *n = n.saturating_sub(1));
                        return;
                    }
                }
            }
        });
        true
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
