//! [`WebhookResponse`]: what a translated webhook means.

use serde::{Deserialize, Serialize};

use crate::model::{
    Account, Balance, DataReadyToFetch, Payment, PaymentToCancel, PaymentToDelete, Record,
    UserConnectionDisconnected, UserConnectionPendingDisconnect, UserConnectionReconnected,
    UserDisconnected, UserLinkSessionFinished,
};

/// An account that belongs to an open-banking user, named by provider ids.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenBankingAccount {
    /// The account.
    pub account: Account,
    /// The provider's user id.
    #[serde(default, rename = "openBankingUserID")]
    pub open_banking_user_id: Option<String>,
    /// The provider's connection id.
    #[serde(default, rename = "openBankingConnectionID")]
    pub open_banking_connection_id: Option<String>,
}

/// A payment that belongs to an open-banking user, named by provider ids.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenBankingPayment {
    /// The payment.
    pub payment: Payment,
    /// The provider's user id.
    #[serde(default, rename = "openBankingUserID")]
    pub open_banking_user_id: Option<String>,
    /// The provider's connection id.
    #[serde(default, rename = "openBankingConnectionID")]
    pub open_banking_connection_id: Option<String>,
}

/// One meaning of a translated webhook (Formance's `WebhookResponse`, exactly one field
/// set, as an enum). A webhook translates to a sequence of these, to process in order.
///
/// Wire form: externally tagged by the variant name, like Formance's struct of pointers
/// with one field set: `{"UserConnectionDisconnected": {…}}`. (This form also decodes
/// without buffering, so `arbitrary_precision` numbers stay numbers.)
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum WebhookResponse {
    /// An internal account.
    Account(Account),
    /// A counterparty account.
    ExternalAccount(Account),
    /// A payment.
    Payment(Payment),
    /// A payment to delete.
    PaymentToDelete(PaymentToDelete),
    /// A payment to cancel.
    PaymentToCancel(PaymentToCancel),
    /// A balance.
    Balance(Balance),
    /// An open-banking user's account.
    OpenBankingAccount(OpenBankingAccount),
    /// An open-banking user's payment.
    OpenBankingPayment(OpenBankingPayment),
    /// A link session ended.
    UserLinkSessionFinished(UserLinkSessionFinished),
    /// New data is ready to fetch.
    DataReadyToFetch(DataReadyToFetch),
    /// A provider user was deleted.
    UserDisconnected(UserDisconnected),
    /// A connection will be disconnected soon.
    UserConnectionPendingDisconnect(UserConnectionPendingDisconnect),
    /// A connection was disconnected.
    UserConnectionDisconnected(UserConnectionDisconnected),
    /// A connection works again.
    UserConnectionReconnected(UserConnectionReconnected),
}

impl WebhookResponse {
    /// The record a sink should receive for this response, or `None` for instructions to
    /// the engine (`DataReadyToFetch`) and link-session bookkeeping.
    ///
    /// Open-banking accounts and payments become plain records, with the provider
    /// connection id filled in when the record lacks one.
    pub fn into_record(self) -> Option<Record> {
        Some(match self {
            WebhookResponse::Account(a) => Record::Account(a),
            WebhookResponse::ExternalAccount(a) => Record::ExternalAccount(a),
            WebhookResponse::Payment(p) => Record::Payment(p),
            WebhookResponse::PaymentToDelete(p) => Record::PaymentToDelete(p),
            WebhookResponse::PaymentToCancel(p) => Record::PaymentToCancel(p),
            WebhookResponse::Balance(b) => Record::Balance(b),
            WebhookResponse::OpenBankingAccount(mut ob) => {
                if ob.account.open_banking_connection_id.is_none() {
                    ob.account.open_banking_connection_id = ob.open_banking_connection_id;
                }
                Record::Account(ob.account)
            }
            WebhookResponse::OpenBankingPayment(mut ob) => {
                if ob.payment.open_banking_connection_id.is_none() {
                    ob.payment.open_banking_connection_id = ob.open_banking_connection_id;
                }
                Record::Payment(ob.payment)
            }
            WebhookResponse::UserDisconnected(e) => Record::UserDisconnected(e),
            WebhookResponse::UserConnectionPendingDisconnect(e) => {
                Record::UserConnectionPendingDisconnect(e)
            }
            WebhookResponse::UserConnectionDisconnected(e) => Record::UserConnectionDisconnected(e),
            WebhookResponse::UserConnectionReconnected(e) => Record::UserConnectionReconnected(e),
            WebhookResponse::UserLinkSessionFinished(_) | WebhookResponse::DataReadyToFetch(_) => {
                return None
            }
        })
    }
}
