//! The `last_update` watermark of a transaction scan, and the rule that keeps it safe.
//!
//! A **scan** reads `GET …/transactions?all&limit=<pageSize>&offset=<n>[&last_update=<since>]`
//! page after page, committing its position after each page (or part of a page). The next
//! page is where the server's `_links.next` points when it sends one (a page may hold fewer
//! rows than `limit` and still not be the last), else at the offset after the rows actually
//! received ([`PageEnd`]). With `all`, Powens keeps deleted rows in place as tombstones, so a
//! row inserted during the scan can only push rows to later offsets (read twice: duplicates
//! are idempotent), never to an offset already read, whatever the order the server lists
//! them in (oldest or newest first); a row that changes during the scan carries a
//! `last_update` at or after the scan's start, so the next scan reads it again.
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScanProgress {
    /// Rows of this scan already read and committed (the next `offset`).
    pub offset: u64,
    /// The watermark the next scan starts from, fixed when this scan started (`None`: the
    /// next scan reads the whole history again, only when no server time was ever observed).
    pub next_since: Option<DateTime<Utc>>,
    /// The page to read next when the server said where it is (`_links.next`); `None`: the
    /// page at `offset`. Absent from states written before links were followed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<PageLink>,
}

/// A page the server pointed at with `_links.next`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PageLink {
    /// The link as the server sent it (resolved and checked again before it is followed).
    pub href: String,
    /// The scan's offset at that page's first row: a restart in the middle of the page reads
    /// it again from there (the rows already delivered come again: delivery is at least
    /// once).
    pub offset: u64,
}

/// How a page ends, read from its envelope (see [`PageEnd::of`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageEnd {
    /// The scan is over.
    Last,
    /// The next page is at this link (already resolved against the endpoint by the caller).
    Link(String),
    /// The next page is at the offset after this page's rows (a server that sends no links).
    Offset,
}

impl PageEnd {
    /// The end of a page of `rows` rows that started at `page_offset`, from what its
    /// envelope says:
    ///
    /// * a `_links.next` is authoritative, whatever the page's length (a server may serve
    ///   fewer rows than `limit` on a page that is not the last);
    /// * `_links` without `next`, or no link and no row: the last page;
    /// * no `_links` but a `total`: the last page once `page_offset + rows` reaches it;
    /// * neither: the scan goes on until a page comes back empty (one more request, rather
    ///   than guessing from a short page).
    pub fn of(
        next_href: Option<&str>,
        has_links: bool,
        total: Option<u64>,
        page_offset: u64,
        rows: u64,
    ) -> Self {
        match (next_href, has_links, total) {
            (Some(href), _, _) => Self::Link(href.to_owned()),
            (None, true, _) => Self::Last,
            // Without a link, an empty page ends the scan (the offset would not move).
            (None, false, _) if rows == 0 => Self::Last,
            (None, false, Some(total)) if page_offset.saturating_add(rows) >= total => Self::Last,
            _ => Self::Offset,
        }
    }
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
    pub(crate) fn observe(&mut self, at: Option<DateTime<Utc>>) {
        if let Some(at) = at {
            if self.server_time_floor.is_none_or(|floor| at > floor) {
                self.server_time_floor = Some(at);
            }
        }
    }

    /// Starts a scan unless one is in progress (a restart resumes it).
    pub(crate) fn begin(&mut self, margin: TimeDelta) {
        if self.scan.is_none() {
            let next_since = self
                .server_time_floor
                .and_then(|floor| floor.checked_sub_signed(margin));
            self.scan = Some(ScanProgress {
                offset: 0,
                next_since,
                link: None,
            });
        }
    }

    /// The committed offset of the scan in progress.
    pub(crate) fn offset(&self) -> u64 {
        self.scan.as_ref().map_or(0, |s| s.offset)
    }

    /// The link of the next page, when the server gave one.
    pub(crate) fn link(&self) -> Option<&PageLink> {
        self.scan.as_ref().and_then(|s| s.link.as_ref())
    }

    /// Whether this scan reads the whole history (no watermark yet).
    pub(crate) fn is_full_scan(&self) -> bool {
        self.since.is_none()
    }

    /// The query of the page at the committed offset.
    pub(crate) fn query(&self, limit: u32, zone: Tz) -> TransactionsQuery {
        let mut query = TransactionsQuery::new(limit)
            .offset(self.offset())
            .all(true);
        if let Some(since) = self.since {
            query = query.last_update(query_instant(since, zone));
        }
        query
    }

    /// Reading the page of [`Watermark::link`] starts at its first row: the offset goes back
    /// to it (rows of that page delivered before a restart are read again).
    pub(crate) fn restart_linked_page(&mut self) {
        if let Some(scan) = self.scan.as_mut() {
            if let Some(link) = &scan.link {
                scan.offset = link.offset;
            }
        }
    }

    /// Moves past the first `rows` rows of the page being read, when a part of it was
    /// delivered before its end: a restart resumes after them (or, for a linked page, at
    /// its start). The page's end then moves past the rest of it ([`Watermark::end_page`]).
    pub(crate) fn advance_rows(&mut self, rows: u64) {
        if let Some(scan) = self.scan.as_mut() {
            scan.offset = scan.offset.saturating_add(rows);
        }
    }

    /// Ends the page being read: moves past its last `rows` rows (those not yet counted by
    /// [`Watermark::advance_rows`]) and to what `end` says comes next; at the last page, the
    /// scan ends and the next one starts from its `next_since`.
    pub(crate) fn end_page(&mut self, rows: u64, end: &PageEnd) {
        if let Some(scan) = self.scan.as_mut() {
            scan.offset = scan.offset.saturating_add(rows);
            match end {
                PageEnd::Last => {
                    self.since = scan.next_since;
                    self.scan = None;
                }
                PageEnd::Link(href) => {
                    scan.link = Some(PageLink {
                        href: href.clone(),
                        offset: scan.offset,
                    });
                }
                PageEnd::Offset => scan.link = None,
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
