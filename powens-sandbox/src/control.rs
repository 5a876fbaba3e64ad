//! The control API: move the clock, change data, schedule changes during a scan, inject faults,
//! register webhook receivers, and read the truth. [`SandboxControl`] is the Rust face; the same
//! operations are served over HTTP under `/__sandbox/` (see the crate documentation).

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use chrono::{NaiveDate, NaiveDateTime, TimeDelta};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::behaviour::{Profile, ServerBehaviour};
use crate::error::SandboxError;
use crate::events;
use crate::faults::{FaultBook, FaultRule};
use crate::store::{Scheduled, Store};
use crate::truth::{truth_of, Truth};
use crate::webhooks::{WebhookDelivery, WebhookEvent, WebhookHub};

/// How a pending (`coming`) transaction matures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MaturationMode {
    /// Keep the id: `coming` flips to false, `date` becomes the clock's date, `last_update` moves.
    #[default]
    KeepId,
    /// Tombstone the provisional row (`deleted` set) and create a posted row with a new id, same
    /// account and value, dated the clock's date.
    Replace,
    /// Per row, deterministically: odd ids mature as [`KeepId`](Self::KeepId), even ids as
    /// [`Replace`](Self::Replace) (see [`MaturationMode::for_transaction`]).
    Mixed,
}

impl MaturationMode {
    /// The mode a given pending row matures with: [`KeepId`](Self::KeepId) or
    /// [`Replace`](Self::Replace) (never [`Mixed`](Self::Mixed)). For `Mixed`: odd ids keep
    /// their id, even ids are replaced.
    pub fn for_transaction(self, transaction_id: u64) -> MaturationMode {
        match self {
            Self::Mixed if transaction_id.is_multiple_of(2) => Self::Replace,
            Self::Mixed => Self::KeepId,
            other => other,
        }
    }
}

/// The most transactions one [`Change::AddTransactions`] may append (larger data sets are
/// seeded with [`SandboxSize`](crate::SandboxSize) or several changes).
pub const MAX_TRANSACTIONS_PER_CHANGE: u32 = 1_000_000;

/// The most connections one HTTP control call (`users`, `link`) may create.
pub const MAX_CONNECTIONS_PER_CALL: u32 = 1_000;

/// One data change. In HTTP control bodies amounts are strings (`"-12.50"`), and the enum is
/// externally tagged: `{"add_transactions": {"account_id": 3, "count": 10}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// Append `count` seeded transactions dated today.
    AddTransactions {
        /// Target account.
        account_id: u64,
        /// How many.
        count: u32,
        /// Pending rows.
        #[serde(default)]
        coming: bool,
    },
    /// Append one transaction with an exact value.
    AddTransaction {
        /// Target account.
        account_id: u64,
        /// Signed value (at most the currency's decimals).
        #[serde(with = "rust_decimal::serde::str")]
        value: Decimal,
        /// Date (default: the clock's date).
        #[serde(default)]
        date: Option<NaiveDate>,
        /// Pending row.
        #[serde(default)]
        coming: bool,
        /// Label (default: a generated one).
        #[serde(default)]
        wording: Option<String>,
    },
    /// Mature one pending row (mode: the sandbox's current one unless given) in one change.
    Mature {
        /// The pending row (live, `coming`, without a posted replacement yet).
        transaction_id: u64,
        /// Override of the maturation mode.
        #[serde(default)]
        mode: Option<MaturationMode>,
        /// The posted amount when it differs from the pending one (a card hold settling at
        /// another amount); `None` = the pending row's value. With `KeepId` the row takes this
        /// value, with `Replace` the new posted row carries it.
        #[serde(default, with = "rust_decimal::serde::str_option")]
        posted_value: Option<Decimal>,
    },
    /// The first or second half of a maturation split over several changes: append the posted
    /// row (new id, same account, dated the clock's date, `coming: false`) for a pending row
    /// WITHOUT deleting the provisional. A [`Change::DeleteTransaction`] of the provisional
    /// (before or after) completes the replacement; the pairing is recorded, so
    /// [`Truth::replaced`](crate::Truth::replaced) lists the provisional once both halves
    /// happened.
    PostReplacement {
        /// The pending row (live or already deleted, never matured nor replaced before).
        transaction_id: u64,
        /// The posted amount (`None` = the pending row's value).
        #[serde(default, with = "rust_decimal::serde::str_option")]
        posted_value: Option<Decimal>,
    },
    /// Mature the `count` oldest pending rows of an account.
    MatureComing {
        /// The account.
        account_id: u64,
        /// How many.
        count: u32,
        /// Override of the maturation mode.
        #[serde(default)]
        mode: Option<MaturationMode>,
    },
    /// Delete (tombstone) a row.
    DeleteTransaction {
        /// The row.
        transaction_id: u64,
    },
    /// Set an account's booked balance.
    SetBalance {
        /// The account.
        account_id: u64,
        /// The new balance.
        #[serde(with = "rust_decimal::serde::str")]
        balance: Decimal,
    },
    /// Move the clock forward.
    AdvanceClock {
        /// Seconds.
        seconds: i64,
    },
}

