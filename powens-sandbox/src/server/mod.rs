//! The axum application: routes, the fault/`Date` middleware, Powens error JSON and request
//! parameter helpers.

mod auth;
mod control_http;
mod data;
mod transactions;
mod webhooks_auth;
mod webview;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::Router;
use bytes::Bytes;
use tokio::sync::oneshot;

use crate::clock::{http_date, paris_to_utc};
use crate::control::Shared;
use crate::faults::{
    classify, gateway_html, ConnectionKiller, Fault, KillableListener, RetryAfter,
};
use crate::json::JsonWriter;

pub(crate) type AppState = Arc<Shared>;

/// Serves until `stop` fires.
pub(crate) async fn serve(
    listener: tokio::net::TcpListener,
    shared: AppState,
    stop: oneshot::Receiver<()>,
) {
    let app = router(shared);
    let result = axum::serve(
        KillableListener(listener),
        app.into_make_service_with_connect_info::<ConnectionKiller>(),
    )
    .with_graceful_shutdown(async {
        let _ = stop.await;
    })
    .await;
    if let Err(e) = result {
        tracing::error!(error = %e, "sandbox server stopped");
    }
}

fn router(shared: AppState) -> Router {
    let api = Router::new()
        .route("/2.0/auth/init", post(auth::init))
        .route("/2.0/auth/token/code", get(auth::token_code))
        .route("/2.0/auth/token/access", post(auth::token_access))
        .route("/2.0/auth/renew", post(auth::renew))
        .route("/2.0/auth/token", delete(auth::revoke))
        .route(
            "/2.0/users/{user}",
            get(data::get_user).delete(data::delete_user),
        )
        .route("/2.0/users/{user}/connections", get(data::list_connections))
        .route(
            "/2.0/users/{user}/connections/{id}",
            get(data::get_connection)
                .put(data::sync_connection)
                .post(data::sync_connection)
                .delete(data::delete_connection),
        )
        .route(
            "/2.0/users/{user}/connections/{id}/accounts",
            get(data::list_connection_accounts),
        )
        .route("/2.0/users/{user}/accounts", get(data::list_accounts))
        .route("/2.0/users/{user}/accounts/{id}", get(data::get_account))
        .route(
            "/2.0/users/{user}/transactions",
            get(transactions::list_user),
        )
        .route(
            "/2.0/users/{user}/accounts/{id}/transactions",
            get(transactions::list_account),
        )
        .route("/2.0/currencies", get(data::currencies))
        .route(
            "/webhooks/auth",
            post(webhooks_auth::create).get(webhooks_auth::list),
        )
        .route("/webhooks/auth/{id}", delete(webhooks_auth::remove))
        .route("/connect", get(webview::connect))
        .route("/reconnect", get(webview::reconnect))
        .route("/{lang}/connect", get(webview::connect_lang))
        .route("/{lang}/reconnect", get(webview::reconnect_lang))
        .nest("/__sandbox", control_http::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed);
    api.layer(axum::middleware::from_fn_with_state(
        Arc::clone(&shared),
        fault_and_date,
    ))
    .with_state(shared)
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "notFound", "no such route")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "methodNotAllowed",
        "method not allowed on this route",
    )
}

/// Injects faults and stamps every response with a `Date` header from the sandbox clock.
async fn fault_and_date(State(shared): State<AppState>, req: Request, next: Next) -> Response {
    let fault = classify(req.method(), req.uri().path()).and_then(|r| shared.faults().hit(r));
    let now = paris_to_utc(shared.store().now());
    let mut response = match fault {
        None => next.run(req).await,
        Some(Fault::Delay { millis }) => {
            tokio::time::sleep(std::time::Duration::from_millis(millis)).await;
            next.run(req).await
        }
        Some(Fault::RateLimited { retry_after }) => {
            let value = match retry_after {
                RetryAfter::Seconds(s) => s.to_string(),
                RetryAfter::HttpDate(s) => {
                    // Checked: a huge delay names the last HTTP date instead of panicking.
                    let at = i64::try_from(s)
                        .ok()
                        .and_then(chrono::TimeDelta::try_seconds)
                        .and_then(|delay| now.checked_add_signed(delay))
                        .unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC);
                    http_date(at)
                }
            };
            let mut r = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "tooManyRequests",
                "rate limit exceeded, retry later",
            )
            .into_response();
            if let Ok(v) = HeaderValue::from_str(&value) {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
            r
        }
        Some(Fault::ServerError { status }) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
            (
                status,
                [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                gateway_html(status.as_u16()),
            )
                .into_response()
        }
        Some(Fault::DropConnection) => {
            match req.extensions().get::<ConnectInfo<ConnectionKiller>>() {
                Some(ConnectInfo(killer)) => killer.kill(),
                None => tracing::warn!("cannot drop a connection without connect info"),
            }
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
        Some(Fault::TruncatedBody) => {
            let response = next.run(req).await;
            let (mut parts, body) = response.into_parts();
            let bytes = axum::body::to_bytes(body, usize::MAX)
                .await
                .unwrap_or_default();
            let cut = bytes.slice(..bytes.len() / 2);
            parts
                .headers
                .insert(header::CONTENT_LENGTH, HeaderValue::from(cut.len()));
            Response::from_parts(parts, Body::from(cut))
        }
        Some(
            fault @ (Fault::MalformedRow | Fault::ControlCharacterRow | Fault::InvalidUtf8Row),
        ) => {
            let response = next.run(req).await;
            let (mut parts, body) = response.into_parts();
            let bytes = axum::body::to_bytes(body, usize::MAX)
                .await
                .unwrap_or_default();
            let rewritten = match fault {
                Fault::ControlCharacterRow => crate::faults::damage_first_row(
                    &bytes,
                    crate::faults::CONTROL_CHARACTER_WORDING,
                ),
                Fault::InvalidUtf8Row => {
                    crate::faults::damage_first_row(&bytes, crate::faults::INVALID_UTF8_WORDING)
                }
                _ => crate::faults::malform_first_row(&bytes),
            };
            match rewritten {
                Some((malformed, id)) => {
                    tracing::info!(transaction_id = ?id, ?fault, "fault: malformed first row");
                    parts
                        .headers
                        .insert(header::CONTENT_LENGTH, HeaderValue::from(malformed.len()));
                    Response::from_parts(parts, Body::from(malformed))
                }
                None => Response::from_parts(parts, Body::from(bytes)),
            }
        }
    };
    let date = http_date(now);
    if let Ok(v) = HeaderValue::from_str(&date) {
        response.headers_mut().insert(header::DATE, v);
    }
    response
}

