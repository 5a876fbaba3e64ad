//! Webhook delivery: receivers registered per event, bodies signed the Powens way
//! (`BI-Signature` = base64(HMAC-SHA256(secret, "POST." + path + "." + date + "." + body)),
//! `BI-Signature-Date` = ISO 8601 UTC with microseconds), redelivered with the same
//! `id_webhook_data` on a non-2xx answer or a transport error, up to a bounded number of
//! attempts.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use tokio::sync::Notify;

/// The events the sandbox can deliver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum WebhookEvent {
    /// A connection was synced; the first one carries the whole history.
    ConnectionSynced,
    /// Several connections of a user were synced (deprecated by Powens, still sent).
    UserSynced,
    /// A connection was deleted.
    ConnectionDeleted,
    /// A user was deleted.
    UserDeleted,
    /// A connection's consent is about to expire.
    ConnectionPendingDisconnect,
}

impl WebhookEvent {
    /// The Powens event name.
    pub fn name(self) -> &'static str {
        match self {
            Self::ConnectionSynced => "CONNECTION_SYNCED",
            Self::UserSynced => "USER_SYNCED",
            Self::ConnectionDeleted => "CONNECTION_DELETED",
            Self::UserDeleted => "USER_DELETED",
            Self::ConnectionPendingDisconnect => "CONNECTION_PENDING_DISCONNECT",
        }
    }
}

/// Computes `BI-Signature` for a delivery: base64 (standard, padded) of
/// HMAC-SHA256(`secret`, `"POST." + path + "." + date + "." + body`).
pub fn sign(secret: &str, path: &str, date: &str, body: &[u8]) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mac) => mac,
        // HMAC accepts keys of any length; this branch cannot be taken.
        Err(_) => return String::new(),
    };
    mac.update(b"POST.");
    mac.update(path.as_bytes());
    mac.update(b".");
    mac.update(date.as_bytes());
    mac.update(b".");
    mac.update(body);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// One delivery (all attempts of one body to one URL).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookDelivery {
    /// The event.
    pub event: WebhookEvent,
    /// The receiver URL.
    pub url: String,
    /// The body's `id_webhook_data`.
    pub id_webhook_data: u64,
    /// HTTP status of each attempt (0 = transport error).
    pub attempts: Vec<u16>,
    /// A 2xx was received.
    pub delivered: bool,
}

/// Receivers, the delivery log and the background senders.
#[derive(Debug)]
pub(crate) struct WebhookHub {
    receivers: Mutex<HashMap<WebhookEvent, Vec<String>>>,
    log: Arc<Mutex<Vec<WebhookDelivery>>>,
    in_flight: Arc<AtomicUsize>,
    idle: Arc<Notify>,
    client: reqwest::Client,
    pub(crate) max_attempts: u32,
    pub(crate) retry_delay: Duration,
}

impl WebhookHub {
    pub(crate) fn new(max_attempts: u32, retry_delay: Duration) -> Self {
        Self {
            receivers: Mutex::new(HashMap::new()),
            log: Arc::new(Mutex::new(Vec::new())),
            in_flight: Arc::new(AtomicUsize::new(0)),
            idle: Arc::new(Notify::new()),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap_or_default(),
            max_attempts: max_attempts.max(1),
            retry_delay,
        }
    }

    pub(crate) fn register(&self, event: WebhookEvent, url: String) {
        self.receivers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(event)
            .or_default()
            .push(url);
    }

    pub(crate) fn has_receivers(&self, event: WebhookEvent) -> bool {
        self.receivers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&event)
            .is_some_and(|v| !v.is_empty())
    }

    pub(crate) fn deliveries(&self) -> Vec<WebhookDelivery> {
        self.log
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Sends `body` to every receiver of `event` in the background. `date` yields the
    /// `BI-Signature-Date` of each attempt.
    pub(crate) fn dispatch(
        &self,
        event: WebhookEvent,
        id_webhook_data: u64,
        body: Vec<u8>,
        secret: Option<String>,
        date: Arc<dyn Fn() -> String + Send + Sync>,
    ) {
        let urls = self
            .receivers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&event)
            .cloned()
            .unwrap_or_default();
        let body = bytes::Bytes::from(body);
        for url in urls {
            let index = {
                let mut log = self.log.lock().unwrap_or_else(PoisonError::into_inner);
                log.push(WebhookDelivery {
                    event,
                    url: url.clone(),
                    id_webhook_data,
                    attempts: Vec::new(),
                    delivered: false,
                });
                log.len() - 1
            };
            self.in_flight.fetch_add(1, Ordering::SeqCst);
            let job = DeliveryJob {
                client: self.client.clone(),
                log: Arc::clone(&self.log),
                index,
                url,
                body: body.clone(),
                secret: secret.clone(),
                date: Arc::clone(&date),
                max_attempts: self.max_attempts,
                retry_delay: self.retry_delay,
            };
            let in_flight = Arc::clone(&self.in_flight);
            let idle = Arc::clone(&self.idle);
            tokio::spawn(async move {
                job.run().await;
                if in_flight.fetch_sub(1, Ordering::SeqCst) == 1 {
                    idle.notify_waiters();
                }
            });
        }
    }

    /// Waits until no delivery is in flight.
    pub(crate) async fn wait_idle(&self) {
        loop {
            let notified = self.idle.notified();
            if self.in_flight.load(Ordering::SeqCst) == 0 {
                return;
            }
            notified.await;
        }
    }
}

struct DeliveryJob {
    client: reqwest::Client,
    log: Arc<Mutex<Vec<WebhookDelivery>>>,
    index: usize,
    url: String,
    body: bytes::Bytes,
    secret: Option<String>,
    date: Arc<dyn Fn() -> String + Send + Sync>,
    max_attempts: u32,
    retry_delay: Duration,
}

impl DeliveryJob {
    async fn run(self) {
        let path = url::Url::parse(&self.url)
            .map(|u| u.path().to_owned())
            .unwrap_or_else(|_| "/".to_owned());
        for attempt in 0..self.max_attempts {
            if attempt > 0 {
                tokio::time::sleep(self.retry_delay * attempt).await;
            }
            let mut request = self
                .client
                .post(&self.url)
                .header("content-type", "application/json; charset=utf-8")
                .header("user-agent", "powens-sandbox")
                .body(self.body.clone());
            if let Some(secret) = &self.secret {
                let date = (self.date)();
                let signature = sign(secret, &path, &date, &self.body);
                request = request
                    .header("BI-Signature-Date", date)
                    .header("BI-Signature", signature);
            }
            let status = match request.send().await {
                Ok(response) => response.status().as_u16(),
                Err(_) => 0,
            };
            let ok = (200..300).contains(&status);
            if let Some(d) = self
                .log
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .get_mut(self.index)
            {
                d.attempts.push(status);
                d.delivered = ok;
            }
            if ok {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_the_documented_worked_example() {
        assert_eq!(
            sign(
                "secret-key",
                "/user-created",
                "2023-01-01T00:00:00Z",
                b"test-body"
            ),
            "mUs6KmQU26Ng7eu5vqm64PHWRy5WN+e6p05QwwVODLo="
        );
    }
}
