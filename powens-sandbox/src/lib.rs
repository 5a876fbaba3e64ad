//! A local fake Powens server on loopback, the ground truth for every test.
//!
//! Work in progress: see issue 3.
