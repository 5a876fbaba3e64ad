//! `powens sync` against the embedded sandbox: start it, create and link PSUs through its
//! Webview, sync, then check the file against the sandbox's truth.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::Utc;
use connector_core::contract::{CompleteUserLinkRequest, CreateUserLinkRequest, OpenBankingFlows};
use connector_core::model::AttemptStatus;
use connector_core::openbanking::{
    CallbackState, ForwardedUser, LinkAttempt, LinkOutcome, PaymentServiceUser,
};
use connector_core::webhook::WebhookEnvelope;
use connector_powens::{forwarded_user, PowensConfig, PowensConnector};
use futures::{StreamExt, TryStreamExt};
use powens_sandbox::{Profile, Sandbox, SandboxHandle, SandboxSize, WebviewBrowser};

use super::{run_cycle, verify, CONNECTOR_ID};
use crate::cli::SyncArgs;
use crate::error::{failure_of, CliError};
use crate::output::print_line;

/// Where the simulated Webview sends users back (never contacted: the redirect is read, not
/// followed).
const REDIRECT_URL: &str = "http://127.0.0.1:9/powens/callback";

/// A connector for the embedded sandbox (its API and its Webview), with no client-side rate
/// limit unless `rate_limit` asks for one.
pub fn sandbox_connector(
    sandbox: &SandboxHandle,
    page_size: u32,
    rate_limit: Option<u32>,
) -> Result<PowensConnector, CliError> {
    let mut payload = crate::commands::sandbox_payload(sandbox, page_size);
    if let Some(object) = payload.as_object_mut() {
        object.insert("webviewURL".into(), sandbox.base_url().into());
    }
    let config = PowensConfig::from_value(payload)
        .map_err(|e| failure_of("the sandbox configuration is refused", &e))?;
    super::connector_with_rate_limit(config, Some(rate_limit.unwrap_or(0)))
}

/// Starts the embedded sandbox with no user yet: each link creates one bank connection of
/// `size.accounts_per_connection` accounts.
pub async fn start_sandbox(
    seed: u64,
    size: SandboxSize,
    profile: Profile,
) -> Result<SandboxHandle, CliError> {
    Sandbox::builder()
        .seed(seed)
        .profile(profile)
        .size(size)
        .max_connections_per_link(1)
        .start()
        .await
        .map_err(|e| failure_of("cannot start the sandbox", &e))
}

/// A PSU named `name`, with an id derived from it.
pub fn psu_named(id: &str, name: &str) -> PaymentServiceUser {
    PaymentServiceUser {
        id: id.to_owned(),
        name: name.to_owned(),
        created_at: Utc::now(),
        contact_details: None,
        address: None,
        metadata: BTreeMap::new(),
    }
}

/// Creates `psu` at Powens (the sandbox) and returns the forwarded user.
pub async fn forward(
    connector: &PowensConnector,
    psu: &PaymentServiceUser,
) -> Result<ForwardedUser, CliError> {
    let created = connector
        .create_user(psu)
        .await
        .map_err(|e| failure_of(&format!("cannot create PSU {} at Powens", psu.id), &e))?;
    Ok(forwarded_user(CONNECTOR_ID, psu, created))
}

/// A link attempt and the request for its Webview link.
pub fn link_request(
    psu: &PaymentServiceUser,
    user: &ForwardedUser,
    redirect_url: &str,
) -> (LinkAttempt, CreateUserLinkRequest) {
    let attempt_id = format!("attempt-{}", psu.id);
    let state = CallbackState::new(attempt_id.clone());
    let attempt = LinkAttempt {
        id: attempt_id.clone(),
        psu_id: psu.id.clone(),
        connector_id: CONNECTOR_ID.to_owned(),
        created_at: Utc::now(),
        status: AttemptStatus::Pending,
        state: state.clone(),
        client_redirect_url: None,
        temporary_token: None,
        error: None,
    };
    let request = CreateUserLinkRequest {
        attempt_id,
        psu: psu.clone(),
        forwarded_user: user.clone(),
        application_name: "powens-cli".to_owned(),
        client_redirect_url: None,
        redirect_url: redirect_url.to_owned(),
        callback_state: state,
        webhook_base_url: None,
    };
    (attempt, request)
}

