//! Throughput of the transactions hot path: decode + map of a 1,000-transaction page shaped
//! like the reference fixture (~40 fields per row, amounts as JSON numbers, one row in five
//! with a counterparty), against a serde_json walk of the same bytes into `IgnoredAny`.
//!
//! Run: `cargo bench -p powens-model --bench mapping`. The two loops alternate in 8 rounds of
//! 250 ms each (2 s per loop in total) and each keeps its best round, so that load from other
//! processes on a shared machine skews neither side. Prints exactly
//! `bench mapping_tx_per_s: …` and `bench serde_walk_tx_per_s: …` on stdout, then
//! `bench split_mb_per_s: …` (the page split into parts by `page::PageSplitter`, pushed in
//! 16 KiB chunks, best of 8 rounds, in MB of body per second); context figures go to stderr.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use connector_core::money::Asset;
use powens_model::{page, AccountBook, AccountContext, MappingContext};
use serde::de::IgnoredAny;

const ROWS: usize = 1_000;
/// Each measurement alternates `ROUNDS` rounds of the two loops (so a burst of load from
/// other processes hits both alike) and keeps each loop's best round.
const ROUNDS: usize = 8;
const ROUND_TIME: Duration = Duration::from_millis(250);
const MIN_TIME: Duration = Duration::from_secs(2);

#[path = "common/mod.rs"]
mod common;

fn page_bytes(rows: usize) -> Vec<u8> {
    let mut s = String::from("{\"transactions\":[");
    s.push_str(&common::rows(rows, 17));
    s.push_str(common::PAGE_TAIL);
    s.into_bytes()
}

/// Splits `bytes` pushed in 16 KiB chunks into parts of at most 100 rows, as the connector
/// does; returns the rows seen (checked by the caller).
fn split_page(bytes: &[u8]) -> usize {
    let mut splitter = page::PageSplitter::new(100, 256 * 1024);
    let mut rows = 0;
    for chunk in bytes.chunks(16 * 1024) {
        splitter.push(chunk);
        while let Some(part) = splitter.next_part() {
            rows += part.rows;
            black_box(&part);
        }
    }
    let (last, envelope) = splitter.finish();
    black_box(&envelope);
    rows + last.map_or(0, |part| part.rows)
}

/// Runs `f` (one page per call) until `MIN_TIME` has passed; returns transactions per second.
fn rate(f: impl FnMut() -> usize) -> f64 {
    common::rate_for(MIN_TIME, f)
}

fn main() {
    let bytes = page_bytes(ROWS);
    let ctx = MappingContext::new(Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap())
        .with_psu_id("psu-bench");
    let mut account = AccountContext::new(17, Asset::new("EUR", 2).unwrap());
    account.connection_id = Some("7".to_owned());
    let book = AccountBook::single(account);

    let check = page::map_transactions_page(&bytes, &book, &ctx).unwrap();
    assert_eq!(check.payments.len(), ROWS);
    assert!(check.skipped.is_empty());

    if let Some(mode) = std::env::var_os("POWENS_BENCH_PROFILE_MAPPING") {
        // Profiling aid: only the decode + map loop (or, with `=decode`, only the decode: every
        // row read, then skipped as of an unknown account), for `perf record`.
        let empty = AccountBook::new();
        let decode_only = mode == "decode";
        let book = if decode_only { &empty } else { &book };
        let r = rate(|| {
            let mapped = page::map_transactions_page(&bytes, book, &ctx).unwrap();
            mapped.payments.len() + mapped.skipped.len()
        });
        let what = if decode_only { "decode" } else { "mapping" };
        eprintln!("{what} only: {r:.0} tx/s");
        return;
    }
    let mut map_page = || {
        let mapped = page::map_transactions_page(black_box(&bytes), &book, &ctx).unwrap();
        black_box(&mapped);
        mapped.payments.len()
    };
    let mut walk_page = || {
        let _: IgnoredAny = serde_json::from_slice(black_box(&bytes)).unwrap();
        ROWS
    };
    let (mut mapping, mut walk) = (0.0f64, 0.0f64);
    for _ in 0..ROUNDS {
        mapping = mapping.max(common::rate_for(ROUND_TIME, &mut map_page));
        walk = walk.max(common::rate_for(ROUND_TIME, &mut walk_page));
    }
    println!("bench mapping_tx_per_s: {mapping:.0}");
    println!("bench serde_walk_tx_per_s: {walk:.0}");
    assert_eq!(split_page(&bytes), ROWS);
    let mut split = 0.0f64;
    for _ in 0..ROUNDS {
        split = split.max(common::rate_for(ROUND_TIME, || {
            split_page(black_box(&bytes))
        }));
    }
    // Pages per second times the page size.
    let split_mb = split / ROWS as f64 * bytes.len() as f64 / 1e6;
    println!("bench split_mb_per_s: {split_mb:.0}");
    eprintln!(
        "page: {} bytes, {} rows ({} bytes/row); ratio mapping/walk = {:.2}",
        bytes.len(),
        ROWS,
        bytes.len() / ROWS,
        mapping / walk
    );

    let full = rate(|| {
        let mapped = page::map_transactions_page(black_box(&bytes), &book, &ctx).unwrap();
        let payments = mapped.into_payments();
        black_box(&payments);
        payments.len()
    });
    eprintln!("context: decode + map + raw as RawValue (complete records): {full:.0} tx/s");
    let empty = AccountBook::new();
    let decode_only = rate(|| {
        let mapped = page::map_transactions_page(black_box(&bytes), &empty, &ctx).unwrap();
        black_box(&mapped);
        mapped.skipped.len()
    });
    eprintln!("context: decode only (every row read, then skipped as of an unknown account): {decode_only:.0} tx/s");
    let typed = rate(|| {
        let page: powens_api::transactions::TransactionsPage =
            serde_json::from_slice(black_box(&bytes)).unwrap();
        page.transactions.len()
    });
    eprintln!("context: powens-api typed TransactionsPage decode alone: {typed:.0} tx/s");
}
