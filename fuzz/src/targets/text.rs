//! Money text and Powens date-times: the general `powens-api` parsers, their serde
//! adapters, the connector-core amount parser, and the lean reader's fast forms.

use arbitrary::Unstructured;
use chrono::Datelike;
use connector_core::money::{Amount, Asset};
use powens_api::wire::datetime::parse_date;
use powens_api::wire::money::parse_decimal;
use powens_api::wire::PowensDateTime;
use powens_model::money::{asset_for, positive_minor_units, signed_minor_units, to_decimal};
use powens_model::time::{rfc3339, utc_field, zoned_field};
use rust_decimal::Decimal;
use serde::Deserialize;

use super::{check_page, mode, pick};
use crate::disagree;
use crate::gen::{self, Json, BOOK};

#[derive(Deserialize)]
struct Required(#[serde(deserialize_with = "powens_api::wire::money::deserialize")] Decimal);

#[derive(Deserialize)]
struct Optional(
    #[serde(default, deserialize_with = "powens_api::wire::money::option")] Option<Decimal>,
);

/// `money`: an amount's text (raw, or a JSON number in any spelling, plain or quoted):
///
/// * `parse_decimal` never panics; what it reads prints back to the same decimal;
/// * as a JSON number, the serde adapter (`wire::money::deserialize`) reads the same decimal
///   as `parse_decimal` of the number's text, or refuses it as `parse_decimal` does; as a
///   JSON string, `wire::money::option` reads `parse_decimal` of it (blank → `None`);
/// * minor units at precisions 0, 2, 3, 8, 18, 28: `positive_minor_units` (the fast path)
///   is `signed_minor_units` then `abs` (the general one), the units convert back to the
///   same decimal, and `Amount::parse_decimal` of the plain text agrees with them;
/// * `asset_for` never panics on any code and precision;
/// * the same text as a row's `value` maps the same through the lean reader and the typed
///   path ([`check_page`]).
pub fn money(data: &[u8]) {
    let (raw, rest) = mode(data);
    let mut u = Unstructured::new(rest);
    let precision_choice = pick(&mut u, 1 << 16) as u32;
    let text = if raw {
        String::from_utf8_lossy(u.take_rest()).into_owned()
    } else {
        let mut j = Json::new(&mut u);
        let t = gen::number_text(&mut j);
        match j.pick(6) {
            0 => format!(" {t}\t"),
            1 => format!("+{t}"),
            _ => t,
        }
    };
    check_money(&text);
    let code = text.chars().take(8).collect::<String>();
    let _ = asset_for(&code, Some(precision_choice));
    let _ = asset_for(&code, None);
}

fn same(a: &Result<Decimal, String>, b: &Result<Decimal, String>) -> bool {
    match (a, b) {
        (Ok(a), Ok(b)) => a == b && a.scale() == b.scale(),
        (Err(_), Err(_)) => true,
        _ => false,
    }
}

fn check_money(text: &str) {
    let parsed = parse_decimal(text).map_err(|e| e.to_string());
    if let Ok(d) = &parsed {
        let again = parse_decimal(&d.to_string()).map_err(|e| e.to_string());
        if !same(&parsed, &again) {
            disagree!("parse_decimal({text:?}) = {d} does not print back ({again:?})");
        }
    }
    // As a JSON number.
    let trimmed = text.trim();
    let is_number = serde_json::from_str::<serde_json::Value>(trimmed).is_ok_and(|v| v.is_number());
    if is_number {
        let by_serde = serde_json::from_str::<Required>(trimmed)
            .map(|r| r.0)
            .map_err(|e| e.to_string());
        if !same(&by_serde, &parsed) {
            disagree!(
                "the JSON number {trimmed} reads {by_serde:?} through serde but {parsed:?} through parse_decimal"
            );
        }
    }
    // As a JSON string.
    let quoted = serde_json::to_string(text).unwrap_or_default();
    let by_string = serde_json::from_str::<Optional>(&quoted).map(|o| o.0);
    let expected = if trimmed.is_empty() {
        Ok(None)
    } else {
        parsed.clone().map(Some)
    };
    match (&by_string, &expected) {
        (Ok(a), Ok(b)) if a == b => {}
        (Err(_), Err(_)) => {}
        _ => disagree!(
            "the JSON string {quoted} reads {by_string:?} through serde but {expected:?} through parse_decimal"
        ),
    }
    // Minor units.
    let plain = !trimmed.contains(['e', 'E', '+']) && !trimmed.is_empty();
    for precision in [0u32, 2, 3, 8, 18, 28] {
        let Ok(asset) = Asset::new("EUR", precision) else {
            continue;
        };
        let strict = Amount::parse_decimal(trimmed, precision);
        if let Ok(d) = &parsed {
            let signed = signed_minor_units(*d, &asset);
            let general = signed.clone().and_then(|a| {
                a.checked_abs()
                    .map_err(|_| powens_model::SkipReason::AmountOverflow {
                        value: d.to_string(),
                    })
            });
            let fast = positive_minor_units(*d, &asset);
            if fast != general {
                disagree!(
                    "{d} at precision {precision}: positive_minor_units {fast:?} but signed then abs {general:?}"
                );
            }
            if let Ok(minor) = signed {
                // A decimal holds at most 96 bits of mantissa: larger minor units at this
                // precision cannot convert back (an error, not a wrong value).
                let representable = minor.minor().unsigned_abs() <= u128::from(u128::MAX >> 32);
                match to_decimal(minor, &asset) {
                    Ok(back) if back == *d => {}
                    Err(_) if !representable => {}
                    other => disagree!(
                        "{d} at precision {precision} is {minor:?} minor units, which convert back to {other:?}"
                    ),
                }
                if plain && strict.as_ref().ok() != Some(&minor) {
                    disagree!(
                        "{trimmed:?} at precision {precision}: {minor:?} minor units from the decimal, {strict:?} from Amount::parse_decimal"
                    );
                }
            }
        }
        if let Ok(minor) = strict {
            let Ok(shown) = minor.to_decimal_string(precision) else {
                disagree!("{minor:?} at precision {precision} cannot be printed");
            };
            if Amount::parse_decimal(&shown, precision).ok() != Some(minor) {
                disagree!(
                    "{minor:?} at precision {precision} prints as {shown:?}, which reads otherwise"
                );
            }
            if let (Ok(d), Ok(back)) = (&parsed, minor.to_decimal(precision)) {
                if back != *d {
                    disagree!(
                        "{trimmed:?}: Amount::parse_decimal gives {back} at precision {precision}, parse_decimal gives {d}"
                    );
                }
            }
        }
    }
    // Through the page reader, as a number (when it is one) and as a string.
    let mut forms = vec![serde_json::to_string(text).unwrap_or_default()];
    if is_number {
        forms.push(trimmed.to_owned());
    }
    for value in forms {
        for (account, _, _) in BOOK {
            let page = format!(
                r#"{{"transactions":[{{"id":1,"id_account":{account},"date":"2026-06-18","type":"card","coming":false,"value":{value}}}]}}"#
            );
            check_page(page.as_bytes());
        }
    }
}

/// `datetime`: a date or datetime text (raw, or generated in every form Powens sends or is
/// said to send):
///
/// * `PowensDateTime::parse` and `parse_date` never panic;
/// * a parsed datetime prints (`Display`) to a text that parses back to it; a parsed date
///   prints as `YYYY-MM-DD` back to itself;
/// * the zone conversions (`to_utc_with` Europe/Paris, `instant_if_offset`, powens-model's
///   `zoned_field`, `utc_field`, `rfc3339`) never panic;
/// * the same text as a row's `date`, `datetime`, `last_update` and `deleted` maps the same
///   through the lean reader (its fixed-form fast paths) and the typed path ([`check_page`]).
pub fn datetime(data: &[u8]) {
    let (raw, rest) = mode(data);
    let text = if raw {
        String::from_utf8_lossy(rest).into_owned()
    } else {
        let mut u = Unstructured::new(rest);
        let mut j = Json::new(&mut u);
        if j.one_in(3) {
            gen::date_text(&mut j)
        } else {
            gen::datetime_text(&mut j)
        }
    };
    if let Ok(value) = PowensDateTime::parse(&text) {
        let shown = value.to_string();
        match PowensDateTime::parse(&shown) {
            Ok(again) if again == value => {}
            other => disagree!(
                "{text:?} parses to {value:?}, which prints {shown:?}, which parses to {other:?}"
            ),
        }
        let _ = value.to_utc_with(&chrono_tz::Europe::Paris);
        let _ = value.instant_if_offset();
        for zone in [
            chrono_tz::Europe::Paris,
            chrono_tz::Pacific::Kiritimati,
            chrono_tz::UTC,
        ] {
            let _ = rfc3339(zoned_field(&value, zone));
        }
        let _ = rfc3339(utc_field(&value));
    }
    if let Ok(date) = parse_date(&text) {
        if (0..=9999).contains(&date.year()) {
            let shown = date.format("%Y-%m-%d").to_string();
            if parse_date(&shown).ok() != Some(date) {
                disagree!(
                    "{text:?} parses to {date}, which prints {shown:?}, which reads otherwise"
                );
            }
        }
    }
    let quoted = serde_json::to_string(&text).unwrap_or_default();
    let rows = [
        format!(
            r#"{{"id":1,"id_account":17,"date":{quoted},"value":1,"type":"card","coming":false}}"#
        ),
        format!(
            r#"{{"id":1,"id_account":17,"date":"2026-06-18","datetime":{quoted},"last_update":{quoted},"value":1,"type":"card","coming":true}}"#
        ),
        format!(
            r#"{{"id":1,"id_account":17,"date":"2026-06-18","deleted":{quoted},"value":-1,"type":"card","coming":true}}"#
        ),
    ];
    let page = format!(r#"{{"transactions":[{}]}}"#, rows.join(","));
    check_page(page.as_bytes());
}
