//! Value accessors, equality, navigation, traversal and type inference.

use super::num;
use crate::path::AttributePath;
use crate::value::{Type, Value};

fn cluster() -> Value {
    Value::object([
        ("name", "prod".into()),
        (
            "control_plane",
            Value::list([
                Value::object([("zone", "AZ05".into()), ("address", Value::Unknown)]),
                Value::object([("zone", "AZ06".into()), ("address", "10.0.0.2".into())]),
            ]),
        ),
        ("labels", Value::map([("env", "prod".into())])),
        ("extra", Value::dynamic(Type::String, "x".into())),
    ])
}

#[test]
fn accessors_see_through_dynamic_wrappers() {
    let v = cluster();
    assert_eq!(v.get_attr("name").and_then(Value::as_str), Some("prod"));
    assert_eq!(v.get_attr("extra").and_then(Value::as_str), Some("x"));
    assert_eq!(v.get_attr("control_plane").and_then(Value::as_list).map(<[Value]>::len), Some(2));
    assert_eq!(v.get_attr("labels").and_then(Value::as_map).map(|m| m.len()), Some(1));
    assert_eq!(Value::from(true).as_bool(), Some(true));
    assert_eq!(Value::from(7).as_i64(), Some(7));
    assert_eq!(Value::Number(num("2.5")).as_number(), Some(&num("2.5")));
    assert_eq!(Value::from("x").as_bool(), None);
    assert!(Value::dynamic(Type::String, Value::Null).is_null());
    assert!(Value::dynamic(Type::String, Value::Unknown).is_unknown());
    assert!(Value::Null.is_known());
    assert_eq!(Value::from(None::<i64>), Value::Null);
    assert_eq!(Value::from(Some("a")), Value::from("a"));
    assert_eq!(v.strip_dynamic(), &v);
    assert_eq!(Value::dynamic(Type::Bool, true.into()).into_plain(), Value::Bool(true));
}

#[test]
fn wholly_known_is_deep() {
    let v = cluster();
    assert!(v.is_known());
    assert!(!v.is_wholly_known());
    assert!(Value::object([("a", Value::Null)]).is_wholly_known());
    assert!(!Value::dynamic(Type::list(Type::String), Value::list([Value::Unknown])).is_wholly_known());
}

#[test]
fn set_attr_builds_and_updates_objects() {
    let mut v = Value::Null;
    assert_eq!(v.set_attr("id", "abc").expect("null becomes an object"), None);
    assert_eq!(v.set_attr("id", "def").expect("object"), Some(Value::from("abc")));
    *v.get_attr_mut("id").expect("present") = Value::Unknown;
    assert_eq!(v, Value::object([("id", Value::Unknown)]));
    assert!(Value::from(1).set_attr("id", "x").is_err());
}

#[test]
fn equality_ignores_set_order_and_number_notation() {
    assert_eq!(Value::set([1.into(), 2.into()]), Value::set([2.into(), 1.into()]));
    assert_ne!(Value::list([1.into(), 2.into()]), Value::list([2.into(), 1.into()]));
    assert_ne!(Value::Set(vec![1.into(), 1.into()]), Value::Set(vec![1.into(), 2.into()]));
    assert_eq!(Value::Number(num("1.0")), Value::from(1));
    assert_ne!(Value::list([]), Value::set([]));
    assert_ne!(Value::Null, Value::Unknown);
    assert_ne!(Value::dynamic(Type::String, "a".into()), Value::from("a"));
    assert_eq!(Value::set(["a".into(), "a".into(), "b".into()]).as_list().map(<[Value]>::len), Some(2));
}

#[test]
fn large_primitive_sets_stay_fast_and_correct() {
    let set = Value::set((0..50_000).map(|i| Value::from(i % 25_000)));
    let items = set.as_list().expect("a set");
    assert_eq!(items.len(), 25_000);
    assert_eq!(items[..3], [0.into(), 1.into(), 2.into()]);
    let reversed = Value::Set(items.iter().rev().cloned().collect());
    assert_eq!(set, reversed);
    let mut shifted: Vec<Value> = items.to_vec();
    shifted[0] = Value::from(-1);
    assert_ne!(set, Value::Set(shifted));
    let mixed = Value::set([Value::Number(num("1.0")), 1.into(), Value::Null, Value::Null, "1".into()]);
    assert_eq!(mixed.as_list().map(<[Value]>::len), Some(3));
}

