//! The table printed at the end of a sync.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::time::Duration;

use connector_core::engine::RunSummary;

use super::progress::Counters;

/// Renders the summary table: records by kind (external accounts counted once each, their
/// repeated lines apart), payments by status, rows skipped (by reason), throughput, duration.
pub fn table(
    counters: &Counters,
    skipped: &Skipped<'_>,
    duration: Duration,
    psus: usize,
) -> String {
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
    rows.push(("skipped rows".into(), skipped.total.to_string()));
    for (code, n) in skipped.by_code {
        rows.push((format!("  {}", code.replace('_', " ")), n.to_string()));
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

/// What a cycle skipped: rows (and accounts) the connector could not map.
pub struct Skipped<'a> {
    /// How many.
    pub total: u64,
    /// How many per reason code (`malformed_row`, …).
    pub by_code: &'a BTreeMap<String, u64>,
}

impl<'a> Skipped<'a> {
    /// The skips of `summary`.
    pub fn of(summary: &'a RunSummary) -> Self {
        Self {
            total: summary.skipped,
            by_code: &summary.skipped_by_code,
        }
    }

    /// `malformed_row 1, unknown_account 2`.
    pub fn by_code_text(&self) -> String {
        self.by_code
            .iter()
            .map(|(code, n)| format!("{code} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// One line per skipped object kept by the summary (`skipped: transaction 309 (task): why`),
/// and how many more there were.
pub fn skipped_lines(summary: &RunSummary) -> Vec<String> {
    let mut lines: Vec<String> = summary
        .skipped_first
        .iter()
        .map(|(task, object)| {
            let id = object
                .id
                .as_deref()
                .map(|id| format!(" {id}"))
                .unwrap_or_default();
            format!("skipped: {}{id} ({task}): {}", object.kind, object.reason)
        })
        .collect();
    let shown = summary.skipped_first.len() as u64;
    if summary.skipped > shown {
        lines.push(format!("skipped: … and {} more", summary.skipped - shown));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use connector_core::contract::SkippedObject;
    use connector_core::engine::TaskId;
    use connector_core::model::TaskType;

    fn summary_with(skips: &[(&str, &str)], total: u64) -> RunSummary {
        let mut summary = RunSummary {
            skipped: total,
            ..RunSummary::default()
        };
        for (code, id) in skips {
            *summary
                .skipped_by_code
                .entry((*code).to_owned())
                .or_default() += 1;
            summary.skipped_first.push((
                TaskId {
                    task_type: TaskType::FetchPayments,
                    name: "payments".into(),
                    psu_id: Some("psu-1".into()),
                    parent: Some("17".into()),
                },
                SkippedObject {
                    kind: "transaction".into(),
                    id: Some((*id).to_owned()),
                    code: (*code).to_owned(),
                    reason: format!("{code} here"),
                },
            ));
        }
        summary
    }

    #[test]
    fn the_table_counts_skipped_rows_by_reason_and_zero_when_none() {
        let counters = Counters::default();
        let none = RunSummary::default();
        let text = table(&counters, &Skipped::of(&none), Duration::from_secs(1), 1);
        assert!(
            text.lines()
                .any(|l| l.split_whitespace().eq(["skipped", "rows", "0"])),
            "{text}"
        );
        let some = summary_with(
            &[
                ("malformed_row", "2"),
                ("malformed_row", "5"),
                ("unknown_account", "9"),
            ],
            3,
        );
        let text = table(&counters, &Skipped::of(&some), Duration::from_secs(1), 1);
        let lines: Vec<Vec<&str>> = text
            .lines()
            .map(|l| l.split_whitespace().collect())
            .collect();
        let at = lines
            .iter()
            .position(|l| l == &["skipped", "rows", "3"])
            .unwrap_or_else(|| panic!("{text}"));
        assert_eq!(lines[at + 1], ["malformed", "row", "2"]);
        assert_eq!(lines[at + 2], ["unknown", "account", "1"]);
        assert_eq!(
            Skipped::of(&some).by_code_text(),
            "malformed_row 2, unknown_account 1"
        );
    }

    #[test]
    fn skipped_lines_name_each_kept_row_with_its_task_and_count_the_rest() {
        let summary = summary_with(&[("malformed_row", "2")], 4);
        assert_eq!(
            skipped_lines(&summary),
            [
                "skipped: transaction 2 (payments psu=psu-1 parent=17): malformed_row here",
                "skipped: … and 3 more",
            ]
        );
        assert!(skipped_lines(&RunSummary::default()).is_empty());
    }
}
