//! `powens serve --database-url` replicas sharing one PostgreSQL schema, each a process of
//! the built binary against a sandbox running in this test process: two replicas sync 20
//! PSUs while one of them is killed with SIGKILL at random moments and restarted, and the
//! tables end equal to the sandbox's truth with every row once; a PSU's holder killed or
//! frozen is taken over within the bound; a webhook delivered to one replica and redelivered to the
//! other is processed once, and the sync it asks for runs on the PSU's holder. Needs `POWENS_TEST_DATABASE_URL` (`connector_postgres::testing`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use chrono::Utc;
use common::service::{create_and_link, eventually, http, ServeProcess, Service};
use connector_postgres::testing::{database_url, fresh_backend};
use connector_postgres::{PgBackend, PsuLeases};
use powens_sandbox::{ClockMode, Sandbox, SandboxHandle, SandboxSize, WebhookEvent};
use rand::Rng;
use serde_json::{json, Value};

/// The bound on a takeover the issue sets (the README states 2 s for a dead process and
/// 22 s for a frozen one or a vanished host; the tests print what they measure).
const TAKEOVER_BOUND: Duration = Duration::from_secs(30);

/// A `powens serve --database-url` replica.
type Replica = ServeProcess;

/// Starts replica `name` on `schema` and waits for its `listening on` line.
fn start_replica(dir: &Path, config: &Path, url: &str, schema: &str, name: &str) -> Replica {
    let config = config.to_str().unwrap();
    ServeProcess::start(
        dir,
        name,
        &[
            "--rate-limit",
            "0",
            "--config",
            config,
            "--database-url",
            url,
            "--database-schema",
            schema,
            "--replica-name",
            name,
        ],
    )
}

/// A sandbox in this process, its clock ticking from now (webhook signatures are fresh for
/// the replicas' clocks).
async fn sandbox(accounts: u32, transactions: u32) -> SandboxHandle {
    let now = Utc::now()
        .with_timezone(&chrono_tz::Europe::Paris)
        .naive_local();
    Sandbox::builder()
        .seed(31)
        .size(SandboxSize {
            users: 0,
            connections_per_link: 1,
            accounts_per_connection: accounts,
            transactions_per_account: transactions,
        })
        .max_connections_per_link(1)
        .start_time(now)
        .clock_mode(ClockMode::Ticking)
        .start()
        .await
        .unwrap()
}

/// The install payload of `sandbox` for `powens serve --config`.
fn write_config(dir: &Path, sandbox: &SandboxHandle, polling: &str) -> PathBuf {
    let credentials = sandbox.credentials();
    let path = dir.join("config.json");
    let payload = json!({
        "clientID": credentials.client_id,
        "clientSecret": credentials.client_secret,
        "configurationToken": credentials.configuration_token,
        "domain": credentials.domain,
        "endpoint": sandbox.api_url(),
        "webviewURL": sandbox.base_url(),
        "maxConnectionsPerLink": 1,
        "pageSize": 50,
        "pollingPeriod": polling,
    });
    std::fs::write(&path, payload.to_string()).unwrap();
    path
}

/// The rows the truth of `users` (PSU id → Powens user id) stands for, one line each, as
/// [`stored_lines`] prints them.
fn truth_lines(sandbox: &SandboxHandle, users: &BTreeMap<String, u64>) -> BTreeSet<String> {
    let mut lines = BTreeSet::new();
    for (psu, user) in users {
        let truth = sandbox.control().truth(*user).unwrap();
        let mut assets = BTreeMap::new();
        for account in &truth.accounts {
            let Some(precision) = tests::expected_precision(account) else {
                continue;
            };
            let asset = format!("{}/{precision}", account.currency);
            lines.insert(format!("account|{}|{asset}|{psu}", account.id));
            lines.insert(format!(
                "balance|{}|{}",
                account.id,
                tests::minor_units(account.balance, precision)
            ));
            assets.insert(account.id, (asset, precision));
        }
        for tx in &truth.transactions {
            let Some((asset, precision)) = assets.get(&tx.account_id) else {
                continue;
            };
            let status = if tx.coming { "PENDING" } else { "SUCCEEDED" };
            lines.insert(format!(
                "payment|{}|{}|{asset}|{status}|{psu}",
                tx.id,
                tests::minor_units(tx.value.abs(), *precision)
            ));
        }
    }
    lines
}

/// The stored accounts, latest balances and payments, one line each.
async fn stored_lines(backend: &PgBackend) -> BTreeSet<String> {
    let client = backend.pool().get().await.unwrap();
    client
        .query(
            "SELECT 'account|' || reference || '|' || default_asset || '|' || psu_id FROM accounts \
             UNION ALL (SELECT DISTINCT ON (account_reference) 'balance|' || account_reference \
                 || '|' || amount FROM balances ORDER BY account_reference, created_at DESC) \
             UNION ALL SELECT 'payment|' || reference || '|' || amount || '|' || asset || '|' \
                 || status || '|' || psu_id FROM payments",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get::<_, String>(0))
        .collect()
}

