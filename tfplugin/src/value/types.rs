//! cty types: the shape a value is encoded and decoded against.
//!
//! Terraform describes every attribute type, and the type inside every dynamic value, with cty's
//! type JSON: `"string"`, `["list","number"]`, `["object",{"a":"bool"}]`, `["tuple",["string"]]`,
//! `"dynamic"`. [`Type::to_json_bytes`] writes that form byte for byte as cty does (attributes
//! sorted, no spaces).

use std::collections::BTreeMap;
use std::fmt;

use super::error::ValueError;
use crate::path::AttributePath;

/// A cty type.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Type {
    /// `true` / `false`.
    Bool,
    /// An arbitrary-precision number.
    Number,
    /// A Unicode string.
    String,
    /// Any type, decided per value (cty's `DynamicPseudoType`, HCL's `any`).
    Dynamic,
    /// An ordered sequence of elements of one type.
    List(Box<Type>),
    /// An unordered collection of distinct elements of one type.
    Set(Box<Type>),
    /// String keys to elements of one type.
    Map(Box<Type>),
    /// Named attributes, each with its own type.
    Object(BTreeMap<String, Type>),
    /// A fixed-length sequence with a type per position.
    Tuple(Vec<Type>),
}

impl Type {
    /// `list(element)`.
    pub fn list(element: Type) -> Type {
        Type::List(Box::new(element))
    }

    /// `set(element)`.
    pub fn set(element: Type) -> Type {
        Type::Set(Box::new(element))
    }

    /// `map(element)`.
    pub fn map(element: Type) -> Type {
        Type::Map(Box::new(element))
    }

    /// `object({name = type, ...})`.
    pub fn object<K: Into<String>>(attributes: impl IntoIterator<Item = (K, Type)>) -> Type {
        Type::Object(attributes.into_iter().map(|(k, t)| (k.into(), t)).collect())
    }

    /// `tuple([type, ...])`.
    pub fn tuple(elements: impl IntoIterator<Item = Type>) -> Type {
        Type::Tuple(elements.into_iter().collect())
    }

    /// Bool, number or string.
    pub fn is_primitive(&self) -> bool {
        matches!(self, Type::Bool | Type::Number | Type::String)
    }

    /// List, set or map.
    pub fn is_collection(&self) -> bool {
        matches!(self, Type::List(_) | Type::Set(_) | Type::Map(_))
    }

    /// Whether this is the dynamic pseudo-type itself.
    pub fn is_dynamic(&self) -> bool {
        matches!(self, Type::Dynamic)
    }

    /// Whether the dynamic pseudo-type appears anywhere in this type.
    pub fn contains_dynamic(&self) -> bool {
        match self {
            Type::Dynamic => true,
            Type::Bool | Type::Number | Type::String => false,
            Type::List(e) | Type::Set(e) | Type::Map(e) => e.contains_dynamic(),
            Type::Object(attrs) => attrs.values().any(Type::contains_dynamic),
            Type::Tuple(elems) => elems.iter().any(Type::contains_dynamic),
        }
    }

    /// The element type of a list, set or map.
    pub fn element_type(&self) -> Option<&Type> {
        match self {
            Type::List(e) | Type::Set(e) | Type::Map(e) => Some(e),
            _ => None,
        }
    }

    /// The type of an object's attribute.
    pub fn attribute_type(&self, name: &str) -> Option<&Type> {
        match self {
            Type::Object(attrs) => attrs.get(name),
            _ => None,
        }
    }

