//! A macro for the closed string enums of the Connectivity wire format.
//!
//! Every enum of the model serialises to one exact string (Formance's spelling, typos
//! included) and parses only from that string: the model is what this workspace *produces*,
//! so an unknown value is a bug to report, not a value to carry along.

/// Declares a closed enum whose serde form is an exact wire string.
///
/// Generates `as_str`, `ALL`, `Display`, `FromStr` (error [`UnknownWireValue`]),
/// `Serialize` and `Deserialize`.
macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident => $wire:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[ $( $name::$variant, )+ ];

            /// The exact wire string of this value.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $( $name::$variant => $wire, )+
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::model::UnknownWireValue;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $( $wire => Ok($name::$variant), )+
                    other => Err($crate::model::UnknownWireValue {
                        type_name: stringify!($name),
                        value: other.chars().take(64).collect(),
                        expected: &[ $( $wire, )+ ],
                    }),
                }
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let s = <::std::borrow::Cow<'de, str> as ::serde::Deserialize>::deserialize(deserializer)?;
                s.parse().map_err(::serde::de::Error::custom)
            }
        }
    };
}

pub(crate) use wire_enum;

/// A string that is not one of the wire values of a model enum.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {type_name} value {value:?}; expected one of {expected:?}")]
pub struct UnknownWireValue {
    /// The Rust name of the enum.
    pub type_name: &'static str,
    /// The rejected value (at most 64 characters of it).
    pub value: String,
    /// Every accepted wire string.
    pub expected: &'static [&'static str],
}
