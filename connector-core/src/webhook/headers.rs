//! A case-insensitive multi-map of HTTP header values.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// Header values by name, names compared case-insensitively (stored lower-cased), each name
/// keeping every value in arrival order. Serialised as `{"name": ["v1", …]}` with sorted
/// names.
///
/// `Debug` prints `[REDACTED]` for the values of credential headers (`authorization`,
/// `proxy-authorization`, `cookie`, `set-cookie`): Powens' default webhook authentication
/// sends the user's permanent token in `Authorization`.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "BTreeMap<String, Vec<String>>")]
pub struct Headers(BTreeMap<String, Vec<String>>);

/// Lower-cased names of the headers whose values `Debug` hides.
const CREDENTIAL_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
];

impl fmt::Debug for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_map();
        for (name, values) in &self.0 {
            if CREDENTIAL_HEADERS.contains(&name.as_str()) {
                map.entry(name, &"[REDACTED]");
            } else {
                map.entry(name, values);
            }
        }
        map.finish()
    }
}

/// A header that must appear exactly once did not.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("header {name} must appear exactly once, found {count} values")]
pub struct HeaderCountError {
    /// The header name (lower-cased).
    pub name: String,
    /// How many values were found.
    pub count: usize,
}

impl Headers {
    /// An empty map.
    pub fn new() -> Self {
        Headers::default()
    }

    /// Adds one value to `name`.
    pub fn append(&mut self, name: &str, value: impl Into<String>) {
        self.0
            .entry(name.to_ascii_lowercase())
            .or_default()
            .push(value.into());
    }

    /// Every value of `name`, in arrival order (empty when absent).
    pub fn get_all(&self, name: &str) -> &[String] {
        self.0
            .get(&name.to_ascii_lowercase())
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.get_all(name).first().map(String::as_str)
    }

    /// The single value of `name`, or an error when it is absent or repeated (signature
    /// headers must not be ambiguous).
    pub fn get_exactly_one(&self, name: &str) -> Result<&str, HeaderCountError> {
        match self.get_all(name) {
            [one] => Ok(one),
            values => Err(HeaderCountError {
                name: name.to_ascii_lowercase(),
                count: values.len(),
            }),
        }
    }

    /// Every (lower-cased name, values) pair, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[String])> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_slice()))
    }
}

impl From<BTreeMap<String, Vec<String>>> for Headers {
    fn from(map: BTreeMap<String, Vec<String>>) -> Self {
        let mut headers = Headers::new();
        for (name, values) in map {
            for value in values {
                headers.append(&name, value);
            }
        }
        headers
    }
}

impl<N: AsRef<str>, V: Into<String>> FromIterator<(N, V)> for Headers {
    fn from_iter<I: IntoIterator<Item = (N, V)>>(iter: I) -> Self {
        let mut headers = Headers::new();
        for (name, value) in iter {
            headers.append(name.as_ref(), value);
        }
        headers
    }
}
