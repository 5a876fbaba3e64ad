//! Bank accounts: `BankAccount`, `Loan`, their enums, the `BankAccountsList` envelope, and the
//! account endpoints (`GET /users/me/accounts`, `GET /users/me/connections/{id}/accounts`,
//! `GET /users/me/accounts/{id}`).

use std::collections::BTreeMap;

use chrono::NaiveDate;
use http::Method;
use rust_decimal::Decimal;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use serde_with::{serde_as, DefaultOnNull, NoneAsEmptyString};

use crate::client::send::ApiRequest;
use crate::client::PowensClient;
use crate::connections::Connection;
use crate::currencies::Currency;
use crate::error::Error;
use crate::query::Query;
use crate::transactions::Transaction;
use crate::wire::lenient::{BlankAsNone, Flag};
use crate::wire::open_enum::open_enum;
use crate::wire::{money, Opaque, PowensDateTime};

open_enum! {
    /// `BankAccount.type` / `AccountType.name` (AccountTypeName).
    pub enum AccountTypeName {
        /// `article83`
        Article83 = "article83",
        /// `capitalisation`
        Capitalisation = "capitalisation",
        /// `card`
        Card = "card",
        /// `checking`
        Checking = "checking",
        /// `crowdlending`
        Crowdlending = "crowdlending",
        /// `deposit`
        Deposit = "deposit",
        /// `joint` (deprecated)
        Joint = "joint",
        /// `ldds`
        Ldds = "ldds",
        /// `lifeinsurance`
        Lifeinsurance = "lifeinsurance",
        /// `loan`
        Loan = "loan",
        /// `madelin`
        Madelin = "madelin",
        /// `market`
        Market = "market",
        /// `pea`
        Pea = "pea",
        /// `pee`
        Pee = "pee",
        /// `per`
        Per = "per",
        /// `perco`
        Perco = "perco",
        /// `perp`
        Perp = "perp",
        /// `real_estate`
        RealEstate = "real_estate",
        /// `rsp`
        Rsp = "rsp",
        /// `savings`
        Savings = "savings",
        /// `unknown` (the Powens value, not this crate's catch-all)
        UnknownType = "unknown",
        /// `cat`
        Cat = "cat",
        /// `cel`
        Cel = "cel",
        /// `csl`
        Csl = "csl",
        /// `livret_a`
        LivretA = "livret_a",
        /// `livret_b`
        LivretB = "livret_b",
        /// `pel`
        Pel = "pel",
    }
}

open_enum! {
    /// `BankAccount.usage` (BankAccountUsage).
    pub enum AccountUsage {
        /// `PRIV`: private.
        Private = "PRIV",
        /// `ORGA`: professional / organisation.
        Organisation = "ORGA",
        /// `ASSO`: association.
        Association = "ASSO",
    }
}

open_enum! {
    /// `BankAccount.ownership` (deprecated upstream).
    pub enum Ownership {
        /// `owner`
        Owner = "owner",
        /// `co-owner`
        CoOwner = "co-owner",
        /// `attorney`
        Attorney = "attorney",
    }
}

open_enum! {
    /// `Loan.type`.
    pub enum LoanType {
        /// `mortgage`
        Mortgage = "mortgage",
        /// `consumercredit`
        ConsumerCredit = "consumercredit",
        /// `revolvingcredit`
        RevolvingCredit = "revolvingcredit",
    }
}

