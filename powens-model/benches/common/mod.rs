//! The transaction rows of the throughput benchmarks, shared by `powens-model`'s mapping
//! benchmark and `connector-powens`' webhook benchmark (included with `#[path]`), so that
//! both measure the same rows: ~40 fields per row, amounts as JSON numbers, one row in five
//! with a counterparty.
#![allow(dead_code)]

use std::hint::black_box;
use std::time::{Duration, Instant};

/// Runs `f` (one page or body per call, returning its rows) for at least `time`; returns
/// transactions per second.
pub fn rate_for(time: Duration, mut f: impl FnMut() -> usize) -> f64 {
    black_box(f());
    let start = Instant::now();
    let mut rows = 0usize;
    while start.elapsed() < time {
        rows += f();
    }
    rows as f64 / start.elapsed().as_secs_f64()
}

/// `rows` transaction objects of account `account`, comma-separated (no brackets).
pub fn rows(rows: usize, account: i64) -> String {
    let mut s = String::with_capacity(rows * 900);
    for i in 0..rows {
        if i > 0 {
            s.push(',');
        }
        let counterparty = if i % 5 == 0 {
            format!(
                r#"{{"label":"ACME SAS {}","account_scheme_name":"iban","account_identification":"FR76300060000112345678{:05}","type":"creditor"}}"#,
                i % 37,
                i % 37
            )
        } else {
            "null".to_owned()
        };
        let sign = if i % 7 == 0 { "" } else { "-" };
        let value = format!("{sign}{}.{:02}", 1 + (i * 37) % 900, (i * 13) % 100);
        let day = 1 + i % 28;
        let coming = i % 10 == 0;
        let kind = ["card", "transfer", "order", "card", "bank", "card"][i % 6];
        s.push_str(&format!(
            r#"{{"id":{id},"id_account":{account},"webid":null,"application_date":"2026-06-{day:02}","date":"2026-06-{day:02}","datetime":null,"vdate":"2026-06-{day:02}","vdatetime":null,"rdate":"2026-06-{day:02}","rdatetime":null,"bdate":null,"bdatetime":null,"value":{value},"gross_value":null,"type":"{kind}","original_wording":"CARTE X1234 {day:02}/06 HALL'S BEER {i}","simplified_wording":"HALL'S BEER","stemmed_wording":"hall s beer","wording":"HALL'S BEER","categories":[],"id_category":9998,"date_scraped":"2026-06-{day:02} 06:12:44","coming":{coming},"active":true,"id_cluster":null,"comment":null,"last_update":"2026-06-{day:02} 06:12:44","deleted":null,"original_value":null,"original_gross_value":null,"original_currency":null,"commission":null,"commission_currency":null,"country":null,"card":"XXXXXXXXXXXX1234","counterparty":{counterparty},"formatted_value":"{value} €","state":"parsed","documents_count":0}}"#,
            id = 100_000 + i,
        ));
    }
    s
}

/// What follows the rows of a transactions page.
pub const PAGE_TAIL: &str = r#"],"first_date":"2019-03-01","last_date":"2026-08-12","result_min_date":"2026-06-01","result_max_date":"2026-06-28","total":1000,"_links":{"self":{"href":"https://acme.biapi.pro/2.0/users/me/transactions?limit=1000"},"prev":null,"next":null}}"#;

/// A `CONNECTION_SYNCED` body of one account (id 17, EUR) carrying `count` transactions, as
/// a first sync sends it.
pub fn connection_synced(count: usize) -> Vec<u8> {
    format!(
        r#"{{"user":{{"id":42,"signin":"2026-01-02 10:00:00","platform":"prod"}},"connection":{{"id":7,"id_user":42,"id_connector":40,"state":null,"error":null,"error_message":null,"last_update":"2026-06-18 07:30:00","created":"2026-01-02 10:05:00","active":true,"last_push":null,"expire":null,"next_try":null,"accounts":[{{"id":17,"id_connection":7,"id_user":42,"number":"3002900000","webid":"3002900000","original_name":"Compte chèque","name":"Compte chèque","balance":1234.56,"coming":-12.5,"display":true,"last_update":"2026-06-18 07:29:58","deleted":null,"disabled":null,"iban":"FR7630004000031234567890143","bic":"BNPAFRPPXXX","currency":{{"id":"EUR","symbol":"€","prefix":false,"precision":2}},"type":"checking","usage":"PRIV","opening_date":"2019-03-01","transactions":[{}]}}]}},"id_webhook_data":123456}}"#,
        rows(count, 17)
    )
    .into_bytes()
}
