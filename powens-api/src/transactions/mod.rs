//! Transactions: `Transaction`, `Counterparty`, their enums, the `TransactionsPage` envelope
//! (one page, with `_links`), and the list endpoints (`GET /users/me/transactions`,
//! `GET /users/me/accounts/{id}/transactions`).

mod list;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

pub use list::{
    CalendarBound, DateFilter, TransactionExpand, TransactionsCall, TransactionsQuery, MAX_LIMIT,
};
use serde_with::{serde_as, DefaultOnNull, NoneAsEmptyString};

use crate::accounts::BankAccount;
use crate::currencies::Currency;
use crate::wire::lenient::BlankAsNone;
use crate::wire::object_only::object_only;
use crate::wire::open_enum::open_enum;
use crate::wire::{datetime, money, Opaque, PowensDateTime};

open_enum! {
    /// `Transaction.type` (TransactionType). Powens warns the list grows.
    pub enum TransactionType {
        /// `transfer`
        Transfer = "transfer",
        /// `order` (SEPA direct debits mostly)
        Order = "order",
        /// `check`
        Check = "check",
        /// `deposit`
        Deposit = "deposit",
        /// `payback`
        Payback = "payback",
        /// `withdrawal`
        Withdrawal = "withdrawal",
        /// Loan repayment: `loan_payment` (SDK, legacy) and `loan_repayment` (current docs) both
        /// decode here.
        LoanPayment = "loan_payment" | "loan_repayment",
        /// `bank` (bank fees)
        Bank = "bank",
        /// `card`
        Card = "card",
        /// `deferred_card`
        DeferredCard = "deferred_card",
        /// Monthly debit of a deferred card: `summary_card` (legacy `card_summary`).
        SummaryCard = "summary_card" | "card_summary",
        /// `unknown` (the Powens value, not this crate's catch-all)
        UnknownType = "unknown",
        /// `market_order`
        MarketOrder = "market_order",
        /// `market_fee`
        MarketFee = "market_fee",
        /// `arbitrage`
        Arbitrage = "arbitrage",
        /// `profit`
        Profit = "profit",
        /// `refund`
        Refund = "refund",
        /// `payout`
        Payout = "payout",
        /// `payment`
        Payment = "payment",
        /// `fee`
        Fee = "fee",
    }
}

open_enum! {
    /// `Counterparty.account_scheme_name` (AccountSchemeName).
    pub enum AccountSchemeName {
        /// `iban`
        Iban = "iban",
        /// `bban`
        Bban = "bban",
        /// `sort_code_account_number`
        SortCodeAccountNumber = "sort_code_account_number",
        /// `cpan`
        Cpan = "cpan",
        /// `tpan`
        Tpan = "tpan",
    }
}

open_enum! {
    /// `Counterparty.type`.
    pub enum CounterpartyType {
        /// `creditor`
        Creditor = "creditor",
        /// `debtor`
        Debtor = "debtor",
    }
}

