//! Webhook intake: `BI-Signature` verification, trimming (splitting) and translation, on
//! arbitrary bodies and headers.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use arbitrary::Unstructured;
use chrono::{TimeZone, Utc};
use connector_core::engine::{Engine, EngineConfig};
use connector_core::model::Record;
use connector_core::sink::{Sink, SinkError};
use connector_core::state::MemoryStateStore;
use connector_core::webhook::{Headers, WebhookConfig, WebhookEnvelope};
use connector_powens::webhooks::{
    config_for, signed_path, PowensWebhooks, WebhookError, WebhookOptions, WEBHOOK_ROUTES,
};
use connector_powens::{PowensConfig, PowensConnector};
use futures::future::BoxFuture;
use powens_api::time::ManualClock;
use powens_api::webhooks::sign;
use secrecy::SecretString;

use super::{mode, pick};
use crate::disagree;
use crate::gen;
use crate::oracle::lossy;

/// How the delivery is changed after signing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tamper {
    /// As signed.
    None,
    /// Header names in another case, white space around the signature: still valid.
    Respelled,
    /// One body byte changed.
    BodyByte,
    /// A byte added to the body.
    BodyLonger,
    /// The body cut.
    BodyShorter,
    /// The date header changed.
    Date,
    /// One bit of the signature changed.
    SignatureBit,
    /// The signature replaced by text that is not one.
    SignatureGarbage,
    /// The signature header sent twice.
    SignatureTwice,
    /// No date header.
    NoDate,
    /// Signed with another secret.
    OtherSecret,
    /// Signed over another path.
    OtherPath,
}

const TAMPERS: [Tamper; 12] = [
    Tamper::None,
    Tamper::Respelled,
    Tamper::BodyByte,
    Tamper::BodyLonger,
    Tamper::BodyShorter,
    Tamper::Date,
    Tamper::SignatureBit,
    Tamper::SignatureGarbage,
    Tamper::SignatureTwice,
    Tamper::NoDate,
    Tamper::OtherSecret,
    Tamper::OtherPath,
];

const DATE: &str = "2026-06-18T06:00:00.000000Z";

/// `webhook`: a body (generated for the chosen event, or raw bytes) signed as Powens signs
/// it, then possibly tampered with, delivered to `PowensWebhooks` and to the engine's inbox
/// (`Engine::webhook_inbox().receive`: verify once, freshness, read the body once, sink):
///
/// * no panic, whatever the body, headers, config and options;
/// * a delivery as signed with a readable date verifies (without freshness window); one
///   whose `BI-Signature-Date` is not a date is refused; a tampered one (body, date,
///   signature, secret, path, repeated or missing header) is refused, and the engine's inbox
///   refuses it with no record reaching the sink;
/// * a verified body's one read is deterministic (the same translation twice, and from the
///   raw body as from the envelope). (The old oracle, pieces = whole, went with the trimming
///   it checked; a differential oracle for the one-read reader is still to write: see
///   docs/FUZZING.md.)
pub fn webhook(data: &[u8]) {
    let (raw, rest) = mode(data);
    let mut u = Unstructured::new(rest);
    let route = WEBHOOK_ROUTES[pick(&mut u, WEBHOOK_ROUTES.len())];
    let tamper = TAMPERS[pick(&mut u, TAMPERS.len())];
    let fresh = pick(&mut u, 4) == 0;
    let long_secret = "k".repeat(200);
    let secret = ["s3cret", "clé secrète 🔑", "", &long_secret][pick(&mut u, 4)];
    let base = [
        "https://pay.example/hooks/c1",
        "http://127.0.0.1:9/hooks/c1/",
        "https://pay.example/h%20ooks/c1",
        "https://pay.example",
        "not a url",
    ][pick(&mut u, 5)];
    let date = if pick(&mut u, 3) == 0 {
        let mut j = gen::Json::new(&mut u);
        gen::datetime_text(&mut j)
    } else {
        DATE.to_owned()
    };
    let mut config = config_for(&route, base, secret);
    if pick(&mut u, 4) == 0 {
        config.full_url = None;
    }
    if pick(&mut u, 16) == 0 {
        config.name = "CONNECTION_SYNCED_V2".to_owned();
    }
    let byte_at = pick(&mut u, 1 << 16);
    let body = if raw {
        u.take_rest().to_vec()
    } else {
        gen::webhook_body(&mut u, route.event)
    };

    // Sign as Powens does, then tamper.
    let path = signed_path(&config);
    let signing_secret = if tamper == Tamper::OtherSecret {
        format!("{secret}x")
    } else {
        secret.to_owned()
    };
    let signing_path = match (&path, tamper) {
        (Ok(path), Tamper::OtherPath) => format!("{path}/x"),
        (Ok(path), _) => path.clone(),
        (Err(_), _) => config.url_path.clone(),
    };
    let signature = sign(
        &SecretString::from(signing_secret),
        &signing_path,
        &date,
        &body,
    );
    let mut delivered = body.clone();
    let mut headers: Vec<(String, String)> = vec![
        ("BI-Signature".to_owned(), signature.clone()),
        ("BI-Signature-Date".to_owned(), date.clone()),
    ];
    let mut changed = true;
    match tamper {
        Tamper::None => changed = false,
        Tamper::Respelled => {
            changed = false;
            headers = vec![
                ("bi-signature-date".to_owned(), date.clone()),
                ("Bi-SIGNATURE".to_owned(), format!(" {signature}\t")),
            ];
        }
        Tamper::BodyByte => match delivered.get_mut(byte_at % body.len().max(1)) {
            Some(byte) => *byte ^= 1 << (byte_at % 8),
            None => delivered.push(b' '),
        },
        Tamper::BodyLonger => delivered.push(b' '),
        Tamper::BodyShorter => {
            changed = !delivered.is_empty();
            delivered.truncate(byte_at % delivered.len().max(1));
        }
        Tamper::Date => headers[1].1 = format!("{date}0"),
        Tamper::SignatureBit => headers[0].1 = flip_signature_bit(&signature, byte_at),
        Tamper::SignatureGarbage => headers[0].1 = "%%% not base64".to_owned(),
        Tamper::SignatureTwice => headers.push(("bi-signature".to_owned(), signature.clone())),
        Tamper::NoDate => {
            headers.pop();
        }
        Tamper::OtherSecret | Tamper::OtherPath => {}
    }
    let envelope = WebhookEnvelope {
        headers: headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect::<Headers>(),
        body: delivered,
        ..WebhookEnvelope::default()
    };

    let now = Utc
        .with_ymd_and_hms(2026, 6, 18, 6, 0, 0)
        .single()
        .unwrap_or_default();
    let options = WebhookOptions {
        freshness_window: fresh.then_some(Duration::from_secs(300)),
        ..WebhookOptions::default()
    };
    let handler = PowensWebhooks::new(options).with_clock(Arc::new(ManualClock::new(now)));
    let verified = handler.verify(&envelope, &config);
    // The inbox needs the signing instant: a date it cannot read is refused, signed or not.
    let readable_date = powens_api::webhooks::signature::parse_signature_date(&date).is_some();
    let well_configured = path.is_ok() && !secret.is_empty() && readable_date;
    if changed {
        if let Ok(key) = &verified {
            disagree!(
                "a delivery tampered with ({tamper:?}) verified ({key:?}): {}",
                lossy(&envelope.body)
            );
        }
        gate(&config, &envelope, tamper);
        return;
    }
    match &verified {
        Ok(_) => {}
        Err(WebhookError::Signature { source, .. }) if well_configured && !fresh => {
            disagree!("a delivery as signed ({tamper:?}) was refused: {source} (date {date:?})")
        }
        Err(_) => return,
    }
    if verified.is_err() {
        return;
    }
    one_read_is_deterministic(&handler, &envelope, &config);
}

