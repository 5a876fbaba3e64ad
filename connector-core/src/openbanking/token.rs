//! Provider tokens held as secrets.

use std::fmt;

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize, Serializer};

/// A provider token (a permanent user token, a temporary link code, ...).
///
/// `Debug` prints `[REDACTED]` instead of the value and there is no `Display`. `Serialize`
/// does write the value (as `{"token": …, "expiresAt": …}`, Formance's keys) because the
/// caller persists forwarded users; serialise tokens only into protected storage, never
/// into logs.
#[derive(Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Token {
    #[serde(rename = "token")]
    value: SecretString,
    /// When the token stops working, when the provider says.
    #[serde(default)]
    expires_at: Option<DateTime<Utc>>,
}

impl Token {
    /// A token with an optional expiry.
    pub fn new(value: SecretString, expires_at: Option<DateTime<Utc>>) -> Self {
        Token { value, expires_at }
    }

    /// The secret value, for building an `Authorization` header.
    pub fn secret(&self) -> &SecretString {
        &self.value
    }

    /// When the token expires, when known.
    pub fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.expires_at
    }

    /// Whether the token is known to have expired at `now`.
    pub fn is_expired_at(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("value", &"[REDACTED]")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

impl PartialEq for Token {
    /// Compares expiries and values (values in constant time).
    fn eq(&self, other: &Self) -> bool {
        use subtle::ConstantTimeEq;
        let same_value: bool = self
            .value
            .expose_secret()
            .as_bytes()
            .ct_eq(other.value.expose_secret().as_bytes())
            .into();
        same_value && self.expires_at == other.expires_at
    }
}

impl Serialize for Token {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut s = serializer.serialize_struct("Token", 2)?;
        s.serialize_field("token", self.value.expose_secret())?;
        s.serialize_field("expiresAt", &self.expires_at)?;
        s.end()
    }
}
