//! `connector-core`: the generic Connectivity connector contract and the engine that runs it.
//!
//! This crate knows nothing about any particular provider. It holds:
//!
//! - [`model`]: the Connectivity records ([`model::Account`], [`model::Balance`],
//!   [`model::Payment`], ...) and enums with Formance's exact wire strings, and
//!   [`model::Record`], the tagged union a sink receives;
//! - [`money`]: UMN assets (`EUR/2`) and exact minor-unit amounts.
//!
//! ```
//! use connector_core::money::{Amount, Asset};
//!
//! let asset = Asset::new("eur", 2)?;
//! assert_eq!(asset.as_str(), "EUR/2");
//! let amount = Amount::parse_decimal("123.45", asset.precision())?;
//! assert_eq!(amount.minor(), 12345);
//! assert_eq!(amount.to_decimal_string(asset.precision()), "123.45");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod contract;
pub mod engine;
mod error;
pub mod model;
pub mod money;
pub mod openbanking;
pub mod sink;
pub mod state;
pub mod webhook;

pub use contract::Connector;
pub use engine::Engine;
pub use error::{BoxError, ConnectorError, RetryClass};
