#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The contract's types: errors and their retry classes, the task tree, open banking and
//! webhooks, in their JSON wire form.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use connector_core::contract::{FetchPage, FetchRequest, FromPayload, TaskTree};
use connector_core::model::*;
use connector_core::money::{Amount, Asset};
use connector_core::openbanking::*;
use connector_core::webhook::*;
use connector_core::{ConnectorError, RetryClass, UpstreamClass};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

fn pretty<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string_pretty(value).unwrap()
}

fn at(h: u32) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 5, 6, h, 0, 0).unwrap()
}

#[test]
fn http_statuses_classify_as_in_the_contract_error_table() {
    let retry_after = Some(Duration::from_secs(7));
    let table: Vec<(u16, &str, RetryClass)> = vec![
        (400, "UpstreamClient", RetryClass::Permanent),
        (401, "UpstreamClient", RetryClass::Permanent),
        (404, "UpstreamClient", RetryClass::Permanent),
        (408, "UpstreamTimeout", RetryClass::Retryable),
        (421, "UpstreamTimeout", RetryClass::Retryable),
        (
            423,
            "UpstreamRetryAfter",
            RetryClass::RetryAfter(retry_after),
        ),
        (
            425,
            "UpstreamRetryAfter",
            RetryClass::RetryAfter(retry_after),
        ),
        (
            429,
            "UpstreamRateLimited",
            RetryClass::RetryAfter(retry_after),
        ),
        (500, "UpstreamServer", RetryClass::Retryable),
        (503, "UpstreamServer", RetryClass::Retryable),
        (302, "Other", RetryClass::Retryable),
    ];
    for (status, variant, class) in table {
        let error = ConnectorError::from_http_status(status, "boom", retry_after);
        let debug = format!("{error:?}");
        assert!(debug.starts_with(variant), "{status}: {debug}");
        assert_eq!(error.retry_class(), class, "{status}");
        assert_eq!(
            error.is_retryable(),
            class != RetryClass::Permanent,
            "{status}"
        );
    }
}

/// `UpstreamClass → (retry class, retryable later, retried within the run)`: the engine
/// retries in the run only what the provider's client could not retry itself.
#[test]
fn upstream_errors_are_retried_in_the_run_only_when_the_client_could_not() {
    let wait = Some(Duration::from_secs(30));
    let table = [
        (
            UpstreamClass::Permanent,
            RetryClass::Permanent,
            false,
            false,
        ),
        (UpstreamClass::Transient, RetryClass::NextRun, true, false),
        (UpstreamClass::RateLimited, RetryClass::NextRun, true, false),
        (
            UpstreamClass::Interrupted,
            RetryClass::Retryable,
            true,
            true,
        ),
    ];
    for (class, retry_class, retryable, in_run) in table {
        let error = ConnectorError::Upstream {
            status: Some(503),
            class,
            retry_after: wait,
            source: "GET /accounts: HTTP 503".into(),
        };
        assert_eq!(error.retry_class(), retry_class, "{class:?}");
        assert_eq!(error.is_retryable(), retryable, "{class:?}");
        assert_eq!(error.is_retried_in_run(), in_run, "{class:?}");
        assert_eq!(
            error.to_string(),
            "provider call failed: GET /accounts: HTTP 503"
        );
    }
}

#[test]
fn contract_errors_are_retried_or_not_as_formance_does() {
    let permanent = [
        ConnectorError::InvalidConfig {
            message: "x".into(),
        },
        ConnectorError::InvalidRequest {
            message: "x".into(),
        },
        ConnectorError::Validation {
            field: "f".into(),
            message: "x".into(),
        },
        ConnectorError::WebhookVerification {
            message: "x".into(),
        },
        ConnectorError::not_supported(Some(Capability::CreateTransfer), "create_transfer"),
        ConnectorError::CurrencyNotSupported {
            currency: "XAU".into(),
        },
    ];
    for e in &permanent {
        assert!(!e.is_retryable(), "{e}");
    }
    let retryable = [
        ConnectorError::NotYetInstalled,
        ConnectorError::other("socket closed", std::io::Error::other("reset")),
    ];
    for e in &retryable {
        assert!(e.is_retryable(), "{e}");
    }
}

