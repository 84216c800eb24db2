//! cty-compatible values: what Terraform sends and expects in every `DynamicValue`.
//!
//! A [`Value`] is known, null or unknown at every level, like a cty value, but it does not carry
//! its type: null and unknown are untyped, and the codecs ([`msgpack`], [`json`]) and
//! [`Value::conform`] always work against a [`Type`] supplied by the caller (the schema's implied
//! type). The one exception is a value in a dynamically typed position (`Type::Dynamic`), which
//! keeps its concrete type in [`Value::Dynamic`] so that it round-trips exactly.
//!
//! Numbers are exact decimals ([`Number`]); sets are kept in insertion order but compare as sets.
//! [`serde_bridge`] maps typed Rust structs to and from values, with [`Tri`] for fields that may
//! be unknown.

mod conform;
mod error;
mod infer;
pub mod json;
mod json_syntax;
pub mod msgpack;
mod number;
pub mod serde_bridge;
mod set;
mod types;
mod walk;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

pub use error::ValueError;
pub use number::Number;
pub use serde_bridge::{Tri, from_value, to_value};
pub use types::Type;

/// A cty value, without its type.
#[derive(Clone, Debug, Default)]
pub enum Value {
    /// A null of whatever type the position has.
    #[default]
    Null,
    /// A value not known until apply, of whatever type the position has.
    Unknown,
    /// A known bool.
    Bool(bool),
    /// A known number.
    Number(Number),
    /// A known string.
    String(String),
    /// A known list.
    List(Vec<Value>),
    /// A known set; order carries no meaning and elements should be distinct (see [`Value::set`]).
    Set(Vec<Value>),
    /// A known map.
    Map(BTreeMap<String, Value>),
    /// A known object.
    Object(BTreeMap<String, Value>),
    /// A known tuple.
    Tuple(Vec<Value>),
    /// A value in a dynamically typed position, with its concrete type.
    Dynamic(Box<Type>, Box<Value>),
}