/// What a change did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeOutcome {
    /// New transaction ids.
    pub created: Vec<u64>,
    /// Transactions changed in place (maturation keeping the id).
    pub updated: Vec<u64>,
    /// Transactions tombstoned.
    pub deleted: Vec<u64>,
}

/// Which transaction listing a trigger watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PageScope {
    /// `GET /users/me/transactions` of this user.
    User(u64),
    /// `GET /users/me/accounts/{id}/transactions` of this account.
    Account(u64),
}

/// "After the `after_page`-th page of `scope` is served (counted from when it is scheduled)".
/// The change is applied after the page body is built and before it is sent, so the client's
/// next request sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trigger {
    /// The watched listing.
    pub scope: PageScope,
    /// 1-based page count.
    pub after_page: u32,
}

/// A user created by the sandbox with a permanent token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeededUser {
    /// Powens user id.
    pub id: u64,
    /// Permanent user token (a sandbox token: not a real secret).
    pub token: String,
    /// Connections linked at creation.
    pub connection_ids: Vec<u64>,
}

/// State shared by the server and the control handle.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) store: Mutex<Store>,
    pub(crate) faults: Mutex<FaultBook>,
    pub(crate) webhooks: WebhookHub,
    pub(crate) base_url: String,
}

impl Shared {
    pub(crate) fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn faults(&self) -> MutexGuard<'_, FaultBook> {
        self.faults.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The control API of a running sandbox (cheap to clone).
#[derive(Debug, Clone)]
pub struct SandboxControl {
    pub(crate) shared: Arc<Shared>,
}

impl SandboxControl {
    /// The sandbox clock (naive Europe/Paris wall-clock time).
    pub fn now(&self) -> NaiveDateTime {
        self.shared.store().now()
    }

    /// Moves the clock forward (or backward with a negative delta). The clock stays between
    /// 1970-01-02 00:00:00 and 9999-12-30 00:00:00 (the years an HTTP `Date` header can carry):
    /// a move past either end stops at it.
    pub fn advance(&self, by: TimeDelta) {
        self.shared.store().clock.advance(by);
    }

    /// Sets the clock (brought into 1970-01-02 00:00:00 ..= 9999-12-30 00:00:00, see
    /// [`advance`](Self::advance)).
    pub fn set_now(&self, at: NaiveDateTime) {
        self.shared.store().clock.set(at);
    }

    /// Creates a permanent user with `connections` seeded connections and a token.
    pub fn create_user(&self, connections: u32) -> SeededUser {
        let (user, ids) = {
            let mut store = self.shared.store();
            let id = store.create_user(true);
            let token = store.mint_token(id, None);
            let ids = store.link_connections(id, connections);
            (
                SeededUser {
                    id,
                    token,
                    connection_ids: ids.clone(),
                },
                ids,
            )
        };
        for c in ids {
            events::connection_synced(&self.shared, user.id, c);
        }
        user
    }

    /// How many users exist: seeded, created by `/auth/init` or [`create_user`](Self::create_user),
    /// and not deleted. A test reads it to prove that a refused request created no (billable)
    /// user.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let sandbox = powens_sandbox::Sandbox::builder().start().await?;
    /// assert_eq!(sandbox.control().user_count(), 0);
    /// sandbox.control().create_user(1);
    /// assert_eq!(sandbox.control().user_count(), 1);
    /// # Ok(())
    /// # }
    /// ```
    pub fn user_count(&self) -> usize {
        self.shared.store().users.len()
    }

