//! The `last_update` watermark rule of the transaction scans.

use chrono::{NaiveDate, TimeDelta, TimeZone, Utc};

use super::watermark::{query_instant, PageEnd, PageLink, ScanProgress, Watermark};

fn at(h: u32, m: u32, s: u32) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 18, h, m, s).unwrap()
}

#[test]
fn first_scan_reads_the_whole_history_and_fixes_the_next_watermark_at_floor_minus_margin() {
    let mut w = Watermark::default();
    w.observe(Some(at(6, 0, 0)));
    w.begin(TimeDelta::minutes(10));
    assert!(w.is_full_scan());
    assert_eq!(w.query(100, chrono_tz::Europe::Paris).last_update, None);
    assert_eq!(
        w.scan,
        Some(ScanProgress {
            offset: 0,
            next_since: Some(at(5, 50, 0)),
            link: None,
        })
    );
    // Rows read during the scan raise the floor, not the watermark of the next scan.
    w.observe(Some(at(7, 0, 0)));
    w.end_page(100, &PageEnd::Offset);
    w.end_page(100, &PageEnd::Last);
    assert_eq!(w.since, Some(at(5, 50, 0)));
    assert_eq!(w.scan, None);
    assert_eq!(w.server_time_floor, Some(at(7, 0, 0)));
    // The scan after that starts from the floor seen before it began.
    w.begin(TimeDelta::minutes(10));
    assert_eq!(w.scan.unwrap().next_since, Some(at(6, 50, 0)));
}

#[test]
fn a_restarted_scan_resumes_at_its_committed_offset_with_the_same_watermarks() {
    let mut w = Watermark {
        since: Some(at(5, 0, 0)),
        scan: Some(ScanProgress {
            offset: 300,
            next_since: Some(at(5, 30, 0)),
            link: None,
        }),
        server_time_floor: Some(at(9, 0, 0)),
    };
    w.begin(TimeDelta::minutes(10));
    assert_eq!(w.offset(), 300);
    assert_eq!(w.scan.as_ref().unwrap().next_since, Some(at(5, 30, 0)));
    let query = w.query(100, chrono_tz::Europe::Paris);
    assert_eq!(query.offset, Some(300));
    assert!(query.all, "tombstones are listed");
    assert_eq!(query.limit, 100);
}

#[test]
fn the_floor_only_moves_forward() {
    let mut w = Watermark::default();
    w.observe(Some(at(8, 0, 0)));
    w.observe(Some(at(7, 0, 0)));
    w.observe(None);
    assert_eq!(w.server_time_floor, Some(at(8, 0, 0)));
}

#[test]
fn without_any_server_time_the_next_scan_reads_everything_again() {
    let mut w = Watermark::default();
    w.begin(TimeDelta::minutes(10));
    w.end_page(10, &PageEnd::Last);
    assert_eq!(w.since, None);
}

#[test]
fn since_is_sent_as_paris_wall_clock_time_floored_to_the_second() {
    let since = Utc.with_ymd_and_hms(2026, 6, 18, 6, 0, 0).unwrap() + TimeDelta::milliseconds(750);
    let sent = query_instant(since, chrono_tz::Europe::Paris);
    assert_eq!(sent.naive.to_string(), "2026-06-18 08:00:00");
    assert!(sent.offset.is_none());
}

#[test]
fn since_inside_the_autumn_fold_is_moved_one_more_hour_back() {
    // 2026-10-25 00:30 UTC is 02:30 CEST, a wall time that happens twice in Paris.
    let since = Utc.with_ymd_and_hms(2026, 10, 25, 0, 30, 0).unwrap();
    let sent = query_instant(since, chrono_tz::Europe::Paris);
    let expected = NaiveDate::from_ymd_opt(2026, 10, 25)
        .unwrap()
        .and_hms_opt(1, 30, 0)
        .unwrap();
    assert_eq!(sent.naive, expected);
}

#[test]
fn parts_move_the_offset_row_by_row_and_the_page_end_moves_past_the_rest_of_the_page() {
    let mut w = Watermark::default();
    w.observe(Some(at(6, 0, 0)));
    w.begin(TimeDelta::minutes(10));
    // Two parts of 50 rows of a 1,000-row page delivered: a restart asks for offset 100.
    w.advance_rows(50);
    w.advance_rows(50);
    assert_eq!(w.query(1000, chrono_tz::Europe::Paris).offset, Some(100));
    // The page's end moves past the rest of it: the next page starts at 1,000.
    w.end_page(1000 - 100, &PageEnd::Offset);
    assert_eq!(w.offset(), 1000);
    // Between scans there is no offset to move.
    w.end_page(1000, &PageEnd::Last);
    w.advance_rows(50);
    assert_eq!(w.scan, None);
    assert_eq!(w.offset(), 0);
}

#[test]
fn the_offset_moves_by_the_rows_received_not_by_the_limit() {
    let mut w = Watermark::default();
    w.begin(TimeDelta::minutes(10));
    // A page of 7 rows asked with limit 25 that is not the last.
    w.end_page(7, &PageEnd::Offset);
    assert_eq!(w.query(25, chrono_tz::Europe::Paris).offset, Some(7));
}

#[test]
fn a_next_link_is_kept_with_the_offset_of_its_page_and_a_restart_reads_that_page_again() {
    let mut w = Watermark::default();
    w.begin(TimeDelta::minutes(10));
    w.end_page(
        7,
        &PageEnd::Link("/2.0/users/me/accounts/1/transactions?offset=7".into()),
    );
    assert_eq!(
        w.link(),
        Some(&PageLink {
            href: "/2.0/users/me/accounts/1/transactions?offset=7".into(),
            offset: 7
        })
    );
    // Two rows of the linked page delivered in a part, then a restart.
    w.advance_rows(2);
    assert_eq!(w.offset(), 9);
    w.restart_linked_page();
    assert_eq!(w.offset(), 7);
    // A server that stops sending links: the next page is at the offset after the rows.
    w.end_page(7, &PageEnd::Offset);
    assert_eq!((w.offset(), w.link()), (14, None));
}

#[test]
fn a_state_written_before_links_were_followed_still_reads() {
    let old = r#"{"since":null,"scan":{"offset":50,"nextSince":null},"serverTimeFloor":null}"#;
    let w: Watermark = serde_json::from_str(old).unwrap();
    assert_eq!((w.offset(), w.link()), (50, None));
    // And a state without a link is written exactly as before.
    assert_eq!(serde_json::to_string(&w).unwrap(), old);
}

#[test]
fn the_page_end_trusts_the_next_link_then_links_then_total_then_an_empty_page() {
    let end = PageEnd::of;
    // A next link wins even on a short page.
    assert_eq!(
        end(Some("/n"), true, Some(100), 0, 7),
        PageEnd::Link("/n".into())
    );
    assert_eq!(
        end(Some("/n"), false, None, 0, 0),
        PageEnd::Link("/n".into())
    );
    // `_links` without `next`: the last page, even when full.
    assert_eq!(end(None, true, None, 0, 25), PageEnd::Last);
    // No links: `total` decides.
    assert_eq!(end(None, false, Some(30), 0, 25), PageEnd::Offset);
    assert_eq!(end(None, false, Some(30), 25, 5), PageEnd::Last);
    // Neither: only an empty page ends the scan.
    assert_eq!(end(None, false, None, 0, 7), PageEnd::Offset);
    assert_eq!(end(None, false, None, 7, 0), PageEnd::Last);
    // An empty page without a link never loops, whatever `total` claims.
    assert_eq!(end(None, false, Some(100), 7, 0), PageEnd::Last);
}
