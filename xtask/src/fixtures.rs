//! `cargo xtask fixtures refresh [--check]`: records Powens responses into test fixtures.
//!
//! * With `POWENS_DOMAIN`, `POWENS_CLIENT_ID`, `POWENS_CLIENT_SECRET` and `POWENS_USER_TOKEN`:
//!   from that live domain, scrubbed ([`crate::scrub`]), into `tests/fixtures/live/`.
//! * Otherwise: from a freshly started sandbox (seed 7), into `tests/fixtures/sandbox/`.
//!
//! `--check` writes nothing: it fails when what it would write differs from the committed
//! files, and names the command that fixes it.

use std::path::{Path, PathBuf};

use powens_sandbox::{Sandbox, SandboxSize};
use serde_json::Value;

use crate::scrub::Scrubber;

/// Where the fixtures come from.
enum Source {
    Live {
        endpoint: String,
        user_token: String,
    },
    Sandbox,
}

fn source() -> Result<Source, String> {
    let names = [
        "POWENS_DOMAIN",
        "POWENS_CLIENT_ID",
        "POWENS_CLIENT_SECRET",
        "POWENS_USER_TOKEN",
    ];
    let values: Vec<Option<String>> = names
        .iter()
        .map(|n| std::env::var(n).ok().filter(|v| !v.trim().is_empty()))
        .collect();
    if values.iter().all(Option::is_none) {
        return Ok(Source::Sandbox);
    }
    let missing: Vec<&str> = names
        .iter()
        .zip(&values)
        .filter(|(_, v)| v.is_none())
        .map(|(n, _)| *n)
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "live refresh needs {} too (or unset all four to refresh from the sandbox)",
            missing.join(", ")
        ));
    }
    let domain = values[0].clone().unwrap_or_default();
    let host = domain
        .trim()
        .trim_start_matches("https://")
        .trim_end_matches('/');
    let host = if host.contains('.') {
        host.to_owned()
    } else {
        format!("{host}.biapi.pro")
    };
    Ok(Source::Live {
        endpoint: format!("https://{host}/2.0"),
        user_token: values[3].clone().unwrap_or_default(),
    })
}

/// The fixture files of one refresh: relative path → pretty JSON text.
type Files = Vec<(PathBuf, String)>;

async fn get_json(
    client: &reqwest::Client,
    url: &str,
    token: Option<&str>,
) -> Result<Value, String> {
    let mut request = client.get(url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request
        .send()
        .await
        .map_err(|e| format!("GET {url}: {e}"))?;
    let status = response.status();
    let bytes = response
        .bytes()
        .await
        .map_err(|e| format!("GET {url}: {e}"))?;
    if !status.is_success() {
        let excerpt: String = String::from_utf8_lossy(&bytes).chars().take(200).collect();
        return Err(format!("GET {url}: HTTP {status}: {excerpt}"));
    }
    serde_json::from_slice(&bytes).map_err(|e| format!("GET {url}: not JSON: {e}"))
}

fn pretty(value: &Value) -> Result<String, String> {
    serde_json::to_string_pretty(value)
        .map(|s| s + "\n")
        .map_err(|e| e.to_string())
}

async fn record(
    endpoint: &str,
    token: &str,
    mut scrubber: Scrubber,
    dir: &str,
) -> Result<Files, String> {
    let client = reqwest::Client::builder()
        .build()
        .map_err(|e| format!("cannot build an HTTP client: {e}"))?;
    let mut accounts = get_json(
        &client,
        &format!("{endpoint}/users/me/accounts"),
        Some(token),
    )
    .await?;
    let mut page = get_json(
        &client,
        &format!("{endpoint}/users/me/transactions?limit=25&all"),
        Some(token),
    )
    .await?;
    let mut currencies = get_json(&client, &format!("{endpoint}/currencies"), None).await?;
    scrubber.scrub(&mut accounts);
    scrubber.scrub(&mut page);
    scrubber.scrub(&mut currencies);
    let dir = PathBuf::from(dir);
    Ok(vec![
        (dir.join("accounts.json"), pretty(&accounts)?),
        (dir.join("transactions_page.json"), pretty(&page)?),
        (dir.join("currencies.json"), pretty(&currencies)?),
    ])
}

async fn regenerate() -> Result<Files, String> {
    match source()? {
        Source::Live {
            endpoint,
            user_token,
        } => {
            let host = endpoint.trim_end_matches("/2.0").to_owned();
            record(
                &endpoint,
                &user_token,
                Scrubber::new(vec![host]),
                "tests/fixtures/live",
            )
            .await
        }
        Source::Sandbox => {
            let sandbox = Sandbox::builder()
                .seed(7)
                .size(SandboxSize {
                    users: 1,
                    connections_per_link: 1,
                    accounts_per_connection: 3,
                    transactions_per_account: 20,
                })
                .start()
                .await
                .map_err(|e| format!("cannot start the sandbox: {e}"))?;
            let token = sandbox
                .users()
                .first()
                .map(|u| u.token.clone())
                .ok_or("the sandbox created no user")?;
            // Sandbox data is made up: only the loopback host (its port changes) is rewritten.
            let files = record(
                &sandbox.api_url(),
                &token,
                Scrubber::hosts_only(vec![sandbox.base_url().to_owned()]),
                "tests/fixtures/sandbox",
            )
            .await;
            sandbox.shutdown().await;
            files
        }
    }
}

/// Runs the refresh (or the check) from the workspace root `root`.
pub fn refresh(root: &Path, check: bool) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start tokio: {e}"))?;
    let files = runtime.block_on(regenerate())?;
    let mut stale = Vec::new();
    for (path, text) in &files {
        let full = root.join(path);
        let current = std::fs::read_to_string(&full).ok();
        if current.as_deref() == Some(text.as_str()) {
            continue;
        }
        if check {
            stale.push(path.display().to_string());
        } else {
            if let Some(parent) = full.parent() {
                std::fs::create_dir_all(parent)
                    .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
            }
            std::fs::write(&full, text)
                .map_err(|e| format!("cannot write {}: {e}", full.display()))?;
            println!("wrote {}", path.display());
        }
    }
    if !stale.is_empty() {
        return Err(format!(
            "fixtures differ from what the source produces now: {}; run `cargo xtask fixtures refresh` and commit the result",
            stale.join(", ")
        ));
    }
    if check {
        println!("fixtures are up to date ({} files)", files.len());
    }
    Ok(())
}
