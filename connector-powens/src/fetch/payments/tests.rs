//! [`PaymentsScan`] driven by scripted page bodies: what a real Powens domain may send.

use std::collections::BTreeMap;

use bytes::Bytes;
use chrono::{NaiveDate, TimeDelta, TimeZone, Utc};
use connector_core::contract::{FetchPage, PaymentChange};
use connector_core::ConnectorError;
use powens_api::accounts::BankAccount;
use powens_api::client::Endpoint;
use powens_api::pagination::{LinkGuard, NextLink};
use powens_model::account::account_context;
use powens_model::maturation::MaturationRule;
use powens_model::{AccountBook, MappingContext};

use super::scan::{PageAt, PageBody, PageSource, PaymentsScan, ScanSettings};
use super::PaymentsState;

/// A page body delivered in chunks of `chunk` bytes, cut after `cut` bytes (a reset).
struct Scripted {
    bytes: Bytes,
    at: usize,
    chunk: usize,
    cut: Option<usize>,
}

impl PageBody for Scripted {
    async fn chunk(&mut self) -> Result<Option<Bytes>, ConnectorError> {
        let end = self.bytes.len().min(self.cut.unwrap_or(usize::MAX));
        if self.at >= end {
            return match self.cut {
                Some(_) if self.at < self.bytes.len() => Err(ConnectorError::other(
                    "connection reset mid-body",
                    std::io::Error::other("reset"),
                )),
                _ => Ok(None),
            };
        }
        let stop = (self.at + self.chunk).min(end);
        let chunk = self.bytes.slice(self.at..stop);
        self.at = stop;
        Ok(Some(chunk))
    }
}

/// Pages by request: `offset=N` for a query, the path and query of a followed link.
#[derive(Default)]
struct Script {
    pages: BTreeMap<String, String>,
    /// Page requests in order.
    requests: Vec<String>,
    /// Lookup windows asked for.
    lookups: Vec<(NaiveDate, NaiveDate)>,
    /// The lookup answer.
    lookup_body: Option<String>,
    cut: BTreeMap<String, usize>,
    chunk: usize,
    /// Pages served past the script: an empty page pointing at the next offset (endless).
    endless: bool,
}

impl Script {
    /// An empty script whose bodies arrive in chunks of `chunk` bytes.
    fn chunked(chunk: usize) -> Self {
        Self {
            chunk,
            ..Self::default()
        }
    }

    fn page(mut self, key: &str, body: String) -> Self {
        self.pages.insert(key.to_owned(), body);
        self
    }
}

fn endpoint() -> Endpoint {
    Endpoint::parse("http://127.0.0.1:9/2.0").unwrap()
}

impl PageSource for &mut Script {
    type Body = Scripted;

    async fn open(&mut self, at: &PageAt) -> Result<Scripted, ConnectorError> {
        let key = match at {
            PageAt::Query(query) => format!("offset={}", query.offset.unwrap_or(0)),
            PageAt::Link(next) => {
                let url = next.url();
                format!("{}?{}", url.path(), url.query().unwrap_or(""))
            }
        };
        self.requests.push(key.clone());
        let body = match self.pages.get(&key) {
            Some(body) => body.clone(),
            None if self.endless => {
                let n = self.requests.len();
                format!(
                    r#"{{"transactions":[],"_links":{{"next":{{"href":"/2.0/tx?offset=e{n}"}}}}}}"#
                )
            }
            None => {
                return Err(ConnectorError::other(
                    "no such page",
                    std::io::Error::other(key),
                ))
            }
        };
        Ok(Scripted {
            bytes: Bytes::from(body),
            at: 0,
            chunk: self.chunk.max(1),
            cut: self.cut.get(&key).copied(),
        })
    }

    async fn lookup(
        &mut self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<Bytes>, ConnectorError> {
        self.lookups.push((from, to));
        Ok(self.lookup_body.iter().cloned().map(Bytes::from).collect())
    }

    fn resolve(&self, href: &str) -> Result<NextLink, ConnectorError> {
        NextLink::resolve(&endpoint(), href).map_err(crate::error::to_connector_error)
    }
}

fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 20, 0, 0, 0).unwrap()
}

