//! Metadata keys, all under `com.powens.spec/`.

/// The namespace of every Powens metadata key.
pub const NAMESPACE: &str = "com.powens.spec/";

/// Account: the Powens account id.
pub const ACCOUNT_ID: &str = "com.powens.spec/account_id";
/// Account / external account: the IBAN.
pub const IBAN: &str = "com.powens.spec/iban";
/// Account: the BIC.
pub const BIC: &str = "com.powens.spec/bic";
/// Account / external account: the account number.
pub const ACCOUNT_NUMBER: &str = "com.powens.spec/account_number";
/// Account / external account: the display name.
pub const NAME: &str = "com.powens.spec/name";
/// Account: the Powens account type; payment: the Powens transaction type.
pub const TYPE: &str = "com.powens.spec/type";
/// Account: `PRIV`, `ORGA` or `ASSO`.
pub const USAGE: &str = "com.powens.spec/usage";
/// Account: the sync error Powens reports on the account.
pub const ERROR: &str = "com.powens.spec/error";
/// Account: when the user disabled it (RFC 3339, UTC); present only for disabled accounts.
pub const DISABLED: &str = "com.powens.spec/disabled";
/// Account: when the bank stopped reporting it (RFC 3339, UTC).
pub const DELETED: &str = "com.powens.spec/deleted";
/// External account: the derived counterparty id (also its reference).
pub const COUNTERPARTY_ID: &str = "com.powens.spec/counterparty_id";
/// External account: the Powens scheme of the identifier (`iban`, `bban`, ...).
pub const SCHEME: &str = "com.powens.spec/account_scheme_name";
/// External account: `creditor` or `debtor`.
pub const COUNTERPARTY_TYPE: &str = "com.powens.spec/counterparty_type";
/// Payment: the Powens transaction id.
pub const TRANSACTION_ID: &str = "com.powens.spec/transaction_id";
/// Payment: the category (`id_category`, else the first `categories[].code`).
pub const CATEGORY_ID: &str = "com.powens.spec/category_id";
/// Payment: the display label (`wording`).
pub const DESCRIPTION: &str = "com.powens.spec/description";
/// Payment: the raw bank label.
pub const ORIGINAL_WORDING: &str = "com.powens.spec/original_wording";
/// Payment: the cleaned label.
pub const SIMPLIFIED_WORDING: &str = "com.powens.spec/simplified_wording";
/// Payment: the row's `last_update` (RFC 3339, UTC).
pub const LAST_UPDATE: &str = "com.powens.spec/last_update";
/// Payment: the provisional reference this posted payment replaces (maturation, new id).
pub const REPLACES: &str = "com.powens.spec/replaces";
