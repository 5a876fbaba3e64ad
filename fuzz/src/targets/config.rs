//! The install payload (`connector_powens::PowensConfig::from_json`).

use arbitrary::Unstructured;
use connector_powens::{parse_duration, ConfigError, PowensConfig};

use super::{mode, pick};
use crate::disagree;
use crate::gen::{self, Json};

/// The install payload's fields, written out here on purpose rather than taken from
/// `connector_powens::config`'s own list: a field the parser forgets still gets generated,
/// and its refusal shows up as a disagreement instead of going unexercised.
const FIELDS: &[&str] = &[
    "clientID",
    "clientSecret",
    "configurationToken",
    "domain",
    "endpoint",
    "maxConnectionsPerLink",
    "pageSize",
    "pollingPeriod",
    "webviewURL",
    "consentExpiryHorizon",
    "timeZone",
    "name",
    "provider",
];

/// `install_config`: the install payload (raw bytes, or a generated object whose secrets
/// are recognisable texts):
///
/// * `PowensConfig::from_json` never panics;
/// * a refusal names only fields of the spec or of the payload, and neither its `Display`
///   nor its `Debug` contains a secret (`clientSecret`, `configurationToken`); an accepted
///   config's `Debug` does not either;
/// * an accepted config is within the documented bounds (`pageSize` 1..=1000,
///   `maxConnectionsPerLink` ≥ 1, positive durations, `https` unless loopback);
/// * `parse_duration` never panics and gives only positive durations.
pub fn install_config(data: &[u8]) {
    let (raw, rest) = mode(data);
    if raw {
        let result = PowensConfig::from_json(rest);
        check(&result, &[], &[]);
        let text = String::from_utf8_lossy(rest);
        for days in [false, true] {
            if let Ok(d) = parse_duration(&text, days) {
                if d.is_zero() {
                    disagree!("parse_duration({text:?}) is zero");
                }
            }
        }
        return;
    }
    let mut u = Unstructured::new(rest);
    let tag = pick(&mut u, 1 << 20);
    let secrets = [format!("SeCrEt{tag:07}cs"), format!("ToKeN{tag:07}ct")];
    let mut j = Json::new(&mut u);
    let mut keys: Vec<&str> = FIELDS.iter().copied().filter(|_| !j.one_in(8)).collect();
    if j.one_in(4) {
        gen::shuffle(&mut j, &mut keys);
    }
    if j.one_in(6) {
        keys.push(["clientId", "extra", "", "webviewUrl"][j.pick(4)]);
    }
    j.raw("{");
    for (i, key) in keys.iter().enumerate() {
        j.key(i == 0, key);
        value(&mut j, key, &secrets);
    }
    j.raw("}");
    let payload = j.out;
    let result = PowensConfig::from_json(payload.as_bytes());
    // A secret is recognisable only when the payload holds it once, as a secret's value.
    let recognisable: Vec<&str> = secrets
        .iter()
        .map(String::as_str)
        .filter(|s| payload.matches(s).count() == 1)
        .collect();
    check(&result, &recognisable, &keys);
}

fn value(j: &mut Json<'_, '_>, key: &str, secrets: &[String; 2]) {
    if j.one_in(12) {
        j.any(2);
        return;
    }
    let s = |j: &mut Json<'_, '_>, pool: &[&str]| {
        let at = j.pick(pool.len() + 1);
        if at < pool.len() {
            j.string(pool[at]);
        } else {
            let t = gen::text(j);
            j.string(&t);
        }
    };
    match key {
        "clientSecret" => {
            let secret = secrets[0].clone();
            j.raw(&format!("\"{secret}\""));
        }
        "configurationToken" => {
            let secret = secrets[1].clone();
            j.raw(&format!("\"{secret}\""));
        }
        "clientID" | "name" => s(j, &["client-1", "", " ", "powens"]),
        "provider" => s(j, &["Powens", "powens", " POWENS ", "Stripe", ""]),
        "domain" => s(
            j,
            &[
                "acme.biapi.pro",
                "acme.biapi.pro.",
                "https://acme.biapi.pro",
                "acme..pro",
                "-acme.pro",
                "ACME.BIAPI.PRO",
                "acme.biapi.pro/2.0",
                "xn--caf-dma.biapi.pro",
                "127.0.0.1",
                "[::1]",
            ],
        ),
        "endpoint" | "webviewURL" => s(
            j,
            &[
                "https://acme.biapi.pro/2.0",
                "https://acme.biapi.pro",
                "http://127.0.0.1:8080/2.0",
                "http://localhost:1/2.0/",
                "http://[::1]/2.0",
                "http://acme.biapi.pro/2.0",
                "https://user:pw@acme.biapi.pro/2.0",
                "https://acme.biapi.pro/2.0?x=1",
                "ftp://acme.biapi.pro",
                "acme.biapi.pro",
                "https://",
                "https://webview.powens.com",
                "http://127.0.0.2/2.0",
                "http://0x7f.1/2.0",
            ],
        ),
        "maxConnectionsPerLink" | "pageSize" => {
            let edges = [
                "1",
                "0",
                "-1",
                "1000",
                "1001",
                "4294967295",
                "4294967296",
                "18446744073709551616",
                "1.0",
                "1e3",
                "\"25\"",
                "25",
            ];
            let at = j.pick(edges.len());
            j.raw(edges[at]);
        }
        "pollingPeriod" | "consentExpiryHorizon" => s(
            j,
            &[
                "30m",
                "1h30m",
                "45s",
                "7d",
                "0s",
                "1500ms",
                "1h 30m",
                "h",
                "18446744073709551615s",
                "99999999999999999999h",
                "-1h",
                "1H",
                "1μs",
            ],
        ),
        "timeZone" => s(
            j,
            &[
                "Europe/Paris",
                "UTC",
                "europe/paris",
                "Etc/GMT+14",
                "America/Argentina/ComodRivadavia",
                "Paris",
            ],
        ),
        _ => j.any(2),
    }
}

fn check(result: &Result<PowensConfig, ConfigError>, secrets: &[&str], keys: &[&str]) {
    match result {
        Ok(config) => {
            let shown = format!("{config:?}");
            if let Some(secret) = secrets.iter().find(|s| shown.contains(**s)) {
                disagree!("a secret ({secret}) is in the config's Debug: {shown}");
            }
            if !(1..=1000).contains(&config.page_size)
                || config.max_connections_per_link == 0
                || config.polling_period.is_zero()
                || config.consent_expiry_horizon.is_zero()
            {
                disagree!("an accepted config is out of bounds: {shown}");
            }
            for url in [&config.endpoint, &config.webview_url] {
                let loopback = matches!(
                    url.host_str(),
                    Some("127.0.0.1" | "localhost" | "[::1]" | "::1")
                ) || url.host_str().is_some_and(|h| h.starts_with("127."));
                if url.scheme() != "https" && !(url.scheme() == "http" && loopback) {
                    disagree!("an accepted config has a plain URL off loopback: {url}");
                }
            }
        }
        Err(error) => {
            let shown = format!("{error} {error:?}");
            if let Some(secret) = secrets.iter().find(|s| shown.contains(**s)) {
                disagree!("a secret ({secret}) is in the config error: {shown}");
            }
            for field in error.fields() {
                if !FIELDS.contains(&field) && !keys.contains(&field) && !keys.is_empty() {
                    disagree!(
                        "the config error names a field the payload lacks: {field:?} ({shown})"
                    );
                }
            }
        }
    }
}
