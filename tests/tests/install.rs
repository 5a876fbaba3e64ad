//! Install and uninstall against the sandbox: one `hmac_signature` auth provider named after
//! the connector, webhook configs carrying its secret, re-install without duplicates,
//! uninstall removing it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use connector_core::model::TaskType;
use connector_core::state::MemoryStateStore;
use connector_core::Connector;
use connector_powens::auth_provider_name;
use powens_sandbox::SandboxSize;
use tests::*;

const BASE: &str = "https://payments.example/api/payments/v3/connectors/webhooks/c1";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reinstall_keeps_secret_install_creates_one_named_provider_reinstall_reuses_it_uninstall_deletes_it(
) {
    let sandbox = start_sandbox(SandboxSize::default()).await.unwrap();
    let (connector, _clock) = connector_for(&sandbox, 10).unwrap();
    let client = connector.client().clone();
    let token = connector.config().configuration_token.clone();
    let name = auth_provider_name("sandbox-powens");
    assert!(
        name.len() <= 32 && name.chars().all(|c| c.is_ascii_alphanumeric()),
        "{name}"
    );

    // The tree of the spec, except FETCH_EXTERNAL_ACCOUNTS: the payments scan delivers the
    // counterparties; install itself calls nothing.
    let tree = connector.install().unwrap();
    let kinds: Vec<TaskType> = tree.iter().map(|n| n.task_type).collect();
    assert_eq!(
        kinds,
        vec![
            TaskType::FetchAccounts,
            TaskType::FetchBalances,
            TaskType::FetchPayments,
            TaskType::CreateWebhooks
        ]
    );

    let engine = engine_for(
        connector.clone(),
        Arc::new(MemoryStateStore::new()),
        Arc::new(LedgerSink::new()),
        Vec::new(),
    )
    .unwrap();
    let configs = engine.install(BASE).await.unwrap();
    let names: Vec<&str> = configs.iter().map(|c| c.name.as_str()).collect();
    assert!(
        names.contains(&"CONNECTION_SYNCED") && names.contains(&"USER_DELETED"),
        "{names:?}"
    );
    let secret = configs[0].metadata.get("secret").cloned().unwrap();
    assert!(engine
        .stored_webhook_configs()
        .await
        .unwrap()
        .iter()
        .all(|c| c.metadata.get("secret") == Some(&secret)));
    for config in &configs {
        assert_eq!(config.metadata.get("secret"), Some(&secret));
        assert_eq!(
            config.full_url.as_deref(),
            Some(format!("{BASE}{}", config.url_path).as_str())
        );
        assert!(
            !format!("{config:?}").contains(&secret),
            "Debug hides the secret"
        );
    }
    let named = |list: powens_api::webhooks_auth::AuthProvidersList| {
        list.authproviders
            .into_iter()
            .filter(|p| p.name.as_deref() == Some(name.as_str()))
            .count()
    };
    assert_eq!(named(client.list_webhook_auths(&token).await.unwrap()), 1);

    // Install registers the events of the spec, USER_SYNCED included.
    let defaults: Vec<&str> = connector_powens::webhooks::default_routes()
        .map(|r| r.event)
        .collect();
    assert_eq!(names, defaults);
    assert_eq!(names.len(), 5);
    assert!(names.contains(&"USER_SYNCED") && names.contains(&"CONNECTION_PENDING_DISCONNECT"));

    // Re-install: the same provider and the same secret (the engine stored the configs), so
    // the URLs registered in the Powens console keep verifying; a new base URL is taken.
    let providers = client.list_webhook_auths(&token).await.unwrap();
    let again = engine.install(&format!("{BASE}/v2")).await.unwrap();
    assert_eq!(client.list_webhook_auths(&token).await.unwrap(), providers);
    assert!(again
        .iter()
        .all(|c| c.metadata.get("secret") == Some(&secret)));
    assert!(again[0]
        .full_url
        .as_deref()
        .unwrap()
        .starts_with(&format!("{BASE}/v2/")));
    assert_eq!(engine.stored_webhook_configs().await.unwrap(), again);

    // Uninstall: gone, stored configs forgotten; a second uninstall is harmless; installing
    // again creates a provider with a new secret.
    engine.uninstall(again).await.unwrap();
    assert_eq!(named(client.list_webhook_auths(&token).await.unwrap()), 0);
    assert!(engine.stored_webhook_configs().await.unwrap().is_empty());
    engine.uninstall(Vec::new()).await.unwrap();
    let fresh = engine.install(BASE).await.unwrap();
    assert_eq!(named(client.list_webhook_auths(&token).await.unwrap()), 1);
    assert_ne!(fresh[0].metadata.get("secret"), Some(&secret));
    sandbox.shutdown().await;
}
