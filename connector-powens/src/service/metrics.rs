//! The service's metrics and their Prometheus text exposition (format 0.0.4).
//!
//! Hand-written rather than through a metrics crate: the service has a handful of counters,
//! one histogram and a few gauges, all known up front; a registry crate would add a dependency
//! tree for what is a few atomics and a sorted map, and this output is deterministic (labels
//! in byte order), which the tests read back.
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `powens_records_delivered_total` | counter | `kind` (record kind, e.g. `payment`) |
//! | `powens_tasks_failed_total` | counter | `task` (e.g. `TASK_FETCH_PAYMENTS`) |
//! | `powens_webhooks_total` | counter | `event`, `outcome` (`processed`, `duplicate`, `rejected`), `status` |
//! | `powens_requests_total` | counter | `status` (HTTP status, or `transport`) |
//! | `powens_request_duration_seconds` | histogram | — |
//! | `powens_rate_limit_waits_total`, `powens_rate_limit_wait_seconds_total` | counter | — |
//! | `powens_psus` | gauge | — |
//! | `powens_last_successful_sync_age_seconds` | gauge | — (absent before the first sync) |
//! | `powens_polling_cycles_total` | counter | — (polling cycles completed) |
//! | `powens_polling_cycle_seconds` | gauge | — (duration of the last completed polling cycle) |
//! | `powens_polling_cycle_requests` | gauge | — (Powens request attempts while it ran) |
//! | `powens_tasks_running` | gauge | — (fetch tasks started and not yet ended) |
//! | `powens_triggered_syncs` | gauge | — (PSUs whose triggered sync waits or runs) |

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use connector_core::model::Record;
use connector_core::sink::{CommitError, Sink, SinkError, TransactionalSink};
use connector_core::state::{StateKey, Version};
use futures::future::BoxFuture;
use futures::FutureExt;

/// Upper bounds (seconds) of the request latency histogram's buckets.
pub const LATENCY_BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Counters keyed by their label values, in byte order.
#[derive(Default)]
struct Labeled(Mutex<BTreeMap<Vec<String>, u64>>);

impl Labeled {
    fn add(&self, labels: &[&str], n: u64) {
        let key: Vec<String> = labels.iter().map(|s| (*s).to_owned()).collect();
        *self
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(key)
            .or_default() += n;
    }

    fn snapshot(&self) -> Vec<(Vec<String>, u64)> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect()
    }
}

/// Everything the service counts. Cheap to update from any task.
#[derive(Default)]
pub struct ServiceMetrics {
    records: Labeled,
    tasks_failed: Labeled,
    webhooks: Labeled,
    requests: Labeled,
    latency_buckets: [AtomicU64; LATENCY_BUCKETS.len()],
    latency_count: AtomicU64,
    latency_sum_micros: AtomicU64,
    rate_limit_waits: AtomicU64,
    rate_limit_wait_micros: AtomicU64,
    requests_total: AtomicU64,
    polling_cycles: AtomicU64,
    polling_cycle_micros: AtomicU64,
    polling_cycle_requests: AtomicU64,
    running_tasks: Mutex<std::collections::BTreeSet<String>>,
}

impl std::fmt::Debug for ServiceMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceMetrics").finish_non_exhaustive()
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

impl ServiceMetrics {
    /// Counts records the sink accepted.
    pub fn records_delivered(&self, records: &[Record]) {
        let mut by_kind: BTreeMap<&'static str, u64> = BTreeMap::new();
        for record in records {
            *by_kind.entry(record.kind()).or_default() += 1;
        }
        for (kind, n) in by_kind {
            self.records.add(&[kind], n);
        }
    }

    /// Counts a task that gave up.
    pub fn task_failed(&self, task: &str) {
        self.tasks_failed.add(&[task], 1);
    }

    /// Counts one webhook delivery and what it got.
    pub fn webhook(&self, event: &str, outcome: &str, status: u16) {
        self.webhooks.add(&[event, outcome, &status.to_string()], 1);
    }

