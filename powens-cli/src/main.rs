//! `powens`: the command-line front door of the Powens SDK.
//!
//! * `powens sync`: one full sync (accounts, balances, payments, external accounts) into a JSON
//!   lines file, against the embedded sandbox (then verified against its truth) or against a
//!   Powens domain (`--config`).
//! * `powens link`: a Webview link for a PSU.
//! * `powens webhook verify|translate`: check a `BI-Signature`, translate a webhook body.
//! * `powens map accounts|transactions`: Powens JSON on stdin → records as JSON lines.
//! * `powens sandbox`: the fake Powens server in the foreground.
//! * `powens serve`: the connector as a service (polling, webhooks, PSUs over HTTP, metrics).
//!
//! Every failure is one line on stderr: exit 2 for a usage error, 1 for anything else, never a
//! panic message or a backtrace.

mod cli;
mod commands;
mod error;
mod output;
mod serve;
mod sync;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::Cli;
use crate::error::CliError;

/// mimalloc: `powens serve` spends a sixth of its webhook CPU in glibc's malloc and free
/// (many short-lived records and buffers across threads); see DECISIONS.md.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    install_panic_hook();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            init_logging(None);
            return usage_error(&error);
        }
    };
    init_logging(match &cli.command {
        cli::Command::Serve(args) => Some(args.log_format),
        _ => None,
    });
    let outcome = std::panic::catch_unwind(|| run(cli));
    match outcome {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(error)) => {
            if !error.already_reported() {
                eprintln!("powens: {error}");
            }
            ExitCode::from(error.exit_code())
        }
        // The hook already printed the one line.
        Err(_) => ExitCode::FAILURE,
    }
}

fn run(cli: Cli) -> Result<(), CliError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::failure(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(commands::dispatch(cli))
}

/// Prints clap's help and version as they are; any other parse error as one line, exit 2.
fn usage_error(error: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    match error.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = error.print();
            if error.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            }
        }
        _ => {
            // clap's message spans several lines (the missing flags, a usage block, tips):
            // keep the message itself, on one line.
            let rendered = error.render().to_string();
            let message: Vec<&str> = rendered
                .lines()
                .map(str::trim)
                .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more information"))
                .filter(|l| !l.is_empty() && !l.starts_with("tip:"))
                .collect();
            let first = message.join(" ");
            let first = first.strip_prefix("error: ").unwrap_or(&first);
            let first = if first.is_empty() {
                "invalid arguments"
            } else {
                first
            };
            eprintln!("powens: usage: {first} (see `powens --help`)");
            ExitCode::from(2)
        }
    }
}

/// A panic (a bug) prints one line and no backtrace; `main` then exits 1.
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_owned());
        let message = message.lines().next().unwrap_or_default().to_owned();
        let place = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!("powens: internal error: {message}{place} (this is a bug, please report it)");
    }));
}

/// Logs go to stderr; `POWENS_LOG` (e.g. `info`, `connector_powens=debug`) sets the filter,
/// default `warn` (`info` for `powens serve`, whose `--log-format json` writes JSON lines).
fn init_logging(serve: Option<serve::LogFormat>) {
    let default = if serve.is_some() { "info" } else { "warn" };
    let filter = tracing_subscriber::EnvFilter::try_from_env("POWENS_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    if serve == Some(serve::LogFormat::Json) {
        let _ = tracing_subscriber::fmt()
            .json()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .try_init();
        return;
    }
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(output::LogWriter)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .without_time()
        .try_init();
}
