//! Usage errors: exit 2 with one line; help: exit 0.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::*;

#[test]
fn an_unknown_subcommand_is_a_one_line_usage_error_with_exit_2() {
    let run = powens(&["frobnicate"], b"");
    assert_one_line_failure(
        &run,
        2,
        "powens: usage: unrecognized subcommand 'frobnicate'",
    );
}

#[test]
fn a_missing_required_flag_is_a_one_line_usage_error_with_exit_2() {
    let run = powens(&["webhook", "verify", "--path", "/p"], b"");
    assert_one_line_failure(&run, 2, "--date");
}

#[test]
fn a_non_numeric_size_is_a_one_line_usage_error_with_exit_2() {
    let run = powens(&["sync", "--psus", "many"], b"");
    assert_one_line_failure(&run, 2, "invalid value 'many' for '--psus");
}

#[test]
fn an_invalid_asset_is_a_one_line_usage_error_with_exit_2() {
    let run = powens(
        &["map", "transactions", "--asset", "euros", "--account", "1"],
        b"{}",
    );
    assert_one_line_failure(&run, 2, "--asset \"euros\" is not a UMN asset");
}

#[test]
fn help_lists_every_subcommand_and_exits_0() {
    let run = powens(&["--help"], b"");
    assert_eq!(run.code, 0);
    for command in ["sync", "link", "webhook", "map", "sandbox"] {
        assert!(run.stdout.contains(command), "{command} in {}", run.stdout);
    }
}
