//! `powens serve`: the connector as a long-running service ([`connector_powens::service`])
//! behind an HTTP front ([`http`]).
//!
//! * Without `--config`: the embedded sandbox is started (its clock ticking from now, so
//!   webhook signatures are fresh) and its webhooks are pointed at this service.
//! * With `--config FILE`: the Powens domain of the install payload; the webhook URLs to
//!   register in the Powens console are printed at start.
//!
//! Records go to `--out` (JSON lines, appended, fsynced per batch by default), state to
//! `--state DIR` (one process per directory); with `--database-url` both go to PostgreSQL,
//! where several replicas share the PSUs ([`replicas`]). SIGTERM or SIGINT: stop accepting, cancel the
//! syncs in flight (their uncommitted pages are fetched again at the next start), exit 0.

pub mod http;
pub mod import;
pub mod replicas;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use connector_core::sink::{JsonLinesSink, Sink};
use connector_core::state::StateStore;
use connector_powens::service::{Service, ServiceMetrics, ServiceOptions};
use connector_powens::{CallObserver, PowensClient, PowensConfig, PowensConnector, RateLimit};
use powens_sandbox::{ClockMode, Sandbox, SandboxHandle, SandboxSize, WebhookEvent};
use tokio_util::sync::CancellationToken;

use crate::error::{failure_of, CliError};
use crate::output::print_line;

/// The environment variable holding the API bearer token.
pub const TOKEN_VARIABLE: &str = "POWENS_SERVE_TOKEN";

/// How long shutdown may take in all (the issue asks for an exit within 10 s).
const SHUTDOWN_BUDGET: Duration = Duration::from_secs(8);

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// `powens serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (`127.0.0.1:0` = any free port).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// The public base URL of this service (webhooks and the Webview callback are
    /// registered under it). Default: `http://<listen address>`.
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,
    /// A Powens install payload (config.json): serve that domain instead of the sandbox.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Where records are appended (JSON lines).
    #[arg(long, default_value = "powens-serve.jsonl")]
    pub out: PathBuf,
    /// The state directory (PSUs, sync states, webhook keys). One process per directory.
    #[arg(long, value_name = "DIR", default_value = "powens-serve-state")]
    pub state: PathBuf,
    /// PostgreSQL for the records, the state, the webhook keys and the PSUs instead of
    /// --out and --state (`postgres://user[:password]@host[:port]/database`; default: the
    /// POWENS_DATABASE_URL variable). Replicas on one database and schema share the PSUs.
    #[arg(long, value_name = "URL", conflicts_with_all = ["out", "state"])]
    pub database_url: Option<String>,
    /// With a database: the PostgreSQL schema of the tables (created when missing).
    #[arg(long, value_name = "NAME", default_value = "powens")]
    pub database_schema: String,
    /// With a database: this replica's name, unique among the replicas of the schema
    /// (default: `$HOSTNAME-<pid>`).
    #[arg(long, value_name = "NAME")]
    pub replica_name: Option<String>,
    /// Fsync --out after each batch, before the state commits it.
    #[arg(long, value_name = "BOOL", default_value_t = true, action = clap::ArgAction::Set)]
    pub fsync: bool,
    /// Overrides the config's pollingPeriod (e.g. `30s`, `5m`).
    #[arg(long, value_name = "DURATION")]
    pub polling_period: Option<String>,
    /// PSUs synced at the same time.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// Client-side rate limit in requests per second, 0 = none. Default: none for the
    /// embedded sandbox, the client's default (10/s) with --config.
    #[arg(long, value_name = "REQ_PER_S")]
    pub rate_limit: Option<u32>,
    /// Largest webhook body accepted, in bytes (a larger one is answered 413).
    #[arg(long, value_name = "BYTES", default_value_t = 64 * 1024 * 1024)]
    pub max_webhook_bytes: usize,
    /// Log format on stderr (`POWENS_LOG` sets the level, default `info` here).
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// PSUs of existing Powens users to import at start: `PSU_ID TOKEN` per line, or a bare
    /// `TOKEN` (as `powens sync --psu-tokens-file`). PSUs already stored are kept.
    #[arg(long, value_name = "FILE")]
    pub psu_tokens_file: Option<PathBuf>,
    /// Sandbox: accounts per linked bank.
    #[arg(long, default_value_t = 2)]
    pub accounts: u32,
    /// Sandbox: transactions per account.
    #[arg(long, default_value_t = 50)]
    pub transactions: u32,
    /// Sandbox: the seed of the generated data.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
}

/// The sandbox event a webhook config stands for.
pub fn sandbox_event(name: &str) -> Option<WebhookEvent> {
    Some(match name {
        "CONNECTION_SYNCED" => WebhookEvent::ConnectionSynced,
        "USER_SYNCED" => WebhookEvent::UserSynced,
        "CONNECTION_DELETED" => WebhookEvent::ConnectionDeleted,
        "USER_DELETED" => WebhookEvent::UserDeleted,
        "CONNECTION_PENDING_DISCONNECT" => WebhookEvent::ConnectionPendingDisconnect,
        _ => return None,
    })
}

