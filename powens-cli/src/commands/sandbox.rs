//! `powens sandbox`: the fake Powens server in the foreground.

use std::path::Path;

use powens_sandbox::{Sandbox, SandboxHandle, SandboxSize};

use crate::cli::SandboxArgs;
use crate::error::{failure_of, CliError};
use crate::output::print_line;

/// The install payload (the spec's config.json) that points the connector at `sandbox`.
pub fn install_payload(sandbox: &SandboxHandle, page_size: u32) -> serde_json::Value {
    let mut payload = sandbox.install_payload();
    payload["pageSize"] = page_size.into();
    payload["pollingPeriod"] = "30m".into();
    payload
}

/// Writes `payload` as pretty JSON to `path`: it holds the client secret, so the file is
/// written atomically with mode 0600.
pub fn write_payload(path: &Path, payload: &serde_json::Value) -> Result<(), CliError> {
    let text = serde_json::to_string_pretty(payload)
        .map_err(|e| CliError::failure(format!("cannot encode the config: {e}")))?;
    connector_core::state::write_private_file(path, (text + "\n").as_bytes())
        .map_err(|e| failure_of(&format!("cannot write {}", path.display()), &e))
}

/// Runs until Ctrl-C.
pub async fn run(args: SandboxArgs) -> Result<(), CliError> {
    let sandbox = Sandbox::builder()
        .seed(args.seed)
        .profile(args.profile)
        .port(args.port)
        .size(SandboxSize {
            users: args.users,
            connections_per_link: 1,
            accounts_per_connection: args.accounts,
            transactions_per_account: args.transactions,
        })
        .start()
        .await
        .map_err(|e| failure_of("cannot start the sandbox", &e))?;
    let credentials = sandbox.credentials();
    print_line(&format!(
        "sandbox listening on {} (profile {})",
        sandbox.base_url(),
        args.profile
    ))?;
    print_line(&format!("api endpoint: {}", sandbox.api_url()))?;
    print_line(&format!(
        "client_id={} client_secret={} configuration_token={} domain={}",
        credentials.client_id,
        credentials.client_secret,
        credentials.configuration_token,
        credentials.domain
    ))?;
    for user in sandbox.users() {
        print_line(&format!("user id={} token={}", user.id, user.token))?;
    }
    if let Some(path) = &args.write_config {
        write_payload(path, &install_payload(&sandbox, 1000))?;
        print_line(&format!("install payload written to {}", path.display()))?;
    }
    print_line("press Ctrl-C to stop")?;
    tokio::signal::ctrl_c()
        .await
        .map_err(|e| failure_of("cannot wait for Ctrl-C", &e))?;
    sandbox.shutdown().await;
    Ok(())
}
