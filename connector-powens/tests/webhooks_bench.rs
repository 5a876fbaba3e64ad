//! Webhook throughput benchmark: verify, trim and translate one large `CONNECTION_SYNCED`
//! (a first sync carrying a whole history). It prints figures and asserts only correctness.
//!
//! `cargo test -p connector-powens --release --test webhooks_bench -- --ignored --nocapture`
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Instant;

use connector_core::webhook::{Headers, WebhookEnvelope, WebhookResponse};
use connector_powens::webhooks::{routes, PowensWebhooks, WebhookOptions};
use powens_api::webhooks::sign;
use secrecy::SecretString;

const ACCOUNTS: usize = 5;
const TRANSACTIONS_PER_ACCOUNT: usize = 5_000;

fn body() -> Vec<u8> {
    let mut accounts = Vec::new();
    let mut id = 1;
    for a in 0..ACCOUNTS {
        let mut rows = Vec::with_capacity(TRANSACTIONS_PER_ACCOUNT);
        for i in 0..TRANSACTIONS_PER_ACCOUNT {
            rows.push(format!(
                r#"{{"id":{id},"id_account":{a},"date":"2026-05-{:02}","value":-{}.{:02},"type":"card","coming":{},"wording":"CB SHOP {i}","original_wording":"CARTE {i} SHOP","last_update":"2026-06-18 07:00:00","id_category":9998}}"#,
                i % 28 + 1,
                i % 900 + 1,
                i % 100,
                i % 10 == 0
            ));
            id += 1;
        }
        accounts.push(format!(
            r#"{{"id":{a},"id_connection":7,"original_name":"Compte {a}","balance":12345.67,"coming":-10.00,"last_update":"2026-06-18 07:29:58","currency":{{"id":"EUR","precision":2}},"transactions":[{}]}}"#,
            rows.join(",")
        ));
    }
    format!(
        r#"{{"user":{{"id":42}},"connection":{{"id":7,"id_user":42,"state":null,"last_update":"2026-06-18 07:30:00","accounts":[{}]}},"id_webhook_data":1}}"#,
        accounts.join(",")
    )
    .into_bytes()
}

#[test]
#[ignore = "benchmark: run with --ignored --nocapture (in release for real figures)"]
fn webhook_verify_trim_translate_throughput() {
    let body = body();
    let config = routes::webhook_configs("https://pay.example/hooks/c1", "s3cret").remove(0);
    let date = "2026-06-18T06:00:00.000000Z";
    let signature = sign(
        &SecretString::from("s3cret"),
        "/hooks/c1/connection-synced",
        date,
        &body,
    );
    let webhook = WebhookEnvelope {
        headers: [
            ("BI-Signature", signature.as_str()),
            ("BI-Signature-Date", date),
        ]
        .into_iter()
        .collect::<Headers>(),
        body,
        ..WebhookEnvelope::default()
    };
    let handler = PowensWebhooks::new(WebhookOptions::default());
    let total = ACCOUNTS * TRANSACTIONS_PER_ACCOUNT;
    let mib = webhook.body.len() as f64 / (1024.0 * 1024.0);

    let start = Instant::now();
    handler.verify(&webhook, &config).unwrap();
    let verify = start.elapsed();

    let start = Instant::now();
    let pieces = handler.trim(webhook, &config).unwrap();
    let trim = start.elapsed();

    let start = Instant::now();
    let mut payments = 0;
    for piece in &pieces {
        let translation = handler.translate(piece, &config).unwrap();
        assert!(translation.skipped.is_empty());
        payments += translation
            .responses
            .iter()
            .filter(|r| matches!(r, WebhookResponse::OpenBankingPayment(_)))
            .count();
    }
    let translate = start.elapsed();
    assert_eq!(payments, total);

    let rate = |d: std::time::Duration| total as f64 / d.as_secs_f64();
    println!(
        "body {mib:.1} MiB, {total} transactions, {} pieces",
        pieces.len()
    );
    println!(
        "verify    {:>8.1} ms ({:.0} MiB/s)",
        verify.as_secs_f64() * 1e3,
        mib / verify.as_secs_f64()
    );
    println!(
        "trim      {:>8.1} ms ({:.0} tx/s)",
        trim.as_secs_f64() * 1e3,
        rate(trim)
    );
    println!(
        "translate {:>8.1} ms ({:.0} tx/s)",
        translate.as_secs_f64() * 1e3,
        rate(translate)
    );
}
