//! The deserializing half of the bridge: a [`Value`] into any `Deserialize` type.
//!
//! Errors raised deep inside (a wrong type, an unknown in a plain field) get the path of the
//! part they are about: each container puts its step in front as the error travels out.

use std::collections::btree_map;

use serde::de::value::{BorrowedStrDeserializer, StringDeserializer};
use serde::de::{self, DeserializeSeed, IntoDeserializer, Visitor};

use super::{NUMBER_TOKEN, TRI_TOKEN, UNKNOWN_TOKEN, VALUE_TOKEN};
use crate::path::{AttributePath, PathStep};
use crate::value::{Type, Value, ValueError};

/// Deserializes from a borrowed [`Value`].
pub(super) struct ValueDeserializer<'de> {
    value: &'de Value,
}

impl<'de> ValueDeserializer<'de> {
    pub(super) fn new(value: &'de Value) -> Self {
        Self { value }
    }

    fn plain(&self) -> &'de Value {
        self.value.strip_dynamic()
    }

    fn mismatch(&self, expected: &str) -> ValueError {
        match self.plain() {
            Value::Unknown => not_known(),
            other => ValueError::mismatch(&AttributePath::root(), expected, other.kind_name()),
        }
    }
}

fn not_known() -> ValueError {
    ValueError::NotKnown { path: AttributePath::root() }
}

impl<'de> de::Deserializer<'de> for ValueDeserializer<'de> {
    type Error = ValueError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        match self.plain() {
            Value::Null => visitor.visit_unit(),
            Value::Unknown => Err(not_known()),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Number(n) => match (n.to_i64(), n.to_u64()) {
                (Some(i), _) => visitor.visit_i64(i),
                (None, Some(u)) => visitor.visit_u64(u),
                (None, None) => visitor.visit_f64(n.to_f64()),
            },
            Value::String(s) => visitor.visit_borrowed_str(s),
            Value::List(items) | Value::Set(items) | Value::Tuple(items) => {
                visitor.visit_seq(SeqDe::new(items))
            }
            Value::Map(entries) => visitor.visit_map(MapDe::new(entries, false)),
            Value::Object(attrs) => visitor.visit_map(MapDe::new(attrs, true)),
            Value::Dynamic(..) => unreachable!("plain() strips dynamic wrappers"),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        match self.plain() {
            Value::Null => visitor.visit_none(),
            Value::Unknown => Err(not_known()),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        match name {
            NUMBER_TOKEN => match self.plain() {
                Value::Number(n) => visitor.visit_string(n.to_string()),
                // cty converts strings to numbers; Number's visitor parses (or rejects) the text.
                Value::String(s) => visitor.visit_borrowed_str(s),
                _ => Err(self.mismatch("number")),
            },
            TRI_TOKEN => match self.plain() {
                Value::Unknown => visitor.visit_enum(BorrowedStrDeserializer::new(UNKNOWN_TOKEN)),
                Value::Null => visitor.visit_none(),
                _ => visitor.visit_some(self),
            },
            VALUE_TOKEN => visitor.visit_enum(RawValue { value: self.value }),
            _ => visitor.visit_newtype_struct(self),
        }
    }

    fn deserialize_i128<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        match self.plain() {
            Value::Number(n) => match n.to_i128() {
                Some(i) => visitor.visit_i128(i),
                None => self.deserialize_any(visitor),
            },
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_u128<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        match self.plain() {
            Value::Number(n) => match n.to_i128().and_then(|i| u128::try_from(i).ok()) {
                Some(u) => visitor.visit_u128(u),
                None => self.deserialize_any(visitor),
            },
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        match self.plain() {
            Value::Number(n) => visitor.visit_f64(n.to_f64()),
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        self.deserialize_f64(visitor)
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        match self.plain() {
            Value::Null => visitor.visit_unit(),
            _ => Err(self.mismatch("null")),
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        match self.plain() {
            Value::String(s) => visitor.visit_borrowed_bytes(s.as_bytes()),
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        self.deserialize_bytes(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        match self.plain() {
            Value::String(s) => visitor.visit_enum(BorrowedStrDeserializer::new(s)),
            Value::Map(entries) | Value::Object(entries) if entries.len() == 1 => {
                let (name, content) = entries.iter().next().expect("one entry");
                visitor.visit_enum(EnumDe { name, content })
            }
            _ => Err(self.mismatch("string or single-attribute object (enum)")),
        }
    }

    /// Ignored fields may be anything, unknown included.
    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 u8 u16 u32 u64 char str string seq tuple tuple_struct map struct identifier
    }
}

struct SeqDe<'de> {
    items: std::slice::Iter<'de, Value>,
    index: i64,
}

impl<'de> SeqDe<'de> {
    fn new(items: &'de [Value]) -> Self {
        Self { items: items.iter(), index: 0 }
    }
}

impl<'de> de::SeqAccess<'de> for SeqDe<'de> {
    type Error = ValueError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, ValueError> {
        let Some(item) = self.items.next() else {
            return Ok(None);
        };
        let index = self.index;
        self.index += 1;
        seed.deserialize(ValueDeserializer::new(item))
            .map(Some)
            .map_err(|e| e.prepend(PathStep::ElementKeyInt(index)))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

struct MapDe<'de> {
    entries: btree_map::Iter<'de, String, Value>,
    pending: Option<(&'de String, &'de Value)>,
    object: bool,
}

impl<'de> MapDe<'de> {
    fn new(entries: &'de std::collections::BTreeMap<String, Value>, object: bool) -> Self {
        Self { entries: entries.iter(), pending: None, object }
    }
}

impl<'de> de::MapAccess<'de> for MapDe<'de> {
    type Error = ValueError;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, ValueError> {
        let Some((key, value)) = self.entries.next() else {
            return Ok(None);
        };
        self.pending = Some((key, value));
        seed.deserialize(BorrowedStrDeserializer::new(key)).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, ValueError> {
        let (key, value) =
            self.pending.take().ok_or_else(|| de::Error::custom("value requested before key"))?;
        let step = if self.object {
            PathStep::Attribute(key.clone())
        } else {
            PathStep::ElementKeyString(key.clone())
        };
        seed.deserialize(ValueDeserializer::new(value)).map_err(|e| e.prepend(step))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

/// An externally tagged enum variant with content: `{variant = content}`.
struct EnumDe<'de> {
    name: &'de str,
    content: &'de Value,
}

impl<'de> de::EnumAccess<'de> for EnumDe<'de> {
    type Error = ValueError;
    type Variant = Self;

    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Self), ValueError> {
        let tag = seed.deserialize(BorrowedStrDeserializer::<ValueError>::new(self.name))?;
        Ok((tag, self))
    }
}

impl<'de> de::VariantAccess<'de> for EnumDe<'de> {
    type Error = ValueError;

    fn unit_variant(self) -> Result<(), ValueError> {
        Ok(())
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, ValueError> {
        let step = PathStep::Attribute(self.name.to_owned());
        seed.deserialize(ValueDeserializer::new(self.content)).map_err(|e| e.prepend(step))
    }

    fn tuple_variant<V: Visitor<'de>>(self, _: usize, visitor: V) -> Result<V::Value, ValueError> {
        let step = PathStep::Attribute(self.name.to_owned());
        de::Deserializer::deserialize_seq(ValueDeserializer::new(self.content), visitor)
            .map_err(|e| e.prepend(step))
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        let step = PathStep::Attribute(self.name.to_owned());
        de::Deserializer::deserialize_map(ValueDeserializer::new(self.content), visitor)
            .map_err(|e| e.prepend(step))
    }
}

/// Hands a whole [`Value`] to `Value`'s own `Deserialize`, as an enum tagged by variant name, so
/// that unknowns, exact numbers, collection kinds and dynamic types all survive.
struct RawValue<'de> {
    value: &'de Value,
}

