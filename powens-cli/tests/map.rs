//! `powens map accounts|transactions`: fixture on stdin → records on stdout, skipped rows on
//! stderr with their reason.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::*;
use serde_json::Value;

fn lines(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is one JSON object"))
        .collect()
}

#[test]
fn a_transactions_page_maps_to_payments_and_external_accounts_and_reports_bad_rows() {
    let run = powens(
        &["map", "transactions", "--asset", "EUR/2", "--account", "17"],
        &fixture("transactions_page.json"),
    );
    assert_eq!(run.code, 0, "{run:?}");
    let records = lines(&run.stdout);
    let kinds: Vec<&str> = records
        .iter()
        .map(|r| r["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["external_account", "payment", "payment"]);
    let card = &records[1];
    assert_eq!(
        (
            &card["reference"],
            &card["amount"],
            &card["asset"],
            &card["type"],
            &card["status"]
        ),
        (
            &Value::from("309"),
            &Value::from(1622),
            &Value::from("EUR/2"),
            &Value::from("PAYOUT"),
            &Value::from("SUCCEEDED")
        )
    );
    assert_eq!(card["sourceAccountReference"], "17");
    let transfer = &records[2];
    assert_eq!(
        (
            &transfer["reference"],
            &transfer["amount"],
            &transfer["type"],
            &transfer["status"]
        ),
        (
            &Value::from("310"),
            &Value::from(120000),
            &Value::from("PAY-IN"),
            &Value::from("PENDING")
        )
    );
    assert_eq!(records[0]["type"], "EXTERNAL");
    assert_eq!(
        run.stderr_lines(),
        [
            "skipped transaction 311: amount 1.234 has more decimals than the precision 2 of EUR/2",
            "skipped transaction 312: transaction belongs to account Some(99), which is not in the mapping context",
        ]
    );
}

#[test]
fn an_accounts_list_maps_to_accounts_then_balances_and_reports_unknown_currencies() {
    let run = powens(
        &["map", "accounts", "--psu", "psu-1"],
        &fixture("accounts_list.json"),
    );
    assert_eq!(run.code, 0, "{run:?}");
    let records = lines(&run.stdout);
    let kinds: Vec<&str> = records
        .iter()
        .map(|r| r["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["account", "balance"]);
    assert_eq!(records[0]["reference"], "17");
    assert_eq!(records[0]["defaultAsset"], "EUR/2");
    assert_eq!(records[0]["psuID"], "psu-1");
    assert_eq!(records[1]["amount"], 748101);
    assert_eq!(records[1]["availableAmount"], 736051);
    assert_eq!(run.stderr_lines().len(), 1, "{run:?}");
    assert!(
        run.stderr
            .starts_with("skipped account 18: currency \"GEMS\""),
        "{run:?}"
    );
}

#[test]
fn garbage_on_stdin_is_one_line_and_exit_1() {
    let run = powens(
        &["map", "transactions", "--asset", "EUR/2", "--account", "17"],
        b"<html>502 Bad Gateway</html>",
    );
    assert_one_line_failure(&run, 1, "powens: stdin: not a Powens transactions page");
    let run = powens(&["map", "accounts"], b"[1, 2");
    assert_one_line_failure(
        &run,
        1,
        "powens: stdin is not a JSON array of Powens accounts",
    );
}
