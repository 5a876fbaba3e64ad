//! Maturation: same id, new id in one change, split over several changes in either order, a
//! posted amount different from the pending one, `MaturationMode::Mixed`, and what the truth and
//! the account balances say before and after each half.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{client, sandbox_sized};
use powens_sandbox::{
    Change, MaturationMode, ReplacedTransaction, SandboxHandle, SandboxSize, SeededUser, Truth,
    TruthAccount,
};
use rust_decimal::Decimal;
use serde_json::{json, Value};

/// One user, 6 accounts × 80 rows: 8 pending rows on its EUR account.
async fn sandbox() -> (SandboxHandle, SeededUser) {
    sandbox_sized(SandboxSize {
        users: 1,
        connections_per_link: 1,
        accounts_per_connection: 6,
        transactions_per_account: 80,
    })
    .await
}

/// The visible EUR accounts' pending rows, oldest first: `(id, account id, value)`.
fn pending_eur(s: &SandboxHandle, u: &SeededUser) -> Vec<(u64, u64, Decimal)> {
    let truth = s.control().truth(u.id).unwrap();
    truth
        .transactions
        .iter()
        .filter(|t| t.coming)
        .filter(|t| {
            truth
                .accounts
                .iter()
                .any(|a| a.id == t.account_id && a.visible && a.currency == "EUR")
        })
        .map(|t| (t.id, t.account_id, t.value))
        .collect()
}

fn account(truth: &Truth, id: u64) -> TruthAccount {
    truth.accounts.iter().find(|a| a.id == id).cloned().unwrap()
}

fn live(truth: &Truth, id: u64) -> Option<bool> {
    truth
        .transactions
        .iter()
        .find(|t| t.id == id)
        .map(|t| t.coming)
}

fn replaced(truth: &Truth, id: u64) -> Option<ReplacedTransaction> {
    truth.replaced.iter().find(|r| r.id == id).cloned()
}

