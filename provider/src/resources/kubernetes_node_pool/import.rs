//! Import. The ID is the pool's `id`, `<cluster id>/<pool name>`, followed by
//! `,access=<path>`: a JSON file holding the cluster's `access` object, as
//! `terraform output -json` prints it (the same option as the manifest and add-on resources).
//!
//! Why a file: `terraform import` (1.0.3 as much as later versions) calls the provider with the
//! ID alone, so the `cluster` argument of the configuration never reaches the provider. Unlike a
//! manifest, a pool cannot be found without it, so the option is required here.
//!
//! The pool is rebuilt from the cluster's Nodes that carry its label
//! (`node-pools.cloudtemple.com/name=<pool name>`, set on every node by this provider):
//! - `nodes`: each Node's name (the hostname), InternalIP and `topology.kubernetes.io/zone`;
//! - `role`: the `node-pools.cloudtemple.com/role` label;
//! - `labels`: the labels every node of the pool carries, except those of the Kubernetes and
//!   Talos domains (`kubernetes.io`, `k8s.io` and their subdomains, `talos.dev`) and the pool's
//!   own, which are not read back;
//! - `taints`: the Node taints, except those Kubernetes manages (`node.kubernetes.io/...`); a GPU
//!   pool's default taint comes back as no `taints`;
//! - `max_unavailable`, `drain`, `config_patches` and `timeouts` come back as their defaults (1,
//!   `true`, none, none): a configuration that sets others shows them as an update in the plan
//!   after import, which applies them (a live reconfiguration, or reboots for patches that need
//!   them, as any patch change).

use super::spec::{POOL_LABEL, RESERVED_PREFIX, ROLE_LABEL, role};
use crate::kube::{Budget, KubeAccess, KubeClient};
use crate::resources::kubernetes_manifest::import::access_from_json;
use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, ListParams};
use std::collections::BTreeMap;
use std::time::Duration;
use tfplugin::{Context, Diagnostic, Value};

/// The documented form of the import ID.
pub const ID_FORMAT: &str = "<cluster id>/<pool name>,access=<path to the cluster's access JSON>";

fn bad_id(id: &str, why: impl std::fmt::Display) -> Diagnostic {
    Diagnostic::error("Invalid import ID", format!("{id:?}: {why}. The import ID is {ID_FORMAT}."))
}

/// The cluster id, pool name and access file path of an import ID.
fn parse(id: &str) -> Result<(&str, &str, &str), Diagnostic> {
    let (pool_id, rest) = id.split_once(',').ok_or_else(|| bad_id(id, "the access file is missing"))?;
    let (cluster, name) = pool_id
        .trim()
        .split_once('/')
        .filter(|(c, n)| !c.is_empty() && !n.is_empty() && !n.contains('/'))
        .ok_or_else(|| bad_id(id, "the pool is named `<cluster id>/<pool name>`"))?;
    let path = rest
        .trim()
        .strip_prefix("access=")
        .filter(|p| !p.is_empty())
        .ok_or_else(|| bad_id(id, format!("unknown option {:?}", rest.trim())))?;
    Ok((cluster, name, path))
}

/// Whether a label is the provider's, Kubernetes' or Talos' rather than the pool's `labels`.
fn system_label(key: &str) -> bool {
    let Some((domain, _)) = key.split_once('/') else { return false };
    key.starts_with(RESERVED_PREFIX)
        || ["kubernetes.io", "k8s.io", "talos.dev"]
            .iter()
            .any(|d| domain == *d || domain.ends_with(&format!(".{d}")))
}

/// What one Node says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Found {
    hostname: String,
    address: Option<String>,
    zone: Option<String>,
    role: Option<String>,
    labels: BTreeMap<String, String>,
    /// (key, value, effect).
    taints: Vec<(String, String, String)>,
}

fn found(node: &Node) -> Found {
    let labels = node.metadata.labels.clone().unwrap_or_default();
    let address = node
        .status
        .as_ref()
        .and_then(|s| s.addresses.as_ref())
        .and_then(|a| a.iter().find(|a| a.type_ == "InternalIP"))
        .map(|a| a.address.clone());
    let taints = node
        .spec
        .as_ref()
        .and_then(|s| s.taints.as_ref())
        .into_iter()
        .flatten()
        .filter(|t| !t.key.starts_with("node.kubernetes.io/"))
        .map(|t| (t.key.clone(), t.value.clone().unwrap_or_default(), t.effect.clone()))
        .collect();
    Found {
        hostname: node.metadata.name.clone().unwrap_or_default(),
        address,
        zone: labels.get("topology.kubernetes.io/zone").cloned(),
        role: labels.get(ROLE_LABEL).cloned(),
        labels: labels.into_iter().filter(|(k, _)| !system_label(k)).collect(),
        taints,
    }
}

