//! What the kubelets of a cluster write to its API: their Node (registered on the first boot
//! with a configuration, refreshed after every change, removed once the machine left the
//! cluster) and, on control planes, the mirror pods of the static pods they run
//! (`kube-apiserver-<node>`, `kube-controller-manager-<node>`, `kube-scheduler-<node>`).

use serde_json::{Value, json};

use super::view::{ClusterView, NodePlan};
use crate::kube::meta::{self, meta_str};
use crate::kube::{ApiServer, KubeError, ObjectKey};

/// The control plane components Talos runs as static pods, labelled `k8s-app=<name>`.
pub(crate) const STATIC_PODS: [&str; 3] = ["kube-apiserver", "kube-controller-manager", "kube-scheduler"];

/// The first InternalIP of a Node.
pub(crate) fn internal_ip(node: &Value) -> Option<&str> {
    node.pointer("/status/addresses")?
        .as_array()?
        .iter()
        .find(|a| a["type"] == "InternalIP")
        .and_then(|a| a["address"].as_str())
}

/// Brings the Nodes and mirror pods in line with the machines (only while etcd has quorum:
/// without it no kubelet can write).
///
/// # Errors
/// [`KubeError::State`] when the store cannot persist a change.
pub(crate) fn sync(server: &ApiServer, view: &ClusterView) -> Result<(), KubeError> {
    let existing: Vec<(String, Option<String>)> = server
        .store()
        .list("", "nodes", None)
        .iter()
        .filter_map(|n| Some((meta_str(n, "name")?.to_owned(), internal_ip(n).map(str::to_owned))))
        .collect();
    for plan in &view.nodes {
        if plan.kubelet_running || existing.iter().any(|(name, _)| *name == plan.info.name) {
            server.upsert_node_info(&plan.info)?;
        }
    }
    for (name, ip) in &existing {
        let ours = ip.as_ref().is_some_and(|ip| view.region_ips.contains(ip));
        if ours && !view.nodes.iter().any(|p| p.info.name == *name) {
            tracing::info!(cluster = %view.name, node = %name, "machine left the cluster: Node removed");
            server.remove_node(name)?;
        }
    }
    sync_static_pods(server, view)
}

fn mirror_pod(plan: &NodePlan, app: &str, node_uid: &str) -> Value {
    let node = &plan.info.name;
    let ip = plan.info.internal_ip.clone().unwrap_or_default();
    let image = format!("registry.k8s.io/{app}:{}", plan.control_plane_version);
    json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": format!("{app}-{node}"), "namespace": "kube-system", "uid": meta::new_uid(),
            "creationTimestamp": meta::now_rfc3339(),
            "labels": {"k8s-app": app, "tier": "control-plane"},
            "annotations": {"kubernetes.io/config.mirror": meta::new_uid(), "kubernetes.io/config.source": "file"},
            "ownerReferences": [{"apiVersion": "v1", "kind": "Node", "name": node, "uid": node_uid, "controller": true}]},
        "spec": {"nodeName": node, "hostNetwork": true, "priorityClassName": "system-node-critical",
            "priority": 2_000_001_000, "restartPolicy": "Always",
            "tolerations": [{"operator": "Exists", "effect": "NoExecute"}],
            "containers": [{"name": app, "image": image, "imagePullPolicy": "IfNotPresent"}]},
        "status": {"phase": "Running", "hostIP": ip, "podIP": ip, "qosClass": "Burstable"}})
}

/// The status of a mirror pod whose node is (not) ready, keeping transition times.
fn mirror_status(pod: &mut Value, plan: &NodePlan, app: &str) {
    let ready = if plan.info.ready { "True" } else { "False" };
    let old = pod.pointer("/status/conditions/1").cloned();
    let since = match old {
        Some(c) if c["status"] == ready => c["lastTransitionTime"].clone(),
        _ => json!(meta::now_rfc3339()),
    };
    let image = format!("registry.k8s.io/{app}:{}", plan.control_plane_version);
    pod["spec"]["containers"][0]["image"] = json!(image);
    pod["status"]["conditions"] = json!([
        {"type": "PodScheduled", "status": "True", "lastTransitionTime": pod["metadata"]["creationTimestamp"]},
        {"type": "Ready", "status": ready, "lastTransitionTime": since},
        {"type": "ContainersReady", "status": ready, "lastTransitionTime": since}]);
    pod["status"]["containerStatuses"] = json!([{"name": app, "image": image, "ready": plan.info.ready,
        "started": plan.info.ready, "restartCount": 0,
        "state": {"running": {"startedAt": pod["metadata"]["creationTimestamp"]}}}]);
}

fn sync_static_pods(server: &ApiServer, view: &ClusterView) -> Result<(), KubeError> {
    server.store().transact(|t| {
        let mut wanted = Vec::new();
        for plan in view.nodes.iter().filter(|p| p.control_plane) {
            let node_key = ObjectKey::new("", "nodes", "", &plan.info.name);
            let Some(node_uid) = t.get(&node_key).and_then(|n| meta_str(n, "uid")).map(str::to_owned) else {
                continue;
            };
            for app in STATIC_PODS {
                let key = ObjectKey::new("", "pods", "kube-system", &format!("{app}-{}", plan.info.name));
                let old = t.get(&key).cloned();
                let mut pod = old.clone().unwrap_or_else(|| mirror_pod(plan, app, &node_uid));
                mirror_status(&mut pod, plan, app);
                if old.as_ref() != Some(&pod) {
                    t.put(&key, pod)?;
                }
                wanted.push(key);
            }
        }
        let stale: Vec<ObjectKey> = t
            .list("", "pods", Some("kube-system"))
            .into_iter()
            .filter(|(k, p)| {
                p.pointer("/metadata/annotations/kubernetes.io~1config.mirror").is_some()
                    && !wanted.contains(k)
            })
            .map(|(k, _)| k.clone())
            .collect();
        for key in stale {
            t.delete(&key)?;
        }
        Ok(())
    })
}
