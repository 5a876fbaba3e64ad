//! The HTTP front of `powens serve` (axum): routes, bearer auth, JSON errors, body limits.
//!
//! | route | auth | answer |
//! |---|---|---|
//! | `GET /healthz` | none | 200 `{"status":"ok"}` while the process is up |
//! | `GET /readyz` | none | 200, or 503 with the reason (store, sink, polling) |
//! | `GET /metrics` | none | Prometheus text |
//! | `POST /webhooks/<event path>` | Powens signature | 2xx processed/duplicate, 4xx refused, 5xx failed |
//! | `GET /callback` | the CSRF `state` | 303 to the attempt's `clientRedirectURL` |
//! | `POST /psus` | bearer | 201 `{"id","powensUserID"}` |
//! | `POST /psus/{id}/links` | bearer | 201 `{"url","attemptID"}` |
//! | `POST /psus/{id}/reconnect` | bearer | 201 `{"url","attemptID"}` |
//! | `GET /psus/{id}` | bearer | 200 status |
//! | `DELETE /psus/{id}` | bearer | 204 |
//!
//! Every error is JSON `{"error": code, "message": …}`; unknown routes 404, wrong methods
//! 405, bodies over the limit 413.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use connector_core::webhook::Headers;
use connector_powens::service::{CreatePsu, Service, ServiceError};
use serde::Deserialize;
use subtle::ConstantTimeEq;

/// Largest body of a PSU management request.
const API_BODY_LIMIT: usize = 64 * 1024;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// The service.
    pub service: Arc<Service>,
    /// The bearer token of the PSU routes.
    pub token: Arc<String>,
}

/// A JSON error answer: `{"error": code, "message": …}` with its status.
#[derive(Debug)]
struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    /// Adds `WWW-Authenticate: Bearer` (a 401 of the bearer-protected routes).
    challenge: bool,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            challenge: false,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            axum::Json(serde_json::json!({ "error": self.code, "message": self.message })),
        )
            .into_response();
        if self.challenge {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        let status =
            StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if status.is_server_error() {
            tracing::error!(error = %e, "request failed");
        }
        ApiError::new(status, e.code(), e.to_string())
    }
}

impl From<BytesRejection> for ApiError {
    fn from(rejection: BytesRejection) -> Self {
        let status = rejection.status();
        let code = if status == StatusCode::PAYLOAD_TOO_LARGE {
            "payload_too_large"
        } else {
            "bad_request"
        };
        ApiError::new(status, code, rejection.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            rejection.body_text(),
        )
    }
}

/// Parses a JSON body (an empty body is `{}`), answering 400 with the serde message.
fn json_body<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, ApiError> {
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}".as_slice()
    } else {
        body
    };
    serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("the body is not the expected JSON object: {e}"),
        )
    })
}

/// Checks `Authorization: Bearer <token>` in constant time.
fn authorized(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    match given {
        Some(token) if bool::from(token.as_bytes().ct_eq(state.token.as_bytes())) => Ok(()),
        _ => Err(ApiError {
            challenge: true,
            ..ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "send `Authorization: Bearer <token>` with the api_token printed at start (or POWENS_SERVE_TOKEN)",
            )
        }),
    }
}

/// The router.
pub fn router(state: AppState, webhook_body_limit: usize) -> Router {
    let api = Router::new()
        .route("/psus", post(create_psu))
        .route("/psus/{id}", get(psu_status).delete(delete_psu))
        .route("/psus/{id}/links", post(create_link))
        .route("/psus/{id}/reconnect", post(reconnect))
        .layer(DefaultBodyLimit::max(API_BODY_LIMIT));
    let webhooks = Router::new()
        .route("/webhooks/{*event}", post(webhook))
        .layer(DefaultBodyLimit::max(webhook_body_limit));
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/callback", get(callback))
        .merge(api)
        .merge(webhooks)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
}

async fn not_found(uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("no route {}", uri.path()),
    )
}

async fn method_not_allowed(uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("{} does not take this method", uri.path()),
    )
}

async fn healthz() -> Response {
    axum::Json(serde_json::json!({ "status": "ok" })).into_response()
}

async fn readyz(State(state): State<AppState>) -> Result<Response, ApiError> {
    state
        .service
        .ready()
        .await
        .map_err(|reason| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "not_ready", reason))?;
    Ok(axum::Json(serde_json::json!({ "status": "ready" })).into_response())
}

async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.service.metrics_text(),
    )
        .into_response()
}

async fn webhook(
    State(state): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body.inspect_err(|rejection| {
        state
            .service
            .metrics()
            .webhook("unknown", "rejected", rejection.status().as_u16());
    })?;
    let mut envelope_headers = Headers::new();
    for (name, value) in &headers {
        if let Ok(value) = value.to_str() {
            envelope_headers.append(name.as_str(), value);
        }
    }
    let reply = state
        .service
        .receive_webhook(uri.path(), envelope_headers, body.to_vec())
        .await;
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    Ok((status, axum::Json(reply.body)).into_response())
}

async fn callback(State(state): State<AppState>, uri: Uri) -> Result<Response, ApiError> {
    let mut query: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, value) in url::form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes()) {
        query
            .entry(name.into_owned())
            .or_default()
            .push(value.into_owned());
    }
    let done = state.service.complete_callback(query).await?;
    let location = axum::http::HeaderValue::from_str(&done.redirect_to).map_err(|_| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the clientRedirectURL cannot be sent as a Location header",
        )
    })?;
    Ok((StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response())
}

async fn create_psu(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    authorized(&state, &headers)?;
    let request: CreatePsu = json_body(&body?)?;
    let created = state.service.create_psu(request).await?;
    Ok((StatusCode::CREATED, axum::Json(created)).into_response())
}

/// `POST /psus/{id}/links` and `/reconnect`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LinkBody {
    #[serde(rename = "clientRedirectURL")]
    client_redirect_url: String,
    #[serde(rename = "connectionID", default)]
    connection_id: Option<String>,
}

async fn link_like(
    state: &AppState,
    headers: &HeaderMap,
    id: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
    reconnect: bool,
) -> Result<Response, ApiError> {
    authorized(state, headers)?;
    let Path(id) = id?;
    let request: LinkBody = json_body(&body?)?;
    let link = if reconnect {
        state
            .service
            .reconnect(
                &id,
                &request.client_redirect_url,
                request.connection_id.as_deref(),
            )
            .await?
    } else if request.connection_id.is_some() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "connectionID belongs to /psus/{id}/reconnect; a new link takes only clientRedirectURL",
        ));
    } else {
        state
            .service
            .create_link(&id, &request.client_redirect_url)
            .await?
    };
    Ok((StatusCode::CREATED, axum::Json(link)).into_response())
}

async fn create_link(
    State(state): State<AppState>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    link_like(&state, &headers, id, body, false).await
}

async fn reconnect(
    State(state): State<AppState>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    link_like(&state, &headers, id, body, true).await
}

async fn psu_status(
    State(state): State<AppState>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    authorized(&state, &headers)?;
    let Path(id) = id?;
    let status = state.service.psu_status(&id).await?;
    Ok(axum::Json(status).into_response())
}

async fn delete_psu(
    State(state): State<AppState>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    authorized(&state, &headers)?;
    let Path(id) = id?;
    state.service.delete_psu(&id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
