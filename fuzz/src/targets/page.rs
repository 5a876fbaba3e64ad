//! The transactions page: the lean one-pass reader against the typed serde path, and the
//! page splitter against the whole page.

use arbitrary::Unstructured;
use powens_api::transactions::TransactionsPage;
use powens_model::page::{PagePart, PageSplitter};
use powens_model::AccountBook;

use super::{mode, pick};
use crate::disagree;
use crate::gen;
use crate::oracle::{
    blank_damage, book, depth, lossy, page_rows, project, row_page, span_in, typed_row, Mapping,
    Projection,
};

/// `page`: a transactions page (generated, or raw bytes) through
/// `powens_model::page::map_transactions_page` and through the typed path
/// (`powens_api::transactions::Transaction` decoded by serde_json, mapped by
/// `powens_model::payment::map_transactions`). See [`check_page`].
pub fn page(data: &[u8]) {
    let (raw, rest) = mode(data);
    let bytes = if raw {
        rest.to_vec()
    } else {
        gen::page(&mut Unstructured::new(rest))
    };
    check_page(&bytes);
}

/// The page oracle:
///
/// 1. **Refusals**: the lean reader accepts the page exactly when serde_json reads it as
///    JSON (`serde_json::Value`) whose top level is an object with at most one
///    `transactions` member, an array or `null` (nesting near the 128 limit excepted),
///    once the text row isolation sets aside is blanked ([`blank_damage`]: bytes that are
///    not UTF-8, control characters in strings), every such byte lying inside a row.
/// 1b. **Row isolation**: a row holding such bytes maps alone (its own bytes as received)
///    to exactly one `malformed_row` skip naming the damage, and nothing else.
/// 2. **Whole = rows**: the page maps like the concatenation of its rows mapped one page
///    each (the reader's remembered row shape and its per-page memos change nothing).
/// 3. **Row by row**: each row maps like the typed decoder's `Transaction` of the same row,
///    restricted to what the lean reader reads ([`project`]): same payment, same external
///    account, same tombstone, same skip reason; a row the typed decoder refuses is skipped.
/// 4. **Whole page typed**: when `TransactionsPage` decodes a page without isolated damage, the typed mapping and
///    the lean one are equal (payments, external accounts, tombstones, skips, next link).
pub fn check_page(bytes: &[u8]) {
    let book = book();
    let mut lean = Mapping::default();
    let lean_result = lean.add_lean(bytes, &book);
    let (clean, damaged) = blank_damage(bytes);
    let clean_text = std::str::from_utf8(&clean).unwrap_or_default();
    let valid_json = serde_json::from_slice::<serde_json::Value>(&clean).is_ok();
    let rows = page_rows(&clean);
    let spans: Vec<std::ops::Range<usize>> = rows
        .iter()
        .flat_map(|r| r.rows.iter().map(|row| span_in(clean_text, row.get())))
        .collect();
    let inside_rows = damaged
        .iter()
        .all(|at| spans.iter().any(|span| span.contains(at)));
    let page_like =
        valid_json && inside_rows && rows.as_ref().is_some_and(|r| !r.not_arrays && !r.duplicate);
    match &lean_result {
        Ok(()) if !page_like => disagree!(
            "the lean reader accepted what is not a JSON page (serde_json: {}): {}",
            valid_json,
            lossy(bytes)
        ),
        Err(e) if page_like && depth(bytes) < 120 => disagree!(
            "the lean reader refused a JSON page ({e}): {}",
            lossy(bytes)
        ),
        _ => {}
    }
    let (Ok(()), Some(rows)) = (lean_result, rows) else {
        return;
    };

    // 2 and 3: row by row.
    let mut by_rows = Mapping::default();
    for (row, span) in rows.rows.iter().zip(&spans) {
        let mut single = Mapping::default();
        if damaged.iter().any(|at| span.contains(at)) {
            let original = bytes.get(span.clone()).unwrap_or_default();
            let single_page = [&b"{\"transactions\":["[..], original, b"]}"].concat();
            if let Err(e) = single.add_lean(&single_page, &book) {
                disagree!(
                    "a damaged row of an accepted page is refused alone ({e}): {}",
                    lossy(&single_page)
                );
            }
            let isolated = single.skipped.len() == 1
                && single.payments.is_empty()
                && single.tombstones.is_empty()
                && single.skipped.first().is_some_and(|s| {
                    s.reason.code() == "malformed_row"
                        && (s.reason.to_string().contains("control character")
                            || s.reason.to_string().contains("not UTF-8"))
                });
            if !isolated {
                disagree!(
                    "a damaged row is not skipped for its damage: {single:#?}\nrow {}",
                    lossy(original)
                );
            }
        } else {
            let single_page = row_page(row.get());
            if let Err(e) = single.add_lean(single_page.as_bytes(), &book) {
                disagree!("a row of an accepted page is refused alone ({e}): {single_page}");
            }
            check_row(row.get(), &single, &book);
        }
        by_rows.payments.extend(single.payments);
        for external in single.external_accounts {
            if !by_rows
                .external_accounts
                .iter()
                .any(|e| e.reference == external.reference)
            {
                by_rows.external_accounts.push(external);
            }
        }
        by_rows.tombstones.extend(single.tombstones);
        by_rows.skipped.extend(single.skipped);
    }
    let whole = Mapping {
        next_href: None,
        ..lean.clone()
    };
    if whole != by_rows {
        disagree!(
            "the page maps unlike its rows mapped one by one:\nwhole {whole:#?}\nrows {by_rows:#?}\npage {}",
            lossy(bytes)
        );
    }

    // 4: the whole page, typed. Not for a page with damage row isolation sets aside: serde
    // skips an unknown member's string without checking its UTF-8, so it may map a row the
    // rule skips; rules 1b and 3 check such rows one by one.
    if !damaged.is_empty() {
        return;
    }
    if let Ok(typed_page) = serde_json::from_slice::<TransactionsPage>(bytes) {
        let raws: Vec<String> = rows.rows.iter().map(|r| r.get().to_owned()).collect();
        let mut typed = Mapping::default();
        typed.add_typed(&typed_page.transactions, &raws, &book);
        typed.next_href = typed_page.next_href().map(str::to_owned);
        if typed != lean {
            disagree!(
                "the typed page maps unlike the lean page:\ntyped {typed:#?}\nlean {lean:#?}\npage {}",
                lossy(bytes)
            );
        }
    }
}

