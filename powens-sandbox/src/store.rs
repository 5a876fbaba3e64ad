//! The sandbox's state: users, tokens, codes, connections, accounts and transactions, behind one
//! lock. Route handlers and the control API both go through it.

use std::collections::{BTreeMap, HashMap};

use chrono::{NaiveDateTime, TimeDelta};

use crate::behaviour::ServerBehaviour;
use crate::builder::{Credentials, SandboxSize};
use crate::clock::Clock;
use crate::control::MaturationMode;
use crate::error::SandboxError;
use crate::generate::counterparty_pool;
use crate::model::{Account, Connection, Counterparty, Tx, LABELS};
use crate::query::CachedQuery;
use crate::rng::SeededRng;

/// Global id counters (ids are never reused, like Powens').
#[derive(Debug, Default)]
pub(crate) struct Ids {
    user: u64,
    connection: u64,
    account: u64,
    tx: u64,
    provider: u64,
    webhook_data: u64,
}

impl Ids {
    pub(crate) fn next_user(&mut self) -> u64 {
        self.user += 1;
        self.user
    }
    pub(crate) fn next_connection(&mut self) -> u64 {
        self.connection += 1;
        self.connection
    }
    pub(crate) fn next_account(&mut self) -> u64 {
        self.account += 1;
        self.account
    }
    pub(crate) fn next_tx(&mut self) -> u64 {
        self.tx += 1;
        self.tx
    }
    pub(crate) fn next_provider(&mut self) -> u64 {
        self.provider += 1;
        self.provider
    }
    pub(crate) fn next_webhook_data(&mut self) -> u64 {
        self.webhook_data += 1;
        self.webhook_data
    }
}

/// One Powens user and all its data.
#[derive(Debug, Default)]
pub(crate) struct User {
    pub(crate) id: u64,
    pub(crate) signin: NaiveDateTime,
    pub(crate) permanent: bool,
    /// When a temporary user stops existing.
    pub(crate) expires: Option<NaiveDateTime>,
    /// How many connections were ever linked (the seed ordinal of the next one).
    pub(crate) links: u32,
    pub(crate) connections: Vec<Connection>,
    pub(crate) accounts: Vec<Account>,
    /// Every transaction row (tombstones included), sorted by id.
    pub(crate) txs: Vec<Tx>,
    /// Positions in `txs` per account id, in id order.
    pub(crate) by_account: HashMap<u64, Vec<u32>>,
    /// Pending rows and the posted row that replaces them, recorded when the posted row is
    /// appended ([`MaturationMode::Replace`] or a `PostReplacement` change). A pair is a
    /// completed replacement once the provisional is deleted too.
    pub(crate) replaced: Vec<(u64, u64)>,
    /// Bumped on every data change (invalidates cached queries).
    pub(crate) version: u64,
    pub(crate) cache: Vec<CachedQuery>,
}

impl User {
    /// Appends rows whose ids are all greater than the existing ones.
    pub(crate) fn append_txs(&mut self, txs: Vec<Tx>) {
        for tx in txs {
            let pos = self.txs.len() as u32;
            self.by_account.entry(tx.account_id).or_default().push(pos);
            self.txs.push(tx);
        }
        self.touch();
    }

    pub(crate) fn touch(&mut self) {
        self.version += 1;
    }

    pub(crate) fn tx_position(&self, id: u64) -> Option<usize> {
        self.txs.binary_search_by_key(&id, |t| t.id).ok()
    }

    pub(crate) fn account(&self, id: u64) -> Option<&Account> {
        self.accounts.iter().find(|a| a.id == id)
    }

    pub(crate) fn account_mut(&mut self, id: u64) -> Option<&mut Account> {
        self.accounts.iter_mut().find(|a| a.id == id)
    }

    pub(crate) fn connection(&self, id: u64) -> Option<&Connection> {
        self.connections.iter().find(|c| c.id == id)
    }

    pub(crate) fn connection_mut(&mut self, id: u64) -> Option<&mut Connection> {
        self.connections.iter_mut().find(|c| c.id == id)
    }

