//! Pure mapping from Powens wire types (`powens-api`) to Connectivity records (`connector-core`).
//!
//! Work in progress: see issue 5.
