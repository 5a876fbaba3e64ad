//! Data changes applied by the control API or by scheduled triggers. Every change stamps the
//! rows it touches (and their account) with the sandbox clock as `last_update`.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::control::{Change, ChangeOutcome, MaturationMode, PageScope};
use crate::currency;
use crate::error::SandboxError;
use crate::model::{to_secs, Tx, NOT_DELETED, NO_COUNTERPARTY};
use crate::rng::SeededRng;
use crate::store::{Scheduled, Store};

impl Store {
    /// Applies one change now.
    pub(crate) fn apply_change(&mut self, change: &Change) -> Result<ChangeOutcome, SandboxError> {
        let mut out = ChangeOutcome::default();
        match change {
            Change::AddTransactions {
                account_id,
                count,
                coming,
            } => {
                if *count > crate::control::MAX_TRANSACTIONS_PER_CHANGE {
                    return Err(SandboxError::InvalidChange(format!(
                        "add_transactions count {count} is above the bound of {} per change",
                        crate::control::MAX_TRANSACTIONS_PER_CHANGE
                    )));
                }
                out.created.reserve(*count as usize);
                for _ in 0..*count {
                    out.created.push(self.add_generated(*account_id, *coming)?);
                }
            }
            Change::AddTransaction {
                account_id,
                value,
                date,
                coming,
                wording,
            } => {
                out.created.push(self.add_exact(
                    *account_id,
                    *value,
                    *date,
                    *coming,
                    wording.as_deref(),
                )?);
            }
            Change::Mature {
                transaction_id,
                mode,
                posted_value,
            } => {
                let mode = mode.unwrap_or(self.maturation);
                self.mature(*transaction_id, mode, *posted_value, &mut out)?;
            }
            Change::PostReplacement {
                transaction_id,
                posted_value,
            } => {
                self.post_replacement(*transaction_id, *posted_value, &mut out)?;
            }
            Change::MatureComing {
                account_id,
                count,
                mode,
            } => {
                let mode = mode.unwrap_or(self.maturation);
                let user_id = self
                    .account_owner(*account_id)
                    .ok_or(SandboxError::UnknownAccount(*account_id))?;
                let pending: Vec<u64> = self
                    .users
                    .get(&user_id)
                    .map(|u| {
                        u.txs
                            .iter()
                            .filter(|t| t.account_id == *account_id && t.coming && !t.is_deleted())
                            .filter(|t| !u.replaced.iter().any(|(old, _)| *old == t.id))
                            .take(*count as usize)
                            .map(|t| t.id)
                            .collect()
                    })
                    .unwrap_or_default();
                for id in pending {
                    self.mature(id, mode, None, &mut out)?;
                }
            }
            Change::DeleteTransaction { transaction_id } => {
                self.delete_tx(*transaction_id)?;
                out.deleted.push(*transaction_id);
            }
            Change::SetBalance {
                account_id,
                balance,
            } => {
                let now = self.now();
                let user = self.account_user_mut(*account_id)?;
                let account = user
                    .account_mut(*account_id)
                    .ok_or(SandboxError::UnknownAccount(*account_id))?;
                let scale = currency::currency(account.currency).scale;
                account.balance = to_mantissa(*balance, scale)?;
                account.last_update = now;
                user.touch();
            }
            Change::AdvanceClock { seconds } => {
                let by = chrono::TimeDelta::try_seconds(*seconds).ok_or_else(|| {
                    SandboxError::InvalidChange(format!("seconds {seconds} is out of range"))
                })?;
                self.clock
                    .try_advance(by)
                    .map_err(SandboxError::InvalidChange)?;
            }
        }
        Ok(out)
    }

    fn add_generated(&mut self, account_id: u64, coming: bool) -> Result<u64, SandboxError> {
        let user_id = self
            .account_owner(account_id)
            .ok_or(SandboxError::UnknownAccount(account_id))?;
        let now = self.now();
        let (account, n) = {
            let user = self
                .users
                .get(&user_id)
                .ok_or(SandboxError::UnknownUser(user_id))?;
            let account = user
                .account(account_id)
                .ok_or(SandboxError::UnknownAccount(account_id))?
                .clone();
            let n = user.by_account.get(&account_id).map_or(0, Vec::len) as u64;
            (account, n)
        };
        let mut rng = SeededRng::for_parts(self.seed, &[account_id, n, 3]);
        let mut tx = self.generate_tx(&mut rng, &account, now.date(), coming, now);
        tx.date_scraped = to_secs(now);
        tx.last_update = to_secs(now);
        self.insert_tx(user_id, tx)
    }

