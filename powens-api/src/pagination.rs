//! Following `_links.next` safely.
//!
//! Powens' pagination links are opaque. A link is followed only after [`NextLink::resolve`]
//! accepted it:
//! * an absolute URL must have the configured origin (scheme, host and port): the bearer token
//!   is never sent anywhere else;
//! * a path starting with the API root's path (`/2.0/…`, or `/prefix/2.0/…` for a prefixed
//!   endpoint) is taken from the configured origin;
//! * a path starting with `/2.0/` is put under the host root (keeps a prefix);
//! * any other path (`/users/me/transactions?…`, `users/me/…`) is taken as relative to the API
//!   root.
//!
//! [`LinkGuard`] stops a scan that is handed the same link twice (a server-side loop).

use std::collections::HashSet;

use url::Url;

use crate::client::Endpoint;
use crate::error::{Error, NextLinkProblem};

/// A pagination link that resolved to the configured origin. Only [`NextLink::resolve`] makes
/// one, so holding a `NextLink` means the host check passed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NextLink(Url);

impl NextLink {
    /// Resolves `href` against the configured endpoint (see the module docs).
    pub fn resolve(endpoint: &Endpoint, href: &str) -> Result<Self, Error> {
        let trimmed = href.trim();
        if trimmed.is_empty() {
            return Err(Error::next_link(
                href,
                NextLinkProblem::Malformed("empty link".to_owned()),
            ));
        }
        let api_root = endpoint.api_root();
        let malformed = |err: url::ParseError| {
            Error::next_link(href, NextLinkProblem::Malformed(err.to_string()))
        };
        let resolved = if trimmed.starts_with("//") {
            // Scheme-relative: an absolute URL in disguise.
            api_root.join(trimmed).map_err(malformed)?
        } else if let Some(path) = trimmed.strip_prefix('/') {
            if trimmed.starts_with(api_root.path()) {
                api_root.join(trimmed).map_err(malformed)?
            } else if trimmed.starts_with("/2.0/") {
                endpoint.host_root().join(path).map_err(malformed)?
            } else {
                api_root.join(path).map_err(malformed)?
            }
        } else {
            match Url::parse(trimmed) {
                Ok(absolute) => absolute,
                Err(url::ParseError::RelativeUrlWithoutBase) => {
                    api_root.join(trimmed).map_err(malformed)?
                }
                Err(err) => return Err(malformed(err)),
            }
        };
        let expected = api_root.origin();
        let found = resolved.origin();
        if expected != found {
            return Err(Error::next_link(
                href,
                NextLinkProblem::ForeignHost {
                    expected: expected.ascii_serialization(),
                    found: found.ascii_serialization(),
                },
            ));
        }
        Ok(Self(resolved))
    }

    /// The resolved URL.
    pub fn url(&self) -> &Url {
        &self.0
    }
}

/// Remembers the links a scan followed and refuses one seen before.
#[derive(Debug, Clone, Default)]
pub struct LinkGuard {
    seen: HashSet<String>,
}

impl LinkGuard {
    /// An empty guard (one per scan).
    pub fn new() -> Self {
        Self::default()
    }

    /// Records `link`; fails with [`NextLinkProblem::Repeated`] when it was recorded before.
    pub fn check(&mut self, link: &NextLink) -> Result<(), Error> {
        if self.seen.insert(link.0.as_str().to_owned()) {
            Ok(())
        } else {
            Err(Error::next_link(link.0.as_str(), NextLinkProblem::Repeated))
        }
    }

    /// Number of distinct links recorded.
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    /// `true` before the first link.
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }
}
