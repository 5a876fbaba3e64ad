//! What the engine takes from its environment besides its clock: the PSUs to sync.

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
