//! The page splitter's rules on bytes: rows verbatim, part limits, strings and nesting, which
//! member is split, what is all envelope, truncation, empty elements; every rule checked in
//! every chunking from one byte to the whole body.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use powens_model::page::{PagePart, PageSplitter};

/// Splits `body` pushed in chunks of `chunk` bytes: the parts' bodies as text (with their
/// row counts checked), the envelope as text, and the rows seen.
fn split(body: &str, chunk: usize, max_rows: usize, max_bytes: usize) -> (Vec<String>, String) {
    let mut splitter = PageSplitter::new(max_rows, max_bytes);
    let mut parts = Vec::new();
    for piece in body.as_bytes().chunks(chunk.max(1)) {
        splitter.push(piece);
        while let Some(part) = splitter.next_part() {
            parts.push(part);
        }
    }
    let seen = splitter.rows_seen();
    let (last, envelope) = splitter.finish();
    parts.extend(last);
    assert_eq!(parts.iter().map(|p| p.rows).sum::<usize>(), seen);
    let text = |bytes: Vec<u8>| String::from_utf8_lossy(&bytes).into_owned();
    (
        parts.into_iter().map(|p| text(p.body)).collect(),
        text(envelope),
    )
}

/// The same split for every chunk size from 1 byte to the whole body.
fn split_all_chunkings(body: &str, max_rows: usize, max_bytes: usize) -> (Vec<String>, String) {
    let whole = split(body, body.len(), max_rows, max_bytes);
    for chunk in 1..body.len() {
        assert_eq!(
            split(body, chunk, max_rows, max_bytes),
            whole,
            "chunk {chunk}"
        );
    }
    whole
}

#[test]
fn rows_are_split_verbatim_by_row_count_and_the_envelope_keeps_every_other_byte() {
    let body = "{ \"first_date\" : \"2019-03-01\",\n \"transactions\" : [ {\"id\":1} ,\n\t{ \"id\" : 2 }\r\n,{\"id\":3}\n ] ,\"_links\":{\"next\":{\"href\":\"/t?offset=3\"}} }";
    let (parts, envelope) = split_all_chunkings(body, 2, usize::MAX);
    assert_eq!(
        parts,
        [
            r#"{"transactions":[{"id":1},{ "id" : 2 }]}"#,
            r#"{"transactions":[{"id":3}]}"#
        ]
    );
    assert_eq!(
        envelope,
        "{ \"first_date\" : \"2019-03-01\",\n \"transactions\" : [] ,\"_links\":{\"next\":{\"href\":\"/t?offset=3\"}} }"
    );
}

