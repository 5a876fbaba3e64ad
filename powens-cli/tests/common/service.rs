//! Talking to a running `powens serve` over HTTP (the serve and replica tests).

use serde_json::Value;

/// A running `powens serve` process: where it listens and its bearer token.
pub trait Service {
    /// The absolute URL of `path` on the service.
    fn url(&self, path: &str) -> String;
    /// The `api_token` it printed.
    fn token(&self) -> &str;
}

/// A client that follows no redirect (the tests look at the `303`s themselves).
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// `(status, JSON body)` of a request with the service's bearer token.
pub async fn call(
    service: &impl Service,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut request = http()
        .request(method, service.url(path))
        .bearer_auth(service.token());
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let value = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
    };
    (status, value)
}

/// The `Location` of a `303` answer to a GET of `url`.
pub async fn see_other(url: &str) -> String {
    let response = http().get(url).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 303, "GET {url}");
    response.headers()["location"].to_str().unwrap().to_owned()
}
