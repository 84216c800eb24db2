//! Pods behind the workloads, so `kubectl get pods` shows what a cluster would run: each
//! Deployment gets a ReplicaSet per pod template (older ones scaled to zero), ReplicaSets and
//! StatefulSets get their replicas as Pods, DaemonSets one Pod per fitting node. Pods are placed
//! on fitting Ready nodes and turn Running after the workload delay. Dependents carry
//! ownerReferences, so deleting a workload removes its pods.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::scheduling::{NodeFit, ready_nodes};
use super::{Clock, Timings};
use crate::kube::lifecycle::{self, Propagation};
use crate::kube::meta::{self, meta_str};
use crate::kube::store::{ObjectKey, Txn};

fn owner_ref(api_version: &str, kind: &str, owner: &Value) -> Value {
    json!({"apiVersion": api_version, "kind": kind, "name": meta_str(owner, "name"), "uid": meta_str(owner, "uid"),
           "controller": true, "blockOwnerDeletion": true})
}

fn owned_by<'a>(
    txn: &'a Txn<'_>,
    group: &str,
    resource: &str,
    ns: &str,
    uid: &str,
) -> Vec<(ObjectKey, &'a Value)> {
    txn.list(group, resource, Some(ns))
        .into_iter()
        .filter(|(_, o)| {
            o.pointer("/metadata/ownerReferences")
                .and_then(Value::as_array)
                .is_some_and(|r| r.iter().any(|r| r["uid"].as_str() == Some(uid)))
        })
        .map(|(k, o)| (k.clone(), o))
        .collect()
}

/// The `pod-template-hash` of a template (10 characters, as ReplicaSet names carry).
fn template_hash(template: &Value) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    Sha256::digest(template.to_string().as_bytes())
        .iter()
        .take(10)
        .map(|b| char::from(ALPHABET[usize::from(*b) % 27]))
        .collect()
}

pub(super) fn reconcile(txn: &mut Txn<'_>, clock: &Clock, t: &Timings) {
    let nodes = ready_nodes(txn);
    deployments(txn);
    for (resource, kind) in
        [("replicasets", "ReplicaSet"), ("statefulsets", "StatefulSet"), ("daemonsets", "DaemonSet")]
    {
        let owners: Vec<Value> =
            txn.list("apps", resource, None).into_iter().map(|(_, o)| o.clone()).collect();
        for owner in owners.iter().filter(|o| meta_str(o, "deletionTimestamp").is_none()) {
            scale_pods(txn, owner, kind, &nodes);
        }
    }
    run_pods(txn, clock, t);
}

/// One ReplicaSet per Deployment pod template; the current one has the Deployment's replicas.
fn deployments(txn: &mut Txn<'_>) {
    let items: Vec<(ObjectKey, Value)> =
        txn.list("apps", "deployments", None).into_iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    for (key, d) in items.iter().filter(|(_, d)| meta_str(d, "deletionTimestamp").is_none()) {
        let uid = meta_str(d, "uid").unwrap_or_default();
        let mut template = d.pointer("/spec/template").cloned().unwrap_or(json!({}));
        let hash = template_hash(&template);
        template["metadata"]["labels"]["pod-template-hash"] = json!(hash);
        let name = format!("{}-{hash}", key.name);
        let replicas = d.pointer("/spec/replicas").cloned().unwrap_or(json!(1));
        let stale: Vec<(ObjectKey, Value)> = owned_by(txn, "apps", "replicasets", &key.namespace, uid)
            .into_iter()
            .filter(|(k, rs)| {
                k.name != name && rs.pointer("/spec/replicas").and_then(Value::as_i64) != Some(0)
            })
            .map(|(k, rs)| (k, rs.clone()))
            .collect();
        for (k, mut rs) in stale {
            rs["spec"]["replicas"] = json!(0);
            let _ = txn.put(&k, rs);
        }
        let rs_key = ObjectKey::new("apps", "replicasets", &key.namespace, &name);
        let mut selector = d.pointer("/spec/selector").cloned().unwrap_or(json!({"matchLabels": {}}));
        selector["matchLabels"]["pod-template-hash"] = json!(hash);
        let labels = template.pointer("/metadata/labels").cloned().unwrap_or(json!({}));
        let current = txn.get(&rs_key).cloned();
        let mut rs = current.clone().unwrap_or_else(|| {
            json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": name, "namespace": key.namespace,
                "uid": meta::new_uid(), "creationTimestamp": meta::now_rfc3339(), "generation": 1, "labels": labels,
                "ownerReferences": [owner_ref("apps/v1", "Deployment", d)]}})
        });
        rs["spec"] = json!({"replicas": replicas, "selector": selector, "template": template});
        if current.as_ref() != Some(&rs) {
            let _ = txn.put(&rs_key, rs);
        }
    }
}

