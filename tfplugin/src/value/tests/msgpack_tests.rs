//! The msgpack codec against hand-written byte vectors (the forms go-cty reads and writes).

use super::num;
use crate::path::AttributePath;
use crate::value::msgpack::{decode, encode};
use crate::value::{Number, Type, Value, ValueError};

fn enc(v: &Value, ty: &Type) -> Vec<u8> {
    encode(v, ty).unwrap_or_else(|e| panic!("encode {v:?} as {ty}: {e}"))
}

fn dec(bytes: &[u8], ty: &Type) -> Value {
    decode(bytes, ty).unwrap_or_else(|e| panic!("decode {bytes:02x?} as {ty}: {e}"))
}

fn number(n: Number) -> Value {
    Value::Number(n)
}

#[test]
fn null_is_nil_in_every_position() {
    for ty in [
        Type::String,
        Type::Number,
        Type::list(Type::Bool),
        Type::object([("a", Type::String)]),
        Type::Dynamic,
    ] {
        assert_eq!(enc(&Value::Null, &ty), [0xc0], "{ty}");
        assert_eq!(dec(&[0xc0], &ty), Value::Null, "{ty}");
    }
}

#[test]
fn unknown_is_cty_fixext1_and_any_extension_reads_as_unknown() {
    for ty in [Type::String, Type::set(Type::Number), Type::Dynamic] {
        assert_eq!(enc(&Value::Unknown, &ty), [0xd4, 0x00, 0x00], "{ty}");
        assert_eq!(dec(&[0xd4, 0x00, 0x00], &ty), Value::Unknown, "{ty}");
    }
    // A refined unknown from newer Terraform: ext8, type 12, payload {1: false} ("not null").
    let refined = [0xc7, 0x03, 0x0c, 0x81, 0x01, 0xc2];
    assert_eq!(dec(&refined, &Type::String), Value::Unknown);
    assert_eq!(dec(&refined, &Type::Dynamic), Value::Unknown);
    // Other extension shapes, including an empty ext8.
    assert_eq!(dec(&[0xd5, 0x0c, 0x81, 0x01], &Type::Number), Value::Unknown);
    assert_eq!(dec(&[0xc7, 0x00, 0x00], &Type::Bool), Value::Unknown);
    // Inside containers.
    let list = [0x92, 0xd4, 0x00, 0x00, 0xa1, b'x'];
    assert_eq!(dec(&list, &Type::list(Type::String)), Value::list([Value::Unknown, "x".into()]));
}