/// Creates, forwards and links one PSU: the Webview link is opened with redirects off, and
/// the `Location` it answers with is completed as the user's browser would land on it.
async fn link_psu(
    connector: &PowensConnector,
    browser: &WebviewBrowser,
    index: u32,
) -> Result<ForwardedUser, CliError> {
    let psu = psu_named(&format!("psu-{index}"), &format!("Sandbox user {index}"));
    let user = forward(connector, &psu).await?;
    let (attempt, request) = link_request(&psu, &user, REDIRECT_URL);
    let link = connector
        .create_user_link(request)
        .await
        .map_err(|e| failure_of(&format!("cannot create a link for {}", psu.id), &e))?;
    let callback = browser
        .follow(&link.link)
        .await
        .map_err(|e| failure_of("cannot drive the sandbox Webview", &e))?;
    let outcome = connector
        .complete_user_link(CompleteUserLinkRequest {
            call: WebhookEnvelope {
                query_values: callback.query_values,
                ..WebhookEnvelope::default()
            },
            attempt,
        })
        .await
        .map_err(|e| failure_of(&format!("cannot complete the link of {}", psu.id), &e))?;
    match outcome {
        LinkOutcome::Success { .. } => Ok(user),
        LinkOutcome::Error { error, description } => Err(CliError::failure(format!(
            "the link of {} failed: {error}{}",
            psu.id,
            description.map(|d| format!(" ({d})")).unwrap_or_default()
        ))),
    }
}

/// The whole sandbox run.
pub async fn run(args: &SyncArgs) -> Result<(), CliError> {
    if args.psus == 0 {
        return Err(CliError::usage("--psus must be at least 1"));
    }
    let sandbox = start_sandbox(
        args.seed,
        SandboxSize {
            users: 0,
            connections_per_link: 1,
            accounts_per_connection: args.accounts,
            transactions_per_account: args.transactions,
        },
        args.sandbox_profile,
    )
    .await?;
    let page_size = args.page_size.unwrap_or(1000);
    let connector = sandbox_connector(&sandbox, page_size, args.rate_limit)?;
    let browser =
        WebviewBrowser::new().map_err(|e| failure_of("cannot drive the sandbox Webview", &e))?;
    let mut users: Vec<ForwardedUser> = futures::stream::iter(1..=args.psus)
        .map(|index| link_psu(&connector, &browser, index))
        .buffered(8)
        .try_collect()
        .await?;
    let linked = users.len();
    if args.sandbox_profile == Profile::Realistic {
        // A PSU forwarded to Powens who has not linked a bank yet: Powens answers its
        // accounts listing with `400 noAccount`, which must mean "nothing to sync".
        let psu = psu_named("psu-unlinked", "PSU without a bank yet");
        users.push(forward(&connector, &psu).await?);
    }
    if !args.quiet {
        print_line(&format!(
            "sandbox at {} (profile {}): {} PSUs created, {linked} linked",
            sandbox.base_url(),
            args.sandbox_profile,
            users.len()
        ))?;
    }
    let psus: Vec<Arc<ForwardedUser>> = users.iter().cloned().map(Arc::new).collect();
    run_cycle(args, connector, psus, page_size).await?;
    let verdict = verify::against_sandbox(&args.out, &sandbox, &users);
    sandbox.shutdown().await;
    let verdict = verdict?;
    for line in verdict.differences.iter().take(20) {
        eprintln!("differs: {line}");
    }
    if verdict.differences.is_empty() {
        print_line(&format!(
            "verified: {} records match the sandbox",
            verdict.matched
        ))
    } else {
        print_line(&format!(
            "not verified: {} differences between {} and the sandbox ({} records match)",
            verdict.differences.len(),
            args.out.display(),
            verdict.matched
        ))?;
        Err(CliError::reported())
    }
}
