//! `FETCH_EXTERNAL_ACCOUNTS`: the counterparties of a PSU's transactions.
//!
//! Per PSU: the accounts are listed once (to know each transaction's account context and
//! to observe server time), then the user's transactions
//! (`GET /users/me/transactions?all&limit&offset[&last_update]`) are scanned with the same
//! watermark rule as payments ([`super::watermark`]), in their own state
//! ([`ExternalAccountsState`]). Each identified counterparty becomes an external account
//! (`powens-model`'s reference rule); within one run a counterparty is emitted once (a
//! bounded set of the references already emitted, cleared past
//! [`MAX_REMEMBERED_COUNTERPARTIES`]; re-emitting one is harmless). Pages are read from
//! their raw bytes by [`super::page::read_page`]: a malformed row is logged and skipped.

use std::collections::HashSet;
use std::sync::Arc;

use connector_core::contract::{ExternalAccountsFetcher, FetchPage, FetchRequest, PageStream};
use connector_core::model::Account;
use futures::StreamExt;
use powens_api::accounts::AccountsQuery;
use powens_model::{account, AccountBook};
use serde::{Deserialize, Serialize};

use super::page::read_page;
use super::watermark::Watermark;
use super::{account_last_update, mapping_context};
use crate::connector::PowensConnector;
use crate::error::to_connector_error;
use crate::flows::user_token;

/// How many counterparty references one run remembers for de-duplication.
pub const MAX_REMEMBERED_COUNTERPARTIES: usize = 100_000;

/// The state of one PSU's external accounts task.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExternalAccountsState {
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
            let accounts = shared
                .client
                .list_accounts(&token, &AccountsQuery::new().all(true))
                .await
                .map_err(to_connector_error)?;
            let mut book = AccountBook::new();
            for bank_account in &accounts.accounts {
                state.watermark.observe(account_last_update(bank_account, &shared));
                if let Ok(account_ctx) = account::account_context(bank_account, &ctx) {
                    book.insert(account_ctx);
                }
            }
            drop(accounts);
            let zone = shared.config.time_zone;
            let limit = shared.config.page_size;
            state.watermark.begin(shared.watermark_margin);
            let mut emitted: HashSet<String> = HashSet::new();
            loop {
                let query = state.watermark.query(limit, zone);
                let body = shared
                    .client
                    .list_transactions_raw(&token, &query)
                    .await
                    .map_err(to_connector_error)?;
                let page = read_page(&body, &book, &ctx, limit, &mut state.watermark, &psu.psu_id)?;
                let last_page = page.last_page;
                let mut externals = Vec::new();
                for external in page.mapped.external_accounts {
                    if emitted.len() >= MAX_REMEMBERED_COUNTERPARTIES {
                        emitted.clear();
                    }
                    if emitted.insert(external.reference.clone()) {
                        externals.push(external);
                    }
                }
                drop(body);
                state.watermark.advance(limit, last_page);
                yield FetchPage::new(externals, &state, !last_page)?;
                if last_page {
                    break;
                }
            }
        }
        .boxed()
    }
}
