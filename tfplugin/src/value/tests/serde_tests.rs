//! The serde bridge: typed state structs to and from values.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::num;
use crate::path::AttributePath;
use crate::value::{Number, Tri, Type, Value, ValueError, from_value, msgpack, to_value};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Topology {
    Dev,
    Production,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Node {
    address: String,
    zone: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Cluster {
    id: Tri<String>,
    name: String,
    topology: Topology,
    replicas: u32,
    big: u64,
    ratio: f64,
    exact: Number,
    nodes: Vec<Node>,
    zones: BTreeSet<String>,
    labels: BTreeMap<String, String>,
    description: Option<String>,
    kubeconfig: Tri<String>,
    manifest: Value,
}

fn cluster_type() -> Type {
    Type::object([
        ("id", Type::String),
        ("name", Type::String),
        ("topology", Type::String),
        ("replicas", Type::Number),
        ("big", Type::Number),
        ("ratio", Type::Number),
        ("exact", Type::Number),
        ("nodes", Type::list(Type::object([("address", Type::String), ("zone", Type::String)]))),
        ("zones", Type::set(Type::String)),
        ("labels", Type::map(Type::String)),
        ("description", Type::String),
        ("kubeconfig", Type::String),
        ("manifest", Type::Dynamic),
    ])
}

fn sample() -> Cluster {
    Cluster {
        id: Tri::Unknown,
        name: "prod".into(),
        topology: Topology::Production,
        replicas: 3,
        big: u64::MAX,
        ratio: 0.1,
        exact: num("123456789012345678901234567890.5"),
        nodes: vec![
            Node { address: "10.0.0.1".into(), zone: None },
            Node { address: "10.0.0.2".into(), zone: Some("AZ05".into()) },
        ],
        zones: ["AZ05".to_owned(), "AZ06".to_owned()].into(),
        labels: [("env".to_owned(), "prod".to_owned())].into(),
        description: None,
        kubeconfig: Tri::Known("apiVersion: v1".into()),
        manifest: Value::dynamic(
            Type::object([("kind", Type::String), ("spec", Type::Dynamic)]),
            Value::object([("kind", "ConfigMap".into()), ("spec", Value::Unknown)]),
        ),
    }
}

#[test]
fn typed_struct_round_trips_through_the_wire() {
    let value = to_value(&sample()).expect("serializes").conform(&cluster_type()).expect("conforms");
    assert_eq!(value.get_attr("id"), Some(&Value::Unknown));
    assert_eq!(value.get_attr("topology"), Some(&Value::from("production")));
    assert_eq!(value.get_attr("ratio"), Some(&Value::Number(num("0.1"))));
    assert_eq!(value.get_attr("big"), Some(&Value::from(u64::MAX)));
    assert_eq!(value.get_attr("description"), Some(&Value::Null));
    assert!(matches!(value.get_attr("zones"), Some(Value::Set(_))));
    let bytes = msgpack::encode(&value, &cluster_type()).expect("encodes");
    let decoded = msgpack::decode(&bytes, &cluster_type()).expect("decodes");
    assert_eq!(decoded, value);
    let back: Cluster = from_value(&decoded).expect("deserializes");
    assert_eq!(back, sample());
}

#[test]
fn unknown_only_fits_tri_and_value_fields() {
    let mut value = to_value(&sample()).expect("serializes");
    value.set_attr("name", Value::Unknown).expect("object");
    let err = from_value::<Cluster>(&value).expect_err("unknown name");
    assert_eq!(err, ValueError::NotKnown { path: AttributePath::root().attr("name") });
    assert_eq!(err.to_string(), "name: value is not yet known");

    let mut value = to_value(&sample()).expect("serializes");
    value.set_attr("description", Value::Unknown).expect("object");
    let err = from_value::<Cluster>(&value).expect_err("unknown Option");
    assert_eq!(err.path(), &AttributePath::root().attr("description"));

    #[derive(Debug, Deserialize)]
    struct Partial {
        id: Tri<String>,
    }
    let partial: Partial =
        from_value(&to_value(&sample()).expect("serializes")).expect("extra fields ignored");
    assert!(partial.id.is_unknown());
}

#[test]
fn errors_name_the_field() {
    let mut value = to_value(&sample()).expect("serializes");
    value.set_attr("replicas", "three").expect("object");
    let err = from_value::<Cluster>(&value).expect_err("string count");
    assert_eq!(err.path(), &AttributePath::root().attr("replicas"));

    let mut value = to_value(&sample()).expect("serializes");
    let nodes = value.get_attr_mut("nodes").expect("nodes");
    *nodes = Value::list([Value::object([("address", 5.into()), ("zone", Value::Null)])]);
    let err = from_value::<Cluster>(&value).expect_err("number address");
    assert_eq!(err.path(), &AttributePath::root().attr("nodes").index(0).attr("address"));

    let mut value = to_value(&sample()).expect("serializes");
    value.set_attr("topology", "staging").expect("object");
    let err = from_value::<Cluster>(&value).expect_err("bad enum");
    assert_eq!(err.path(), &AttributePath::root().attr("topology"));
    assert!(err.to_string().contains("staging"), "{err}");

    let mut value = to_value(&sample()).expect("serializes");
    value.set_attr("labels", Value::map([("k", Value::Unknown)])).expect("object");
    let err = from_value::<Cluster>(&value).expect_err("unknown label");
    assert_eq!(err.path(), &AttributePath::root().attr("labels").key("k"));
}

#[test]
fn numbers_stay_exact_through_the_bridge() {
    let exact_tenth = Number::from_f64_exact(0.1).expect("finite");
    for n in
        [num("0.1"), num("1180591620717411303424"), exact_tenth, num("-1e-30"), num("18446744073709551615")]
    {
        let v = to_value(&n).expect("serializes");
        assert_eq!(v, Value::Number(n.clone()));
        let back: Number = from_value(&v).expect("deserializes");
        assert_eq!(back, n);
    }
    // cty converts strings to numbers, so the bridge does too.
    let back: Number = from_value(&Value::from("2.5")).expect("string to number");
    assert_eq!(back, num("2.5"));
    assert!(from_value::<Number>(&Value::from(true)).is_err());
    // Other formats see plain numbers where they are exact, and text otherwise.
    assert_eq!(serde_json::to_string(&num("0.1")).expect("json"), "0.1");
    assert_eq!(serde_json::to_string(&num("-7")).expect("json"), "-7");
    assert_eq!(
        serde_json::to_string(&num("1180591620717411303424")).expect("json"),
        "\"1180591620717411303424\""
    );
    assert_eq!(serde_json::from_str::<Number>("0.1").expect("json"), num("0.1"));
    assert_eq!(serde_json::from_str::<Number>("\"1e3\"").expect("json"), num("1000"));
    // Large integers into float fields and 128-bit fields.
    let huge = Value::Number(num("1e30"));
    assert_eq!(from_value::<f64>(&huge).expect("f64"), 1e30);
    assert_eq!(from_value::<u128>(&huge).expect("u128"), 10u128.pow(30));
    assert_eq!(from_value::<i128>(&Value::Number(num("-1e30"))).expect("i128"), -(10i128.pow(30)));
    assert!(from_value::<u8>(&Value::from(300)).is_err());
    assert!(from_value::<i64>(&Value::Number(num("1.5"))).is_err());
}

#[test]
fn tri_behaves_like_an_option_with_unknown() {
    assert_eq!(to_value(&Tri::<i64>::Unknown).expect("ser"), Value::Unknown);
    assert_eq!(to_value(&Tri::<i64>::Null).expect("ser"), Value::Null);
    assert_eq!(to_value(&Tri::Known(5)).expect("ser"), Value::from(5));
    assert_eq!(from_value::<Tri<i64>>(&Value::Unknown).expect("de"), Tri::Unknown);
    assert_eq!(from_value::<Tri<i64>>(&Value::Null).expect("de"), Tri::Null);
    assert_eq!(from_value::<Tri<i64>>(&Value::from(5)).expect("de"), Tri::Known(5));
    assert_eq!(
        from_value::<Tri<Vec<Tri<i64>>>>(&Value::list([Value::Unknown])).expect("de"),
        Tri::Known(vec![Tri::Unknown])
    );
    assert!(from_value::<Option<i64>>(&Value::Unknown).is_err());
    // serde_json sees an Option.
    assert_eq!(serde_json::to_string(&Tri::<i64>::Unknown).expect("json"), "null");
    assert_eq!(serde_json::from_str::<Tri<i64>>("4").expect("json"), Tri::Known(4));
    assert_eq!(serde_json::from_str::<Tri<i64>>("null").expect("json"), Tri::Null);

    struct NoDefault;
    assert!(Tri::<NoDefault>::default().is_null());
    let t = Tri::Known(2);
    assert_eq!(t.map(|x| x * 2).known(), Some(4));
    assert_eq!(t.as_ref().known(), Some(&2));
    assert_eq!(Tri::<i32>::Unknown.unwrap_or(9), 9);
    assert_eq!(Tri::<i32>::Null.unwrap_or_default(), 0);
    assert_eq!(Tri::<i32>::Unknown.or_if_unknown(Tri::Known(1)), Tri::Known(1));
    assert_eq!(Tri::<i32>::Null.or_if_unknown(Tri::Known(1)), Tri::Null);
    assert_eq!(Tri::from(Some(1)), Tri::Known(1));
    assert_eq!(Tri::from(None::<i32>), Tri::Null);
}

#[test]
fn value_fields_keep_everything() {
    let raw = Value::object([
        ("u", Value::Unknown),
        ("s", Value::set([1.into()])),
        ("t", Value::tuple(["a".into()])),
        ("d", Value::dynamic(Type::map(Type::Number), Value::map([("k", Value::Number(num("0.3")))]))),
        ("n", Value::Null),
    ]);
    let back: Value = from_value(&raw).expect("raw value");
    assert_eq!(back, raw);
    assert_eq!(to_value(&raw).expect("raw value"), raw);
    let json: Value = serde_json::from_str(r#"{"a":[1,0.5,"x",null,true]}"#).expect("json");
    assert_eq!(
        json,
        Value::object([(
            "a",
            Value::list([1.into(), Value::Number(num("0.5")), "x".into(), Value::Null, true.into()])
        )])
    );
    assert_eq!(
        serde_json::to_string(&raw).expect("json"),
        r#"{"d":{"k":0.3},"n":null,"s":[1],"t":["a"],"u":null}"#
    );
}

#[test]
fn enums_maps_and_tuples_serialize_like_serde_json() {
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    enum Policy {
        Reset,
        Keep { graceful: bool },
        Drain(u32),
    }
    let v = to_value(&vec![Policy::Reset, Policy::Keep { graceful: true }, Policy::Drain(3)]).expect("ser");
    assert_eq!(
        v,
        Value::list([
            "Reset".into(),
            Value::object([("Keep", Value::object([("graceful", true.into())]))]),
            Value::object([("Drain", 3.into())]),
        ])
    );
    let back: Vec<Policy> = from_value(&v).expect("de");
    assert_eq!(back, vec![Policy::Reset, Policy::Keep { graceful: true }, Policy::Drain(3)]);

    let keyed: BTreeMap<u16, (String, bool)> = [(8080, ("http".to_owned(), true))].into();
    let v = to_value(&keyed).expect("ser");
    assert_eq!(v, Value::map([("8080", Value::tuple(["http".into(), true.into()]))]));
    assert!(to_value(&BTreeMap::from([((1, 2), 3)])).is_err());
    assert!(to_value(&f64::NAN).is_err());
}

#[test]
fn dynamic_types_survive_foreign_serializers_in_between() {
    fn as_json_text<S: serde::Serializer>(v: &Value, s: S) -> Result<S::Ok, S::Error> {
        let text = serde_json::to_string(v).map_err(serde::ser::Error::custom)?;
        s.serialize_str(&text)
    }
    #[derive(Serialize)]
    struct Mixed {
        #[serde(serialize_with = "as_json_text")]
        a_text: Value,
        b_raw: Value,
    }
    let typed = |ty: Type, v: Value| Value::dynamic(ty, v);
    let a = typed(Type::list(Type::String), Value::list([typed(Type::String, "inner".into())]));
    let b = typed(Type::set(Type::Number), Value::set([]));
    let v = to_value(&Mixed { a_text: a, b_raw: b.clone() }).expect("serializes");
    assert_eq!(v.get_attr("a_text"), Some(&Value::from(r#"["inner"]"#)));
    assert_eq!(v.get_attr("b_raw"), Some(&b));
    // Nothing is left behind for the next serialization.
    assert_eq!(to_value(&Value::from(1)).expect("serializes"), Value::from(1));
    assert_eq!(
        to_value(&typed(Type::Bool, true.into())).expect("serializes"),
        typed(Type::Bool, true.into())
    );
}
