//! The object a manifest configures: read from `manifest` (an HCL object) or `yaml_body`,
//! checked with attribute paths before any remote call, and converted between Terraform values
//! and JSON.

use serde_json::Value as Json;
use tfplugin::{AttributePath, Diagnostic, Value};

/// Where the object comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// `manifest`, an HCL object.
    Manifest,
    /// `yaml_body`, one YAML document.
    Yaml,
}

impl Source {
    /// The attribute name.
    pub fn attribute(self) -> &'static str {
        match self {
            Self::Manifest => "manifest",
            Self::Yaml => "yaml_body",
        }
    }
}

/// Kinds every cluster serves, and whether they are namespaced, so that the plan knows the
/// namespace without asking the cluster (which may not exist yet).
const KNOWN_KINDS: &[(&str, &str, bool)] = &[
    ("", "Namespace", false),
    ("", "Node", false),
    ("", "PersistentVolume", false),
    ("storage.k8s.io", "StorageClass", false),
    ("storage.k8s.io", "CSIDriver", false),
    ("storage.k8s.io", "VolumeAttachment", false),
    ("apiextensions.k8s.io", "CustomResourceDefinition", false),
    ("rbac.authorization.k8s.io", "ClusterRole", false),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding", false),
    ("networking.k8s.io", "IngressClass", false),
    ("scheduling.k8s.io", "PriorityClass", false),
    ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration", false),
    ("admissionregistration.k8s.io", "MutatingWebhookConfiguration", false),
    ("apiregistration.k8s.io", "APIService", false),
    ("node.k8s.io", "RuntimeClass", false),
    ("", "ConfigMap", true),
    ("", "Secret", true),
    ("", "Service", true),
    ("", "ServiceAccount", true),
    ("", "Pod", true),
    ("", "PersistentVolumeClaim", true),
    ("", "LimitRange", true),
    ("", "ResourceQuota", true),
    ("apps", "Deployment", true),
    ("apps", "DaemonSet", true),
    ("apps", "StatefulSet", true),
    ("batch", "Job", true),
    ("batch", "CronJob", true),
    ("networking.k8s.io", "Ingress", true),
    ("networking.k8s.io", "NetworkPolicy", true),
    ("rbac.authorization.k8s.io", "Role", true),
    ("rbac.authorization.k8s.io", "RoleBinding", true),
    ("policy", "PodDisruptionBudget", true),
    ("autoscaling", "HorizontalPodAutoscaler", true),
];

/// Whether a built-in kind is namespaced; `None` for kinds only the cluster can tell (CRDs).
pub fn known_scope(api_version: &str, kind: &str) -> Option<bool> {
    let group = crate::kube::object::group_of(api_version);
    KNOWN_KINDS.iter().find(|(g, k, _)| *g == group && *k == kind).map(|(_, _, ns)| *ns)
}

/// Which of `manifest` and `yaml_body` is set. Unknown counts as set.
pub fn source(config: &Value) -> Result<Source, Diagnostic> {
    let set = |name| config.get_attr(name).is_some_and(|v| !v.is_null());
    match (set("manifest"), set("yaml_body")) {
        (true, false) => Ok(Source::Manifest),
        (false, true) => Ok(Source::Yaml),
        (both, _) => Err(Diagnostic::error(
            if both { "Conflicting object definitions" } else { "Missing object definition" },
            "Set exactly one of `manifest` (an HCL object) or `yaml_body` (one YAML document).",
        )
        .at(AttributePath::root().attr(if both { "yaml_body" } else { "manifest" }))),
    }
}

/// The object, when wholly known; `Ok(None)` while any part of it is unknown.
pub fn object(config: &Value) -> Result<Option<(Source, Json)>, Diagnostic> {
    let source = source(config)?;
    let value = config.get_attr(source.attribute()).cloned().unwrap_or_default();
    if !is_wholly_known(&value) {
        return Ok(None);
    }
    let path = AttributePath::root().attr(source.attribute());
    let obj = match source {
        Source::Manifest => value.to_json_value(),
        Source::Yaml => {
            let text = value.as_str().unwrap_or_default();
            let docs = tfplugin::plan::normalize::yaml_documents(text).map_err(|e| {
                Diagnostic::error("Invalid YAML", format!("This is not valid YAML: {e}.")).at(path.clone())
            })?;
            match <[Json; 1]>::try_from(docs) {
                Ok([doc]) => doc,
                Err(docs) => {
                    return Err(Diagnostic::error(
                        "One object per manifest",
                        format!(
                            "yaml_body holds {} documents; use one cloudtemple_kubernetes_manifest per object.",
                            docs.len()
                        ),
                    )
                    .at(path));
                }
            }
        }
    };
    check(&obj, source)?;
    Ok(Some((source, obj)))
}

