//! The Webview simulator: `GET /{lang}/connect` and `GET /{lang}/reconnect` (and without
//! `{lang}`). It validates the request, links (or renews) connections at once, and redirects
//! (303) to `redirect_uri` with `connection_id`, `connection_ids` and `state` (a reconnect
//! only with `state` when [`ServerBehaviour::reconnect_state_only`](crate::ServerBehaviour) is
//! on) — or with `error=access_denied&error_description=…&state=…` when the control API asked
//! for a denial.

use axum::extract::{Path, RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::TimeDelta;

use super::{ApiError, AppState, Params};
use crate::events;

const LANGS: &[&str] = &["en", "fr", "de", "nl", "pt", "it", "es"];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Flow {
    Connect,
    Reconnect,
}

pub(super) async fn connect(state: State<AppState>, query: RawQuery) -> Result<Response, ApiError> {
    run(state, query, Flow::Connect)
}

pub(super) async fn reconnect(
    state: State<AppState>,
    query: RawQuery,
) -> Result<Response, ApiError> {
    run(state, query, Flow::Reconnect)
}

pub(super) async fn connect_lang(
    state: State<AppState>,
    Path(lang): Path<String>,
    query: RawQuery,
) -> Result<Response, ApiError> {
    check_lang(&lang)?;
    run(state, query, Flow::Connect)
}

pub(super) async fn reconnect_lang(
    state: State<AppState>,
    Path(lang): Path<String>,
    query: RawQuery,
) -> Result<Response, ApiError> {
    check_lang(&lang)?;
    run(state, query, Flow::Reconnect)
}

fn check_lang(lang: &str) -> Result<(), ApiError> {
    if LANGS.contains(&lang) {
        Ok(())
    } else {
        Err(ApiError::not_found(format!(
            "unknown Webview language {lang:?}"
        )))
    }
}

fn redirect(location: &url::Url) -> Response {
    (
        StatusCode::SEE_OTHER,
        [(header::LOCATION, location.as_str().to_owned())],
    )
        .into_response()
}

fn run(
    State(shared): State<AppState>,
    RawQuery(query): RawQuery,
    flow: Flow,
) -> Result<Response, ApiError> {
    let params = Params::from_query(query.as_deref());
    let client_id = params
        .get("client_id")
        .ok_or_else(|| ApiError::missing("client_id"))?;
    let redirect_text = params
        .get("redirect_uri")
        .ok_or_else(|| ApiError::missing("redirect_uri"))?;
    let mut target = url::Url::parse(redirect_text)
        .map_err(|_| ApiError::invalid("redirect_uri must be an absolute URI"))?;
    if target.query().is_some() || target.fragment().is_some() {
        return Err(ApiError::invalid(
            "redirect_uri must not contain a query string or a fragment",
        ));
    }
    let state = params.get("state").map(str::to_owned);
    let max_connections = match params.get("max_connections") {
        None => None,
        Some(t) => Some(
            t.parse::<u32>()
                .ok()
                .filter(|n| *n >= 1)
                .ok_or_else(|| ApiError::invalid("max_connections must be a positive integer"))?,
        ),
    };
    let mut store = shared.store();
    if client_id != store.credentials.client_id {
        return Err(ApiError::invalid("unknown client_id"));
    }
    let (user_id, new_code) = match params.get("code") {
        Some(code) => (
            store
                .redeem_code(code)
                .ok_or_else(|| ApiError::invalid("unknown, used or expired code"))?,
            None,
        ),
        None if flow == Flow::Connect => {
            // Powens creates an anonymous user and returns a code to exchange.
            let user = store.create_user(true);
            let code = store.mint_code(user, false);
            (user, Some(code))
        }
        None => return Err(ApiError::missing("code")),
    };
    if let Some(description) = store.webview_denial.clone() {
        {
            let mut q = target.query_pairs_mut();
            q.append_pair("error", "access_denied");
            q.append_pair("error_description", &description);
            if let Some(s) = &state {
                q.append_pair("state", s);
            }
        }
        return Ok(redirect(&target));
    }
    let ids = match flow {
        Flow::Connect => {
            let cap = store.max_connections_per_link;
            let n = max_connections
                .unwrap_or(store.size.connections_per_link)
                .min(cap)
                .max(1);
            store.link_connections(user_id, n)
        }
        Flow::Reconnect => {
            let id: u64 = params
                .get("connection_id")
                .ok_or_else(|| ApiError::missing("connection_id"))?
                .parse()
                .map_err(|_| ApiError::invalid("connection_id must be an integer"))?;
            let now = store.now();
            let c = store
                .users
                .get_mut(&user_id)
                .and_then(|u| u.connection_mut(id))
                .ok_or_else(|| ApiError::not_found(format!("unknown connection {id}")))?;
            c.state = None;
            c.error_message = None;
            c.last_update = Some(now);
            c.expire = Some(now + TimeDelta::days(180));
            vec![id]
        }
    };
    let state_only = flow == Flow::Reconnect && store.behaviour.reconnect_state_only;
    drop(store);
    {
        let mut q = target.query_pairs_mut();
        if !state_only {
            if let Some(first) = ids.first() {
                q.append_pair("connection_id", &first.to_string());
            }
            let list: Vec<String> = ids.iter().map(u64::to_string).collect();
            q.append_pair("connection_ids", &list.join(","));
        }
        if let Some(code) = &new_code {
            q.append_pair("code", code);
        }
        if let Some(s) = &state {
            q.append_pair("state", s);
        }
    }
    if target.query() == Some("") {
        target.set_query(None);
    }
    for &id in &ids {
        events::connection_synced(&shared, user_id, id);
    }
    Ok(redirect(&target))
}
