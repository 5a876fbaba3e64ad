//! The control API over HTTP, under `/__sandbox/` (no authentication: loopback test server).
//! Every route is a thin wrapper of a [`SandboxControl`](crate::SandboxControl) method.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Deserialize;

use super::{ApiError, AppState};
use crate::behaviour::{Profile, ServerBehaviour};
use crate::clock::{format_naive_datetime, parse_naive_datetime};
use crate::control::{
    AccountStatus, Change, MaturationMode, SandboxControl, Trigger, MAX_CONNECTIONS_PER_CALL,
};
use crate::faults::FaultRule;
use crate::webhooks::WebhookEvent;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/clock", get(clock))
        .route("/clock/advance", post(advance))
        .route("/clock/set", post(set_clock))
        .route("/users", post(create_user))
        .route("/users/{id}/link", post(link))
        .route("/changes", post(change))
        .route("/schedule", post(schedule))
        .route("/maturation", put(maturation).get(get_maturation))
        .route("/behaviour", put(set_behaviour).get(get_behaviour))
        .route("/profile", put(set_profile))
        .route("/truth/{user_id}", get(truth))
        .route("/faults", post(fault).delete(clear_faults))
        .route("/webview/denial", put(denial))
        .route("/webhooks", post(register_webhook))
        .route("/webhooks/deliveries", get(deliveries))
        .route("/webhooks/render", post(render_webhook))
        .route("/connections/{id}/state", put(connection_state))
        .route("/accounts/{id}/status", put(account_status))
        .route("/events", post(emit))
}

fn control(shared: &AppState) -> SandboxControl {
    SandboxControl {
        shared: std::sync::Arc::clone(shared),
    }
}

fn now_body(c: &SandboxControl) -> Response {
    Json(serde_json::json!({ "now": format_naive_datetime(c.now()) })).into_response()
}

async fn clock(State(s): State<AppState>) -> Response {
    now_body(&control(&s))
}

#[derive(Deserialize)]
struct Advance {
    seconds: i64,
}

async fn advance(State(s): State<AppState>, Json(a): Json<Advance>) -> Result<Response, ApiError> {
    let by = chrono::TimeDelta::try_seconds(a.seconds)
        .ok_or_else(|| ApiError::invalid(format!("seconds {} is out of range", a.seconds)))?;
    s.store().clock.try_advance(by).map_err(ApiError::invalid)?;
    Ok(now_body(&control(&s)))
}

#[derive(Deserialize)]
struct SetClock {
    now: String,
}

async fn set_clock(
    State(s): State<AppState>,
    Json(b): Json<SetClock>,
) -> Result<Response, ApiError> {
    let at = parse_naive_datetime(&b.now)
        .ok_or_else(|| ApiError::invalid("now must be YYYY-MM-DD HH:MM:SS"))?;
    s.store().clock.try_set(at).map_err(ApiError::invalid)?;
    Ok(now_body(&control(&s)))
}

#[derive(Deserialize)]
struct CreateUser {
    #[serde(default)]
    connections: Option<u32>,
}

/// Refuses a connection count above [`MAX_CONNECTIONS_PER_CALL`].
fn bounded_connections(count: u32) -> Result<u32, ApiError> {
    if count > MAX_CONNECTIONS_PER_CALL {
        return Err(ApiError::invalid(format!(
            "at most {MAX_CONNECTIONS_PER_CALL} connections per call, got {count}"
        )));
    }
    Ok(count)
}

async fn create_user(
    State(s): State<AppState>,
    body: Option<Json<CreateUser>>,
) -> Result<Response, ApiError> {
    let default = s.store().size.connections_per_link;
    let n = bounded_connections(body.and_then(|b| b.0.connections).unwrap_or(default))?;
    Ok(Json(control(&s).create_user(n)).into_response())
}

#[derive(Deserialize)]
struct Link {
    #[serde(default = "one")]
    count: u32,
}

fn one() -> u32 {
    1
}

async fn link(
    State(s): State<AppState>,
    Path(id): Path<u64>,
    Json(b): Json<Link>,
) -> Result<Response, ApiError> {
    let ids = control(&s).link_bank(id, bounded_connections(b.count)?)?;
    Ok(Json(serde_json::json!({ "connection_ids": ids })).into_response())
}

async fn change(State(s): State<AppState>, Json(c): Json<Change>) -> Result<Response, ApiError> {
    Ok(Json(control(&s).apply(c)?).into_response())
}

#[derive(Deserialize)]
struct Schedule {
    trigger: Trigger,
    change: Change,
}

async fn schedule(State(s): State<AppState>, Json(b): Json<Schedule>) -> Response {
    control(&s).schedule(b.trigger, b.change);
    StatusCode::NO_CONTENT.into_response()
}

#[derive(Deserialize)]
struct Maturation {
    mode: MaturationMode,
}

