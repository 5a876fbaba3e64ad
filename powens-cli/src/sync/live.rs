//! `powens sync --config config.json`: a real Powens domain.
//!
//! The PSUs to sync come from three sources, and each PSU id is explicit, never taken from
//! the order of the arguments:
//!
//! * `--psu-token PSU_ID=TOKEN` (repeatable); a bare `--psu-token TOKEN` is the PSU
//!   `powens-user-<id>`, `<id>` being the Powens user id the token belongs to (asked with
//!   `GET /users/me` before the sync starts);
//! * the lines of `--psu-tokens-file`: `PSU_ID TOKEN`, or a bare `TOKEN` named the same way;
//!   blank lines and whole lines starting with `#` are skipped (a token may contain `#`);
//! * the PSUs `powens link --config … --state DIR` saved in `DIR/psus.json`.
//!
//! A PSU id given twice, or one token given for two PSUs, is refused before anything is
//! synced. There is no truth to compare with: the last line says how many records were
//! written.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use connector_core::openbanking::{ForwardedUser, Token};
use connector_powens::{PowensConfig, PowensConnector};
use secrecy::{ExposeSecret, SecretString};

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

/// The prefix of a PSU id derived from the Powens user id of a bare token.
pub const DERIVED_PREFIX: &str = "powens-user-";

/// Longest PSU id accepted.
const MAX_PSU_ID: usize = 64;

/// Checks a PSU id: 1 to 64 ASCII letters, digits, `-`, `_` or `.`. `what` names where it
/// came from; the id itself is not repeated (it may be part of a token typed by mistake).
pub fn check_psu_id(id: &str, what: &str) -> Result<(), CliError> {
    let valid = !id.is_empty()
        && id.len() <= MAX_PSU_ID
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if valid {
        Ok(())
    } else {
        Err(CliError::usage(format!(
            "{what}: a PSU id is 1 to {MAX_PSU_ID} ASCII letters, digits, `-`, `_` or `.`"
        )))
    }
}

/// Creates the state directory (mode 0700 on unix), or warns on stderr when an existing one
/// is open to other users: the files the CLI writes in it are 0600 whatever the directory's
/// mode, and the CLI does not change the mode of a directory it did not create.
pub fn prepare_state_dir(dir: &Path) -> Result<(), CliError> {
    connector_core::state::create_private_dir(dir)
        .map_err(|e| failure_of(&format!("cannot create {}", dir.display()), &e))?;
    let shared = connector_core::state::shared_dir_mode(dir)
        .map_err(|e| failure_of(&format!("cannot read {}", dir.display()), &e))?;
    if let Some(mode) = shared {
        eprintln!(
            "warning: {} is open to other users (mode {mode:o}); the files written in it are 0600, `chmod 700 {}` hides their names too",
            dir.display(),
            dir.display()
        );
    }
    Ok(())
}

/// Writes `users` to `DIR/psus.json`: atomically, durably, mode 0600.
pub fn save_psus(state: &Path, users: &[ForwardedUser]) -> Result<(), CliError> {
    let path = psus_file(state);
    let text = serde_json::to_string_pretty(users)
        .map_err(|e| CliError::failure(format!("cannot encode the PSU list: {e}")))?;
    connector_core::state::write_private_file(&path, (text + "\n").as_bytes())
        .map_err(|e| failure_of(&format!("cannot write {}", path.display()), &e))
}

fn user(psu_id: String, token: &str, psp_user_id: Option<String>) -> ForwardedUser {
    ForwardedUser {
        psu_id,
        connector_id: CONNECTOR_ID.to_owned(),
        access_token: Some(Token::new(SecretString::from(token.to_owned()), None)),
        psp_user_id,
        metadata: Default::default(),
    }
}

/// A PSU to sync, as given: its id, or a token whose id is asked from Powens.
pub(crate) enum Given {
    /// The id is known.
    Named(ForwardedUser),
    /// A bare token: the PSU id is derived from its Powens user id.
    Bare(String),
}

