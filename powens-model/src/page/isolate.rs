//! Row isolation, the cold path of [`map_transactions_page`](super::map_transactions_page):
//! a page the one-pass reader refused is read again with its *damaged text* set aside.
//!
//! Damaged text is what JSON forbids but what cannot move a row boundary: bytes that are not
//! UTF-8 (anywhere) and raw control characters (`U+0000`–`U+001F`) inside strings. Neither
//! is a `"`, a `\`, a bracket or a comma, so blanking them (one `?` per byte, offsets kept)
//! leaves every boundary where it was. The blanked page is then read as a page:
//!
//! * it must be JSON, with every damaged byte inside an element of `transactions`; any
//!   other damage (a syntax error, an unterminated string, damaged text in the envelope)
//!   refuses the page, since its boundaries cannot be trusted;
//! * a damaged element is skipped ([`SkipReason::MalformedRow`], naming the first damaged
//!   byte and its offset in the row, with the row's `id` when it can be read);
//! * every other element is read and mapped from the bytes as received, exactly as the hot
//!   path maps it (the same row reader and memos, `raw` borrowed from the page).
//!
//! A page with no damaged text gets the hot path's error unchanged.

use std::ops::Range;

use super::row::RowReader;
use super::{map_element, walk_page, Memos, PageDecodeError, PageMapped, Reader};
use crate::context::{AccountBook, MappingContext};
use crate::skip::{SkipReason, Skipped};

/// What is wrong with a damaged byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Damage {
    /// A raw control character inside a string.
    Control(u8),
    /// The first byte of an invalid UTF-8 sequence.
    NotUtf8,
}

/// One damaged place of the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Flaw {
    /// Its byte offset in the page.
    at: usize,
    damage: Damage,
}

impl Flaw {
    /// The page's error when the flaw is outside every row.
    fn refusal(self) -> PageDecodeError {
        PageDecodeError {
            offset: self.at,
            expected: match self.damage {
                Damage::Control(_) => "no control character in a string",
                Damage::NotUtf8 => "UTF-8 text",
            },
        }
    }

    /// The skip reason of a row whose first flaw this is; `row_start` is the row's offset.
    fn reason(self, row_start: usize) -> SkipReason {
        let at = self.at.saturating_sub(row_start);
        let detail = match self.damage {
            Damage::Control(byte) => format!(
                "a raw control character U+{byte:04X} in a string at byte {at} of the row \
                 (JSON requires it escaped)"
            ),
            Damage::NotUtf8 => format!("bytes that are not UTF-8 at byte {at} of the row"),
        };
        SkipReason::MalformedRow { detail }
    }
}

/// The page with its damaged bytes blanked (each replaced by one `?`, so offsets stay), and
/// its flaws in offset order (one per control character, one per invalid UTF-8 sequence).
fn blank_damage(bytes: &[u8]) -> (Vec<u8>, Vec<Flaw>) {
    let mut clean = Vec::with_capacity(bytes.len());
    let mut flaws = Vec::new();
    for chunk in bytes.utf8_chunks() {
        clean.extend_from_slice(chunk.valid().as_bytes());
        let invalid = chunk.invalid();
        if !invalid.is_empty() {
            flaws.push(Flaw {
                at: clean.len(),
                damage: Damage::NotUtf8,
            });
            clean.resize(clean.len() + invalid.len(), b'?');
        }
    }
    // Strings by their quotes and escapes alone, like the splitter: a control character
    // after a `\` is the escape's (an invalid escape, refused by the reader).
    let (mut in_string, mut escape) = (false, false);
    for (at, byte) in clean.iter_mut().enumerate() {
        if escape {
            escape = false;
        } else if in_string {
            match *byte {
                b'"' => in_string = false,
                b'\\' => escape = true,
                control @ 0..=0x1f => {
                    flaws.push(Flaw {
                        at,
                        damage: Damage::Control(control),
                    });
                    *byte = b'?';
                }
                _ => {}
            }
        } else if *byte == b'"' {
            in_string = true;
        }
    }
    flaws.sort_by_key(|flaw| flaw.at);
    (clean, flaws)
}

