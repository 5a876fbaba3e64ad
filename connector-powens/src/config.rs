//! The install payload: [`PowensConfig`], read from camelCase JSON with every problem reported
//! by field name ([`ConfigError`]).
//!
//! | Field | Type | Required | Default |
//! |---|---|---|---|
//! | `clientID` | string | yes | |
//! | `clientSecret` | string (secret) | yes | |
//! | `configurationToken` | string (secret) | yes | |
//! | `domain` | host name, e.g. `acme.biapi.pro` | yes | |
//! | `endpoint` | absolute URL, `https` unless loopback | yes | |
//! | `maxConnectionsPerLink` | integer 1..=4294967295 | yes | |
//! | `pageSize` | integer 1..=1000 | no | 25 |
//! | `pollingPeriod` | duration (`30m`, `1h`, `45s`, `1h30m`) | no | `30m` |
//! | `webviewURL` | absolute URL, `https` unless loopback | no | `https://webview.powens.com` |
//! | `consentExpiryHorizon` | duration (also `d` for days) | no | `7d` |
//! | `timeZone` | IANA zone of Powens' naive datetimes | no | `Europe/Paris` |
//! | `name` | connector instance name | no | `powens` |
//!
//! `consentExpiryHorizon`: a connection whose consent (`expire`) ends within this horizon is
//! reported as pending disconnect, so a renewal link can be sent before data stops.
//! `timeZone`: the zone Powens' naive datetimes (`last_update`, `expire`, …) are read in.
//!
//! Unknown fields are rejected. Every problem is collected (not only the first), each naming
//! its field and what was expected. Secret values never appear in errors nor in `Debug`.

use std::fmt;
use std::time::Duration;

use chrono_tz::Tz;
use secrecy::SecretString;
use serde_json::{Map, Value};
use url::Url;

/// The default `pageSize`.
pub const DEFAULT_PAGE_SIZE: u32 = 25;
/// The largest `pageSize` Powens serves.
pub const MAX_PAGE_SIZE: u32 = 1000;
/// The default `pollingPeriod`.
pub const DEFAULT_POLLING_PERIOD: Duration = Duration::from_secs(30 * 60);
/// The default `consentExpiryHorizon`: 7 days.
pub const DEFAULT_CONSENT_EXPIRY_HORIZON: Duration = Duration::from_secs(7 * 24 * 3600);
/// The default `webviewURL`.
pub const DEFAULT_WEBVIEW_URL: &str = "https://webview.powens.com";
/// The default connector instance name.
pub const DEFAULT_NAME: &str = "powens";
/// The provider name Formance gives this connector; an install payload's optional `provider`
/// field must be it (compared case-insensitively).
pub const PROVIDER: &str = "Powens";

/// The validated install payload of the Powens connector.
#[derive(Clone)]
pub struct PowensConfig {
    /// `clientID`.
    pub client_id: String,
    /// `clientSecret`.
    pub client_secret: SecretString,
    /// `configurationToken` (for the `/webhooks/auth` admin routes).
    pub configuration_token: SecretString,
    /// `domain`, e.g. `acme.biapi.pro` (the Webview `domain` parameter).
    pub domain: String,
    /// `endpoint`, the API root, e.g. `https://acme.biapi.pro/2.0`.
    pub endpoint: Url,
    /// `maxConnectionsPerLink` (the Webview `max_connections`).
    pub max_connections_per_link: u32,
    /// `pageSize`: transactions per page (the Powens `limit`).
    pub page_size: u32,
    /// `pollingPeriod`.
    pub polling_period: Duration,
    /// `webviewURL`: the Webview host.
    pub webview_url: Url,
    /// `consentExpiryHorizon`.
    pub consent_expiry_horizon: Duration,
    /// `timeZone` of Powens' naive datetimes.
    pub time_zone: Tz,
    /// `name`: the connector instance name.
    pub name: String,
}

