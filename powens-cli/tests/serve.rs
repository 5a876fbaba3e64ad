//! `powens serve` end to end: the built binary in its own process, driven over HTTP like an
//! operator with `curl` would, against the embedded sandbox or against a sandbox running in
//! this test process (service and sandbox in separate processes), records read back from
//! `--out` and compared with the sandbox's truth.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use chrono::{DateTime, Utc};
use common::service::{
    call, create_and_link, eventually, http, see_other, ServeProcess, Service, CLIENT_REDIRECT,
};
use connector_core::model::Record;
use powens_sandbox::{
    ClockMode, Fault, FaultRoute, FaultRule, Sandbox, SandboxHandle, SandboxSize, WebhookEvent,
};
use serde_json::{json, Value};

/// `powens serve` started by these tests.
type Serve = ServeProcess;

/// The records of `out` stamped with `psu`.
fn records_of(out: &Path, psu: &str) -> Vec<Record> {
    let text = std::fs::read_to_string(out).unwrap_or_default();
    tests::records_from_json_lines(&text)
        .unwrap()
        .into_iter()
        .filter(|r| serde_json::to_value(r).unwrap()["psuID"] == psu)
        .collect()
}

/// The distinct payment references of `psu` in the complete lines of `out` (a line being
/// written is left out).
fn payment_references(out: &Path, psu: &str) -> std::collections::BTreeSet<String> {
    let text = std::fs::read_to_string(out).unwrap_or_default();
    let complete = &text[..text.rfind('\n').map_or(0, |i| i + 1)];
    complete
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|v| v["kind"] == "payment" && v["psuID"] == psu)
        .filter_map(|v| v["reference"].as_str().map(str::to_owned))
        .collect()
}

/// The PSU's `lastSuccessfulSync`.
async fn last_sync(serve: &Serve, psu: &str) -> Option<DateTime<Utc>> {
    let (status, body) = call(serve, "GET", &format!("/psus/{psu}"), None).await;
    assert_eq!(status, 200, "{body}");
    body["lastSuccessfulSync"]
        .as_str()
        .map(|t| t.parse().unwrap())
}

/// Waits for two successful syncs of `psu` ending after `after` (the second one started
/// after it), so that everything changed before `after` was read.
async fn synced_after(serve: &Serve, psu: &str, after: DateTime<Utc>) {
    let first = eventually(
        Duration::from_secs(60),
        "a sync after the change",
        async || last_sync(serve, psu).await.filter(|t| *t > after),
    )
    .await;
    eventually(
        Duration::from_secs(60),
        "a second sync after the change",
        async || last_sync(serve, psu).await.filter(|t| *t > first),
    )
    .await;
}

/// The Prometheus text parsed: `(name, labels) → value`, every line checked.
fn parse_metrics(text: &str) -> BTreeMap<(String, String), f64> {
    let mut samples = BTreeMap::new();
    for line in text.lines() {
        if line.is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix("# ") {
            let mut words = comment.split(' ');
            let kind = words.next().unwrap();
            assert!(kind == "HELP" || kind == "TYPE", "{line}");
            let name = words.next().unwrap();
            assert!(name.starts_with("powens_"), "{line}");
            if kind == "TYPE" {
                let t = words.next().unwrap();
                assert!(["counter", "gauge", "histogram"].contains(&t), "{line}");
            }
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap();
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("value of {line:?}"));
        let (name, labels) = match series.split_once('{') {
            Some((name, rest)) => (name, rest.strip_suffix('}').unwrap()),
            None => (series, ""),
        };
        assert!(name.starts_with("powens_"), "{line}");
        assert!(
            name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "{line}"
        );
        samples.insert((name.to_owned(), labels.to_owned()), value);
    }
    samples
}

