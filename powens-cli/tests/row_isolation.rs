//! `powens sync --config` against a sandbox whose transactions page has one row that is not
//! JSON text (a raw control character, bytes that are not UTF-8): the other rows are
//! written, the summary counts the skipped row, `--strict` exits 1, and the next sync of the
//! same state goes on.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::*;

use std::collections::BTreeSet;
use std::path::PathBuf;

use powens_sandbox::{Fault, FaultRoute, FaultRule, Sandbox, SandboxHandle, SandboxSize};

/// Runs `powens args…` in `dir` off the runtime that serves the sandbox.
async fn powens(dir: PathBuf, args: &[&str]) -> Run {
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        powens_in(&dir, &args, b"")
    })
    .await
    .unwrap()
}

/// The `skipped rows` figure of the summary table.
fn skipped_rows(run: &Run) -> u64 {
    run.stdout
        .lines()
        .find_map(|l| l.strip_prefix("skipped rows"))
        .and_then(|rest| rest.trim().parse().ok())
        .unwrap_or_else(|| panic!("no skipped rows line in {run:?}"))
}

/// The payment references written to `out`.
fn payments(out: &std::path::Path) -> BTreeSet<String> {
    std::fs::read_to_string(out)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
        .filter(|record| record["kind"] == "payment")
        .map(|record| record["reference"].as_str().unwrap().to_owned())
        .collect()
}

/// A one-user sandbox (one account of 30 rows) and, in `dir`, its install payload and a
/// tokens file naming the user `psu-1`.
async fn sandbox_in(dir: &std::path::Path) -> SandboxHandle {
    let sandbox = Sandbox::builder()
        .seed(7)
        .size(SandboxSize {
            users: 1,
            connections_per_link: 1,
            accounts_per_connection: 1,
            transactions_per_account: 30,
        })
        .start()
        .await
        .unwrap();
    let mut payload = sandbox.install_payload();
    payload["pageSize"] = 10.into();
    payload["pollingPeriod"] = "30m".into();
    std::fs::write(dir.join("config.json"), payload.to_string()).unwrap();
    let token = &sandbox.users()[0].token;
    std::fs::write(dir.join("tokens.txt"), format!("psu-1 {token}\n")).unwrap();
    sandbox
}

const SYNC: &[&str] = &[
    "sync",
    "--config",
    "config.json",
    "--psu-tokens-file",
    "tokens.txt",
    "--state",
    "state",
    "--out",
    "out.jsonl",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row_isolation_sync_writes_the_other_rows_counts_the_skipped_one_strict_exits_1_and_the_next_sync_goes_on(
) {
    for (fault, why) in [
        (Fault::ControlCharacterRow, "a raw control character U+0001"),
        (Fault::InvalidUtf8Row, "bytes that are not UTF-8"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let sandbox = sandbox_in(dir.path()).await;
        let control = sandbox.control();
        let user = sandbox.users()[0].clone();
        control.inject_fault(FaultRule::new(FaultRoute::Transactions, 1, fault));

        let strict = [SYNC, &["--strict"]].concat();
        let run = powens(dir.path().to_owned(), &strict).await;
        assert_eq!(run.code, 1, "{fault:?}: {run:?}");
        assert_eq!(skipped_rows(&run), 1, "{run:?}");
        let truth = control.truth(user.id).unwrap();
        let all: BTreeSet<String> = truth
            .transactions
            .iter()
            .map(|t| t.id.to_string())
            .collect();
        let written = payments(&dir.path().join("out.jsonl"));
        let missing: Vec<&String> = all.difference(&written).collect();
        assert_eq!(missing.len(), 1, "{fault:?}: only the bad row is missing");
        // The skipped row is named on stderr with its reason, then the strict verdict.
        let named = format!("skipped: transaction {} (", missing[0]);
        assert!(
            run.stderr
                .lines()
                .any(|l| l.starts_with(&named) && l.contains(why)),
            "{run:?}"
        );
        assert!(
            run.stderr_lines().last().unwrap().contains(
                "--strict: 1 row(s) skipped (malformed_row 1); every other record was written to out.jsonl"
            ),
            "{run:?}"
        );

        // The account is not stuck: the next sync of the same state reads its new rows.
        control.advance(chrono::TimeDelta::hours(1));
        let account = truth.transactions[0].account_id;
        let posted = control.add_transactions(account, 2, false).unwrap();
        let run = powens(dir.path().to_owned(), SYNC).await;
        assert_eq!(run.code, 0, "{run:?}");
        assert_eq!(skipped_rows(&run), 0, "{run:?}");
        let written = payments(&dir.path().join("out.jsonl"));
        for id in posted {
            assert!(written.contains(&id.to_string()), "{fault:?}: {id} synced");
        }
        sandbox.shutdown().await;
    }
}
