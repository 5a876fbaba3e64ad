//! [`CallObserver`]: a hook that sees every request attempt and every rate-limit wait, for
//! metrics (a service counts requests by status and their latency).

use std::time::Duration;

/// Sees what the client does. Methods are called on the request path: they must return
/// quickly (bump a counter) and never block.
///
/// ```
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use std::sync::Arc;
/// use std::time::Duration;
/// use powens_api::client::CallObserver;
///
/// #[derive(Default)]
/// struct Count(AtomicU64);
/// impl CallObserver for Count {
///     fn attempt_finished(&self, _status: Option<u16>, _latency: Duration) {
///         self.0.fetch_add(1, Ordering::Relaxed);
///     }
/// }
/// let client = powens_api::PowensClient::builder("https://demo.biapi.pro/2.0")
///     .observer(Arc::new(Count::default()))
///     .build()?;
/// # let _ = client;
/// # Ok::<(), powens_api::Error>(())
/// ```
pub trait CallObserver: Send + Sync {
    /// One attempt ended: its HTTP status (`None`: no answer, a transport failure) and the
    /// time from sending to the answer's headers (a streamed body is read afterwards).
    fn attempt_finished(&self, status: Option<u16>, latency: Duration) {
        let _ = (status, latency);
    }

    /// A request waited `wait` for the client-side rate limit before being sent.
    fn rate_limit_waited(&self, wait: Duration) {
        let _ = wait;
    }
}