async fn scrape(serve: &Serve) -> BTreeMap<(String, String), f64> {
    let response = http().get(serve.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    parse_metrics(&response.text().await.unwrap())
}

fn sum_of(samples: &BTreeMap<(String, String), f64>, name: &str, labels_contain: &str) -> f64 {
    samples
        .iter()
        .filter(|((n, l), _)| n == name && l.contains(labels_contain))
        .map(|(_, v)| v)
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_curl_flow_links_a_psu_whose_records_reach_the_out_file_then_sigterm_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let mut serve = Serve::start(dir.path(), "serve", &["--polling-period", "2s"]);
    assert!(serve
        .banner
        .iter()
        .any(|l| l.starts_with("sandbox at http://127.0.0.1:")));
    assert!(serve.url("").starts_with("http://127.0.0.1:"));

    let health = http().get(serve.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status().as_u16(), 200);
    let ready = http().get(serve.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status().as_u16(), 200);

    create_and_link(&serve, "alice").await;
    // Default --out, in the working directory.
    let out = dir.path().join("powens-serve.jsonl");
    let records = eventually(
        Duration::from_secs(30),
        "alice's records in --out",
        async || {
            let records = records_of(&out, "alice");
            records
                .iter()
                .any(|r| matches!(r, Record::Payment(_)))
                .then_some(records)
        },
    )
    .await;
    assert!(records.iter().any(|r| matches!(r, Record::Account(_))));

    // Consent renewal: a reconnect link for the linked connection, through the same callback.
    let (status, status_body) = call(&serve, "GET", "/psus/alice", None).await;
    assert_eq!(status, 200, "{status_body}");
    let connection = status_body["connections"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, renewal) = call(
        &serve,
        "POST",
        "/psus/alice/reconnect",
        Some(json!({ "clientRedirectURL": CLIENT_REDIRECT, "connectionID": connection })),
    )
    .await;
    assert_eq!(status, 201, "{renewal}");
    let webview = renewal["url"].as_str().unwrap();
    assert!(webview.contains("/reconnect?"), "{webview}");
    let callback = see_other(webview).await;
    assert_eq!(see_other(&callback).await, CLIENT_REDIRECT);
    // The attempt is closed: the same callback again names no open attempt.
    let replay = http().get(&callback).send().await.unwrap();
    assert_eq!(replay.status().as_u16(), 404);

    let metrics = scrape(&serve).await;
    assert!(
        sum_of(
            &metrics,
            "powens_records_delivered_total",
            "kind=\"payment\""
        ) > 0.0
    );
    assert!(sum_of(&metrics, "powens_requests_total", "status=\"200\"") > 0.0);
    assert!(
        sum_of(&metrics, "powens_webhooks_total", "outcome=\"processed\"") >= 1.0,
        "the link's CONNECTION_SYNCED was processed: {metrics:?}"
    );
    assert_eq!(metrics[&("powens_psus".into(), String::new())], 1.0);

    let (code, took) = serve.terminate();
    assert_eq!(code, Some(0), "{}", serve.stderr());
    assert!(took < Duration::from_secs(10), "{took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_bad_requests_of_every_route_get_a_4xx_json_error_and_never_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(dir.path(), "serve", &["--max-webhook-bytes", "4096"]);
    let (status, _) = call(&serve, "POST", "/psus", Some(json!({ "id": "bob" }))).await;
    assert_eq!(status, 201);
    let long_id = "x".repeat(65);
    let cases: Vec<(&str, String, Option<Value>, u16, &str)> = vec![
        (
            "POST",
            "/psus".into(),
            Some(json!({ "id": "bob" })),
            409,
            "conflict",
        ),
        (
            "POST",
            "/psus".into(),
            Some(json!({ "id": "a b" })),
            400,
            "bad_request",
        ),
        (
            "POST",
            "/psus".into(),
            Some(json!({ "id": long_id })),
            400,
            "bad_request",
        ),
        (
            "POST",
            "/psus".into(),
            Some(json!({ "id": 7 })),
            400,
            "bad_request",
        ),
        (
            "POST",
            "/psus".into(),
            Some(json!({ "nick": "x" })),
            400,
            "bad_request",
        ),
        ("POST", "/psus".into(), Some(json!([1])), 400, "bad_request"),
        (
            "POST",
            "/psus/nobody/links".into(),
            Some(json!({ "clientRedirectURL": CLIENT_REDIRECT })),
            404,
            "not_found",
        ),
        (
            "POST",
            "/psus/bob/links".into(),
            Some(json!({})),
            400,
            "bad_request",
        ),
        (
            "POST",
            "/psus/bob/links".into(),
            Some(json!({ "clientRedirectURL": "not a url" })),
            400,
            "bad_request",
        ),
        (
            "POST",
            "/psus/bob/links".into(),
            Some(json!({ "clientRedirectURL": "ftp://h/x" })),
            400,
            "bad_request",
        ),
        (
            "POST",
            "/psus/bob/links".into(),
            Some(json!({ "clientRedirectURL": CLIENT_REDIRECT, "connectionID": "1" })),
            400,
            "bad_request",
        ),
        (
            "POST",
            "/psus/nobody/reconnect".into(),
            Some(json!({ "clientRedirectURL": CLIENT_REDIRECT })),
            404,
            "not_found",
        ),
        (
            "POST",
            "/psus/bob/reconnect".into(),
            Some(json!({ "clientRedirectURL": CLIENT_REDIRECT })),
            400,
            "bad_request",
        ),
        (
            "POST",
            "/psus/bob/reconnect".into(),
            Some(json!({ "clientRedirectURL": "nope" })),
            400,
            "bad_request",
        ),
        ("GET", "/psus/nobody".into(), None, 404, "not_found"),
        ("DELETE", "/psus/nobody".into(), None, 404, "not_found"),
        ("PUT", "/psus/bob".into(), None, 405, "method_not_allowed"),
        ("GET", "/nothing-here".into(), None, 404, "not_found"),
        ("GET", "/callback".into(), None, 400, "bad_request"),
        (
            "GET",
            "/callback?state=%%%".into(),
            None,
            400,
            "bad_request",
        ),
        (
            "POST",
            "/webhooks/connection-synced".into(),
            Some(json!({})),
            401,
            "rejected",
        ),
        (
            "POST",
            "/webhooks/no-such-event".into(),
            Some(json!({})),
            404,
            "not_found",
        ),
        (
            "POST",
            "/webhooks/user-synced".into(),
            Some(json!({ "pad": "x".repeat(5000) })),
            413,
            "payload_too_large",
        ),
    ];
    for (method, path, body, expected, code) in cases {
        let (status, answer) = call(&serve, method, &path, body.clone()).await;
        assert_eq!(status, expected, "{method} {path} {body:?}: {answer}");
        assert_eq!(answer["error"], code, "{method} {path}: {answer}");
        assert!(answer["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    // A callback whose state names no open attempt.
    let forged = "eyJyYW5kb21pemVkIjoiMDAiLCJhdHRlbXB0SUQiOiJhdHQtbm9uZSJ9";
    let (status, answer) = call(&serve, "GET", &format!("/callback?state={forged}"), None).await;
    assert_eq!(status, 404, "{answer}");
    // The PSU routes need the token; the webhook, callback and operations routes do not.
    for (method, path) in [
        ("POST", "/psus"),
        ("GET", "/psus/bob"),
        ("DELETE", "/psus/bob"),
    ] {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let response = http()
            .request(method.clone(), serve.url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 401, "{method} {path}");
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
        let wrong = http()
            .request(method.clone(), serve.url(path))
            .bearer_auth("not-the-token")
            .send()
            .await
            .unwrap();
        assert_eq!(wrong.status().as_u16(), 401, "{method} {path}");
    }
    // Still alive and well after all that, and bob can be deleted.
    let (status, _) = call(&serve, "DELETE", "/psus/bob", None).await;
    assert_eq!(status, 204);
    let (status, _) = call(&serve, "GET", "/psus/bob", None).await;
    assert_eq!(status, 404);
    let health = http().get(serve.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status().as_u16(), 200);
    let metrics = scrape(&serve).await;
    assert_eq!(
        sum_of(&metrics, "powens_webhooks_total", "status=\"401\""),
        1.0,
        "{metrics:?}"
    );
    assert!(!serve.stderr().contains("panicked"), "{}", serve.stderr());
}

/// A sandbox in this test process, its clock ticking from now (webhook signatures are then
/// fresh for the service's clock), pages of `page_size`.
async fn external_sandbox() -> SandboxHandle {
    let now = Utc::now()
        .with_timezone(&chrono_tz::Europe::Paris)
        .naive_local();
    Sandbox::builder()
        .seed(21)
        .size(SandboxSize {
            users: 0,
            connections_per_link: 1,
            accounts_per_connection: 2,
            transactions_per_account: 60,
        })
        .max_connections_per_link(1)
        .start_time(now)
        .clock_mode(ClockMode::Ticking)
        .webhook_retries(5, Duration::from_millis(200))
        .start()
        .await
        .unwrap()
}

/// The install payload of `sandbox` for `powens serve --config`.
fn write_config(dir: &Path, sandbox: &SandboxHandle) -> PathBuf {
    let path = dir.join("config.json");
    let mut payload = sandbox.install_payload();
    payload["pageSize"] = 20.into();
    payload["pollingPeriod"] = "2s".into();
    std::fs::write(&path, payload.to_string()).unwrap();
    path
}

/// Registers the webhook URLs `powens serve --config` printed at the sandbox.
fn register_webhooks(sandbox: &SandboxHandle, serve: &Serve) {
    let mut registered = 0;
    for line in &serve.banner {
        let Some(rest) = line.strip_prefix("webhook ") else {
            continue;
        };
        let (event, url) = rest.split_once(' ').unwrap();
        assert!(url.starts_with(&serve.url("/webhooks/")), "{url}");
        let event = match event {
            "CONNECTION_SYNCED" => WebhookEvent::ConnectionSynced,
            "USER_SYNCED" => WebhookEvent::UserSynced,
            "CONNECTION_DELETED" => WebhookEvent::ConnectionDeleted,
            "USER_DELETED" => WebhookEvent::UserDeleted,
            "CONNECTION_PENDING_DISCONNECT" => WebhookEvent::ConnectionPendingDisconnect,
            other => panic!("unexpected event {other}"),
        };
        sandbox.control().register_webhook(event, url);
        registered += 1;
    }
    assert_eq!(registered, 5, "{:?}", serve.banner);
}

fn assert_out_matches_truth(out: &Path, psu: &str, sandbox: &SandboxHandle, user_id: u64) {
    let mut ledger = tests::Ledger::default();
    for record in records_of(out, psu) {
        ledger.apply(record);
    }
    let truth = sandbox.control().truth(user_id).unwrap();
    tests::assert_matches_truth(&ledger, &truth);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_against_a_sandbox_process_converges_to_its_truth_through_webhooks_polling_and_a_sigterm_restart(
) {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = external_sandbox().await;
    let config = write_config(dir.path(), &sandbox);
    let out = dir.path().join("records.jsonl");
    let state = dir.path().join("state");
    let args = [
        "--config",
        config.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--state",
        state.to_str().unwrap(),
        "--rate-limit",
        "0",
    ];
    let mut serve = Serve::start(dir.path(), "serve", &args);
    register_webhooks(&sandbox, &serve);
    let user_id = create_and_link(&serve, "carol").await;
    synced_after(&serve, "carol", Utc::now()).await;
    assert_out_matches_truth(&out, "carol", &sandbox, user_id);

    // The bank changes: new posted and pending rows, a pending row matures, a balance moves;
    // the sandbox then sends a signed CONNECTION_SYNCED carrying the changed rows.
    let control = sandbox.control();
    let truth = control.truth(user_id).unwrap();
    let (first, second) = (truth.accounts[0].id, truth.accounts[1].id);
    control.add_transactions(first, 25, false).unwrap();
    control.add_transactions(second, 4, true).unwrap();
    if let Some(pending) = truth.transactions.iter().find(|t| t.coming) {
        control.mature(pending.id).unwrap();
    }
    control
        .set_balance(first, rust_decimal::Decimal::new(123_456, 2))
        .unwrap();
    let connection = truth.connections[0].id;
    let changed_at = Utc::now();
    control.emit_connection_synced(connection).unwrap();
    control.wait_for_webhooks().await;
    let deliveries = control.webhook_deliveries();
    assert!(
        deliveries.iter().all(|d| d.delivered),
        "every signed webhook was accepted: {deliveries:?}"
    );
    synced_after(&serve, "carol", changed_at).await;
    assert_out_matches_truth(&out, "carol", &sandbox, user_id);
    let metrics = scrape(&serve).await;
    assert!(
        sum_of(
            &metrics,
            "powens_webhooks_total",
            "event=\"CONNECTION_SYNCED\",outcome=\"processed\""
        ) >= 2.0,
        "{metrics:?}"
    );

    // Many new rows and a slow bank (each transactions page 250 ms, 20 rows a page), found by
    // polling (every 2 s; no webhook, whose body would carry the rows itself): SIGTERM is
    // sent as soon as the first new rows reach --out while /metrics shows a fetch task
    // running, and the file then holds some of the new rows but not all: it landed mid-scan.
    let old_ids: std::collections::BTreeSet<u64> = control
        .truth(user_id)
        .unwrap()
        .transactions
        .iter()
        .map(|t| t.id)
        .collect();
    control.add_transactions(first, 200, false).unwrap();
    let new_rows: Vec<String> = control
        .truth(user_id)
        .unwrap()
        .transactions
        .iter()
        .filter(|t| !old_ids.contains(&t.id))
        .map(|t| t.id.to_string())
        .collect();
    assert_eq!(new_rows.len(), 200);
    let delivered = |out: &Path| {
        let references = payment_references(out, "carol");
        new_rows.iter().filter(|r| references.contains(*r)).count()
    };
    control.inject_fault(FaultRule {
        times: 60,
        ..FaultRule::new(FaultRoute::Transactions, 1, Fault::Delay { millis: 250 })
    });
    let running = eventually(
        Duration::from_secs(30),
        "new rows in --out while a fetch task runs",
        async || {
            let running = sum_of(&scrape(&serve).await, "powens_tasks_running", "");
            (running >= 1.0 && delivered(&out) > 0).then_some(running)
        },
    )
    .await;
    let (code, took) = serve.terminate();
    assert_eq!(code, Some(0), "{}", serve.stderr());
    assert!(took < Duration::from_secs(10), "{took:?}");
    let at_sigterm = delivered(&out);
    assert!(
        0 < at_sigterm && at_sigterm < new_rows.len(),
        "SIGTERM mid-scan ({running} tasks running): {at_sigterm} of the {} new rows in --out",
        new_rows.len()
    );
    drop(serve);
    control.wait_for_webhooks().await;
    control.clear_faults();

    // The restart finds its PSU, state and signing secret, and converges to the truth.
    let restarted_at = Utc::now();
    let serve = Serve::start(dir.path(), "serve", &args);
    synced_after(&serve, "carol", restarted_at).await;
    assert_out_matches_truth(&out, "carol", &sandbox, user_id);
    let (status, body) = call(&serve, "GET", "/psus/carol", None).await;
    assert_eq!(status, 200);
    assert_eq!(body["powensUserID"], user_id.to_string());
    assert_eq!(body["connections"][0]["id"], connection.to_string());
    assert!(
        body["connections"][0]["consentExpiresAt"].is_string(),
        "{body}"
    );
    sandbox.shutdown().await;
}

/// The lines of a tokens file for `powens serve --psu-tokens-file`.
fn write_tokens(dir: &Path, name: &str, lines: &[String]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_imports_psus_from_a_tokens_file_once_and_keeps_their_last_successful_sync_across_a_restart(
) {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = external_sandbox().await;
    let alice = sandbox.control().create_user(1);
    let bob = sandbox.control().create_user(1);
    let config = write_config(dir.path(), &sandbox);
    let tokens = write_tokens(
        dir.path(),
        "tokens.txt",
        &[
            "# existing Powens users".to_owned(),
            format!("alice {}", alice.token),
            bob.token.clone(),
        ],
    );
    let out = dir.path().join("records.jsonl");
    let state = dir.path().join("state");
    let args = [
        "--config",
        config.to_str().unwrap(),
        "--psu-tokens-file",
        tokens.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--state",
        state.to_str().unwrap(),
        "--rate-limit",
        "0",
    ];
    let mut serve = Serve::start(dir.path(), "serve", &args);
    assert!(
        serve.banner.iter().any(|l| l
            == &format!(
                "imported 2 PSUs from {} (0 known already)",
                tokens.display()
            )),
        "{:?}",
        serve.banner
    );
    // A bare token is named after its Powens user.
    let bob_psu = format!("powens-user-{}", bob.id);
    for (psu, user) in [("alice", &alice), (bob_psu.as_str(), &bob)] {
        let (status, body) = call(&serve, "GET", &format!("/psus/{psu}"), None).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["powensUserID"], user.id.to_string());
        assert_eq!(
            body["connections"][0]["id"],
            user.connection_ids[0].to_string()
        );
    }
    synced_after(&serve, "alice", Utc::now()).await;
    assert_out_matches_truth(&out, "alice", &sandbox, alice.id);
    let synced = last_sync(&serve, "alice").await.unwrap();
    let (code, _) = serve.terminate();
    assert_eq!(code, Some(0), "{}", serve.stderr());
    drop(serve);

    // The same file again: nothing imported, no Powens user asked; the last successful sync
    // is the stored one until the next sync ends.
    let mut slow = args.to_vec();
    slow.extend(["--polling-period", "1h"]);
    let serve = Serve::start(dir.path(), "serve", &slow);
    assert!(
        serve.banner.iter().any(|l| l
            == &format!(
                "imported 0 PSUs from {} (2 known already)",
                tokens.display()
            )),
        "{:?}",
        serve.banner
    );
    let after_restart = last_sync(&serve, "alice").await;
    assert!(
        after_restart >= Some(synced),
        "lastSuccessfulSync after the restart: {after_restart:?}, before: {synced}"
    );
    let (status, body) = call(&serve, "GET", "/psus/alice", None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["powensUserID"], alice.id.to_string());
    drop(serve);

    // A token that is another PSU's under a new id: refused, nothing started.
    let taken = write_tokens(
        dir.path(),
        "taken.txt",
        &[format!("alice-again {}", alice.token)],
    );
    let output = Command::new(env!("CARGO_BIN_EXE_powens"))
        .arg("serve")
        .args(["--listen", "127.0.0.1:0", "--psu-tokens-file"])
        .arg(&taken)
        .args(&args[..2])
        .args(&args[4..])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!(
            "Powens user {} is PSU \"alice\" already",
            alice.id
        )),
        "{stderr}"
    );
    assert!(
        !stderr.contains(&alice.token),
        "the token is never shown: {stderr}"
    );
    sandbox.shutdown().await;
}

/// Posts a delivery the sandbox rendered and signed to the service.
async fn post_rendered(serve: &Serve, rendered: &powens_sandbox::RenderedWebhook) -> (u16, Value) {
    let mut request = http()
        .post(serve.url("/webhooks/connection-synced"))
        .body(rendered.body.clone());
    for (name, value) in &rendered.headers {
        request = request.header(name, value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_delete_psu_forgets_its_powens_user_so_a_later_webhook_for_it_is_refused_as_unknown()
{
    let dir = tempfile::tempdir().unwrap();
    let sandbox = external_sandbox().await;
    let dave = sandbox.control().create_user(1);
    let config = write_config(dir.path(), &sandbox);
    let tokens = write_tokens(dir.path(), "tokens.txt", &[format!("dave {}", dave.token)]);
    let out = dir.path().join("records.jsonl");
    let state = dir.path().join("state");
    let args = [
        "--config",
        config.to_str().unwrap(),
        "--psu-tokens-file",
        tokens.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--state",
        state.to_str().unwrap(),
        "--rate-limit",
        "0",
        "--polling-period",
        "1h",
    ];
    let serve = Serve::start(dir.path(), "serve", &args);
    let connection = dave.connection_ids[0];
    let path = "/webhooks/connection-synced";
    // While dave is a PSU, his Powens user's webhook is processed for him.
    let first = sandbox
        .control()
        .render_connection_synced(connection, path)
        .unwrap();
    let later = sandbox
        .control()
        .render_connection_synced(connection, path)
        .unwrap();
    let (status, body) = post_rendered(&serve, &first).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["psuID"], "dave");

    let (status, body) = call(&serve, "DELETE", "/psus/dave", None).await;
    assert_eq!(status, 204, "{body}");
    let (status, body) = call(&serve, "GET", "/psus/dave", None).await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = post_rendered(&serve, &later).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"], "rejected");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains(&dave.id.to_string()),
        "{body}"
    );
    let metrics = scrape(&serve).await;
    assert_eq!(
        sum_of(
            &metrics,
            "powens_webhooks_total",
            "event=\"CONNECTION_SYNCED\",outcome=\"rejected\",status=\"422\""
        ),
        1.0,
        "{metrics:?}"
    );
    drop(serve);
    sandbox.shutdown().await;
}
