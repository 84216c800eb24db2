//! serde implementations for [`Number`] and [`Value`], so they can sit in typed state structs.
//!
//! Both go through private newtype names that the bridge recognises, which keeps them exact (and,
//! for `Value`, keeps unknowns and dynamic types) through the bridge, while other formats see
//! ordinary numbers, strings, arrays and maps.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, EnumAccess, MapAccess, SeqAccess, VariantAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, SerializeTuple, Serializer};

use super::{
    DYNAMIC_TOKEN, NUMBER_TOKEN, OBJECT_TOKEN, SET_TOKEN, UNKNOWN_TOKEN, VALUE_TOKEN, dynamic_types,
};
use crate::value::{Number, Type, Value};

impl Serialize for Number {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_newtype_struct(NUMBER_TOKEN, &NumberRepr(self))
    }
}

/// An integer when one fits, an `f64` when it reads back as this very decimal, else the text.
struct NumberRepr<'a>(&'a Number);

impl Serialize for NumberRepr<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let n = self.0;
        if let Some(i) = n.to_i64() {
            return serializer.serialize_i64(i);
        }
        if let Some(u) = n.to_u64() {
            return serializer.serialize_u64(u);
        }
        let f = n.to_f64();
        match Number::try_from(f) {
            Ok(back) if &back == n => serializer.serialize_f64(f),
            _ => serializer.serialize_str(&n.to_string()),
        }
    }
}

impl<'de> Deserialize<'de> for Number {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_newtype_struct(NUMBER_TOKEN, NumberVisitor)
    }
}

struct NumberVisitor;

impl<'de> Visitor<'de> for NumberVisitor {
    type Value = Number;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a number")
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Number, E> {
        Ok(v.into())
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Number, E> {
        Ok(v.into())
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Number, E> {
        Ok(v.into())
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Number, E> {
        Ok(v.into())
    }

    /// Floats from text formats: the shortest decimal, which is what the text said.
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Number, E> {
        Number::try_from(v).map_err(E::custom)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Number, E> {
        v.parse().map_err(E::custom)
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, deserializer: D) -> Result<Number, D::Error> {
        deserializer.deserialize_any(self)
    }
}

/// Exact through the bridge (unknowns, collection kinds, dynamic types). Other formats see
/// null for unknown, arrays, maps, and a dynamic value's content.
impl Serialize for Value {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Null => serializer.serialize_none(),
            Value::Unknown => serializer.serialize_unit_struct(UNKNOWN_TOKEN),
            Value::Bool(b) => serializer.serialize_bool(*b),
            Value::Number(n) => n.serialize(serializer),
            Value::String(s) => serializer.serialize_str(s),
            Value::List(items) => serialize_items(items, serializer),
            Value::Set(items) => serializer.serialize_newtype_struct(SET_TOKEN, &Items(items)),
            Value::Tuple(items) => {
                let mut tuple = serializer.serialize_tuple(items.len())?;
                for item in items {
                    tuple.serialize_element(item)?;
                }
                tuple.end()
            }
            Value::Map(entries) => serialize_entries(entries, serializer),
            Value::Object(attrs) => serializer.serialize_newtype_struct(OBJECT_TOKEN, &Entries(attrs)),
            Value::Dynamic(ty, inner) => {
                let _offered = dynamic_types::push((**ty).clone());
                serializer.serialize_newtype_struct(DYNAMIC_TOKEN, inner.as_ref())
            }
        }
    }
}

struct Items<'a>(&'a [Value]);

impl Serialize for Items<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_items(self.0, serializer)
    }
}

fn serialize_items<S: Serializer>(items: &[Value], serializer: S) -> Result<S::Ok, S::Error> {
    let mut seq = serializer.serialize_seq(Some(items.len()))?;
    for item in items {
        seq.serialize_element(item)?;
    }
    seq.end()
}

struct Entries<'a>(&'a BTreeMap<String, Value>);

impl Serialize for Entries<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_entries(self.0, serializer)
    }
}

fn serialize_entries<S: Serializer>(
    entries: &BTreeMap<String, Value>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let mut map = serializer.serialize_map(Some(entries.len()))?;
    for (k, v) in entries {
        map.serialize_entry(k, v)?;
    }
    map.end()
}

/// Through the bridge, the value exactly as it is; from other formats, the natural mapping
/// (arrays are lists, maps are objects, floats their shortest decimal).
impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_newtype_struct(VALUE_TOKEN, ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Number::try_from(v).map(Value::Number).map_err(E::custom)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::List(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries = BTreeMap::new();
        while let Some((k, v)) = map.next_entry::<String, Value>()? {
            entries.insert(k, v);
        }
        Ok(Value::Object(entries))
    }

    /// The bridge's exact form: the variant name is the value's kind.
    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Value, A::Error> {
        let (tag, variant): (String, A::Variant) = data.variant()?;
        Ok(match tag.as_str() {
            "Null" => {
                variant.unit_variant()?;
                Value::Null
            }
            "Unknown" => {
                variant.unit_variant()?;
                Value::Unknown
            }
            "Bool" => Value::Bool(variant.newtype_variant()?),
            "Number" => Value::Number(variant.newtype_variant()?),
            "String" => Value::String(variant.newtype_variant()?),
            "List" => Value::List(variant.newtype_variant()?),
            "Set" => Value::Set(variant.newtype_variant()?),
            "Tuple" => Value::Tuple(variant.newtype_variant()?),
            "Map" => Value::Map(variant.newtype_variant()?),
            "Object" => Value::Object(variant.newtype_variant()?),
            "Dynamic" => {
                let (type_json, inner): (String, Value) = variant.newtype_variant()?;
                let ty = Type::from_json_bytes(type_json.as_bytes()).map_err(de::Error::custom)?;
                Value::dynamic(ty, inner)
            }
            other => {
                return Err(de::Error::unknown_variant(other, &["Null", "Unknown", "Bool", "Number", "..."]));
            }
        })
    }
}
