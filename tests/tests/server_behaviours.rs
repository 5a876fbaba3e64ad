//! What a real Powens domain may do that the default sandbox does not: short pages with a next
//! link, rows newest first or interleaved, next links in every form, `400 noAccount`, endless
//! next chains, and maturation in any order over one or several syncs. Each ends equal to the
//! truth (or, for the endless chain, with a typed error after every row was delivered).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use chrono::TimeDelta;
use connector_core::model::PaymentStatus;
use powens_sandbox::{
    Change, MaturationMode, NextLinkForm, RowOrder, SandboxHandle, ServerBehaviour,
};
use rust_decimal::Decimal;
use tests::*;

/// A one-user sandbox (2 accounts of 23 rows) with `behaviour`, a connector with `page_size`,
/// and an engine writing to a ledger.
async fn setup(
    behaviour: ServerBehaviour,
    page_size: u32,
) -> (SandboxHandle, LedgerSink, connector_core::Engine, u64) {
    let sandbox = start_one_user_sandbox(2, 23).await.unwrap();
    sandbox.control().set_behaviour(behaviour);
    let user = sandbox.users()[0].clone();
    let (connector, _clock) = connector_for(&sandbox, page_size).unwrap();
    let sink = LedgerSink::new();
    let engine = memory_engine_for(connector, Arc::new(sink.clone()), &user).unwrap();
    (sandbox, sink, engine, user.id)
}