/// A bank transaction (`Transaction`).
///
/// Required on the wire: `id`, `id_account`, `date`, `type`, `coming`. Every other field is
/// `None` when `null` or missing (the spec also marks `rdate`, `date_scraped` and `active`
/// required; they are decoded leniently here).
#[serde_as]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Transaction {
    /// Transaction id.
    pub id: i64,
    /// Account id.
    pub id_account: i64,
    /// Bank-side id.
    #[serde(default)]
    pub webid: Option<String>,
    /// Date used by PFM/analytics (user-editable).
    #[serde(default)]
    #[serde_as(deserialize_as = "BlankAsNone")]
    pub application_date: Option<NaiveDate>,
    /// Date posted to the account (debit date).
    #[serde(deserialize_with = "datetime::date")]
    pub date: NaiveDate,
    /// Posting date-time, documented as UTC.
    #[serde(default)]
    #[serde_as(deserialize_as = "BlankAsNone")]
    pub datetime: Option<PowensDateTime>,
    /// Value date.
    #[serde(default)]
    #[serde_as(deserialize_as = "BlankAsNone")]
    pub vdate: Option<NaiveDate>,
    /// Value date-time, documented as UTC.
    #[serde(default)]
    #[serde_as(deserialize_as = "BlankAsNone")]
    pub vdatetime: Option<PowensDateTime>,
    /// Date the order was given (realisation date).
    #[serde(default)]
    #[serde_as(deserialize_as = "BlankAsNone")]
    pub rdate: Option<NaiveDate>,
    /// Order date-time, documented as UTC.
    #[serde(default)]
    #[serde_as(deserialize_as = "BlankAsNone")]
    pub rdatetime: Option<PowensDateTime>,
    /// Date shown by the bank (deprecated; use `date`).
    #[serde(default)]
    #[serde_as(deserialize_as = "BlankAsNone")]
    pub bdate: Option<NaiveDate>,
    /// Deprecated date-time, documented as UTC.
    #[serde(default)]
    #[serde_as(deserialize_as = "BlankAsNone")]
    pub bdatetime: Option<PowensDateTime>,
    /// Signed amount in the account currency (negative = money out).
    #[serde(default, deserialize_with = "money::option")]
    pub value: Option<Decimal>,
    /// Gross amount.
    #[serde(default, deserialize_with = "money::option")]
    pub gross_value: Option<Decimal>,
    /// Transaction type.
    #[serde(rename = "type")]
    pub transaction_type: TransactionType,
    /// Raw bank label.
    #[serde(default)]
    pub original_wording: Option<String>,
    /// Cleaned label.
    #[serde(default)]
    pub simplified_wording: Option<String>,
    /// Internal stemmed label ("do not use" upstream).
    #[serde(default)]
    pub stemmed_wording: Option<String>,
    /// Editable display label.
    #[serde(default)]
    pub wording: Option<String>,
    /// Categorisation (empty unless the Categorization product is enabled).
    #[serde(default)]
    #[serde_as(deserialize_as = "DefaultOnNull")]
    pub categories: Vec<Category>,
    /// Deprecated category id.
    #[serde(default)]
    pub id_category: Option<i64>,
    /// First time Powens saw the row.
    #[serde(default)]
    #[serde_as(deserialize_as = "BlankAsNone")]
    pub date_scraped: Option<PowensDateTime>,
    /// `true` = not yet debited/posted (pending).
    pub coming: bool,
    /// `false` = PFM features ignore it (a user flag, not a lifecycle state).
    #[serde(default)]
    pub active: Option<bool>,
    /// Transaction cluster id.
    #[serde(default)]
    pub id_cluster: Option<i64>,
    /// User comment.
    #[serde(default)]
    pub comment: Option<String>,
    /// Last change of this row (naive, Paris wall clock by observation).
    #[serde(default)]
    #[serde_as(deserialize_as = "BlankAsNone")]
    pub last_update: Option<PowensDateTime>,
    /// Set when the bank no longer reports the row (seen with `all`).
    #[serde(default)]
    #[serde_as(deserialize_as = "BlankAsNone")]
    pub deleted: Option<PowensDateTime>,
    /// Amount in the original currency.
    #[serde(default, deserialize_with = "money::option")]
    pub original_value: Option<Decimal>,
    /// Gross amount in the original currency.
    #[serde(default, deserialize_with = "money::option")]
    pub original_gross_value: Option<Decimal>,
    /// Original currency.
    #[serde(default)]
    pub original_currency: Option<Box<Currency>>,
    /// Fee taken.
    #[serde(default, deserialize_with = "money::option")]
    pub commission: Option<Decimal>,
    /// Fee currency.
    #[serde(default)]
    pub commission_currency: Option<Box<Currency>>,
    /// Original country (deprecated).
    #[serde(default)]
    pub country: Option<String>,
    /// Card number linked to the operation.
    #[serde(default)]
    pub card: Option<String>,
    /// The other party, when Powens knows it.
    #[serde(default)]
    pub counterparty: Option<Box<Counterparty>>,
    /// Localised display string of the value; not for parsing.
    #[serde(default)]
    pub formatted_value: Option<String>,
    /// Internal processing state (live: `parsed`).
    #[serde(default)]
    pub state: Option<String>,
    /// Number of attached documents.
    #[serde(default)]
    pub documents_count: Option<i64>,
    /// Opaque extra information (`information`, also read as `informations`).
    #[serde(default, alias = "informations")]
    pub information: Option<Opaque>,
    /// Opaque details (seen in one live client).
    #[serde(default)]
    pub details: Option<Opaque>,
    /// The account, only with `expand=account`.
    #[serde(default)]
    pub account: Option<Box<BankAccount>>,
    /// Attachments, only with `expand=attachments`.
    #[serde(default)]
    pub attachments: Option<Vec<Opaque>>,
}

