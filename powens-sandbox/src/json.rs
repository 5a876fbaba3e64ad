//! A small hand-rolled JSON writer: pages of a thousand transactions are written straight into
//! a `Vec<u8>` instead of building `serde_json::Value` trees, which keeps the sandbox fast.

use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};

/// Appends JSON text to a byte buffer. The caller is responsible for the structure (commas are
/// handled by [`JsonWriter::key`] and [`JsonWriter::item`] through a "first" flag stack).
pub(crate) struct JsonWriter {
    buf: Vec<u8>,
    first: Vec<bool>,
}

impl JsonWriter {
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Self {
            buf: Vec::with_capacity(capacity),
            first: Vec::with_capacity(8),
        }
    }

    pub(crate) fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    fn comma(&mut self) {
        if let Some(first) = self.first.last_mut() {
            if *first {
                *first = false;
            } else {
                self.buf.push(b',');
            }
        }
    }

    pub(crate) fn begin_object(&mut self) {
        self.buf.push(b'{');
        self.first.push(true);
    }

    pub(crate) fn end_object(&mut self) {
        self.buf.push(b'}');
        self.first.pop();
    }

    pub(crate) fn begin_array(&mut self) {
        self.buf.push(b'[');
        self.first.push(true);
    }

    pub(crate) fn end_array(&mut self) {
        self.buf.push(b']');
        self.first.pop();
    }

    /// Starts an array element (writes the separating comma).
    pub(crate) fn item(&mut self) {
        self.comma();
    }

    /// Writes `"name":` (with the separating comma).
    pub(crate) fn key(&mut self, name: &str) {
        self.comma();
        self.raw_string(name);
        self.buf.push(b':');
    }

    pub(crate) fn null(&mut self) {
        self.buf.extend_from_slice(b"null");
    }

    pub(crate) fn bool(&mut self, value: bool) {
        self.buf
            .extend_from_slice(if value { b"true" } else { b"false" });
    }

    pub(crate) fn u64(&mut self, value: u64) {
        let mut digits = [0u8; 20];
        let mut n = value;
        let mut i = digits.len();
        loop {
            i -= 1;
            digits[i] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        self.buf.extend_from_slice(&digits[i..]);
    }

    /// An exact decimal number `mantissa × 10^-scale`, written as a JSON number.
    pub(crate) fn decimal(&mut self, mantissa: i64, scale: u32) {
        write_decimal(&mut self.buf, mantissa, scale);
    }

    pub(crate) fn string(&mut self, value: &str) {
        self.raw_string(value);
    }

    pub(crate) fn opt_string(&mut self, value: Option<&str>) {
        match value {
            Some(v) => self.raw_string(v),
            None => self.null(),
        }
    }

    /// Raw pre-rendered JSON (must be valid).
    pub(crate) fn raw(&mut self, json: &[u8]) {
        self.buf.extend_from_slice(json);
    }

    pub(crate) fn date(&mut self, date: NaiveDate) {
        self.buf.push(b'"');
        push_date(&mut self.buf, date);
        self.buf.push(b'"');
    }

    pub(crate) fn datetime(&mut self, at: NaiveDateTime) {
        self.buf.push(b'"');
        push_date(&mut self.buf, at.date());
        self.buf.push(b' ');
        push_2(&mut self.buf, at.hour());
        self.buf.push(b':');
        push_2(&mut self.buf, at.minute());
        self.buf.push(b':');
        push_2(&mut self.buf, at.second());
        self.buf.push(b'"');
    }

    pub(crate) fn opt_datetime(&mut self, at: Option<NaiveDateTime>) {
        match at {
            Some(at) => self.datetime(at),
            None => self.null(),
        }
    }

    /// One JSON string made of several pieces.
    pub(crate) fn string_parts(&mut self, parts: &[&str]) {
        self.buf.push(b'"');
        for p in parts {
            self.escaped(p);
        }
        self.buf.push(b'"');
    }

    /// `dd/mm` of a date, as a bank label shows it (unquoted, inside a string being built).
    pub(crate) fn day_month(date: NaiveDate) -> [u8; 5] {
        let (d, m) = (date.day(), date.month());
        [
            b'0' + (d / 10) as u8,
            b'0' + (d % 10) as u8,
            b'/',
            b'0' + (m / 10) as u8,
            b'0' + (m % 10) as u8,
        ]
    }

    /// French display money (`-16,22 €`, `£12,00`) as a JSON string.
    pub(crate) fn formatted_money(
        &mut self,
        mantissa: i64,
        scale: u32,
        symbol: &str,
        prefix: bool,
    ) {
        self.buf.push(b'"');
        if prefix {
            self.escaped(symbol);
        }
        let start = self.buf.len();
        write_decimal(&mut self.buf, mantissa, scale);
        if let Some(dot) = self
            .buf
            .get_mut(start..)
            .and_then(|s| s.iter_mut().find(|b| **b == b'.'))
        {
            *dot = b',';
        }
        if !prefix {
            self.buf.push(b' ');
            self.escaped(symbol);
        }
        self.buf.push(b'"');
    }

    fn raw_string(&mut self, value: &str) {
        self.buf.push(b'"');
        self.escaped(value);
        self.buf.push(b'"');
    }

    fn escaped(&mut self, value: &str) {
        let bytes = value.as_bytes();
        let mut start = 0;
        for (i, &b) in bytes.iter().enumerate() {
            let escape: Option<&[u8]> = match b {
                b'"' => Some(b"\\\""),
                b'\\' => Some(b"\\\\"),
                b'\n' => Some(b"\\n"),
                b'\r' => Some(b"\\r"),
                b'\t' => Some(b"\\t"),
                0..=0x1f => None,
                _ => continue,
            };
            self.buf.extend_from_slice(&bytes[start..i]);
            match escape {
                Some(e) => self.buf.extend_from_slice(e),
                None => {
                    const HEX: &[u8; 16] = b"0123456789abcdef";
                    self.buf.extend_from_slice(b"\\u00");
                    self.buf.push(HEX[usize::from(b >> 4)]);
                    self.buf.push(HEX[usize::from(b & 0xf)]);
                }
            }
            start = i + 1;
        }
        self.buf.extend_from_slice(&bytes[start..]);
    }
}

