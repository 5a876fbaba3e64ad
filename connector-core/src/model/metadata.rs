//! [`Metadata`]: the provider-specific `key → value` facts of a record.
//!
//! A record carries a handful of entries (a Powens payment has seven) and millions of records
//! are built in a sync, so the map is laid out for that: keys are usually `&'static str`
//! constants (no allocation), values are `compact_str::CompactString`s (text up to 24 bytes is
//! stored inline, without allocation; the type stays an implementation detail), and the entries sit in one vector kept sorted by key (one
//! allocation per record, no tree nodes). It reads, compares, iterates and serialises exactly
//! like a `BTreeMap<String, String>`: keys in byte order, a JSON object on the wire.

use std::borrow::{Borrow, Cow};
use std::fmt;

use compact_str::CompactString;
use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A metadata key: a `'static` constant (no allocation) or an owned string.
pub type MetadataKey = Cow<'static, str>;

/// Provider-specific facts of a record, keyed by a namespaced name such as
/// `com.powens.spec/transaction_id`; ordered by key like a `BTreeMap`.
///
/// ```
/// use connector_core::model::Metadata;
///
/// let mut metadata = Metadata::with_capacity(2);
/// metadata.insert("com.example.spec/type", "card");
/// metadata.insert("com.example.spec/id", String::from("42"));
/// assert_eq!(metadata.get("com.example.spec/type"), Some("card"));
/// let keys: Vec<&str> = metadata.keys().collect();
/// assert_eq!(keys, ["com.example.spec/id", "com.example.spec/type"]);
/// assert_eq!(
///     serde_json::to_string(&metadata).unwrap(),
///     r#"{"com.example.spec/id":"42","com.example.spec/type":"card"}"#
/// );
/// ```
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Metadata {
    /// Sorted by key, keys unique.
    entries: Vec<(MetadataKey, CompactString)>,
}

impl Metadata {
    /// An empty map (no allocation).
    pub const fn new() -> Self {
        Self {
            entries: Vec::new(),
        }
    }

    /// An empty map with room for `capacity` entries.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            entries: Vec::with_capacity(capacity),
        }
    }

    fn find(&self, key: &str) -> Result<usize, usize> {
        self.entries.binary_search_by(|(k, _)| k.as_ref().cmp(key))
    }

    /// Sets `key` to `value` (a `&str`, a `String`, …); returns the previous value of `key`,
    /// if any.
    pub fn insert(
        &mut self,
        key: impl Into<MetadataKey>,
        value: impl Into<CompactString>,
    ) -> Option<String> {
        let key = key.into();
        let value = value.into();
        // Entries are mostly inserted in key order: check the end first.
        let at = match self.entries.last() {
            Some((last, _)) if last.as_ref() < key.as_ref() => Err(self.entries.len()),
            None => Err(0),
            Some(_) => self.find(&key),
        };
        match at {
            Ok(i) => self
                .entries
                .get_mut(i)
                .map(|(_, old)| std::mem::replace(old, value).into_string()),
            Err(i) => {
                self.entries.insert(i, (key, value));
                None
            }
        }
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        let i = self.find(key).ok()?;
        self.entries.get(i).map(|(_, v)| v.as_str())
    }

    /// Whether `key` is set.
    pub fn contains_key(&self, key: &str) -> bool {
        self.find(key).is_ok()
    }

    /// Removes `key`; returns its value, if it was set.
    pub fn remove(&mut self, key: &str) -> Option<String> {
        let i = self.find(key).ok()?;
        Some(self.entries.remove(i).1.into_string())
    }

    /// Keeps only the entries for which `keep` returns true.
    pub fn retain(&mut self, mut keep: impl FnMut(&str, &str) -> bool) {
        self.entries.retain(|(k, v)| keep(k, v));
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there is no entry.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entries in key order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &str)> + '_ {
        self.entries.iter().map(|(k, v)| (k.as_ref(), v.as_str()))
    }

    /// The keys in order.
    pub fn keys(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        self.entries.iter().map(|(k, _)| k.as_ref())
    }

    /// The values in key order.
    pub fn values(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        self.entries.iter().map(|(_, v)| v.as_str())
    }
}

