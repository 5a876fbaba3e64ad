//! A small validating JSON reader for the transactions-page hot path: one pass over the
//! bytes, strings borrowed unless they contain escapes, unknown values skipped without
//! allocation, nesting bounded (128 levels, like serde_json), no recursion beyond that bound,
//! never a panic. It accepts exactly the JSON grammar (RFC 8259) for what it reads and skips.
//!
//! Errors are a zero-sized [`Stop`] (the [`SyntaxError`] is kept in the reader), so every
//! `Result` is as small as its value; a [`Token`] lets a caller consume an exact run of bytes
//! seen before (a member's `"key":`) in three word comparisons.

use std::borrow::Cow;

mod numbers;
mod strings;
mod token;

pub(crate) use token::Token;

/// Nesting bound for skipped values (serde_json's default recursion limit).
const MAX_DEPTH: u32 = 128;

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
    pub(crate) fn fail<T>(&mut self, expected: &'static str) -> Result<T, Stop> {
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

    /// The byte at the cursor.
    #[inline(always)]
    fn byte(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
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
    #[inline]
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
