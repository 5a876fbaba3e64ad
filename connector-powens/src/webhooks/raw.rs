//! Raw JSON plumbing shared by the splitter and the translator: objects as ordered members
//! whose values stay the exact text received ([`RawValue`]), and writers that reassemble them
//! without re-encoding a single number.

use serde_json::value::RawValue;

pub(crate) use connector_core::model::RawObject;

/// Parses the raw text of an object.
pub(crate) fn object<'a>(raw: &'a str) -> Result<RawObject<'a>, serde_json::Error> {
    serde_json::from_str(raw)
}

/// Parses an optional array member (`null` or absent = empty).
pub(crate) fn array<'a>(raw: Option<&'a RawValue>) -> Result<Vec<&'a RawValue>, serde_json::Error> {
    match raw {
        None => Ok(Vec::new()),
        Some(raw) => {
            Ok(serde_json::from_str::<Option<Vec<&'a RawValue>>>(raw.get())?.unwrap_or_default())
        }
    }
}

pub(crate) fn missing(field: &'static str) -> serde_json::Error {
    <serde_json::Error as serde::de::Error>::missing_field(field)
}

/// Writes `{members…}`, letting `replace` substitute (`Some(Some(text))`) or drop
/// (`Some(None)`) a member by key.
pub(crate) fn write_object<'v>(
    out: &mut Vec<u8>,
    members: &[(String, &'v RawValue)],
    mut replace: impl FnMut(&str) -> Option<Option<&'v str>>,
    extra: Option<(&str, &str)>,
) {
    out.push(b'{');
    let mut first = true;
    let mut member = |out: &mut Vec<u8>, key: &str, value: &str| {
        if !std::mem::take(&mut first) {
            out.push(b',');
        }
        // A `&str` always serialises; the fallback cannot be reached.
        out.extend(serde_json::to_vec(key).unwrap_or_else(|_| b"\"\"".to_vec()));
        out.push(b':');
        out.extend_from_slice(value.as_bytes());
    };
    for (key, value) in members {
        match replace(key) {
            None => member(out, key, value.get()),
            Some(Some(text)) => member(out, key, text),
            Some(None) => {}
        }
    }
    if let Some((key, value)) = extra {
        member(out, key, value);
    }
    out.push(b'}');
}

/// `[a,b,…]` from raw items.
pub(crate) fn raw_array(items: &[&RawValue]) -> String {
    let mut out = String::with_capacity(items.iter().map(|i| i.get().len() + 1).sum::<usize>() + 2);
    out.push('[');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(item.get());
    }
    out.push(']');
    out
}
