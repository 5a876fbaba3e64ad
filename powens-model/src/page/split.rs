//! A transactions page split, as its bytes arrive, into *parts*: small page bodies of whole
//! rows, so that reading and mapping a page keeps memory flat whatever the page size.
//!
//! A page of `GET …/transactions?limit=1000` is about 1 MB. Rather than hold the whole body
//! before mapping it, the connector feeds each chunk of the HTTP body to a [`PageSplitter`]
//! and maps each [`PagePart`] as soon as it is complete, with the unchanged
//! [`map_transactions_page`](super::map_transactions_page): a part is itself a page body,
//! `{"transactions":[row,row,…]}`, its rows *verbatim* (the bytes exactly as received,
//! trimmed of surrounding whitespace, joined with `,`), so every payment keeps its raw row
//! text and a bad row is reported exactly as in a whole page.
//!
//! What is not a row is the *envelope*: every other byte of the body, i.e. the body with the
//! array of its top-level `transactions` member emptied
//! (`{"transactions":[],"first_date":…,"_links":{"next":{"href":…}}}`). Mapping it gives the
//! `next_href` (and reports a body that is not a page, or is truncated, as today).
//!
//! The splitter reads JSON just enough to find row boundaries (strings, escapes and nesting);
//! it never validates a row. Only the array of the first member named exactly
//! `"transactions"` (no escapes) of a top-level object is split. A body that is not an
//! object, has no such member, or whose member is not an array gives no part and is all
//! envelope. Separators it cannot read as such stay in the rows or the envelope (an empty
//! element such as the one of `[1,]` is a row of its `,`), so whatever the mapper refuses in the
//! whole body it refuses in a part or in the envelope. A truncated body gives its complete
//! rows and a truncated envelope; a row is emitted only once the `,` or `]` that ends it has
//! arrived.
//!
//! It runs on every byte of every page, so it jumps rather than steps: across short strings
//! (keys, dates, codes) eight bytes at a time in a register, across strings longer than 32
//! bytes with `memchr2` (to the next `"` or `\`), across numbers and literals with a
//! byte-class table; the scan state stays in locals within a chunk, rows are copied into the
//! part by runs, and each part reserves the size of the largest part so far. About 1,700 MB/s
//! on one core for the benchmark's 871 KB page in 16 KiB chunks (`bench split_mb_per_s` of
//! `cargo bench -p powens-model --bench mapping`), against about 950 MB/s for mapping it.
//!
//! ```
//! use powens_model::page::PageSplitter;
//!
//! let body = br#"{"transactions":[{"id":1},{"id":2,"w":"a\"]"},{"id":3}],"_links":{"next":null}}"#;
//! let mut splitter = PageSplitter::new(2, 64 * 1024);
//! let mut parts = Vec::new();
//! for chunk in body.chunks(7) {
//!     splitter.push(chunk);
//!     while let Some(part) = splitter.next_part() {
//!         parts.push(part);
//!     }
//! }
//! assert_eq!(splitter.rows_seen(), 3);
//! let (last, envelope) = splitter.finish();
//! parts.extend(last);
//! assert_eq!(parts[0].body, br#"{"transactions":[{"id":1},{"id":2,"w":"a\"]"}]}"#);
//! assert_eq!(parts[1].body, br#"{"transactions":[{"id":3}]}"#);
//! assert_eq!(envelope, br#"{"transactions":[],"_links":{"next":null}}"#);
//! ```

use std::collections::VecDeque;

use memchr::memchr2;

/// What every part starts with.
const HEADER: &[u8] = b"{\"transactions\":[";
/// What every part ends with.
const TRAILER: &[u8] = b"]}";
/// The member whose array is split.
const KEY: &[u8] = b"transactions";

/// One part of a page: a page body of its own, `{"transactions":[row,row,…]}`, its rows
/// verbatim (bytes exactly as received, joined with `,`), for
/// [`map_transactions_page`](super::map_transactions_page).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PagePart {
    /// The part as a page body.
    pub body: Vec<u8>,
    /// How many rows it holds (at least one).
    pub rows: usize,
}

