//! `powens-model`: pure functions from Powens API wire types (`powens-api`) to Connectivity
//! records (`connector-core`).
//!
//! No I/O and no clock: every instant comes from the payload or from the caller
//! ([`MappingContext::fallback_instant`], the `now` of [`connection::pending_disconnect`]).
//! A row that cannot be mapped is skipped with a typed [`SkipReason`], counted and returned
//! ([`Mapped`], [`page::PageMapped::skipped`], [`account::AccountsMapped::skipped`]); it never
//! fails its page and never panics.
//!
//! * [`account`]: `BankAccount` → internal account + balance;
//! * [`payment`]: `Transaction` → payment (or a [`payment::Tombstone`] for a deleted row),
//!   [`scheme`] for the scheme table, [`counterparty`] for external accounts;
//! * [`page`]: the hot path, a whole transactions page from its bytes;
//! * [`maturation`]: retiring provisional payments when they post (same id or new id);
//! * [`connection`]: connection state → disconnection, consent expiry → pending disconnect;
//! * [`time`]: Europe/Paris naive datetimes, DST fold and gap; [`money`]: assets and amounts.
//!
//! # The rules where the design left room
//!
//! * **Account `created_at`**: `opening_date` at 00:00 UTC, else `last_update` (Paris → UTC),
//!   else [`MappingContext::fallback_instant`] ([`account`]).
//! * **Disabled / deleted accounts** are emitted, flagged by the metadata keys
//!   [`keys::DISABLED`] / [`keys::DELETED`] (RFC 3339 UTC).
//! * **Schemes** from the Powens transaction type: see the table in [`scheme`] (`card` gets a
//!   card network only when the card number's leading digits are visible; EUR `transfer` is
//!   `SEPA_CREDIT`, EUR `order` is `SEPA_DEBIT`; everything else `OTHER`).
//! * **External account reference**: `cp-<scheme>-<first 16 bytes of SHA-256(scheme ":"
//!   normalised identifier) in hex>`; no identifier, no external account ([`counterparty`]).
//! * **Maturation**: (a) same id → re-emitted `SUCCEEDED` under the same reference; (b)
//!   deleted provisional + new id → the posted payment with `com.powens.spec/replaces` and a
//!   `PaymentToDelete` of the provisional reference. Match: same account, same signed value,
//!   posted date within `[pending − 1 day, pending + 10 days]`, one-to-one, provisionals by
//!   pending date then id, each taking the earliest posted date then lowest id. Deleted rows
//!   not replaced → `PaymentToCancel` ([`maturation`]).
//! * **Connection states**: user action / temporary / non-recoverable per the table in
//!   [`connection`]; consent `expire` within a horizon of the caller's `now` → pending
//!   disconnect.
//! * **Raw JSON**: the hot path ([`page`]) keeps each row exactly as received; the typed
//!   functions re-serialise the `powens-api` value (accounts: without nested
//!   `transactions`).
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use powens_model::{account, page, MappingContext};
//!
//! let ctx = MappingContext::new(Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap())
//!     .with_psu_id("psu-1");
//! let accounts: powens_api::accounts::BankAccountsList = serde_json::from_str(r#"{"accounts": [
//!     {"id": 17, "id_connection": 7, "original_name": "Compte chèque", "balance": 7481.01,
//!      "coming": -120.50, "last_update": "2026-06-18 06:12:45",
//!      "currency": {"id": "EUR", "precision": 2}}]}"#).unwrap();
//! let mapped = account::map_accounts(&accounts.accounts, &ctx);
//! assert_eq!(mapped.balances[0].available_amount.unwrap().minor(), 736051);
//!
//! let bytes = br#"{"transactions": [{"id": 309, "id_account": 17, "date": "2026-06-18",
//!     "value": -16.22, "type": "card", "coming": false}]}"#;
//! let page = page::map_transactions_page(bytes, &mapped.book, &ctx).unwrap();
//! let payment = &page.payments[0].payment;
//! assert_eq!((payment.amount.minor(), payment.payment_type.as_str()), (1622, "PAYOUT"));
//! assert_eq!(payment.source_account_reference.as_deref(), Some("17"));
//! ```

pub mod account;
pub mod connection;
mod context;
pub mod counterparty;
pub mod keys;
pub mod maturation;
pub mod money;
pub mod page;
pub mod payment;
mod raw;
mod scan;
pub mod scheme;
mod skip;
mod text;
pub mod time;
pub mod webhook;

pub use context::{AccountBook, AccountContext, MappingContext};
pub use skip::{Mapped, SkipReason, Skipped};
