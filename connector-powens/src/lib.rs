//! `connector-powens`: the Powens connector — configuration, install, PSU and link flows,
//! polling fetch streams with resumable watermarks, and webhooks — built on the contract of
//! `connector-core`, the mapping of `powens-model` and the client of `powens-api`.
//!
//! The surface is small on purpose: the crate root re-exports what a service needs, and three
//! modules are public.
//!
//! | Item | What it is |
//! |---|---|
//! | [`PowensConfig`], [`ConfigError`], [`parse_duration`] | the install payload, every problem reported by field |
//! | [`PowensConnector`], [`PowensConnectorBuilder`] | capabilities, the spec's workflow tree, flows, fetch streams; the client's rate limit and call observer |
//! | [`forwarded_user`], [`USER_ID_METADATA_KEY`], [`EXPIRES_IN_METADATA_KEY`] | a PSU as connector-core's forwarded user, the Powens metadata keys |
//! | [`EngineClock`] | one clock for the client, the connector and the engine |
//! | [`auth_provider_name`] | the `hmac_signature` auth provider the install creates |
//! | [`PAYMENTS_PART_ROWS`], [`PAYMENTS_PART_BYTES`] | how a transactions page is cut into delivered parts |
//! | [`map_accounts_body`], [`map_transactions_body`], [`Skipped`] | one Powens body mapped outside a sync (`powens map`) |
//! | [`PowensClient`], [`RateLimit`], [`CallObserver`], [`check_redirect_uri`] | `powens-api` names that appear in this crate's signatures |
//! | [`state`] | the storage contract: the persisted task states and their format version |
//! | [`webhooks`] | webhook verification, routes and translation |
//! | [`service`] | the long-running service: polling, webhooks, PSU management, metrics (`powens serve`) |
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

mod clock;
mod config;
mod connections;
mod connector;
mod error;
mod fetch;
mod flows;
mod install;
mod mapping;
pub mod service;
pub mod state;
pub mod webhooks;

pub use clock::EngineClock;
pub use config::{parse_duration, ConfigError, FieldProblem, PowensConfig};
pub use connector::{PowensConnector, PowensConnectorBuilder};
pub use fetch::{PAYMENTS_PART_BYTES, PAYMENTS_PART_ROWS};
pub use flows::{forwarded_user, EXPIRES_IN_METADATA_KEY, USER_ID_METADATA_KEY};
pub use install::auth_provider_name;
pub use mapping::{map_accounts_body, map_transactions_body, MapBodyError, MappedBody};
pub use powens_api::client::{CallObserver, RateLimit};
pub use powens_api::webview::check_redirect_uri;
pub use powens_api::PowensClient;
pub use powens_model::Skipped;