/// The rules every object follows: apiVersion, kind and metadata.name are non-empty strings;
/// a built-in cluster-scoped kind has no namespace. The diagnostic points at the attribute
/// (Terraform shows configuration snippets for attributes, not for paths inside a dynamic
/// value) and its detail names the field inside the object.
pub fn check(obj: &Json, source: Source) -> Result<(), Diagnostic> {
    let at = AttributePath::root().attr(source.attribute());
    let r = crate::kube::ObjectRef::from_object(obj)
        .map_err(|e| Diagnostic::error("Invalid Kubernetes object", e.to_string()).at(at.clone()))?;
    if r.namespace.is_some() && known_scope(&r.api_version, &r.kind) == Some(false) {
        return Err(Diagnostic::error(
            "Invalid Kubernetes object",
            format!("metadata.namespace: {} is cluster-scoped and takes no namespace.", r.kind),
        )
        .at(at));
    }
    Ok(())
}

/// Whether `v` holds no unknown anywhere.
pub fn is_wholly_known(v: &Value) -> bool {
    match v {
        Value::Unknown => false,
        Value::List(items) | Value::Set(items) | Value::Tuple(items) => items.iter().all(is_wholly_known),
        Value::Map(m) | Value::Object(m) => m.values().all(is_wholly_known),
        Value::Dynamic(_, inner) => is_wholly_known(inner),
        _ => true,
    }
}

/// JSON as a Terraform value the way HCL types a literal: objects are objects, arrays tuples.
pub fn from_json(j: &Json) -> Value {
    match j {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => n.to_string().parse().map_or_else(|_| Value::String(n.to_string()), Value::Number),
        Json::String(s) => Value::String(s.clone()),
        Json::Array(items) => Value::tuple(items.iter().map(from_json)),
        Json::Object(m) => Value::object(m.iter().map(|(k, v)| (k.clone(), from_json(v)))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config(manifest: Value, yaml: Value) -> Value {
        Value::object([("manifest", manifest), ("yaml_body", yaml)])
    }

    fn path_of(d: &Diagnostic) -> String {
        format!("{d:?}")
    }

    #[test]
    fn exactly_one_source() {
        assert!(source(&config(Value::Null, Value::Null)).is_err());
        assert!(source(&config(from_json(&json!({})), Value::from("a: 1"))).is_err());
        assert_eq!(source(&config(Value::Unknown, Value::Null)).expect("one"), Source::Manifest);
    }

    #[test]
    fn objects_are_checked_with_paths() {
        let m = |j| config(from_json(&j), Value::Null);
        let ok = m(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}}));
        assert!(object(&ok).expect("valid").is_some());
        let e = object(&m(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}})))
            .expect_err("no name");
        assert!(path_of(&e).contains("metadata.name: is required"), "{e:?}");
        let e = object(&m(json!({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
            "metadata": {"name": "a", "namespace": "x"}})))
        .expect_err("cluster-scoped");
        assert!(path_of(&e).contains("cluster-scoped") && path_of(&e).contains("manifest"), "{e:?}");
        let y = config(
            Value::Null,
            Value::from("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\nkind: B\n"),
        );
        assert!(object(&y).is_err());
        let y = config(Value::Null, Value::from("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n"));
        assert_eq!(object(&y).expect("valid").expect("known").0, Source::Yaml);
        let partly = config(Value::object([("kind", Value::Unknown)]), Value::Null);
        assert!(object(&partly).expect("fine").is_none());
    }

    #[test]
    fn json_round_trips_as_hcl_literals() {
        let j = json!({"a": [1, "x", {"b": true}], "n": 2.5, "z": null});
        assert_eq!(from_json(&j).to_json_value(), j);
        assert!(matches!(from_json(&json!([1])), Value::Tuple(_)));
        assert_eq!(known_scope("v1", "ConfigMap"), Some(true));
        assert_eq!(known_scope("storage.k8s.io/v1", "StorageClass"), Some(false));
        assert_eq!(known_scope("example.com/v1", "Widget"), None);
    }
}
