//! experiment
#![allow(missing_docs, clippy::unwrap_used)]
use std::time::Instant;
use serde::de::IgnoredAny;

fn page(n: usize) -> Vec<u8> {
    let mut s = String::from("{\"transactions\":[");
    for i in 0..n {
        if i > 0 { s.push(','); }
        let cp = if i % 5 == 0 { format!("{{\"label\":\"ACME SAS {i}\",\"account_scheme_name\":\"iban\",\"account_identification\":\"FR76300060000112345678901{:02}\",\"type\":\"creditor\"}}", i%100) } else { "null".into() };
        let v = format!("-{}.{:02}", 10 + i % 900, i % 100);
        s.push_str(&format!(r#"{{"id":{id},"id_account":17,"webid":null,"application_date":"2026-06-17","date":"2026-06-18","datetime":null,"vdate":"2026-06-18","vdatetime":null,"rdate":"2026-06-17","rdatetime":null,"bdate":null,"bdatetime":null,"value":{v},"gross_value":null,"type":"card","original_wording":"CARTE X1234 17/06 HALL'S BEER {i}","simplified_wording":"HALL'S BEER","stemmed_wording":"hall s beer","wording":"HALL'S BEER","categories":[],"id_category":9998,"date_scraped":"2026-06-18 06:12:44","coming":false,"active":true,"id_cluster":null,"comment":null,"last_update":"2026-06-18 06:12:44","deleted":null,"original_value":null,"original_gross_value":null,"original_currency":null,"commission":null,"commission_currency":null,"country":null,"card":"XXXXXXXXXXXX1234","counterparty":{cp},"formatted_value":"{v} €","state":"parsed","documents_count":0}}"#, id = 1000 + i));
    }
    s.push_str("],\"first_date\":\"2019-03-01\",\"last_date\":\"2026-08-12\",\"_links\":{\"next\":null}}");
    s.into_bytes()
}

fn time<F: FnMut() -> usize>(name: &str, mut f: F) {
    let start = Instant::now();
    let mut iters = 0u64;
    let mut n = 0;
    while start.elapsed().as_secs_f64() < 1.0 { n += f(); iters += 1; }
    let el = start.elapsed().as_secs_f64();
    println!("{name}: {:.0} tx/s ({iters} iters)", n as f64 / el);
}

fn main() {
    let bytes = page(1000);
    println!("bytes {}", bytes.len());
    time("ignored", || { let _: IgnoredAny = serde_json::from_slice(&bytes).unwrap(); 1000 });
    time("value", || { let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap(); v.as_object().unwrap().len() * 0 + 1000 });
    time("typed", || { let p: powens_api::transactions::TransactionsPage = serde_json::from_slice(&bytes).unwrap(); p.transactions.len() });
    #[derive(serde::Deserialize)] struct P<'a> { #[serde(borrow)] transactions: Vec<&'a serde_json::value::RawValue> }
    time("raw", || { let p: P = serde_json::from_slice(&bytes).unwrap(); p.transactions.len() });
}
