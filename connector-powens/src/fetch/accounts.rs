//! `FETCH_ACCOUNTS` (per PSU) and `FETCH_BALANCES` (from the account payload).
//!
//! Accounts: one `GET /users/me/connections?expand=all_accounts` per cycle, its accounts
//! (disabled ones included) flattened and sorted by id, mapped by `powens-model` (disabled
//! and deleted accounts are emitted with `com.powens.spec/disabled` / `deleted` metadata),
//! split into pages of `page_size`. The same listing carries the connections' health: it is
//! kept for the PSU's [`connection_events`](crate::PowensConnector::connection_events) of
//! the same cycle, which then makes no call of its own (one request for both; an idle cycle
//! costs 1 + one per account). A user who has not linked a bank yet (Powens answers
//! `400 noAccount`, or an empty list) has nothing to sync: one empty page, not a failure. The state is JSON `null` on every page, so every cycle
//! lists the accounts again (there is no cursor to keep: the listing is one call).
//!
//! Balances: the parent account's `raw` payload is decoded back into a Powens `BankAccount`
//! and mapped (booked = `balance`, available = `coming_balance` or `balance + coming`): no API
//! call.

use std::sync::Arc;

use connector_core::contract::{
    AccountsFetcher, BalancesFetcher, FetchPage, FetchRequest, PageStream,
};
use connector_core::model::{Account, Balance};
use connector_core::openbanking::ForwardedUser;
use connector_core::ConnectorError;
use futures::StreamExt;
use powens_api::accounts::BankAccount;
use powens_api::connections::{ConnectionExpand, ConnectionsQuery};
use powens_api::error::ErrorCode;
use powens_model::account;
use secrecy::SecretString;

use super::{log_skipped, mapping_context, skipped_objects};
use crate::connector::{PowensConnector, Shared};
use crate::error::to_connector_error;
use crate::flows::user_token;

/// The Powens account behind a parent account record: its `raw` payload (the account exactly as
/// Powens sent it), decoded once per task. The record itself reaches the task typed (the
/// engine hands it over as an `Arc<Account>`, no JSON round trip).
pub fn parent_bank_account(request: &FetchRequest) -> Result<BankAccount, ConnectorError> {
    let parent = request.parent_account()?;
    serde_json::from_str(parent.raw.get()).map_err(|e| ConnectorError::InvalidRequest {
        message: format!(
            "parent account {} does not carry a Powens account payload: {e}",
            request.from_payload.as_ref().map_or("?", |p| p.id.as_str())
        ),
    })
}

/// The user's accounts, disabled ones included, read from `GET
/// /users/me/connections?expand=all_accounts` (every account belongs to a connection) and
/// sorted by id; `None` when Powens answers `400 noAccount`, as it may for a user who has
/// not linked a bank yet: nothing to sync, not a failure. The connections (without their
/// accounts) are kept for this PSU's next [`connection_events`], so that a cycle reads them
/// once.
///
/// [`connection_events`]: crate::PowensConnector::connection_events
pub(crate) async fn list_accounts(
    shared: &Shared,
    psu: &ForwardedUser,
    token: &SecretString,
) -> Result<Option<Vec<BankAccount>>, ConnectorError> {
    shared.connections_seen.forget(&psu.psu_id);
    let query = ConnectionsQuery::new().expand(ConnectionExpand::AllAccounts);
    let list = match shared.client.list_connections(token, &query).await {
        Ok(list) => list,
        Err(err) if err.api_code() == Some(&ErrorCode::NoAccount) => return Ok(None),
        Err(err) => return Err(to_connector_error(err)),
    };
    let mut connections = list.connections;
    let mut accounts: Vec<BankAccount> = connections
        .iter_mut()
        .flat_map(|c| c.all_accounts.take().unwrap_or_default())
        .collect();
    accounts.sort_by_key(|a| a.id);
    shared.connections_seen.keep(&psu.psu_id, connections);
    Ok(Some(accounts))
}

impl AccountsFetcher for PowensConnector {
    fn fetch_accounts(&self, request: FetchRequest) -> PageStream<'_, Account> {
        let shared = Arc::clone(&self.shared);
        async_stream::try_stream! {
            let psu = Arc::clone(request.require_psu()?);
            let token = user_token(&psu)?.clone();
            let Some(list) = list_accounts(&shared, &psu, &token).await? else {
                tracing::info!(psu = %psu.psu_id, "no bank linked yet (Powens noAccount): nothing to sync");
                yield FetchPage::new(Vec::new(), &serde_json::Value::Null, false)?;
                return;
            };
            let ctx = mapping_context(&shared, &psu);
            let mapped = account::map_accounts(&list, &ctx);
            log_skipped(&psu.psu_id, &mapped.skipped);
            // The skipped accounts travel with the first page.
            let mut skipped = skipped_objects(&mapped.skipped);
            let page_size = usize::try_from(request.page_size.get()).unwrap_or(usize::MAX);
            let mut accounts = mapped.accounts.into_iter().peekable();
            if accounts.peek().is_none() {
                yield FetchPage::new(Vec::new(), &serde_json::Value::Null, false)?
                    .with_skipped(skipped);
                return;
            }
            while accounts.peek().is_some() {
                let page: Vec<Account> = accounts.by_ref().take(page_size).collect();
                let has_more = accounts.peek().is_some();
                yield FetchPage::new(page, &serde_json::Value::Null, has_more)?
                    .with_skipped(std::mem::take(&mut skipped));
            }
        }
        .boxed()
    }
}

impl BalancesFetcher for PowensConnector {
    fn fetch_balances(&self, request: FetchRequest) -> PageStream<'_, Balance> {
        let shared = Arc::clone(&self.shared);
        async_stream::try_stream! {
            let psu = Arc::clone(request.require_psu()?);
            let bank_account = parent_bank_account(&request)?;
            let ctx = mapping_context(&shared, &psu);
            let balances = match account::map_balance(&bank_account, &ctx) {
                Ok(balance) => balance.into_iter().collect(),
                Err(reason) => {
                    tracing::warn!(account = bank_account.id, %reason, "balance skipped");
                    Vec::new()
                }
            };
            yield FetchPage::new(balances, &serde_json::Value::Null, false)?;
        }
        .boxed()
    }
}
