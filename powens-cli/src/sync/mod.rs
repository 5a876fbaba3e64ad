//! `powens sync`: one full cycle of the connector's workflow (accounts, balances, payments,
//! external accounts) with the connector-core engine, records written as JSON lines.
//!
//! * Without `--config` ([`sandbox`]): the embedded sandbox is started, PSUs are created and
//!   linked through its Webview, synced, and the file is checked against the sandbox's truth
//!   ([`verify`]).
//! * With `--config` ([`live`]): the domain of the install payload, for the PSUs given by
//!   `--psu-token`/`--psu-tokens-file` or linked earlier with `powens link --state DIR`.

pub mod live;
mod progress;
pub mod sandbox;
mod summary;
mod verify;

use std::num::{NonZeroU32, NonZeroUsize};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use connector_core::engine::EngineConfig;
use connector_core::openbanking::ForwardedUser;
use connector_core::sink::JsonLinesSink;
use connector_core::state::{FileStateStore, MemoryStateStore, StateStore};
use connector_core::Engine;
use connector_powens::{PowensConfig, PowensConnector, RateLimit};
use tokio_util::sync::CancellationToken;

use crate::cli::SyncArgs;
use crate::error::{failure_of, CliError};
use crate::output::print_line;
use progress::{Counters, CountingSink, ProgressDisplay};

/// The connector id used for state keys and forwarded users.
pub const CONNECTOR_ID: &str = "powens";

/// Runs one sync.
pub async fn run(args: SyncArgs) -> Result<(), CliError> {
    if args.concurrency == 0 {
        return Err(CliError::usage("--concurrency must be at least 1"));
    }
    if let Some(size) = args.page_size {
        if !(1..=1000).contains(&size) {
            return Err(CliError::usage("--page-size must be within 1..=1000"));
        }
    }
    match &args.config {
        Some(path) => live::run(&args, path).await,
        None => sandbox::run(&args).await,
    }
}

/// The state store: files under `DIR/state` with `--state`, else in memory.
pub fn open_store(state: Option<&Path>) -> Result<Arc<dyn StateStore>, CliError> {
    match state {
        Some(dir) => {
            live::prepare_state_dir(dir)?;
            let store = FileStateStore::open(dir.join("state")).map_err(|e| {
                failure_of(&format!("cannot open the state in {}", dir.display()), &e)
            })?;
            Ok(Arc::new(store))
        }
        None => Ok(Arc::new(MemoryStateStore::new())),
    }
}

/// A connector for `config` whose client has the requested rate limit (`None`: the client's
/// default; `Some(0)`: none).
pub fn connector_with_rate_limit(
    config: PowensConfig,
    rate_limit: Option<u32>,
) -> Result<PowensConnector, CliError> {
    let mut builder = PowensConnector::builder(config);
    if let Some(per_second) = rate_limit {
        builder = builder.rate_limit((per_second > 0).then(|| RateLimit {
            max_requests: per_second,
            per: Duration::from_secs(1),
        }));
    }
    builder
        .build()
        .map_err(|e| failure_of("cannot build the connector", &e))
}

/// What one engine cycle did.
pub struct CycleReport {
    /// The records delivered, by kind.
    pub counters: Arc<Counters>,
}

/// Runs one engine cycle for `psus`, writing to `args.out`, with the progress display and the
/// summary table.
pub async fn run_cycle(
    args: &SyncArgs,
    connector: PowensConnector,
    psus: Vec<Arc<ForwardedUser>>,
    page_size: u32,
) -> Result<CycleReport, CliError> {
    let store = open_store(args.state.as_deref())?;
    // A fresh file per run, except when resuming (`--state`): then the file keeps the records
    // of the interrupted runs the state continues.
    if args.state.is_none() || !args.out.exists() {
        std::fs::File::create(&args.out)
            .map_err(|e| failure_of(&format!("cannot create {}", args.out.display()), &e))?;
    }
    let sink = JsonLinesSink::append(&args.out)
        .await
        .map_err(|e| failure_of(&format!("cannot open {}", args.out.display()), &e))?
        .with_fsync(args.fsync.unwrap_or(args.state.is_some()));
    if sink.torn_bytes_cut() > 0 {
        eprintln!(
            "note: {} ended with a torn line (a write cut short); its {} bytes were cut off, the records before it are kept",
            args.out.display(),
            sink.torn_bytes_cut()
        );
    }
    let counters = Arc::new(Counters::default());
    let config = EngineConfig {
        connector_id: CONNECTOR_ID.to_owned(),
        page_size: NonZeroU32::new(page_size).unwrap_or(NonZeroU32::MIN),
        max_concurrent_psus: NonZeroUsize::new(args.concurrency).unwrap_or(NonZeroUsize::MIN),
        ..EngineConfig::default()
    };
    let psu_count = psus.len();
    let engine = Engine::new(
        Arc::new(connector),
        store,
        Arc::new(CountingSink::new(sink, Arc::clone(&counters))),
        config,
    )
    .map_err(|e| failure_of("cannot install the connector", &e))?
    .with_psus(psus)
    .with_progress(progress::on_event);

    let display = ProgressDisplay::start(Arc::clone(&counters), args.quiet);
    let started = Instant::now();
    let cancel = CancellationToken::new();
    let outcome = tokio::select! {
        outcome = engine.run_once(&cancel) => outcome,
        _ = tokio::signal::ctrl_c() => {
            cancel.cancel();
            display.finish();
            let resume = if args.state.is_some() {
                "; run the same command again to resume"
            } else {
                "; pass --state DIR to make runs resumable"
            };
            return Err(CliError::failure(format!("interrupted{resume}")));
        }
    };
    let elapsed = started.elapsed();
    display.finish();
    let summary = outcome.map_err(|e| failure_of("sync stopped", &e))?;
    let skipped = summary::Skipped::of(&summary);
    if !args.quiet {
        for line in summary::table(&counters, &skipped, elapsed, psu_count).lines() {
            print_line(line)?;
        }
    }
    for line in summary::skipped_lines(&summary) {
        eprintln!("{line}");
    }
    if summary.tasks_failed > 0 {
        for failure in summary.failures.iter().take(10) {
            eprintln!("failed: {}: {}", failure.task, failure.error);
        }
        return Err(CliError::failure(format!(
            "sync incomplete: {} task(s) failed ({} records were written to {})",
            summary.tasks_failed,
            counters.records(),
            args.out.display()
        )));
    }
    if args.strict && summary.skipped > 0 {
        return Err(CliError::failure(format!(
            "--strict: {} row(s) skipped ({}); every other record was written to {}",
            summary.skipped,
            skipped.by_code_text(),
            args.out.display()
        )));
    }
    Ok(CycleReport { counters })
}