/// A bank account (`BankAccount`), as listed, fetched, or carried by webhooks.
///
/// Only `id` is required: `ACCOUNT_FOUND` bodies carry just `{id, id_user, id_connection,
/// disabled, type}`. Every other field is `None` when `null` or missing.
#[serde_as]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct BankAccount {
    /// Account id.
    pub id: i64,
    /// Parent connection.
    #[serde(default)]
    pub id_connection: Option<i64>,
    /// Owner user.
    #[serde(default)]
    pub id_user: Option<i64>,
    /// Connection source the account came from.
    #[serde(default)]
    pub id_source: Option<i64>,
    /// Parent account (e.g. a card under its checking account).
    #[serde(default)]
    pub id_parent: Option<i64>,
    /// Account number, if known.
    #[serde(default)]
    pub number: Option<String>,
    /// Bank-side identifier.
    #[serde(default)]
    pub webid: Option<String>,
    /// Name as shown by the bank.
    #[serde(default)]
    pub original_name: Option<String>,
    /// Display name (the user can override it).
    #[serde(default)]
    pub name: Option<String>,
    /// Current balance.
    #[serde(default, deserialize_with = "money::option")]
    pub balance: Option<Decimal>,
    /// Sum of coming (not yet debited) operations.
    #[serde(default, deserialize_with = "money::option")]
    pub coming: Option<Decimal>,
    /// Balance including coming operations (live, undocumented).
    #[serde(default, deserialize_with = "money::option")]
    pub coming_balance: Option<Decimal>,
    /// Localised display string of the balance; not for parsing.
    #[serde(default)]
    pub formatted_balance: Option<String>,
    /// Shown and included in aggregates.
    #[serde(default)]
    pub display: Option<bool>,
    /// User bookmark (`0`/`1` on the wire, boolean in the spec).
    #[serde(default)]
    #[serde_as(deserialize_as = "Option<Flag>")]
    pub bookmarked: Option<bool>,
    /// Last successful sync of this account (naive, Paris wall clock by observation).
    #[serde(default)]
    #[serde_as(deserialize_as = "BlankAsNone")]
    pub last_update: Option<PowensDateTime>,
    /// Set when the bank no longer reports the account.
    #[serde(default)]
    #[serde_as(deserialize_as = "BlankAsNone")]
    pub deleted: Option<PowensDateTime>,
    /// Set when the user disabled it (for `ACCOUNT_FOUND`: the discovery date).
    #[serde(default)]
    #[serde_as(deserialize_as = "BlankAsNone")]
    pub disabled: Option<PowensDateTime>,
    /// IBAN.
    #[serde(default)]
    #[serde_as(deserialize_as = "NoneAsEmptyString")]
    pub iban: Option<String>,
    /// BIC / SWIFT.
    #[serde(default)]
    #[serde_as(deserialize_as = "NoneAsEmptyString")]
    pub bic: Option<String>,
    /// Account currency.
    #[serde(default)]
    pub currency: Option<Currency>,
    /// Account type code.
    #[serde(default, rename = "type")]
    pub account_type: Option<AccountTypeName>,
    /// Id of the AccountType.
    #[serde(default)]
    pub id_type: Option<i64>,
    /// Private, professional or association use.
    #[serde(default)]
    pub usage: Option<AccountUsage>,
    /// How the credential holder relates to the account (deprecated).
    #[serde(default)]
    pub ownership: Option<Ownership>,
    /// Company holding employee-savings plans.
    #[serde(default)]
    pub company_name: Option<String>,
    /// Opening date (live, undocumented).
    #[serde(default)]
    #[serde_as(deserialize_as = "BlankAsNone")]
    pub opening_date: Option<NaiveDate>,
    /// Account-level sync error code (e.g. `websiteUnavailable`, `actionNeeded`, `bug`).
    #[serde(default)]
    #[serde_as(deserialize_as = "NoneAsEmptyString")]
    pub error: Option<String>,
    /// Loan details for loan accounts.
    #[serde(default)]
    pub loan: Option<Loan>,
    /// Opaque extra information (live: always `{}`).
    #[serde(default)]
    pub information: Option<Opaque>,
    /// Names of calculated fields (some investment accounts).
    #[serde(default)]
    pub calculated: Option<Vec<String>>,
    /// The parent connection, only with `expand=connection`.
    #[serde(default)]
    pub connection: Option<Box<Connection>>,
    /// Transactions, only inside webhook bodies (`CONNECTION_SYNCED`, `ACCOUNT_SYNCED`, …).
    #[serde(default)]
    pub transactions: Option<Vec<Transaction>>,
}

