//! [`WebhookError`]: everything verifying or translating a webhook can fail with.

use connector_core::ConnectorError;
use powens_api::webhooks::{SignatureError, WebhookDecodeError};

/// Why a Powens webhook was rejected. Messages name the event, the header or the JSON path,
/// never the secret nor the expected signature.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookError {
    /// The config names an event this connector does not handle.
    #[error("webhook event {name:?} is not handled by the Powens connector (handled: {handled})")]
    UnknownEvent {
        /// The config's name.
        name: String,
        /// The handled event names, comma-separated.
        handled: String,
    },
    /// The config carries no signing secret.
    #[error(
        "webhook config {event} has no `secret` in its metadata: re-install the connector to \
         create the hmac_signature provider"
    )]
    MissingSecret {
        /// The config's event.
        event: String,
    },
    /// The config's public URL is not a URL, so the signed path is unknown.
    #[error("webhook config {event} has an invalid full URL {url:?}: {reason}")]
    InvalidPublicUrl {
        /// The config's event.
        event: String,
        /// The URL as configured.
        url: String,
        /// What the URL parser said.
        reason: String,
    },
    /// A signature header is missing, repeated or malformed; the signature does not match;
    /// or the signed date is outside the freshness window.
    #[error("webhook {event} rejected: {source}")]
    Signature {
        /// The config's event.
        event: String,
        /// The verification failure.
        #[source]
        source: SignatureError,
    },
    /// The body is not JSON of the event's shape.
    #[error(transparent)]
    MalformedBody(#[from] WebhookDecodeError),
    /// The body is not JSON of the event's shape.
    #[error("cannot read the {event} webhook body: {reason}")]
    Unreadable {
        /// The event.
        event: String,
        /// Where and what the reader expected.
        reason: String,
    },
}

impl From<WebhookError> for ConnectorError {
    fn from(error: WebhookError) -> Self {
        match error {
            WebhookError::Signature { .. } => ConnectorError::WebhookVerification {
                message: error.to_string(),
            },
            WebhookError::MissingSecret { .. } | WebhookError::InvalidPublicUrl { .. } => {
                ConnectorError::InvalidConfig {
                    message: error.to_string(),
                }
            }
            WebhookError::UnknownEvent { ref name, .. } => ConnectorError::Validation {
                field: format!("webhook config name {name:?}"),
                message: error.to_string(),
            },
            WebhookError::MalformedBody(ref decode) => ConnectorError::Validation {
                field: format!("{} webhook body at {}", decode.event, decode.source.path),
                message: error.to_string(),
            },
            WebhookError::Unreadable { ref event, .. } => ConnectorError::Validation {
                field: format!("{event} webhook body"),
                message: error.to_string(),
            },
        }
    }
}

pub(crate) fn unknown_event(name: &str) -> WebhookError {
    WebhookError::UnknownEvent {
        name: name.to_owned(),
        handled: super::routes::WEBHOOK_ROUTES
            .iter()
            .map(|r| r.event)
            .collect::<Vec<_>>()
            .join(", "),
    }
}
