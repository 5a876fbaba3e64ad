//! Fuzz targets for every parser of this workspace that reads what Powens or the network
//! sends, written as plain library functions so that two drivers run the same code:
//!
//! * libFuzzer (`cargo fuzz run --sanitizer none <target>`, on the stable toolchain): each
//!   `fuzz_targets/<target>.rs` is a one-line `fuzz_target!` that calls the function of the
//!   same name here;
//! * the replay (`cargo run --no-default-features --features replay --bin replay`): every
//!   committed seed (`seeds/<target>/`) and regression input (`regressions/<target>/`)
//!   through the same functions, then random inputs for a few seconds, without libFuzzer or
//!   cargo-fuzz.
//!
//! A target **panics** when it finds a problem: a panic of the code under test, or a
//! disagreement between two paths that must agree (the message starts with `disagreement:`).
//! Each target takes raw bytes; the structure-aware ones read their choices from the bytes
//! with [`arbitrary::Unstructured`] (see [`gen`]), and most have a *raw* mode (first byte
//! `0`) that hands the rest of the input to the parser unchanged, so that the repository's
//! fixtures are seeds as they are.
//!
//! | target | what it reads | oracle |
//! |---|---|---|
//! | [`page`](targets::page) | a transactions page | lean reader = typed serde path, row by row and page by page; refusals = serde_json's |
//! | [`page_split`](targets::page_split) | a page in chunks | parts + envelope map like the whole page, in any chunking |
//! | [`webhook`](targets::webhook) | a webhook body and its headers | tampered ⇒ refused and no record; one read deterministic |
//! | [`webview_callback`](targets::webview_callback) | the Webview redirect's query | pairs = query string; ids positive and distinct |
//! | [`install_config`](targets::install_config) | the install payload | no secret in any error or `Debug`; every problem names a field |
//! | [`money`](targets::money) | amount text | number = string = `parse_decimal`; minor units round-trip; lean = typed |
//! | [`datetime`](targets::datetime) | date and datetime text | `Display` round-trips; lean = typed |
//! | [`next_link`](targets::next_link) | `_links.next.href` | a resolved link always has the configured origin |

pub mod gen;
pub mod oracle;
pub mod targets;

/// A fuzz target: its name (the `fuzz_targets/<name>.rs` file, the `seeds/<name>/` folder)
/// and its function.
#[derive(Clone, Copy)]
pub struct Target {
    /// The target's name.
    pub name: &'static str,
    /// Runs one input; panics on a finding.
    pub run: fn(&[u8]),
}

/// Every target, in the order `cargo xtask fuzz` runs them.
pub const TARGETS: &[Target] = &[
    Target {
        name: "page",
        run: targets::page,
    },
    Target {
        name: "page_split",
        run: targets::page_split,
    },
    Target {
        name: "webhook",
        run: targets::webhook,
    },
    Target {
        name: "webview_callback",
        run: targets::webview_callback,
    },
    Target {
        name: "install_config",
        run: targets::install_config,
    },
    Target {
        name: "money",
        run: targets::money,
    },
    Target {
        name: "datetime",
        run: targets::datetime,
    },
    Target {
        name: "next_link",
        run: targets::next_link,
    },
];

/// The target called `name`.
pub fn target(name: &str) -> Option<Target> {
    TARGETS.iter().copied().find(|t| t.name == name)
}
