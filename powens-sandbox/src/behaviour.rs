//! Server behaviours: the knobs where a real Powens domain may answer in several ways (row order,
//! short pages, the shape of `_links`, `noAccount`, endless next chains, state-only reconnect
//! redirects), and named [`Profile`]s that bundle them.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::control::MaturationMode;

/// How the sandbox's routes behave where Powens allows several behaviours. The default is the
/// sandbox's historical behaviour (oldest first, full pages, absolute links, empty lists for a
/// user without connections, chains that end, reconnect redirects with connection ids).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerBehaviour {
    /// Order of transaction listings (default [`RowOrder::OldestFirst`] = ascending id).
    pub order: RowOrder,
    /// Serve at most this many rows per transactions page even when `limit` is larger; the
    /// page then carries a `_links.next` whose offset is `offset + rows served` (`None` = serve
    /// `limit`). `Some(0)` is taken as `Some(1)`.
    pub page_cap: Option<u32>,
    /// How `_links.next.href` (and `self`, `prev`) is written.
    pub next_link: NextLinkForm,
    /// `GET /users/me/accounts` (and `/users/me/connections/{id}/accounts`,
    /// `/users/me/transactions`, account transactions) for a user without any connection
    /// answers `400 {"code": "noAccount", …}` like real Powens (default `false`: an empty list).
    pub no_account_error: bool,
    /// After the real last page, keep answering with empty pages that still carry a
    /// `_links.next` (pointing at the next offset) forever: an endless chain.
    pub endless_next: bool,
    /// The Webview `/reconnect` redirect carries only `state` (no `connection_id` /
    /// `connection_ids`), as real Powens does.
    pub reconnect_state_only: bool,
}

/// The order of transaction listings. Every order is a fixed total order on transaction ids,
/// so the same rows come in the same order on every request, and a row inserted later only
/// pushes the rows that sort after it one place back (it never moves a row ahead of it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RowOrder {
    /// Ascending id: rows inserted during a scan come after every row already listed.
    #[default]
    OldestFirst,
    /// Descending id: rows inserted during a scan come first and push every other row back
    /// (an offset scan re-reads some rows, never loses one).
    NewestFirst,
    /// Neither: ascending by a seeded hash of the id (a fixed permutation keyed by id and the
    /// sandbox seed). Stable for an unchanged row set and under inserts.
    Interleaved,
}

/// How `_links` hrefs are written on transaction pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NextLinkForm {
    /// `{"href": "http://127.0.0.1:PORT/2.0/users/me/transactions?…"}`.
    #[default]
    Absolute,
    /// `{"href": "/2.0/users/me/transactions?…"}`.
    RootRelative,
    /// `"next": "http://127.0.0.1:PORT/2.0/users/me/transactions?…"`: a string, not an object.
    BareString,
    /// No `_links` member at all: the client must rely on short pages (do not combine with a
    /// [`ServerBehaviour::page_cap`] below the client's `limit`: no client can tell a capped
    /// page from the last one then).
    Absent,
}

/// Named bundles of behaviours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Profile {
    /// [`ServerBehaviour::default`] and [`MaturationMode::KeepId`]: the sandbox's historical
    /// behaviour.
    #[default]
    Default,
    /// What a real Powens domain does: newest first, pages capped at 7 rows with root-relative
    /// next links, `400 noAccount` for a user without connections, state-only reconnect
    /// redirects, and [`MaturationMode::Mixed`] (see the crate documentation).
    Realistic,
}

impl Profile {
    /// Every profile, in documentation order.
    pub const ALL: [Profile; 2] = [Profile::Default, Profile::Realistic];

    /// The profile's name as parsed and displayed (`default`, `realistic`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Default => "default",
            Self::Realistic => "realistic",
        }
    }

    /// The server behaviour of this profile.
    pub fn behaviour(self) -> ServerBehaviour {
        match self {
            Self::Default => ServerBehaviour::default(),
            Self::Realistic => ServerBehaviour {
                order: RowOrder::NewestFirst,
                page_cap: Some(REALISTIC_PAGE_CAP),
                next_link: NextLinkForm::RootRelative,
                no_account_error: true,
                endless_next: false,
                reconnect_state_only: true,
            },
        }
    }

    /// How pending rows mature under this profile.
    pub fn maturation_mode(self) -> MaturationMode {
        match self {
            Self::Default => MaturationMode::KeepId,
            Self::Realistic => MaturationMode::Mixed,
        }
    }
}

/// The page cap of [`Profile::Realistic`]: below any page size of 8 or more, so pages are short
/// yet not last.
pub const REALISTIC_PAGE_CAP: u32 = 7;

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A profile name that is not one of [`Profile::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown sandbox profile {given:?}: expected one of default, realistic")]
pub struct UnknownProfile {
    /// What was given.
    pub given: String,
}

impl FromStr for Profile {
    type Err = UnknownProfile;

    /// `default` or `realistic` (ASCII case and surrounding spaces ignored).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim();
        Self::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(wanted))
            .ok_or_else(|| UnknownProfile {
                given: s.to_owned(),
            })
    }
}

impl ServerBehaviour {
    /// Rows served on a page asked with `limit`.
    pub(crate) fn page_size(&self, limit: u64) -> u64 {
        match self.page_cap {
            Some(cap) => limit.min(u64::from(cap.max(1))),
            None => limit,
        }
    }
}

/// The key of [`RowOrder::Interleaved`]: a splitmix64 hash of the id mixed with the seed (a
/// bijection of `id`, so ties never happen).
pub(crate) fn interleaved_key(seed: u64, id: u64) -> u64 {
    let mut z = id ^ seed.rotate_left(17) ^ 0x5EED_F1D5;
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_parse_by_name_and_display_it() {
        for p in Profile::ALL {
            assert_eq!(p.to_string().parse::<Profile>(), Ok(p));
        }
        assert_eq!(" Realistic ".parse::<Profile>(), Ok(Profile::Realistic));
        let err = "live".parse::<Profile>().unwrap_err();
        assert!(err.to_string().contains("default, realistic"), "{err}");
    }

    #[test]
    fn the_interleaved_key_is_a_bijection_on_small_ids() {
        let mut keys: Vec<u64> = (0..10_000).map(|id| interleaved_key(7, id)).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), 10_000);
    }
}