#[test]
fn path_get_follows_terraform_steps() {
    let mut v = cluster();
    let zone = AttributePath::root().attr("control_plane").index(1).attr("zone");
    assert_eq!(v.path_get(&zone), Some(&Value::from("AZ06")));
    assert_eq!(v.path_get(&AttributePath::root().attr("labels").key("env")), Some(&Value::from("prod")));
    assert_eq!(v.path_get(&AttributePath::root()), Some(&v));
    assert_eq!(v.path_get(&AttributePath::root().attr("labels").attr("env")), None);
    assert_eq!(v.path_get(&AttributePath::root().attr("control_plane").index(-1)), None);
    assert_eq!(v.path_get(&AttributePath::root().attr("control_plane").index(2)), None);
    *v.path_get_mut(&zone).expect("present") = "AZ07".into();
    assert_eq!(v.path_get(&zone), Some(&Value::from("AZ07")));
}

#[test]
fn walk_visits_parents_first_and_can_skip() {
    let v = cluster();
    let mut seen = Vec::new();
    v.walk(|path, _| {
        seen.push(path.to_string());
        path.to_string() != "labels"
    });
    assert_eq!(
        seen,
        [
            "",
            "control_plane",
            "control_plane[0]",
            "control_plane[0].address",
            "control_plane[0].zone",
            "control_plane[1]",
            "control_plane[1].address",
            "control_plane[1].zone",
            "extra",
            "labels",
            "name",
        ]
    );
    let mut unknowns = Vec::new();
    v.walk(|path, value| {
        if value.is_unknown() {
            unknowns.push(path.clone());
        }
        true
    });
    assert_eq!(unknowns, [AttributePath::root().attr("control_plane").index(0).attr("address")]);
}

#[test]
fn transform_rewrites_bottom_up() {
    let v = cluster().transform(|_, value| if value.is_unknown() { Value::from("pending") } else { value });
    assert!(v.is_wholly_known());
    assert_eq!(
        v.path_get(&AttributePath::root().attr("control_plane").index(0).attr("address")),
        Some(&"pending".into())
    );
    // Wrappers survive.
    assert_eq!(v.get_attr("extra"), Some(&Value::dynamic(Type::String, "x".into())));
}

#[test]
fn infer_type_follows_hcl_literals() {
    assert_eq!(Value::list([1.into(), 2.into()]).infer_type(), Type::list(Type::Number));
    assert_eq!(Value::list([1.into(), Value::Null]).infer_type(), Type::list(Type::Number));
    assert_eq!(Value::list([1.into(), "a".into()]).infer_type(), Type::tuple([Type::Number, Type::String]));
    assert_eq!(Value::list([]).infer_type(), Type::list(Type::Dynamic));
    assert_eq!(Value::map([("a", "x".into())]).infer_type(), Type::map(Type::String));
    assert_eq!(
        Value::map([("a", "x".into()), ("b", 1.into())]).infer_type(),
        Type::object([("a", Type::String), ("b", Type::Number)])
    );
    assert_eq!(Value::set([true.into()]).infer_type(), Type::set(Type::Bool));
    assert_eq!(
        Value::list([Value::object([("a", Value::Null)]), Value::object([("a", "s".into())])]).infer_type(),
        Type::list(Type::object([("a", Type::String)]))
    );
    assert_eq!(Value::Unknown.infer_type(), Type::Dynamic);
    assert_eq!(Value::dynamic(Type::set(Type::String), Value::Null).infer_type(), Type::set(Type::String));
}

#[test]
fn json_rendering_for_logs() {
    let v = Value::object([
        ("small", Value::Number(num("0.1"))),
        ("int", Value::from(u64::MAX)),
        ("huge", Value::Number(num("1e400"))),
        ("exact", Value::Number(num("0.1000000000000000055511151231257827021181583404541015625"))),
        ("unknown", Value::Unknown),
        ("set", Value::set(["a".into()])),
    ]);
    assert_eq!(
        v.to_json_value(),
        serde_json::json!({
            "small": 0.1,
            "int": u64::MAX,
            "huge": format!("1{}", "0".repeat(400)),
            "exact": "0.1000000000000000055511151231257827021181583404541015625",
            "unknown": null,
            "set": ["a"],
        })
    );
}