    /// cty's type JSON as a `serde_json::Value`.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Type::Bool => J::from("bool"),
            Type::Number => J::from("number"),
            Type::String => J::from("string"),
            Type::Dynamic => J::from("dynamic"),
            Type::List(e) => J::Array(vec![J::from("list"), e.to_json()]),
            Type::Set(e) => J::Array(vec![J::from("set"), e.to_json()]),
            Type::Map(e) => J::Array(vec![J::from("map"), e.to_json()]),
            Type::Object(attrs) => {
                let attrs = attrs.iter().map(|(k, t)| (k.clone(), t.to_json())).collect();
                J::Array(vec![J::from("object"), J::Object(attrs)])
            }
            Type::Tuple(elems) => J::Array(vec![J::from("tuple"), elems.iter().map(Type::to_json).collect()]),
        }
    }

    /// Reads cty's type JSON. An object type's optional-attribute list (a third element, used by
    /// type constraints only) is accepted and ignored.
    pub fn from_json(v: &serde_json::Value) -> Result<Type, ValueError> {
        use serde_json::Value as J;
        let invalid = |message: String| ValueError::InvalidType { path: AttributePath::root(), message };
        match v {
            J::String(name) => match name.as_str() {
                "bool" => Ok(Type::Bool),
                "number" => Ok(Type::Number),
                "string" => Ok(Type::String),
                "dynamic" => Ok(Type::Dynamic),
                other => Err(invalid(format!("invalid primitive type name {other:?}"))),
            },
            J::Array(parts) => {
                let Some(J::String(kind)) = parts.first() else {
                    return Err(invalid("invalid complex type kind name".into()));
                };
                let arg = parts.get(1).ok_or_else(|| invalid(format!("{kind} type without its argument")))?;
                let extra_ok = kind == "object" && parts.len() == 3 && parts[2].is_array();
                if parts.len() > 2 && !extra_ok {
                    return Err(invalid("unexpected extra data in type description".into()));
                }
                match kind.as_str() {
                    "list" => Ok(Type::list(Type::from_json(arg)?)),
                    "set" => Ok(Type::set(Type::from_json(arg)?)),
                    "map" => Ok(Type::map(Type::from_json(arg)?)),
                    "object" => {
                        let J::Object(attrs) = arg else {
                            return Err(invalid("object type attributes must be a JSON object".into()));
                        };
                        let attrs = attrs
                            .iter()
                            .map(|(k, t)| Ok((k.clone(), Type::from_json(t)?)))
                            .collect::<Result<_, ValueError>>()?;
                        Ok(Type::Object(attrs))
                    }
                    "tuple" => {
                        let J::Array(elems) = arg else {
                            return Err(invalid("tuple element types must be a JSON array".into()));
                        };
                        Ok(Type::Tuple(elems.iter().map(Type::from_json).collect::<Result<_, _>>()?))
                    }
                    other => Err(invalid(format!("invalid complex type kind name {other:?}"))),
                }
            }
            _ => Err(invalid("a type is a JSON string or array".into())),
        }
    }

    /// cty's type JSON as bytes, exactly as cty writes it.
    pub fn to_json_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write_json(&mut out);
        out
    }

    fn write_json(&self, out: &mut Vec<u8>) {
        match self {
            Type::Bool => out.extend_from_slice(b"\"bool\""),
            Type::Number => out.extend_from_slice(b"\"number\""),
            Type::String => out.extend_from_slice(b"\"string\""),
            Type::Dynamic => out.extend_from_slice(b"\"dynamic\""),
            Type::List(e) | Type::Set(e) | Type::Map(e) => {
                let kind: &[u8] = match self {
                    Type::List(_) => b"[\"list\",",
                    Type::Set(_) => b"[\"set\",",
                    _ => b"[\"map\",",
                };
                out.extend_from_slice(kind);
                e.write_json(out);
                out.push(b']');
            }
            Type::Object(attrs) => {
                out.extend_from_slice(b"[\"object\",{");
                for (i, (name, t)) in attrs.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    super::json_syntax::write_json_string(out, name);
                    out.push(b':');
                    t.write_json(out);
                }
                out.extend_from_slice(b"}]");
            }
            Type::Tuple(elems) => {
                out.extend_from_slice(b"[\"tuple\",[");
                for (i, t) in elems.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    t.write_json(out);
                }
                out.extend_from_slice(b"]]");
            }
        }
    }

    /// Reads cty's type JSON from bytes.
    pub fn from_json_bytes(b: &[u8]) -> Result<Type, ValueError> {
        let v: serde_json::Value = serde_json::from_slice(b)
            .map_err(|e| ValueError::InvalidType { path: AttributePath::root(), message: e.to_string() })?;
        Type::from_json(&v)
    }
}

/// HCL type-constraint notation: `list(string)`, `object({a=number, b=bool})`, `any`.
impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Type::Bool => f.write_str("bool"),
            Type::Number => f.write_str("number"),
            Type::String => f.write_str("string"),
            Type::Dynamic => f.write_str("any"),
            Type::List(e) => write!(f, "list({e})"),
            Type::Set(e) => write!(f, "set({e})"),
            Type::Map(e) => write!(f, "map({e})"),
            Type::Object(attrs) => {
                f.write_str("object({")?;
                for (i, (name, t)) in attrs.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{name}={t}")?;
                }
                f.write_str("})")
            }
            Type::Tuple(elems) => {
                f.write_str("tuple([")?;
                for (i, t) in elems.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{t}")?;
                }
                f.write_str("])")
            }
        }
    }
}

impl serde::Serialize for Type {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(serializer)
    }
}

impl<'de> serde::Deserialize<'de> for Type {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let json = serde_json::Value::deserialize(deserializer)?;
        Type::from_json(&json).map_err(serde::de::Error::custom)
    }
}
