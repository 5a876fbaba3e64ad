//! Bank connections and link attempts.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{CallbackState, Token};
use crate::model::{AttemptStatus, ConnectionStatus};

/// A bank connection as the provider reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PspConnection {
    /// The provider's connection id.
    #[serde(rename = "connectionID")]
    pub connection_id: String,
    /// When it was created.
    #[serde(rename = "createdAt")]
    pub created_at: DateTime<Utc>,
    /// A connection-scoped token, for providers that issue one.
    #[serde(default, rename = "accessToken")]
    pub access_token: Option<Token>,
    /// Provider facts.
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
}

/// A stored bank connection with its status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Connection {
    /// The provider's connection id.
    #[serde(rename = "connectionID")]
    pub connection_id: String,
    /// The connector instance.
    #[serde(rename = "connectorID")]
    pub connector_id: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When its data was last fetched.
    #[serde(default)]
    pub data_updated_at: Option<DateTime<Utc>>,
    /// Working or in error.
    pub status: ConnectionStatus,
    /// When the status last changed.
    pub updated_at: DateTime<Utc>,
    /// A connection-scoped token, for providers that issue one.
    #[serde(default)]
    pub access_token: Option<Token>,
    /// The error, when the status is `ERROR`.
    #[serde(default)]
    pub error: Option<String>,
    /// Provider facts.
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
}

/// One attempt of a PSU to link (or re-link) banks through the provider's webview.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LinkAttempt {
    /// The attempt id.
    pub id: String,
    /// The PSU.
    #[serde(rename = "psuID")]
    pub psu_id: String,
    /// The connector instance.
    #[serde(rename = "connectorID")]
    pub connector_id: String,
    /// When it started.
    pub created_at: DateTime<Utc>,
    /// Where it stands.
    pub status: AttemptStatus,
    /// The CSRF state sent to the provider and expected back.
    pub state: CallbackState,
    /// Where to send the user afterwards.
    #[serde(default, rename = "clientRedirectURL")]
    pub client_redirect_url: Option<String>,
    /// The provider's temporary link token.
    #[serde(default)]
    pub temporary_token: Option<Token>,
    /// The error, when it failed.
    #[serde(default)]
    pub error: Option<String>,
}

/// How a link attempt ended, parsed from the provider's redirect.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum LinkOutcome {
    /// The user linked banks; the connections may be empty when the provider reports them
    /// later by webhook.
    Success {
        /// The connections the redirect names.
        connections: Vec<PspConnection>,
    },
    /// The user or the provider aborted.
    Error {
        /// The provider's error code.
        error: String,
        /// The provider's description, when given.
        #[serde(default)]
        description: Option<String>,
    },
}

/// A link URL to hand to the user.
///
/// `Debug` shows the link without its query string, which carries a temporary code.
#[derive(Clone, PartialEq)]
pub struct UserLink {
    /// The provider webview URL (it carries a temporary code: treat it as sensitive).
    pub link: String,
    /// The temporary token embedded in the link, when there is one.
    pub temporary_link_token: Option<Token>,
}

impl std::fmt::Debug for UserLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown = match self.link.split_once('?') {
            Some((base, _)) => format!("{base}?[REDACTED]"),
            None => self.link.clone(),
        };
        f.debug_struct("UserLink")
            .field("link", &shown)
            .field("temporary_link_token", &self.temporary_link_token)
            .finish()
    }
}
