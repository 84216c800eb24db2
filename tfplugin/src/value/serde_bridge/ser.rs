//! The serializing half of the bridge: any `Serialize` type to a [`Value`].

use std::collections::BTreeMap;

use serde::Serialize;
use serde::ser::{self, Impossible};

use super::{DYNAMIC_TOKEN, NUMBER_TOKEN, OBJECT_TOKEN, SET_TOKEN, UNKNOWN_TOKEN, dynamic_types};
use crate::path::PathStep;
use crate::value::{Number, Value, ValueError};

/// Serializes into a [`Value`]. Sequences become lists and mappings objects (structs) or maps.
pub(super) struct ValueSerializer;

impl ser::Serializer for ValueSerializer {
    type Ok = Value;
    type Error = ValueError;
    type SerializeSeq = SeqBuilder;
    type SerializeTuple = SeqBuilder;
    type SerializeTupleStruct = SeqBuilder;
    type SerializeTupleVariant = Variant<SeqBuilder>;
    type SerializeMap = MapBuilder;
    type SerializeStruct = StructBuilder;
    type SerializeStructVariant = Variant<StructBuilder>;

    fn serialize_bool(self, v: bool) -> Result<Value, ValueError> {
        Ok(Value::Bool(v))
    }

    fn serialize_i8(self, v: i8) -> Result<Value, ValueError> {
        self.serialize_i64(i64::from(v))
    }

    fn serialize_i16(self, v: i16) -> Result<Value, ValueError> {
        self.serialize_i64(i64::from(v))
    }

    fn serialize_i32(self, v: i32) -> Result<Value, ValueError> {
        self.serialize_i64(i64::from(v))
    }

    fn serialize_i64(self, v: i64) -> Result<Value, ValueError> {
        Ok(Value::Number(v.into()))
    }

    fn serialize_i128(self, v: i128) -> Result<Value, ValueError> {
        Ok(Value::Number(v.into()))
    }

    fn serialize_u8(self, v: u8) -> Result<Value, ValueError> {
        self.serialize_u64(u64::from(v))
    }

    fn serialize_u16(self, v: u16) -> Result<Value, ValueError> {
        self.serialize_u64(u64::from(v))
    }

    fn serialize_u32(self, v: u32) -> Result<Value, ValueError> {
        self.serialize_u64(u64::from(v))
    }

    fn serialize_u64(self, v: u64) -> Result<Value, ValueError> {
        Ok(Value::Number(v.into()))
    }

    fn serialize_u128(self, v: u128) -> Result<Value, ValueError> {
        Ok(Value::Number(v.into()))
    }

    fn serialize_f32(self, v: f32) -> Result<Value, ValueError> {
        Number::try_from(v).map(Value::Number)
    }

    fn serialize_f64(self, v: f64) -> Result<Value, ValueError> {
        Number::try_from(v).map(Value::Number)
    }

    fn serialize_char(self, v: char) -> Result<Value, ValueError> {
        Ok(Value::String(v.to_string()))
    }

    fn serialize_str(self, v: &str) -> Result<Value, ValueError> {
        Ok(Value::String(v.to_owned()))
    }

    /// Bytes become a list of numbers, as serde_json writes them.
    fn serialize_bytes(self, v: &[u8]) -> Result<Value, ValueError> {
        Ok(Value::List(v.iter().map(|b| Value::Number(u64::from(*b).into())).collect()))
    }