#[test]
fn error_messages_say_what_failed() {
    let messages = [
        ConnectorError::from_http_status(429, "", Some(Duration::from_secs(30))).to_string(),
        ConnectorError::from_http_status(503, "maintenance", None).to_string(),
        ConnectorError::not_supported(Some(Capability::CreatePayout), "create_payout").to_string(),
        ConnectorError::other(
            "reading the page",
            std::io::Error::other("connection reset"),
        )
        .to_string(),
    ];
    insta::assert_snapshot!(messages.join("\n"));
    let with_source = ConnectorError::other("reading the page", std::io::Error::other("reset"));
    assert_eq!(
        std::error::Error::source(&with_source).unwrap().to_string(),
        "reset"
    );
}

#[test]
fn task_tree_of_the_spec_wire_form() {
    let tree = TaskTree::polling_open_banking();
    let names: Vec<_> = tree.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "fetch_accounts",
            "fetch_balances",
            "fetch_payments",
            "fetch_external_accounts",
            "create_webhooks"
        ]
    );
    insta::assert_snapshot!(pretty(&tree));
}

#[test]
fn fetch_request_decodes_typed_state_and_resets_on_null() {
    #[derive(Debug, Default, PartialEq, serde::Deserialize)]
    struct Cursor {
        offset: u64,
    }
    let mut request = FetchRequest {
        psu: None,
        from_payload: None,
        state: None,
        page_size: 10.try_into().unwrap(),
    };
    assert_eq!(request.state::<Cursor>().unwrap(), Cursor::default());
    request.state = Some(json!(null));
    assert_eq!(request.state::<Cursor>().unwrap(), Cursor::default());
    request.state = Some(json!({"offset": 40}));
    assert_eq!(request.state::<Cursor>().unwrap(), Cursor { offset: 40 });
    request.state = Some(json!({"offset": "x"}));
    let err = request.state::<Cursor>().unwrap_err();
    assert!(!err.is_retryable());
    assert!(
        err.to_string().contains("stored task state is unreadable"),
        "{err}"
    );
    assert!(request.parent_account().is_err());
    assert!(request.require_psu().is_err());
    let page = FetchPage::new(vec![1, 2], &json!({"offset": 42}), true).unwrap();
    assert_eq!(page.new_state, json!({"offset": 42}));
}

#[test]
fn from_payload_of_an_account_round_trips() {
    let account = Account {
        reference: "7".into(),
        created_at: at(1),
        account_type: AccountType::Internal,
        name: None,
        default_asset: Some(Asset::new("JPY", 0).unwrap()),
        psu_id: None,
        open_banking_connection_id: None,
        metadata: Metadata::new(),
        raw: serde_json::value::to_raw_value(&json!({"balance": 1e3}))
            .unwrap()
            .into(),
    };
    let payload = FromPayload::account(&account).unwrap();
    assert_eq!(payload.id, "7");
    let request = FetchRequest {
        psu: None,
        from_payload: Some(payload),
        state: None,
        page_size: 1.try_into().unwrap(),
    };
    assert_eq!(*request.parent_account().unwrap(), account);
    // The JSON form alone (a payload that crossed a process boundary) decodes to the same.
    let mut json_only = request.from_payload.clone().unwrap();
    json_only.account = None;
    let json: FromPayload =
        serde_json::from_str(&serde_json::to_string(&json_only).unwrap()).unwrap();
    assert_eq!(json.account, None);
    let request = FetchRequest {
        from_payload: Some(json),
        ..request
    };
    assert_eq!(*request.parent_account().unwrap(), account);
}

fn token() -> Token {
    Token::new(SecretString::from("tok-very-secret"), Some(at(23)))
}

#[test]
fn token_debug_never_shows_the_secret() {
    let debug = format!("{:?}", token());
    assert_eq!(
        debug,
        "Token { value: \"[REDACTED]\", expires_at: Some(2024-05-06T23:00:00Z) }"
    );
    let user = ForwardedUser {
        psu_id: "psu-1".into(),
        connector_id: "powens-1".into(),
        access_token: Some(token()),
        psp_user_id: Some("31".into()),
        metadata: BTreeMap::new(),
    };
    assert!(!format!("{user:?}").contains("tok-very-secret"));
    assert!(!format!("{user:#?}").contains("tok-very-secret"));
}

#[test]
fn user_link_debug_hides_the_temporary_code() {
    let link = UserLink {
        link: "https://webview.example.test/connect?code=tmp-code-123&state=abc".into(),
        temporary_link_token: Some(Token::new(SecretString::from("tmp-code-123"), None)),
    };
    let debug = format!("{link:?}");
    assert!(!debug.contains("tmp-code-123"), "{debug}");
    assert!(
        debug.contains("https://webview.example.test/connect?[REDACTED]"),
        "{debug}"
    );
}

