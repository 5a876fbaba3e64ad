//! [`Token`]: an exact run of bytes seen before, consumed in three word comparisons.

use super::Reader;

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

impl<'a> Reader<'a> {
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
}