#[test]
fn a_part_closes_when_its_rows_reach_max_bytes_and_holds_at_least_one_row() {
    let body =
        r#"{"transactions":[{"a":"12345678"},1,2,{"a":"123456789012345678901234567890"},3]}"#;
    // Rows of 16, 1, 1, 38 and 1 bytes: 18 bytes with the separator after the second
    // row, 20 after the third.
    let (parts, envelope) = split_all_chunkings(body, 100, 19);
    assert_eq!(
        parts,
        [
            r#"{"transactions":[{"a":"12345678"},1,2]}"#,
            r#"{"transactions":[{"a":"123456789012345678901234567890"}]}"#,
            r#"{"transactions":[3]}"#
        ]
    );
    assert_eq!(envelope, r#"{"transactions":[]}"#);
    let (parts, _) = split(body, 5, 0, 0);
    assert_eq!(parts.len(), 5, "max 0 rows or 0 bytes: one row per part");
}

#[test]
fn rows_may_be_any_value_and_strings_may_hold_quotes_escapes_and_brackets() {
    let body = r#"{"transactions":[{"w":"a\"b\\","x":"]},[{\\\"","n":{"transactions":[1,{"y":[]}]}},42,"s,]\"",null,[1,[2,{"z":"]"}]],-1.5e3,true,{}],"z":0}"#;
    let (parts, envelope) = split_all_chunkings(body, 3, usize::MAX);
    assert_eq!(
        parts,
        [
            r#"{"transactions":[{"w":"a\"b\\","x":"]},[{\\\"","n":{"transactions":[1,{"y":[]}]}},42,"s,]\""]}"#,
            r#"{"transactions":[null,[1,[2,{"z":"]"}]],-1.5e3]}"#,
            r#"{"transactions":[true,{}]}"#,
        ]
    );
    assert_eq!(envelope, r#"{"transactions":[],"z":0}"#);
}

#[test]
fn only_the_array_of_the_first_top_level_member_named_exactly_transactions_is_split() {
    let body = r#"{"_links":{"transactions":[1]},"a":"transactions","transaction\u0073":[2],"b":["transactions",[3]],"transactions":[4,5],"transactions":[6]}"#;
    let (parts, envelope) = split_all_chunkings(body, 10, usize::MAX);
    assert_eq!(parts, [r#"{"transactions":[4,5]}"#]);
    assert_eq!(
        envelope,
        r#"{"_links":{"transactions":[1]},"a":"transactions","transaction\u0073":[2],"b":["transactions",[3]],"transactions":[],"transactions":[6]}"#
    );
}

#[test]
fn a_body_without_a_transactions_array_is_all_envelope() {
    for body in [
        "",
        "  ",
        "[]",
        r#"[{"transactions":[1]}]"#,
        "null",
        r#""transactions""#,
        "{}",
        r#"{"total":0}"#,
        r#"{"transactions":null,"transactions":[1]}"#,
        r#"{"transactions":{"a":[1]}}"#,
        r#"{"transactions" "x":[1]}"#,
        r#"{"transactions":"[1]"}"#,
        r#"{"transactionsx":[1]}"#,
        r#"{"transaction":[1]}"#,
        r#"{"a":1}{"transactions":[1]}"#,
        "\u{feff}{\"transactions\":[1]}",
        r#"{"code":"wrongpass","message":"Wrong password"}"#,
    ] {
        let (parts, envelope) = split_all_chunkings(body, 1, usize::MAX);
        assert!(parts.is_empty(), "{body}: {parts:?}");
        assert_eq!(envelope, body);
    }
}

#[test]
fn a_truncated_body_gives_its_complete_rows_and_a_truncated_envelope() {
    let body = r#"{"first_date":"2019-03-01","transactions":[{"id":1},{"id":2,"w":"a\"b"},{"id":3,"w":"c,d"}],"total":3}"#;
    let rows = [
        r#"{"id":1}"#,
        r#"{"id":2,"w":"a\"b"}"#,
        r#"{"id":3,"w":"c,d"}"#,
    ];
    let array = body.find('[').unwrap_or_default();
    // Each row is complete once the `,` or `]` after it has arrived.
    let ends = rows.map(|row| body.find(row).unwrap_or_default() + row.len());
    for cut in 0..=body.len() {
        let (parts, envelope) = split(&body[..cut], 4, 1, usize::MAX);
        let complete: Vec<String> = (0..3)
            .filter(|&row| cut > ends[row])
            .map(|row| format!(r#"{{"transactions":[{}]}}"#, rows[row]))
            .collect();
        assert_eq!(parts, complete, "cut at {cut}");
        let expected = if cut <= array {
            body[..cut].to_owned()
        } else if cut <= ends[2] {
            body[..=array].to_owned()
        } else {
            format!("{}{}", &body[..=array], &body[ends[2]..cut])
        };
        assert_eq!(envelope, expected, "cut at {cut}");
    }
}

#[test]
fn an_empty_element_is_a_row_of_its_comma_so_its_part_is_refused_like_the_whole_page() {
    let (parts, envelope) = split_all_chunkings(r#"{"transactions":[1,,2,]}"#, 10, usize::MAX);
    assert_eq!(parts, [r#"{"transactions":[1,,,2,,]}"#]);
    let (parts, _) = split_all_chunkings(r#"{"transactions":[1, ,2]}"#, 1, usize::MAX);
    assert_eq!(
        parts,
        [
            r#"{"transactions":[1]}"#,
            r#"{"transactions":[,]}"#,
            r#"{"transactions":[2]}"#
        ]
    );
    assert_eq!(envelope, r#"{"transactions":[]}"#);
    let (parts, _) = split_all_chunkings(r#"{"transactions":[ ]}"#, 10, usize::MAX);
    assert!(parts.is_empty());
    let (parts, _) = split_all_chunkings(r#"{"transactions":[,]}"#, 10, usize::MAX);
    assert_eq!(parts, [r#"{"transactions":[,,,]}"#]);
}

#[test]
fn parts_not_taken_before_finish_are_joined_into_the_last_part() {
    let mut splitter = PageSplitter::new(1, usize::MAX);
    splitter.push(br#"{"transactions":[1,{"a":2},3,4"#);
    let first = splitter.next_part().map(|p| p.body);
    assert_eq!(first.as_deref(), Some(&br#"{"transactions":[1]}"#[..]));
    let (last, envelope) = splitter.finish();
    let last = last.unwrap_or_else(|| PagePart {
        body: Vec::new(),
        rows: 0,
    });
    assert_eq!(
        (String::from_utf8_lossy(&last.body), last.rows),
        (r#"{"transactions":[{"a":2},3]}"#.into(), 2)
    );
    assert_eq!(envelope, br#"{"transactions":["#);
}