/// Creates or removes Pods so that an owner has what its spec asks for.
fn scale_pods(txn: &mut Txn<'_>, owner: &Value, kind: &str, nodes: &[NodeFit]) {
    let ns = meta_str(owner, "namespace").unwrap_or_default().to_owned();
    let name = meta_str(owner, "name").unwrap_or_default().to_owned();
    let uid = meta_str(owner, "uid").unwrap_or_default().to_owned();
    let template = owner.pointer("/spec/template").cloned().unwrap_or(json!({}));
    let spec = template.get("spec").cloned().unwrap_or(json!({}));
    let fitting: Vec<&NodeFit> = nodes.iter().filter(|n| n.fits(&spec)).collect();
    let existing: Vec<(ObjectKey, Value)> =
        owned_by(txn, "", "pods", &ns, &uid).into_iter().map(|(k, v)| (k, v.clone())).collect();
    let replicas =
        usize::try_from(owner.pointer("/spec/replicas").and_then(Value::as_i64).unwrap_or(1)).unwrap_or(0);
    // (pod name, node) wanted.
    let wanted: Vec<(String, Option<&NodeFit>)> = match kind {
        "DaemonSet" => fitting
            .iter()
            .map(|n| {
                let keep = existing
                    .iter()
                    .find(|(_, p)| p.pointer("/spec/nodeName").and_then(Value::as_str) == Some(&n.name));
                (
                    keep.map_or_else(|| format!("{name}-{}", meta::name_suffix()), |(k, _)| k.name.clone()),
                    Some(*n),
                )
            })
            .collect(),
        "StatefulSet" => (0..replicas)
            .map(|i| (format!("{name}-{i}"), fitting.get(i % fitting.len().max(1)).copied()))
            .collect(),
        _ => {
            let mut keep: Vec<String> = existing.iter().map(|(k, _)| k.name.clone()).take(replicas).collect();
            while keep.len() < replicas {
                keep.push(format!("{name}-{}", meta::name_suffix()));
            }
            keep.into_iter()
                .enumerate()
                .map(|(i, n)| (n, fitting.get(i % fitting.len().max(1)).copied()))
                .collect()
        }
    };
    for (key, _) in &existing {
        if !wanted.iter().any(|(n, _)| *n == key.name) {
            let _ = lifecycle::delete(txn, key, Propagation::Background, false);
        }
    }
    let api_version = owner.get("apiVersion").and_then(Value::as_str).unwrap_or("apps/v1").to_owned();
    for (pod_name, node) in wanted {
        let key = ObjectKey::new("", "pods", &ns, &pod_name);
        if txn.get(&key).is_some() {
            continue;
        }
        let mut pod_spec = spec.clone();
        if let Some(n) = node {
            pod_spec["nodeName"] = json!(n.name);
        }
        let pod = json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": pod_name, "namespace": ns, "uid": meta::new_uid(), "creationTimestamp": meta::now_rfc3339(),
                         "labels": template.pointer("/metadata/labels").cloned().unwrap_or(json!({})),
                         "ownerReferences": [owner_ref(&api_version, kind, owner)]},
            "spec": pod_spec,
            "status": {"phase": "Pending", "qosClass": "BestEffort",
                       "hostIP": node.and_then(|n| n.internal_ip.clone())}});
        let _ = txn.put(&key, pod);
    }
}

/// Scheduled Pending pods start running once the delay has passed since they were created.
fn run_pods(txn: &mut Txn<'_>, clock: &Clock, t: &Timings) {
    let pending: Vec<(ObjectKey, Value)> = txn
        .list("", "pods", None)
        .into_iter()
        .filter(|(_, p)| {
            p.pointer("/status/phase").and_then(Value::as_str) == Some("Pending")
                && p.pointer("/spec/nodeName").is_some()
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (key, mut pod) in pending {
        if !clock.elapsed(&key, 0, t.scaled(t.workload_ready_ms)) {
            continue;
        }
        let now = meta::now_rfc3339();
        let n = meta::random_u64();
        let statuses: Vec<Value> = pod
            .pointer("/spec/containers")
            .and_then(Value::as_array)
            .map(|cs| {
                cs.iter()
                    .map(|c| {
                        json!({"name": c["name"], "image": c["image"], "ready": true, "started": true,
                "restartCount": 0, "state": {"running": {"startedAt": now}}})
                    })
                    .collect()
            })
            .unwrap_or_default();
        let ready = json!({"type": "Ready", "status": "True", "lastTransitionTime": now});
        pod["status"]["phase"] = json!("Running");
        pod["status"]["podIP"] = json!(format!("10.244.{}.{}", (n >> 8) % 250, n % 250 + 2));
        pod["status"]["startTime"] = json!(now);
        pod["status"]["conditions"] =
            json!([{"type": "PodScheduled", "status": "True", "lastTransitionTime": now}, ready]);
        pod["status"]["containerStatuses"] = json!(statuses);
        let _ = txn.put(&key, pod);
    }
}