/// Where the splitter is in the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Before the body's first byte other than whitespace.
    Start,
    /// Inside the top-level object, before its first `transactions` member.
    Prefix,
    /// After the key `"transactions"` of the top-level object: `:` expected.
    AfterKey,
    /// After `"transactions":`: `[` expected.
    AfterColon,
    /// In the array, before a row; `after_comma` once a `,` ended the previous element.
    BeforeRow {
        /// Whether a `,` was the last byte read (then `]` ends an empty element).
        after_comma: bool,
    },
    /// In a row.
    InRow,
    /// The rest of the body goes to the envelope unread (the array is over, or there is none).
    Passthrough,
}

/// Splits a transactions page body that arrives in chunks into parts of whole rows (see the
/// [module documentation](self)).
#[derive(Debug)]
pub struct PageSplitter {
    max_rows: usize,
    max_bytes: usize,
    mode: Mode,
    /// In a string (of the prefix or of a row).
    in_string: bool,
    /// The previous byte was the `\` of an escape in a string.
    escape: bool,
    /// Nesting: from the top level in the prefix (1 inside the top-level object), from the
    /// row's own level in a row.
    depth: usize,
    /// In the prefix: the next string at depth 1 is a key.
    expect_key: bool,
    /// In the prefix: while reading a depth-1 key that may still be `transactions`, how many
    /// of its bytes matched.
    key: Option<usize>,
    envelope: Vec<u8>,
    /// The part being filled: [`HEADER`] and its rows so far (empty before its first row).
    part: Vec<u8>,
    part_rows: usize,
    /// `part.len()` before the current row and its separator (where a partial row is cut).
    row_mark: usize,
    /// `part.len()` at the current row's first byte (how far trailing whitespace is trimmed).
    row_start: usize,
    /// The capacity of the last part, reserved for the next one.
    part_capacity: usize,
    ready: VecDeque<PagePart>,
    rows_seen: usize,
}

/// Where a row ends: the offset of the `,` or `]` after it, and whether it is the `]` that
/// ends the array.
struct RowEnd {
    at: usize,
    array: bool,
}

/// Byte classes outside strings in a row.
const PLAIN: u8 = 0;
const QUOTE: u8 = 1;
const OPEN: u8 = 2;
const CLOSE_BRACE: u8 = 3;
const CLOSE_BRACKET: u8 = 4;
const COMMA: u8 = 5;

const CLASS: [u8; 256] = {
    let mut table = [PLAIN; 256];
    table[b'"' as usize] = QUOTE;
    table[b'{' as usize] = OPEN;
    table[b'[' as usize] = OPEN;
    table[b'}' as usize] = CLOSE_BRACE;
    table[b']' as usize] = CLOSE_BRACKET;
    table[b',' as usize] = COMMA;
    table
};

fn is_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | b'\r')
}

impl PageSplitter {
    /// A splitter whose parts close when they hold `max_rows` rows, or when their rows reach
    /// `max_bytes` bytes, whichever first (a part always holds at least one row, so a row
    /// longer than `max_bytes` is a part of its own).
    pub fn new(max_rows: usize, max_bytes: usize) -> Self {
        Self {
            max_rows: max_rows.max(1),
            max_bytes,
            mode: Mode::Start,
            in_string: false,
            escape: false,
            depth: 0,
            expect_key: false,
            key: None,
            envelope: Vec::new(),
            part: Vec::new(),
            part_rows: 0,
            row_mark: 0,
            row_start: 0,
            part_capacity: 0,
            ready: VecDeque::new(),
            rows_seen: 0,
        }
    }

