//! Workload status: Deployments, StatefulSets and ReplicaSets report all replicas ready (and
//! Deployments `Available=True`) once the modelled delay has passed since their generation was
//! first seen; DaemonSets schedule one pod per Ready node they fit (node selector, taints);
//! Jobs complete after the same delay.

use serde_json::{Value, json};

use super::scheduling::{NodeFit, ready_nodes};
use super::{Clock, Timings, conditions, write_status};
use crate::kube::meta::meta_str;
use crate::kube::store::{ObjectKey, Txn};

fn i(v: &Value, pointer: &str, default: i64) -> i64 {
    v.pointer(pointer).and_then(Value::as_i64).unwrap_or(default)
}

fn omit_zero(mut status: Value) -> Value {
    if let Some(o) = status.as_object_mut() {
        o.retain(|_, v| v.as_i64() != Some(0));
    }
    status
}

pub(super) fn reconcile(txn: &mut Txn<'_>, clock: &Clock, t: &Timings) {
    let delay = t.scaled(t.workload_ready_ms);
    for resource in ["deployments", "statefulsets", "replicasets", "daemonsets", "jobs"] {
        let group = if resource == "jobs" { "batch" } else { "apps" };
        let items: Vec<(ObjectKey, Value)> =
            txn.list(group, resource, None).into_iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        let ready_nodes = if resource == "daemonsets" { ready_nodes(txn) } else { Vec::new() };
        for (key, obj) in items {
            if meta_str(&obj, "deletionTimestamp").is_some() {
                continue;
            }
            let generation = i(&obj, "/metadata/generation", 1);
            // A generation already reported ready (before a restart of the emulator) stays ready.
            let ready = already_ready(&obj, generation) || clock.elapsed(&key, generation, delay);
            let status = match resource {
                "deployments" => deployment(&obj, generation, ready),
                "statefulsets" => statefulset(&obj, generation, ready),
                "replicasets" => replicaset(&obj, generation, ready),
                "daemonsets" => daemonset(&obj, generation, ready, &ready_nodes),
                _ => job(&obj, ready),
            };
            write_status(txn, &key, status);
        }
    }
}

fn deployment(obj: &Value, generation: i64, ready: bool) -> Value {
    let replicas = i(obj, "/spec/replicas", 1);
    let up = if ready { replicas } else { 0 };
    let available = if up >= replicas {
        ("True", "MinimumReplicasAvailable", "Deployment has minimum availability.")
    } else {
        ("False", "MinimumReplicasUnavailable", "Deployment does not have minimum availability.")
    };
    let progressing = if ready {
        ("True", "NewReplicaSetAvailable", "ReplicaSet has successfully progressed.")
    } else {
        ("True", "ReplicaSetUpdated", "ReplicaSet is progressing.")
    };
    let conds = conditions(
        obj.pointer("/status/conditions"),
        &[
            ("Available", available.0, available.1, available.2),
            ("Progressing", progressing.0, progressing.1, progressing.2),
        ],
    );
    let mut s = omit_zero(
        json!({"observedGeneration": generation, "replicas": replicas, "updatedReplicas": replicas,
        "readyReplicas": up, "availableReplicas": up, "unavailableReplicas": replicas - up}),
    );
    s["conditions"] = conds;
    s
}

fn statefulset(obj: &Value, generation: i64, ready: bool) -> Value {
    let replicas = i(obj, "/spec/replicas", 1);
    let up = if ready { replicas } else { 0 };
    let revision = format!("{}-{generation:x}", meta_str(obj, "name").unwrap_or_default());
    let mut s =
        omit_zero(json!({"observedGeneration": generation, "replicas": replicas, "readyReplicas": up,
        "currentReplicas": replicas, "updatedReplicas": replicas, "availableReplicas": up}));
    s["currentRevision"] = json!(revision);
    s["updateRevision"] = json!(revision);
    s["collisionCount"] = json!(0);
    s
}

fn replicaset(obj: &Value, generation: i64, ready: bool) -> Value {
    let replicas = i(obj, "/spec/replicas", 1);
    let up = if ready { replicas } else { 0 };
    let mut s =
        omit_zero(json!({"readyReplicas": up, "availableReplicas": up, "fullyLabeledReplicas": replicas}));
    s["observedGeneration"] = json!(generation);
    s["replicas"] = json!(replicas);
    s
}

fn daemonset(obj: &Value, generation: i64, ready: bool, nodes: &[NodeFit]) -> Value {
    let pod_spec = obj.pointer("/spec/template/spec").cloned().unwrap_or(json!({}));
    let desired = nodes.iter().filter(|n| n.fits(&pod_spec)).count();
    let desired = i64::try_from(desired).unwrap_or(i64::MAX);
    let up = if ready { desired } else { 0 };
    let mut s =
        omit_zero(json!({"numberReady": up, "numberAvailable": up, "numberUnavailable": desired - up}));
    s["observedGeneration"] = json!(generation);
    s["desiredNumberScheduled"] = json!(desired);
    s["currentNumberScheduled"] = json!(desired);
    s["updatedNumberScheduled"] = json!(desired);
    s["numberMisscheduled"] = json!(0);
    s
}

/// Whether the stored status already reports this generation fully ready.
fn already_ready(obj: &Value, generation: i64) -> bool {
    let observed = obj.pointer("/status/observedGeneration").and_then(Value::as_i64) == Some(generation);
    let replicas = i(obj, "/spec/replicas", 1);
    observed
        && (replicas == 0
            || i(obj, "/status/readyReplicas", 0) == replicas
            || i(obj, "/status/numberReady", 0) > 0 && i(obj, "/status/numberUnavailable", 0) == 0)
        || obj.pointer("/status/completionTime").is_some()
}

fn job(obj: &Value, done: bool) -> Value {
    let mut s = obj.get("status").cloned().filter(Value::is_object).unwrap_or(json!({}));
    let done = done || s.get("completionTime").is_some();
    if s.get("startTime").is_none() {
        s["startTime"] = json!(crate::kube::meta::now_rfc3339());
    }
    if done && s.get("completionTime").is_none() {
        let completions = i(obj, "/spec/completions", 1);
        s["succeeded"] = json!(completions);
        s["completionTime"] = json!(crate::kube::meta::now_rfc3339());
        s["conditions"] = conditions(
            None,
            &[
                (
                    "SuccessCriteriaMet",
                    "True",
                    "CompletionsReached",
                    "Reached expected number of succeeded pods",
                ),
                ("Complete", "True", "CompletionsReached", "Reached expected number of succeeded pods"),
            ],
        );
    } else if !done {
        s["active"] = json!(1);
    }
    if done && let Some(o) = s.as_object_mut() {
        o.remove("active");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn daemonsets_count_fitting_ready_nodes() {
        let worker = NodeFit::default();
        let cp = NodeFit {
            taints: vec![json!({"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"})],
            ..NodeFit::default()
        };
        let ds = json!({"spec": {"template": {"spec": {}}}});
        assert_eq!(daemonset(&ds, 1, true, &[worker.clone(), cp.clone()])["desiredNumberScheduled"], 1);
        let tolerant = json!({"spec": {"template": {"spec": {"tolerations": [{"operator": "Exists"}]}}}});
        assert_eq!(daemonset(&tolerant, 1, true, &[worker, cp])["numberReady"], 2);
        let d = deployment(&json!({"spec": {"replicas": 2}}), 3, false);
        assert_eq!(d["conditions"][0]["status"], "False");
        assert!(d.get("readyReplicas").is_none());
        assert_eq!(deployment(&json!({"spec": {"replicas": 2}}), 3, true)["availableReplicas"], 2);
    }
}
