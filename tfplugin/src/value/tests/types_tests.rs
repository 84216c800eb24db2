//! cty type JSON and the type helpers.

use crate::value::{Type, ValueError};

fn nested() -> Type {
    Type::object([
        ("name", Type::String),
        ("ports", Type::list(Type::Number)),
        ("tags", Type::set(Type::map(Type::String))),
        ("pair", Type::tuple([Type::Bool, Type::Dynamic])),
    ])
}

#[test]
fn type_json_is_byte_for_byte_cty() {
    assert_eq!(Type::String.to_json_bytes(), b"\"string\"");
    assert_eq!(Type::Dynamic.to_json_bytes(), b"\"dynamic\"");
    assert_eq!(
        String::from_utf8(nested().to_json_bytes()).expect("utf-8"),
        r#"["object",{"name":"string","pair":["tuple",["bool","dynamic"]],"ports":["list","number"],"tags":["set",["map","string"]]}]"#
    );
    assert_eq!(Type::object([("a\"b", Type::Bool)]).to_json_bytes(), br#"["object",{"a\"b":"bool"}]"#);
    assert_eq!(Type::tuple([]).to_json_bytes(), br#"["tuple",[]]"#);
    // The serde_json form says the same thing.
    assert_eq!(serde_json::to_vec(&nested().to_json()).expect("json"), nested().to_json_bytes());
}

#[test]
fn type_json_round_trips_and_rejects_nonsense() {
    let ty = nested();
    assert_eq!(Type::from_json_bytes(&ty.to_json_bytes()).expect("valid"), ty);
    assert_eq!(Type::from_json(&ty.to_json()).expect("valid"), ty);
    // Optional-attribute lists (type constraints) are accepted and ignored.
    assert_eq!(
        Type::from_json_bytes(br#"["object",{"a":"string"},["a"]]"#).expect("valid"),
        Type::object([("a", Type::String)])
    );
    for bad in [
        r#""strin""#,
        r#"["list"]"#,
        r#"["list","string","x"]"#,
        r#"["bag","string"]"#,
        "1",
        r#"["object",[]]"#,
        "{",
        r#"["tuple",{}]"#,
    ] {
        let err = Type::from_json_bytes(bad.as_bytes()).expect_err(bad);
        assert!(matches!(err, ValueError::InvalidType { .. }), "{bad}: {err}");
    }
    let via_serde: Type = serde_json::from_str(r#"["map","bool"]"#).expect("deserializes");
    assert_eq!(via_serde, Type::map(Type::Bool));
    assert_eq!(serde_json::to_string(&Type::list(Type::Number)).expect("serializes"), r#"["list","number"]"#);
}

#[test]
fn display_is_hcl_notation() {
    assert_eq!(Type::list(Type::String).to_string(), "list(string)");
    assert_eq!(Type::map(Type::set(Type::Number)).to_string(), "map(set(number))");
    assert_eq!(
        Type::object([("b", Type::Bool), ("a", Type::Number)]).to_string(),
        "object({a=number, b=bool})"
    );
    assert_eq!(Type::tuple([Type::String, Type::Dynamic]).to_string(), "tuple([string, any])");
}

#[test]
fn helpers() {
    assert!(Type::Number.is_primitive());
    assert!(!Type::Dynamic.is_primitive());
    assert!(Type::set(Type::Bool).is_collection());
    assert!(!Type::tuple([]).is_collection());
    assert!(nested().contains_dynamic());
    assert!(!Type::list(Type::String).contains_dynamic());
    assert_eq!(Type::list(Type::Bool).element_type(), Some(&Type::Bool));
    assert_eq!(nested().attribute_type("ports"), Some(&Type::list(Type::Number)));
    assert_eq!(nested().attribute_type("nope"), None);
    assert!(Type::Dynamic.is_dynamic());
}
