//! A sync into PostgreSQL killed with SIGKILL at random moments and restarted ends with every
//! row exactly once and equal to the sandbox's truth: a page's records and its state are one
//! transaction (connector-postgres). Needs `POWENS_TEST_DATABASE_URL`
//! (`connector_postgres::testing`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use connector_postgres::testing::{database_url, fresh_backend};
use connector_postgres::{PgBackend, PgOptions};
use powens_api::time::{Clock, ManualClock};
use powens_sandbox::{Fault, FaultRoute, FaultRule, SandboxSize};
use rand::Rng;
use serde_json::json;
use tests::*;

/// Set in the child process: what it syncs, as JSON.
const CHILD_ENV: &str = "POWENS_PG_KILL_CHILD";
const TEST_NAME: &str = "pg_sync_killed_at_random_moments_resumes_with_every_row_once";

/// The child: one sync of the parent's sandbox into the parent's schema, then exit.
async fn child_sync(spec: &str) {
    let spec: serde_json::Value = serde_json::from_str(spec).unwrap();
    let config = connector_powens::PowensConfig::from_value(spec["config"].clone()).unwrap();
    let clock = ManualClock::new(serde_json::from_value(spec["now"].clone()).unwrap());
    let connector = connector_with(config, &clock, test_retry_policy()).unwrap();
    let user: powens_sandbox::SeededUser = powens_sandbox::SeededUser {
        id: spec["user"].as_u64().unwrap(),
        token: spec["token"].as_str().unwrap().to_owned(),
        connection_ids: Vec::new(),
    };
    let backend = PgBackend::connect_with(
        spec["url"].as_str().unwrap(),
        PgOptions {
            schema: spec["schema"].as_str().unwrap().to_owned(),
            max_connections: 4,
        },
    )
    .await
    .unwrap();
    let engine = engine_for(
        connector,
        Arc::new(backend.clone()),
        Arc::new(backend),
        vec![seeded_user(&user)],
    )
    .unwrap();
    sync(&engine).await.unwrap();
}

async fn payments_stored(backend: &PgBackend) -> i64 {
    let client = backend.pool().get().await.unwrap();
    client
        .query_one("SELECT count(*) FROM payments", &[])
        .await
        .unwrap()
        .get(0)
}

/// One line per stored row, comparable with the ledger's.
async fn table_lines(backend: &PgBackend) -> (BTreeSet<String>, BTreeSet<String>, i64) {
    let client = backend.pool().get().await.unwrap();
    let payments = client
        .query(
            "SELECT reference || '|' || amount || '|' || asset || '|' || type || '|' || status \
             || '|' || created_at::text || '|' || raw::text FROM payments",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get::<_, String>(0))
        .collect();
    let accounts = client
        .query(
            "SELECT 'account|' || reference || '|' || coalesce(default_asset, '') FROM accounts \
             UNION ALL SELECT 'external|' || reference || '|' FROM external_accounts \
             UNION ALL SELECT 'balance|' || account_reference || '|' || amount FROM balances",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get::<_, String>(0))
        .collect();
    // Rows come again on the wire (a restart inside a linked page reads it from its start;
    // each restart is a new cycle, which reads the pending rows again), but a row delivered
    // again unchanged writes nothing: with the sandbox's clock stopped nothing changes, so a
    // second write of any row is a duplicate.
    let rewritten: i64 = client
        .query_one("SELECT count(*) FROM payments WHERE writes > 1", &[])
        .await
        .unwrap()
        .get(0);
    (payments, accounts, rewritten)
}

