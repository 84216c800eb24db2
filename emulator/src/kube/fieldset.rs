//! Field paths and sets as server-side apply tracks them (`managedFields[].fieldsV1`): which leaves
//! and list items of an object a manager owns. Lists of built-in kinds are associative (keyed by
//! `name`, `containerPort`+`protocol`, ...) or sets (`finalizers`) as in the upstream schemas;
//! every other list is atomic, as it is for CRDs without list annotations.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

/// One step of a path.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PathElement {
    /// A field of an object (`f:spec`).
    Field(String),
    /// An item of an associative list, by its key fields as sorted JSON (`k:{"name":"web"}`).
    Key(String),
    /// An item of a set-list, by its value as JSON (`v:"kubernetes"`).
    Value(String),
}

/// A path from the object root.
pub type Path = Vec<PathElement>;

/// A set of owned paths.
pub type FieldSet = BTreeSet<Path>;

/// Key fields of associative lists, by list field name; the first candidate whose first key is
/// present in every item applies.
fn list_keys(field: &str) -> &'static [&'static [&'static str]] {
    match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "env"
        | "volumes"
        | "imagePullSecrets"
        | "resourceClaims"
        | "webhooks" => &[&["name"]],
        "volumeMounts" => &[&["mountPath"]],
        "volumeDevices" => &[&["devicePath"]],
        "ports" => &[&["containerPort", "protocol"], &["port", "protocol"]],
        "conditions" => &[&["type"]],
        "ownerReferences" => &[&["uid"]],
        "hostAliases" => &[&["ip"]],
        "topologySpreadConstraints" => &[&["topologyKey", "whenUnsatisfiable"]],
        _ => &[],
    }
}

/// The key fields of a list at `field` holding `items`, if it is associative.
pub(crate) fn associative_keys(field: &str, items: &[Value]) -> Option<&'static [&'static str]> {
    list_keys(field)
        .iter()
        .copied()
        .find(|keys| items.iter().all(|i| i.get(keys[0]).is_some_and(|v| !v.is_null())))
        .filter(|_| !items.is_empty() && items.iter().all(Value::is_object))
}

/// Whether a list at `field` is a set of scalars (only `finalizers` among the kinds we model).
pub(crate) fn is_set_list(field: &str, items: &[Value]) -> bool {
    field == "finalizers" && items.iter().all(|i| i.is_string())
}

/// The key element of an associative list item (a missing `protocol` counts as TCP, its default).
pub(crate) fn item_key(item: &Value, keys: &[&str]) -> PathElement {
    let mut parts = Vec::new();
    let mut sorted: Vec<&str> = keys.to_vec();
    sorted.sort_unstable();
    for k in sorted {
        let v = match item.get(k) {
            Some(v) if !v.is_null() => v.clone(),
            _ if k == "protocol" => Value::String("TCP".into()),
            _ => continue,
        };
        parts.push(format!("{}:{}", Value::String(k.to_owned()), v));
    }
    PathElement::Key(format!("{{{}}}", parts.join(",")))
}

/// Fields never tracked: identity and bookkeeping the server owns.
fn ignored(path: &[PathElement]) -> bool {
    match path {
        [PathElement::Field(f)] => f == "apiVersion" || f == "kind",
        [PathElement::Field(m), PathElement::Field(f)] if m == "metadata" => matches!(
            f.as_str(),
            "name"
                | "namespace"
                | "uid"
                | "resourceVersion"
                | "generation"
                | "creationTimestamp"
                | "deletionTimestamp"
                | "deletionGracePeriodSeconds"
                | "managedFields"
                | "selfLink"
        ),
        _ => false,
    }
}

/// Which part of an object a write may touch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Everything (kinds without a status subresource).
    Whole,
    /// Everything but `status` (main resource of a kind with a status subresource).
    NoStatus,
    /// Only `status` (the status subresource).
    StatusOnly,
}

impl Scope {
    fn admits(self, path: &[PathElement]) -> bool {
        let is_status = matches!(path.first(), Some(PathElement::Field(f)) if f == "status");
        match self {
            Self::Whole => true,
            Self::NoStatus => !is_status,
            Self::StatusOnly => is_status || path.is_empty(),
        }
    }
}

/// Every tracked member of an object with its value (list-item markers map to `null`).
pub fn members(obj: &Value, scope: Scope) -> BTreeMap<Path, Value> {
    let mut out = BTreeMap::new();
    let mut path = Vec::new();
    walk(obj, &mut path, scope, &mut out);
    out
}

fn walk(v: &Value, path: &mut Path, scope: Scope, out: &mut BTreeMap<Path, Value>) {
    if ignored(path) || !scope.admits(path) {
        return;
    }
    match v {
        Value::Object(m) if !m.is_empty() || path.is_empty() => {
            for (k, child) in m {
                if child.is_null() {
                    continue;
                }
                path.push(PathElement::Field(k.clone()));
                walk(child, path, scope, out);
                path.pop();
            }
        }
        Value::Array(items) => {
            let field = match path.last() {
                Some(PathElement::Field(f)) => f.clone(),
                _ => String::new(),
            };
            if let Some(keys) = associative_keys(&field, items) {
                for item in items {
                    path.push(item_key(item, keys));
                    out.insert(path.clone(), Value::Null);
                    walk(item, path, scope, out);
                    path.pop();
                }
            } else if is_set_list(&field, items) {
                for item in items {
                    path.push(PathElement::Value(item.to_string()));
                    out.insert(path.clone(), item.clone());
                    path.pop();
                }
            } else {
                out.insert(path.clone(), v.clone());
            }
        }
        _ => {
            out.insert(path.clone(), v.clone());
        }
    }
}

