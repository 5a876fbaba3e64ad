//! `cargo xtask bench serve`: `powens serve` with 10,000 PSUs, idle, then under webhooks.
//!
//! Builds the release `powens` and `powens-sandbox`, runs the sandbox as a separate process
//! with `POWENS_BENCH_SERVE_PSUS` users (default 10,000), each with one connection of 2
//! accounts × 50 transactions, its clock on the wall clock (webhook signatures are fresh), and:
//!
//! 1. starts `powens serve --config … --psu-tokens-file …` (the PSUs imported, one
//!    `GET /users/me` each), lets its first polling cycle sync every PSU's history, then stops
//!    it with SIGTERM;
//! 2. starts it again on the same state: its first cycle is a cycle with no changes. From
//!    serve's `/metrics` (`powens_polling_cycle_requests`, `powens_polling_cycle_seconds`) and
//!    its resident memory (`VmRSS`) after that cycle: `bench serve_idle_requests_per_psu:`,
//!    `bench serve_idle_cycle_s:`, `bench serve_rss_mib:`;
//! 3. has the sandbox render and sign `POWENS_BENCH_SERVE_WEBHOOKS` (default 2,000) first
//!    `CONNECTION_SYNCED` deliveries, one per PSU (100 transactions each: the connection's
//!    whole history), and posts them to serve from 16 connections, each posting the next as
//!    soon as the previous one is answered: `bench serve_webhooks_per_s:` (every answer must
//!    be 200; the records written so far are flushed to disk first). Each delivery triggers a sync of its PSU, which serve runs after a settle
//!    delay, a few at a time; the bench then waits until `powens_triggered_syncs` is 0 and
//!    says how long that took (context, not a figure).
//!
//! The state directory and `--out` live under `target/bench-serve` (the work disk: every
//! state commit and every batch is fsynced, as in production); `POWENS_BENCH_SERVE_DIR`
//! puts them elsewhere (e.g. a tmpfs, to see what the disk costs).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::bench::{release_build, start_sandbox_with, target_dir};

/// Transactions per account: 2 accounts make a first `CONNECTION_SYNCED` of 100.
const TRANSACTIONS_PER_ACCOUNT: u32 = 50;
/// Webhook posters working at the same time.
const POSTERS: usize = 16;

fn env_number(name: &str, default: usize) -> Result<usize, String> {
    match std::env::var(name) {
        Ok(text) => text.trim().parse().ok().filter(|n| *n >= 1).ok_or(format!(
            "{name}: {text:?} is not a whole number, at least 1"
        )),
        Err(_) => Ok(default),
    }
}

/// A running `powens serve`, stopped (SIGKILL) when dropped if still running.
struct ServeProcess {
    child: Child,
    base: String,
    banner: Vec<String>,
}

impl ServeProcess {
    fn start(binary: &Path, args: &[String], stderr: &Path) -> Result<Self, String> {
        let mut child = Command::new(binary)
            .arg("serve")
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .env("POWENS_SERVE_TOKEN", "bench")
            .env("POWENS_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(
                std::fs::File::create(stderr)
                    .map_err(|e| format!("cannot create {}: {e}", stderr.display()))?,
            )
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", binary.display()))?;
        let stdout = child.stdout.take().ok_or("no serve stdout")?;
        let mut process = ServeProcess {
            child,
            base: String::new(),
            banner: Vec::new(),
        };
        for line in BufReader::new(stdout).lines() {
            let line = line.map_err(|e| format!("cannot read the serve output: {e}"))?;
            let done = line.starts_with("listening on ");
            if let Some(base) = line.strip_prefix("listening on ") {
                process.base = base.trim().to_owned();
            }
            process.banner.push(line);
            if done {
                return Ok(process);
            }
        }
        Err(format!(
            "powens serve ended before listening: {}",
            std::fs::read_to_string(stderr).unwrap_or_default()
        ))
    }

