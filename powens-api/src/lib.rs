//! Raw, typed and exact client for the Powens API 2.0 (`https://{domain}.biapi.pro/2.0`).
//!
//! This crate is a faithful mirror of the wire: one module per Powens resource, every string
//! enum open (`Unknown(String)`), unknown fields ignored, `null` and missing alike, money exact
//! ([`rust_decimal::Decimal`] from a JSON number or string, never a float), dates as
//! [`chrono::NaiveDate`] and datetimes as [`PowensDateTime`](wire::PowensDateTime) (which
//! records whether an offset was sent). It exposes single requests and single pages; there is
//! no domain logic here.
//!
//! ```
//! use powens_api::transactions::{TransactionType, TransactionsPage};
//!
//! let page: TransactionsPage = powens_api::wire::decode_json(br#"{
//!     "transactions": [{"id": 309, "id_account": 17, "date": "2026-06-18",
//!                       "value": -16.22, "type": "card", "coming": false}],
//!     "_links": {"next": null}
//! }"#).unwrap();
//! assert_eq!(page.transactions[0].value.unwrap().to_string(), "-16.22");
//! assert_eq!(page.transactions[0].transaction_type, TransactionType::Card);
//! assert_eq!(page.next_href(), None);
//! ```

pub mod accounts;
pub mod connections;
pub mod currencies;
pub mod transactions;
pub mod users;
pub mod webhooks;
pub mod wire;
