//! Transaction listings: limit bounds, paging, `all`, `last_update`, dates, maturation, mid-scan
//! changes, and agreement with the truth.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeSet;

use chrono::TimeDelta;
use common::{all_rows, get, ids, sandbox, sandbox_sized};
use powens_sandbox::{Change, MaturationMode, PageScope, SandboxSize, Trigger};
use serde_json::Value;

fn tx_url(api: &str, query: &str) -> String {
    format!("{api}/users/me/transactions?{query}")
}

#[tokio::test]
async fn limit_is_required() {
    let (s, u) = sandbox().await;
    let (status, err) = get(&tx_url(&s.api_url(), ""), &u.token).await;
    assert_eq!(status, 400);
    assert_eq!(err["code"], "missingParameter");
}

#[tokio::test]
async fn malformed_or_overflowing_query_values_are_400_invalid_value() {
    let (s, u) = sandbox().await;
    for bad in [
        "limit=99999999999999999999999",
        "limit=5&offset=-1",
        "limit=5&offset=99999999999999999999999",
        "limit=5&last_update=2026-13-01%2000:00:00",
        "limit=5&last_update=2026-06-18%2025:00:00",
        "limit=5&min_date=2026-02-30",
        "limit=5&max_date=26-01",
        "limit=5&filter=value_date",
        "limit=5&deleted=maybe",
    ] {
        let (status, err) = get(&tx_url(&s.api_url(), bad), &u.token).await;
        assert_eq!(status, 400, "{bad}: {err}");
        assert_eq!(err["code"], "invalidValue", "{bad}: {err}");
    }
}

#[tokio::test]
async fn an_offset_at_or_beyond_the_end_gives_an_empty_page_without_next() {
    let (s, u) = sandbox().await;
    let (_, first) = get(&tx_url(&s.api_url(), "limit=1"), &u.token).await;
    let total = first["total"].as_u64().unwrap();
    for offset in [total, total + 1, u64::MAX] {
        let (status, page) = get(
            &tx_url(&s.api_url(), &format!("limit=1000&offset={offset}")),
            &u.token,
        )
        .await;
        assert_eq!(status, 200, "offset={offset}: {page}");
        assert_eq!(page["transactions"].as_array().unwrap().len(), 0);
        assert_eq!(page["total"], total);
        assert!(page["_links"]["next"].is_null(), "{page}");
    }
}

#[tokio::test]
async fn limit_outside_1_to_1000_is_an_invalid_value() {
    let (s, u) = sandbox().await;
    for bad in ["0", "1001", "-1", "ten"] {
        let (status, err) = get(&tx_url(&s.api_url(), &format!("limit={bad}")), &u.token).await;
        assert_eq!(status, 400, "limit={bad}");
        assert_eq!(err["code"], "invalidValue", "limit={bad}");
    }
    for good in ["1", "1000"] {
        assert_eq!(
            get(&tx_url(&s.api_url(), &format!("limit={good}")), &u.token)
                .await
                .0,
            200
        );
    }
}

#[tokio::test]
async fn pages_follow_next_links_in_ascending_id_order_until_next_is_null() {
    let (s, u) = sandbox().await;
    let (status, first) = get(&tx_url(&s.api_url(), "limit=7"), &u.token).await;
    assert_eq!(status, 200);
    assert_eq!(first["_links"]["prev"], Value::Null);
    let self_href = first["_links"]["self"]["href"].as_str().unwrap();
    assert!(self_href.starts_with(s.base_url()), "{self_href}");
    let next = first["_links"]["next"]["href"].as_str().unwrap();
    assert!(next.starts_with(&format!("{}/2.0/users/me/transactions?", s.base_url())));
    assert!(
        next.contains("limit=7") && next.contains("offset=7"),
        "{next}"
    );
    let rows = all_rows(&tx_url(&s.api_url(), "limit=7"), &u.token).await;
    let got = ids(&rows);
    let mut sorted = got.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(got, sorted, "ascending, no duplicates");
    assert_eq!(rows.len() as u64, first["total"].as_u64().unwrap());
    // The last page's next is null and its prev points back.
    let last_offset = (rows.len() - 1) / 7 * 7;
    let (_, last) = get(
        &tx_url(&s.api_url(), &format!("limit=7&offset={last_offset}")),
        &u.token,
    )
    .await;
    assert_eq!(last["_links"]["next"], Value::Null);
    assert!(last["_links"]["prev"]["href"].as_str().is_some());
}

