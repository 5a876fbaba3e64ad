//! Client-side rate limit for the client's Powens domain: requests are spaced evenly so that at
//! most `max_requests` start per `per`.

use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::time::Clock;

/// At most `max_requests` request starts per `per` (evenly spaced), for one Powens domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests allowed per period (at least 1).
    pub max_requests: u32,
    /// The period.
    pub per: Duration,
}

impl Default for RateLimit {
    /// 10 requests per second. Powens publishes no numbers; its fair-usage policy asks for
    /// restraint, so the default is conservative and adjustable.
    fn default() -> Self {
        Self {
            max_requests: 10,
            per: Duration::from_secs(1),
        }
    }
}

impl RateLimit {
    /// The spacing between two request starts.
    pub fn interval(&self) -> Duration {
        self.per / self.max_requests.max(1)
    }
}

pub(crate) struct RateLimiter {
    limit: RateLimit,
    next_free: Mutex<Option<DateTime<Utc>>>,
}

impl RateLimiter {
    pub(crate) fn new(limit: RateLimit) -> Self {
        Self {
            limit,
            next_free: Mutex::new(None),
        }
    }

    pub(crate) fn limit(&self) -> RateLimit {
        self.limit
    }

    /// Reserves the next start slot and waits for it; returns how long it waited.
    pub(crate) async fn acquire(&self, clock: &dyn Clock) -> Duration {
        let now = clock.now();
        let interval = chrono::Duration::from_std(self.limit.interval()).unwrap_or_default();
        let slot = {
            let mut next_free = self
                .next_free
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let slot = match *next_free {
                Some(free) if free > now => free,
                _ => now,
            };
            *next_free = slot.checked_add_signed(interval);
            slot
        };
        match (slot - now).to_std() {
            Ok(wait) if !wait.is_zero() => {
                clock.sleep(wait).await;
                wait
            }
            _ => Duration::ZERO,
        }
    }
}