    fn serialize_none(self) -> Result<Value, ValueError> {
        Ok(Value::Null)
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Value, ValueError> {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result<Value, ValueError> {
        Ok(Value::Null)
    }

    fn serialize_unit_struct(self, name: &'static str) -> Result<Value, ValueError> {
        Ok(if name == UNKNOWN_TOKEN { Value::Unknown } else { Value::Null })
    }

    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<Value, ValueError> {
        Ok(Value::String(variant.to_owned()))
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        value: &T,
    ) -> Result<Value, ValueError> {
        // Claim the offered type before the content, whose own dynamic parts offer theirs.
        let dynamic_type = if name == DYNAMIC_TOKEN { dynamic_types::pop() } else { None };
        let inner = value.serialize(ValueSerializer)?;
        match (name, inner) {
            // A Number arrives as an integer, an f64 that reads back exactly, or its decimal text.
            (NUMBER_TOKEN, Value::String(text)) => text.parse().map(Value::Number),
            (NUMBER_TOKEN, number @ Value::Number(_)) => Ok(number),
            (NUMBER_TOKEN, other) => {
                Err(ValueError::mismatch(&Default::default(), "number", other.kind_name()))
            }
            (SET_TOKEN, Value::List(items)) => Ok(Value::Set(items)),
            (OBJECT_TOKEN, Value::Map(attrs)) => Ok(Value::Object(attrs)),
            (DYNAMIC_TOKEN, inner) => Ok(match dynamic_type {
                Some(ty) => Value::dynamic(ty, inner),
                None => inner,
            }),
            (_, inner) => Ok(inner),
        }
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<Value, ValueError> {
        let inner = value.serialize(self).map_err(|e| e.prepend(PathStep::Attribute(variant.to_owned())))?;
        Ok(Value::object([(variant, inner)]))
    }

    fn serialize_seq(self, len: Option<usize>) -> Result<SeqBuilder, ValueError> {
        Ok(SeqBuilder { items: Vec::with_capacity(len.unwrap_or(0)), tuple: false })
    }

    fn serialize_tuple(self, len: usize) -> Result<SeqBuilder, ValueError> {
        Ok(SeqBuilder { items: Vec::with_capacity(len), tuple: true })
    }

    fn serialize_tuple_struct(self, _: &'static str, len: usize) -> Result<SeqBuilder, ValueError> {
        self.serialize_tuple(len)
    }

    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Variant<SeqBuilder>, ValueError> {
        Ok(Variant { name: variant, inner: self.serialize_tuple(len)? })
    }

    fn serialize_map(self, _: Option<usize>) -> Result<MapBuilder, ValueError> {
        Ok(MapBuilder { entries: BTreeMap::new(), key: None })
    }

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<StructBuilder, ValueError> {
        Ok(StructBuilder { attrs: BTreeMap::new() })
    }

    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Variant<StructBuilder>, ValueError> {
        Ok(Variant { name: variant, inner: StructBuilder { attrs: BTreeMap::new() } })
    }
}

/// Collects a sequence; Rust tuples and arrays become tuples, everything else lists.
pub(super) struct SeqBuilder {
    items: Vec<Value>,
    tuple: bool,
}

impl SeqBuilder {
    fn push<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), ValueError> {
        let index = self.items.len() as i64;
        let item = value.serialize(ValueSerializer).map_err(|e| e.prepend(PathStep::ElementKeyInt(index)))?;
        self.items.push(item);
        Ok(())
    }

    fn finish(self) -> Value {
        if self.tuple { Value::Tuple(self.items) } else { Value::List(self.items) }
    }
}

impl ser::SerializeSeq for SeqBuilder {
    type Ok = Value;
    type Error = ValueError;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), ValueError> {
        self.push(value)
    }

    fn end(self) -> Result<Value, ValueError> {
        Ok(self.finish())
    }
}

impl ser::SerializeTuple for SeqBuilder {
    type Ok = Value;
    type Error = ValueError;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), ValueError> {
        self.push(value)
    }

    fn end(self) -> Result<Value, ValueError> {
        Ok(self.finish())
    }
}

impl ser::SerializeTupleStruct for SeqBuilder {
    type Ok = Value;
    type Error = ValueError;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), ValueError> {
        self.push(value)
    }

    fn end(self) -> Result<Value, ValueError> {
        Ok(self.finish())
    }
}

/// Collects a map; keys must serialize as strings (or integers, bools and chars, which are
/// written as their text, as serde_json does).
pub(super) struct MapBuilder {
    entries: BTreeMap<String, Value>,
    key: Option<String>,
}

impl ser::SerializeMap for MapBuilder {
    type Ok = Value;
    type Error = ValueError;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), ValueError> {
        self.key = Some(key.serialize(KeySerializer)?);
        Ok(())
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), ValueError> {
        let key = self.key.take().ok_or_else(|| ser::Error::custom("map value without a key"))?;
        let item = value
            .serialize(ValueSerializer)
            .map_err(|e| e.prepend(PathStep::ElementKeyString(key.clone())))?;
        self.entries.insert(key, item);
        Ok(())
    }

    fn end(self) -> Result<Value, ValueError> {
        Ok(Value::Map(self.entries))
    }
}

/// Collects a struct into an object.
pub(super) struct StructBuilder {
    attrs: BTreeMap<String, Value>,
}

impl StructBuilder {
    fn field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), ValueError> {
        let item =
            value.serialize(ValueSerializer).map_err(|e| e.prepend(PathStep::Attribute(key.to_owned())))?;
        self.attrs.insert(key.to_owned(), item);
        Ok(())
    }
}

