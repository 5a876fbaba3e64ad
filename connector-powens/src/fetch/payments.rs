//! `FETCH_PAYMENTS`: the transactions of one account, as payment changes.
//!
//! Pages: `GET /users/me/accounts/{id}/transactions?all&limit=<pageSize>&offset=<n>` plus
//! `last_update=<since>` once a first scan is done (see [`super::watermark`] for the rule).
//! The state ([`PaymentsState`]) is committed by the engine after each page was delivered, so
//! a restart resumes at the committed offset. The last page of a scan is the one without a
//! `_links.next` (or, when the server sends no `_links`, a short page).
//!
//! Each part is read in one pass by `powens-model`
//! ([`super::page::read_part`]: `coming` → `PENDING`/`SUCCEEDED`; deleted rows → tombstones;
//! a malformed row is logged and skipped, never failing the page), and each page goes through `powens_model::maturation::mature`:
//!
//! * a pending row that posts under the same id is simply emitted again as `SUCCEEDED`;
//! * a pending row that is deleted and replaced by a new posted row (same account and value,
//!   dated within the window): the posted payment carries `com.powens.spec/replaces` and a
//!   `PaymentToDelete` retires the provisional reference. Because the tombstone (old id) is
//!   read before its replacement (new id, later in the id order), a deleted *provisional*
//!   row that finds no match on its page is carried to the next pages of the same scan
//!   ([`PaymentsState::retiring`]) and cancelled only if the scan ends without a match;
//! * any other deleted row is emitted as `PaymentToCancel`.
//!
//! The first scan reads the whole history: its tombstones are rows deleted before this
//! connector ever emitted them, so they are not surfaced.
//!
//! Counterparties: each page's identified counterparties are delivered with the page, ahead
//! of its payments, as [`PaymentChange::ExternalAccount`] (once per task run; see
//! [`super::external`] for why the polling tree has no second scan for them). They share the
//! page's state commit, so a restart that replays a page replays its counterparties.
//!
//! Memory: a page is never held whole. Its body is read as it arrives
//! (`list_account_transactions_streamed`) and cut into parts of whole rows ([`PageSplitter`],
//! at most [`PAYMENTS_PART_ROWS`] rows or [`PAYMENTS_PART_BYTES`] bytes); each part is mapped
//! and delivered with the offset after its last row, so what is held at once does not follow
//! the page size, and a failure mid-page (a truncated body, a reset) resumes after the last
//! part delivered. The page's end (the body without its rows: `_links`, …) decides whether
//! the scan is over. The state holds the watermark and only the provisional rows deleted
//! during the current scan and not yet matched (no per-account pending set: a tombstone says
//! itself whether it was pending); a part boundary is handled like a page boundary (an
//! unmatched provisional tombstone is carried to the next parts).

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use connector_core::contract::{
    FetchPage, FetchRequest, PageStream, PaymentChange, PaymentsFetcher,
};
use connector_core::model::Record;
use connector_core::money::Amount;
use connector_core::ConnectorError;
use futures::StreamExt;
use powens_model::account;
use powens_model::maturation::{mature, Retirement};
use powens_model::page::{PageMapped, PagePart, PageSplitter, PaymentRow};
use powens_model::payment::Tombstone;
use powens_model::AccountBook;
use serde::{Deserialize, Serialize};

use super::external::SeenCounterparties;
use super::page::{is_last_page, read_part};
use super::watermark::Watermark;
use super::{account_last_update, mapping_context};
use crate::connector::PowensConnector;
use crate::error::to_connector_error;
use crate::fetch::accounts::parent_bank_account;
use crate::flows::user_token;

/// A provisional row deleted earlier in the current scan, waiting for its posted
/// replacement (a serialisable `powens_model::payment::Tombstone`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RetiringProvisional {
    /// The provisional reference.
    pub reference: String,
    /// Its account's reference.
    pub account_reference: String,
    /// Its signed value in minor units.
    pub value: Amount,
    /// Its pending date.
    pub date: NaiveDate,
    /// When Powens deleted it.
    pub deleted_at: DateTime<Utc>,
}

