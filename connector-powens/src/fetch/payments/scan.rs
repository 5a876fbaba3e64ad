//! [`PaymentsScan`]: one account's transactions scan as a state machine.
//!
//! Each call of [`PaymentsScan::next`] returns the next page to hand to the engine (a part of
//! a Powens page, or a page's end) with the state to commit after it, until the scan is over.
//! The phases:
//!
//! ```text
//! Start ─► Open ─► Reading ─► Ending ─┬─► Open (the next page)
//!   │                 ▲   │           └─► Done (the last page)
//!   └─► Done          └───┘ (a part delivered)
//! ```
//!
//! * **Open** asks for the next page: at the link the previous page gave (`_links.next`,
//!   authoritative), else at the committed offset.
//! * **Reading** feeds the body, as it arrives, to the [`PageSplitter`]; each part of whole
//!   rows is mapped and delivered with the offset after its last row. The latest part is held
//!   until another follows, so the page's last part travels with its end.
//! * **Ending** maps what is left (the last part and the envelope), decides how the page ends
//!   ([`PageEnd`]), checks the [`LinkGuard`] (a repeated link, an endless chain of empty
//!   pages, the page cap: each ends the scan with a typed error), and moves the state.
//!
//! An error ends the scan where it is (`Done`): the engine keeps the last committed state, so
//! a retry resumes after the last part delivered.
//!
//! The scan reads pages through a [`PageSource`], so that tests drive it with scripted bodies
//! (a truncated page, rows in the envelope, short pages) and the fetcher with Powens.

use bytes::Bytes;
use chrono::{NaiveDate, TimeDelta};
use chrono_tz::Tz;
use connector_core::contract::{FetchPage, PaymentChange};
use connector_core::model::{Payment, PaymentStatus};
use connector_core::ConnectorError;
use powens_api::pagination::{LinkGuard, NextLink};
use powens_api::transactions::TransactionsQuery;
use powens_model::maturation::MaturationRule;
use powens_model::page::{map_transactions_page, PageMapped, PagePart, PageSplitter, PaymentRow};
use powens_model::{AccountBook, MappingContext};

use super::retire::{lookup_window, Retirements};
use super::{PaymentsState, PAYMENTS_PART_BYTES};
use crate::error::{page_decode_error, to_connector_error};
use crate::fetch::external::SeenCounterparties;
use crate::fetch::page::{page_end, read_part, rows_of};
use crate::fetch::skipped_objects;
use crate::fetch::watermark::PageEnd;

/// Received bytes are fed to the splitter this many at a time: a chunk can be as large as
/// the HTTP client's read buffer (about 400 KB for a large page), and each part is delivered
/// before the next slice is copied, so the parts waiting never add up to a chunk's worth.
const FEED_BYTES: usize = 16 * 1024;

/// Where a page is read from.
#[derive(Debug, Clone)]
pub(crate) enum PageAt {
    /// The page at the query's offset.
    Query(TransactionsQuery),
    /// The page a previous page's `_links.next` pointed at (resolved and checked).
    Link(NextLink),
}

/// A page body as it arrives.
pub(crate) trait PageBody {
    /// The next chunk of the body; `None` at its end.
    async fn chunk(&mut self) -> Result<Option<Bytes>, ConnectorError>;
}

/// Where the scan reads its pages: Powens (the fetcher), or a script (tests).
pub(crate) trait PageSource {
    /// A page body.
    type Body: PageBody;

    /// Opens the page at `at`.
    async fn open(&mut self, at: &PageAt) -> Result<Self::Body, ConnectorError>;

