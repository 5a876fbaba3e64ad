//! What the engine takes from its environment besides its clock: the PSUs to sync, and
//! whether this process may sync one now (replicas sharing a store).

use std::sync::Arc;

use futures::future::{self, BoxFuture};
use futures::FutureExt;

use crate::error::ConnectorError;
use crate::openbanking::ForwardedUser;

/// The PSUs to sync, asked once per cycle (so users linked meanwhile are picked up).
pub trait PsuSource: Send + Sync {
    /// The current PSUs.
    fn psus(&self) -> BoxFuture<'_, Result<Vec<Arc<ForwardedUser>>, ConnectorError>>;
}

impl PsuSource for Vec<Arc<ForwardedUser>> {
    fn psus(&self) -> BoxFuture<'_, Result<Vec<Arc<ForwardedUser>>, ConnectorError>> {
        future::ready(Ok(self.clone())).boxed()
    }
}

/// Held for the length of one PSU's sync; dropping it tells the [`SyncGate`] the sync ended.
pub type SyncPermit = Box<dyn Send + Sync>;

/// Whether this process may sync a PSU now. Several processes (replicas) sharing one state
/// store and sink each sync the PSUs they hold, one replica per PSU at a time: the engine
/// asks the gate before every PSU's sync (periodic or triggered), after its own per-PSU
/// lock, and keeps the permit until that PSU's tasks end. Without a gate every PSU is synced.
pub trait SyncGate: Send + Sync {
    /// A permit to sync `psu_id` now, or `None` when another process holds the PSU: the
    /// engine then skips it here. For a [`SyncReason::Requested`] sync the gate should pass
    /// the request on to the holder.
    fn enter<'a>(
        &'a self,
        psu_id: &'a str,
        reason: SyncReason,
    ) -> BoxFuture<'a, Option<SyncPermit>>;
}

/// Why the engine syncs a PSU, as told to the [`SyncGate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncReason {
    /// A periodic cycle over every PSU ([`super::Engine::run_once`],
    /// [`super::Engine::run_periodically`]): each process visits every PSU.
    Periodic,
    /// A sync asked for these PSUs ([`super::Engine::run_for_psus`],
    /// [`super::Engine::trigger_sync`]: a webhook, a completed link).
    Requested,
}
