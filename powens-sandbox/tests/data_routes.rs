//! Users, connections, accounts and currencies.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{client, get, sandbox, sandbox_sized};
use powens_sandbox::{AccountStatus, SandboxSize};
use serde_json::Value;

#[tokio::test]
async fn connections_list_with_expand_embeds_connector_sources_and_accounts() {
    let (s, u) = sandbox().await;
    let (status, body) = get(
        &format!(
            "{}/users/me/connections?expand=connector,sources,accounts",
            s.api_url()
        ),
        &u.token,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["total"], 1);
    let c = &body["connections"][0];
    assert_eq!(c["id"].as_u64(), Some(u.connection_ids[0]));
    assert_eq!(
        c["state"],
        Value::Null,
        "a user's first connection is healthy"
    );
    assert!(c["connector"]["uuid"].is_string());
    assert_eq!(c["sources"][0]["name"], "openapi");
    assert!(c["expire"].is_string());
    assert!(!c["accounts"].as_array().unwrap().is_empty());
    let (_, plain) = get(&format!("{}/users/me/connections", s.api_url()), &u.token).await;
    assert!(plain["connections"][0].get("accounts").is_none());
}

#[tokio::test]
async fn a_connection_can_be_read_synced_and_deleted() {
    let (s, u) = sandbox().await;
    let id = u.connection_ids[0];
    let url = format!("{}/users/me/connections/{id}", s.api_url());
    let (status, c) = get(&url, &u.token).await;
    assert_eq!((status, c["id"].as_u64()), (200, Some(id)));
    s.control().advance(chrono::TimeDelta::minutes(10));
    let synced: Value = client()
        .put(&url)
        .bearer_auth(&u.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(synced["last_update"], "2026-06-18 08:10:00");
    let r = client()
        .delete(&url)
        .bearer_auth(&u.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(get(&url, &u.token).await.0, 404);
    let truth = s.control().truth(u.id).unwrap();
    assert!(truth.connections.is_empty() && truth.accounts.is_empty());
    assert!(truth.transactions.is_empty());
}

#[tokio::test]
async fn accounts_hide_disabled_and_deleted_ones_unless_all_is_given() {
    let (s, u) = sandbox().await;
    let truth = s.control().truth(u.id).unwrap();
    let (disabled, deleted) = (truth.accounts[1].id, truth.accounts[2].id);
    s.control()
        .set_account_status(disabled, AccountStatus::Disabled(true))
        .unwrap();
    s.control()
        .set_account_status(deleted, AccountStatus::Deleted(true))
        .unwrap();
    let ids = |body: &Value| -> Vec<u64> {
        body["accounts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["id"].as_u64().unwrap())
            .collect()
    };
    let (_, visible) = get(&format!("{}/users/me/accounts", s.api_url()), &u.token).await;
    assert!(!ids(&visible).contains(&disabled) && !ids(&visible).contains(&deleted));
    assert_eq!(visible["total"].as_u64(), Some(ids(&visible).len() as u64));
    let (_, all) = get(&format!("{}/users/me/accounts?all", s.api_url()), &u.token).await;
    assert!(ids(&all).contains(&disabled) && ids(&all).contains(&deleted));
    let a = all["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == disabled)
        .unwrap();
    assert_eq!(a["disabled"], "2026-06-18 08:00:00");
    // By connection, too.
    let conn = u.connection_ids[0];
    let (_, by_conn) = get(
        &format!("{}/users/me/connections/{conn}/accounts?all", s.api_url()),
        &u.token,
    )
    .await;
    assert_eq!(ids(&by_conn), ids(&all));
    // One account: 404 without all.
    let one = format!("{}/users/me/accounts/{disabled}", s.api_url());
    assert_eq!(get(&one, &u.token).await.0, 404);
    assert_eq!(get(&format!("{one}?all"), &u.token).await.0, 200);
}

#[tokio::test]
async fn the_accounts_envelope_sums_balances_per_currency() {
    let (s, u) = sandbox().await;
    let (_, body) = get(&format!("{}/users/me/accounts", s.api_url()), &u.token).await;
    let truth = s.control().truth(u.id).unwrap();
    let eur: rust_decimal::Decimal = truth
        .accounts
        .iter()
        .filter(|a| a.visible && a.currency == "EUR")
        .map(|a| a.balance)
        .sum();
    assert_eq!(body["balances"]["EUR"].to_string(), eur.to_string());
    assert_eq!(body["balance"].to_string(), eur.to_string());
    assert!(body["coming_balances"].is_object());
}

#[tokio::test]
async fn an_account_has_the_live_wire_shape() {
    let (s, u) = sandbox().await;
    let id = s.control().truth(u.id).unwrap().accounts[0].id;
    let (_, a) = get(&format!("{}/users/me/accounts/{id}", s.api_url()), &u.token).await;
    assert_eq!(a["bookmarked"], 0);
    insta::assert_snapshot!(
        "checking_account",
        serde_json::to_string_pretty(&a).unwrap()
    );
}

#[tokio::test]
async fn seeded_data_covers_currencies_types_and_connection_states() {
    let (s, u) = sandbox_sized(SandboxSize {
        users: 1,
        connections_per_link: 8,
        accounts_per_connection: 6,
        transactions_per_account: 20,
    })
    .await;
    let truth = s.control().truth(u.id).unwrap();
    let currencies: std::collections::BTreeSet<&str> =
        truth.accounts.iter().map(|a| a.currency.as_str()).collect();
    for c in ["EUR", "GBP", "JPY", "KWD", "XBT", "GEMS"] {
        assert!(currencies.contains(c), "{c} missing");
    }
    let types: std::collections::BTreeSet<&str> = truth
        .accounts
        .iter()
        .map(|a| a.account_type.as_str())
        .collect();
    assert_eq!(types.len(), 4, "{types:?}");
    assert!(truth.connections.iter().any(|c| c.state.is_some()));
    assert!(truth.accounts.iter().any(|a| !a.visible));
    assert!(truth.accounts.iter().any(|a| a.error.is_some()));
    assert!(truth.transactions.iter().any(|t| t.coming));
    assert!(truth.transactions.iter().any(|t| t.counterparty.is_some()));
    let soon = s.control().now() + chrono::TimeDelta::days(7);
    assert!(truth
        .connections
        .iter()
        .any(|c| c.expire.is_some_and(|e| e <= soon)));
    let gems = truth
        .accounts
        .iter()
        .find(|a| a.currency == "GEMS")
        .unwrap();
    assert_eq!(gems.precision, None);
    let xbt = truth.accounts.iter().find(|a| a.currency == "XBT").unwrap();
    assert_eq!(xbt.precision, Some(8));
}

#[tokio::test]
async fn the_same_seed_gives_the_same_data_and_another_seed_does_not() {
    let size = SandboxSize {
        users: 2,
        ..SandboxSize::default()
    };
    let start = |seed| async move {
        powens_sandbox::Sandbox::builder()
            .seed(seed)
            .size(size)
            .start()
            .await
            .unwrap()
    };
    let (a, b, c) = (start(7).await, start(7).await, start(8).await);
    let truth = |s: &powens_sandbox::SandboxHandle| s.control().truth(2).unwrap();
    assert_eq!(truth(&a), truth(&b));
    assert_eq!(a.users(), b.users());
    assert_ne!(truth(&a).transactions, truth(&c).transactions);
}

#[tokio::test]
async fn currencies_need_no_token_and_include_non_iso_codes() {
    let (s, _) = sandbox().await;
    let r = client()
        .get(format!("{}/currencies", s.api_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    let list = body["currencies"].as_array().unwrap();
    let find = |id: &str| list.iter().find(|c| c["id"] == id).unwrap().clone();
    assert_eq!(find("JPY")["precision"], 0);
    assert_eq!(find("KWD")["precision"], 3);
    assert_eq!(find("XBT")["precision"], 8);
    assert_eq!(find("GEMS")["precision"], Value::Null);
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_powens_errors() {
    let (s, u) = sandbox().await;
    let (status, body) = get(&format!("{}/nothing/here/at/all", s.api_url()), &u.token).await;
    assert_eq!((status, body["code"].as_str()), (404, Some("notFound")));
    let r = client()
        .patch(format!("{}/currencies", s.api_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["code"], "methodNotAllowed");
}

#[tokio::test]
async fn responses_carry_the_sandbox_clock_as_date_header() {
    let (s, _) = sandbox().await;
    let r = client()
        .get(format!("{}/currencies", s.api_url()))
        .send()
        .await
        .unwrap();
    // 08:00 Paris in June = 06:00 UTC.
    assert_eq!(r.headers()["date"], "Thu, 18 Jun 2026 06:00:00 GMT");
}

#[tokio::test]
async fn post_on_a_connection_is_a_forced_sync_like_put() {
    let (s, u) = sandbox().await;
    let id = u.connection_ids[0];
    s.control().advance(chrono::TimeDelta::minutes(3));
    let r = client()
        .post(format!("{}/users/me/connections/{id}", s.api_url()))
        .bearer_auth(&u.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["last_update"], "2026-06-18 08:03:00");
}
