//! Task state: keys, the versioned [`StateStore`] contract, and two stores.
//!
//! A task's state is the connector's own serde type (a watermark, an offset, ...), stored as
//! JSON under a [`StateKey`]. The engine writes it only after the sink accepted the page it
//! belongs to, with compare-and-set on the [`Version`] it read.

pub mod contract;
mod file;
mod key;
mod memory;
mod private;
mod store;

pub use file::FileStateStore;
pub use key::{StateKey, StateScope};
pub use memory::MemoryStateStore;
pub use private::{create_private_dir, shared_dir_mode, write_private_file};
pub use store::{StateError, StateStore, Version, Versioned};
