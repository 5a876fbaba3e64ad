//! PostgreSQL backend for `connector-core`: the engine's state store and sink in one
//! database, so that each fetched page's records and its task's state commit in one
//! transaction (exactly once: after a `kill -9` at any point and a restart, every row is
//! present once).
//!
//! [`PgBackend`] is both a [`StateStore`](connector_core::state::StateStore) (table
//! `states`, compare-and-set on `version`) and a [`Sink`](connector_core::sink::Sink)
//! whose [`transactional`](connector_core::sink::Sink::transactional) path the engine uses.
//! The schema (tables `accounts`, `external_accounts`, `balances`, `payments`,
//! `connection_events`, `states`, views `psu_registry` and `webhooks_processed`) is created
//! and migrated by [`PgBackend::connect`], versioned in `schema_version`; see
//! `migrations/0001_init.sql` and docs/ARCHITECTURE.md. Several replicas share the PSUs of
//! one schema through [`PsuLeases`] (session advisory locks, [`replicas`]).
//!
//! ```no_run
//! # async fn demo() -> Result<(), connector_postgres::PgError> {
//! use connector_postgres::{PgBackend, PgOptions};
//! let backend = PgBackend::connect_with(
//!     "postgres://powens@127.0.0.1:5432/powens",
//!     PgOptions { schema: "bank_data".into(), ..PgOptions::default() },
//! )
//! .await?;
//! assert_eq!(backend.schema_version().await?, 2);
//! # Ok(()) }
//! ```

mod backend;
mod error;
mod migrations;
pub mod replicas;
mod sink;
mod state;
pub mod testing;

pub use backend::{PgBackend, PgOptions};
pub use error::PgError;
pub use replicas::{PsuLeases, ReplicaOptions};

/// The newest schema version this build migrates to.
pub fn schema_version_of_this_build() -> i32 {
    migrations::latest()
}
