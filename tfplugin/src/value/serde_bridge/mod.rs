//! Typed state structs: a serde bridge between Rust types and [`Value`]s.
//!
//! Resources describe their state as ordinary `#[derive(Serialize, Deserialize)]` structs and
//! convert with [`from_value`] and [`to_value`]:
//! - structs are objects, `Vec`s and sets are lists (then sets or tuples after
//!   [`Value::conform`]), string-keyed maps are maps, numbers are exact [`Number`](super::Number)s;
//! - `Option<T>` maps `None` to null; [`Tri<T>`] also keeps unknown, which a plain field refuses
//!   with "value is not yet known";
//! - unit enum variants are strings (`#[serde(rename_all = "lowercase")]` gives schema enums);
//! - a `Value` field takes whatever is there, unknowns and dynamic values included.
//!
//! `to_value` then `conform(schema type)` gives a value Terraform accepts. Errors carry the
//! attribute path.
//!
//! The bridge recognises `Number`, `Tri` and `Value` by private serde names, so the same types
//! still serialize naturally with other formats (serde_json prints unknown as null).

mod de;
mod impls;
mod ser;
mod tri;

use serde::Serialize;
use serde::de::DeserializeOwned;

pub use tri::Tri;

use super::{Value, ValueError};

/// Private newtype name by which [`super::Number`] reaches the bridge exactly.
pub(crate) const NUMBER_TOKEN: &str = "$tfplugin::private::Number";
/// Private newtype name of [`Tri`] on the deserializing side.
pub(crate) const TRI_TOKEN: &str = "$tfplugin::private::Tri";
/// Private unit-struct name standing for an unknown value (and enum tag for it on decode).
pub(crate) const UNKNOWN_TOKEN: &str = "$tfplugin::private::Unknown";
/// Private newtype name by which a [`Value`] field asks the bridge for the raw value.
pub(crate) const VALUE_TOKEN: &str = "$tfplugin::private::Value";
/// Private newtype names marking a serialized [`Value`]'s set, object and dynamic parts, so the
/// bridge rebuilds them exactly while other formats see a plain array, map or inner value.
pub(crate) const SET_TOKEN: &str = "$tfplugin::private::Set";
/// See [`SET_TOKEN`].
pub(crate) const OBJECT_TOKEN: &str = "$tfplugin::private::Object";
/// See [`SET_TOKEN`]; the type travels beside the value in [`dynamic_types`].
pub(crate) const DYNAMIC_TOKEN: &str = "$tfplugin::private::Dynamic";

/// The types of the dynamic values being serialized on this thread, innermost last.
///
/// serde's data model can carry only static names, so a [`Value::Dynamic`]'s type cannot travel
/// inside the serialization. Its `Serialize` pushes the type here just before emitting the
/// marked value and the bridge's serializer pops it on receipt; a foreign serializer ignores the
/// marker, and the pusher's guard then removes the unclaimed entry.
pub(crate) mod dynamic_types {
    use std::cell::RefCell;

    use crate::value::Type;

    thread_local! {
        static STACK: RefCell<Vec<Type>> = const { RefCell::new(Vec::new()) };
    }

    /// Restores the stack to its depth before the push when dropped (also on unwind).
    pub(crate) struct Pushed(usize);

    impl Drop for Pushed {
        fn drop(&mut self) {
            STACK.with(|s| s.borrow_mut().truncate(self.0));
        }
    }

    /// Offers `ty` to the serializer about to receive the dynamic marker.
    pub(crate) fn push(ty: Type) -> Pushed {
        STACK.with(|s| {
            let mut stack = s.borrow_mut();
            let depth = stack.len();
            stack.push(ty);
            Pushed(depth)
        })
    }

    /// Claims the type offered for the marker being received.
    pub(crate) fn pop() -> Option<Type> {
        STACK.with(|s| s.borrow_mut().pop())
    }
}

/// Builds a `T` from a value (typically an object decoded against the schema's type).
pub fn from_value<T: DeserializeOwned>(v: &Value) -> Result<T, ValueError> {
    T::deserialize(de::ValueDeserializer::new(v))
}

/// Turns a `T` into a value; follow with [`Value::conform`] to give it the schema's exact type.
pub fn to_value<T: Serialize + ?Sized>(t: &T) -> Result<Value, ValueError> {
    t.serialize(ser::ValueSerializer)
}
