//! The open-banking flows: users, links, connections.

use futures::future::BoxFuture;

use crate::error::ConnectorError;
use crate::model::Record;
use crate::openbanking::{
    CallbackState, Connection, CreatedUser, ForwardedUser, LinkAttempt, LinkOutcome,
    PaymentServiceUser, PspConnection, UserLink,
};
use crate::webhook::WebhookEnvelope;

/// What a link (or re-link) URL is built from.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateUserLinkRequest {
    /// The link attempt.
    pub attempt_id: String,
    /// The PSU.
    pub psu: PaymentServiceUser,
    /// The PSU at the provider, with its token.
    pub forwarded_user: ForwardedUser,
    /// The name shown to the user.
    pub application_name: String,
    /// Where the client wants the user to land in the end.
    pub client_redirect_url: Option<String>,
    /// The URL the provider redirects to (ours), without a query string.
    pub redirect_url: String,
    /// The CSRF state to carry.
    pub callback_state: CallbackState,
    /// The webhook base URL, for providers that take it per link.
    pub webhook_base_url: Option<String>,
}

/// The provider's redirect back to us, and the attempt it must match.
#[derive(Debug, Clone, PartialEq)]
pub struct CompleteUserLinkRequest {
    /// The redirect request as received (query values, headers, body).
    pub call: WebhookEnvelope,
    /// The attempt the state must name.
    pub attempt: LinkAttempt,
}

/// The PSU flows of an open-banking connector.
pub trait OpenBankingFlows: Send + Sync {
    /// Creates the user at the provider.
    fn create_user<'a>(
        &'a self,
        psu: &'a PaymentServiceUser,
    ) -> BoxFuture<'a, Result<CreatedUser, ConnectorError>>;

    /// Builds the webview link for a new connection.
    fn create_user_link(
        &self,
        request: CreateUserLinkRequest,
    ) -> BoxFuture<'_, Result<UserLink, ConnectorError>>;

    /// Reads the redirect after a link; checks the CSRF state first.
    fn complete_user_link(
        &self,
        request: CompleteUserLinkRequest,
    ) -> BoxFuture<'_, Result<LinkOutcome, ConnectorError>>;

    /// Builds the webview link to renew `connection`.
    fn update_user_link(
        &self,
        request: CreateUserLinkRequest,
        connection: Connection,
    ) -> BoxFuture<'_, Result<UserLink, ConnectorError>>;

    /// Reads the redirect after a re-link; checks the CSRF state first.
    fn complete_update_user_link(
        &self,
        request: CompleteUserLinkRequest,
    ) -> BoxFuture<'_, Result<LinkOutcome, ConnectorError>>;

    /// Deletes one connection of the user at the provider.
    fn delete_user_connection<'a>(
        &'a self,
        psu: &'a PaymentServiceUser,
        forwarded_user: &'a ForwardedUser,
        connection: &'a PspConnection,
    ) -> BoxFuture<'a, Result<(), ConnectorError>>;

    /// Deletes the user at the provider.
    fn delete_user<'a>(
        &'a self,
        psu: &'a PaymentServiceUser,
        forwarded_user: &'a ForwardedUser,
    ) -> BoxFuture<'a, Result<(), ConnectorError>>;

    /// The health of the user's connections now: disconnections, pending disconnects
    /// (consent expiry). The engine asks it for every PSU on every cycle and delivers the
    /// events to the sink with the PSU's id. The default reports nothing.
    fn connection_events<'a>(
        &'a self,
        forwarded_user: &'a ForwardedUser,
    ) -> BoxFuture<'a, Result<Vec<Record>, ConnectorError>> {
        let _ = forwarded_user;
        Box::pin(async { Ok(Vec::new()) })
    }
}
