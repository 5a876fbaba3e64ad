//! `powens serve --database-url`: PostgreSQL as the state store, the sink (records and state
//! in one transaction), the webhook keys and the PSU registry; several replicas on one
//! database share the PSUs ([`connector_postgres::PsuLeases`]: each PSU synced by one
//! replica at a time, a dead replica's PSUs taken over within 22 s, 2 s when its process
//! died).
//!
//! The coordinator loop runs every 2 s: it lists the PSUs of the schema, reloads the
//! service's registry when another replica added or removed one, rebalances the leases and
//! starts a sync of each PSU it just took (its previous holder may have died mid-sync) or
//! whose sync another replica passed on (a webhook or a link it received).

use std::sync::Arc;

use connector_core::engine::SyncGate;
use connector_core::sink::Sink;
use connector_core::state::StateStore;
use connector_powens::service::Service;
use tokio_util::sync::CancellationToken;

use super::ServeArgs;
use crate::error::CliError;

/// The environment variable read when `--database-url` is not given.
pub const DATABASE_URL_VARIABLE: &str = "POWENS_DATABASE_URL";

/// The database URL: `--database-url`, else [`DATABASE_URL_VARIABLE`].
fn database_url(args: &ServeArgs) -> Option<String> {
    args.database_url.clone().or_else(|| {
        std::env::var(DATABASE_URL_VARIABLE)
            .ok()
            .filter(|url| !url.trim().is_empty())
    })
}

#[cfg(feature = "postgres")]
mod enabled {
    use std::collections::BTreeSet;
    use std::sync::Arc;

    use connector_core::engine::SyncGate;
    use connector_core::sink::Sink;
    use connector_core::state::StateStore;
    use connector_postgres::{PgBackend, PgOptions, PsuLeases, ReplicaOptions};
    use connector_powens::service::{Service, PSU_STATE_PREFIX};
    use tokio_util::sync::CancellationToken;

    use crate::error::{failure_of, CliError};

    /// A replica: the backend and its leases.
    pub struct Replica {
        backend: PgBackend,
        leases: Arc<PsuLeases>,
    }

    fn default_name() -> String {
        let host = std::env::var("HOSTNAME")
            .ok()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "replica".into());
        format!("{host}-{}", std::process::id())
    }

    impl Replica {
        pub async fn connect(
            url: &str,
            schema: &str,
            name: Option<&str>,
        ) -> Result<Self, CliError> {
            let options = PgOptions {
                schema: schema.to_owned(),
                ..PgOptions::default()
            };
            let backend = PgBackend::connect_with(url, options)
                .await
                .map_err(|e| failure_of("cannot open the database", &e))?;
            let name = name.map_or_else(default_name, str::to_owned);
            let leases = PsuLeases::start(backend.clone(), ReplicaOptions::new(name))
                .await
                .map_err(|e| failure_of("cannot register the replica", &e))?;
            tracing::info!(
                schema = backend.schema(),
                replica = %leases.options().name,
                "PostgreSQL backend ready; PSUs shared with the schema's other replicas"
            );
            Ok(Self { backend, leases })
        }

        pub fn store_and_sink(&self) -> (Arc<dyn StateStore>, Arc<dyn Sink>) {
            (
                Arc::new(self.backend.clone()),
                Arc::new(self.backend.clone()),
            )
        }

        pub fn gate(&self) -> Arc<dyn SyncGate> {
            Arc::clone(&self.leases) as Arc<dyn SyncGate>
        }

        /// Every PSU of the schema, as the service stores them.
        async fn schema_psus(&self) -> Result<Vec<String>, connector_postgres::PgError> {
            let client = self.backend.pool().get().await.map_err(|e| {
                connector_postgres::PgError::Connect {
                    target: format!("the pool of schema {}", self.backend.schema()),
                    source: Box::new(e),
                }
            })?;
            let rows = client
                .query(
                    "SELECT substr(parent, length($1) + 1) FROM states \
                     WHERE capability = 'TRANSLATE_WEBHOOKS' AND psu_id IS NULL \
                     AND starts_with(parent, $1) ORDER BY 1",
                    &[&PSU_STATE_PREFIX],
                )
                .await
                .map_err(|source| connector_postgres::PgError::Query {
                    operation: "listing the PSUs".into(),
                    source,
                })?;
            Ok(rows.iter().map(|row| row.get(0)).collect())
        }

        /// One round of the coordinator.
        async fn tick(&self, service: &Service) {
            let psus = match self.schema_psus().await {
                Ok(psus) => psus,
                Err(error) => {
                    tracing::warn!(%error, "cannot list the PSUs; retrying");
                    return;
                }
            };
            let known: BTreeSet<String> = service.psu_ids().into_iter().collect();
            if known != psus.iter().cloned().collect::<BTreeSet<_>>() {
                if let Err(error) = service.reload_psus().await {
                    tracing::warn!(%error, "cannot reload the PSUs; retrying");
                    return;
                }
            }
            match self.leases.rebalance(&psus).await {
                Ok(outcome) => {
                    if !outcome.requested.is_empty() {
                        tracing::info!(psus = ?outcome.requested, "syncs asked by other replicas");
                    }
                    if !outcome.acquired.is_empty() || !outcome.released.is_empty() {
                        tracing::info!(
                            acquired = ?outcome.acquired,
                            released = ?outcome.released,
                            held = outcome.held,
                            replicas = outcome.replicas,
                            "PSUs rebalanced"
                        );
                    }
                    for psu in outcome.acquired.iter().chain(&outcome.requested) {
                        service.sync_psu(psu);
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, "cannot coordinate with the other replicas; retrying")
                }
            }
        }

        pub async fn coordinate(&self, service: Arc<Service>, cancel: CancellationToken) {
            let mut every = tokio::time::interval(self.leases.options().tick);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = cancel.cancelled() => return,
                    _ = every.tick() => self.tick(&service).await,
                }
            }
        }

        pub async fn release(&self) {
            self.leases.release_all().await;
        }
    }
}

