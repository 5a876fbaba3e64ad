//! The targets: one function each, raw bytes in, a panic on a finding.

mod callback;
mod config;
mod link;
mod page;
mod text;
mod webhook;

pub use callback::webview_callback;
pub use config::install_config;
pub use link::next_link;
pub use page::{check_page, page, page_split};
pub use text::{datetime, money};
pub use webhook::webhook;

use arbitrary::Unstructured;

/// Splits an input into its mode byte and the rest: `raw` when the mode byte is a multiple
/// of 4 (the rest is the parser's input as is), else structure-aware (the rest is the
/// generator's choices).
pub(crate) fn mode(data: &[u8]) -> (bool, &[u8]) {
    match data.split_first() {
        Some((first, rest)) => (first % 4 == 0, rest),
        None => (true, data),
    }
}

/// A number in `0..n` read from `u`.
pub(crate) fn pick(u: &mut Unstructured<'_>, n: usize) -> usize {
    crate::gen::pick(u, n)
}