#[test]
fn integers_use_the_compact_forms() {
    let cases: [(i64, &[u8]); 10] = [
        (0, &[0x00]),
        (127, &[0x7f]),
        (128, &[0xcc, 0x80]),
        (256, &[0xcd, 0x01, 0x00]),
        (65536, &[0xce, 0x00, 0x01, 0x00, 0x00]),
        (-1, &[0xff]),
        (-32, &[0xe0]),
        (-33, &[0xd0, 0xdf]),
        (-129, &[0xd1, 0xff, 0x7f]),
        (i64::MIN, &[0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0]),
    ];
    for (i, bytes) in cases {
        assert_eq!(enc(&i.into(), &Type::Number), bytes, "{i}");
        assert_eq!(dec(bytes, &Type::Number), Value::from(i), "{i}");
    }
    assert_eq!(enc(&i64::MAX.into(), &Type::Number), [0xcf, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
}

#[test]
fn every_integer_form_decodes() {
    let cases: [(&[u8], &str); 8] = [
        (&[0xcc, 0xff], "255"),
        (&[0xcd, 0xff, 0xff], "65535"),
        (&[0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], "18446744073709551615"),
        (&[0xd0, 0x80], "-128"),
        (&[0xd1, 0x80, 0x00], "-32768"),
        (&[0xd2, 0x80, 0x00, 0x00, 0x00], "-2147483648"),
        (&[0xd3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe], "-2"),
        (&[0xce, 0xff, 0xff, 0xff, 0xff], "4294967295"),
    ];
    for (bytes, text) in cases {
        assert_eq!(dec(bytes, &Type::Number), number(num(text)), "{text}");
    }
}

#[test]
fn floats_are_used_only_when_exact() {
    assert_eq!(enc(&number(num("0.5")), &Type::Number), [0xcb, 0x3f, 0xe0, 0, 0, 0, 0, 0, 0]);
    // 2^64 is past i64 but exact as a float64, as cty encodes it.
    assert_eq!(
        enc(&number(num("18446744073709551616")), &Type::Number),
        [0xcb, 0x43, 0xf0, 0, 0, 0, 0, 0, 0]
    );
    // float32 and float64 both decode, to their exact value.
    assert_eq!(dec(&[0xca, 0x3f, 0xc0, 0x00, 0x00], &Type::Number), number(num("1.5")));
    let tenth = 0.1f64.to_bits().to_be_bytes();
    let mut bytes = vec![0xcb];
    bytes.extend_from_slice(&tenth);
    let decoded = dec(&bytes, &Type::Number);
    assert_eq!(decoded, number(Number::from_f64_exact(0.1).expect("finite")));
    // ... and that exact value goes back out as the same float64.
    assert_eq!(enc(&decoded, &Type::Number), bytes);
    let infinity = [0xcb, 0x7f, 0xf0, 0, 0, 0, 0, 0, 0];
    assert!(matches!(decode(&infinity, &Type::Number), Err(ValueError::InvalidNumber { .. })));
}

#[test]
fn numbers_that_no_int_or_float_holds_are_strings() {
    assert_eq!(enc(&number(num("0.1")), &Type::Number), [0xa3, b'0', b'.', b'1']);
    let mut max = vec![0xb4];
    max.extend_from_slice(b"18446744073709551615");
    assert_eq!(enc(&number(num("18446744073709551615")), &Type::Number), max);
    let big = "123456789012345678901234567890.000000000000000000001";
    let mut bytes = vec![0xd9, big.len() as u8];
    bytes.extend_from_slice(big.as_bytes());
    assert_eq!(enc(&number(num(big)), &Type::Number), bytes);
    assert_eq!(dec(&bytes, &Type::Number), number(num(big)));
    // cty also reads exponent notation in a string.
    assert_eq!(dec(&[0xa3, b'1', b'e', b'3'], &Type::Number), Value::from(1000));
    assert!(decode(&[0xa1, b'x'], &Type::Number).is_err());
}

#[test]
fn strings_read_from_str_or_bin() {
    assert_eq!(enc(&"hi".into(), &Type::String), [0xa2, b'h', b'i']);
    assert_eq!(dec(&[0xc4, 0x02, b'h', b'i'], &Type::String), Value::from("hi"));
    let long = "x".repeat(40);
    let mut bytes = vec![0xd9, 40];
    bytes.extend_from_slice(long.as_bytes());
    assert_eq!(enc(&long.as_str().into(), &Type::String), bytes);
    assert!(matches!(decode(&[0xa1, 0xff], &Type::String), Err(ValueError::Msgpack { .. })));
}

#[test]
fn dynamic_values_carry_their_type_json() {
    let mut expected = vec![0x92, 0xc4, 0x08];
    expected.extend_from_slice(b"\"string\"");
    expected.extend_from_slice(&[0xa2, b'h', b'i']);
    let wrapped = Value::dynamic(Type::String, "hi".into());
    assert_eq!(enc(&wrapped, &Type::Dynamic), expected);
    // An unwrapped value gets its inferred type.
    assert_eq!(enc(&"hi".into(), &Type::Dynamic), expected);
    assert_eq!(dec(&expected, &Type::Dynamic), wrapped);
    // The type may also come as a msgpack str.
    let mut as_str = vec![0x92, 0xa8];
    as_str.extend_from_slice(b"\"string\"");
    as_str.extend_from_slice(&[0xa2, b'h', b'i']);
    assert_eq!(dec(&as_str, &Type::Dynamic), wrapped);
    // A typed null keeps its type.
    let mut typed_null = vec![0x92, 0xc4, 0x08];
    typed_null.extend_from_slice(b"\"number\"");
    typed_null.push(0xc0);
    assert_eq!(dec(&typed_null, &Type::Dynamic), Value::dynamic(Type::Number, Value::Null));
    assert_eq!(enc(&Value::dynamic(Type::Number, Value::Null), &Type::Dynamic), typed_null);
    // A list literal infers list(number).
    let bytes = enc(&Value::list([1.into(), 2.into()]), &Type::Dynamic);
    let mut expected = vec![0x92, 0xc4, 17];
    expected.extend_from_slice(b"[\"list\",\"number\"]");
    expected.extend_from_slice(&[0x92, 0x01, 0x02]);
    assert_eq!(bytes, expected);
    assert!(matches!(decode(&[0x91, 0xc0], &Type::Dynamic), Err(ValueError::Msgpack { .. })));
    let bad_type = [0x92, 0xa3, b'"', b'x', b'"', 0xc0];
    assert!(matches!(decode(&bad_type, &Type::Dynamic), Err(ValueError::InvalidType { .. })));
}

#[test]
fn sets_are_arrays_and_collapse_duplicates() {
    let ty = Type::set(Type::String);
    let set = Value::set(["a".into(), "b".into()]);
    assert_eq!(enc(&set, &ty), [0x92, 0xa1, b'a', 0xa1, b'b']);
    assert_eq!(dec(&[0x92, 0xa1, b'b', 0xa1, b'a'], &ty), set);
    assert_eq!(dec(&[0x93, 0xa1, b'a', 0xa1, b'a', 0xa1, b'b'], &ty), set);
}

#[test]
fn nested_objects_are_maps_with_exactly_their_attributes() {
    let ty = Type::object([("a", Type::String), ("b", Type::object([("c", Type::Number)]))]);
    let v = Value::object([("a", "x".into()), ("b", Value::object([("c", 1.into())]))]);
    let bytes = [0x82, 0xa1, b'a', 0xa1, b'x', 0xa1, b'b', 0x81, 0xa1, b'c', 0x01];
    assert_eq!(enc(&v, &ty), bytes);
    assert_eq!(dec(&bytes, &ty), v);
    // Missing attributes are written as null.
    let partial = Value::object([("b", Value::Object(Default::default()))]);
    assert_eq!(enc(&partial, &ty), [0x82, 0xa1, b'a', 0xc0, 0xa1, b'b', 0x81, 0xa1, b'c', 0xc0]);
    // ... but must be present when reading, as cty insists.
    let err = decode(&[0x81, 0xa1, b'a', 0xc0], &ty).expect_err("missing b");
    assert!(matches!(err, ValueError::AttributeCount { expected: 2, found: 1, .. }), "{err}");
    let err = decode(&[0x82, 0xa1, b'a', 0xc0, 0xa1, b'z', 0xc0], &ty).expect_err("undeclared z");
    assert_eq!(err, ValueError::UnsupportedAttribute { path: AttributePath::root(), name: "z".into() });
    let extra = Value::object([("a", "x".into()), ("b", Value::object([("d", 1.into())]))]);
    let err = encode(&extra, &ty).expect_err("undeclared d");
    assert_eq!(err.to_string(), "b: unsupported attribute \"d\"");
}

#[test]
fn maps_lists_and_tuples() {
    let ty = Type::map(Type::list(Type::Number));
    let v = Value::map([("k", Value::list([1.into()]))]);
    let bytes = [0x81, 0xa1, b'k', 0x91, 0x01];
    assert_eq!(enc(&v, &ty), bytes);
    assert_eq!(dec(&bytes, &ty), v);
    assert!(decode(&[0x81, 0x01, 0x91, 0x01], &ty).is_err(), "non-string key");

    let ty = Type::tuple([Type::String, Type::Bool]);
    let v = Value::tuple(["a".into(), true.into()]);
    assert_eq!(enc(&v, &ty), [0x92, 0xa1, b'a', 0xc3]);
    assert_eq!(dec(&[0x92, 0xa1, b'a', 0xc3], &ty), v);
    let err = decode(&[0x91, 0xa1, b'a'], &ty).expect_err("short tuple");
    assert!(matches!(err, ValueError::TupleLength { expected: 2, found: 1, .. }));
    assert!(encode(&Value::tuple(["a".into()]), &ty).is_err());
}

#[test]
fn errors_name_the_path() {
    let ty = Type::object([("list", Type::list(Type::Bool))]);
    let bytes = [0x81, 0xa4, b'l', b'i', b's', b't', 0x92, 0xc3, 0xa1, b'x'];
    let err = decode(&bytes, &ty).expect_err("string in a bool list");
    assert_eq!(err.path(), &AttributePath::root().attr("list").index(1));
    assert_eq!(err.to_string(), "list[1]: bool required, but have msgpack string");
    let v = Value::object([("list", Value::list([true.into(), 3.into()]))]);
    let err = encode(&v, &ty).expect_err("number in a bool list");
    assert_eq!(err.to_string(), "list[1]: bool required, but have number");
    assert_eq!(err.message(), "bool required, but have number");
}

#[test]
fn malformed_input_is_an_error_not_a_panic() {
    assert!(matches!(decode(&[], &Type::String), Err(ValueError::Msgpack { .. })));
    assert!(matches!(decode(&[0xa5, b'a'], &Type::String), Err(ValueError::Msgpack { .. })));
    assert!(matches!(decode(&[0xc0, 0xc0], &Type::String), Err(ValueError::Msgpack { .. })));
    assert!(matches!(
        decode(&[0xdd, 0xff, 0xff, 0xff, 0xff], &Type::list(Type::Bool)),
        Err(ValueError::Msgpack { .. })
    ));
    assert!(matches!(decode(&[0xc7, 0x10, 0x00], &Type::Bool), Err(ValueError::Msgpack { .. })));
    // Dynamic values nested far beyond any schema hit the depth limit instead of the stack.
    let mut deep = Vec::new();
    for _ in 0..1000 {
        deep.extend_from_slice(&[0x92, 0xa9]);
        deep.extend_from_slice(b"\"dynamic\"");
    }
    deep.push(0xc0);
    let err = decode(&deep, &Type::Dynamic).expect_err("too deep");
    assert!(err.to_string().contains("nesting deeper"), "{err}");
}