    /// Feeds the next bytes of the body; a chunk may end anywhere (inside a string, an
    /// escape, a number, a key). Complete parts are then available from
    /// [`next_part`](Self::next_part).
    pub fn push(&mut self, chunk: &[u8]) {
        let mut rest = chunk;
        while !rest.is_empty() {
            let used = match self.mode {
                Mode::Passthrough => {
                    self.envelope.extend_from_slice(rest);
                    return;
                }
                Mode::BeforeRow { .. } | Mode::InRow => self.scan_rows(rest),
                Mode::Start | Mode::Prefix | Mode::AfterKey | Mode::AfterColon => {
                    let used = self.scan_prefix(rest);
                    self.envelope
                        .extend_from_slice(rest.get(..used).unwrap_or(rest));
                    used
                }
            };
            rest = rest.get(used..).unwrap_or_default();
        }
    }

    /// The next complete part, in row order, if any: call it in a loop after each
    /// [`push`](Self::push).
    pub fn next_part(&mut self) -> Option<PagePart> {
        self.ready.pop_front()
    }

    /// How many complete rows were read so far (in the parts given and to come).
    pub fn rows_seen(&self) -> usize {
        self.rows_seen
    }

    /// Ends the body: the rows not yet given as a last part (`None` when none is left), and
    /// the envelope (the body without its rows; the whole body when it has no
    /// `transactions` array; truncated when the body is).
    ///
    /// A row still incomplete (the body ends inside it) is dropped: the envelope then ends
    /// inside the array, so mapping it reports the truncation. Parts not taken with
    /// [`next_part`](Self::next_part) are not lost: they are joined into the last part.
    pub fn finish(mut self) -> (Option<PagePart>, Vec<u8>) {
        if self.mode == Mode::InRow {
            self.part.truncate(self.row_mark);
        }
        if self.part_rows > 0 {
            self.close_part();
        }
        let last = if self.ready.len() > 1 {
            Some(join(self.ready))
        } else {
            self.ready.pop_front()
        };
        (last, self.envelope)
    }

    /// Reads the body before the array; returns how many bytes of `chunk` were read (they
    /// belong to the envelope). Stops after the array's `[`, or where the body turns out to
    /// have no array to split ([`Mode::Passthrough`]).
    fn scan_prefix(&mut self, chunk: &[u8]) -> usize {
        for (at, &byte) in chunk.iter().enumerate() {
            match self.mode {
                Mode::Start => match byte {
                    b'{' => {
                        self.mode = Mode::Prefix;
                        self.depth = 1;
                        self.expect_key = true;
                    }
                    _ if is_space(byte) => {}
                    _ => {
                        self.mode = Mode::Passthrough;
                        return at;
                    }
                },
                Mode::Prefix => self.prefix_byte(byte),
                Mode::AfterKey => match byte {
                    b':' => self.mode = Mode::AfterColon,
                    _ if is_space(byte) => {}
                    _ => {
                        self.mode = Mode::Passthrough;
                        return at;
                    }
                },
                Mode::AfterColon => match byte {
                    b'[' => {
                        self.mode = Mode::BeforeRow { after_comma: false };
                        return at + 1;
                    }
                    _ if is_space(byte) => {}
                    _ => {
                        self.mode = Mode::Passthrough;
                        return at;
                    }
                },
                Mode::BeforeRow { .. } | Mode::InRow | Mode::Passthrough => return at,
            }
        }
        chunk.len()
    }

    /// One byte of the top-level object before its `transactions` member.
    fn prefix_byte(&mut self, byte: u8) {
        if self.escape {
            self.escape = false;
            return;
        }
        if self.in_string {
            match byte {
                b'"' => {
                    self.in_string = false;
                    if self.key == Some(KEY.len()) {
                        self.mode = Mode::AfterKey;
                    }
                    self.key = None;
                }
                b'\\' => {
                    self.escape = true;
                    self.key = None;
                }
                _ => {
                    self.key = self
                        .key
                        .and_then(|n| (KEY.get(n) == Some(&byte)).then_some(n + 1));
                }
            }
            return;
        }
        match byte {
            b'"' => {
                self.in_string = true;
                self.key = (self.depth == 1 && self.expect_key).then_some(0);
                self.expect_key = false;
            }
            b'{' | b'[' => {
                self.depth = self.depth.saturating_add(1);
                self.expect_key = false;
            }
            b'}' | b']' => {
                self.depth = self.depth.saturating_sub(1);
                if self.depth == 0 {
                    // The top-level object ended without a `transactions` array.
                    self.mode = Mode::Passthrough;
                }
            }
            b',' => self.expect_key = self.depth == 1,
            _ if is_space(byte) => {}
            _ => self.expect_key = false,
        }
    }

