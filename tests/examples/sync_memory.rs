//! Peak memory of a polling sync: a PSU with `<transactions>` transactions (default 1,000,000,
//! spread over 4 accounts) synced through the engine with pages of 1000, against the sandbox
//! running as a **separate process** (so its own data does not count), records counted and
//! dropped. Prints `bench sync_records`, `bench sync_tx_per_s` and `bench sync_peak_rss_mib`
//! (this process's VmHWM). The client's rate limit is off (the sandbox is local).
//!
//! ```text
//! cargo build --release -p powens-sandbox
//! cargo run --release -p tests --example sync_memory [-- <transactions>]
//! ```

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use connector_core::model::Record;
use connector_core::openbanking::{ForwardedUser, Token};
use connector_core::sink::{Sink, SinkError};
use connector_core::state::FileStateStore;
use connector_powens::{PowensConfig, PowensConnector};
use futures::future::BoxFuture;
use futures::FutureExt;
use secrecy::SecretString;

#[derive(Default)]
struct CountingSink(AtomicU64);

impl Sink for CountingSink {
    fn accept<'a>(&'a self, batch: &'a [Record]) -> BoxFuture<'a, Result<(), SinkError>> {
        self.0.fetch_add(batch.len() as u64, Ordering::Relaxed);
        futures::future::ready(Ok(())).boxed()
    }
}

fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    line.split_whitespace()
        .find_map(|part| part.strip_prefix(key)?.strip_prefix('='))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let total: u32 = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(1_000_000);
    let accounts = 4u32;
    let exe = std::env::current_exe()?;
    let sandbox_bin = exe
        .parent()
        .and_then(|examples| examples.parent())
        .map(|profile| profile.join("powens-sandbox"))
        .ok_or("cannot locate the target directory")?;
    if !sandbox_bin.exists() {
        return Err(format!(
            "{} is missing: run `cargo build [--release] -p powens-sandbox` first",
            sandbox_bin.display()
        )
        .into());
    }
    let started = Instant::now();
    let mut child = Command::new(&sandbox_bin)
        .args(["--seed", "1", "--users", "1", "--connections-per-link", "1"])
        .args(["--accounts-per-connection", &accounts.to_string()])
        .args([
            "--transactions-per-account",
            &(total / accounts).to_string(),
        ])
        .stdout(Stdio::piped())
        .spawn()?;
    let stdout = child.stdout.take().ok_or("no sandbox stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let (mut base, mut creds, mut user) = (None, None, None);
    while user.is_none() {
        let line = lines.next().ok_or("the sandbox exited early")??;
        if let Some(url) = line.strip_prefix("listening on ") {
            base = Some(url.trim().to_owned());
        } else if line.starts_with("client_id=") {
            creds = Some(line);
        } else if line.starts_with("user ") {
            user = Some(line);
        }
    }
    let (base, creds, user) = (
        base.ok_or("no URL")?,
        creds.ok_or("no credentials")?,
        user.ok_or("no user")?,
    );
    eprintln!("sandbox ready in {:.1}s", started.elapsed().as_secs_f64());
    let config = PowensConfig::from_value(serde_json::json!({
        "clientID": field(&creds, "client_id"),
        "clientSecret": field(&creds, "client_secret"),
        "configurationToken": field(&creds, "configuration_token"),
        "domain": field(&creds, "domain"),
        "endpoint": format!("{base}/2.0"),
        "maxConnectionsPerLink": 1,
        "pageSize": 1000,
    }))?;
    let psu = ForwardedUser {
        psu_id: "psu-bench".into(),
        connector_id: "bench".into(),
        access_token: Some(Token::new(
            SecretString::from(field(&user, "token").ok_or("no token")?.to_owned()),
            None,
        )),
        psp_user_id: field(&user, "id").map(str::to_owned),
        metadata: Default::default(),
    };
    // No client-side rate limit: the sandbox is local (the default is 10 requests/s).
    let client = powens_api::PowensClient::builder(config.endpoint.as_str())
        .rate_limit(None)
        .build()?;
    let connector = PowensConnector::builder(config).client(client).build()?;
    let dir = tempfile::tempdir()?;
    let sink = Arc::new(CountingSink::default());
    let engine = connector_core::Engine::new(
        Arc::new(connector),
        Arc::new(FileStateStore::open(dir.path())?),
        sink.clone(),
        tests::engine_config(),
    )?
    .with_psus(vec![Arc::new(psu)]);
    let sync_started = Instant::now();
    let summary = tests::sync(&engine).await?;
    let seconds = sync_started.elapsed().as_secs_f64();
    let records = sink.0.load(Ordering::Relaxed);
    let _ = child.kill();
    let _ = child.wait();
    println!("bench sync_records: {records} ({} pages)", summary.pages);
    println!("bench sync_seconds: {seconds:.1}");
    println!("bench sync_tx_per_s: {:.0}", records as f64 / seconds);
    match peak_rss_mib() {
        Some(mib) => println!("bench sync_peak_rss_mib: {mib:.1}"),
        None => println!("bench sync_peak_rss_mib: unavailable (no /proc)"),
    }
    Ok(())
}
