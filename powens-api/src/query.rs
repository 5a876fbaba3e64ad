//! Building query strings: `key=value` pairs (form-encoded) and value-less flags.

use url::Url;

/// Appends query parameters to a URL, leaving no dangling `?` when none were added.
pub(crate) struct Query {
    url: Url,
}

impl Query {
    pub(crate) fn new(url: Url) -> Self {
        Self { url }
    }

    /// `key=value`.
    pub(crate) fn pair(mut self, key: &str, value: &str) -> Self {
        self.url.query_pairs_mut().append_pair(key, value);
        self
    }

    /// `key=value` when `value` is `Some`.
    pub(crate) fn opt(self, key: &str, value: Option<impl ToString>) -> Self {
        match value {
            Some(value) => self.pair(key, &value.to_string()),
            None => self,
        }
    }

    /// A value-less flag (`…&all`), present when `on`.
    pub(crate) fn flag(mut self, key: &str, on: bool) -> Self {
        if on {
            self.url.query_pairs_mut().append_key_only(key);
        }
        self
    }

    /// A comma-joined list, omitted when empty.
    pub(crate) fn list<'a>(self, key: &str, items: impl IntoIterator<Item = &'a str>) -> Self {
        let joined = items.into_iter().collect::<Vec<_>>().join(",");
        if joined.is_empty() {
            self
        } else {
            self.pair(key, &joined)
        }
    }

    pub(crate) fn finish(mut self) -> Url {
        if self.url.query() == Some("") {
            self.url.set_query(None);
        }
        self.url
    }
}
