//! The `last_update` watermark rule of the transaction scans.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::{NaiveDate, TimeDelta, TimeZone, Utc};
use connector_powens::fetch::watermark::{query_instant, ScanProgress, Watermark};

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
            next_since: Some(at(5, 50, 0))
        })
    );
    // Rows read during the scan raise the floor, not the watermark of the next scan.
    w.observe(Some(at(7, 0, 0)));
    w.advance(100, false);
    w.advance(100, true);
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
        }),
        server_time_floor: Some(at(9, 0, 0)),
    };
    w.begin(TimeDelta::minutes(10));
    assert_eq!(w.offset(), 300);
    assert_eq!(w.scan.unwrap().next_since, Some(at(5, 30, 0)));
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
    w.advance(10, true);
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
    w.advance(1000 - 100, false);
    assert_eq!(w.offset(), 1000);
    // Between scans there is no offset to move.
    w.advance(1000, true);
    w.advance_rows(50);
    assert_eq!(w.scan, None);
    assert_eq!(w.offset(), 0);
}
