//! Webhook bodies (rendered under the store lock) and their dispatch (outside it).

use std::sync::{Arc, Weak};

use crate::clock::paris_to_utc;
use crate::control::Shared;
use crate::json::JsonWriter;
use crate::model::to_secs;
use crate::render::{
    write_account, write_connection_open, write_tx, write_user, write_user_open, ConnectionExpand,
    TxContext,
};
use crate::store::{Store, User};
use crate::webhooks::WebhookEvent;

/// `BI-Signature-Date` from the sandbox clock: ISO 8601 UTC with microseconds.
fn signature_date(shared: &Arc<Shared>) -> Arc<dyn Fn() -> String + Send + Sync> {
    let weak: Weak<Shared> = Arc::downgrade(shared);
    Arc::new(move || {
        let now = weak.upgrade().map(|s| s.store().now()).unwrap_or_default();
        paris_to_utc(now)
            .format("%Y-%m-%dT%H:%M:%S%.6fZ")
            .to_string()
    })
}

fn send(
    shared: &Arc<Shared>,
    event: WebhookEvent,
    rendered: Option<(u64, Vec<u8>, Option<String>)>,
) {
    if let Some((id, body, secret)) = rendered {
        shared
            .webhooks
            .dispatch(event, id, body, secret, signature_date(shared));
    }
}

/// Writes a connection with its visible accounts, each carrying the rows changed after `since`
/// (every live row when `since` is `None`). Leaves the connection object open.
fn write_synced_connection(
    w: &mut JsonWriter,
    store_parts: (&[String], &[String], &[crate::model::Counterparty]),
    user: &User,
    connection_id: u64,
    since: Option<i64>,
) {
    let Some(c) = user.connection(connection_id) else {
        return;
    };
    let expand = ConnectionExpand {
        connector: true,
        sources: true,
        ..ConnectionExpand::default()
    };
    write_connection_open(w, c, user, expand);
    let ctx = TxContext::new(user, store_parts.0, store_parts.1, store_parts.2);
    w.key("accounts");
    w.begin_array();
    for a in user
        .accounts
        .iter()
        .filter(|a| a.id_connection == connection_id && a.visible())
    {
        w.item();
        write_account(w, a, true);
        w.key("transactions");
        w.begin_array();
        for &pos in user.by_account.get(&a.id).into_iter().flatten() {
            let Some(tx) = user.txs.get(pos as usize) else {
                continue;
            };
            let fresh = match since {
                None => !tx.is_deleted(),
                Some(s) => tx.last_update > s,
            };
            if fresh {
                w.item();
                write_tx(w, tx, &ctx);
            }
        }
        w.end_array();
        w.end_object();
    }
    w.end_array();
}

fn finish(w: &mut JsonWriter, store: &mut Store) -> u64 {
    let id = store.ids.next_webhook_data();
    w.key("id_webhook_data");
    w.u64(id);
    w.end_object();
    id
}

/// `CONNECTION_SYNCED`: `{user, connection: {…, accounts: [{…, transactions}]}, id_webhook_data}`.
pub(crate) fn connection_synced(shared: &Arc<Shared>, user_id: u64, connection_id: u64) {
    if !shared
        .webhooks
        .has_receivers(WebhookEvent::ConnectionSynced)
    {
        return;
    }
    let rendered = render_connection_synced(shared, user_id, connection_id);
    send(shared, WebhookEvent::ConnectionSynced, rendered);
}

/// The `CONNECTION_SYNCED` body of a connection (rows changed since its last push, the whole
/// history on the first), its `id_webhook_data` and the signing secret; the connection's last
/// push moves to now, as when it is sent. `None` when the user has no such connection.
pub(crate) fn render_connection_synced(
    shared: &Arc<Shared>,
    user_id: u64,
    connection_id: u64,
) -> Option<(u64, Vec<u8>, Option<String>)> {
    {
        let mut store = shared.store();
        let now = store.now();
        let secret = store.webhook_secret();
        let Store {
            users,
            wordings,
            stemmed,
            counterparties,
            ..
        } = &mut *store;
        let user = users
            .get_mut(&user_id)
            .filter(|u| u.connection(connection_id).is_some())?;
        let since = user
            .connection(connection_id)
            .and_then(|c| c.last_push)
            .map(to_secs);
        let mut w = JsonWriter::with_capacity(4096);
        w.begin_object();
        w.key("user");
        write_user(&mut w, user);
        w.key("connection");
        write_synced_connection(
            &mut w,
            (wordings, stemmed, counterparties),
            user,
            connection_id,
            since,
        );
        w.end_object();
        if let Some(c) = user.connection_mut(connection_id) {
            c.last_push = Some(now);
        }
        let id = finish(&mut w, &mut store);
        Some((id, w.into_bytes(), secret))
    }
}

