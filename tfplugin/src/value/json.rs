//! The JSON codec: Terraform's `RawState.json` in UpgradeResourceState, and JSON `DynamicValue`s.
//!
//! The rules follow go-cty's `cty/json` package:
//! - null is `null`; unknown values cannot be written (Terraform never puts them in JSON).
//! - numbers are written in plain decimal (`big.Float.Text('f', -1)`) and read exactly; a JSON
//!   string is also accepted for a number or bool, and a number or bool for a string, as cty's
//!   conversions allow.
//! - an object must not carry undeclared attributes; missing ones read as null.
//! - a value in a dynamically typed position is `{"value": ..., "type": <type JSON>}`, except an
//!   untyped null, which is written bare.
//!
//! [`decode_untyped`] reads JSON without a type, implying one as cty's `ImpliedType` does.

use std::collections::BTreeMap;

use super::error::ValueError;
use super::json_syntax::{self, Json, write_json_string};
use super::{Number, Type, Value};
use crate::path::{AttributePath, PathStep};

/// Encodes `v` as JSON for type `ty`. Unknown values are an error; shapes are accepted as for
/// [`super::msgpack::encode`].
pub fn encode(v: &Value, ty: &Type) -> Result<Vec<u8>, ValueError> {
    let mut enc = Encoder { out: Vec::new(), path: AttributePath::root() };
    enc.value(v, ty)?;
    Ok(enc.out)
}

/// Decodes JSON as a value of type `ty`.
pub fn decode(bytes: &[u8], ty: &Type) -> Result<Value, ValueError> {
    let json = json_syntax::parse(bytes)?;
    let mut path = AttributePath::root();
    decode_value(&json, ty, &mut path)
}

/// Decodes JSON without a type, returning the value and the type it implies: objects are
/// objects, arrays are tuples, nulls are dynamically typed (cty's `ImpliedType`).
pub fn decode_untyped(bytes: &[u8]) -> Result<(Value, Type), ValueError> {
    let json = json_syntax::parse(bytes)?;
    let mut path = AttributePath::root();
    implied(&json, &mut path)
}

struct Encoder {
    out: Vec<u8>,
    path: AttributePath,
}

impl Encoder {
    fn value(&mut self, v: &Value, ty: &Type) -> Result<(), ValueError> {
        if let Type::Dynamic = ty {
            return match v {
                Value::Null => {
                    self.out.extend_from_slice(b"null");
                    Ok(())
                }
                Value::Unknown => Err(ValueError::NotKnown { path: self.path.clone() }),
                Value::Dynamic(inner_ty, inner) => self.dynamic(inner_ty, inner),
                other => self.dynamic(&other.infer_type(), other),
            };
        }
        match (v, ty) {
            (Value::Unknown, _) => Err(ValueError::NotKnown { path: self.path.clone() }),
            (Value::Null, _) => {
                self.out.extend_from_slice(b"null");
                Ok(())
            }
            (Value::Dynamic(_, inner), _) => self.value(inner, ty),
            (Value::Bool(b), Type::Bool) => {
                self.out.extend_from_slice(if *b { b"true" } else { b"false" });
                Ok(())
            }
            (Value::Number(n), Type::Number) => {
                self.out.extend_from_slice(n.to_string().as_bytes());
                Ok(())
            }
            (Value::String(s), Type::String) => {
                write_json_string(&mut self.out, s);
                Ok(())
            }
            (
                Value::List(items) | Value::Set(items) | Value::Tuple(items),
                Type::List(ety) | Type::Set(ety),
            ) => self.array(items, |_| ety),
            (Value::List(items) | Value::Set(items) | Value::Tuple(items), Type::Tuple(etys)) => {
                if items.len() != etys.len() {
                    return Err(ValueError::TupleLength {
                        path: self.path.clone(),
                        expected: etys.len(),
                        found: items.len(),
                    });
                }
                self.array(items, |i| &etys[i])
            }
            (Value::Map(entries) | Value::Object(entries), Type::Map(ety)) => {
                self.out.push(b'{');
                for (i, (key, item)) in entries.iter().enumerate() {
                    if i > 0 {
                        self.out.push(b',');
                    }
                    write_json_string(&mut self.out, key);
                    self.out.push(b':');
                    self.path.push(PathStep::ElementKeyString(key.clone()));
                    self.value(item, ety)?;
                    self.path.pop();
                }
                self.out.push(b'}');
                Ok(())
            }
            (Value::Map(entries) | Value::Object(entries), Type::Object(atys)) => {
                if let Some(name) = entries.keys().find(|k| !atys.contains_key(*k)) {
                    return Err(ValueError::UnsupportedAttribute {
                        path: self.path.clone(),
                        name: name.clone(),
                    });
                }
                self.out.push(b'{');
                for (i, (name, aty)) in atys.iter().enumerate() {
                    if i > 0 {
                        self.out.push(b',');
                    }
                    write_json_string(&mut self.out, name);
                    self.out.push(b':');
                    self.path.push(PathStep::Attribute(name.clone()));
                    self.value(entries.get(name).unwrap_or(&Value::Null), aty)?;
                    self.path.pop();
                }
                self.out.push(b'}');
                Ok(())
            }
            (other, _) => Err(ValueError::mismatch(&self.path, ty, other.kind_name())),
        }
    }

