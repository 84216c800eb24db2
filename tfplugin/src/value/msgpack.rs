//! The msgpack codec: how Terraform core sends and expects every `DynamicValue.msgpack`.
//!
//! The rules follow go-cty's `cty/msgpack` package:
//! - null is msgpack nil; an unknown is an extension value. We write cty's "wholly unknown" form
//!   (fixext1, type 0, one zero byte) and read *any* extension as unknown, which absorbs the
//!   refined unknowns (type 12) of newer Terraform versions.
//! - a number goes out as an integer when it fits `i64`, else as a float64 when that is exact,
//!   else as its decimal string; any of int, uint, float32, float64 and string are read.
//! - lists, sets and tuples are arrays; maps and objects are maps with string keys. An object
//!   must carry exactly its type's attributes.
//! - a value in a dynamically typed position is the array `[type JSON as bytes, value]`, except
//!   an untyped null or unknown, which is written bare.

use rmp::Marker;

use super::error::ValueError;
use super::{Number, Type, Value};
use crate::path::{AttributePath, PathStep};

/// cty's encoding of a wholly unknown value: fixext1, extension type 0, payload one zero byte.
const UNKNOWN: [u8; 3] = [0xd4, 0, 0];

/// Nesting deeper than this is refused on decode, so hostile input cannot overflow the stack.
const MAX_DEPTH: usize = 256;

/// Encodes `v` as a value of type `ty`.
///
/// Array-shaped values (list, set, tuple) are accepted for any array-shaped type and map-shaped
/// values (map, object) for any map-shaped type, since the type decides the wire form; a missing
/// object attribute is written as null. Anything else that does not fit `ty` is an error.
pub fn encode(v: &Value, ty: &Type) -> Result<Vec<u8>, ValueError> {
    let mut enc = Encoder { out: Vec::new(), path: AttributePath::root() };
    enc.value(v, ty)?;
    Ok(enc.out)
}

/// Decodes msgpack bytes as a value of type `ty`.
pub fn decode(bytes: &[u8], ty: &Type) -> Result<Value, ValueError> {
    let mut dec = Decoder { input: bytes, pos: 0, path: AttributePath::root(), depth: 0 };
    let value = dec.value(ty)?;
    if dec.pos != bytes.len() {
        return Err(dec.malformed(format!("{} trailing bytes after the value", bytes.len() - dec.pos)));
    }
    Ok(value)
}

struct Encoder {
    out: Vec<u8>,
    path: AttributePath,
}

impl Encoder {
    fn value(&mut self, v: &Value, ty: &Type) -> Result<(), ValueError> {
        if let Type::Dynamic = ty {
            return match v {
                Value::Null => self.nil(),
                Value::Unknown => {
                    self.out.extend_from_slice(&UNKNOWN);
                    Ok(())
                }
                Value::Dynamic(inner_ty, inner) => self.dynamic(inner_ty, inner),
                other => self.dynamic(&other.infer_type(), other),
            };
        }
        match (v, ty) {
            (Value::Unknown, _) => {
                self.out.extend_from_slice(&UNKNOWN);
                Ok(())
            }
            (Value::Null, _) => self.nil(),
            // The position's type rules; the wrapper only matters in dynamic positions.
            (Value::Dynamic(_, inner), _) => self.value(inner, ty),
            (Value::Bool(b), Type::Bool) => self.write(|out| rmp::encode::write_bool(out, *b)),
            (Value::Number(n), Type::Number) => self.number(n),
            (Value::String(s), Type::String) => self.string(s),
            (
                Value::List(items) | Value::Set(items) | Value::Tuple(items),
                Type::List(ety) | Type::Set(ety),
            ) => {
                self.array_len(items.len())?;
                for (i, item) in items.iter().enumerate() {
                    self.path.push(PathStep::ElementKeyInt(i as i64));
                    self.value(item, ety)?;
                    self.path.pop();
                }
                Ok(())
            }
            (Value::List(items) | Value::Set(items) | Value::Tuple(items), Type::Tuple(etys)) => {
                if items.len() != etys.len() {
                    return Err(ValueError::TupleLength {
                        path: self.path.clone(),
                        expected: etys.len(),
                        found: items.len(),
                    });
                }
                self.array_len(items.len())?;
                for (i, (item, ety)) in items.iter().zip(etys).enumerate() {
                    self.path.push(PathStep::ElementKeyInt(i as i64));
                    self.value(item, ety)?;
                    self.path.pop();
                }
                Ok(())
            }
            (Value::Map(entries) | Value::Object(entries), Type::Map(ety)) => {
                self.map_len(entries.len())?;
                for (key, item) in entries {
                    self.string(key)?;
                    self.path.push(PathStep::ElementKeyString(key.clone()));
                    self.value(item, ety)?;
                    self.path.pop();
                }
                Ok(())
            }
            (Value::Map(entries) | Value::Object(entries), Type::Object(atys)) => {
                if let Some(name) = entries.keys().find(|k| !atys.contains_key(*k)) {
                    return Err(ValueError::UnsupportedAttribute {
                        path: self.path.clone(),
                        name: name.clone(),
                    });
                }
                self.map_len(atys.len())?;
                for (name, aty) in atys {
                    self.string(name)?;
                    self.path.push(PathStep::Attribute(name.clone()));
                    self.value(entries.get(name).unwrap_or(&Value::Null), aty)?;
                    self.path.pop();
                }
                Ok(())
            }
            (other, _) => Err(ValueError::mismatch(&self.path, ty, other.kind_name())),
        }
    }

