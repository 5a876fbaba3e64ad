//! One module per subcommand; [`dispatch`] routes to them.

mod link;
pub mod map;
mod sandbox;
mod webhook;

pub use sandbox::install_payload as sandbox_payload;

use crate::cli::{Cli, Command, MapCommand, WebhookCommand};
use crate::error::CliError;

/// Runs the parsed command.
pub async fn dispatch(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Sync(args) => crate::sync::run(args).await,
        Command::Link(args) => link::run(args).await,
        Command::Webhook(WebhookCommand::Verify(args)) => webhook::verify(args),
        Command::Webhook(WebhookCommand::Translate(args)) => webhook::translate(args).await,
        Command::Webhook(WebhookCommand::Urls(args)) => webhook::urls(args),
        Command::Map(MapCommand::Accounts(args)) => map::accounts(args),
        Command::Map(MapCommand::Transactions(args)) => map::transactions(args),
        Command::Sandbox(args) => sandbox::run(args).await,
        Command::Serve(args) => crate::serve::run(args).await,
    }
}
