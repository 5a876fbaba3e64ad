//! Connections: `Connection`, `ConnectionSource`, `ConnectionState`, the list envelope, and the
//! connection endpoints (list, get, delete, force sync) under `/users/me/connections`.

use http::Method;
use secrecy::SecretString;

use serde::{Deserialize, Serialize};
use serde_with::{serde_as, DefaultOnNull, NoneAsEmptyString};

use crate::accounts::BankAccount;
use crate::client::send::ApiRequest;
use crate::client::PowensClient;
use crate::error::Error;
use crate::query::Query;
use crate::wire::lenient::BlankAsNone;
use crate::wire::lenient::FromWireText;
use crate::wire::open_enum::open_enum;
use crate::wire::{Opaque, PowensDateTime};

open_enum! {
    /// `Connection.state` / `ConnectionSource.state` (ConnectionState). A successful last sync
    /// is *no* state: `null`, `""` and `"null"` all decode to `None`.
    pub enum ConnectionState {
        /// `SCARequired`: strong customer authentication needed (PSD2 re-consent).
        ScaRequired = "SCARequired",
        /// `webauthRequired`: full web/redirect authentication needed.
        WebauthRequired = "webauthRequired",
        /// `additionalInformationNeeded`: extra input such as an OTP; see `fields`.
        AdditionalInformationNeeded = "additionalInformationNeeded",
        /// `decoupled`: the user must validate in the bank app.
        Decoupled = "decoupled",
        /// `validating`: validation in progress (temporary).
        Validating = "validating",
        /// `actionNeeded`: the user must act on the bank website.
        ActionNeeded = "actionNeeded",
        /// `passwordExpired`: the password must be changed at the bank.
        PasswordExpired = "passwordExpired",
        /// Authentication failed: `wrongpass` (also spelled `wrongPass`).
        WrongPass = "wrongpass" | "wrongPass",
        /// `rateLimiting`: the bank throttles syncs (temporary).
        RateLimiting = "rateLimiting",
        /// `websiteUnavailable`: the bank website or API is down (temporary).
        WebsiteUnavailable = "websiteUnavailable",
        /// `bug`: internal Powens error.
        Bug = "bug",
        /// `notSupported`.
        NotSupported = "notSupported",
    }
}

/// `null`, missing, `""` and `"null"` (all meaning "last sync succeeded") give `None`
/// (`#[serde_as(deserialize_as = "BlankAsNone")]`); any other text is a state, known or not.
impl FromWireText for ConnectionState {
    const EXPECTING: &'static str = "a connection state string or null";

    fn from_wire_text(text: &str) -> Result<Option<Self>, String> {
        Ok(match text {
            "" | "null" => None,
            other => Some(Self::from_wire(other)),
        })
    }
}

/// A connection between a user and one institution (`Connection`).
///
/// Only `id` is required (`CONNECTION_DELETED` bodies may carry little else).
#[serde_as]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Connection {
    /// Connection id.
    pub id: i64,
    /// Owner user.
    #[serde(default)]
    pub id_user: Option<i64>,
    /// Connector (institution) id.
    #[serde(default)]
    pub id_connector: Option<i64>,
    /// Connector UUID (preferred over the id).
    #[serde(default)]
    pub connector_uuid: Option<String>,
    /// Deprecated alias of `id_connector`.
    #[serde(default)]
    pub id_provider: Option<i64>,
    /// Deprecated alias of `id_connector`.
    #[serde(default)]
    pub id_bank: Option<i64>,
    /// `None` when the last sync succeeded.
    #[serde(default)]
    #[serde_as(deserialize_as = "BlankAsNone")]
    pub state: Option<ConnectionState>,
    /// Deprecated duplicate of `state`.
    #[serde(default)]
    #[serde_as(deserialize_as = "BlankAsNone")]
    pub error: Option<ConnectionState>,
    /// Message from the institution for the user (untranslated).
    #[serde(default)]
    #[serde_as(deserialize_as = "NoneAsEmptyString")]
    pub error_message: Option<String>,
    /// For error states: the form fields to ask the user for (opaque).
    #[serde(default)]
    pub fields: Option<Vec<Opaque>>,
    /// Last successful sync.
    #[serde(default)]
    #[serde_as(deserialize_as = "BlankAsNone")]
    pub last_update: Option<PowensDateTime>,
    /// Creation time.
    #[serde(default)]
    #[serde_as(deserialize_as = "BlankAsNone")]
    pub created: Option<PowensDateTime>,
    /// Auto-sync enabled.
    #[serde(default)]
    pub active: Option<bool>,
    /// Last successful push.
    #[serde(default)]
    #[serde_as(deserialize_as = "BlankAsNone")]
    pub last_push: Option<PowensDateTime>,
    /// Latest consent expiry among the sources.
    #[serde(default)]
    #[serde_as(deserialize_as = "BlankAsNone")]
    pub expire: Option<PowensDateTime>,
    /// Next scheduled sync.
    #[serde(default)]
    #[serde_as(deserialize_as = "BlankAsNone")]
    pub next_try: Option<PowensDateTime>,
    /// The connector, with `expand=connector`.
    #[serde(default)]
    pub connector: Option<Connector>,
    /// The sources, with `expand=sources`.
    #[serde(default)]
    pub sources: Option<Vec<ConnectionSource>>,
    /// Enabled accounts, with `expand=accounts` (and in webhook bodies).
    #[serde(default)]
    pub accounts: Option<Vec<BankAccount>>,
    /// All accounts including disabled ones, with `expand=all_accounts`.
    #[serde(default)]
    pub all_accounts: Option<Vec<BankAccount>>,
}

