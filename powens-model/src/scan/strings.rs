//! Strings: the end of a plain run found eight bytes at a time, escapes decoded (only when
//! present), control characters refused.

use std::borrow::Cow;

use super::{Reader, Stop};

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

impl<'a> Reader<'a> {
    /// The offset of the first `"`, `\\`, control character at or after `from` (or the end
    /// of the input), found eight bytes at a time.
    #[inline(always)]
    pub(super) fn plain_end(&self, from: usize) -> usize {
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
    pub(super) fn skip_plain(&mut self) {
        self.pos = self.plain_end(self.pos);
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
    pub(super) fn open_quote(&mut self) -> Result<(), Stop> {
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
    pub(super) fn string_rest(&mut self, start: usize) -> Result<Cow<'a, str>, Stop> {
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
    pub(super) fn skip_string_body(&mut self) -> Result<(), Stop> {
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
