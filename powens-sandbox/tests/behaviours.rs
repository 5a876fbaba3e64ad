//! Server behaviours (`ServerBehaviour`, `Profile`): each knob alone over HTTP, set on the
//! builder, through `SandboxControl` and through `/__sandbox/behaviour`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeSet;

use common::{client, get, ids, sandbox};
use powens_sandbox::{
    Change, MaturationMode, NextLinkForm, PageScope, Profile, RowOrder, Sandbox, SandboxHandle,
    SandboxSize, SeededUser, ServerBehaviour, Trigger, REALISTIC_PAGE_CAP,
};
use serde_json::{json, Value};
use url::Url;

fn tx_url(api: &str, query: &str) -> String {
    format!("{api}/users/me/transactions?{query}")
}

async fn put(url: String, body: Value) -> (u16, String) {
    let r = client().put(url).json(&body).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn set_behaviour_over_http(s: &SandboxHandle, behaviour: Value) {
    let (status, body) = put(format!("{}/__sandbox/behaviour", s.base_url()), behaviour).await;
    assert_eq!(status, 204, "{body}");
}

/// The absolute URL of `_links.<name>` in any of the forms the sandbox writes.
fn link(page: &Value, name: &str, base_url: &str) -> Option<String> {
    let l = &page["_links"][name];
    let href = match l {
        Value::String(s) => s.as_str(),
        Value::Object(_) => l["href"].as_str()?,
        _ => return None,
    };
    Some(if href.starts_with('/') {
        format!("{base_url}{href}")
    } else {
        href.to_owned()
    })
}

fn offset_of(url: &str) -> u64 {
    Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "offset")
        .map_or(0, |(_, v)| v.parse().unwrap())
}

fn rows(page: &Value) -> &Vec<Value> {
    page["transactions"].as_array().unwrap()
}

/// Pages through next links (any form); returns the rows and the pages' row counts.
async fn scan(s: &SandboxHandle, first: &str, token: &str) -> (Vec<Value>, Vec<usize>) {
    let mut out = Vec::new();
    let mut sizes = Vec::new();
    let mut url = first.to_owned();
    for _ in 0..1_000 {
        let (status, page) = get(&url, token).await;
        assert_eq!(status, 200, "{page}");
        sizes.push(rows(&page).len());
        out.extend(rows(&page).iter().cloned());
        match link(&page, "next", s.base_url()) {
            Some(next) => url = next,
            None => return (out, sizes),
        }
    }
    panic!("the chain did not end");
}

async fn every_id(s: &SandboxHandle, token: &str) -> Vec<u64> {
    let (_, page) = get(&tx_url(&s.api_url(), "limit=1000&all"), token).await;
    assert!(page["_links"]["next"].is_null());
    ids(rows(&page))
}

#[tokio::test]
async fn the_default_behaviour_is_oldest_first_full_pages_and_absolute_links() {
    let (s, u) = sandbox().await;
    assert_eq!(s.control().behaviour(), ServerBehaviour::default());
    assert_eq!(Profile::Default.behaviour(), ServerBehaviour::default());
    assert_eq!(Profile::Default.maturation_mode(), MaturationMode::KeepId);
    let (status, b) = get(&format!("{}/__sandbox/behaviour", s.base_url()), "").await;
    assert_eq!(status, 200);
    assert_eq!(
        b,
        json!({"order": "oldest_first", "page_cap": null, "next_link": "absolute",
               "no_account_error": false, "endless_next": false, "reconnect_state_only": false})
    );
    let (_, page) = get(&tx_url(&s.api_url(), "limit=10"), &u.token).await;
    let got = ids(rows(&page));
    assert_eq!(got.len(), 10);
    assert!(got.windows(2).all(|w| w[0] < w[1]), "{got:?}");
    let next = page["_links"]["next"]["href"].as_str().unwrap();
    assert!(next.starts_with(&s.api_url()), "{next}");
    assert_eq!(offset_of(next), 10);
}

