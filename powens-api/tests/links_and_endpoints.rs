//! Endpoint roots (with and without `/2.0`) and `_links.next` resolution rules.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use powens_api::client::{Endpoint, PowensClientBuilder};
use powens_api::error::NextLinkProblem;
use powens_api::pagination::{LinkGuard, NextLink};
use powens_api::Error;

#[test]
fn endpoint_with_or_without_version_gives_the_same_roots() {
    for input in [
        "https://acme.biapi.pro/2.0",
        "https://acme.biapi.pro/2.0/",
        "https://acme.biapi.pro",
        "https://acme.biapi.pro/",
    ] {
        let endpoint = Endpoint::parse(input).unwrap();
        assert_eq!(
            endpoint.api_root().as_str(),
            "https://acme.biapi.pro/2.0/",
            "{input}"
        );
        assert_eq!(
            endpoint.host_root().as_str(),
            "https://acme.biapi.pro/",
            "{input}"
        );
    }
}

#[test]
fn endpoint_keeps_a_path_prefix_before_the_version() {
    let endpoint = Endpoint::parse("http://127.0.0.1:8080/powens/2.0").unwrap();
    assert_eq!(
        endpoint.api_root().as_str(),
        "http://127.0.0.1:8080/powens/2.0/"
    );
    assert_eq!(
        endpoint.host_root().as_str(),
        "http://127.0.0.1:8080/powens/"
    );
}

#[test]
fn endpoint_rejects_plain_http_off_loopback_queries_and_garbage() {
    for bad in [
        "http://acme.biapi.pro/2.0",
        "https://acme.biapi.pro/2.0?x=1",
        "https://user:pw@acme.biapi.pro/2.0",
        "acme.biapi.pro",
        "ftp://acme.biapi.pro",
    ] {
        assert!(
            matches!(Endpoint::parse(bad), Err(Error::Config { .. })),
            "{bad} accepted"
        );
    }
    assert!(Endpoint::parse("http://localhost:9000").is_ok());
}

#[test]
fn endpoint_errors_never_repeat_embedded_credentials() {
    for bad in [
        "https://user:hunter2@acme.biapi.pro/2.0",
        "https://user:hunter2@acme.biapi.pro/2.0?x=1",
        "https://user:hunter2@acme.biapi.pro/2.0#top",
        "https://user:hunter2@acme.biapi.pro:99999/2.0",
        "http://user:hunter2@acme.biapi.pro/2.0",
    ] {
        let err = Endpoint::parse(bad).unwrap_err();
        assert!(matches!(err, Error::Config { .. }), "{bad}: {err:?}");
        assert!(!err.to_string().contains("hunter2"), "{bad}: {err}");
        assert!(!format!("{err:?}").contains("hunter2"), "{bad}: {err:?}");
    }
    let builder = PowensClientBuilder::new("https://user:hunter2@acme.biapi.pro/2.0");
    assert!(!format!("{builder:?}").contains("hunter2"), "{builder:?}");
    let err = Endpoint::parse("https://acme.biapi.pro/2.0?x=1").unwrap_err();
    assert!(err.to_string().contains("acme.biapi.pro/2.0?x=1"), "{err}");
}

fn resolve(href: &str) -> Result<String, Error> {
    let endpoint = Endpoint::parse("https://acme.biapi.pro/2.0").unwrap();
    NextLink::resolve(&endpoint, href).map(|link| link.url().to_string())
}

#[test]
fn next_link_forms_resolve_to_the_configured_host() {
    let expected = "https://acme.biapi.pro/2.0/users/me/transactions?limit=2&offset=2";
    for href in [
        "https://acme.biapi.pro/2.0/users/me/transactions?limit=2&offset=2",
        "/2.0/users/me/transactions?limit=2&offset=2",
        "/users/me/transactions?limit=2&offset=2",
        "users/me/transactions?limit=2&offset=2",
        "  /2.0/users/me/transactions?limit=2&offset=2  ",
    ] {
        assert_eq!(resolve(href).unwrap(), expected, "{href}");
    }
}

