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
