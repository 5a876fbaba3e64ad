//! `powens sync` end to end against the embedded sandbox, and its failures.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::live::*;
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

/// `powens sync --config config.json --out out.jsonl -q extra…` in the sandbox's directory.
fn live_sync(sandbox: &LiveSandbox, extra: &[&str]) -> Run {
    let mut args = vec![
        "sync",
        "--config",
        "config.json",
        "--out",
        "out.jsonl",
        "--quiet",
    ];
    args.extend_from_slice(extra);
    powens_in(sandbox.dir(), &args, b"")
}

/// The account references of `out.jsonl`, by PSU id.
fn accounts_by_psu(
    sandbox: &LiveSandbox,
) -> std::collections::BTreeMap<String, std::collections::BTreeSet<String>> {
    let text = std::fs::read_to_string(sandbox.dir().join("out.jsonl")).unwrap();
    let mut by_psu = std::collections::BTreeMap::<_, std::collections::BTreeSet<_>>::new();
    for line in text.lines() {
        let record: serde_json::Value = serde_json::from_str(line).unwrap();
        if record["kind"] == "account" {
            by_psu
                .entry(record["psuID"].as_str().unwrap().to_owned())
                .or_default()
                .insert(record["reference"].as_str().unwrap().to_owned());
        }
    }
    by_psu
}

#[test]
fn psu_id_explicit_swapped_psu_token_flags_keep_each_persons_id() {
    let sandbox = LiveSandbox::start(2);
    let alice = format!("alice={}", sandbox.users()[0].token);
    let bob = format!("bob={}", sandbox.users()[1].token);
    let run = live_sync(&sandbox, &["--psu-token", &alice, "--psu-token", &bob]);
    assert_eq!(run.code, 0, "{run:?}");
    let first = accounts_by_psu(&sandbox);
    let run = live_sync(&sandbox, &["--psu-token", &bob, "--psu-token", &alice]);
    assert_eq!(run.code, 0, "{run:?}");
    let swapped = accounts_by_psu(&sandbox);
    assert_eq!(
        first.keys().collect::<Vec<_>>(),
        ["alice", "bob"],
        "{first:?}"
    );
    assert!(
        first.values().all(|accounts| !accounts.is_empty()),
        "{first:?}"
    );
    assert!(first["alice"].is_disjoint(&first["bob"]), "{first:?}");
    assert_eq!(first, swapped, "each person's accounts stay under their id");
}

#[test]
fn psu_id_explicit_bare_token_is_named_after_its_powens_user() {
    let sandbox = LiveSandbox::start(2);
    let user = &sandbox.users()[1];
    let run = live_sync(&sandbox, &["--psu-token", &user.token]);
    assert_eq!(run.code, 0, "{run:?}");
    let by_psu = accounts_by_psu(&sandbox);
    let expected = format!("powens-user-{}", user.id);
    assert_eq!(by_psu.keys().collect::<Vec<_>>(), [&expected], "{by_psu:?}");
}

#[test]
fn psu_id_explicit_tokens_file_lines_name_their_psu_and_whole_line_comments_only() {
    let sandbox = LiveSandbox::start(2);
    let [alice, bob] = [&sandbox.users()[0], &sandbox.users()[1]];
    std::fs::write(
        sandbox.dir().join("tokens.txt"),
        format!(
            "# the PSUs of the team\n\n  alice {}\n\t# bob is named after his Powens user\n{}\n",
            alice.token, bob.token
        ),
    )
    .unwrap();
    let run = live_sync(&sandbox, &["--psu-tokens-file", "tokens.txt"]);
    assert_eq!(run.code, 0, "{run:?}");
    let by_psu = accounts_by_psu(&sandbox);
    let bob_id = format!("powens-user-{}", bob.id);
    assert_eq!(
        by_psu.keys().collect::<Vec<_>>(),
        ["alice", bob_id.as_str()],
        "{by_psu:?}"
    );
}

