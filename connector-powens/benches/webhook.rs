//! Throughput of the webhook path: one 1,000-transaction `CONNECTION_SYNCED` (the rows of the
//! mapping benchmark, in one account) decoded, split per account and translated in one read
//! (`PowensWebhooks::read_body`), in process. Counted like `bench mapping_tx_per_s`: each
//! payment's `raw` stays the borrowed row until delivery (`ReadBody::complete`, which the
//! inbox runs; its rate with the copies is printed as context on stderr).
//!
//! Run: `cargo bench -p connector-powens --bench webhook` (or `cargo xtask bench mapping`,
//! which runs it after the mapping benchmark). Best of 8 rounds of 250 ms, like the mapping
//! benchmark. Prints exactly `bench webhook_tx_per_s: …` on stdout; context on stderr.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use connector_core::webhook::WebhookResponse;
use connector_powens::webhooks::{config_for, route_for_event, PowensWebhooks, WebhookOptions};
use powens_api::time::ManualClock;

#[path = "../../powens-model/benches/common/mod.rs"]
mod common;

const ROWS: usize = 1_000;
const ROUNDS: usize = 8;
const ROUND_TIME: Duration = Duration::from_millis(250);

fn main() {
    let body = common::connection_synced(ROWS);
    let route = route_for_event("CONNECTION_SYNCED").unwrap();
    let config = config_for(route, "https://pay.example/hooks/c1", "s3cret");
    let now = Utc.with_ymd_and_hms(2026, 6, 18, 6, 0, 0).unwrap();
    let handler =
        PowensWebhooks::new(WebhookOptions::default()).with_clock(Arc::new(ManualClock::new(now)));

    let check = handler.translate_body(&body, &config).unwrap();
    let payments = check
        .responses
        .iter()
        .filter(|r| matches!(r, WebhookResponse::OpenBankingPayment(_)))
        .count();
    assert_eq!(payments, ROWS, "every row becomes a payment");
    assert!(check.skipped.is_empty(), "{:?}", check.skipped);
    assert_eq!(check.idempotency_key, "id_webhook_data:123456");

    if std::env::var_os("POWENS_BENCH_PROFILE_WEBHOOK").is_some() {
        // Profiling aid: only the read loop, for `perf record`.
        let r = common::rate_for(Duration::from_secs(4), || {
            black_box(handler.read_body(black_box(&body), &config).unwrap());
            ROWS
        });
        eprintln!("read only: {r:.0} tx/s");
        return;
    }
    let mut read = || {
        let read = handler.read_body(black_box(&body), &config).unwrap();
        black_box(&read);
        ROWS
    };
    let mut complete = || {
        let translation = handler.translate_body(black_box(&body), &config).unwrap();
        black_box(&translation);
        ROWS
    };
    let (mut best, mut best_complete) = (0.0f64, 0.0f64);
    for _ in 0..ROUNDS {
        best = best.max(common::rate_for(ROUND_TIME, &mut read));
        best_complete = best_complete.max(common::rate_for(ROUND_TIME, &mut complete));
    }
    println!("bench webhook_tx_per_s: {best:.0}");
    eprintln!(
        "context: with every payment's raw copied out (complete records): {best_complete:.0} tx/s"
    );
    eprintln!(
        "webhook body: {} bytes, {ROWS} transactions, {} responses",
        body.len(),
        check.responses.len()
    );
}