    fn add_exact(
        &mut self,
        account_id: u64,
        value: Decimal,
        date: Option<NaiveDate>,
        coming: bool,
        wording: Option<&str>,
    ) -> Result<u64, SandboxError> {
        let user_id = self
            .account_owner(account_id)
            .ok_or(SandboxError::UnknownAccount(account_id))?;
        let now = self.now();
        let scale = self
            .users
            .get(&user_id)
            .and_then(|u| u.account(account_id))
            .map(|a| currency::currency(a.currency).scale)
            .ok_or(SandboxError::UnknownAccount(account_id))?;
        let mantissa = to_mantissa(value, scale)?;
        let wording = match wording {
            Some(w) => match self.wordings.iter().position(|x| x == w) {
                Some(i) => i as u32,
                None => {
                    self.wordings.push(w.to_owned());
                    self.stemmed.push(crate::render::stem(w));
                    (self.wordings.len() - 1) as u32
                }
            },
            None => 0,
        };
        let date = date.unwrap_or(now.date());
        let tx = Tx {
            id: self.ids.next_tx(),
            account_id,
            value: mantissa,
            date,
            rdate: date,
            date_scraped: to_secs(now),
            last_update: to_secs(now),
            deleted: NOT_DELETED,
            wording,
            counterparty: NO_COUNTERPARTY,
            kind: if mantissa < 0 {
                crate::model::TxKind::Card
            } else {
                crate::model::TxKind::Transfer
            },
            coming,
        };
        self.insert_tx(user_id, tx)
    }

    /// Appends a new row and books it on its account.
    fn insert_tx(&mut self, user_id: u64, tx: Tx) -> Result<u64, SandboxError> {
        let now = self.now();
        let user = self
            .users
            .get_mut(&user_id)
            .ok_or(SandboxError::UnknownUser(user_id))?;
        let account = user
            .account_mut(tx.account_id)
            .ok_or(SandboxError::UnknownAccount(tx.account_id))?;
        if tx.coming {
            account.coming = account.coming.saturating_add(tx.value);
        } else {
            account.balance = account.balance.saturating_add(tx.value);
        }
        account.last_update = now;
        let id = tx.id;
        user.append_txs(vec![tx]);
        Ok(id)
    }

    /// The mantissa of a posted value at the currency scale of a row's account (`None` = the
    /// row's own value).
    fn posted_mantissa(
        user: &crate::store::User,
        tx: &Tx,
        posted_value: Option<Decimal>,
    ) -> Result<i64, SandboxError> {
        match posted_value {
            None => Ok(tx.value),
            Some(v) => {
                let scale = user
                    .account(tx.account_id)
                    .map(|a| currency::currency(a.currency).scale)
                    .ok_or(SandboxError::UnknownAccount(tx.account_id))?;
                to_mantissa(v, scale)
            }
        }
    }

    fn mature(
        &mut self,
        tx_id: u64,
        mode: MaturationMode,
        posted_value: Option<Decimal>,
        out: &mut ChangeOutcome,
    ) -> Result<(), SandboxError> {
        let now = self.now();
        let now_secs = to_secs(now);
        let mode = mode.for_transaction(tx_id);
        let (user, pos) = self.tx_user_mut(tx_id)?;
        let tx = user
            .txs
            .get(pos)
            .ok_or(SandboxError::UnknownTransaction(tx_id))?;
        if !tx.coming || tx.is_deleted() {
            return Err(SandboxError::InvalidChange(format!(
                "transaction {tx_id} is not a live pending (coming) row"
            )));
        }
        if let Some((_, posted)) = user.replaced.iter().find(|(old, _)| *old == tx_id) {
            return Err(SandboxError::InvalidChange(format!(
                "transaction {tx_id} already has a posted replacement ({posted}): delete it to \
                 complete the maturation"
            )));
        }
        let pending = tx.value;
        let account_id = tx.account_id;
        let posted = Self::posted_mantissa(user, tx, posted_value)?;
        match mode {
            MaturationMode::Replace | MaturationMode::Mixed => {
                let new_id = self.ids.next_tx();
                let (user, pos) = self.tx_user_mut(tx_id)?;
                let tx = user
                    .txs
                    .get_mut(pos)
                    .ok_or(SandboxError::UnknownTransaction(tx_id))?;
                tx.deleted = now_secs;
                tx.last_update = now_secs;
                let posted_row = posted_row(tx, new_id, posted, now);
                user.replaced.push((tx_id, new_id));
                user.append_txs(vec![posted_row]);
                out.deleted.push(tx_id);
                out.created.push(new_id);
            }
            MaturationMode::KeepId => {
                let tx = user
                    .txs
                    .get_mut(pos)
                    .ok_or(SandboxError::UnknownTransaction(tx_id))?;
                tx.coming = false;
                tx.value = posted;
                tx.date = now.date();
                tx.last_update = now_secs;
                out.updated.push(tx_id);
            }
        }
        let (user, _) = self.tx_user_mut(tx_id)?;
        if let Some(account) = user.account_mut(account_id) {
            account.coming = account.coming.saturating_sub(pending);
            account.balance = account.balance.saturating_add(posted);
            account.last_update = now;
        }
        user.touch();
        Ok(())
    }

