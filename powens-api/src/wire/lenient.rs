//! Small decoders for fields whose wire type varies between sources.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};

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

/// `#[serde(default, deserialize_with = "lenient::option_flag")]`: a boolean sent as `true`/
/// `false` or as the integer `0`/`1` (Powens' `bookmarked`); `null`/missing → `None`.
pub fn option_flag<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<bool>, D::Error> {
    struct OptionVisitor;
    impl<'de> Visitor<'de> for OptionVisitor {
        type Value = Option<bool>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a boolean, 0, 1 or null")
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(FlagVisitor).map(Some)
        }
    }
    deserializer.deserialize_option(OptionVisitor)
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

/// `#[serde(default, deserialize_with = "lenient::vec")]`: a list where `null` or a missing
/// key means empty.
pub fn vec<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(deserializer)?.unwrap_or_default())
}

/// `#[serde(default, deserialize_with = "lenient::option_string")]`: a nullable string where
/// `""` is also `None`.
pub fn option_string<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    let value = Option::<String>::deserialize(deserializer)?;
    Ok(value.filter(|text| !text.is_empty()))
}
