//! The sandbox's internal data: compact rows that are rendered to Powens JSON on demand.

use chrono::{DateTime, NaiveDate, NaiveDateTime};

/// Seconds of a naive wall-clock time (stored compactly in transactions).
pub(crate) fn to_secs(at: NaiveDateTime) -> i64 {
    at.and_utc().timestamp()
}

/// The naive wall-clock time of [`to_secs`] seconds.
pub(crate) fn from_secs(secs: i64) -> NaiveDateTime {
    DateTime::from_timestamp(secs, 0)
        .map(|d| d.naive_utc())
        .unwrap_or_default()
}

/// Marks "no deletion" in [`Tx::deleted`].
pub(crate) const NOT_DELETED: i64 = i64::MIN;
/// Marks "no counterparty" in [`Tx::counterparty`].
pub(crate) const NO_COUNTERPARTY: u32 = u32::MAX;

/// A bank the sandbox pretends to connect to.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bank {
    pub(crate) id: u64,
    pub(crate) uuid: &'static str,
    pub(crate) name: &'static str,
    pub(crate) bic: &'static str,
}

pub(crate) const BANKS: &[Bank] = &[
    Bank {
        id: 40,
        uuid: "338178e6-3d01-564f-9a7b-52ca442459bf",
        name: "Sandbox Bank",
        bic: "SBXBFRPPXXX",
    },
    Bank {
        id: 59,
        uuid: "7c2b1b8a-5e4f-5b8e-9f3a-1d2c3b4a5f60",
        name: "Banque Démo",
        bic: "BDEMFRPPXXX",
    },
    Bank {
        id: 163,
        uuid: "a1f0c2d3-4b5e-5f60-8a7b-9c0d1e2f3a4b",
        name: "Crédit Fictif",
        bic: "CFICFRPPXXX",
    },
];

/// A Powens connection (one bank login of one user).
#[derive(Debug, Clone)]
pub(crate) struct Connection {
    pub(crate) id: u64,
    pub(crate) id_user: u64,
    pub(crate) bank: usize,
    pub(crate) state: Option<String>,
    pub(crate) error_message: Option<String>,
    pub(crate) created: NaiveDateTime,
    pub(crate) last_update: Option<NaiveDateTime>,
    /// The last webhook push; `None` until the first `CONNECTION_SYNCED` (which carries the
    /// whole history).
    pub(crate) last_push: Option<NaiveDateTime>,
    pub(crate) expire: Option<NaiveDateTime>,
    pub(crate) active: bool,
}

/// Account types the sandbox generates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AccountKind {
    Checking,
    Savings,
    Card,
    Loan,
}

impl AccountKind {
    pub(crate) fn code(self) -> &'static str {
        match self {
            Self::Checking => "checking",
            Self::Savings => "savings",
            Self::Card => "card",
            Self::Loan => "loan",
        }
    }

    pub(crate) fn id_type(self) -> u64 {
        match self {
            Self::Checking => 2,
            Self::Savings => 1,
            Self::Card => 4,
            Self::Loan => 5,
        }
    }

    pub(crate) fn label(self) -> &'static str {
        match self {
            Self::Checking => "Compte chèque",
            Self::Savings => "Livret A",
            Self::Card => "Carte Visa Premier",
            Self::Loan => "Prêt immobilier",
        }
    }
}

/// A bank account. Amounts are mantissas at the currency's generation scale.
#[derive(Debug, Clone)]
pub(crate) struct Account {
    pub(crate) id: u64,
    pub(crate) id_connection: u64,
    pub(crate) id_user: u64,
    pub(crate) id_parent: Option<u64>,
    pub(crate) kind: AccountKind,
    pub(crate) currency: usize,
    pub(crate) number: String,
    pub(crate) iban: Option<String>,
    pub(crate) bic: Option<&'static str>,
    pub(crate) name: String,
    pub(crate) balance: i64,
    pub(crate) coming: i64,
    pub(crate) last_update: NaiveDateTime,
    pub(crate) deleted: Option<NaiveDateTime>,
    pub(crate) disabled: Option<NaiveDateTime>,
    pub(crate) error: Option<String>,
    pub(crate) usage: &'static str,
    pub(crate) opening_date: Option<NaiveDate>,
    pub(crate) loan_total: Option<i64>,
}

impl Account {
    /// Visible without `all`: neither disabled nor deleted.
    pub(crate) fn visible(&self) -> bool {
        self.deleted.is_none() && self.disabled.is_none()
    }
}

/// Powens transaction types the sandbox generates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum TxKind {
    Card,
    Transfer,
    Order,
    Bank,
    Withdrawal,
    Deposit,
    Check,
    LoanPayment,
}

impl TxKind {
    pub(crate) fn code(self) -> &'static str {
        match self {
            Self::Card => "card",
            Self::Transfer => "transfer",
            Self::Order => "order",
            Self::Bank => "bank",
            Self::Withdrawal => "withdrawal",
            Self::Deposit => "deposit",
            Self::Check => "check",
            Self::LoanPayment => "loan_payment",
        }
    }

    pub(crate) fn prefix(self) -> &'static str {
        match self {
            Self::Card => "CARTE X1234",
            Self::Transfer => "VIR SEPA",
            Self::Order => "PRLV SEPA",
            Self::Bank => "FRAIS",
            Self::Withdrawal => "RETRAIT DAB",
            Self::Deposit => "REMISE",
            Self::Check => "CHEQUE",
            Self::LoanPayment => "ECHEANCE PRET",
        }
    }

    /// Transfers and direct debits carry a counterparty.
    pub(crate) fn has_counterparty(self) -> bool {
        matches!(self, Self::Transfer | Self::Order)
    }
}

/// One transaction row, kept compact (a million of them fit in well under 100 MB).
#[derive(Debug, Clone)]
pub(crate) struct Tx {
    pub(crate) id: u64,
    pub(crate) account_id: u64,
    /// Signed amount mantissa at the account currency's scale.
    pub(crate) value: i64,
    pub(crate) date: NaiveDate,
    pub(crate) rdate: NaiveDate,
    pub(crate) date_scraped: i64,
    pub(crate) last_update: i64,
    /// [`NOT_DELETED`] or the seconds of the deletion time.
    pub(crate) deleted: i64,
    pub(crate) wording: u32,
    pub(crate) counterparty: u32,
    pub(crate) kind: TxKind,
    pub(crate) coming: bool,
}

impl Tx {
    pub(crate) fn is_deleted(&self) -> bool {
        self.deleted != NOT_DELETED
    }
}

/// A counterparty (creditor or debtor) of transfers and direct debits.
#[derive(Debug, Clone)]
pub(crate) struct Counterparty {
    pub(crate) label: String,
    pub(crate) scheme: &'static str,
    pub(crate) identification: String,
}

/// Labels of generated transactions.
pub(crate) const LABELS: &[&str] = &[
    "HALL'S BEER",
    "MONOPRIX PARIS 11",
    "SNCF CONNECT",
    "AMAZON EU SARL",
    "BOULANGERIE DUPONT",
    "EDF CLIENTS PARTICULIERS",
    "FREE MOBILE",
    "LOYER APPARTEMENT",
    "SALAIRE ACME SAS",
    "PHARMACIE DU CENTRE",
    "UBER BV",
    "CARREFOUR CITY",
    "NAVIGO ANNUEL",
    "CAF DE PARIS",
    "IMPOTS DGFIP",
    "LIBRAIRIE GIBERT",
    "DECATHLON",
    "RESTAURANT LE PETIT ZINC",
    "SPOTIFY AB",
    "ASSURANCE HABITATION",
];