#[tokio::test]
async fn the_behaviour_is_set_on_the_builder_through_control_and_over_http() {
    let wanted = ServerBehaviour {
        order: RowOrder::Interleaved,
        page_cap: Some(3),
        next_link: NextLinkForm::BareString,
        no_account_error: true,
        endless_next: true,
        reconnect_state_only: true,
    };
    let s = Sandbox::builder()
        .behaviour(wanted.clone())
        .start()
        .await
        .unwrap();
    assert_eq!(s.control().behaviour(), wanted);
    s.control().set_behaviour(ServerBehaviour::default());
    assert_eq!(s.control().behaviour(), ServerBehaviour::default());
    // Over HTTP, members left out take their default.
    set_behaviour_over_http(&s, json!({"order": "newest_first", "page_cap": 5})).await;
    assert_eq!(
        s.control().behaviour(),
        ServerBehaviour {
            order: RowOrder::NewestFirst,
            page_cap: Some(5),
            ..ServerBehaviour::default()
        }
    );
    let (_, b) = get(&format!("{}/__sandbox/behaviour", s.base_url()), "").await;
    assert_eq!(
        serde_json::from_value::<ServerBehaviour>(b).unwrap(),
        s.control().behaviour()
    );
    // A misspelt member is refused rather than ignored.
    let (status, _) = put(
        format!("{}/__sandbox/behaviour", s.base_url()),
        json!({"oder": "newest_first"}),
    )
    .await;
    assert!((400..500).contains(&status), "{status}");
    assert_eq!(s.control().behaviour().order, RowOrder::NewestFirst);
}

#[tokio::test]
async fn newest_first_lists_descending_ids_on_user_and_account_listings() {
    let (s, u) = sandbox().await;
    let ascending = every_id(&s, &u.token).await;
    set_behaviour_over_http(&s, json!({"order": "newest_first"})).await;
    let descending = every_id(&s, &u.token).await;
    let mut reversed = ascending.clone();
    reversed.reverse();
    assert_eq!(descending, reversed);
    let account = s.control().truth(u.id).unwrap().accounts[0].id;
    let (_, page) = get(
        &format!(
            "{}/users/me/accounts/{account}/transactions?limit=1000",
            s.api_url()
        ),
        &u.token,
    )
    .await;
    let got = ids(rows(&page));
    assert!(!got.is_empty());
    assert!(got.windows(2).all(|w| w[0] > w[1]), "{got:?}");
}

#[tokio::test]
async fn newest_first_paging_with_an_insert_mid_scan_loses_no_row() {
    let (s, u) = sandbox().await;
    s.control().set_behaviour(ServerBehaviour {
        order: RowOrder::NewestFirst,
        ..ServerBehaviour::default()
    });
    let before: BTreeSet<u64> = every_id(&s, &u.token).await.into_iter().collect();
    let truth = s.control().truth(u.id).unwrap();
    let account = truth.accounts.iter().find(|a| a.visible).unwrap().id;
    let pending = truth.transactions.iter().find(|t| t.coming).unwrap().id;
    let oldest = *before.iter().next().unwrap();
    let scope = PageScope::User(u.id);
    // After page 2: five rows land at the front, a pending row is replaced by a new id (front)
    // and an unread old row is deleted (a tombstone in place with `all`).
    for (after_page, change) in [
        (
            2,
            Change::AddTransactions {
                account_id: account,
                count: 5,
                coming: false,
            },
        ),
        (
            2,
            Change::Mature {
                transaction_id: pending,
                mode: Some(MaturationMode::Replace),
                posted_value: None,
            },
        ),
        (
            3,
            Change::DeleteTransaction {
                transaction_id: oldest,
            },
        ),
    ] {
        s.control()
            .schedule(scope_trigger(scope, after_page), change);
    }
    let (got, _) = scan(&s, &tx_url(&s.api_url(), "limit=10&all"), &u.token).await;
    let seen: BTreeSet<u64> = ids(&got).into_iter().collect();
    let lost: Vec<&u64> = before.difference(&seen).collect();
    assert!(lost.is_empty(), "rows lost: {lost:?}");
    // The shift made the scan re-read rows (duplicates are allowed, losses are not).
    assert!(got.len() > seen.len(), "no row was re-read");
}

