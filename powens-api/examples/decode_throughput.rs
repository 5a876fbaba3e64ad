//! Prints how fast `TransactionsPage`s of realistic transactions decode (the fixture
//! `tests/fixtures/transaction_card.json`, compacted as a server sends it, in pages of 1000).
//!
//! `cargo run --release -p powens-api --example decode_throughput [-- <transactions>]`
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use powens_api::transactions::TransactionsPage;
use powens_api::wire::decode_json;

const PAGE: usize = 1000;

fn main() {
    let count: usize = std::env::args()
        .nth(1)
        .and_then(|arg| arg.parse().ok())
        .unwrap_or(200_000);
    let template: serde_json::Value =
        serde_json::from_str(include_str!("../tests/fixtures/transaction_card.json")).unwrap();
    let template = template.to_string();
    let pages: Vec<String> = (0..count.div_ceil(PAGE))
        .map(|page| {
            let rows: Vec<String> = (0..PAGE)
                .map(|i| {
                    let n = page * PAGE + i;
                    template
                        .replace("\"id\":309", &format!("\"id\":{}", 1_000_000 + n))
                        .replace("-16.22", &format!("-{}.{:02}", n % 5000, n % 100))
                })
                .collect();
            format!(
                r#"{{"transactions":[{}],"first_date":"2019-03-01","last_date":"2026-08-12","total":{count},"_links":{{"next":null}}}}"#,
                rows.join(",")
            )
        })
        .collect();
    let bytes: usize = pages.iter().map(String::len).sum();
    let started = Instant::now();
    let mut decoded = 0usize;
    for page in &pages {
        let page: TransactionsPage = decode_json(page.as_bytes()).unwrap();
        decoded += page.transactions.len();
    }
    let elapsed = started.elapsed();
    let micros = elapsed.as_micros().max(1);
    println!(
        "size_of::<Transaction>() = {} bytes",
        std::mem::size_of::<powens_api::transactions::Transaction>()
    );
    println!(
        "decoded {decoded} transactions in {} pages of {PAGE} ({} bytes/row) in {elapsed:?}: \
         {} transactions/s, {} MB/s",
        pages.len(),
        bytes / decoded.max(1),
        decoded as u128 * 1_000_000 / micros,
        bytes as u128 / micros
    );
}
