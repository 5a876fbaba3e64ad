//! Open banking: payment service users, provider tokens, connections, link attempts and the
//! CSRF callback state.

mod callback_state;
mod connection;
mod token;
mod user;

pub use callback_state::{CallbackState, CallbackStateError};
pub use connection::{Connection, LinkAttempt, LinkOutcome, PspConnection, UserLink};
pub use token::Token;
pub use user::{Address, ContactDetails, CreatedUser, ForwardedUser, PaymentServiceUser};
