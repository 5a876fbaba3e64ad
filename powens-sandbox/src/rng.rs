//! A tiny seeded generator (SplitMix64). Written here rather than taken from `rand` because the
//! sandbox promises the same data for the same seed across library versions, and because a
//! per-account stream must not depend on the order in which accounts are generated.

/// A deterministic pseudo-random stream.
#[derive(Debug, Clone)]
pub(crate) struct SeededRng {
    state: u64,
}

/// Mixes a seed with a list of coordinates (user, connection, account, purpose) into one seed.
pub(crate) fn derive_seed(seed: u64, parts: &[u64]) -> u64 {
    let mut h = seed ^ 0x9E37_79B9_7F4A_7C15;
    for &p in parts {
        h = mix(h ^ mix(p.wrapping_add(0xA076_1D64_78BD_642F)));
    }
    h
}

fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl SeededRng {
    pub(crate) fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    pub(crate) fn for_parts(seed: u64, parts: &[u64]) -> Self {
        Self::new(derive_seed(seed, parts))
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.state)
    }

    /// A value in `0..n` (0 when `n` is 0).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next_u64() % n
        }
    }

    /// A value in `low..=high`.
    pub(crate) fn range(&mut self, low: i64, high: i64) -> i64 {
        if high <= low {
            return low;
        }
        let span = high.abs_diff(low).saturating_add(1);
        low.saturating_add_unsigned(self.below(span))
    }

    /// True with probability `percent`/100.
    pub(crate) fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// One element of a non-empty slice (the first one for an empty slice is impossible: callers
    /// pass constants).
    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        let n = items.len() as u64;
        items.get(self.below(n) as usize)
    }

    /// A string of `len` characters from `alphabet`.
    pub(crate) fn token(&mut self, alphabet: &[u8], len: usize) -> String {
        (0..len)
            .filter_map(|_| self.pick(alphabet).map(|&b| char::from(b)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream() {
        let mut a = SeededRng::for_parts(7, &[1, 2]);
        let mut b = SeededRng::for_parts(7, &[1, 2]);
        let mut c = SeededRng::for_parts(7, &[2, 1]);
        let xs: Vec<u64> = (0..4).map(|_| a.next_u64()).collect();
        let ys: Vec<u64> = (0..4).map(|_| b.next_u64()).collect();
        let zs: Vec<u64> = (0..4).map(|_| c.next_u64()).collect();
        assert_eq!(xs, ys);
        assert_ne!(xs, zs);
    }

    #[test]
    fn range_is_inclusive_and_bounded() {
        let mut r = SeededRng::new(1);
        for _ in 0..1000 {
            let v = r.range(-3, 3);
            assert!((-3..=3).contains(&v));
        }
    }
}
