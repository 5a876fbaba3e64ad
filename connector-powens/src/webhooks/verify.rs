//! Verification: the `BI-Signature` HMAC over the public path, the optional freshness window,
//! and the delivery's idempotency key.
//!
//! * **Signed path.** The path of the config's `full_url` (the public URL Powens posts to, query
//!   string excluded), else the config's `url_path`. Never the path the request arrived on: a
//!   proxy may rewrite it, and Powens signed what it was given.
//! * **Secret.** The config's `secret` metadata (the `hmac_signature` provider's key).
//! * **Headers.** `BI-Signature` and `BI-Signature-Date`, names case-insensitive, exactly one
//!   value each; the comparison is constant-time (`powens_api::webhooks::signature`).
//! * **Freshness** (optional). `|now − BI-Signature-Date|` must not exceed the window, `now`
//!   from the handler's injected clock.
//! * **Idempotency key.** `id_webhook_data:<id>` when the body carries a top-level
//!   `id_webhook_data` (a number, kept as its exact JSON text, or a non-empty string); else
//!   `body-sha256:<hex>` of the raw body, so a redelivered identical body still gets the same
//!   key (dropping an identical body is safe: it would translate to identical records).

use std::fmt::Write as _;
use std::time::Duration;

use chrono::{DateTime, Utc};
use connector_core::webhook::{WebhookConfig, WebhookEnvelope};
use powens_api::webhooks::signature::parse_signature_date;
use powens_api::webhooks::{SignatureError, SignatureHeaders, SignatureVerifier};
use secrecy::SecretString;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::error::WebhookError;
use super::routes::SECRET_METADATA_KEY;

/// The path Powens signed for webhooks delivered under `config`.
pub fn signed_path(config: &WebhookConfig) -> Result<String, WebhookError> {
    match config.full_url.as_deref().map(str::trim) {
        Some(full) if !full.is_empty() => url::Url::parse(full)
            .map(|url| url.path().to_owned())
            .map_err(|err| WebhookError::InvalidPublicUrl {
                event: config.name.clone(),
                url: full.to_owned(),
                reason: err.to_string(),
            }),
        _ => Ok(config.url_path.clone()),
    }
}

fn secret_of(config: &WebhookConfig) -> Result<SecretString, WebhookError> {
    config
        .metadata
        .get(SECRET_METADATA_KEY)
        .filter(|s| !s.is_empty())
        .map(|s| SecretString::from(s.clone()))
        .ok_or_else(|| WebhookError::MissingSecret {
            event: config.name.clone(),
        })
}

