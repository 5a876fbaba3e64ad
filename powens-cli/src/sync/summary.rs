//! The table printed at the end of a sync.

use std::sync::atomic::Ordering;
use std::time::Duration;

use super::progress::Counters;

/// Renders the summary table: records by kind (external accounts counted once each, their
/// repeated lines apart), payments by status, throughput, duration.
pub fn table(counters: &Counters, duration: Duration, psus: usize) -> String {
    let seconds = duration.as_secs_f64();
    let records = counters.records();
    let mut rows: Vec<(String, String)> = vec![
        ("PSUs".into(), psus.to_string()),
        (
            "accounts".into(),
            counters.accounts.load(Ordering::Relaxed).to_string(),
        ),
        (
            "balances".into(),
            counters.balances.load(Ordering::Relaxed).to_string(),
        ),
        (
            "payments".into(),
            counters.payments.load(Ordering::Relaxed).to_string(),
        ),
    ];
    let details = counters
        .details
        .lock()
        .map(|d| d.clone())
        .unwrap_or_default();
    for (key, n) in details.iter().filter(|(k, _)| k.starts_with("payment ")) {
        let status = key.trim_start_matches("payment ");
        rows.push((format!("  {status}"), n.to_string()));
    }
    // Distinct counterparties; each account whose payments name one sends it again.
    let distinct = counters.distinct_external_accounts();
    let lines = counters.external_accounts.load(Ordering::Relaxed);
    rows.push(("external accounts".into(), distinct.to_string()));
    if lines != distinct {
        rows.push(("  lines (repeats)".into(), lines.to_string()));
    }
    for (key, n) in details.iter().filter(|(k, _)| !k.starts_with("payment ")) {
        rows.push((key.replace('_', " "), n.to_string()));
    }
    rows.push(("records".into(), records.to_string()));
    rows.push((
        "records/s".into(),
        format!("{:.0}", records as f64 / seconds.max(1e-3)),
    ));
    rows.push(("duration".into(), format!("{seconds:.2} s")));
    let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    let value_width = rows.iter().map(|(_, v)| v.len()).max().unwrap_or(0);
    let mut out = String::new();
    for (key, value) in rows {
        out.push_str(&format!("{key:<width$}  {value:>value_width$}\n"));
    }
    out
}