/// One PSU as given, with where it was given (`--psu-token #2`, `tokens.txt line 3`).
pub(crate) struct Source {
    pub(crate) given: Given,
    pub(crate) origin: String,
}

impl Source {
    pub(crate) fn token(&self) -> Option<&str> {
        match &self.given {
            Given::Named(user) => user
                .access_token
                .as_ref()
                .map(|t| t.secret().expose_secret()),
            Given::Bare(token) => Some(token),
        }
    }
}

/// `--psu-token` values: `PSU_ID=TOKEN` (split at the first `=`), or a bare `TOKEN`.
fn flag_sources(values: &[String]) -> Result<Vec<Source>, CliError> {
    let mut sources = Vec::new();
    for (n, value) in values.iter().enumerate() {
        let origin = format!("--psu-token #{}", n + 1);
        let value = value.trim();
        let given = match value.split_once('=') {
            Some((id, token)) => {
                check_psu_id(
                    id.trim(),
                    &format!("{origin} (PSU_ID=TOKEN): the part before `=`"),
                )?;
                let token = token.trim();
                if token.is_empty() {
                    return Err(CliError::usage(format!(
                        "{origin}: the token after `=` is empty"
                    )));
                }
                Given::Named(user(id.trim().to_owned(), token, None))
            }
            None if value.is_empty() => {
                return Err(CliError::usage(format!("{origin}: the token is empty")));
            }
            None => Given::Bare(value.to_owned()),
        };
        sources.push(Source { given, origin });
    }
    Ok(sources)
}

/// The lines of a tokens file: `PSU_ID TOKEN` or `TOKEN`; blank lines and whole lines
/// starting with `#` are skipped.
pub(crate) fn file_sources(path: &Path) -> Result<Vec<Source>, CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| failure_of(&format!("cannot read {}", path.display()), &e))?;
    let mut sources = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let origin = format!("{} line {}", path.display(), n + 1);
        let mut words = line.split_whitespace();
        let given = match (words.next(), words.next(), words.next()) {
            (Some(token), None, _) => Given::Bare(token.to_owned()),
            (Some(id), Some(token), None) => {
                check_psu_id(id, &origin)?;
                Given::Named(user(id.to_owned(), token, None))
            }
            _ => {
                return Err(CliError::usage(format!(
                    "{origin}: a line is `PSU_ID TOKEN` or `TOKEN` (a comment is a whole line starting with `#`)"
                )))
            }
        };
        sources.push(Source { given, origin });
    }
    Ok(sources)
}

/// Every PSU as given, checked for a token given twice (one Powens user under two PSU ids,
/// or twice under one) before any request is sent.
fn given_psus(args: &SyncArgs) -> Result<Vec<Source>, CliError> {
    let mut sources = flag_sources(&args.psu_tokens)?;
    if let Some(path) = &args.psu_tokens_file {
        sources.extend(file_sources(path)?);
    }
    if let Some(state) = &args.state {
        let path = psus_file(state);
        for user in stored_psus(state)? {
            let origin = format!("{} ({})", path.display(), user.psu_id);
            sources.push(Source {
                given: Given::Named(user),
                origin,
            });
        }
    }
    if sources.is_empty() {
        return Err(CliError::usage(
            "no PSU to sync: pass --psu-token PSU_ID=TOKEN, --psu-tokens-file, or link one first with `powens link --config FILE --state DIR --psu NAME` and sync with the same --state",
        ));
    }
    let mut seen: HashMap<&str, &str> = HashMap::new();
    for source in &sources {
        if let Some(token) = source.token() {
            if let Some(first) = seen.insert(token, &source.origin) {
                return Err(CliError::usage(format!(
                    "the same token is given by {first} and by {}: one Powens user must be one PSU",
                    source.origin
                )));
            }
        }
    }
    Ok(sources)
}