fn generated_token() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 24];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The connector for `config`, its client counting requests and rate-limit waits into
/// `metrics`.
fn connector_for(
    config: PowensConfig,
    rate_limit: Option<u32>,
    metrics: &Arc<ServiceMetrics>,
) -> Result<PowensConnector, CliError> {
    let mut client = PowensClient::builder(config.endpoint.as_str())
        .observer(Arc::clone(metrics) as Arc<dyn CallObserver>);
    if let Some(per_second) = rate_limit {
        client = client.rate_limit((per_second > 0).then(|| RateLimit {
            max_requests: per_second,
            per: Duration::from_secs(1),
        }));
    }
    let client = client
        .build()
        .map_err(|e| failure_of("cannot build the Powens client", &e))?;
    PowensConnector::builder(config)
        .client(client)
        .build()
        .map_err(|e| failure_of("cannot build the connector", &e))
}

/// The embedded sandbox: no user yet, its clock ticking from now (Paris wall time).
async fn start_sandbox(args: &ServeArgs) -> Result<SandboxHandle, CliError> {
    let now = chrono::Utc::now()
        .with_timezone(&chrono_tz::Europe::Paris)
        .naive_local();
    Sandbox::builder()
        .seed(args.seed)
        .size(SandboxSize {
            users: 0,
            connections_per_link: 1,
            accounts_per_connection: args.accounts,
            transactions_per_account: args.transactions,
        })
        .max_connections_per_link(1)
        .start_time(now)
        .clock_mode(ClockMode::Ticking)
        .start()
        .await
        .map_err(|e| failure_of("cannot start the sandbox", &e))
}

fn with_polling_period(
    mut payload: serde_json::Value,
    period: Option<&str>,
) -> Result<PowensConfig, CliError> {
    if let (Some(period), Some(object)) = (period, payload.as_object_mut()) {
        object.insert("pollingPeriod".into(), period.into());
    }
    PowensConfig::from_value(payload).map_err(|e| CliError::usage(format!("{e}")))
}

/// SIGTERM and SIGINT, registered when created: a signal that arrives while the service is
/// still starting is kept and honoured as soon as it runs (not the default action, which would
/// kill the process with exit 143).
struct Signals {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
}

impl Signals {
    fn install() -> Result<Self, CliError> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let term = signal(SignalKind::terminate())
                .map_err(|e| failure_of("cannot handle SIGTERM", &e))?;
            let int = signal(SignalKind::interrupt())
                .map_err(|e| failure_of("cannot handle SIGINT", &e))?;
            Ok(Self { term, int })
        }
        #[cfg(not(unix))]
        {
            Ok(Self {})
        }
    }

    /// Waits for the first of them; returns its name.
    async fn recv(&mut self) -> &'static str {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.term.recv() => "SIGTERM",
                _ = self.int.recv() => "SIGINT",
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            "SIGINT"
        }
    }
}

