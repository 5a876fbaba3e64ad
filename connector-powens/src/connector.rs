//! [`PowensConnector`]: the connector instance, its capabilities, its workflow tree, and the
//! shared parts (client, config, clock) every stream and flow owns a handle to.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use connector_core::contract::{
    AccountsFetcher, BalancesFetcher, ExternalAccountsFetcher, OpenBankingFlows, PaymentsFetcher,
    TaskTree, UninstallRequest, WebhookHandler,
};
use connector_core::model::{Capability, TaskType};
use connector_core::{Connector, ConnectorError};
use futures::future::BoxFuture;
use futures::FutureExt;
use powens_api::auth::ClientCredentials;
use powens_api::client::{CallObserver, RateLimit};
use powens_api::time::{Clock, SystemClock};
use powens_api::PowensClient;
use powens_model::maturation::MaturationRule;

use crate::config::PowensConfig;
use crate::connections::ConnectionsSeen;
use crate::error::to_connector_error;
use crate::install::AuthProviderSubscriber;
use crate::webhooks::{PowensWebhooks, WebhookOptions};

/// What the connector declares.
pub const CAPABILITIES: &[Capability] = &[
    Capability::FetchAccounts,
    Capability::FetchBalances,
    Capability::FetchExternalAccounts,
    Capability::FetchPayments,
    Capability::CreateWebhooks,
    Capability::TranslateWebhooks,
];

/// The default safety margin subtracted from the server-time floor to make the next
/// `last_update` watermark (see [`crate::state::PaymentsState`]).
pub const DEFAULT_WATERMARK_MARGIN: Duration = Duration::from_secs(10 * 60);

/// What every stream, flow and install step shares (cheap to clone behind an `Arc`).
pub(crate) struct Shared {
    pub(crate) name: String,
    pub(crate) config: PowensConfig,
    pub(crate) client: PowensClient,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) watermark_margin: TimeDelta,
    pub(crate) maturation: MaturationRule,
    /// The connections each PSU's accounts listing saw, for its `connection_events`.
    pub(crate) connections_seen: ConnectionsSeen,
}

impl Shared {
    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    pub(crate) fn credentials(&self) -> ClientCredentials {
        ClientCredentials::new(
            self.config.client_id.clone(),
            self.config.client_secret.clone(),
        )
    }

    pub(crate) fn consent_horizon(&self) -> TimeDelta {
        TimeDelta::from_std(self.config.consent_expiry_horizon).unwrap_or(TimeDelta::MAX)
    }
}

/// The Powens connector: polling fetchers (accounts, balances, payments, external accounts),
/// the PSU and link flows, and webhook provisioning.
///
/// Build it from a validated [`PowensConfig`] with [`PowensConnector::new`] or
/// [`PowensConnector::builder`] (to inject a client, a clock, a watermark margin).
#[derive(Clone)]
pub struct PowensConnector {
    pub(crate) shared: Arc<Shared>,
    webhooks: PowensWebhooks,
}

impl std::fmt::Debug for PowensConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PowensConnector")
            .field("name", &self.shared.name)
            .field("config", &self.shared.config)
            .field("client", &self.shared.client)
            .finish_non_exhaustive()
    }
}

/// Configures a [`PowensConnector`].
pub struct PowensConnectorBuilder {
    config: PowensConfig,
    client: Option<PowensClient>,
    clock: Option<Arc<dyn Clock>>,
    /// `None`: the client's default limit; `Some(None)`: no limit.
    rate_limit: Option<Option<RateLimit>>,
    observer: Option<Arc<dyn CallObserver>>,
    watermark_margin: Duration,
    maturation: MaturationRule,
}

impl PowensConnectorBuilder {
    /// Uses this client instead of one built from `config.endpoint` with default settings
    /// (tests inject short retry delays or a manual clock this way). The client's settings
    /// are its own: [`rate_limit`](Self::rate_limit) and [`observer`](Self::observer) only
    /// configure the client the builder makes, and [`build`](Self::build) refuses them with
    /// a client given here.
    pub fn client(mut self, client: PowensClient) -> Self {
        self.client = Some(client);
        self
    }

