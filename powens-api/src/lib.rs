//! Raw, typed and exact client for the Powens API 2.0 (`https://{domain}.biapi.pro/2.0`).
//!
//! This crate is a faithful mirror of the wire: one module per Powens resource, every string
//! enum open (`Unknown(String)`), unknown fields ignored, `null` and missing alike, money exact
//! ([`rust_decimal::Decimal`] from a JSON number or string, never a float), dates as
//! [`chrono::NaiveDate`] and datetimes as [`PowensDateTime`](wire::PowensDateTime) (which
//! records whether an offset was sent). It exposes single requests and single pages; there is
//! no domain logic here.
//!
//! * Resources: [`auth`], [`users`], [`connections`], [`accounts`], [`transactions`],
//!   [`currencies`], [`webhooks_auth`]; each adds its endpoint methods to [`PowensClient`].
//! * [`webview`]: Webview URLs and the callback parser. [`webhooks`]: payloads and the
//!   `BI-Signature` HMAC.
//! * [`client`]: the builder and the one send path; [`retry`]: the pure retry decision;
//!   [`pagination`]: safe `_links.next` following; [`error`]: errors by stage; [`time`]: the
//!   injectable clock.
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
//!
//! Calling the API (not run here):
//!
//! ```no_run
//! # async fn demo() -> Result<(), powens_api::Error> {
//! use powens_api::transactions::TransactionsQuery;
//! use powens_api::pagination::LinkGuard;
//! use secrecy::SecretString;
//!
//! let client = powens_api::PowensClient::builder("https://acme-sandbox.biapi.pro/2.0").build()?;
//! let token = SecretString::from("user token");
//! let mut page = client.transactions(&token, &TransactionsQuery::new(500).all(true)).page().await?;
//! let mut guard = LinkGuard::new();
//! while let Some(href) = page.next_href() {
//!     let next = client.resolve_next(href)?; // refuses foreign hosts
//!     guard.check(&next)?; // refuses a link seen twice
//!     page = client.next_transactions(&token, &next).page().await?;
//! }
//! # Ok(()) }
//! ```

pub mod accounts;
pub mod auth;
pub mod client;
pub mod connections;
pub mod currencies;
pub mod error;
pub mod pagination;
mod query;
pub mod retry;
pub mod time;
pub mod transactions;
pub mod users;
pub mod webhooks;
pub mod webhooks_auth;
pub mod webview;
pub mod wire;

pub use client::{PowensClient, PowensClientBuilder};
pub use error::Error;
