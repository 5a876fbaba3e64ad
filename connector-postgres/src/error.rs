//! [`PgError`]: why the backend could not be opened or used.

use connector_core::sink::SinkError;
use connector_core::state::StateError;

/// Why the PostgreSQL backend failed. Messages name the operation and never the password.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PgError {
    /// The database URL could not be read.
    #[error(
        "invalid database URL ({reason}): expected \
         postgres://user[:password]@host[:port]/database[?sslmode=disable|prefer|require]"
    )]
    Url {
        /// The driver's reason (it never quotes the URL).
        reason: String,
    },
    /// The schema name is not a plain identifier.
    #[error(
        "invalid schema name {name:?}: use 1 to 63 lower-case ASCII letters, digits and `_`, \
         starting with a letter"
    )]
    Schema {
        /// The name given.
        name: String,
    },
    /// The TLS configuration could not be built.
    #[error("TLS setup failed: {0}")]
    Tls(String),
    /// No connection could be made or taken from the pool.
    #[error(
        "cannot connect to PostgreSQL at {target}: {source} (is the server running? \
         for a local one: cargo xtask pg start)"
    )]
    Connect {
        /// host:port/database, without credentials.
        target: String,
        /// The cause.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A statement failed.
    #[error("database failed while {operation}: {source}")]
    Query {
        /// What the backend was doing.
        operation: String,
        /// The driver's error.
        #[source]
        source: tokio_postgres::Error,
    },
    /// The database holds a newer schema than this build knows.
    #[error(
        "the database schema is at version {found}, newer than this build knows ({known}): \
         run a newer build, or point it at another schema"
    )]
    SchemaTooNew {
        /// The version in the database.
        found: i32,
        /// The newest version this build knows.
        known: i32,
    },
    /// A live replica of the schema has this replica's name.
    #[error(
        "a live replica named {name:?} already works on this schema: give each replica its \
         own name (powens serve --replica-name)"
    )]
    ReplicaTaken {
        /// The name.
        name: String,
    },
    /// A stored value could not be read back.
    #[error("stored data is not readable ({what}): {message}")]
    Corrupt {
        /// Which value.
        what: String,
        /// What is wrong.
        message: String,
    },
}

impl PgError {
    pub(crate) fn query(
        operation: impl Into<String>,
    ) -> impl FnOnce(tokio_postgres::Error) -> Self {
        let operation = operation.into();
        move |source| PgError::Query { operation, source }
    }

    /// The operation and the cause, for the contract error types (whose message already
    /// says "while {operation}").
    fn split(self) -> (String, Box<dyn std::error::Error + Send + Sync>) {
        match self {
            PgError::Query { operation, source } => (operation, Box::new(source)),
            PgError::Connect { .. } => ("connecting".into(), Box::new(self)),
            PgError::Corrupt { ref what, .. } => (format!("reading {what}"), Box::new(self)),
            other => ("opening the backend".into(), Box::new(other)),
        }
    }

    /// The driver error under a [`PgError::Query`], when there is one.
    pub fn as_db_error(&self) -> Option<&tokio_postgres::error::DbError> {
        match self {
            PgError::Query { source, .. } => source.as_db_error(),
            _ => None,
        }
    }
}

impl From<PgError> for StateError {
    fn from(error: PgError) -> Self {
        let (operation, source) = error.split();
        StateError::Database { operation, source }
    }
}

impl From<PgError> for SinkError {
    fn from(error: PgError) -> Self {
        let (operation, source) = error.split();
        SinkError::Database { operation, source }
    }
}
