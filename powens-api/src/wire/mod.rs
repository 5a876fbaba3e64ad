//! Field-level decoders shared by every resource module, and the wire value types they produce.
//!
//! * [`money`]: exact amounts from a JSON number or string ([`rust_decimal::Decimal`]).
//! * [`datetime`]: [`NaiveDate`](chrono::NaiveDate) dates and [`PowensDateTime`].
//! * [`lenient`]: `0`/`1` booleans, [`RequestId`] as integer or string, `null` lists.
//!
//! Every nullable field in this crate treats `null` and a missing key alike.

pub mod datetime;
pub mod lenient;
pub mod money;
pub(crate) mod object_only;
mod opaque;
pub(crate) mod open_enum;

pub use datetime::{DateTimeParseError, PowensDateTime};
pub use lenient::RequestId;
pub use opaque::Opaque;

/// A JSON body that did not match the expected wire type, with the JSON path of the failure.
#[derive(Debug, thiserror::Error)]
#[error("at JSON path `{path}`: {source}")]
pub struct JsonDecodeError {
    /// Dotted JSON path of the failing value (`transactions[3].value`), `.` for the root.
    pub path: String,
    /// The underlying serde_json error (with line and column).
    #[source]
    pub source: serde_json::Error,
}

/// Decodes `bytes` as `T`. The fast path decodes without tracking; only when it fails is the
/// body decoded again with `serde_path_to_error` to name the failing JSON path.
pub fn decode_json<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, JsonDecodeError> {
    match serde_json::from_slice::<T>(bytes) {
        Ok(value) => Ok(value),
        Err(fast_error) => {
            let mut deserializer = serde_json::Deserializer::from_slice(bytes);
            match serde_path_to_error::deserialize::<_, T>(&mut deserializer) {
                Err(tracked) => Err(JsonDecodeError {
                    path: tracked.path().to_string(),
                    source: tracked.into_inner(),
                }),
                // Only trailing data can fail the fast path yet pass the tracked one.
                Ok(_) => Err(JsonDecodeError {
                    path: ".".to_owned(),
                    source: fast_error,
                }),
            }
        }
    }
}
