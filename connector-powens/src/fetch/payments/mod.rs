//! `FETCH_PAYMENTS`: the transactions of one account, as payment changes.
//!
//! Pages: `GET /users/me/accounts/{id}/transactions?all&limit=<pageSize>&offset=<n>` plus
//! `last_update=<since>` once a first scan is done (see [`super::watermark`] for the rule),
//! then wherever each page's `_links.next` points. The scan is `scan::PaymentsScan`, a
//! state machine the fetcher only adapts to a stream; the state ([`PaymentsState`]) is
//! committed by the engine after each page, or part of a page, was delivered, so a restart
//! resumes after the last part delivered.
//!
//! What a real Powens domain may do, and what the scan does about it:
//!
//! * **short pages**: a page with fewer rows than `limit` that still has a `_links.next` is
//!   not the last; the offset moves by the rows received, never by `limit`;
//! * **links in any form**: `_links.next` as `{"href": …}` or a bare string, absolute on the
//!   configured host or root-relative, is followed as given; another host is refused
//!   (`NextLink` error: the token never leaves the configured origin); without `_links`, the
//!   page's `total`, else an empty page, ends the scan;
//! * **endless chains**: a link seen twice, more than three empty pages in a row that still
//!   point further, or more than 100,000 pages end the scan with a typed error
//!   (`powens_api::pagination::LinkGuard`);
//! * **any row order**: newest first, oldest first or interleaved give the same records and
//!   watermark (the watermark is the maximum timestamp observed; maturation does not depend
//!   on order, see `retire`);
//! * **a row without `id_account`** belongs to the account whose listing it is in.
//!
//! Each part is read in one pass by `powens-model` (`coming` → `PENDING`/`SUCCEEDED`; deleted
//! rows → tombstones; a malformed row is logged and skipped, never failing the page), and
//! provisional rows are retired by `retire` (swapped, cancelled, or still pending: never
//! silently lost). The first scan reads the whole history: its tombstones are rows deleted
//! before this connector ever emitted them, so they are not surfaced.
//!
//! Counterparties: each part's identified counterparties are delivered with it, ahead of its
//! payments, as [`PaymentChange::ExternalAccount`] (once per task run; see [`super::external`]
//! for why the polling tree has no second scan for them).
//!
//! Memory: a page is never held whole. Its body is read as it arrives and cut into parts of
//! whole rows ([`powens_model::page::PageSplitter`], at most [`PAYMENTS_PART_ROWS`] rows or
//! [`PAYMENTS_PART_BYTES`] bytes), each mapped and delivered on its own.

mod retire;
mod scan;

use std::sync::Arc;

use bytes::Bytes;
use chrono::NaiveDate;
use connector_core::contract::{FetchRequest, PageStream, PaymentChange, PaymentsFetcher};
use connector_core::ConnectorError;
use futures::StreamExt;
use powens_api::client::ResponseBody;
use powens_api::pagination::{LinkGuard, NextLink};
use powens_api::transactions::{CalendarBound, DateFilter, TransactionsQuery, MAX_LIMIT};
use powens_model::account;
use powens_model::AccountBook;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

pub use retire::{RetiringProvisional, Swap};
use scan::{PageAt, PageBody, PageSource, PaymentsScan, ScanSettings};

use super::watermark::Watermark;
use super::{account_last_update, mapping_context};
use crate::connector::{PowensConnector, Shared};
use crate::error::{page_decode_error, to_connector_error};
use crate::fetch::accounts::parent_bank_account;
use crate::flows::user_token;
use crate::state::StateFormat;

/// The state of one account's payments task.
///
/// Persisted by the engine's state store after every delivered part; part of the storage
/// contract ([`crate::state`]): every field added since the first format has a default, so a
/// state written by an earlier version reads as it was.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentsState {
    /// The format the state is written in (absent: format 1).
    #[serde(default)]
    pub format: StateFormat,
    /// The `last_update` watermark and the scan in progress.
    #[serde(default)]
    pub watermark: Watermark,
    /// Provisional rows deleted with no posted row found yet (see `retire`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retiring: Vec<RetiringProvisional>,
    /// Provisional references swapped for posted ones, remembered for the horizon.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub swapped: Vec<Swap>,
}

/// A page is mapped and delivered in parts of at most this many rows (or
/// [`PAYMENTS_PART_BYTES`] of row text), each committed with the offset after its last row:
/// what the connector holds at once does not follow the configured page size, and a restart
/// resumes after the last part delivered rather than at the page's start.
///
/// 50 rows (about 40 KB of Powens rows): smaller parts cost throughput (one sink write and
/// state commit each) and larger ones make the peak memory follow the page fill again (see
/// `docs/BENCHMARKS.md`).
pub const PAYMENTS_PART_ROWS: usize = 50;

