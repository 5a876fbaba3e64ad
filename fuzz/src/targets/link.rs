//! Pagination links (`powens_api::pagination::NextLink::resolve`) and the endpoint they are
//! resolved against (`powens_api::client::Endpoint::parse`).

use arbitrary::Unstructured;
use powens_api::client::Endpoint;
use powens_api::pagination::{LinkGuard, NextLink};

use super::{mode, pick};
use crate::disagree;
use crate::gen::{self, Json};

const ENDPOINTS: &[&str] = &[
    "https://acme.biapi.pro/2.0",
    "https://acme.biapi.pro",
    "https://acme.biapi.pro/2.0/",
    "http://127.0.0.1:8080/powens/2.0",
    "https://acme.biapi.pro:8443/prefix/2.0",
    "http://[::1]:9/2.0",
    "http://localhost/2.0",
    "HTTPS://ACME.BIAPI.PRO/2.0",
];

/// `next_link`: an endpoint (one of the usual ones, or raw text) and an `href` (assembled
/// from pieces that attackers and odd servers use, or raw text):
///
/// * `Endpoint::parse` and `NextLink::resolve` never panic;
/// * an accepted endpoint is `https` (or `http` on a loopback host), its API root ends with
///   `/2.0/` and lies under its host root;
/// * a resolved link has exactly the endpoint's origin (the bearer token never leaves it),
///   resolves to itself again, and `LinkGuard` refuses it the second time.
pub fn next_link(data: &[u8]) {
    let (raw, rest) = mode(data);
    let (endpoint_text, href) = if raw {
        let text = String::from_utf8_lossy(rest);
        match text.split_once('\n') {
            Some((endpoint, href)) => (endpoint.to_owned(), href.to_owned()),
            None => (ENDPOINTS[0].to_owned(), text.into_owned()),
        }
    } else {
        let mut u = Unstructured::new(rest);
        let endpoint = ENDPOINTS[pick(&mut u, ENDPOINTS.len())].to_owned();
        let mut j = Json::new(&mut u);
        (endpoint, href(&mut j))
    };
    let Ok(endpoint) = Endpoint::parse(&endpoint_text) else {
        return;
    };
    let (api, host) = (endpoint.api_root(), endpoint.host_root());
    let loopback = matches!(
        api.host_str(),
        Some("127.0.0.1" | "localhost" | "[::1]" | "::1")
    ) || api.host_str().is_some_and(|h| h.starts_with("127."));
    if !(api.scheme() == "https" || (api.scheme() == "http" && loopback))
        || !api.path().ends_with("/2.0/")
        || !host.path().ends_with('/')
        || !api.as_str().starts_with(host.as_str())
    {
        disagree!("endpoint {endpoint_text:?} gives roots {api} and {host}");
    }
    let Ok(link) = NextLink::resolve(&endpoint, &href) else {
        return;
    };
    if link.url().origin() != api.origin() {
        disagree!(
            "the link {href:?} resolved off the endpoint's origin: {} (endpoint {api})",
            link.url()
        );
    }
    match NextLink::resolve(&endpoint, link.url().as_str()) {
        Ok(again) if again == link => {}
        other => disagree!(
            "the resolved link {} does not resolve to itself: {other:?}",
            link.url()
        ),
    }
    let mut guard = LinkGuard::new();
    if guard.check(&link).is_err() || guard.check(&link).is_ok() {
        disagree!(
            "the link guard does not refuse {} the second time",
            link.url()
        );
    }
}

/// An `href` made of pieces: scheme and host (ours, another, disguised), a path (ours,
/// relative, climbing), a query.
fn href(j: &mut Json<'_, '_>) -> String {
    let heads = [
        "",
        "/",
        "//",
        "https://acme.biapi.pro",
        "https://evil.example",
        "http://acme.biapi.pro",
        "https://acme.biapi.pro:443",
        "https://acme.biapi.pro.evil.example",
        "https://acme.biapi.pro@evil.example",
        "//evil.example",
        "\\\\evil.example",
        "/\\evil.example",
        "https:acme.biapi.pro",
        "http://127.0.0.1:8080",
        "http://[::1]:9",
        " ",
        "\t/",
        "javascript:",
        "HTTPS://ACME.BIAPI.PRO",
    ];
    let paths = [
        "/2.0/users/me/transactions",
        "2.0/users/me/transactions",
        "users/me/transactions",
        "/users/me/transactions",
        "/prefix/2.0/users/me/transactions",
        "/powens/2.0/users",
        "/../../etc",
        "/%2e%2e/%2e%2e/x",
        "/2.0/../../x",
        "",
        "/2.0",
        "/2.0/",
    ];
    let queries = [
        "",
        "?offset=1000&limit=1000",
        "?next=https://evil.example",
        "#frag",
        "?a=%zz",
    ];
    let mut out = String::new();
    out.push_str(heads[j.pick(heads.len())]);
    out.push_str(paths[j.pick(paths.len())]);
    out.push_str(queries[j.pick(queries.len())]);
    if j.one_in(6) {
        out.push_str(&gen::text(j));
    }
    out
}
