//! `/2.0/auth/*`: user creation, temporary codes, code exchange, renewal and revocation.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use bytes::Bytes;

use super::{bearer, json_response, no_content, ApiError, AppState, Params};
use crate::json::JsonWriter;
use crate::store::Store;

fn check_client(store: &Store, params: &Params) -> Result<(), ApiError> {
    let id = params
        .get("client_id")
        .ok_or_else(|| ApiError::missing("client_id"))?;
    let secret = params
        .get("client_secret")
        .ok_or_else(|| ApiError::missing("client_secret"))?;
    if id == store.credentials.client_id && secret == store.credentials.client_secret {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalidClient",
            "unknown client_id or wrong client_secret",
        ))
    }
}

/// Makes the user permanent and answers `{access_token, token_type}` with a new token.
fn grant_permanent(store: &mut Store, user: u64) -> Response {
    if let Some(u) = store.users.get_mut(&user) {
        u.permanent = true;
        u.expires = None;
    }
    let token = store.mint_token(user, None);
    json_response(StatusCode::OK, access_token_body(&token))
}

fn access_token_body(token: &str) -> Vec<u8> {
    let mut w = JsonWriter::with_capacity(96);
    w.begin_object();
    w.key("access_token");
    w.string(token);
    w.key("token_type");
    w.string("Bearer");
    w.end_object();
    w.into_bytes()
}

/// `POST /2.0/auth/init`: with client credentials a permanent user, without a 30-minute
/// temporary one.
pub(super) async fn init(
    State(shared): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Result<Response, ApiError> {
    let params = Params::from_query(query.as_deref()).with_body(&headers, &body)?;
    let mut store = shared.store();
    let permanent = params.has("client_id") || params.has("client_secret");
    if permanent {
        check_client(&store, &params)?;
    }
    let user = store.create_user(permanent);
    let expires = store.users.get(&user).and_then(|u| u.expires);
    let token = store.mint_token(user, expires);
    let mut w = JsonWriter::with_capacity(128);
    w.begin_object();
    w.key("auth_token");
    w.string(&token);
    w.key("type");
    w.string(if permanent { "permanent" } else { "temporary" });
    w.key("id_user");
    w.u64(user);
    w.key("expires_in");
    if permanent {
        w.null();
    } else {
        w.u64(1800);
    }
    w.end_object();
    Ok(json_response(StatusCode::OK, w.into_bytes()))
}

/// `GET /2.0/auth/token/code?type=requestAccess|singleAccess`.
pub(super) async fn token_code(
    State(shared): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::from_query(query.as_deref());
    let single = match params.get("type") {
        None | Some("requestAccess") => false,
        Some("singleAccess") => true,
        Some(other) => {
            return Err(ApiError::invalid(format!(
                "type must be requestAccess or singleAccess, not {other:?}"
            )))
        }
    };
    let token = bearer(&headers).ok_or_else(ApiError::unauthorized)?;
    let mut store = shared.store();
    let user = store.token_user(token).ok_or_else(ApiError::unauthorized)?;
    let code = store.mint_code(user, single);
    let mut w = JsonWriter::with_capacity(128);
    w.begin_object();
    w.key("code");
    w.string(&code);
    w.key("type");
    w.string("temporary");
    w.key("access");
    w.string(if single { "single" } else { "standard" });
    w.key("expires_in");
    w.u64(1800);
    w.end_object();
    Ok(json_response(StatusCode::OK, w.into_bytes()))
}

/// `POST /2.0/auth/token/access`: exchanges a code for a permanent token.
pub(super) async fn token_access(
    State(shared): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Result<Response, ApiError> {
    let params = Params::from_query(query.as_deref()).with_body(&headers, &body)?;
    let mut store = shared.store();
    check_client(&store, &params)?;
    if let Some(g) = params.get("grant_type") {
        if g != "authorization_code" {
            return Err(ApiError::invalid("grant_type must be authorization_code"));
        }
    }
    let code = params
        .get("code")
        .ok_or_else(|| ApiError::missing("code"))?;
    let user = store
        .redeem_code(code)
        .ok_or_else(|| ApiError::invalid("unknown, used or expired code"))?;
    Ok(grant_permanent(&mut store, user))
}

/// `POST /2.0/auth/renew`: a new permanent token for `id_user` (a new user without it);
/// `revoke_previous` deletes the user's other tokens.
pub(super) async fn renew(
    State(shared): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Result<Response, ApiError> {
    let params = Params::from_query(query.as_deref()).with_body(&headers, &body)?;
    let mut store = shared.store();
    check_client(&store, &params)?;
    if let Some(g) = params.get("grant_type") {
        if g != "client_credentials" {
            return Err(ApiError::invalid("grant_type must be client_credentials"));
        }
    }
    let user = match params.get("id_user") {
        Some(text) => {
            let id: u64 = text
                .parse()
                .map_err(|_| ApiError::invalid("id_user must be an integer"))?;
            if !store.users.contains_key(&id) {
                return Err(ApiError::not_found(format!("unknown user {id}")));
            }
            id
        }
        None => store.create_user(true),
    };
    if params.flag("revoke_previous") {
        store.tokens.retain(|_, t| t.user_id != user);
    }
    Ok(grant_permanent(&mut store, user))
}

/// `DELETE /2.0/auth/token`: revokes the bearer token.
pub(super) async fn revoke(
    State(shared): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let token = bearer(&headers).ok_or_else(ApiError::unauthorized)?;
    let mut store = shared.store();
    store.token_user(token).ok_or_else(ApiError::unauthorized)?;
    store.tokens.remove(token);
    Ok(no_content())
}
