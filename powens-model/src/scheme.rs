//! Powens transaction type → payment scheme.
//!
//! | Powens `type` | scheme |
//! |---|---|
//! | `card`, `deferred_card` | the card network when the card number's leading digits are visible (`4…` Visa, `51–55`/`2221–2720` Mastercard, `34`/`37` Amex, `3528–3589` JCB, `62` UnionPay, `6011`/`644–649`/`65` Discover, `300–305`/`36`/`38`/`39` Diners); `OTHER` when the number is masked (`XXXXXXXXXXXX1234`, the usual case) or absent |
//! | `transfer` on a EUR account | `SEPA_CREDIT` (a EUR transfer between European bank accounts) |
//! | `order` on a EUR account | `SEPA_DEBIT` (Powens: SEPA direct debits mostly come as `order`) |
//! | everything else (`check`, `deposit`, `withdrawal`, `bank`, `fee`, `summary_card`, `loan_payment`, `market_*`, `unknown`, unknown values, `transfer`/`order` in another currency) | `OTHER` |

use connector_core::model::PaymentScheme;
use connector_core::money::Asset;

/// The scheme of a transaction of `tx_type`, with its `card` number, on an account in `asset`.
pub fn scheme_for(tx_type: &str, card: Option<&str>, asset: &Asset) -> PaymentScheme {
    match tx_type {
        "card" | "deferred_card" => card.and_then(card_network).unwrap_or(PaymentScheme::Other),
        "transfer" if asset.code() == "EUR" => PaymentScheme::SepaCredit,
        "order" if asset.code() == "EUR" => PaymentScheme::SepaDebit,
        _ => PaymentScheme::Other,
    }
}

/// The card network from the visible leading digits of a card number, if any.
pub fn card_network(card: &str) -> Option<PaymentScheme> {
    // Up to four leading digits, without allocating.
    let mut digits = [0u32; 4];
    let mut count = 0usize;
    for (slot, b) in digits.iter_mut().zip(card.trim().bytes()) {
        if !b.is_ascii_digit() {
            break;
        }
        *slot = u32::from(b - b'0');
        count += 1;
    }
    let prefix = |n: usize| -> Option<u32> {
        (n <= count).then(|| digits.iter().take(n).fold(0, |acc, d| acc * 10 + d))
    };
    network_of(prefix)
}

/// The card network of the leading digits; `prefix(n)` is the number formed by the first `n`
/// digits (`None` when there are fewer).
fn network_of(prefix: impl Fn(usize) -> Option<u32>) -> Option<PaymentScheme> {
    let in_range = |n: usize, lo: u32, hi: u32| prefix(n).is_some_and(|p| (lo..=hi).contains(&p));
    if prefix(1) == Some(4) {
        Some(PaymentScheme::CardVisa)
    } else if in_range(2, 51, 55) || in_range(4, 2221, 2720) {
        Some(PaymentScheme::CardMastercard)
    } else if matches!(prefix(2), Some(34 | 37)) {
        Some(PaymentScheme::CardAmex)
    } else if in_range(4, 3528, 3589) {
        Some(PaymentScheme::CardJcb)
    } else if prefix(2) == Some(62) {
        Some(PaymentScheme::CardUnionPay)
    } else if prefix(4) == Some(6011) || in_range(3, 644, 649) || prefix(2) == Some(65) {
        Some(PaymentScheme::CardDiscover)
    } else if in_range(3, 300, 305) || matches!(prefix(2), Some(36 | 38 | 39)) {
        Some(PaymentScheme::CardDiners)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The first form of the rule: the leading digits collected into a string.
    fn card_network_by_string(card: &str) -> Option<PaymentScheme> {
        let digits: String = card
            .trim()
            .chars()
            .take_while(char::is_ascii_digit)
            .take(4)
            .collect();
        let prefix = |n: usize| -> Option<u32> { digits.get(..n).and_then(|p| p.parse().ok()) };
        network_of(prefix)
    }

    proptest! {
        #[test]
        fn card_network_reads_the_leading_digits_like_the_string_form(card in "[ ]?[0-9]{0,5}[X0-9é ]{0,4}") {
            prop_assert_eq!(card_network(&card), card_network_by_string(&card));
        }
    }
}