    fn dynamic(&mut self, ty: &Type, v: &Value) -> Result<(), ValueError> {
        self.array_len(2)?;
        let type_json = ty.to_json_bytes();
        self.write(|out| rmp::encode::write_bin(out, &type_json))?;
        self.value(v, ty)
    }

    fn number(&mut self, n: &Number) -> Result<(), ValueError> {
        if let Some(i) = n.to_i64() {
            // Like cty's compact encoder: the smallest int form, unsigned forms for i >= 0.
            return self.write(|out| rmp::encode::write_sint(out, i).map(drop));
        }
        if let Some(f) = n.to_f64_exact() {
            return self.write(|out| rmp::encode::write_f64(out, f));
        }
        self.string(&n.to_string())
    }

    fn string(&mut self, s: &str) -> Result<(), ValueError> {
        self.write(|out| rmp::encode::write_str(out, s))
    }

    fn nil(&mut self) -> Result<(), ValueError> {
        self.write(rmp::encode::write_nil)
    }

    fn array_len(&mut self, len: usize) -> Result<(), ValueError> {
        let len = self.len32(len)?;
        self.write(|out| rmp::encode::write_array_len(out, len).map(drop))
    }

    fn map_len(&mut self, len: usize) -> Result<(), ValueError> {
        let len = self.len32(len)?;
        self.write(|out| rmp::encode::write_map_len(out, len).map(drop))
    }

    fn len32(&self, len: usize) -> Result<u32, ValueError> {
        u32::try_from(len).map_err(|_| ValueError::Msgpack {
            path: self.path.clone(),
            message: format!("{len} elements is more than msgpack can hold"),
        })
    }

    /// Writes into a `Vec` cannot fail, but rmp's signatures are generic over writers.
    fn write<E: std::fmt::Display>(
        &mut self,
        f: impl FnOnce(&mut Vec<u8>) -> Result<(), E>,
    ) -> Result<(), ValueError> {
        f(&mut self.out).map_err(|e| ValueError::Msgpack { path: self.path.clone(), message: e.to_string() })
    }
}

struct Decoder<'a> {
    input: &'a [u8],
    pos: usize,
    path: AttributePath,
    depth: usize,
}

