//! [`PgBackend`]: the pool, the schema it works in, and its migrations.

use std::str::FromStr;
use std::sync::Arc;

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod};
use tokio_postgres::config::Host;

use crate::error::PgError;
use crate::migrations;

/// How [`PgBackend::connect_with`] sets up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgOptions {
    /// The PostgreSQL schema holding the tables (created when missing). Default `powens`.
    /// Several deployments (or tests) can share one database under different schemas.
    pub schema: String,
    /// Most connections the pool keeps open. Default 16.
    pub max_connections: usize,
}

impl Default for PgOptions {
    fn default() -> Self {
        PgOptions {
            schema: "powens".into(),
            max_connections: 16,
        }
    }
}

/// Records, task states, the PSU registry and the processed webhook keys in PostgreSQL.
///
/// It is the engine's [`StateStore`](connector_core::state::StateStore) *and* its
/// [`Sink`](connector_core::sink::Sink): give the same backend as both, and each fetched
/// page's records and state are committed in one transaction (exactly once). Cheap to
/// clone (a pool handle).
///
/// ```no_run
/// # async fn demo(connector: std::sync::Arc<dyn connector_core::Connector>)
/// #     -> Result<(), Box<dyn std::error::Error>> {
/// use std::sync::Arc;
/// use connector_core::engine::EngineConfig;
/// use connector_core::Engine;
/// use connector_postgres::PgBackend;
///
/// let backend = PgBackend::connect("postgres://powens@127.0.0.1:5432/powens").await?;
/// let engine = Engine::new(
///     connector,
///     Arc::new(backend.clone()),
///     Arc::new(backend),
///     EngineConfig::default(),
/// )?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct PgBackend {
    pool: Pool,
    schema: Arc<str>,
}

impl std::fmt::Debug for PgBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgBackend")
            .field("schema", &self.schema)
            .finish_non_exhaustive()
    }
}

/// Whether `name` is a plain identifier that needs no quoting rules beyond `"…"`.
pub(crate) fn valid_schema(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b'a'..=b'z'))
        && name.len() <= 63
        && bytes.all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'_'))
}

/// host:port/database for messages: never the user's password.
fn target_of(config: &tokio_postgres::Config) -> String {
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(host)) => host.clone(),
        Some(Host::Unix(path)) => path.display().to_string(),
        None => "localhost".into(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let database = config.get_dbname().unwrap_or("(default database)");
    format!("{host}:{port}/{database}")
}

fn tls() -> Result<tokio_postgres_rustls::MakeRustlsConnect, PgError> {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| PgError::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

impl PgBackend {
    /// Connects to `url` with the default [`PgOptions`] (schema `powens`) and brings the
    /// schema up to date (see [`PgBackend::connect_with`]).
    ///
    /// # Errors
    ///
    /// As [`PgBackend::connect_with`].
    pub async fn connect(url: &str) -> Result<Self, PgError> {
        Self::connect_with(url, PgOptions::default()).await
    }

    /// Connects to `url` (`postgres://user[:password]@host[:port]/database`; `sslmode`
    /// `disable`, `prefer` (the default) or `require`, TLS by rustls with the Web PKI roots),
    /// creates the schema when missing and applies the migrations this build embeds, once
    /// even when several processes start together.
    ///
    /// # Errors
    ///
    /// [`PgError::Url`], [`PgError::Schema`] for bad input; [`PgError::Connect`] when the
    /// server cannot be reached; [`PgError::SchemaTooNew`] when a newer build migrated the
    /// schema; [`PgError::Query`] when a migration fails.
    pub async fn connect_with(url: &str, options: PgOptions) -> Result<Self, PgError> {
        let (backend, target) = Self::unmigrated(url, options)?;
        let mut client = backend.client_for(&target).await?;
        migrations::apply(&mut client, &backend.schema).await?;
        drop(client);
        Ok(backend)
    }

    /// The pool, before any connection or migration; and the target for messages.
    pub(crate) fn unmigrated(url: &str, options: PgOptions) -> Result<(Self, String), PgError> {
        if !valid_schema(&options.schema) {
            return Err(PgError::Schema {
                name: options.schema,
            });
        }
        let mut config = tokio_postgres::Config::from_str(url).map_err(|e| PgError::Url {
            reason: e.to_string(),
        })?;
        // Every pooled connection works in the schema; the quoted name is a plain identifier.
        config.options(format!("-c search_path=\"{}\"", options.schema));
        if config.get_application_name().is_none() {
            config.application_name("connector-postgres");
        }
        let target = target_of(&config);
        let manager = Manager::from_config(
            config,
            tls()?,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(options.max_connections.max(1))
            .build()
            .map_err(|e| PgError::Connect {
                target: target.clone(),
                source: Box::new(e),
            })?;
        let backend = PgBackend {
            pool,
            schema: options.schema.into(),
        };
        Ok((backend, target))
    }

    /// The PostgreSQL schema holding the tables.
    pub fn schema(&self) -> &str {
        &self.schema
    }

    /// The connection pool, for reading the tables (connections have the schema on their
    /// `search_path`).
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// The schema version of the database (the newest migration applied).
    ///
    /// # Errors
    ///
    /// [`PgError::Connect`] or [`PgError::Query`].
    pub async fn schema_version(&self) -> Result<i32, PgError> {
        let client = self.client().await?;
        migrations::current(&client).await
    }

    async fn client_for(&self, target: &str) -> Result<Object, PgError> {
        self.pool.get().await.map_err(|e| PgError::Connect {
            target: target.to_owned(),
            source: Box::new(e),
        })
    }

    /// A pooled connection.
    pub(crate) async fn client(&self) -> Result<Object, PgError> {
        self.pool.get().await.map_err(|e| PgError::Connect {
            target: format!("the pool of schema {}", self.schema),
            source: Box::new(e),
        })
    }
}