async fn maturation(State(s): State<AppState>, Json(b): Json<Maturation>) -> Response {
    control(&s).set_maturation_mode(b.mode);
    StatusCode::NO_CONTENT.into_response()
}

async fn get_maturation(State(s): State<AppState>) -> Response {
    Json(serde_json::json!({ "mode": control(&s).maturation_mode() })).into_response()
}

async fn set_behaviour(State(s): State<AppState>, Json(b): Json<ServerBehaviour>) -> Response {
    control(&s).set_behaviour(b);
    StatusCode::NO_CONTENT.into_response()
}

async fn get_behaviour(State(s): State<AppState>) -> Response {
    Json(control(&s).behaviour()).into_response()
}

#[derive(Deserialize)]
struct SetProfile {
    profile: String,
}

async fn set_profile(
    State(s): State<AppState>,
    Json(b): Json<SetProfile>,
) -> Result<Response, ApiError> {
    let profile: Profile = b
        .profile
        .parse()
        .map_err(|e: crate::behaviour::UnknownProfile| ApiError::invalid(e.to_string()))?;
    control(&s).set_profile(profile);
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn truth(State(s): State<AppState>, Path(user): Path<u64>) -> Result<Response, ApiError> {
    Ok(Json(control(&s).truth(user)?).into_response())
}

async fn fault(State(s): State<AppState>, Json(rule): Json<FaultRule>) -> Response {
    control(&s).inject_fault(rule);
    StatusCode::NO_CONTENT.into_response()
}

async fn clear_faults(State(s): State<AppState>) -> Response {
    control(&s).clear_faults();
    StatusCode::NO_CONTENT.into_response()
}

#[derive(Deserialize)]
struct Denial {
    description: Option<String>,
}

async fn denial(State(s): State<AppState>, Json(b): Json<Denial>) -> Response {
    control(&s).deny_webview(b.description);
    StatusCode::NO_CONTENT.into_response()
}

#[derive(Deserialize)]
struct Register {
    event: WebhookEvent,
    url: String,
}

async fn register_webhook(State(s): State<AppState>, Json(b): Json<Register>) -> Response {
    control(&s).register_webhook(b.event, b.url);
    StatusCode::NO_CONTENT.into_response()
}

async fn deliveries(State(s): State<AppState>) -> Response {
    Json(control(&s).webhook_deliveries()).into_response()
}

#[derive(Deserialize)]
struct ConnectionState {
    state: Option<String>,
}

async fn connection_state(
    State(s): State<AppState>,
    Path(id): Path<u64>,
    Json(b): Json<ConnectionState>,
) -> Result<Response, ApiError> {
    control(&s).set_connection_state(id, b.state.as_deref())?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn account_status(
    State(s): State<AppState>,
    Path(id): Path<u64>,
    Json(b): Json<AccountStatus>,
) -> Result<Response, ApiError> {
    control(&s).set_account_status(id, b)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
struct Emit {
    event: WebhookEvent,
    #[serde(default)]
    connection_id: Option<u64>,
    #[serde(default)]
    user_id: Option<u64>,
}

async fn emit(State(s): State<AppState>, Json(b): Json<Emit>) -> Result<Response, ApiError> {
    let c = control(&s);
    let need_connection = || {
        b.connection_id
            .ok_or_else(|| ApiError::missing("connection_id"))
    };
    let need_user = || b.user_id.ok_or_else(|| ApiError::missing("user_id"));
    match b.event {
        WebhookEvent::ConnectionSynced => c.emit_connection_synced(need_connection()?)?,
        WebhookEvent::ConnectionPendingDisconnect => {
            c.emit_pending_disconnect(need_connection()?)?
        }
        WebhookEvent::ConnectionDeleted => c.delete_connection(need_connection()?)?,
        WebhookEvent::UserSynced => c.emit_user_synced(need_user()?)?,
        WebhookEvent::UserDeleted => c.delete_user(need_user()?)?,
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Render {
    event: WebhookEvent,
    connection_id: u64,
    path: String,
}

/// `POST /__sandbox/webhooks/render {event: "CONNECTION_SYNCED", connection_id, path}`: the
/// signed delivery the sandbox would send, not sent (`{id_webhook_data, body, headers}`).
async fn render_webhook(
    State(s): State<AppState>,
    Json(b): Json<Render>,
) -> Result<Response, ApiError> {
    if b.event != WebhookEvent::ConnectionSynced {
        return Err(ApiError::invalid(
            "only CONNECTION_SYNCED can be rendered; send the others with POST /__sandbox/events",
        ));
    }
    if !b.path.starts_with('/') {
        return Err(ApiError::invalid(
            "path is the receiver URL's path, starting with `/`",
        ));
    }
    let rendered = control(&s).render_connection_synced(b.connection_id, &b.path)?;
    Ok(Json(rendered).into_response())
}
