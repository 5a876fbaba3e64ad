//! Webhooks: the inbound envelope, subscription configs, and the translated responses.

mod envelope;
mod headers;
mod response;

pub use envelope::{WebhookConfig, WebhookEnvelope};
pub use headers::{HeaderCountError, Headers};
pub use response::{OpenBankingAccount, OpenBankingPayment, WebhookResponse};
