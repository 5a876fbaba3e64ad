//! Powens API errors as contract errors: one mapping, from the one classification of
//! [`powens_api::retry::classify`].

use connector_core::{ConnectorError, UpstreamClass};
use powens_api::retry::ErrorClass;

/// Maps a `powens-api` error to the contract's [`ConnectorError`], keeping it as the source:
///
/// | `powens_api::Error` | `ConnectorError` | engine |
/// |---|---|---|
/// | `Config` (nothing sent) | `InvalidConfig` | permanent |
/// | `InvalidRequest` (nothing sent) | `InvalidRequest` | permanent |
/// | any other | `Upstream` with the status and the class of [`powens_api::Error::class`] | see below |
///
/// | class | `UpstreamClass` | engine |
/// |---|---|---|
/// | permanent (4xx, decode, too large, refused link) | `Permanent` | not retried |
/// | transient (transport, 408, 5xx) | `Transient` | not retried in the run: the client did |
/// | rate-limited (429) | `RateLimited` | not retried in the run: the client did |
/// | interrupted (a body cut after the status) | `Interrupted` | task retried |
///
/// The `Upstream` error's source is the `powens_api::Error` itself: downcast it for the
/// Powens `code`, `request_id` or JSON path. Messages come from `powens-api`, which never puts
/// a token or a query string in them.
pub fn to_connector_error(error: powens_api::Error) -> ConnectorError {
    use powens_api::Error as E;
    match error {
        E::Config { message } => ConnectorError::InvalidConfig { message },
        E::InvalidRequest { .. } => ConnectorError::InvalidRequest {
            message: error.to_string(),
        },
        other => ConnectorError::Upstream {
            status: other.status(),
            class: upstream_class(other.class()),
            retry_after: other.retry_after(),
            source: Box::new(other),
        },
    }
}

/// The contract's class of a `powens-api` class, one to one.
fn upstream_class(class: ErrorClass) -> UpstreamClass {
    match class {
        ErrorClass::Transient => UpstreamClass::Transient,
        ErrorClass::RateLimited => UpstreamClass::RateLimited,
        ErrorClass::Interrupted => UpstreamClass::Interrupted,
        // `ErrorClass` may grow: a class not known here is not retried.
        _ => UpstreamClass::Permanent,
    }
}

