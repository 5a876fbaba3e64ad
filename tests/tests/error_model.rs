//! One error model end to end: what the Powens client classed reaches the engine with its
//! status, its class and its cause, and HTTP retries happen once, in the client.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::error::Error as _;
use std::sync::Arc;

use connector_core::openbanking::Token;
use connector_core::{ConnectorError, RetryClass, UpstreamClass};
use powens_sandbox::{Fault, FaultRoute, FaultRule, SandboxSize};
use secrecy::SecretString;
use tests::*;
use tokio_util::sync::CancellationToken;

fn one_account() -> SandboxSize {
    SandboxSize {
        users: 1,
        connections_per_link: 1,
        accounts_per_connection: 1,
        transactions_per_account: 30,
    }
}

/// The client's policy in these tests ([`test_retry_policy`]): 4 attempts, so 3 waits.
const CLIENT_WAITS_PER_CALL: usize = 3;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_persistent_503_gets_the_client_attempts_once_not_again_per_task_attempt() {
    let sandbox = start_sandbox(one_account()).await.unwrap();
    let control = sandbox.control();
    let user = sandbox.users()[0].clone();
    control.inject_fault(
        FaultRule::new(
            FaultRoute::Transactions,
            1,
            Fault::ServerError { status: 503 },
        )
        .times(1_000),
    );
    let (connector, clock) = connector_for(&sandbox, 10).unwrap();
    let sink = LedgerSink::new();
    let engine = memory_engine_for(connector, Arc::new(sink.clone()), &user).unwrap();
    assert!(
        engine_config().task_attempts.get() > 1,
        "the engine may retry"
    );

    let summary = engine.run_once(&CancellationToken::new()).await.unwrap();

    assert!(summary.tasks_failed >= 1, "{summary:?}");
    for failure in &summary.failures {
        assert!(
            matches!(
                failure.error,
                ConnectorError::Upstream {
                    status: Some(503),
                    class: UpstreamClass::Transient,
                    ..
                }
            ),
            "{}",
            failure.error
        );
        assert_eq!(failure.error.retry_class(), RetryClass::NextRun);
    }
    // Every wait of the run is one of the client's backoffs: 4 attempts per failed task, not
    // 4 per task attempt (3 × 4 with the engine's retries, and the engine's own waits).
    assert_eq!(
        clock.sleeps().len(),
        CLIENT_WAITS_PER_CALL * summary.failures.len(),
        "{:?}",
        clock.sleeps()
    );

    // The next run resumes once Powens is back.
    control.clear_faults();
    sync(&engine).await.unwrap();
    assert_matches_truth(&sink.snapshot(), &control.truth(user.id).unwrap());
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_token_fails_once_with_the_powens_code_and_request_id_down_the_source_chain() {
    let sandbox = start_sandbox(one_account()).await.unwrap();
    let user = sandbox.users()[0].clone();
    let (connector, clock) = connector_for(&sandbox, 10).unwrap();
    let mut forwarded = seeded_user(&user);
    forwarded.access_token = Some(Token::new(SecretString::from("revoked-token"), None));
    let engine = engine_for(
        connector,
        Arc::new(connector_core::state::MemoryStateStore::new()),
        Arc::new(LedgerSink::new()),
        vec![forwarded],
    )
    .unwrap();

    let summary = engine.run_once(&CancellationToken::new()).await.unwrap();

    // The accounts task and the connection events each call Powens once and fail for good.
    assert_eq!(summary.failures.len(), 2, "{summary:?}");
    for failure in &summary.failures {
        assert!(
            matches!(
                failure.error,
                ConnectorError::Upstream {
                    status: Some(401),
                    class: UpstreamClass::Permanent,
                    ..
                }
            ),
            "{}",
            failure.error
        );
        assert!(!failure.error.is_retryable());
    }
    let error = &summary.failures[0].error;
    assert!(clock.sleeps().is_empty(), "retried by nobody");
    // ConnectorError → powens_api::Error → the Powens code and request id.
    let cause = error
        .source()
        .and_then(|source| source.downcast_ref::<powens_api::Error>())
        .expect("the powens-api error is the source");
    assert_eq!(cause.status(), Some(401));
    assert_eq!(
        cause.api_code().map(|code| code.as_str()),
        Some("invalidToken")
    );
    let request_id = cause.request_id().expect("the sandbox sends a request id");
    assert!(
        !request_id.is_empty() && request_id.bytes().all(|b| b.is_ascii_digit()),
        "{request_id}"
    );
    assert!(
        error
            .to_string()
            .contains(&format!("[request id {request_id}]")),
        "{error}"
    );
    assert!(!error.to_string().contains("revoked-token"), "{error}");
    sandbox.shutdown().await;
}