fn scope_trigger(scope: PageScope, after_page: u32) -> Trigger {
    Trigger { scope, after_page }
}

#[tokio::test]
async fn interleaved_order_is_neither_ascending_nor_descending_and_stable_under_inserts() {
    let (s, u) = sandbox().await;
    set_behaviour_over_http(&s, json!({"order": "interleaved"})).await;
    let first = every_id(&s, &u.token).await;
    assert!(!first.windows(2).all(|w| w[0] < w[1]), "ascending");
    assert!(!first.windows(2).all(|w| w[0] > w[1]), "descending");
    assert_eq!(every_id(&s, &u.token).await, first, "not stable");
    let mut sorted = first.clone();
    sorted.sort_unstable();
    let truth = s.control().truth(u.id).unwrap();
    let account = truth.accounts.iter().find(|a| a.visible).unwrap().id;
    let new = s.control().add_transactions(account, 12, false).unwrap();
    let after = every_id(&s, &u.token).await;
    let old_rows: Vec<u64> = after
        .iter()
        .copied()
        .filter(|id| !new.contains(id))
        .collect();
    assert_eq!(
        old_rows, first,
        "an insert moved rows relative to each other"
    );
    // Paging with inserts mid-scan loses no row that existed before.
    let before: BTreeSet<u64> = after.iter().copied().collect();
    s.control().schedule(
        scope_trigger(PageScope::User(u.id), 1),
        Change::AddTransactions {
            account_id: account,
            count: 7,
            coming: true,
        },
    );
    let (got, _) = scan(&s, &tx_url(&s.api_url(), "limit=9&all"), &u.token).await;
    let seen: BTreeSet<u64> = ids(&got).into_iter().collect();
    assert!(before.is_subset(&seen));
}

#[tokio::test]
async fn a_page_cap_serves_short_pages_whose_next_offset_moves_by_the_rows_served() {
    let (s, u) = sandbox().await;
    set_behaviour_over_http(&s, json!({"page_cap": 7})).await;
    let total = s.control().truth(u.id).unwrap().transactions.len();
    let mut url = tx_url(&s.api_url(), "limit=10");
    let mut offset = 0u64;
    let mut seen = Vec::new();
    loop {
        let (_, page) = get(&url, &u.token).await;
        let n = rows(&page).len() as u64;
        assert_eq!(n, 7.min(total as u64 - offset), "at offset {offset}");
        seen.extend(ids(rows(&page)));
        assert_eq!(
            offset_of(&link(&page, "self", s.base_url()).unwrap()),
            offset
        );
        if offset > 0 {
            let prev = link(&page, "prev", s.base_url()).unwrap();
            assert_eq!(offset_of(&prev), offset.saturating_sub(7));
        } else {
            assert!(page["_links"]["prev"].is_null());
        }
        match link(&page, "next", s.base_url()) {
            Some(next) => {
                assert_eq!(offset_of(&next), offset + n);
                offset += n;
                url = next;
            }
            None => {
                assert_eq!(
                    offset + n,
                    total as u64,
                    "next is null only on the last page"
                );
                break;
            }
        }
    }
    assert_eq!(seen.len(), total);
    // A limit below the cap is served in full.
    let (_, page) = get(&tx_url(&s.api_url(), "limit=4"), &u.token).await;
    assert_eq!(rows(&page).len(), 4);
    assert_eq!(offset_of(&link(&page, "next", s.base_url()).unwrap()), 4);
}