    /// A new permanent token for an existing user.
    pub fn new_token(&self, user_id: u64) -> Result<String, SandboxError> {
        let mut store = self.shared.store();
        if !store.users.contains_key(&user_id) {
            return Err(SandboxError::UnknownUser(user_id));
        }
        Ok(store.mint_token(user_id, None))
    }

    /// Links `count` seeded connections to a user (what the Webview does); fires
    /// `CONNECTION_SYNCED` for each. Returns the new connection ids.
    pub fn link_bank(&self, user_id: u64, count: u32) -> Result<Vec<u64>, SandboxError> {
        let ids = {
            let mut store = self.shared.store();
            if !store.users.contains_key(&user_id) {
                return Err(SandboxError::UnknownUser(user_id));
            }
            store.link_connections(user_id, count)
        };
        for &c in &ids {
            events::connection_synced(&self.shared, user_id, c);
        }
        Ok(ids)
    }

    /// Applies a change now.
    pub fn apply(&self, change: Change) -> Result<ChangeOutcome, SandboxError> {
        self.shared.store().apply_change(&change)
    }

    /// Appends `count` seeded transactions to an account.
    pub fn add_transactions(
        &self,
        account_id: u64,
        count: u32,
        coming: bool,
    ) -> Result<Vec<u64>, SandboxError> {
        self.apply(Change::AddTransactions {
            account_id,
            count,
            coming,
        })
        .map(|o| o.created)
    }

    /// Matures a pending row with the current [`MaturationMode`].
    pub fn mature(&self, transaction_id: u64) -> Result<ChangeOutcome, SandboxError> {
        self.apply(Change::Mature {
            transaction_id,
            mode: None,
            posted_value: None,
        })
    }

    /// Matures a pending row with a given mode (`None` = the current one) and posted amount
    /// (`None` = the pending value): [`Change::Mature`]. Both arguments also take a bare
    /// value: `mature_with(id, MaturationMode::Replace, dec!(-12.30))`.
    pub fn mature_with(
        &self,
        transaction_id: u64,
        mode: impl Into<Option<MaturationMode>>,
        posted_value: impl Into<Option<Decimal>>,
    ) -> Result<ChangeOutcome, SandboxError> {
        self.apply(Change::Mature {
            transaction_id,
            mode: mode.into(),
            posted_value: posted_value.into(),
        })
    }

    /// Posts the replacement of a pending row without deleting it (half of a split
    /// maturation): [`Change::PostReplacement`]. Returns the posted row's id.
    pub fn post_replacement(
        &self,
        transaction_id: u64,
        posted_value: impl Into<Option<Decimal>>,
    ) -> Result<u64, SandboxError> {
        let out = self.apply(Change::PostReplacement {
            transaction_id,
            posted_value: posted_value.into(),
        })?;
        out.created
            .first()
            .copied()
            .ok_or(SandboxError::UnknownTransaction(transaction_id))
    }

    /// Deletes (tombstones) a row.
    pub fn delete_transaction(&self, transaction_id: u64) -> Result<(), SandboxError> {
        self.apply(Change::DeleteTransaction { transaction_id })
            .map(|_| ())
    }

    /// Sets an account's booked balance.
    pub fn set_balance(&self, account_id: u64, balance: Decimal) -> Result<(), SandboxError> {
        self.apply(Change::SetBalance {
            account_id,
            balance,
        })
        .map(|_| ())
    }

    /// Switches the server behaviour (order, page cap, link form, `noAccount`, endless chain,
    /// reconnect redirect) from the next request on.
    pub fn set_behaviour(&self, behaviour: ServerBehaviour) {
        self.shared.store().behaviour = behaviour;
    }

    /// The current server behaviour.
    pub fn behaviour(&self) -> ServerBehaviour {
        self.shared.store().behaviour.clone()
    }

    /// Switches to a profile: its [`ServerBehaviour`] and its [`MaturationMode`].
    pub fn set_profile(&self, profile: Profile) {
        let mut store = self.shared.store();
        store.behaviour = profile.behaviour();
        store.maturation = profile.maturation_mode();
    }

