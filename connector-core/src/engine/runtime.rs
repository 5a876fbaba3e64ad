//! What the engine takes from its environment: sleeping, and the PSUs to sync.

use std::sync::Arc;
use std::time::Duration;

use futures::future::{self, BoxFuture};
use futures::FutureExt;

use crate::error::ConnectorError;
use crate::openbanking::ForwardedUser;

/// Waits; injected so that tests of periodic runs and retries never wait.
pub trait Sleeper: Send + Sync {
    /// A future that completes after `duration`.
    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()>;
}

/// Sleeps on the tokio timer.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioSleeper;

impl Sleeper for TokioSleeper {
    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        tokio::time::sleep(duration).boxed()
    }
}

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