fn eur_account(sandbox: &SandboxHandle, user: u64) -> u64 {
    sandbox
        .control()
        .truth(user)
        .unwrap()
        .accounts
        .iter()
        .find(|a| a.visible && a.currency == "EUR")
        .expect("a visible EUR account")
        .id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn short_page_with_a_next_link_loses_no_row() {
    // The server serves 4 rows where 10 were asked, and says where the next page starts.
    let behaviour = ServerBehaviour {
        page_cap: Some(4),
        ..ServerBehaviour::default()
    };
    let (sandbox, sink, engine, user) = setup(behaviour, 10).await;
    sync(&engine).await.unwrap();
    let truth = sandbox.control().truth(user).unwrap();
    assert_matches_truth(&sink.snapshot(), &truth);
    // And on the next run (incremental, with new rows), nothing is lost either.
    let account = eur_account(&sandbox, user);
    sandbox.control().advance(TimeDelta::hours(1));
    sandbox
        .control()
        .add_transactions(account, 9, false)
        .unwrap();
    sync(&engine).await.unwrap();
    assert_matches_truth(&sink.snapshot(), &sandbox.control().truth(user).unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn newest_first_and_interleaved_rows_give_the_truth_across_runs() {
    for order in [RowOrder::NewestFirst, RowOrder::Interleaved] {
        let behaviour = ServerBehaviour {
            order,
            page_cap: Some(5),
            ..ServerBehaviour::default()
        };
        let (sandbox, sink, engine, user) = setup(behaviour, 7).await;
        sync(&engine).await.unwrap();
        assert_matches_truth(&sink.snapshot(), &sandbox.control().truth(user).unwrap());
        let control = sandbox.control();
        let account = eur_account(&sandbox, user);
        control.advance(TimeDelta::hours(1));
        control.add_transactions(account, 6, true).unwrap();
        control.add_transactions(account, 4, false).unwrap();
        sync(&engine).await.unwrap();
        assert_matches_truth(&sink.snapshot(), &control.truth(user).unwrap());
        control.advance(TimeDelta::hours(1));
        control
            .apply(Change::MatureComing {
                account_id: account,
                count: 4,
                mode: Some(MaturationMode::Mixed),
            })
            .unwrap();
        sync(&engine).await.unwrap();
        let truth = control.truth(user).unwrap();
        assert!(!truth.replaced.is_empty(), "{order:?}: some rows swapped");
        assert_matches_truth(&sink.snapshot(), &truth);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn next_link_forms_root_relative_absolute_bare_or_absent_all_give_the_truth() {
    for form in [
        NextLinkForm::Absolute,
        NextLinkForm::RootRelative,
        NextLinkForm::BareString,
        NextLinkForm::Absent,
    ] {
        let behaviour = ServerBehaviour {
            next_link: form,
            // A short page is not the last: with links the link says so, without them `total`.
            page_cap: Some(6),
            ..ServerBehaviour::default()
        };
        let (sandbox, sink, engine, user) = setup(behaviour, 10).await;
        sync(&engine).await.unwrap();
        assert_matches_truth(&sink.snapshot(), &sandbox.control().truth(user).unwrap());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_account_user_who_never_linked_a_bank_syncs_nothing_and_fails_no_task() {
    let sandbox = start_one_user_sandbox(1, 1).await.unwrap();
    sandbox.control().set_behaviour(ServerBehaviour {
        no_account_error: true,
        ..ServerBehaviour::default()
    });
    let lonely = sandbox.control().create_user(0);
    let (connector, _clock) = connector_for(&sandbox, 10).unwrap();
    let sink = LedgerSink::new();
    let engine = memory_engine_for(connector, Arc::new(sink.clone()), &lonely).unwrap();
    let summary = sync(&engine).await.unwrap();
    assert_eq!(summary.tasks_failed, 0);
    assert_eq!(summary.records, 0);
    assert_eq!(sink.snapshot().records, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endless_next_chain_ends_the_scan_with_a_typed_error_after_every_row() {
    let behaviour = ServerBehaviour {
        endless_next: true,
        ..ServerBehaviour::default()
    };
    let (sandbox, sink, engine, user) = setup(behaviour, 10).await;
    let summary = engine
        .run_once(&tokio_util::sync::CancellationToken::new())
        .await
        .unwrap();
    assert!(summary.tasks_failed > 0, "the endless chain is an error");
    for failure in &summary.failures {
        assert!(
            failure.error.to_string().contains("endless chain"),
            "{}",
            failure.error
        );
    }
    // Every real row was delivered before the chain was refused.
    let truth = sandbox.control().truth(user).unwrap();
    let ledger = sink.snapshot();
    for tx in &truth.transactions {
        assert!(
            ledger.payments.contains_key(&tx.id.to_string()),
            "{}",
            tx.id
        );
    }
}

/// How the two halves of a swap reach the server, relative to the syncs.
#[derive(Debug, Clone, Copy)]
enum Maturing {
    /// Same id, `coming` flips.
    SameId,
    /// Deleted and posted under a new id in one change.
    ReplacedAtOnce,
    /// Posted in sync k+1, deleted in k+2.
    PostedThenDeleted,
    /// Deleted in sync k+1, posted in k+2.
    DeletedThenPosted,
    /// Deleted, and posted at another amount (a card hold released lower).
    OtherAmount,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn maturation_any_order_ends_swapped_cancelled_or_pending_never_lost() {
    for order in [
        RowOrder::OldestFirst,
        RowOrder::NewestFirst,
        RowOrder::Interleaved,
    ] {
        for maturing in [
            Maturing::SameId,
            Maturing::ReplacedAtOnce,
            Maturing::PostedThenDeleted,
            Maturing::DeletedThenPosted,
            Maturing::OtherAmount,
        ] {
            let behaviour = ServerBehaviour {
                order,
                page_cap: Some(3),
                ..ServerBehaviour::default()
            };
            let (sandbox, sink, engine, user) = setup(behaviour, 4).await;
            let control = sandbox.control();
            let account = eur_account(&sandbox, user);
            sync(&engine).await.unwrap();
            // Sync k: two pending card payments of the same amount, and one other.
            control.advance(TimeDelta::hours(1));
            let pending: Vec<u64> = [-1250, -1250, -999]
                .into_iter()
                .map(|cents| {
                    control
                        .apply(Change::AddTransaction {
                            account_id: account,
                            value: Decimal::new(cents, 2),
                            date: None,
                            coming: true,
                            wording: Some("CB HOTEL".into()),
                        })
                        .unwrap()
                        .created[0]
                })
                .collect();
            sync(&engine).await.unwrap();
            let p = pending[0];
            assert_eq!(
                sink.snapshot().payments[&p.to_string()].status,
                PaymentStatus::Pending
            );
            // Syncs k+1 and k+2.
            control.advance(TimeDelta::hours(1));
            match maturing {
                Maturing::SameId => {
                    control
                        .mature_with(p, MaturationMode::KeepId, None)
                        .unwrap();
                }
                Maturing::ReplacedAtOnce => {
                    control
                        .mature_with(p, MaturationMode::Replace, None)
                        .unwrap();
                }
                Maturing::PostedThenDeleted => {
                    control.post_replacement(p, None).unwrap();
                }
                Maturing::DeletedThenPosted => control.delete_transaction(p).unwrap(),
                Maturing::OtherAmount => {
                    control
                        .mature_with(p, MaturationMode::Replace, Decimal::new(-1100, 2))
                        .unwrap();
                }
            }
            sync(&engine).await.unwrap();
            control.advance(TimeDelta::hours(1));
            match maturing {
                Maturing::PostedThenDeleted => control.delete_transaction(p).unwrap(),
                Maturing::DeletedThenPosted => {
                    control.post_replacement(p, None).unwrap();
                }
                _ => {}
            }
            sync(&engine).await.unwrap();
            let truth = control.truth(user).unwrap();
            let ledger = sink.snapshot();
            let context = format!("{order:?} {maturing:?}");
            assert_matches_truth(&ledger, &truth);
            let reference = p.to_string();
            match maturing {
                Maturing::SameId => assert_eq!(
                    ledger.payments[&reference].status,
                    PaymentStatus::Succeeded,
                    "{context}"
                ),
                Maturing::ReplacedAtOnce
                | Maturing::PostedThenDeleted
                | Maturing::DeletedThenPosted => {
                    let swap = truth
                        .replaced
                        .iter()
                        .find(|r| r.id == p)
                        .unwrap_or_else(|| panic!("{context}: the sandbox swapped {p}"));
                    assert!(
                        ledger.deleted.contains(&reference),
                        "{context}: {p} deleted"
                    );
                    let posted = &ledger.payments[&swap.replaced_by.to_string()];
                    assert_eq!(
                        posted.metadata.get("com.powens.spec/replaces"),
                        Some(reference.as_str()),
                        "{context}: the posted row names the provisional it replaces"
                    );
                }
                Maturing::OtherAmount => {
                    assert!(
                        ledger.cancelled.contains(&reference),
                        "{context}: cancelled"
                    );
                    assert!(!ledger.deleted.contains(&reference), "{context}");
                }
            }
            // The twin pending payment of the same amount is untouched, still pending.
            assert_eq!(
                ledger.payments[&pending[1].to_string()].status,
                PaymentStatus::Pending,
                "{context}"
            );
            assert!(
                !ledger.cancelled.contains(&pending[1].to_string()),
                "{context}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnect_callback_with_only_state_completes_the_renewal() {
    use connector_core::contract::{CompleteUserLinkRequest, OpenBankingFlows};
    use connector_core::openbanking::LinkOutcome;

    let sandbox = start_sandbox(powens_sandbox::SandboxSize {
        users: 0,
        connections_per_link: 1,
        accounts_per_connection: 1,
        transactions_per_account: 3,
    })
    .await
    .unwrap();
    let (connector, _clock) = connector_for(&sandbox, 10).unwrap();
    let psu = psu("psu-renew");
    let forwarded = forward_psu(&connector, &psu).await.unwrap();
    let LinkOutcome::Success { connections } =
        link_psu(&connector, &psu, &forwarded).await.unwrap()
    else {
        panic!("link failed");
    };
    sandbox.control().set_behaviour(ServerBehaviour {
        reconnect_state_only: true,
        ..ServerBehaviour::default()
    });
    let attempt = link_attempt(&psu, "attempt-renew");
    let connection = connection_of(&connections[0]);
    let link = connector
        .update_user_link(link_request(&psu, &forwarded, &attempt), connection)
        .await
        .unwrap();
    let location = follow_webview(&link.link).await.unwrap();
    let names: Vec<String> = url::Url::parse(&location)
        .unwrap()
        .query_pairs()
        .map(|(k, _)| k.into_owned())
        .collect();
    assert_eq!(names, ["state"], "{location}");
    let outcome = connector
        .complete_update_user_link(CompleteUserLinkRequest {
            call: callback_envelope(&location).unwrap(),
            attempt,
        })
        .await
        .unwrap();
    assert!(
        matches!(&outcome, LinkOutcome::Success { connections } if connections.is_empty()),
        "{outcome:?}"
    );
}
