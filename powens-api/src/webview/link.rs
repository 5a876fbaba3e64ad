//! Webview URLs: `{base}/{lang}/{connect|reconnect|manage}?…`.
//!
//! Parameters are written in a fixed order (`domain`, `client_id`, `code`, `redirect_uri`,
//! `state`, `connection_id`, then the optional ones in the order of the setters below), every
//! key and value percent-encoded (everything but `A-Z a-z 0-9 - . _ ~`), list items encoded one
//! by one and joined with a literal `,` (so an item containing a comma stays unambiguous).

use std::fmt;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::client::endpoint::is_loopback;

/// The production Webview host.
pub const DEFAULT_BASE_URL: &str = "https://webview.powens.com";

/// Everything except RFC 3986 unreserved characters.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The Webview flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebviewFlow {
    /// `connect`: add connections.
    Connect,
    /// `reconnect`: re-authenticate / renew consent of one connection.
    Reconnect {
        /// The connection to renew.
        connection_id: i64,
    },
    /// `manage`: let the user manage their connections.
    Manage {
        /// Jump straight to this connection.
        connection_id: Option<i64>,
    },
}

impl WebviewFlow {
    fn segment(&self) -> &'static str {
        match self {
            Self::Connect => "connect",
            Self::Reconnect { .. } => "reconnect",
            Self::Manage { .. } => "manage",
        }
    }
}

/// A Webview link that was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WebviewError {
    /// The base URL is not an absolute http(s) URL without query.
    #[error("invalid Webview base URL {0:?}: expected an absolute http(s) URL without query")]
    BaseUrl(String),
    /// The language is not two lower-case ASCII letters.
    #[error("invalid Webview language {0:?}: expected two lower-case letters such as `en`")]
    Lang(String),
    /// The redirect URI breaks a rule.
    #[error("invalid redirect_uri {uri:?}: {reason}")]
    RedirectUri {
        /// The URI.
        uri: String,
        /// The rule it breaks.
        reason: &'static str,
    },
    /// A parameter the flow requires is missing.
    #[error("the {flow} Webview flow requires `{param}`")]
    Missing {
        /// The flow.
        flow: &'static str,
        /// The parameter.
        param: &'static str,
    },
}

/// A built Webview URL. Its `Debug` hides the temporary `code`; [`as_str`](Self::as_str) gives
/// the real URL to hand to the user.
#[derive(Clone, PartialEq, Eq)]
pub struct WebviewUrl {
    url: String,
    redacted: String,
}

impl WebviewUrl {
    /// The URL, temporary code included.
    pub fn as_str(&self) -> &str {
        &self.url
    }

    /// The URL with the `code` value replaced by `REDACTED` (for logs).
    pub fn redacted(&self) -> &str {
        &self.redacted
    }
}

impl fmt::Debug for WebviewUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("WebviewUrl").field(&self.redacted).finish()
    }
}

/// Builds a Webview URL. `domain` is the full API host (`acme.biapi.pro`).
#[derive(Clone)]
pub struct WebviewLink {
    base: String,
    lang: String,
    flow: WebviewFlow,
    domain: String,
    client_id: String,
    code: Option<SecretString>,
    redirect_uri: Option<String>,
    state: Option<String>,
    max_connections: Option<u32>,
    reset_credentials: bool,
    connection_sources: Vec<String>,
    connector_uuids: Vec<String>,
    connector_ids: Vec<i64>,
    connector_capabilities: Vec<String>,
    account_ibans: Vec<String>,
    account_types: Vec<String>,
    account_usages: Vec<String>,
    extra: Vec<(String, String)>,
}