async fn count(backend: &PgBackend, sql: &str) -> i64 {
    let client = backend.pool().get().await.unwrap();
    client.query_one(sql, &[]).await.unwrap().get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pg_two_replicas_one_killed_20_times_end_with_the_truth_and_every_row_once() {
    let Some(url) = database_url().unwrap() else {
        return;
    };
    let started = Instant::now();
    let backend = fresh_backend(&url, "pg_replicas_kill").await.unwrap();
    let schema = backend.schema().to_owned();
    let dir = tempfile::tempdir().unwrap();
    let sandbox = sandbox(2, 1500).await;
    // Polling is rare: after the first syncs, a PSU is synced again when a replica takes it.
    let config = write_config(dir.path(), &sandbox, "1h");
    let start = |name: &str| start_replica(dir.path(), &config, &url, &schema, name);
    let mut replicas = [start("a"), start("b")];

    let mut users = BTreeMap::new();
    for n in 0..20 {
        let psu = format!("psu-{n:02}");
        let user = create_and_link(&replicas[n % 2], &psu).await;
        users.insert(psu, user);
    }
    let expected = truth_lines(&sandbox, &users);

    // One replica killed at a random moment 20 times, restarted at once.
    let mut rng = rand::thread_rng();
    let mut stored_at_kills = Vec::new();
    for round in 0..20 {
        tokio::time::sleep(Duration::from_millis(rng.gen_range(50..900))).await;
        let victim = rng.gen_range(0..2);
        stored_at_kills.push(count(&backend, "SELECT count(*) FROM payments").await);
        replicas[victim].kill();
        let name = replicas[victim].name.clone();
        replicas[victim] = start(&name);
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "round {round}: the test runs too long"
        );
    }

    let stored = eventually(
        Duration::from_secs(40),
        "the tables equal the truth",
        async || {
            let stored = stored_lines(&backend).await;
            (stored == expected).then_some(stored)
        },
    )
    .await;
    assert_eq!(stored.len(), expected.len());
    let payments = count(&backend, "SELECT count(*) FROM payments").await;
    let distinct = count(&backend, "SELECT count(DISTINCT reference) FROM payments").await;
    assert_eq!(payments, distinct, "duplicate payment rows");
    // A booked row is read once per scan that reaches it; a second write of one can only
    // be a page stored twice (pending rows are read again on purpose until they mature).
    let rewritten = count(
        &backend,
        "SELECT count(*) FROM payments WHERE writes > 1 AND status <> 'PENDING'",
    )
    .await;
    assert_eq!(rewritten, 0, "booked payments written more than once");
    let during_sync = stored_at_kills.iter().filter(|n| **n < payments).count();
    assert!(
        during_sync >= 3,
        "only {during_sync} kills landed before the sync was over: {stored_at_kills:?}"
    );
    println!(
        "kills: 20 ({during_sync} before the last row was stored), payments: {payments}, \
         elapsed: {:?}",
        started.elapsed()
    );
    for replica in &replicas {
        assert!(
            !replica.stderr().contains("panicked"),
            "{}",
            replica.stderr()
        );
    }
    sandbox.shutdown().await;
}

/// How a test stops the replica holding a PSU.
#[derive(Debug, Clone, Copy)]
enum Stop {
    /// SIGKILL: the process is gone, its kernel closes its sockets.
    Kill,
    /// SIGSTOP: the process is frozen, its sockets stay open.
    Freeze,
}

