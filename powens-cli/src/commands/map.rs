//! `powens map accounts|transactions`: Powens JSON on stdin → records on stdout; rows that
//! cannot be mapped go to stderr with their reason.

use chrono::Utc;
use connector_core::money::Asset;
use connector_powens::{map_accounts_body, map_transactions_body, Skipped};

use crate::cli::{MapAccountsArgs, MapTransactionsArgs};
use crate::error::CliError;
use crate::output::{read_stdin, RecordLines};

/// Reports unmappable rows, one line each: `skipped transaction 12: transaction has no date`.
pub fn report_skipped(skipped: &[Skipped]) {
    for skip in skipped {
        let id = skip.id.map(|id| format!(" {id}")).unwrap_or_default();
        eprintln!("skipped {}{id}: {}", skip.kind, skip.reason);
    }
}

/// `powens map accounts`: a `GET /users/me/accounts` body (or a bare JSON array of accounts).
pub fn accounts(args: MapAccountsArgs) -> Result<(), CliError> {
    let bytes = read_stdin()?;
    // `now` only dates an account with no instant at all (neither opening date nor last
    // update).
    let mapped = map_accounts_body(&bytes, args.psu.as_deref(), Utc::now())
        .map_err(|e| CliError::failure(format!("stdin is {e}")))?;
    report_skipped(&mapped.skipped);
    let mut out = RecordLines::stdout();
    out.write_all(&mapped.records)?;
    out.finish()
}

/// `powens map transactions --asset EUR/2 --account REF`: one transactions page.
pub fn transactions(args: MapTransactionsArgs) -> Result<(), CliError> {
    let asset: Asset = args.asset.parse().map_err(|e| {
        CliError::usage(format!(
            "--asset {:?} is not a UMN asset like EUR/2: {e}",
            args.asset
        ))
    })?;
    let account_id: i64 = args.account.trim().parse().map_err(|_| {
        CliError::usage(format!(
            "--account {:?} is not a Powens account id (an integer)",
            args.account
        ))
    })?;
    let bytes = read_stdin()?;
    let mapped = map_transactions_body(&bytes, account_id, asset, args.psu.as_deref(), Utc::now())
        .map_err(|e| CliError::failure(format!("stdin: {e}")))?;
    report_skipped(&mapped.skipped);
    let mut out = RecordLines::stdout();
    out.write_all(&mapped.records)?;
    out.finish()
}