#[tokio::test]
async fn next_link_forms_have_their_json_shape() {
    let (s, u) = sandbox().await;
    let query = "limit=5&offset=5&all";
    let path_and_query = |href: &str| {
        let u = Url::parse(&format!("http://x{href}")).unwrap();
        assert_eq!(u.path(), "/2.0/users/me/transactions");
        u
    };
    // Absolute (the default).
    let (_, page) = get(&tx_url(&s.api_url(), query), &u.token).await;
    for name in ["self", "next", "prev"] {
        let href = page["_links"][name]["href"].as_str().unwrap();
        assert!(
            href.starts_with(&format!("{}/2.0/", s.base_url())),
            "{href}"
        );
    }
    // Root-relative.
    set_behaviour_over_http(&s, json!({"next_link": "root_relative"})).await;
    let (_, page) = get(&tx_url(&s.api_url(), query), &u.token).await;
    for (name, offset) in [("self", 5), ("next", 10), ("prev", 0)] {
        let l = &page["_links"][name];
        assert!(l.is_object(), "{l}");
        let href = l["href"].as_str().unwrap();
        assert!(href.starts_with("/2.0/users/me/transactions?"), "{href}");
        let u = path_and_query(href);
        assert!(u
            .query_pairs()
            .any(|(k, v)| k == "offset" && v == offset.to_string()));
        assert!(u.query_pairs().any(|(k, _)| k == "all"), "filters kept");
    }
    // Bare string.
    set_behaviour_over_http(&s, json!({"next_link": "bare_string"})).await;
    let (_, page) = get(&tx_url(&s.api_url(), query), &u.token).await;
    for name in ["self", "next", "prev"] {
        let href = page["_links"][name].as_str().unwrap();
        assert!(
            href.starts_with(&format!("{}/2.0/", s.base_url())),
            "{href}"
        );
    }
    let (_, first) = get(&tx_url(&s.api_url(), "limit=5"), &u.token).await;
    assert!(first["_links"]["prev"].is_null());
    let (_, last) = get(&tx_url(&s.api_url(), "limit=1000"), &u.token).await;
    assert!(last["_links"]["next"].is_null());
    // Absent.
    set_behaviour_over_http(&s, json!({"next_link": "absent"})).await;
    let (_, page) = get(&tx_url(&s.api_url(), query), &u.token).await;
    assert!(page.get("_links").is_none(), "{page}");
    assert_eq!(rows(&page).len(), 5);
    assert!(page["total"].as_u64().unwrap() > 10);
}

fn user_without_connections(s: &SandboxHandle) -> SeededUser {
    s.control().create_user(0)
}

#[tokio::test]
async fn no_account_error_answers_400_no_account_for_a_user_without_connections() {
    let (s, linked) = sandbox().await;
    let lonely = user_without_connections(&s);
    let api = s.api_url();
    let routes = [
        format!("{api}/users/me/accounts"),
        format!("{api}/users/me/connections/1/accounts"),
        format!("{api}/users/me/transactions?limit=10"),
        format!("{api}/users/me/accounts/1/transactions?limit=10"),
    ];
    // Default: empty lists (or 404 for ids the user does not own).
    let (status, body) = get(&routes[0], &lonely.token).await;
    assert_eq!((status, &body["accounts"]), (200, &json!([])));
    let (status, body) = get(&routes[2], &lonely.token).await;
    assert_eq!((status, &body["transactions"]), (200, &json!([])));
    set_behaviour_over_http(&s, json!({"no_account_error": true})).await;
    for route in &routes {
        let (status, body) = get(route, &lonely.token).await;
        assert_eq!(status, 400, "{route}: {body}");
        let keys: BTreeSet<&str> = body
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.as_str())
            .collect();
        assert_eq!(
            keys,
            BTreeSet::from(["code", "description", "message", "request_id"]),
            "{body}"
        );
        assert_eq!(body["code"], "noAccount");
        assert!(body["description"].as_str().is_some_and(|d| !d.is_empty()));
        assert!(body["request_id"].is_u64());
    }
    // A user with a connection is not affected.
    let (status, body) = get(&routes[0], &linked.token).await;
    assert_eq!(status, 200, "{body}");
    assert!(!body["accounts"].as_array().unwrap().is_empty());
    // Once linked, the lonely user gets lists too.
    s.control().link_bank(lonely.id, 1).unwrap();
    let (status, _) = get(&routes[2], &lonely.token).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn an_endless_next_chain_continues_past_the_end_with_empty_pages() {
    let (s, u) = sandbox().await;
    set_behaviour_over_http(&s, json!({"endless_next": true})).await;
    let total = s.control().truth(u.id).unwrap().transactions.len() as u64;
    let mut url = tx_url(&s.api_url(), "limit=50");
    let mut offsets = Vec::new();
    let mut served = 0u64;
    for _ in 0..12 {
        let (_, page) = get(&url, &u.token).await;
        offsets.push(offset_of(&url));
        served += rows(&page).len() as u64;
        url = link(&page, "next", s.base_url()).expect("the chain never ends");
    }
    assert_eq!(served, total, "every row once, then empty pages");
    assert!(offsets.windows(2).all(|w| w[0] < w[1]), "{offsets:?}");
    assert!(offsets.last().unwrap() > &(total + 100));
}