/// Two replicas share four PSUs; new rows arrive for a PSU of `left`, which is then stopped;
/// returns how long until `right` stored them.
async fn takeover_after(stop: Stop, schema_name: &str) -> Option<Duration> {
    let url = database_url().unwrap()?;
    let backend = fresh_backend(&url, schema_name).await.unwrap();
    let schema = backend.schema().to_owned();
    let dir = tempfile::tempdir().unwrap();
    let sandbox = sandbox(1, 40).await;
    let config = write_config(dir.path(), &sandbox, "1h");
    let mut replicas = [
        start_replica(dir.path(), &config, &url, &schema, "left"),
        start_replica(dir.path(), &config, &url, &schema, "right"),
    ];
    let mut users = BTreeMap::new();
    for n in 0..4 {
        let psu = format!("psu-{n}");
        users.insert(psu.clone(), create_and_link(&replicas[n % 2], &psu).await);
    }
    let expected = truth_lines(&sandbox, &users);
    eventually(Duration::from_secs(40), "the first syncs", async || {
        (stored_lines(&backend).await == expected).then_some(())
    })
    .await;

    // Both replicas hold PSUs: the share is 2 each.
    let mut holders = BTreeMap::new();
    for psu in users.keys() {
        let holder = PsuLeases::holder_of(&backend, psu).await.unwrap();
        holders.insert(psu.clone(), holder.expect("every PSU is held"));
    }
    let by: BTreeSet<&String> = holders.values().collect();
    assert_eq!(by.len(), 2, "{holders:?}");

    // New rows for a PSU of `left`; `left` is killed; `right` must sync them.
    let psu = holders
        .iter()
        .find(|(_, holder)| holder.as_str() == "powens replica left")
        .map(|(psu, _)| psu.clone())
        .unwrap();
    let user = users[&psu];
    let account = sandbox.control().truth(user).unwrap().accounts[0].id;
    sandbox
        .control()
        .add_transactions(account, 5, false)
        .unwrap();
    let expected = truth_lines(&sandbox, &users);
    let killed_at = Instant::now();
    match stop {
        Stop::Kill => replicas[0].kill(),
        Stop::Freeze => {
            let pid = replicas[0].child.id().to_string();
            assert!(Command::new("kill")
                .args(["-STOP", &pid])
                .status()
                .unwrap()
                .success());
        }
    }
    let took = loop {
        let stored = stored_lines(&backend).await;
        if stored == expected {
            break killed_at.elapsed();
        }
        assert!(
            killed_at.elapsed() < TAKEOVER_BOUND,
            "not synced within {TAKEOVER_BOUND:?}: missing {:?}, extra {:?}; the other replica: {}",
            expected.difference(&stored).collect::<Vec<_>>(),
            stored.difference(&expected).collect::<Vec<_>>(),
            replicas[1].stderr()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(
        PsuLeases::holder_of(&backend, &psu)
            .await
            .unwrap()
            .as_deref(),
        Some("powens replica right")
    );
    assert!(!replicas[1].stderr().contains("panicked"));
    sandbox.shutdown().await;
    Some(took)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pg_killed_replicas_psus_are_synced_by_the_other_within_the_takeover_bound() {
    if let Some(took) = takeover_after(Stop::Kill, "pg_replicas_takeover").await {
        println!("takeover: the killed replica's PSU synced by the other in {took:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pg_frozen_replicas_psus_are_synced_by_the_other_after_its_session_times_out() {
    if let Some(took) = takeover_after(Stop::Freeze, "pg_replicas_frozen").await {
        // The frozen session ends after idle_session_timeout (15 s), not before.
        assert!(took > Duration::from_secs(10), "{took:?}");
        println!("takeover: the frozen replica's PSU synced by the other in {took:?}");
    }
}

/// The Powens requests `replica` made so far (its `powens_requests_total`).
async fn requests_made(replica: &Replica) -> f64 {
    let text = http()
        .get(replica.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .filter(|line| line.starts_with("powens_requests_total"))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// Sends the captured delivery to `replica`; returns the status and the outcome.
async fn deliver(replica: &Replica, webhook: &tests::ReceivedWebhook) -> (u16, String) {
    let mut request = http().post(replica.url(&webhook.path));
    for (name, values) in webhook.envelope.headers.iter() {
        if name.eq_ignore_ascii_case("host") || name.eq_ignore_ascii_case("content-length") {
            continue;
        }
        for value in values {
            request = request.header(name, value);
        }
    }
    let response = request
        .body(webhook.envelope.body.clone())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    let outcome = body["outcome"].as_str().unwrap_or("rejected").to_owned();
    (status, outcome)
}

/// The next signed `CONNECTION_SYNCED` the sandbox sends after new rows on `account`, and
/// the new rows' ids.
async fn captured_delivery(
    sandbox: &SandboxHandle,
    receiver: &tests::WebhookReceiver,
    account: u64,
    connection: u64,
) -> (tests::ReceivedWebhook, Vec<u64>) {
    let before = receiver.received().len();
    // The sandbox pushes the rows changed after its last push, by the second.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let created = sandbox
        .control()
        .add_transactions(account, 3, false)
        .unwrap();
    sandbox
        .control()
        .emit_connection_synced(connection)
        .unwrap();
    sandbox.control().wait_for_webhooks().await;
    let received = receiver.received();
    assert_eq!(received.len(), before + 1);
    (received[before].clone(), created)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pg_webhook_delivered_to_one_replica_and_redelivered_to_the_other_is_processed_once_and_synced_by_the_holder(
) {
    let Some(url) = database_url().unwrap() else {
        return;
    };
    let backend = fresh_backend(&url, "pg_replicas_webhook").await.unwrap();
    let schema = backend.schema().to_owned();
    let dir = tempfile::tempdir().unwrap();
    let sandbox = sandbox(1, 30).await;
    let config = write_config(dir.path(), &sandbox, "1h");
    let a = start_replica(dir.path(), &config, &url, &schema, "a");
    let b = start_replica(dir.path(), &config, &url, &schema, "b");
    let user = create_and_link(&a, "wh").await;
    let truth = sandbox.control().truth(user).unwrap();
    let (account, connection) = (truth.accounts[0].id, truth.connections[0].id);

    // The sandbox signs over the path it posts to: the replicas' own webhook path.
    let receiver = tests::WebhookReceiver::start().await.unwrap();
    sandbox.control().register_webhook(
        WebhookEvent::ConnectionSynced,
        format!("{}/webhooks/connection-synced", receiver.url),
    );

    // Delivered to A, redelivered to B (A's answer lost, say).
    let (first, mut created) = captured_delivery(&sandbox, &receiver, account, connection).await;
    assert_eq!(deliver(&a, &first).await, (200, "processed".to_owned()));
    assert_eq!(deliver(&b, &first).await, (200, "duplicate".to_owned()));
    assert_eq!(deliver(&a, &first).await, (200, "duplicate".to_owned()));

    // Delivered to both at the same moment: one stores it, the other says duplicate (or
    // in flight, 409, and duplicate when Powens retries).
    let (second, more) = captured_delivery(&sandbox, &receiver, account, connection).await;
    created.extend(more);
    let (from_a, from_b) = tokio::join!(deliver(&a, &second), deliver(&b, &second));
    let mut outcomes = vec![from_a, from_b];
    for (replica, outcome) in [&a, &b].into_iter().zip(outcomes.iter_mut()) {
        if outcome.0 == 409 {
            *outcome = deliver(replica, &second).await;
        }
    }
    outcomes.sort();
    assert_eq!(
        outcomes,
        vec![(200, "duplicate".to_owned()), (200, "processed".to_owned())]
    );
    let keys = count(&backend, "SELECT count(*) FROM webhooks_processed").await;
    assert_eq!(keys, 2);

    // The sync a webhook asks for runs on the PSU's holder, whichever replica received it.
    let holder = eventually(Duration::from_secs(10), "a holder of wh", async || {
        PsuLeases::holder_of(&backend, "wh").await.unwrap()
    })
    .await;
    let (holder, other) = if holder == "powens replica a" {
        (&a, &b)
    } else {
        (&b, &a)
    };
    let mut before = requests_made(holder).await;
    loop {
        // Quiet first: no request for longer than a round.
        tokio::time::sleep(Duration::from_millis(2500)).await;
        let now = requests_made(holder).await;
        if now == before {
            break;
        }
        before = now;
    }
    let (third, more) = captured_delivery(&sandbox, &receiver, account, connection).await;
    created.extend(more);
    assert_eq!(deliver(other, &third).await, (200, "processed".to_owned()));
    eventually(
        Duration::from_secs(10),
        "the holder syncs the PSU after the other replica got its webhook",
        async || (requests_made(holder).await > before).then_some(()),
    )
    .await;
    // The webhooks' rows are stored (by whichever replica processed each).
    let references: Vec<String> = created.iter().map(u64::to_string).collect();
    let stored = count(
        &backend,
        &format!(
            "SELECT count(*) FROM payments WHERE reference IN ('{}')",
            references.join("','")
        ),
    )
    .await;
    assert_eq!(stored, 9, "the webhooks' new rows {references:?}");
    for replica in [&a, &b] {
        assert!(
            !replica.stderr().contains("panicked"),
            "{}",
            replica.stderr()
        );
    }
    sandbox.shutdown().await;
}

#[test]
fn pg_serve_with_an_unreachable_database_fails_in_one_line_without_the_password() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_powens"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args([
            "--database-url",
            "postgres://bob:hunter2@127.0.0.1:1/bank?sslmode=disable",
        ])
        .current_dir(dir.path())
        .env_remove("POWENS_DATABASE_URL")
        .env("POWENS_LOG", "error")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr
            .contains("cannot open the database: cannot connect to PostgreSQL at 127.0.0.1:1/bank"),
        "{stderr}"
    );
    assert!(!stderr.contains("hunter2"), "{stderr}");
    // --database-url replaces --out and --state: both given is a usage error.
    let both = Command::new(env!("CARGO_BIN_EXE_powens"))
        .args(["serve", "--database-url", "postgres://x@127.0.0.1:1/x"])
        .args(["--out", "records.jsonl"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(both.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&both.stderr).contains("--out"),
        "{}",
        String::from_utf8_lossy(&both.stderr)
    );
}