    /// Switches how pending rows mature from now on.
    pub fn set_maturation_mode(&self, mode: MaturationMode) {
        self.shared.store().maturation = mode;
    }

    /// The current maturation mode.
    pub fn maturation_mode(&self) -> MaturationMode {
        self.shared.store().maturation
    }

    /// Schedules `change` to fire when `trigger` completes (e.g. after page 2 of an account's
    /// transactions is served).
    pub fn schedule(&self, trigger: Trigger, change: Change) {
        self.shared.store().scheduled.push(Scheduled {
            trigger,
            served: 0,
            change,
        });
    }

    /// Sets a connection's `state` (and `error_message`), stamping `last_update`.
    pub fn set_connection_state(
        &self,
        connection_id: u64,
        state: Option<&str>,
    ) -> Result<(), SandboxError> {
        let mut store = self.shared.store();
        let now = store.now();
        let c = store
            .connection_user_mut(connection_id)?
            .connection_mut(connection_id)
            .ok_or(SandboxError::UnknownConnection(connection_id))?;
        c.state = state.map(str::to_owned);
        c.error_message = state.map(|s| format!("Sandbox: the bank answered {s}"));
        c.last_update = Some(now);
        Ok(())
    }

    /// Sets a connection's consent expiry.
    pub fn set_connection_expire(
        &self,
        connection_id: u64,
        expire: Option<NaiveDateTime>,
    ) -> Result<(), SandboxError> {
        let mut store = self.shared.store();
        let c = store
            .connection_user_mut(connection_id)?
            .connection_mut(connection_id)
            .ok_or(SandboxError::UnknownConnection(connection_id))?;
        c.expire = expire;
        Ok(())
    }

    /// Disables or re-enables an account, deletes or restores it, or sets its `error`.
    pub fn set_account_status(
        &self,
        account_id: u64,
        status: AccountStatus,
    ) -> Result<(), SandboxError> {
        let mut store = self.shared.store();
        let now = store.now();
        let user = store.account_user_mut(account_id)?;
        let a = user
            .account_mut(account_id)
            .ok_or(SandboxError::UnknownAccount(account_id))?;
        match status {
            AccountStatus::Disabled(on) => a.disabled = on.then_some(now),
            AccountStatus::Deleted(on) => a.deleted = on.then_some(now),
            AccountStatus::Error(e) => a.error = e,
        }
        a.last_update = now;
        user.touch();
        Ok(())
    }

    /// The exact dataset a correct sync of this user must end with.
    pub fn truth(&self, user_id: u64) -> Result<Truth, SandboxError> {
        let store = self.shared.store();
        let user = store
            .users
            .get(&user_id)
            .ok_or(SandboxError::UnknownUser(user_id))?;
        Ok(truth_of(user, &store.wordings, &store.counterparties))
    }

    /// Makes the Webview answer `error=access_denied&error_description=…` (until cleared with
    /// `None`).
    pub fn deny_webview(&self, description: Option<String>) {
        self.shared.store().webview_denial = description;
    }

    /// Installs a fault rule.
    pub fn inject_fault(&self, rule: FaultRule) {
        self.shared.faults().install(rule);
    }

    /// Removes every fault rule.
    pub fn clear_faults(&self) {
        self.shared.faults().clear();
    }

    /// Registers a receiver URL for an event (several per event allowed).
    pub fn register_webhook(&self, event: WebhookEvent, url: impl Into<String>) {
        self.shared.webhooks.register(event, url.into());
    }

    /// Every delivery so far, in dispatch order.
    pub fn webhook_deliveries(&self) -> Vec<WebhookDelivery> {
        self.shared.webhooks.deliveries()
    }

    /// Waits until every webhook delivery (with its retries) has finished.
    pub async fn wait_for_webhooks(&self) {
        self.shared.webhooks.wait_idle().await;
    }

    /// Creates an HMAC auth provider (as `POST /webhooks/auth` does): returns `(id, secret)`.
    /// Deliveries are signed with the newest provider's secret.
    pub fn create_auth_provider(&self, name: &str) -> (u64, String) {
        let mut store = self.shared.store();
        let id = store.ids.next_provider();
        let secret = store.mint_secret();
        store.providers.push(crate::store::AuthProvider {
            id,
            kind: "hmac_signature".to_owned(),
            name: name.to_owned(),
            secret: Some(secret.clone()),
        });
        (id, secret)
    }

