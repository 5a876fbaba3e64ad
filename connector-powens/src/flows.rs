//! The PSU and link flows ([`OpenBankingFlows`] for [`PowensConnector`]).
//!
//! * create (forward) a user: `POST /auth/init` with the client credentials → a permanent
//!   token and PSU metadata [`USER_ID_METADATA_KEY`] and [`EXPIRES_IN_METADATA_KEY`]
//!   (`"0"` when Powens says the token does not expire, as Powens itself encodes it);
//! * create a link: a single-use temporary code (`GET /auth/token/code?type=singleAccess`)
//!   and the Webview `connect` URL with the language, `max_connections`, the encoded
//!   `redirect_uri` and the CSRF `state`; the redirect URL must be absolute, `https` unless
//!   loopback, without query string ([`ConnectorError::Validation`] on `redirectURL`);
//! * update a link: the Webview `reconnect` URL with `connection_id` (renews consent);
//! * complete a link: the `state` is checked against the attempt in constant time, then the
//!   callback's connection ids or error become a [`LinkOutcome`];
//! * delete a connection (`DELETE /users/me/connections/{id}`) or the user
//!   (`DELETE /users/me`), with the PSU's token.

use std::collections::BTreeMap;

use chrono::TimeDelta;
use connector_core::contract::{CompleteUserLinkRequest, CreateUserLinkRequest, OpenBankingFlows};
use connector_core::model::Record;
use connector_core::openbanking::{
    CallbackState, Connection, CreatedUser, ForwardedUser, LinkOutcome, PaymentServiceUser,
    PspConnection, Token, UserLink,
};
use connector_core::ConnectorError;
use futures::future::BoxFuture;
use futures::FutureExt;
use powens_api::auth::CodeType;
use powens_api::webview::{check_redirect_uri, WebviewCallback, WebviewFlow, WebviewLink};
use secrecy::SecretString;

use crate::connector::PowensConnector;
use crate::error::to_connector_error;

/// PSU metadata: the Powens user id, under the key the connector spec names.
pub const USER_ID_METADATA_KEY: &str = "user_id";
/// PSU metadata: the permanent token's lifetime in seconds (`"0"`: does not expire), under
/// the key the connector spec names.
pub const EXPIRES_IN_METADATA_KEY: &str = "expires_in";
/// The namespaced copy of [`USER_ID_METADATA_KEY`] (earlier releases wrote only this one).
pub const NAMESPACED_USER_ID_METADATA_KEY: &str = "com.powens.spec/user_id";
/// The namespaced copy of [`EXPIRES_IN_METADATA_KEY`].
pub const NAMESPACED_EXPIRES_IN_METADATA_KEY: &str = "com.powens.spec/expires_in";
/// The Webview language when the PSU's locale gives none.
pub const DEFAULT_LANGUAGE: &str = "en";

/// The Webview language for a PSU: the first two letters of its locale (`fr-FR` → `fr`),
/// else [`DEFAULT_LANGUAGE`].
pub fn webview_language(psu: &PaymentServiceUser) -> String {
    psu.contact_details
        .as_ref()
        .and_then(|c| c.locale.as_deref())
        .map(|locale| {
            locale
                .chars()
                .take(2)
                .collect::<String>()
                .to_ascii_lowercase()
        })
        .filter(|lang| lang.len() == 2 && lang.chars().all(|c| c.is_ascii_lowercase()))
        .unwrap_or_else(|| DEFAULT_LANGUAGE.to_owned())
}

/// The PSU's permanent token, or an error naming what is missing.
pub(crate) fn user_token(user: &ForwardedUser) -> Result<&SecretString, ConnectorError> {
    user.access_token
        .as_ref()
        .map(Token::secret)
        .ok_or_else(|| ConnectorError::InvalidRequest {
            message: format!(
                "PSU {} has no Powens token: forward it (create_user) first",
                user.psu_id
            ),
        })
}

fn parse_connection_id(text: &str) -> Result<i64, ConnectorError> {
    text.trim()
        .parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| ConnectorError::InvalidRequest {
            message: format!("{text:?} is not a Powens connection id (a positive integer)"),
        })
}

impl PowensConnector {
    async fn link(
        &self,
        request: CreateUserLinkRequest,
        flow: WebviewFlow,
    ) -> Result<UserLink, ConnectorError> {
        let shared = &self.shared;
        check_redirect_uri(&request.redirect_url).map_err(|e| ConnectorError::Validation {
            field: "redirectURL".into(),
            message: e.to_string(),
        })?;
        let token = user_token(&request.forwarded_user)?;
        let code = shared
            .client
            .auth_token_code(token, Some(CodeType::SingleAccess))
            .await
            .map_err(to_connector_error)?;
        let mut link = WebviewLink::new(flow, &shared.config.domain, &shared.config.client_id)
            .base_url(shared.config.webview_url.as_str())
            .lang(webview_language(&request.psu))
            .code(code.code.clone())
            .redirect_uri(&request.redirect_url)
            .state(request.callback_state.encode());
        if flow == WebviewFlow::Connect {
            link = link.max_connections(shared.config.max_connections_per_link);
        }
        let url = link.build().map_err(|e| ConnectorError::InvalidRequest {
            message: format!("cannot build the Webview link: {e}"),
        })?;
        let expires_at = code
            .expires_in
            .filter(|s| *s > 0)
            .and_then(|s| shared.now().checked_add_signed(TimeDelta::seconds(s)));
        Ok(UserLink {
            link: url.as_str().to_owned(),
            temporary_link_token: Some(Token::new(code.code, expires_at)),
        })
    }

