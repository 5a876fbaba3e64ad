//! The CSRF `state` carried through the provider's webview and back.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

/// The longest encoded state accepted by [`CallbackState::decode`].
const MAX_ENCODED_LEN: usize = 1024;

/// The attempt id plus a random nonce, sent as `state` to the provider and checked when the
/// user comes back.
///
/// Wire form (Formance's): base64url without padding of `{"randomized":…,"attemptID":…}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallbackState {
    /// A fresh random nonce per attempt (32 hex digits from the OS RNG).
    pub randomized: String,
    /// The link attempt.
    #[serde(rename = "attemptID")]
    pub attempt_id: String,
}

/// Why a `state` query value could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CallbackStateError {
    /// Longer than any state this crate produces.
    #[error("callback state is too long ({len} characters, at most {MAX_ENCODED_LEN})")]
    TooLong {
        /// Its length.
        len: usize,
    },
    /// Not base64url.
    #[error("callback state is not base64url")]
    NotBase64,
    /// Not the expected JSON.
    #[error("callback state is not a JSON object with `randomized` and `attemptID`")]
    NotJson,
}

impl CallbackState {
    /// A state for `attempt_id` with a fresh 128-bit nonce from the OS.
    pub fn new(attempt_id: impl Into<String>) -> Self {
        let mut nonce = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let randomized = nonce.iter().map(|b| format!("{b:02x}")).collect();
        CallbackState {
            randomized,
            attempt_id: attempt_id.into(),
        }
    }

    /// The URL-safe text form.
    pub fn encode(&self) -> String {
        // Serialising two strings cannot fail; fall back to an empty object defensively.
        let json = serde_json::to_vec(self).unwrap_or_default();
        URL_SAFE_NO_PAD.encode(json)
    }

    /// Reads the text form back.
    pub fn decode(text: &str) -> Result<Self, CallbackStateError> {
        if text.len() > MAX_ENCODED_LEN {
            return Err(CallbackStateError::TooLong { len: text.len() });
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(text.trim_end_matches('='))
            .map_err(|_| CallbackStateError::NotBase64)?;
        serde_json::from_slice(&bytes).map_err(|_| CallbackStateError::NotJson)
    }

    /// Whether `received` names the same attempt with the same nonce, compared in constant
    /// time.
    pub fn matches(&self, received: &CallbackState) -> bool {
        let nonce = self
            .randomized
            .as_bytes()
            .ct_eq(received.randomized.as_bytes());
        let attempt = self
            .attempt_id
            .as_bytes()
            .ct_eq(received.attempt_id.as_bytes());
        (nonce & attempt).into()
    }
}
