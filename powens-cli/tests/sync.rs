//! `powens sync` end to end against the embedded sandbox, and its failures.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::*;

/// `powens sync` on a small sandbox (2 accounts of 40 transactions, pages of 15) plus `extra`.
fn small_sync(dir: &std::path::Path, extra: &[&str]) -> Run {
    let mut args = vec![
        "sync",
        "--accounts",
        "2",
        "--transactions",
        "40",
        "--page-size",
        "15",
    ];
    args.extend_from_slice(extra);
    powens_in(dir, &args, b"")
}

/// N of the last line `verified: N records match the sandbox` (fails on any other last line).
fn verified_records(run: &Run) -> u64 {
    let last = run.last_line();
    last.strip_prefix("verified: ")
        .and_then(|rest| rest.strip_suffix(" records match the sandbox"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("last line {last:?}"))
}

#[test]
fn a_small_sync_writes_records_and_ends_with_the_verified_line() {
    let dir = tempfile::tempdir().unwrap();
    let run = small_sync(dir.path(), &["--psus", "2"]);
    assert_eq!(run.code, 0, "{run:?}");
    let matched = verified_records(&run);
    // The default output file, one record per line, each with its kind.
    let text = std::fs::read_to_string(dir.path().join("powens-sync.jsonl")).unwrap();
    let mut payments = 0;
    let mut counterparties = std::collections::BTreeSet::new();
    for line in text.lines() {
        let record: serde_json::Value = serde_json::from_str(line).unwrap();
        let kind = record["kind"].as_str().unwrap();
        if kind == "external_account" {
            counterparties.insert(record["reference"].as_str().unwrap().to_owned());
        }
        // Connection health comes with every cycle (the sandbox's consents expire soon).
        assert!(
            [
                "account",
                "balance",
                "payment",
                "external_account",
                "user_connection_pending_disconnect",
                "user_connection_disconnected"
            ]
            .contains(&kind),
            "{kind}"
        );
        payments += u64::from(kind == "payment");
    }
    // 2 PSUs × 2 accounts × 40 transactions, minus the rows of hidden accounts and
    // accounts in a currency without precision.
    assert!(payments > 0 && payments <= 160, "{payments}");
    assert!(matched >= payments, "{matched} >= {payments}");
    // The summary table names every kind.
    for row in [
        "accounts",
        "balances",
        "payments",
        "external accounts",
        "records/s",
        "duration",
    ] {
        assert!(run.stdout.contains(row), "{row} in {}", run.stdout);
    }
    // External accounts are counted once each, whatever the lines repeating them.
    let shown: usize = run
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("external accounts"))
        .and_then(|rest| rest.trim().parse().ok())
        .unwrap_or_else(|| panic!("no external accounts row in {}", run.stdout));
    assert!(!counterparties.is_empty());
    assert_eq!(shown, counterparties.len(), "{}", run.stdout);
}

#[test]
fn a_config_with_bad_fields_is_one_line_naming_them_and_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("config.json"),
        r#"{"clientID": "1", "clientSecret": "s3cret", "domain": "acme.biapi.pro",
            "endpoint": "http://acme.biapi.pro/2.0", "maxConnectionsPerLink": 1,
            "pageSize": 5000, "colour": "blue"}"#,
    )
    .unwrap();
    let run = powens_in(
        dir.path(),
        &["sync", "--config", "config.json", "--psu-token", "t"],
        b"",
    );
    assert_one_line_failure(&run, 1, "config.json: invalid Powens config");
    for field in ["configurationToken", "endpoint", "pageSize", "colour"] {
        assert!(run.stderr.contains(field), "{field} in {run:?}");
    }
    assert!(!run.stderr.contains("s3cret"), "no secret in {run:?}");
}

#[test]
fn a_config_that_is_not_json_or_missing_is_one_line_and_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("config.json"), "clientID = 1\n").unwrap();
    let run = powens_in(dir.path(), &["sync", "--config", "config.json"], b"");
    assert_one_line_failure(&run, 1, "config.json");
    let run = powens_in(dir.path(), &["sync", "--config", "absent.json"], b"");
    assert_one_line_failure(&run, 1, "cannot read absent.json");
}

#[test]
fn an_output_file_that_cannot_be_created_is_one_line_and_exit_1() {
    let run = powens(
        &[
            "sync",
            "--psus",
            "1",
            "--transactions",
            "5",
            "--out",
            "no/such/dir/out.jsonl",
        ],
        b"",
    );
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(run.stderr_lines().len(), 1, "{run:?}");
    assert!(
        run.stderr.contains("cannot create no/such/dir/out.jsonl"),
        "{run:?}"
    );
}

#[test]
fn a_sync_against_the_realistic_sandbox_profile_is_verified() {
    let dir = tempfile::tempdir().unwrap();
    let run = small_sync(dir.path(), &["--sandbox-profile", "realistic"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout
            .contains("(profile realistic): 3 PSUs created, 2 linked"),
        "{run:?}"
    );
    assert!(verified_records(&run) > 0, "{run:?}");
}

#[test]
fn an_unknown_sandbox_profile_is_a_usage_error_naming_the_profiles() {
    let dir = tempfile::tempdir().unwrap();
    let run = powens_in(dir.path(), &["sync", "--sandbox-profile", "live"], b"");
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("default, realistic"), "{run:?}");
}