#[tokio::test]
async fn reconnect_with_state_only_carries_no_connection_ids() {
    let (s, u) = sandbox().await;
    let connection = u.connection_ids[0].to_string();
    let reconnect = |state: &'static str| {
        let s = &s;
        let connection = connection.clone();
        let token = u.token.clone();
        async move {
            let (_, code) = get(&format!("{}/auth/token/code", s.api_url()), &token).await;
            let mut url = Url::parse(&format!("{}/fr/reconnect", s.base_url())).unwrap();
            url.query_pairs_mut()
                .append_pair("client_id", &s.credentials().client_id)
                .append_pair("code", code["code"].as_str().unwrap())
                .append_pair("connection_id", &connection)
                .append_pair("redirect_uri", "http://127.0.0.1:9/callback")
                .append_pair("state", state);
            let r = client().get(url.as_str()).send().await.unwrap();
            assert_eq!(r.status().as_u16(), 303);
            let location = r.headers()["location"].to_str().unwrap().to_owned();
            Url::parse(&location).unwrap()
        }
    };
    let pairs = |u: &Url| -> Vec<(String, String)> { u.query_pairs().into_owned().collect() };
    let before = reconnect("s1").await;
    assert!(pairs(&before).iter().any(|(k, _)| k == "connection_id"));
    set_behaviour_over_http(&s, json!({"reconnect_state_only": true})).await;
    let after = reconnect("s2").await;
    assert_eq!(pairs(&after), vec![("state".to_owned(), "s2".to_owned())]);
    assert_eq!(after.path(), "/callback");
}

#[tokio::test]
async fn the_realistic_profile_sets_what_the_docs_say() {
    let b = Profile::Realistic.behaviour();
    assert_eq!(
        b,
        ServerBehaviour {
            order: RowOrder::NewestFirst,
            page_cap: Some(REALISTIC_PAGE_CAP),
            next_link: NextLinkForm::RootRelative,
            no_account_error: true,
            endless_next: false,
            reconnect_state_only: true,
        }
    );
    assert_eq!(REALISTIC_PAGE_CAP, 7);
    assert_eq!(Profile::Realistic.maturation_mode(), MaturationMode::Mixed);
    let s = Sandbox::builder()
        .seed(7)
        .size(SandboxSize {
            users: 1,
            transactions_per_account: 20,
            ..SandboxSize::default()
        })
        .profile(Profile::Realistic)
        .start()
        .await
        .unwrap();
    assert_eq!(s.control().behaviour(), b);
    assert_eq!(s.control().maturation_mode(), MaturationMode::Mixed);
    let u = &s.users()[0];
    let (rows_seen, sizes) = scan(&s, &tx_url(&s.api_url(), "limit=50&all"), &u.token).await;
    assert!(sizes.iter().all(|n| *n <= 7), "{sizes:?}");
    let got = ids(&rows_seen);
    assert!(got.windows(2).all(|w| w[0] > w[1]), "newest first");
    assert_eq!(
        got.len(),
        s.control().truth(u.id).unwrap().transactions.len()
    );
    // And back to the default profile over HTTP.
    let (status, body) = put(
        format!("{}/__sandbox/profile", s.base_url()),
        json!({"profile": "default"}),
    )
    .await;
    assert_eq!(status, 204, "{body}");
    assert_eq!(s.control().behaviour(), ServerBehaviour::default());
    assert_eq!(s.control().maturation_mode(), MaturationMode::KeepId);
    let (status, body) = put(
        format!("{}/__sandbox/profile", s.base_url()),
        json!({"profile": "live"}),
    )
    .await;
    assert_eq!(status, 400);
    assert!(body.contains("default, realistic"), "{body}");
}