/// Paths whose value differs between two objects (added, removed or modified).
pub fn changed(old: &BTreeMap<Path, Value>, new: &BTreeMap<Path, Value>) -> FieldSet {
    let mut out: FieldSet =
        old.iter().filter(|(p, v)| new.get(*p) != Some(*v)).map(|(p, _)| p.clone()).collect();
    out.extend(new.keys().filter(|p| !old.contains_key(*p)).cloned());
    out
}

fn element_key(e: &PathElement) -> String {
    match e {
        PathElement::Field(f) => format!("f:{f}"),
        PathElement::Key(k) => format!("k:{k}"),
        PathElement::Value(v) => format!("v:{v}"),
    }
}

fn parse_element(s: &str) -> Option<PathElement> {
    let (kind, rest) = s.split_at_checked(2)?;
    match kind {
        "f:" => Some(PathElement::Field(rest.to_owned())),
        "k:" => Some(PathElement::Key(rest.to_owned())),
        "v:" => Some(PathElement::Value(rest.to_owned())),
        _ => None,
    }
}

/// Renders a set as `fieldsV1` (nested `f:`/`k:`/`v:` objects, `.` for members with children).
pub fn to_fields_v1(set: &FieldSet) -> Value {
    #[derive(Default)]
    struct Node {
        member: bool,
        children: BTreeMap<String, Node>,
    }
    fn render(n: &Node) -> Value {
        let mut m = Map::new();
        if n.member && !n.children.is_empty() {
            m.insert(".".into(), Value::Object(Map::new()));
        }
        for (k, c) in &n.children {
            m.insert(k.clone(), render(c));
        }
        Value::Object(m)
    }
    let mut root = Node::default();
    for path in set {
        let mut node = &mut root;
        for e in path {
            node = node.children.entry(element_key(e)).or_default();
        }
        node.member = true;
    }
    render(&root)
}

/// Parses `fieldsV1` back into a set (unknown element kinds are skipped).
pub fn from_fields_v1(v: &Value) -> FieldSet {
    fn go(v: &Value, path: &mut Path, out: &mut FieldSet) {
        let Some(m) = v.as_object() else { return };
        if m.is_empty() && !path.is_empty() {
            out.insert(path.clone());
        }
        for (k, child) in m {
            if k == "." {
                out.insert(path.clone());
            } else if let Some(e) = parse_element(k) {
                path.push(e);
                go(child, path, out);
                path.pop();
            }
        }
    }
    let mut out = FieldSet::new();
    go(v, &mut Vec::new(), &mut out);
    out
}

/// A path as conflict messages print it: `.spec.containers[name="web"].image`.
pub fn display(path: &[PathElement]) -> String {
    let mut s = String::new();
    for e in path {
        match e {
            PathElement::Field(f) => {
                s.push('.');
                s.push_str(f);
            }
            PathElement::Key(k) => {
                let fields: Map<String, Value> = serde_json::from_str(k).unwrap_or_default();
                let inner: Vec<String> = fields.iter().map(|(k, v)| format!("{k}={v}")).collect();
                s.push_str(&format!("[{}]", inner.join(",")));
            }
            PathElement::Value(v) => s.push_str(&format!("[={v}]")),
        }
    }
    s
}

/// Whether `prefix` is a (non-strict) prefix of `path`.
pub(crate) fn is_prefix(prefix: &[PathElement], path: &[PathElement]) -> bool {
    path.len() >= prefix.len() && path[..prefix.len()] == *prefix
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn members_follow_list_semantics_and_skip_bookkeeping() {
        let obj = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "labels": {"app": "web"}, "finalizers": ["a"]},
            "spec": {"replicas": 2, "template": {"spec": {"containers": [
                {"name": "web", "image": "nginx", "ports": [{"containerPort": 80}], "args": ["-v"]}]}}},
            "status": {"replicas": 2}});
        let m = members(&obj, Scope::NoStatus);
        let shown: Vec<String> = m.keys().map(|p| display(p)).collect();
        assert!(shown.contains(&".spec.replicas".to_owned()));
        assert!(shown.contains(&".spec.template.spec.containers[name=\"web\"].image".to_owned()));
        assert!(
            shown.contains(
                &".spec.template.spec.containers[name=\"web\"].ports[containerPort=80,protocol=\"TCP\"]"
                    .to_owned()
            )
        );
        assert!(shown.contains(&".spec.template.spec.containers[name=\"web\"].args".to_owned()));
        assert!(shown.contains(&".metadata.finalizers[=\"a\"]".to_owned()));
        assert!(!shown.iter().any(|s| s.starts_with(".status") || s == ".metadata.name" || s == ".kind"));
    }

    #[test]
    fn fields_v1_round_trips_with_dot_markers() {
        let obj = json!({"spec": {"containers": [{"name": "web", "image": "nginx"}]}, "metadata": {"labels": {"a": "b"}}});
        let set: FieldSet = members(&obj, Scope::Whole).into_keys().collect();
        let v1 = to_fields_v1(&set);
        assert_eq!(v1["f:spec"]["f:containers"]["k:{\"name\":\"web\"}"]["."], json!({}));
        assert_eq!(v1["f:metadata"]["f:labels"]["f:a"], json!({}));
        assert_eq!(from_fields_v1(&v1), set);
    }
}
