//! Object identity ([`ObjectRef`]), the inventory of a set of applied objects, and the order
//! objects are applied and deleted in.

use super::error::KubeError;
use serde_json::Value;
use std::fmt;

/// Separator of the parts of an object ID: `apiVersion` contains `/`, so a double slash keeps
/// the ID unambiguous.
const SEP: &str = "//";

/// Which object: apiVersion, kind, namespace and name.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectRef {
    /// `apiVersion` (`v1`, `apps/v1`).
    pub api_version: String,
    /// `kind`.
    pub kind: String,
    /// Namespace; `None` for cluster-scoped kinds (or not resolved yet).
    pub namespace: Option<String>,
    /// `metadata.name`.
    pub name: String,
}

fn required<'a>(obj: &'a Value, pointer: &str, path: &str) -> Result<&'a str, KubeError> {
    match obj.pointer(pointer) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s),
        Some(Value::String(_)) => {
            Err(KubeError::InvalidObject { path: path.into(), reason: "must not be empty".into() })
        }
        None | Some(Value::Null) => {
            Err(KubeError::InvalidObject { path: path.into(), reason: "is required".into() })
        }
        Some(_) => Err(KubeError::InvalidObject { path: path.into(), reason: "must be a string".into() }),
    }
}

impl ObjectRef {
    /// The identity of `obj`; the error names the missing or mistyped field.
    pub fn from_object(obj: &Value) -> Result<Self, KubeError> {
        if !obj.is_object() {
            return Err(KubeError::InvalidObject { path: String::new(), reason: "must be an object".into() });
        }
        let namespace = match obj.pointer("/metadata/namespace") {
            None | Some(Value::Null) => None,
            Some(_) => Some(required(obj, "/metadata/namespace", "metadata.namespace")?.to_string()),
        };
        Ok(Self {
            api_version: required(obj, "/apiVersion", "apiVersion")?.to_string(),
            kind: required(obj, "/kind", "kind")?.to_string(),
            namespace,
            name: required(obj, "/metadata/name", "metadata.name")?.to_string(),
        })
    }

    /// `<apiVersion>//<Kind>//<namespace>//<name>`, or `<apiVersion>//<Kind>//<name>` for a
    /// cluster-scoped object.
    pub fn to_id(&self) -> String {
        match &self.namespace {
            Some(ns) => [self.api_version.as_str(), &self.kind, ns, &self.name].join(SEP),
            None => [self.api_version.as_str(), &self.kind, &self.name].join(SEP),
        }
    }

    /// Parses [`ObjectRef::to_id`]'s form (an empty namespace part means cluster-scoped).
    pub fn parse_id(id: &str) -> Result<Self, KubeError> {
        let parts: Vec<&str> = id.split(SEP).collect();
        let bad = |reason: &str| KubeError::InvalidObject {
            path: "id".into(),
            reason: format!("{id:?}: {reason}"),
        };
        let (api_version, kind, namespace, name) = match parts.as_slice() {
            [a, k, n] => (a, k, None, n),
            [a, k, ns, n] => (a, k, (!ns.is_empty()).then(|| ns.to_string()), n),
            _ => {
                return Err(bad(
                    "expected <apiVersion>//<Kind>//<namespace>//<name> or <apiVersion>//<Kind>//<name>",
                ));
            }
        };
        if [api_version, kind, name].iter().any(|p| p.is_empty()) {
            return Err(bad("apiVersion, kind and name must not be empty"));
        }
        Ok(Self {
            api_version: api_version.to_string(),
            kind: kind.to_string(),
            namespace,
            name: name.to_string(),
        })
    }

    /// API group (`""` for the core group).
    pub fn group(&self) -> &str {
        group_of(&self.api_version)
    }

    /// Where the object comes in the apply order (lower first); deletes run in reverse.
    pub fn apply_rank(&self) -> u8 {
        apply_rank(self.group(), &self.kind)
    }
}

impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_id())
    }
}

/// API group of an apiVersion.
pub fn group_of(api_version: &str) -> &str {
    api_version.rsplit_once('/').map_or("", |(g, _)| g)
}

/// Namespaces first, then CRDs (whose kinds later objects may use), then everything else.
pub fn apply_rank(group: &str, kind: &str) -> u8 {
    match (group, kind) {
        ("", "Namespace") => 0,
        ("apiextensions.k8s.io", "CustomResourceDefinition") => 1,
        _ => 2,
    }
}

/// The objects a set manages, in apply order; stored in state as a list of IDs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Inventory(pub Vec<ObjectRef>);

impl Inventory {
    /// The inventory of what was applied.
    pub fn from_applied(applied: &[super::Applied]) -> Self {
        Self(applied.iter().map(|a| a.reference.clone()).collect())
    }

    /// The IDs, for state.
    pub fn ids(&self) -> Vec<String> {
        self.0.iter().map(ObjectRef::to_id).collect()
    }

    /// Back from state.
    pub fn from_ids<S: AsRef<str>>(ids: &[S]) -> Result<Self, KubeError> {
        ids.iter().map(|s| ObjectRef::parse_id(s.as_ref())).collect::<Result<_, _>>().map(Self)
    }

    /// Objects in `self` but not in `other`.
    pub fn minus(&self, other: &Self) -> Vec<ObjectRef> {
        self.0.iter().filter(|r| !other.0.contains(r)).cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ids_round_trip_and_name_what_is_missing() {
        let cm = ObjectRef::from_object(&json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "a", "namespace": "team"}}))
        .expect("valid");
        assert_eq!(cm.to_id(), "v1//ConfigMap//team//a");
        assert_eq!(ObjectRef::parse_id(&cm.to_id()).expect("parse"), cm);
        let sc = ObjectRef::parse_id("storage.k8s.io/v1//StorageClass//fast").expect("parse");
        assert_eq!((sc.group(), sc.namespace.as_deref()), ("storage.k8s.io", None));
        assert_eq!(ObjectRef::parse_id("storage.k8s.io/v1//StorageClass////fast").expect("parse"), sc);
        assert!(ObjectRef::parse_id("v1/ConfigMap/a").is_err());
        assert!(ObjectRef::parse_id("v1////a").is_err());
        let err = ObjectRef::from_object(&json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}}))
            .expect_err("no name");
        assert!(matches!(err, KubeError::InvalidObject { ref path, .. } if path == "metadata.name"), "{err}");
        let err = ObjectRef::from_object(&json!({"kind": "ConfigMap"})).expect_err("no apiVersion");
        assert!(matches!(err, KubeError::InvalidObject { ref path, .. } if path == "apiVersion"), "{err}");
    }

    #[test]
    fn namespaces_then_crds_then_the_rest_and_minus() {
        let r = |id: &str| ObjectRef::parse_id(id).expect("id");
        assert!(
            r("v1//Namespace//a").apply_rank()
                < r("apiextensions.k8s.io/v1//CustomResourceDefinition//x.y").apply_rank()
        );
        assert!(
            r("apiextensions.k8s.io/v1//CustomResourceDefinition//x.y").apply_rank()
                < r("y/v1//X//ns//a").apply_rank()
        );
        let old = Inventory(vec![r("v1//ConfigMap//ns//a"), r("v1//ConfigMap//ns//b")]);
        let new = Inventory::from_ids(&["v1//ConfigMap//ns//b"]).expect("ids");
        assert_eq!(old.minus(&new), vec![r("v1//ConfigMap//ns//a")]);
        assert_eq!(new.ids(), vec!["v1//ConfigMap//ns//b".to_string()]);
    }
}
