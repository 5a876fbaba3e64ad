//! Raw, typed and exact client for the Powens API 2.0 (`https://{domain}.biapi.pro/2.0`).
//!
//! Work in progress: see issue 2.
