//! The install payload: defaults, one test per invalid field, unknown fields, all problems
//! at once, and secrets never printed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use connector_powens::{parse_duration, ConfigError, PowensConfig};
use serde_json::{json, Value};

const SECRET: &str = "very-secret-client-secret";
const TOKEN: &str = "very-secret-configuration-token";

fn valid() -> Value {
    json!({
        "clientID": "1234",
        "clientSecret": SECRET,
        "configurationToken": TOKEN,
        "domain": "acme.biapi.pro",
        "endpoint": "https://acme.biapi.pro/2.0",
        "maxConnectionsPerLink": 3
    })
}

fn with(field: &str, value: Value) -> Value {
    let mut payload = valid();
    payload[field] = value;
    payload
}

fn without(field: &str) -> Value {
    let mut payload = valid();
    payload.as_object_mut().unwrap().remove(field);
    payload
}

/// The single problem of a payload, asserting it names `field`.
fn only_problem(payload: Value, field: &str) -> String {
    let error = PowensConfig::from_value(payload).unwrap_err();
    assert_eq!(error.fields(), vec![field], "{error}");
    let text = error.to_string();
    assert!(!text.contains(SECRET) && !text.contains(TOKEN), "{text}");
    error.problems()[0].message.clone()
}

#[test]
fn minimal_payload_gets_the_documented_defaults() {
    let config = PowensConfig::from_value(valid()).unwrap();
    assert_eq!(config.page_size, 25);
    assert_eq!(config.polling_period, Duration::from_secs(1800));
    assert_eq!(config.webview_url.as_str(), "https://webview.powens.com/");
    assert_eq!(
        config.consent_expiry_horizon,
        Duration::from_secs(7 * 86_400)
    );
    assert_eq!(config.time_zone, chrono_tz::Europe::Paris);
    assert_eq!(config.max_connections_per_link, 3);
    assert_eq!(config.name, "powens");
}

#[test]
fn every_optional_field_is_read() {
    let mut payload = valid();
    let extra = json!({
        "pageSize": 1000, "pollingPeriod": "1h30m", "webviewURL": "http://127.0.0.1:9999",
        "consentExpiryHorizon": "2d", "timeZone": "Europe/London", "name": "my-bank"
    });
    payload
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    let config = PowensConfig::from_value(payload).unwrap();
    assert_eq!(config.page_size, 1000);
    assert_eq!(config.polling_period, Duration::from_secs(5400));
    assert_eq!(config.webview_url.as_str(), "http://127.0.0.1:9999/");
    assert_eq!(
        config.consent_expiry_horizon,
        Duration::from_secs(2 * 86_400)
    );
    assert_eq!(config.time_zone, chrono_tz::Europe::London);
    assert_eq!(config.name, "my-bank");
}

#[test]
fn debug_never_shows_the_secrets() {
    let config = PowensConfig::from_value(valid()).unwrap();
    let debug = format!("{config:?}");
    assert!(!debug.contains(SECRET) && !debug.contains(TOKEN), "{debug}");
    assert!(debug.contains("[REDACTED]"));
}

#[test]
fn missing_client_id_is_reported_by_name() {
    let message = only_problem(without("clientID"), "clientID");
    assert!(message.contains("required"), "{message}");
}

#[test]
fn empty_client_id_is_reported() {
    only_problem(with("clientID", json!("  ")), "clientID");
}

#[test]
fn missing_client_secret_is_reported_by_name() {
    only_problem(without("clientSecret"), "clientSecret");
}

#[test]
fn client_secret_of_the_wrong_type_is_not_echoed() {
    let message = only_problem(with("clientSecret", json!(987_654_321)), "clientSecret");
    assert!(message.contains("found a number"), "{message}");
    assert!(!message.contains("987654321"), "{message}");
}

#[test]
fn missing_configuration_token_is_reported_by_name() {
    only_problem(without("configurationToken"), "configurationToken");
}

#[test]
fn missing_domain_is_reported_by_name() {
    only_problem(without("domain"), "domain");
}

#[test]
fn domain_with_a_scheme_is_refused() {
    let message = only_problem(with("domain", json!("https://acme.biapi.pro")), "domain");
    assert!(message.contains("host name"), "{message}");
}