/// Row `row` (mapped alone by the lean reader as `single`) against the typed path.
fn check_row(row: &str, single: &Mapping, book: &AccountBook) {
    let produced = single.payments.len() + single.tombstones.len();
    match project(row) {
        Projection::Repeated => {}
        Projection::NotAnObject => {
            if produced != 0 || single.skipped.len() != 1 {
                disagree!("a row that is not an object was not skipped: {row}");
            }
        }
        Projection::Row(projected) => match typed_row(&projected) {
            Ok(tx) => {
                let mut typed = Mapping::default();
                typed.add_typed(&[tx], &[row.to_owned()], book);
                if typed != *single {
                    disagree!(
                        "the row maps unlike its typed decoding:\ntyped {typed:#?}\nlean {single:#?}\nrow {row}\nprojected {projected}"
                    );
                }
            }
            Err(e) => {
                if produced != 0 || single.skipped.len() != 1 {
                    disagree!(
                        "the typed decoder refuses the row ({e}) but the lean reader maps it: {single:#?}\nrow {row}\nprojected {projected}"
                    );
                }
            }
        },
    }
}

/// `page_split`: a page (generated, or raw bytes) fed to `PageSplitter` in chunks of the
/// input's choosing, with the input's `max_rows` and `max_bytes`:
///
/// * the parts and the envelope are the same in that chunking as in one chunk;
/// * the parts count the rows seen, hold at least one and at most `max_rows` rows each, and
///   are page bodies `{"transactions":[…]}`;
/// * mapping the parts then the envelope gives what mapping the whole page gives (both
///   refused, or the same payments with their raw rows, external accounts, tombstones,
///   skips and next link); in any order when the page has rows the splitter leaves in the
///   envelope (a second `transactions` member, or one spelled with escapes).
pub fn page_split(data: &[u8]) {
    let (raw, rest) = mode(data);
    let mut u = Unstructured::new(rest);
    let max_rows = pick(&mut u, 7);
    let max_bytes = match pick(&mut u, 4) {
        0 => usize::MAX,
        1 => pick(&mut u, 64),
        _ => pick(&mut u, 4000),
    };
    let n = 1 + pick(&mut u, 6);
    let chunks: Vec<usize> = (0..n).map(|_| 1 + pick(&mut u, 300)).collect();
    let body = if raw {
        u.take_rest().to_vec()
    } else {
        gen::page(&mut u)
    };
    check_split(&body, &chunks, max_rows, max_bytes);
}

