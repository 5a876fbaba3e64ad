//! The Webview callback: the query string Powens redirects the user back with.

use arbitrary::Unstructured;
use powens_api::webview::{CallbackError, WebviewCallback};
use secrecy::ExposeSecret;

use super::{mode, pick};
use crate::disagree;
use crate::gen::{self, Json};

/// The callback in comparable form (`CallbackSuccess` holds a secret and has no `Eq`).
fn describe(result: &Result<WebviewCallback, CallbackError>) -> String {
    match result {
        Ok(WebviewCallback::Success(s)) => format!(
            "success id={:?} ids={:?} code={:?} state={:?} deleted={}",
            s.connection_id,
            s.connection_ids,
            s.code.as_ref().map(|c| c.expose_secret().to_owned()),
            s.state,
            s.connection_deleted
        ),
        Ok(WebviewCallback::Failure(f)) => format!("failure {f:?}"),
        Err(e) => format!("error {e:?}"),
    }
}

/// What holds for any parsed callback.
fn check_invariants(result: &Result<WebviewCallback, CallbackError>, input: &str) {
    let Ok(WebviewCallback::Success(s)) = result else {
        return;
    };
    let ids = s.all_connection_ids();
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    sorted.dedup();
    if sorted.len() != ids.len() || ids.iter().any(|id| *id <= 0) {
        disagree!("connection ids repeated or not positive: {ids:?} from {input:?}");
    }
    if s.connection_id.is_some() && ids.first() != s.connection_id.as_ref() {
        disagree!("all_connection_ids does not start with connection_id: {input:?}");
    }
    if s.connection_ids.iter().any(|id| !ids.contains(id)) {
        disagree!("all_connection_ids misses a connection_ids item: {input:?}");
    }
    if s.code
        .as_ref()
        .is_some_and(|c| c.expose_secret().is_empty())
    {
        disagree!("an empty code was kept: {input:?}");
    }
}

/// `webview_callback`: the redirect's query (raw text, or generated `(name, value)` pairs):
///
/// * `WebviewCallback::from_query` never panics, on a bare query or a whole URL;
/// * the pairs given to `from_pairs` and the same pairs percent-encoded into a redirect URL
///   given to `from_query` parse the same;
/// * a success's connection ids are positive and distinct, `all_connection_ids` starts with
///   `connection_id` and holds every `connection_ids` item; an empty `code` is no code.
pub fn webview_callback(data: &[u8]) {
    let (raw, rest) = mode(data);
    if raw {
        let text = String::from_utf8_lossy(rest);
        let result = WebviewCallback::from_query(&text);
        check_invariants(&result, &text);
        return;
    }
    let mut u = Unstructured::new(rest);
    let names = [
        "connection_id",
        "connection_ids",
        "state",
        "code",
        "error",
        "error_description",
        "connection_deleted",
        "other",
        "connection_id ",
        "",
    ];
    let n = pick(&mut u, 8);
    let mut pairs: Vec<(String, String)> = Vec::new();
    for _ in 0..n {
        let name = names[pick(&mut u, names.len())];
        let value = {
            let mut j = Json::new(&mut u);
            match j.pick(6) {
                0 => gen::text(&mut j),
                1 => {
                    let k = j.pick(5);
                    let ids: Vec<String> = (0..k).map(|_| id_text(&mut j)).collect();
                    let sep = [",", ", ", ",,", " , "][j.pick(4)];
                    ids.join(sep)
                }
                2 => [
                    "true",
                    "1",
                    "True",
                    "false",
                    "",
                    "access_denied",
                    "tos_declined",
                ][j.pick(7)]
                .to_owned(),
                _ => id_text(&mut j),
            }
        };
        pairs.push((name.to_owned(), value));
    }
    let by_pairs = WebviewCallback::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&pairs)
        .finish();
    let prefix = ["https://app.example/powens/callback?", "?", ""][pick(&mut u, 3)];
    let url = format!("{prefix}{query}#done");
    let by_query = WebviewCallback::from_query(&url);
    if !query.is_empty() && describe(&by_pairs) != describe(&by_query) {
        disagree!(
            "the pairs {pairs:?} parse as {}\nbut the URL {url:?} parses as {}",
            describe(&by_pairs),
            describe(&by_query)
        );
    }
    check_invariants(&by_pairs, &url);
    check_invariants(&by_query, &url);
}

/// A connection id as text: usually a small positive integer, sometimes an edge.
fn id_text(j: &mut Json<'_, '_>) -> String {
    match j.pick(8) {
        0 => [
            "0",
            "-1",
            "9223372036854775807",
            "9223372036854775808",
            "+7",
            " 7 ",
            "7.0",
            "0x7",
            "",
            "٣",
        ][j.pick(10)]
        .to_owned(),
        _ => (1 + j.pick(20)).to_string(),
    }
}