    fn array<'t>(&mut self, items: &[Value], ety_at: impl Fn(usize) -> &'t Type) -> Result<(), ValueError> {
        self.out.push(b'[');
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                self.out.push(b',');
            }
            self.path.push(PathStep::ElementKeyInt(i as i64));
            self.value(item, ety_at(i))?;
            self.path.pop();
        }
        self.out.push(b']');
        Ok(())
    }

    /// cty writes the value before the type; readers accept either order.
    fn dynamic(&mut self, ty: &Type, v: &Value) -> Result<(), ValueError> {
        self.out.extend_from_slice(b"{\"value\":");
        self.value(v, ty)?;
        self.out.extend_from_slice(b",\"type\":");
        self.out.extend_from_slice(&ty.to_json_bytes());
        self.out.push(b'}');
        Ok(())
    }
}

fn decode_value(json: &Json, ty: &Type, path: &mut AttributePath) -> Result<Value, ValueError> {
    if let Json::Null = json {
        return Ok(Value::Null);
    }
    let mismatch = |path: &AttributePath| ValueError::mismatch(path, ty, json.kind_name());
    match ty {
        Type::Dynamic => decode_dynamic(json, path),
        Type::Bool => match json {
            Json::Bool(b) => Ok(Value::Bool(*b)),
            // cty's string-to-bool conversion.
            Json::String(s) => match s.as_str() {
                "true" | "1" => Ok(Value::Bool(true)),
                "false" | "0" => Ok(Value::Bool(false)),
                _ => Err(ValueError::mismatch(path, ty, format!("string {s:?}"))),
            },
            _ => Err(mismatch(path)),
        },
        Type::Number => match json {
            Json::Number(text) => text.parse::<Number>().map(Value::Number).map_err(|e| e.under(path)),
            Json::String(s) => s
                .parse::<Number>()
                .map(Value::Number)
                .map_err(|_| ValueError::mismatch(path, ty, format!("string {s:?}"))),
            _ => Err(mismatch(path)),
        },
        Type::String => match json {
            Json::String(s) => Ok(Value::String(s.clone())),
            Json::Number(text) => Ok(Value::String(text.clone())),
            Json::Bool(b) => Ok(Value::String(b.to_string())),
            _ => Err(mismatch(path)),
        },
        Type::List(ety) | Type::Set(ety) => {
            let Json::Array(items) = json else {
                return Err(mismatch(path));
            };
            let items = decode_items(items, |_| ety, path)?;
            Ok(if matches!(ty, Type::Set(_)) {
                Value::Set(super::set::dedup(items))
            } else {
                Value::List(items)
            })
        }
        Type::Tuple(etys) => {
            let Json::Array(items) = json else {
                return Err(mismatch(path));
            };
            if items.len() != etys.len() {
                return Err(ValueError::TupleLength {
                    path: path.clone(),
                    expected: etys.len(),
                    found: items.len(),
                });
            }
            decode_items(items, |i| &etys[i], path).map(Value::Tuple)
        }
        Type::Map(ety) => {
            let Json::Object(members) = json else {
                return Err(mismatch(path));
            };
            let mut entries = BTreeMap::new();
            for (key, item) in members {
                path.push(PathStep::ElementKeyString(key.clone()));
                let item = decode_value(item, ety, path)?;
                path.pop();
                entries.insert(key.clone(), item);
            }
            Ok(Value::Map(entries))
        }
        Type::Object(atys) => {
            let Json::Object(members) = json else {
                return Err(mismatch(path));
            };
            let mut attrs = BTreeMap::new();
            for (name, item) in members {
                let Some(aty) = atys.get(name) else {
                    return Err(ValueError::UnsupportedAttribute { path: path.clone(), name: name.clone() });
                };
                path.push(PathStep::Attribute(name.clone()));
                let item = decode_value(item, aty, path)?;
                path.pop();
                attrs.insert(name.clone(), item);
            }
            for name in atys.keys() {
                attrs.entry(name.clone()).or_insert(Value::Null);
            }
            Ok(Value::Object(attrs))
        }
    }
}

