//! The PSU and link flows against the sandbox: forward, link, Webview, callback, sync; and
//! the refusals (CSRF state, redirect URL rules, transfers).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use connector_core::contract::{CompleteUserLinkRequest, OpenBankingFlows};
use connector_core::model::Capability;
use connector_core::openbanking::{CallbackState, LinkOutcome};
use connector_core::state::MemoryStateStore;
use connector_core::{Connector, ConnectorError};
use connector_powens::{EXPIRES_IN_METADATA_KEY, USER_ID_METADATA_KEY};
use powens_sandbox::SandboxSize;
use tests::*;

fn small() -> SandboxSize {
    SandboxSize {
        users: 0,
        connections_per_link: 1,
        accounts_per_connection: 2,
        transactions_per_account: 30,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn link_flow_forwards_the_psu_follows_the_webview_and_syncs_the_linked_connections() {
    let sandbox = start_sandbox(small()).await.unwrap();
    let (connector, _clock) = connector_for(&sandbox, 50).unwrap();
    let psu = psu("psu-link");

    // Installed first: the sandbox signs CONNECTION_SYNCED with the provider install made.
    let receiver = WebhookReceiver::start().await.unwrap();
    let webhook_sink = LedgerSink::new();
    let webhook_engine = Arc::new(
        engine_for(
            connector.clone(),
            Arc::new(MemoryStateStore::new()),
            Arc::new(webhook_sink.clone()),
            Vec::new(),
        )
        .unwrap(),
    );
    let configs = webhook_engine
        .install(&format!("{}/webhooks/c1", receiver.url))
        .await
        .unwrap();
    let synced = configs
        .iter()
        .find(|c| c.name == "CONNECTION_SYNCED")
        .unwrap();
    sandbox.control().register_webhook(
        powens_sandbox::WebhookEvent::ConnectionSynced,
        synced.full_url.clone().unwrap(),
    );

    // Forward: a Powens user with a permanent token and the PSU metadata, recorded in the
    // engine's PSU directory so that webhooks about this user reach this PSU.
    let forwarded = webhook_engine.forward_user(&psu).await.unwrap();
    let user_id: u64 = forwarded.psp_user_id.as_deref().unwrap().parse().unwrap();
    // Under the spec's keys exactly, and their namespaced copies.
    assert_eq!(USER_ID_METADATA_KEY, "user_id");
    assert_eq!(EXPIRES_IN_METADATA_KEY, "expires_in");
    for key in [USER_ID_METADATA_KEY, "com.powens.spec/user_id"] {
        assert_eq!(
            forwarded.metadata.get(key),
            Some(&user_id.to_string()),
            "{key}"
        );
    }
    assert_eq!(
        forwarded
            .metadata
            .get("com.powens.spec/expires_in")
            .map(String::as_str),
        Some("0")
    );
    assert_eq!(
        forwarded
            .metadata
            .get(EXPIRES_IN_METADATA_KEY)
            .map(String::as_str),
        Some("0")
    );
    assert!(forwarded.access_token.is_some());
    assert!(
        !format!("{forwarded:?}").contains(secrecy::ExposeSecret::expose_secret(
            forwarded.access_token.as_ref().unwrap().secret()
        ))
    );

    // Link: the Webview URL names the domain, client, language, cap and redirect.
    let attempt = link_attempt(&psu, "attempt-1");
    let link = connector
        .create_user_link(link_request(&psu, &forwarded, &attempt))
        .await
        .unwrap();
    let url = url::Url::parse(&link.link).unwrap();
    assert_eq!(url.path(), "/fr/connect");
    let query: std::collections::BTreeMap<String, String> =
        url.query_pairs().into_owned().collect();
    assert_eq!(query.get("max_connections").map(String::as_str), Some("2"));
    assert_eq!(
        query.get("redirect_uri").map(String::as_str),
        Some(REDIRECT_URL)
    );
    assert_eq!(
        query.get("client_id"),
        Some(&sandbox.credentials().client_id)
    );
    assert_eq!(query.get("state"), Some(&attempt.state.encode()));
    assert!(link.temporary_link_token.is_some());
    assert!(!format!("{link:?}").contains(query.get("code").unwrap()));
    assert!(link
        .link
        .contains("redirect_uri=http%3A%2F%2F127.0.0.1%3A1%2Fpowens%2Fcallback"));

    // The user goes through the Webview and comes back.
    let location = follow_webview(&link.link).await.unwrap();
    assert!(location.starts_with(REDIRECT_URL), "{location}");
    let outcome = connector
        .complete_user_link(CompleteUserLinkRequest {
            call: callback_envelope(&location).unwrap(),
            attempt: attempt.clone(),
        })
        .await
        .unwrap();
    let LinkOutcome::Success { connections } = outcome else {
        panic!("expected a success, got {outcome:?}");
    };
    let truth = sandbox.control().truth(user_id).unwrap();
    let mut linked: Vec<String> = connections
        .iter()
        .map(|c| c.connection_id.clone())
        .collect();
    linked.sort();
    let mut expected: Vec<String> = truth.connections.iter().map(|c| c.id.to_string()).collect();
    expected.sort();
    assert_eq!(linked, expected);
    assert_eq!(
        linked.len(),
        2,
        "max_connections = maxConnectionsPerLink = 2"
    );

    // CONNECTION_SYNCED of each new connection: verified, read once, translated → records.
    sandbox.control().wait_for_webhooks().await;
    let inbox = webhook_engine.webhook_inbox();
    let received = receiver.received();
    assert_eq!(
        received.len(),
        2,
        "one CONNECTION_SYNCED per linked connection"
    );
    for webhook in received {
        let config =
            connector_powens::webhooks::config_for_request_path(&configs, &webhook.path).unwrap();
        inbox.receive(config, webhook.envelope).await.unwrap();
    }
    webhook_engine.triggered_syncs_idle().await;
    let pushed = webhook_sink.snapshot();
    let visible: std::collections::BTreeSet<u64> = truth
        .accounts
        .iter()
        .filter(|a| a.visible && expected_precision(a).is_some())
        .map(|a| a.id)
        .collect();
    let expected: std::collections::BTreeSet<String> = truth
        .transactions
        .iter()
        .filter(|t| visible.contains(&t.account_id))
        .map(|t| t.id.to_string())
        .collect();
    let got: std::collections::BTreeSet<String> = pushed
        .live_payments()
        .map(|p| p.reference.clone())
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(got, expected, "the first push carries the whole history");
    for t in &truth.transactions {
        if let Some(p) = pushed.payments.get(&t.id.to_string()) {
            let pending = p.status == connector_core::model::PaymentStatus::Pending;
            assert_eq!(pending, t.coming, "status of {}", t.id);
        }
    }

    // The linked connections sync to the truth by polling too.
    let sink = LedgerSink::new();
    let engine = engine_for(
        connector.clone(),
        Arc::new(MemoryStateStore::new()),
        Arc::new(sink.clone()),
        vec![forwarded.clone()],
    )
    .unwrap();
    sync(&engine).await.unwrap();
    let ledger = sink.snapshot();
    assert!(!ledger.accounts.is_empty());
    assert_matches_truth(&ledger, &truth);
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn link_callback_with_another_attempts_state_is_refused_as_csrf() {
    let sandbox = start_sandbox(small()).await.unwrap();
    let (connector, _clock) = connector_for(&sandbox, 50).unwrap();
    let psu = psu("psu-csrf");
    let forwarded = forward_psu(&connector, &psu).await.unwrap();
    let attempt = link_attempt(&psu, "attempt-1");
    let link = connector
        .create_user_link(link_request(&psu, &forwarded, &attempt))
        .await
        .unwrap();
    let location = follow_webview(&link.link).await.unwrap();

    // Same attempt id, another nonce: refused.
    let mut other = attempt.clone();
    other.state = CallbackState::new("attempt-1");
    let error = connector
        .complete_user_link(CompleteUserLinkRequest {
            call: callback_envelope(&location).unwrap(),
            attempt: other,
        })
        .await
        .unwrap_err();
    assert!(
        matches!(error, ConnectorError::InvalidRequest { .. }),
        "{error}"
    );
    assert!(error.to_string().contains("CSRF"), "{error}");

    // No state at all: refused.
    let mut call = callback_envelope(&location).unwrap();
    call.query_values.remove("state");
    let error = connector
        .complete_user_link(CompleteUserLinkRequest { call, attempt })
        .await
        .unwrap_err();
    assert!(error.to_string().contains("no `state`"), "{error}");
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn link_denied_in_the_webview_is_a_typed_error_outcome() {
    let sandbox = start_sandbox(small()).await.unwrap();
    let (connector, _clock) = connector_for(&sandbox, 50).unwrap();
    let psu = psu("psu-denied");
    let forwarded = forward_psu(&connector, &psu).await.unwrap();
    sandbox
        .control()
        .deny_webview(Some("the user cancelled".into()));
    let outcome = link_psu(&connector, &psu, &forwarded).await.unwrap();
    match outcome {
        LinkOutcome::Error { error, description } => {
            assert_eq!(error, "access_denied");
            assert_eq!(description.as_deref(), Some("the user cancelled"));
        }
        other => panic!("expected an error outcome, got {other:?}"),
    }
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn link_redirect_url_must_be_absolute_https_unless_loopback_and_without_query() {
    let sandbox = start_sandbox(small()).await.unwrap();
    let (connector, _clock) = connector_for(&sandbox, 50).unwrap();
    let psu = psu("psu-redirect");
    let forwarded = forward_psu(&connector, &psu).await.unwrap();
    let attempt = link_attempt(&psu, "attempt-1");
    for bad in [
        "/relative/callback",
        "http://example.com/callback",
        "https://example.com/callback?next=1",
        "ftp://example.com/callback",
    ] {
        let mut request = link_request(&psu, &forwarded, &attempt);
        request.redirect_url = bad.into();
        let error = connector.create_user_link(request).await.unwrap_err();
        match &error {
            ConnectorError::Validation { field, .. } => assert_eq!(field, "redirectURL"),
            other => panic!("{bad}: expected a validation error, got {other}"),
        }
    }
    let mut request = link_request(&psu, &forwarded, &attempt);
    request.redirect_url = "https://example.com/callback".into();
    connector.create_user_link(request).await.unwrap();
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn link_then_delete_connection_and_user_at_powens() {
    let sandbox = start_sandbox(small()).await.unwrap();
    let (connector, _clock) = connector_for(&sandbox, 50).unwrap();
    let psu = psu("psu-delete");
    let forwarded = forward_psu(&connector, &psu).await.unwrap();
    let LinkOutcome::Success { connections } =
        link_psu(&connector, &psu, &forwarded).await.unwrap()
    else {
        panic!("link failed");
    };
    let user_id: u64 = forwarded.psp_user_id.as_deref().unwrap().parse().unwrap();
    connector
        .delete_user_connection(&psu, &forwarded, &connections[0])
        .await
        .unwrap();
    let truth = sandbox.control().truth(user_id).unwrap();
    assert_eq!(truth.connections.len(), connections.len() - 1);
    connector.delete_user(&psu, &forwarded).await.unwrap();
    assert!(
        sandbox.control().truth(user_id).is_err(),
        "the user is gone"
    );
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn link_less_operations_transfers_and_payouts_are_not_supported() {
    let sandbox = start_sandbox(small()).await.unwrap();
    let (connector, _clock) = connector_for(&sandbox, 50).unwrap();
    let error = connector.create_transfer().unwrap_err();
    assert!(matches!(
        error,
        ConnectorError::NotSupported {
            capability: Some(Capability::CreateTransfer),
            ..
        }
    ));
    assert!(connector.create_payout().is_err());
    assert!(!connector
        .capabilities()
        .contains(&Capability::CreateTransfer));
    sandbox.shutdown().await;
}