/// A part also ends once its rows reach this many bytes (whichever of this and
/// [`PAYMENTS_PART_ROWS`] comes first): rows far longer than Powens' usual ones do not make
/// parts large.
pub const PAYMENTS_PART_BYTES: usize = 64 * 1024;

/// The scan's pages from Powens.
struct ApiSource {
    shared: Arc<Shared>,
    token: SecretString,
    account_id: i64,
}

impl PageBody for ResponseBody {
    async fn chunk(&mut self) -> Result<Option<Bytes>, ConnectorError> {
        ResponseBody::chunk(self).await.map_err(to_connector_error)
    }
}

impl PageSource for ApiSource {
    type Body = ResponseBody;

    async fn open(&mut self, at: &PageAt) -> Result<ResponseBody, ConnectorError> {
        let client = &self.shared.client;
        match at {
            PageAt::Query(query) => {
                client
                    .account_transactions(&self.token, self.account_id, query)
                    .streamed()
                    .await
            }
            PageAt::Link(next) => client.next_transactions(&self.token, next).streamed().await,
        }
        .map_err(to_connector_error)
    }

    async fn lookup(
        &mut self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<Bytes>, ConnectorError> {
        let client = &self.shared.client;
        let query = TransactionsQuery::new(MAX_LIMIT)
            .filter(DateFilter::Date)
            .min_date(CalendarBound::Day(from))
            .max_date(CalendarBound::Day(to));
        let mut guard = LinkGuard::new();
        let mut bodies = Vec::new();
        let mut at: Option<NextLink> = None;
        loop {
            let body = match &at {
                None => {
                    client
                        .account_transactions(&self.token, self.account_id, &query)
                        .bytes()
                        .await
                }
                Some(next) => client.next_transactions(&self.token, next).bytes().await,
            }
            .map_err(to_connector_error)?;
            let page = powens_model::page::map_transactions_page(
                &body,
                &AccountBook::new(),
                &powens_model::MappingContext::new(self.shared.now()),
            )
            .map_err(|err| page_decode_error(&body, err))?;
            // Mapped with no account, every row is skipped: this only counts them.
            let rows = page.skipped.len();
            let next = page
                .next_href
                .as_deref()
                .map(|href| self.resolve(href))
                .transpose()?;
            drop(page);
            guard
                .page(rows, next.is_some(), next.as_ref())
                .map_err(to_connector_error)?;
            bodies.push(body);
            match next {
                Some(next) => at = Some(next),
                None => return Ok(bodies),
            }
        }
    }

    fn resolve(&self, href: &str) -> Result<NextLink, ConnectorError> {
        self.shared
            .client
            .resolve_next(href)
            .map_err(to_connector_error)
    }
}

impl PaymentsFetcher for PowensConnector {
    fn fetch_payments(&self, request: FetchRequest) -> PageStream<'_, PaymentChange> {
        let shared = Arc::clone(&self.shared);
        async_stream::try_stream! {
            let psu = Arc::clone(request.require_psu()?);
            let token = user_token(&psu)?.clone();
            let bank_account = parent_bank_account(&request)?;
            let state: PaymentsState = request.state()?;
            let ctx = mapping_context(&shared, &psu);
            let hidden = bank_account.disabled.is_some() || bank_account.deleted.is_some();
            let settings = match account::account_context(&bank_account, &ctx) {
                // Powens lists no transactions of a disabled or deleted account.
                Ok(_) if hidden => None,
                Ok(account_ctx) => Some(ScanSettings {
                    book: AccountBook::scoped(account_ctx),
                    ctx,
                    psu: psu.psu_id.clone(),
                    limit: shared.config.page_size,
                    zone: shared.config.time_zone,
                    margin: shared.watermark_margin,
                    rule: shared.maturation,
                    account_last_update: account_last_update(&bank_account, &shared),
                    part_rows: PAYMENTS_PART_ROWS,
                }),
                Err(reason) => {
                    tracing::warn!(account = bank_account.id, %reason, "account skipped: its payments are not fetched");
                    None
                }
            };
            let source = ApiSource {
                shared: Arc::clone(&shared),
                token,
                account_id: bank_account.id,
            };
            drop(bank_account);
            let mut scan = PaymentsScan::new(source, settings, state);
            while let Some(page) = scan.next().await? {
                yield page;
            }
        }
        .boxed()
    }
}

#[cfg(test)]
mod tests;
