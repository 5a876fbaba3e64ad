//! Fetch requests, pages, and one fetcher trait per fetch capability.

use std::num::NonZeroU32;
use std::sync::Arc;

use futures::stream::BoxStream;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::contract::SkippedObject;
use crate::error::ConnectorError;
use crate::model::{Account, Balance, Payment, PaymentToCancel, PaymentToDelete, Record};
use crate::openbanking::ForwardedUser;

/// The parent item a child task runs for (Formance `FromPayload`): its id and its JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FromPayload {
    /// The parent's reference, e.g. the account reference.
    pub id: String,
    /// The parent record's JSON.
    pub payload: serde_json::Value,
    /// The parent account itself, when the payload was made from one
    /// ([`FromPayload::account`]): [`FetchRequest::parent_account`] hands it over typed,
    /// without decoding `payload` again. Not part of the JSON form.
    #[serde(skip)]
    pub account: Option<Arc<Account>>,
}

impl FromPayload {
    /// The payload of an account, for its balances and payments tasks.
    pub fn account(account: &Account) -> Result<Self, ConnectorError> {
        let payload = serde_json::to_value(account).map_err(|e| ConnectorError::Validation {
            field: "account".into(),
            message: format!("account {} cannot be encoded: {e}", account.reference),
        })?;
        Ok(FromPayload {
            id: account.reference.clone(),
            payload,
            account: Some(Arc::new(account.clone())),
        })
    }
}

/// What a fetcher is asked for: resume from `state`, for `psu` and `from_payload`, about
/// `page_size` items per page.
#[derive(Debug, Clone)]
pub struct FetchRequest {
    /// The PSU this task runs for (open banking), with its provider token.
    pub psu: Option<Arc<ForwardedUser>>,
    /// The parent item (the account, for balances and payments).
    pub from_payload: Option<FromPayload>,
    /// The last committed state; `None` means "start from the beginning".
    pub state: Option<serde_json::Value>,
    /// The intended number of items per page (a hint; a page may overshoot).
    pub page_size: NonZeroU32,
}

impl FetchRequest {
    /// The committed state decoded as the connector's typed state, or its `Default` when
    /// there is none (or it is JSON `null`, which resets a cursor).
    pub fn state<S: DeserializeOwned + Default>(&self) -> Result<S, ConnectorError> {
        match &self.state {
            None | Some(serde_json::Value::Null) => Ok(S::default()),
            Some(value) => S::deserialize(value).map_err(|e| ConnectorError::InvalidRequest {
                message: format!("stored task state is unreadable ({e}); reset it to start over"),
            }),
        }
    }

    /// The parent account: the typed one when the engine made the payload from an account,
    /// else decoded from the payload's JSON.
    pub fn parent_account(&self) -> Result<Arc<Account>, ConnectorError> {
        let payload = self
            .from_payload
            .as_ref()
            .ok_or_else(|| ConnectorError::InvalidRequest {
                message: "this task needs a parent account (from_payload) and has none".into(),
            })?;
        if let Some(account) = &payload.account {
            return Ok(Arc::clone(account));
        }
        Account::deserialize(&payload.payload)
            .map(Arc::new)
            .map_err(|e| ConnectorError::InvalidRequest {
                message: format!("parent payload {} is not an account: {e}", payload.id),
            })
    }

    /// The PSU, or an error naming the operation that needs one.
    pub fn require_psu(&self) -> Result<&Arc<ForwardedUser>, ConnectorError> {
        self.psu
            .as_ref()
            .ok_or_else(|| ConnectorError::InvalidRequest {
                message: "this task runs per PSU and was given none".into(),
            })
    }
}

/// One page of a fetch: its items, the state to commit once they are accepted, whether
/// more pages follow in this run, and the provider objects it skipped.
#[derive(Debug, Clone, PartialEq)]
pub struct FetchPage<T> {
    /// The items.
    pub items: Vec<T>,
    /// The state to resume from after this page; JSON `null` resets the cursor.
    pub new_state: serde_json::Value,
    /// Whether the fetcher has more pages in this run.
    pub has_more: bool,
    /// Provider objects of this page that could not become items (a malformed row), with
    /// their reason. The state moves past them like past the items: the engine counts and
    /// reports them ([`RunSummary`](crate::engine::RunSummary)), it does not fetch them
    /// again.
    pub skipped: Vec<SkippedObject>,
}

