//! Powens JSON for users, connections, accounts and transactions, written straight into bytes.
//! Absent values are explicit `null`s, money is exact JSON numbers, datetimes are naive Paris
//! `YYYY-MM-DD HH:MM:SS`, dates `YYYY-MM-DD`, `bookmarked` is 0/1 — the way the live API answers.

use std::collections::HashMap;

use crate::currency::{self, write_currency};
use crate::json::JsonWriter;
use crate::model::{
    from_secs, Account, Connection, Counterparty, Tx, TxKind, BANKS, NO_COUNTERPARTY,
};
use crate::store::User;

/// Shared lookup tables needed to render transactions.
pub(crate) struct TxContext<'a> {
    pub(crate) wordings: &'a [String],
    /// Powens' `stemmed_wording` of each wording.
    pub(crate) stemmed: &'a [String],
    pub(crate) counterparties: &'a [Counterparty],
    /// Currency index per account id.
    pub(crate) currencies: HashMap<u64, usize>,
}

impl<'a> TxContext<'a> {
    pub(crate) fn new(
        user: &User,
        wordings: &'a [String],
        stemmed: &'a [String],
        counterparties: &'a [Counterparty],
    ) -> Self {
        Self {
            wordings,
            stemmed,
            counterparties,
            currencies: user.accounts.iter().map(|a| (a.id, a.currency)).collect(),
        }
    }
}

/// Writes one Powens `Transaction`.
pub(crate) fn write_tx(w: &mut JsonWriter, tx: &Tx, ctx: &TxContext<'_>) {
    let cur = currency::currency(ctx.currencies.get(&tx.account_id).copied().unwrap_or(0));
    let label = ctx
        .wordings
        .get(tx.wording as usize)
        .map(String::as_str)
        .unwrap_or("UNKNOWN");
    w.begin_object();
    w.key("id");
    w.u64(tx.id);
    w.key("id_account");
    w.u64(tx.account_id);
    w.key("webid");
    w.null();
    w.key("application_date");
    w.date(tx.rdate);
    w.key("date");
    w.date(tx.date);
    w.key("datetime");
    w.null();
    w.key("vdate");
    w.date(tx.date);
    w.key("vdatetime");
    w.null();
    w.key("rdate");
    w.date(tx.rdate);
    w.key("rdatetime");
    w.null();
    w.key("bdate");
    w.null();
    w.key("bdatetime");
    w.null();
    w.key("value");
    w.decimal(tx.value, cur.scale);
    w.key("gross_value");
    w.null();
    w.key("type");
    w.string(tx.kind.code());
    w.key("original_wording");
    if tx.kind == TxKind::Card {
        let dm = JsonWriter::day_month(tx.rdate);
        let dm = std::str::from_utf8(&dm).unwrap_or("01/01");
        w.string_parts(&[tx.kind.prefix(), " ", dm, " ", label]);
    } else {
        w.string_parts(&[tx.kind.prefix(), " ", label]);
    }
    w.key("simplified_wording");
    w.string(label);
    w.key("stemmed_wording");
    w.string(
        ctx.stemmed
            .get(tx.wording as usize)
            .map(String::as_str)
            .unwrap_or(""),
    );
    w.key("wording");
    w.string(label);
    w.key("categories");
    w.raw(b"[]");
    w.key("id_category");
    w.u64(9998);
    w.key("date_scraped");
    w.datetime(from_secs(tx.date_scraped));
    w.key("coming");
    w.bool(tx.coming);
    w.key("active");
    w.bool(true);
    w.key("id_cluster");
    w.null();
    w.key("comment");
    w.null();
    w.key("last_update");
    w.datetime(from_secs(tx.last_update));
    w.key("deleted");
    if tx.is_deleted() {
        w.datetime(from_secs(tx.deleted));
    } else {
        w.null();
    }
    for key in [
        "original_value",
        "original_gross_value",
        "original_currency",
        "commission",
        "commission_currency",
        "country",
    ] {
        w.key(key);
        w.null();
    }
    w.key("card");
    if matches!(tx.kind, TxKind::Card) {
        w.string("XXXXXXXXXXXX1234");
    } else {
        w.null();
    }
    w.key("counterparty");
    match (tx.counterparty != NO_COUNTERPARTY)
        .then(|| ctx.counterparties.get(tx.counterparty as usize))
        .flatten()
    {
        Some(cp) => {
            w.begin_object();
            w.key("label");
            w.string(&cp.label);
            w.key("account_scheme_name");
            w.string(cp.scheme);
            w.key("account_identification");
            w.string(&cp.identification);
            w.key("type");
            w.string(if tx.value < 0 { "creditor" } else { "debtor" });
            w.end_object();
        }
        None => w.null(),
    }
    w.key("formatted_value");
    w.formatted_money(tx.value, cur.scale, cur.symbol, cur.prefix);
    w.key("state");
    w.string("parsed");
    w.key("documents_count");
    w.u64(0);
    w.end_object();
}