    /// Counts one Powens request attempt: its HTTP status (`None`: transport failure) and
    /// how long it took.
    pub fn request(&self, status: Option<u16>, latency: Duration) {
        let status = status.map_or_else(|| "transport".to_owned(), |s| s.to_string());
        self.requests.add(&[&status], 1);
        self.requests_total.fetch_add(1, Ordering::Relaxed);
        let seconds = latency.as_secs_f64();
        for (bound, bucket) in LATENCY_BUCKETS.iter().zip(&self.latency_buckets) {
            if seconds <= *bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.latency_count.fetch_add(1, Ordering::Relaxed);
        self.latency_sum_micros
            .fetch_add(micros(latency), Ordering::Relaxed);
    }

    /// Counts a wait imposed by the client-side rate limit.
    pub fn rate_limit_wait(&self, wait: Duration) {
        self.rate_limit_waits.fetch_add(1, Ordering::Relaxed);
        self.rate_limit_wait_micros
            .fetch_add(micros(wait), Ordering::Relaxed);
    }

    /// Powens request attempts so far, all statuses together.
    pub fn requests_total(&self) -> u64 {
        self.requests_total.load(Ordering::Relaxed)
    }

    /// Counts a completed polling cycle: how long it took and how many Powens request
    /// attempts were made while it ran.
    pub fn polling_cycle(&self, took: Duration, requests: u64) {
        self.polling_cycles.fetch_add(1, Ordering::Relaxed);
        self.polling_cycle_micros
            .store(micros(took), Ordering::Relaxed);
        self.polling_cycle_requests
            .store(requests, Ordering::Relaxed);
    }

    /// A fetch task started (`key` names it: type, PSU, parent); a restart is not counted
    /// twice.
    pub fn task_running(&self, key: String) {
        self.running_tasks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key);
    }

    /// A fetch task ended (finished, or failed for this run).
    pub fn task_ended(&self, key: &str) {
        self.running_tasks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(key);
    }

    /// Records delivered so far, all kinds together.
    pub fn records_total(&self) -> u64 {
        self.records.snapshot().iter().map(|(_, n)| n).sum()
    }

