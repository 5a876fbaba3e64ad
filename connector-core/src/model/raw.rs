//! How a record's `raw` payload ([`RawValue`]) is written: verbatim, except that a payload
//! spread over several lines (a pretty-printed provider body) loses its insignificant
//! whitespace, so a record always stays one JSON-lines line. Numbers and strings are never
//! re-encoded.

use serde::{Serialize, Serializer};
use serde_json::value::RawValue;

/// `serialize_with` of the `raw` fields.
pub(crate) fn serialize<S: Serializer>(raw: &RawValue, serializer: S) -> Result<S::Ok, S::Error> {
    let text = raw.get();
    if !text.contains(['\n', '\r']) {
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

    #[test]
    fn multi_line_payload_becomes_one_line_with_strings_and_numbers_untouched() {
        let text = "{\n  \"wording\": \"CB  \\\" A B\",\n  \"value\": -16.220\n}";
        assert_eq!(compact(text), r#"{"wording":"CB  \" A B","value":-16.220}"#);
    }
}
