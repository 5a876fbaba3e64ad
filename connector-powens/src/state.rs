//! The storage contract: the task states the engine persists for this connector.
//!
//! The engine's state store (a file, PostgreSQL, memory) keeps one JSON value per task and
//! hands it back on the next run; these types are that JSON. Their format is a contract with
//! every state already stored:
//!
//! * **The top-level states** are [`PaymentsState`] (one per account, `FETCH_PAYMENTS`) and
//!   [`ExternalAccountsState`] (one per PSU, `FETCH_EXTERNAL_ACCOUNTS`). The accounts and
//!   balances tasks keep no state of their own.
//! * **Every state carries its format** (`"format": 2`, [`FORMAT_VERSION`]); a state without
//!   one was written by format 1 (before the field existed) and reads as it was. A state of a
//!   newer format than this release knows is refused with an error telling to upgrade or to
//!   reset the task's state, never misread.
//! * **Changes are additive.** A field added later has a default, so an older state reads;
//!   a field is never renamed or given another meaning without a new format version and a
//!   conversion here. Field names are camelCase; empty lists and absent links are omitted.
//! * **A committed fixture per previous format** (`tests/fixtures/state/`) is read by the
//!   tests of this module: changing a type in a way that breaks an old state fails them.
//!
//! Format history: 1 — the watermark, scan and provisional retirement of the first releases
//! (`link` was added later, defaulted); 2 — the `format` field itself.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub use crate::fetch::payments::{RetiringProvisional, Swap};
pub use crate::fetch::watermark::{PageLink, ScanProgress, Watermark};
pub use crate::fetch::{ExternalAccountsState, PaymentsState};

/// The format version this release writes, and the newest it reads.
pub const FORMAT_VERSION: u32 = 2;

/// The `format` field of a persisted state.
///
/// Always written as [`FORMAT_VERSION`]: a state read from an older format is converted when
/// it is read, and written back in the current one. Reading accepts every format from 1 (the
/// field absent) to [`FORMAT_VERSION`] and refuses a newer one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StateFormat;

impl Serialize for StateFormat {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u32(FORMAT_VERSION)
    }
}

impl<'de> Deserialize<'de> for StateFormat {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let version = u32::deserialize(deserializer)?;
        match version {
            1..=FORMAT_VERSION => Ok(Self),
            _ => Err(serde::de::Error::custom(format_args!(
                "the task state has format {version}, this release reads formats 1 to \
                 {FORMAT_VERSION}: run a newer connector-powens, or reset the task state"
            ))),
        }
    }
}

#[cfg(test)]
mod tests;