/// The pool's attributes (but `id`, `cluster`, `name` and versions) from its nodes.
fn rebuild(pool: &str, nodes: &[Found]) -> Result<Vec<(&'static str, Value)>, String> {
    let first = nodes.first().ok_or_else(|| {
        format!(
            "no Node carries {POOL_LABEL}={pool}: the pool does not exist in this cluster, or was created by a \
             provider version that did not label its nodes (apply it once with this version first)"
        )
    })?;
    let role_name =
        first.role.clone().ok_or_else(|| format!("{} has no {ROLE_LABEL} label", first.hostname))?;
    let pool_role =
        role(&role_name).ok_or_else(|| format!("{}: unknown role {role_name:?}", first.hostname))?;
    let mut entries = Vec::new();
    for n in nodes {
        if n.role.as_deref() != Some(role_name.as_str()) {
            return Err(format!(
                "{} has role {:?}, {} has {role_name:?}",
                n.hostname, n.role, first.hostname
            ));
        }
        let address = n.address.clone().ok_or_else(|| format!("{} has no InternalIP address", n.hostname))?;
        let zone = n
            .zone
            .clone()
            .ok_or_else(|| format!("{} has no topology.kubernetes.io/zone label", n.hostname))?;
        entries.push((
            n.hostname.clone(),
            Value::object([("address", Value::from(address)), ("zone", Value::from(zone))]),
        ));
    }
    let labels: BTreeMap<String, String> = first
        .labels
        .iter()
        .filter(|(k, v)| nodes.iter().all(|n| n.labels.get(*k) == Some(*v)))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let gpu_default = [("nvidia.com/gpu".to_string(), "present".to_string(), "NoSchedule".to_string())];
    let taints = if first.taints.is_empty()
        || (pool_role == crate::talos::machine_config::NodeRole::Gpu && first.taints == gpu_default)
    {
        Value::Null
    } else {
        Value::List(
            first
                .taints
                .iter()
                .map(|(k, v, e)| {
                    Value::object([
                        ("key", Value::from(k.clone())),
                        ("value", if v.is_empty() { Value::Null } else { Value::from(v.clone()) }),
                        ("effect", Value::from(e.clone())),
                    ])
                })
                .collect(),
        )
    };
    Ok(vec![
        ("role", Value::from(role_name)),
        ("nodes", Value::map(entries)),
        (
            "labels",
            if labels.is_empty() {
                Value::Null
            } else {
                Value::map(labels.into_iter().map(|(k, v)| (k, Value::from(v))))
            },
        ),
        ("taints", taints),
    ])
}

