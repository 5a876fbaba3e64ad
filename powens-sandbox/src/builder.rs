//! Starting a sandbox: [`Sandbox::builder`] → [`SandboxBuilder::start`] → [`SandboxHandle`].

use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

use crate::behaviour::{Profile, ServerBehaviour};
use crate::clock::{Clock, ClockMode};
use crate::control::{MaturationMode, SandboxControl, SeededUser, Shared};
use crate::error::SandboxError;
use crate::faults::FaultBook;
use crate::rng::SeededRng;
use crate::store::Store;
use crate::webhooks::WebhookHub;

/// How much data each bank link creates, and how many users exist from the start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SandboxSize {
    /// Users created at start, each with a permanent token and `connections_per_link`
    /// connections (see [`SandboxHandle::users`]).
    pub users: u32,
    /// Connections created by a link when the Webview gets no `max_connections`, and for
    /// pre-seeded users.
    pub connections_per_link: u32,
    /// Accounts per connection (types cycle checking, savings, card, loan; the first is EUR,
    /// the others cycle GBP, JPY, KWD, XBT, GEMS, EUR).
    pub accounts_per_connection: u32,
    /// Transactions per account (the newest tenth are pending).
    pub transactions_per_account: u32,
}

impl Default for SandboxSize {
    fn default() -> Self {
        Self {
            users: 0,
            connections_per_link: 1,
            accounts_per_connection: 6,
            transactions_per_account: 50,
        }
    }
}

/// The client application's credentials for this sandbox.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// `client_id` (digits).
    pub client_id: String,
    /// `client_secret`.
    pub client_secret: String,
    /// The configuration token for `/webhooks/auth`.
    pub configuration_token: String,
    /// The Powens domain label to configure (the API itself is at [`SandboxHandle::api_url`]).
    pub domain: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .field("configuration_token", &"[redacted]")
            .field("domain", &self.domain)
            .finish()
    }
}

/// Entry point.
#[derive(Debug)]
pub struct Sandbox;

impl Sandbox {
    /// A builder with seed 0, [`SandboxSize::default`], the clock at 2026-06-18 08:00:00
    /// (Paris), frozen.
    pub fn builder() -> SandboxBuilder {
        SandboxBuilder::default()
    }
}

/// Configures and starts a sandbox.
#[derive(Debug, Clone)]
pub struct SandboxBuilder {
    seed: u64,
    size: SandboxSize,
    start: NaiveDateTime,
    clock: ClockMode,
    max_connections_per_link: u32,
    maturation: MaturationMode,
    behaviour: ServerBehaviour,
    port: u16,
    webhook_attempts: u32,
    webhook_retry_delay: Duration,
}

impl Default for SandboxBuilder {
    fn default() -> Self {
        Self {
            seed: 0,
            size: SandboxSize::default(),
            start: chrono::NaiveDate::from_ymd_opt(2026, 6, 18)
                .and_then(|d| d.and_hms_opt(8, 0, 0))
                .unwrap_or_default(),
            clock: ClockMode::Frozen,
            max_connections_per_link: 5,
            maturation: MaturationMode::KeepId,
            behaviour: ServerBehaviour::default(),
            port: 0,
            webhook_attempts: 5,
            webhook_retry_delay: Duration::from_millis(50),
        }
    }
}

impl SandboxBuilder {
    /// The seed of every generated value.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// How much data to generate.
    pub fn size(mut self, size: SandboxSize) -> Self {
        self.size = size;
        self
    }

    /// The clock's start (naive Paris wall-clock time), brought into 1970-01-02 00:00:00 ..=
    /// 9999-12-30 00:00:00 (the years an HTTP `Date` header can carry).
    pub fn start_time(mut self, at: NaiveDateTime) -> Self {
        self.start = at;
        self
    }

    /// Frozen (default) or ticking clock.
    pub fn clock_mode(mut self, mode: ClockMode) -> Self {
        self.clock = mode;
        self
    }

    /// Cap on `max_connections` in the Webview (default 5).
    pub fn max_connections_per_link(mut self, cap: u32) -> Self {
        self.max_connections_per_link = cap.max(1);
        self
    }

    /// How pending rows mature (default [`MaturationMode::KeepId`]).
    pub fn maturation_mode(mut self, mode: MaturationMode) -> Self {
        self.maturation = mode;
        self
    }

