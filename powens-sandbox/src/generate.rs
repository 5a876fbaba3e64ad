//! Seeded generation of connections, accounts and transactions.
//!
//! Every account draws its own stream from `(seed, user, connection ordinal, account index)`,
//! so the content of account k never depends on how many rows other accounts have. Only the ids
//! depend on the order of operations (they are global counters, like Powens').

use chrono::{NaiveDate, NaiveDateTime, TimeDelta};

use crate::currency::{self, ACCOUNT_CURRENCY_CYCLE, EUR};
use crate::model::{
    to_secs, Account, AccountKind, Connection, Counterparty, Tx, TxKind, BANKS, LABELS,
    NOT_DELETED, NO_COUNTERPARTY,
};
use crate::rng::SeededRng;
use crate::store::Store;

/// Connection states drawn for connections after the first one of each user.
const STATES: &[Option<&str>] = &[
    None,
    None,
    None,
    None,
    None,
    Some("SCARequired"),
    Some("wrongpass"),
    Some("websiteUnavailable"),
    Some("rateLimiting"),
    Some("actionNeeded"),
    Some("decoupled"),
];

const TX_KINDS: &[TxKind] = &[
    TxKind::Card,
    TxKind::Card,
    TxKind::Card,
    TxKind::Card,
    TxKind::Card,
    TxKind::Transfer,
    TxKind::Transfer,
    TxKind::Order,
    TxKind::Order,
    TxKind::Bank,
    TxKind::Withdrawal,
    TxKind::Deposit,
    TxKind::Check,
];

/// Builds the shared pool of counterparties (the same counterparty recurs across transactions).
pub(crate) fn counterparty_pool(seed: u64) -> Vec<Counterparty> {
    const NAMES: &[&str] = &[
        "ACME SAS",
        "JEAN DUPONT",
        "MARIE CURIE",
        "EDF SA",
        "FREE MOBILE",
        "SCI LES TILLEULS",
        "URSSAF",
        "GLOBEX LTD",
        "INITECH GMBH",
        "DGFIP",
        "ORANGE SA",
        "CAISSE D'ALLOCATIONS",
    ];
    let mut rng = SeededRng::for_parts(seed, &[0xC0FF]);
    NAMES
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let (scheme, identification) = match i % 4 {
                0 | 1 => (
                    "iban",
                    format!(
                        "FR76{:010}{:013}",
                        rng.below(10_000_000_000),
                        rng.below(10_000_000_000_000)
                    ),
                ),
                2 => ("bban", format!("{:011}", rng.below(100_000_000_000))),
                _ => (
                    "sort_code_account_number",
                    format!("{:06}{:08}", rng.below(1_000_000), rng.below(100_000_000)),
                ),
            };
            Counterparty {
                label: (*name).to_owned(),
                scheme,
                identification,
            }
        })
        .collect()
}

impl Store {
    /// Links `count` new connections for `user_id` (what the Webview does), with seeded data.
    /// Returns the new connection ids.
    pub(crate) fn link_connections(&mut self, user_id: u64, count: u32) -> Vec<u64> {
        let now = self.clock.now();
        let seed = self.seed;
        let accounts_per_connection = self.size.accounts_per_connection;
        let txs_per_account = self.size.transactions_per_account;
        let mut created = Vec::new();
        for _ in 0..count {
            let Some(ordinal) = self.users.get_mut(&user_id).map(|u| {
                u.links += 1;
                u.links - 1
            }) else {
                return created;
            };
            let conn_id = self.ids.next_connection();
            let mut rng = SeededRng::for_parts(seed, &[user_id, u64::from(ordinal), 0]);
            let state = if ordinal == 0 {
                None
            } else {
                rng.pick(STATES).copied().flatten()
            };
            let created_at = now - TimeDelta::days(rng.range(10, 60));
            let expire = if rng.chance(30) {
                now + TimeDelta::days(rng.range(1, 7))
            } else {
                created_at + TimeDelta::days(180)
            };
            let connection = Connection {
                id: conn_id,
                id_user: user_id,
                bank: (rng.below(BANKS.len() as u64)) as usize,
                state: state.map(str::to_owned),
                error_message: state.map(|s| format!("Sandbox: the bank answered {s}")),
                created: created_at,
                last_update: Some(now),
                last_push: None,
                expire: Some(expire),
                active: true,
            };
            let bank = BANKS.get(connection.bank).copied();
            let mut accounts = Vec::new();
            let mut txs = Vec::new();
            let mut first_account = None;
            for k in 0..accounts_per_connection {
                let account_id = self.ids.next_account();
                let parts = [user_id, u64::from(ordinal), u64::from(k)];
                let mut account = generate_account(
                    seed,
                    &parts,
                    AccountSeed {
                        id: account_id,
                        connection: conn_id,
                        user: user_id,
                        parent: first_account,
                        ordinal_in_user: u64::from(ordinal) * u64::from(accounts_per_connection)
                            + u64::from(k),
                        index: k,
                        bic: bank.map(|b| b.bic),
                        now,
                    },
                );
                if k == 0 {
                    first_account = Some(account_id);
                }
                let mut tx_rng = SeededRng::for_parts(seed, &[parts[0], parts[1], parts[2], 2]);
                let n = txs_per_account;
                let start = now.date() - TimeDelta::days(365);
                let coming_from = n - n / 10;
                for i in 0..n {
                    let coming = i >= coming_from;
                    let date = if coming {
                        now.date() - TimeDelta::days(tx_rng.range(0, 2))
                    } else {
                        start + TimeDelta::days(i64::from(i) * 364 / i64::from(coming_from.max(1)))
                    };
                    let tx = self.generate_tx(&mut tx_rng, &account, date, coming, now);
                    if coming {
                        account.coming += tx.value;
                    } else {
                        account.balance += tx.value;
                    }
                    txs.push(tx);
                }
                accounts.push(account);
            }
            if let Some(user) = self.users.get_mut(&user_id) {
                user.connections.push(connection);
                user.accounts.extend(accounts);
                user.append_txs(txs);
            }
            created.push(conn_id);
        }
        created
    }