/// Splits `body` pushed in chunks of the given sizes (cycled): the parts and the envelope.
fn split(
    body: &[u8],
    chunks: &[usize],
    max_rows: usize,
    max_bytes: usize,
) -> (Vec<PagePart>, Vec<u8>) {
    let mut splitter = PageSplitter::new(max_rows, max_bytes);
    let mut parts = Vec::new();
    let mut rest = body;
    for size in chunks.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let (chunk, tail) = rest.split_at((*size).clamp(1, rest.len()));
        splitter.push(chunk);
        while let Some(part) = splitter.next_part() {
            parts.push(part);
        }
        rest = tail;
    }
    let seen = splitter.rows_seen();
    let (last, envelope) = splitter.finish();
    parts.extend(last);
    let counted: usize = parts.iter().map(|p| p.rows).sum();
    if counted != seen {
        disagree!("the parts hold {counted} rows, the splitter saw {seen}");
    }
    for part in &parts {
        if part.rows == 0 || part.rows > max_rows.max(1) {
            disagree!("a part holds {} rows (max_rows {max_rows})", part.rows);
        }
        if !part.body.starts_with(b"{\"transactions\":[") || !part.body.ends_with(b"]}") {
            disagree!("a part is not a page body: {}", lossy(&part.body));
        }
    }
    (parts, envelope)
}

fn check_split(body: &[u8], chunks: &[usize], max_rows: usize, max_bytes: usize) {
    let (parts, envelope) = split(body, chunks, max_rows, max_bytes);
    let one = split(body, &[body.len().max(1)], max_rows, max_bytes);
    if (&parts, &envelope) != (&one.0, &one.1) {
        disagree!(
            "the chunking {chunks:?} changes the split of {}",
            lossy(body)
        );
    }
    let book = book();
    let mut whole = Mapping::default();
    let whole_result = whole.add_lean(body, &book);
    let mut pieced = Mapping::default();
    let pieced_result = parts
        .iter()
        .try_for_each(|p| pieced.add_lean(&p.body, &book))
        .and_then(|()| pieced.add_lean(&envelope, &book));
    match (&whole_result, &pieced_result) {
        (Ok(()), Ok(())) => {
            let odd = page_rows(body).is_some_and(|r| r.odd);
            let same = if odd {
                whole.sorted() == pieced.sorted() && whole.next_href == pieced.next_href
            } else {
                whole == pieced
            };
            if !same {
                disagree!(
                    "the parts map unlike the whole page:\nwhole {whole:#?}\nparts {pieced:#?}\npage {}",
                    lossy(body)
                );
            }
        }
        (Err(_), Err(_)) => {}
        _ => disagree!(
            "the whole page is {} but its parts are {}: {}",
            if whole_result.is_ok() {
                "accepted"
            } else {
                "refused"
            },
            if pieced_result.is_ok() {
                "accepted"
            } else {
                "refused"
            },
            lossy(body)
        ),
    }
}
