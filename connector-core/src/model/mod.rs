//! The Connectivity data model: capabilities, records and their enums, with Formance's exact
//! wire names and strings.

mod account;
mod balance;
mod capability;
mod connection;
mod metadata;
mod payment;
mod raw;
mod record;
mod wire_enum;

pub use account::{Account, AccountType};
pub use balance::Balance;
pub use capability::{Capability, TaskType};
pub use connection::{
    AttemptStatus, ConnectionDisconnectedErrorType, ConnectionStatus, DataReadyToFetch,
    DataToFetch, UserConnectionDisconnected, UserConnectionPendingDisconnect,
    UserConnectionReconnected, UserDisconnected, UserLinkSessionFinished,
};
pub use metadata::{Metadata, MetadataKey};
pub use payment::{
    Payment, PaymentScheme, PaymentStatus, PaymentToCancel, PaymentToDelete, PaymentType,
};
pub use raw::{RawJson, RawObject};
pub use record::Record;
pub use wire_enum::UnknownWireValue;