    /// Appends the posted row of a pending row (live or deleted) without deleting it.
    fn post_replacement(
        &mut self,
        tx_id: u64,
        posted_value: Option<Decimal>,
        out: &mut ChangeOutcome,
    ) -> Result<(), SandboxError> {
        let now = self.now();
        let (user, pos) = self.tx_user_mut(tx_id)?;
        let tx = user
            .txs
            .get(pos)
            .ok_or(SandboxError::UnknownTransaction(tx_id))?;
        if !tx.coming {
            return Err(SandboxError::InvalidChange(format!(
                "transaction {tx_id} is not a pending (coming) row"
            )));
        }
        if let Some((_, posted)) = user.replaced.iter().find(|(old, _)| *old == tx_id) {
            return Err(SandboxError::InvalidChange(format!(
                "transaction {tx_id} already has a posted replacement ({posted})"
            )));
        }
        let posted = Self::posted_mantissa(user, tx, posted_value)?;
        let new_id = self.ids.next_tx();
        let (user, pos) = self.tx_user_mut(tx_id)?;
        let tx = user
            .txs
            .get(pos)
            .ok_or(SandboxError::UnknownTransaction(tx_id))?;
        let account_id = tx.account_id;
        let row = posted_row(tx, new_id, posted, now);
        user.replaced.push((tx_id, new_id));
        user.append_txs(vec![row]);
        if let Some(account) = user.account_mut(account_id) {
            account.balance = account.balance.saturating_add(posted);
            account.last_update = now;
        }
        user.touch();
        out.created.push(new_id);
        Ok(())
    }

    fn delete_tx(&mut self, tx_id: u64) -> Result<(), SandboxError> {
        let now = self.now();
        let (user, pos) = self.tx_user_mut(tx_id)?;
        let Some(tx) = user.txs.get_mut(pos) else {
            return Err(SandboxError::UnknownTransaction(tx_id));
        };
        if tx.is_deleted() {
            return Err(SandboxError::InvalidChange(format!(
                "transaction {tx_id} is already deleted"
            )));
        }
        tx.deleted = to_secs(now);
        tx.last_update = to_secs(now);
        let (value, coming, account_id) = (tx.value, tx.coming, tx.account_id);
        if let Some(account) = user.account_mut(account_id) {
            if coming {
                account.coming = account.coming.saturating_sub(value);
            } else {
                account.balance = account.balance.saturating_sub(value);
            }
            account.last_update = now;
        }
        user.touch();
        Ok(())
    }

    /// Counts a served page and fires the scheduled changes whose trigger it completes.
    pub(crate) fn page_served(&mut self, user_id: u64, account_id: Option<u64>) {
        let mut due = Vec::new();
        for s in &mut self.scheduled {
            let matches = match s.trigger.scope {
                PageScope::User(u) => account_id.is_none() && u == user_id,
                PageScope::Account(a) => account_id == Some(a),
            };
            if matches {
                s.served += 1;
                if s.served == s.trigger.after_page {
                    due.push(s.change.clone());
                }
            }
        }
        self.scheduled
            .retain(|s: &Scheduled| s.served < s.trigger.after_page);
        for change in due {
            if let Err(e) = self.apply_change(&change) {
                tracing::warn!(error = %e, "scheduled change failed");
            }
        }
    }
}

/// The posted row replacing a pending one: a new id, the same account, wording, kind and
/// counterparty, `value` = `posted`, dated the clock's date, not pending.
fn posted_row(pending: &Tx, id: u64, posted: i64, now: chrono::NaiveDateTime) -> Tx {
    let now_secs = to_secs(now);
    Tx {
        id,
        value: posted,
        coming: false,
        deleted: NOT_DELETED,
        date: now.date(),
        date_scraped: now_secs,
        last_update: now_secs,
        ..pending.clone()
    }
}

/// The mantissa of `value` at `scale`; more decimals than the scale is an error unless they are
/// zeros.
fn to_mantissa(value: Decimal, scale: u32) -> Result<i64, SandboxError> {
    let mut v = value.normalize();
    if v.scale() > scale {
        return Err(SandboxError::InvalidChange(format!(
            "{value} has more than {scale} decimals for this account's currency"
        )));
    }
    v.rescale(scale);
    i64::try_from(v.mantissa())
        .map_err(|_| SandboxError::InvalidChange(format!("{value} is too large")))
}
