//! The polling fetchers, each a `futures::Stream` of pages built with `async-stream` that owns
//! what it needs (an `Arc` of the connector's shared parts, the PSU, the parent account) and
//! ends after its first error:
//!
//! * [`accounts`]: `FETCH_ACCOUNTS` per PSU (`GET /users/me/accounts?all`, disabled and
//!   deleted accounts included and flagged) and `FETCH_BALANCES` from the account payload
//!   (no extra call);
//! * [`payments`]: `FETCH_PAYMENTS` per PSU and account, `limit`/`offset` pages with `all` and
//!   a `last_update` [`watermark`], maturation and deletions, and the counterparties of each
//!   page (as external accounts);
//! * [`external`]: `FETCH_EXTERNAL_ACCOUNTS` per PSU, the counterparties of the user's
//!   transactions, with its own watermark (not in the polling tree: the payments scan
//!   finds them).
//!
//! Every mapping is `powens-model`'s.

pub mod accounts;
pub mod external;
mod page;
pub mod payments;
pub mod watermark;
#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod watermark_tests;

pub use external::ExternalAccountsState;
pub use payments::{PaymentsState, PAYMENTS_PART_BYTES, PAYMENTS_PART_ROWS};

use chrono::{DateTime, Utc};
use connector_core::contract::SkippedObject;
use connector_core::openbanking::ForwardedUser;
use powens_api::accounts::BankAccount;
use powens_model::time::zoned_field;
use powens_model::{MappingContext, Skipped};

use crate::connector::Shared;

/// The mapping context of one fetch: the configured zone, the PSU, "now" as the fallback.
pub(crate) fn mapping_context(shared: &Shared, psu: &ForwardedUser) -> MappingContext {
    MappingContext::new(shared.now())
        .with_zone(shared.config.time_zone)
        .with_psu_id(psu.psu_id.clone())
}

/// Logs rows `powens-model` could not map (they are skipped, never fatal).
pub(crate) fn log_skipped(psu: &str, skipped: &[Skipped]) {
    for skip in skipped {
        tracing::warn!(psu, kind = skip.kind, id = ?skip.id, reason = %skip.reason, "Powens row skipped");
    }
}

/// Skipped rows as the engine counts them (`kind`, id, the reason's code and its words).
pub(crate) fn skipped_objects(skipped: &[Skipped]) -> Vec<SkippedObject> {
    skipped
        .iter()
        .map(|s| SkippedObject {
            kind: s.kind.to_owned(),
            id: s.id.map(|id| id.to_string()),
            code: s.reason.code().to_owned(),
            reason: s.reason.to_string(),
        })
        .collect()
}

/// The account's `last_update` as an instant (a server timestamp).
pub(crate) fn account_last_update(account: &BankAccount, shared: &Shared) -> Option<DateTime<Utc>> {
    account
        .last_update
        .as_ref()
        .map(|at| zoned_field(at, shared.config.time_zone))
}