impl fmt::Debug for WebviewLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebviewLink")
            .field("base", &self.base)
            .field("lang", &self.lang)
            .field("flow", &self.flow)
            .field("domain", &self.domain)
            .field("client_id", &self.client_id)
            .field("code", &self.code.as_ref().map(|_| "[REDACTED]"))
            .field("redirect_uri", &self.redirect_uri)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl WebviewLink {
    /// A link for `flow` on `domain` for the client application `client_id`, in English, on
    /// the production Webview host.
    pub fn new(flow: WebviewFlow, domain: impl Into<String>, client_id: impl Into<String>) -> Self {
        Self {
            base: DEFAULT_BASE_URL.to_owned(),
            lang: "en".to_owned(),
            flow,
            domain: domain.into(),
            client_id: client_id.into(),
            code: None,
            redirect_uri: None,
            state: None,
            max_connections: None,
            reset_credentials: false,
            connection_sources: Vec::new(),
            connector_uuids: Vec::new(),
            connector_ids: Vec::new(),
            connector_capabilities: Vec::new(),
            account_ibans: Vec::new(),
            account_types: Vec::new(),
            account_usages: Vec::new(),
            extra: Vec::new(),
        }
    }

    /// A `connect` link.
    pub fn connect(domain: impl Into<String>, client_id: impl Into<String>) -> Self {
        Self::new(WebviewFlow::Connect, domain, client_id)
    }

    /// A `reconnect` link for `connection_id`.
    pub fn reconnect(
        domain: impl Into<String>,
        client_id: impl Into<String>,
        connection_id: i64,
    ) -> Self {
        Self::new(WebviewFlow::Reconnect { connection_id }, domain, client_id)
    }

    /// A `manage` link.
    pub fn manage(
        domain: impl Into<String>,
        client_id: impl Into<String>,
        connection_id: Option<i64>,
    ) -> Self {
        Self::new(WebviewFlow::Manage { connection_id }, domain, client_id)
    }

    /// Overrides the Webview host (e.g. a loopback sandbox `http://127.0.0.1:4000/webview`).
    pub fn base_url(mut self, base: impl Into<String>) -> Self {
        self.base = base.into();
        self
    }

    /// The language path segment (`en`, `fr`, `de`, `nl`, `pt`, `it`, `es`).
    pub fn lang(mut self, lang: impl Into<String>) -> Self {
        self.lang = lang.into();
        self
    }

    /// The temporary code from `GET /auth/token/code`.
    pub fn code(mut self, code: SecretString) -> Self {
        self.code = Some(code);
        self
    }

    /// Where the Webview sends the user back: absolute, `https` unless the host is loopback,
    /// without query string or fragment.
    pub fn redirect_uri(mut self, uri: impl Into<String>) -> Self {
        self.redirect_uri = Some(uri.into());
        self
    }

    /// Opaque state echoed back on the callback.
    pub fn state(mut self, state: impl Into<String>) -> Self {
        self.state = Some(state.into());
        self
    }

    /// `max_connections`: how many connections one session may add.
    pub fn max_connections(mut self, max: u32) -> Self {
        self.max_connections = Some(max);
        self
    }

    /// `reset_credentials=true` (reconnect).
    pub fn reset_credentials(mut self, reset: bool) -> Self {
        self.reset_credentials = reset;
        self
    }

    /// `connection_sources` (reconnect with `reset_credentials`).
    pub fn connection_sources<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        items: I,
    ) -> Self {
        self.connection_sources = items.into_iter().map(Into::into).collect();
        self
    }

    /// `connector_uuids`.
    pub fn connector_uuids<I: IntoIterator<Item = S>, S: Into<String>>(mut self, items: I) -> Self {
        self.connector_uuids = items.into_iter().map(Into::into).collect();
        self
    }

    /// `connector_ids`.
    pub fn connector_ids(mut self, ids: impl IntoIterator<Item = i64>) -> Self {
        self.connector_ids = ids.into_iter().collect();
        self
    }

    /// `connector_capabilities` (e.g. `bank`, `bankwealth`, `document`).
    pub fn connector_capabilities<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        items: I,
    ) -> Self {
        self.connector_capabilities = items.into_iter().map(Into::into).collect();
        self
    }

    /// `account_ibans`.
    pub fn account_ibans<I: IntoIterator<Item = S>, S: Into<String>>(mut self, items: I) -> Self {
        self.account_ibans = items.into_iter().map(Into::into).collect();
        self
    }

    /// `account_types` (e.g. `checking`, `card`).
    pub fn account_types<I: IntoIterator<Item = S>, S: Into<String>>(mut self, items: I) -> Self {
        self.account_types = items.into_iter().map(Into::into).collect();
        self
    }

    /// `account_usages` (e.g. `priv`, `orga`).
    pub fn account_usages<I: IntoIterator<Item = S>, S: Into<String>>(mut self, items: I) -> Self {
        self.account_usages = items.into_iter().map(Into::into).collect();
        self
    }

    /// Any other parameter (e.g. a connector field prefill `{connector_uuid}.website=pro`),
    /// appended last in call order.
    pub fn param(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.extra.push((key.into(), value.into()));
        self
    }

    /// Validates and builds the URL.
    pub fn build(&self) -> Result<WebviewUrl, WebviewError> {
        let base = self.checked_base()?;
        if self.lang.len() != 2 || !self.lang.bytes().all(|b| b.is_ascii_lowercase()) {
            return Err(WebviewError::Lang(self.lang.clone()));
        }
        let flow = self.flow.segment();
        if let Some(uri) = &self.redirect_uri {
            check_redirect_uri(uri)?;
        }
        let needs_redirect = !matches!(self.flow, WebviewFlow::Manage { .. });
        if needs_redirect && self.redirect_uri.is_none() {
            return Err(WebviewError::Missing {
                flow,
                param: "redirect_uri",
            });
        }
        if !matches!(self.flow, WebviewFlow::Connect) && self.code.is_none() {
            return Err(WebviewError::Missing {
                flow,
                param: "code",
            });
        }

        let mut pairs: Vec<(String, String)> = vec![
            (enc("domain"), enc(&self.domain)),
            (enc("client_id"), enc(&self.client_id)),
        ];
        let code_at = self.code.as_ref().map(|code| {
            pairs.push(("code".to_owned(), enc(code.expose_secret())));
            pairs.len() - 1
        });
        push_opt(&mut pairs, "redirect_uri", self.redirect_uri.as_deref());
        push_opt(&mut pairs, "state", self.state.as_deref());
        let connection_id = match self.flow {
            WebviewFlow::Reconnect { connection_id } => Some(connection_id),
            WebviewFlow::Manage { connection_id } => connection_id,
            WebviewFlow::Connect => None,
        };
        push_opt(
            &mut pairs,
            "connection_id",
            connection_id.map(|id| id.to_string()).as_deref(),
        );
        push_opt(
            &mut pairs,
            "max_connections",
            self.max_connections.map(|n| n.to_string()).as_deref(),
        );
        if self.reset_credentials {
            pairs.push(("reset_credentials".to_owned(), "true".to_owned()));
        }
        push_list(&mut pairs, "connection_sources", &self.connection_sources);
        push_list(&mut pairs, "connector_uuids", &self.connector_uuids);
        let ids: Vec<String> = self.connector_ids.iter().map(i64::to_string).collect();
        push_list(&mut pairs, "connector_ids", &ids);
        push_list(
            &mut pairs,
            "connector_capabilities",
            &self.connector_capabilities,
        );
        push_list(&mut pairs, "account_ibans", &self.account_ibans);
        push_list(&mut pairs, "account_types", &self.account_types);
        push_list(&mut pairs, "account_usages", &self.account_usages);
        for (key, value) in &self.extra {
            pairs.push((enc(key), enc(value)));
        }

        let render = |redact: bool| {
            let query: Vec<String> = pairs
                .iter()
                .enumerate()
                .map(|(i, (k, v))| {
                    if redact && Some(i) == code_at {
                        format!("{k}=REDACTED")
                    } else {
                        format!("{k}={v}")
                    }
                })
                .collect();
            format!("{base}/{}/{flow}?{}", self.lang, query.join("&"))
        };
        Ok(WebviewUrl {
            url: render(false),
            redacted: render(true),
        })
    }

    fn checked_base(&self) -> Result<&str, WebviewError> {
        let base = self.base.trim_end_matches('/');
        match Url::parse(base) {
            Ok(url)
                if matches!(url.scheme(), "http" | "https")
                    && url.host().is_some()
                    && url.query().is_none()
                    && url.fragment().is_none() =>
            {
                Ok(base)
            }
            _ => Err(WebviewError::BaseUrl(self.base.clone())),
        }
    }
}