/// Runs the service until SIGTERM or SIGINT.
pub async fn run(args: ServeArgs) -> Result<(), CliError> {
    let mut signals = Signals::install()?;
    if args.concurrency == 0 {
        return Err(CliError::usage("--concurrency must be at least 1"));
    }
    if let Some(period) = &args.polling_period {
        connector_powens::parse_duration(period, true)
            .map_err(|e| CliError::usage(format!("--polling-period {period:?}: {e}")))?;
    }
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| failure_of(&format!("cannot listen on {}", args.listen), &e))?;
    let addr = listener
        .local_addr()
        .map_err(|e| failure_of("cannot read the listening address", &e))?;
    let public_url = args
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"));
    let metrics = Arc::new(ServiceMetrics::default());

    let (sandbox, connector) = match &args.config {
        Some(path) => {
            let config = match &args.polling_period {
                None => crate::sync::live::load_config(path)?,
                Some(period) => {
                    let bytes = std::fs::read(path)
                        .map_err(|e| failure_of(&format!("cannot read {}", path.display()), &e))?;
                    let payload: serde_json::Value =
                        serde_json::from_slice(&bytes).map_err(|e| {
                            CliError::usage(format!("{} is not JSON: {e}", path.display()))
                        })?;
                    with_polling_period(payload, Some(period))?
                }
            };
            (None, connector_for(config, args.rate_limit, &metrics)?)
        }
        None => {
            let sandbox = start_sandbox(&args).await?;
            let mut payload = crate::commands::sandbox_payload(&sandbox, 1000);
            if let Some(object) = payload.as_object_mut() {
                object.insert("webviewURL".into(), sandbox.base_url().into());
            }
            let config = with_polling_period(payload, args.polling_period.as_deref())?;
            let connector = connector_for(config, Some(args.rate_limit.unwrap_or(0)), &metrics)?;
            (Some(sandbox), connector)
        }
    };

    let replica = replicas::Replica::connect(&args).await?;
    let (store, sink) = match &replica {
        Some(replica) => replica.store_and_sink(),
        None => file_store_and_sink(&args).await?,
    };
    let mut options = ServiceOptions::new(public_url);
    options.max_concurrent_psus = args.concurrency;
    options.metrics = Arc::clone(&metrics);
    options.sync_gate = replica.as_ref().map(|r| r.gate());
    // Replicas starting together may race on the stored webhook configs (compare-and-set):
    // the loser starts again and reuses the winner's.
    let mut attempt = 1;
    let service = loop {
        match Service::start(
            connector.clone(),
            store.clone(),
            sink.clone(),
            options.clone(),
        )
        .await
        {
            Ok(service) => break Arc::new(service),
            Err(e) if replica.is_some() && attempt < 3 => {
                tracing::warn!(error = %e, attempt, "starting the service failed; trying again");
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => return Err(failure_of("cannot start the service", &e)),
        }
    };

    match &sandbox {
        Some(sandbox) => {
            for config in service.webhook_configs() {
                if let (Some(event), Some(url)) = (sandbox_event(&config.name), &config.full_url) {
                    sandbox.control().register_webhook(event, url.clone());
                }
            }
            print_line(&format!("sandbox at {}", sandbox.base_url()))?;
        }
        None => {
            for config in service.webhook_configs() {
                if let Some(url) = &config.full_url {
                    print_line(&format!("webhook {} {url}", config.name))?;
                }
            }
        }
    }
    if let Some(path) = &args.psu_tokens_file {
        let counts = import::import_psus(&service, path).await?;
        print_line(&format!(
            "imported {} PSUs from {} ({} known already)",
            counts.imported,
            path.display(),
            counts.known
        ))?;
    }
    let token = match std::env::var(TOKEN_VARIABLE) {
        Ok(token) if !token.trim().is_empty() => token.trim().to_owned(),
        _ => {
            let token = generated_token();
            print_line(&format!("api_token={token}"))?;
            token
        }
    };
    print_line(&format!("listening on http://{addr}"))?;

    let app = http::router(
        http::AppState {
            service: Arc::clone(&service),
            token: Arc::new(token),
        },
        args.max_webhook_bytes,
    );
    let stop_serving = CancellationToken::new();
    let server = {
        let stop = stop_serving.clone();
        tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(stop.cancelled_owned())
                .await
        })
    };
    let stop_polling = CancellationToken::new();
    let coordinator = replica
        .as_ref()
        .map(|r| r.spawn(Arc::clone(&service), stop_polling.clone()));
    let polling = {
        let (service, stop) = (Arc::clone(&service), stop_polling.clone());
        tokio::spawn(async move { service.run_polling(&stop).await })
    };

    let signal = tokio::select! {
        signal = signals.recv() => signal,
        result = server_ended(&server) => {
            stop_polling.cancel();
            return result;
        }
    };
    let started = Instant::now();
    tracing::info!(signal, "shutting down");
    stop_serving.cancel();
    stop_polling.cancel();
    service.shutdown(Duration::from_secs(3)).await;
    if let (Some(replica), Some(coordinator)) = (&replica, coordinator) {
        let _ = coordinator.await;
        replica.release().await;
    }
    let left = |started: Instant| SHUTDOWN_BUDGET.saturating_sub(started.elapsed());
    if tokio::time::timeout(left(started), polling).await.is_err() {
        tracing::warn!("polling did not stop in time; its uncommitted pages will be fetched again");
    }
    match tokio::time::timeout(left(started), server).await {
        Ok(Ok(Err(e))) => tracing::warn!(error = %e, "the HTTP server ended with an error"),
        Err(_) => tracing::warn!("requests still open at shutdown were abandoned"),
        _ => {}
    }
    if let Some(sandbox) = sandbox {
        let _ = tokio::time::timeout(left(started), sandbox.shutdown()).await;
    }
    tracing::info!(
        elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        "stopped"
    );
    Ok(())
}

/// The JSON-lines sink of `--out` and the file store of `--state`.
async fn file_store_and_sink(
    args: &ServeArgs,
) -> Result<(Arc<dyn StateStore>, Arc<dyn Sink>), CliError> {
    std::fs::create_dir_all(&args.state)
        .map_err(|e| failure_of(&format!("cannot create {}", args.state.display()), &e))?;
    let store = crate::sync::open_store(Some(&args.state))?;
    let sink = JsonLinesSink::append(&args.out)
        .await
        .map_err(|e| failure_of(&format!("cannot open {}", args.out.display()), &e))?
        .with_fsync(args.fsync);
    if sink.torn_bytes_cut() > 0 {
        tracing::warn!(
            file = %args.out.display(),
            bytes = sink.torn_bytes_cut(),
            "the output ended with a torn line; it was cut off"
        );
    }
    Ok((store, Arc::new(sink)))
}

/// Resolves when the server task ends on its own (an error: it should run until told).
async fn server_ended(
    server: &tokio::task::JoinHandle<std::io::Result<()>>,
) -> Result<(), CliError> {
    loop {
        if server.is_finished() {
            return Err(CliError::failure("the HTTP server stopped unexpectedly"));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