    /// Removes a connection with its accounts and their transactions.
    pub(crate) fn remove_connection(&mut self, id: u64) -> Option<Connection> {
        let pos = self.connections.iter().position(|c| c.id == id)?;
        let connection = self.connections.remove(pos);
        let gone: Vec<u64> = self
            .accounts
            .iter()
            .filter(|a| a.id_connection == id)
            .map(|a| a.id)
            .collect();
        self.accounts.retain(|a| a.id_connection != id);
        self.txs.retain(|t| !gone.contains(&t.account_id));
        let txs = &self.txs;
        self.replaced
            .retain(|(old, _)| txs.binary_search_by_key(old, |t| t.id).is_ok());
        self.by_account.clear();
        for (pos, tx) in self.txs.iter().enumerate() {
            self.by_account
                .entry(tx.account_id)
                .or_default()
                .push(pos as u32);
        }
        self.touch();
        Some(connection)
    }
}

/// A bearer token.
#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub(crate) user_id: u64,
    pub(crate) expires: Option<NaiveDateTime>,
}

/// A temporary code from `/auth/token/code`.
#[derive(Debug, Clone)]
pub(crate) struct Code {
    pub(crate) user_id: u64,
    pub(crate) single: bool,
    pub(crate) expires: NaiveDateTime,
}

/// An auth provider created on `/webhooks/auth`.
#[derive(Debug, Clone)]
pub(crate) struct AuthProvider {
    pub(crate) id: u64,
    pub(crate) kind: String,
    pub(crate) name: String,
    pub(crate) secret: Option<String>,
}

/// A change scheduled to fire after a page of transactions is served.
#[derive(Debug, Clone)]
pub(crate) struct Scheduled {
    pub(crate) trigger: crate::control::Trigger,
    pub(crate) served: u32,
    pub(crate) change: crate::control::Change,
}

/// Everything the sandbox holds.
#[derive(Debug)]
pub(crate) struct Store {
    pub(crate) seed: u64,
    pub(crate) size: SandboxSize,
    pub(crate) max_connections_per_link: u32,
    pub(crate) maturation: MaturationMode,
    pub(crate) behaviour: ServerBehaviour,
    pub(crate) clock: Clock,
    pub(crate) credentials: Credentials,
    pub(crate) ids: Ids,
    pub(crate) users: BTreeMap<u64, User>,
    pub(crate) tokens: HashMap<String, Token>,
    pub(crate) codes: HashMap<String, Code>,
    pub(crate) wordings: Vec<String>,
    /// `stemmed_wording` of each entry of `wordings`.
    pub(crate) stemmed: Vec<String>,
    pub(crate) counterparties: Vec<Counterparty>,
    pub(crate) providers: Vec<AuthProvider>,
    pub(crate) webview_denial: Option<String>,
    pub(crate) scheduled: Vec<Scheduled>,
    token_rng: SeededRng,
}

const TOKEN_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

impl Store {
    pub(crate) fn new(
        seed: u64,
        size: SandboxSize,
        max_connections_per_link: u32,
        maturation: MaturationMode,
        behaviour: ServerBehaviour,
        clock: Clock,
        credentials: Credentials,
    ) -> Self {
        Self {
            seed,
            size,
            max_connections_per_link,
            maturation,
            behaviour,
            clock,
            credentials,
            ids: Ids::default(),
            users: BTreeMap::new(),
            tokens: HashMap::new(),
            codes: HashMap::new(),
            wordings: LABELS.iter().map(|s| (*s).to_owned()).collect(),
            stemmed: LABELS.iter().map(|s| crate::render::stem(s)).collect(),
            counterparties: counterparty_pool(seed),
            providers: Vec::new(),
            webview_denial: None,
            scheduled: Vec::new(),
            token_rng: SeededRng::for_parts(seed, &[0x70CE]),
        }
    }

    pub(crate) fn now(&self) -> NaiveDateTime {
        self.clock.now()
    }

    /// A fresh user token (seeded, so runs are reproducible).
    pub(crate) fn mint_token(&mut self, user_id: u64, expires: Option<NaiveDateTime>) -> String {
        let token = self.token_rng.token(TOKEN_ALPHABET, 40);
        self.tokens
            .insert(token.clone(), Token { user_id, expires });
        token
    }

