//! Webhook auth providers: `POST`/`GET /webhooks/auth`, `DELETE /webhooks/auth/{id}`.
//!
//! These routes live at the host root, **without** `/2.0` (see
//! [`Endpoint`](crate::client::Endpoint)), and are authenticated with the domain's
//! *configuration token*. Creating an `hmac_signature` provider returns its `secret_key` once.

use std::fmt;

use http::Method;
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::json;
use serde_with::{serde_as, DefaultOnNull};

use crate::client::send::ApiRequest;
use crate::client::PowensClient;
use crate::error::Error;
use crate::query::Query;
use crate::wire::open_enum::open_enum;

/// The longest provider name accepted.
pub const MAX_NAME_LEN: usize = 32;

/// A validated provider name: 1 to 32 ASCII letters or digits.
///
/// Powens answered HTTP 500 `dataError` to a 39-character name with dashes, while 13
/// alphanumeric characters worked; this crate refuses anything outside `[A-Za-z0-9]{1,32}`
/// before sending.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WebhookAuthName(String);

impl WebhookAuthName {
    /// Validates `name`.
    pub fn new(name: impl Into<String>) -> Result<Self, Error> {
        let name = name.into();
        if name.is_empty() || name.len() > MAX_NAME_LEN {
            return Err(Error::InvalidRequest {
                field: "name",
                reason: format!(
                    "must be 1 to {MAX_NAME_LEN} characters long, got {}",
                    name.chars().count()
                ),
            });
        }
        if let Some(bad) = name.chars().find(|c| !c.is_ascii_alphanumeric()) {
            return Err(Error::InvalidRequest {
                field: "name",
                reason: format!("must contain only ASCII letters and digits, found {bad:?}"),
            });
        }
        Ok(Self(name))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for WebhookAuthName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

open_enum! {
    /// Auth provider type.
    pub enum AuthProviderType {
        /// `hmac_signature`
        HmacSignature = "hmac_signature",
        /// `oauth`
        Oauth = "oauth",
    }
}

/// An auth provider as listed.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct AuthProvider {
    /// Provider id.
    pub id: i64,
    /// Provider type.
    #[serde(default, rename = "type")]
    pub provider_type: Option<AuthProviderType>,
    /// Provider name.
    #[serde(default)]
    pub name: Option<String>,
}

/// The answer of `POST /webhooks/auth`.
#[derive(Debug, Clone, Deserialize)]
#[non_exhaustive]
pub struct CreatedAuthProvider {
    /// Provider id.
    pub id: i64,
    /// Provider type.
    #[serde(default, rename = "type")]
    pub provider_type: Option<AuthProviderType>,
    /// Provider name.
    #[serde(default)]
    pub name: Option<String>,
    /// Its configuration; for HMAC, the signing secret (shown only once).
    #[serde(default)]
    pub config: Option<AuthProviderConfig>,
}

/// `config` of a created provider.
#[derive(Debug, Clone, Deserialize)]
#[non_exhaustive]
pub struct AuthProviderConfig {
    /// The HMAC signing secret.
    #[serde(default)]
    pub secret_key: Option<SecretString>,
}

/// The answer of `GET /webhooks/auth`.
#[serde_as]
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct AuthProvidersList {
    /// The providers.
    #[serde(default)]
    #[serde_as(deserialize_as = "DefaultOnNull")]
    pub authproviders: Vec<AuthProvider>,
    /// Their number, when sent.
    #[serde(default)]
    pub total: Option<u64>,
}

impl PowensClient {
    /// `POST /webhooks/auth`: creates an `hmac_signature` provider named `name`.
    ///
    /// `type` and `name` are sent both in the JSON body (as documented) and as query
    /// parameters (the form Formance's live contract test uses), so either server reading
    /// works. Not replayed on 5xx (only on 429).
    pub async fn create_webhook_auth(
        &self,
        configuration_token: &SecretString,
        name: &WebhookAuthName,
    ) -> Result<CreatedAuthProvider, Error> {
        let kind = AuthProviderType::HmacSignature;
        let url = Query::new(self.endpoint().host("webhooks/auth")?)
            .pair("type", kind.as_str())
            .pair("name", name.as_str())
            .finish();
        let body = json!({ "type": kind.as_str(), "name": name.as_str() });
        self.send_json(ApiRequest::new(Method::POST, url, Some(configuration_token)).json(&body))
            .await
    }

    /// `GET /webhooks/auth`: every auth provider of the domain.
    pub async fn list_webhook_auths(
        &self,
        configuration_token: &SecretString,
    ) -> Result<AuthProvidersList, Error> {
        let url = self.endpoint().host("webhooks/auth")?;
        self.send_json(ApiRequest::new(Method::GET, url, Some(configuration_token)))
            .await
    }

    /// `DELETE /webhooks/auth/{id}`.
    pub async fn delete_webhook_auth(
        &self,
        configuration_token: &SecretString,
        id: i64,
    ) -> Result<(), Error> {
        let url = self.endpoint().host(&format!("webhooks/auth/{id}"))?;
        self.send_no_content(ApiRequest::new(
            Method::DELETE,
            url,
            Some(configuration_token),
        ))
        .await
    }
}