    fn connection_owner(&self, connection_id: u64) -> Result<u64, SandboxError> {
        self.shared
            .store()
            .connection_owner(connection_id)
            .ok_or(SandboxError::UnknownConnection(connection_id))
    }

    /// Sends `CONNECTION_SYNCED` for a connection (rows changed since its last push; the whole
    /// history on the first push).
    pub fn emit_connection_synced(&self, connection_id: u64) -> Result<(), SandboxError> {
        let user = self.connection_owner(connection_id)?;
        events::connection_synced(&self.shared, user, connection_id);
        Ok(())
    }

    /// Renders and signs the `CONNECTION_SYNCED` the sandbox would send for a connection now,
    /// without sending it: for a client that posts deliveries itself (e.g. to measure how fast
    /// a receiver accepts them). `path` is the receiver's URL path the signature covers. Like
    /// a sent one, the body carries the rows changed since the connection's last push (the
    /// whole history the first time) and moves the last push to now.
    pub fn render_connection_synced(
        &self,
        connection_id: u64,
        path: &str,
    ) -> Result<RenderedWebhook, SandboxError> {
        let user = self.connection_owner(connection_id)?;
        let (id, body, secret) =
            events::render_connection_synced(&self.shared, user, connection_id)
                .ok_or(SandboxError::UnknownConnection(connection_id))?;
        let body =
            String::from_utf8(body).map_err(|_| SandboxError::UnknownConnection(connection_id))?;
        let mut headers = vec![(
            "content-type".to_owned(),
            "application/json; charset=utf-8".to_owned(),
        )];
        if let Some(secret) = secret {
            let date = events::signature_date_now(&self.shared);
            let signature = crate::webhooks::sign(&secret, path, &date, body.as_bytes());
            headers.push(("BI-Signature-Date".to_owned(), date));
            headers.push(("BI-Signature".to_owned(), signature));
        }
        Ok(RenderedWebhook {
            id_webhook_data: id,
            body,
            headers,
        })
    }

    /// Sends `USER_SYNCED` for a user.
    pub fn emit_user_synced(&self, user_id: u64) -> Result<(), SandboxError> {
        if !self.shared.store().users.contains_key(&user_id) {
            return Err(SandboxError::UnknownUser(user_id));
        }
        events::user_synced(&self.shared, user_id);
        Ok(())
    }

    /// Sends `CONNECTION_PENDING_DISCONNECT` for a connection.
    pub fn emit_pending_disconnect(&self, connection_id: u64) -> Result<(), SandboxError> {
        let user = self.connection_owner(connection_id)?;
        events::pending_disconnect(&self.shared, user, connection_id);
        Ok(())
    }

    /// Deletes a connection (as `DELETE /users/me/connections/{id}` does, with its webhook).
    pub fn delete_connection(&self, connection_id: u64) -> Result<(), SandboxError> {
        let user = self.connection_owner(connection_id)?;
        events::delete_connection(&self.shared, user, connection_id)
            .ok_or(SandboxError::UnknownConnection(connection_id))
    }

    /// Deletes a user (as `DELETE /users/me` does, with its webhook).
    pub fn delete_user(&self, user_id: u64) -> Result<(), SandboxError> {
        events::delete_user(&self.shared, user_id).ok_or(SandboxError::UnknownUser(user_id))
    }
}

/// A webhook delivery rendered and signed, not sent ([`SandboxControl::render_connection_synced`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RenderedWebhook {
    /// The body's `id_webhook_data`.
    pub id_webhook_data: u64,
    /// The JSON body, to send byte for byte (the signature covers it).
    pub body: String,
    /// The headers to send: `content-type`, and `BI-Signature-Date` and `BI-Signature` once
    /// an auth provider exists (`POST /webhooks/auth`).
    pub headers: Vec<(String, String)>,
}

/// Status changes of an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountStatus {
    /// Disable (`true`, `disabled` = now) or re-enable.
    Disabled(bool),
    /// Delete (`true`, `deleted` = now) or restore.
    Deleted(bool),
    /// Set or clear the account-level `error`.
    Error(Option<String>),
}