#[test]
fn psu_id_explicit_tokens_file_line_with_a_trailing_comment_is_refused_by_line() {
    let sandbox = LiveSandbox::start(1);
    std::fs::write(
        sandbox.dir().join("tokens.txt"),
        format!("alice {} # Alice's bank\n", sandbox.users()[0].token),
    )
    .unwrap();
    let run = live_sync(&sandbox, &["--psu-tokens-file", "tokens.txt"]);
    assert_one_line_failure(
        &run,
        2,
        "tokens.txt line 1: a line is `PSU_ID TOKEN` or `TOKEN`",
    );
    assert!(!run.stderr.contains(&sandbox.users()[0].token), "{run:?}");
}

#[test]
fn psu_id_explicit_duplicate_psu_id_across_sources_is_refused_before_syncing() {
    let sandbox = LiveSandbox::start(2);
    std::fs::write(
        sandbox.dir().join("tokens.txt"),
        format!("alice {}\n", sandbox.users()[1].token),
    )
    .unwrap();
    let flag = format!("alice={}", sandbox.users()[0].token);
    let run = live_sync(
        &sandbox,
        &["--psu-token", &flag, "--psu-tokens-file", "tokens.txt"],
    );
    assert_one_line_failure(
        &run,
        2,
        "PSU id alice is given by --psu-token #1 and by tokens.txt line 1",
    );
    assert!(!sandbox.dir().join("out.jsonl").exists(), "nothing synced");
}

#[test]
fn psu_id_explicit_one_token_under_two_ids_is_refused_without_echoing_it() {
    let sandbox = LiveSandbox::start(1);
    let token = &sandbox.users()[0].token;
    let alice = format!("alice={token}");
    let bob = format!("bob={token}");
    let run = live_sync(&sandbox, &["--psu-token", &alice, "--psu-token", &bob]);
    assert_one_line_failure(
        &run,
        2,
        "the same token is given by --psu-token #1 and by --psu-token #2",
    );
    assert!(!run.stderr.contains(token.as_str()), "{run:?}");
}

#[test]
fn psu_id_explicit_bad_psu_token_values_are_usage_errors() {
    let sandbox = LiveSandbox::start(0);
    for (value, needle) in [
        ("alice=", "--psu-token #1: the token after `=` is empty"),
        ("=abc", "--psu-token #1 (PSU_ID=TOKEN): the part before `=`"),
        ("al ice=abc", "a PSU id is 1 to 64"),
        ("   ", "--psu-token #1: the token is empty"),
    ] {
        let run = live_sync(&sandbox, &["--psu-token", value]);
        assert_one_line_failure(&run, 2, needle);
    }
}

#[test]
fn psu_id_explicit_bare_token_powens_refuses_is_one_line_naming_the_flag() {
    let sandbox = LiveSandbox::start(0);
    let run = live_sync(&sandbox, &["--psu-token", "not-a-token"]);
    assert_one_line_failure(
        &run,
        1,
        "cannot name the PSU of --psu-token #1 after its Powens user",
    );
    assert!(!run.stderr.contains("not-a-token"), "{run:?}");
}

#[cfg(unix)]
#[test]
fn a_sync_with_state_writes_state_files_0600_in_0700_directories() {
    let sandbox = LiveSandbox::start(1);
    let flag = format!("alice={}", sandbox.users()[0].token);
    let run = live_sync(&sandbox, &["--psu-token", &flag, "--state", "run/state"]);
    assert_eq!(run.code, 0, "{run:?}");
    let dir = sandbox.dir().join("run/state");
    assert_eq!(mode_of(&sandbox.dir().join("run")), 0o700);
    assert_eq!(mode_of(&dir), 0o700);
    assert_eq!(mode_of(&dir.join("state")), 0o700);
    let mut files = 0;
    for entry in std::fs::read_dir(dir.join("state")).unwrap() {
        let path = entry.unwrap().path();
        assert_eq!(mode_of(&path), 0o600, "{}", path.display());
        files += 1;
    }
    assert!(files > 1, "the lock and at least one state");
}
