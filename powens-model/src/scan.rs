//! A small validating JSON reader for the transactions-page hot path: one pass over the
//! bytes, strings borrowed unless they contain escapes, unknown values skipped without
//! allocation, nesting bounded (128 levels, like serde_json), no recursion beyond that bound,
//! never a panic. It accepts exactly the JSON grammar (RFC 8259) for what it reads and skips.

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

/// Where the bytes stop being the JSON this reader expects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SyntaxError {
    /// Byte offset of the problem.
    pub(crate) offset: usize,
    /// What was expected there.
    pub(crate) expected: &'static str,
}

/// A cursor over UTF-8 JSON text.
pub(crate) struct Reader<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    depth: u32,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        Self {
            text,
            bytes: text.as_bytes(),
            pos: 0,
            depth: 0,
        }
    }

    fn fail<T>(&self, expected: &'static str) -> Result<T, SyntaxError> {
        Err(SyntaxError {
            offset: self.pos,
            expected,
        })
    }

    /// The current byte offset.
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    /// `text[start..end]` (empty if out of range, which cannot happen for offsets this
    /// reader returned: they sit on ASCII structural characters).
    pub(crate) fn slice(&self, start: usize, end: usize) -> &'a str {
        self.text.get(start..end).unwrap_or_default()
    }

    /// Advances over string content up to the next `"`, `\\`, control character or the
    /// end, eight bytes at a time.
    #[inline]
    fn skip_plain(&mut self) {
        while let Some(chunk) = self.bytes.get(self.pos..self.pos + 8) {
            let Ok(word) = <[u8; 8]>::try_from(chunk) else {
                break;
            };
            let mask = special_bytes(u64::from_le_bytes(word));
            if mask != 0 {
                self.pos += (mask.trailing_zeros() / 8) as usize;
                return;
            }
            self.pos += 8;
        }
        while let Some(&b) = self.bytes.get(self.pos) {
            if b == b'"' || b == b'\\' || b < 0x20 {
                return;
            }
            self.pos += 1;
        }
    }

    /// Skips white space.
    pub(crate) fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.bytes.get(self.pos) {
            self.pos += 1;
        }
    }

    /// The next non-space byte, not consumed.
    pub(crate) fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.bytes.get(self.pos).copied()
    }

    fn eat(&mut self, byte: u8) -> bool {
        if self.peek() == Some(byte) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, byte: u8, expected: &'static str) -> Result<(), SyntaxError> {
        if self.eat(byte) {
            Ok(())
        } else {
            self.fail(expected)
        }
    }

    /// Whether the whole input has been read (trailing white space allowed).
    pub(crate) fn at_end(&mut self) -> bool {
        self.peek().is_none()
    }

    /// Consumes `null` if it is next; `Ok(false)` (nothing consumed) otherwise.
    pub(crate) fn null(&mut self) -> Result<bool, SyntaxError> {
        if self.peek() == Some(b'n') {
            self.literal(b"null")?;
            Ok(true)
        } else {
            Ok(false)
        }
    }

    fn literal(&mut self, word: &'static [u8]) -> Result<(), SyntaxError> {
        if self
            .bytes
            .get(self.pos..)
            .is_some_and(|rest| rest.starts_with(word))
        {
            self.pos += word.len();
            Ok(())
        } else {
            self.fail("true, false or null")
        }
    }

    /// A boolean, or `None` when the next value is not one (nothing consumed then).
    pub(crate) fn boolean(&mut self) -> Result<Option<bool>, SyntaxError> {
        match self.peek() {
            Some(b't') => self.literal(b"true").map(|()| Some(true)),
            Some(b'f') => self.literal(b"false").map(|()| Some(false)),
            _ => Ok(None),
        }
    }

    /// Whether a number starts here.
    pub(crate) fn at_number(&mut self) -> bool {
        matches!(self.peek(), Some(b'-' | b'0'..=b'9'))
    }

    /// Whether a string starts here.
    pub(crate) fn at_string(&mut self) -> bool {
        self.peek() == Some(b'"')
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while let Some(b'0'..=b'9') = self.bytes.get(self.pos) {
            self.pos += 1;
        }
        self.pos - start
    }

    /// A JSON number's exact text.
    pub(crate) fn number(&mut self) -> Result<&'a str, SyntaxError> {
        self.ws();
        let start = self.pos;
        if self.bytes.get(self.pos) == Some(&b'-') {
            self.pos += 1;
        }
        match self.bytes.get(self.pos) {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return self.fail("a number"),
        }
        if self.bytes.get(self.pos) == Some(&b'.') {
            self.pos += 1;
            if self.digits() == 0 {
                return self.fail("a digit after the decimal point");
            }
        }
        if let Some(b'e' | b'E') = self.bytes.get(self.pos) {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.bytes.get(self.pos) {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return self.fail("a digit in the exponent");
            }
        }
        Ok(self.slice(start, self.pos))
    }

    fn hex4(&mut self) -> Result<u32, SyntaxError> {
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
    fn escape(&mut self) -> Result<char, SyntaxError> {
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

    /// A string, borrowed when it has no escape.
    pub(crate) fn string(&mut self) -> Result<Cow<'a, str>, SyntaxError> {
        self.expect(b'"', "a string")?;
        let start = self.pos;
        self.skip_plain();
        match self.bytes.get(self.pos) {
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
            match self.bytes.get(self.pos) {
                None => return self.fail("the end of the string"),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(Cow::Owned(owned));
                }
                Some(b'\\') => {
                    self.pos += 1;
                    owned.push(self.escape()?);
                }
                Some(&b) if b < 0x20 => return self.fail("no control character in a string"),
                Some(_) => {
                    let run = self.pos;
                    self.skip_plain();
                    owned.push_str(self.slice(run, self.pos));
                }
            }
        }
    }

    fn skip_string(&mut self) -> Result<(), SyntaxError> {
        self.expect(b'"', "a string")?;
        loop {
            self.skip_plain();
            match self.bytes.get(self.pos) {
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
        }
    }

    fn enter(&mut self) -> Result<(), SyntaxError> {
        if self.depth >= MAX_DEPTH {
            return self.fail("at most 128 levels of nesting");
        }
        self.depth += 1;
        Ok(())
    }

    /// Skips any JSON value, validating it.
    pub(crate) fn skip_value(&mut self) -> Result<(), SyntaxError> {
        match self.peek() {
            Some(b'"') => self.skip_string(),
            Some(b'{') => self.object(|reader, _| reader.skip_value()),
            Some(b'[') => self.array(Self::skip_value),
            Some(b't') => self.literal(b"true"),
            Some(b'f') => self.literal(b"false"),
            Some(b'n') => self.literal(b"null"),
            Some(b'-' | b'0'..=b'9') => self.number().map(drop),
            _ => self.fail("a JSON value"),
        }
    }

    /// Reads an object, calling `field` with each key; `field` must consume the value.
    pub(crate) fn object<F>(&mut self, mut field: F) -> Result<(), SyntaxError>
    where
        F: FnMut(&mut Self, Cow<'a, str>) -> Result<(), SyntaxError>,
    {
        self.expect(b'{', "an object")?;
        self.enter()?;
        if !self.eat(b'}') {
            loop {
                self.ws();
                let key = self.string()?;
                self.expect(b':', "':' after an object key")?;
                field(self, key)?;
                if self.eat(b',') {
                    continue;
                }
                self.expect(b'}', "',' or '}' in an object")?;
                break;
            }
        }
        self.depth -= 1;
        Ok(())
    }

    /// Reads an array, calling `element` for each element; `element` must consume it.
    pub(crate) fn array<F>(&mut self, mut element: F) -> Result<(), SyntaxError>
    where
        F: FnMut(&mut Self) -> Result<(), SyntaxError>,
    {
        self.expect(b'[', "an array")?;
        self.enter()?;
        if !self.eat(b']') {
            loop {
                element(self)?;
                if self.eat(b',') {
                    continue;
                }
                self.expect(b']', "',' or ']' in an array")?;
                break;
            }
        }
        self.depth -= 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

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
