//! Webview URL golden strings and callback parsing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use powens_api::webview::{
    CallbackError, WebviewCallback, WebviewError, WebviewErrorCode, WebviewLink,
};
use secrecy::{ExposeSecret, SecretString};

fn code(text: &str) -> SecretString {
    SecretString::from(text)
}

#[test]
fn connect_url_encodes_every_value() {
    let url = WebviewLink::connect("acme-sandbox.biapi.pro", "12345678")
        .lang("fr")
        .code(code("COj_wSfk/qm1+rpS8=="))
        .redirect_uri("https://app.example.com/powens/callback")
        .state("attempt=1&nonce=a b/c+d")
        .max_connections(3)
        .build()
        .unwrap();
    assert_eq!(
        url.as_str(),
        "https://webview.powens.com/fr/connect?domain=acme-sandbox.biapi.pro&client_id=12345678\
         &code=COj_wSfk%2Fqm1%2BrpS8%3D%3D\
         &redirect_uri=https%3A%2F%2Fapp.example.com%2Fpowens%2Fcallback\
         &state=attempt%3D1%26nonce%3Da%20b%2Fc%2Bd&max_connections=3"
    );
}

#[test]
fn connect_url_lists_are_comma_joined_with_items_encoded_and_unicode_escaped() {
    let url = WebviewLink::connect("acme.biapi.pro", "42")
        .redirect_uri("http://127.0.0.1:8080/cb")
        .state("été ✓")
        .connector_uuids(["f5c29767-1bc8-5337-9e4e-68a0fbd91c9a", "a,b"])
        .connector_capabilities(["bank", "bankwealth"])
        .account_types(["checking", "card"])
        .param("f5c29767-1bc8-5337-9e4e-68a0fbd91c9a.website", "pro")
        .build()
        .unwrap();
    assert_eq!(
        url.as_str(),
        "https://webview.powens.com/en/connect?domain=acme.biapi.pro&client_id=42\
         &redirect_uri=http%3A%2F%2F127.0.0.1%3A8080%2Fcb&state=%C3%A9t%C3%A9%20%E2%9C%93\
         &connector_uuids=f5c29767-1bc8-5337-9e4e-68a0fbd91c9a,a%2Cb\
         &connector_capabilities=bank,bankwealth&account_types=checking,card\
         &f5c29767-1bc8-5337-9e4e-68a0fbd91c9a.website=pro"
    );
}

#[test]
fn reconnect_url_carries_connection_id_and_reset_options() {
    let url = WebviewLink::reconnect("acme.biapi.pro", "42", 7)
        .lang("de")
        .code(code("abc"))
        .redirect_uri("https://app.example.com/cb")
        .state("s")
        .reset_credentials(true)
        .connection_sources(["openapi"])
        .build()
        .unwrap();
    assert_eq!(
        url.as_str(),
        "https://webview.powens.com/de/reconnect?domain=acme.biapi.pro&client_id=42&code=abc\
         &redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb&state=s&connection_id=7\
         &reset_credentials=true&connection_sources=openapi"
    );
}

#[test]
fn manage_url_on_an_overridden_loopback_base() {
    let url = WebviewLink::manage("acme.biapi.pro", "42", Some(9))
        .base_url("http://127.0.0.1:4000/webview/")
        .code(code("c0de"))
        .build()
        .unwrap();
    assert_eq!(
        url.as_str(),
        "http://127.0.0.1:4000/webview/en/manage?domain=acme.biapi.pro&client_id=42&code=c0de&connection_id=9"
    );
}

#[test]
fn webview_url_debug_redacts_the_code() {
    let url = WebviewLink::connect("acme.biapi.pro", "42")
        .code(code("TOPSECRETCODE"))
        .redirect_uri("https://app.example.com/cb")
        .build()
        .unwrap();
    assert!(url.as_str().contains("code=TOPSECRETCODE"));
    let debug = format!("{url:?}");
    assert!(!debug.contains("TOPSECRETCODE"), "{debug}");
    assert!(debug.contains("code=REDACTED"), "{debug}");
    let link_debug = format!(
        "{:?}",
        WebviewLink::connect("acme.biapi.pro", "42").code(code("TOPSECRETCODE"))
    );
    assert!(!link_debug.contains("TOPSECRETCODE"), "{link_debug}");
}

#[test]
fn redirect_uri_rules_are_enforced() {
    let build = |uri: &str| {
        WebviewLink::connect("acme.biapi.pro", "42")
            .redirect_uri(uri)
            .build()
            .map(|_| ())
    };
    assert!(build("https://app.example.com/cb").is_ok());
    assert!(build("http://localhost:3000/cb").is_ok());
    assert!(build("http://[::1]:3000/cb").is_ok());
    for bad in [
        "http://app.example.com/cb",
        "https://app.example.com/cb?x=1",
        "https://app.example.com/cb#frag",
        "/relative/cb",
        "ftp://app.example.com/cb",
    ] {
        assert!(
            matches!(build(bad), Err(WebviewError::RedirectUri { .. })),
            "{bad} accepted"
        );
    }
}