async fn post_change(s: &SandboxHandle, change: Value) -> (u16, Value) {
    let r = client()
        .post(format!("{}/__sandbox/changes", s.base_url()))
        .json(&change)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn mixed_maturation_keeps_odd_ids_and_replaces_even_ids() {
    let (s, u) = sandbox().await;
    assert_eq!(
        MaturationMode::Mixed.for_transaction(7),
        MaturationMode::KeepId
    );
    assert_eq!(
        MaturationMode::Mixed.for_transaction(8),
        MaturationMode::Replace
    );
    assert_eq!(
        MaturationMode::KeepId.for_transaction(8),
        MaturationMode::KeepId
    );
    assert_eq!(
        MaturationMode::Replace.for_transaction(7),
        MaturationMode::Replace
    );
    s.control().set_maturation_mode(MaturationMode::Mixed);
    let pending = pending_eur(&s, &u);
    let odd = pending.iter().find(|p| p.0 % 2 == 1).unwrap().0;
    let even = pending.iter().find(|p| p.0 % 2 == 0).unwrap().0;
    let kept = s.control().mature(odd).unwrap();
    assert_eq!(
        (kept.updated, kept.created, kept.deleted),
        (vec![odd], vec![], vec![])
    );
    let swapped = s.control().mature(even).unwrap();
    assert_eq!(swapped.deleted, vec![even]);
    assert_eq!(swapped.created.len(), 1);
    let truth = s.control().truth(u.id).unwrap();
    assert_eq!(live(&truth, odd), Some(false));
    assert_eq!(live(&truth, even), None);
    assert_eq!(
        replaced(&truth, even),
        Some(ReplacedTransaction {
            id: even,
            replaced_by: swapped.created[0],
            posted_value_differs: false,
        })
    );
    // Over HTTP: `mixed` is a mode like the others, per row of a `mature_coming`.
    let (status, body) = client()
        .put(format!("{}/__sandbox/maturation", s.base_url()))
        .json(&json!({"mode": "keep_id"}))
        .send()
        .await
        .map(|r| (r.status().as_u16(), ()))
        .unwrap();
    assert_eq!((status, body), (204, ()));
    let account_id = pending[0].1;
    let (status, out) = post_change(
        &s,
        json!({"mature_coming": {"account_id": account_id, "count": 4, "mode": "mixed"}}),
    )
    .await;
    assert_eq!(status, 200, "{out}");
    for id in out["updated"].as_array().unwrap() {
        assert_eq!(id.as_u64().unwrap() % 2, 1, "{out}");
    }
    for id in out["deleted"].as_array().unwrap() {
        assert_eq!(id.as_u64().unwrap() % 2, 0, "{out}");
    }
    let matured =
        out["updated"].as_array().unwrap().len() + out["deleted"].as_array().unwrap().len();
    assert!(matured > 0, "{out}");
}

#[tokio::test]
async fn split_maturation_posted_first_then_provisional_deleted_completes_the_replacement() {
    let (s, u) = sandbox().await;
    let (p, account_id, value) = pending_eur(&s, &u)[0];
    let t0 = s.control().truth(u.id).unwrap();
    let a0 = account(&t0, account_id);

    let q = s.control().post_replacement(p, None).unwrap();
    let t1 = s.control().truth(u.id).unwrap();
    assert_eq!(live(&t1, p), Some(true), "the provisional is still pending");
    assert_eq!(live(&t1, q), Some(false), "the posted row is listed");
    assert_eq!(replaced(&t1, p), None, "only one half happened");
    assert!(!t1.deleted.contains(&p));
    let a1 = account(&t1, account_id);
    assert_eq!(
        a1.balance,
        a0.balance + value,
        "the posting books the balance"
    );
    assert_eq!(
        a1.coming, a0.coming,
        "the provisional still counts as coming"
    );

    s.control().delete_transaction(p).unwrap();
    let t2 = s.control().truth(u.id).unwrap();
    assert_eq!(live(&t2, p), None);
    assert_eq!(
        replaced(&t2, p),
        Some(ReplacedTransaction {
            id: p,
            replaced_by: q,
            posted_value_differs: false,
        })
    );
    assert!(
        !t2.deleted.contains(&p),
        "a completed replacement is not a cancel"
    );
    let a2 = account(&t2, account_id);
    assert_eq!(a2.balance, a0.balance + value);
    assert_eq!(a2.coming, a0.coming - value);
    assert_eq!(a2.coming_balance, a0.coming_balance);
}

#[tokio::test]
async fn split_maturation_provisional_deleted_first_then_posted_completes_the_replacement() {
    let (s, u) = sandbox().await;
    let (p, account_id, value) = pending_eur(&s, &u)[1];
    let posted = value - Decimal::new(123, 2);
    let t0 = s.control().truth(u.id).unwrap();
    let a0 = account(&t0, account_id);

    s.control().delete_transaction(p).unwrap();
    let t1 = s.control().truth(u.id).unwrap();
    assert!(
        t1.deleted.contains(&p),
        "until posted, a deleted provisional is a cancel"
    );
    assert_eq!(replaced(&t1, p), None);
    let a1 = account(&t1, account_id);
    assert_eq!((a1.balance, a1.coming), (a0.balance, a0.coming - value));

    // The second half over HTTP, at another amount (amounts are strings in control bodies).
    let (status, out) = post_change(
        &s,
        json!({"post_replacement": {"transaction_id": p, "posted_value": posted.to_string()}}),
    )
    .await;
    assert_eq!(status, 200, "{out}");
    let q = out["created"][0].as_u64().unwrap();
    let t2 = s.control().truth(u.id).unwrap();
    assert_eq!(
        replaced(&t2, p),
        Some(ReplacedTransaction {
            id: p,
            replaced_by: q,
            posted_value_differs: true,
        })
    );
    assert!(!t2.deleted.contains(&p));
    let row = t2.transactions.iter().find(|t| t.id == q).unwrap();
    assert_eq!(
        (row.value, row.coming, row.account_id),
        (posted, false, account_id)
    );
    let a2 = account(&t2, account_id);
    assert_eq!(a2.balance, a0.balance + posted);
    assert_eq!(a2.coming, a0.coming - value);
}

#[tokio::test]
async fn a_posted_value_different_from_the_pending_one_books_the_posted_value() {
    let (s, u) = sandbox().await;
    let pending = pending_eur(&s, &u);
    let (keep, keep_account, keep_value) = pending[0];
    let (swap, swap_account, swap_value) = pending[1];
    let t0 = s.control().truth(u.id).unwrap();

    // Same id: the row takes the posted value.
    let keep_posted = keep_value * Decimal::from(2);
    let out = s
        .control()
        .mature_with(keep, MaturationMode::KeepId, keep_posted)
        .unwrap();
    assert_eq!(out.updated, vec![keep]);
    let t1 = s.control().truth(u.id).unwrap();
    let row = t1.transactions.iter().find(|t| t.id == keep).unwrap();
    assert_eq!((row.value, row.coming), (keep_posted, false));
    let (a0, a1) = (account(&t0, keep_account), account(&t1, keep_account));
    assert_eq!(a1.balance, a0.balance + keep_posted);
    assert_eq!(a1.coming, a0.coming - keep_value);

    // New id in one change, over HTTP: the new row carries the posted value.
    let swap_posted = swap_value + Decimal::new(-5, 1);
    let t1 = s.control().truth(u.id).unwrap();
    let (status, out) = post_change(
        &s,
        json!({"mature": {"transaction_id": swap, "mode": "replace",
                          "posted_value": swap_posted.to_string()}}),
    )
    .await;
    assert_eq!(status, 200, "{out}");
    let q = out["created"][0].as_u64().unwrap();
    let t2 = s.control().truth(u.id).unwrap();
    let row = t2.transactions.iter().find(|t| t.id == q).unwrap();
    assert_eq!(row.value, swap_posted);
    assert!(replaced(&t2, swap).unwrap().posted_value_differs);
    let (a1, a2) = (account(&t1, swap_account), account(&t2, swap_account));
    assert_eq!(a2.balance, a1.balance + swap_posted);
    assert_eq!(a2.coming, a1.coming - swap_value);

    // The same value given explicitly does not count as different.
    let (same, _, same_value) = pending[2];
    s.control()
        .mature_with(same, MaturationMode::Replace, same_value)
        .unwrap();
    let t3 = s.control().truth(u.id).unwrap();
    assert!(!replaced(&t3, same).unwrap().posted_value_differs);
    // `None` for both: the current mode and the pending value.
    let (other, _, _) = pending[3];
    s.control().mature_with(other, None, None).unwrap();
}

#[tokio::test]
async fn split_and_one_shot_maturation_refuse_what_cannot_happen() {
    let (s, u) = sandbox().await;
    let pending = pending_eur(&s, &u);
    let (p, _, _) = pending[0];
    let q = s.control().post_replacement(p, None).unwrap();
    // Posting twice, maturing a row whose replacement is already posted, posting for a posted row.
    assert!(s.control().post_replacement(p, None).is_err());
    assert!(s.control().mature(p).is_err());
    assert!(s.control().post_replacement(q, None).is_err());
    // A row matured with a new id already has its replacement.
    let (r, _, _) = pending[1];
    s.control()
        .mature_with(r, MaturationMode::Replace, None)
        .unwrap();
    assert!(s.control().post_replacement(r, None).is_err());
    // A row matured on the same id is no longer pending.
    let (k, _, _) = pending[2];
    s.control()
        .mature_with(k, MaturationMode::KeepId, None)
        .unwrap();
    assert!(s.control().post_replacement(k, None).is_err());
    // More decimals than the currency has.
    let (d, _, _) = pending[3];
    assert!(s
        .control()
        .post_replacement(d, Decimal::new(-1_001, 3))
        .is_err());
    assert!(s.control().post_replacement(u64::MAX, None).is_err());
    // `mature_coming` skips a row whose replacement is posted (it waits for its deletion).
    let account_id = pending[0].1;
    let truth = s.control().truth(u.id).unwrap();
    let left = truth
        .transactions
        .iter()
        .filter(|t| t.account_id == account_id && t.coming)
        .count() as u32;
    let out = s
        .control()
        .apply(Change::MatureComing {
            account_id,
            count: left,
            mode: Some(MaturationMode::KeepId),
        })
        .unwrap();
    assert!(!out.updated.contains(&p));
    assert_eq!(out.updated.len() as u32, left - 1);
    let (status, _) = post_change(
        &s,
        json!({"post_replacement": {"transaction_id": p, "posted_value": "-1.00"}}),
    )
    .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn the_truth_round_trips_and_reads_a_replacement_without_the_new_flag() {
    let (s, u) = sandbox().await;
    let (p, _, _) = pending_eur(&s, &u)[0];
    s.control()
        .mature_with(p, MaturationMode::Replace, Decimal::new(-1, 0))
        .unwrap();
    let truth = s.control().truth(u.id).unwrap();
    let text = serde_json::to_string(&truth).unwrap();
    assert_eq!(serde_json::from_str::<Truth>(&text).unwrap(), truth);
    let old: ReplacedTransaction =
        serde_json::from_value(json!({"id": 1, "replaced_by": 2})).unwrap();
    assert!(!old.posted_value_differs);
    // The HTTP truth says the same.
    let r = client()
        .get(format!("{}/__sandbox/truth/{}", s.base_url(), u.id))
        .send()
        .await
        .unwrap();
    let over_http: Truth = r.json().await.unwrap();
    assert_eq!(over_http, truth);
}
