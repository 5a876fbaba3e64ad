//! `GET /2.0/users/me/transactions` and `GET /2.0/users/me/accounts/{id}/transactions`.

use axum::extract::{OriginalUri, Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::{auth_user, json_response, ApiError, AppState, Params};
use crate::query::{last_update_bound, parse_date_bound, render_page, DateField, TxQuery};

/// The largest page Powens serves.
const MAX_LIMIT: u64 = 1000;

fn parse_query(params: &Params) -> Result<(TxQuery, u64, u64), ApiError> {
    let limit = params
        .get("limit")
        .ok_or_else(|| ApiError::missing("limit"))?;
    let limit: u64 = limit
        .trim()
        .parse()
        .ok()
        .filter(|l| (1..=MAX_LIMIT).contains(l))
        .ok_or_else(|| {
            ApiError::invalid(format!(
                "limit must be an integer from 1 to {MAX_LIMIT}, not {limit:?}"
            ))
        })?;
    let offset: u64 = match params.get("offset") {
        None => 0,
        Some(o) => o.trim().parse().map_err(|_| {
            ApiError::invalid(format!("offset must be a non-negative integer, not {o:?}"))
        })?,
    };
    let last_update = match params.get("last_update") {
        None | Some("") => None,
        Some(t) => Some(last_update_bound(t).ok_or_else(|| {
            ApiError::invalid(format!(
                "last_update must be YYYY-MM-DD HH:MM:SS, not {t:?}"
            ))
        })?),
    };
    let bound = |name: &str, upper: bool| -> Result<_, ApiError> {
        match params.get(name) {
            None | Some("") => Ok(None),
            Some(t) => parse_date_bound(t, upper).map(Some).ok_or_else(|| {
                ApiError::invalid(format!(
                    "{name} must be YYYY-MM-DD, YYYY-MM or YYYY, not {t:?}"
                ))
            }),
        }
    };
    let date_field = match params.get("filter") {
        None | Some("application_date") => DateField::Application,
        Some("date") => DateField::Date,
        Some(other) => {
            return Err(ApiError::invalid(format!(
                "filter must be application_date or date, not {other:?}"
            )))
        }
    };
    Ok((
        TxQuery {
            account: None,
            all: params.has("all"),
            deleted: match params.get("deleted") {
                None | Some("") => None,
                Some("true" | "1") => Some(true),
                Some("false" | "0") => Some(false),
                Some(other) => {
                    return Err(ApiError::invalid(format!(
                        "deleted must be true or false, not {other:?}"
                    )))
                }
            },
            last_update,
            min_date: bound("min_date", false)?,
            max_date: bound("max_date", true)?,
            date_field,
            order: Default::default(),
        },
        offset,
        limit,
    ))
}

fn page(
    shared: &AppState,
    user_id: u64,
    account: Option<u64>,
    params: &Params,
    path: &str,
) -> Result<Response, ApiError> {
    let (mut query, offset, limit) = parse_query(params)?;
    query.account = account;
    let link = |offset: u64| {
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        let mut has_offset = false;
        for (k, v) in params.pairs() {
            if k == "offset" {
                if !has_offset {
                    s.append_pair("offset", &offset.to_string());
                    has_offset = true;
                }
            } else {
                s.append_pair(k, v);
            }
        }
        if !has_offset {
            s.append_pair("offset", &offset.to_string());
        }
        format!("{path}?{}", s.finish())
    };
    let mut store = shared.store();
    if store.behaviour.no_account_error
        && store
            .users
            .get(&user_id)
            .is_some_and(|u| u.connections.is_empty())
    {
        return Err(ApiError::no_account());
    }
    if let Some(a) = account {
        let visible = store
            .users
            .get(&user_id)
            .and_then(|u| u.account(a))
            .is_some_and(|a| a.visible());
        if !visible {
            return Err(ApiError::not_found(format!("unknown account {a}")));
        }
    }
    let (body, _) = render_page(
        &mut store,
        user_id,
        &query,
        offset,
        limit,
        &link,
        &shared.base_url,
    )
    .ok_or_else(ApiError::unauthorized)?;
    store.page_served(user_id, account);
    drop(store);
    Ok(json_response(StatusCode::OK, body))
}

/// All transactions of the user's visible accounts.
pub(super) async fn list_user(
    State(shared): State<AppState>,
    headers: HeaderMap,
    Path(user): Path<String>,
    RawQuery(query): RawQuery,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, ApiError> {
    let user_id = auth_user(&shared, &headers, &user)?;
    page(
        &shared,
        user_id,
        None,
        &Params::from_query(query.as_deref()),
        uri.path(),
    )
}

/// Transactions of one visible account.
pub(super) async fn list_account(
    State(shared): State<AppState>,
    headers: HeaderMap,
    Path((user, id)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, ApiError> {
    let user_id = auth_user(&shared, &headers, &user)?;
    let id: u64 = id
        .parse()
        .map_err(|_| ApiError::not_found(format!("unknown account {id:?}")))?;
    page(
        &shared,
        user_id,
        Some(id),
        &Params::from_query(query.as_deref()),
        uri.path(),
    )
}
