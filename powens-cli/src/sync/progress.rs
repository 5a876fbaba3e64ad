//! Counting what the sink receives, and showing it: a spinner with live counters on stderr
//! (totals are unknown until the end), hidden when stderr is not a terminal.

use std::collections::{BTreeMap, HashSet};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use connector_core::engine::ProgressEvent;
use connector_core::model::Record;
use connector_core::sink::{Sink, SinkError};
use futures::future::BoxFuture;
use futures::FutureExt;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::output;

/// Records delivered so far, by kind (and payments by status).
#[derive(Debug, Default)]
pub struct Counters {
    /// Internal accounts.
    pub accounts: AtomicU64,
    /// Balances.
    pub balances: AtomicU64,
    /// Payments.
    pub payments: AtomicU64,
    /// External (counterparty) account lines (a counterparty is sent again by each account
    /// whose payments name it).
    pub external_accounts: AtomicU64,
    /// The distinct external account references.
    pub external_references: Mutex<HashSet<String>>,
    /// Every other kind (deletions, cancellations, connection events).
    pub other: AtomicU64,
    /// Payments by status, and other records by kind.
    pub details: Mutex<BTreeMap<String, u64>>,
}

impl Counters {
    fn count(&self, batch: &[Record]) {
        // Keyed by static text while counting: no allocation per record.
        let mut details: BTreeMap<(&'static str, &'static str), u64> = BTreeMap::new();
        let (mut accounts, mut balances, mut payments, mut external, mut other) = (0, 0, 0, 0, 0);
        for record in batch {
            match record {
                Record::Account(_) => accounts += 1,
                Record::Balance(_) => balances += 1,
                Record::Payment(payment) => {
                    *details
                        .entry(("payment ", payment.status.as_str()))
                        .or_default() += 1;
                    payments += 1;
                }
                Record::ExternalAccount(account) => {
                    external += 1;
                    if let Ok(mut seen) = self.external_references.lock() {
                        if !seen.contains(&account.reference) {
                            seen.insert(account.reference.clone());
                        }
                    }
                }
                record => {
                    *details.entry(("", record.kind())).or_default() += 1;
                    other += 1;
                }
            }
        }
        for (counter, n) in [
            (&self.accounts, accounts),
            (&self.balances, balances),
            (&self.payments, payments),
            (&self.external_accounts, external),
            (&self.other, other),
        ] {
            if n > 0 {
                counter.fetch_add(n, Ordering::Relaxed);
            }
        }
        if let Ok(mut all) = self.details.lock() {
            for ((prefix, key), n) in details {
                *all.entry(format!("{prefix}{key}")).or_default() += n;
            }
        }
    }

    /// How many distinct external accounts were delivered.
    pub fn distinct_external_accounts(&self) -> u64 {
        self.external_references
            .lock()
            .map_or(0, |seen| u64::try_from(seen.len()).unwrap_or(u64::MAX))
    }

    /// Every record delivered.
    pub fn records(&self) -> u64 {
        [
            &self.accounts,
            &self.balances,
            &self.payments,
            &self.external_accounts,
            &self.other,
        ]
        .iter()
        .map(|c| c.load(Ordering::Relaxed))
        .sum()
    }

    fn line(&self, started: Instant) -> String {
        let seconds = started.elapsed().as_secs_f64().max(1e-3);
        format!(
            "accounts {} · balances {} · payments {} · external accounts {} · {:.0} records/s",
            self.accounts.load(Ordering::Relaxed),
            self.balances.load(Ordering::Relaxed),
            self.payments.load(Ordering::Relaxed),
            self.distinct_external_accounts(),
            self.records() as f64 / seconds
        )
    }
}

/// Counts each batch, then hands it to the real sink.
pub struct CountingSink<S> {
    inner: S,
    counters: Arc<Counters>,
}

impl<S: Sink> CountingSink<S> {
    /// Wraps `inner`.
    pub fn new(inner: S, counters: Arc<Counters>) -> Self {
        CountingSink { inner, counters }
    }
}

impl<S: Sink> Sink for CountingSink<S> {
    fn accept<'a>(&'a self, batch: &'a [Record]) -> BoxFuture<'a, Result<(), SinkError>> {
        async move {
            self.inner.accept(batch).await?;
            self.counters.count(batch);
            Ok(())
        }
        .boxed()
    }
}

/// The spinner and its refresher.
pub struct ProgressDisplay {
    bar: ProgressBar,
    refresher: tokio::task::JoinHandle<()>,
}

impl ProgressDisplay {
    /// Starts showing `counters` (nothing is drawn when `quiet` or stderr is not a terminal).
    pub fn start(counters: Arc<Counters>, quiet: bool) -> Self {
        let target = if quiet || !std::io::stderr().is_terminal() {
            ProgressDrawTarget::hidden()
        } else {
            ProgressDrawTarget::stderr()
        };
        let bar = ProgressBar::with_draw_target(None, target);
        if let Ok(style) = ProgressStyle::with_template("{spinner} syncing [{elapsed}] {msg}") {
            bar.set_style(style);
        }
        bar.enable_steady_tick(Duration::from_millis(120));
        output::set_active_bar(Some(bar.clone()));
        let started = Instant::now();
        let shown = bar.clone();
        let refresher = tokio::spawn(async move {
            loop {
                shown.set_message(counters.line(started));
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        });
        ProgressDisplay { bar, refresher }
    }

    /// Removes the spinner.
    pub fn finish(self) {
        self.refresher.abort();
        self.bar.finish_and_clear();
        output::set_active_bar(None);
    }
}

/// The engine's progress callback: task failures are printed as they happen.
pub fn on_event(event: &ProgressEvent) {
    if let ProgressEvent::TaskFailed {
        task,
        error,
        will_retry,
    } = event
    {
        let what = if *will_retry { "will retry" } else { "gave up" };
        let line = format!("warning: task {task} failed ({what}): {error}");
        output::above_bar(|| eprintln!("{line}"));
    }
}
