//! The whole polling loop as a property: random bank changes (new pending and posted rows,
//! maturation by the same id or by a new id, at once or split over syncs, at the same or
//! another amount, deletions, balance updates), applied between syncs and in the middle of
//! scans, under a random server behaviour (row order, page cap, next-link form) and page
//! size. After a final quiet sync the records equal the truth: no row lost, no phantom
//! payment, every provisional swapped, cancelled or still pending as the bank says.
//!
//! 200 cases by default; `POWENS_PROPERTY_CASES=N` runs more.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use chrono::TimeDelta;
use powens_sandbox::{
    Change, MaturationMode, NextLinkForm, PageScope, RowOrder, SandboxControl, ServerBehaviour,
    Trigger,
};
use proptest::prelude::*;
use rust_decimal::Decimal;
use tests::*;

/// One step of a scenario; `pick` chooses among the rows that exist when it runs.
#[derive(Debug, Clone)]
enum Step {
    AddPending {
        cents: i64,
    },
    AddPosted {
        count: u32,
    },
    Mature {
        pick: usize,
        replace: bool,
        other_amount: bool,
    },
    PostReplacement {
        pick: usize,
    },
    Delete {
        pick: usize,
        pending: bool,
    },
    SetBalance {
        cents: i64,
    },
    Sync,
    /// A sync during which `change` is applied right after the first page of the account's
    /// listing is served (every sync reads at least one; later pages may follow, depending
    /// on the page size, the page cap and the rows changed).
    SyncWithChangeMidScan {
        change: Box<Step>,
    },
}

fn change_step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => prop::sample::select(vec![-1250i64, -1250, -999, 2000]).prop_map(|cents| Step::AddPending { cents }),
        2 => (1u32..4).prop_map(|count| Step::AddPosted { count }),
        3 => (any::<usize>(), any::<bool>(), prop::bool::weighted(0.2)).prop_map(|(pick, replace, other_amount)| Step::Mature { pick, replace, other_amount }),
        2 => any::<usize>().prop_map(|pick| Step::PostReplacement { pick }),
        2 => (any::<usize>(), prop::bool::weighted(0.7)).prop_map(|(pick, pending)| Step::Delete { pick, pending }),
        1 => (-5000i64..5000).prop_map(|cents| Step::SetBalance { cents }),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => change_step(),
        2 => Just(Step::Sync),
        2 => change_step().prop_map(|change| Step::SyncWithChangeMidScan { change: Box::new(change) }),
    ]
}

fn behaviour() -> impl Strategy<Value = ServerBehaviour> {
    (
        prop::sample::select(vec![
            RowOrder::OldestFirst,
            RowOrder::NewestFirst,
            RowOrder::Interleaved,
        ]),
        prop::option::of(1u32..8),
        prop::sample::select(vec![
            NextLinkForm::Absolute,
            NextLinkForm::RootRelative,
            NextLinkForm::BareString,
            NextLinkForm::Absent,
        ]),
    )
        .prop_map(|(order, page_cap, next_link)| ServerBehaviour {
            order,
            page_cap,
            next_link,
            ..ServerBehaviour::default()
        })
}

/// The ids of the account's live rows now: (pending, all).
fn live_rows(control: &SandboxControl, user: u64, account: u64) -> (Vec<u64>, Vec<u64>) {
    let truth = control.truth(user).unwrap();
    let rows: Vec<_> = truth
        .transactions
        .iter()
        .filter(|t| t.account_id == account)
        .collect();
    (
        rows.iter().filter(|t| t.coming).map(|t| t.id).collect(),
        rows.iter().map(|t| t.id).collect(),
    )
}

fn pick(ids: &[u64], pick: usize) -> Option<u64> {
    (!ids.is_empty()).then(|| ids[pick % ids.len()])
}

/// The sandbox change of a change step, given the rows that exist now (`None`: nothing to
/// pick from).
fn change_of(step: &Step, control: &SandboxControl, user: u64, account: u64) -> Option<Change> {
    let (pending, all) = live_rows(control, user, account);
    Some(match step {
        Step::AddPending { cents } => Change::AddTransaction {
            account_id: account,
            value: Decimal::new(*cents, 2),
            date: None,
            coming: true,
            wording: Some("CB HOLD".into()),
        },
        Step::AddPosted { count } => Change::AddTransactions {
            account_id: account,
            count: *count,
            coming: false,
        },
        Step::Mature {
            pick: p,
            replace,
            other_amount,
        } => Change::Mature {
            transaction_id: pick(&pending, *p)?,
            mode: Some(if *replace {
                MaturationMode::Replace
            } else {
                MaturationMode::KeepId
            }),
            posted_value: other_amount.then(|| Decimal::new(-777, 2)),
        },
        Step::PostReplacement { pick: p } => Change::PostReplacement {
            transaction_id: pick(&pending, *p)?,
            posted_value: None,
        },
        Step::Delete {
            pick: p,
            pending: from_pending,
        } => Change::DeleteTransaction {
            transaction_id: pick(if *from_pending { &pending } else { &all }, *p)?,
        },
        Step::SetBalance { cents } => Change::SetBalance {
            account_id: account,
            balance: Decimal::new(*cents, 2),
        },
        Step::Sync | Step::SyncWithChangeMidScan { .. } => return None,
    })
}

async fn run_scenario(behaviour: ServerBehaviour, page_size: u32, steps: Vec<Step>) {
    let sandbox = start_one_user_sandbox(1, 12).await.unwrap();
    let control = sandbox.control();
    control.set_behaviour(behaviour);
    let user = sandbox.users()[0].clone();
    let account = control.truth(user.id).unwrap().accounts[0].id;
    let (connector, _clock) = connector_for(&sandbox, page_size).unwrap();
    let sink = LedgerSink::new();
    let engine = memory_engine_for(connector, Arc::new(sink.clone()), &user).unwrap();
    sync(&engine).await.unwrap();
    for step in &steps {
        match step {
            Step::Sync => {
                sync(&engine).await.unwrap();
            }
            Step::SyncWithChangeMidScan { change } => {
                if let Some(change) = change_of(change, control, user.id, account) {
                    control.schedule(
                        Trigger {
                            scope: PageScope::Account(account),
                            after_page: 1,
                        },
                        change,
                    );
                }
                sync(&engine).await.unwrap();
            }
            change => {
                control.advance(TimeDelta::minutes(7));
                if let Some(change) = change_of(change, control, user.id, account) {
                    // Refusals (a row already swapped, …) leave the bank unchanged.
                    let _ = control.apply(change);
                }
            }
        }
    }
    // The final quiet sync.
    control.advance(TimeDelta::minutes(7));
    sync(&engine).await.unwrap();
    let truth = control.truth(user.id).unwrap();
    assert_matches_truth(&sink.snapshot(), &truth);
    sandbox.shutdown().await;
}

fn cases() -> u32 {
    std::env::var("POWENS_PROPERTY_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(200)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(),
        max_shrink_iters: 64,
        .. ProptestConfig::default()
    })]

    #[test]
    fn random_bank_changes_between_and_during_scans_end_equal_to_the_truth(
        behaviour in behaviour(),
        page_size in 1u32..10,
        steps in prop::collection::vec(step(), 1..12),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(run_scenario(behaviour, page_size, steps));
    }
}