    /// The request rate limit of the client the builder makes: `Some` limit, or `None` for
    /// no limit at all (default: the client's, see [`PowensClient::builder`]).
    ///
    /// ```
    /// use std::time::Duration;
    /// use connector_powens::{PowensConfig, PowensConnector, RateLimit};
    ///
    /// # let config = PowensConfig::from_json(br#"{"clientID": "1", "clientSecret": "s",
    /// #     "configurationToken": "t", "domain": "acme.biapi.pro",
    /// #     "endpoint": "https://acme.biapi.pro/2.0", "maxConnectionsPerLink": 2}"#)?;
    /// let ten_per_second = RateLimit { max_requests: 10, per: Duration::from_secs(1) };
    /// let connector = PowensConnector::builder(config).rate_limit(Some(ten_per_second)).build()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn rate_limit(mut self, limit: Option<RateLimit>) -> Self {
        self.rate_limit = Some(limit);
        self
    }

    /// Told about every request attempt and rate-limit wait of the client the builder makes
    /// (metrics: `powens serve` counts requests and latency this way).
    pub fn observer(mut self, observer: Arc<dyn CallObserver>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// The clock used for "now" (fallback instants, consent horizon, token expiry). Defaults
    /// to the system clock.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// The safety margin of the `last_update` watermark (default 10 minutes; see
    /// [`crate::state::Watermark`]).
    pub fn watermark_margin(mut self, margin: Duration) -> Self {
        self.watermark_margin = margin;
        self
    }

    /// The maturation matching rule (default: powens-model's).
    pub fn maturation_rule(mut self, rule: MaturationRule) -> Self {
        self.maturation = rule;
        self
    }

    /// Builds the connector.
    ///
    /// Fails with [`ConnectorError::InvalidConfig`] when a client was given together with a
    /// rate limit or an observer (set them on that client instead), or when the watermark
    /// margin is out of range.
    pub fn build(self) -> Result<PowensConnector, ConnectorError> {
        let clock = self.clock.unwrap_or_else(|| Arc::new(SystemClock));
        let client = match self.client {
            Some(_) if self.rate_limit.is_some() || self.observer.is_some() => {
                return Err(ConnectorError::InvalidConfig {
                    message: "a rate limit or an observer configures the client the builder \
                              makes: set them on the client given to `client()` instead"
                        .into(),
                })
            }
            Some(client) => client,
            None => {
                let mut client =
                    PowensClient::builder(self.config.endpoint.as_str()).clock(Arc::clone(&clock));
                if let Some(limit) = self.rate_limit {
                    client = client.rate_limit(limit);
                }
                if let Some(observer) = self.observer {
                    client = client.observer(observer);
                }
                client.build().map_err(to_connector_error)?
            }
        };
        let margin = TimeDelta::from_std(self.watermark_margin).map_err(|_| {
            ConnectorError::InvalidConfig {
                message: "the watermark margin is too large".into(),
            }
        })?;
        let options = WebhookOptions {
            consent_horizon: TimeDelta::from_std(self.config.consent_expiry_horizon)
                .unwrap_or(TimeDelta::MAX),
            zone: self.config.time_zone,
            ..WebhookOptions::default()
        };
        let shared = Arc::new(Shared {
            name: self.config.name.clone(),
            config: self.config,
            client,
            clock: Arc::clone(&clock),
            watermark_margin: margin,
            maturation: self.maturation,
            connections_seen: ConnectionsSeen::default(),
        });
        let webhooks = PowensWebhooks::new(options)
            .with_clock(clock)
            .with_subscriber(Arc::new(AuthProviderSubscriber(Arc::clone(&shared))));
        Ok(PowensConnector { shared, webhooks })
    }
}

impl PowensConnector {
    /// A connector for `config`, with a client built from `config.endpoint` and the system
    /// clock.
    pub fn new(config: PowensConfig) -> Result<Self, ConnectorError> {
        Self::builder(config).build()
    }

    /// Starts configuring a connector for `config`.
    pub fn builder(config: PowensConfig) -> PowensConnectorBuilder {
        PowensConnectorBuilder {
            config,
            client: None,
            clock: None,
            rate_limit: None,
            observer: None,
            watermark_margin: DEFAULT_WATERMARK_MARGIN,
            maturation: MaturationRule::default(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &PowensConfig {
        &self.shared.config
    }

    /// The webhook handler (verification, trimming, translation, install).
    pub fn webhook_handler(&self) -> &PowensWebhooks {
        &self.webhooks
    }

    /// The connector's clock as the engine's clock (give it to
    /// [`connector_core::Engine::with_clock`] so that one clock drives both).
    pub fn engine_clock(&self) -> Arc<dyn connector_core::clock::Clock> {
        Arc::new(crate::clock::EngineClock(Arc::clone(&self.shared.clock)))
    }

    /// The Powens client.
    pub fn client(&self) -> &PowensClient {
        &self.shared.client
    }

    /// Transfers are not wired: always [`ConnectorError::NotSupported`].
    pub fn create_transfer(&self) -> Result<(), ConnectorError> {
        Err(ConnectorError::not_supported(
            Some(Capability::CreateTransfer),
            "create_transfer",
        ))
    }

    /// Payouts are not wired: always [`ConnectorError::NotSupported`].
    pub fn create_payout(&self) -> Result<(), ConnectorError> {
        Err(ConnectorError::not_supported(
            Some(Capability::CreatePayout),
            "create_payout",
        ))
    }
}

impl Connector for PowensConnector {
    fn name(&self) -> &str {
        &self.shared.name
    }

    fn capabilities(&self) -> &[Capability] {
        CAPABILITIES
    }

    /// The spec's tree ([`TaskTree::polling_open_banking`]) without its
    /// `FETCH_EXTERNAL_ACCOUNTS` node: the payments scan delivers the counterparties of each
    /// page it reads, so they are not scanned for twice.
    /// Calls nothing.
    fn install(&self) -> Result<TaskTree, ConnectorError> {
        Ok(TaskTree::polling_open_banking().without(TaskType::FetchExternalAccounts))
    }

    /// Deletes the webhook auth provider this connector created (matched by name).
    fn uninstall(&self, request: UninstallRequest) -> BoxFuture<'_, Result<(), ConnectorError>> {
        let _ = request;
        crate::install::remove_auth_provider(Arc::clone(&self.shared)).boxed()
    }

    fn accounts_fetcher(&self) -> Option<&dyn AccountsFetcher> {
        Some(self)
    }

    fn external_accounts_fetcher(&self) -> Option<&dyn ExternalAccountsFetcher> {
        Some(self)
    }

    fn balances_fetcher(&self) -> Option<&dyn BalancesFetcher> {
        Some(self)
    }

    fn payments_fetcher(&self) -> Option<&dyn PaymentsFetcher> {
        Some(self)
    }

    fn webhooks(&self) -> Option<&dyn WebhookHandler> {
        Some(&self.webhooks)
    }

    fn open_banking(&self) -> Option<&dyn OpenBankingFlows> {
        Some(self)
    }
}
