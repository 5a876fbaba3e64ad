//! The [`Connector`] trait: identity, install, uninstall, and access to the capabilities.

use futures::future::BoxFuture;

use super::{
    AccountsFetcher, BalancesFetcher, ExternalAccountsFetcher, OpenBankingFlows, PaymentsFetcher,
    TaskTree, WebhookHandler,
};
use crate::error::ConnectorError;
use crate::model::Capability;
use crate::webhook::WebhookConfig;

/// What `uninstall` is given: the webhook configs created at install, to delete.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UninstallRequest {
    /// The connector instance.
    pub connector_id: String,
    /// The configs `create_webhooks` returned.
    pub webhook_configs: Vec<WebhookConfig>,
}

/// A connector: a stateless translator between a provider and the Connectivity model.
///
/// The engine owns state, scheduling and retries. Each capability is a separate trait; a
/// connector returns the ones it has from the accessors below, and the defaults (`None`)
/// make a missing one a typed [`ConnectorError::NotSupported`] through the `require_*`
/// helpers. Payment initiation is not part of this contract.
pub trait Connector: Send + Sync {
    /// The connector instance name.
    fn name(&self) -> &str;

    /// What the connector declares it can do.
    fn capabilities(&self) -> &[Capability];

    /// The workflow tree to run. Must not call the provider.
    fn install(&self) -> Result<TaskTree, ConnectorError>;

    /// Removes what the connector created at the provider (webhook subscriptions...).
    fn uninstall(&self, request: UninstallRequest) -> BoxFuture<'_, Result<(), ConnectorError>>;

    /// `FETCH_ACCOUNTS`, when supported.
    fn accounts_fetcher(&self) -> Option<&dyn AccountsFetcher> {
        None
    }

    /// `FETCH_EXTERNAL_ACCOUNTS`, when supported.
    fn external_accounts_fetcher(&self) -> Option<&dyn ExternalAccountsFetcher> {
        None
    }

    /// `FETCH_BALANCES`, when supported.
    fn balances_fetcher(&self) -> Option<&dyn BalancesFetcher> {
        None
    }

    /// `FETCH_PAYMENTS`, when supported.
    fn payments_fetcher(&self) -> Option<&dyn PaymentsFetcher> {
        None
    }

    /// `CREATE_WEBHOOKS` / `TRANSLATE_WEBHOOKS`, when supported.
    fn webhooks(&self) -> Option<&dyn WebhookHandler> {
        None
    }

    /// The open-banking PSU flows, when supported.
    fn open_banking(&self) -> Option<&dyn OpenBankingFlows> {
        None
    }
}

/// The `require_*` helpers: a capability or a typed "not supported" error.
pub trait ConnectorExt: Connector {
    /// The accounts fetcher or [`ConnectorError::NotSupported`].
    fn require_accounts(&self) -> Result<&dyn AccountsFetcher, ConnectorError> {
        self.accounts_fetcher().ok_or_else(|| {
            ConnectorError::not_supported(Some(Capability::FetchAccounts), "fetch_accounts")
        })
    }

    /// The external accounts fetcher or [`ConnectorError::NotSupported`].
    fn require_external_accounts(&self) -> Result<&dyn ExternalAccountsFetcher, ConnectorError> {
        self.external_accounts_fetcher().ok_or_else(|| {
            ConnectorError::not_supported(
                Some(Capability::FetchExternalAccounts),
                "fetch_external_accounts",
            )
        })
    }

    /// The balances fetcher or [`ConnectorError::NotSupported`].
    fn require_balances(&self) -> Result<&dyn BalancesFetcher, ConnectorError> {
        self.balances_fetcher().ok_or_else(|| {
            ConnectorError::not_supported(Some(Capability::FetchBalances), "fetch_balances")
        })
    }

    /// The payments fetcher or [`ConnectorError::NotSupported`].
    fn require_payments(&self) -> Result<&dyn PaymentsFetcher, ConnectorError> {
        self.payments_fetcher().ok_or_else(|| {
            ConnectorError::not_supported(Some(Capability::FetchPayments), "fetch_payments")
        })
    }

    /// The webhook handler or [`ConnectorError::NotSupported`].
    fn require_webhooks(&self) -> Result<&dyn WebhookHandler, ConnectorError> {
        self.webhooks().ok_or_else(|| {
            ConnectorError::not_supported(Some(Capability::TranslateWebhooks), "webhooks")
        })
    }

    /// The open-banking flows or [`ConnectorError::NotSupported`].
    fn require_open_banking(&self) -> Result<&dyn OpenBankingFlows, ConnectorError> {
        self.open_banking()
            .ok_or_else(|| ConnectorError::not_supported(None, "open_banking"))
    }
}

impl<C: Connector + ?Sized> ConnectorExt for C {}
