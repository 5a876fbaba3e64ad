//! The generic Connectivity connector contract and the engine that runs it.
//!
//! Work in progress: see issue 4.