#[tokio::test]
async fn envelope_reports_date_bounds_of_the_query_and_of_the_page() {
    let (s, u) = sandbox().await;
    let (_, page) = get(&tx_url(&s.api_url(), "limit=3"), &u.token).await;
    let rows = page["transactions"].as_array().unwrap();
    let dates: Vec<&str> = rows.iter().map(|r| r["date"].as_str().unwrap()).collect();
    assert_eq!(
        page["result_min_date"].as_str(),
        dates.iter().min().copied()
    );
    assert_eq!(
        page["result_max_date"].as_str(),
        dates.iter().max().copied()
    );
    assert!(page["first_date"].as_str().unwrap() <= page["result_min_date"].as_str().unwrap());
    assert!(page["last_date"].as_str().unwrap() >= page["result_max_date"].as_str().unwrap());
}

#[tokio::test]
async fn a_transaction_has_the_live_wire_shape() {
    let (s, u) = sandbox().await;
    let rows = all_rows(&tx_url(&s.api_url(), "limit=1000"), &u.token).await;
    let with_counterparty = rows.iter().find(|r| !r["counterparty"].is_null()).unwrap();
    insta::assert_snapshot!(
        "transaction_with_counterparty",
        serde_json::to_string_pretty(with_counterparty).unwrap()
    );
    let card = rows.iter().find(|r| r["type"] == "card").unwrap();
    insta::assert_snapshot!(
        "card_transaction",
        serde_json::to_string_pretty(card).unwrap()
    );
}

