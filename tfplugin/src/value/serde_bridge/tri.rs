//! [`Tri`]: a typed field that may be known, null or not yet known.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserialize, Deserializer, EnumAccess, VariantAccess, Visitor};
use serde::ser::{Serialize, Serializer};

use super::{TRI_TOKEN, UNKNOWN_TOKEN};

/// A field of a typed state struct that, unlike `Option<T>`, can also be unknown: what a
/// computed attribute is in a plan, or any attribute set from another resource's unknown output.
///
/// Through the bridge it maps `Known` ↔ the value, `Null` ↔ null, `Unknown` ↔ unknown. With other
/// serde formats it behaves like `Option<T>` (unknown is written as `None`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Tri<T> {
    /// A known value.
    Known(T),
    /// Null.
    #[default]
    Null,
    /// Not known until apply.
    Unknown,
}

impl<T> Tri<T> {
    /// Whether this holds a known value.
    pub fn is_known(&self) -> bool {
        matches!(self, Tri::Known(_))
    }

    /// Whether this is null.
    pub fn is_null(&self) -> bool {
        matches!(self, Tri::Null)
    }

    /// Whether this is unknown.
    pub fn is_unknown(&self) -> bool {
        matches!(self, Tri::Unknown)
    }

    /// The known value, if any.
    pub fn known(self) -> Option<T> {
        match self {
            Tri::Known(v) => Some(v),
            Tri::Null | Tri::Unknown => None,
        }
    }

    /// Borrows the content.
    pub fn as_ref(&self) -> Tri<&T> {
        match self {
            Tri::Known(v) => Tri::Known(v),
            Tri::Null => Tri::Null,
            Tri::Unknown => Tri::Unknown,
        }
    }

    /// Mutably borrows the content.
    pub fn as_mut(&mut self) -> Tri<&mut T> {
        match self {
            Tri::Known(v) => Tri::Known(v),
            Tri::Null => Tri::Null,
            Tri::Unknown => Tri::Unknown,
        }
    }

    /// Maps the known value.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Tri<U> {
        match self {
            Tri::Known(v) => Tri::Known(f(v)),
            Tri::Null => Tri::Null,
            Tri::Unknown => Tri::Unknown,
        }
    }

    /// The known value, or `default` when null or unknown.
    pub fn unwrap_or(self, default: T) -> T {
        self.known().unwrap_or(default)
    }

    /// The known value, or one computed when null or unknown.
    pub fn unwrap_or_else(self, f: impl FnOnce() -> T) -> T {
        self.known().unwrap_or_else(f)
    }

    /// This if known or null; `other` if unknown. Handy to carry a prior value into a plan.
    pub fn or_if_unknown(self, other: Tri<T>) -> Tri<T> {
        match self {
            Tri::Unknown => other,
            known_or_null => known_or_null,
        }
    }
}

impl<T: Default> Tri<T> {
    /// The known value, or `T::default()` when null or unknown.
    pub fn unwrap_or_default(self) -> T {
        self.known().unwrap_or_default()
    }
}

/// `None` is null.
impl<T> From<Option<T>> for Tri<T> {
    fn from(v: Option<T>) -> Self {
        v.map_or(Tri::Null, Tri::Known)
    }
}

impl<T: Serialize> Serialize for Tri<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Tri::Known(v) => serializer.serialize_some(v),
            Tri::Null => serializer.serialize_none(),
            Tri::Unknown => serializer.serialize_unit_struct(UNKNOWN_TOKEN),
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Tri<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_newtype_struct(TRI_TOKEN, TriVisitor(PhantomData))
    }
}

struct TriVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for TriVisitor<T> {
    type Value = Tri<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a value, null or unknown")
    }

    fn visit_none<E: de::Error>(self) -> Result<Tri<T>, E> {
        Ok(Tri::Null)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Tri<T>, E> {
        Ok(Tri::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Tri<T>, D::Error> {
        T::deserialize(deserializer).map(Tri::Known)
    }

    /// Other formats hand over the newtype's content: read it as an `Option`.
    fn visit_newtype_struct<D: Deserializer<'de>>(self, deserializer: D) -> Result<Tri<T>, D::Error> {
        Option::<T>::deserialize(deserializer).map(Tri::from)
    }

    /// The bridge signals an unknown as a unit variant with the private name.
    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Tri<T>, A::Error> {
        let (tag, variant): (String, A::Variant) = data.variant()?;
        if tag != UNKNOWN_TOKEN {
            return Err(de::Error::custom(format!("unexpected variant {tag:?} for a Tri")));
        }
        variant.unit_variant()?;
        Ok(Tri::Unknown)
    }
}