/// The first flaw of each row (`spans` in page order), or the refusal of a flaw outside
/// every row.
fn first_flaw_of_rows(
    spans: &[Range<usize>],
    flaws: &[Flaw],
) -> Result<Vec<Option<Flaw>>, PageDecodeError> {
    let mut pending = flaws.iter().copied().peekable();
    let mut firsts = Vec::with_capacity(spans.len());
    for span in spans {
        if let Some(outside) = pending.next_if(|flaw| flaw.at < span.start) {
            return Err(outside.refusal());
        }
        let first = pending.next_if(|flaw| flaw.at < span.end);
        while pending.next_if(|flaw| flaw.at < span.end).is_some() {}
        firsts.push(first);
    }
    match pending.next() {
        Some(outside) => Err(outside.refusal()),
        None => Ok(firsts),
    }
}

/// Maps `bytes` with its damaged rows skipped (see the module documentation); `refused` is
/// the hot path's error, returned as is when the page has no damaged text.
pub(super) fn map_isolating<'a>(
    bytes: &'a [u8],
    book: &AccountBook,
    ctx: &MappingContext,
    refused: PageDecodeError,
) -> Result<PageMapped<'a>, PageDecodeError> {
    let (clean, flaws) = blank_damage(bytes);
    if flaws.is_empty() {
        return Err(refused);
    }
    let Ok(clean) = std::str::from_utf8(&clean) else {
        return Err(refused);
    };
    let mut spans = Vec::new();
    let envelope = walk_page(&mut Reader::new(clean), |r| {
        r.ws();
        let start = r.pos();
        r.skip_value()?;
        spans.push(start..r.pos());
        Ok(())
    })?;
    let firsts = first_flaw_of_rows(&spans, &flaws)?;

    let mut out = PageMapped::default();
    let mut memos = Memos::new(ctx);
    let mut rows = RowReader::default();
    let mut damaged = RowReader::default();
    for (span, first) in spans.into_iter().zip(firsts) {
        if let Some(flaw) = first {
            let id = clean.get(span.clone()).and_then(|row| {
                let mut r = Reader::new(row);
                (r.peek() == Some(b'{'))
                    .then(|| damaged.read(&mut r).ok().and_then(|row| row.id))
                    .flatten()
            });
            let reason = flaw.reason(span.start);
            out.skipped.push(Skipped::new("transaction", id, reason));
            continue;
        }
        // An undamaged row is the same bytes in the page and in the blanked page.
        let Some(row) = bytes
            .get(span.clone())
            .and_then(|b| std::str::from_utf8(b).ok())
        else {
            return Err(refused);
        };
        let mut r = Reader::new(row);
        if map_element(&mut r, &mut rows, book, ctx, &mut out, &mut memos).is_err() {
            let err = r.error();
            return Err(PageDecodeError {
                offset: span.start + err.offset,
                expected: err.expected,
            });
        }
    }
    envelope.fill(&mut out);
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn row_isolation_blanks_control_characters_in_strings_and_bytes_that_are_not_utf8() {
        let (clean, flaws) = blank_damage(b"{\"a\":\"x\x01\ny\",\n\"b\xff\xfe\":\"\\\x02\"}\t");
        assert_eq!(clean, b"{\"a\":\"x??y\",\n\"b??\":\"\\\x02\"}\t");
        assert_eq!(
            flaws,
            [
                Flaw {
                    at: 7,
                    damage: Damage::Control(1)
                },
                Flaw {
                    at: 8,
                    damage: Damage::Control(b'\n')
                },
                Flaw {
                    at: 15,
                    damage: Damage::NotUtf8
                },
                Flaw {
                    at: 16,
                    damage: Damage::NotUtf8
                },
            ]
        );
    }

    #[test]
    fn row_isolation_finds_the_first_flaw_of_each_row_and_refuses_one_outside() {
        let flaw = |at| Flaw {
            at,
            damage: Damage::NotUtf8,
        };
        let spans = [2..5, 6..9, 10..12];
        assert_eq!(
            first_flaw_of_rows(&spans, &[flaw(3), flaw(4), flaw(11)]).unwrap(),
            [Some(flaw(3)), None, Some(flaw(11))]
        );
        for outside in [1, 5, 9, 12] {
            let err = first_flaw_of_rows(&spans, &[flaw(outside)]).unwrap_err();
            assert_eq!((err.offset, err.expected), (outside, "UTF-8 text"));
        }
    }
}
