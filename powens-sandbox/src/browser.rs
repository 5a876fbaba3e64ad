//! Driving the sandbox's Webview as a user's browser would: open the link, let the Webview
//! answer with its redirect, and read where it sends the user back (the callback), without
//! following it. The one Webview driver of the workspace: `powens sync` against the embedded
//! sandbox and the end-to-end tests both link their PSUs through it.

use std::collections::BTreeMap;

use crate::error::SandboxError;

/// Where the Webview sent the user back: the redirect URL and its query values (`code`,
/// `state`, `connection_id`, or `error` and `error_description`), as the callback endpoint of
/// a connector receives them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebviewCallback {
    /// The full redirect URL.
    pub location: String,
    /// Its query string, decoded, each name with its values in order.
    pub query_values: BTreeMap<String, Vec<String>>,
}

impl WebviewCallback {
    /// The callback at `location` (a redirect URL): its query decoded, each name with its
    /// values in order.
    ///
    /// # Errors
    ///
    /// [`SandboxError::Webview`] when `location` is not an absolute URL.
    pub fn parse(location: &str) -> Result<Self, SandboxError> {
        let url = url::Url::parse(location).map_err(|e| SandboxError::Webview {
            reason: format!("the Webview redirect is not a URL: {e}"),
        })?;
        let mut query_values: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (name, value) in url.query_pairs() {
            query_values
                .entry(name.into_owned())
                .or_default()
                .push(value.into_owned());
        }
        Ok(WebviewCallback {
            location: location.to_owned(),
            query_values,
        })
    }
}

/// A browser for the Webview: one HTTP client (redirects off), reused across links.
#[derive(Debug, Clone)]
pub struct WebviewBrowser {
    http: reqwest::Client,
}

impl WebviewBrowser {
    /// A browser with its own HTTP client.
    pub fn new() -> Result<Self, SandboxError> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| SandboxError::Webview {
                reason: format!("no HTTP client for the Webview: {e}"),
            })?;
        Ok(Self { http })
    }

    /// Opens the Webview `link` and returns the callback it redirects to.
    pub async fn follow(&self, link: &str) -> Result<WebviewCallback, SandboxError> {
        let failed = |reason: String| SandboxError::Webview {
            reason: format!(
                "{reason} (link {})",
                link.split('?').next().unwrap_or_default()
            ),
        };
        let response = self
            .http
            .get(link)
            .send()
            .await
            .map_err(|e| failed(format!("the Webview cannot be opened: {e}")))?;
        let status = response.status();
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| {
                failed(format!(
                    "the Webview answered HTTP {status} without a redirect"
                ))
            })?
            .to_owned();
        WebviewCallback::parse(&location).map_err(|e| failed(e.to_string()))
    }
}

/// Opens the Webview `link` with a new [`WebviewBrowser`] and returns the callback it
/// redirects to.
pub async fn follow_webview(link: &str) -> Result<WebviewCallback, SandboxError> {
    WebviewBrowser::new()?.follow(link).await
}