#[tokio::test]
async fn money_is_written_as_exact_json_numbers_at_the_currency_precision() {
    let (s, u) = sandbox().await;
    let body = common::client()
        .get(format!("{}/users/me/accounts", s.api_url()))
        .bearer_auth(&u.token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let accounts: Value = serde_json::from_str(&body).unwrap();
    for a in accounts["accounts"].as_array().unwrap() {
        let raw = a["balance"].to_string();
        let decimals = raw.split('.').nth(1).map_or(0, str::len);
        let scale = match a["currency"]["id"].as_str().unwrap() {
            "JPY" => 0,
            "KWD" => 3,
            "XBT" => 8,
            _ => 2,
        };
        assert!(a["balance"].is_number(), "{raw}");
        assert_eq!(decimals, scale, "{} {raw}", a["currency"]["id"]);
    }
}

#[tokio::test]
async fn all_reveals_tombstones_with_deleted_set() {
    let (s, u) = sandbox().await;
    let truth = s.control().truth(u.id).unwrap();
    let victim = truth.transactions[3].id;
    s.control().advance(TimeDelta::minutes(1));
    s.control().delete_transaction(victim).unwrap();
    let live = all_rows(&tx_url(&s.api_url(), "limit=1000"), &u.token).await;
    assert!(!ids(&live).contains(&victim));
    let with_all = all_rows(&tx_url(&s.api_url(), "limit=1000&all"), &u.token).await;
    let row = with_all.iter().find(|r| r["id"] == victim).unwrap();
    assert_eq!(row["deleted"], "2026-06-18 08:01:00");
    assert_eq!(row["last_update"], "2026-06-18 08:01:00");
    assert_eq!(with_all.len(), live.len() + 1);
    let only_deleted = all_rows(&tx_url(&s.api_url(), "limit=1000&deleted=true"), &u.token).await;
    assert_eq!(ids(&only_deleted), vec![victim]);
    assert_eq!(s.control().truth(u.id).unwrap().deleted, vec![victim]);
}

#[tokio::test]
async fn last_update_returns_only_rows_changed_strictly_after_it() {
    let (s, u) = sandbox().await;
    let account = s.control().truth(u.id).unwrap().accounts[0].id;
    s.control().advance(TimeDelta::hours(1));
    let mark = "2026-06-18 09:00:00";
    let at_mark = s.control().add_transactions(account, 2, false).unwrap();
    s.control().advance(TimeDelta::seconds(1));
    let after = s.control().add_transactions(account, 3, false).unwrap();
    let q = format!("limit=1000&last_update={}", mark.replace(' ', "%20"));
    let rows = all_rows(&tx_url(&s.api_url(), &q), &u.token).await;
    assert_eq!(ids(&rows), after);
    assert!(at_mark.iter().all(|id| !ids(&rows).contains(id)));
    let (status, err) = get(
        &tx_url(&s.api_url(), "limit=5&last_update=yesterday"),
        &u.token,
    )
    .await;
    assert_eq!((status, err["code"].as_str()), (400, Some("invalidValue")));
}

#[tokio::test]
async fn min_and_max_date_bound_the_application_date_and_accept_months() {
    let (s, u) = sandbox().await;
    let all = all_rows(&tx_url(&s.api_url(), "limit=1000"), &u.token).await;
    let in_may: BTreeSet<u64> = all
        .iter()
        .filter(|r| {
            r["application_date"]
                .as_str()
                .unwrap()
                .starts_with("2026-05")
        })
        .map(|r| r["id"].as_u64().unwrap())
        .collect();
    assert!(!in_may.is_empty());
    let month = all_rows(
        &tx_url(&s.api_url(), "limit=1000&min_date=2026-05&max_date=2026-05"),
        &u.token,
    )
    .await;
    assert_eq!(ids(&month).into_iter().collect::<BTreeSet<_>>(), in_may);
    let days = all_rows(
        &tx_url(
            &s.api_url(),
            "limit=1000&min_date=2026-05-01&max_date=2026-05-31",
        ),
        &u.token,
    )
    .await;
    assert_eq!(ids(&days), ids(&month));
}

#[tokio::test]
async fn maturing_with_keep_id_flips_coming_on_the_same_row() {
    let (s, u) = sandbox().await;
    s.control().set_maturation_mode(MaturationMode::KeepId);
    let truth = s.control().truth(u.id).unwrap();
    let pending = truth
        .transactions
        .iter()
        .find(|t| t.coming)
        .unwrap()
        .clone();
    let account_before = truth
        .accounts
        .iter()
        .find(|a| a.id == pending.account_id)
        .unwrap()
        .clone();
    s.control().advance(TimeDelta::hours(2));
    let out = s.control().mature(pending.id).unwrap();
    assert_eq!(out.updated, vec![pending.id]);
    assert!(out.created.is_empty() && out.deleted.is_empty());
    let rows = all_rows(
        &tx_url(
            &s.api_url(),
            "limit=1000&all&last_update=2026-06-18%2009:59:59",
        ),
        &u.token,
    )
    .await;
    assert_eq!(ids(&rows), vec![pending.id]);
    assert_eq!(rows[0]["coming"], false);
    assert_eq!(rows[0]["deleted"], Value::Null);
    assert_eq!(rows[0]["last_update"], "2026-06-18 10:00:00");
    let after = s.control().truth(u.id).unwrap();
    assert!(after.replaced.is_empty());
    let account = after
        .accounts
        .iter()
        .find(|a| a.id == pending.account_id)
        .unwrap();
    assert_eq!(account.balance, account_before.balance + pending.value);
    assert_eq!(account.coming, account_before.coming - pending.value);
}

#[tokio::test]
async fn maturing_with_replace_tombstones_the_provisional_row_and_posts_a_new_id() {
    let (s, u) = sandbox().await;
    s.control().set_maturation_mode(MaturationMode::Replace);
    let truth = s.control().truth(u.id).unwrap();
    let pending = truth
        .transactions
        .iter()
        .find(|t| t.coming)
        .unwrap()
        .clone();
    s.control().advance(TimeDelta::hours(2));
    let out = s.control().mature(pending.id).unwrap();
    assert_eq!(out.deleted, vec![pending.id]);
    let new_id = out.created[0];
    assert!(new_id > pending.id);
    let rows = all_rows(
        &tx_url(
            &s.api_url(),
            "limit=1000&all&last_update=2026-06-18%2009:59:59",
        ),
        &u.token,
    )
    .await;
    assert_eq!(ids(&rows), vec![pending.id, new_id]);
    assert_eq!(rows[0]["deleted"], "2026-06-18 10:00:00");
    assert_eq!(rows[0]["coming"], true);
    assert_eq!(rows[1]["coming"], false);
    assert_eq!(rows[1]["value"], rows[0]["value"]);
    assert_eq!(rows[1]["id_account"], rows[0]["id_account"]);
    let after = s.control().truth(u.id).unwrap();
    assert_eq!(after.replaced.len(), 1);
    assert_eq!(
        (after.replaced[0].id, after.replaced[0].replaced_by),
        (pending.id, new_id)
    );
    assert!(
        after.deleted.is_empty(),
        "a replaced row is not a plain deletion"
    );
    assert!(after.transactions.iter().all(|t| t.id != pending.id));
    assert!(
        !after
            .transactions
            .iter()
            .find(|t| t.id == new_id)
            .unwrap()
            .coming
    );
    // Maturing a row that is no longer pending is refused.
    assert!(s.control().mature(pending.id).is_err());
}

#[tokio::test]
async fn rows_inserted_after_page_k_are_seen_at_the_end_of_the_same_scan_without_skips() {
    let (s, u) = sandbox().await;
    let truth = s.control().truth(u.id).unwrap();
    let account = truth.accounts[0].id;
    let before: Vec<u64> = truth
        .transactions
        .iter()
        .filter(|t| t.account_id == account)
        .map(|t| t.id)
        .collect();
    s.control().schedule(
        Trigger {
            scope: PageScope::Account(account),
            after_page: 2,
        },
        Change::AddTransactions {
            account_id: account,
            count: 4,
            coming: true,
        },
    );
    let url = format!(
        "{}/users/me/accounts/{account}/transactions?limit=5&all",
        s.api_url()
    );
    let rows = all_rows(&url, &u.token).await;
    let got = ids(&rows);
    assert_eq!(&got[..before.len()], &before[..]);
    assert_eq!(got.len(), before.len() + 4);
    let after = s.control().truth(u.id).unwrap();
    let expected: Vec<u64> = after
        .transactions
        .iter()
        .filter(|t| t.account_id == account)
        .map(|t| t.id)
        .collect();
    assert_eq!(got, expected);
}

#[tokio::test]
async fn a_replace_maturation_during_a_scan_keeps_offsets_stable_with_all() {
    let (s, u) = sandbox().await;
    s.control().set_maturation_mode(MaturationMode::Replace);
    let truth = s.control().truth(u.id).unwrap();
    let early_pending = truth.transactions.iter().find(|t| t.coming).unwrap().id;
    s.control().schedule(
        Trigger {
            scope: PageScope::User(u.id),
            after_page: 3,
        },
        Change::Mature {
            transaction_id: early_pending,
            mode: None,
            posted_value: None,
        },
    );
    let rows = all_rows(&tx_url(&s.api_url(), "limit=10&all"), &u.token).await;
    let got = ids(&rows);
    let mut unique = got.clone();
    unique.dedup();
    assert_eq!(got, unique, "no row served twice");
    let before: Vec<u64> = truth.transactions.iter().map(|t| t.id).collect();
    assert!(before.iter().all(|id| got.contains(id)), "no row skipped");
    let new_id = s.control().truth(u.id).unwrap().replaced[0].replaced_by;
    assert_eq!(got.last(), Some(&new_id));
}

#[tokio::test]
async fn a_full_scan_matches_the_truth() {
    let (s, u) = sandbox_sized(SandboxSize {
        users: 1,
        connections_per_link: 2,
        accounts_per_connection: 8,
        transactions_per_account: 30,
    })
    .await;
    s.control()
        .set_account_status(
            s.control().truth(u.id).unwrap().accounts[1].id,
            powens_sandbox::AccountStatus::Disabled(true),
        )
        .unwrap();
    let rows = all_rows(&tx_url(&s.api_url(), "limit=100"), &u.token).await;
    let truth = s.control().truth(u.id).unwrap();
    assert_eq!(
        ids(&rows),
        truth.transactions.iter().map(|t| t.id).collect::<Vec<_>>()
    );
    for (row, t) in rows.iter().zip(&truth.transactions) {
        assert_eq!(row["value"].to_string(), t.value.to_string(), "tx {}", t.id);
        assert_eq!(row["coming"].as_bool(), Some(t.coming));
        assert_eq!(row["date"].as_str().unwrap(), t.date.to_string());
    }
    let hidden: Vec<u64> = truth
        .accounts
        .iter()
        .filter(|a| !a.visible)
        .map(|a| a.id)
        .collect();
    assert!(!hidden.is_empty());
    assert!(rows
        .iter()
        .all(|r| !hidden.contains(&r["id_account"].as_u64().unwrap())));
}

#[tokio::test]
async fn account_transactions_of_a_hidden_account_are_not_found() {
    let (s, u) = sandbox().await;
    let account = s.control().truth(u.id).unwrap().accounts[2].id;
    s.control()
        .set_account_status(account, powens_sandbox::AccountStatus::Deleted(true))
        .unwrap();
    let (status, err) = get(
        &format!(
            "{}/users/me/accounts/{account}/transactions?limit=10",
            s.api_url()
        ),
        &u.token,
    )
    .await;
    assert_eq!((status, err["code"].as_str()), (404, Some("notFound")));
}