    async fn complete(
        &self,
        request: CompleteUserLinkRequest,
    ) -> Result<LinkOutcome, ConnectorError> {
        let pairs = request
            .call
            .query_values
            .iter()
            .flat_map(|(name, values)| values.iter().map(move |v| (name.as_str(), v.as_str())));
        let callback =
            WebviewCallback::from_pairs(pairs).map_err(|e| ConnectorError::InvalidRequest {
                message: format!("unreadable Webview callback: {e}"),
            })?;
        let state_text = callback
            .state()
            .ok_or_else(|| ConnectorError::InvalidRequest {
                message: "the Webview callback carries no `state`; refusing it (CSRF check)".into(),
            })?;
        let received =
            CallbackState::decode(state_text).map_err(|e| ConnectorError::InvalidRequest {
                message: format!("the Webview callback `state` is unreadable: {e}"),
            })?;
        if !request.attempt.state.matches(&received) {
            return Err(ConnectorError::InvalidRequest {
                message: format!(
                    "the Webview callback `state` does not match link attempt {} (CSRF check)",
                    request.attempt.id
                ),
            });
        }
        Ok(match callback {
            WebviewCallback::Failure(failure) => LinkOutcome::Error {
                error: failure.error.as_str().to_owned(),
                description: failure.description,
            },
            WebviewCallback::Success(success) => {
                let now = self.shared.now();
                LinkOutcome::Success {
                    connections: success
                        .all_connection_ids()
                        .into_iter()
                        .map(|id| PspConnection {
                            connection_id: id.to_string(),
                            created_at: now,
                            access_token: None,
                            metadata: BTreeMap::new(),
                        })
                        .collect(),
                }
            }
        })
    }
}

impl OpenBankingFlows for PowensConnector {
    fn create_user<'a>(
        &'a self,
        psu: &'a PaymentServiceUser,
    ) -> BoxFuture<'a, Result<CreatedUser, ConnectorError>> {
        async move {
            let shared = &self.shared;
            let created = shared
                .client
                .auth_init(&shared.credentials())
                .await
                .map_err(to_connector_error)?;
            let lifetime = created.expires_in.filter(|s| *s > 0);
            let expires_at =
                lifetime.and_then(|s| shared.now().checked_add_signed(TimeDelta::seconds(s)));
            let mut metadata = BTreeMap::new();
            let user_id = created.id_user.to_string();
            let expires_in = lifetime.unwrap_or(0).to_string();
            for key in [USER_ID_METADATA_KEY, NAMESPACED_USER_ID_METADATA_KEY] {
                metadata.insert(key.to_owned(), user_id.clone());
            }
            for key in [EXPIRES_IN_METADATA_KEY, NAMESPACED_EXPIRES_IN_METADATA_KEY] {
                metadata.insert(key.to_owned(), expires_in.clone());
            }
            tracing::info!(psu = %psu.id, powens_user = created.id_user, "PSU forwarded to Powens");
            Ok(CreatedUser {
                permanent_token: Some(Token::new(created.auth_token, expires_at)),
                psp_user_id: Some(created.id_user.to_string()),
                metadata,
            })
        }
        .boxed()
    }

    fn create_user_link(
        &self,
        request: CreateUserLinkRequest,
    ) -> BoxFuture<'_, Result<UserLink, ConnectorError>> {
        self.link(request, WebviewFlow::Connect).boxed()
    }

    fn complete_user_link(
        &self,
        request: CompleteUserLinkRequest,
    ) -> BoxFuture<'_, Result<LinkOutcome, ConnectorError>> {
        self.complete(request).boxed()
    }

    fn update_user_link(
        &self,
        request: CreateUserLinkRequest,
        connection: Connection,
    ) -> BoxFuture<'_, Result<UserLink, ConnectorError>> {
        async move {
            let connection_id = parse_connection_id(&connection.connection_id)?;
            self.link(request, WebviewFlow::Reconnect { connection_id })
                .await
        }
        .boxed()
    }

    fn complete_update_user_link(
        &self,
        request: CompleteUserLinkRequest,
    ) -> BoxFuture<'_, Result<LinkOutcome, ConnectorError>> {
        self.complete(request).boxed()
    }

    fn delete_user_connection<'a>(
        &'a self,
        _psu: &'a PaymentServiceUser,
        forwarded_user: &'a ForwardedUser,
        connection: &'a PspConnection,
    ) -> BoxFuture<'a, Result<(), ConnectorError>> {
        async move {
            let id = parse_connection_id(&connection.connection_id)?;
            let token = user_token(forwarded_user)?;
            self.shared
                .client
                .delete_connection(token, id)
                .await
                .map_err(to_connector_error)
        }
        .boxed()
    }

    fn delete_user<'a>(
        &'a self,
        _psu: &'a PaymentServiceUser,
        forwarded_user: &'a ForwardedUser,
    ) -> BoxFuture<'a, Result<(), ConnectorError>> {
        async move {
            let token = user_token(forwarded_user)?;
            self.shared
                .client
                .delete_me(token)
                .await
                .map_err(to_connector_error)
        }
        .boxed()
    }

    /// Disconnections and consent expiry of the PSU's connections
    /// ([`PowensConnector::connection_events`]), asked by the engine every cycle.
    fn connection_events<'a>(
        &'a self,
        forwarded_user: &'a ForwardedUser,
    ) -> BoxFuture<'a, Result<Vec<Record>, ConnectorError>> {
        PowensConnector::connection_events(self, forwarded_user).boxed()
    }
}

/// The forwarded user to store for `psu` after [`OpenBankingFlows::create_user`].
pub fn forwarded_user(
    connector_id: impl Into<String>,
    psu: &PaymentServiceUser,
    created: CreatedUser,
) -> ForwardedUser {
    ForwardedUser::from_created(connector_id, psu, created)
}
