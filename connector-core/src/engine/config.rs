//! Engine settings.

use std::num::{NonZeroU32, NonZeroUsize};
use std::time::Duration;

/// How the engine runs a connector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineConfig {
    /// The connector instance id (passed to install and webhooks).
    pub connector_id: String,
    /// Items per page asked of fetchers. Default 100.
    pub page_size: NonZeroU32,
    /// PSUs synced at the same time. Default 4.
    pub max_concurrent_psus: NonZeroUsize,
    /// Time between the end of a cycle and the start of the next, before jitter.
    /// Default 30 minutes.
    pub polling_period: Duration,
    /// Attempts of a task whose fetch fails with an error retried within the run
    /// ([`ConnectorError::is_retried_in_run`](crate::ConnectorError::is_retried_in_run): not
    /// what the provider's client already retried), counted since its last delivered page.
    /// Default 3.
    pub task_attempts: NonZeroU32,
    /// First retry delay, doubled per attempt. Default 1 s.
    pub retry_base_delay: Duration,
    /// Longest retry delay, including a provider's `Retry-After`. Default 100 s.
    pub retry_max_delay: Duration,
    /// How long a triggered sync ([`Engine::trigger_sync`](crate::Engine::trigger_sync))
    /// waits before it starts; the triggers of the PSU that arrive meanwhile join it (a
    /// provider sends several events for one sync of its user). Default 1 s.
    pub trigger_delay: Duration,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            connector_id: "connector".into(),
            page_size: NonZeroU32::new(100).unwrap_or(NonZeroU32::MIN),
            max_concurrent_psus: NonZeroUsize::new(4).unwrap_or(NonZeroUsize::MIN),
            polling_period: Duration::from_secs(30 * 60),
            task_attempts: NonZeroU32::new(3).unwrap_or(NonZeroU32::MIN),
            retry_base_delay: Duration::from_secs(1),
            retry_max_delay: Duration::from_secs(100),
            trigger_delay: Duration::from_secs(1),
        }
    }
}

impl EngineConfig {
    /// The largest random delay added to the polling period: `min(period / 2, 5 min)`, as
    /// Formance schedules do.
    pub fn max_jitter(&self) -> Duration {
        (self.polling_period / 2).min(Duration::from_secs(5 * 60))
    }

    /// The delay before retry number `failures` (1-based), honouring a provider's delay.
    pub fn retry_delay(&self, failures: u32, provider_delay: Option<Duration>) -> Duration {
        let exponential = self
            .retry_base_delay
            .saturating_mul(2u32.saturating_pow(failures.saturating_sub(1)));
        provider_delay
            .map_or(exponential, |d| d.max(self.retry_base_delay))
            .min(self.retry_max_delay)
    }
}
