//! `powens link --psu NAME`: creates the PSU at Powens and prints a Webview link for it.
//!
//! * Sandbox (default): an embedded sandbox is started; the link points at its Webview and
//!   the sandbox keeps serving until Ctrl-C (`--no-serve` prints and exits, the link then
//!   dead).
//! * `--config FILE --state DIR`: the domain of the install payload; the PSU and its Powens
//!   token are added to `DIR/psus.json` so that `powens sync --config FILE --state DIR`
//!   syncs the banks the user links.

use std::path::Path;

use connector_core::contract::OpenBankingFlows;
use connector_core::openbanking::ForwardedUser;
use connector_powens::PowensConnector;
use powens_sandbox::{Profile, SandboxSize};

use crate::cli::LinkArgs;
use crate::error::{failure_of, CliError};
use crate::output::print_line;
use crate::sync::{live, sandbox};

/// A PSU id from a name: lower-case letters and digits, other characters as `-`.
fn psu_id(name: &str) -> Result<String, CliError> {
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
    let id = id.trim_matches('-').to_owned();
    if id.is_empty() {
        return Err(CliError::usage(
            "--psu needs a name with at least one letter or digit",
        ));
    }
    Ok(format!("psu-{id}"))
}

async fn link_for(
    connector: &PowensConnector,
    name: &str,
    redirect_uri: &str,
) -> Result<(ForwardedUser, String), CliError> {
    let psu = sandbox::psu_named(&psu_id(name)?, name.trim());
    let user = sandbox::forward(connector, &psu).await?;
    let (_attempt, request) = sandbox::link_request(&psu, &user, redirect_uri);
    let link = connector
        .create_user_link(request)
        .await
        .map_err(|e| failure_of(&format!("cannot create a link for {}", psu.id), &e))?;
    Ok((user, link.link))
}

fn store_psu(state: &Path, user: ForwardedUser) -> Result<(), CliError> {
    std::fs::create_dir_all(state)
        .map_err(|e| failure_of(&format!("cannot create {}", state.display()), &e))?;
    let mut users = live::stored_psus(state)?;
    users.retain(|u| u.psu_id != user.psu_id);
    users.push(user);
    let path = live::psus_file(state);
    let text = serde_json::to_string_pretty(&users)
        .map_err(|e| CliError::failure(format!("cannot encode the PSU list: {e}")))?;
    let temporary = path.with_extension("json.tmp");
    std::fs::write(&temporary, text + "\n")
        .and_then(|()| std::fs::rename(&temporary, &path))
        .map_err(|e| failure_of(&format!("cannot write {}", path.display()), &e))
}

/// Prints the link.
pub async fn run(args: LinkArgs) -> Result<(), CliError> {
    match &args.config {
        Some(config) => {
            let Some(state) = &args.state else {
                return Err(CliError::usage(
                    "with --config, pass --state DIR: the PSU's Powens token is kept there for `powens sync --config … --state DIR`",
                ));
            };
            let config = live::load_config(config)?;
            let connector = PowensConnector::new(config)
                .map_err(|e| failure_of("cannot build the connector", &e))?;
            let (user, link) = link_for(&connector, &args.psu, &args.redirect_uri).await?;
            let psu = user.psu_id.clone();
            store_psu(state, user)?;
            print_line(&link)?;
            eprintln!(
                "PSU {psu} saved in {}; once the user has linked a bank, run `powens sync --config … --state {}`",
                live::psus_file(state).display(),
                state.display()
            );
            Ok(())
        }
        None => {
            let handle =
                sandbox::start_sandbox(7, SandboxSize::default(), Profile::Default).await?;
            let connector = sandbox::sandbox_connector(&handle, 1000, None)?;
            let (_user, link) = link_for(&connector, &args.psu, &args.redirect_uri).await?;
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
    }
}
