//! Embedded, versioned schema migrations, recorded in `schema_version`.

use deadpool_postgres::Object;

use crate::error::PgError;

/// The migrations of this build: (version, name, SQL), in order. A migration is never
/// edited once released; a change is a new one.
pub(crate) const MIGRATIONS: &[(i32, &str, &str)] = &[
    (1, "init", include_str!("../migrations/0001_init.sql")),
    (
        2,
        "sync_requests",
        include_str!("../migrations/0002_sync_requests.sql"),
    ),
];

/// The newest version this build knows.
pub(crate) fn latest() -> i32 {
    MIGRATIONS.last().map_or(0, |m| m.0)
}

/// The newest version applied (0 for a fresh schema).
pub(crate) async fn current(client: &Object) -> Result<i32, PgError> {
    let row = client
        .query_one("SELECT coalesce(max(version), 0) FROM schema_version", &[])
        .await
        .map_err(PgError::query("reading the schema version"))?;
    Ok(row.get(0))
}

/// Creates `schema` when missing and applies the missing migrations, in one transaction
/// under a transaction-scoped advisory lock, so that processes starting together migrate
/// once and a failed migration leaves nothing behind.
pub(crate) async fn apply(client: &mut Object, schema: &str) -> Result<i32, PgError> {
    let tx = client
        .transaction()
        .await
        .map_err(PgError::query("starting the migration"))?;
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtext('connector-postgres migrate ' || $1::text))",
        &[&schema],
    )
    .await
    .map_err(PgError::query("taking the migration lock"))?;
    // `schema` is a checked plain identifier (PgBackend::connect_with).
    tx.batch_execute(&format!(
        "CREATE SCHEMA IF NOT EXISTS \"{schema}\";
         CREATE TABLE IF NOT EXISTS schema_version (
             version    integer PRIMARY KEY,
             name       text NOT NULL,
             applied_at timestamptz NOT NULL DEFAULT now()
         );"
    ))
    .await
    .map_err(PgError::query("creating the schema"))?;
    let found: i32 = tx
        .query_one("SELECT coalesce(max(version), 0) FROM schema_version", &[])
        .await
        .map_err(PgError::query("reading the schema version"))?
        .get(0);
    if found > latest() {
        return Err(PgError::SchemaTooNew {
            found,
            known: latest(),
        });
    }
    for (version, name, sql) in MIGRATIONS.iter().filter(|m| m.0 > found) {
        tx.batch_execute(sql).await.map_err(PgError::query(format!(
            "applying migration {version} ({name})"
        )))?;
        tx.execute(
            "INSERT INTO schema_version (version, name) VALUES ($1, $2)",
            &[version, name],
        )
        .await
        .map_err(PgError::query("recording the schema version"))?;
    }
    tx.commit()
        .await
        .map_err(PgError::query("committing the migration"))?;
    Ok(latest())
}