#[test]
fn next_link_under_a_prefixed_endpoint_keeps_the_prefix() {
    let endpoint = Endpoint::parse("http://127.0.0.1:8080/powens/2.0").unwrap();
    let expected = "http://127.0.0.1:8080/powens/2.0/users/me/transactions?offset=2";
    for href in [
        "/powens/2.0/users/me/transactions?offset=2",
        "/2.0/users/me/transactions?offset=2",
        "/users/me/transactions?offset=2",
        "http://127.0.0.1:8080/powens/2.0/users/me/transactions?offset=2",
    ] {
        assert_eq!(
            NextLink::resolve(&endpoint, href).unwrap().url().as_str(),
            expected,
            "{href}"
        );
    }
}

#[test]
fn next_link_to_another_host_scheme_or_port_is_refused() {
    for href in [
        "https://evil.example/2.0/users/me/transactions?offset=2",
        "//evil.example/2.0/users/me/transactions",
        "http://acme.biapi.pro/2.0/users/me/transactions",
        "https://acme.biapi.pro:8443/2.0/users/me/transactions",
        "https://acme.biapi.pro.evil.example/2.0/users/me/transactions",
    ] {
        match resolve(href) {
            Err(Error::NextLink {
                problem: NextLinkProblem::ForeignHost { expected, .. },
                ..
            }) => assert_eq!(expected, "https://acme.biapi.pro"),
            other => panic!("{href}: {other:?}"),
        }
    }
}

#[test]
fn next_link_disguised_foreign_hosts_are_refused() {
    for href in [
        "https://acme.biapi.pro@evil.example/2.0/users/me/transactions",
        "https://acme.biapi.pro:443@evil.example/2.0/users/me/transactions",
        "\\\\evil.example/2.0/users/me/transactions",
        "/\\evil.example/2.0/users/me/transactions",
        "https:\\\\evil.example/2.0/users/me/transactions",
        "https:evil.example/2.0/users/me/transactions",
        "HTTPS://EVIL.EXAMPLE/2.0/users/me/transactions",
    ] {
        match resolve(href) {
            Err(Error::NextLink { .. }) => {}
            // A form the URL parser reads as a path stays on the configured host.
            Ok(url) => assert!(
                url.starts_with("https://acme.biapi.pro/"),
                "{href} -> {url}"
            ),
            Err(other) => panic!("{href}: {other:?}"),
        }
    }
    for href in [
        "https://acme.biapi.pro@evil.example/2.0/users/me/transactions",
        "HTTPS://EVIL.EXAMPLE/2.0/users/me/transactions",
        "\\\\evil.example/2.0/users/me/transactions",
    ] {
        assert!(
            matches!(
                resolve(href),
                Err(Error::NextLink {
                    problem: NextLinkProblem::ForeignHost { .. },
                    ..
                })
            ),
            "{href}"
        );
    }
}

#[test]
fn empty_next_link_is_malformed() {
    assert!(matches!(
        resolve("   "),
        Err(Error::NextLink {
            problem: NextLinkProblem::Malformed(_),
            ..
        })
    ));
}

#[test]
fn link_guard_refuses_a_link_seen_twice_in_any_form() {
    let endpoint = Endpoint::parse("https://acme.biapi.pro/2.0").unwrap();
    let mut guard = LinkGuard::new();
    let first = NextLink::resolve(&endpoint, "/2.0/users/me/transactions?offset=2").unwrap();
    let second = NextLink::resolve(&endpoint, "/2.0/users/me/transactions?offset=4").unwrap();
    let same_as_first = NextLink::resolve(
        &endpoint,
        "https://acme.biapi.pro/2.0/users/me/transactions?offset=2",
    )
    .unwrap();
    guard.check(&first).unwrap();
    guard.check(&second).unwrap();
    let err = guard.check(&same_as_first).unwrap_err();
    assert!(
        matches!(
            err,
            Error::NextLink {
                problem: NextLinkProblem::Repeated,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(guard.len(), 2);
    assert!(!err.is_retryable());
}
