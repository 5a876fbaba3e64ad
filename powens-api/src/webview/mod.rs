//! The Powens Webview: building the link that sends a user to it ([`link`]) and reading the
//! redirect that brings them back ([`callback`]).

pub mod callback;
pub mod link;

pub use callback::{
    CallbackError, CallbackFailure, CallbackSuccess, WebviewCallback, WebviewErrorCode,
};
pub use link::{
    check_redirect_uri, WebviewError, WebviewFlow, WebviewLink, WebviewUrl, DEFAULT_BASE_URL,
};
