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

/// The problem of a `NextLink` error (panics on any other error).
fn problem(err: Error) -> NextLinkProblem {
    match err {
        Error::NextLink { problem, .. } => problem,
        other => panic!("not a next-link error: {other:?}"),
    }
}

fn link(endpoint: &Endpoint, offset: u32) -> NextLink {
    NextLink::resolve(
        endpoint,
        &format!("/2.0/users/me/transactions?limit=5&offset={offset}"),
    )
    .unwrap()
}

#[test]
fn link_guard_stops_an_endless_chain_of_empty_pages_after_its_bound() {
    let endpoint = Endpoint::parse("https://acme.biapi.pro/2.0").unwrap();
    let mut guard = LinkGuard::with_limits(2, 1_000);
    guard.page(5, true, Some(&link(&endpoint, 5))).unwrap();
    guard.page(0, true, Some(&link(&endpoint, 10))).unwrap();
    guard.page(0, true, Some(&link(&endpoint, 15))).unwrap();
    let err = guard.page(0, true, Some(&link(&endpoint, 20))).unwrap_err();
    assert!(!err.is_retryable());
    assert!(err.to_string().contains("endless chain"), "{err}");
    assert_eq!(problem(err), NextLinkProblem::EmptyPages { pages: 3 });
}

#[test]
fn link_guard_counts_empty_pages_only_in_a_row_and_accepts_an_empty_last_page() {
    let endpoint = Endpoint::parse("https://acme.biapi.pro/2.0").unwrap();
    let mut guard = LinkGuard::with_limits(1, 1_000);
    guard.page(0, true, Some(&link(&endpoint, 5))).unwrap();
    guard.page(3, true, Some(&link(&endpoint, 10))).unwrap();
    guard.page(0, true, Some(&link(&endpoint, 15))).unwrap();
    guard.page(0, false, None).unwrap();
}

#[test]
fn link_guard_caps_the_pages_of_one_scan() {
    let endpoint = Endpoint::parse("https://acme.biapi.pro/2.0").unwrap();
    let mut guard = LinkGuard::with_limits(3, 3);
    guard.page(5, true, Some(&link(&endpoint, 5))).unwrap();
    guard.page(5, true, Some(&link(&endpoint, 10))).unwrap();
    let err = guard.page(5, true, Some(&link(&endpoint, 15))).unwrap_err();
    assert_eq!(problem(err), NextLinkProblem::TooManyPages { limit: 3 });
    // The last page of a scan is never refused by the cap.
    let mut guard = LinkGuard::with_limits(3, 1);
    guard.page(5, false, None).unwrap();
}

#[test]
fn link_guard_page_refuses_a_next_link_that_does_not_advance() {
    let endpoint = Endpoint::parse("https://acme.biapi.pro/2.0").unwrap();
    let mut guard = LinkGuard::new();
    guard.page(5, true, Some(&link(&endpoint, 5))).unwrap();
    let err = guard.page(5, true, Some(&link(&endpoint, 5))).unwrap_err();
    assert_eq!(problem(err), NextLinkProblem::Repeated);
}

#[test]
fn a_next_link_is_read_as_an_object_or_a_bare_string_and_anything_else_is_no_link() {
    use powens_api::transactions::TransactionsPage;
    for (links, expected) in [
        (
            r#"{"next": {"href": "/2.0/x?offset=5"}}"#,
            Some("/2.0/x?offset=5"),
        ),
        (r#"{"next": "/2.0/x?offset=5"}"#, Some("/2.0/x?offset=5")),
        (r#"{"next": null}"#, None),
        (r#"{"next": ""}"#, None),
        (r#"{"next": {"href": ""}}"#, None),
        (r#"{"next": {"href": null}}"#, None),
        (r#"{"next": {}}"#, None),
        (r#"{"next": 5}"#, None),
        (r#"{"next": ["/2.0/x"]}"#, None),
        (r#"{}"#, None),
    ] {
        let body = format!(r#"{{"transactions": [], "_links": {links}}}"#);
        let page: TransactionsPage = serde_json::from_str(&body).unwrap();
        assert_eq!(page.next_href(), expected, "{links}");
    }
}
