//! `connector-core`: the generic Connectivity connector contract and the engine that runs it.
//!
//! It knows nothing about any particular provider. A connector (e.g. `connector-powens`)
//! implements the traits of [`contract`]; the [`Engine`] runs its workflow tree with
//! resumable, versioned state and delivers [`model::Record`]s to a [`sink::Sink`].
//!
//! | Module | What it holds |
//! |---|---|
//! | [`model`] | Records (`Account`, `Balance`, `Payment`, ...), enums with Formance's exact wire strings, and [`model::Record`], the tagged JSON-lines form |
//! | [`money`] | UMN [`money::Asset`] (`EUR/2`) and exact minor-unit [`money::Amount`] |
//! | [`contract`] | [`Connector`], one fetcher trait per fetch capability (streams of [`contract::FetchPage`]s), webhooks, open-banking flows, the task tree |
//! | [`openbanking`] | PSUs, secret [`openbanking::Token`]s, connections, link attempts, [`openbanking::CallbackState`] |
//! | [`webhook`] | The inbound envelope, webhook configs, [`webhook::WebhookResponse`] |
//! | [`state`] | [`state::StateKey`], the compare-and-set [`state::StateStore`], memory and file stores |
//! | [`sink`] | Where records go: JSON lines, a channel, or your own |
//! | [`engine`] | Cycles, periodic runs, concurrency, cancellation, progress events, the webhook inbox, triggered syncs, the PSU directory |
//! | [`clock`] | The one [`clock::Clock`] (now and sleep) of the engine, its jitter and the inbox |
//!
//! Money is exact:
//!
//! ```
//! use connector_core::money::{Amount, Asset};
//!
//! let asset = Asset::new("eur", 2)?;
//! assert_eq!(asset.as_str(), "EUR/2");
//! let amount = Amount::parse_decimal("123.45", asset.precision())?;
//! assert_eq!(amount.minor(), 12345);
//! assert_eq!(amount.to_decimal_string(asset.precision())?, "123.45");
//! assert!(Amount::parse_decimal("123.456", 2).is_err()); // never rounded
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! A connector implements a fetcher as a stream of pages, and the engine runs it:
//!
//! ```
//! use std::sync::Arc;
//! use connector_core::contract::*;
//! use connector_core::engine::EngineConfig;
//! use connector_core::model::{Account, Capability};
//! use connector_core::{sink::ChannelSink, state::MemoryStateStore, Connector, ConnectorError, Engine};
//! use futures::{future::BoxFuture, FutureExt, StreamExt};
//!
//! #[derive(Default, serde::Serialize, serde::Deserialize)]
//! struct Cursor { offset: u64 }
//!
//! struct Bank;
//! impl AccountsFetcher for Bank {
//!     fn fetch_accounts(&self, request: FetchRequest) -> PageStream<'_, Account> {
//!         async_stream::try_stream! {
//!             let mut cursor: Cursor = request.state()?;      // typed, resumable state
//!             let items: Vec<Account> = Vec::new();          // ... call the provider at cursor.offset
//!             cursor.offset += items.len() as u64;
//!             yield FetchPage::new(items, &cursor, false)?;   // committed after the sink took it
//!         }
//!         .boxed()
//!     }
//! }
//! impl Connector for Bank {
//!     fn name(&self) -> &str { "bank" }
//!     fn capabilities(&self) -> &[Capability] { &[Capability::FetchAccounts] }
//!     fn install(&self) -> Result<TaskTree, ConnectorError> {
//!         Ok(TaskTree(vec![TaskNode::new(connector_core::model::TaskType::FetchAccounts, "fetch_accounts", true)]))
//!     }
//!     fn uninstall(&self, _: UninstallRequest) -> BoxFuture<'_, Result<(), ConnectorError>> {
//!         futures::future::ready(Ok(())).boxed()
//!     }
//!     fn accounts_fetcher(&self) -> Option<&dyn AccountsFetcher> { Some(self) }
//! }
//!
//! # tokio::runtime::Runtime::new()?.block_on(async {
//! let (sink, _records) = ChannelSink::new(8);
//! let engine = Engine::new(Arc::new(Bank), Arc::new(MemoryStateStore::new()), Arc::new(sink), EngineConfig::default())?;
//! let summary = engine.run_once(&Default::default()).await?;
//! assert_eq!(summary.tasks_failed, 0);
//! # Ok::<(), Box<dyn std::error::Error>>(()) })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod clock;
pub mod contract;
pub mod engine;
mod error;
pub mod model;
pub mod money;
pub mod openbanking;
pub mod sink;
pub mod state;
#[cfg(feature = "testing")]
pub mod testing;
pub mod webhook;

pub use contract::Connector;
pub use engine::Engine;
pub use error::{BoxError, ConnectorError, RetryClass, UpstreamClass};