    /// One seeded transaction for `account`, posted on `date`, with a fresh id.
    pub(crate) fn generate_tx(
        &mut self,
        rng: &mut SeededRng,
        account: &Account,
        date: NaiveDate,
        coming: bool,
        now: NaiveDateTime,
    ) -> Tx {
        let cur = currency::currency(account.currency);
        let kind = if account.kind == AccountKind::Loan {
            TxKind::LoanPayment
        } else {
            rng.pick(TX_KINDS).copied().unwrap_or(TxKind::Card)
        };
        let unit = 10i64.pow(cur.scale);
        let value = if cur.magnitude == 0 {
            // Crypto: amounts below one unit.
            rng.range(1_000, unit / 20)
        } else {
            rng.range(unit / 100, cur.magnitude * unit)
        };
        let credit = matches!(kind, TxKind::Deposit | TxKind::LoanPayment) || rng.chance(15);
        let value = if credit { value } else { -value };
        let scraped = date.and_hms_opt(6, 0, 0).unwrap_or_default()
            + TimeDelta::days(1)
            + TimeDelta::seconds(rng.range(0, 3600));
        let scraped = to_secs(scraped.min(now));
        let counterparty = if kind.has_counterparty() && !self.counterparties.is_empty() {
            rng.below(self.counterparties.len() as u64) as u32
        } else {
            NO_COUNTERPARTY
        };
        Tx {
            id: self.ids.next_tx(),
            account_id: account.id,
            value,
            date,
            rdate: date - TimeDelta::days(rng.range(0, 2)),
            date_scraped: scraped,
            last_update: scraped,
            deleted: NOT_DELETED,
            wording: rng.below(LABELS.len() as u64) as u32,
            counterparty,
            kind,
            coming,
        }
    }
}

struct AccountSeed {
    id: u64,
    connection: u64,
    user: u64,
    parent: Option<u64>,
    ordinal_in_user: u64,
    index: u32,
    bic: Option<&'static str>,
    now: NaiveDateTime,
}

fn generate_account(seed: u64, parts: &[u64; 3], a: AccountSeed) -> Account {
    let mut rng = SeededRng::for_parts(seed, &[parts[0], parts[1], parts[2], 1]);
    let kind = match a.index % 4 {
        0 => AccountKind::Checking,
        1 => AccountKind::Savings,
        2 => AccountKind::Card,
        _ => AccountKind::Loan,
    };
    let currency = if a.index == 0 {
        EUR
    } else {
        let cycle_pos =
            (a.ordinal_in_user.saturating_sub(1)) as usize % ACCOUNT_CURRENCY_CYCLE.len();
        ACCOUNT_CURRENCY_CYCLE
            .get(cycle_pos)
            .copied()
            .unwrap_or(EUR)
    };
    let cur = currency::currency(currency);
    let unit = 10i64.pow(cur.scale);
    let number = format!("{:010}", rng.below(10_000_000_000));
    let opening = match kind {
        AccountKind::Loan => -(cur.magnitude.max(1) * 500 * unit),
        _ if cur.magnitude == 0 => rng.range(unit, 3 * unit),
        _ => rng.range(cur.magnitude * unit, cur.magnitude * 40 * unit),
    };
    let (disabled, deleted, error) = if a.index == 0 {
        (None, None, None)
    } else {
        let disabled = rng.chance(10).then_some(a.now - TimeDelta::days(3));
        let deleted = (disabled.is_none() && rng.chance(5)).then_some(a.now - TimeDelta::days(1));
        let error = rng
            .chance(10)
            .then(|| {
                rng.pick(&["actionNeeded", "websiteUnavailable", "bug"])
                    .copied()
            })
            .flatten()
            .map(str::to_owned);
        (disabled, deleted, error)
    };
    let iban = matches!(kind, AccountKind::Checking | AccountKind::Savings).then(|| {
        format!(
            "FR76{:010}{}{:03}",
            rng.below(10_000_000_000),
            number,
            rng.below(1000)
        )
    });
    Account {
        id: a.id,
        id_connection: a.connection,
        id_user: a.user,
        id_parent: (kind == AccountKind::Card).then_some(a.parent).flatten(),
        kind,
        currency,
        name: format!("{} {}", kind.label(), cur.id),
        number: if kind == AccountKind::Card {
            format!("XXXXXXXXXXXX{:04}", rng.below(10_000))
        } else {
            number
        },
        iban,
        bic: a.bic,
        balance: opening,
        coming: 0,
        last_update: a.now,
        deleted,
        disabled,
        error,
        usage: if rng.chance(20) { "ORGA" } else { "PRIV" },
        opening_date: Some(a.now.date() - TimeDelta::days(rng.range(400, 4000))),
        loan_total: (kind == AccountKind::Loan).then_some(-opening),
    }
}