#[test]
fn token_serialises_explicitly_for_storage_and_reads_back() {
    let json = serde_json::to_string(&token()).unwrap();
    assert_eq!(
        json,
        r#"{"token":"tok-very-secret","expiresAt":"2024-05-06T23:00:00Z"}"#
    );
    let back: Token = serde_json::from_str(&json).unwrap();
    assert_eq!(back, token());
    assert_eq!(back.secret().expose_secret(), "tok-very-secret");
    assert!(back.is_expired_at(at(23)));
    assert!(!back.is_expired_at(at(22)));
    let no_expiry: Token = serde_json::from_str(r#"{"token":"t"}"#).unwrap();
    assert!(!no_expiry.is_expired_at(at(23)));
}

#[test]
fn open_banking_types_wire_form() {
    let psu = PaymentServiceUser {
        id: "psu-1".into(),
        name: "Ada Lovelace".into(),
        created_at: at(8),
        contact_details: Some(ContactDetails {
            email: Some("ada@example.test".into()),
            phone_number: None,
            locale: Some("fr-FR".into()),
        }),
        address: Some(Address {
            street_name: Some("Rue de Rivoli".into()),
            street_number: Some("1".into()),
            city: Some("Paris".into()),
            region: None,
            postal_code: Some("75001".into()),
            country: Some("FR".into()),
        }),
        metadata: BTreeMap::from([("tier".into(), "gold".into())]),
    };
    let user = ForwardedUser {
        psu_id: "psu-1".into(),
        connector_id: "powens-1".into(),
        access_token: None,
        psp_user_id: Some("31".into()),
        metadata: BTreeMap::from([("expires_in".into(), "0".into())]),
    };
    let attempt = LinkAttempt {
        id: "att-1".into(),
        psu_id: "psu-1".into(),
        connector_id: "powens-1".into(),
        created_at: at(9),
        status: AttemptStatus::Pending,
        state: CallbackState {
            randomized: "00ff".into(),
            attempt_id: "att-1".into(),
        },
        client_redirect_url: Some("https://app.example.test/done".into()),
        temporary_token: None,
        error: None,
    };
    let connection = Connection {
        connection_id: "77".into(),
        connector_id: "powens-1".into(),
        created_at: at(9),
        data_updated_at: Some(at(10)),
        status: ConnectionStatus::Error,
        updated_at: at(11),
        access_token: None,
        error: Some("SCARequired".into()),
        metadata: BTreeMap::new(),
    };
    let outcomes = vec![
        LinkOutcome::Success {
            connections: vec![PspConnection {
                connection_id: "77".into(),
                created_at: at(9),
                access_token: None,
                metadata: BTreeMap::new(),
            }],
        },
        LinkOutcome::Error {
            error: "access_denied".into(),
            description: Some("user cancelled".into()),
        },
    ];
    insta::assert_snapshot!(pretty(&json!({
        "psu": psu,
        "forwardedUser": user,
        "attempt": attempt,
        "connection": connection,
        "outcomes": outcomes,
    })));
    let back: PaymentServiceUser =
        serde_json::from_value(serde_json::to_value(&psu).unwrap()).unwrap();
    assert_eq!(back, psu);
}

#[test]
fn callback_state_round_trips_through_its_url_safe_form() {
    let state = CallbackState {
        randomized: "2f0c7e".into(),
        attempt_id: "att-9".into(),
    };
    let encoded = state.encode();
    assert_eq!(
        encoded,
        "eyJyYW5kb21pemVkIjoiMmYwYzdlIiwiYXR0ZW1wdElEIjoiYXR0LTkifQ"
    );
    assert!(encoded
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    assert_eq!(CallbackState::decode(&encoded).unwrap(), state);
}

#[test]
fn callback_state_nonces_are_fresh_and_checked_on_both_fields() {
    let a = CallbackState::new("att-1");
    let b = CallbackState::new("att-1");
    assert_eq!(a.randomized.len(), 32);
    assert_ne!(a.randomized, b.randomized, "a fresh nonce per attempt");
    assert!(a.matches(&CallbackState::decode(&a.encode()).unwrap()));
    assert!(!a.matches(&b), "same attempt, other nonce");
    let other_attempt = CallbackState {
        attempt_id: "att-2".into(),
        ..a.clone()
    };
    assert!(!a.matches(&other_attempt), "same nonce, other attempt");
}

#[test]
fn callback_state_decoding_rejects_garbage_with_a_reason() {
    assert_eq!(
        CallbackState::decode("not base64 !"),
        Err(CallbackStateError::NotBase64)
    );
    assert_eq!(
        CallbackState::decode("e30"),
        Err(CallbackStateError::NotJson)
    ); // {}
    assert!(matches!(
        CallbackState::decode(&"A".repeat(5000)),
        Err(CallbackStateError::TooLong { .. })
    ));
}

#[test]
fn headers_are_case_insensitive_and_keep_every_value() {
    let headers: Headers = [
        ("BI-Signature", "sig1"),
        ("bi-signature-date", "Mon, 06 May 2024 10:00:00 GMT"),
        ("Accept", "a"),
        ("ACCEPT", "b"),
    ]
    .into_iter()
    .collect();
    assert_eq!(headers.get("bi-signature"), Some("sig1"));
    assert_eq!(
        headers.get_exactly_one("Bi-Signature-Date").unwrap(),
        "Mon, 06 May 2024 10:00:00 GMT"
    );
    assert_eq!(headers.get_all("accept"), ["a", "b"]);
    let err = headers.get_exactly_one("Accept").unwrap_err();
    assert_eq!(
        err.to_string(),
        "header accept must appear exactly once, found 2 values"
    );
    assert_eq!(headers.get_exactly_one("X-Missing").unwrap_err().count, 0);
    let json = serde_json::to_string(&headers).unwrap();
    assert_eq!(
        json,
        r#"{"accept":["a","b"],"bi-signature":["sig1"],"bi-signature-date":["Mon, 06 May 2024 10:00:00 GMT"]}"#
    );
    let back: Headers = serde_json::from_str(r#"{"Accept":["a"],"ACCEPT":["b"]}"#).unwrap();
    let mut merged = back.get_all("accept").to_vec();
    merged.sort();
    assert_eq!(merged, ["a", "b"]);
}

#[test]
fn webhook_debug_output_hides_credential_headers() {
    // Powens' default webhook authentication sends the user's permanent token.
    let envelope = WebhookEnvelope {
        headers: [
            ("Authorization", "Bearer user-token-very-secret"),
            ("Cookie", "session=cookie-very-secret"),
            ("Proxy-Authorization", "Basic proxy-very-secret"),
            ("BI-Signature", "c2ln"),
        ]
        .into_iter()
        .collect(),
        ..WebhookEnvelope::default()
    };
    let debug = format!("{envelope:?}");
    for secret in ["user-token", "cookie-very", "proxy-very"] {
        assert!(!debug.contains(secret), "{debug}");
    }
    assert!(
        debug.contains(r#""authorization": "[REDACTED]""#),
        "{debug}"
    );
    assert!(debug.contains(r#""bi-signature": ["c2ln"]"#), "{debug}");
    // The wire form is the data the connector needs: it keeps every value.
    let json = serde_json::to_string(&envelope.headers).unwrap();
    assert!(json.contains("Bearer user-token-very-secret"), "{json}");
}

#[test]
fn webhook_envelope_keeps_the_raw_body_byte_for_byte() {
    let body = br#"{"user":{"id":31}, "value": 1.10}"#.to_vec();
    let envelope = WebhookEnvelope {
        headers: [("BI-Signature", "c2ln")].into_iter().collect(),
        query_values: BTreeMap::from([("id".into(), vec!["1".into()])]),
        body: body.clone(),
    };
    let json = pretty(&envelope);
    let back: WebhookEnvelope = serde_json::from_str(&json).unwrap();
    assert_eq!(back.body, body);
    insta::assert_snapshot!(json);
}

#[test]
fn webhook_config_debug_hides_metadata_values() {
    let config = WebhookConfig {
        name: "CONNECTION_SYNCED".into(),
        url_path: "/connection-synced".into(),
        full_url: Some(
            "https://hooks.example.test/v3/connectors/webhooks/p1/connection-synced".into(),
        ),
        metadata: BTreeMap::from([("secret".into(), "whsec-123".into())]),
    };
    let debug = format!("{config:?}");
    assert!(!debug.contains("whsec-123"), "{debug}");
    assert!(debug.contains("secret"), "{debug}");
    insta::assert_snapshot!(pretty(&config));
}

fn sample_account() -> Account {
    Account {
        reference: "1042".into(),
        created_at: at(8),
        account_type: AccountType::Internal,
        name: Some("Compte".into()),
        default_asset: Some(Asset::new("EUR", 2).unwrap()),
        psu_id: None,
        open_banking_connection_id: None,
        metadata: Metadata::new(),
        raw: serde_json::value::to_raw_value(&json!({"id": 1042}))
            .unwrap()
            .into(),
    }
}

fn sample_payment() -> Payment {
    Payment {
        reference: "9001".into(),
        parent_reference: None,
        created_at: at(0),
        payment_type: PaymentType::PayIn,
        amount: Amount::from_minor(250),
        asset: Asset::new("EUR", 2).unwrap(),
        scheme: PaymentScheme::Other,
        status: PaymentStatus::Succeeded,
        source_account_reference: None,
        destination_account_reference: Some("1042".into()),
        psu_id: None,
        open_banking_connection_id: None,
        metadata: Metadata::new(),
        raw: serde_json::value::to_raw_value(&json!({"value": 2.50}))
            .unwrap()
            .into(),
    }
}

fn every_webhook_response() -> Vec<WebhookResponse> {
    vec![
        WebhookResponse::Account(sample_account()),
        WebhookResponse::ExternalAccount(Account {
            account_type: AccountType::External,
            ..sample_account()
        }),
        WebhookResponse::Payment(sample_payment()),
        WebhookResponse::PaymentToDelete(PaymentToDelete {
            reference: "9000".into(),
        }),
        WebhookResponse::PaymentToCancel(PaymentToCancel {
            reference: "8999".into(),
        }),
        WebhookResponse::Balance(Balance {
            account_reference: "1042".into(),
            created_at: at(12),
            amount: Amount::from_minor(-1999),
            available_amount: None,
            asset: Asset::new("EUR", 2).unwrap(),
            psu_id: None,
            open_banking_connection_id: None,
        }),
        WebhookResponse::OpenBankingAccount(OpenBankingAccount {
            account: sample_account(),
            open_banking_user_id: Some("31".into()),
            open_banking_connection_id: Some("77".into()),
        }),
        WebhookResponse::OpenBankingPayment(OpenBankingPayment {
            payment: sample_payment(),
            open_banking_user_id: Some("31".into()),
            open_banking_connection_id: Some("77".into()),
        }),
        WebhookResponse::UserLinkSessionFinished(UserLinkSessionFinished {
            attempt_id: "att-1".into(),
            status: AttemptStatus::Completed,
            error: None,
        }),
        WebhookResponse::DataReadyToFetch(DataReadyToFetch {
            psu_id: None,
            connection_id: Some("77".into()),
            from_payload: json!(null),
            data_to_fetch: vec![DataToFetch::Payments],
        }),
        WebhookResponse::UserDisconnected(UserDisconnected {
            psu_id: None,
            psp_user_id: "31".into(),
        }),
        WebhookResponse::UserConnectionPendingDisconnect(UserConnectionPendingDisconnect {
            psu_id: None,
            connection_id: "77".into(),
            at: at(20),
            reason: None,
        }),
        WebhookResponse::UserConnectionDisconnected(UserConnectionDisconnected {
            psu_id: None,
            psp_user_id: Some("31".into()),
            connection_id: "77".into(),
            at: at(21),
            error_type: ConnectionDisconnectedErrorType::TemporaryError,
            reason: Some("rateLimiting".into()),
        }),
        WebhookResponse::UserConnectionReconnected(UserConnectionReconnected {
            psu_id: None,
            psp_user_id: "31".into(),
            connection_id: "77".into(),
            at: at(22),
        }),
    ]
}

#[test]
fn every_webhook_response_variant_wire_form() {
    let lines: Vec<String> = every_webhook_response()
        .iter()
        .map(|r| serde_json::to_string(r).unwrap())
        .collect();
    assert_eq!(lines.len(), 14);
    insta::assert_snapshot!(lines.join("\n"));
}

#[test]
fn webhook_responses_round_trip_with_exact_numbers() {
    for response in every_webhook_response() {
        let json = serde_json::to_string(&response).unwrap();
        let back: WebhookResponse = serde_json::from_str(&json).unwrap();
        assert_eq!(back, response, "{json}");
    }
    assert!(serde_json::from_str::<WebhookResponse>(r#"{"Transfer":{}}"#).is_err());
}

#[test]
fn webhook_responses_become_records_for_the_sink() {
    let kinds: Vec<Option<&str>> = every_webhook_response()
        .into_iter()
        .map(|r| r.into_record().map(|rec| rec.kind()))
        .collect();
    insta::assert_debug_snapshot!(kinds);
    let ob = WebhookResponse::OpenBankingPayment(OpenBankingPayment {
        payment: sample_payment(),
        open_banking_user_id: Some("31".into()),
        open_banking_connection_id: Some("77".into()),
    });
    match ob.into_record() {
        Some(Record::Payment(p)) => assert_eq!(p.open_banking_connection_id.as_deref(), Some("77")),
        other => panic!("{other:?}"),
    }
}
