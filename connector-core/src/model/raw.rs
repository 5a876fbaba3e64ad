//! A record's `raw` payload ([`RawJson`]) and how it is written: verbatim, except that a payload
//! spread over several lines (a pretty-printed provider body) loses its insignificant
//! whitespace, so a record always stays one JSON-lines line. Numbers and strings are never
//! re-encoded.

use std::fmt;

use serde::de::{Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::value::RawValue;

/// A JSON object's members in arrival order, each value the exact text received (borrowed):
/// for rewriting a provider payload (dropping or splitting a member) without re-encoding a
/// single number.
///
/// ```
/// use connector_core::model::RawObject;
///
/// let object: RawObject<'_> = serde_json::from_str(r#"{"b": 1.50, "a": [1]}"#).unwrap();
/// assert_eq!(object.get("b").map(|v| v.get()), Some("1.50"));
/// assert_eq!(object.0.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(), ["b", "a"]);
/// ```
#[derive(Debug)]
pub struct RawObject<'a>(pub Vec<(String, &'a RawValue)>);

impl<'a> RawObject<'a> {
    /// The value of the first member named `key`.
    pub fn get(&self, key: &str) -> Option<&'a RawValue> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| *v)
    }
}

impl<'de> Deserialize<'de> for RawObject<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ObjectVisitor;
        impl<'de> Visitor<'de> for ObjectVisitor {
            type Value = RawObject<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut members = Vec::with_capacity(map.size_hint().unwrap_or(8));
                while let Some(key) = map.next_key::<String>()? {
                    members.push((key, map.next_value::<&'de RawValue>()?));
                }
                Ok(RawObject(members))
            }
        }
        deserializer.deserialize_map(ObjectVisitor)
    }
}

/// A record's `raw` payload: the provider's JSON text exactly as received.
///
/// Written verbatim (only line breaks and the whitespace outside strings of a multi-line
/// payload are dropped, to keep one record per line); compared as text, so that the records
/// holding it derive `PartialEq` (`RawValue` has no equality of its own). It dereferences to
/// serde_json's [`RawValue`] (`raw.get()` is the text).
///
/// ```
/// use connector_core::model::RawJson;
///
/// let raw = RawJson::from_string("{\n  \"value\": -12.50\n}".to_owned())?;
/// assert_eq!(raw.get(), "{\n  \"value\": -12.50\n}");
/// assert_eq!(serde_json::to_string(&raw)?, r#"{"value":-12.50}"#);
/// assert_eq!(raw, RawJson::from_string("{\n  \"value\": -12.50\n}".to_owned())?);
/// assert_ne!(raw, RawJson::from_string(r#"{"value":-12.50}"#.to_owned())?);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone)]
pub struct RawJson(Box<RawValue>);

impl RawJson {
    /// JSON `null`, for a record made without a provider payload.
    pub fn null() -> Self {
        Self(RawValue::NULL.to_owned())
    }

    /// Checks that `json` is one JSON value and keeps its text as it is.
    pub fn from_string(json: String) -> Result<Self, serde_json::Error> {
        RawValue::from_string(json).map(Self)
    }

    /// The JSON text of `value`, encoded by serde_json.
    pub fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Self, serde_json::Error> {
        serde_json::value::to_raw_value(value).map(Self)
    }

    /// The payload as serde_json's raw value.
    pub fn into_raw_value(self) -> Box<RawValue> {
        self.0
    }
}

impl Default for RawJson {
    /// JSON `null`.
    fn default() -> Self {
        Self::null()
    }
}

impl From<Box<RawValue>> for RawJson {
    fn from(raw: Box<RawValue>) -> Self {
        Self(raw)
    }
}

impl std::ops::Deref for RawJson {
    type Target = RawValue;
    fn deref(&self) -> &RawValue {
        &self.0
    }
}

impl PartialEq for RawJson {
    /// The same text, byte for byte (`1.0` and `1.00` differ: the payload is evidence).
    fn eq(&self, other: &Self) -> bool {
        self.0.get() == other.0.get()
    }
}

impl Eq for RawJson {}

impl fmt::Debug for RawJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl Serialize for RawJson {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize(&self.0, serializer)
    }
}

impl<'de> Deserialize<'de> for RawJson {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Box::<RawValue>::deserialize(deserializer).map(Self)
    }
}

/// How a `raw` payload is written (see [`RawJson`]).
fn serialize<S: Serializer>(raw: &RawValue, serializer: S) -> Result<S::Ok, S::Error> {
    let text = raw.get();
    // memchr scans a word (or a SIMD vector) at a time; `str::contains` with a char set
    // checked each character and cost about a tenth of a whole sync.
    if memchr::memchr2(b'\n', b'\r', text.as_bytes()).is_none() {
        return raw.serialize(serializer);
    }
    match RawValue::from_string(compact(text)) {
        Ok(one_line) => one_line.serialize(serializer),
        // Unreachable for valid JSON (compaction only drops whitespace); keep the text.
        Err(_) => raw.serialize(serializer),
    }
}

/// `json` without whitespace outside strings (in valid JSON a line break can only be such
/// whitespace).
fn compact(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in json.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !matches!(c, ' ' | '\t' | '\n' | '\r') {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(text: &str) -> String {
        let raw = RawValue::from_string(text.to_owned()).unwrap();
        let mut out = Vec::new();
        serialize(&raw, &mut serde_json::Serializer::new(&mut out)).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn one_line_payload_is_written_verbatim_and_any_line_break_outside_strings_is_dropped() {
        let one_line = r#"{ "a" : 1.50 , "b":"x\ny" }"#;
        assert_eq!(written(one_line), one_line);
        assert_eq!(written("{\"a\":\r1.50}"), r#"{"a":1.50}"#);
        assert_eq!(written("[1,\n2]"), "[1,2]");
    }

    #[test]
    fn multi_line_payload_becomes_one_line_with_strings_and_numbers_untouched() {
        let text = "{\n  \"wording\": \"CB  \\\" A B\",\n  \"value\": -16.220\n}";
        assert_eq!(compact(text), r#"{"wording":"CB  \" A B","value":-16.220}"#);
    }
}