impl RetiringProvisional {
    fn from_tombstone(t: &Tombstone) -> Self {
        RetiringProvisional {
            reference: t.reference.clone(),
            account_reference: t.account_reference.clone(),
            value: t.value,
            date: t.date,
            deleted_at: t.deleted_at,
        }
    }

    fn to_tombstone(&self) -> Tombstone {
        Tombstone {
            reference: self.reference.clone(),
            account_reference: self.account_reference.clone(),
            value: self.value,
            date: self.date,
            was_pending: true,
            deleted_at: self.deleted_at,
        }
    }
}

/// The state of one account's payments task.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentsState {
    /// The `last_update` watermark and the scan in progress.
    #[serde(default)]
    pub watermark: Watermark,
    /// Provisional rows deleted in this scan and not yet matched to a posted row.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retiring: Vec<RetiringProvisional>,
}

/// The changes of one page after maturation (after `counterparties`), and the provisional
/// rows still unmatched.
fn retire(
    counterparties: Vec<PaymentChange>,
    payments: Vec<connector_core::model::Payment>,
    tombstones: Vec<Tombstone>,
    carried: &[RetiringProvisional],
    last_page: bool,
    rule: powens_model::maturation::MaturationRule,
) -> (Vec<PaymentChange>, Vec<RetiringProvisional>) {
    let mut all: Vec<Tombstone> = carried
        .iter()
        .map(RetiringProvisional::to_tombstone)
        .collect();
    all.extend(tombstones);
    let outcome = mature(&[], payments, &all, rule);
    let replaced: BTreeSet<&str> = outcome
        .retired
        .iter()
        .filter_map(|r| match r {
            Retirement::Replaced { provisional, .. } => Some(provisional.as_str()),
            _ => None,
        })
        .collect();
    // Unmatched provisional tombstones wait for a later page of the scan.
    let waiting: Vec<RetiringProvisional> = if last_page {
        Vec::new()
    } else {
        all.iter()
            .filter(|t| t.was_pending && !replaced.contains(t.reference.as_str()))
            .map(RetiringProvisional::from_tombstone)
            .collect()
    };
    let waiting_refs: BTreeSet<&str> = waiting.iter().map(|w| w.reference.as_str()).collect();
    // Collected in place (a record and a change have the same size): the page is not held
    // twice.
    let mut changes: Vec<PaymentChange> = outcome
        .records
        .into_iter()
        .filter_map(|record| match record {
            Record::Payment(p) => Some(PaymentChange::Payment(p)),
            Record::PaymentToDelete(d) => Some(PaymentChange::Delete(d)),
            Record::PaymentToCancel(c) if waiting_refs.contains(c.reference.as_str()) => None,
            Record::PaymentToCancel(c) => Some(PaymentChange::Cancel(c)),
            _ => None,
        })
        .collect();
    // Counterparties first: a payment's destination then names a known account.
    changes.splice(0..0, counterparties);
    (changes, waiting)
}

/// A page is mapped and delivered in parts of at most this many rows (or
/// [`PAYMENTS_PART_BYTES`] of row text), each committed with the offset after its last row:
/// what the connector holds at once does not follow the configured page size, and a restart
/// resumes after the last part delivered rather than at the page's start.
///
/// 50 rows (about 40 KB of Powens rows): measured with `cargo xtask bench sync`, smaller
/// parts cost throughput (one sink write and state commit each) and larger ones make the
/// peak memory follow the page fill again (see `docs/BENCHMARKS.md`).
pub const PAYMENTS_PART_ROWS: usize = 50;

/// Received bytes are fed to the splitter this many at a time (see the payments loop).
const FEED_BYTES: usize = 16 * 1024;

/// A part also ends once its rows reach this many bytes (whichever of this and
/// [`PAYMENTS_PART_ROWS`] comes first): rows far longer than Powens' usual ones do not make
/// parts large.
pub const PAYMENTS_PART_BYTES: usize = 64 * 1024;