fn settings(part_rows: usize, limit: u32) -> ScanSettings {
    let ctx = MappingContext::new(now());
    let account: BankAccount = serde_json::from_str(
        r#"{"id": 3, "id_connection": 7, "last_update": "2026-06-18 06:00:00",
            "currency": {"id": "EUR", "precision": 2}}"#,
    )
    .unwrap();
    ScanSettings {
        book: AccountBook::scoped(account_context(&account, &ctx).unwrap()),
        ctx,
        psu: "psu-1".into(),
        limit,
        zone: chrono_tz::Europe::Paris,
        margin: TimeDelta::minutes(10),
        rule: MaturationRule::default(),
        account_last_update: Some(Utc.with_ymd_and_hms(2026, 6, 18, 4, 0, 0).unwrap()),
        part_rows,
    }
}

/// A transaction row of account 3: `id`, value in cents (negative = out), pending or not,
/// deleted or not, last updated at 08:`minute` on June 18 (Paris).
fn row(id: u32, cents: i64, coming: bool, deleted: bool, minute: u32) -> String {
    let deleted = if deleted {
        format!(r#""2026-06-18 08:{minute:02}:00""#)
    } else {
        "null".to_owned()
    };
    format!(
        r#"{{"id":{id},"id_account":3,"date":"2026-06-16","value":{}.{:02},"type":"card","coming":{coming},"deleted":{deleted},"last_update":"2026-06-18 08:{minute:02}:00","original_wording":"CB SHOP {id}"}}"#,
        cents / 100,
        (cents % 100).abs()
    )
}

fn posted(id: u32, minute: u32) -> String {
    row(id, -1250, false, false, minute)
}

fn body(rows: &[String], links: &str) -> String {
    format!(r#"{{"transactions":[{}]{links}}}"#, rows.join(","))
}

fn next(href: &str) -> String {
    format!(r#","_links":{{"next":{{"href":"{href}"}}}}"#)
}

const LAST: &str = r#","_links":{"next":null}"#;

/// Runs a scan to its end (or first error): the pages and the error.
async fn run(
    script: &mut Script,
    settings: ScanSettings,
    state: PaymentsState,
    guard: Option<LinkGuard>,
) -> (
    Vec<FetchPage<PaymentChange>>,
    Option<ConnectorError>,
    PaymentsState,
) {
    let mut scan = PaymentsScan::new(script, Some(settings), state);
    if let Some(guard) = guard {
        scan = scan.with_guard(guard);
    }
    let mut pages = Vec::new();
    loop {
        match scan.next().await {
            Ok(Some(page)) => pages.push(page),
            Ok(None) => return (pages, None, scan.state().clone()),
            Err(err) => return (pages, Some(err), scan.state().clone()),
        }
    }
}

/// A first scan (no state) with pages of 10 and parts of 50 rows, which must end without
/// error; its pages.
async fn first_scan(script: &mut Script) -> Vec<FetchPage<PaymentChange>> {
    let (pages, err, _) = run(script, settings(50, 10), PaymentsState::default(), None).await;
    assert!(err.is_none(), "{err:?}");
    pages
}

fn references(pages: &[FetchPage<PaymentChange>]) -> Vec<String> {
    pages
        .iter()
        .flat_map(|p| &p.items)
        .filter_map(|c| match c {
            PaymentChange::Payment(p) => Some(p.reference.clone()),
            _ => None,
        })
        .collect()
}

fn kinds(pages: &[FetchPage<PaymentChange>]) -> Vec<String> {
    let items: Vec<PaymentChange> = pages.iter().flat_map(|p| p.items.clone()).collect();
    super::retire::kinds(&items)
}

#[tokio::test]
async fn short_pages_with_a_next_link_are_followed_and_the_offset_moves_by_the_rows_received() {
    let mut script = Script::chunked(64)
        .page(
            "offset=0",
            body(
                &[posted(1, 1), posted(2, 2), posted(3, 3)],
                &next("/2.0/tx?offset=3"),
            ),
        )
        .page(
            "/2.0/tx?offset=3",
            body(
                &[posted(4, 4), posted(5, 5)],
                &next("http://127.0.0.1:9/2.0/tx?offset=5"),
            ),
        )
        .page("/2.0/tx?offset=5", body(&[posted(6, 6)], LAST));
    let (pages, err, state) = run(
        &mut script,
        settings(50, 10),
        PaymentsState::default(),
        None,
    )
    .await;
    assert!(err.is_none(), "{err:?}");
    assert_eq!(references(&pages), ["1", "2", "3", "4", "5", "6"]);
    assert_eq!(
        script.requests,
        ["offset=0", "/2.0/tx?offset=3", "/2.0/tx?offset=5"]
    );
    assert_eq!(
        pages.iter().map(|p| p.has_more).collect::<Vec<_>>(),
        [true, true, false]
    );
    // The scan is over; the next one starts from the floor seen before this one − 10 min.
    assert_eq!(state.watermark.scan, None);
    assert_eq!(
        state.watermark.since,
        Some(Utc.with_ymd_and_hms(2026, 6, 18, 3, 50, 0).unwrap())
    );
}

#[tokio::test]
async fn a_page_in_parts_commits_after_each_part_and_a_body_cut_mid_row_resumes_after_the_last_part(
) {
    let rows: Vec<String> = (1..=7).map(|id| posted(id, id)).collect();
    let mut script = Script::chunked(50).page("offset=0", body(&rows, LAST));
    let full = body(&rows, LAST);
    // Cut in the middle of row 6.
    let cut = full.find(r#""id":6"#).unwrap() + 20;
    script.cut.insert("offset=0".into(), cut);
    let (pages, err, state) =
        run(&mut script, settings(2, 10), PaymentsState::default(), None).await;
    assert!(err.is_some(), "the cut body fails the scan");
    // Parts of 2 rows: [1,2] delivered once [3,4] was complete; [3,4] was held, waiting for
    // a part after it (the page's last part travels with its end), and row 6 never ended.
    assert_eq!(references(&pages), ["1", "2"]);
    let committed: PaymentsState =
        serde_json::from_value(pages.last().unwrap().new_state.clone()).unwrap();
    assert_eq!(committed.watermark.offset(), 2);
    assert_eq!(state.watermark.offset(), 2);
    // The retry resumes at offset 2 and reads the rest.
    let mut script = Script::chunked(50).page("offset=2", body(&rows[2..], LAST));
    let (pages, err, _) = run(&mut script, settings(2, 10), committed, None).await;
    assert!(err.is_none(), "{err:?}");
    assert_eq!(references(&pages), ["3", "4", "5", "6", "7"]);
    assert_eq!(script.requests, ["offset=2"]);
}

#[tokio::test]
async fn rows_the_splitter_leaves_in_the_envelope_are_mapped_with_it() {
    // `transactions` written with an escape: the splitter cannot see the rows; the reader can.
    let page = format!(
        r#"{{"\u0074ransactions":[{},{}],"_links":{{"next":null}}}}"#,
        posted(1, 1),
        posted(2, 2)
    );
    let mut script = Script::chunked(7).page("offset=0", page);
    let (pages, err, state) =
        run(&mut script, settings(1, 10), PaymentsState::default(), None).await;
    assert!(err.is_none(), "{err:?}");
    assert_eq!(references(&pages), ["1", "2"]);
    assert_eq!(state.watermark.scan, None);
}

#[tokio::test]
async fn a_restart_mid_linked_page_reads_that_page_again_from_its_link() {
    let mut script = Script::chunked(40)
        .page("offset=0", body(&[posted(1, 1)], &next("/2.0/tx?offset=1")))
        .page(
            "/2.0/tx?offset=1",
            body(&[posted(2, 2), posted(3, 3), posted(4, 4)], LAST),
        );
    script.cut.insert(
        "/2.0/tx?offset=1".into(),
        body(&[posted(2, 2), posted(3, 3), posted(4, 4)], LAST)
            .find(r#""id":4"#)
            .unwrap(),
    );
    let (pages, err, _) = run(&mut script, settings(1, 10), PaymentsState::default(), None).await;
    assert!(err.is_some());
    assert_eq!(references(&pages), ["1", "2"]);
    let committed: PaymentsState =
        serde_json::from_value(pages.last().unwrap().new_state.clone()).unwrap();
    assert_eq!(committed.watermark.offset(), 2);
    script.cut.clear();
    script.requests.clear();
    let (pages, err, state) = run(&mut script, settings(1, 10), committed, None).await;
    assert!(err.is_none(), "{err:?}");
    // Row 2 comes again (at least once), then the rest.
    assert_eq!(references(&pages), ["2", "3", "4"]);
    assert_eq!(script.requests, ["/2.0/tx?offset=1"]);
    assert_eq!(state.watermark.scan, None);
}

#[tokio::test]
async fn without_links_total_ends_the_scan_and_without_total_an_empty_page_does() {
    let mut script = Script::chunked(64)
        .page(
            "offset=0",
            body(&[posted(1, 1), posted(2, 2)], r#","total":3"#),
        )
        .page("offset=2", body(&[posted(3, 3)], r#","total":3"#));
    let pages = first_scan(&mut script).await;
    assert_eq!(references(&pages), ["1", "2", "3"]);
    assert_eq!(script.requests, ["offset=0", "offset=2"]);

    let mut script = Script::chunked(64)
        .page("offset=0", body(&[posted(1, 1), posted(2, 2)], ""))
        .page("offset=2", body(&[], ""));
    let pages = first_scan(&mut script).await;
    assert_eq!(references(&pages), ["1", "2"]);
    assert_eq!(script.requests, ["offset=0", "offset=2"]);
}

#[tokio::test]
async fn an_endless_chain_of_empty_pages_ends_the_scan_with_a_typed_error() {
    let mut script = Script {
        chunk: 64,
        endless: true,
        ..Script::default()
    }
    .page("offset=0", body(&[posted(1, 1)], &next("/2.0/tx?offset=1")));
    let (pages, err, _) = run(
        &mut script,
        settings(50, 10),
        PaymentsState::default(),
        Some(LinkGuard::with_limits(3, 1_000)),
    )
    .await;
    let err = err.expect("the scan must end");
    assert!(err.to_string().contains("endless chain"), "{err}");
    assert_eq!(references(&pages), ["1"]);
    // The first page, then 4 empty pages: the 4th over the bound of 3.
    assert_eq!(script.requests.len(), 5);
}

#[tokio::test]
async fn a_next_link_that_does_not_advance_or_points_elsewhere_ends_the_scan() {
    let mut script = Script::chunked(64)
        .page("offset=0", body(&[posted(1, 1)], &next("/2.0/tx?offset=1")))
        .page(
            "/2.0/tx?offset=1",
            body(&[posted(2, 2)], &next("/2.0/tx?offset=1")),
        );
    let (_, err, _) = run(
        &mut script,
        settings(50, 10),
        PaymentsState::default(),
        None,
    )
    .await;
    let err = err.expect("a repeated link ends the scan");
    assert!(err.to_string().contains("already followed"), "{err}");

    let mut script = Script::chunked(64).page(
        "offset=0",
        body(
            &[posted(1, 1)],
            &next("https://evil.example/2.0/tx?offset=1"),
        ),
    );
    let (pages, err, _) = run(
        &mut script,
        settings(50, 10),
        PaymentsState::default(),
        None,
    )
    .await;
    let err = err.expect("a foreign link ends the scan");
    assert!(err.to_string().contains("evil.example"), "{err}");
    assert!(
        pages.is_empty(),
        "the page is not committed past a refused link"
    );
    assert_eq!(script.requests, ["offset=0"]);
}

#[tokio::test]
async fn a_bare_string_next_link_is_followed() {
    let mut script = Script::chunked(64)
        .page(
            "offset=0",
            body(&[posted(1, 1)], r#","_links":{"next":"/2.0/tx?offset=1"}"#),
        )
        .page("/2.0/tx?offset=1", body(&[posted(2, 2)], LAST));
    let pages = first_scan(&mut script).await;
    assert_eq!(references(&pages), ["1", "2"]);
}

/// An incremental state: a first scan is done.
fn incremental() -> PaymentsState {
    let mut state = PaymentsState::default();
    state.watermark.since = Some(Utc.with_ymd_and_hms(2026, 6, 17, 0, 0, 0).unwrap());
    state
}

#[tokio::test]
async fn rows_newest_first_or_oldest_first_give_the_same_records_and_watermark() {
    // Provisional 5 (pending, −12.50) deleted and posted again as 9; row 7 posted; row 3 deleted.
    let rows = [
        row(3, -300, false, true, 5),
        row(5, -1250, true, true, 20),
        row(7, -700, false, false, 10),
        row(9, -1250, false, false, 20),
    ];
    let lookup = body(
        &[
            row(7, -700, false, false, 10),
            row(9, -1250, false, false, 20),
        ],
        LAST,
    );
    let mut outcomes = Vec::new();
    for order in [vec![0, 1, 2, 3], vec![3, 2, 1, 0], vec![2, 0, 3, 1]] {
        for part_rows in [1, 2, 50] {
            let ordered: Vec<String> = order.iter().map(|&i| rows[i].clone()).collect();
            let mut script = Script {
                chunk: 33,
                lookup_body: Some(lookup.clone()),
                ..Script::default()
            }
            .page("offset=0", body(&ordered, LAST));
            let (pages, err, state) =
                run(&mut script, settings(part_rows, 10), incremental(), None).await;
            assert!(err.is_none(), "{err:?}");
            // The ledger a consumer keeps: the last record of each reference.
            let mut ledger = BTreeMap::new();
            for change in pages.iter().flat_map(|p| p.items.clone()) {
                match change {
                    PaymentChange::Payment(p) => {
                        let replaces = p
                            .metadata
                            .get("com.powens.spec/replaces")
                            .map(str::to_owned);
                        ledger.insert(
                            p.reference.clone(),
                            format!("{} replaces {replaces:?}", p.status.as_str()),
                        );
                    }
                    PaymentChange::Delete(d) => {
                        ledger.insert(d.reference, "deleted".into());
                    }
                    PaymentChange::Cancel(c) => {
                        ledger
                            .entry(c.reference)
                            .or_insert_with(|| "cancelled".into());
                    }
                    PaymentChange::ExternalAccount(_) => {}
                }
            }
            outcomes.push((ledger, state.watermark.clone(), state.retiring.len()));
        }
    }
    let first = outcomes[0].clone();
    assert_eq!(
        first.0.into_iter().collect::<Vec<_>>(),
        [
            ("3".to_owned(), "cancelled".to_owned()),
            ("5".to_owned(), "deleted".to_owned()),
            ("7".to_owned(), "SUCCEEDED replaces None".to_owned()),
            ("9".to_owned(), "SUCCEEDED replaces Some(\"5\")".to_owned()),
        ]
    );
    for outcome in &outcomes {
        assert_eq!(outcome, &outcomes[0]);
    }
}

#[tokio::test]
async fn a_provisional_deleted_in_one_sync_and_posted_in_the_next_is_cancelled_then_swapped() {
    let mut script = Script {
        chunk: 64,
        lookup_body: Some(body(&[], LAST)),
        ..Script::default()
    }
    .page("offset=0", body(&[row(5, -1250, true, true, 20)], LAST));
    let (pages, err, state) = run(&mut script, settings(50, 10), incremental(), None).await;
    assert!(err.is_none(), "{err:?}");
    assert_eq!(kinds(&pages), ["cancel 5"]);
    assert_eq!(script.lookups.len(), 1);
    assert_eq!(state.retiring.len(), 1);
    let mut script =
        Script::chunked(64).page("offset=0", body(&[row(9, -1250, false, false, 30)], LAST));
    let (pages, err, state) = run(&mut script, settings(50, 10), state, None).await;
    assert!(err.is_none(), "{err:?}");
    assert_eq!(kinds(&pages), ["payment 9 replaces 5", "delete 5"]);
    assert!(state.retiring.is_empty());
    assert_eq!(state.swapped.len(), 1);
}

#[tokio::test]
async fn an_account_whose_payments_are_not_fetched_yields_one_empty_final_page() {
    let mut script = Script::default();
    let mut scan = PaymentsScan::new(&mut script, None, PaymentsState::default());
    let page = scan.next().await.unwrap().unwrap();
    assert!(page.items.is_empty() && !page.has_more);
    assert!(scan.next().await.unwrap().is_none());
    drop(scan);
    assert!(script.requests.is_empty());
}
