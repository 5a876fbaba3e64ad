//! User authentication: `POST /auth/init`, `GET /auth/token/code`, `POST /auth/token/access`,
//! `POST /auth/renew`, `DELETE /auth/token`.
//!
//! Tokens, codes and the client secret are [`SecretString`]s: their `Debug` is redacted and
//! they are exposed only to build a request body or the `Authorization` header. The three
//! `POST`s are never replayed by the retry loop (a replayed `/auth/init` creates a second,
//! billable user; codes are single-use).

use std::fmt;

use http::Method;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::json;

use crate::client::send::ApiRequest;
use crate::client::PowensClient;
use crate::error::Error;
use crate::wire::open_enum::open_enum;

/// The client application's credentials (`client_id` + `client_secret`).
#[derive(Clone)]
pub struct ClientCredentials {
    /// The client id (not secret).
    pub client_id: String,
    /// The client secret.
    pub client_secret: SecretString,
}

impl ClientCredentials {
    /// Credentials from their parts.
    pub fn new(client_id: impl Into<String>, client_secret: SecretString) -> Self {
        Self {
            client_id: client_id.into(),
            client_secret,
        }
    }
}

impl fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("client_id", &self.client_id)
            .field("client_secret", &"[REDACTED]")
            .finish()
    }
}

open_enum! {
    /// `AuthToken.type`.
    pub enum TokenType {
        /// `permanent`
        Permanent = "permanent",
        /// `temporary` (30 minutes)
        Temporary = "temporary",
    }
}

open_enum! {
    /// The `type` query parameter of `GET /auth/token/code`.
    pub enum CodeType {
        /// `requestAccess` (Powens' default): valid 30 minutes.
        RequestAccess = "requestAccess",
        /// `singleAccess`: usable once (recommended for the Webview).
        SingleAccess = "singleAccess",
    }
}

open_enum! {
    /// `AuthCode.access`.
    pub enum CodeAccess {
        /// `single`
        Single = "single",
        /// `standard`
        Standard = "standard",
    }
}

/// The answer of `POST /auth/init`: a new user and its token.
#[derive(Debug, Clone, Deserialize)]
#[non_exhaustive]
pub struct AuthToken {
    /// The user's token (permanent when client credentials were sent).
    pub auth_token: SecretString,
    /// `permanent` or `temporary`.
    #[serde(rename = "type")]
    pub token_type: TokenType,
    /// The new user's id.
    pub id_user: i64,
    /// Lifetime in seconds; `None` (or `0`) means it does not expire.
    #[serde(default)]
    pub expires_in: Option<i64>,
}

/// The answer of `GET /auth/token/code`: a temporary code for the Webview.
#[derive(Debug, Clone, Deserialize)]
#[non_exhaustive]
pub struct AuthCode {
    /// The code (may contain `/`, `_`, …: always percent-encode it).
    pub code: SecretString,
    /// Always `temporary`.
    #[serde(default, rename = "type")]
    pub code_type: Option<String>,
    /// `single` or `standard`.
    #[serde(default)]
    pub access: Option<CodeAccess>,
    /// Lifetime in seconds.
    #[serde(default)]
    pub expires_in: Option<i64>,
}

/// The answer of `POST /auth/token/access` and `POST /auth/renew`.
#[derive(Debug, Clone, Deserialize)]
#[non_exhaustive]
pub struct AccessToken {
    /// The permanent user token.
    pub access_token: SecretString,
    /// Always `Bearer`.
    #[serde(default)]
    pub token_type: Option<String>,
}

/// A code exchange (`POST /auth/token/access`).
#[derive(Debug, Clone)]
pub struct CodeExchange {
    /// The client credentials.
    pub credentials: ClientCredentials,
    /// The code returned by the Webview callback.
    pub code: SecretString,
    /// The exact redirect URI of the flow, when one was used.
    pub redirect_uri: Option<String>,
}

/// A token renewal (`POST /auth/renew`).
#[derive(Debug, Clone)]
pub struct TokenRenewal {
    /// The client credentials.
    pub credentials: ClientCredentials,
    /// The user whose token is renewed.
    pub id_user: i64,
    /// Delete every other permanent token of the user.
    pub revoke_previous: bool,
}

impl PowensClient {
    /// `POST /auth/init` with the client credentials: creates a user and returns its permanent
    /// token. Never retried.
    pub async fn auth_init(&self, credentials: &ClientCredentials) -> Result<AuthToken, Error> {
        let url = self.endpoint().api("auth/init")?;
        let body = json!({
            "client_id": credentials.client_id,
            "client_secret": credentials.client_secret.expose_secret(),
        });
        self.send_json(
            ApiRequest::new(Method::POST, url, None)
                .json(&body)
                .never_replay(),
        )
        .await
    }

    /// `GET /auth/token/code[?type=…]`: a temporary code for the Webview. Without `code_type`
    /// Powens uses `requestAccess`.
    pub async fn auth_token_code(
        &self,
        user_token: &SecretString,
        code_type: Option<CodeType>,
    ) -> Result<AuthCode, Error> {
        let mut url = self.endpoint().api("auth/token/code")?;
        if let Some(code_type) = code_type {
            url.query_pairs_mut()
                .append_pair("type", code_type.as_str());
        }
        self.send_json(ApiRequest::new(Method::GET, url, Some(user_token)))
            .await
    }

    /// `POST /auth/token/access`: exchanges a Webview code for a permanent token. Never
    /// retried.
    pub async fn auth_token_access(&self, exchange: &CodeExchange) -> Result<AccessToken, Error> {
        let url = self.endpoint().api("auth/token/access")?;
        let mut body = json!({
            "grant_type": "authorization_code",
            "client_id": exchange.credentials.client_id,
            "client_secret": exchange.credentials.client_secret.expose_secret(),
            "code": exchange.code.expose_secret(),
        });
        if let (Some(uri), Some(map)) = (&exchange.redirect_uri, body.as_object_mut()) {
            map.insert("redirect_uri".to_owned(), json!(uri));
        }
        self.send_json(
            ApiRequest::new(Method::POST, url, None)
                .json(&body)
                .never_replay(),
        )
        .await
    }

    /// `POST /auth/renew`: a new permanent token for an existing user. Never retried.
    pub async fn auth_renew(&self, renewal: &TokenRenewal) -> Result<AccessToken, Error> {
        let url = self.endpoint().api("auth/renew")?;
        let body = json!({
            "grant_type": "client_credentials",
            "client_id": renewal.credentials.client_id,
            "client_secret": renewal.credentials.client_secret.expose_secret(),
            "id_user": renewal.id_user,
            "revoke_previous": renewal.revoke_previous,
        });
        self.send_json(
            ApiRequest::new(Method::POST, url, None)
                .json(&body)
                .never_replay(),
        )
        .await
    }

    /// `DELETE /auth/token`: revokes the token used to call it.
    pub async fn revoke_token(&self, user_token: &SecretString) -> Result<(), Error> {
        let url = self.endpoint().api("auth/token")?;
        self.send_no_content(ApiRequest::new(Method::DELETE, url, Some(user_token)))
            .await
    }
}
