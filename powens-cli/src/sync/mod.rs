//! `powens sync`.

use crate::cli::SyncArgs;
use crate::error::CliError;

/// Runs one sync.
pub async fn run(args: SyncArgs) -> Result<(), CliError> {
    Err(CliError::failure(format!(
        "sync to {} is not available yet",
        args.out.display()
    )))
}
