//! Each endpoint hit once against the local stub: method, path, query, auth header and body
//! are asserted on the stub's record, and the answer is decoded.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use chrono::NaiveDate;
use powens_api::accounts::{AccountExpand, AccountsQuery};
use powens_api::auth::{CodeExchange, CodeType, TokenRenewal, TokenType};
use powens_api::connections::{ConnectionExpand, ConnectionsQuery};
use powens_api::transactions::{CalendarBound, DateFilter, TransactionsQuery};
use powens_api::webhooks_auth::{AuthProviderType, WebhookAuthName};
use powens_api::wire::PowensDateTime;
use secrecy::{ExposeSecret, SecretString};
use support::{client, fixture, Reply, Stub, CLIENT_SECRET, CONFIG_TOKEN, USER_TOKEN};

fn bearer(token: &str) -> Option<String> {
    Some(format!("Bearer {token}"))
}

async fn stub_answering(reply: impl Fn() -> Reply + Send + Sync + 'static) -> Stub {
    Stub::start(move |_, _| reply()).await
}

#[tokio::test]
async fn auth_init_posts_client_credentials_without_bearer() {
    let stub = stub_answering(|| {
        Reply::json(
            200,
            r#"{"auth_token":"perm-token-1","type":"permanent","id_user":7,"expires_in":null}"#,
        )
    })
    .await;
    let (client, _) = client(&stub);
    let token = client.auth_init(&support::credentials()).await.unwrap();
    assert_eq!(token.auth_token.expose_secret(), "perm-token-1");
    assert_eq!(token.token_type, TokenType::Permanent);
    assert_eq!(token.id_user, 7);
    assert_eq!(token.expires_in, None);
    let request = stub.single();
    assert_eq!(
        (request.method.as_str(), request.path.as_str()),
        ("POST", "/2.0/auth/init")
    );
    assert_eq!(request.authorization, None);
    assert_eq!(request.content_type.as_deref(), Some("application/json"));
    assert_eq!(
        request.body_json(),
        serde_json::json!({"client_id": "12345678", "client_secret": CLIENT_SECRET})
    );
    assert_eq!(
        request.user_agent.as_deref(),
        Some(concat!("powens-api/", env!("CARGO_PKG_VERSION")))
    );
}

#[tokio::test]
async fn auth_token_code_sends_the_type_and_the_user_token() {
    let stub = stub_answering(|| {
        Reply::json(
            200,
            r#"{"code":"tmp/code+1==","type":"temporary","access":"single","expires_in":1800}"#,
        )
    })
    .await;
    let (client, _) = client(&stub);
    let code = client
        .auth_token_code(&support::user_token(), Some(CodeType::SingleAccess))
        .await
        .unwrap();
    assert_eq!(code.code.expose_secret(), "tmp/code+1==");
    assert_eq!(code.expires_in, Some(1800));
    let request = stub.single();
    assert_eq!(
        (request.method.as_str(), request.path.as_str()),
        ("GET", "/2.0/auth/token/code")
    );
    assert_eq!(request.query.as_deref(), Some("type=singleAccess"));
    assert_eq!(request.authorization, bearer(USER_TOKEN));
}

