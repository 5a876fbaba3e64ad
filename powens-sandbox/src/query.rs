//! Transaction listing: filters, the order, offset pages and their envelope.
//!
//! Order ([`RowOrder`]): ascending transaction id by default. Ids only grow, so rows inserted
//! while a client pages land after every row it has already read, and with `all` a deleted or
//! matured row keeps its place (as a tombstone), so `offset` paging neither skips nor repeats
//! rows during a scan. Newest first and interleaved are fixed total orders on ids too: an
//! insert only pushes the rows after it one place back (re-read, never skipped).
//!
//! The matching positions of a query (in its order, which is part of the cache key) are cached
//! per user and reused while the user's data does not change, so paging a million rows costs
//! one filter pass, not one per page.

use chrono::NaiveDate;

use crate::behaviour::{interleaved_key, NextLinkForm, RowOrder};
use crate::json::JsonWriter;
use crate::model::{to_secs, Account};
use crate::render::{write_tx, TxContext};
use crate::store::{Store, User};

/// Which date `min_date`/`max_date` apply to (`filter` parameter).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum DateField {
    /// `application_date` (the Powens default).
    #[default]
    Application,
    /// `date`.
    Date,
}

/// The filters of one transactions listing.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct TxQuery {
    pub(crate) account: Option<u64>,
    pub(crate) all: bool,
    /// `deleted=true`: only tombstones; `deleted=false`: only live rows.
    pub(crate) deleted: Option<bool>,
    pub(crate) last_update: Option<i64>,
    pub(crate) min_date: Option<NaiveDate>,
    pub(crate) max_date: Option<NaiveDate>,
    pub(crate) date_field: DateField,
    /// The listing order (from the sandbox's [`ServerBehaviour`]; part of the cache key).
    pub(crate) order: RowOrder,
}

/// A computed query: the matching positions in `User::txs`, in the query's order.
#[derive(Debug, Clone)]
pub(crate) struct CachedQuery {
    key: TxQuery,
    version: u64,
    positions: Vec<u32>,
    first_date: Option<NaiveDate>,
    last_date: Option<NaiveDate>,
}

const CACHE_SIZE: usize = 8;

impl User {
    fn cached_query(&mut self, q: &TxQuery, seed: u64) -> usize {
        if let Some(i) = self
            .cache
            .iter()
            .position(|c| c.key == *q && c.version == self.version)
        {
            return i;
        }
        let hidden: Vec<u64> = self
            .accounts
            .iter()
            .filter(|a| !a.visible())
            .map(|a| a.id)
            .collect();
        let mut positions = Vec::new();
        let mut first_date: Option<NaiveDate> = None;
        let mut last_date: Option<NaiveDate> = None;
        let candidates: Box<dyn Iterator<Item = u32> + '_> = match q.account {
            Some(a) => Box::new(self.by_account.get(&a).into_iter().flatten().copied()),
            None => Box::new(0..self.txs.len() as u32),
        };
        for pos in candidates {
            let Some(tx) = self.txs.get(pos as usize) else {
                continue;
            };
            match q.deleted {
                Some(wanted) if tx.is_deleted() != wanted => continue,
                None if tx.is_deleted() && !q.all => continue,
                _ => {}
            }
            if q.last_update.is_some_and(|lu| tx.last_update <= lu) {
                continue;
            }
            let filtered_date = match q.date_field {
                DateField::Application => tx.rdate,
                DateField::Date => tx.date,
            };
            if q.min_date.is_some_and(|d| filtered_date < d)
                || q.max_date.is_some_and(|d| filtered_date > d)
            {
                continue;
            }
            if q.account.is_none() && !hidden.is_empty() && hidden.contains(&tx.account_id) {
                continue;
            }
            first_date = Some(first_date.map_or(tx.date, |d| d.min(tx.date)));
            last_date = Some(last_date.map_or(tx.date, |d| d.max(tx.date)));
            positions.push(pos);
        }
        match q.order {
            RowOrder::OldestFirst => {}
            RowOrder::NewestFirst => positions.reverse(),
            RowOrder::Interleaved => {
                let txs = &self.txs;
                positions.sort_by_cached_key(|&p| {
                    txs.get(p as usize)
                        .map_or(0, |t| interleaved_key(seed, t.id))
                });
            }
        }
        let entry = CachedQuery {
            key: q.clone(),
            version: self.version,
            positions,
            first_date,
            last_date,
        };
        self.cache.retain(|c| c.version == self.version);
        if self.cache.len() >= CACHE_SIZE {
            self.cache.remove(0);
        }
        self.cache.push(entry);
        self.cache.len() - 1
    }
}

/// Parses a `min_date`/`max_date` bound: `YYYY-MM-DD`, `YYYY-MM` or `YYYY`. A month or year is
/// widened to its first day (lower bound) or last day (upper bound).
pub(crate) fn parse_date_bound(text: &str, upper: bool) -> Option<NaiveDate> {
    let text = text.trim();
    if let Ok(d) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Some(d);
    }
    let parts: Vec<&str> = text.split('-').collect();
    let year: i32 = parts.first()?.parse().ok()?;
    if parts.first()?.len() != 4 {
        return None;
    }
    match parts.len() {
        1 => NaiveDate::from_ymd_opt(year, if upper { 12 } else { 1 }, if upper { 31 } else { 1 }),
        2 => {
            let month: u32 = parts.get(1)?.parse().ok()?;
            let first = NaiveDate::from_ymd_opt(year, month, 1)?;
            if upper {
                let next = if month == 12 {
                    NaiveDate::from_ymd_opt(year + 1, 1, 1)?
                } else {
                    NaiveDate::from_ymd_opt(year, month + 1, 1)?
                };
                next.pred_opt()
            } else {
                Some(first)
            }
        }
        _ => None,
    }
}