    /// The Prometheus text exposition, with the gauges the caller knows: PSUs, triggered
    /// syncs waiting or running, the age of the last successful sync.
    pub fn render(
        &self,
        psus: usize,
        triggered_syncs: usize,
        last_sync_age: Option<Duration>,
    ) -> String {
        let mut out = String::with_capacity(4096);
        family(
            &mut out,
            "powens_records_delivered_total",
            "counter",
            "Records the sink accepted, by kind.",
            &["kind"],
            &self.records.snapshot(),
        );
        family(
            &mut out,
            "powens_tasks_failed_total",
            "counter",
            "Fetch tasks that gave up after their retries, by task type.",
            &["task"],
            &self.tasks_failed.snapshot(),
        );
        family(
            &mut out,
            "powens_webhooks_total",
            "counter",
            "Webhook deliveries received, by event, outcome and HTTP status answered.",
            &["event", "outcome", "status"],
            &self.webhooks.snapshot(),
        );
        family(
            &mut out,
            "powens_requests_total",
            "counter",
            "Powens API request attempts, by HTTP status (transport = no answer).",
            &["status"],
            &self.requests.snapshot(),
        );
        let _ = writeln!(
            out,
            "# HELP powens_request_duration_seconds Latency of Powens API request attempts."
        );
        let _ = writeln!(out, "# TYPE powens_request_duration_seconds histogram");
        for (bound, bucket) in LATENCY_BUCKETS.iter().zip(&self.latency_buckets) {
            let _ = writeln!(
                out,
                "powens_request_duration_seconds_bucket{{le=\"{bound}\"}} {}",
                bucket.load(Ordering::Relaxed)
            );
        }
        let count = self.latency_count.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "powens_request_duration_seconds_bucket{{le=\"+Inf\"}} {count}"
        );
        let _ = writeln!(
            out,
            "powens_request_duration_seconds_sum {}",
            seconds_of_micros(self.latency_sum_micros.load(Ordering::Relaxed))
        );
        let _ = writeln!(out, "powens_request_duration_seconds_count {count}");
        scalar(
            &mut out,
            "powens_rate_limit_waits_total",
            "counter",
            "Requests that waited for the client-side rate limit.",
            &self.rate_limit_waits.load(Ordering::Relaxed).to_string(),
        );
        scalar(
            &mut out,
            "powens_rate_limit_wait_seconds_total",
            "counter",
            "Time spent waiting for the client-side rate limit.",
            &seconds_of_micros(self.rate_limit_wait_micros.load(Ordering::Relaxed)),
        );
        scalar(
            &mut out,
            "powens_psus",
            "gauge",
            "PSUs the service syncs.",
            &psus.to_string(),
        );
        scalar(
            &mut out,
            "powens_polling_cycles_total",
            "counter",
            "Polling cycles completed.",
            &self.polling_cycles.load(Ordering::Relaxed).to_string(),
        );
        scalar(
            &mut out,
            "powens_polling_cycle_seconds",
            "gauge",
            "Duration of the last completed polling cycle.",
            &seconds_of_micros(self.polling_cycle_micros.load(Ordering::Relaxed)),
        );
        scalar(
            &mut out,
            "powens_polling_cycle_requests",
            "gauge",
            "Powens request attempts made while the last completed polling cycle ran (syncs a webhook triggered meanwhile included).",
            &self.polling_cycle_requests.load(Ordering::Relaxed).to_string(),
        );
        let running = self
            .running_tasks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len();
        scalar(
            &mut out,
            "powens_tasks_running",
            "gauge",
            "Fetch tasks (accounts, payments scans) started and not yet ended.",
            &running.to_string(),
        );
        scalar(
            &mut out,
            "powens_triggered_syncs",
            "gauge",
            "PSUs whose sync an event asked for, waiting for their turn or running.",
            &triggered_syncs.to_string(),
        );
        let _ = writeln!(
            out,
            "# HELP powens_last_successful_sync_age_seconds Seconds since the most recent successful sync of any PSU (absent before the first)."
        );
        let _ = writeln!(out, "# TYPE powens_last_successful_sync_age_seconds gauge");
        if let Some(age) = last_sync_age {
            let _ = writeln!(
                out,
                "powens_last_successful_sync_age_seconds {}",
                seconds_of_micros(micros(age))
            );
        }
        out
    }
}

fn seconds_of_micros(micros: u64) -> String {
    format!("{}.{:06}", micros / 1_000_000, micros % 1_000_000)
}

/// `\`, `"` and newlines escaped, as the text format asks of label values.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn family(
    out: &mut String,
    name: &str,
    kind: &str,
    help: &str,
    labels: &[&str],
    samples: &[(Vec<String>, u64)],
) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
    for (values, n) in samples {
        let pairs: Vec<String> = labels
            .iter()
            .zip(values)
            .map(|(label, value)| format!("{label}=\"{}\"", escape(value)))
            .collect();
        let _ = writeln!(out, "{name}{{{}}} {n}", pairs.join(","));
    }
}

fn scalar(out: &mut String, name: &str, kind: &str, help: &str, value: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
    let _ = writeln!(out, "{name} {value}");
}

impl powens_api::client::CallObserver for ServiceMetrics {
    fn attempt_finished(&self, status: Option<u16>, latency: Duration) {
        self.request(status, latency);
    }

    fn rate_limit_waited(&self, wait: Duration) {
        self.rate_limit_wait(wait);
    }
}

/// A sink that counts what the inner sink accepted.
pub(crate) struct MeteredSink {
    pub inner: Arc<dyn Sink>,
    pub metrics: Arc<ServiceMetrics>,
}

