//! `powens-api`'s transport clock as connector-core's engine clock, so that one clock drives
//! the client (retries, rate limit), the connector (fallback instants, consent horizon) and
//! the engine (retries, polling period and jitter, webhook freshness and key retention).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;

/// A `powens-api` clock seen as a [`connector_core::clock::Clock`].
#[derive(Debug, Clone)]
pub struct EngineClock(pub Arc<dyn powens_api::time::Clock>);

impl connector_core::clock::Clock for EngineClock {
    fn now(&self) -> DateTime<Utc> {
        self.0.now()
    }

    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        self.0.sleep(duration)
    }
}
