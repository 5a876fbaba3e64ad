//! `powens link --psu NAME`: creates the PSU at Powens and prints a Webview link for it.
//!
//! Everything the command can check alone is checked before Powens is called: the redirect
//! URI, the PSU name or `--psu-id`, the install payload, the state directory and whether
//! the PSU is already saved there. Creating a Powens user is billable, so a mistake in the
//! input never costs a user.
//!
//! * Sandbox (default): an embedded sandbox is started; the link points at its Webview and
//!   the sandbox keeps serving until Ctrl-C (`--no-serve` prints and exits, the link then
//!   dead).
//! * `--config FILE --state DIR`: the domain of the install payload. The PSU and its
//!   permanent Powens token are saved in `DIR/psus.json` (written atomically, mode 0600, in
//!   a 0700 directory) **before** the link is printed, so that `powens sync --config FILE
//!   --state DIR` syncs the banks the user links. A PSU id already saved there is never
//!   replaced (that would discard the first user's token): the command refuses, and
//!   `--again` prints a new link for the saved PSU instead. Two names that give the same id
//!   (`Alice`, `alice!`) are refused the same way; `--psu-id` names the second one.

use std::fs::File;
use std::path::Path;

use connector_core::contract::OpenBankingFlows;
use connector_core::openbanking::ForwardedUser;
use connector_powens::PowensConnector;
use powens_sandbox::{Profile, SandboxSize};

use crate::cli::LinkArgs;
use crate::error::{failure_of, CliError};
use crate::output::print_line;
use crate::sync::{live, sandbox};

/// The file whose exclusive lock keeps two `powens link` off one `psus.json` at a time.
const LINK_LOCK: &str = ".psus.lock";

/// A PSU id from a name: `psu-` and the name's letters and digits, lower-cased, other
/// characters as `-`.
fn psu_id_of_name(name: &str) -> Result<String, CliError> {
    let id: String = name
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let id = id.trim_matches('-');
    if id.is_empty() {
        return Err(CliError::usage(
            "--psu needs a name with at least one ASCII letter or digit (or pass --psu-id)",
        ));
    }
    let id = format!("psu-{id}");
    live::check_psu_id(
        &id,
        "--psu (the id derived from the name is too long; pass --psu-id)",
    )?;
    Ok(id)
}

/// The PSU id: `--psu-id`, else derived from `--psu`.
fn psu_id(args: &LinkArgs) -> Result<String, CliError> {
    if args.psu.trim().is_empty() {
        return Err(CliError::usage("--psu needs a name"));
    }
    match &args.psu_id {
        Some(id) => {
            live::check_psu_id(id, "--psu-id")?;
            Ok(id.clone())
        }
        None => psu_id_of_name(&args.psu),
    }
}

async fn link_for(
    connector: &PowensConnector,
    user: &ForwardedUser,
    name: &str,
    redirect_uri: &str,
) -> Result<String, CliError> {
    let psu = sandbox::psu_named(&user.psu_id, name.trim());
    let (_attempt, request) = sandbox::link_request(&psu, user, redirect_uri);
    let link = connector
        .create_user_link(request)
        .await
        .map_err(|e| failure_of(&format!("cannot create a link for {}", psu.id), &e))?;
    Ok(link.link)
}

/// Takes `DIR/.psus.lock` for as long as the file lives (the system releases it when the
/// process ends, however it ends).
fn lock_psus(state: &Path) -> Result<File, CliError> {
    let path = state.join(LINK_LOCK);
    let mut options = std::fs::OpenOptions::new();
    options.create(true).truncate(false).write(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let file = options
        .open(&path)
        .map_err(|e| failure_of(&format!("cannot open {}", path.display()), &e))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(CliError::failure(format!(
            "another `powens link` is saving a PSU in {}: run one at a time",
            state.display()
        ))),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(failure_of(&format!("cannot lock {}", path.display()), &e))
        }
    }
}

