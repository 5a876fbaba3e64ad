//! `BI-Signature`: sign and verify, the worked example of the Powens docs, tampering, headers.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use chrono::{TimeZone, Utc};
use http::{HeaderMap, HeaderValue};
use powens_api::webhooks::signature::{signing_message, SignatureError};
use powens_api::webhooks::{sign, SignatureHeaders, SignatureVerifier};
use secrecy::SecretString;

const SECRET: &str = "secret-key";
const PATH: &str = "/user-created";
const DATE: &str = "2023-01-01T00:00:00Z";
const BODY: &[u8] = b"test-body";
const EXPECTED: &str = "mUs6KmQU26Ng7eu5vqm64PHWRy5WN+e6p05QwwVODLo=";

fn secret(text: &str) -> SecretString {
    SecretString::from(text)
}

fn headers(signature: &str, date: &str) -> SignatureHeaders {
    SignatureHeaders {
        signature: signature.to_owned(),
        date: date.to_owned(),
    }
}

#[test]
fn worked_example_signs_to_the_documented_value() {
    assert_eq!(sign(&secret(SECRET), PATH, DATE, BODY), EXPECTED);
    assert_eq!(
        signing_message(PATH, DATE, BODY),
        b"POST./user-created.2023-01-01T00:00:00Z.test-body".to_vec()
    );
}

#[test]
fn worked_example_verifies() {
    let verifier = SignatureVerifier::new(secret(SECRET), PATH);
    verifier.verify(&headers(EXPECTED, DATE), BODY).unwrap();
}

#[test]
fn tampered_path_is_rejected() {
    let verifier = SignatureVerifier::new(secret(SECRET), "/user-deleted");
    assert_eq!(
        verifier.verify(&headers(EXPECTED, DATE), BODY),
        Err(SignatureError::Mismatch)
    );
}

#[test]
fn tampered_date_is_rejected() {
    let verifier = SignatureVerifier::new(secret(SECRET), PATH);
    assert_eq!(
        verifier.verify(&headers(EXPECTED, "2023-01-01T00:00:01Z"), BODY),
        Err(SignatureError::Mismatch)
    );
}

#[test]
fn tampered_body_is_rejected() {
    let verifier = SignatureVerifier::new(secret(SECRET), PATH);
    assert_eq!(
        verifier.verify(&headers(EXPECTED, DATE), b"test-body "),
        Err(SignatureError::Mismatch)
    );
}

#[test]
fn wrong_secret_is_rejected() {
    let verifier = SignatureVerifier::new(secret("secret-kez"), PATH);
    assert_eq!(
        verifier.verify(&headers(EXPECTED, DATE), BODY),
        Err(SignatureError::Mismatch)
    );
}

#[test]
fn signature_that_is_not_base64_of_32_bytes_is_malformed() {
    let verifier = SignatureVerifier::new(secret(SECRET), PATH);
    for bad in ["not base64!!", "c2hvcnQ=", ""] {
        assert_eq!(
            verifier.verify(&headers(bad, DATE), BODY),
            Err(SignatureError::MalformedSignature),
            "{bad:?}"
        );
    }
}

#[test]
fn header_map_lookup_is_case_insensitive() {
    let mut map = HeaderMap::new();
    map.insert("bi-signature", HeaderValue::from_static(EXPECTED));
    map.insert("Bi-Signature-Date", HeaderValue::from_static(DATE));
    let parsed = SignatureHeaders::from_header_map(&map).unwrap();
    assert_eq!(parsed, headers(EXPECTED, DATE));
    SignatureVerifier::new(secret(SECRET), PATH)
        .verify(&parsed, BODY)
        .unwrap();
}

#[test]
fn missing_or_repeated_headers_are_typed_errors() {
    let mut only_signature = HeaderMap::new();
    only_signature.insert("BI-Signature", HeaderValue::from_static(EXPECTED));
    assert_eq!(
        SignatureHeaders::from_header_map(&only_signature),
        Err(SignatureError::MissingHeader("BI-Signature-Date"))
    );

    let mut repeated = HeaderMap::new();
    repeated.append("BI-Signature", HeaderValue::from_static(EXPECTED));
    repeated.append("bi-signature", HeaderValue::from_static(EXPECTED));
    repeated.insert("BI-Signature-Date", HeaderValue::from_static(DATE));
    assert_eq!(
        SignatureHeaders::from_header_map(&repeated),
        Err(SignatureError::RepeatedHeader("BI-Signature"))
    );
}

#[test]
fn header_pairs_lookup_is_case_insensitive_and_strict() {
    let ok = SignatureHeaders::from_pairs([
        ("content-type", "application/json"),
        ("BI-SIGNATURE", EXPECTED),
        ("bi-signature-date", DATE),
    ])
    .unwrap();
    assert_eq!(ok, headers(EXPECTED, DATE));
    assert_eq!(
        SignatureHeaders::from_pairs([
            ("bi-signature-date", DATE),
            ("Bi-Signature-Date", DATE),
            ("BI-Signature", EXPECTED)
        ]),
        Err(SignatureError::RepeatedHeader("BI-Signature-Date"))
    );
    assert_eq!(
        SignatureHeaders::from_pairs([("bi-signature-date", DATE)]),
        Err(SignatureError::MissingHeader("BI-Signature"))
    );
}

#[test]
fn freshness_window_accepts_close_dates_and_rejects_stale_ones() {
    let verifier =
        SignatureVerifier::new(secret(SECRET), PATH).with_freshness(Duration::from_secs(300));
    let signed = Utc.with_ymd_and_hms(2023, 1, 1, 0, 0, 0).unwrap();
    verifier
        .verify_at(
            &headers(EXPECTED, DATE),
            BODY,
            signed + chrono::Duration::seconds(299),
        )
        .unwrap();
    verifier
        .verify_at(
            &headers(EXPECTED, DATE),
            BODY,
            signed - chrono::Duration::seconds(300),
        )
        .unwrap();
    let late = verifier
        .verify_at(
            &headers(EXPECTED, DATE),
            BODY,
            signed + chrono::Duration::seconds(301),
        )
        .unwrap_err();
    assert!(matches!(late, SignatureError::Stale { .. }), "{late:?}");
    // Without a window, the date is not checked.
    SignatureVerifier::new(secret(SECRET), PATH)
        .verify_at(
            &headers(EXPECTED, DATE),
            BODY,
            signed + chrono::Duration::days(365),
        )
        .unwrap();
}

#[test]
fn powens_microsecond_dates_sign_and_verify() {
    let date = "2022-06-27T11:08:52.577831Z";
    let body = br#"{"id": 1, "state": "done"}"#;
    let signature = sign(&secret(SECRET), "/v1/webhook-listener", date, body);
    let verifier = SignatureVerifier::new(secret(SECRET), "/v1/webhook-listener")
        .with_freshness(Duration::from_secs(1));
    let now = Utc.with_ymd_and_hms(2022, 6, 27, 11, 8, 53).unwrap();
    verifier
        .verify_at(&headers(&signature, date), body, now)
        .unwrap();
}

#[test]
fn verifier_debug_hides_the_secret() {
    let verifier = SignatureVerifier::new(secret("super-secret-hmac-key"), PATH);
    let debug = format!("{verifier:?}");
    assert!(!debug.contains("super-secret-hmac-key"), "{debug}");
    assert!(debug.contains("/user-created"));
}
