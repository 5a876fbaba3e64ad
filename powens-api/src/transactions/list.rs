//! The transaction list endpoints and their query (`limit`, `offset`, `all`, `last_update`,
//! `min_date`/`max_date`, `filter`, `expand`), and fetching a page by a resolved next link.

use bytes::Bytes;
use chrono::NaiveDate;
use http::Method;
use secrecy::SecretString;

use super::TransactionsPage;
use crate::client::send::ApiRequest;
use crate::client::{PowensClient, ResponseBody};
use crate::error::Error;
use crate::pagination::NextLink;
use crate::query::Query;
use crate::wire::open_enum::open_enum;
use crate::wire::PowensDateTime;

open_enum! {
    /// Values of `expand` on the transaction endpoints.
    pub enum TransactionExpand {
        /// `account`
        Account = "account",
        /// `documents`
        Documents = "documents",
        /// `attachments`
        Attachments = "attachments",
    }
}

open_enum! {
    /// Which date `min_date`/`max_date` bound (`filter`).
    pub enum DateFilter {
        /// `application_date` (the Powens default).
        ApplicationDate = "application_date",
        /// `date`.
        Date = "date",
    }
}

/// A `min_date`/`max_date` bound: a day (`YYYY-MM-DD`), a month (`YYYY-MM`) or a year (`YYYY`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CalendarBound {
    /// A day.
    Day(NaiveDate),
    /// The month of the given year (1-12).
    Month {
        /// Year.
        year: i32,
        /// Month, 1-12.
        month: u32,
    },
    /// A year.
    Year(i32),
}

impl std::fmt::Display for CalendarBound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Day(day) => write!(f, "{}", day.format("%Y-%m-%d")),
            Self::Month { year, month } => write!(f, "{year:04}-{month:02}"),
            Self::Year(year) => write!(f, "{year:04}"),
        }
    }
}

/// The largest page Powens serves.
pub const MAX_LIMIT: u32 = 1000;

/// Parameters of one transaction-list call. `limit` is required by Powens (1..=1000) and is
/// validated before sending.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TransactionsQuery {
    /// Page size, 1..=1000.
    pub limit: u32,
    /// Rows to skip.
    pub offset: Option<u64>,
    /// Also return deleted rows (sent as the value-less flag `all`).
    pub all: bool,
    /// Only rows updated after this instant (sent as `YYYY-MM-DD HH:MM:SS`, plus the offset
    /// when the value carries one).
    pub last_update: Option<PowensDateTime>,
    /// Lower bound on the `filter` date.
    pub min_date: Option<CalendarBound>,
    /// Upper bound on the `filter` date.
    pub max_date: Option<CalendarBound>,
    /// Which date the bounds apply to.
    pub filter: Option<DateFilter>,
    /// Related objects to embed.
    pub expand: Vec<TransactionExpand>,
}

impl TransactionsQuery {
    /// A query for one page of `limit` rows.
    pub fn new(limit: u32) -> Self {
        Self {
            limit,
            offset: None,
            all: false,
            last_update: None,
            min_date: None,
            max_date: None,
            filter: None,
            expand: Vec::new(),
        }
    }

    /// Sets `offset`.
    pub fn offset(mut self, offset: u64) -> Self {
        self.offset = Some(offset);
        self
    }

    /// Sets the `all` flag (deleted rows included).
    pub fn all(mut self, all: bool) -> Self {
        self.all = all;
        self
    }

    /// Sets `last_update`.
    pub fn last_update(mut self, after: PowensDateTime) -> Self {
        self.last_update = Some(after);
        self
    }

    /// Sets `min_date`.
    pub fn min_date(mut self, bound: CalendarBound) -> Self {
        self.min_date = Some(bound);
        self
    }

    /// Sets `max_date`.
    pub fn max_date(mut self, bound: CalendarBound) -> Self {
        self.max_date = Some(bound);
        self
    }

    /// Sets `filter`.
    pub fn filter(mut self, filter: DateFilter) -> Self {
        self.filter = Some(filter);
        self
    }

    /// Adds an `expand` value.
    pub fn expand(mut self, expand: TransactionExpand) -> Self {
        self.expand.push(expand);
        self
    }