    /// The account's live rows dated from `from` to `to` (whole pages), to find the posted row
    /// of a deleted provisional one.
    async fn lookup(
        &mut self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<Bytes>, ConnectorError>;

    /// Resolves a `_links.next` href against the endpoint (another host is refused).
    fn resolve(&self, href: &str) -> Result<NextLink, ConnectorError>;
}

/// What the scan knows of its account and how to read it.
pub(crate) struct ScanSettings {
    /// The account, for mapping (a row without `id_account` belongs to it).
    pub(crate) book: AccountBook,
    /// The mapping context (zone, PSU, fallback time).
    pub(crate) ctx: MappingContext,
    /// The PSU, for logs.
    pub(crate) psu: String,
    /// The page size asked for.
    pub(crate) limit: u32,
    /// The zone of Powens' naive datetimes (for `last_update`).
    pub(crate) zone: Tz,
    /// The watermark safety margin.
    pub(crate) margin: TimeDelta,
    /// The maturation rule.
    pub(crate) rule: MaturationRule,
    /// The account's own `last_update` (a server timestamp).
    pub(crate) account_last_update: Option<chrono::DateTime<chrono::Utc>>,
    /// Rows per part ([`super::PAYMENTS_PART_ROWS`] but in tests).
    pub(crate) part_rows: usize,
}

enum Phase<B> {
    Start,
    Open,
    Reading(Box<Reading<B>>),
    Ending(Box<Ending>),
    Done,
}

/// A page being read.
struct Reading<B> {
    body: B,
    splitter: PageSplitter,
    chunk: Bytes,
    fed: usize,
    held: Option<PagePart>,
    /// Rows of this page delivered in parts.
    delivered: u64,
    /// The scan's offset at this page's first row.
    page_offset: u64,
}

/// A page read to its end, not yet delivered in full.
struct Ending {
    last: Option<PagePart>,
    envelope: Vec<u8>,
    delivered: u64,
    page_offset: u64,
}

/// One account's transactions scan (see the module docs).
pub(crate) struct PaymentsScan<S: PageSource> {
    source: S,
    settings: Option<ScanSettings>,
    state: PaymentsState,
    seen: SeenCounterparties,
    guard: LinkGuard,
    phase: Phase<S::Body>,
}

impl<S: PageSource> PaymentsScan<S> {
    /// A scan resuming from `state`; `settings` is `None` for an account whose payments are
    /// not fetched (hidden, or in a currency that cannot be mapped): one empty, final page.
    pub(crate) fn new(source: S, settings: Option<ScanSettings>, state: PaymentsState) -> Self {
        Self {
            source,
            settings,
            state,
            seen: SeenCounterparties::default(),
            guard: LinkGuard::new(),
            phase: Phase::Start,
        }
    }

    /// A scan with another page guard (tests use small bounds).
    #[cfg(test)]
    pub(crate) fn with_guard(mut self, guard: LinkGuard) -> Self {
        self.guard = guard;
        self
    }

    /// The state after the last page returned.
    #[cfg(test)]
    pub(crate) fn state(&self) -> &PaymentsState {
        &self.state
    }

