//! `powens sync --config config.json`: a real Powens domain.
//!
//! The PSUs to sync are, in this order: `--psu-token` values (ids `psu-1`, `psu-2`, …), the
//! lines of `--psu-tokens-file` (`TOKEN` or `PSU_ID TOKEN`), and the PSUs `powens link
//! --config … --state DIR` stored in `DIR/psus.json`. There is no truth to compare with: the
//! last line says how many records were written.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use connector_core::openbanking::{ForwardedUser, Token};
use connector_powens::PowensConfig;
use secrecy::SecretString;

use super::{run_cycle, CONNECTOR_ID};
use crate::cli::SyncArgs;
use crate::error::{failure_of, CliError};
use crate::output::print_line;

/// Reads and validates an install payload.
pub fn load_config(path: &Path) -> Result<PowensConfig, CliError> {
    let bytes = std::fs::read(path)
        .map_err(|e| failure_of(&format!("cannot read {}", path.display()), &e))?;
    PowensConfig::from_json(&bytes)
        .map_err(|e| CliError::failure(format!("{}: {e}", path.display())))
}

/// Where `powens link --state DIR` keeps its PSUs.
pub fn psus_file(state: &Path) -> PathBuf {
    state.join("psus.json")
}

/// The PSUs stored in `DIR/psus.json` (none when the file does not exist).
pub fn stored_psus(state: &Path) -> Result<Vec<ForwardedUser>, CliError> {
    let path = psus_file(state);
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map_err(|e| CliError::failure(format!("{} is not a PSU list: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(failure_of(&format!("cannot read {}", path.display()), &e)),
    }
}

fn user(psu_id: String, token: &str) -> ForwardedUser {
    ForwardedUser {
        psu_id,
        connector_id: CONNECTOR_ID.to_owned(),
        access_token: Some(Token::new(SecretString::from(token.to_owned()), None)),
        psp_user_id: None,
        metadata: Default::default(),
    }
}

fn psus(args: &SyncArgs) -> Result<Vec<ForwardedUser>, CliError> {
    let mut users: Vec<ForwardedUser> = Vec::new();
    for token in &args.psu_tokens {
        let id = format!("psu-{}", users.len() + 1);
        users.push(user(id, token.trim()));
    }
    if let Some(path) = &args.psu_tokens_file {
        let text = std::fs::read_to_string(path)
            .map_err(|e| failure_of(&format!("cannot read {}", path.display()), &e))?;
        for line in text.lines() {
            let line = line.split('#').next().unwrap_or_default().trim();
            let mut words = line.split_whitespace();
            match (words.next(), words.next(), words.next()) {
                (None, _, _) => {}
                (Some(token), None, _) => {
                    let id = format!("psu-{}", users.len() + 1);
                    users.push(user(id, token));
                }
                (Some(id), Some(token), None) => users.push(user(id.to_owned(), token)),
                _ => {
                    return Err(CliError::failure(format!(
                        "{}: a line must be `TOKEN` or `PSU_ID TOKEN`",
                        path.display()
                    )))
                }
            }
        }
    }
    if let Some(state) = &args.state {
        users.extend(stored_psus(state)?);
    }
    if users.is_empty() {
        return Err(CliError::usage(
            "no PSU to sync: pass --psu-token, --psu-tokens-file, or link one first with `powens link --config FILE --state DIR --psu NAME` and sync with the same --state",
        ));
    }
    Ok(users)
}

/// The whole run against a Powens domain.
pub async fn run(args: &SyncArgs, config_path: &Path) -> Result<(), CliError> {
    let config = load_config(config_path)?;
    let users = psus(args)?;
    let page_size = args.page_size.unwrap_or(config.page_size);
    let connector = super::connector_with_rate_limit(config, args.rate_limit)?;
    let count = users.len();
    let report = run_cycle(
        args,
        connector,
        users.into_iter().map(Arc::new).collect(),
        page_size,
    )
    .await?;
    print_line(&format!(
        "synced: {} records from {count} PSUs written to {}",
        report.counters.records(),
        args.out.display()
    ))
}
