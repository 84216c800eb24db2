//! Type inference for values placed in dynamically typed positions.
//!
//! A value in a `Type::Dynamic` position must travel with a concrete type. When the caller built
//! the value without a [`Value::Dynamic`] wrapper, the type is inferred here the way HCL types a
//! literal: lists and maps whose elements share a type keep their kind, otherwise a list becomes a
//! tuple and a map an object (a cty list may not mix element types). Nulls and unknowns fit any
//! element type.

use std::collections::BTreeMap;

use super::{Type, Value};

impl Value {
    /// The type this value would have as a cty value: the wrapper's type for [`Value::Dynamic`],
    /// `Type::Dynamic` for a bare null or unknown, otherwise inferred from the contents.
    pub fn infer_type(&self) -> Type {
        match self {
            Value::Null | Value::Unknown => Type::Dynamic,
            Value::Bool(_) => Type::Bool,
            Value::Number(_) => Type::Number,
            Value::String(_) => Type::String,
            Value::Dynamic(ty, _) => (**ty).clone(),
            Value::Object(attrs) => {
                Type::Object(attrs.iter().map(|(k, v)| (k.clone(), v.infer_type())).collect())
            }
            Value::Tuple(items) => Type::Tuple(items.iter().map(Value::infer_type).collect()),
            Value::List(items) => match unify_all(items.iter()) {
                Some(ty) => Type::list(ty),
                None => Type::Tuple(items.iter().map(Value::infer_type).collect()),
            },
            // A set has no heterogeneous counterpart; dynamic elements each carry their type.
            Value::Set(items) => Type::set(unify_all(items.iter()).unwrap_or(Type::Dynamic)),
            Value::Map(entries) => match unify_all(entries.values()) {
                Some(ty) => Type::map(ty),
                None => Type::Object(entries.iter().map(|(k, v)| (k.clone(), v.infer_type())).collect()),
            },
        }
    }
}

/// The one type all the values fit, if there is one.
fn unify_all<'a>(values: impl Iterator<Item = &'a Value>) -> Option<Type> {
    values.map(Value::infer_type).try_fold(Type::Dynamic, |acc, ty| unify(&acc, &ty))
}

/// The most specific type both types fit, treating `Dynamic` (from a null) as fitting anything.
fn unify(a: &Type, b: &Type) -> Option<Type> {
    match (a, b) {
        _ if a == b => Some(a.clone()),
        (Type::Dynamic, other) | (other, Type::Dynamic) => Some(other.clone()),
        (Type::List(x), Type::List(y)) => Some(Type::list(unify(x, y)?)),
        (Type::Set(x), Type::Set(y)) => Some(Type::set(unify(x, y)?)),
        (Type::Map(x), Type::Map(y)) => Some(Type::map(unify(x, y)?)),
        (Type::Tuple(x), Type::Tuple(y)) if x.len() == y.len() => {
            Some(Type::Tuple(x.iter().zip(y).map(|(x, y)| unify(x, y)).collect::<Option<_>>()?))
        }
        (Type::Object(x), Type::Object(y)) if x.len() == y.len() && x.keys().eq(y.keys()) => {
            let attrs: Option<BTreeMap<String, Type>> =
                x.iter().zip(y.values()).map(|((k, x), y)| Some((k.clone(), unify(x, y)?))).collect();
            Some(Type::Object(attrs?))
        }
        _ => None,
    }
}