#[test]
fn flows_require_their_parameters_and_a_valid_lang() {
    assert_eq!(
        WebviewLink::connect("acme.biapi.pro", "42")
            .build()
            .unwrap_err(),
        WebviewError::Missing {
            flow: "connect",
            param: "redirect_uri"
        }
    );
    assert_eq!(
        WebviewLink::reconnect("acme.biapi.pro", "42", 7)
            .redirect_uri("https://a.example/cb")
            .build()
            .unwrap_err(),
        WebviewError::Missing {
            flow: "reconnect",
            param: "code"
        }
    );
    assert_eq!(
        WebviewLink::connect("acme.biapi.pro", "42")
            .redirect_uri("https://a.example/cb")
            .lang("FR")
            .build()
            .unwrap_err(),
        WebviewError::Lang("FR".to_owned())
    );
    assert!(matches!(
        WebviewLink::connect("acme.biapi.pro", "42")
            .redirect_uri("https://a.example/cb")
            .base_url("webview.powens.com")
            .build(),
        Err(WebviewError::BaseUrl(_))
    ));
}

#[test]
fn callback_success_with_connection_id_and_comma_list() {
    let callback = WebviewCallback::from_query(
        "https://app.example.com/cb?connection_id=7&connection_ids=7,8,%209&state=xyz&extra=ignored",
    )
    .unwrap();
    let WebviewCallback::Success(success) = callback else {
        panic!("{callback:?}")
    };
    assert_eq!(success.connection_id, Some(7));
    assert_eq!(success.connection_ids, vec![7, 8, 9]);
    assert_eq!(success.all_connection_ids(), vec![7, 8, 9]);
    assert_eq!(success.state.as_deref(), Some("xyz"));
    assert!(success.code.is_none());
    assert!(!success.connection_deleted);
}

#[test]
fn callback_success_with_repeated_connection_ids_params() {
    let pairs = [
        ("connection_ids".to_owned(), "1".to_owned()),
        ("connection_ids".to_owned(), "2,3".to_owned()),
        ("connection_ids".to_owned(), "2".to_owned()),
    ];
    let callback =
        WebviewCallback::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))).unwrap();
    let WebviewCallback::Success(success) = callback else {
        panic!("{callback:?}")
    };
    assert_eq!(success.connection_id, None);
    assert_eq!(success.connection_ids, vec![1, 2, 3]);
}

#[test]
fn callback_success_with_code_decodes_it_and_keeps_it_secret() {
    let callback =
        WebviewCallback::from_query("?code=ab%2Fcd%2B%3D&state=s%20t&connection_id=12").unwrap();
    let WebviewCallback::Success(success) = &callback else {
        panic!("{callback:?}")
    };
    assert_eq!(success.code.as_ref().unwrap().expose_secret(), "ab/cd+=");
    assert_eq!(callback.state(), Some("s t"));
    assert!(!format!("{callback:?}").contains("ab/cd+="));
}

#[test]
fn callback_manage_reports_connection_deleted() {
    let callback = WebviewCallback::from_query("connection_id=5&connection_deleted=true").unwrap();
    let WebviewCallback::Success(success) = callback else {
        panic!("{callback:?}")
    };
    assert!(success.connection_deleted);
}

#[test]
fn callback_errors_map_known_codes_and_keep_unknown_ones() {
    let cases = [
        ("access_denied", WebviewErrorCode::AccessDenied),
        ("server_error", WebviewErrorCode::ServerError),
        ("tos_declined", WebviewErrorCode::TosDeclined),
        ("session_expired", WebviewErrorCode::SessionExpired),
        (
            "user_cancelled",
            WebviewErrorCode::Unknown("user_cancelled".to_owned()),
        ),
    ];
    for (wire, expected) in cases {
        let query = format!("error={wire}&error_description=User+closed+the+window&state=abc");
        let callback = WebviewCallback::from_query(&query).unwrap();
        let WebviewCallback::Failure(failure) = callback else {
            panic!("{callback:?}")
        };
        assert_eq!(failure.error, expected);
        assert_eq!(
            failure.description.as_deref(),
            Some("User closed the window")
        );
        assert_eq!(failure.state.as_deref(), Some("abc"));
    }
}

#[test]
fn callback_error_wins_over_connection_ids() {
    let callback = WebviewCallback::from_query("connection_id=1&error=server_error").unwrap();
    assert!(matches!(callback, WebviewCallback::Failure(_)));
}

#[test]
fn callback_rejects_bad_ids_and_conflicting_repeats() {
    assert_eq!(
        WebviewCallback::from_query("connection_id=abc").unwrap_err(),
        CallbackError::InvalidConnectionId {
            param: "connection_id",
            value: "abc".to_owned()
        }
    );
    assert!(matches!(
        WebviewCallback::from_query("connection_ids=1,x"),
        Err(CallbackError::InvalidConnectionId {
            param: "connection_ids",
            ..
        })
    ));
    assert_eq!(
        WebviewCallback::from_query("state=a&state=b").unwrap_err(),
        CallbackError::Repeated("state")
    );
    assert_eq!(
        WebviewCallback::from_query("connection_id=1&connection_id=2").unwrap_err(),
        CallbackError::Repeated("connection_id")
    );
}