#[cfg(not(feature = "postgres"))]
mod enabled {
    use std::sync::Arc;

    use connector_core::engine::SyncGate;
    use connector_core::sink::Sink;
    use connector_core::state::StateStore;
    use connector_powens::service::Service;
    use tokio_util::sync::CancellationToken;

    use crate::error::CliError;

    /// Never built: this binary has no PostgreSQL support.
    pub enum Replica {}

    impl Replica {
        pub async fn connect(_: &str, _: &str, _: Option<&str>) -> Result<Self, CliError> {
            Err(CliError::usage(
                "--database-url: this powens binary was built without PostgreSQL support \
                 (cargo feature `postgres`)",
            ))
        }

        pub fn store_and_sink(&self) -> (Arc<dyn StateStore>, Arc<dyn Sink>) {
            match *self {}
        }

        pub fn gate(&self) -> Arc<dyn SyncGate> {
            match *self {}
        }

        pub async fn coordinate(&self, _: Arc<Service>, _: CancellationToken) {
            match *self {}
        }

        pub async fn release(&self) {
            match *self {}
        }
    }
}

/// A replica on PostgreSQL (see the module docs).
pub struct Replica(enabled::Replica);

impl Replica {
    /// Connects when a database URL is given (flag or environment), else `None`.
    pub async fn connect(args: &ServeArgs) -> Result<Option<Arc<Self>>, CliError> {
        let Some(url) = database_url(args) else {
            return Ok(None);
        };
        let replica =
            enabled::Replica::connect(&url, &args.database_schema, args.replica_name.as_deref())
                .await?;
        Ok(Some(Arc::new(Self(replica))))
    }

    /// The state store and the sink: the same backend, so pages commit in one transaction.
    pub fn store_and_sink(&self) -> (Arc<dyn StateStore>, Arc<dyn Sink>) {
        self.0.store_and_sink()
    }

    /// The engine's gate: the PSUs this replica holds.
    pub fn gate(&self) -> Arc<dyn SyncGate> {
        self.0.gate()
    }

    /// Runs the coordinator loop in the background until `cancel` fires.
    pub fn spawn(
        self: &Arc<Self>,
        service: Arc<Service>,
        cancel: CancellationToken,
    ) -> tokio::task::JoinHandle<()> {
        let replica = Arc::clone(self);
        tokio::spawn(async move { replica.0.coordinate(service, cancel).await })
    }

    /// Lets the other replicas take this one's PSUs at once (at shutdown).
    pub async fn release(&self) {
        self.0.release().await;
    }
}