fn enc(text: &str) -> String {
    utf8_percent_encode(text, COMPONENT).to_string()
}

fn push_opt(pairs: &mut Vec<(String, String)>, key: &str, value: Option<&str>) {
    if let Some(value) = value {
        pairs.push((key.to_owned(), enc(value)));
    }
}

fn push_list(pairs: &mut Vec<(String, String)>, key: &str, items: &[String]) {
    if !items.is_empty() {
        let joined: Vec<String> = items.iter().map(|item| enc(item)).collect();
        pairs.push((key.to_owned(), joined.join(",")));
    }
}

/// The redirect URI rules: absolute, `https` unless loopback, no query string, no fragment.
pub fn check_redirect_uri(uri: &str) -> Result<(), WebviewError> {
    let fail = |reason| WebviewError::RedirectUri {
        uri: uri.to_owned(),
        reason,
    };
    let url = Url::parse(uri).map_err(|_| fail("must be an absolute URL"))?;
    if url.query().is_some() {
        return Err(fail("must not carry a query string"));
    }
    if url.fragment().is_some() {
        return Err(fail("must not carry a fragment"));
    }
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(&url) => Ok(()),
        "http" => Err(fail("must use https unless the host is loopback")),
        _ => Err(fail("must be an http(s) URL")),
    }
}
