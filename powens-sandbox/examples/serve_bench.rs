//! Serving throughput of the sandbox over loopback: pages ~200k transactions in pages of 1000
//! (following `_links.next`, decoding every page) and prints `bench sandbox_tx_per_s: <n>`.
//!
//! `cargo run --release -p powens-sandbox --example serve_bench [-- <transactions>]`

use std::time::Instant;

use powens_sandbox::{Sandbox, SandboxSize};
use serde::Deserialize;

#[derive(Deserialize)]
struct Page {
    transactions: Vec<serde::de::IgnoredAny>,
    #[serde(rename = "_links")]
    links: Links,
}

#[derive(Deserialize)]
struct Links {
    next: Option<Href>,
}

#[derive(Deserialize)]
struct Href {
    href: String,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let wanted: u32 = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(200_000);
    let started = Instant::now();
    let sandbox = Sandbox::builder()
        .seed(1)
        .size(SandboxSize {
            users: 1,
            connections_per_link: 1,
            accounts_per_connection: 1,
            transactions_per_account: wanted,
        })
        .start()
        .await?;
    let generated = started.elapsed();
    let user = sandbox.users().first().ok_or("no seeded user")?.clone();
    let client = reqwest::Client::new();
    let mut url = format!("{}/users/me/transactions?limit=1000&all", sandbox.api_url());
    let mut rows = 0usize;
    let mut pages = 0usize;
    let mut bytes = 0usize;
    let started = Instant::now();
    loop {
        let body = client
            .get(&url)
            .bearer_auth(&user.token)
            .send()
            .await?
            .error_for_status()?
            .bytes()
            .await?;
        bytes += body.len();
        let page: Page = serde_json::from_slice(&body)?;
        rows += page.transactions.len();
        pages += 1;
        match page.links.next {
            Some(next) => url = next.href,
            None => break,
        }
    }
    let elapsed = started.elapsed();
    let per_s = rows as f64 / elapsed.as_secs_f64();
    println!(
        "generated {} transactions in {:.2?}; served {rows} rows in {pages} pages ({:.1} MB) in {:.2?}",
        wanted,
        generated,
        bytes as f64 / 1e6,
        elapsed
    );
    println!("bench sandbox_tx_per_s: {}", per_s.round());
    sandbox.shutdown().await;
    Ok(())
}