    fn rss_kib(&self, field: &str) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix(field))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
    }

    /// SIGTERM, then the exit (at most 20 s).
    fn terminate(&mut self) -> Result<(), String> {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .map_err(|e| format!("cannot run kill: {e}"))?;
        if !status.success() {
            return Err("kill -TERM failed".into());
        }
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(20) {
            if let Some(exit) = self.child.try_wait().map_err(|e| e.to_string())? {
                return if exit.success() {
                    Ok(())
                } else {
                    Err(format!("powens serve exited with {exit} after SIGTERM"))
                };
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err("powens serve still running 20 s after SIGTERM".into())
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The value of an unlabelled sample of a Prometheus text exposition.
fn sample(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
}

async fn metrics(client: &reqwest::Client, serve: &ServeProcess) -> Result<String, String> {
    client
        .get(format!("{}/metrics", serve.base))
        .send()
        .await
        .map_err(|e| format!("GET /metrics: {e}"))?
        .text()
        .await
        .map_err(|e| format!("GET /metrics: {e}"))
}

/// Waits for the first completed polling cycle; returns the metrics text then.
async fn first_cycle(client: &reqwest::Client, serve: &mut ServeProcess) -> Result<String, String> {
    let started = Instant::now();
    loop {
        let text = metrics(client, serve).await?;
        if sample(&text, "powens_polling_cycles_total").unwrap_or(0.0) >= 1.0 {
            return Ok(text);
        }
        if let Some(exit) = serve.child.try_wait().map_err(|e| e.to_string())? {
            return Err(format!("powens serve exited ({exit}) during the cycle"));
        }
        if started.elapsed() > Duration::from_secs(3600) {
            return Err("no polling cycle completed within an hour".into());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Seconds until serve has no triggered sync waiting or running (`powens_triggered_syncs`).
async fn triggered_syncs_drained(
    client: &reqwest::Client,
    serve: &ServeProcess,
) -> Result<f64, String> {
    let started = Instant::now();
    loop {
        let text = metrics(client, serve).await?;
        let pending = sample(&text, "powens_triggered_syncs")
            .ok_or("serve's /metrics has no powens_triggered_syncs")?;
        if pending < 1.0 {
            return Ok(started.elapsed().as_secs_f64());
        }
        if started.elapsed() > Duration::from_secs(600) {
            return Err("triggered syncs still running 10 minutes after the webhooks".into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// One rendered delivery: the body and its headers.
struct Delivery {
    body: String,
    headers: Vec<(String, String)>,
}

async fn render(
    client: &reqwest::Client,
    sandbox: &str,
    connection: u64,
    path: &str,
) -> Result<Delivery, String> {
    let reply: serde_json::Value = client
        .post(format!("{sandbox}/__sandbox/webhooks/render"))
        .json(&serde_json::json!({
            "event": "CONNECTION_SYNCED",
            "connection_id": connection,
            "path": path,
        }))
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(|e| format!("render connection {connection}: {e}"))?
        .json()
        .await
        .map_err(|e| format!("render connection {connection}: {e}"))?;
    let body = reply["body"]
        .as_str()
        .ok_or("the rendered delivery has no body")?
        .to_owned();
    let headers = reply["headers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|pair| Some((pair[0].as_str()?.to_owned(), pair[1].as_str()?.to_owned())))
        .collect();
    Ok(Delivery { body, headers })
}

/// Posts every delivery from [`POSTERS`] closed loops; the seconds taken and the statuses
/// that were not 200 (with their count).
async fn post_all(
    client: &reqwest::Client,
    url: &str,
    deliveries: Vec<Delivery>,
) -> (f64, Vec<(u16, usize)>) {
    let queue = std::sync::Arc::new(std::sync::Mutex::new(deliveries));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..POSTERS {
        let (queue, client, url) = (
            std::sync::Arc::clone(&queue),
            client.clone(),
            url.to_owned(),
        );
        workers.push(tokio::spawn(async move {
            let mut refused: Vec<u16> = Vec::new();
            loop {
                let next = queue
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .pop();
                let Some(delivery) = next else {
                    return refused;
                };
                let mut request = client.post(&url).body(delivery.body);
                for (name, value) in &delivery.headers {
                    request = request.header(name, value);
                }
                let status = match request.send().await {
                    Ok(response) => response.status().as_u16(),
                    Err(_) => 0,
                };
                if status != 200 {
                    refused.push(status);
                }
            }
        }));
    }
    let mut refused = std::collections::BTreeMap::new();
    for worker in workers {
        for status in worker.await.unwrap_or_default() {
            *refused.entry(status).or_insert(0) += 1;
        }
    }
    (
        started.elapsed().as_secs_f64(),
        refused.into_iter().collect(),
    )
}

/// Runs the serve benchmark and prints its four `bench` lines.
pub fn serve(root: &Path) -> Result<(), String> {
    let psus = env_number("POWENS_BENCH_SERVE_PSUS", 10_000)?;
    let webhooks = env_number("POWENS_BENCH_SERVE_WEBHOOKS", 2_000)?.min(psus);
    release_build(root, &["-p", "powens-cli", "-p", "powens-sandbox"])?;
    let release = target_dir(root).join("release");
    let users = u32::try_from(psus).map_err(|_| "too many PSUs")?;
    let (sandbox, config, seeded, sandbox_url) = start_sandbox_with(
        &release.join("powens-sandbox"),
        users,
        TRANSACTIONS_PER_ACCOUNT,
        &["--now", "now", "--ticking"],
    )?;
    let work: PathBuf = std::env::var_os("POWENS_BENCH_SERVE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| target_dir(root).join("bench-serve"));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).map_err(|e| format!("cannot create {}: {e}", work.display()))?;
    let config_path = work.join("config.json");
    let tokens_path = work.join("tokens.txt");
    std::fs::write(&config_path, config.to_string()).map_err(|e| e.to_string())?;
    let lines: String = seeded
        .iter()
        .enumerate()
        .map(|(n, user)| format!("psu-{} {}\n", n + 1, user.token))
        .collect();
    std::fs::write(&tokens_path, lines).map_err(|e| e.to_string())?;
    let args: Vec<String> = [
        "--config",
        &config_path.display().to_string(),
        "--psu-tokens-file",
        &tokens_path.display().to_string(),
        "--out",
        &work.join("records.jsonl").display().to_string(),
        "--state",
        &work.join("state").display().to_string(),
        "--rate-limit",
        "0",
        "--polling-period",
        "30m",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    let powens = release.join("powens");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start tokio: {e}"))?;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .map_err(|e| format!("cannot build an HTTP client: {e}"))?;

    // 1. Import and the first (full) cycle.
    let started = Instant::now();
    let mut serve = ServeProcess::start(&powens, &args, &work.join("serve-1.stderr"))?;
    let imported = started.elapsed().as_secs_f64();
    let first = runtime.block_on(first_cycle(&client, &mut serve))?;
    eprintln!(
        "import of {psus} PSUs: {imported:.1} s; first cycle (history): {:.1} s, {} requests",
        sample(&first, "powens_polling_cycle_seconds").unwrap_or_default(),
        sample(&first, "powens_polling_cycle_requests").unwrap_or_default()
    );
    serve.terminate()?;

    // 2. Restart: the first cycle has nothing new.
    let mut serve = ServeProcess::start(&powens, &args, &work.join("serve-2.stderr"))?;
    let idle = runtime.block_on(first_cycle(&client, &mut serve))?;
    let requests = sample(&idle, "powens_polling_cycle_requests").ok_or("no cycle requests")?;
    let cycle_s = sample(&idle, "powens_polling_cycle_seconds").ok_or("no cycle duration")?;
    let rss_kib = serve.rss_kib("VmRSS:").ok_or("cannot read serve's VmRSS")?;
    let hwm_idle = serve.rss_kib("VmHWM:").unwrap_or_default();
    eprintln!(
        "idle cycle: {requests} requests for {psus} PSUs in {cycle_s:.1} s; RSS {rss_kib} KiB (peak {hwm_idle} KiB)"
    );

    // 3. Webhooks, as fast as serve accepts them.
    let url = serve
        .banner
        .iter()
        .find_map(|l| l.strip_prefix("webhook CONNECTION_SYNCED "))
        .ok_or("serve printed no CONNECTION_SYNCED webhook URL")?
        .trim()
        .to_owned();
    let path = url
        .split_once("://")
        .and_then(|(_, rest)| rest.find('/').map(|i| rest[i..].to_owned()))
        .ok_or(format!("cannot read the path of {url}"))?;
    let deliveries = runtime.block_on(async {
        let mut deliveries = Vec::with_capacity(webhooks);
        for user in seeded.iter().take(webhooks) {
            let connection = *user.connections.first().ok_or("a user has no connection")?;
            deliveries.push(render(&client, &sandbox_url, connection, &path).await?);
        }
        Ok::<_, String>(deliveries)
    })?;
    // The history's 1.9 GB of records may still be in the page cache: written back during the
    // burst, they would make the deliveries' fsyncs wait for them. Flush them first.
    std::fs::File::open(work.join("records.jsonl"))
        .and_then(|out| out.sync_all())
        .map_err(|e| format!("cannot flush the records: {e}"))?;
    let bytes: usize = deliveries.iter().map(|d| d.body.len()).sum();
    let (seconds, refused) = runtime.block_on(post_all(&client, &url, deliveries));
    let drained = runtime.block_on(triggered_syncs_drained(&client, &serve))?;
    let hwm = serve.rss_kib("VmHWM:").unwrap_or_default();
    eprintln!(
        "webhooks: {webhooks} of 100 transactions ({} KiB each) in {seconds:.2} s from {POSTERS} posters; \
         the syncs they triggered all done {drained:.1} s later; serve peak RSS {hwm} KiB",
        bytes / webhooks.max(1) / 1024
    );
    serve.terminate()?;
    drop(sandbox);
    if !refused.is_empty() {
        return Err(format!(
            "webhooks not answered 200 (status: count): {refused:?}"
        ));
    }
    let _ = std::fs::remove_dir_all(&work);
    println!(
        "bench serve_idle_requests_per_psu: {:.2}",
        requests / psus as f64
    );
    println!("bench serve_idle_cycle_s: {cycle_s:.1}");
    println!("bench serve_rss_mib: {:.1}", rss_kib as f64 / 1024.0);
    println!(
        "bench serve_webhooks_per_s: {:.0}",
        webhooks as f64 / seconds.max(1e-9)
    );
    Ok(())
}