impl ser::SerializeStruct for StructBuilder {
    type Ok = Value;
    type Error = ValueError;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), ValueError> {
        self.field(key, value)
    }

    fn end(self) -> Result<Value, ValueError> {
        Ok(Value::Object(self.attrs))
    }
}

/// An enum variant with content: `{variant = content}`, as serde_json's external tagging.
pub(super) struct Variant<B> {
    name: &'static str,
    inner: B,
}

impl ser::SerializeTupleVariant for Variant<SeqBuilder> {
    type Ok = Value;
    type Error = ValueError;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), ValueError> {
        self.inner.push(value).map_err(|e| e.prepend(PathStep::Attribute(self.name.to_owned())))
    }

    fn end(self) -> Result<Value, ValueError> {
        Ok(Value::object([(self.name, self.inner.finish())]))
    }
}

impl ser::SerializeStructVariant for Variant<StructBuilder> {
    type Ok = Value;
    type Error = ValueError;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), ValueError> {
        self.inner.field(key, value).map_err(|e| e.prepend(PathStep::Attribute(self.name.to_owned())))
    }

    fn end(self) -> Result<Value, ValueError> {
        Ok(Value::object([(self.name, Value::Object(self.inner.attrs))]))
    }
}

/// Map keys: strings, or scalars written as text.
struct KeySerializer;

fn key_error() -> ValueError {
    ser::Error::custom("map keys must be strings")
}

impl ser::Serializer for KeySerializer {
    type Ok = String;
    type Error = ValueError;
    type SerializeSeq = Impossible<String, ValueError>;
    type SerializeTuple = Impossible<String, ValueError>;
    type SerializeTupleStruct = Impossible<String, ValueError>;
    type SerializeTupleVariant = Impossible<String, ValueError>;
    type SerializeMap = Impossible<String, ValueError>;
    type SerializeStruct = Impossible<String, ValueError>;
    type SerializeStructVariant = Impossible<String, ValueError>;

    fn serialize_str(self, v: &str) -> Result<String, ValueError> {
        Ok(v.to_owned())
    }

    fn serialize_char(self, v: char) -> Result<String, ValueError> {
        Ok(v.to_string())
    }

    fn serialize_bool(self, v: bool) -> Result<String, ValueError> {
        Ok(v.to_string())
    }

    fn serialize_i8(self, v: i8) -> Result<String, ValueError> {
        Ok(v.to_string())
    }

    fn serialize_i16(self, v: i16) -> Result<String, ValueError> {
        Ok(v.to_string())
    }

    fn serialize_i32(self, v: i32) -> Result<String, ValueError> {
        Ok(v.to_string())
    }

    fn serialize_i64(self, v: i64) -> Result<String, ValueError> {
        Ok(v.to_string())
    }

    fn serialize_u8(self, v: u8) -> Result<String, ValueError> {
        Ok(v.to_string())
    }

    fn serialize_u16(self, v: u16) -> Result<String, ValueError> {
        Ok(v.to_string())
    }

    fn serialize_u32(self, v: u32) -> Result<String, ValueError> {
        Ok(v.to_string())
    }

    fn serialize_u64(self, v: u64) -> Result<String, ValueError> {
        Ok(v.to_string())
    }

    fn serialize_f32(self, _: f32) -> Result<String, ValueError> {
        Err(key_error())
    }

    fn serialize_f64(self, _: f64) -> Result<String, ValueError> {
        Err(key_error())
    }

    fn serialize_bytes(self, _: &[u8]) -> Result<String, ValueError> {
        Err(key_error())
    }

    fn serialize_none(self) -> Result<String, ValueError> {
        Err(key_error())
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<String, ValueError> {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result<String, ValueError> {
        Err(key_error())
    }

    fn serialize_unit_struct(self, _: &'static str) -> Result<String, ValueError> {
        Err(key_error())
    }

    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<String, ValueError> {
        Ok(variant.to_owned())
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<String, ValueError> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<String, ValueError> {
        Err(key_error())
    }

    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, ValueError> {
        Err(key_error())
    }

    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, ValueError> {
        Err(key_error())
    }

    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, ValueError> {
        Err(key_error())
    }

    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, ValueError> {
        Err(key_error())
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, ValueError> {
        Err(key_error())
    }

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct, ValueError> {
        Err(key_error())
    }

    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, ValueError> {
        Err(key_error())
    }
}
