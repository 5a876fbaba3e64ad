//! Payments and the enums that describe them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::wire_enum::wire_enum;
use crate::money::{Amount, Asset};

wire_enum! {
    /// The direction of a payment. Note the hyphen in `PAY-IN`.
    #[non_exhaustive]
    pub enum PaymentType {
        /// Not known; Formance refuses it on a payment.
        Unknown => "UNKNOWN",
        /// Money in: the account is the destination.
        PayIn => "PAY-IN",
        /// Money out: the account is the source.
        Payout => "PAYOUT",
        /// Between two accounts of the same holder.
        Transfer => "TRANSFER",
        /// Anything else.
        Other => "OTHER",
    }
}

wire_enum! {
    /// The status of a payment (or of one adjustment of it).
    #[non_exhaustive]
    pub enum PaymentStatus {
        /// Not known.
        Unknown => "UNKNOWN",
        /// Not settled yet.
        Pending => "PENDING",
        /// Settled.
        Succeeded => "SUCCEEDED",
        /// Cancelled before settlement.
        Cancelled => "CANCELLED",
        /// Failed.
        Failed => "FAILED",
        /// Expired.
        Expired => "EXPIRED",
        /// Refunded.
        Refunded => "REFUNDED",
        /// A refund failed.
        RefundedFailure => "REFUNDED_FAILURE",
        /// A refund was reversed.
        RefundReversed => "REFUND_REVERSED",
        /// Disputed.
        Dispute => "DISPUTE",
        /// A dispute was won.
        DisputeWon => "DISPUTE_WON",
        /// A dispute was lost.
        DisputeLost => "DISPUTE_LOST",
        /// The amount was adjusted. The wire spelling `AMOUNT_ADJUSTEMENT` is Formance's.
        AmountAdjustment => "AMOUNT_ADJUSTEMENT",
        /// Authorised, not captured.
        Authorisation => "AUTHORISATION",
        /// Captured.
        Capture => "CAPTURE",
        /// A capture failed.
        CaptureFailed => "CAPTURE_FAILED",
        /// Anything else.
        Other => "OTHER",
    }
}

wire_enum! {
    /// The rail a payment travelled on.
    #[non_exhaustive]
    pub enum PaymentScheme {
        /// Not known.
        Unknown => "UNKNOWN",
        /// Visa card.
        CardVisa => "CARD_VISA",
        /// Mastercard.
        CardMastercard => "CARD_MASTERCARD",
        /// American Express.
        CardAmex => "CARD_AMEX",
        /// Diners.
        CardDiners => "CARD_DINERS",
        /// Discover.
        CardDiscover => "CARD_DISCOVER",
        /// JCB.
        CardJcb => "CARD_JCB",
        /// UnionPay.
        CardUnionPay => "CARD_UNION_PAY",
        /// Alipay.
        CardAlipay => "CARD_ALIPAY",
        /// China UnionPay (CUP).
        CardCup => "CARD_CUP",
        /// SEPA direct debit.
        SepaDebit => "SEPA_DEBIT",
        /// SEPA credit transfer.
        SepaCredit => "SEPA_CREDIT",
        /// SEPA, unspecified.
        Sepa => "SEPA",
        /// Google Pay.
        GooglePay => "GOOGLE_PAY",
        /// Apple Pay.
        ApplePay => "APPLE_PAY",
        /// DOKU.
        Doku => "DOKU",
        /// Dragonpay.
        DragonPay => "DRAGON_PAY",
        /// Maestro.
        Maestro => "MAESTRO",
        /// MOLPay.
        MolPay => "MOL_PAY",
        /// Account to account.
        A2a => "A2A",
        /// ACH debit.
        AchDebit => "ACH_DEBIT",
        /// ACH.
        Ach => "ACH",
        /// Real-time payments.
        Rtp => "RTP",
        /// Anything else (what open-banking connectors use).
        Other => "OTHER",
    }
}

/// A payment (Formance `PSPPayment`).
///
/// Wire form: `reference`, `parentReference`, `createdAt`, `type`, `amount` (positive minor
/// units; the direction is the type), `asset`, `scheme`, `status`, `sourceAccountReference`,
/// `destinationAccountReference`, `psuID`, `openBankingConnectionID`, `metadata`, `raw`.
///
/// Re-emitting a payment with the same `reference`, `type`, `createdAt` and `status` is a
/// no-op downstream, so `createdAt` must be deterministic for a given transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Payment {
    /// The provider's transaction reference.
    pub reference: String,
    /// For a follow-up (refund, capture, ...), the reference of the original payment.
    #[serde(default)]
    pub parent_reference: Option<String>,
    /// When the payment happened (deterministic across polls).
    pub created_at: DateTime<Utc>,
    /// The direction.
    #[serde(rename = "type")]
    pub payment_type: PaymentType,
    /// The gross amount in minor units of `asset`.
    pub amount: Amount,
    /// The asset of `amount`.
    pub asset: Asset,
    /// The rail.
    pub scheme: PaymentScheme,
    /// The status.
    pub status: PaymentStatus,
    /// The account money left, when known.
    #[serde(default)]
    pub source_account_reference: Option<String>,
    /// The account money reached, when known.
    #[serde(default)]
    pub destination_account_reference: Option<String>,
    /// The payment service user (open banking).
    #[serde(default, rename = "psuID")]
    pub psu_id: Option<String>,
    /// The bank connection (open banking).
    #[serde(default, rename = "openBankingConnectionID")]
    pub open_banking_connection_id: Option<String>,
    /// Provider-specific facts, under a namespaced key.
    #[serde(default)]
    pub metadata: super::Metadata,
    /// The provider's JSON for this payment, exactly as received: its text is embedded verbatim
    /// when the record is serialised (only line breaks and the whitespace outside strings of a
    /// multi-line payload are dropped, to keep one record per line); equality compares the text.
    pub raw: super::RawJson,
}

/// A payment to delete by reference (e.g. a provisional row replaced by a posted one).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentToDelete {
    /// The reference of the payment to delete.
    pub reference: String,
}

/// A payment to mark `CANCELLED` by reference (e.g. a row the provider deleted).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentToCancel {
    /// The reference of the payment to cancel.
    pub reference: String,
}
