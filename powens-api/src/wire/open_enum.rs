//! The `open_enum!` macro: a Powens string enum that never fails to decode.
//!
//! Powens documents that its string enums grow over time and that clients must fall back to a
//! generic case (`docs/errors`, `bank-transactions`). Every such enum in this crate is therefore
//! *open*: the known values are variants, any other string is kept verbatim in `Unknown(String)`.
//! Several wire spellings may map to one variant (for example `loan_payment` and
//! `loan_repayment`); the first spelling listed is the canonical one written back by
//! `as_str`/`Serialize`.

/// Declares an open string enum with `as_str`, `Display`, `FromStr`, `Serialize` and
/// `Deserialize`. Decoding a known value does not allocate.
macro_rules! open_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $(
                $(#[$vmeta:meta])*
                $variant:ident = $wire:literal $(| $alias:literal)*
            ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $(
                $(#[$vmeta])*
                $variant,
            )+
            /// A value this crate does not know (yet), kept verbatim.
            Unknown(String),
        }

        impl $name {
            /// Decodes a wire string; unknown values become `Unknown`.
            pub fn from_wire(value: &str) -> Self {
                match value {
                    $( $wire $(| $alias)* => Self::$variant, )+
                    other => Self::Unknown(other.to_owned()),
                }
            }

            /// The canonical wire spelling (the verbatim string for `Unknown`).
            pub fn as_str(&self) -> &str {
                match self {
                    $( Self::$variant => $wire, )+
                    Self::Unknown(other) => other,
                }
            }

            /// The canonical spelling of a wire string: the first spelling of its variant
            /// (`as_str`), or the string itself when it is not known. Does not allocate.
            pub fn canonical(value: &str) -> &str {
                match value {
                    $( $wire $(| $alias)* => $wire, )+
                    other => other,
                }
            }

            /// `false` for `Unknown` values.
            pub fn is_known(&self) -> bool {
                !matches!(self, Self::Unknown(_))
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = ::std::convert::Infallible;
            fn from_str(value: &str) -> Result<Self, Self::Err> {
                Ok(Self::from_wire(value))
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct WireVisitor;
                impl<'de> ::serde::de::Visitor<'de> for WireVisitor {
                    type Value = $name;
                    fn expecting(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                        f.write_str(concat!("a ", stringify!($name), " string"))
                    }
                    fn visit_str<E: ::serde::de::Error>(self, value: &str) -> Result<$name, E> {
                        Ok($name::from_wire(value))
                    }
                }
                deserializer.deserialize_str(WireVisitor)
            }
        }
    };
}

pub(crate) use open_enum;