impl fmt::Debug for Metadata {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<K: Into<MetadataKey>, V: Into<CompactString>> FromIterator<(K, V)> for Metadata {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut metadata = Metadata::new();
        metadata.extend(iter);
        metadata
    }
}

impl<K: Into<MetadataKey>, V: Into<CompactString>> Extend<(K, V)> for Metadata {
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, iter: I) {
        for (k, v) in iter {
            self.insert(k, v);
        }
    }
}

impl<K: Into<MetadataKey>, V: Into<CompactString>, const N: usize> From<[(K, V); N]> for Metadata {
    fn from(entries: [(K, V); N]) -> Self {
        entries.into_iter().collect()
    }
}

impl From<std::collections::BTreeMap<String, String>> for Metadata {
    fn from(map: std::collections::BTreeMap<String, String>) -> Self {
        // Already sorted and unique: no search needed.
        Self {
            entries: map
                .into_iter()
                .map(|(k, v)| (Cow::Owned(k), CompactString::from(v)))
                .collect(),
        }
    }
}

impl From<&Metadata> for std::collections::BTreeMap<String, String> {
    fn from(metadata: &Metadata) -> Self {
        metadata
            .iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }
}

impl<'a> IntoIterator for &'a Metadata {
    type Item = (&'a str, &'a str);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (MetadataKey, CompactString)>,
        fn(&'a (MetadataKey, CompactString)) -> (&'a str, &'a str),
    >;

    fn into_iter(self) -> Self::IntoIter {
        fn pair(entry: &(MetadataKey, CompactString)) -> (&str, &str) {
            (entry.0.borrow(), entry.1.as_str())
        }
        self.entries.iter().map(pair)
    }
}

impl Serialize for Metadata {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.entries.len()))?;
        for (k, v) in &self.entries {
            map.serialize_entry(k.as_ref(), v.as_str())?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Metadata {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MetadataVisitor;

        impl<'de> Visitor<'de> for MetadataVisitor {
            type Value = Metadata;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of string values")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Metadata, A::Error> {
                let mut metadata = Metadata::with_capacity(access.size_hint().unwrap_or(0));
                while let Some((k, v)) = access.next_entry::<String, CompactString>()? {
                    metadata.insert(k, v);
                }
                Ok(metadata)
            }
        }

        deserializer.deserialize_map(MetadataVisitor)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn behaves_like_a_btreemap_for_any_insertion_order() {
        let keys = ["b", "a", "d", "c", "a", "e", "b"];
        let mut metadata = Metadata::new();
        let mut map = BTreeMap::new();
        for (i, k) in keys.iter().enumerate() {
            let value = format!("value number {i} which is longer than twenty-four bytes");
            let old = metadata.insert(*k, value.clone());
            assert_eq!(
                old,
                map.insert((*k).to_owned(), value),
                "previous value of {k}"
            );
        }
        assert_eq!(BTreeMap::from(&metadata), map);
        assert_eq!(Metadata::from(map.clone()), metadata);
        assert_eq!(metadata.remove("c"), map.remove("c"));
        assert!(metadata.remove("zzz").is_none());
        assert_eq!(BTreeMap::from(&metadata), map);
        assert_eq!(
            serde_json::to_string(&metadata).unwrap(),
            serde_json::to_string(&map).unwrap()
        );
    }

    #[test]
    fn deserialises_an_object_sorting_its_keys_and_refuses_non_string_values() {
        let metadata: Metadata = serde_json::from_str(r#"{"z":"1","a":"2"}"#).unwrap();
        assert_eq!(metadata.keys().collect::<Vec<_>>(), ["a", "z"]);
        assert!(serde_json::from_str::<Metadata>(r#"{"a":1}"#).is_err());
    }

    #[test]
    fn debug_prints_a_map() {
        let metadata = Metadata::from([("k", "v")]);
        assert_eq!(format!("{metadata:?}"), r#"{"k": "v"}"#);
    }
}