/// The `BI-Signature-Date` the sandbox would send now.
pub(crate) fn signature_date_now(shared: &Arc<Shared>) -> String {
    (signature_date(shared))()
}

/// `USER_SYNCED`: `{user, connections: [...], id_webhook_data}` (rows changed since each
/// connection's last push).
pub(crate) fn user_synced(shared: &Arc<Shared>, user_id: u64) {
    if !shared.webhooks.has_receivers(WebhookEvent::UserSynced) {
        return;
    }
    let rendered = {
        let mut store = shared.store();
        let secret = store.webhook_secret();
        let Store {
            users,
            wordings,
            stemmed,
            counterparties,
            ..
        } = &mut *store;
        let Some(user) = users.get(&user_id) else {
            return;
        };
        let mut w = JsonWriter::with_capacity(4096);
        w.begin_object();
        w.key("user");
        write_user(&mut w, user);
        w.key("connections");
        w.begin_array();
        for c in &user.connections {
            w.item();
            let since = c.last_push.map(to_secs);
            write_synced_connection(
                &mut w,
                (wordings, stemmed, counterparties),
                user,
                c.id,
                since,
            );
            w.end_object();
        }
        w.end_array();
        let id = finish(&mut w, &mut store);
        Some((id, w.into_bytes(), secret))
    };
    send(shared, WebhookEvent::UserSynced, rendered);
}

/// `CONNECTION_PENDING_DISCONNECT`: `{user, connection, id_webhook_data}`.
pub(crate) fn pending_disconnect(shared: &Arc<Shared>, user_id: u64, connection_id: u64) {
    if !shared
        .webhooks
        .has_receivers(WebhookEvent::ConnectionPendingDisconnect)
    {
        return;
    }
    let rendered = {
        let mut store = shared.store();
        let secret = store.webhook_secret();
        let Some(user) = store.users.get(&user_id) else {
            return;
        };
        let Some(c) = user.connection(connection_id) else {
            return;
        };
        let mut w = JsonWriter::with_capacity(1024);
        w.begin_object();
        w.key("user");
        write_user(&mut w, user);
        w.key("connection");
        write_connection_open(&mut w, c, user, ConnectionExpand::default());
        w.end_object();
        let id = finish(&mut w, &mut store);
        Some((id, w.into_bytes(), secret))
    };
    send(shared, WebhookEvent::ConnectionPendingDisconnect, rendered);
}

/// Deletes a connection and sends `CONNECTION_DELETED` (the connection object plus
/// `id_webhook_data`). `None` when the connection does not exist.
pub(crate) fn delete_connection(
    shared: &Arc<Shared>,
    user_id: u64,
    connection_id: u64,
) -> Option<()> {
    let wanted = shared
        .webhooks
        .has_receivers(WebhookEvent::ConnectionDeleted);
    let rendered = {
        let mut store = shared.store();
        let secret = store.webhook_secret();
        let user = store.users.get_mut(&user_id)?;
        let mut w = JsonWriter::with_capacity(1024);
        if let Some(c) = user.connection(connection_id) {
            write_connection_open(&mut w, c, user, ConnectionExpand::default());
        }
        user.remove_connection(connection_id)?;
        if wanted {
            let id = finish(&mut w, &mut store);
            Some((id, w.into_bytes(), secret))
        } else {
            None
        }
    };
    send(shared, WebhookEvent::ConnectionDeleted, rendered);
    Some(())
}

/// Deletes a user and sends `USER_DELETED` (`{id, signin, platform, id_webhook_data}`).
pub(crate) fn delete_user(shared: &Arc<Shared>, user_id: u64) -> Option<()> {
    let wanted = shared.webhooks.has_receivers(WebhookEvent::UserDeleted);
    let rendered = {
        let mut store = shared.store();
        let secret = store.webhook_secret();
        let user = store.delete_user(user_id)?;
        if wanted {
            let mut w = JsonWriter::with_capacity(256);
            write_user_open(&mut w, &user);
            let id = finish(&mut w, &mut store);
            Some((id, w.into_bytes(), secret))
        } else {
            None
        }
    };
    send(shared, WebhookEvent::UserDeleted, rendered);
    Some(())
}
