//! For tests that need a PostgreSQL (this crate's and the workspace's `pg_` tests): where
//! the database is, what to do without one, and a fresh schema per test.
//!
//! The rule: the tests read `POWENS_TEST_DATABASE_URL`. Unset on a developer's machine, each
//! test passes as skipped and the test binary prints one line saying how to start a
//! throw-away server; unset under `CI=true`, [`database_url`] is an error and the tests fail
//! (CI starts its own server, `.ci/pg`).

use std::io::Write as _;
use std::sync::Once;

use crate::{PgBackend, PgError, PgOptions};

/// The variable naming the test database.
pub const DATABASE_URL_VAR: &str = "POWENS_TEST_DATABASE_URL";

/// The line a developer without a test database sees (once per test binary).
pub const HOW_TO_START: &str = "pg_ tests skipped: POWENS_TEST_DATABASE_URL is not set; \
     start a throw-away PostgreSQL with: eval \"$(cargo xtask pg start)\"";

/// No test database, and CI requires one. Its `Debug` is its message, so that a test's
/// `unwrap` says what to do.
#[derive(thiserror::Error)]
#[error(
    "POWENS_TEST_DATABASE_URL is not set and CI=true: the PostgreSQL tests must run in CI \
     (.ci/run starts a server with .ci/pg start)"
)]
pub struct MissingDatabase;

impl std::fmt::Debug for MissingDatabase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self}")
    }
}

/// The test database URL; `Ok(None)` (after printing [`HOW_TO_START`] once, straight to the
/// terminal's stderr, past the test harness's capture) when there is none and this is not
/// CI.
///
/// # Errors
///
/// [`MissingDatabase`] when the variable is unset and `CI` is `true`.
pub fn database_url() -> Result<Option<String>, MissingDatabase> {
    match std::env::var(DATABASE_URL_VAR) {
        Ok(url) if !url.trim().is_empty() => Ok(Some(url)),
        _ if std::env::var("CI").is_ok_and(|ci| ci == "true") => Err(MissingDatabase),
        _ => {
            static SAID: Once = Once::new();
            SAID.call_once(|| {
                let _ = writeln!(std::io::stderr(), "{HOW_TO_START}");
            });
            Ok(None)
        }
    }
}

/// A backend on `url` in the schema `t_<name>`, emptied first (dropped with its tables and
/// migrated again), so each test starts from nothing and tests do not share tables.
///
/// # Errors
///
/// As [`PgBackend::connect_with`]; [`PgError::Schema`] when `t_<name>` is not a valid
/// schema name.
pub async fn fresh_backend(url: &str, name: &str) -> Result<PgBackend, PgError> {
    let options = PgOptions {
        schema: format!("t_{name}"),
        max_connections: 8,
    };
    // Dropped before anything reads it: a schema left by an earlier run may be in any state.
    let (backend, _) = PgBackend::unmigrated(url, options.clone())?;
    let client = backend.client().await?;
    client
        .batch_execute(&format!(
            "DROP SCHEMA IF EXISTS \"{}\" CASCADE",
            backend.schema()
        ))
        .await
        .map_err(PgError::query("dropping the test schema"))?;
    drop(client);
    drop(backend);
    PgBackend::connect_with(url, options).await
}

/// How the payments of one schema compare with those of a reference schema holding the
/// same sync run without interruption ([`compare_payments`]): what `cargo xtask bench
/// postgres` reports after its kills.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaymentsComparison {
    /// Payments stored in the schema.
    pub payments: i64,
    /// References of the reference schema that the schema lacks.
    pub missing: i64,
    /// References of the schema that the reference schema lacks.
    pub extra: i64,
    /// Payments of both whose content (every column but `writes` and `updated_at`) differs.
    pub changed: i64,
    /// Payments written more times than in the reference: a row a user would call
    /// duplicated. `writes` counts the writes that changed the row (a record delivered again
    /// unchanged writes nothing), so a higher count means content the uninterrupted run never
    /// stored was written over the row and replaced again (a page of stale rows applied
    /// twice), or a sink that rewrites unchanged rows. A row cannot be present twice: the
    /// reference is the primary key.
    pub duplicates: i64,
}

/// The content of a payment row, comparable with `IS DISTINCT FROM` (json has no equality:
/// its text, which PostgreSQL stores verbatim).
const PAYMENT_CONTENT: &str = "(#.parent_reference, #.created_at, #.type, #.amount, #.asset, \
     #.scheme, #.status, #.source_account_reference, #.destination_account_reference, \
     #.psu_id, #.connection_id, #.metadata::text, #.raw::text)";

/// Compares the payments of `backend`'s schema with those of the schema `reference` (see
/// [`PaymentsComparison`]).
///
/// # Errors
///
/// [`PgError::Schema`] when `reference` is not a plain identifier; [`PgError::Connect`] or
/// [`PgError::Query`] (a missing schema included).
pub async fn compare_payments(
    backend: &PgBackend,
    reference: &str,
) -> Result<PaymentsComparison, PgError> {
    if !crate::backend::valid_schema(reference) {
        return Err(PgError::Schema {
            name: reference.to_owned(),
        });
    }
    let client = backend.client().await?;
    let sql = format!(
        "SELECT (SELECT count(*) FROM payments), \
         (SELECT count(*) FROM \"{reference}\".payments r \
            WHERE NOT EXISTS (SELECT 1 FROM payments p WHERE p.reference = r.reference)), \
         (SELECT count(*) FROM payments p \
            WHERE NOT EXISTS (SELECT 1 FROM \"{reference}\".payments r \
                              WHERE r.reference = p.reference)), \
         (SELECT count(*) FROM payments p JOIN \"{reference}\".payments r USING (reference) \
            WHERE {} IS DISTINCT FROM {}), \
         (SELECT count(*) FROM payments p JOIN \"{reference}\".payments r USING (reference) \
            WHERE p.writes > r.writes)",
        PAYMENT_CONTENT.replace('#', "p"),
        PAYMENT_CONTENT.replace('#', "r"),
    );
    let row = client
        .query_one(&sql, &[])
        .await
        .map_err(PgError::query(format!(
            "comparing the payments of {} with those of {reference}",
            backend.schema()
        )))?;
    Ok(PaymentsComparison {
        payments: row.get(0),
        missing: row.get(1),
        extra: row.get(2),
        changed: row.get(3),
        duplicates: row.get(4),
    })
}
