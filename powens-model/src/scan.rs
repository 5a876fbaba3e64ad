//! A small validating JSON reader for the transactions-page hot path: one pass over the
//! bytes, strings borrowed unless they contain escapes, unknown values skipped without
//! allocation, nesting bounded (128 levels, like serde_json), no recursion beyond that bound,
//! never a panic. It accepts exactly the JSON grammar (RFC 8259) for what it reads and skips.
//!
//! Errors are a zero-sized [`Stop`] (the [`SyntaxError`] is kept in the reader), so every
//! `Result` is as small as its value; a [`Token`] lets a caller consume an exact run of bytes
//! seen before (a member's `"key":`) in three word comparisons.

use std::borrow::Cow;

/// Nesting bound for skipped values (serde_json's default recursion limit).
const MAX_DEPTH: u32 = 128;

/// `0x01` in every byte.
const LO: u64 = 0x0101_0101_0101_0101;
/// `0x80` in every byte.
const HI: u64 = 0x8080_8080_8080_8080;

/// A mask whose lowest set bit marks the first byte of `word` (little-endian) that is `"`,
/// `\` or a control character (< 0x20). Bits above the lowest one may be spurious
/// (borrow propagation), so only the lowest is used.
#[inline]
fn special_bytes(word: u64) -> u64 {
    let quote = word ^ (LO * u64::from(b'"'));
    let backslash = word ^ (LO * u64::from(b'\\'));
    let quote_zero = quote.wrapping_sub(LO) & !quote & HI;
    let backslash_zero = backslash.wrapping_sub(LO) & !backslash & HI;
    let control = word.wrapping_sub(LO * 0x20) & !word & HI;
    quote_zero | backslash_zero | control
}

/// An exact run of up to 24 bytes (a member's `"key":` seen before), held as masked
/// little-endian words so that checking whether the input continues with it is three word
/// comparisons, off the critical path of the scan (the next offset is known in advance).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Token {
    words: [u64; 3],
    masks: [u64; 3],
    len: usize,
}

impl Token {
    /// The token of `bytes`, `None` when empty or longer than 24 bytes.
    pub(crate) fn of(bytes: &[u8]) -> Option<Self> {
        if bytes.is_empty() || bytes.len() > 24 {
            return None;
        }
        let mut padded = [0u8; 24];
        for (slot, byte) in padded.iter_mut().zip(bytes) {
            *slot = *byte;
        }
        let mut words = [0u64; 3];
        let mut masks = [0u64; 3];
        for (i, (word, mask)) in words.iter_mut().zip(&mut masks).enumerate() {
            let mut chunk = [0u8; 8];
            let mut chunk_mask = [0u8; 8];
            for j in 0..8 {
                let at = i * 8 + j;
                if at < bytes.len() {
                    chunk[j] = padded.get(at).copied().unwrap_or(0);
                    chunk_mask[j] = 0xff;
                }
            }
            *word = u64::from_le_bytes(chunk);
            *mask = u64::from_le_bytes(chunk_mask);
        }
        Some(Self {
            words,
            masks,
            len: bytes.len(),
        })
    }
}

/// Where the bytes stop being the JSON this reader expects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SyntaxError {
    /// Byte offset of the problem.
    pub(crate) offset: usize,
    /// What was expected there.
    pub(crate) expected: &'static str,
}

/// The reader stopped at a syntax error; [`Reader::error`] says where and what. (A
/// zero-sized error keeps every `Result` the reader returns as small as its value.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stop;