impl<'de> de::EnumAccess<'de> for RawValue<'de> {
    type Error = ValueError;
    type Variant = Self;

    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Self), ValueError> {
        let tag = match self.value {
            Value::Null => "Null",
            Value::Unknown => "Unknown",
            Value::Bool(_) => "Bool",
            Value::Number(_) => "Number",
            Value::String(_) => "String",
            Value::List(_) => "List",
            Value::Set(_) => "Set",
            Value::Map(_) => "Map",
            Value::Object(_) => "Object",
            Value::Tuple(_) => "Tuple",
            Value::Dynamic(..) => "Dynamic",
        };
        let tag = seed.deserialize(BorrowedStrDeserializer::<ValueError>::new(tag))?;
        Ok((tag, self))
    }
}

impl<'de> de::VariantAccess<'de> for RawValue<'de> {
    type Error = ValueError;

    fn unit_variant(self) -> Result<(), ValueError> {
        Ok(())
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, ValueError> {
        match self.value {
            Value::Dynamic(ty, inner) => seed.deserialize(DynamicPair { ty, inner }),
            other => seed.deserialize(ValueDeserializer::new(other)),
        }
    }

    fn tuple_variant<V: Visitor<'de>>(self, _: usize, _: V) -> Result<V::Value, ValueError> {
        Err(de::Error::custom("a raw value is never a tuple variant"))
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, ValueError> {
        Err(de::Error::custom("a raw value is never a struct variant"))
    }
}

/// A dynamic value as the pair (type JSON text, inner value).
struct DynamicPair<'de> {
    ty: &'de Type,
    inner: &'de Value,
}

impl<'de> de::Deserializer<'de> for DynamicPair<'de> {
    type Error = ValueError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        visitor.visit_seq(DynamicPairSeq { pair: Some(self), second: None })
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit
        unit_struct newtype_struct seq tuple tuple_struct map struct enum identifier ignored_any
    }
}

struct DynamicPairSeq<'de> {
    pair: Option<DynamicPair<'de>>,
    second: Option<&'de Value>,
}

impl<'de> de::SeqAccess<'de> for DynamicPairSeq<'de> {
    type Error = ValueError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, ValueError> {
        if let Some(pair) = self.pair.take() {
            self.second = Some(pair.inner);
            let json = String::from_utf8_lossy(&pair.ty.to_json_bytes()).into_owned();
            let de: StringDeserializer<ValueError> = json.into_deserializer();
            return seed.deserialize(de).map(Some);
        }
        match self.second.take() {
            Some(inner) => seed.deserialize(ValueDeserializer::new(inner)).map(Some),
            None => Ok(None),
        }
    }
}
