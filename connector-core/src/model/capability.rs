//! Connector capabilities and task types.

use super::wire_enum::wire_enum;

wire_enum! {
    /// What a connector can do, with Formance's `Capability` wire strings.
    ///
    /// `UNKNOWN` is deliberately absent: Formance refuses to serialise it.
    #[non_exhaustive]
    pub enum Capability {
        /// Polls the connector's internal accounts.
        FetchAccounts => "FETCH_ACCOUNTS",
        /// Polls balances (per account).
        FetchBalances => "FETCH_BALANCES",
        /// Polls counterparty (external) accounts.
        FetchExternalAccounts => "FETCH_EXTERNAL_ACCOUNTS",
        /// Polls payments (transactions).
        FetchPayments => "FETCH_PAYMENTS",
        /// Polls connector-specific objects.
        FetchOthers => "FETCH_OTHERS",
        /// Polls exchange orders.
        FetchOrders => "FETCH_ORDERS",
        /// Polls currency conversions.
        FetchConversions => "FETCH_CONVERSIONS",
        /// Registers webhooks at the provider at install.
        CreateWebhooks => "CREATE_WEBHOOKS",
        /// Verifies and translates inbound webhooks.
        TranslateWebhooks => "TRANSLATE_WEBHOOKS",
        /// Creates bank accounts at the provider.
        CreateBankAccount => "CREATE_BANK_ACCOUNT",
        /// Initiates transfers.
        CreateTransfer => "CREATE_TRANSFER",
        /// Initiates payouts.
        CreatePayout => "CREATE_PAYOUT",
        /// Lets Formance users create accounts by hand.
        AllowFormanceAccountCreation => "ALLOW_FORMANCE_ACCOUNT_CREATION",
        /// Lets Formance users create payments by hand.
        AllowFormancePaymentCreation => "ALLOW_FORMANCE_PAYMENT_CREATION",
    }
}

wire_enum! {
    /// The kind of a node of the workflow tree (Formance `TaskType`, wire form `TASK_*`).
    #[non_exhaustive]
    pub enum TaskType {
        /// Fetch connector-specific objects.
        FetchOthers => "TASK_FETCH_OTHERS",
        /// Fetch internal accounts.
        FetchAccounts => "TASK_FETCH_ACCOUNTS",
        /// Fetch balances.
        FetchBalances => "TASK_FETCH_BALANCES",
        /// Fetch external accounts.
        FetchExternalAccounts => "TASK_FETCH_EXTERNAL_ACCOUNTS",
        /// Fetch payments.
        FetchPayments => "TASK_FETCH_PAYMENTS",
        /// Register webhooks.
        CreateWebhooks => "TASK_CREATE_WEBHOOKS",
        /// Fetch orders.
        FetchOrders => "TASK_FETCH_ORDERS",
        /// Fetch conversions.
        FetchConversions => "TASK_FETCH_CONVERSIONS",
    }
}

impl TaskType {
    /// The capability a connector needs to run this task.
    pub const fn capability(self) -> Capability {
        match self {
            TaskType::FetchOthers => Capability::FetchOthers,
            TaskType::FetchAccounts => Capability::FetchAccounts,
            TaskType::FetchBalances => Capability::FetchBalances,
            TaskType::FetchExternalAccounts => Capability::FetchExternalAccounts,
            TaskType::FetchPayments => Capability::FetchPayments,
            TaskType::CreateWebhooks => Capability::CreateWebhooks,
            TaskType::FetchOrders => Capability::FetchOrders,
            TaskType::FetchConversions => Capability::FetchConversions,
        }
    }
}