/// `--config FILE --state DIR`: check, create (or reuse with `--again`), save, then print.
async fn link_live(args: &LinkArgs, config: &Path, psu_id: String) -> Result<(), CliError> {
    let Some(state) = &args.state else {
        return Err(CliError::usage(
            "with --config, pass --state DIR: the PSU's Powens token is kept there for `powens sync --config … --state DIR`",
        ));
    };
    let config = live::load_config(config)?;
    live::prepare_state_dir(state)?;
    let _lock = lock_psus(state)?;
    let mut saved = live::stored_psus(state)?;
    let path = live::psus_file(state);
    let existing = saved.iter().find(|u| u.psu_id == psu_id).cloned();
    let connector =
        PowensConnector::new(config).map_err(|e| failure_of("cannot build the connector", &e))?;
    let user = match (existing, args.again) {
        (Some(user), true) => user,
        (Some(_), false) => {
            return Err(CliError::usage(format!(
                "PSU {psu_id} is already saved in {}; `powens link` never replaces a saved PSU (its token would be lost): pass --again for a new link for it, --psu-id for another person of the same name, or delete its entry first",
                path.display()
            )))
        }
        (None, true) => {
            return Err(CliError::usage(format!(
                "--again: no PSU {psu_id} is saved in {}; without --again a new one is created",
                path.display()
            )))
        }
        (None, false) => {
            // The billable call: everything above has been checked.
            let psu = sandbox::psu_named(&psu_id, args.psu.trim());
            let user = sandbox::forward(&connector, &psu).await?;
            saved.push(user.clone());
            if let Err(error) = live::save_psus(state, &saved) {
                // Its token is nowhere else: a user kept at Powens would be billed and
                // unreachable. Delete it, and say whether that worked.
                let undone = match connector.delete_user(&psu, &user).await {
                    Ok(()) => "the Powens user just created was deleted again".to_owned(),
                    Err(e) => format!(
                        "the Powens user just created (id {}) could not be deleted: {e}",
                        user.psp_user_id.as_deref().unwrap_or("unknown")
                    ),
                };
                return Err(CliError::failure(format!("{error}; {undone}")));
            }
            user
        }
    };
    let link = link_for(&connector, &user, &args.psu, &args.redirect_uri)
        .await
        .map_err(|e| {
            CliError::failure(format!(
                "{e} (PSU {psu_id} is saved in {}: run the same command with --again for a new link)",
                path.display()
            ))
        })?;
    print_line(&link)?;
    eprintln!(
        "PSU {psu_id} saved in {}; once the user has linked a bank, run `powens sync --config … --state {}`",
        path.display(),
        state.display()
    );
    Ok(())
}

/// Prints the link.
pub async fn run(args: LinkArgs) -> Result<(), CliError> {
    connector_powens::check_redirect_uri(&args.redirect_uri)
        .map_err(|e| CliError::usage(format!("--redirect-uri: {e}")))?;
    let psu_id = psu_id(&args)?;
    if let Some(config) = &args.config {
        return link_live(&args, config, psu_id).await;
    }
    if args.state.is_some() || args.again {
        return Err(CliError::usage(
            "--state and --again keep PSUs of a Powens domain: pass --config too (the embedded sandbox forgets its users when it stops)",
        ));
    }
    let handle = sandbox::start_sandbox(7, SandboxSize::default(), Profile::Default).await?;
    let connector = sandbox::sandbox_connector(&handle, 1000, None)?;
    let psu = sandbox::psu_named(&psu_id, args.psu.trim());
    let user = sandbox::forward(&connector, &psu).await?;
    let link = link_for(&connector, &user, &args.psu, &args.redirect_uri).await?;
    print_line(&link)?;
    if args.no_serve {
        handle.shutdown().await;
        return Ok(());
    }
    eprintln!(
        "the sandbox at {} serves this link until Ctrl-C",
        handle.base_url()
    );
    tokio::signal::ctrl_c()
        .await
        .map_err(|e| failure_of("cannot wait for Ctrl-C", &e))?;
    handle.shutdown().await;
    Ok(())
}