/// Writes one Powens `BankAccount` (without the closing brace when `open` is true, so a caller
/// can append `transactions` for webhook bodies).
pub(crate) fn write_account(w: &mut JsonWriter, a: &Account, open: bool) {
    let cur = currency::currency(a.currency);
    w.begin_object();
    w.key("id");
    w.u64(a.id);
    w.key("id_connection");
    w.u64(a.id_connection);
    w.key("id_user");
    w.u64(a.id_user);
    w.key("id_source");
    w.u64(a.id_connection);
    w.key("id_parent");
    match a.id_parent {
        Some(p) => w.u64(p),
        None => w.null(),
    }
    w.key("number");
    w.string(&a.number);
    w.key("webid");
    w.string(&a.number);
    w.key("original_name");
    w.string(&a.name);
    w.key("name");
    w.string(&a.name);
    w.key("balance");
    w.decimal(a.balance, cur.scale);
    w.key("coming");
    w.decimal(a.coming, cur.scale);
    w.key("coming_balance");
    w.decimal(a.balance.saturating_add(a.coming), cur.scale);
    w.key("formatted_balance");
    w.formatted_money(a.balance, cur.scale, cur.symbol, cur.prefix);
    w.key("display");
    w.bool(true);
    w.key("bookmarked");
    w.u64(0);
    w.key("last_update");
    w.datetime(a.last_update);
    w.key("deleted");
    w.opt_datetime(a.deleted);
    w.key("disabled");
    w.opt_datetime(a.disabled);
    w.key("iban");
    w.opt_string(a.iban.as_deref());
    w.key("bic");
    w.opt_string(a.bic);
    w.key("currency");
    write_currency(w, cur);
    w.key("type");
    w.string(a.kind.code());
    w.key("id_type");
    w.u64(a.kind.id_type());
    w.key("usage");
    w.string(a.usage);
    w.key("ownership");
    w.string("owner");
    w.key("company_name");
    w.null();
    w.key("opening_date");
    match a.opening_date {
        Some(d) => w.date(d),
        None => w.null(),
    }
    w.key("error");
    w.opt_string(a.error.as_deref());
    w.key("loan");
    match a.loan_total {
        Some(total) => {
            w.begin_object();
            w.key("total_amount");
            w.decimal(total, cur.scale);
            w.key("available_amount");
            w.decimal(0, cur.scale);
            w.key("used_amount");
            w.decimal(total, cur.scale);
            w.key("rate");
            w.raw(b"1.35");
            w.key("nb_payments_left");
            w.u64(180);
            w.key("nb_payments_done");
            w.u64(60);
            w.key("nb_payments_total");
            w.u64(240);
            w.key("duration");
            w.u64(240);
            w.key("type");
            w.string("mortgage");
            w.end_object();
        }
        None => w.null(),
    }
    w.key("information");
    w.raw(b"{}");
    if !open {
        w.end_object();
    }
}

/// What `expand` asked for on connections.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ConnectionExpand {
    pub(crate) connector: bool,
    pub(crate) sources: bool,
    pub(crate) accounts: bool,
    pub(crate) all_accounts: bool,
}

impl ConnectionExpand {
    pub(crate) fn parse(expand: Option<&str>) -> Self {
        let mut e = Self::default();
        for part in expand.unwrap_or("").split(',').map(str::trim) {
            match part {
                "connector" => e.connector = true,
                "sources" => e.sources = true,
                "accounts" => e.accounts = true,
                "all_accounts" => e.all_accounts = true,
                _ => {}
            }
        }
        e
    }
}

