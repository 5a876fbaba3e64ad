//! `/2.0/users/{me}`, connections, accounts and currencies.

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::{auth_user, json_response, no_content, ApiError, AppState, Params};
use crate::currency::{write_currency, CURRENCIES};
use crate::events;
use crate::json::JsonWriter;
use crate::query::visible_accounts;
use crate::render::{
    write_account, write_accounts_envelope, write_connection_open, write_user, ConnectionExpand,
};

fn parse_id(text: &str, what: &str) -> Result<u64, ApiError> {
    text.parse()
        .map_err(|_| ApiError::not_found(format!("unknown {what} {text:?}")))
}

/// `GET /2.0/users/me`.
pub(super) async fn get_user(
    State(shared): State<AppState>,
    headers: HeaderMap,
    Path(user): Path<String>,
) -> Result<Response, ApiError> {
    let user_id = auth_user(&shared, &headers, &user)?;
    let store = shared.store();
    let user = store
        .users
        .get(&user_id)
        .ok_or_else(ApiError::unauthorized)?;
    let mut w = JsonWriter::with_capacity(96);
    write_user(&mut w, user);
    Ok(json_response(StatusCode::OK, w.into_bytes()))
}

/// `DELETE /2.0/users/me`: deletes the user and all its data; sends `USER_DELETED`.
pub(super) async fn delete_user(
    State(shared): State<AppState>,
    headers: HeaderMap,
    Path(user): Path<String>,
) -> Result<Response, ApiError> {
    let user_id = auth_user(&shared, &headers, &user)?;
    events::delete_user(&shared, user_id).ok_or_else(ApiError::unauthorized)?;
    Ok(no_content())
}

/// `GET /2.0/users/me/connections?expand=…`.
pub(super) async fn list_connections(
    State(shared): State<AppState>,
    headers: HeaderMap,
    Path(user): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let user_id = auth_user(&shared, &headers, &user)?;
    let params = Params::from_query(query.as_deref());
    let expand = ConnectionExpand::parse(params.get("expand"));
    let store = shared.store();
    let user = store
        .users
        .get(&user_id)
        .ok_or_else(ApiError::unauthorized)?;
    let mut w = JsonWriter::with_capacity(1024);
    w.begin_object();
    w.key("connections");
    w.begin_array();
    for c in &user.connections {
        w.item();
        write_connection_open(&mut w, c, user, expand);
        w.end_object();
    }
    w.end_array();
    w.key("total");
    w.u64(user.connections.len() as u64);
    w.end_object();
    Ok(json_response(StatusCode::OK, w.into_bytes()))
}

fn render_connection(
    shared: &AppState,
    user_id: u64,
    connection_id: u64,
    expand: ConnectionExpand,
) -> Result<Response, ApiError> {
    let store = shared.store();
    let user = store
        .users
        .get(&user_id)
        .ok_or_else(ApiError::unauthorized)?;
    let c = user
        .connection(connection_id)
        .ok_or_else(|| ApiError::not_found(format!("unknown connection {connection_id}")))?;
    let mut w = JsonWriter::with_capacity(1024);
    write_connection_open(&mut w, c, user, expand);
    w.end_object();
    Ok(json_response(StatusCode::OK, w.into_bytes()))
}

