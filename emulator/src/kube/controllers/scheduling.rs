//! Which Ready nodes a pod fits on: its `nodeSelector` must match the node's labels and its
//! tolerations must cover the node's NoSchedule/NoExecute taints (how control planes are kept
//! free of ordinary workloads).

use serde_json::{Map, Value};

use crate::kube::meta::{labels, meta_str};
use crate::kube::store::Txn;

/// What scheduling needs to know about a node.
#[derive(Debug, Clone, Default)]
pub(crate) struct NodeFit {
    pub name: String,
    pub labels: Map<String, Value>,
    pub taints: Vec<Value>,
    pub internal_ip: Option<String>,
}

impl NodeFit {
    /// Whether a pod with this spec may run here.
    pub(crate) fn fits(&self, pod_spec: &Value) -> bool {
        let selector = pod_spec.get("nodeSelector").and_then(Value::as_object).cloned().unwrap_or_default();
        let tolerations = pod_spec.get("tolerations").and_then(Value::as_array).cloned().unwrap_or_default();
        selector.iter().all(|(k, v)| self.labels.get(k) == Some(v))
            && self.taints.iter().all(|t| tolerated(t, &tolerations))
    }
}

/// The Ready, schedulable nodes, by name.
pub(crate) fn ready_nodes(txn: &Txn<'_>) -> Vec<NodeFit> {
    txn.list("", "nodes", None)
        .into_iter()
        .map(|(_, n)| n)
        .filter(|n| {
            n.pointer("/status/conditions")
                .and_then(Value::as_array)
                .is_some_and(|c| c.iter().any(|c| c["type"] == "Ready" && c["status"] == "True"))
                && n.pointer("/spec/unschedulable").and_then(Value::as_bool) != Some(true)
        })
        .map(|n| NodeFit {
            name: meta_str(n, "name").unwrap_or_default().to_owned(),
            labels: labels(n),
            taints: n.pointer("/spec/taints").and_then(Value::as_array).cloned().unwrap_or_default(),
            internal_ip: n
                .pointer("/status/addresses")
                .and_then(Value::as_array)
                .and_then(|a| a.iter().find(|x| x["type"] == "InternalIP"))
                .and_then(|x| x["address"].as_str())
                .map(str::to_owned),
        })
        .collect()
}

fn tolerated(taint: &Value, tolerations: &[Value]) -> bool {
    let effect = taint["effect"].as_str().unwrap_or_default();
    if effect == "PreferNoSchedule" {
        return true;
    }
    tolerations.iter().any(|tol| {
        let operator = tol.get("operator").and_then(Value::as_str);
        let key_ok = match tol.get("key").and_then(Value::as_str) {
            None | Some("") => operator == Some("Exists"),
            Some(k) => k == taint["key"].as_str().unwrap_or_default(),
        };
        let value_ok = operator == Some("Exists")
            || tol.get("value").and_then(Value::as_str).unwrap_or_default()
                == taint["value"].as_str().unwrap_or_default();
        let effect_ok = tol.get("effect").and_then(Value::as_str).is_none_or(|e| e.is_empty() || e == effect);
        key_ok && value_ok && effect_ok
    })
}
