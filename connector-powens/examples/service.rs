//! The service library with a minimal HTTP front of your own: polling every `pollingPeriod`,
//! webhooks through the engine's inbox, a PSU linked through the Webview. `powens serve` is
//! the full front (auth, every route, metrics, shutdown); this is the least you need.
//!
//! It runs against an in-process sandbox whose webhooks point at the front:
//!
//! ```text
//! cargo run -p connector-powens --example service
//! ```

use std::collections::BTreeMap;
use std::error::Error;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use connector_core::sink::JsonLinesSink;
use connector_core::state::MemoryStateStore;
use connector_core::webhook::Headers;
use connector_powens::service::{CreatePsu, Service, ServiceOptions};
use connector_powens::{PowensConfig, PowensConnector};
use powens_sandbox::{ClockMode, Sandbox, SandboxSize, WebhookEvent};
use tokio_util::sync::CancellationToken;

/// `POST /webhooks/<event path>`: the service answers with the status Powens must see.
async fn webhook(
    State(service): State<Arc<Service>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut envelope = Headers::new();
    for (name, value) in &headers {
        if let Ok(value) = value.to_str() {
            envelope.append(name.as_str(), value);
        }
    }
    let reply = service
        .receive_webhook(uri.path(), envelope, body.to_vec())
        .await;
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, axum::Json(reply.body)).into_response()
}

/// `GET /callback`: completes the link, starts a sync, sends the user on.
async fn callback(State(service): State<Arc<Service>>, uri: Uri) -> Response {
    let mut query: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, value) in url::form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes()) {
        query.entry(name.into()).or_default().push(value.into());
    }
    match service.complete_callback(query).await {
        Ok(done) => Redirect::to(&done.redirect_to).into_response(),
        Err(e) => (
            StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::BAD_REQUEST),
            e.to_string(),
        )
            .into_response(),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    // A sandbox whose clock ticks from now, so that webhook signatures are fresh.
    let now = chrono::Utc::now()
        .with_timezone(&chrono_tz::Europe::Paris)
        .naive_local();
    let sandbox = Sandbox::builder()
        .size(SandboxSize {
            users: 0,
            connections_per_link: 1,
            accounts_per_connection: 2,
            transactions_per_account: 30,
        })
        .start_time(now)
        .clock_mode(ClockMode::Ticking)
        .start()
        .await?;
    let mut payload = sandbox.install_payload();
    payload["pollingPeriod"] = "2s".into();
    let config = PowensConfig::from_value(payload)?;
    let connector = PowensConnector::new(config)?;

    // The front's address is the service's public URL: bind first.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let public_url = format!("http://{}", listener.local_addr()?);
    let service = Arc::new(
        Service::start(
            connector,
            Arc::new(MemoryStateStore::new()),
            Arc::new(JsonLinesSink::new(tokio::io::sink())),
            ServiceOptions::new(&public_url),
        )
        .await?,
    );
    // With a real domain, register these URLs in the Powens console instead.
    for config in service.webhook_configs() {
        let event = match config.name.as_str() {
            "CONNECTION_SYNCED" => WebhookEvent::ConnectionSynced,
            "USER_SYNCED" => WebhookEvent::UserSynced,
            _ => continue,
        };
        if let Some(url) = &config.full_url {
            sandbox.control().register_webhook(event, url.clone());
        }
    }
    let app = axum::Router::new()
        .route("/webhooks/{*event}", axum::routing::post(webhook))
        .route("/callback", axum::routing::get(callback))
        .with_state(Arc::clone(&service));
    tokio::spawn(async move { axum::serve(listener, app).await });
    let cancel = CancellationToken::new();
    let polling = {
        let (service, cancel) = (Arc::clone(&service), cancel.clone());
        tokio::spawn(async move { service.run_polling(&cancel).await })
    };

    // A PSU links a bank: the Webview sends the browser to /callback, which sends it on.
    let psu = service
        .create_psu(CreatePsu {
            id: Some("alice".into()),
            name: None,
        })
        .await?;
    let link = service
        .create_link(&psu.id, "https://app.example/linked")
        .await?;
    // A browser on this machine: follows redirects on 127.0.0.1, stops at the app's URL.
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::custom(|attempt| {
            if attempt.url().host_str() == Some("127.0.0.1") {
                attempt.follow()
            } else {
                attempt.stop()
            }
        }))
        .build()?;
    let landed = browser.get(&link.url).send().await?;
    println!(
        "Webview → /callback → {} {:?}",
        landed.status(),
        landed.headers().get("location")
    );

    // The link's CONNECTION_SYNCED webhook, the sync the callback started, then polling.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let status = service.psu_status("alice").await?;
    println!(
        "alice: {} connection(s), last successful sync {:?}",
        status.connections.len(),
        status.last_successful_sync
    );
    println!("records delivered: {}", service.metrics().records_total());
    cancel.cancel();
    polling.await?;
    service.shutdown(Duration::from_secs(2)).await;
    sandbox.shutdown().await;
    Ok(())
}
