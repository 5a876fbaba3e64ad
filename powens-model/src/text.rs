//! Decimal text of integers without the formatting machinery, for the ids every payment
//! carries as its reference and in its metadata.

/// The decimal text of `value` (what `value.to_string()` gives), written by `itoa` (two
/// digits per step, no formatting machinery, no UTF-8 re-check).
pub(crate) fn integer_string(value: i64) -> String {
    String::from(itoa::Buffer::new().format(value))
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