#[test]
fn missing_endpoint_is_reported_by_name() {
    only_problem(without("endpoint"), "endpoint");
}

#[test]
fn relative_endpoint_is_refused() {
    only_problem(with("endpoint", json!("acme.biapi.pro/2.0")), "endpoint");
}

#[test]
fn plain_http_endpoint_is_refused_unless_loopback() {
    let message = only_problem(
        with("endpoint", json!("http://acme.biapi.pro/2.0")),
        "endpoint",
    );
    assert!(message.contains("https"), "{message}");
    PowensConfig::from_value(with("endpoint", json!("http://127.0.0.1:8080/2.0"))).unwrap();
}

#[test]
fn missing_max_connections_per_link_is_reported_by_name() {
    only_problem(without("maxConnectionsPerLink"), "maxConnectionsPerLink");
}

#[test]
fn zero_max_connections_per_link_is_refused() {
    let message = only_problem(
        with("maxConnectionsPerLink", json!(0)),
        "maxConnectionsPerLink",
    );
    assert!(message.contains("from 1 to"), "{message}");
}

#[test]
fn max_connections_per_link_as_a_string_is_refused() {
    only_problem(
        with("maxConnectionsPerLink", json!("3")),
        "maxConnectionsPerLink",
    );
}

#[test]
fn page_size_above_1000_is_refused() {
    let message = only_problem(with("pageSize", json!(1001)), "pageSize");
    assert!(
        message.contains("from 1 to 1000") && message.contains("1001"),
        "{message}"
    );
}

#[test]
fn page_size_zero_is_refused() {
    only_problem(with("pageSize", json!(0)), "pageSize");
}

#[test]
fn fractional_page_size_is_refused() {
    only_problem(with("pageSize", json!(2.5)), "pageSize");
}

#[test]
fn polling_period_without_unit_is_refused() {
    let message = only_problem(with("pollingPeriod", json!("30")), "pollingPeriod");
    assert!(message.contains("30m"), "{message}");
}

#[test]
fn polling_period_of_zero_is_refused() {
    only_problem(with("pollingPeriod", json!("0s")), "pollingPeriod");
}

#[test]
fn polling_period_in_days_is_refused() {
    only_problem(with("pollingPeriod", json!("1d")), "pollingPeriod");
}

#[test]
fn webview_url_with_a_query_is_refused() {
    only_problem(
        with("webviewURL", json!("https://webview.powens.com/?x=1")),
        "webviewURL",
    );
}

#[test]
fn consent_expiry_horizon_of_the_wrong_type_is_refused() {
    only_problem(
        with("consentExpiryHorizon", json!(7)),
        "consentExpiryHorizon",
    );
}

#[test]
fn unknown_time_zone_is_refused() {
    let message = only_problem(with("timeZone", json!("Mars/Olympus")), "timeZone");
    assert!(message.contains("IANA"), "{message}");
}

#[test]
fn unknown_field_is_refused_by_name() {
    let message = only_problem(with("clientId", json!("typo")), "clientId");
    assert!(message.contains("unknown field"), "{message}");
}

#[test]
fn every_problem_is_reported_at_once() {
    let payload = json!({
        "clientSecret": 1, "domain": "", "endpoint": "ftp://x", "pageSize": 0,
        "pollingPeriod": "soon", "extra": true
    });
    let error = PowensConfig::from_value(payload).unwrap_err();
    assert_eq!(
        error.fields(),
        vec![
            "clientID",
            "clientSecret",
            "configurationToken",
            "domain",
            "endpoint",
            "maxConnectionsPerLink",
            "pageSize",
            "pollingPeriod",
            "extra"
        ]
    );
}

#[test]
fn a_payload_that_is_not_an_object_is_refused() {
    assert!(matches!(
        PowensConfig::from_json(b"[1,2]"),
        Err(ConfigError::NotAnObject(_))
    ));
    assert!(matches!(
        PowensConfig::from_json(b"{not json"),
        Err(ConfigError::NotAnObject(_))
    ));
}

