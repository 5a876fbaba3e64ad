//! `powens link`: a Webview link for a PSU.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::*;

#[test]
fn link_prints_a_sandbox_webview_connect_url_with_code_redirect_and_state() {
    let run = powens(&["link", "--psu", "Jane Doe", "--no-serve"], b"");
    assert_eq!(run.code, 0, "{run:?}");
    let link = url::Url::parse(run.stdout.trim()).expect("one URL on stdout");
    assert_eq!(link.host_str(), Some("127.0.0.1"));
    assert_eq!(link.path(), "/en/connect");
    let query: std::collections::BTreeMap<String, String> =
        link.query_pairs().into_owned().collect();
    for key in [
        "domain",
        "client_id",
        "code",
        "redirect_uri",
        "state",
        "max_connections",
    ] {
        assert!(query.contains_key(key), "{key} in {link}");
    }
    assert_eq!(
        query["redirect_uri"],
        "http://127.0.0.1:8080/powens/callback"
    );
}

#[test]
fn link_with_a_config_needs_a_state_directory() {
    let run = powens(&["link", "--psu", "jane", "--config", "config.json"], b"");
    assert_one_line_failure(&run, 2, "pass --state DIR");
}

#[test]
fn link_refuses_a_redirect_with_a_query_string() {
    let run = powens(
        &[
            "link",
            "--psu",
            "jane",
            "--no-serve",
            "--redirect-uri",
            "https://app.example/cb?x=1",
        ],
        b"",
    );
    assert_one_line_failure(&run, 1, "redirectURL");
}