/// `GET /2.0/users/me/connections/{id}`.
pub(super) async fn get_connection(
    State(shared): State<AppState>,
    headers: HeaderMap,
    Path((user, id)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let user_id = auth_user(&shared, &headers, &user)?;
    let id = parse_id(&id, "connection")?;
    let params = Params::from_query(query.as_deref());
    render_connection(
        &shared,
        user_id,
        id,
        ConnectionExpand::parse(params.get("expand")),
    )
}

/// `PUT` (or `POST` with an empty body) `/2.0/users/me/connections/{id}`: a forced sync. It
/// stamps the connection's `last_update` and sends `CONNECTION_SYNCED` with the rows changed
/// since the last push; it invents no data (use the control API for that).
pub(super) async fn sync_connection(
    State(shared): State<AppState>,
    headers: HeaderMap,
    Path((user, id)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let user_id = auth_user(&shared, &headers, &user)?;
    let id = parse_id(&id, "connection")?;
    {
        let mut store = shared.store();
        let now = store.now();
        let c = store
            .users
            .get_mut(&user_id)
            .and_then(|u| u.connection_mut(id))
            .ok_or_else(|| ApiError::not_found(format!("unknown connection {id}")))?;
        c.last_update = Some(now);
    }
    events::connection_synced(&shared, user_id, id);
    let params = Params::from_query(query.as_deref());
    render_connection(
        &shared,
        user_id,
        id,
        ConnectionExpand::parse(params.get("expand")),
    )
}

/// `DELETE /2.0/users/me/connections/{id}`: sends `CONNECTION_DELETED`.
pub(super) async fn delete_connection(
    State(shared): State<AppState>,
    headers: HeaderMap,
    Path((user, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let user_id = auth_user(&shared, &headers, &user)?;
    let id = parse_id(&id, "connection")?;
    events::delete_connection(&shared, user_id, id)
        .ok_or_else(|| ApiError::not_found(format!("unknown connection {id}")))?;
    Ok(no_content())
}

fn list(
    shared: &AppState,
    user_id: u64,
    connection: Option<u64>,
    params: &Params,
) -> Result<Response, ApiError> {
    let store = shared.store();
    let user = store
        .users
        .get(&user_id)
        .ok_or_else(ApiError::unauthorized)?;
    if store.behaviour.no_account_error && user.connections.is_empty() {
        return Err(ApiError::no_account());
    }
    if let Some(c) = connection {
        user.connection(c)
            .ok_or_else(|| ApiError::not_found(format!("unknown connection {c}")))?;
    }
    let mut w = JsonWriter::with_capacity(2048);
    write_accounts_envelope(
        &mut w,
        visible_accounts(user, connection, params.has("all")),
    );
    Ok(json_response(StatusCode::OK, w.into_bytes()))
}

/// `GET /2.0/users/me/accounts[?all]`.
pub(super) async fn list_accounts(
    State(shared): State<AppState>,
    headers: HeaderMap,
    Path(user): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let user_id = auth_user(&shared, &headers, &user)?;
    list(
        &shared,
        user_id,
        None,
        &Params::from_query(query.as_deref()),
    )
}

/// `GET /2.0/users/me/connections/{id}/accounts[?all]`.
pub(super) async fn list_connection_accounts(
    State(shared): State<AppState>,
    headers: HeaderMap,
    Path((user, id)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let user_id = auth_user(&shared, &headers, &user)?;
    let id = parse_id(&id, "connection")?;
    list(
        &shared,
        user_id,
        Some(id),
        &Params::from_query(query.as_deref()),
    )
}

/// `GET /2.0/users/me/accounts/{id}[?all]` (a disabled or deleted account is 404 without `all`).
pub(super) async fn get_account(
    State(shared): State<AppState>,
    headers: HeaderMap,
    Path((user, id)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let user_id = auth_user(&shared, &headers, &user)?;
    let id = parse_id(&id, "account")?;
    let params = Params::from_query(query.as_deref());
    let store = shared.store();
    let account = store
        .users
        .get(&user_id)
        .and_then(|u| u.account(id))
        .filter(|a| params.has("all") || a.visible())
        .ok_or_else(|| ApiError::not_found(format!("unknown account {id}")))?;
    let mut w = JsonWriter::with_capacity(1024);
    write_account(&mut w, account, false);
    Ok(json_response(StatusCode::OK, w.into_bytes()))
}

/// `GET /2.0/currencies` (no authentication).
pub(super) async fn currencies() -> Response {
    let mut w = JsonWriter::with_capacity(2048);
    w.begin_object();
    w.key("currencies");
    w.begin_array();
    for c in CURRENCIES {
        w.item();
        write_currency(&mut w, c);
    }
    w.end_array();
    w.end_object();
    json_response(StatusCode::OK, w.into_bytes())
}
