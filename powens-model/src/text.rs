//! Decimal text of integers without the formatting machinery (two digits per step), for the
//! ids every payment carries as its reference and in its metadata.

/// `"00".."99"`.
const PAIRS: &[u8; 200] = b"\
0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

/// Writes the decimal text of `value` at the end of `out`; returns where it starts.
fn write(value: i64, out: &mut [u8; 20]) -> usize {
    let mut at = out.len();
    let mut rest = value.unsigned_abs();
    let mut put = |at: &mut usize, digit: u8| {
        *at -= 1;
        if let Some(slot) = out.get_mut(*at) {
            *slot = digit;
        }
    };
    while rest >= 100 {
        let pair = (rest % 100) as usize * 2;
        rest /= 100;
        put(&mut at, PAIRS.get(pair + 1).copied().unwrap_or(b'0'));
        put(&mut at, PAIRS.get(pair).copied().unwrap_or(b'0'));
    }
    if rest >= 10 {
        let pair = rest as usize * 2;
        put(&mut at, PAIRS.get(pair + 1).copied().unwrap_or(b'0'));
        put(&mut at, PAIRS.get(pair).copied().unwrap_or(b'0'));
    } else {
        put(&mut at, b'0' + rest as u8);
    }
    if value < 0 {
        put(&mut at, b'-');
    }
    at
}

/// The decimal text of `value` (what `value.to_string()` gives).
pub(crate) fn integer_string(value: i64) -> String {
    let mut digits = [0u8; 20];
    let at = write(value, &mut digits);
    digits
        .get(at..)
        .unwrap_or_default()
        .iter()
        .map(|&b| char::from(b))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn integer_string_is_the_display_form_at_the_edges() {
        for value in [
            0,
            7,
            -7,
            9,
            10,
            99,
            100,
            101,
            309,
            -16,
            9998,
            i64::MAX,
            i64::MIN,
        ] {
            assert_eq!(integer_string(value), value.to_string());
        }
    }

    proptest! {
        #[test]
        fn integer_string_is_the_display_form(value in any::<i64>()) {
            prop_assert_eq!(integer_string(value), value.to_string());
        }
    }
}