/// Checks the `BI-Signature` of `webhook` for `config`, then the freshness window when one
/// is given; returns when the delivery was signed.
pub fn verify_signature(
    webhook: &WebhookEnvelope,
    config: &WebhookConfig,
    freshness: Option<Duration>,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, WebhookError> {
    let rejected = |source| WebhookError::Signature {
        event: config.name.clone(),
        source,
    };
    let pairs = webhook
        .headers
        .iter()
        .flat_map(|(name, values)| values.iter().map(move |v| (name, v.as_str())));
    let headers = SignatureHeaders::from_pairs(pairs).map_err(rejected)?;
    let mut verifier = SignatureVerifier::new(secret_of(config)?, signed_path(config)?);
    if let Some(window) = freshness {
        verifier = verifier.with_freshness(window);
    }
    verifier
        .verify_at(&headers, &webhook.body, now)
        .map_err(rejected)?;
    parse_signature_date(&headers.date)
        .ok_or_else(|| rejected(SignatureError::MalformedDate(headers.date.clone())))
}

#[derive(Deserialize)]
struct DeliveryKey {
    #[serde(default)]
    id_webhook_data: Option<serde_json::Value>,
}

/// The idempotency key of a delivery (see the module docs). The translation computes it in
/// its one read of the body; this reads the body for it alone.
pub fn idempotency_key(body: &[u8]) -> String {
    let id = serde_json::from_slice::<DeliveryKey>(body)
        .ok()
        .and_then(|k| k.id_webhook_data)
        .and_then(|v| match v {
            serde_json::Value::Number(n) => Some(n.to_string()),
            serde_json::Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
            _ => None,
        });
    match id {
        Some(id) => delivery_key(&id),
        None => body_digest_key(body),
    }
}

/// The key of a delivery whose body carries `id_webhook_data` = `id`.
pub fn delivery_key(id: &str) -> String {
    format!("id_webhook_data:{id}")
}

/// The key of a delivery without `id_webhook_data`: a SHA-256 of the raw body.
pub fn body_digest_key(body: &[u8]) -> String {
    let mut key = String::from("body-sha256:");
    for byte in Sha256::digest(body) {
        // Writing to a String cannot fail.
        let _ = write!(key, "{byte:02x}");
    }
    key
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use connector_core::webhook::Headers;
    use powens_api::webhooks::{sign, SignatureError};

    use super::*;
    use crate::webhooks::routes::{route_for_event, webhook_configs};

    const DATE: &str = "2026-06-18T06:00:00.000000Z";

    fn config() -> WebhookConfig {
        let configs = webhook_configs("http://127.0.0.1:9/hooks/c1", "s3cret");
        configs
            .into_iter()
            .find(|c| c.name == "CONNECTION_SYNCED")
            .unwrap()
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 6, 18, 6, 0, 0).unwrap()
    }

    fn signed(headers: &[(&str, &str)], body: &str) -> WebhookEnvelope {
        WebhookEnvelope {
            headers: headers.iter().map(|(n, v)| (*n, *v)).collect::<Headers>(),
            body: body.as_bytes().to_vec(),
            ..WebhookEnvelope::default()
        }
    }

    fn good(body: &str) -> WebhookEnvelope {
        let sig = sign(
            &SecretString::from("s3cret"),
            "/hooks/c1/connection-synced",
            DATE,
            body.as_bytes(),
        );
        signed(&[("Bi-Signature", &sig), ("bi-signature-date", DATE)], body)
    }

    fn rejection<T: std::fmt::Debug>(result: Result<T, WebhookError>) -> SignatureError {
        match result {
            Err(WebhookError::Signature { source, .. }) => source,
            other => panic!("expected a signature rejection, got {other:?}"),
        }
    }

    #[test]
    fn a_signature_over_the_public_path_verifies_whatever_the_header_case() {
        verify_signature(&good("{}"), &config(), None, now()).unwrap();
    }

    #[test]
    fn the_signed_path_is_the_full_url_path_else_the_url_path() {
        let mut c = config();
        c.full_url = Some("https://pay.example/base/connection-synced?x=1".into());
        assert_eq!(signed_path(&c).unwrap(), "/base/connection-synced");
        c.full_url = None;
        assert_eq!(signed_path(&c).unwrap(), "/connection-synced");
        c.full_url = Some("not a url".into());
        assert!(matches!(
            signed_path(&c),
            Err(WebhookError::InvalidPublicUrl { .. })
        ));
    }

    #[test]
    fn a_tampered_body_path_date_or_secret_is_a_mismatch() {
        let webhook = good(r#"{"id_webhook_data": 1}"#);
        let mut tampered = webhook.clone();
        tampered.body = br#"{"id_webhook_data": 2}"#.to_vec();
        assert_eq!(
            rejection(verify_signature(&tampered, &config(), None, now())),
            SignatureError::Mismatch
        );

        let mut other_path = config();
        other_path.full_url = Some("http://127.0.0.1:9/hooks/c2/connection-synced".into());
        assert_eq!(
            rejection(verify_signature(&webhook, &other_path, None, now())),
            SignatureError::Mismatch
        );

        let sig = webhook.headers.get("bi-signature").unwrap().to_owned();
        let redated = signed(
            &[
                ("BI-Signature", &sig),
                ("BI-Signature-Date", "2026-06-18T06:00:01.000000Z"),
            ],
            r#"{"id_webhook_data": 1}"#,
        );
        assert_eq!(
            rejection(verify_signature(&redated, &config(), None, now())),
            SignatureError::Mismatch
        );

        let mut other_secret = config();
        other_secret
            .metadata
            .insert("secret".into(), "other".into());
        assert_eq!(
            rejection(verify_signature(&webhook, &other_secret, None, now())),
            SignatureError::Mismatch
        );
    }

    #[test]
    fn missing_or_duplicate_signature_headers_are_rejected() {
        let missing = signed(&[("BI-Signature-Date", DATE)], "{}");
        assert_eq!(
            rejection(verify_signature(&missing, &config(), None, now())),
            SignatureError::MissingHeader("BI-Signature")
        );
        let no_date = signed(&[("BI-Signature", "x")], "{}");
        assert_eq!(
            rejection(verify_signature(&no_date, &config(), None, now())),
            SignatureError::MissingHeader("BI-Signature-Date")
        );
        let mut twice = good("{}");
        let sig = twice.headers.get("bi-signature").unwrap().to_owned();
        twice.headers.append("BI-SIGNATURE", sig);
        assert_eq!(
            rejection(verify_signature(&twice, &config(), None, now())),
            SignatureError::RepeatedHeader("BI-Signature")
        );
        let garbage = signed(
            &[("BI-Signature", "%%%"), ("BI-Signature-Date", DATE)],
            "{}",
        );
        assert_eq!(
            rejection(verify_signature(&garbage, &config(), None, now())),
            SignatureError::MalformedSignature
        );
    }

    #[test]
    fn a_config_without_secret_is_a_config_error_not_a_pass() {
        let mut c = config();
        c.metadata.clear();
        let err = verify_signature(&good("{}"), &c, None, now()).unwrap_err();
        assert!(matches!(err, WebhookError::MissingSecret { .. }), "{err}");
        let connector: connector_core::ConnectorError = err.into();
        assert!(!connector.is_retryable());
    }

    #[test]
    fn the_freshness_window_bounds_the_signed_date_both_ways() {
        let window = Some(Duration::from_secs(300));
        let webhook = good("{}");
        verify_signature(&webhook, &config(), window, now()).unwrap();
        let edge = now() + chrono::TimeDelta::seconds(300);
        verify_signature(&webhook, &config(), window, edge).unwrap();
        let late = now() + chrono::TimeDelta::seconds(301);
        assert!(matches!(
            rejection(verify_signature(&webhook, &config(), window, late)),
            SignatureError::Stale { .. }
        ));
        let early = now() - chrono::TimeDelta::seconds(301);
        assert!(matches!(
            rejection(verify_signature(&webhook, &config(), window, early)),
            SignatureError::Stale { .. }
        ));
        // Without a window, an old date is accepted (Powens may redeliver much later).
        verify_signature(&webhook, &config(), None, late).unwrap();
    }

    #[test]
    fn errors_never_print_the_secret_or_the_expected_signature() {
        let mut c = config();
        c.metadata.insert("secret".into(), "TOPSECRETVALUE".into());
        let err = verify_signature(&good("{}"), &c, None, now()).unwrap_err();
        let expected = sign(
            &SecretString::from("TOPSECRETVALUE"),
            "/hooks/c1/connection-synced",
            DATE,
            b"{}",
        );
        let text = format!("{err} {err:?}");
        assert!(
            !text.contains("TOPSECRETVALUE") && !text.contains(&expected),
            "{text}"
        );
    }

    #[test]
    fn the_idempotency_key_is_id_webhook_data_else_a_body_hash() {
        assert_eq!(
            idempotency_key(br#"{"user": {"id": 1}, "id_webhook_data": 9007199254740993}"#),
            "id_webhook_data:9007199254740993"
        );
        assert_eq!(
            idempotency_key(br#"{"id_webhook_data": " 77 "}"#),
            "id_webhook_data:77"
        );
        let hashed = idempotency_key(br#"{"id": 5}"#);
        assert_eq!(hashed.len(), "body-sha256:".len() + 64);
        assert_eq!(hashed, idempotency_key(br#"{"id": 5}"#));
        assert_ne!(hashed, idempotency_key(br#"{"id": 6}"#));
        assert!(idempotency_key(b"not json").starts_with("body-sha256:"));
        assert!(idempotency_key(br#"{"id_webhook_data": null}"#).starts_with("body-sha256:"));
        assert!(route_for_event("CONNECTION_SYNCED").is_some());
    }
}