/// The same lines from the ledger of an uninterrupted sync.
fn ledger_lines(ledger: &Ledger) -> (BTreeSet<String>, BTreeSet<String>) {
    let ts = |at: chrono::DateTime<chrono::Utc>| at.format("%Y-%m-%d %H:%M:%S%:z").to_string();
    let payments = ledger
        .payments
        .values()
        .map(|p| {
            let status = if ledger.cancelled.contains(&p.reference) {
                "CANCELLED"
            } else {
                p.status.as_str()
            };
            format!(
                "{}|{}|{}|{}|{status}|{}|{}",
                p.reference,
                p.amount,
                p.asset,
                p.payment_type.as_str(),
                ts(p.created_at).replace("+00:00", "+00"),
                p.raw.get()
            )
        })
        .collect();
    let accounts = ledger
        .accounts
        .values()
        .map(|a| {
            let asset = a.default_asset.as_ref().map_or("", |x| x.as_str());
            format!("account|{}|{asset}", a.reference)
        })
        .chain(
            ledger
                .external_accounts
                .keys()
                .map(|r| format!("external|{r}|")),
        )
        .chain(
            ledger
                .balances
                .values()
                .map(|b| format!("balance|{}|{}", b.account_reference, b.amount)),
        )
        .collect();
    (payments, accounts)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pg_sync_killed_at_random_moments_resumes_with_every_row_once() {
    if let Ok(spec) = std::env::var(CHILD_ENV) {
        child_sync(&spec).await;
        return;
    }
    let Some(url) = database_url().unwrap() else {
        return;
    };
    let sandbox = start_sandbox(SandboxSize {
        users: 1,
        connections_per_link: 1,
        accounts_per_connection: 4,
        transactions_per_account: 600,
    })
    .await
    .unwrap();
    let user = sandbox.users()[0].clone();

    // The truth, through an uninterrupted sync into a ledger.
    let (connector, _) = connector_for(&sandbox, 50).unwrap();
    let ledger_sink = LedgerSink::new();
    let engine = memory_engine_for(connector, Arc::new(ledger_sink.clone()), &user).unwrap();
    sync(&engine).await.unwrap();
    let ledger = ledger_sink.snapshot();
    assert_matches_truth(&ledger, &sandbox.control().truth(user.id).unwrap());
    let (expected_payments, expected_accounts) = ledger_lines(&ledger);

    let clock = sandbox_clock(&sandbox);
    let backend = fresh_backend(&url, "pg_kill").await.unwrap();
    let spec = json!({
        "config": sandbox_config_payload(&sandbox, 50),
        "now": clock.now(),
        "user": user.id,
        "token": user.token,
        "url": url,
        "schema": backend.schema(),
    })
    .to_string();
    // Async processes: the sandbox serves the children from this runtime, so no thread of it
    // may block on a child.
    let child = || {
        tokio::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", TEST_NAME, "--test-threads=1"])
            .env(CHILD_ENV, &spec)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };

    // Every transactions page of the children takes 20 ms more: with asynchronous commits a
    // sync of these 2,400 rows ends in well under the kill window otherwise, and the kills
    // below must land inside running syncs.
    sandbox.control().inject_fault(FaultRule {
        times: 1_000_000,
        ..FaultRule::new(FaultRoute::Transactions, 1, Fault::Delay { millis: 20 })
    });
    let mut rng = rand::thread_rng();
    let mut kills = 0;
    let mut seen = 0;
    for round in 0..8 {
        let mut process = child();
        // Wait (bounded) for this round's first commit, then kill it a random while later.
        let started = Instant::now();
        while payments_stored(&backend).await <= seen {
            if started.elapsed() > Duration::from_secs(60) {
                panic!("round {round}: the child stored nothing in 60 s");
            }
            if process.try_wait().unwrap().is_some() {
                break; // it finished the sync before we could kill it
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        tokio::time::sleep(Duration::from_millis(rng.gen_range(0..40))).await;
        if process.try_wait().unwrap().is_none() {
            process.kill().await.unwrap(); // SIGKILL, and waits for the end
            kills += 1;
        }
        let status = process.wait().await.unwrap();
        seen = payments_stored(&backend).await;
        if status.success() {
            break;
        }
    }
    // The last run, left to finish.
    let last = tokio::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", TEST_NAME, "--test-threads=1", "--nocapture"])
        .env(CHILD_ENV, &spec)
        .output()
        .await
        .unwrap();
    assert!(
        last.status.success(),
        "the final sync failed: {}{}",
        String::from_utf8_lossy(&last.stdout),
        String::from_utf8_lossy(&last.stderr)
    );
    assert!(kills >= 3, "only {kills} kills landed in a running sync");

    let (payments, accounts, rewritten) = table_lines(&backend).await;
    assert_eq!(
        payments.len(),
        expected_payments.len(),
        "payments: {} stored, {} in the truth",
        payments.len(),
        expected_payments.len()
    );
    assert_eq!(payments, expected_payments);
    assert_eq!(accounts, expected_accounts);
    assert_eq!(
        rewritten, 0,
        "payments written more than once after {kills} kills: a row rewritten unchanged"
    );
    println!("kills: {kills}, payments: {}", payments.len());
}
