//! `/webhooks/auth` (no `/2.0`): auth providers for webhook signing, with the configuration
//! token as bearer. Parameters come from a JSON body or the query string (both work live).

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use bytes::Bytes;

use super::{bearer, json_response, no_content, ApiError, AppState, Params};
use crate::json::JsonWriter;
use crate::store::{AuthProvider, Store};

/// Longest name the live API accepted in observed contract tests is short; long or dashed names
/// returned 500 `dataError`.
const MAX_NAME: usize = 32;

fn check_config_token(store: &Store, headers: &HeaderMap) -> Result<(), ApiError> {
    match bearer(headers) {
        Some(t) if t == store.credentials.configuration_token => Ok(()),
        _ => Err(ApiError::unauthorized()),
    }
}

/// `POST /webhooks/auth` `{type, name}` → `{id, type, name, config: {secret_key}}`.
pub(super) async fn create(
    State(shared): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Result<Response, ApiError> {
    let params = Params::from_query(query.as_deref()).with_body(&headers, &body)?;
    let mut store = shared.store();
    check_config_token(&store, &headers)?;
    let kind = params
        .get("type")
        .ok_or_else(|| ApiError::missing("type"))?;
    let name = params
        .get("name")
        .ok_or_else(|| ApiError::missing("name"))?;
    if !matches!(kind, "hmac_signature" | "oauth") {
        return Err(ApiError::invalid(format!(
            "type must be hmac_signature or oauth, not {kind:?}"
        )));
    }
    if name.chars().count() > MAX_NAME || name.contains('-') || name.is_empty() {
        return Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "dataError",
            "could not store the auth provider",
        ));
    }
    let id = store.ids.next_provider();
    let secret = (kind == "hmac_signature").then(|| store.mint_secret());
    store.providers.push(AuthProvider {
        id,
        kind: kind.to_owned(),
        name: name.to_owned(),
        secret: secret.clone(),
    });
    let mut w = JsonWriter::with_capacity(128);
    w.begin_object();
    w.key("id");
    w.u64(id);
    w.key("type");
    w.string(kind);
    w.key("name");
    w.string(name);
    if let Some(secret) = secret {
        w.key("config");
        w.begin_object();
        w.key("secret_key");
        w.string(&secret);
        w.end_object();
    }
    w.end_object();
    Ok(json_response(StatusCode::OK, w.into_bytes()))
}

/// `GET /webhooks/auth` → `{authproviders: [{id, type, name}], total}` (no secrets).
pub(super) async fn list(
    State(shared): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let store = shared.store();
    check_config_token(&store, &headers)?;
    let mut w = JsonWriter::with_capacity(256);
    w.begin_object();
    w.key("authproviders");
    w.begin_array();
    for p in &store.providers {
        w.item();
        w.begin_object();
        w.key("id");
        w.u64(p.id);
        w.key("type");
        w.string(&p.kind);
        w.key("name");
        w.string(&p.name);
        w.end_object();
    }
    w.end_array();
    w.key("total");
    w.u64(store.providers.len() as u64);
    w.end_object();
    Ok(json_response(StatusCode::OK, w.into_bytes()))
}

/// `DELETE /webhooks/auth/{id}`.
pub(super) async fn remove(
    State(shared): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let mut store = shared.store();
    check_config_token(&store, &headers)?;
    let id: u64 = id
        .parse()
        .map_err(|_| ApiError::not_found(format!("unknown auth provider {id:?}")))?;
    let before = store.providers.len();
    store.providers.retain(|p| p.id != id);
    if store.providers.len() == before {
        return Err(ApiError::not_found(format!("unknown auth provider {id}")));
    }
    Ok(no_content())
}