    /// How the routes behave where Powens allows several behaviours (default
    /// [`ServerBehaviour::default`], the historical one). Changeable at runtime with
    /// [`SandboxControl::set_behaviour`].
    pub fn behaviour(mut self, behaviour: ServerBehaviour) -> Self {
        self.behaviour = behaviour;
        self
    }

    /// A named bundle: sets the [`behaviour`](Self::behaviour) and the
    /// [`maturation_mode`](Self::maturation_mode) of the profile (a later call of either
    /// overrides its part).
    pub fn profile(mut self, profile: Profile) -> Self {
        self.behaviour = profile.behaviour();
        self.maturation = profile.maturation_mode();
        self
    }

    /// The loopback port (0 = any free port, the default).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Webhook delivery attempts per body (default 5) and the base delay between them
    /// (default 50 ms, growing linearly).
    pub fn webhook_retries(mut self, attempts: u32, delay: Duration) -> Self {
        self.webhook_attempts = attempts.max(1);
        self.webhook_retry_delay = delay;
        self
    }

    /// Binds 127.0.0.1, generates the pre-seeded users and starts serving.
    pub async fn start(self) -> Result<SandboxHandle, SandboxError> {
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| SandboxError::Bind {
                addr: addr.to_string(),
                source,
            })?;
        let local = listener.local_addr().map_err(|source| SandboxError::Bind {
            addr: addr.to_string(),
            source,
        })?;
        let base_url = format!("http://{local}");
        let mut rng = SeededRng::for_parts(self.seed, &[0xC4ED]);
        const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        let credentials = Credentials {
            client_id: format!("{:08}", 10_000_000 + rng.below(90_000_000)),
            client_secret: rng.token(ALNUM, 32),
            configuration_token: rng.token(ALNUM, 40),
            domain: "sandbox".to_owned(),
        };
        let store = Store::new(
            self.seed,
            self.size,
            self.max_connections_per_link,
            self.maturation,
            self.behaviour,
            Clock::new(self.start, self.clock),
            credentials.clone(),
        );
        let shared = Arc::new(Shared {
            store: Mutex::new(store),
            faults: Mutex::new(FaultBook::default()),
            webhooks: WebhookHub::new(self.webhook_attempts, self.webhook_retry_delay),
            base_url: base_url.clone(),
        });
        let control = SandboxControl {
            shared: Arc::clone(&shared),
        };
        let users = (0..self.size.users)
            .map(|_| control.create_user(self.size.connections_per_link))
            .collect();
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(crate::server::serve(listener, shared, rx));
        Ok(SandboxHandle {
            addr: local,
            base_url,
            credentials,
            control,
            users,
            shutdown: Some(tx),
            task: Some(task),
        })
    }
}

/// A running sandbox. Dropping it stops the server.
#[derive(Debug)]
pub struct SandboxHandle {
    addr: SocketAddr,
    base_url: String,
    credentials: Credentials,
    control: SandboxControl,
    users: Vec<SeededUser>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl SandboxHandle {
    /// `http://127.0.0.1:PORT` (also the Webview host and the `/webhooks/auth` host).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// `http://127.0.0.1:PORT/2.0`.
    pub fn api_url(&self) -> String {
        format!("{}/2.0", self.base_url)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The client application's credentials.
    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// The install payload (the spec's `config.json`) that points a Powens connector at this
    /// sandbox: the credentials, `endpoint` ([`api_url`](Self::api_url)), `webviewURL`
    /// ([`base_url`](Self::base_url), which serves the Webview) and one connection per link
    /// (`maxConnectionsPerLink`). The one place the payload is written: set or replace the
    /// other fields (`pageSize`, `pollingPeriod`, `name`, …) on the returned object. It holds
    /// the client secret.
    pub fn install_payload(&self) -> serde_json::Value {
        serde_json::json!({
            "clientID": self.credentials.client_id,
            "clientSecret": self.credentials.client_secret,
            "configurationToken": self.credentials.configuration_token,
            "domain": self.credentials.domain,
            "endpoint": self.api_url(),
            "webviewURL": self.base_url,
            "maxConnectionsPerLink": 1,
        })
    }

    /// The control API.
    pub fn control(&self) -> &SandboxControl {
        &self.control
    }

    /// The users created at start ([`SandboxSize::users`]).
    pub fn users(&self) -> &[SeededUser] {
        &self.users
    }

    /// Stops serving and waits for the server task to end.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for SandboxHandle {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}
