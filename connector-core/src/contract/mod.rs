//! The connector contract: the [`Connector`] trait, one fetcher trait per fetch capability
//! (each returning a stream of [`FetchPage`]s), webhooks, open-banking flows, and the
//! workflow tree.

mod connector;
mod fetch;
mod open_banking;
mod task_tree;
mod webhooks;

pub use connector::{Connector, ConnectorExt, UninstallRequest};
pub use fetch::{
    AccountsFetcher, BalancesFetcher, ExternalAccountsFetcher, FetchPage, FetchRequest,
    FromPayload, PageStream, PaymentChange, PaymentsFetcher,
};
pub use open_banking::{CompleteUserLinkRequest, CreateUserLinkRequest, OpenBankingFlows};
pub use task_tree::{TaskNode, TaskTree};
pub use webhooks::{
    CreateWebhooksRequest, SkippedObject, VerifiedWebhook, WebhookHandler, WebhookTranslation,
};