#[tokio::test]
async fn auth_token_access_exchanges_a_code() {
    let stub =
        stub_answering(|| Reply::json(200, r#"{"access_token":"perm-2","token_type":"Bearer"}"#))
            .await;
    let (client, _) = client(&stub);
    let exchange = CodeExchange {
        credentials: support::credentials(),
        code: SecretString::from("callback-code"),
        redirect_uri: Some("https://app.example.com/cb".to_owned()),
    };
    let token = client.auth_token_access(&exchange).await.unwrap();
    assert_eq!(token.access_token.expose_secret(), "perm-2");
    let request = stub.single();
    assert_eq!(
        (request.method.as_str(), request.path.as_str()),
        ("POST", "/2.0/auth/token/access")
    );
    assert_eq!(request.authorization, None);
    assert_eq!(
        request.body_json(),
        serde_json::json!({"grant_type": "authorization_code", "client_id": "12345678",
            "client_secret": CLIENT_SECRET, "code": "callback-code",
            "redirect_uri": "https://app.example.com/cb"})
    );
}

#[tokio::test]
async fn auth_renew_posts_the_user_id() {
    let stub =
        stub_answering(|| Reply::json(200, r#"{"access_token":"perm-3","token_type":"Bearer"}"#))
            .await;
    let (client, _) = client(&stub);
    let renewal = TokenRenewal {
        credentials: support::credentials(),
        id_user: 7,
        revoke_previous: true,
    };
    let token = client.auth_renew(&renewal).await.unwrap();
    assert_eq!(token.access_token.expose_secret(), "perm-3");
    let request = stub.single();
    assert_eq!(
        (request.method.as_str(), request.path.as_str()),
        ("POST", "/2.0/auth/renew")
    );
    assert_eq!(
        request.body_json(),
        serde_json::json!({"grant_type": "client_credentials", "client_id": "12345678",
            "client_secret": CLIENT_SECRET, "id_user": 7, "revoke_previous": true})
    );
}

#[tokio::test]
async fn revoke_token_deletes_auth_token() {
    let stub = stub_answering(|| Reply::empty(204)).await;
    let (client, _) = client(&stub);
    client.revoke_token(&support::user_token()).await.unwrap();
    let request = stub.single();
    assert_eq!(
        (request.method.as_str(), request.path.as_str()),
        ("DELETE", "/2.0/auth/token")
    );
    assert_eq!(request.authorization, bearer(USER_TOKEN));
}

#[tokio::test]
async fn get_me_reads_the_user() {
    let stub = stub_answering(|| Reply::json(200, fixture("user.json"))).await;
    let (client, _) = client(&stub);
    let user = client.get_me(&support::user_token()).await.unwrap();
    assert_eq!(user.id, 7);
    let request = stub.single();
    assert_eq!(
        (request.method.as_str(), request.path.as_str()),
        ("GET", "/2.0/users/me")
    );
    assert_eq!(request.query, None);
    assert_eq!(request.authorization, bearer(USER_TOKEN));
}

#[tokio::test]
async fn delete_me_deletes_the_user() {
    let stub = stub_answering(|| Reply::empty(204)).await;
    let (client, _) = client(&stub);
    client.delete_me(&support::user_token()).await.unwrap();
    let request = stub.single();
    assert_eq!(
        (request.method.as_str(), request.path.as_str()),
        ("DELETE", "/2.0/users/me")
    );
    assert_eq!(request.authorization, bearer(USER_TOKEN));
}

#[tokio::test]
async fn list_connections_sends_expand_as_one_comma_list() {
    let stub = stub_answering(|| Reply::json(200, fixture("connections_list.json"))).await;
    let (client, _) = client(&stub);
    let query = ConnectionsQuery::new()
        .expand(ConnectionExpand::Connector)
        .expand(ConnectionExpand::Sources);
    let list = client
        .list_connections(&support::user_token(), &query)
        .await
        .unwrap();
    assert_eq!(list.connections.len(), 6);
    let request = stub.single();
    assert_eq!(
        (request.method.as_str(), request.path.as_str()),
        ("GET", "/2.0/users/me/connections")
    );
    assert_eq!(request.query.as_deref(), Some("expand=connector%2Csources"));
    assert_eq!(request.authorization, bearer(USER_TOKEN));
}

#[tokio::test]
async fn get_connection_reads_one_connection() {
    let stub = stub_answering(|| {
        Reply::json(
            200,
            r#"{"id":7,"id_user":7,"id_connector":40,"state":"decoupled"}"#,
        )
    })
    .await;
    let (client, _) = client(&stub);
    let connection = client
        .get_connection(&support::user_token(), 7, &ConnectionsQuery::new())
        .await
        .unwrap();
    assert_eq!(connection.id, 7);
    let request = stub.single();
    assert_eq!(
        (request.method.as_str(), request.path.as_str()),
        ("GET", "/2.0/users/me/connections/7")
    );
    assert_eq!(request.query, None);
}

#[tokio::test]
async fn delete_connection_deletes_it() {
    let stub = stub_answering(|| Reply::empty(204)).await;
    let (client, _) = client(&stub);
    client
        .delete_connection(&support::user_token(), 7)
        .await
        .unwrap();
    let request = stub.single();
    assert_eq!(
        (request.method.as_str(), request.path.as_str()),
        ("DELETE", "/2.0/users/me/connections/7")
    );
    assert_eq!(request.authorization, bearer(USER_TOKEN));
}

#[tokio::test]
async fn sync_connection_puts_and_reads_the_connection_or_nothing() {
    let stub = Stub::start(|_, index| {
        if index == 0 {
            Reply::json(200, r#"{"id":7,"state":null,"next_try":null}"#)
        } else {
            Reply::empty(204)
        }
    })
    .await;
    let (client, _) = client(&stub);
    let first = client
        .sync_connection(&support::user_token(), 7)
        .await
        .unwrap();
    assert_eq!(first.unwrap().id, 7);
    let second = client
        .sync_connection(&support::user_token(), 7)
        .await
        .unwrap();
    assert!(second.is_none());
    for request in stub.requests() {
        assert_eq!(
            (request.method.as_str(), request.path.as_str()),
            ("PUT", "/2.0/users/me/connections/7")
        );
        assert_eq!(request.authorization, bearer(USER_TOKEN));
    }
}

#[tokio::test]
async fn list_accounts_sends_all_as_a_value_less_flag() {
    let stub = stub_answering(|| Reply::json(200, fixture("accounts_list.json"))).await;
    let (client, _) = client(&stub);
    let query = AccountsQuery::new()
        .all(true)
        .expand(AccountExpand::Connection);
    let list = client
        .list_accounts(&support::user_token(), &query)
        .await
        .unwrap();
    assert_eq!(list.accounts.len(), 3);
    let request = stub.single();
    assert_eq!(
        (request.method.as_str(), request.path.as_str()),
        ("GET", "/2.0/users/me/accounts")
    );
    assert_eq!(request.query.as_deref(), Some("all&expand=connection"));
}

#[tokio::test]
async fn list_connection_accounts_uses_the_connection_route() {
    let stub = stub_answering(|| Reply::json(200, fixture("accounts_list.json"))).await;
    let (client, _) = client(&stub);
    client
        .list_connection_accounts(&support::user_token(), 7, &AccountsQuery::new())
        .await
        .unwrap();
    let request = stub.single();
    assert_eq!(
        (request.method.as_str(), request.path.as_str()),
        ("GET", "/2.0/users/me/connections/7/accounts")
    );
    assert_eq!(request.query, None);
}

#[tokio::test]
async fn get_account_reads_one_account() {
    let stub = stub_answering(|| Reply::json(200, fixture("bank_account_checking.json"))).await;
    let (client, _) = client(&stub);
    let account = client
        .get_account(&support::user_token(), 17, &AccountsQuery::new().all(true))
        .await
        .unwrap();
    assert_eq!(account.id, 17);
    let request = stub.single();
    assert_eq!(
        (request.method.as_str(), request.path.as_str()),
        ("GET", "/2.0/users/me/accounts/17")
    );
    assert_eq!(request.query.as_deref(), Some("all"));
}

#[tokio::test]
async fn user_transactions_send_every_filter() {
    let stub = stub_answering(|| Reply::json(200, fixture("transactions_page.json"))).await;
    let (client, _) = client(&stub);
    let query = TransactionsQuery::new(1000)
        .offset(2000)
        .all(true)
        .last_update(PowensDateTime::parse("2026-06-18 06:00:00").unwrap())
        .min_date(CalendarBound::Day(
            NaiveDate::from_ymd_opt(2026, 1, 31).unwrap(),
        ))
        .max_date(CalendarBound::Month {
            year: 2026,
            month: 6,
        })
        .filter(DateFilter::Date);
    let page = client
        .transactions(&support::user_token(), &query)
        .page()
        .await
        .unwrap();
    assert_eq!(page.transactions.len(), 2);
    assert_eq!(page.total, Some(1834));
    let request = stub.single();
    assert_eq!(
        (request.method.as_str(), request.path.as_str()),
        ("GET", "/2.0/users/me/transactions")
    );
    assert_eq!(
        request.query.as_deref(),
        Some("limit=1000&offset=2000&all&last_update=2026-06-18+06%3A00%3A00&min_date=2026-01-31&max_date=2026-06&filter=date")
    );
    assert_eq!(request.authorization, bearer(USER_TOKEN));
}

#[tokio::test]
async fn account_transactions_use_the_account_route() {
    let stub = stub_answering(|| Reply::json(200, fixture("transactions_page.json"))).await;
    let (client, _) = client(&stub);
    client
        .account_transactions(&support::user_token(), 17, &TransactionsQuery::new(25))
        .page()
        .await
        .unwrap();
    let request = stub.single();
    assert_eq!(
        (request.method.as_str(), request.path.as_str()),
        ("GET", "/2.0/users/me/accounts/17/transactions")
    );
    assert_eq!(request.query.as_deref(), Some("limit=25"));
}

#[tokio::test]
async fn transaction_limit_outside_1_to_1000_is_refused_before_sending() {
    let stub = stub_answering(|| Reply::json(200, fixture("transactions_page.json"))).await;
    let (client, _) = client(&stub);
    for limit in [0, 1001] {
        let err = client
            .transactions(&support::user_token(), &TransactionsQuery::new(limit))
            .page()
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                powens_api::Error::InvalidRequest { field: "limit", .. }
            ),
            "{err:?}"
        );
    }
    assert!(stub.requests().is_empty());
}

#[tokio::test]
async fn list_currencies_works_with_and_without_a_token() {
    let stub = stub_answering(|| Reply::json(200, fixture("currencies.json"))).await;
    let (client, _) = client(&stub);
    let list = client.list_currencies(None).await.unwrap();
    assert_eq!(list.currencies.len(), 4);
    client
        .list_currencies(Some(&support::user_token()))
        .await
        .unwrap();
    let requests = stub.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(
        (requests[0].method.as_str(), requests[0].path.as_str()),
        ("GET", "/2.0/currencies")
    );
    assert_eq!(requests[0].authorization, None);
    assert_eq!(requests[1].authorization, bearer(USER_TOKEN));
}

#[tokio::test]
async fn create_webhook_auth_posts_without_version_prefix_using_the_configuration_token() {
    let stub = stub_answering(|| {
        Reply::json(
            200,
            r#"{"id":3,"type":"hmac_signature","name":"formance1","config":{"secret_key":"whsec-123"}}"#,
        )
    })
    .await;
    let (client, _) = client(&stub);
    let name = WebhookAuthName::new("formance1").unwrap();
    let created = client
        .create_webhook_auth(&support::config_token(), &name)
        .await
        .unwrap();
    assert_eq!(created.id, 3);
    assert_eq!(created.provider_type, Some(AuthProviderType::HmacSignature));
    assert_eq!(
        created.config.unwrap().secret_key.unwrap().expose_secret(),
        "whsec-123"
    );
    let request = stub.single();
    assert_eq!(
        (request.method.as_str(), request.path.as_str()),
        ("POST", "/webhooks/auth")
    );
    assert_eq!(
        request.query.as_deref(),
        Some("type=hmac_signature&name=formance1")
    );
    assert_eq!(
        request.body_json(),
        serde_json::json!({"type": "hmac_signature", "name": "formance1"})
    );
    assert_eq!(request.authorization, bearer(CONFIG_TOKEN));
}

#[tokio::test]
async fn list_webhook_auths_reads_authproviders() {
    let stub = stub_answering(|| {
        Reply::json(
            200,
            r#"{"authproviders":[{"id":3,"type":"hmac_signature","name":"formance1"},{"id":4,"type":"oauth","name":"other"}],"total":2}"#,
        )
    })
    .await;
    let (client, _) = client(&stub);
    let list = client
        .list_webhook_auths(&support::config_token())
        .await
        .unwrap();
    assert_eq!(list.authproviders.len(), 2);
    assert_eq!(
        list.authproviders[1].provider_type,
        Some(AuthProviderType::Oauth)
    );
    let request = stub.single();
    assert_eq!(
        (request.method.as_str(), request.path.as_str()),
        ("GET", "/webhooks/auth")
    );
    assert_eq!(request.authorization, bearer(CONFIG_TOKEN));
}

#[tokio::test]
async fn delete_webhook_auth_deletes_by_id() {
    let stub = stub_answering(|| Reply::empty(204)).await;
    let (client, _) = client(&stub);
    client
        .delete_webhook_auth(&support::config_token(), 3)
        .await
        .unwrap();
    let request = stub.single();
    assert_eq!(
        (request.method.as_str(), request.path.as_str()),
        ("DELETE", "/webhooks/auth/3")
    );
    assert_eq!(request.authorization, bearer(CONFIG_TOKEN));
}

#[test]
fn webhook_auth_names_are_validated_before_sending() {
    assert!(WebhookAuthName::new("formance1").is_ok());
    assert!(WebhookAuthName::new("A".repeat(32)).is_ok());
    for bad in ["", "with-dash", "with space", "é", &"a".repeat(33)] {
        assert!(
            matches!(
                WebhookAuthName::new(bad),
                Err(powens_api::Error::InvalidRequest { field: "name", .. })
            ),
            "{bad:?} accepted"
        );
    }
}

#[tokio::test]
async fn endpoint_without_version_segment_still_prefixes_data_routes() {
    let stub = stub_answering(|| Reply::json(200, fixture("user.json"))).await;
    let client = powens_api::PowensClient::builder(stub.base.clone())
        .rate_limit(None)
        .build()
        .unwrap();
    client.get_me(&support::user_token()).await.unwrap();
    assert_eq!(stub.single().path, "/2.0/users/me");
}

#[tokio::test]
async fn a_redirect_on_auth_is_not_followed_so_the_client_secret_is_sent_once() {
    let stub = Stub::start(|request, _| {
        if request.path == "/2.0/auth/init" {
            Reply::empty(307).header("location", "/elsewhere/collect")
        } else {
            Reply::json(200, r#"{"auth_token":"t","type":"permanent","id_user":7}"#)
        }
    })
    .await;
    let (client, _) = client(&stub);
    let err = client.auth_init(&support::credentials()).await.unwrap_err();
    assert!(err.to_string().contains("307"), "{err}");
    // The secret went to /auth/init only: the redirect's target never saw a request.
    let request = stub.single();
    assert_eq!(request.path, "/2.0/auth/init");
}
