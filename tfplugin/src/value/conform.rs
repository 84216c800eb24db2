//! Conformance: turning a loosely built value into a valid value of a given type.
//!
//! Values built by hand or through the serde bridge only know "sequence" and "mapping"; the
//! schema's type decides whether a sequence is a list, a set or a tuple and whether a mapping is a
//! map or an object. Primitive conversions are cty's (number or bool to string, string to number
//! or bool). Object attributes missing from the value become null; undeclared ones are an error.

use std::collections::BTreeMap;

use super::error::ValueError;
use super::{Type, Value};
use crate::path::{AttributePath, PathStep};

impl Value {
    /// Checks this value against `ty` and converts it to the exact shape of that type, so that the
    /// codecs and Terraform accept it. Sets are de-duplicated; values in dynamic positions are
    /// wrapped in [`Value::Dynamic`] with their inferred type. Errors carry the offending path.
    pub fn conform(self, ty: &Type) -> Result<Value, ValueError> {
        let mut path = AttributePath::root();
        conform(self, ty, &mut path)
    }
}

fn conform(v: Value, ty: &Type, path: &mut AttributePath) -> Result<Value, ValueError> {
    if matches!(v, Value::Null | Value::Unknown) {
        return Ok(v);
    }
    if let Type::Dynamic = ty {
        let (concrete, inner) = match v {
            Value::Dynamic(concrete, inner) => (*concrete, *inner),
            other => (other.infer_type(), other),
        };
        let inner = conform(inner, &concrete, path)?;
        return Ok(Value::dynamic(concrete, inner));
    }
    let kind = v.kind_name();
    let mismatch = |path: &AttributePath| ValueError::mismatch(path, ty, kind);
    match (v, ty) {
        (Value::Dynamic(_, inner), _) => conform(*inner, ty, path),
        (v @ Value::Bool(_), Type::Bool)
        | (v @ Value::Number(_), Type::Number)
        | (v @ Value::String(_), Type::String) => Ok(v),
        (Value::String(s), Type::Bool) => match s.as_str() {
            "true" | "1" => Ok(Value::Bool(true)),
            "false" | "0" => Ok(Value::Bool(false)),
            _ => Err(ValueError::mismatch(path, ty, format!("string {s:?}"))),
        },
        (Value::String(s), Type::Number) => match s.parse() {
            Ok(n) => Ok(Value::Number(n)),
            Err(_) => Err(ValueError::mismatch(path, ty, format!("string {s:?}"))),
        },
        (Value::Number(n), Type::String) => Ok(Value::String(n.to_string())),
        (Value::Bool(b), Type::String) => Ok(Value::String(b.to_string())),
        (Value::List(items) | Value::Set(items) | Value::Tuple(items), Type::List(ety)) => {
            let items = conform_items(items, |_| ety, path)?;
            one_element_type(ty, items.iter(), path)?;
            Ok(Value::List(items))
        }
        (Value::List(items) | Value::Set(items) | Value::Tuple(items), Type::Set(ety)) => {
            let items = super::set::dedup(conform_items(items, |_| ety, path)?);
            one_element_type(ty, items.iter(), path)?;
            Ok(Value::Set(items))
        }
        (Value::List(items) | Value::Set(items) | Value::Tuple(items), Type::Tuple(etys)) => {
            if items.len() != etys.len() {
                return Err(ValueError::TupleLength {
                    path: path.clone(),
                    expected: etys.len(),
                    found: items.len(),
                });
            }
            conform_items(items, |i| &etys[i], path).map(Value::Tuple)
        }
        (Value::Map(entries) | Value::Object(entries), Type::Map(ety)) => {
            let mut out = BTreeMap::new();
            for (key, item) in entries {
                path.push(PathStep::ElementKeyString(key.clone()));
                let item = conform(item, ety, path)?;
                path.pop();
                out.insert(key, item);
            }
            one_element_type(ty, out.values(), path)?;
            Ok(Value::Map(out))
        }
        (Value::Map(mut entries) | Value::Object(mut entries), Type::Object(atys)) => {
            if let Some(name) = entries.keys().find(|k| !atys.contains_key(*k)) {
                return Err(ValueError::UnsupportedAttribute { path: path.clone(), name: name.clone() });
            }
            let mut out = BTreeMap::new();
            for (name, aty) in atys {
                let item = entries.remove(name).unwrap_or(Value::Null);
                path.push(PathStep::Attribute(name.clone()));
                let item = conform(item, aty, path)?;
                path.pop();
                out.insert(name.clone(), item);
            }
            Ok(Value::Object(out))
        }
        _ => Err(mismatch(path)),
    }
}

fn conform_items<'t>(
    items: Vec<Value>,
    ety_at: impl Fn(usize) -> &'t Type,
    path: &mut AttributePath,
) -> Result<Vec<Value>, ValueError> {
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        path.push(PathStep::ElementKeyInt(i as i64));
        out.push(conform(item, ety_at(i), path)?);
        path.pop();
    }
    Ok(out)
}

/// A cty collection holds elements of one type, so the elements of a `list(any)`, `set(any)` or
/// `map(any)` must all carry the same concrete type (Terraform fails hard on mixed ones).
fn one_element_type<'v>(
    ty: &Type,
    elements: impl Iterator<Item = &'v Value>,
    path: &AttributePath,
) -> Result<(), ValueError> {
    if ty.element_type() != Some(&Type::Dynamic) {
        return Ok(());
    }
    let mut first: Option<&Type> = None;
    for element in elements {
        let Value::Dynamic(concrete, _) = element else {
            continue; // null or unknown: any type
        };
        match first {
            None => first = Some(concrete),
            Some(seen) if seen == concrete.as_ref() => {}
            Some(seen) => {
                return Err(ValueError::custom(
                    path.clone(),
                    format!("all elements of a {ty} must have one type, but found {seen} and {concrete}"),
                ));
            }
        }
    }
    Ok(())
}
