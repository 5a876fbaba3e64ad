//! An inbound webhook as received, and the configs webhooks are registered under.

use std::collections::BTreeMap;
use std::fmt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::Headers;

/// An inbound webhook request: what the connector verifies and translates.
///
/// Wire form: `headers`, `queryValues`, `payload` (the raw body, base64 as Go encodes
/// `[]byte`). The body is kept byte for byte because signatures cover it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookEnvelope {
    /// Request headers.
    #[serde(default)]
    pub headers: Headers,
    /// Query string values by name.
    #[serde(default)]
    pub query_values: BTreeMap<String, Vec<String>>,
    /// The raw body.
    #[serde(rename = "payload", with = "base64_bytes", default)]
    pub body: Vec<u8>,
}

mod base64_bytes {
    use super::*;

    pub(super) fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&STANDARD.encode(bytes))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<u8>, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        STANDARD
            .decode(text.as_bytes())
            .map_err(serde::de::Error::custom)
    }
}

/// A webhook subscription: the event name, the URL path it is delivered to, and provider
/// facts such as the signing secret.
///
/// `Debug` prints metadata keys only, since values may be secrets.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookConfig {
    /// The event name, e.g. `CONNECTION_SYNCED`.
    pub name: String,
    /// The path under the connector's webhook base URL, e.g. `/connection-synced`.
    #[serde(rename = "urlPath")]
    pub url_path: String,
    /// The full public URL the provider posts to, once known (signatures may cover it).
    #[serde(default, rename = "fullURL")]
    pub full_url: Option<String>,
    /// Provider facts (Formance keeps the signing `secret` here).
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
}

impl fmt::Debug for WebhookConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookConfig")
            .field("name", &self.name)
            .field("url_path", &self.url_path)
            .field("full_url", &self.full_url)
            .field("metadata_keys", &self.metadata.keys().collect::<Vec<_>>())
            .finish()
    }
}
