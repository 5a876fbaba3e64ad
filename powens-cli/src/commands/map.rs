//! `powens map accounts|transactions`: Powens JSON on stdin → records on stdout; rows that
//! cannot be mapped go to stderr with their reason.

use chrono::Utc;
use connector_core::model::Record;
use connector_core::money::Asset;
use powens_api::accounts::{BankAccount, BankAccountsList};
use powens_model::maturation::{mature, MaturationRule};
use powens_model::{account, page, AccountBook, AccountContext, MappingContext, Skipped};

use crate::cli::{MapAccountsArgs, MapTransactionsArgs};
use crate::error::CliError;
use crate::output::{read_stdin, RecordLines};

fn context(psu: Option<String>) -> MappingContext {
    // Only used when Powens gives no instant at all (an account with neither opening date nor
    // last update).
    let ctx = MappingContext::new(Utc::now());
    match psu {
        Some(psu) => ctx.with_psu_id(psu),
        None => ctx,
    }
}

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
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace()).copied();
    let list: Vec<BankAccount> = if first == Some(b'[') {
        powens_api::wire::decode_json(&bytes).map_err(|e| {
            CliError::failure(format!("stdin is not a JSON array of Powens accounts: {e}"))
        })?
    } else {
        let list: BankAccountsList = powens_api::wire::decode_json(&bytes)
            .map_err(|e| CliError::failure(format!("stdin is not a Powens accounts list: {e}")))?;
        list.accounts
    };
    let mapped = account::map_accounts(&list, &context(args.psu));
    report_skipped(&mapped.skipped);
    let mut out = RecordLines::stdout();
    out.write_all(&mapped.into_records())?;
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
    let mut account = AccountContext::new(account_id, asset);
    account.psu_id.clone_from(&args.psu);
    let book = AccountBook::single(account);
    let bytes = read_stdin()?;
    let mapped = page::map_transactions_page(&bytes, &book, &context(args.psu))
        .map_err(|e| CliError::failure(format!("stdin: {e}")))?;
    report_skipped(&mapped.skipped);
    let external: Vec<Record> = mapped
        .external_accounts
        .iter()
        .cloned()
        .map(Record::ExternalAccount)
        .collect();
    let tombstones = mapped.tombstones.clone();
    let payments = mapped.into_payments();
    let matured = mature(&[], payments, &tombstones, MaturationRule::default());
    let mut out = RecordLines::stdout();
    out.write_all(&external)?;
    out.write_all(&matured.records)?;
    out.finish()
}
