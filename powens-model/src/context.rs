//! What the caller passes to every mapping: the zone of naive Powens datetimes, the PSU and
//! connection ids, and the fallback instant that replaces the wall clock.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use connector_core::money::Asset;

/// Options shared by the mappings of one batch. No mapping reads the wall clock: every
/// instant comes from the payload or from here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappingContext {
    /// Zone of naive Powens datetimes other than a transaction's `datetime` (default
    /// `Europe/Paris`).
    pub zone: Tz,
    /// The payment service user the data belongs to (set on every record).
    pub psu_id: Option<String>,
    /// The connection to stamp on records when the account payload does not name one.
    pub connection_id: Option<String>,
    /// The instant used when Powens gives none (an account with neither `opening_date` nor
    /// `last_update`; a balance with no `last_update`). Typically the connection's `created`
    /// or the fetch's start, taken once by the caller.
    pub fallback_instant: DateTime<Utc>,
}

impl MappingContext {
    /// A context in Europe/Paris with no PSU and no connection.
    pub fn new(fallback_instant: DateTime<Utc>) -> Self {
        Self {
            zone: chrono_tz::Europe::Paris,
            psu_id: None,
            connection_id: None,
            fallback_instant,
        }
    }

    /// Sets the zone of naive Powens datetimes.
    pub fn with_zone(mut self, zone: Tz) -> Self {
        self.zone = zone;
        self
    }

    /// Sets the payment service user.
    pub fn with_psu_id(mut self, psu_id: impl Into<String>) -> Self {
        self.psu_id = Some(psu_id.into());
        self
    }

    /// Sets the default connection id.
    pub fn with_connection_id(mut self, connection_id: impl Into<String>) -> Self {
        self.connection_id = Some(connection_id.into());
        self
    }
}

/// What a transaction needs to know about its account: the reference, the asset (whose
/// precision every amount of the account uses) and the open-banking links.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountContext {
    /// The Powens account id.
    pub account_id: i64,
    /// The account reference (the id as a string).
    pub reference: String,
    /// The account's asset.
    pub asset: Asset,
    /// The payment service user.
    pub psu_id: Option<String>,
    /// The connection.
    pub connection_id: Option<String>,
}

impl AccountContext {
    /// A context for account `account_id` in `asset`, without PSU nor connection.
    pub fn new(account_id: i64, asset: Asset) -> Self {
        Self {
            account_id,
            reference: account_id.to_string(),
            asset,
            psu_id: None,
            connection_id: None,
        }
    }
}

/// The accounts a batch of transactions may belong to, by Powens account id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountBook {
    accounts: BTreeMap<i64, AccountContext>,
    /// The account a row without `id_account` belongs to (an account-scoped listing).
    scope: Option<i64>,
}

impl AccountBook {
    /// An empty book.
    pub fn new() -> Self {
        Self::default()
    }

    /// A book with one account.
    pub fn single(account: AccountContext) -> Self {
        let mut book = Self::new();
        book.insert(account);
        book
    }

    /// A book for the listing of one account
    /// (`GET /users/me/accounts/{id}/transactions`): a row that names no `id_account`
    /// belongs to it (a row that names another account is still unknown).
    pub fn scoped(account: AccountContext) -> Self {
        let scope = Some(account.account_id);
        let mut book = Self::single(account);
        book.scope = scope;
        book
    }

    /// The account of a row that names `id_account` (or none: the scoped account, if any).
    pub fn account_of(&self, id_account: Option<i64>) -> Option<&AccountContext> {
        self.get(id_account.or(self.scope)?)
    }

    /// Adds (or replaces) an account.
    pub fn insert(&mut self, account: AccountContext) {
        self.accounts.insert(account.account_id, account);
    }

    /// The account with Powens id `account_id`.
    pub fn get(&self, account_id: i64) -> Option<&AccountContext> {
        self.accounts.get(&account_id)
    }

    /// How many accounts.
    pub fn len(&self) -> usize {
        self.accounts.len()
    }

    /// Whether the book is empty.
    pub fn is_empty(&self) -> bool {
        self.accounts.is_empty()
    }
}
