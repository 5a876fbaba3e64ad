//! Small decoders for fields whose wire type varies between sources, as `serde_with`
//! adapters (`#[serde_as(deserialize_as = "…")]` on a field of a `#[serde_as]` struct).
//!
//! * [`BlankAsNone`]: an optional value sent as a string, where `null`, a missing key and the
//!   blank forms Powens uses for "no value" are `None` ([`FromWireText`] says which texts).
//! * [`Flag`]: a boolean sent as `true`/`false` or `0`/`1`; `Option<Flag>` for a nullable one.
//! * [`RequestId`]: an integer or a string.
//!
//! `serde_with`'s own `DefaultOnNull` (a `null` list is empty) and `NoneAsEmptyString` (a
//! nullable string where `""` is `None`) cover the rest.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};
use serde_with::DeserializeAs;

use super::money::number_text_from_map;

fn flag_from_text<E: de::Error>(text: &str) -> Result<bool, E> {
    match text.trim() {
        "1" | "true" | "True" | "TRUE" => Ok(true),
        "0" | "false" | "False" | "FALSE" => Ok(false),
        other => Err(E::custom(format_args!(
            "expected a boolean, 0 or 1, found {other:?}"
        ))),
    }
}

struct FlagVisitor;

impl<'de> Visitor<'de> for FlagVisitor {
    type Value = bool;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a boolean, 0 or 1")
    }
    fn visit_bool<E: de::Error>(self, value: bool) -> Result<bool, E> {
        Ok(value)
    }
    fn visit_u64<E: de::Error>(self, value: u64) -> Result<bool, E> {
        match value {
            0 => Ok(false),
            1 => Ok(true),
            other => Err(E::custom(format_args!("expected 0 or 1, found {other}"))),
        }
    }
    fn visit_i64<E: de::Error>(self, value: i64) -> Result<bool, E> {
        match value {
            0 => Ok(false),
            1 => Ok(true),
            other => Err(E::custom(format_args!("expected 0 or 1, found {other}"))),
        }
    }
    fn visit_str<E: de::Error>(self, value: &str) -> Result<bool, E> {
        flag_from_text(value)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<bool, A::Error> {
        let text = number_text_from_map(map)?;
        flag_from_text(&text)
    }
}

/// `#[serde_as(deserialize_as = "Option<Flag>")]`: a boolean sent as `true`/`false` or as the
/// integer `0`/`1` (Powens' `bookmarked`); `null`/missing → `None`.
#[derive(Debug, Clone, Copy)]
pub struct Flag;

impl<'de> DeserializeAs<'de, bool> for Flag {
    fn deserialize_as<D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
        deserializer.deserialize_any(FlagVisitor)
    }
}

/// A value that Powens sends as a string, for [`BlankAsNone`].
pub trait FromWireText: Sized {
    /// What the field holds, for error messages (`a YYYY-MM-DD date or null`).
    const EXPECTING: &'static str;

    /// The value of a wire string: `Ok(None)` for the texts meaning "no value".
    fn from_wire_text(text: &str) -> Result<Option<Self>, String>;
}

/// `#[serde(default)] #[serde_as(deserialize_as = "BlankAsNone")]` on an `Option<T>`:
/// `null` and a missing key are `None`, and so is every text [`FromWireText`] reads as no
/// value (`""`, and for most types a blank string or `"null"`).
#[derive(Debug, Clone, Copy)]
pub struct BlankAsNone;

impl<'de, T: FromWireText> DeserializeAs<'de, Option<T>> for BlankAsNone {
    fn deserialize_as<D: Deserializer<'de>>(deserializer: D) -> Result<Option<T>, D::Error> {
        struct TextVisitor<T>(PhantomData<T>);
        impl<'de, T: FromWireText> Visitor<'de> for TextVisitor<T> {
            type Value = Option<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(T::EXPECTING)
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
                d.deserialize_str(self)
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
                T::from_wire_text(value).map_err(E::custom)
            }
        }
        deserializer.deserialize_option(TextVisitor(PhantomData))
    }
}

/// `""`, a blank string or `"null"`: what Powens sends for "no value" in a text field.
pub(crate) fn is_blank_or_null(value: &str) -> bool {
    let value = value.trim();
    value.is_empty() || value == "null"
}

/// A Powens `request_id`: the docs say integer, the OpenAPI spec says string, fixtures show
/// both. It is kept as its text either way.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct RequestId(pub String);

