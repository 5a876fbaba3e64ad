//! Connection health from polling: disconnections (a connection's `state`) and pending
//! disconnects (consent `expire` within the configured horizon).
//!
//! The connections are read by the cycle's accounts listing (`GET
//! /users/me/connections?expand=all_accounts`, see [`crate::fetch::accounts`]), which keeps
//! them in [`ConnectionsSeen`] for the PSU's `connection_events` right after: one request
//! per cycle for both. Called on its own (no listing of this PSU in the last
//! [`CONNECTIONS_REUSE_WINDOW`]), `connection_events` lists the connections itself.
//!
//! The fetch contract has no slot for connection events, so they are produced here, per PSU,
//! for the caller to hand to its sink next to a sync (the CLI does this on each cycle).
//! Webhooks (`CONNECTION_SYNCED` with an error state, `CONNECTION_PENDING_DISCONNECT`) carry
//! the same events when the push channel is used.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use connector_core::model::Record;
use connector_core::openbanking::ForwardedUser;
use connector_core::ConnectorError;
use powens_api::connections::{Connection, ConnectionsQuery};
use powens_model::connection::{disconnected, pending_disconnect};

use crate::connector::PowensConnector;
use crate::error::to_connector_error;
use crate::flows::user_token;

impl PowensConnector {
    /// The connection events of a PSU now: one `UserConnectionDisconnected` per connection in
    /// an error state, one `UserConnectionPendingDisconnect` per connection whose consent ends
    /// within `consentExpiryHorizon` (or has ended), in connection order.
    pub async fn connection_events(
        &self,
        psu: &ForwardedUser,
    ) -> Result<Vec<Record>, ConnectorError> {
        let shared = &self.shared;
        let connections = match shared.connections_seen.take(&psu.psu_id) {
            Some(connections) => connections,
            None => {
                let token = user_token(psu)?;
                shared
                    .client
                    .list_connections(token, &ConnectionsQuery::new())
                    .await
                    .map_err(to_connector_error)?
                    .connections
            }
        };
        let now = shared.now();
        let mut records = Vec::new();
        for connection in &connections {
            if let Some(event) = disconnected(connection, psu.psp_user_id.clone(), now) {
                records.push(Record::UserConnectionDisconnected(event));
            }
            if let Some(event) = pending_disconnect(
                connection,
                now,
                shared.consent_horizon(),
                shared.config.time_zone,
            ) {
                records.push(Record::UserConnectionPendingDisconnect(event));
            }
        }
        Ok(records)
    }
}

/// How long a PSU's connections read by an accounts listing stand in for a listing of their
/// own: a cycle's accounts task and its `connection_events` run one after the other, the
/// payments scans between them.
pub(crate) const CONNECTIONS_REUSE_WINDOW: Duration = Duration::from_secs(5 * 60);

/// The connections each PSU's last accounts listing returned, kept until that PSU's
/// `connection_events` takes them (at most one entry per PSU, without accounts).
#[derive(Debug, Default)]
pub(crate) struct ConnectionsSeen {
    by_psu: Mutex<HashMap<String, (Instant, Vec<Connection>)>>,
}

impl ConnectionsSeen {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Instant, Vec<Connection>)>> {
        // A plain map: a panic elsewhere leaves it consistent.
        self.by_psu.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Forgets what an earlier listing of `psu_id` saw (a new listing starts).
    pub(crate) fn forget(&self, psu_id: &str) {
        self.map().remove(psu_id);
    }

    /// Keeps what a listing of `psu_id` saw just now.
    pub(crate) fn keep(&self, psu_id: &str, connections: Vec<Connection>) {
        self.map()
            .insert(psu_id.to_owned(), (Instant::now(), connections));
    }

    /// What the last listing of `psu_id` saw, if it is recent enough; taken (a second call
    /// lists again).
    pub(crate) fn take(&self, psu_id: &str) -> Option<Vec<Connection>> {
        let (at, connections) = self.map().remove(psu_id)?;
        (at.elapsed() <= CONNECTIONS_REUSE_WINDOW).then_some(connections)
    }
}
