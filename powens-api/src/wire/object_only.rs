//! The `object_only!` macro: a struct decoded from a JSON object, never from an array.
//!
//! serde's derived `Deserialize` also accepts an array of a struct's fields in declaration
//! order, so with every field optional `[]` or `[[]]` decoded as a `Category` with no code.
//! Powens never sends an object as an array, and the page reader of `powens-model` skips such
//! a row as malformed; a typed decoder that accepted it gave the same row two meanings (fuzz
//! finding F6, docs/FUZZING.md). A struct declared with `#[serde(remote = "Self")]` keeps its
//! derived code as inherent functions, and `object_only!(Type)` adds the trait impls on top:
//! `Serialize` as derived, `Deserialize` through `deserialize_map` only.

macro_rules! object_only {
    ($name:ident) => {
        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                // The derived code (`remote = "Self"` made it an inherent function).
                $name::serialize(self, serializer)
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(
                deserializer: D,
            ) -> Result<Self, D::Error> {
                struct ObjectVisitor;
                impl<'de> ::serde::de::Visitor<'de> for ObjectVisitor {
                    type Value = $name;
                    fn expecting(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                        f.write_str("a JSON object")
                    }
                    fn visit_map<A: ::serde::de::MapAccess<'de>>(
                        self,
                        map: A,
                    ) -> Result<$name, A::Error> {
                        $name::deserialize(::serde::de::value::MapAccessDeserializer::new(map))
                    }
                }
                deserializer.deserialize_map(ObjectVisitor)
            }
        }
    };
}

pub(crate) use object_only;
