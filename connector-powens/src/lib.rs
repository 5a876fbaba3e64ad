//! The Powens connector: configuration, PSU and link flows, fetch streams and webhooks.
//!
//! Work in progress: see issue 6.

pub mod webhooks;
