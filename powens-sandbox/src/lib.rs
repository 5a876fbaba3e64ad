//! A local fake Powens server on loopback, the ground truth for every test of the workspace.
//!
//! `powens-sandbox` is a real HTTP server (axum, `127.0.0.1`) that speaks the Powens surface the
//! connector uses, holds seeded deterministic data of any size, changes it on command (also in
//! the middle of a client's scan), delivers signed webhooks, injects faults, and states the exact
//! dataset a correct sync must end with ([`Truth`]). It writes Powens JSON with its own encoder
//! (it depends on no other crate of the workspace): money as exact JSON numbers, naive
//! Europe/Paris datetimes `YYYY-MM-DD HH:MM:SS`, dates `YYYY-MM-DD`, explicit `null`s,
//! `bookmarked` as 0/1.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use powens_sandbox::{Sandbox, SandboxSize};
//!
//! let sandbox = Sandbox::builder()
//!     .seed(7)
//!     .size(SandboxSize { users: 1, ..SandboxSize::default() })
//!     .start()
//!     .await?;
//! let user = &sandbox.users()[0];
//! let page: serde_json::Value = reqwest::Client::new()
//!     .get(format!("{}/users/me/transactions?limit=1000", sandbox.api_url()))
//!     .bearer_auth(&user.token)
//!     .send()
//!     .await?
//!     .json()
//!     .await?;
//! let truth = sandbox.control().truth(user.id)?;
//! assert_eq!(page["total"].as_u64(), Some(truth.transactions.len() as u64));
//! sandbox.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! # Routes
//!
//! Errors are Powens error JSON `{code, description, message, request_id}`. Every response
//! carries a `Date` header from the sandbox clock.
//!
//! | route | notes |
//! |---|---|
//! | `POST /2.0/auth/init` | `{client_id, client_secret}` → `{auth_token, type: "permanent", id_user, expires_in: null}`; without credentials a 30-minute temporary user (`expires_in: 1800`) |
//! | `GET /2.0/auth/token/code?type=` | `requestAccess` (default) / `singleAccess` → `{code, type: "temporary", access, expires_in}`; codes contain `/`, `_`, `+` |
//! | `POST /2.0/auth/token/access` | `{client_id, client_secret, code}` → `{access_token, token_type: "Bearer"}` |
//! | `POST /2.0/auth/renew` | `{client_id, client_secret, id_user, revoke_previous}` → `{access_token, token_type}` |
//! | `DELETE /2.0/auth/token` | revokes the bearer token (204) |
//! | `GET`/`DELETE /2.0/users/me` | `{id, signin, platform}`; delete sends `USER_DELETED` |
//! | `GET /2.0/users/me/connections?expand=` | `{connections, total}`; `expand` = `connector`, `sources`, `accounts`, `all_accounts` |
//! | `GET`/`PUT`/`POST`/`DELETE /2.0/users/me/connections/{id}` | `PUT`/`POST` = forced sync (stamps `last_update`, sends `CONNECTION_SYNCED`); delete sends `CONNECTION_DELETED` |
//! | `GET /2.0/users/me/accounts`, `/2.0/users/me/connections/{id}/accounts` | `{accounts, total, balance, balances, coming_balances}`; `all` reveals disabled and deleted accounts; 400 `noAccount` for a user without connections when [`ServerBehaviour::no_account_error`] is on |
//! | `GET /2.0/users/me/accounts/{id}` | 404 `notFound` for a disabled/deleted account without `all` |
//! | `GET /2.0/users/me/transactions`, `/2.0/users/me/accounts/{id}/transactions` | see below (and [Server behaviours](#server-behaviours)) |
//! | `GET /2.0/currencies` | no authentication |
//! | `POST`/`GET /webhooks/auth`, `DELETE /webhooks/auth/{id}` | configuration token as bearer; JSON body or query; names longer than 32 characters or with `-` → 500 `dataError`; create → `{id, type, name, config: {secret_key}}` |
//! | `GET /{lang}/connect`, `/connect` | Webview: validates `client_id`, `code`, `redirect_uri` (absolute, no query); links `max_connections` banks (default [`SandboxSize::connections_per_link`], capped); 303 to `redirect_uri?connection_id=…&connection_ids=…&state=…` |
//! | `GET /{lang}/reconnect`, `/reconnect` | takes `connection_id`; clears its error state, moves `expire` 180 days ahead; 303 to `redirect_uri?connection_id=…&connection_ids=…&state=…` (only `state` with [`ServerBehaviour::reconnect_state_only`]) |
//!
//! `{user}` in paths is `me` or the token's own user id. A missing, unknown, revoked or expired
//! token gets 401 `invalidToken`.
//!
//! # Transactions: parameters and order
//!
//! `limit` is required, 1..=1000 (missing → 400 `missingParameter`, out of range → 400
//! `invalidValue`); `offset` (default 0); `all` (key present = on: tombstones with `deleted`
//! set are listed); `deleted=true|false` (only tombstones / only live rows); `last_update`
//! (`YYYY-MM-DD HH:MM:SS`, naive Paris: rows whose `last_update` is strictly after it); `min_date`/`max_date` (`YYYY-MM-DD`, `YYYY-MM` or
//! `YYYY`, inclusive, on `application_date` unless `filter=date`). The envelope has
//! `transactions`, `first_date`/`last_date` (over the whole query), `result_min_date`/
//! `result_max_date` (this page), `total` and `_links` `{self, next, prev}` with absolute
//! `href`s on the sandbox host (`next` is `null` on the last page, `prev` on the first).
//! Only rows of visible (not disabled, not deleted) accounts are listed.
//!
//! **Order (default): ascending transaction id.** Ids only grow, so rows inserted while a client
//! pages come after everything it has read; with `all`, a deleted or matured-and-replaced row
//! stays in place as a tombstone and a matured-in-place row keeps its id, so offset paging never
//! skips a row. (Without `all`, a deletion before the current offset shifts later rows by one:
//! scan with `all`.) The other orders, page sizes and link shapes are
//! [server behaviours](#server-behaviours).
//!
//! # Server behaviours
//!
//! Where Powens allows several behaviours, [`ServerBehaviour`] picks one; each knob is
//! independent, set with [`SandboxBuilder::behaviour`], [`SandboxControl::set_behaviour`] or
//! `PUT /__sandbox/behaviour` (members left out take their default, unknown members are
//! refused). The defaults are the sandbox's historical behaviour.
//!
//! | knob | default | other values |
//! |---|---|---|
//! | `order` ([`RowOrder`]) | `oldest_first`: ascending id | `newest_first`: descending id (rows inserted during a scan come first and push the others back: an offset scan re-reads some rows, never loses one; tombstones stay in place with `all`); `interleaved`: ascending by a seeded hash of the id, neither ascending nor descending, the same order on every request and stable under inserts (an insert only pushes the rows after it back) |
//! | `page_cap` | `null`: serve `limit` rows | `n`: at most `n` rows a page (`0` counts as 1); `next`'s offset = `offset` + rows served, `null` on the real last page; `prev` = `offset` − the page size |
//! | `next_link` ([`NextLinkForm`]) | `absolute`: `{"href": "http://127.0.0.1:PORT/2.0/…?…"}` | `root_relative`: `{"href": "/2.0/…?…"}`; `bare_string`: `"next": "http://…"`; `absent`: no `_links` member (`self`, `next`, `prev` all follow the form; `null` stays `null`) |
//! | `no_account_error` | `false`: empty lists | `true`: for a user without any connection, the accounts lists (user and connection), the user's transactions and an account's transactions answer `400 {"code": "noAccount", "description", "message": null, "request_id"}` |
//! | `endless_next` | `false`: `next` is `null` on the last page | `true`: the last page and every page past it carry a `next` (offset + rows served, or + the page size on an empty page): an endless chain of empty pages |
//! | `reconnect_state_only` | `false` | `true`: the `/reconnect` redirect carries only `state` (as real Powens does) |
//!
//! Combining `absent` with a `page_cap` below the client's `limit` makes a capped page look like
//! the last one; no client can page that correctly.
//!
//! **Profiles** ([`Profile`], parsed from `default` / `realistic`): [`SandboxBuilder::profile`],
//! [`SandboxControl::set_profile`] or `PUT /__sandbox/profile {profile}` set both the behaviour
//! and the maturation mode.
//!
//! * [`Profile::Default`]: [`ServerBehaviour::default`] and [`MaturationMode::KeepId`].
//! * [`Profile::Realistic`]: `order: newest_first`, `page_cap: 7` ([`REALISTIC_PAGE_CAP`],
//!   below any page size of 8 or more: pages are short yet not last), `next_link:
//!   root_relative`, `no_account_error: true`, `endless_next: false`, `reconnect_state_only:
//!   true`, and [`MaturationMode::Mixed`].
//!
//! # Maturation modes ([`MaturationMode`])
//!
//! * [`MaturationMode::KeepId`]: the pending row keeps its id, `coming` flips to `false`,
//!   `date` becomes the clock's date, `last_update` moves to now.
//! * [`MaturationMode::Replace`]: the pending row is tombstoned (`deleted` = now) and a posted
//!   row with a new id, the same account and value, dated the clock's date, is appended.
//! * [`MaturationMode::Mixed`]: per row, odd ids as `KeepId`, even ids as `Replace`
//!   ([`MaturationMode::for_transaction`]).
//!
//! Either way the account's `coming` decreases by the pending value and its `balance` increases
//! by the posted value. [`Change::Mature`] (and [`SandboxControl::mature_with`]) may give a
//! `posted_value` different from the pending one (a card hold settling at another amount): with
//! `KeepId` the row takes it, with `Replace` the new row carries it.
//!
//! **Split over several changes** (so over several syncs), in either order:
//! [`Change::PostReplacement`] ([`SandboxControl::post_replacement`]) appends the posted row
//! (new id, optional other value; `balance` increases) without touching the provisional, and
//! [`Change::DeleteTransaction`] of the provisional (before or after; `coming` decreases)
//! completes the replacement. Until both halves happened the truth shows what the API shows:
//! posted only, the provisional is still a live pending row next to its posted row; deleted
//! only, the provisional is in [`Truth::deleted`]. Once both happened it is in
//! [`Truth::replaced`]. A row can be replaced once; [`Change::MatureComing`] skips rows whose
//! replacement is already posted.
//!
//! # Control API
//!
//! [`SandboxControl`] (from [`SandboxHandle::control`]): clock ([`SandboxControl::now`],
//! [`SandboxControl::advance`], [`SandboxControl::set_now`]); users and links
//! ([`SandboxControl::create_user`], [`SandboxControl::link_bank`]); data
//! ([`SandboxControl::apply`] with a [`Change`], and shortcuts `add_transactions`, `mature`,
//! `mature_with`, `post_replacement`, `delete_transaction`, `set_balance`,
//! `set_account_status`, `set_connection_state`, `set_connection_expire`); server behaviour
//! ([`SandboxControl::set_behaviour`], [`SandboxControl::behaviour`],
//! [`SandboxControl::set_profile`], [`SandboxControl::set_maturation_mode`]); [`SandboxControl::schedule`] a change after page k of a listing
//! ([`Trigger`], [`PageScope`]); [`SandboxControl::inject_fault`] ([`FaultRule`]: 429 with
//! `Retry-After` seconds or HTTP date, 5xx HTML, delay, dropped connection, truncated JSON);
//! [`SandboxControl::deny_webview`]; webhooks ([`SandboxControl::register_webhook`],
//! `create_auth_provider`, `emit_*`, [`SandboxControl::webhook_deliveries`],
//! [`SandboxControl::wait_for_webhooks`]); [`SandboxControl::truth`]. Every change stamps
//! `last_update` with the sandbox clock, which is frozen unless advanced
//! ([`ClockMode::Ticking`] follows real time).
//!
//! The same over HTTP (JSON bodies, amounts as strings): `GET /__sandbox/clock`,
//! `POST /__sandbox/clock/advance {seconds}`, `POST /__sandbox/clock/set {now}`,
//! `POST /__sandbox/users {connections?}` → [`SeededUser`], `POST /__sandbox/users/{id}/link
//! {count}`, `POST /__sandbox/changes` ([`Change`], e.g. `{"mature": {"transaction_id": 9}}`,
//! `{"post_replacement": {"transaction_id": 9, "posted_value": "-12.30"}}`)
//! → [`ChangeOutcome`], `POST /__sandbox/schedule {trigger, change}`,
//! `PUT`/`GET /__sandbox/maturation {mode: "keep_id"|"replace"|"mixed"}`,
//! `PUT`/`GET /__sandbox/behaviour` ([`ServerBehaviour`]), `PUT /__sandbox/profile
//! {profile: "default"|"realistic"}`, `GET /__sandbox/truth/{user_id}`,
//! `POST`/`DELETE /__sandbox/faults` ([`FaultRule`]), `PUT /__sandbox/webview/denial
//! {description}`, `POST /__sandbox/webhooks {event, url}`, `GET /__sandbox/webhooks/deliveries`,
//! `POST /__sandbox/webhooks/render {event: "CONNECTION_SYNCED", connection_id, path}` →
//! [`RenderedWebhook`] (signed for `path`, not sent),
//! `PUT /__sandbox/connections/{id}/state {state}`, `PUT /__sandbox/accounts/{id}/status`
//! ([`AccountStatus`]), `POST /__sandbox/events {event, connection_id?, user_id?}`.
//!
//! # Truth
//!
//! [`Truth`] (serde): `connections` (id, state, expire), `accounts` (every account with
//! balance/coming/coming_balance as `Decimal`, currency code and published precision, and
//! `visible`), `transactions` (live rows of visible accounts, by id, with `coming`), `replaced`
//! (provisional id → posted id and `posted_value_differs`, by provisional id, once the posted
//! row exists AND the provisional is deleted: [`MaturationMode::Replace`] or a split
//! maturation), `deleted` (ids deleted without a completed replacement).
//!
//! # Webhooks
//!
//! Receivers are registered per [`WebhookEvent`]. Bodies carry a unique `id_webhook_data`;
//! when an HMAC auth provider exists (created on `/webhooks/auth` or with
//! [`SandboxControl::create_auth_provider`]) they are signed with the newest one's secret:
//! `BI-Signature` = base64(HMAC-SHA256(secret,
//! `"POST." + path + "." + BI-Signature-Date + "." + body`)) ([`sign`]), `BI-Signature-Date` = the sandbox clock in UTC like
//! `2026-06-18T06:00:00.000000Z`. A non-2xx answer or a transport error is retried (same body,
//! same `id_webhook_data`) up to the configured number of attempts.
//! `CONNECTION_SYNCED` = `{user, connection: {…, accounts: [{…, transactions}]}, id_webhook_data}`
//! with every live row on the first push and the rows changed since the previous push after.
//!
//! # Data
//!
//! Seeded by `(seed, user, connection ordinal, account index)`: account k's content does not
//! depend on generation order (ids do: they are global counters). Accounts cycle checking,
//! savings, card, loan; the first of each connection is EUR, the others cycle GBP, JPY (0
//! decimals), KWD (3), XBT (not ISO 4217, precision 8), GEMS (made up, `precision: null`), EUR.
//! The newest tenth of each account's rows are pending; transfers and direct debits carry a
//! counterparty (`{label, account_scheme_name, account_identification, type}`); some accounts
//! are disabled, deleted or carry an `error`; connections after the first of a user draw states
//! such as `SCARequired`, `wrongpass`, `websiteUnavailable`; about a third have an `expire`
//! within a week.

