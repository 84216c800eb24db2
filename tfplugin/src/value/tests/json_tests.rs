//! The JSON codec (cty/json rules) and JSON without a type (cty's ImpliedType).

use super::num;
use crate::path::AttributePath;
use crate::value::json::{decode, decode_untyped, encode};
use crate::value::{Type, Value, ValueError};

fn enc(v: &Value, ty: &Type) -> String {
    String::from_utf8(encode(v, ty).unwrap_or_else(|e| panic!("encode {v:?}: {e}"))).expect("utf-8")
}

fn dec(text: &str, ty: &Type) -> Value {
    decode(text.as_bytes(), ty).unwrap_or_else(|e| panic!("decode {text}: {e}"))
}

fn sample_type() -> Type {
    Type::object([
        ("a", Type::Number),
        ("b", Type::Number),
        ("c", Type::String),
        ("d", Type::Bool),
        ("e", Type::list(Type::Bool)),
        ("m", Type::map(Type::String)),
    ])
}

#[test]
fn objects_are_written_sorted_and_complete() {
    let v = Value::object([
        ("e", Value::list([true.into()])),
        ("b", Value::Number(num("0.1"))),
        ("a", 1.into()),
        ("c", "x".into()),
        ("m", Value::map([("k", "v".into())])),
    ]);
    assert_eq!(enc(&v, &sample_type()), r#"{"a":1,"b":0.1,"c":"x","d":null,"e":[true],"m":{"k":"v"}}"#);
    let back = dec(r#"{"m":{"k":"v"},"e":[true],"c":"x","b":0.1,"a":1}"#, &sample_type());
    assert_eq!(back, v.conform(&sample_type()).expect("conforms"));
}

#[test]
fn numbers_are_exact() {
    let text = "123456789012345678901234567890.123456789012345678901";
    assert_eq!(dec(text, &Type::Number), Value::Number(num(text)));
    assert_eq!(enc(&Value::Number(num(text)), &Type::Number), text);
    assert_eq!(dec("1e-7", &Type::Number), Value::Number(num("0.0000001")));
    assert_eq!(enc(&Value::Number(num("1e-7")), &Type::Number), "0.0000001");
    assert_eq!(dec("-0", &Type::Number), Value::Number(num("0")));
}

#[test]
fn primitives_convert_as_cty_does() {
    assert_eq!(dec(r#""12.5""#, &Type::Number), Value::Number(num("12.5")));
    assert_eq!(dec("12.50", &Type::String), Value::from("12.50"));
    assert_eq!(dec("true", &Type::String), Value::from("true"));
    assert_eq!(dec(r#""false""#, &Type::Bool), Value::from(false));
    assert!(matches!(decode(br#""yes""#, &Type::Bool), Err(ValueError::TypeMismatch { .. })));
    assert!(matches!(decode(br#""abc""#, &Type::Number), Err(ValueError::TypeMismatch { .. })));
    assert!(matches!(decode(b"[]", &Type::String), Err(ValueError::TypeMismatch { .. })));
}

#[test]
fn unknown_values_cannot_be_written() {
    let ty = Type::object([("a", Type::list(Type::String))]);
    let v = Value::object([("a", Value::list(["x".into(), Value::Unknown]))]);
    let err = encode(&v, &ty).expect_err("unknown");
    assert_eq!(err, ValueError::NotKnown { path: AttributePath::root().attr("a").index(1) });
    assert_eq!(err.to_string(), "a[1]: value is not yet known");
    assert!(encode(&Value::Unknown, &Type::Dynamic).is_err());
}

#[test]
fn dynamic_values_are_value_and_type() {
    let wrapped = Value::dynamic(Type::list(Type::String), Value::list(["a".into()]));
    assert_eq!(enc(&wrapped, &Type::Dynamic), r#"{"value":["a"],"type":["list","string"]}"#);
    assert_eq!(
        enc(&Value::list(["a".into()]), &Type::Dynamic),
        r#"{"value":["a"],"type":["list","string"]}"#
    );
    assert_eq!(dec(r#"{"type":["list","string"],"value":["a"]}"#, &Type::Dynamic), wrapped);
    assert_eq!(dec("null", &Type::Dynamic), Value::Null);
    assert_eq!(enc(&Value::Null, &Type::Dynamic), "null");
    let typed_null = Value::dynamic(Type::String, Value::Null);
    assert_eq!(enc(&typed_null, &Type::Dynamic), r#"{"value":null,"type":"string"}"#);
    assert_eq!(dec(r#"{"value":null,"type":"string"}"#, &Type::Dynamic), typed_null);
    for bad in [r#"{"value":1}"#, r#"{"type":"number"}"#, r#"{"type":"number","value":1,"x":2}"#, "1"] {
        assert!(decode(bad.as_bytes(), &Type::Dynamic).is_err(), "{bad}");
    }
    assert!(matches!(
        decode(br#"{"type":"nope","value":1}"#, &Type::Dynamic),
        Err(ValueError::InvalidType { .. })
    ));
}

#[test]
fn objects_reject_undeclared_and_fill_missing_attributes() {
    let ty = Type::object([("a", Type::String), ("b", Type::Number)]);
    assert_eq!(dec(r#"{"a":"x"}"#, &ty), Value::object([("a", "x".into()), ("b", Value::Null)]));
    let err = decode(br#"{"a":"x","zz":1}"#, &ty).expect_err("undeclared");
    assert_eq!(err, ValueError::UnsupportedAttribute { path: AttributePath::root(), name: "zz".into() });
    assert!(encode(&Value::object([("zz", 1.into())]), &ty).is_err());
}

#[test]
fn sets_and_tuples() {
    let set_ty = Type::set(Type::Number);
    assert_eq!(dec("[1,2,1.0]", &set_ty), Value::set([1.into(), 2.into()]));
    let tuple_ty = Type::tuple([Type::String, Type::Number]);
    assert_eq!(dec(r#"["a",1]"#, &tuple_ty), Value::tuple(["a".into(), 1.into()]));
    assert!(matches!(decode(br#"["a"]"#, &tuple_ty), Err(ValueError::TupleLength { .. })));
    assert!(matches!(decode(br#"["a",1,2]"#, &tuple_ty), Err(ValueError::TupleLength { .. })));
}

#[test]
fn untyped_json_implies_objects_and_tuples() {
    let (v, ty) = decode_untyped(br#"{"a":[1,"x",null],"b":{"c":true},"n":123456789012345678901234567890}"#)
        .expect("valid JSON");
    assert_eq!(
        ty,
        Type::object([
            ("a", Type::tuple([Type::Number, Type::String, Type::Dynamic])),
            ("b", Type::object([("c", Type::Bool)])),
            ("n", Type::Number),
        ])
    );
    assert_eq!(v.path_get(&AttributePath::root().attr("a").index(1)), Some(&Value::from("x")));
    assert_eq!(v.get_attr("n"), Some(&Value::Number(num("123456789012345678901234567890"))));
    // The implied type re-encodes the same document.
    assert_eq!(
        String::from_utf8(encode(&v, &ty).expect("encodes")).expect("utf-8"),
        r#"{"a":[1,"x",null],"b":{"c":true},"n":123456789012345678901234567890}"#
    );
    assert_eq!(decode_untyped(b"null").expect("null"), (Value::Null, Type::Dynamic));
    assert_eq!(decode_untyped(b" [] ").expect("empty"), (Value::tuple([]), Type::tuple([])));
}

#[test]
fn strings_escape_and_unescape() {
    let s = "a\"b\\c\n\t\u{1}é😀/";
    let text = enc(&s.into(), &Type::String);
    assert_eq!(text, r#""a\"b\\c\n\t\u0001é😀/""#);
    assert_eq!(dec(&text, &Type::String), Value::from(s));
    assert_eq!(dec(r#""\u00e9\ud83d\ude00\/""#, &Type::String), Value::from("é😀/"));
    assert_eq!(dec(r#""\ud800x""#, &Type::String), Value::from("\u{fffd}x"));
}

#[test]
fn syntax_errors_are_reported() {
    for bad in [
        "",
        "{",
        "[1,]",
        "{\"a\" 1}",
        "tru",
        "\"abc",
        "\"a\u{1}\"",
        "1 2",
        "01",
        "1.",
        ".5",
        "\"\\x\"",
        "\"\\u12\"",
    ] {
        let err = decode(bad.as_bytes(), &Type::Dynamic).expect_err(bad);
        assert!(matches!(err, ValueError::Json { .. }), "{bad}: {err}");
    }
    assert!(matches!(decode(&[0x22, 0xff, 0x22], &Type::String), Err(ValueError::Json { .. })));
    let deep = "[".repeat(10_000);
    assert!(matches!(decode_untyped(deep.as_bytes()), Err(ValueError::Json { .. })));
}