impl<T> FetchPage<T> {
    /// A page whose state is the connector's typed state.
    pub fn new<S: Serialize>(
        items: Vec<T>,
        state: &S,
        has_more: bool,
    ) -> Result<Self, ConnectorError> {
        let new_state = serde_json::to_value(state).map_err(|e| ConnectorError::Validation {
            field: "new_state".into(),
            message: format!("task state cannot be encoded: {e}"),
        })?;
        Ok(FetchPage {
            items,
            new_state,
            has_more,
            skipped: Vec::new(),
        })
    }

    /// The same page with `skipped` as the objects it skipped.
    ///
    /// ```
    /// use connector_core::contract::{FetchPage, SkippedObject};
    ///
    /// let skipped = SkippedObject {
    ///     kind: "transaction".into(),
    ///     id: Some("2".into()),
    ///     code: "malformed_row".into(),
    ///     reason: "malformed row: a raw control character".into(),
    /// };
    /// let page = FetchPage::new(vec![1, 3], &"offset-3", false)
    ///     .unwrap()
    ///     .with_skipped(vec![skipped]);
    /// assert_eq!(page.skipped.len(), 1);
    /// ```
    pub fn with_skipped(mut self, skipped: Vec<SkippedObject>) -> Self {
        self.skipped = skipped;
        self
    }
}

/// A stream of pages, ending after the page with `has_more == false` or after the first
/// error. Built by connectors with `async_stream::try_stream!` and `.boxed()`.
pub type PageStream<'a, T> = BoxStream<'a, Result<FetchPage<T>, ConnectorError>>;

/// One item of a payments page.
// Nearly every item is a `Payment`, so boxing it would add an allocation per item for no
// memory gain.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentChange {
    /// A payment to store (or a new status of one).
    Payment(Payment),
    /// A payment to delete by reference.
    Delete(PaymentToDelete),
    /// A payment to mark cancelled by reference.
    Cancel(PaymentToCancel),
    /// A counterparty account found on the same page (delivered as an external account,
    /// ahead of the page's payments). A provider whose counterparties come with its
    /// transactions finds them during the payments scan this way, instead of reading every
    /// transaction a second time; the page's state commit covers them like the payments.
    ExternalAccount(Account),
}

impl From<PaymentChange> for Record {
    fn from(change: PaymentChange) -> Record {
        match change {
            PaymentChange::Payment(p) => Record::Payment(p),
            PaymentChange::Delete(d) => Record::PaymentToDelete(d),
            PaymentChange::Cancel(c) => Record::PaymentToCancel(c),
            PaymentChange::ExternalAccount(a) => Record::ExternalAccount(a),
        }
    }
}

/// `FETCH_ACCOUNTS`: the internal accounts (per PSU for open banking).
pub trait AccountsFetcher: Send + Sync {
    /// Pages of accounts from `request.state` on.
    fn fetch_accounts(&self, request: FetchRequest) -> PageStream<'_, Account>;
}

/// `FETCH_EXTERNAL_ACCOUNTS`: counterparty accounts.
pub trait ExternalAccountsFetcher: Send + Sync {
    /// Pages of external accounts from `request.state` on.
    fn fetch_external_accounts(&self, request: FetchRequest) -> PageStream<'_, Account>;
}

/// `FETCH_BALANCES`: balances of the parent account.
pub trait BalancesFetcher: Send + Sync {
    /// Pages of balances from `request.state` on.
    fn fetch_balances(&self, request: FetchRequest) -> PageStream<'_, Balance>;
}

/// `FETCH_PAYMENTS`: payments of the parent account (or of the PSU).
pub trait PaymentsFetcher: Send + Sync {
    /// Pages of payment changes from `request.state` on.
    fn fetch_payments(&self, request: FetchRequest) -> PageStream<'_, PaymentChange>;
}