fn decode_items<'t>(
    items: &[Json],
    ety_at: impl Fn(usize) -> &'t Type,
    path: &mut AttributePath,
) -> Result<Vec<Value>, ValueError> {
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        path.push(PathStep::ElementKeyInt(i as i64));
        out.push(decode_value(item, ety_at(i), path)?);
        path.pop();
    }
    Ok(out)
}

fn decode_dynamic(json: &Json, path: &mut AttributePath) -> Result<Value, ValueError> {
    let Json::Object(members) = json else {
        return Err(ValueError::mismatch(path, "JSON object for dynamically-typed value", json.kind_name()));
    };
    let mut type_json = None;
    let mut value_json = None;
    for (key, member) in members {
        match key.as_str() {
            "type" => type_json = Some(member),
            "value" => value_json = Some(member),
            other => {
                return Err(ValueError::custom(
                    path.clone(),
                    format!("invalid key {other:?} in dynamically-typed value"),
                ));
            }
        }
    }
    let Some(type_json) = type_json else {
        return Err(ValueError::custom(path.clone(), "missing type in dynamically-typed value"));
    };
    let Some(value_json) = value_json else {
        return Err(ValueError::custom(path.clone(), "missing value in dynamically-typed value"));
    };
    let ty = Type::from_json(&type_json.to_serde()).map_err(|e| e.under(path))?;
    let value = decode_value(value_json, &ty, path)?;
    Ok(Value::dynamic(ty, value))
}

fn implied(json: &Json, path: &mut AttributePath) -> Result<(Value, Type), ValueError> {
    Ok(match json {
        Json::Null => (Value::Null, Type::Dynamic),
        Json::Bool(b) => (Value::Bool(*b), Type::Bool),
        Json::Number(text) => {
            (Value::Number(text.parse().map_err(|e: ValueError| e.under(path))?), Type::Number)
        }
        Json::String(s) => (Value::String(s.clone()), Type::String),
        Json::Array(items) => {
            let mut values = Vec::with_capacity(items.len());
            let mut types = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                path.push(PathStep::ElementKeyInt(i as i64));
                let (v, t) = implied(item, path)?;
                path.pop();
                values.push(v);
                types.push(t);
            }
            (Value::Tuple(values), Type::Tuple(types))
        }
        Json::Object(members) => {
            let mut values = BTreeMap::new();
            let mut types = BTreeMap::new();
            for (name, item) in members {
                path.push(PathStep::Attribute(name.clone()));
                let (v, t) = implied(item, path)?;
                path.pop();
                values.insert(name.clone(), v);
                types.insert(name.clone(), t);
            }
            (Value::Object(values), Type::Object(types))
        }
    })
}
