//! Errors of the sandbox's Rust API (the HTTP side answers Powens error JSON instead).

/// What can go wrong when starting or driving the sandbox.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SandboxError {
    /// The listening socket could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// No user has this id (it never existed, was deleted, or its temporary token expired).
    #[error("unknown user {0}")]
    UnknownUser(u64),
    /// No connection has this id.
    #[error("unknown connection {0}")]
    UnknownConnection(u64),
    /// No account has this id.
    #[error("unknown account {0}")]
    UnknownAccount(u64),
    /// No transaction has this id.
    #[error("unknown transaction {0}")]
    UnknownTransaction(u64),
    /// The change cannot be applied as asked; the message says why.
    #[error("invalid change: {0}")]
    InvalidChange(String),
    /// The Webview could not be driven to its callback ([`crate::follow_webview`]).
    #[error("{reason}")]
    Webview {
        /// What went wrong, with the link (its query, holding the code, left out).
        reason: String,
    },
}