#[test]
fn profile_names_parse_and_an_unknown_name_lists_the_accepted_ones() {
    assert_eq!("default".parse::<Profile>(), Ok(Profile::Default));
    assert_eq!("realistic".parse::<Profile>(), Ok(Profile::Realistic));
    assert_eq!("REALISTIC".parse::<Profile>(), Ok(Profile::Realistic));
    assert_eq!(Profile::Realistic.to_string(), "realistic");
    assert_eq!(Profile::default(), Profile::Default);
    let err = "live".parse::<Profile>().unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown sandbox profile \"live\": expected one of default, realistic"
    );
    assert_eq!(
        serde_json::to_value(Profile::Realistic).unwrap(),
        json!("realistic")
    );
}

#[tokio::test]
async fn realistic_paging_with_inserts_and_maturations_mid_scan_loses_no_row() {
    let s = Sandbox::builder()
        .seed(11)
        .size(SandboxSize {
            users: 1,
            transactions_per_account: 30,
            ..SandboxSize::default()
        })
        .profile(Profile::Realistic)
        .start()
        .await
        .unwrap();
    let u = s.users()[0].clone();
    let truth = s.control().truth(u.id).unwrap();
    let before: BTreeSet<u64> = truth.transactions.iter().map(|t| t.id).collect();
    let account = truth.accounts.iter().find(|a| a.visible).unwrap().id;
    let pending: Vec<u64> = truth
        .transactions
        .iter()
        .filter(|t| t.coming)
        .map(|t| t.id)
        .take(4)
        .collect();
    let scope = PageScope::User(u.id);
    s.control().schedule(
        scope_trigger(scope, 1),
        Change::AddTransactions {
            account_id: account,
            count: 3,
            coming: true,
        },
    );
    for (i, id) in pending.iter().enumerate() {
        s.control().schedule(
            scope_trigger(scope, 2 + i as u32),
            Change::Mature {
                transaction_id: *id,
                mode: None,
                posted_value: None,
            },
        );
    }
    // limit 50 > the cap of 7: every page is short and not the last.
    let (got, sizes) = scan(&s, &tx_url(&s.api_url(), "limit=50&all"), &u.token).await;
    assert!(
        sizes.len() > 10 && sizes.iter().all(|n| *n <= 7),
        "{sizes:?}"
    );
    let seen: BTreeSet<u64> = ids(&got).into_iter().collect();
    let lost: Vec<&u64> = before.difference(&seen).collect();
    assert!(lost.is_empty(), "rows lost: {lost:?}");
    // Mixed maturation took both paths.
    let after = s.control().truth(u.id).unwrap();
    assert!(pending
        .iter()
        .any(|id| after.replaced.iter().any(|r| r.id == *id)));
    assert!(pending
        .iter()
        .any(|id| after.transactions.iter().any(|t| t.id == *id && !t.coming)));
}

#[tokio::test]
async fn the_binary_takes_a_profile_and_refuses_an_unknown_one() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    let mut child = Command::new(env!("CARGO_BIN_EXE_powens-sandbox"))
        .args(["--port", "0", "--profile", "realistic"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let base = first.strip_prefix("listening on ").unwrap().to_owned();
    let (status, b) = get(&format!("{base}/__sandbox/behaviour"), "").await;
    let (_, m) = get(&format!("{base}/__sandbox/maturation"), "").await;
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_value::<ServerBehaviour>(b).unwrap(),
        Profile::Realistic.behaviour()
    );
    assert_eq!(m, json!({"mode": "mixed"}));

    let out = Command::new(env!("CARGO_BIN_EXE_powens-sandbox"))
        .args(["--profile", "live"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("default, realistic"), "{stderr}");
}