/// The changes of one mapped part (or page) and the provisional rows still unmatched.
///
/// Counterparties not yet sent in this run come first; tombstones count only after the
/// first scan (the first reads the whole history: its tombstones are rows deleted before
/// this connector ever emitted them).
fn page_changes(
    mapped: PageMapped<'_>,
    full_scan: bool,
    seen: &mut SeenCounterparties,
    carried: &[RetiringProvisional],
    last_page: bool,
    rule: powens_model::maturation::MaturationRule,
) -> (Vec<PaymentChange>, Vec<RetiringProvisional>) {
    let tombstones = if full_scan {
        Vec::new()
    } else {
        mapped.tombstones
    };
    let counterparties: Vec<PaymentChange> = mapped
        .external_accounts
        .into_iter()
        .filter(|external| seen.first_sight(&external.reference))
        .map(PaymentChange::ExternalAccount)
        .collect();
    let payments: Vec<_> = mapped
        .payments
        .into_iter()
        .map(PaymentRow::into_payment)
        .collect();
    retire(
        counterparties,
        payments,
        tombstones,
        carried,
        last_page,
        rule,
    )
}

/// What mapping the parts of one page needs.
struct PartScan<'a> {
    book: &'a AccountBook,
    ctx: &'a powens_model::MappingContext,
    psu: &'a str,
    full_scan: bool,
    rule: powens_model::maturation::MaturationRule,
}

impl PartScan<'_> {
    /// Maps a part (or the page's envelope), observing its timestamps in `watermark`.
    fn read<'b>(
        &self,
        body: &'b [u8],
        watermark: &mut Watermark,
    ) -> Result<PageMapped<'b>, ConnectorError> {
        read_part(body, self.book, self.ctx, watermark, self.psu)
    }

    /// The changes of a part that is not the page's last (the part is released once mapped);
    /// moves the state, and the page's `delivered` row count, past its rows.
    fn deliver_part(
        &self,
        part: PagePart,
        state: &mut PaymentsState,
        seen: &mut SeenCounterparties,
        delivered: &mut u64,
    ) -> Result<Vec<PaymentChange>, ConnectorError> {
        let mapped = self.read(&part.body, &mut state.watermark)?;
        let (changes, waiting) = page_changes(
            mapped,
            self.full_scan,
            seen,
            &state.retiring,
            false,
            self.rule,
        );
        state.retiring = waiting;
        let rows = u64::try_from(part.rows).unwrap_or(u64::MAX);
        state.watermark.advance_rows(rows);
        *delivered = delivered.saturating_add(rows);
        Ok(changes)
    }
}

/// Appends the rows `extra` mapped to `mapped`; returns how many rows that was.
fn append_rows<'a>(mapped: &mut PageMapped<'a>, extra: &PageMapped<'a>) -> usize {
    mapped.payments.extend(extra.payments.iter().cloned());
    mapped.tombstones.extend(extra.tombstones.iter().cloned());
    mapped.skipped.extend(extra.skipped.iter().cloned());
    mapped
        .external_accounts
        .extend(extra.external_accounts.iter().cloned());
    extra.payments.len() + extra.tombstones.len() + extra.skipped.len()
}

