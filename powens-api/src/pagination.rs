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

/// The guard of one scan: it makes every scan end, whatever the server sends.
///
/// * a link handed twice (a server-side loop, or a `next` that does not advance) fails with
///   [`NextLinkProblem::Repeated`];
/// * more than [`LinkGuard::DEFAULT_MAX_EMPTY_PAGES`] pages in a row without a row that still
///   carry a `next` (an endless chain of empty pages) fail with
///   [`NextLinkProblem::EmptyPages`];
/// * more than [`LinkGuard::DEFAULT_MAX_PAGES`] pages in one scan fail with
///   [`NextLinkProblem::TooManyPages`], a last resort against a server that keeps sending
///   rows under new links.
///
/// Links are remembered as 64-bit hashes (8 bytes each, whatever the link's length), so a scan
/// of a hundred thousand pages holds under a megabyte.
#[derive(Debug, Clone)]
pub struct LinkGuard {
    seen: HashSet<u64>,
    empty_in_a_row: u32,
    pages: u64,
    max_empty_pages: u32,
    max_pages: u64,
}

impl Default for LinkGuard {
    fn default() -> Self {
        Self::with_limits(Self::DEFAULT_MAX_EMPTY_PAGES, Self::DEFAULT_MAX_PAGES)
    }
}

impl LinkGuard {
    /// Empty pages with a `next` accepted in a row before the scan is stopped.
    pub const DEFAULT_MAX_EMPTY_PAGES: u32 = 3;
    /// Pages one scan may read (at `limit=1000`, a hundred million rows).
    pub const DEFAULT_MAX_PAGES: u64 = 100_000;

    /// A guard with the default bounds (one per scan).
    pub fn new() -> Self {
        Self::default()
    }

    /// A guard stopping after `max_empty_pages` empty pages in a row that still have a `next`,
    /// or after `max_pages` pages.
    pub fn with_limits(max_empty_pages: u32, max_pages: u64) -> Self {
        Self {
            seen: HashSet::new(),
            empty_in_a_row: 0,
            pages: 0,
            max_empty_pages,
            max_pages,
        }
    }

    /// Records `link`; fails with [`NextLinkProblem::Repeated`] when it was recorded before.
    pub fn check(&mut self, link: &NextLink) -> Result<(), Error> {
        if self.seen.insert(link_hash(link.0.as_str())) {
            Ok(())
        } else {
            Err(Error::next_link(link.0.as_str(), NextLinkProblem::Repeated))
        }
    }

    /// Records a page of `rows` rows after which the scan `continues` (at `next` when the
    /// server gave a link, which is checked like [`LinkGuard::check`]). Fails when the scan
    /// must stop (see the type docs); the last page of a scan is never refused.
    pub fn page(
        &mut self,
        rows: usize,
        continues: bool,
        next: Option<&NextLink>,
    ) -> Result<(), Error> {
        self.pages = self.pages.saturating_add(1);
        let continues = continues || next.is_some();
        let href = next.map_or("", |link| link.0.as_str());
        if continues && self.pages >= self.max_pages {
            return Err(Error::next_link(
                href,
                NextLinkProblem::TooManyPages {
                    limit: self.max_pages,
                },
            ));
        }
        if rows == 0 && continues {
            self.empty_in_a_row = self.empty_in_a_row.saturating_add(1);
            if self.empty_in_a_row > self.max_empty_pages {
                return Err(Error::next_link(
                    href,
                    NextLinkProblem::EmptyPages {
                        pages: self.empty_in_a_row,
                    },
                ));
            }
        } else {
            self.empty_in_a_row = 0;
        }
        match next {
            Some(link) => self.check(link),
            None => Ok(()),
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

/// A 64-bit hash of a link (`DefaultHasher::new()` has fixed keys: the same hash for the same
/// link during a scan).
fn link_hash(link: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::hash::DefaultHasher::new();
    link.hash(&mut hasher);
    hasher.finish()
}
