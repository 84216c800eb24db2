//! Property tests: codec round trips over arbitrary (type, value) pairs, and number laws.

use std::collections::BTreeMap;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

use proptest::prelude::*;

use crate::value::{Number, Type, Value, json, msgpack};

fn arb_type() -> impl Strategy<Value = Type> {
    let leaf = prop_oneof![Just(Type::Bool), Just(Type::Number), Just(Type::String), Just(Type::Dynamic)];
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            inner.clone().prop_map(Type::list),
            inner.clone().prop_map(Type::set),
            inner.clone().prop_map(Type::map),
            prop::collection::btree_map("[a-z_]{1,6}", inner.clone(), 0..4).prop_map(Type::Object),
            prop::collection::vec(inner, 0..4).prop_map(Type::Tuple),
        ]
    })
}

fn arb_number() -> impl Strategy<Value = Number> {
    prop_oneof![
        any::<i64>().prop_map(Number::from),
        any::<u64>().prop_map(Number::from),
        any::<f64>().prop_filter_map("finite", Number::from_f64_exact),
        any::<f64>().prop_filter_map("finite", |f| Number::try_from(f).ok()),
        ("-?[0-9]{1,40}(\\.[0-9]{1,30})?", -60i64..60).prop_map(|(digits, exp)| {
            format!("{digits}e{exp}").parse::<Number>().expect("generated decimal")
        }),
    ]
}

/// Values of type `ty`, shaped as the decoders produce them.
fn arb_value(ty: &Type, unknowns: bool) -> BoxedStrategy<Value> {
    let known = arb_known(ty, unknowns);
    if unknowns {
        prop_oneof![1 => Just(Value::Null), 1 => Just(Value::Unknown), 6 => known].boxed()
    } else {
        prop_oneof![1 => Just(Value::Null), 6 => known].boxed()
    }
}

fn arb_known(ty: &Type, unknowns: bool) -> BoxedStrategy<Value> {
    match ty {
        Type::Bool => any::<bool>().prop_map(Value::Bool).boxed(),
        Type::Number => arb_number().prop_map(Value::Number).boxed(),
        Type::String => any::<String>().prop_map(Value::String).boxed(),
        Type::Dynamic => {
            // Decoders always keep a dynamic value's concrete type in the wrapper.
            arb_shallow_type().prop_flat_map(move |t| arb_wrapped(t, unknowns)).boxed()
        }
        Type::List(ety) => arb_elements(ety, unknowns).prop_map(Value::List).boxed(),
        Type::Set(ety) => arb_elements(ety, unknowns).prop_map(Value::set).boxed(),
        Type::Tuple(etys) => {
            let parts: Vec<_> = etys.iter().map(|t| arb_value(t, unknowns)).collect();
            parts.prop_map(Value::Tuple).boxed()
        }
        Type::Map(ety) => arb_elements(ety, unknowns)
            .prop_flat_map(|items| {
                let len = items.len();
                (prop::collection::btree_set(any::<String>(), len..=len), Just(items))
            })
            .prop_map(|(keys, items)| Value::Map(keys.into_iter().zip(items).collect()))
            .boxed(),
        Type::Object(atys) => {
            let parts: Vec<_> =
                atys.iter().map(|(k, t)| (Just(k.clone()), arb_value(t, unknowns)).boxed()).collect();
            parts.prop_map(|pairs| Value::Object(pairs.into_iter().collect::<BTreeMap<_, _>>())).boxed()
        }
    }
}

fn arb_shallow_type() -> impl Strategy<Value = Type> {
    let leafy = prop_oneof![Just(Type::Bool), Just(Type::Number), Just(Type::String), Just(Type::Dynamic)];
    prop_oneof![leafy.clone(), leafy.clone().prop_map(Type::list), leafy.prop_map(Type::map)]
}

fn arb_wrapped(t: Type, unknowns: bool) -> BoxedStrategy<Value> {
    arb_value(&t, unknowns).prop_map(move |v| Value::dynamic(t.clone(), v)).boxed()
}

/// Elements of a collection. A cty collection has one element type, so in a collection of
/// `any` every wrapped element shares one concrete type (nulls and unknowns stay bare).
fn arb_elements(ety: &Type, unknowns: bool) -> BoxedStrategy<Vec<Value>> {
    if let Type::Dynamic = ety {
        arb_shallow_type()
            .prop_flat_map(move |t| {
                let element = if unknowns {
                    prop_oneof![1 => Just(Value::Null), 1 => Just(Value::Unknown), 4 => arb_wrapped(t, true)]
                        .boxed()
                } else {
                    prop_oneof![1 => Just(Value::Null), 4 => arb_wrapped(t, false)].boxed()
                };
                prop::collection::vec(element, 0..4)
            })
            .boxed()
    } else {
        prop::collection::vec(arb_value(ety, unknowns), 0..4).boxed()
    }
}