impl PaymentsFetcher for PowensConnector {
    fn fetch_payments(&self, request: FetchRequest) -> PageStream<'_, PaymentChange> {
        let shared = Arc::clone(&self.shared);
        async_stream::try_stream! {
            let psu = Arc::clone(request.require_psu()?);
            let token = user_token(&psu)?.clone();
            let bank_account = parent_bank_account(&request)?;
            let mut state: PaymentsState = request.state()?;
            let ctx = mapping_context(&shared, &psu);
            let account_ctx = match account::account_context(&bank_account, &ctx) {
                Ok(account_ctx) => Some(account_ctx),
                Err(reason) => {
                    tracing::warn!(account = bank_account.id, %reason, "account skipped: its payments are not fetched");
                    None
                }
            };
            let hidden = bank_account.disabled.is_some() || bank_account.deleted.is_some();
            let Some(account_ctx) = account_ctx.filter(|_| !hidden) else {
                // Powens lists no transactions of a disabled or deleted account.
                yield FetchPage::new(Vec::new(), &state, false)?;
                return;
            };
            let book = AccountBook::single(account_ctx);
            let zone = shared.config.time_zone;
            let limit = shared.config.page_size;
            state.watermark.observe(account_last_update(&bank_account, &shared));
            state.watermark.begin(shared.watermark_margin);
            let mut seen = SeenCounterparties::default();
            loop {
                let query = state.watermark.query(limit, zone);
                let full_scan = state.watermark.is_full_scan();
                let scan = PartScan {
                    book: &book,
                    ctx: &ctx,
                    psu: &psu.psu_id,
                    full_scan,
                    rule: shared.maturation,
                };
                let mut body = shared
                    .client
                    .list_account_transactions_streamed(&token, bank_account.id, &query)
                    .await
                    .map_err(to_connector_error)?;
                let mut splitter = PageSplitter::new(PAYMENTS_PART_ROWS, PAYMENTS_PART_BYTES);
                // Rows of this page already delivered (in parts, before the page's end).
                let mut delivered: u64 = 0;
                // The latest complete part, delivered once another follows: the page's last
                // part then travels with its end (one commit, not an empty one after it).
                let mut held: Option<PagePart> = None;
                while let Some(chunk) = body.chunk().await.map_err(to_connector_error)? {
                    // A chunk can be as large as the HTTP client's read buffer (about 400 KB
                    // for a large page): fed in slices, each part is delivered before the next
                    // slice is copied, so the parts waiting never add up to a chunk's worth.
                    for slice in chunk.chunks(FEED_BYTES) {
                        splitter.push(slice);
                        while let Some(part) = splitter.next_part() {
                            if let Some(ready) = held.replace(part) {
                                let changes = scan.deliver_part(ready, &mut state, &mut seen, &mut delivered)?;
                                yield FetchPage::new(changes, &state, true)?;
                            }
                        }
                    }
                    drop(chunk);
                }
                drop(body);
                let (last, envelope) = splitter.finish();
                let rest = match (held, last) {
                    (Some(ready), Some(last)) => {
                        let changes = scan.deliver_part(ready, &mut state, &mut seen, &mut delivered)?;
                        yield FetchPage::new(changes, &state, true)?;
                        Some(last)
                    }
                    (held, last) => held.or(last),
                };
                // The body without its rows: a body that is no page at all, or a truncated
                // one, fails here (retried from the last delivered part).
                let envelope_mapped = scan.read(&envelope, &mut state.watermark)?;
                let mut mapped = match &rest {
                    Some(part) => scan.read(&part.body, &mut state.watermark)?,
                    None => PageMapped::default(),
                };
                // Rows the splitter could not tell apart from the envelope (a `transactions`
                // key written with escapes, a second `transactions` member) were mapped with it.
                let envelope_rows = append_rows(&mut mapped, &envelope_mapped);
                let rest_rows = rest.as_ref().map_or(0, |part| part.rows);
                let rows = usize::try_from(delivered)
                    .unwrap_or(usize::MAX)
                    .saturating_add(rest_rows)
                    .saturating_add(envelope_rows);
                let last_page = is_last_page(&envelope_mapped, &envelope, rows, limit);
                let (changes, waiting) = page_changes(
                    mapped,
                    full_scan,
                    &mut seen,
                    &state.retiring,
                    last_page,
                    shared.maturation,
                );
                drop(envelope_mapped);
                drop(rest);
                state.retiring = waiting;
                let rest_of_page = u64::from(limit).saturating_sub(delivered);
                state
                    .watermark
                    .advance(u32::try_from(rest_of_page).unwrap_or(0), last_page);
                yield FetchPage::new(changes, &state, !last_page)?;
                if last_page {
                    break;
                }
            }
        }
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use connector_core::model::{Payment, PaymentScheme, PaymentStatus, PaymentType};
    use connector_core::money::Asset;
    use powens_model::maturation::MaturationRule;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 6, d).unwrap()
    }

    fn posted(reference: &str, minor: i128, d: u32) -> Payment {
        Payment {
            reference: reference.into(),
            parent_reference: None,
            created_at: Utc.from_utc_datetime(&day(d).and_hms_opt(0, 0, 0).unwrap()),
            payment_type: PaymentType::Payout,
            amount: Amount::from_minor(minor),
            asset: Asset::new("EUR", 2).unwrap(),
            scheme: PaymentScheme::Other,
            status: PaymentStatus::Succeeded,
            source_account_reference: Some("1".into()),
            destination_account_reference: None,
            psu_id: None,
            open_banking_connection_id: None,
            metadata: Default::default(),
            raw: serde_json::value::RawValue::NULL.to_owned(),
        }
    }

    fn tombstone(reference: &str, minor: i128, d: u32, was_pending: bool) -> Tombstone {
        Tombstone {
            reference: reference.into(),
            account_reference: "1".into(),
            value: Amount::from_minor(-minor),
            date: day(d),
            was_pending,
            deleted_at: DateTime::<Utc>::UNIX_EPOCH,
        }
    }

    fn run_retire(
        payments: Vec<Payment>,
        tombstones: Vec<Tombstone>,
        carried: &[RetiringProvisional],
        last_page: bool,
        rule: MaturationRule,
    ) -> (Vec<PaymentChange>, Vec<RetiringProvisional>) {
        retire(Vec::new(), payments, tombstones, carried, last_page, rule)
    }

    fn kinds(changes: &[PaymentChange]) -> Vec<String> {
        changes
            .iter()
            .map(|c| match c {
                PaymentChange::Payment(p) => format!(
                    "payment {} replaces {:?}",
                    p.reference,
                    p.metadata.get("com.powens.spec/replaces")
                ),
                PaymentChange::Delete(d) => format!("delete {}", d.reference),
                PaymentChange::Cancel(c) => format!("cancel {}", c.reference),
                PaymentChange::ExternalAccount(a) => format!("external {}", a.reference),
            })
            .collect()
    }

    #[test]
    fn a_provisional_tombstone_waits_for_its_replacement_on_a_later_page() {
        let rule = MaturationRule::default();
        let (page1, waiting) = run_retire(
            Vec::new(),
            vec![tombstone("7", 1250, 16, true)],
            &[],
            false,
            rule,
        );
        assert!(page1.is_empty(), "{:?}", kinds(&page1));
        assert_eq!(waiting.len(), 1);
        let (page2, waiting) = run_retire(
            vec![posted("90", 1250, 18)],
            Vec::new(),
            &waiting,
            true,
            rule,
        );
        assert_eq!(
            kinds(&page2),
            vec!["payment 90 replaces Some(\"7\")", "delete 7"]
        );
        assert!(waiting.is_empty());
    }

    #[test]
    fn a_provisional_tombstone_unmatched_at_the_end_of_the_scan_is_cancelled() {
        let rule = MaturationRule::default();
        let (_, waiting) = run_retire(
            Vec::new(),
            vec![tombstone("7", 1250, 16, true)],
            &[],
            false,
            rule,
        );
        let (last, waiting) = run_retire(
            vec![posted("90", 999, 18)],
            Vec::new(),
            &waiting,
            true,
            rule,
        );
        assert_eq!(kinds(&last), vec!["payment 90 replaces None", "cancel 7"]);
        assert!(waiting.is_empty());
    }

    #[test]
    fn a_deleted_posted_row_is_cancelled_at_once() {
        let rule = MaturationRule::default();
        let (changes, waiting) = run_retire(
            Vec::new(),
            vec![tombstone("5", 300, 10, false)],
            &[],
            false,
            rule,
        );
        assert_eq!(kinds(&changes), vec!["cancel 5"]);
        assert!(waiting.is_empty());
    }

    #[test]
    fn payments_state_round_trips_through_json() {
        let state = PaymentsState {
            watermark: Watermark {
                since: Some(DateTime::<Utc>::UNIX_EPOCH),
                scan: Some(crate::fetch::ScanProgress {
                    offset: 50,
                    next_since: None,
                }),
                server_time_floor: None,
            },
            retiring: vec![RetiringProvisional {
                reference: "9".into(),
                account_reference: "1".into(),
                value: Amount::from_minor(-1250),
                date: NaiveDate::MIN,
                deleted_at: DateTime::<Utc>::UNIX_EPOCH,
            }],
        };
        let json = serde_json::to_value(&state).unwrap();
        let back: PaymentsState = serde_json::from_value(json).unwrap();
        assert_eq!(back, state);
    }
}