/// The state an import starts from (`read` then fills `node_status`).
pub async fn import(ctx: &Context, field_manager: &str, id: &str) -> Result<Value, Diagnostic> {
    let (cluster_id, name, path) = parse(id)?;
    let text = std::fs::read_to_string(path).map_err(|e| bad_id(id, format!("cannot read {path}: {e}")))?;
    let json: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| bad_id(id, format!("{path} is not JSON: {e}")))?;
    let cluster = access_from_json(&json).map_err(|e| bad_id(id, format!("{path}: {e}")))?;
    let field = |k: &str| cluster.get_attr(k).and_then(Value::as_str).map(str::to_string);
    if field("cluster_id").as_deref() != Some(cluster_id) {
        return Err(bad_id(
            id,
            format!(
                "{path} is the access of cluster {:?}, not {cluster_id:?}",
                field("cluster_id").unwrap_or_default()
            ),
        ));
    }
    let client = KubeAccess::from_value(&cluster)
        .and_then(|a| KubeClient::new(&a, field_manager))
        .map_err(|e| e.to_diagnostic("Cannot reach the cluster"))?;
    let budget = Budget::new(ctx, Duration::from_secs(120));
    let api: Api<Node> = Api::all(client.raw().clone());
    let params = ListParams::default().labels(&format!("{POOL_LABEL}={name}"));
    let listed = budget
        .run("list the pool's nodes", async { api.list(&params).await.map_err(crate::kube::KubeError::from) })
        .await
        .map_err(|e| e.to_diagnostic("Cannot list the pool's nodes"))?;
    let nodes: Vec<Found> = listed.items.iter().map(found).collect();
    let attrs = rebuild(name, &nodes).map_err(|why| {
        Diagnostic::error(
            "Cannot import the node pool",
            format!("Pool {name} of cluster {cluster_id}: {why}."),
        )
    })?;
    tracing::info!(pool = %name, nodes = nodes.len(), "node pool found");
    let mut state = Value::object([
        ("id", Value::from(format!("{cluster_id}/{name}"))),
        ("name", Value::from(name)),
        ("max_unavailable", Value::from(1i64)),
        ("drain", Value::from(true)),
        ("config_patches", Value::Null),
        ("kubernetes_version", field("kubernetes_version").map_or(Value::Null, Value::from)),
        ("talos_version", field("talos_version").map_or(Value::Null, Value::from)),
        ("node_status", Value::Null),
        ("timeouts", Value::Null),
        ("cluster", cluster),
    ]);
    for (k, v) in attrs {
        let _ = state.set_attr(k, v);
    }
    Ok(state)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ids_name_the_pool_and_the_access_file() {
        assert_eq!(parse("ctdev/workers,access=./a.json").unwrap(), ("ctdev", "workers", "./a.json"));
        for bad in ["ctdev/workers", "workers,access=a", "ctdev/workers,token=x", "ctdev/a/b,access=x"] {
            let d = parse(bad).unwrap_err();
            assert!(d.detail.contains(ID_FORMAT), "{bad}: {}", d.detail);
        }
    }

    #[test]
    fn only_the_pools_own_labels_come_back() {
        assert!(system_label("kubernetes.io/hostname"));
        assert!(system_label("topology.kubernetes.io/zone"));
        assert!(system_label("node-pools.cloudtemple.com/name"));
        assert!(system_label("extensions.talos.dev/nvidia"));
        assert!(!system_label("example.com/team"));
        assert!(!system_label("team"));
    }

    fn node(name: &str, ip: &str, labels: &serde_json::Value, taints: &serde_json::Value) -> Found {
        found(
            &serde_json::from_value(json!({
                "metadata": {"name": name, "labels": labels},
                "spec": {"taints": taints},
                "status": {"addresses": [{"type": "Hostname", "address": name}, {"type": "InternalIP", "address": ip}]}
            }))
            .expect("node"),
        )
    }

    #[test]
    fn a_pool_is_rebuilt_from_its_nodes() {
        let labels = |zone: &str, extra: &str| {
            json!({"node-pools.cloudtemple.com/name": "gpu", "node-pools.cloudtemple.com/role": "gpu",
                   "topology.kubernetes.io/zone": zone, "kubernetes.io/hostname": "x", "team": "ml", "only": extra})
        };
        let gpu = json!([{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"},
                         {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}]);
        let nodes = [
            node("g1", "10.0.0.1", &labels("AZ05", "a"), &gpu),
            node("g2", "10.0.0.2", &labels("AZ06", "b"), &gpu),
        ];
        let attrs: BTreeMap<&str, Value> = rebuild("gpu", &nodes).expect("rebuilt").into_iter().collect();
        assert_eq!(attrs["role"], Value::from("gpu"));
        assert_eq!(attrs["labels"], Value::map([("team".to_string(), Value::from("ml"))]));
        assert_eq!(attrs["taints"], Value::Null, "the GPU default taint is no `taints`");
        let g2 = attrs["nodes"].as_map().unwrap()["g2"].clone();
        assert_eq!(g2.get_attr("address"), Some(&Value::from("10.0.0.2")));
        assert_eq!(g2.get_attr("zone"), Some(&Value::from("AZ06")));

        let worker =
            json!({"node-pools.cloudtemple.com/role": "worker", "topology.kubernetes.io/zone": "AZ05"});
        let tainted = node("w1", "10.0.0.3", &worker, &json!([{"key": "dedicated", "effect": "NoExecute"}]));
        let attrs: BTreeMap<&str, Value> = rebuild("w", &[tainted]).expect("rebuilt").into_iter().collect();
        assert_eq!(attrs["labels"], Value::Null);
        let taint = &attrs["taints"].as_list().unwrap()[0];
        assert_eq!(taint.get_attr("value"), Some(&Value::Null));
        assert!(rebuild("none", &[]).unwrap_err().contains("no Node carries"));
    }
}
