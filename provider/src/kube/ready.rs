//! Readiness of applied objects, judged from their status the way `kubectl rollout status`
//! and `kubectl wait` do: workloads rolled out, CRDs established, Jobs complete, PVCs bound,
//! LoadBalancer Services with an address, Namespaces active. Other kinds are ready once they
//! exist.

use super::budget::{Budget, Poll, poll_until};
use super::client::KubeClient;
use super::error::KubeError;
use super::object::ObjectRef;
use serde_json::Value;

fn int(obj: &Value, pointer: &str) -> i64 {
    obj.pointer(pointer).and_then(Value::as_i64).unwrap_or(0)
}

fn condition(obj: &Value, kind: &str) -> Option<String> {
    obj.pointer("/status/conditions")?
        .as_array()?
        .iter()
        .find(|c| c["type"] == kind)
        .and_then(|c| c["status"].as_str().map(str::to_string))
}

/// Whether the controller has seen the latest spec.
fn observed(obj: &Value) -> bool {
    int(obj, "/status/observedGeneration") >= int(obj, "/metadata/generation")
}

/// `Ok(())` when `live` is ready, otherwise what is still awaited.
pub fn readiness(group: &str, kind: &str, live: &Value) -> Result<(), String> {
    let not_yet = |why: String| Err(why);
    match (group, kind) {
        ("apps", "Deployment" | "StatefulSet") => {
            let want = live.pointer("/spec/replicas").and_then(Value::as_i64).unwrap_or(1);
            let ready = int(live, "/status/readyReplicas");
            let updated = int(live, "/status/updatedReplicas");
            if !observed(live) {
                return not_yet("rollout not observed yet".into());
            }
            if updated < want || ready < want {
                return not_yet(format!("{ready}/{want} replicas ready, {updated} updated"));
            }
            Ok(())
        }
        ("apps", "DaemonSet") => {
            let desired = int(live, "/status/desiredNumberScheduled");
            let ready = int(live, "/status/numberReady");
            let updated = int(live, "/status/updatedNumberScheduled");
            if !observed(live) || live.pointer("/status/desiredNumberScheduled").is_none() {
                return not_yet("rollout not observed yet".into());
            }
            if ready < desired || updated < desired {
                return not_yet(format!("{ready}/{desired} pods ready, {updated} updated"));
            }
            Ok(())
        }
        ("apiextensions.k8s.io", "CustomResourceDefinition") => {
            match condition(live, "Established").as_deref() {
                Some("True") => Ok(()),
                _ => not_yet("not Established".into()),
            }
        }
        ("batch", "Job") => {
            if condition(live, "Failed").as_deref() == Some("True") {
                return not_yet("failed".into());
            }
            match condition(live, "Complete").as_deref() {
                Some("True") => Ok(()),
                _ => not_yet(format!("{} succeeded, not Complete", int(live, "/status/succeeded"))),
            }
        }
        ("", "PersistentVolumeClaim") => match live.pointer("/status/phase").and_then(Value::as_str) {
            Some("Bound") => Ok(()),
            phase => not_yet(format!("phase {}", phase.unwrap_or("unknown"))),
        },
        ("", "Service") if live.pointer("/spec/type").and_then(Value::as_str) == Some("LoadBalancer") => {
            match live.pointer("/status/loadBalancer/ingress").and_then(Value::as_array) {
                Some(a) if !a.is_empty() => Ok(()),
                _ => not_yet("no load balancer address".into()),
            }
        }
        ("", "Namespace") => match live.pointer("/status/phase").and_then(Value::as_str) {
            Some("Terminating") => not_yet("terminating".into()),
            _ => Ok(()),
        },
        _ => Ok(()),
    }
}

impl KubeClient {
    /// Waits until every object is ready (see the module documentation), logging progress.
    pub async fn wait_ready(&self, refs: &[ObjectRef], budget: &Budget) -> Result<(), KubeError> {
        for r in refs {
            let what = format!("waiting for {r} to be ready");
            poll_until(budget, &what, || async {
                Ok(match self.get(r, budget).await? {
                    None => Poll::NotYet(format!("{r}: not found")),
                    Some(live) => match readiness(r.group(), &r.kind, &live) {
                        Ok(()) => Poll::Ready(()),
                        Err(why) => Poll::NotYet(format!("{r}: {why}")),
                    },
                })
            })
            .await?;
            tracing::debug!(object = %r, "ready");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn workloads_are_ready_when_rolled_out() {
        let d = |ready: i64, generation: i64, observed: i64| {
            json!({"metadata": {"generation": generation}, "spec": {"replicas": 2},
                   "status": {"observedGeneration": observed, "readyReplicas": ready, "updatedReplicas": 2}})
        };
        assert!(readiness("apps", "Deployment", &d(2, 1, 1)).is_ok());
        assert_eq!(readiness("apps", "Deployment", &d(1, 1, 1)), Err("1/2 replicas ready, 2 updated".into()));
        assert!(readiness("apps", "Deployment", &d(2, 2, 1)).is_err(), "new generation not observed");
        let ds = json!({"metadata": {"generation": 1}, "status": {"observedGeneration": 1,
            "desiredNumberScheduled": 3, "numberReady": 3, "updatedNumberScheduled": 3}});
        assert!(readiness("apps", "DaemonSet", &ds).is_ok());
        assert!(readiness("apps", "DaemonSet", &json!({"metadata": {"generation": 1}})).is_err());
    }

    #[test]
    fn crds_jobs_claims_and_services() {
        let crd = json!({"status": {"conditions": [{"type": "Established", "status": "True"}]}});
        assert!(readiness("apiextensions.k8s.io", "CustomResourceDefinition", &crd).is_ok());
        assert!(readiness("apiextensions.k8s.io", "CustomResourceDefinition", &json!({})).is_err());
        let job = json!({"status": {"conditions": [{"type": "Complete", "status": "True"}]}});
        assert!(readiness("batch", "Job", &job).is_ok());
        assert!(readiness("", "PersistentVolumeClaim", &json!({"status": {"phase": "Pending"}})).is_err());
        assert!(readiness("", "PersistentVolumeClaim", &json!({"status": {"phase": "Bound"}})).is_ok());
        let lb = json!({"spec": {"type": "LoadBalancer"}, "status": {"loadBalancer": {}}});
        assert!(readiness("", "Service", &lb).is_err());
        assert!(readiness("", "Service", &json!({"spec": {"type": "ClusterIP"}})).is_ok());
        assert!(readiness("", "ConfigMap", &json!({})).is_ok());
    }
}