impl Decoder<'_> {
    fn value(&mut self, ty: &Type) -> Result<Value, ValueError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.malformed(format!("nesting deeper than {MAX_DEPTH} levels")));
        }
        let result = self.value_inner(ty);
        self.depth -= 1;
        result
    }

    fn value_inner(&mut self, ty: &Type) -> Result<Value, ValueError> {
        let marker = self.peek()?;
        if is_ext(marker) {
            self.skip_ext()?;
            return Ok(Value::Unknown);
        }
        if let Type::Dynamic = ty {
            return self.dynamic();
        }
        if marker == Marker::Null {
            self.pos += 1;
            return Ok(Value::Null);
        }
        match ty {
            Type::Bool => match marker {
                Marker::True | Marker::False => {
                    self.pos += 1;
                    Ok(Value::Bool(marker == Marker::True))
                }
                other => Err(self.mismatch(ty, other)),
            },
            Type::Number => self.number().map(Value::Number),
            Type::String => self.string(ty).map(Value::String),
            Type::List(ety) => {
                let len = self.array_len(ty)?;
                self.element_values(len, |_| ety).map(Value::List)
            }
            Type::Set(ety) => {
                let len = self.array_len(ty)?;
                // cty sets cannot hold duplicates; a sender's duplicates collapse as they would there.
                self.element_values(len, |_| ety).map(|items| Value::Set(super::set::dedup(items)))
            }
            Type::Tuple(etys) => {
                let len = self.array_len(ty)?;
                if len != etys.len() {
                    return Err(ValueError::TupleLength {
                        path: self.path.clone(),
                        expected: etys.len(),
                        found: len,
                    });
                }
                self.element_values(len, |i| &etys[i]).map(Value::Tuple)
            }
            Type::Map(ety) => {
                let len = self.map_len(ty)?;
                let mut entries = std::collections::BTreeMap::new();
                for _ in 0..len {
                    let key = self.string(&Type::String)?;
                    self.path.push(PathStep::ElementKeyString(key.clone()));
                    let item = self.value(ety)?;
                    self.path.pop();
                    entries.insert(key, item);
                }
                Ok(Value::Map(entries))
            }
            Type::Object(atys) => {
                let len = self.map_len(ty)?;
                if len != atys.len() {
                    return Err(ValueError::AttributeCount {
                        path: self.path.clone(),
                        expected: atys.len(),
                        found: len,
                    });
                }
                let mut attrs = std::collections::BTreeMap::new();
                for _ in 0..len {
                    let name = self.string(&Type::String)?;
                    let Some(aty) = atys.get(&name) else {
                        return Err(ValueError::UnsupportedAttribute { path: self.path.clone(), name });
                    };
                    self.path.push(PathStep::Attribute(name.clone()));
                    let item = self.value(aty)?;
                    self.path.pop();
                    if attrs.insert(name.clone(), item).is_some() {
                        return Err(self.malformed(format!("attribute {name:?} appears twice")));
                    }
                }
                Ok(Value::Object(attrs))
            }
            Type::Dynamic => self.dynamic(),
        }
    }

    fn dynamic(&mut self) -> Result<Value, ValueError> {
        if self.peek()? == Marker::Null {
            self.pos += 1;
            return Ok(Value::Null);
        }
        let len = self.array_len(&Type::Dynamic)?;
        if len != 2 {
            return Err(self.malformed("dynamic value array must have exactly two elements".into()));
        }
        let type_json = self.bytes(&Type::Dynamic)?;
        let ty = Type::from_json_bytes(type_json).map_err(|e| e.under(&self.path))?;
        let inner = self.value(&ty)?;
        Ok(Value::dynamic(ty, inner))
    }

    fn element_values<'t>(
        &mut self,
        len: usize,
        ety_at: impl Fn(usize) -> &'t Type,
    ) -> Result<Vec<Value>, ValueError> {
        // Every element takes at least one byte, which bounds a lying length prefix.
        let mut items = Vec::with_capacity(len.min(self.input.len() - self.pos));
        for i in 0..len {
            self.path.push(PathStep::ElementKeyInt(i as i64));
            items.push(self.value(ety_at(i))?);
            self.path.pop();
        }
        Ok(items)
    }

    fn number(&mut self) -> Result<Number, ValueError> {
        let marker = self.peek()?;
        self.pos += 1;
        let n = match marker {
            Marker::FixPos(v) => Number::from(u64::from(v)),
            Marker::FixNeg(v) => Number::from(i64::from(v)),
            Marker::U8 => Number::from(u64::from(self.take::<1>()?[0])),
            Marker::U16 => Number::from(u64::from(u16::from_be_bytes(self.take()?))),
            Marker::U32 => Number::from(u64::from(u32::from_be_bytes(self.take()?))),
            Marker::U64 => Number::from(u64::from_be_bytes(self.take()?)),
            Marker::I8 => Number::from(i64::from(i8::from_be_bytes(self.take()?))),
            Marker::I16 => Number::from(i64::from(i16::from_be_bytes(self.take()?))),
            Marker::I32 => Number::from(i64::from(i32::from_be_bytes(self.take()?))),
            Marker::I64 => Number::from(i64::from_be_bytes(self.take()?)),
            Marker::F32 => {
                let f = f64::from(f32::from_be_bytes(self.take()?));
                self.float(f)?
            }
            Marker::F64 => {
                let f = f64::from_be_bytes(self.take()?);
                self.float(f)?
            }
            Marker::FixStr(_) | Marker::Str8 | Marker::Str16 | Marker::Str32 => {
                self.pos -= 1;
                let text = self.string(&Type::Number)?;
                text.parse::<Number>().map_err(|e| e.under(&self.path))?
            }
            other => {
                self.pos -= 1;
                return Err(self.mismatch(&Type::Number, other));
            }
        };
        Ok(n)
    }

    fn float(&self, f: f64) -> Result<Number, ValueError> {
        // The wire float is the number itself, so keep its exact value, not a rounded decimal.
        Number::from_f64_exact(f).ok_or_else(|| ValueError::InvalidNumber {
            path: self.path.clone(),
            text: f.to_string(),
            reason: "infinities and NaN are not supported",
        })
    }

    fn string(&mut self, ty: &Type) -> Result<String, ValueError> {
        let bytes = self.bytes(ty)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| self.malformed("string is not valid UTF-8".into()))
    }

    /// A str or bin payload (cty's decoder takes either for both).
    fn bytes(&mut self, ty: &Type) -> Result<&[u8], ValueError> {
        let marker = self.peek()?;
        let len = match marker {
            Marker::FixStr(n) => {
                self.pos += 1;
                usize::from(n)
            }
            Marker::Str8 | Marker::Bin8 => {
                self.pos += 1;
                usize::from(self.take::<1>()?[0])
            }
            Marker::Str16 | Marker::Bin16 => {
                self.pos += 1;
                usize::from(u16::from_be_bytes(self.take()?))
            }
            Marker::Str32 | Marker::Bin32 => {
                self.pos += 1;
                u32::from_be_bytes(self.take()?) as usize
            }
            other => return Err(self.mismatch(ty, other)),
        };
        self.take_slice(len)
    }

    fn array_len(&mut self, ty: &Type) -> Result<usize, ValueError> {
        let marker = self.peek()?;
        self.pos += 1;
        Ok(match marker {
            Marker::FixArray(n) => usize::from(n),
            Marker::Array16 => usize::from(u16::from_be_bytes(self.take()?)),
            Marker::Array32 => u32::from_be_bytes(self.take()?) as usize,
            other => {
                self.pos -= 1;
                return Err(self.mismatch(ty, other));
            }
        })
    }

    fn map_len(&mut self, ty: &Type) -> Result<usize, ValueError> {
        let marker = self.peek()?;
        self.pos += 1;
        Ok(match marker {
            Marker::FixMap(n) => usize::from(n),
            Marker::Map16 => usize::from(u16::from_be_bytes(self.take()?)),
            Marker::Map32 => u32::from_be_bytes(self.take()?) as usize,
            other => {
                self.pos -= 1;
                return Err(self.mismatch(ty, other));
            }
        })
    }

    fn skip_ext(&mut self) -> Result<(), ValueError> {
        let marker = self.peek()?;
        self.pos += 1;
        let len = match marker {
            Marker::FixExt1 => 1,
            Marker::FixExt2 => 2,
            Marker::FixExt4 => 4,
            Marker::FixExt8 => 8,
            Marker::FixExt16 => 16,
            Marker::Ext8 => usize::from(self.take::<1>()?[0]),
            Marker::Ext16 => usize::from(u16::from_be_bytes(self.take()?)),
            Marker::Ext32 => u32::from_be_bytes(self.take()?) as usize,
            _ => return Err(self.malformed("expected an extension value".into())),
        };
        // The extension type byte, then the payload (refinements we do not use).
        self.take_slice(1 + len).map(drop)
    }

    fn peek(&self) -> Result<Marker, ValueError> {
        match self.input.get(self.pos) {
            Some(&b) => Ok(Marker::from_u8(b)),
            None => Err(self.malformed("unexpected end of input".into())),
        }
    }

    fn take<const N: usize>(&mut self) -> Result<[u8; N], ValueError> {
        let slice = self.take_slice(N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(slice);
        Ok(out)
    }

    fn take_slice(&mut self, len: usize) -> Result<&[u8], ValueError> {
        let end = self.pos.checked_add(len).filter(|&end| end <= self.input.len());
        let Some(end) = end else {
            return Err(self.malformed("unexpected end of input".into()));
        };
        let slice = &self.input[self.pos..end];
        self.pos = end;
        Ok(slice)
    }

    fn mismatch(&self, ty: &Type, marker: Marker) -> ValueError {
        ValueError::mismatch(&self.path, ty, format!("msgpack {}", marker_kind(marker)))
    }

    fn malformed(&self, message: String) -> ValueError {
        ValueError::Msgpack { path: self.path.clone(), message }
    }
}

fn is_ext(marker: Marker) -> bool {
    matches!(
        marker,
        Marker::FixExt1
            | Marker::FixExt2
            | Marker::FixExt4
            | Marker::FixExt8
            | Marker::FixExt16
            | Marker::Ext8
            | Marker::Ext16
            | Marker::Ext32
    )
}

fn marker_kind(marker: Marker) -> &'static str {
    match marker {
        Marker::Null => "nil",
        Marker::True | Marker::False => "bool",
        Marker::FixPos(_)
        | Marker::FixNeg(_)
        | Marker::U8
        | Marker::U16
        | Marker::U32
        | Marker::U64
        | Marker::I8
        | Marker::I16
        | Marker::I32
        | Marker::I64 => "integer",
        Marker::F32 | Marker::F64 => "float",
        Marker::FixStr(_) | Marker::Str8 | Marker::Str16 | Marker::Str32 => "string",
        Marker::Bin8 | Marker::Bin16 | Marker::Bin32 => "binary",
        Marker::FixArray(_) | Marker::Array16 | Marker::Array32 => "array",
        Marker::FixMap(_) | Marker::Map16 | Marker::Map32 => "map",
        Marker::Reserved => "reserved byte 0xc1",
        _ => "extension",
    }
}
