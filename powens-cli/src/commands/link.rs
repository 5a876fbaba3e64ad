//! `powens link --psu NAME`: a Webview link for a PSU.

use crate::cli::LinkArgs;
use crate::error::CliError;

/// Prints the link.
pub async fn run(args: LinkArgs) -> Result<(), CliError> {
    Err(CliError::failure(format!(
        "linking {} is not available yet",
        args.psu
    )))
}