/// A transactions page `powens-model`'s reader refused (`body` the bytes it read). A page
/// whose problem is at its very end stopped before its JSON did: a body cut after the status
/// (`Interrupted`, retried by the engine from the committed state). Any other is `Permanent`,
/// like a [`powens_api::Error::Decode`] of a complete body.
pub(crate) fn page_decode_error(
    body: &[u8],
    error: powens_model::page::PageDecodeError,
) -> ConnectorError {
    let class = if error.offset >= body.len() {
        UpstreamClass::Interrupted
    } else {
        UpstreamClass::Permanent
    };
    ConnectorError::Upstream {
        status: None,
        class,
        retry_after: None,
        source: format!("cannot decode the transactions page: {error}").into(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use std::error::Error as _;
    use std::time::Duration;

    use connector_core::{ConnectorError, RetryClass, UpstreamClass};
    use powens_api::error::NextLinkProblem;

    use super::{page_decode_error, to_connector_error};

    fn decode(body: &str) -> powens_api::Error {
        powens_api::Error::Decode {
            method: http::Method::GET,
            path: "/2.0/users/me/accounts".into(),
            source: powens_api::wire::JsonDecodeError {
                path: ".".into(),
                source: serde_json::from_str::<Vec<u32>>(body).expect_err("not numbers"),
            },
        }
    }

    /// `(case, error) → (status, class, engine treatment)`: each `powens-api` class lands in
    /// one contract class, and the engine retries in the run only what the client could not.
    #[test]
    fn powens_errors_map_one_to_one_to_upstream_classes_and_engine_treatments() {
        use RetryClass::{NextRun, Permanent, Retryable};
        let throttled = powens_api::Error::RateLimited {
            method: http::Method::GET,
            path: "/2.0/users/me/accounts".into(),
            retry_after: Some(Duration::from_secs(30)),
        };
        let refused_link = powens_api::Error::NextLink {
            href: "https://elsewhere.example/2.0/x".into(),
            problem: NextLinkProblem::Repeated,
        };
        let too_large = powens_api::Error::ResponseTooLarge {
            method: http::Method::GET,
            path: "/2.0/users/me/transactions".into(),
            limit: 1024,
        };
        let table: Vec<(
            &str,
            powens_api::Error,
            Option<u16>,
            UpstreamClass,
            RetryClass,
        )> = vec![
            (
                "429",
                throttled,
                Some(429),
                UpstreamClass::RateLimited,
                NextRun,
            ),
            (
                "refused link",
                refused_link,
                None,
                UpstreamClass::Permanent,
                Permanent,
            ),
            (
                "too large",
                too_large,
                None,
                UpstreamClass::Permanent,
                Permanent,
            ),
            (
                "wrong type",
                decode(r#"["x"]"#),
                None,
                UpstreamClass::Permanent,
                Permanent,
            ),
            (
                "truncated",
                decode("[1, 2"),
                None,
                UpstreamClass::Interrupted,
                Retryable,
            ),
        ];
        for (case, error, status, class, treatment) in table {
            let mapped = to_connector_error(error);
            let ConnectorError::Upstream {
                status: got_status,
                class: got_class,
                ..
            } = &mapped
            else {
                panic!("{case}: not an upstream error: {mapped:?}");
            };
            assert_eq!((*got_status, *got_class), (status, class), "{case}");
            assert_eq!(mapped.retry_class(), treatment, "{case}");
            let source = mapped.source().expect("the powens-api error is kept");
            assert!(
                source.downcast_ref::<powens_api::Error>().is_some(),
                "{case}"
            );
        }
    }

    #[test]
    fn a_429_keeps_its_retry_after() {
        let mapped = to_connector_error(powens_api::Error::RateLimited {
            method: http::Method::GET,
            path: "/2.0/users/me/accounts".into(),
            retry_after: Some(Duration::from_secs(30)),
        });
        assert!(matches!(
            mapped,
            ConnectorError::Upstream {
                retry_after: Some(wait),
                ..
            } if wait == Duration::from_secs(30)
        ));
    }

    #[test]
    fn errors_raised_before_sending_stay_config_and_request_errors() {
        let config = to_connector_error(powens_api::Error::Config {
            message: "endpoint is not https".into(),
        });
        assert!(
            matches!(config, ConnectorError::InvalidConfig { .. }),
            "{config}"
        );
        let request = to_connector_error(powens_api::Error::InvalidRequest {
            field: "limit",
            reason: "1 to 1000".into(),
        });
        assert!(
            matches!(request, ConnectorError::InvalidRequest { .. }),
            "{request}"
        );
        assert!(request.to_string().contains("`limit`"), "{request}");
    }

    #[test]
    fn a_page_that_stops_before_its_json_ends_is_interrupted_and_a_malformed_one_permanent() {
        let book = powens_model::AccountBook::new();
        let ctx = powens_model::MappingContext::new(chrono::DateTime::UNIX_EPOCH);
        let truncated = br#"{"transactions": [{"id": 1, "id_account": 2"#;
        let malformed = br#"{"transactions": [] ]"#;
        for (body, class) in [
            (&truncated[..], UpstreamClass::Interrupted),
            (&malformed[..], UpstreamClass::Permanent),
        ] {
            let err = powens_model::page::map_transactions_page(body, &book, &ctx)
                .expect_err("not a page");
            let mapped = page_decode_error(body, err);
            assert!(
                matches!(mapped, ConnectorError::Upstream { class: got, .. } if got == class),
                "{mapped:?}"
            );
            assert!(mapped
                .to_string()
                .contains("cannot decode the transactions page"));
        }
    }
}