/// The PSUs to sync: bare tokens are named after their Powens user (`GET /users/me`); a PSU
/// id given twice is refused.
async fn psus(
    connector: &PowensConnector,
    sources: Vec<Source>,
) -> Result<Vec<ForwardedUser>, CliError> {
    let mut users: Vec<ForwardedUser> = Vec::with_capacity(sources.len());
    let mut origins: HashMap<String, String> = HashMap::new();
    for source in sources {
        let user = match source.given {
            Given::Named(user) => user,
            Given::Bare(token) => {
                let me = connector
                    .client()
                    .get_me(&SecretString::from(token.clone()))
                    .await
                    .map_err(|e| {
                        failure_of(
                            &format!(
                                "cannot name the PSU of {} after its Powens user (GET /users/me; give it as PSU_ID=TOKEN to skip this)",
                                source.origin
                            ),
                            &e,
                        )
                    })?;
                user(
                    format!("{DERIVED_PREFIX}{}", me.id),
                    &token,
                    Some(me.id.to_string()),
                )
            }
        };
        if let Some(first) = origins.insert(user.psu_id.clone(), source.origin.clone()) {
            return Err(CliError::usage(format!(
                "PSU id {} is given by {first} and by {}: a PSU id names one person",
                user.psu_id, source.origin
            )));
        }
        users.push(user);
    }
    Ok(users)
}

/// The whole run against a Powens domain.
pub async fn run(args: &SyncArgs, config_path: &Path) -> Result<(), CliError> {
    let config = load_config(config_path)?;
    let sources = given_psus(args)?;
    let page_size = args.page_size.unwrap_or(config.page_size);
    let connector = super::connector_with_rate_limit(config, args.rate_limit)?;
    let users = psus(&connector, sources).await?;
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

#[cfg(test)]
mod tests {
    use super::*;

    /// (origin, psu id or `None` for a bare token, token) of each source.
    fn shown(sources: &[Source]) -> Vec<(String, Option<String>, String)> {
        sources
            .iter()
            .map(|s| {
                let id = match &s.given {
                    Given::Named(user) => Some(user.psu_id.clone()),
                    Given::Bare(_) => None,
                };
                (
                    s.origin.clone(),
                    id,
                    s.token().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    }

    #[test]
    fn psu_id_explicit_flag_is_split_at_the_first_equals_and_a_bare_token_has_no_id() {
        let values = ["alice=ab=c#1".to_owned(), " t0k#en ".to_owned()];
        let sources = flag_sources(&values).unwrap();
        assert_eq!(
            shown(&sources),
            [
                (
                    "--psu-token #1".into(),
                    Some("alice".into()),
                    "ab=c#1".into()
                ),
                ("--psu-token #2".into(), None, "t0k#en".into()),
            ]
        );
    }

    #[test]
    fn tokens_file_keeps_a_hash_inside_a_token_and_skips_whole_comment_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens.txt");
        std::fs::write(&path, "# team\n\nalice abc#def\n  #bob xyz\n#\nghi#jkl\n").unwrap();
        let sources = file_sources(&path).unwrap();
        let file = path.display();
        assert_eq!(
            shown(&sources),
            [
                (
                    format!("{file} line 3"),
                    Some("alice".into()),
                    "abc#def".into()
                ),
                (format!("{file} line 6"), None, "ghi#jkl".into()),
            ]
        );
    }

    #[test]
    fn psu_id_explicit_ids_are_ascii_letters_digits_dash_underscore_dot_up_to_64() {
        for good in [
            "a",
            "psu-alice",
            "powens-user-42",
            "A_b.c-9",
            &"x".repeat(64),
        ] {
            assert!(check_psu_id(good, "id").is_ok(), "{good}");
        }
        for bad in ["", "al ice", "alice/..", "é", "a=b", "a#b", &"x".repeat(65)] {
            let error = check_psu_id(bad, "id").unwrap_err();
            assert_eq!(error.exit_code(), 2, "{bad}");
            assert!(
                !error.to_string().contains(bad) || bad.is_empty(),
                "{error}"
            );
        }
    }
}
