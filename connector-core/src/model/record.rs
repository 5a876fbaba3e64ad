//! [`Record`]: what a sink receives and what the CLI prints, one JSON object per line.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::value::RawValue;

use super::{
    Account, Balance, Payment, PaymentToCancel, PaymentToDelete, UserConnectionDisconnected,
    UserConnectionPendingDisconnect, UserConnectionReconnected, UserDisconnected,
};

/// One output of a connector, tagged by `kind`:
/// `{"kind":"payment","reference":"42","createdAt":"…","amount":1250,"asset":"EUR/2",…}`.
///
/// Records are idempotent: delivering one twice is harmless (the engine delivers at least
/// once).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Record {
    /// An internal account.
    Account(Account),
    /// A counterparty account.
    ExternalAccount(Account),
    /// A balance snapshot.
    Balance(Balance),
    /// A payment.
    Payment(Payment),
    /// A payment to delete by reference.
    PaymentToDelete(PaymentToDelete),
    /// A payment to mark cancelled by reference.
    PaymentToCancel(PaymentToCancel),
    /// A provider user was deleted.
    UserDisconnected(UserDisconnected),
    /// A connection will be disconnected soon.
    UserConnectionPendingDisconnect(UserConnectionPendingDisconnect),
    /// A connection was disconnected.
    UserConnectionDisconnected(UserConnectionDisconnected),
    /// A connection works again.
    UserConnectionReconnected(UserConnectionReconnected),
}

impl Record {
    /// Ties the record to the payment service user `psu_id`, as polling does: accounts,
    /// balances, payments and connection events get it unless they name one already.
    /// Deletes and cancels name a reference only and are left as they are.
    pub fn set_psu(&mut self, psu_id: &str) {
        let slot = match self {
            Record::Account(a) | Record::ExternalAccount(a) => &mut a.psu_id,
            Record::Balance(b) => &mut b.psu_id,
            Record::Payment(p) => &mut p.psu_id,
            Record::UserDisconnected(e) => &mut e.psu_id,
            Record::UserConnectionPendingDisconnect(e) => &mut e.psu_id,
            Record::UserConnectionDisconnected(e) => &mut e.psu_id,
            Record::UserConnectionReconnected(e) => &mut e.psu_id,
            Record::PaymentToDelete(_) | Record::PaymentToCancel(_) => return,
        };
        if slot.is_none() {
            *slot = Some(psu_id.to_owned());
        }
    }

    /// The `kind` tag of this record, e.g. `"payment"`.
    pub fn kind(&self) -> &'static str {
        match self {
            Record::Account(_) => "account",
            Record::ExternalAccount(_) => "external_account",
            Record::Balance(_) => "balance",
            Record::Payment(_) => "payment",
            Record::PaymentToDelete(_) => "payment_to_delete",
            Record::PaymentToCancel(_) => "payment_to_cancel",
            Record::UserDisconnected(_) => "user_disconnected",
            Record::UserConnectionPendingDisconnect(_) => "user_connection_pending_disconnect",
            Record::UserConnectionDisconnected(_) => "user_connection_disconnected",
            Record::UserConnectionReconnected(_) => "user_connection_reconnected",
        }
    }
}

impl<'de> Deserialize<'de> for Record {
    /// Keeps the object as its JSON text, reads `kind` from it, then decodes the variant named
    /// by `kind` from the same text (serde's internally tagged path would buffer numbers as maps
    /// under `arbitrary_precision`, and a `Value` detour would reorder and re-encode `raw`).
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        /// Just the tag; every other member is skipped.
        #[derive(Deserialize)]
        struct Tag {
            #[serde(default)]
            kind: Option<serde_json::Value>,
        }
        let text = Box::<RawValue>::deserialize(deserializer)?;
        let body = text.get();
        let tag: Tag = serde_json::from_str(body).map_err(D::Error::custom)?;
        let kind = match tag.kind {
            Some(serde_json::Value::String(kind)) => kind,
            Some(_) => return Err(D::Error::custom("record `kind` must be a string")),
            None => return Err(D::Error::missing_field("kind")),
        };
        fn decode<T: serde::de::DeserializeOwned, E: serde::de::Error>(body: &str) -> Result<T, E> {
            serde_json::from_str(body).map_err(E::custom)
        }
        Ok(match kind.as_str() {
            "account" => Record::Account(decode(body)?),
            "external_account" => Record::ExternalAccount(decode(body)?),
            "balance" => Record::Balance(decode(body)?),
            "payment" => Record::Payment(decode(body)?),
            "payment_to_delete" => Record::PaymentToDelete(decode(body)?),
            "payment_to_cancel" => Record::PaymentToCancel(decode(body)?),
            "user_disconnected" => Record::UserDisconnected(decode(body)?),
            "user_connection_pending_disconnect" => {
                Record::UserConnectionPendingDisconnect(decode(body)?)
            }
            "user_connection_disconnected" => Record::UserConnectionDisconnected(decode(body)?),
            "user_connection_reconnected" => Record::UserConnectionReconnected(decode(body)?),
            other => {
                return Err(D::Error::unknown_variant(
                    other,
                    &[
                        "account",
                        "external_account",
                        "balance",
                        "payment",
                        "payment_to_delete",
                        "payment_to_cancel",
                        "user_disconnected",
                        "user_connection_pending_disconnect",
                        "user_connection_disconnected",
                        "user_connection_reconnected",
                    ],
                ))
            }
        })
    }
}