    /// The next page, or `None` once the scan is over. After an error the scan is over.
    pub(crate) async fn next(
        &mut self,
    ) -> Result<Option<FetchPage<PaymentChange>>, ConnectorError> {
        loop {
            match std::mem::replace(&mut self.phase, Phase::Done) {
                Phase::Done => return Ok(None),
                Phase::Start => {
                    let Some(settings) = &self.settings else {
                        return FetchPage::new(Vec::new(), &self.state, false).map(Some);
                    };
                    let watermark = &mut self.state.watermark;
                    watermark.observe(settings.account_last_update);
                    watermark.begin(settings.margin);
                    self.phase = Phase::Open;
                }
                Phase::Open => {
                    let Some(settings) = &self.settings else {
                        return Ok(None);
                    };
                    let watermark = &mut self.state.watermark;
                    let at = match watermark.link() {
                        Some(link) => {
                            let next = self.source.resolve(&link.href)?;
                            watermark.restart_linked_page();
                            PageAt::Link(next)
                        }
                        None => PageAt::Query(watermark.query(settings.limit, settings.zone)),
                    };
                    let page_offset = watermark.offset();
                    let splitter = PageSplitter::new(settings.part_rows, PAYMENTS_PART_BYTES);
                    let body = self.source.open(&at).await?;
                    self.phase = Phase::Reading(Box::new(Reading {
                        body,
                        splitter,
                        chunk: Bytes::new(),
                        fed: 0,
                        held: None,
                        delivered: 0,
                        page_offset,
                    }));
                }
                Phase::Reading(mut reading) => {
                    if let Some(part) = reading.splitter.next_part() {
                        if let Some(ready) = reading.held.replace(part) {
                            let page = self.deliver_part(ready, &mut reading.delivered).await?;
                            self.phase = Phase::Reading(reading);
                            return Ok(Some(page));
                        }
                    } else if reading.fed < reading.chunk.len() {
                        let end = reading
                            .fed
                            .saturating_add(FEED_BYTES)
                            .min(reading.chunk.len());
                        let slice = reading.chunk.slice(reading.fed..end);
                        reading.splitter.push(&slice);
                        reading.fed = end;
                    } else if let Some(chunk) = reading.body.chunk().await? {
                        reading.chunk = chunk;
                        reading.fed = 0;
                    } else {
                        let Reading {
                            splitter,
                            held,
                            mut delivered,
                            page_offset,
                            ..
                        } = *reading;
                        let (last, envelope) = splitter.finish();
                        let (ready, last) = match (held, last) {
                            (Some(ready), Some(last)) => (Some(ready), Some(last)),
                            (held, last) => (None, held.or(last)),
                        };
                        let page = match ready {
                            Some(ready) => Some(self.deliver_part(ready, &mut delivered).await?),
                            None => None,
                        };
                        self.phase = Phase::Ending(Box::new(Ending {
                            last,
                            envelope,
                            delivered,
                            page_offset,
                        }));
                        if page.is_some() {
                            return Ok(page);
                        }
                        continue;
                    }
                    self.phase = Phase::Reading(reading);
                }
                Phase::Ending(ending) => return self.end_page(*ending).await.map(Some),
            }
        }
    }

    /// Maps and delivers a part that is not the page's last.
    async fn deliver_part(
        &mut self,
        part: PagePart,
        delivered: &mut u64,
    ) -> Result<FetchPage<PaymentChange>, ConnectorError> {
        let changes = {
            let Some(settings) = &self.settings else {
                return Err(no_settings());
            };
            let mapped = read_part(
                &part.body,
                &settings.book,
                &settings.ctx,
                &mut self.state.watermark,
                &settings.psu,
            )?;
            let skipped = skipped_objects(&mapped.skipped);
            (self.settle(mapped).await?, skipped)
        };
        let (changes, skipped) = changes;
        let rows = u64::try_from(part.rows).unwrap_or(u64::MAX);
        self.state.watermark.advance_rows(rows);
        *delivered = delivered.saturating_add(rows);
        Ok(FetchPage::new(changes, &self.state, true)?.with_skipped(skipped))
    }

    /// Delivers the rest of a page read to its end and moves to what comes next.
    async fn end_page(
        &mut self,
        ending: Ending,
    ) -> Result<FetchPage<PaymentChange>, ConnectorError> {
        let Some(settings) = &self.settings else {
            return Err(no_settings());
        };
        let watermark = &mut self.state.watermark;
        // The body without its rows: a body that is no page at all, or a truncated one, fails
        // here (retried from the last delivered part).
        let envelope = read_part(
            &ending.envelope,
            &settings.book,
            &settings.ctx,
            watermark,
            &settings.psu,
        )?;
        let mut mapped = match &ending.last {
            Some(part) => read_part(
                &part.body,
                &settings.book,
                &settings.ctx,
                watermark,
                &settings.psu,
            )?,
            None => PageMapped::default(),
        };
        // Rows the splitter could not tell apart from the envelope (a `transactions` key
        // written with escapes, a second `transactions` member) were mapped with it.
        let envelope_rows = rows_of(&envelope);
        append_rows(&mut mapped, &envelope);
        let rest = ending
            .last
            .as_ref()
            .map_or(0, |part| u64::try_from(part.rows).unwrap_or(u64::MAX))
            .saturating_add(envelope_rows);
        let rows = ending.delivered.saturating_add(rest);
        let end = page_end(&envelope, ending.page_offset, rows);
        let next = match &end {
            PageEnd::Link(href) => Some(self.source.resolve(href)?),
            _ => None,
        };
        self.guard
            .page(
                usize::try_from(rows).unwrap_or(usize::MAX),
                end != PageEnd::Last,
                next.as_ref(),
            )
            .map_err(to_connector_error)?;
        drop(envelope);
        let last_page = end == PageEnd::Last;
        let skipped = skipped_objects(&mapped.skipped);
        let mut changes = self.settle(mapped).await?;
        drop(ending);
        self.state.watermark.end_page(rest, &end);
        self.phase = if last_page { Phase::Done } else { Phase::Open };
        if last_page {
            let floor = self.state.watermark.server_time_floor;
            let rule = self.rule();
            self.retirements().finish_scan(floor, rule, &mut changes);
        }
        Ok(FetchPage::new(changes, &self.state, !last_page)?.with_skipped(skipped))
    }

