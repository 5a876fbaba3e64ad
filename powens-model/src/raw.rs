//! Building the records' `raw` payloads ([`RawValue`]: JSON text embedded verbatim when a
//! record is serialised) without a `serde_json::Value` tree.

use connector_core::model::RawObject;
use serde::Serialize;
use serde_json::value::RawValue;

/// `null`, the placeholder of a record whose `raw` is set later.
pub(crate) fn null() -> Box<RawValue> {
    RawValue::NULL.to_owned()
}

/// `json` verbatim when it is one JSON value (checked by a skipping pass, no tree built), else
/// the text as a JSON string so nothing received is lost.
pub(crate) fn verbatim(json: &str) -> Box<RawValue> {
    RawValue::from_string(json.to_owned()).unwrap_or_else(|_| serialised(json))
}

/// `value` serialised; a value that cannot be serialised becomes a JSON string saying why.
pub(crate) fn serialised<T: Serialize + ?Sized>(value: &T) -> Box<RawValue> {
    serde_json::value::to_raw_value(value).unwrap_or_else(|err| {
        serde_json::value::to_raw_value(&format!("unserialisable value: {err}"))
            .unwrap_or_else(|_| null())
    })
}

/// `raw` without the object member `key` (other members, their order and their text kept);
/// anything that is not an object, or has no such member, is returned unchanged.
pub(crate) fn without_member(raw: Box<RawValue>, key: &str) -> Box<RawValue> {
    let rewritten = match serde_json::from_str::<RawObject<'_>>(raw.get()) {
        Ok(RawObject(members)) if members.iter().any(|(k, _)| k == key) => {
            let mut out = String::with_capacity(raw.get().len());
            out.push('{');
            for (k, v) in members.iter().filter(|(k, _)| k != key) {
                if out.len() > 1 {
                    out.push(',');
                }
                out.push_str(serialised(k.as_str()).get());
                out.push(':');
                out.push_str(v.get());
            }
            out.push('}');
            RawValue::from_string(out).ok()
        }
        _ => None,
    };
    rewritten.unwrap_or(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_member_drops_only_that_member_and_keeps_the_rest_verbatim() {
        let raw = verbatim(r#"{"id": 17,"balance":7481.010,"transactions":[{"id":1}],"z":1e3}"#);
        assert_eq!(
            without_member(raw, "transactions").get(),
            r#"{"id":17,"balance":7481.010,"z":1e3}"#
        );
    }

    #[test]
    fn without_member_returns_text_unchanged_when_the_member_is_absent() {
        let raw = verbatim(r#"{"id": 17, "balance": 1.10}"#);
        assert_eq!(
            without_member(raw, "transactions").get(),
            r#"{"id": 17, "balance": 1.10}"#
        );
    }

    #[test]
    fn verbatim_keeps_valid_json_and_quotes_invalid_text() {
        assert_eq!(verbatim(r#"{"v":-16.220}"#).get(), r#"{"v":-16.220}"#);
        assert_eq!(verbatim("{not json").get(), r#""{not json""#);
    }
}