impl Sink for MeteredSink {
    fn accept<'a>(&'a self, batch: &'a [Record]) -> BoxFuture<'a, Result<(), SinkError>> {
        async move {
            self.inner.accept(batch).await?;
            self.metrics.records_delivered(batch);
            Ok(())
        }
        .boxed()
    }

    fn transactional(&self) -> Option<&dyn TransactionalSink> {
        self.inner
            .transactional()
            .map(|_| self as &dyn TransactionalSink)
    }
}

impl TransactionalSink for MeteredSink {
    fn accept_and_commit<'a>(
        &'a self,
        batch: &'a [Record],
        key: &'a StateKey,
        expected: Option<Version>,
        state: serde_json::Value,
    ) -> BoxFuture<'a, Result<Version, CommitError>> {
        async move {
            let inner = self.inner.transactional().ok_or_else(|| {
                CommitError::Sink(SinkError::Other(
                    "the service's sink stopped being transactional".into(),
                ))
            })?;
            let version = inner.accept_and_commit(batch, key, expected, state).await?;
            self.metrics.records_delivered(batch);
            Ok(version)
        }
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exposition_lists_every_family_with_sorted_labels_and_a_cumulative_histogram() {
        let metrics = ServiceMetrics::default();
        metrics.webhook("USER_SYNCED", "processed", 200);
        metrics.webhook("CONNECTION_SYNCED", "rejected", 401);
        metrics.webhook("CONNECTION_SYNCED", "rejected", 401);
        metrics.request(Some(200), Duration::from_millis(20));
        metrics.request(None, Duration::from_secs(60));
        metrics.task_failed("TASK_FETCH_PAYMENTS");
        metrics.rate_limit_wait(Duration::from_millis(1500));
        let text = metrics.render(3, 2, Some(Duration::from_millis(2500)));
        let lines: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
        assert!(lines.contains(
            &r#"powens_webhooks_total{event="CONNECTION_SYNCED",outcome="rejected",status="401"} 2"#
        ));
        assert!(lines.contains(
            &r#"powens_webhooks_total{event="USER_SYNCED",outcome="processed",status="200"} 1"#
        ));
        assert!(lines.contains(&r#"powens_requests_total{status="200"} 1"#));
        assert!(lines.contains(&r#"powens_requests_total{status="transport"} 1"#));
        assert!(lines.contains(&r#"powens_request_duration_seconds_bucket{le="0.01"} 0"#));
        assert!(lines.contains(&r#"powens_request_duration_seconds_bucket{le="0.025"} 1"#));
        assert!(lines.contains(&r#"powens_request_duration_seconds_bucket{le="30"} 1"#));
        assert!(lines.contains(&r#"powens_request_duration_seconds_bucket{le="+Inf"} 2"#));
        assert!(lines.contains(&"powens_request_duration_seconds_sum 60.020000"));
        assert!(lines.contains(&r#"powens_tasks_failed_total{task="TASK_FETCH_PAYMENTS"} 1"#));
        assert!(lines.contains(&"powens_rate_limit_wait_seconds_total 1.500000"));
        assert!(lines.contains(&"powens_psus 3"));
        assert!(lines.contains(&"powens_polling_cycles_total 0"));
        assert!(lines.contains(&"powens_tasks_running 0"));
        assert!(lines.contains(&"powens_triggered_syncs 2"));
        assert!(lines.contains(&"powens_last_successful_sync_age_seconds 2.500000"));
    }

    #[test]
    fn label_values_are_escaped() {
        let metrics = ServiceMetrics::default();
        metrics.webhook("A\"B\\C\nD", "rejected", 400);
        let text = metrics.render(0, 0, None);
        assert!(text.contains(r#"event="A\"B\\C\nD""#), "{text}");
        assert!(!text.contains("powens_last_successful_sync_age_seconds 0"));
    }
}
