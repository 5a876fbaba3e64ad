//! Numbers: validated to the JSON grammar, integers read in one pass.

use super::{Reader, Stop};

impl<'a> Reader<'a> {
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
    pub(super) fn skip_number(&mut self) -> Result<(), Stop> {
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
}
