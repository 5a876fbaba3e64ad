//! `connector-powens`: the Powens connector — configuration, install, PSU and link flows,
//! polling fetch streams with resumable watermarks, and webhooks — built on the contract of
//! `connector-core`, the mapping of `powens-model` and the client of `powens-api`.
//!
//! | Module | What it holds |
//! |---|---|
//! | [`config`] | [`PowensConfig`]: the install payload, every problem reported by field |
//! | [`connector`] | [`PowensConnector`]: capabilities, the spec's workflow tree, transfers refused |
//! | [`install`] | `CREATE_WEBHOOKS`: the `hmac_signature` auth provider and the webhook configs; uninstall |
//! | [`flows`] | PSU and link flows (`OpenBankingFlows`): forward a user, Webview links, callbacks |
//! | [`fetch`] | The fetch streams: accounts, balances, payments (watermark + maturation, counterparties), external accounts |
//! | [`connections`] | Connection health from polling: disconnections and consent expiry |
//! | [`webhooks`] | Webhook verification, trimming and translation |
//! | [`service`] | The long-running service: polling, webhooks, PSU management, metrics (`powens serve`) |
//! | [`error`] | Powens API errors as contract errors |
//!
//! ```
//! use connector_core::Connector;
//! use connector_powens::{PowensConfig, PowensConnector};
//!
//! let config = PowensConfig::from_json(br#"{
//!     "clientID": "123", "clientSecret": "s3cret", "configurationToken": "t0ken",
//!     "domain": "acme.biapi.pro", "endpoint": "https://acme.biapi.pro/2.0",
//!     "maxConnectionsPerLink": 2
//! }"#)?;
//! assert_eq!(config.page_size, 25);
//! assert!(!format!("{config:?}").contains("s3cret"));
//! let connector = PowensConnector::new(config)?;
//! // accounts, balances, payments (with their counterparties), webhooks
//! assert_eq!(connector.install()?.iter().count(), 4);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Run it with `connector_core::Engine` (per PSU with `Engine::with_psus`); see the
//! end-to-end tests of the workspace's `tests` crate.

pub mod clock;
pub mod config;
pub mod connections;
pub mod connector;
pub mod error;
pub mod fetch;
pub mod flows;
pub mod install;
pub mod service;
pub mod webhooks;

pub use config::{ConfigError, PowensConfig};
pub use connector::{PowensConnector, PowensConnectorBuilder};
pub use fetch::{
    ExternalAccountsState, PaymentsState, Watermark, PAYMENTS_PART_BYTES, PAYMENTS_PART_ROWS,
};
