//! Consent expiry: a connection whose consent ends within the horizon is a pending
//! disconnect; the reconnect link renews it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::TimeDelta;
use connector_core::contract::{CompleteUserLinkRequest, OpenBankingFlows};
use connector_core::model::Record;
use connector_core::openbanking::LinkOutcome;
use powens_sandbox::SandboxSize;
use tests::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consent_expiring_within_the_horizon_is_a_pending_disconnect_and_reconnect_renews_it() {
    let sandbox = start_sandbox(SandboxSize {
        users: 0,
        connections_per_link: 1,
        accounts_per_connection: 1,
        transactions_per_account: 5,
    })
    .await
    .unwrap();
    let control = sandbox.control();
    let (connector, _clock) = connector_for(&sandbox, 10).unwrap();
    let psu = psu("psu-consent");
    let forwarded = forward_psu(&connector, &psu).await.unwrap();
    let LinkOutcome::Success { connections } =
        link_psu(&connector, &psu, &forwarded).await.unwrap()
    else {
        panic!("link failed");
    };
    let soon: u64 = connections[0].connection_id.parse().unwrap();
    let later: u64 = connections[1].connection_id.parse().unwrap();
    let now = control.now();
    control
        .set_connection_expire(soon, Some(now + TimeDelta::days(3)))
        .unwrap();
    control
        .set_connection_expire(later, Some(now + TimeDelta::days(30)))
        .unwrap();
    control.set_connection_state(later, None).unwrap();
    control.set_connection_state(soon, None).unwrap();

    // Within the 7-day horizon: pending disconnect at the expiry; 30 days out: nothing.
    let events = connector.connection_events(&forwarded).await.unwrap();
    let pending: Vec<_> = events
        .iter()
        .filter_map(|r| match r {
            Record::UserConnectionPendingDisconnect(p) => Some(p),
            _ => None,
        })
        .collect();
    assert_eq!(pending.len(), 1, "{events:?}");
    assert_eq!(pending[0].connection_id, soon.to_string());
    assert_eq!(pending[0].at, paris_to_utc(now + TimeDelta::days(3)));

    // The reconnect link renews the consent.
    let attempt = link_attempt(&psu, "attempt-renew");
    let connection = connection_of(&connections[0]);
    let link = connector
        .update_user_link(link_request(&psu, &forwarded, &attempt), connection)
        .await
        .unwrap();
    let url = url::Url::parse(&link.link).unwrap();
    assert_eq!(url.path(), "/fr/reconnect");
    assert!(url
        .query_pairs()
        .any(|(k, v)| k == "connection_id" && v == soon.to_string()));
    let location = follow_webview(&link.link).await.unwrap();
    let outcome = connector
        .complete_update_user_link(CompleteUserLinkRequest {
            call: callback_envelope(&location).unwrap(),
            attempt,
        })
        .await
        .unwrap();
    assert!(
        matches!(outcome, LinkOutcome::Success { .. }),
        "{outcome:?}"
    );
    let events = connector.connection_events(&forwarded).await.unwrap();
    assert!(
        !events
            .iter()
            .any(|r| matches!(r, Record::UserConnectionPendingDisconnect(_))),
        "renewed: {events:?}"
    );
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consent_expiry_polling_every_cycle_delivers_pending_disconnects_and_disconnections_to_the_sink(
) {
    let sandbox = start_one_user_sandbox(1, 5).await.unwrap();
    let control = sandbox.control();
    let user = sandbox.users()[0].clone();
    let connection = user.connection_ids[0];
    let now = control.now();
    control
        .set_connection_expire(connection, Some(now + TimeDelta::days(3)))
        .unwrap();
    control.set_connection_state(connection, None).unwrap();
    let (connector, _clock) = connector_for(&sandbox, 10).unwrap();
    let sink = std::sync::Arc::new(MemorySink::default());
    let engine = memory_engine_for(connector, sink.clone(), &user).unwrap();
    let psu = format!("psu-{}", user.id);

    // A polling-only user hears about the consent ending, from the engine's own cycle.
    sync(&engine).await.unwrap();
    let pending: Vec<_> = sink
        .records()
        .into_iter()
        .filter_map(|r| match r {
            Record::UserConnectionPendingDisconnect(p) => Some(p),
            _ => None,
        })
        .collect();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].connection_id, connection.to_string());
    assert_eq!(pending[0].at, paris_to_utc(now + TimeDelta::days(3)));
    assert_eq!(pending[0].psu_id.as_deref(), Some(psu.as_str()));

    // Every cycle: the next one reports it again, with a disconnection once the bank asks
    // for SCA.
    control
        .set_connection_state(connection, Some("SCARequired"))
        .unwrap();
    let before = sink.records().len();
    sync(&engine).await.unwrap();
    let events: Vec<String> = sink.records()[before..]
        .iter()
        .filter_map(|r| match r {
            Record::UserConnectionPendingDisconnect(p) => {
                Some(format!("pending {} {:?}", p.connection_id, p.psu_id))
            }
            Record::UserConnectionDisconnected(d) => {
                Some(format!("disconnected {} {:?}", d.connection_id, d.psu_id))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        events,
        [
            format!("disconnected {connection} Some({psu:?})"),
            format!("pending {connection} Some({psu:?})"),
        ]
    );
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consent_check_also_reports_connections_in_error() {
    let sandbox = start_one_user_sandbox(1, 5).await.unwrap();
    let control = sandbox.control();
    let user = sandbox.users()[0].clone();
    let (connector, _clock) = connector_for(&sandbox, 10).unwrap();
    let connection = user.connection_ids[0];
    control.set_connection_expire(connection, None).unwrap();
    control
        .set_connection_state(connection, Some("SCARequired"))
        .unwrap();
    let events = connector
        .connection_events(&seeded_user(&user))
        .await
        .unwrap();
    match events.as_slice() {
        [Record::UserConnectionDisconnected(d)] => {
            assert_eq!(d.connection_id, connection.to_string());
            assert_eq!(d.error_type.as_str(), "USER_ACTION_NEEDED");
            assert_eq!(d.psp_user_id.as_deref(), Some(user.id.to_string().as_str()));
        }
        other => panic!("expected one disconnection, got {other:?}"),
    }
    sandbox.shutdown().await;
}