/// Writes one Powens `Connection`, leaving the object open (callers close it, possibly after
/// adding webhook-only members).
pub(crate) fn write_connection_open(
    w: &mut JsonWriter,
    c: &Connection,
    user: &User,
    expand: ConnectionExpand,
) {
    let bank = BANKS.get(c.bank).copied();
    w.begin_object();
    w.key("id");
    w.u64(c.id);
    w.key("id_user");
    w.u64(c.id_user);
    w.key("id_connector");
    w.u64(bank.map_or(0, |b| b.id));
    w.key("connector_uuid");
    w.opt_string(bank.map(|b| b.uuid));
    w.key("state");
    w.opt_string(c.state.as_deref());
    w.key("error");
    w.opt_string(c.state.as_deref());
    w.key("error_message");
    w.opt_string(c.error_message.as_deref());
    w.key("fields");
    w.null();
    w.key("last_update");
    w.opt_datetime(c.last_update);
    w.key("created");
    w.datetime(c.created);
    w.key("active");
    w.bool(c.active);
    w.key("last_push");
    w.opt_datetime(c.last_push);
    w.key("expire");
    w.opt_datetime(c.expire);
    w.key("next_try");
    w.null();
    if expand.connector {
        w.key("connector");
        w.begin_object();
        w.key("id");
        w.u64(bank.map_or(0, |b| b.id));
        w.key("uuid");
        w.opt_string(bank.map(|b| b.uuid));
        w.key("name");
        w.opt_string(bank.map(|b| b.name));
        w.end_object();
    }
    if expand.sources {
        w.key("sources");
        w.begin_array();
        w.item();
        w.begin_object();
        w.key("id");
        w.u64(c.id);
        w.key("id_connection");
        w.u64(c.id);
        w.key("name");
        w.string("openapi");
        w.key("state");
        w.opt_string(c.state.as_deref());
        w.key("last_update");
        w.opt_datetime(c.last_update);
        w.key("disabled");
        w.null();
        w.key("created");
        w.datetime(c.created);
        w.key("next_try");
        w.null();
        w.key("access_expire");
        w.opt_datetime(c.expire);
        w.key("expire");
        w.null();
        w.end_object();
        w.end_array();
    }
    for (key, wanted, all) in [
        ("accounts", expand.accounts, false),
        ("all_accounts", expand.all_accounts, true),
    ] {
        if wanted {
            w.key(key);
            w.begin_array();
            for a in user
                .accounts
                .iter()
                .filter(|a| a.id_connection == c.id && (all || a.visible()))
            {
                w.item();
                write_account(w, a, false);
            }
            w.end_array();
        }
    }
}

/// Writes the Powens `User` object.
pub(crate) fn write_user(w: &mut JsonWriter, user: &User) {
    write_user_open(w, user);
    w.end_object();
}

/// Writes the Powens `User` object, leaving it open.
pub(crate) fn write_user_open(w: &mut JsonWriter, user: &User) {
    w.begin_object();
    w.key("id");
    w.u64(user.id);
    w.key("signin");
    w.datetime(user.signin);
    w.key("platform");
    w.string("sandbox");
}

/// Writes `{accounts, total, balance, balances, coming_balances}` for the given accounts.
/// `balances`/`coming_balances` sum displayed accounts per currency; `balance` is the EUR sum.
pub(crate) fn write_accounts_envelope<'a>(
    w: &mut JsonWriter,
    accounts: impl Iterator<Item = &'a Account> + Clone,
) {
    w.begin_object();
    w.key("accounts");
    w.begin_array();
    let mut total = 0u64;
    let mut sums: Vec<(usize, i64, i64)> = Vec::new();
    for a in accounts {
        w.item();
        write_account(w, a, false);
        total += 1;
        if a.visible() {
            match sums.iter_mut().find(|(c, _, _)| *c == a.currency) {
                Some(s) => {
                    s.1 = s.1.saturating_add(a.balance);
                    s.2 = s.2.saturating_add(a.coming);
                }
                None => sums.push((a.currency, a.balance, a.coming)),
            }
        }
    }
    w.end_array();
    w.key("total");
    w.u64(total);
    w.key("balance");
    let eur = sums.iter().find(|(c, _, _)| *c == currency::EUR);
    w.decimal(eur.map_or(0, |s| s.1), 2);
    for (key, pick) in [("balances", 1), ("coming_balances", 2)] {
        w.key(key);
        w.begin_object();
        for s in &sums {
            let cur = currency::currency(s.0);
            w.key(cur.id);
            w.decimal(if pick == 1 { s.1 } else { s.2 }, cur.scale);
        }
        w.end_object();
    }
    w.end_object();
}

/// Powens' `stemmed_wording`: lower case, non-alphanumerics as spaces.
pub(crate) fn stem(label: &str) -> String {
    label
        .chars()
        .map(|c| {
            if c.is_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                ' '
            }
        })
        .collect()
}
