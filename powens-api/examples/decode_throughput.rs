//! Prints how fast a `TransactionsPage` of realistic transactions decodes.
//!
//! `cargo run --release -p powens-api --example decode_throughput [-- <transactions>]`
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use powens_api::transactions::TransactionsPage;
use powens_api::wire::decode_json;

fn main() {
    let count: usize = std::env::args()
        .nth(1)
        .and_then(|arg| arg.parse().ok())
        .unwrap_or(200_000);
    let template = include_str!("../tests/fixtures/transaction_card.json");
    let rows: Vec<String> = (0..count)
        .map(|i| {
            template
                .replace("\"id\": 309", &format!("\"id\": {}", 1_000_000 + i))
                .replace("-16.22", &format!("-{}.{:02}", i % 5000, i % 100))
        })
        .collect();
    let body = format!(
        r#"{{"transactions":[{}],"first_date":"2019-03-01","last_date":"2026-08-12","total":{count},"_links":{{"next":null}}}}"#,
        rows.join(",")
    );
    let started = Instant::now();
    let page: TransactionsPage = decode_json(body.as_bytes()).unwrap();
    let elapsed = started.elapsed();
    assert_eq!(page.transactions.len(), count);
    let per_second = count as u128 * 1_000_000 / elapsed.as_micros().max(1);
    println!(
        "decoded {count} transactions ({} MiB) in {elapsed:?}: {per_second} transactions/s",
        body.len() / (1024 * 1024)
    );
}