/// Loan details (`BankAccount.loan`); every field nullable.
#[serde_as]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Loan {
    /// Total loan amount.
    #[serde(default, deserialize_with = "money::option")]
    pub total_amount: Option<Decimal>,
    /// Amount not yet released.
    #[serde(default, deserialize_with = "money::option")]
    pub available_amount: Option<Decimal>,
    /// Amount already used.
    #[serde(default, deserialize_with = "money::option")]
    pub used_amount: Option<Decimal>,
    /// Subscription date.
    #[serde(default)]
    #[serde_as(deserialize_as = "BlankAsNone")]
    pub subscription_date: Option<NaiveDate>,
    /// Estimated end date.
    #[serde(default)]
    #[serde_as(deserialize_as = "BlankAsNone")]
    pub maturity_date: Option<NaiveDate>,
    /// Start of repayment.
    #[serde(default)]
    #[serde_as(deserialize_as = "BlankAsNone")]
    pub start_repayment_date: Option<NaiveDate>,
    /// Deferred loan.
    #[serde(default)]
    pub deferred: Option<bool>,
    /// Next payment amount.
    #[serde(default, deserialize_with = "money::option")]
    pub next_payment_amount: Option<Decimal>,
    /// Next payment date.
    #[serde(default)]
    #[serde_as(deserialize_as = "BlankAsNone")]
    pub next_payment_date: Option<NaiveDate>,
    /// Interest rate (exact decimal, never a float).
    #[serde(default, deserialize_with = "money::option")]
    pub rate: Option<Decimal>,
    /// Payments left.
    #[serde(default)]
    pub nb_payments_left: Option<i64>,
    /// Payments done.
    #[serde(default)]
    pub nb_payments_done: Option<i64>,
    /// Payments in total.
    #[serde(default)]
    pub nb_payments_total: Option<i64>,
    /// Last payment amount.
    #[serde(default, deserialize_with = "money::option")]
    pub last_payment_amount: Option<Decimal>,
    /// Last payment date.
    #[serde(default)]
    #[serde_as(deserialize_as = "BlankAsNone")]
    pub last_payment_date: Option<NaiveDate>,
    /// Name of the debited account.
    #[serde(default)]
    pub account_label: Option<String>,
    /// Insurance label.
    #[serde(default)]
    pub insurance_label: Option<String>,
    /// Insurance amount.
    #[serde(default, deserialize_with = "money::option")]
    pub insurance_amount: Option<Decimal>,
    /// Insurance rate.
    #[serde(default, deserialize_with = "money::option")]
    pub insurance_rate: Option<Decimal>,
    /// Duration in months.
    #[serde(default)]
    pub duration: Option<i64>,
    /// Loan type.
    #[serde(default, rename = "type")]
    pub loan_type: Option<LoanType>,
}

/// The body of the account list endpoints (`BankAccountsList`).
#[serde_as]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct BankAccountsList {
    /// The accounts.
    #[serde(default)]
    #[serde_as(deserialize_as = "DefaultOnNull")]
    pub accounts: Vec<BankAccount>,
    /// Sum of balances per currency code.
    #[serde(default, deserialize_with = "money::option_map")]
    pub balances: Option<BTreeMap<String, Decimal>>,
    /// Sum of coming amounts per currency code.
    #[serde(default, deserialize_with = "money::option_map")]
    pub coming_balances: Option<BTreeMap<String, Decimal>>,
    /// Overall balance (live, undocumented).
    #[serde(default, deserialize_with = "money::option")]
    pub balance: Option<Decimal>,
    /// Number of accounts (live, undocumented).
    #[serde(default)]
    pub total: Option<u64>,
}

open_enum! {
    /// Values of `expand` on the account endpoints.
    pub enum AccountExpand {
        /// `connection`
        Connection = "connection",
    }
}

/// Parameters of the account endpoints.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct AccountsQuery {
    /// Include disabled (and deleted) accounts (sent as the value-less flag `all`).
    pub all: bool,
    /// Related objects to embed.
    pub expand: Vec<AccountExpand>,
}

impl AccountsQuery {
    /// No flag, no expansion.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the `all` flag.
    pub fn all(mut self, all: bool) -> Self {
        self.all = all;
        self
    }

    /// Adds an `expand` value.
    pub fn expand(mut self, expand: AccountExpand) -> Self {
        self.expand.push(expand);
        self
    }

    fn to_url(&self, url: url::Url) -> url::Url {
        Query::new(url)
            .flag("all", self.all)
            .list("expand", self.expand.iter().map(AccountExpand::as_str))
            .finish()
    }
}

impl PowensClient {
    /// `GET /users/me/accounts`: the user's accounts.
    pub async fn list_accounts(
        &self,
        user_token: &SecretString,
        query: &AccountsQuery,
    ) -> Result<BankAccountsList, Error> {
        let url = query.to_url(self.endpoint().api("users/me/accounts")?);
        self.send_json(ApiRequest::new(Method::GET, url, Some(user_token)))
            .await
    }

    /// `GET /users/me/connections/{connection_id}/accounts`: one connection's accounts.
    pub async fn list_connection_accounts(
        &self,
        user_token: &SecretString,
        connection_id: i64,
        query: &AccountsQuery,
    ) -> Result<BankAccountsList, Error> {
        let path = format!("users/me/connections/{connection_id}/accounts");
        let url = query.to_url(self.endpoint().api(&path)?);
        self.send_json(ApiRequest::new(Method::GET, url, Some(user_token)))
            .await
    }

    /// `GET /users/me/accounts/{account_id}`: one account.
    pub async fn get_account(
        &self,
        user_token: &SecretString,
        account_id: i64,
        query: &AccountsQuery,
    ) -> Result<BankAccount, Error> {
        let path = format!("users/me/accounts/{account_id}");
        let url = query.to_url(self.endpoint().api(&path)?);
        self.send_json(ApiRequest::new(Method::GET, url, Some(user_token)))
            .await
    }
}