    fn to_url(&self, url: url::Url) -> Result<url::Url, Error> {
        if !(1..=MAX_LIMIT).contains(&self.limit) {
            return Err(Error::InvalidRequest {
                field: "limit",
                reason: format!(
                    "must be between 1 and {MAX_LIMIT} (Powens requires it), got {}",
                    self.limit
                ),
            });
        }
        Ok(Query::new(url)
            .pair("limit", &self.limit.to_string())
            .opt("offset", self.offset)
            .flag("all", self.all)
            .opt("last_update", self.last_update.map(query_datetime))
            .opt("min_date", self.min_date)
            .opt("max_date", self.max_date)
            .opt("filter", self.filter.as_ref())
            .list("expand", self.expand.iter().map(TransactionExpand::as_str))
            .finish())
    }
}

/// `YYYY-MM-DD HH:MM:SS` (seconds precision), with `+HH:MM` only when an offset is known.
fn query_datetime(at: PowensDateTime) -> String {
    let mut text = at.naive.format("%Y-%m-%d %H:%M:%S").to_string();
    if let Some(offset) = at.offset {
        text.push_str(&offset.to_string());
    }
    text
}

impl PowensClient {
    /// `GET /users/me/transactions`: one page of the user's transactions, read as the
    /// returned [`TransactionsCall`] says.
    pub fn transactions<'a>(
        &'a self,
        user_token: &'a SecretString,
        query: &TransactionsQuery,
    ) -> TransactionsCall<'a> {
        let request = self
            .endpoint()
            .api("users/me/transactions")
            .and_then(|url| query.to_url(url))
            .map(|url| ApiRequest::new(Method::GET, url, Some(user_token)));
        TransactionsCall {
            client: self,
            request,
        }
    }

    /// `GET /users/me/accounts/{account_id}/transactions`: one page of one account's
    /// transactions, read as the returned [`TransactionsCall`] says.
    pub fn account_transactions<'a>(
        &'a self,
        user_token: &'a SecretString,
        account_id: i64,
        query: &TransactionsQuery,
    ) -> TransactionsCall<'a> {
        let path = format!("users/me/accounts/{account_id}/transactions");
        let request = self
            .endpoint()
            .api(&path)
            .and_then(|url| query.to_url(url))
            .map(|url| ApiRequest::new(Method::GET, url, Some(user_token)));
        TransactionsCall {
            client: self,
            request,
        }
    }

    /// The transactions page a resolved `_links.next` points at (see
    /// [`PowensClient::resolve_next`] and [`LinkGuard`](crate::pagination::LinkGuard)), read
    /// as the returned [`TransactionsCall`] says.
    pub fn next_transactions<'a>(
        &'a self,
        user_token: &'a SecretString,
        next: &NextLink,
    ) -> TransactionsCall<'a> {
        TransactionsCall {
            client: self,
            request: Ok(ApiRequest::new(
                Method::GET,
                next.url().clone(),
                Some(user_token),
            )),
        }
    }

    /// Resolves a page's `_links.next.href` against this client's endpoint; fails for a
    /// foreign host (see [`NextLink::resolve`]).
    pub fn resolve_next(&self, href: &str) -> Result<NextLink, Error> {
        NextLink::resolve(self.endpoint(), href)
    }
}

/// One transactions request, not sent yet: its response is read one of three ways, each
/// with the same request, query validation, retries, rate limit and error mapping.
///
/// * [`page`](Self::page): decoded into a typed [`TransactionsPage`] (one malformed row fails
///   the page);
/// * [`bytes`](Self::bytes): the raw JSON body of a 2xx answer, for a caller with its own
///   row-tolerant decoder (a malformed row skipped, no intermediate typed rows);
/// * [`streamed`](Self::streamed): the body as it arrives ([`ResponseBody`]), for a caller
///   that maps a page in parts so that its memory does not follow the page size. Retries
///   cover everything up to a 2xx status; a failure while reading the body is returned, not
///   retried.
///
/// An invalid query (a `limit` out of range) is reported by whichever read is called,
/// before anything is sent.
#[must_use = "a transactions call sends nothing until it is read (page, bytes or streamed)"]
pub struct TransactionsCall<'a> {
    client: &'a PowensClient,
    request: Result<ApiRequest<'a>, Error>,
}

impl std::fmt::Debug for TransactionsCall<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransactionsCall").finish_non_exhaustive()
    }
}

impl TransactionsCall<'_> {
    /// Sends the request and decodes the page.
    pub async fn page(self) -> Result<TransactionsPage, Error> {
        self.client.send_json(self.request?).await
    }

    /// Sends the request and returns the page's raw JSON body, unparsed.
    pub async fn bytes(self) -> Result<Bytes, Error> {
        Ok(self.client.send(self.request?).await?.body)
    }

    /// Sends the request and returns the body to read as it arrives.
    pub async fn streamed(self) -> Result<ResponseBody, Error> {
        self.client.send_streamed(self.request?).await
    }
}