/// The institution behind a connection (`expand=connector`); only the identifying fields are
/// decoded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Connector {
    /// Connector id.
    #[serde(default)]
    pub id: Option<i64>,
    /// Connector UUID.
    #[serde(default)]
    pub uuid: Option<String>,
    /// Institution name.
    #[serde(default)]
    pub name: Option<String>,
}

/// One access channel of a connection (`ConnectionSource`).
#[serde_as]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ConnectionSource {
    /// Source id.
    pub id: i64,
    /// Parent connection.
    #[serde(default)]
    pub id_connection: Option<i64>,
    /// Connector source id.
    #[serde(default)]
    pub id_connector_source: Option<i64>,
    /// Lower-case source code (e.g. `openapi`).
    #[serde(default)]
    pub name: Option<String>,
    /// `None` when the last sync of this source succeeded.
    #[serde(default)]
    #[serde_as(deserialize_as = "BlankAsNone")]
    pub state: Option<ConnectionState>,
    /// Last successful sync.
    #[serde(default)]
    #[serde_as(deserialize_as = "BlankAsNone")]
    pub last_update: Option<PowensDateTime>,
    /// Set when the source is ignored.
    #[serde(default)]
    #[serde_as(deserialize_as = "BlankAsNone")]
    pub disabled: Option<PowensDateTime>,
    /// Creation time.
    #[serde(default)]
    #[serde_as(deserialize_as = "BlankAsNone")]
    pub created: Option<PowensDateTime>,
    /// Next scheduled sync.
    #[serde(default)]
    #[serde_as(deserialize_as = "BlankAsNone")]
    pub next_try: Option<PowensDateTime>,
    /// Consent expiry, if known.
    #[serde(default)]
    #[serde_as(deserialize_as = "BlankAsNone")]
    pub access_expire: Option<PowensDateTime>,
    /// Purge date of a source whose completion never finished.
    #[serde(default)]
    #[serde_as(deserialize_as = "BlankAsNone")]
    pub expire: Option<PowensDateTime>,
}

/// The body of `GET /users/me/connections`.
#[serde_as]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ConnectionsList {
    /// The connections.
    #[serde(default)]
    #[serde_as(deserialize_as = "DefaultOnNull")]
    pub connections: Vec<Connection>,
    /// Number of connections (legacy).
    #[serde(default)]
    pub total: Option<u64>,
}

open_enum! {
    /// Values of `expand` on the connection endpoints.
    pub enum ConnectionExpand {
        /// `connector`
        Connector = "connector",
        /// `sources`
        Sources = "sources",
        /// `accounts` (enabled accounts)
        Accounts = "accounts",
        /// `all_accounts` (disabled accounts included)
        AllAccounts = "all_accounts",
    }
}

/// Parameters of the connection list/get endpoints.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ConnectionsQuery {
    /// Related objects to embed (comma-joined into one `expand`).
    pub expand: Vec<ConnectionExpand>,
}

impl ConnectionsQuery {
    /// No expansion.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an `expand` value.
    pub fn expand(mut self, expand: ConnectionExpand) -> Self {
        self.expand.push(expand);
        self
    }

    fn to_url(&self, url: url::Url) -> url::Url {
        Query::new(url)
            .list("expand", self.expand.iter().map(ConnectionExpand::as_str))
            .finish()
    }
}

impl PowensClient {
    /// `GET /users/me/connections`: the user's connections.
    pub async fn list_connections(
        &self,
        user_token: &SecretString,
        query: &ConnectionsQuery,
    ) -> Result<ConnectionsList, Error> {
        let url = query.to_url(self.endpoint().api("users/me/connections")?);
        self.send_json(ApiRequest::new(Method::GET, url, Some(user_token)))
            .await
    }

    /// `GET /users/me/connections/{connection_id}`: one connection.
    pub async fn get_connection(
        &self,
        user_token: &SecretString,
        connection_id: i64,
        query: &ConnectionsQuery,
    ) -> Result<Connection, Error> {
        let path = format!("users/me/connections/{connection_id}");
        let url = query.to_url(self.endpoint().api(&path)?);
        self.send_json(ApiRequest::new(Method::GET, url, Some(user_token)))
            .await
    }

    /// `DELETE /users/me/connections/{connection_id}`: deletes the connection and all its data
    /// (irreversible; Powens then emits `CONNECTION_DELETED`).
    pub async fn delete_connection(
        &self,
        user_token: &SecretString,
        connection_id: i64,
    ) -> Result<(), Error> {
        let path = format!("users/me/connections/{connection_id}");
        let url = self.endpoint().api(&path)?;
        self.send_no_content(ApiRequest::new(Method::DELETE, url, Some(user_token)))
            .await
    }

    /// `PUT /users/me/connections/{connection_id}`: forces a sync. Returns the connection when
    /// Powens answers with one, `None` for an empty answer. The fair-usage policy reserves this
    /// for syncs a user asked for.
    pub async fn sync_connection(
        &self,
        user_token: &SecretString,
        connection_id: i64,
    ) -> Result<Option<Connection>, Error> {
        let path = format!("users/me/connections/{connection_id}");
        let url = self.endpoint().api(&path)?;
        self.send_optional_json(ApiRequest::new(Method::PUT, url, Some(user_token)))
            .await
    }
}
