//! One engine cycle from a Powens domain (the sandbox, for the benchmark) into PostgreSQL:
//! what `cargo xtask bench postgres` runs, starts and kills. Until `powens sync` has a
//! `--database-url`, this is the way to sync into PostgreSQL from the command line.
//!
//! ```text
//! pg_sync --config CONFIG.json --psu-tokens-file TOKENS --database-url URL
//!         [--schema NAME] [--concurrency N]
//! pg_sync --database-url URL --schema NAME --compare-with REFERENCE_SCHEMA
//! ```
//!
//! The second form prints `payments=N missing=M extra=E changed=C duplicates=D` for NAME
//! against REFERENCE_SCHEMA (a run of the same sync that was never interrupted); see
//! `connector_postgres::testing::PaymentsComparison`.

use std::num::{NonZeroU32, NonZeroUsize};
use std::process::ExitCode;
use std::sync::Arc;

use connector_core::engine::EngineConfig;
use connector_core::openbanking::{ForwardedUser, Token};
use connector_core::Engine;
use connector_postgres::testing::compare_payments;
use connector_postgres::{PgBackend, PgOptions};
use connector_powens::{PowensConfig, PowensConnector};
use powens_api::PowensClient;
use secrecy::SecretString;
use tokio_util::sync::CancellationToken;

type Error = Box<dyn std::error::Error + Send + Sync>;

struct Args {
    config: Option<String>,
    tokens: Option<String>,
    url: String,
    schema: String,
    concurrency: usize,
    compare_with: Option<String>,
}

fn args() -> Result<Args, Error> {
    let mut args = Args {
        config: None,
        tokens: None,
        url: String::new(),
        schema: "powens".into(),
        concurrency: 4,
        compare_with: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--config" => args.config = Some(value),
            "--psu-tokens-file" => args.tokens = Some(value),
            "--database-url" => args.url = value,
            "--schema" => args.schema = value,
            "--concurrency" => args.concurrency = value.parse()?,
            "--compare-with" => args.compare_with = Some(value),
            other => return Err(format!("unknown flag {other}").into()),
        }
    }
    if args.url.is_empty() {
        return Err("--database-url is required".into());
    }
    Ok(args)
}

async fn compare(backend: &PgBackend, reference: &str) -> Result<(), Error> {
    let c = compare_payments(backend, reference).await?;
    println!(
        "payments={} missing={} extra={} changed={} duplicates={}",
        c.payments, c.missing, c.extra, c.changed, c.duplicates
    );
    Ok(())
}

async fn run() -> Result<(), Error> {
    let args = args()?;
    let backend = PgBackend::connect_with(
        &args.url,
        PgOptions {
            schema: args.schema.clone(),
            max_connections: args.concurrency.max(1) * 2,
        },
    )
    .await?;
    if let Some(reference) = &args.compare_with {
        return compare(&backend, reference).await;
    }
    let config_path = args.config.ok_or("--config is required")?;
    let config = PowensConfig::from_value(serde_json::from_str(&std::fs::read_to_string(
        &config_path,
    )?)?)?;
    let tokens = std::fs::read_to_string(args.tokens.ok_or("--psu-tokens-file is required")?)?;
    let psus: Vec<Arc<ForwardedUser>> = tokens
        .lines()
        .filter(|line| !line.trim().is_empty())
        .enumerate()
        .map(|(n, token)| {
            Arc::new(ForwardedUser {
                psu_id: format!("psu-{}", n + 1),
                connector_id: "powens".into(),
                access_token: Some(Token::new(
                    SecretString::from(token.trim().to_owned()),
                    None,
                )),
                psp_user_id: None,
                metadata: Default::default(),
            })
        })
        .collect();
    // No client-side rate limit: the benchmark measures the sync itself.
    let client = PowensClient::builder(config.endpoint.as_str())
        .rate_limit(None)
        .build()?;
    let page_size = config.page_size;
    let connector = PowensConnector::builder(config).client(client).build()?;
    let engine = Engine::new(
        Arc::new(connector),
        Arc::new(backend.clone()),
        Arc::new(backend),
        EngineConfig {
            connector_id: "powens".into(),
            page_size: NonZeroU32::new(page_size).unwrap_or(NonZeroU32::MIN),
            max_concurrent_psus: NonZeroUsize::new(args.concurrency).unwrap_or(NonZeroUsize::MIN),
            ..EngineConfig::default()
        },
    )?
    .with_psus(psus);
    let summary = engine.run_once(&CancellationToken::new()).await?;
    println!(
        "records={} tasks_failed={}",
        summary.records, summary.tasks_failed
    );
    if let Some(failure) = summary.failures.first() {
        return Err(format!("task {:?} failed: {}", failure.task, failure.error).into());
    }
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("pg_sync: {error}");
            ExitCode::FAILURE
        }
    }
}