mod behaviour;
mod browser;
mod builder;
mod changes;
mod clock;
mod control;
mod currency;
mod error;
mod events;
mod faults;
mod generate;
mod json;
mod model;
mod query;
mod render;
mod rng;
mod server;
mod store;
mod truth;
mod webhooks;

pub use behaviour::{
    NextLinkForm, Profile, RowOrder, ServerBehaviour, UnknownProfile, REALISTIC_PAGE_CAP,
};
pub use browser::{follow_webview, WebviewBrowser, WebviewCallback};
pub use builder::{Credentials, Sandbox, SandboxBuilder, SandboxHandle, SandboxSize};
pub use clock::ClockMode;
pub use control::{
    AccountStatus, Change, ChangeOutcome, MaturationMode, PageScope, RenderedWebhook,
    SandboxControl, SeededUser, Trigger, MAX_CONNECTIONS_PER_CALL, MAX_TRANSACTIONS_PER_CHANGE,
};
pub use error::SandboxError;
pub use faults::{
    Fault, FaultRoute, FaultRule, RetryAfter, CONTROL_CHARACTER_WORDING, INVALID_UTF8_WORDING,
    MALFORMED_VALUE,
};
pub use truth::{
    ReplacedTransaction, Truth, TruthAccount, TruthConnection, TruthCounterparty, TruthTransaction,
};
pub use webhooks::{sign, WebhookDelivery, WebhookEvent};