fn push_2(buf: &mut Vec<u8>, n: u32) {
    buf.push(b'0' + (n / 10 % 10) as u8);
    buf.push(b'0' + (n % 10) as u8);
}

fn push_date(buf: &mut Vec<u8>, date: NaiveDate) {
    let year = date.year().clamp(0, 9999) as u32;
    push_2(buf, year / 100);
    push_2(buf, year % 100);
    buf.push(b'-');
    push_2(buf, date.month());
    buf.push(b'-');
    push_2(buf, date.day());
}

/// Writes `mantissa × 10^-scale` as plain decimal text (`-16.22`, `1500`, `0.00012000`).
pub(crate) fn write_decimal(buf: &mut Vec<u8>, mantissa: i64, scale: u32) {
    if mantissa < 0 {
        buf.push(b'-');
    }
    let abs = mantissa.unsigned_abs();
    let mut digits = [0u8; 24];
    let mut n = abs;
    let mut i = digits.len();
    let mut produced = 0u32;
    while n > 0 || produced <= scale {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        produced += 1;
        if i == 0 {
            break;
        }
    }
    let text = &digits[i..];
    let int_len = text.len().saturating_sub(scale as usize);
    buf.extend_from_slice(&text[..int_len]);
    if scale > 0 {
        buf.push(b'.');
        buf.extend_from_slice(&text[int_len..]);
    }
}

/// The decimal text of `mantissa × 10^-scale`.
#[cfg(test)]
pub(crate) fn decimal_text(mantissa: i64, scale: u32) -> String {
    let mut buf = Vec::with_capacity(24);
    write_decimal(&mut buf, mantissa, scale);
    String::from_utf8_lossy(&buf).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_written_exactly_at_their_scale() {
        assert_eq!(decimal_text(-1622, 2), "-16.22");
        assert_eq!(decimal_text(5, 2), "0.05");
        assert_eq!(decimal_text(0, 2), "0.00");
        assert_eq!(decimal_text(1500, 0), "1500");
        assert_eq!(decimal_text(-7, 3), "-0.007");
        assert_eq!(decimal_text(12000, 8), "0.00012000");
        assert_eq!(decimal_text(i64::MIN, 2), "-92233720368547758.08");
    }

    #[test]
    fn strings_are_escaped() {
        let mut w = JsonWriter::with_capacity(16);
        w.string("a\"b\\c\nd\u{1}é");
        assert_eq!(
            String::from_utf8(w.into_bytes()).unwrap(),
            r#""a\"b\\c\nd\u0001é""#
        );
    }

    #[test]
    fn objects_get_commas_between_members() {
        let mut w = JsonWriter::with_capacity(16);
        w.begin_object();
        w.key("a");
        w.u64(1);
        w.key("b");
        w.begin_array();
        w.item();
        w.decimal(-2, 0);
        w.item();
        w.null();
        w.end_array();
        w.end_object();
        assert_eq!(
            String::from_utf8(w.into_bytes()).unwrap(),
            r#"{"a":1,"b":[-2,null]}"#
        );
    }
}