    /// Reads the array's rows; returns how many bytes of `chunk` were read. Row bytes go to
    /// the part, the array's closing `]` to the envelope.
    fn scan_rows(&mut self, chunk: &[u8]) -> usize {
        let mut at = 0;
        loop {
            if let Mode::BeforeRow { after_comma } = self.mode {
                let Some(&byte) = chunk.get(at) else {
                    return chunk.len();
                };
                match byte {
                    b',' => {
                        self.empty_row();
                        self.mode = Mode::BeforeRow { after_comma: true };
                    }
                    b']' => {
                        if after_comma {
                            self.empty_row();
                        }
                        return self.end_array(at);
                    }
                    _ if is_space(byte) => {}
                    _ => {
                        self.begin_row();
                        self.mode = Mode::InRow;
                        continue;
                    }
                }
                at += 1;
                continue;
            }
            let run = at;
            match self.scan_row(chunk, at) {
                None => {
                    self.part
                        .extend_from_slice(chunk.get(run..).unwrap_or_default());
                    return chunk.len();
                }
                Some(RowEnd { at: end, array }) => {
                    self.part
                        .extend_from_slice(chunk.get(run..end).unwrap_or_default());
                    self.end_row();
                    if array {
                        return self.end_array(end);
                    }
                    self.mode = Mode::BeforeRow { after_comma: true };
                    at = end + 1;
                }
            }
        }
    }

    /// Reads a row from `at` to the `,` or `]` that ends it, if it is in `chunk`. The scan
    /// state lives in locals (the position in the code says whether it is in a string) and is
    /// saved only when the chunk ends.
    fn scan_row(&mut self, chunk: &[u8], mut at: usize) -> Option<RowEnd> {
        let mut depth = self.depth;
        let mut in_string = self.in_string;
        if self.escape {
            self.escape = false;
            at += 1;
        }
        let end = 'scan: loop {
            if in_string {
                let Some(found) = string_stop(chunk.get(at..).unwrap_or_default()) else {
                    break None;
                };
                at += found;
                if chunk.get(at) == Some(&b'"') {
                    in_string = false;
                    at += 1;
                } else {
                    // A `\`: the next byte is escaped, perhaps in the next chunk.
                    at += 2;
                    if at > chunk.len() {
                        self.escape = true;
                        break None;
                    }
                    continue;
                }
            }
            while let Some(&byte) = chunk.get(at) {
                at += 1;
                match CLASS[usize::from(byte)] {
                    QUOTE => {
                        in_string = true;
                        continue 'scan;
                    }
                    OPEN => depth = depth.saturating_add(1),
                    // A `}` at the row's own level is not JSON: kept in the row for the mapper.
                    CLOSE_BRACE => depth = depth.saturating_sub(1),
                    CLOSE_BRACKET if depth > 0 => depth -= 1,
                    CLOSE_BRACKET => {
                        break 'scan Some(RowEnd {
                            at: at - 1,
                            array: true,
                        })
                    }
                    COMMA if depth == 0 => {
                        break 'scan Some(RowEnd {
                            at: at - 1,
                            array: false,
                        })
                    }
                    _ => {}
                }
            }
            break None;
        };
        self.depth = depth;
        self.in_string = in_string;
        end
    }

    /// The array's `]` at `at`: it goes to the envelope, with the rest of the body.
    fn end_array(&mut self, at: usize) -> usize {
        self.envelope.push(b']');
        self.mode = Mode::Passthrough;
        at + 1
    }

    /// An empty element (`[,1]`, `[1,,2]`, `[1,]`): not JSON, so its part must not be either
    /// (an empty row alone would make `[]`). It is kept as a row of the `,` received there.
    fn empty_row(&mut self) {
        self.begin_row();
        self.part.push(b',');
        self.end_row();
    }

    fn begin_row(&mut self) {
        if self.part.is_empty() {
            self.part.reserve(self.part_capacity);
            self.part.extend_from_slice(HEADER);
        }
        self.row_mark = self.part.len();
        if self.part_rows > 0 {
            self.part.push(b',');
        }
        self.row_start = self.part.len();
        self.depth = 0;
        self.in_string = false;
        self.escape = false;
    }

    fn end_row(&mut self) {
        while self.part.len() > self.row_start && self.part.last().is_some_and(|&b| is_space(b)) {
            self.part.pop();
        }
        self.part_rows += 1;
        self.rows_seen += 1;
        let row_bytes = self.part.len().saturating_sub(HEADER.len());
        if self.part_rows >= self.max_rows || row_bytes >= self.max_bytes {
            self.close_part();
        }
    }

    fn close_part(&mut self) {
        self.part.extend_from_slice(TRAILER);
        self.part_capacity = self.part_capacity.max(self.part.len());
        let body = std::mem::take(&mut self.part);
        let rows = std::mem::take(&mut self.part_rows);
        self.ready.push_back(PagePart { body, rows });
    }
}

