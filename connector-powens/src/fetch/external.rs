//! `FETCH_EXTERNAL_ACCOUNTS`: the counterparties of a PSU's transactions.
//!
//! **In the polling tree, counterparties are found by the payments scan**
//! ([`super::payments`]): each transactions page is read once, and its counterparties are
//! delivered with the page as [`connector_core::contract::PaymentChange::ExternalAccount`]
//! items (ahead of its payments, covered by the same state commit, so a restart that replays
//! a page replays its counterparties too). The tree therefore has no
//! `FETCH_EXTERNAL_ACCOUNTS` node: a second scan of every transaction only to find them
//! again would double the calls (and the rate-limit budget) of a sync.
//!
//! The capability stays, for callers that want the counterparties alone: per PSU, the
//! accounts are listed once (to know each transaction's account context and to observe
//! server time), then the user's transactions
//! (`GET /users/me/transactions?all&limit&offset[&last_update]`) are scanned with the same
//! watermark rule as payments ([`super::watermark`]), in their own state
//! ([`ExternalAccountsState`]). Each identified counterparty becomes an external account
//! (`powens-model`'s reference rule). In both paths a counterparty is emitted once per task
//! run (a bounded set of the references emitted; re-emitting one is harmless: records are
//! idempotent). Pages are read from their raw bytes by `page::read_part` (a
//! malformed row is logged and skipped) and paged like the payments scan: `_links.next`
//! authoritative, the offset moved by the rows received, a [`LinkGuard`] against endless
//! chains.

use std::collections::HashSet;
use std::sync::Arc;

use connector_core::contract::{ExternalAccountsFetcher, FetchPage, FetchRequest, PageStream};
use connector_core::model::Account;
use futures::StreamExt;
use powens_api::pagination::LinkGuard;
use powens_model::{account, AccountBook};
use serde::{Deserialize, Serialize};

use super::accounts::list_accounts;
use super::page::{page_end, read_part, rows_of};
use super::watermark::{PageEnd, Watermark};
use super::{account_last_update, mapping_context};
use crate::connector::PowensConnector;
use crate::error::to_connector_error;
use crate::flows::user_token;
use crate::state::StateFormat;

/// How many counterparty references one run remembers for de-duplication.
pub const MAX_REMEMBERED_COUNTERPARTIES: usize = 100_000;

/// The counterparty references one task run has already emitted, so that a counterparty met
/// on many pages is emitted once. Bounded: past [`MAX_REMEMBERED_COUNTERPARTIES`] the set is
/// cleared (memory stays flat; an identified counterparty emitted again is harmless).
#[derive(Debug, Default)]
pub(crate) struct SeenCounterparties {
    references: HashSet<String>,
}

impl SeenCounterparties {
    /// Whether `reference` is met for the first time (and remembers it).
    pub(crate) fn first_sight(&mut self, reference: &str) -> bool {
        if self.references.contains(reference) {
            return false;
        }
        if self.references.len() >= MAX_REMEMBERED_COUNTERPARTIES {
            self.references.clear();
        }
        self.references.insert(reference.to_owned())
    }
}

/// The state of one PSU's external accounts task (part of the storage contract,
/// [`crate::state`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExternalAccountsState {
    /// The format the state is written in (absent: format 1).
    #[serde(default)]
    pub format: StateFormat,
    /// The `last_update` watermark of the user's transactions and the scan in progress.
    #[serde(default)]
    pub watermark: Watermark,
}

impl ExternalAccountsFetcher for PowensConnector {
    fn fetch_external_accounts(&self, request: FetchRequest) -> PageStream<'_, Account> {
        let shared = Arc::clone(&self.shared);
        async_stream::try_stream! {
            let psu = Arc::clone(request.require_psu()?);
            let token = user_token(&psu)?.clone();
            let mut state: ExternalAccountsState = request.state()?;
            let ctx = mapping_context(&shared, &psu);
            let Some(accounts) = list_accounts(&shared, &psu, &token).await? else {
                yield FetchPage::new(Vec::new(), &state, false)?;
                return;
            };
            let mut book = AccountBook::new();
            for bank_account in &accounts {
                state.watermark.observe(account_last_update(bank_account, &shared));
                if let Ok(account_ctx) = account::account_context(bank_account, &ctx) {
                    book.insert(account_ctx);
                }
            }
            drop(accounts);
            let zone = shared.config.time_zone;
            let limit = shared.config.page_size;
            state.watermark.begin(shared.watermark_margin);
            let mut seen = SeenCounterparties::default();
            let mut guard = LinkGuard::new();
            loop {
                let page_offset = state.watermark.offset();
                let body = match state.watermark.link() {
                    Some(link) => {
                        let next = shared.client.resolve_next(&link.href).map_err(to_connector_error)?;
                        state.watermark.restart_linked_page();
                        shared.client.next_transactions(&token, &next).bytes().await
                    }
                    None => {
                        let query = state.watermark.query(limit, zone);
                        shared.client.transactions(&token, &query).bytes().await
                    }
                }
                .map_err(to_connector_error)?;
                let page = read_part(&body, &book, &ctx, &mut state.watermark, &psu.psu_id)?;
                let rows = rows_of(&page);
                let end = page_end(&page, page_offset, rows);
                let next = match &end {
                    PageEnd::Link(href) => Some(shared.client.resolve_next(href).map_err(to_connector_error)?),
                    _ => None,
                };
                guard
                    .page(usize::try_from(rows).unwrap_or(usize::MAX), end != PageEnd::Last, next.as_ref())
                    .map_err(to_connector_error)?;
                let externals: Vec<Account> = page
                    .external_accounts
                    .into_iter()
                    .filter(|external| seen.first_sight(&external.reference))
                    .collect();
                drop(body);
                state.watermark.end_page(rows, &end);
                let last_page = end == PageEnd::Last;
                yield FetchPage::new(externals, &state, !last_page)?;
                if last_page {
                    break;
                }
            }
        }
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_counterparty_is_emitted_at_its_first_sight_only() {
        let mut seen = SeenCounterparties::default();
        assert!(seen.first_sight("cp-1"));
        assert!(seen.first_sight("cp-2"));
        assert!(!seen.first_sight("cp-1"));
        assert!(!seen.first_sight("cp-2"));
    }

    #[test]
    fn the_remembered_set_is_bounded() {
        let mut seen = SeenCounterparties::default();
        for n in 0..MAX_REMEMBERED_COUNTERPARTIES {
            assert!(seen.first_sight(&format!("cp-{n}")));
        }
        assert_eq!(seen.references.len(), MAX_REMEMBERED_COUNTERPARTIES);
        // Full: the next new reference starts a fresh set.
        assert!(seen.first_sight("one more"));
        assert_eq!(seen.references.len(), 1);
        assert!(seen.first_sight("cp-0"), "forgotten, so emitted again");
    }
}