/// One entry of `Transaction.categories` (a JSON object; an array is refused).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(remote = "Self")]
#[non_exhaustive]
pub struct Category {
    /// Category code.
    #[serde(default)]
    pub code: Option<String>,
    /// Parent category code.
    #[serde(default)]
    pub parent_code: Option<String>,
}

/// The other party of a transaction (`Transaction.counterparty`); every field nullable. A JSON
/// object; an array is refused.
#[serde_as]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(remote = "Self")]
#[non_exhaustive]
pub struct Counterparty {
    /// Counterparty name.
    #[serde(default)]
    pub label: Option<String>,
    /// Kind of identifier in `account_identification`.
    #[serde(default)]
    pub account_scheme_name: Option<AccountSchemeName>,
    /// The identifier itself (an IBAN, …).
    #[serde(default)]
    #[serde_as(deserialize_as = "NoneAsEmptyString")]
    pub account_identification: Option<String>,
    /// Creditor or debtor.
    #[serde(default, rename = "type")]
    pub counterparty_type: Option<CounterpartyType>,
}

object_only!(Category);
object_only!(Counterparty);
object_only!(Links);

/// One page of a transaction list (`TransactionsList`), exactly as returned by one call.
#[serde_as]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TransactionsPage {
    /// The transactions of this page.
    #[serde(default)]
    #[serde_as(deserialize_as = "DefaultOnNull")]
    pub transactions: Vec<Transaction>,
    /// Earliest date available for this query.
    #[serde(default)]
    #[serde_as(deserialize_as = "BlankAsNone")]
    pub first_date: Option<NaiveDate>,
    /// Latest date available for this query.
    #[serde(default)]
    #[serde_as(deserialize_as = "BlankAsNone")]
    pub last_date: Option<NaiveDate>,
    /// Earliest date inside this page.
    #[serde(default)]
    #[serde_as(deserialize_as = "BlankAsNone")]
    pub result_min_date: Option<NaiveDate>,
    /// Latest date inside this page.
    #[serde(default)]
    #[serde_as(deserialize_as = "BlankAsNone")]
    pub result_max_date: Option<NaiveDate>,
    /// Total number of rows for the query (live, undocumented).
    #[serde(default)]
    pub total: Option<u64>,
    /// Relational pagination links.
    #[serde(default, rename = "_links")]
    pub links: Option<Links>,
}

impl TransactionsPage {
    /// The raw `href` of `_links.next`, when the server gave one. Resolve it with
    /// [`NextLink::resolve`](crate::pagination::NextLink::resolve) before following it.
    pub fn next_href(&self) -> Option<&str> {
        self.links
            .as_ref()
            .and_then(|links| links.next.as_ref())
            .map(|link| link.href.as_str())
            .filter(|href| !href.is_empty())
    }
}

/// `_links` of a page; each link is `null` or absent when there is none.
///
/// A link is read in either form a Powens domain may send: `{"href": "…"}` (documented) or a
/// bare string `"…"`. An object without a string `href`, or an empty `href`, is no link.
/// `_links` itself must be an object: an array is refused, never read by position (fuzz
/// finding F7).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(remote = "Self")]
#[non_exhaustive]
pub struct Links {
    /// This page.
    #[serde(default, rename = "self", deserialize_with = "any_link")]
    pub this: Option<Link>,
    /// The previous page.
    #[serde(default, deserialize_with = "any_link")]
    pub prev: Option<Link>,
    /// The next page; `None` on the last page.
    #[serde(default, deserialize_with = "any_link")]
    pub next: Option<Link>,
}

/// A link as sent: a bare string, an object with an `href`, or anything else (no link).
#[derive(Deserialize)]
#[serde(untagged)]
enum LinkForm {
    Bare(String),
    Object {
        #[serde(default)]
        href: Option<serde_json::Value>,
    },
    Other(serde::de::IgnoredAny),
}

fn any_link<'de, D: serde::Deserializer<'de>>(de: D) -> Result<Option<Link>, D::Error> {
    let href = match Option::<LinkForm>::deserialize(de)? {
        Some(LinkForm::Bare(href)) => Some(href),
        Some(LinkForm::Object {
            href: Some(serde_json::Value::String(href)),
        }) => Some(href),
        _ => None,
    };
    Ok(href.filter(|h| !h.is_empty()).map(|href| Link { href }))
}

/// One pagination link: an opaque `href` (absolute, `/2.0/…`-relative or unprefixed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Link {
    /// The link target, as sent.
    pub href: String,
}