#[test]
fn durations_read_like_go_durations() {
    assert_eq!(parse_duration("45s", false), Ok(Duration::from_secs(45)));
    assert_eq!(parse_duration("1h", false), Ok(Duration::from_secs(3600)));
    assert_eq!(
        parse_duration("1h30m", false),
        Ok(Duration::from_secs(5400))
    );
    assert_eq!(
        parse_duration("250ms", false),
        Ok(Duration::from_millis(250))
    );
    assert_eq!(parse_duration("2d", true), Ok(Duration::from_secs(172_800)));
    assert!(parse_duration("m", false).is_err());
    assert!(parse_duration("1x", false).is_err());
    assert!(parse_duration("", false).is_err());
}

#[test]
fn the_connector_debug_never_shows_the_secrets_either() {
    let config = PowensConfig::from_value(valid()).unwrap();
    let connector = connector_powens::PowensConnector::new(config).unwrap();
    let debug = format!("{connector:?}");
    assert!(!debug.contains(SECRET) && !debug.contains(TOKEN), "{debug}");
}

#[test]
fn formance_payload_with_provider_powens_is_accepted_in_any_case() {
    for provider in ["Powens", "powens", "POWENS", " Powens "] {
        let config = PowensConfig::from_value(with("provider", json!(provider)));
        assert!(config.is_ok(), "{provider:?}: {:?}", config.err());
    }
}

#[test]
fn formance_payload_with_another_provider_names_the_field() {
    let message = only_problem(with("provider", json!("Stripe")), "provider");
    assert_eq!(
        message,
        "expected `Powens` (this connector), found \"Stripe\""
    );
    let message = only_problem(with("provider", json!(7)), "provider");
    assert_eq!(message, "expected a string, found a number 7");
}

#[test]
fn config_errors_never_echo_credentials_embedded_in_a_url() {
    for (field, url, shown) in [
        (
            "endpoint",
            "https://admin:hunter2@acme.biapi.pro/2.0",
            "https://***@acme.biapi.pro/2.0",
        ),
        (
            "endpoint",
            "http://admin:hunter2@acme.biapi.pro/2.0?token=hunter2",
            "http://***@acme.biapi.pro/2.0?***",
        ),
        (
            "webviewURL",
            "https://webview.powens.com/?client_secret=hunter2#hunter2",
            "https://webview.powens.com/?***#***",
        ),
        ("webviewURL", "admin:hunter2@no-scheme", "***@no-scheme"),
    ] {
        let message = only_problem(with(field, json!(url)), field);
        assert!(!message.contains("hunter2"), "{message}");
        assert!(message.ends_with(&format!("found {shown:?}")), "{message}");
    }
    let message = only_problem(
        with("endpoint", json!("https://admin@acme.biapi.pro/2.0")),
        "endpoint",
    );
    assert!(
        message.contains("without user name or password"),
        "{message}"
    );
}

#[test]
fn the_builder_sets_the_rate_limit_of_the_client_it_makes() {
    use connector_powens::{PowensConnector, RateLimit};
    let config = || PowensConfig::from_value(valid()).unwrap();
    let seven = RateLimit {
        max_requests: 7,
        per: Duration::from_secs(1),
    };
    let limited = PowensConnector::builder(config())
        .rate_limit(Some(seven))
        .build()
        .unwrap();
    let debug = format!("{:?}", limited.client());
    assert!(
        debug.contains("rate_limit: Some(RateLimit { max_requests: 7, per: 1s })"),
        "{debug}"
    );
    let unlimited = PowensConnector::builder(config())
        .rate_limit(None)
        .build()
        .unwrap();
    let debug = format!("{:?}", unlimited.client());
    assert!(debug.contains("rate_limit: None"), "{debug}");
}

#[test]
fn a_rate_limit_next_to_a_client_of_ones_own_is_refused_not_ignored() {
    use connector_powens::{PowensClient, PowensConnector};
    let config = PowensConfig::from_value(valid()).unwrap();
    let client = PowensClient::builder(config.endpoint.as_str())
        .build()
        .unwrap();
    let error = PowensConnector::builder(config)
        .client(client)
        .rate_limit(None)
        .build()
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "invalid config: a rate limit or an observer configures the client the builder makes: \
         set them on the client given to `client()` instead"
    );
}