impl Value {
    /// An object from `(name, value)` pairs.
    pub fn object<K: Into<String>>(attributes: impl IntoIterator<Item = (K, Value)>) -> Value {
        Value::Object(attributes.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    /// A map from `(key, value)` pairs.
    pub fn map<K: Into<String>>(entries: impl IntoIterator<Item = (K, Value)>) -> Value {
        Value::Map(entries.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    /// A list.
    pub fn list(elements: impl IntoIterator<Item = Value>) -> Value {
        Value::List(elements.into_iter().collect())
    }

    /// A set, dropping duplicate elements (first occurrence wins).
    pub fn set(elements: impl IntoIterator<Item = Value>) -> Value {
        Value::Set(set::dedup(elements.into_iter().collect()))
    }

    /// A tuple.
    pub fn tuple(elements: impl IntoIterator<Item = Value>) -> Value {
        Value::Tuple(elements.into_iter().collect())
    }

    /// A value for a dynamically typed position, with its type.
    pub fn dynamic(ty: Type, value: Value) -> Value {
        Value::Dynamic(Box::new(ty), Box::new(value))
    }

    /// The value inside any [`Value::Dynamic`] wrappers.
    pub fn strip_dynamic(&self) -> &Value {
        let mut v = self;
        while let Value::Dynamic(_, inner) = v {
            v = inner;
        }
        v
    }

    /// Mutable access to the value inside any [`Value::Dynamic`] wrappers.
    pub fn strip_dynamic_mut(&mut self) -> &mut Value {
        let mut v = self;
        while let Value::Dynamic(_, inner) = v {
            v = inner;
        }
        v
    }

    /// The value inside any [`Value::Dynamic`] wrappers, by value.
    pub fn into_plain(self) -> Value {
        let mut v = self;
        while let Value::Dynamic(_, inner) = v {
            v = *inner;
        }
        v
    }

    /// Whether this is null (wrapped or not).
    pub fn is_null(&self) -> bool {
        matches!(self.strip_dynamic(), Value::Null)
    }

    /// Whether this is unknown (wrapped or not). Says nothing about nested values.
    pub fn is_unknown(&self) -> bool {
        matches!(self.strip_dynamic(), Value::Unknown)
    }

    /// Whether this is not unknown at the top level (it may be null, or contain unknowns).
    pub fn is_known(&self) -> bool {
        !self.is_unknown()
    }

    /// A short name for the kind of value, for messages: `"string"`, `"null"`, `"object"`.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Unknown => "unknown value",
            Value::Bool(_) => "bool",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::List(_) => "list",
            Value::Set(_) => "set",
            Value::Map(_) => "map",
            Value::Object(_) => "object",
            Value::Tuple(_) => "tuple",
            Value::Dynamic(_, inner) => inner.kind_name(),
        }
    }

    /// The string, if this is a known string.
    pub fn as_str(&self) -> Option<&str> {
        match self.strip_dynamic() {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The bool, if this is a known bool.
    pub fn as_bool(&self) -> Option<bool> {
        match self.strip_dynamic() {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The number, if this is a known number.
    pub fn as_number(&self) -> Option<&Number> {
        match self.strip_dynamic() {
            Value::Number(n) => Some(n),
            _ => None,
        }
    }

    /// The number as an `i64`, if this is a known whole number that fits.
    pub fn as_i64(&self) -> Option<i64> {
        self.as_number()?.to_i64()
    }

    /// The elements, if this is a known list, set or tuple.
    pub fn as_list(&self) -> Option<&[Value]> {
        match self.strip_dynamic() {
            Value::List(items) | Value::Set(items) | Value::Tuple(items) => Some(items),
            _ => None,
        }
    }

    /// The entries, if this is a known map or object.
    pub fn as_map(&self) -> Option<&BTreeMap<String, Value>> {
        match self.strip_dynamic() {
            Value::Map(entries) | Value::Object(entries) => Some(entries),
            _ => None,
        }
    }

    /// An attribute, if this is a known object that has it.
    pub fn get_attr(&self, name: &str) -> Option<&Value> {
        match self.strip_dynamic() {
            Value::Object(attrs) => attrs.get(name),
            _ => None,
        }
    }

    /// Mutable access to an attribute, if this is a known object that has it.
    pub fn get_attr_mut(&mut self, name: &str) -> Option<&mut Value> {
        match self.strip_dynamic_mut() {
            Value::Object(attrs) => attrs.get_mut(name),
            _ => None,
        }
    }

    /// Sets an attribute, returning the previous value. A null becomes an object holding just
    /// this attribute (handy when building a state from nothing); any other non-object is an error.
    pub fn set_attr(
        &mut self,
        name: impl Into<String>,
        value: impl Into<Value>,
    ) -> Result<Option<Value>, ValueError> {
        let target = self.strip_dynamic_mut();
        if matches!(target, Value::Null) {
            *target = Value::Object(BTreeMap::new());
        }
        match target {
            Value::Object(attrs) => Ok(attrs.insert(name.into(), value.into())),
            other => {
                Err(ValueError::mismatch(&crate::path::AttributePath::root(), "object", other.kind_name()))
            }
        }
    }

    /// A JSON rendering for logs and for APIs that take JSON (Kubernetes). Lossy: unknown becomes
    /// null, sets/tuples become arrays, and a number that no `f64` reproduces becomes a string.
    pub fn to_json_value(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Value::Null | Value::Unknown => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Number(n) => number_to_json(n),
            Value::String(s) => J::String(s.clone()),
            Value::List(items) | Value::Set(items) | Value::Tuple(items) => {
                J::Array(items.iter().map(Value::to_json_value).collect())
            }
            Value::Map(entries) | Value::Object(entries) => {
                J::Object(entries.iter().map(|(k, v)| (k.clone(), v.to_json_value())).collect())
            }
            Value::Dynamic(_, inner) => inner.to_json_value(),
        }
    }
}

fn number_to_json(n: &Number) -> serde_json::Value {
    if let Some(i) = n.to_i64() {
        return i.into();
    }
    if let Some(u) = n.to_u64() {
        return u.into();
    }
    let f = n.to_f64();
    // Use a JSON number when it reads back as the same decimal, a string otherwise.
    match (Number::try_from(f), serde_json::Number::from_f64(f)) {
        (Ok(back), Some(json)) if &back == n => serde_json::Value::Number(json),
        _ => serde_json::Value::String(n.to_string()),
    }
}

/// Structural equality, except that sets compare regardless of order and numbers compare by
/// value (`1 == 1.0`). A [`Value::Dynamic`] equals only another with the same type and value.
impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Value::Null, Value::Null) | (Value::Unknown, Value::Unknown) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Number(a), Value::Number(b)) => a == b,
            (Value::String(a), Value::String(b)) => a == b,
            (Value::List(a), Value::List(b)) | (Value::Tuple(a), Value::Tuple(b)) => a == b,
            (Value::Set(a), Value::Set(b)) => set::same_elements(a, b),
            (Value::Map(a), Value::Map(b)) | (Value::Object(a), Value::Object(b)) => a == b,
            (Value::Dynamic(ta, va), Value::Dynamic(tb, vb)) => ta == tb && va == vb,
            _ => false,
        }
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::String(v.to_owned())
    }
}

impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::String(v)
    }
}

impl From<&String> for Value {
    fn from(v: &String) -> Self {
        Value::String(v.clone())
    }
}

impl From<Number> for Value {
    fn from(v: Number) -> Self {
        Value::Number(v)
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Number(v.into())
    }
}

impl From<i32> for Value {
    fn from(v: i32) -> Self {
        Value::Number(v.into())
    }
}

impl From<u64> for Value {
    fn from(v: u64) -> Self {
        Value::Number(v.into())
    }
}

impl From<u32> for Value {
    fn from(v: u32) -> Self {
        Value::Number(v.into())
    }
}

/// A list.
impl From<Vec<Value>> for Value {
    fn from(v: Vec<Value>) -> Self {
        Value::List(v)
    }
}

/// `None` is null.
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}
