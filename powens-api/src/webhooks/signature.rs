//! The `BI-Signature` HMAC of Powens webhooks.
//!
//! `BI-Signature = base64(HMAC-SHA256(secret_key, "POST." + path + "." + BI-Signature-Date +
//! "." + raw body))`, standard base64 with padding. `path` is the public path the webhook was
//! registered under (not what a rewriting proxy passes on); the date is the raw header value.
//! Header names are case-insensitive and each header must appear exactly once. The comparison
//! is constant-time (`hmac`'s `verify_slice`). An optional freshness window bounds the distance
//! between the signed date and a `now` the caller passes in (no wall clock is read here).

use std::fmt;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

use crate::wire::PowensDateTime;

/// Name of the signature header.
pub const SIGNATURE_HEADER: &str = "BI-Signature";
/// Name of the signed-date header.
pub const SIGNATURE_DATE_HEADER: &str = "BI-Signature-Date";

type HmacSha256 = Hmac<Sha256>;

/// Why a webhook signature was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// A required header is absent.
    #[error("webhook header {0} is missing")]
    MissingHeader(&'static str),
    /// A header appears more than once.
    #[error("webhook header {0} appears more than once")]
    RepeatedHeader(&'static str),
    /// A header value is not visible ASCII text.
    #[error("webhook header {0} is not valid text")]
    HeaderNotText(&'static str),
    /// `BI-Signature` is not base64 of a SHA-256 MAC.
    #[error("webhook header BI-Signature is not a base64 HMAC-SHA256 value")]
    MalformedSignature,
    /// The signature does not match the body, path, date and secret.
    #[error("webhook signature does not match (wrong secret, path, date or body)")]
    Mismatch,
    /// The signed date cannot be read (needed only for the freshness check).
    #[error("webhook header BI-Signature-Date {0:?} is not an ISO 8601 date")]
    MalformedDate(String),
    /// The signed date is outside the freshness window.
    #[error(
        "webhook signed at {signed_at} is outside the {window:?} freshness window around {now}"
    )]
    Stale {
        /// When it was signed.
        signed_at: DateTime<Utc>,
        /// The `now` it was checked against.
        now: DateTime<Utc>,
        /// The window.
        window: Duration,
    },
}

/// The two signature headers of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureHeaders {
    /// `BI-Signature`.
    pub signature: String,
    /// `BI-Signature-Date`, raw.
    pub date: String,
}

impl SignatureHeaders {
    /// Reads both headers from an `http::HeaderMap` (names are case-insensitive there).
    pub fn from_header_map(headers: &http::HeaderMap) -> Result<Self, SignatureError> {
        let one = |name: &'static str| -> Result<String, SignatureError> {
            let mut values = headers.get_all(name).iter();
            let first = values.next().ok_or(SignatureError::MissingHeader(name))?;
            if values.next().is_some() {
                return Err(SignatureError::RepeatedHeader(name));
            }
            first
                .to_str()
                .map(str::to_owned)
                .map_err(|_| SignatureError::HeaderNotText(name))
        };
        Ok(Self {
            signature: one(SIGNATURE_HEADER)?,
            date: one(SIGNATURE_DATE_HEADER)?,
        })
    }

    /// Reads both headers from `(name, value)` pairs, matching names case-insensitively.
    pub fn from_pairs<'a, I>(pairs: I) -> Result<Self, SignatureError>
    where
        I: IntoIterator<Item = (&'a str, &'a str)>,
    {
        let mut signature: Option<&str> = None;
        let mut date: Option<&str> = None;
        for (name, value) in pairs {
            let slot = if name.trim().eq_ignore_ascii_case(SIGNATURE_HEADER) {
                (&mut signature, SIGNATURE_HEADER)
            } else if name.trim().eq_ignore_ascii_case(SIGNATURE_DATE_HEADER) {
                (&mut date, SIGNATURE_DATE_HEADER)
            } else {
                continue;
            };
            if slot.0.replace(value).is_some() {
                return Err(SignatureError::RepeatedHeader(slot.1));
            }
        }
        Ok(Self {
            signature: signature
                .ok_or(SignatureError::MissingHeader(SIGNATURE_HEADER))?
                .trim()
                .to_owned(),
            date: date
                .ok_or(SignatureError::MissingHeader(SIGNATURE_DATE_HEADER))?
                .to_owned(),
        })
    }
}

