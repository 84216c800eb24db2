//! Conformance of loosely built values to a type.

use super::num;
use crate::path::AttributePath;
use crate::value::{Type, Value, ValueError};

fn node_pool() -> Type {
    Type::object([
        ("name", Type::String),
        ("replicas", Type::Number),
        ("zones", Type::set(Type::String)),
        ("labels", Type::map(Type::String)),
        ("nodes", Type::list(Type::object([("address", Type::String), ("gpu", Type::Bool)]))),
        ("pair", Type::tuple([Type::String, Type::Number])),
        ("extra", Type::Dynamic),
    ])
}

#[test]
fn shapes_follow_the_type() {
    let loose = Value::object([
        ("name", "pool".into()),
        ("replicas", "3".into()),
        ("zones", Value::list(["a".into(), "b".into(), "a".into()])),
        ("labels", Value::object([("env", "dev".into())])),
        ("nodes", Value::list([Value::map([("address", "10.0.0.1".into())])])),
        ("pair", Value::list(["x".into(), 1.into()])),
        ("extra", Value::list([1.into(), "two".into()])),
    ]);
    let v = loose.conform(&node_pool()).expect("conforms");
    assert_eq!(
        v,
        Value::object([
            ("name", "pool".into()),
            ("replicas", 3.into()),
            ("zones", Value::Set(vec!["a".into(), "b".into()])),
            ("labels", Value::Map([("env".to_owned(), "dev".into())].into())),
            ("nodes", Value::list([Value::object([("address", "10.0.0.1".into()), ("gpu", Value::Null)])])),
            ("pair", Value::tuple(["x".into(), 1.into()])),
            (
                "extra",
                Value::dynamic(
                    Type::tuple([Type::Number, Type::String]),
                    Value::tuple([1.into(), "two".into()])
                )
            ),
        ])
    );
    // The result is what the codecs accept and reproduce.
    let bytes = crate::value::msgpack::encode(&v, &node_pool()).expect("encodes");
    assert_eq!(crate::value::msgpack::decode(&bytes, &node_pool()).expect("decodes"), v);
    // Conforming again changes nothing.
    assert_eq!(v.clone().conform(&node_pool()).expect("idempotent"), v);
}

#[test]
fn null_and_unknown_fit_anything() {
    for ty in [Type::String, node_pool(), Type::Dynamic, Type::set(Type::Number)] {
        assert_eq!(Value::Null.conform(&ty).expect("null"), Value::Null);
        assert_eq!(Value::Unknown.conform(&ty).expect("unknown"), Value::Unknown);
    }
}

#[test]
fn primitive_conversions_are_ctys() {
    assert_eq!(Value::from(true).conform(&Type::String).expect("bool to string"), Value::from("true"));
    assert_eq!(
        Value::Number(num("1.50")).conform(&Type::String).expect("number to string"),
        Value::from("1.5")
    );
    assert_eq!(Value::from("false").conform(&Type::Bool).expect("string to bool"), Value::from(false));
    assert_eq!(Value::from("1e3").conform(&Type::Number).expect("string to number"), Value::from(1000));
    assert!(Value::from("maybe").conform(&Type::Bool).is_err());
    assert!(Value::from(1).conform(&Type::Bool).is_err());
    assert!(Value::list([]).conform(&Type::String).is_err());
}

#[test]
fn dynamic_wrappers_are_kept_or_stripped_by_position() {
    let wrapped = Value::dynamic(Type::list(Type::String), Value::list(["a".into()]));
    assert_eq!(wrapped.clone().conform(&Type::Dynamic).expect("kept"), wrapped);
    assert_eq!(wrapped.conform(&Type::set(Type::String)).expect("stripped"), Value::set(["a".into()]));
    assert_eq!(
        Value::from(1).conform(&Type::Dynamic).expect("wrapped"),
        Value::dynamic(Type::Number, 1.into())
    );
}

#[test]
fn errors_carry_the_path() {
    let bad = Value::object([(
        "nodes",
        Value::list([Value::object([("address", "a".into()), ("cpu", 4.into())])]),
    )]);
    let err = bad.conform(&node_pool()).expect_err("undeclared cpu");
    assert_eq!(
        err,
        ValueError::UnsupportedAttribute {
            path: AttributePath::root().attr("nodes").index(0),
            name: "cpu".into()
        }
    );
    assert_eq!(err.to_string(), "nodes[0]: unsupported attribute \"cpu\"");

    let bad = Value::object([("labels", Value::map([("env", Value::list([]))]))]);
    let err = bad.conform(&node_pool()).expect_err("list in a string map");
    assert_eq!(err.path(), &AttributePath::root().attr("labels").key("env"));
    assert_eq!(err.to_string(), "labels[\"env\"]: string required, but have list");

    let bad = Value::object([("pair", Value::list(["x".into()]))]);
    let err = bad.conform(&node_pool()).expect_err("short tuple");
    assert!(matches!(err, ValueError::TupleLength { expected: 2, found: 1, .. }));
    assert_eq!(err.path(), &AttributePath::root().attr("pair"));
}

#[test]
fn collections_of_any_need_one_element_type() {
    let ok =
        Value::list([1.into(), Value::Null, 2.into()]).conform(&Type::list(Type::Dynamic)).expect("one type");
    assert_eq!(
        ok,
        Value::list([
            Value::dynamic(Type::Number, 1.into()),
            Value::Null,
            Value::dynamic(Type::Number, 2.into())
        ])
    );
    let err = Value::object([("m", Value::map([("a", 1.into()), ("b", "x".into())]))])
        .conform(&Type::object([("m", Type::map(Type::Dynamic))]))
        .expect_err("mixed map(any)");
    assert_eq!(err.path(), &AttributePath::root().attr("m"));
    assert_eq!(err.message(), "all elements of a map(any) must have one type, but found number and string");
    assert!(Value::set([1.into(), true.into()]).conform(&Type::set(Type::Dynamic)).is_err());
}