    /// A fresh temporary code; it always contains `/`, `_` and `+`, so clients must encode it.
    pub(crate) fn mint_code(&mut self, user_id: u64, single: bool) -> String {
        let body = self.token_rng.token(TOKEN_ALPHABET, 36);
        let code = format!(
            "{}_{}/{}+{}",
            &body[..9],
            &body[9..18],
            &body[18..27],
            &body[27..]
        );
        let expires = self.now() + TimeDelta::minutes(30);
        self.codes.insert(
            code.clone(),
            Code {
                user_id,
                single,
                expires,
            },
        );
        code
    }

    /// Creates a user (permanent or 30-minute temporary).
    pub(crate) fn create_user(&mut self, permanent: bool) -> u64 {
        let id = self.ids.next_user();
        let now = self.now();
        self.users.insert(
            id,
            User {
                id,
                signin: now,
                permanent,
                expires: (!permanent).then(|| now + TimeDelta::minutes(30)),
                ..User::default()
            },
        );
        id
    }

    /// The live user a token belongs to.
    pub(crate) fn token_user(&self, token: &str) -> Option<u64> {
        let t = self.tokens.get(token)?;
        let now = self.now();
        if t.expires.is_some_and(|e| e <= now) {
            return None;
        }
        let user = self.users.get(&t.user_id)?;
        if user.expires.is_some_and(|e| e <= now) {
            return None;
        }
        Some(t.user_id)
    }

    /// Redeems a temporary code: the user it belongs to (single-use codes are consumed).
    pub(crate) fn redeem_code(&mut self, code: &str) -> Option<u64> {
        let c = self.codes.get(code)?.clone();
        if c.expires <= self.now() || !self.users.contains_key(&c.user_id) {
            return None;
        }
        if c.single {
            self.codes.remove(code);
        }
        Some(c.user_id)
    }

    /// Deletes a user, its tokens and codes.
    pub(crate) fn delete_user(&mut self, user_id: u64) -> Option<User> {
        self.tokens.retain(|_, t| t.user_id != user_id);
        self.codes.retain(|_, c| c.user_id != user_id);
        self.users.remove(&user_id)
    }

    /// The user owning an account.
    pub(crate) fn account_owner(&self, account_id: u64) -> Option<u64> {
        self.users
            .values()
            .find(|u| u.account(account_id).is_some())
            .map(|u| u.id)
    }

    /// The user owning a connection.
    pub(crate) fn connection_owner(&self, connection_id: u64) -> Option<u64> {
        self.users
            .values()
            .find(|u| u.connection(connection_id).is_some())
            .map(|u| u.id)
    }

    /// The user owning an account, for changing it.
    pub(crate) fn account_user_mut(&mut self, account_id: u64) -> Result<&mut User, SandboxError> {
        self.users
            .values_mut()
            .find(|u| u.account(account_id).is_some())
            .ok_or(SandboxError::UnknownAccount(account_id))
    }

    /// The user owning a connection, for changing it.
    pub(crate) fn connection_user_mut(
        &mut self,
        connection_id: u64,
    ) -> Result<&mut User, SandboxError> {
        self.users
            .values_mut()
            .find(|u| u.connection(connection_id).is_some())
            .ok_or(SandboxError::UnknownConnection(connection_id))
    }

    /// The user owning a transaction and the row's position in its `txs`.
    pub(crate) fn tx_user_mut(&mut self, tx_id: u64) -> Result<(&mut User, usize), SandboxError> {
        self.users
            .values_mut()
            .find_map(|u| u.tx_position(tx_id).map(|pos| (u, pos)))
            .ok_or(SandboxError::UnknownTransaction(tx_id))
    }

    /// The signing secret: the newest HMAC auth provider's.
    pub(crate) fn webhook_secret(&self) -> Option<String> {
        self.providers.iter().rev().find_map(|p| p.secret.clone())
    }

    /// A random-looking secret for auth providers.
    pub(crate) fn mint_secret(&mut self) -> String {
        self.token_rng.token(TOKEN_ALPHABET, 32)
    }
}