static REQUEST_ID: AtomicU64 = AtomicU64::new(0);

/// A Powens error answer: `{code, description, message, request_id}`.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    code: &'static str,
    description: String,
}

impl ApiError {
    pub(crate) fn new(
        status: StatusCode,
        code: &'static str,
        description: impl Into<String>,
    ) -> Self {
        Self {
            status,
            code,
            description: description.into(),
        }
    }

    pub(crate) fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "invalidToken",
            "missing, unknown, revoked or expired bearer token",
        )
    }

    pub(crate) fn not_found(what: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "notFound", what)
    }

    pub(crate) fn invalid(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalidValue", description)
    }

    /// What real Powens answers on account and transaction listings of a user who has not
    /// linked a bank (with [`ServerBehaviour::no_account_error`](crate::ServerBehaviour)).
    pub(crate) fn no_account() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "noAccount",
            "no account: this user has no connection yet",
        )
    }

    pub(crate) fn missing(name: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "missingParameter",
            format!("the parameter {name} is required"),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut w = JsonWriter::with_capacity(160);
        w.begin_object();
        w.key("code");
        w.string(self.code);
        w.key("description");
        w.string(&self.description);
        w.key("message");
        w.null();
        w.key("request_id");
        w.u64(REQUEST_ID.fetch_add(1, Ordering::Relaxed) + 1);
        w.end_object();
        json_response(self.status, w.into_bytes())
    }
}

impl From<crate::error::SandboxError> for ApiError {
    fn from(e: crate::error::SandboxError) -> Self {
        use crate::error::SandboxError as E;
        match e {
            E::UnknownUser(_)
            | E::UnknownAccount(_)
            | E::UnknownConnection(_)
            | E::UnknownTransaction(_) => Self::not_found(e.to_string()),
            other => Self::invalid(other.to_string()),
        }
    }
}

pub(crate) fn json_response(status: StatusCode, body: Vec<u8>) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        body,
    )
        .into_response()
}

pub(crate) fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

/// The bearer token of a request.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// The user of a user-scoped route: the token's user, and the `{user}` path segment must be
/// `me` or that user's id.
pub(crate) fn auth_user(
    shared: &Shared,
    headers: &HeaderMap,
    user_path: &str,
) -> Result<u64, ApiError> {
    let token = bearer(headers).ok_or_else(ApiError::unauthorized)?;
    let user = shared
        .store()
        .token_user(token)
        .ok_or_else(ApiError::unauthorized)?;
    if user_path == "me" || user_path.parse::<u64>().ok() == Some(user) {
        Ok(user)
    } else {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "this token cannot access another user",
        ))
    }
}

/// Request parameters from the query string, merged with a JSON or form body.
#[derive(Debug, Default)]
pub(crate) struct Params(Vec<(String, String)>);

impl Params {
    pub(crate) fn from_query(query: Option<&str>) -> Self {
        Self(
            url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    pub(crate) fn with_body(mut self, headers: &HeaderMap, body: &Bytes) -> Result<Self, ApiError> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(self);
        }
        let form = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        if form {
            self.0.extend(
                url::form_urlencoded::parse(body).map(|(k, v)| (k.into_owned(), v.into_owned())),
            );
            return Ok(self);
        }
        let value: serde_json::Value = serde_json::from_slice(body)
            .map_err(|e| ApiError::invalid(format!("the body is not valid JSON: {e}")))?;
        let serde_json::Value::Object(map) = value else {
            return Err(ApiError::invalid("the body must be a JSON object"));
        };
        for (k, v) in map {
            let text = match v {
                serde_json::Value::Null => continue,
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            };
            self.0.push((k, text));
        }
        Ok(self)
    }

    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn has(&self, name: &str) -> bool {
        self.0.iter().any(|(k, _)| k == name)
    }

    /// A boolean flag: present and not `false`/`0`.
    pub(crate) fn flag(&self, name: &str) -> bool {
        self.get(name).is_some_and(|v| !matches!(v, "false" | "0"))
    }

    pub(crate) fn pairs(&self) -> &[(String, String)] {
        &self.0
    }
}
