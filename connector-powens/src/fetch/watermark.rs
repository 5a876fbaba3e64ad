//! The `last_update` watermark of a transaction scan, and the rule that keeps it safe.
//!
//! A **scan** reads `GET …/transactions?all&limit=<pageSize>&offset=<n>[&last_update=<since>]`
//! page after page, committing the offset after each page. Powens (and the sandbox) list rows
//! in ascending id order and, with `all`, keep deleted rows in place as tombstones, so a row
//! never moves to an offset already read: a scan sees every row whose `last_update` was
//! after `since` when the scan started, and rows that change while it runs carry a
//! `last_update` at or after the scan's start.
//!
//! **The next watermark** must therefore be strictly before the server clock at the scan's
//! start. The connector cannot read that clock (the client does not expose the `Date`
//! header), but every server timestamp it has *already observed* is a lower bound of it: the
//! `last_update` of rows read in earlier pages and scans, and the parent account's
//! `last_update` from the accounts listing of this cycle. The state keeps their maximum
//! ([`Watermark::server_time_floor`]); when a scan starts, its successor's watermark is fixed
//! at `floor − margin` ([`ScanProgress::next_since`]). The margin (10 minutes by default)
//! absorbs rows committed a little after the time they were stamped with. The cost is that a
//! scan re-reads the rows of the last margin before the floor: duplicates, which are
//! idempotent.
//!
//! The first scan has no watermark and reads the whole history. A restart resumes from the
//! committed offset with the same `since` and `next_since`.
//!
//! `since` is sent as a naive wall-clock time in the configured zone (Europe/Paris), floored
//! to the second; inside the autumn DST fold (when the wall time is ambiguous) it is moved one
//! more hour back so that the server's naive comparison cannot skip a row.

use chrono::{DateTime, LocalResult, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use powens_api::transactions::TransactionsQuery;
use powens_api::wire::PowensDateTime;
use serde::{Deserialize, Serialize};

/// The progress of the scan in progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScanProgress {
    /// Rows of this scan already read and committed (the next `offset`).
    pub offset: u64,
    /// The watermark the next scan starts from, fixed when this scan started (`None`: the
    /// next scan reads the whole history again, only when no server time was ever observed).
    pub next_since: Option<DateTime<Utc>>,
}

/// The resumable `last_update` watermark of one scan target (an account, or a user).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Watermark {
    /// Rows updated strictly after this instant are read; `None`: the whole history.
    pub since: Option<DateTime<Utc>>,
    /// The scan in progress; `None` between scans.
    #[serde(default)]
    pub scan: Option<ScanProgress>,
    /// The latest server timestamp observed so far (a lower bound of the server clock).
    #[serde(default)]
    pub server_time_floor: Option<DateTime<Utc>>,
}

impl Watermark {
    /// Records a server timestamp observed now.
    pub fn observe(&mut self, at: Option<DateTime<Utc>>) {
        if let Some(at) = at {
            if self.server_time_floor.is_none_or(|floor| at > floor) {
                self.server_time_floor = Some(at);
            }
        }
    }

    /// Starts a scan unless one is in progress (a restart resumes it).
    pub fn begin(&mut self, margin: TimeDelta) {
        if self.scan.is_none() {
            let next_since = self
                .server_time_floor
                .and_then(|floor| floor.checked_sub_signed(margin));
            self.scan = Some(ScanProgress {
                offset: 0,
                next_since,
            });
        }
    }

    /// The committed offset of the scan in progress.
    pub fn offset(&self) -> u64 {
        self.scan.map_or(0, |s| s.offset)
    }

    /// Whether this scan reads the whole history (no watermark yet).
    pub fn is_full_scan(&self) -> bool {
        self.since.is_none()
    }

    /// The query of the next page.
    pub fn query(&self, limit: u32, zone: Tz) -> TransactionsQuery {
        let mut query = TransactionsQuery::new(limit)
            .offset(self.offset())
            .all(true);
        if let Some(since) = self.since {
            query = query.last_update(query_instant(since, zone));
        }
        query
    }

    /// Moves past the first `rows` rows of the page at the current offset, when a part of the
    /// page was delivered before its end: a restart resumes after them. The page's end then
    /// moves past the rest of it (`advance(limit − rows, …)`).
    pub fn advance_rows(&mut self, rows: u64) {
        if let Some(scan) = self.scan.as_mut() {
            scan.offset = scan.offset.saturating_add(rows);
        }
    }

    /// Moves past a page of `limit` rows; at the last page, the scan ends and the next one
    /// starts from its `next_since`.
    pub fn advance(&mut self, limit: u32, last_page: bool) {
        if let Some(scan) = self.scan.as_mut() {
            if last_page {
                self.since = scan.next_since;
                self.scan = None;
            } else {
                scan.offset = scan.offset.saturating_add(u64::from(limit));
            }
        }
    }
}

/// `since` as the naive wall-clock time Powens compares `last_update` with (see the module
/// docs for the DST fold).
pub fn query_instant(since: DateTime<Utc>, zone: Tz) -> PowensDateTime {
    let wall = since.with_timezone(&zone).naive_local();
    let wall = wall
        .checked_sub_signed(TimeDelta::nanoseconds(i64::from(
            wall.and_utc().timestamp_subsec_nanos(),
        )))
        .unwrap_or(wall);
    let wall = match zone.from_local_datetime(&wall) {
        LocalResult::Ambiguous(_, _) => {
            wall.checked_sub_signed(TimeDelta::hours(1)).unwrap_or(wall)
        }
        _ => wall,
    };
    PowensDateTime::naive(wall)
}