/// Eight copies of a byte.
const fn splat(byte: u8) -> u64 {
    u64::from_ne_bytes([byte; 8])
}

/// Strings longer than this are crossed with `memchr2` (SIMD); shorter ones, the most
/// common in a row (keys, dates, codes), eight bytes at a time in a register, which costs
/// less than a call.
const SHORT_STRING: usize = 32;

/// The offset of the first `"` or `\` in `bytes` (where a string ends or an escape starts).
#[inline]
fn string_stop(bytes: &[u8]) -> Option<usize> {
    let mut at = 0;
    while let Some(word) = bytes.get(at..at + 8) {
        if at >= SHORT_STRING {
            return memchr2(b'"', b'\\', bytes.get(at..)?).map(|found| at + found);
        }
        let word = <[u8; 8]>::try_from(word).map_or(0, u64::from_le_bytes);
        let marks = zero_bytes(word ^ splat(b'"')) | zero_bytes(word ^ splat(b'\\'));
        if marks != 0 {
            return Some(at + (marks.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    let tail = bytes.get(at..)?;
    tail.iter()
        .position(|&byte| byte == b'"' || byte == b'\\')
        .map(|found| at + found)
}

/// The high bit of each zero byte of `word`. A borrow may also mark bytes above the first
/// zero byte, never below: the lowest mark is exact.
#[inline]
const fn zero_bytes(word: u64) -> u64 {
    word.wrapping_sub(splat(0x01)) & !word & splat(0x80)
}

/// Parts joined into one (their rows in order).
fn join(parts: VecDeque<PagePart>) -> PagePart {
    let mut body = HEADER.to_vec();
    let mut rows = 0;
    for part in parts {
        let end = part.body.len().saturating_sub(TRAILER.len());
        if rows > 0 {
            body.push(b',');
        }
        body.extend_from_slice(part.body.get(HEADER.len()..end).unwrap_or_default());
        rows += part.rows;
    }
    body.extend_from_slice(TRAILER);
    PagePart { body, rows }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The word-at-a-time search finds the first `"` or `\`, like a byte-by-byte one.
        #[test]
        fn string_stop_finds_the_first_quote_or_backslash(
            bytes in proptest::collection::vec(
                proptest::sample::select(b"\"\\a\x80\xff\x00\x21\x23\x5b\x5d".to_vec()),
                0..80,
            ),
        ) {
            let expected = bytes.iter().position(|&b| b == b'"' || b == b'\\');
            proptest::prop_assert_eq!(string_stop(&bytes), expected);
        }
    }
}