impl fmt::Debug for PowensConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PowensConfig")
            .field("client_id", &self.client_id)
            .field("client_secret", &"[REDACTED]")
            .field("configuration_token", &"[REDACTED]")
            .field("domain", &self.domain)
            .field("endpoint", &self.endpoint.as_str())
            .field("max_connections_per_link", &self.max_connections_per_link)
            .field("page_size", &self.page_size)
            .field("polling_period", &self.polling_period)
            .field("webview_url", &self.webview_url.as_str())
            .field("consent_expiry_horizon", &self.consent_expiry_horizon)
            .field("time_zone", &self.time_zone.name())
            .field("name", &self.name)
            .finish()
    }
}

/// One field that is missing, unknown or invalid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldProblem {
    /// The JSON field name, e.g. `pageSize`.
    pub field: String,
    /// What is wrong and what was expected.
    pub message: String,
}

impl fmt::Display for FieldProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}`: {}", self.field, self.message)
    }
}

/// Why an install payload was refused: every problem found, in field order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The payload is not a JSON object.
    #[error("invalid Powens config: expected a JSON object, {0}")]
    NotAnObject(String),
    /// One or more fields are wrong.
    #[error("invalid Powens config: {}", join(.0))]
    Fields(Vec<FieldProblem>),
}

fn join(problems: &[FieldProblem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl ConfigError {
    /// The problems, one per field (empty for [`ConfigError::NotAnObject`]).
    pub fn problems(&self) -> &[FieldProblem] {
        match self {
            ConfigError::NotAnObject(_) => &[],
            ConfigError::Fields(problems) => problems,
        }
    }

    /// The names of the fields at fault, in order.
    pub fn fields(&self) -> Vec<&str> {
        self.problems().iter().map(|p| p.field.as_str()).collect()
    }
}

impl From<ConfigError> for connector_core::ConnectorError {
    fn from(error: ConfigError) -> Self {
        connector_core::ConnectorError::InvalidConfig {
            message: error.to_string(),
        }
    }
}

const KNOWN_FIELDS: &[&str] = &[
    "clientID",
    "clientSecret",
    "configurationToken",
    "domain",
    "endpoint",
    "maxConnectionsPerLink",
    "pageSize",
    "pollingPeriod",
    "webviewURL",
    "consentExpiryHorizon",
    "timeZone",
    "name",
    "provider",
];

/// The kind of a JSON value, for messages that must not echo the value.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A short, single-line echo of a non-secret value.
fn shown(value: &Value) -> String {
    let text = value.to_string();
    let mut short: String = text.chars().take(60).collect();
    if short.len() < text.len() {
        short.push('…');
    }
    short
}

struct Reader {
    object: Map<String, Value>,
    problems: Vec<FieldProblem>,
}

impl Reader {
    fn problem(&mut self, field: &str, message: impl Into<String>) {
        self.problems.push(FieldProblem {
            field: field.to_owned(),
            message: message.into(),
        });
    }

    /// A required or optional string field; secrets are never echoed.
    fn string(&mut self, field: &str, required: bool, secret: bool) -> Option<String> {
        match self.object.get(field) {
            None | Some(Value::Null) => {
                if required {
                    self.problem(field, "is required: expected a non-empty string");
                }
                None
            }
            Some(Value::String(text)) if text.trim().is_empty() => {
                self.problem(field, "must not be empty: expected a non-empty string");
                None
            }
            Some(Value::String(text)) => Some(text.clone()),
            Some(other) => {
                let found = if secret {
                    kind(other).to_owned()
                } else {
                    format!("{} {}", kind(other), shown(other))
                };
                self.problem(field, format!("expected a string, found {found}"));
                None
            }
        }
    }

    fn integer(&mut self, field: &str, required: bool, min: u64, max: u64) -> Option<u64> {
        let expected = format!("expected an integer from {min} to {max}");
        match self.object.get(field) {
            None | Some(Value::Null) => {
                if required {
                    self.problem(field, format!("is required: {expected}"));
                }
                None
            }
            Some(Value::Number(number)) => match number.as_u64() {
                Some(n) if (min..=max).contains(&n) => Some(n),
                _ => {
                    self.problem(field, format!("{expected}, found {number}"));
                    None
                }
            },
            Some(other) => {
                let message = format!("{expected}, found {} {}", kind(other), shown(other));
                self.problem(field, message);
                None
            }
        }
    }

    fn duration(&mut self, field: &str, days_allowed: bool) -> Option<Duration> {
        let text = self.string(field, false, false)?;
        match parse_duration(&text, days_allowed) {
            Ok(d) => Some(d),
            Err(reason) => {
                let units = if days_allowed {
                    "d, h, m, s"
                } else {
                    "h, m, s"
                };
                self.problem(
                    field,
                    format!(
                        "{reason}: expected a positive duration such as `30m`, `1h30m` or \
                         `45s` (units {units}, ms), found {text:?}"
                    ),
                );
                None
            }
        }
    }

    fn url(&mut self, field: &str, required: bool) -> Option<Url> {
        let text = self.string(field, required, false)?;
        match check_url(&text) {
            Ok(url) => Some(url),
            Err(reason) => {
                let found = shown_url(&text);
                self.problem(field, format!("{reason}, found {found:?}"));
                None
            }
        }
    }
}

fn check_url(text: &str) -> Result<Url, &'static str> {
    let url = Url::parse(text.trim()).map_err(|_| "expected an absolute http(s) URL")?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err("expected a URL without user name or password (credentials go in clientID and clientSecret)");
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("expected a URL without query string or fragment");
    }
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback(&url) => Ok(url),
        "http" => Err("expected an https URL (plain http only for a loopback host)"),
        _ => Err("expected an absolute http(s) URL"),
    }
}

/// A URL as a message may show it: user name, password, query and fragment replaced by
/// `***` (any of them may carry a credential), whether or not the text parses.
fn shown_url(text: &str) -> String {
    let text = text.trim();
    let (scheme, rest) = text.split_once("://").unwrap_or(("", text));
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let host = match authority.rfind('@') {
        Some(at) => format!("***@{}", &authority[at + 1..]),
        None => authority.to_owned(),
    };
    let path_end = tail.find(['?', '#']).unwrap_or(tail.len());
    let (path, after) = tail.split_at(path_end);
    let mut shown = if text.contains("://") {
        format!("{scheme}://{host}{path}")
    } else {
        format!("{host}{path}")
    };
    if after.starts_with('?') {
        shown.push_str("?***");
    }
    if after.contains('#') {
        shown.push_str("#***");
    }
    let mut short: String = shown.chars().take(120).collect();
    if short.len() < shown.len() {
        short.push('…');
    }
    short
}

/// Whether the URL's host is `localhost`, `127.0.0.0/8` or `::1`.
pub(crate) fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

fn check_domain(text: &str) -> Result<String, &'static str> {
    let domain = text.trim();
    let valid = domain
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
        && !domain.starts_with('.')
        && !domain.ends_with('.');
    if valid {
        Ok(domain.to_owned())
    } else {
        Err("expected a host name such as `acme.biapi.pro` (no scheme, no path)")
    }
}

/// Parses a duration like Go's `time.ParseDuration` for the units `h`, `m`, `s`, `ms` (plus
/// `d` when `days_allowed`): one or more `<integer><unit>` groups, e.g. `1h30m`. Must be > 0.
pub fn parse_duration(text: &str, days_allowed: bool) -> Result<Duration, &'static str> {
    let text = text.trim();
    if text.is_empty() {
        return Err("empty duration");
    }
    let mut total = Duration::ZERO;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.chars().take_while(char::is_ascii_digit).count();
        if digits == 0 {
            return Err("a number must come before each unit");
        }
        let (number, tail) = rest.split_at(digits);
        let value: u64 = number.parse().map_err(|_| "number too large")?;
        let unit_len = tail.chars().take_while(char::is_ascii_alphabetic).count();
        let (unit, tail) = tail.split_at(unit_len);
        let seconds_per_unit: Option<u64> = match unit {
            "d" if days_allowed => Some(86_400),
            "h" => Some(3600),
            "m" => Some(60),
            "s" => Some(1),
            "ms" => None,
            "" => return Err("missing unit"),
            _ => return Err("unknown unit"),
        };
        let part = match seconds_per_unit {
            Some(per) => Duration::from_secs(value.checked_mul(per).ok_or("duration too large")?),
            None => Duration::from_millis(value),
        };
        total = total.checked_add(part).ok_or("duration too large")?;
        rest = tail;
    }
    if total.is_zero() {
        return Err("duration must be positive");
    }
    Ok(total)
}

impl PowensConfig {
    /// Reads the install payload from JSON bytes.
    pub fn from_json(bytes: &[u8]) -> Result<Self, ConfigError> {
        let value: Value = serde_json::from_slice(bytes).map_err(|e| {
            // The decoder's message names a position, never the content.
            ConfigError::NotAnObject(format!("the payload is not valid JSON ({e})"))
        })?;
        Self::from_value(value)
    }

    /// Reads the install payload from a JSON value.
    pub fn from_value(value: Value) -> Result<Self, ConfigError> {
        let object = match value {
            Value::Object(object) => object,
            other => return Err(ConfigError::NotAnObject(format!("found {}", kind(&other)))),
        };
        let mut reader = Reader {
            object,
            problems: Vec::new(),
        };
        let unknown: Vec<String> = reader
            .object
            .keys()
            .filter(|k| !KNOWN_FIELDS.contains(&k.as_str()))
            .cloned()
            .collect();
        let client_id = reader.string("clientID", true, false);
        let client_secret = reader.string("clientSecret", true, true);
        let configuration_token = reader.string("configurationToken", true, true);
        let domain = match reader.string("domain", true, false) {
            Some(text) => match check_domain(&text) {
                Ok(domain) => Some(domain),
                Err(reason) => {
                    reader.problem("domain", format!("{reason}, found {text:?}"));
                    None
                }
            },
            None => None,
        };
        let endpoint = reader.url("endpoint", true);
        let max_connections = reader.integer("maxConnectionsPerLink", true, 1, u64::from(u32::MAX));
        let page_size = reader.integer("pageSize", false, 1, u64::from(MAX_PAGE_SIZE));
        let polling_period = reader.duration("pollingPeriod", false);
        let webview_url = reader.url("webviewURL", false);
        let horizon = reader.duration("consentExpiryHorizon", true);
        let time_zone = match reader.string("timeZone", false, false) {
            Some(text) => match text.parse::<Tz>() {
                Ok(tz) => Some(tz),
                Err(_) => {
                    let message = format!(
                        "expected an IANA time zone such as `Europe/Paris`, found {text:?}"
                    );
                    reader.problem("timeZone", message);
                    None
                }
            },
            None => None,
        };
        let name = reader.string("name", false, false);
        // Formance's generated clients send the provider's name with the connector's config.
        if let Some(provider) = reader.string("provider", false, false) {
            if !provider.trim().eq_ignore_ascii_case(PROVIDER) {
                let message = format!("expected `{PROVIDER}` (this connector), found {provider:?}");
                reader.problem("provider", message);
            }
        }
        for field in unknown {
            let message = format!("unknown field; expected one of {}", KNOWN_FIELDS.join(", "));
            reader.problem(&field, message);
        }
        let default_webview = Url::parse(DEFAULT_WEBVIEW_URL);
        match (
            client_id,
            client_secret,
            configuration_token,
            domain,
            endpoint,
            max_connections,
            default_webview,
        ) {
            (
                Some(client_id),
                Some(client_secret),
                Some(configuration_token),
                Some(domain),
                Some(endpoint),
                Some(max_connections),
                Ok(default_webview),
            ) if reader.problems.is_empty() => Ok(PowensConfig {
                client_id,
                client_secret: SecretString::from(client_secret),
                configuration_token: SecretString::from(configuration_token),
                domain,
                endpoint,
                max_connections_per_link: u32::try_from(max_connections).unwrap_or(u32::MAX),
                page_size: page_size
                    .and_then(|n| u32::try_from(n).ok())
                    .unwrap_or(DEFAULT_PAGE_SIZE),
                polling_period: polling_period.unwrap_or(DEFAULT_POLLING_PERIOD),
                webview_url: webview_url.unwrap_or(default_webview),
                consent_expiry_horizon: horizon.unwrap_or(DEFAULT_CONSENT_EXPIRY_HORIZON),
                time_zone: time_zone.unwrap_or(chrono_tz::Europe::Paris),
                name: name.unwrap_or_else(|| DEFAULT_NAME.to_owned()),
            }),
            _ => Err(ConfigError::Fields(reader.problems)),
        }
    }
}
