//! Changes Kubernetes refuses to make in place, found at plan by comparing the objects the
//! prior and the planned configuration render: a PersistentVolumeClaim's storage class, a
//! StorageClass's parameters, a workload's selector. Without this check the plan would look
//! fine and the apply would stop half-way on the API server's 422, with part of the add-on
//! already updated.

use serde_json::Value as Json;

/// Paths the API server refuses to change, per kind (top-level path segments).
const IMMUTABLE: &[(&str, &[&[&str]])] = &[
    (
        "PersistentVolumeClaim",
        &[
            &["spec", "storageClassName"],
            &["spec", "accessModes"],
            &["spec", "volumeMode"],
            &["spec", "volumeName"],
        ],
    ),
    ("StorageClass", &[&["provisioner"], &["parameters"], &["reclaimPolicy"], &["volumeBindingMode"]]),
    ("Deployment", &[&["spec", "selector"]]),
    ("DaemonSet", &[&["spec", "selector"]]),
    ("StatefulSet", &[&["spec", "selector"], &["spec", "volumeClaimTemplates"], &["spec", "serviceName"]]),
    ("Job", &[&["spec", "selector"], &["spec", "template"]]),
];

/// One refused change: the object (`Kind namespace/name`) and the field (`.spec.storageClassName`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImmutableChange {
    /// The object, as `Kind namespace/name` (or `Kind name` when cluster-scoped).
    pub object: String,
    /// The field, as a dotted path.
    pub field: String,
}

impl std::fmt::Display for ImmutableChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.object, self.field)
    }
}

fn identity(o: &Json) -> Option<(&str, &str, Option<&str>, &str)> {
    Some((
        o.get("apiVersion")?.as_str()?,
        o.get("kind")?.as_str()?,
        o.pointer("/metadata/namespace").and_then(Json::as_str),
        o.pointer("/metadata/name")?.as_str()?,
    ))
}

fn at<'a>(o: &'a Json, path: &[&str]) -> Option<&'a Json> {
    path.iter().try_fold(o, |v, key| v.get(key))
}

/// The immutable fields that differ between objects present in both renderings. Objects that
/// appear or disappear are created or pruned, which is always possible.
pub fn immutable_changes(prior: &[Json], planned: &[Json]) -> Vec<ImmutableChange> {
    let mut changes = Vec::new();
    for new in planned {
        let Some(id) = identity(new) else { continue };
        let Some(old) = prior.iter().find(|o| identity(o) == Some(id)) else { continue };
        let Some((_, paths)) = IMMUTABLE.iter().find(|(kind, _)| *kind == id.1) else { continue };
        for path in *paths {
            if at(old, path) != at(new, path) {
                let object = match id.2 {
                    Some(ns) => format!("{} {ns}/{}", id.1, id.3),
                    None => format!("{} {}", id.1, id.3),
                };
                changes.push(ImmutableChange { object, field: format!(".{}", path.join(".")) });
            }
        }
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pvc(class: &str) -> Json {
        json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
               "metadata": {"name": "grafana", "namespace": "monitoring"},
               "spec": {"storageClassName": class, "accessModes": ["ReadWriteOnce"],
                        "resources": {"requests": {"storage": "10Gi"}}}})
    }

    #[test]
    fn a_claim_moved_to_another_storage_class_is_refused() {
        let changes = immutable_changes(&[pvc("ceph-block")], &[pvc("ceph-block-norepl")]);
        assert_eq!(
            changes,
            [ImmutableChange {
                object: "PersistentVolumeClaim monitoring/grafana".into(),
                field: ".spec.storageClassName".into()
            }]
        );
    }

    #[test]
    fn mutable_fields_new_and_pruned_objects_pass() {
        let mut bigger = pvc("ceph-block");
        bigger["spec"]["resources"]["requests"]["storage"] = json!("20Gi");
        assert!(immutable_changes(&[pvc("ceph-block")], &[bigger]).is_empty(), "a claim may grow");
        let mut renamed = pvc("ceph-filesystem");
        renamed["metadata"]["name"] = json!("grafana-v2");
        assert!(immutable_changes(&[pvc("ceph-block")], &[renamed]).is_empty(), "a new claim is created");
        assert!(immutable_changes(&[pvc("ceph-block")], &[]).is_empty(), "a dropped claim is pruned");
    }

    #[test]
    fn storage_class_parameters_and_selectors_are_refused() {
        let class = |pool: &str| {
            json!({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "ceph-block"},
                   "provisioner": "rook-ceph.rbd.csi.ceph.com", "parameters": {"pool": pool}})
        };
        let deploy = |app: &str| {
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "a"},
                   "spec": {"selector": {"matchLabels": {"app": app}}, "replicas": 1}})
        };
        let changes =
            immutable_changes(&[class("replicapool"), deploy("web")], &[class("other"), deploy("web2")]);
        let text: Vec<String> = changes.iter().map(ToString::to_string).collect();
        assert_eq!(text, ["StorageClass ceph-block .parameters", "Deployment a/web .spec.selector"]);
    }
}