/// The signed message: `POST.{path}.{date}.{body}`.
pub fn signing_message(path: &str, date: &str, body: &[u8]) -> Vec<u8> {
    let mut message = Vec::with_capacity(path.len() + date.len() + body.len() + 7);
    message.extend_from_slice(b"POST.");
    message.extend_from_slice(path.as_bytes());
    message.push(b'.');
    message.extend_from_slice(date.as_bytes());
    message.push(b'.');
    message.extend_from_slice(body);
    message
}

fn mac(secret: &SecretString, path: &str, date: &str, body: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length, so `new_from_slice` never fails for it; the fallback
    // (an all-zero key) only exists to avoid a panic path and could only ever cause a
    // mismatch, never a false match.
    let mut mac = HmacSha256::new_from_slice(secret.expose_secret().as_bytes())
        .unwrap_or_else(|_| <HmacSha256 as hmac::digest::KeyInit>::new(&Default::default()));
    mac.update(&signing_message(path, date, body));
    mac
}

/// Computes the `BI-Signature` value (what Powens, or a test sender, puts in the header).
pub fn sign(secret: &SecretString, path: &str, date: &str, body: &[u8]) -> String {
    STANDARD.encode(mac(secret, path, date, body).finalize().into_bytes())
}

/// Verifies webhook signatures for one registered path.
#[derive(Clone)]
pub struct SignatureVerifier {
    secret: SecretString,
    path: String,
    freshness: Option<Duration>,
}

impl fmt::Debug for SignatureVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignatureVerifier")
            .field("secret", &"[REDACTED]")
            .field("path", &self.path)
            .field("freshness", &self.freshness)
            .finish()
    }
}

impl SignatureVerifier {
    /// A verifier for webhooks registered under the public `path` (e.g. `/user-created`).
    pub fn new(secret: SecretString, path: impl Into<String>) -> Self {
        Self {
            secret,
            path: path.into(),
            freshness: None,
        }
    }

    /// Also require `|now - BI-Signature-Date| <= window` in [`verify_at`](Self::verify_at).
    pub fn with_freshness(mut self, window: Duration) -> Self {
        self.freshness = Some(window);
        self
    }

    /// Checks the signature of `body` (no freshness check).
    pub fn verify(&self, headers: &SignatureHeaders, body: &[u8]) -> Result<(), SignatureError> {
        let expected = STANDARD
            .decode(headers.signature.trim())
            .map_err(|_| SignatureError::MalformedSignature)?;
        if expected.len() != 32 {
            return Err(SignatureError::MalformedSignature);
        }
        mac(&self.secret, &self.path, &headers.date, body)
            .verify_slice(&expected)
            .map_err(|_| SignatureError::Mismatch)
    }

    /// Checks the signature, then the freshness window (when set) against `now`.
    pub fn verify_at(
        &self,
        headers: &SignatureHeaders,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<(), SignatureError> {
        self.verify(headers, body)?;
        let Some(window) = self.freshness else {
            return Ok(());
        };
        let signed_at = parse_signature_date(&headers.date)
            .ok_or_else(|| SignatureError::MalformedDate(headers.date.clone()))?;
        let distance = (now - signed_at).abs().to_std().unwrap_or(Duration::MAX);
        if distance > window {
            return Err(SignatureError::Stale {
                signed_at,
                now,
                window,
            });
        }
        Ok(())
    }
}

/// `BI-Signature-Date` is ISO 8601 UTC (`2022-06-27T11:08:52.577831Z`); a zone-less value is
/// read as UTC.
pub fn parse_signature_date(value: &str) -> Option<DateTime<Utc>> {
    let parsed = PowensDateTime::parse(value).ok()?;
    match parsed.offset {
        Some(_) => parsed.instant_if_offset(),
        None => Some(parsed.naive.and_utc()),
    }
}
