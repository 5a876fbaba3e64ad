//! Translated outputs of the webhook fixtures under `tests/fixtures/webhooks/`, as insta
//! JSON snapshots. A fixture is named `<event in lower case>__<case>.json`; the event picks
//! the config it is delivered under. `raw` payloads are redacted (they repeat the fixture).
//! The clock stands at 2026-06-18 06:00 UTC; the consent horizon is 7 days.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::sync::Arc;

use chrono::{TimeZone, Utc};
use connector_core::webhook::{WebhookConfig, WebhookEnvelope};
use connector_powens::webhooks::{
    config_for, idempotency_key, route_for_event, PowensWebhooks, WebhookOptions,
};
use powens_api::time::ManualClock;
use serde_json::{json, Value};

/// The clock of every translation: 2026-06-18 06:00 UTC.
fn handler() -> PowensWebhooks {
    let now = Utc.with_ymd_and_hms(2026, 6, 18, 6, 0, 0).unwrap();
    PowensWebhooks::new(WebhookOptions::default()).with_clock(Arc::new(ManualClock::new(now)))
}

fn fixture(path: &Path) -> (WebhookConfig, WebhookEnvelope) {
    let stem = path.file_stem().unwrap().to_str().unwrap();
    let event = stem.split("__").next().unwrap().to_uppercase();
    let route = route_for_event(&event).unwrap_or_else(|| panic!("no route for {event}"));
    let config = config_for(route, "https://pay.example/hooks/c1", "secret");
    let body = std::fs::read(path).unwrap();
    (
        config,
        WebhookEnvelope {
            body,
            ..WebhookEnvelope::default()
        },
    )
}

#[test]
fn every_fixture_translates_to_its_reviewed_snapshot() {
    insta::glob!("fixtures/webhooks/*.json", |path| {
        let (config, webhook) = fixture(path);
        let translation = handler().translate(&webhook, &config).unwrap();
        let snapshot = json!({
            "event": config.name,
            "idempotencyKey": translation.idempotency_key,
            "pspUserID": translation.psp_user_id,
            "syncRequested": translation.sync_requested,
            "responses": translation.responses,
            "skipped": translation.skipped,
        });
        // Pretty JSON text rather than insta's JSON serializer, which shows
        // `arbitrary_precision` numbers as maps.
        insta::assert_snapshot!(serde_json::to_string_pretty(&redact_raw(snapshot)).unwrap());
    });
}

/// Replaces every `raw` member by `"[raw]"`.
fn redact_raw(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| {
                    let v = if k == "raw" {
                        json!("[raw]")
                    } else {
                        redact_raw(v)
                    };
                    (k, v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(redact_raw).collect()),
        other => other,
    }
}

#[test]
fn the_key_read_with_the_body_is_the_key_of_the_body_alone_for_every_fixture() {
    insta::glob!("fixtures/webhooks/*.json", |path| {
        let (config, webhook) = fixture(path);
        let translation = handler().translate(&webhook, &config).unwrap();
        assert_eq!(
            translation.idempotency_key,
            idempotency_key(&webhook.body),
            "{}",
            path.display()
        );
    });
}
