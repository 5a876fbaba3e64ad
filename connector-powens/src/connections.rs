//! Connection health from polling: disconnections (a connection's `state`) and pending
//! disconnects (consent `expire` within the configured horizon).
//!
//! The fetch contract has no slot for connection events, so they are produced here, per PSU,
//! for the caller to hand to its sink next to a sync (the CLI does this on each cycle).
//! Webhooks (`CONNECTION_SYNCED` with an error state, `CONNECTION_PENDING_DISCONNECT`) carry
//! the same events when the push channel is used.

use connector_core::model::Record;
use connector_core::openbanking::ForwardedUser;
use connector_core::ConnectorError;
use powens_api::connections::ConnectionsQuery;
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
        let token = user_token(psu)?;
        let list = shared
            .client
            .list_connections(token, &ConnectionsQuery::new())
            .await
            .map_err(to_connector_error)?;
        let now = shared.now();
        let mut records = Vec::new();
        for connection in &list.connections {
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
