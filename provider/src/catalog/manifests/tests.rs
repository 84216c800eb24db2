//! Unit tests of the template language.

use super::*;
use crate::catalog::version::Version;
use serde_json::json;

fn manifests(yaml: &str) -> Manifests {
    serde_norway::from_str(yaml).unwrap()
}

#[test]
fn lone_placeholders_keep_types_and_absent_ones_drop_the_field() {
    let m = manifests(
        r#"
objects:
  - object:
      apiVersion: v1
      kind: Service
      metadata: {name: "x-${version}", namespace: "${namespace}"}
      spec:
        loadBalancerIP: "${config.ip}"
        ports: "${config.ports}"
        replicas: "${config.replicas}"
"#,
    );
    let config = json!({"ports": [80, 443], "replicas": 2});
    let out = m.render("a", Version::parse("1.2.3").unwrap(), "ns", &config).unwrap();
    assert_eq!(out[0]["metadata"]["name"], "x-1.2.3");
    assert_eq!(out[0]["metadata"]["namespace"], "ns");
    assert_eq!(out[0]["spec"], json!({"ports": [80, 443], "replicas": 2}));
    assert_eq!(out[0]["metadata"]["labels"][ADDON_LABEL], "a");
}

#[test]
fn conditions_items_versions_and_images() {
    let m = manifests(
        r#"
images:
  app: {repository: quay.io/x/app, tag: "v${version}", tags: {"2.0.0": "v2.0.0-fix"}, source: {url: "https://x.example", states: "tags"}}
objects:
  - when: config.${item.key}.enabled
    each: [{key: a, name: one}, {key: b, name: two}]
    object: {apiVersion: v1, kind: ConfigMap, metadata: {name: "${item.name}", namespace: n}, data: {image: "${image.app}"}}
  - versions: {max: "1.9.9"}
    when: "config.mode == tunnel"
    object: {apiVersion: v1, kind: ConfigMap, metadata: {name: old, namespace: n}}
  - when: "!config.a.enabled"
    object: {apiVersion: v1, kind: Namespace, metadata: {name: off}}
"#,
    );
    let config = json!({"a": {"enabled": true}, "b": {"enabled": false}, "mode": "tunnel"});
    let names = |v: &str| -> Vec<(String, Value)> {
        m.render("x", Version::parse(v).unwrap(), "n", &config)
            .unwrap()
            .iter()
            .map(|o| (o["metadata"]["name"].as_str().unwrap().to_owned(), o["data"]["image"].clone()))
            .collect()
    };
    assert_eq!(names("1.0.0"), [("one".into(), json!("quay.io/x/app:v1.0.0")), ("old".into(), Value::Null)]);
    assert_eq!(names("2.0.0"), [("one".into(), json!("quay.io/x/app:v2.0.0-fix"))]);
}

#[test]
fn static_checks_catch_typos_and_missing_citations() {
    let schema = json!({"type": "object", "properties": {"a": {"type": "string"}}});
    let m = manifests(
        r#"
objects:
  - object: {apiVersion: v1, kind: ConfigMap, metadata: {name: "${config.b}", namespace: n}, data: {i: "${image.nope}"}}
  - object: {apiVersion: example.io/v1, kind: Thing, metadata: {name: t}}
"#,
    );
    let problems = m.check(&schema);
    let text = format!("{problems:?}");
    assert!(text.contains("`b` is not a setting"), "{text}");
    assert!(text.contains("no image named `nope`"), "{text}");
    assert!(text.contains("objects[1].source"), "{text}");
}

#[test]
fn rendered_objects_are_checked_for_scope_and_identity() {
    let crd = json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "things.example.io"},
        "spec": {"group": "example.io", "scope": "Cluster", "names": {"kind": "Thing", "plural": "things"}}});
    let thing =
        json!({"apiVersion": "example.io/v1", "kind": "Thing", "metadata": {"name": "t", "namespace": "x"}});
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}});
    let problems = check_rendered(&[crd, thing, cm], &[]);
    assert_eq!(problems.len(), 2, "{problems:?}");
}

#[test]
fn defaults_fill_nested_objects() {
    let schema = json!({"type": "object", "properties": {
        "a": {"type": "object", "properties": {"b": {"type": "integer", "default": 3}, "c": {"type": "string"}}},
        "d": {"type": "boolean", "default": true}}});
    assert_eq!(apply_defaults(&schema, &json!({})), json!({"a": {"b": 3}, "d": true}));
    assert_eq!(
        apply_defaults(&schema, &json!({"a": {"c": "x"}, "d": false})),
        json!({"a": {"b": 3, "c": "x"}, "d": false})
    );
}

#[test]
fn inventory_entries_round_trip() {
    let id = ObjectRef::parse("apps/v1/Deployment/kyverno/kyverno-admission-controller").unwrap();
    assert_eq!(id.api_version, "apps/v1");
    assert_eq!(id.to_string(), "apps/v1/Deployment/kyverno/kyverno-admission-controller");
    let sc = ObjectRef::parse("storage.k8s.io/v1/StorageClass//ceph-block").unwrap();
    assert_eq!((sc.namespace.as_str(), sc.group()), ("", "storage.k8s.io"));
    assert_eq!(ObjectRef::parse("v1/Namespace//x").unwrap().group(), "");
}