/// A cursor over UTF-8 JSON text.
///
/// Objects and arrays are read with an explicit protocol so that hot loops need no closure:
/// [`Reader::begin_object`], then per member [`Reader::key`], the value, and
/// [`Reader::next_member`]; [`Reader::begin_array`] and [`Reader::next_element`] likewise.
pub(crate) struct Reader<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    depth: u32,
    error: Option<SyntaxError>,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        Self {
            text,
            bytes: text.as_bytes(),
            pos: 0,
            depth: 0,
            error: None,
        }
    }

    #[cold]
    #[inline(never)]
    fn record(&mut self, expected: &'static str) {
        self.error = Some(SyntaxError {
            offset: self.pos,
            expected,
        });
    }

    #[inline]
    fn fail<T>(&mut self, expected: &'static str) -> Result<T, Stop> {
        self.record(expected);
        Err(Stop)
    }

    /// The syntax error the reader stopped at (after an `Err(Stop)`).
    pub(crate) fn error(&self) -> SyntaxError {
        self.error.clone().unwrap_or(SyntaxError {
            offset: self.pos,
            expected: "valid JSON",
        })
    }

    /// The current byte offset.
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    /// `text[start..end]` (empty if out of range, which cannot happen for offsets this
    /// reader returned: they sit on ASCII structural characters).
    #[inline]
    pub(crate) fn slice(&self, start: usize, end: usize) -> &'a str {
        self.text.get(start..end).unwrap_or_default()
    }

    /// The input from `start` to `end` (empty if out of range).
    pub(crate) fn bytes_between(&self, start: usize, end: usize) -> &'a [u8] {
        self.bytes.get(start..end).unwrap_or_default()
    }

    /// Consumes `token` when the input continues with exactly its bytes.
    #[inline(always)]
    pub(crate) fn eat_token(&mut self, token: &Token) -> bool {
        let Some(window) = self.bytes.get(self.pos..self.pos + 24) else {
            return false;
        };
        let word = |i: usize| {
            let mut chunk = [0u8; 8];
            if let Some(bytes) = window.get(i * 8..i * 8 + 8) {
                chunk.copy_from_slice(bytes);
            }
            u64::from_le_bytes(chunk)
        };
        let [w0, w1, w2] = token.words;
        let [m0, m1, m2] = token.masks;
        if word(0) & m0 == w0 && word(1) & m1 == w1 && word(2) & m2 == w2 {
            self.pos += token.len;
            true
        } else {
            false
        }
    }

    /// The byte at the cursor.
    #[inline(always)]
    fn byte(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    /// The offset of the first `"`, `\\`, control character at or after `from` (or the end
    /// of the input), found eight bytes at a time.
    #[inline(always)]
    fn plain_end(&self, from: usize) -> usize {
        let mut at = from;
        while let Some(chunk) = self.bytes.get(at..at + 8) {
            let Ok(word) = <[u8; 8]>::try_from(chunk) else {
                break;
            };
            let mask = special_bytes(u64::from_le_bytes(word));
            if mask != 0 {
                return at + (mask.trailing_zeros() / 8) as usize;
            }
            at += 8;
        }
        while let Some(&b) = self.bytes.get(at) {
            if b == b'"' || b == b'\\' || b < 0x20 {
                return at;
            }
            at += 1;
        }
        at
    }

    /// Advances over string content up to the next `"`, `\\`, control character or the
    /// end.
    #[inline(always)]
    fn skip_plain(&mut self) {
        self.pos = self.plain_end(self.pos);
    }

    /// Skips white space.
    #[inline(always)]
    pub(crate) fn ws(&mut self) {
        if let Some(&b) = self.bytes.get(self.pos) {
            if b <= b' ' {
                self.ws_run();
            }
        }
    }

    #[inline(never)]
    fn ws_run(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.bytes.get(self.pos) {
            self.pos += 1;
        }
    }

    /// The next non-space byte, not consumed.
    #[inline(always)]
    pub(crate) fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.byte()
    }

    /// Whether the whole input has been read (trailing white space allowed).
    pub(crate) fn at_end(&mut self) -> bool {
        self.peek().is_none()
    }

    /// Consumes `null` if it is next; `Ok(false)` (nothing consumed) otherwise.
    #[inline]
    pub(crate) fn null(&mut self) -> Result<bool, Stop> {
        if self.peek() == Some(b'n') {
            self.literal(b"null")?;
            Ok(true)
        } else {
            Ok(false)
        }
    }

    #[inline(always)]
    fn literal<const N: usize>(&mut self, word: &'static [u8; N]) -> Result<(), Stop> {
        if self.bytes.get(self.pos..self.pos + N) == Some(word.as_slice()) {
            self.pos += N;
            Ok(())
        } else {
            self.fail("true, false or null")
        }
    }

    /// A boolean, or `None` when the next value is not one (nothing consumed then).
    #[inline]
    pub(crate) fn boolean(&mut self) -> Result<Option<bool>, Stop> {
        match self.peek() {
            Some(b't') => self.literal(b"true").map(|()| Some(true)),
            Some(b'f') => self.literal(b"false").map(|()| Some(false)),
            _ => Ok(None),
        }
    }

    /// Whether a string starts here.
    #[inline]
    pub(crate) fn at_string(&mut self) -> bool {
        self.peek() == Some(b'"')
    }

    #[inline(always)]
    fn digits(&mut self) -> usize {
        let start = self.pos;
        while let Some(b'0'..=b'9') = self.bytes.get(self.pos) {
            self.pos += 1;
        }
        self.pos - start
    }

    /// A JSON number's exact text.
    #[inline]
    pub(crate) fn number(&mut self) -> Result<&'a str, Stop> {
        self.ws();
        let start = self.pos;
        self.skip_number()?;
        Ok(self.slice(start, self.pos))
    }

    /// Skips a JSON number (at the cursor, no white space before it), validating it.
    #[inline(always)]
    fn skip_number(&mut self) -> Result<(), Stop> {
        if self.byte() == Some(b'-') {
            self.pos += 1;
        }
        match self.byte() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return self.fail("a number"),
        }
        if self.byte() == Some(b'.') {
            self.pos += 1;
            if self.digits() == 0 {
                return self.fail("a digit after the decimal point");
            }
        }
        if let Some(b'e' | b'E') = self.byte() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.byte() {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return self.fail("a digit in the exponent");
            }
        }
        Ok(())
    }

    /// A JSON number; `Some` when it is an integer that fits an `i64` (what
    /// `str::parse::<i64>` accepts of the number's text), `None` for any other number.
    #[inline]
    pub(crate) fn integer(&mut self) -> Result<Option<i64>, Stop> {
        self.ws();
        // The usual case in one pass: `-?[1-9][0-9]{0,17}` or `0`, then no fraction nor
        // exponent (at most 18 digits cannot overflow).
        let start = self.pos;
        let negative = self.byte() == Some(b'-');
        let first = start + usize::from(negative);
        let mut at = first;
        let mut magnitude = 0i64;
        while let Some(&b) = self.bytes.get(at) {
            let digit = b.wrapping_sub(b'0');
            if digit > 9 {
                break;
            }
            magnitude = magnitude.wrapping_mul(10).wrapping_add(i64::from(digit));
            at += 1;
        }
        let digits = at - first;
        let leading_zero = digits > 1 && self.bytes.get(first) == Some(&b'0');
        let fraction_or_exponent = matches!(self.bytes.get(at), Some(b'.' | b'e' | b'E'));
        if (1..=18).contains(&digits) && !leading_zero && !fraction_or_exponent {
            self.pos = at;
            return Ok(Some(if negative { -magnitude } else { magnitude }));
        }
        // Anything else the general way: validated as a number, then parsed like
        // `str::parse::<i64>`.
        let text = self.number()?;
        Ok(text.parse::<i64>().ok())
    }

    fn hex4(&mut self) -> Result<u32, Stop> {
        let mut value = 0u32;
        for _ in 0..4 {
            let digit = match self.bytes.get(self.pos) {
                Some(&b) => char::from(b).to_digit(16),
                None => None,
            };
            let Some(digit) = digit else {
                return self.fail("four hex digits after \\u");
            };
            value = value * 16 + digit;
            self.pos += 1;
        }
        Ok(value)
    }

    /// Reads one escape (after the backslash), returning the character.
    fn escape(&mut self) -> Result<char, Stop> {
        let Some(&byte) = self.bytes.get(self.pos) else {
            return self.fail("an escape");
        };
        self.pos += 1;
        let simple = match byte {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let high = self.hex4()?;
                let code = if (0xD800..0xDC00).contains(&high) {
                    if self.bytes.get(self.pos..self.pos + 2) != Some(b"\\u") {
                        return self.fail("a low surrogate after a high surrogate");
                    }
                    self.pos += 2;
                    let low = self.hex4()?;
                    if !(0xDC00..0xE000).contains(&low) {
                        return self.fail("a low surrogate");
                    }
                    0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
                } else {
                    high
                };
                return match char::from_u32(code) {
                    Some(c) => Ok(c),
                    None => self.fail("a valid unicode escape"),
                };
            }
            _ => return self.fail("a valid escape"),
        };
        Ok(simple)
    }

    /// The content of a plain string of exactly `N` bytes at the cursor (no white space
    /// before it), consumed; `None`, nothing consumed, for anything else.
    #[inline(always)]
    pub(crate) fn plain_string_of<const N: usize>(&mut self) -> Option<&'a [u8; N]> {
        let start = self.pos + 1;
        let end = start + N;
        if self.byte() != Some(b'"')
            || self.bytes.get(end) != Some(&b'"')
            || self.plain_end(start) != end
        {
            return None;
        }
        let content = <&[u8; N]>::try_from(self.bytes.get(start..end)?).ok()?;
        self.pos = end + 1;
        Some(content)
    }

    /// Consumes the `"` that opens a string (after white space).
    #[inline(always)]
    fn open_quote(&mut self) -> Result<(), Stop> {
        self.ws();
        if self.byte() == Some(b'"') {
            self.pos += 1;
            Ok(())
        } else {
            self.fail("a string")
        }
    }

    /// A string, borrowed when it has no escape.
    #[inline(always)]
    pub(crate) fn string(&mut self) -> Result<Cow<'a, str>, Stop> {
        // The usual case in one go: a quote at the cursor, plain content, the closing quote.
        if self.byte() == Some(b'"') {
            let start = self.pos + 1;
            let end = self.plain_end(start);
            if self.bytes.get(end) == Some(&b'"') {
                self.pos = end + 1;
                return Ok(Cow::Borrowed(self.slice(start, end)));
            }
        }
        self.open_quote()?;
        let start = self.pos;
        self.skip_plain();
        if self.byte() == Some(b'"') {
            let text = self.slice(start, self.pos);
            self.pos += 1;
            return Ok(Cow::Borrowed(text));
        }
        self.string_rest(start)
    }

    /// The rest of a string from `start` (just after its opening quote) when the plain run
    /// stopped before the closing quote: escapes decoded, or the error.
    #[inline(never)]
    fn string_rest(&mut self, start: usize) -> Result<Cow<'a, str>, Stop> {
        match self.byte() {
            None => return self.fail("the end of the string"),
            Some(b'"') => {
                let text = self.slice(start, self.pos);
                self.pos += 1;
                return Ok(Cow::Borrowed(text));
            }
            Some(b'\\') => {}
            Some(_) => return self.fail("no control character in a string"),
        }
        let mut owned = String::from(self.slice(start, self.pos));
        loop {
            match self.byte() {
                None => return self.fail("the end of the string"),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(Cow::Owned(owned));
                }
                Some(b'\\') => {
                    self.pos += 1;
                    owned.push(self.escape()?);
                }
                Some(b) if b < 0x20 => return self.fail("no control character in a string"),
                Some(_) => {
                    let run = self.pos;
                    self.skip_plain();
                    owned.push_str(self.slice(run, self.pos));
                }
            }
        }
    }

    /// Skips a string's content and closing quote (the opening one consumed), validating it.
    #[inline(always)]
    fn skip_string_body(&mut self) -> Result<(), Stop> {
        let end = self.plain_end(self.pos);
        if self.bytes.get(end) == Some(&b'"') {
            self.pos = end + 1;
            return Ok(());
        }
        self.pos = end;
        self.skip_string_rest()
    }

    #[inline(never)]
    fn skip_string_rest(&mut self) -> Result<(), Stop> {
        loop {
            match self.byte() {
                None => return self.fail("the end of the string"),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(());
                }
                Some(b'\\') => {
                    self.pos += 1;
                    self.escape()?;
                }
                Some(_) => return self.fail("no control character in a string"),
            }
            self.skip_plain();
        }
    }

    #[inline(always)]
    fn enter(&mut self) -> Result<(), Stop> {
        if self.depth >= MAX_DEPTH {
            return self.fail("at most 128 levels of nesting");
        }
        self.depth += 1;
        Ok(())
    }

    /// Consumes `{`: `Ok(true)` when a member follows, `Ok(false)` for `{}` (consumed whole).
    #[inline]
    pub(crate) fn begin_object(&mut self) -> Result<bool, Stop> {
        self.ws();
        if self.byte() != Some(b'{') {
            return self.fail("an object");
        }
        self.pos += 1;
        self.enter()?;
        self.ws();
        if self.byte() == Some(b'}') {
            self.pos += 1;
            self.depth -= 1;
            return Ok(false);
        }
        Ok(true)
    }

    /// A member's key (its bytes, escapes decoded) and the `:` after it.
    #[inline]
    pub(crate) fn key(&mut self) -> Result<Cow<'a, [u8]>, Stop> {
        // The compact form in one go: `"key":` with a plain key.
        if self.byte() == Some(b'"') {
            let start = self.pos + 1;
            let end = self.plain_end(start);
            if let Some(&[b'"', b':']) = self.bytes.get(end..end + 2) {
                self.pos = end + 2;
                return Ok(Cow::Borrowed(
                    self.bytes.get(start..end).unwrap_or_default(),
                ));
            }
        }
        self.open_quote()?;
        let start = self.pos;
        self.skip_plain();
        let key = if self.byte() == Some(b'"') {
            let key = self.bytes.get(start..self.pos).unwrap_or_default();
            self.pos += 1;
            Cow::Borrowed(key)
        } else {
            match self.string_rest(start)? {
                Cow::Borrowed(key) => Cow::Borrowed(key.as_bytes()),
                Cow::Owned(key) => Cow::Owned(key.into_bytes()),
            }
        };
        self.colon()?;
        Ok(key)
    }

    #[inline(always)]
    fn colon(&mut self) -> Result<(), Stop> {
        self.ws();
        if self.byte() == Some(b':') {
            self.pos += 1;
            Ok(())
        } else {
            self.fail("':' after an object key")
        }
    }

    /// After a member's value: `Ok(true)` after `,` (a member follows), `Ok(false)` after
    /// the closing `}`.
    #[inline]
    pub(crate) fn next_member(&mut self) -> Result<bool, Stop> {
        self.ws();
        match self.byte() {
            Some(b',') => {
                self.pos += 1;
                Ok(true)
            }
            Some(b'}') => {
                self.pos += 1;
                self.depth -= 1;
                Ok(false)
            }
            _ => self.fail("',' or '}' in an object"),
        }
    }

    /// Consumes `[`: `Ok(true)` when an element follows, `Ok(false)` for `[]` (consumed
    /// whole).
    #[inline]
    pub(crate) fn begin_array(&mut self) -> Result<bool, Stop> {
        self.ws();
        if self.byte() != Some(b'[') {
            return self.fail("an array");
        }
        self.pos += 1;
        self.enter()?;
        self.ws();
        if self.byte() == Some(b']') {
            self.pos += 1;
            self.depth -= 1;
            return Ok(false);
        }
        Ok(true)
    }

    /// After an element: `Ok(true)` after `,` (an element follows), `Ok(false)` after the
    /// closing `]`.
    #[inline]
    pub(crate) fn next_element(&mut self) -> Result<bool, Stop> {
        self.ws();
        match self.byte() {
            Some(b',') => {
                self.pos += 1;
                Ok(true)
            }
            Some(b']') => {
                self.pos += 1;
                self.depth -= 1;
                Ok(false)
            }
            _ => self.fail("',' or ']' in an array"),
        }
    }

    /// Skips any JSON value, validating it; a `null` or a plain string (the usual skipped
    /// values) without a call.
    #[inline(always)]
    pub(crate) fn skip_member_value(&mut self) -> Result<(), Stop> {
        if self.bytes.get(self.pos..self.pos + 4) == Some(b"null") {
            self.pos += 4;
            return Ok(());
        }
        if self.byte() == Some(b'"') {
            let end = self.plain_end(self.pos + 1);
            if self.bytes.get(end) == Some(&b'"') {
                self.pos = end + 1;
                return Ok(());
            }
        }
        self.skip_value()
    }

    /// Skips any JSON value, validating it.
    pub(crate) fn skip_value(&mut self) -> Result<(), Stop> {
        self.ws();
        // Strings and nulls first: most skipped values are one or the other, and two
        // predictable branches cost less than an indirect jump.
        let byte = self.byte();
        if byte == Some(b'"') {
            self.pos += 1;
            return self.skip_string_body();
        }
        if byte == Some(b'n') {
            return self.literal(b"null");
        }
        match byte {
            Some(b'"') => {
                self.pos += 1;
                self.skip_string_body()
            }
            Some(b'n') => self.literal(b"null"),
            Some(b'-' | b'0'..=b'9') => self.skip_number(),
            Some(b't') => self.literal(b"true"),
            Some(b'f') => self.literal(b"false"),
            Some(b'[') => self.skip_array(),
            Some(b'{') => self.skip_object(),
            _ => self.fail("a JSON value"),
        }
    }

    fn skip_object(&mut self) -> Result<(), Stop> {
        if self.begin_object()? {
            loop {
                self.open_quote()?;
                self.skip_string_body()?;
                self.colon()?;
                self.skip_value()?;
                if !self.next_member()? {
                    break;
                }
            }
        }
        Ok(())
    }

    fn skip_array(&mut self) -> Result<(), Stop> {
        if self.begin_array()? {
            loop {
                self.skip_value()?;
                if !self.next_element()? {
                    break;
                }
            }
        }
        Ok(())
    }

    /// Reads an object, calling `field` with each key; `field` must consume the value.
    pub(crate) fn object<F>(&mut self, mut field: F) -> Result<(), Stop>
    where
        F: FnMut(&mut Self, Cow<'a, [u8]>) -> Result<(), Stop>,
    {
        if self.begin_object()? {
            loop {
                let key = self.key()?;
                field(self, key)?;
                if !self.next_member()? {
                    break;
                }
            }
        }
        Ok(())
    }

    /// Reads an array, calling `element` for each element; `element` must consume it.
    pub(crate) fn array<F>(&mut self, mut element: F) -> Result<(), Stop>
    where
        F: FnMut(&mut Self) -> Result<(), Stop>,
    {
        if self.begin_array()? {
            loop {
                element(self)?;
                if !self.next_element()? {
                    break;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn integer_reads_what_parse_reads_and_refuses_what_json_refuses() {
        for text in [
            "0",
            "-0",
            "7",
            "-7",
            "309",
            "123456789012345678",
            "-123456789012345678",
            "1234567890123456789",
            "9223372036854775807",
            "-9223372036854775808",
            "9223372036854775808",
            "1.0",
            "1e3",
            "-1.5E-2",
            "12,",
            "5}",
        ] {
            let mut reader = Reader::new(text);
            let number_text = Reader::new(text).number().unwrap();
            assert_eq!(
                reader.integer().unwrap(),
                number_text.parse::<i64>().ok(),
                "{text}"
            );
            assert_eq!(reader.pos(), number_text.len(), "{text}");
        }
        // (`01` reads as `0` followed by a `1` that the enclosing value then refuses.)
        for bad in ["-", "-a", "1.", "1e", "+1", ""] {
            assert!(Reader::new(bad).integer().is_err(), "{bad}");
        }
    }

    #[test]
    fn string_end_escape_and_control_bytes_are_found_at_every_offset() {
        for len in 0..40 {
            let body = "é".repeat(len / 2) + &"a".repeat(len % 2);
            let text = format!("\"{body}\"");
            assert_eq!(Reader::new(&text).string().unwrap(), body.as_str());
            let escaped = format!("\"{body}\\n{body}\"");
            assert_eq!(
                Reader::new(&escaped).string().unwrap(),
                format!("{body}\n{body}")
            );
            let control = format!("\"{body}\u{1}{body}\"");
            assert!(Reader::new(&control).string().is_err());
            assert!(Reader::new(&control).skip_value().is_err());
            let mut reader = Reader::new(&escaped);
            reader.skip_value().unwrap();
            assert!(reader.at_end());
        }
    }
}