impl RequestId {
    /// The id's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for RequestId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct IdVisitor;
        impl<'de> Visitor<'de> for IdVisitor {
            type Value = RequestId;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a request id as an integer or a string")
            }
            fn visit_u64<E: de::Error>(self, value: u64) -> Result<RequestId, E> {
                Ok(RequestId(value.to_string()))
            }
            fn visit_i64<E: de::Error>(self, value: i64) -> Result<RequestId, E> {
                Ok(RequestId(value.to_string()))
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<RequestId, E> {
                Ok(RequestId(value.to_owned()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RequestId, A::Error> {
                number_text_from_map(map).map(RequestId)
            }
        }
        deserializer.deserialize_any(IdVisitor)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use chrono::NaiveDate;
    use serde::Deserialize;
    use serde_with::{serde_as, DefaultOnNull, NoneAsEmptyString};

    use super::{BlankAsNone, Flag};
    use crate::connections::ConnectionState;
    use crate::wire::PowensDateTime;

    #[serde_as]
    #[derive(Debug, Deserialize)]
    struct Fields {
        #[serde(default)]
        #[serde_as(deserialize_as = "BlankAsNone")]
        date: Option<NaiveDate>,
        #[serde(default)]
        #[serde_as(deserialize_as = "BlankAsNone")]
        at: Option<PowensDateTime>,
        #[serde(default)]
        #[serde_as(deserialize_as = "BlankAsNone")]
        state: Option<ConnectionState>,
        #[serde(default)]
        #[serde_as(deserialize_as = "NoneAsEmptyString")]
        text: Option<String>,
        #[serde(default)]
        #[serde_as(deserialize_as = "DefaultOnNull")]
        list: Vec<u32>,
        #[serde(default)]
        #[serde_as(deserialize_as = "Option<Flag>")]
        flag: Option<bool>,
    }

    fn fields(json: &str) -> Fields {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn missing_and_null_fields_are_none_or_empty() {
        for json in [
            "{}",
            r#"{"date": null, "at": null, "state": null, "text": null, "list": null, "flag": null}"#,
        ] {
            let f = fields(json);
            assert_eq!(
                (f.date, f.at, f.state, f.text, f.list, f.flag),
                (None, None, None, None, vec![], None),
                "{json}"
            );
        }
    }

    #[test]
    fn blank_texts_are_none_where_the_type_says_so() {
        let f = fields(r#"{"date": " ", "at": "null", "state": "", "text": ""}"#);
        assert_eq!((f.date, f.at, f.state, f.text), (None, None, None, None));
        // A state is None only for "" and "null"; a string keeps every non-empty text.
        let f = fields(r#"{"state": "null", "text": " "}"#);
        assert_eq!((f.state, f.text.as_deref()), (None, Some(" ")));
        let f = fields(r#"{"state": " ", "text": "null"}"#);
        assert_eq!(
            (f.state, f.text.as_deref()),
            (Some(ConnectionState::Unknown(" ".into())), Some("null"))
        );
    }

    #[test]
    fn values_decode_and_bad_ones_say_what_was_expected() {
        let f = fields(
            r#"{"date": "2026-06-18", "at": "2026-06-18 10:00:00", "state": "wrongpass",
                "list": [1, 2], "flag": 1}"#,
        );
        assert_eq!(f.date, NaiveDate::from_ymd_opt(2026, 6, 18));
        assert_eq!(
            f.at.map(|at| at.naive.to_string()).as_deref(),
            Some("2026-06-18 10:00:00")
        );
        assert_eq!(f.state, Some(ConnectionState::WrongPass));
        assert_eq!((f.list, f.flag), (vec![1, 2], Some(true)));
        let err = serde_json::from_str::<Fields>(r#"{"date": 5}"#).unwrap_err();
        assert!(
            err.to_string().contains("a YYYY-MM-DD date or null"),
            "{err}"
        );
        let err = serde_json::from_str::<Fields>(r#"{"date": "18/06/2026"}"#).unwrap_err();
        assert!(err.to_string().contains("18/06/2026"), "{err}");
        let err = serde_json::from_str::<Fields>(r#"{"flag": 2}"#).unwrap_err();
        assert!(
            err.to_string().contains("expected 0 or 1, found 2"),
            "{err}"
        );
    }
}