    fn rule(&self) -> MaturationRule {
        self.settings
            .as_ref()
            .map_or_else(MaturationRule::default, |s| s.rule)
    }

    fn retirements(&mut self) -> Retirements<'_> {
        Retirements {
            retiring: &mut self.state.retiring,
            swapped: &mut self.state.swapped,
        }
    }

    /// The changes of mapped rows: new counterparties first, then the payments, deletes and
    /// cancels of [`super::retire`] (tombstones count only after the first scan, which reads
    /// the whole history: its tombstones are rows deleted before this connector ever
    /// emitted them).
    async fn settle(
        &mut self,
        mapped: PageMapped<'_>,
    ) -> Result<Vec<PaymentChange>, ConnectorError> {
        let full_scan = self.state.watermark.is_full_scan();
        let rule = self.rule();
        let PageMapped {
            payments,
            external_accounts,
            tombstones,
            ..
        } = mapped;
        let mut changes: Vec<PaymentChange> = external_accounts
            .into_iter()
            .filter(|external| self.seen.first_sight(&external.reference))
            .map(PaymentChange::ExternalAccount)
            .collect();
        let payments: Vec<Payment> = payments.into_iter().map(PaymentRow::into_payment).collect();
        let tombstones = if full_scan { Vec::new() } else { tombstones };
        let settled = self.retirements().settle_part(payments, tombstones, rule);
        changes.extend(settled.changes);
        if let Some((from, to)) = lookup_window(&settled.lookups, rule) {
            let candidates = self.look_up(from, to).await?;
            self.retirements()
                .settle_lookup(settled.lookups, candidates, rule, &mut changes);
        }
        Ok(changes)
    }

    /// The posted payments of the account dated from `from` to `to`, on the server now.
    async fn look_up(
        &mut self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<Payment>, ConnectorError> {
        let bodies = self.source.lookup(from, to).await?;
        let Some(settings) = &self.settings else {
            return Err(no_settings());
        };
        let mut posted = Vec::new();
        for body in &bodies {
            let mapped = map_transactions_page(body, &settings.book, &settings.ctx)
                .map_err(|err| page_decode_error(body, err))?;
            posted.extend(
                mapped
                    .payments
                    .into_iter()
                    .filter(|row| row.payment.status == PaymentStatus::Succeeded)
                    .map(PaymentRow::into_payment),
            );
        }
        Ok(posted)
    }
}

fn no_settings() -> ConnectorError {
    ConnectorError::InvalidRequest {
        message: "the payments scan of an account that is not fetched read a page".into(),
    }
}

/// Appends the rows `extra` mapped to `mapped`.
fn append_rows<'a>(mapped: &mut PageMapped<'a>, extra: &PageMapped<'a>) {
    mapped.payments.extend(extra.payments.iter().cloned());
    mapped.tombstones.extend(extra.tombstones.iter().cloned());
    mapped.skipped.extend(extra.skipped.iter().cloned());
    mapped
        .external_accounts
        .extend(extra.external_accounts.iter().cloned());
}
