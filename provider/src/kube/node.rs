//! Node maintenance for node pools: cordon, uncordon and drain (`kubectl drain` semantics:
//! evict every pod bound to the node through the Eviction API, so PodDisruptionBudgets hold,
//! except DaemonSet pods, which would come straight back, and mirror pods, which the kubelet
//! owns). Evictions refused with 429 (a budget) are retried until the time runs out.

use super::budget::{Budget, Poll, poll_until, retry};
use super::client::KubeClient;
use super::error::KubeError;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, DeleteParams, EvictParams, ListParams, Patch, PatchParams};
use serde_json::json;

/// How a node is drained.
#[derive(Clone, Debug, Default)]
pub struct DrainOptions {
    /// Evict pods that use emptyDir volumes (their data is lost); without it they block the drain.
    pub delete_emptydir_data: bool,
    /// Grace period given to evicted pods (`None`: each pod's own).
    pub grace_period_seconds: Option<i64>,
}

/// What a drain did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DrainReport {
    /// Pods evicted (`namespace/name`).
    pub evicted: Vec<String>,
    /// DaemonSet and mirror pods left in place (`namespace/name`).
    pub skipped: Vec<String>,
}

/// Why a pod is left on a drained node, if it is.
fn skip_reason(pod: &Pod) -> Option<&'static str> {
    let meta = &pod.metadata;
    if meta.annotations.as_ref().is_some_and(|a| a.contains_key("kubernetes.io/config.mirror")) {
        return Some("mirror pod");
    }
    if meta.owner_references.iter().flatten().any(|o| o.kind == "DaemonSet") {
        return Some("DaemonSet pod");
    }
    let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
    if matches!(phase, Some("Succeeded" | "Failed")) {
        return Some("finished");
    }
    None
}

fn uses_emptydir(pod: &Pod) -> bool {
    pod.spec.iter().flat_map(|s| s.volumes.iter().flatten()).any(|v| v.empty_dir.is_some())
}

fn pod_name(pod: &Pod) -> String {
    format!(
        "{}/{}",
        pod.metadata.namespace.as_deref().unwrap_or("default"),
        pod.metadata.name.as_deref().unwrap_or("")
    )
}

impl KubeClient {
    async fn set_unschedulable(&self, node: &str, value: bool, budget: &Budget) -> Result<(), KubeError> {
        let nodes: Api<Node> = Api::all(self.raw().clone());
        let patch = json!({"spec": {"unschedulable": value}});
        retry(budget, "cordon", || async {
            nodes.patch(node, &PatchParams::default(), &Patch::Merge(&patch)).await.map_err(KubeError::from)
        })
        .await?;
        tracing::info!(node, unschedulable = value, "node scheduling changed");
        Ok(())
    }

    /// Marks the node unschedulable.
    pub async fn cordon(&self, node: &str, budget: &Budget) -> Result<(), KubeError> {
        self.set_unschedulable(node, true, budget).await
    }

    /// Marks the node schedulable again.
    pub async fn uncordon(&self, node: &str, budget: &Budget) -> Result<(), KubeError> {
        self.set_unschedulable(node, false, budget).await
    }

    /// Cordons the node, evicts its pods (see the module documentation) and waits until they
    /// are gone. A node that does not exist is already drained.
    pub async fn drain(
        &self,
        node: &str,
        opts: &DrainOptions,
        budget: &Budget,
    ) -> Result<DrainReport, KubeError> {
        match self.cordon(node, budget).await {
            Err(e) if e.is_not_found() => return Ok(DrainReport::default()),
            other => other?,
        }
        let pods: Api<Pod> = Api::all(self.raw().clone());
        let on_node = ListParams::default().fields(&format!("spec.nodeName={node}"));
        let list =
            retry(budget, "list pods", || async { pods.list(&on_node).await.map_err(KubeError::from) })
                .await?;
        let mut report = DrainReport::default();
        let mut evicting = Vec::new();
        for pod in &list.items {
            if let Some(why) = skip_reason(pod) {
                tracing::debug!(node, pod = %pod_name(pod), why, "left in place");
                report.skipped.push(pod_name(pod));
                continue;
            }
            if uses_emptydir(pod) && !opts.delete_emptydir_data {
                return Err(KubeError::InvalidObject {
                    path: pod_name(pod),
                    reason: "uses emptyDir data, which draining would delete".into(),
                });
            }
            evicting.push(pod);
        }
        let mut params = EvictParams::default();
        if let Some(g) = opts.grace_period_seconds {
            params.delete_options =
                Some(DeleteParams { grace_period_seconds: u32::try_from(g).ok(), ..DeleteParams::default() });
        }
        for pod in evicting {
            let ns = pod.metadata.namespace.as_deref().unwrap_or("default");
            let name = pod.metadata.name.as_deref().unwrap_or_default();
            let api: Api<Pod> = Api::namespaced(self.raw().clone(), ns);
            // 429 = a PodDisruptionBudget refuses for now: retried with backoff.
            match retry(budget, "evict", || async { api.evict(name, &params).await.map_err(KubeError::from) })
                .await
            {
                Ok(_) => {}
                Err(e) if e.is_not_found() => continue,
                Err(e) => return Err(e),
            }
            tracing::info!(node, pod = %pod_name(pod), "evicted");
            report.evicted.push(pod_name(pod));
        }
        poll_until(budget, &format!("draining {node}"), || async {
            let left = pods.list(&on_node).await.map_err(KubeError::from)?;
            let waiting: Vec<String> =
                left.items.iter().filter(|p| report.evicted.contains(&pod_name(p))).map(pod_name).collect();
            Ok(if waiting.is_empty() {
                Poll::Ready(())
            } else {
                Poll::NotYet(format!("pods still running: {}", waiting.join(", ")))
            })
        })
        .await?;
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn daemonset_mirror_and_finished_pods_stay() {
        let pod = |v: serde_json::Value| -> Pod { serde_json::from_value(v).expect("pod") };
        let ds = pod(
            json!({"metadata": {"name": "a", "ownerReferences": [{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "x", "uid": "u"}]}}),
        );
        assert_eq!(skip_reason(&ds), Some("DaemonSet pod"));
        let mirror =
            pod(json!({"metadata": {"name": "b", "annotations": {"kubernetes.io/config.mirror": "h"}}}));
        assert_eq!(skip_reason(&mirror), Some("mirror pod"));
        let rs = pod(
            json!({"metadata": {"name": "c", "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "x", "uid": "u"}]},
            "spec": {"containers": [{"name": "c"}], "volumes": [{"name": "tmp", "emptyDir": {}}]}}),
        );
        assert_eq!(skip_reason(&rs), None);
        assert!(uses_emptydir(&rs));
        assert_eq!(pod_name(&rs), "default/c");
    }
}