/// Renders one page of transactions with its envelope, as the sandbox's [`ServerBehaviour`]
/// says: its order, its page cap, its `_links` form and its endless chain. `link(offset)` builds
/// the root-relative URL (`/2.0/…?…`) of the page at `offset` (same filters); `base_url` is
/// prefixed for absolute links. Returns the body and the number of rows in the page.
pub(crate) fn render_page(
    store: &mut Store,
    user_id: u64,
    query: &TxQuery,
    offset: u64,
    limit: u64,
    link: &dyn Fn(u64) -> String,
    base_url: &str,
) -> Option<(Vec<u8>, usize)> {
    let Store {
        users,
        wordings,
        stemmed,
        counterparties,
        behaviour,
        seed,
        ..
    } = store;
    let query = TxQuery {
        order: behaviour.order,
        ..query.clone()
    };
    let user = users.get_mut(&user_id)?;
    let idx = user.cached_query(&query, *seed);
    let user: &User = user;
    let cached = user.cache.get(idx)?;
    let total = cached.positions.len() as u64;
    let page_size = behaviour.page_size(limit);
    let start = offset.min(total) as usize;
    let end = offset.saturating_add(page_size).min(total) as usize;
    let page = cached.positions.get(start..end).unwrap_or(&[]);
    let ctx = TxContext::new(user, wordings, stemmed, counterparties);
    let mut w = JsonWriter::with_capacity(256 + page.len() * 1100);
    w.begin_object();
    w.key("transactions");
    w.begin_array();
    let mut min_date: Option<NaiveDate> = None;
    let mut max_date: Option<NaiveDate> = None;
    for &pos in page {
        if let Some(tx) = user.txs.get(pos as usize) {
            w.item();
            write_tx(&mut w, tx, &ctx);
            min_date = Some(min_date.map_or(tx.date, |d| d.min(tx.date)));
            max_date = Some(max_date.map_or(tx.date, |d| d.max(tx.date)));
        }
    }
    w.end_array();
    for (key, value) in [
        ("first_date", cached.first_date),
        ("last_date", cached.last_date),
        ("result_min_date", min_date),
        ("result_max_date", max_date),
    ] {
        w.key(key);
        match value {
            Some(d) => w.date(d),
            None => w.null(),
        }
    }
    w.key("total");
    w.u64(total);
    let served = page.len() as u64;
    let next = if offset.saturating_add(served) < total {
        Some(offset.saturating_add(served))
    } else if behaviour.endless_next {
        // Past the end: empty pages whose next link still moves on by a page.
        Some(offset.saturating_add(if served > 0 { served } else { page_size }))
    } else {
        None
    };
    let form = behaviour.next_link;
    if form != NextLinkForm::Absent {
        let href = |offset: u64| match form {
            NextLinkForm::RootRelative => link(offset),
            _ => format!("{base_url}{}", link(offset)),
        };
        w.key("_links");
        w.begin_object();
        w.key("self");
        write_href(&mut w, form, Some(href(offset)));
        w.key("next");
        write_href(&mut w, form, next.map(href));
        w.key("prev");
        write_href(
            &mut w,
            form,
            (offset > 0).then(|| href(offset.saturating_sub(page_size))),
        );
        w.end_object();
    }
    w.end_object();
    Some((w.into_bytes(), page.len()))
}

fn write_href(w: &mut JsonWriter, form: NextLinkForm, href: Option<String>) {
    match href {
        Some(h) if form == NextLinkForm::BareString => w.string(&h),
        Some(h) => {
            w.begin_object();
            w.key("href");
            w.string(&h);
            w.end_object();
        }
        None => w.null(),
    }
}

/// Seconds of a `last_update` query value (naive Paris time).
pub(crate) fn last_update_bound(text: &str) -> Option<i64> {
    crate::clock::parse_naive_datetime(text).map(to_secs)
}

/// Accounts of a user visible for a listing (`all` reveals disabled and deleted ones).
pub(crate) fn visible_accounts(
    user: &User,
    connection: Option<u64>,
    all: bool,
) -> impl Iterator<Item = &Account> + Clone {
    user.accounts
        .iter()
        .filter(move |a| connection.is_none_or(|c| a.id_connection == c) && (all || a.visible()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_bounds_accept_day_month_and_year() {
        let d = |s| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(parse_date_bound("2026-02-14", false), Some(d("2026-02-14")));
        assert_eq!(parse_date_bound("2026-02", false), Some(d("2026-02-01")));
        assert_eq!(parse_date_bound("2026-02", true), Some(d("2026-02-28")));
        assert_eq!(parse_date_bound("2026-12", true), Some(d("2026-12-31")));
        assert_eq!(parse_date_bound("2026", false), Some(d("2026-01-01")));
        assert_eq!(parse_date_bound("2026", true), Some(d("2026-12-31")));
        assert_eq!(parse_date_bound("yesterday", true), None);
        assert_eq!(parse_date_bound("2026-13", true), None);
    }
}