fn typed_value(unknowns: bool) -> impl Strategy<Value = (Type, Value)> {
    arb_type().prop_flat_map(move |t| (Just(t.clone()), arb_value(&t, unknowns)))
}

/// Like [`typed_value`] without dynamic positions, whose `{"value","type"}` wrapper an implied
/// type reads back as an ordinary object (with its keys in the other order).
fn static_typed_value() -> impl Strategy<Value = (Type, Value)> {
    arb_type()
        .prop_filter("no dynamic positions", |t| !t.contains_dynamic())
        .prop_flat_map(|t| (Just(t.clone()), arb_value(&t, false)))
}

fn hash_of(n: &Number) -> u64 {
    let mut h = DefaultHasher::new();
    n.hash(&mut h);
    h.finish()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn msgpack_round_trips((ty, v) in typed_value(true)) {
        let bytes = msgpack::encode(&v, &ty).expect("generated values encode");
        let back = msgpack::decode(&bytes, &ty).expect("encoded values decode");
        prop_assert_eq!(&back, &v);
        // And the re-encoding is byte-identical.
        prop_assert_eq!(msgpack::encode(&back, &ty).expect("re-encode"), bytes);
    }

    #[test]
    fn json_round_trips((ty, v) in typed_value(false)) {
        let bytes = json::encode(&v, &ty).expect("generated values encode");
        let back = json::decode(&bytes, &ty).expect("encoded values decode");
        prop_assert_eq!(&back, &v);
        prop_assert_eq!(json::encode(&back, &ty).expect("re-encode"), bytes);
    }

    #[test]
    fn decoded_values_already_conform((ty, v) in typed_value(true)) {
        prop_assert_eq!(v.clone().conform(&ty).expect("generated values conform"), v);
    }

    #[test]
    fn untyped_json_reencodes_with_its_implied_type((ty, v) in static_typed_value()) {
        let bytes = json::encode(&v, &ty).expect("encodes");
        let (implied_value, implied_type) = json::decode_untyped(&bytes).expect("valid JSON");
        prop_assert_eq!(json::encode(&implied_value, &implied_type).expect("re-encodes"), bytes);
    }

    #[test]
    fn number_text_round_trips(n in arb_number()) {
        let text = n.to_string();
        let back: Number = text.parse().expect("display parses");
        prop_assert_eq!(&back, &n);
        prop_assert_eq!(hash_of(&back), hash_of(&n));
    }

    #[test]
    fn notation_does_not_change_the_value(digits in "[1-9][0-9]{0,20}", exp in -40i64..40, pad in 0usize..5) {
        let plain: Number = format!("{digits}e{exp}").parse().expect("decimal");
        let padded: Number = format!("{digits}{}e{}", "0".repeat(pad), exp - pad as i64).parse().expect("decimal");
        prop_assert_eq!(&plain, &padded);
        prop_assert_eq!(hash_of(&plain), hash_of(&padded));
        prop_assert_eq!(plain.cmp(&padded), std::cmp::Ordering::Equal);
    }

    #[test]
    fn ordering_agrees_with_f64(a in any::<f64>(), b in any::<f64>()) {
        prop_assume!(a.is_finite() && b.is_finite());
        let (exact_a, exact_b) = (Number::from_f64_exact(a).expect("finite"), Number::from_f64_exact(b).expect("finite"));
        prop_assert_eq!(Some(exact_a.cmp(&exact_b)), a.partial_cmp(&b));
        let (short_a, short_b) = (Number::try_from(a).expect("finite"), Number::try_from(b).expect("finite"));
        prop_assert_eq!(Some(short_a.cmp(&short_b)), a.partial_cmp(&b));
        prop_assert_eq!(exact_a.to_f64(), a + 0.0);
        prop_assert_eq!(short_a.to_f64(), a + 0.0);
        prop_assert_eq!(exact_a.to_f64_exact(), Some(a + 0.0));
    }

    #[test]
    fn integers_round_trip(i in any::<i64>(), u in any::<u64>()) {
        prop_assert_eq!(Number::from(i).to_i64(), Some(i));
        prop_assert_eq!(Number::from(i).to_string(), i.to_string());
        prop_assert_eq!(Number::from(u).to_u64(), Some(u));
        prop_assert_eq!(Number::from(i).cmp(&Number::from(u)), i128::from(i).cmp(&i128::from(u)));
    }
}