/// A signature with one bit of its decoded bytes flipped, re-encoded.
fn flip_signature_bit(signature: &str, at: usize) -> String {
    use base64::Engine as _;
    let engine = base64::engine::general_purpose::STANDARD;
    let mut bytes = engine.decode(signature).unwrap_or_default();
    if let Some(byte) = bytes.get_mut(at % 32) {
        *byte ^= 1 << (at % 8);
    }
    engine.encode(bytes)
}

fn one_read_is_deterministic(
    handler: &PowensWebhooks,
    envelope: &WebhookEnvelope,
    config: &WebhookConfig,
) {
    let first = handler.translate(envelope, config);
    let again = handler.translate_body(&envelope.body, config);
    match (&first, &again) {
        (Ok(a), Ok(b)) if a == b => {}
        (Err(a), Err(b)) if a.to_string() == b.to_string() => {}
        _ => disagree!(
            "two reads of one body differ:\nfirst {first:#?}\nagain {again:#?}\nbody {}",
            lossy(&envelope.body)
        ),
    }
}

/// Counts the records that reach the engine's sink.
struct CountingSink(AtomicUsize);

impl Sink for CountingSink {
    fn accept<'a>(&'a self, batch: &'a [Record]) -> BoxFuture<'a, Result<(), SinkError>> {
        self.0.fetch_add(batch.len(), Ordering::SeqCst);
        Box::pin(async { Ok(()) })
    }
}

/// One engine for every run: the Powens connector (no network is touched by webhooks), an
/// in-memory state store and a counting sink.
fn engine() -> Option<&'static (Arc<Engine>, Arc<CountingSink>)> {
    static ENGINE: OnceLock<Option<(Arc<Engine>, Arc<CountingSink>)>> = OnceLock::new();
    ENGINE
        .get_or_init(|| {
            let config = PowensConfig::from_value(serde_json::json!({
                "clientID": "fuzz",
                "clientSecret": "fuzz-secret",
                "configurationToken": "fuzz-token",
                "domain": "fuzz.biapi.pro",
                "endpoint": "http://127.0.0.1:9/2.0",
                "maxConnectionsPerLink": 1,
            }))
            .ok()?;
            let connector = Arc::new(PowensConnector::new(config).ok()?);
            let sink = Arc::new(CountingSink(AtomicUsize::new(0)));
            let engine = Engine::new(
                connector,
                Arc::new(MemoryStateStore::new()),
                sink.clone(),
                EngineConfig::default(),
            )
            .ok()?;
            Some((Arc::new(engine), sink))
        })
        .as_ref()
}

/// The engine's inbox refuses a tampered delivery, and no record reaches the sink.
fn gate(config: &WebhookConfig, envelope: &WebhookEnvelope, tamper: Tamper) {
    let Some((engine, sink)) = engine() else {
        disagree!("the engine of the webhook target could not be built");
    };
    sink.0.store(0, Ordering::SeqCst);
    let inbox = engine.webhook_inbox();
    let outcome = futures::executor::block_on(inbox.receive(config, envelope.clone()));
    let records = sink.0.load(Ordering::SeqCst);
    if outcome.is_ok() || records != 0 {
        disagree!(
            "the engine's inbox took a delivery tampered with ({tamper:?}): {outcome:?}, {records} records: {}",
            lossy(&envelope.body)
        );
    }
}
