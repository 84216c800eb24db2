//! The Kubernetes checks of a cluster health check, after the Talos ones and in upstream's order
//! and wording (pkg/cluster/check/default.go, kubernetes.go): all nodes reported, control plane
//! static pods and components, nodes ready, kube-proxy, CoreDNS, nodes schedulable. They read
//! the cluster's API server state, as talosctl reads it through the API.

use serde_json::Value;

use super::KubeEndpoint;
use super::nodes::{STATIC_PODS, internal_ip};
use super::view::CONTROL_PLANE_LABEL;
use crate::kube::meta::meta_str;
use crate::region::{HealthStep, Outcome};

/// The nodes the check expects (from the request's cluster info, or every configured machine).
#[derive(Debug, Clone, Default)]
pub(crate) struct Expected {
    /// Control planes: IP and whether their static pods run.
    pub control_planes: Vec<(String, bool)>,
    /// Worker IPs.
    pub workers: Vec<String>,
}

type Check = Result<Outcome, String>;

/// Go's `%q` of a string slice: `["a" "b"]`.
fn quoted(items: &[String]) -> String {
    let inner: Vec<String> = items.iter().map(|i| format!("{i:?}")).collect();
    format!("[{}]", inner.join(" "))
}

/// Go's `%v` of a string slice: `[a b]`.
fn plain(items: &[String]) -> String {
    format!("[{}]", items.join(" "))
}

fn label<'a>(obj: &'a Value, key: &str) -> Option<&'a str> {
    obj.pointer("/metadata/labels")?.get(key)?.as_str()
}

fn condition_true(obj: &Value, kind: &str) -> bool {
    obj.pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|c| c.iter().any(|c| c["type"] == kind && c["status"] == "True"))
}

/// Upstream `cluster.NodesMatch`: every expected IP is some node's, and no node is left over.
fn nodes_match(expected: &[String], nodes: &[&Value]) -> Check {
    let mut actual: Vec<Option<&str>> = nodes.iter().map(|n| internal_ip(n)).collect();
    for ip in expected {
        match actual.iter().position(|a| *a == Some(ip.as_str())) {
            Some(i) => {
                actual.remove(i);
            }
            None => {
                return Err(format!(
                    "can't find expected node with IPs {}",
                    quoted(std::slice::from_ref(ip))
                ));
            }
        }
    }
    let mut left: Vec<String> = actual.into_iter().flatten().map(str::to_owned).collect();
    if left.is_empty() {
        return Ok(Outcome::Passed);
    }
    left.sort_by_key(|ip| ip.parse::<std::net::IpAddr>().ok());
    Err(format!("unexpected nodes with IPs {}", quoted(&left)))
}

/// Upstream `K8sPodReadyAssertion`.
fn pods_ready(pods: &[&Value], replicas: usize, selector: &str) -> Check {
    let live: Vec<&&Value> = pods
        .iter()
        .filter(|p| meta_str(p, "deletionTimestamp").is_none() && p["status"]["phase"] != "Failed")
        .collect();
    if pods.is_empty() {
        return Err(format!("no pods found for namespace \"kube-system\" and label selector {selector:?}"));
    }
    let (ready, not_ready): (Vec<&&Value>, Vec<&&Value>) =
        live.iter().partition(|p| condition_true(p, "Ready"));
    if ready.is_empty() {
        return Err(format!(
            "no ready pods found for namespace \"kube-system\" and label selector {selector:?}"
        ));
    }
    if not_ready.is_empty() {
        return if ready.len() == replicas {
            Ok(Outcome::Passed)
        } else {
            Err(format!("expected {replicas} ready pods, got {}", ready.len()))
        };
    }
    let names: Vec<String> =
        not_ready.iter().filter_map(|p| meta_str(p, "name")).map(str::to_owned).collect();
    Err(format!("some pods are not ready: {}", plain(&names)))
}

fn control_plane_components(expected: &Expected, nodes: &[&Value], pods: &[Value]) -> Check {
    let cps: Vec<&Value> =
        nodes.iter().copied().filter(|n| label(n, CONTROL_PLANE_LABEL).is_some()).collect();
    let ips: Vec<String> = expected.control_planes.iter().map(|(ip, _)| ip.clone()).collect();
    nodes_match(&ips, &cps)?;
    for app in [STATIC_PODS[0], STATIC_PODS[2], STATIC_PODS[1]] {
        let mine: Vec<&Value> = pods.iter().filter(|p| label(p, "k8s-app") == Some(app)).collect();
        if mine.len() != cps.len() {
            return Err(format!("expected number of pods for {app} to be {}, got {}", cps.len(), mine.len()));
        }
        let not_ready: Vec<String> = mine
            .iter()
            .filter(|p| !condition_true(p, "Ready"))
            .filter_map(|p| meta_str(p, "name"))
            .map(str::to_owned)
            .collect();
        if !not_ready.is_empty() {
            return Err(format!("some pods are not ready for {app}: {}", plain(&not_ready)));
        }
    }
    Ok(Outcome::Passed)
}

/// A workload of `kube-system` with `selector`, its desired replicas, then the pod assertion
/// (skipped, like upstream, when the workload is absent).
fn addon(server: &crate::kube::ApiServer, resource: &str, selector: &str, pods: &[Value]) -> Check {
    let (key, value) = selector.split_once('=').unwrap_or((selector, ""));
    let workloads = server.store().list("apps", resource, Some("kube-system"));
    let Some(workload) = workloads.iter().find(|w| label(w, key) == Some(value)) else {
        return Ok(Outcome::Skipped);
    };
    let field = if resource == "daemonsets" { "desiredNumberScheduled" } else { "replicas" };
    let replicas = workload["status"][field].as_u64().and_then(|n| usize::try_from(n).ok()).unwrap_or(0);
    let mine: Vec<&Value> = pods.iter().filter(|p| label(p, key) == Some(value)).collect();
    pods_ready(&mine, replicas, selector)
}

/// The Kubernetes steps, in upstream order.
pub(crate) fn k8s_steps(expected: &Expected, endpoint: Option<&KubeEndpoint>, url: &str) -> Vec<HealthStep> {
    const NAMES: [&str; 7] = [
        "all k8s nodes to report",
        "all control plane static pods to be running",
        "all control plane components to be ready",
        "all k8s nodes to report ready",
        "kube-proxy to report ready",
        "coredns to report ready",
        "all k8s nodes to report schedulable",
    ];
    let server = match endpoint {
        Some(KubeEndpoint { server, listening: Ok(_), .. }) if server.is_available() => server,
        Some(KubeEndpoint { listening: Ok(_), .. }) => {
            return NAMES
                .iter()
                .map(|name| HealthStep { name, result: Err("etcdserver: request timed out".to_owned()) })
                .collect();
        }
        _ => {
            let host = url.trim_start_matches("https://").trim_end_matches('/');
            let error = format!("Get \"{url}/api/v1/nodes\": dial tcp {host}: connect: connection refused");
            return NAMES.iter().map(|name| HealthStep { name, result: Err(error.clone()) }).collect();
        }
    };
    let nodes = server.store().list("", "nodes", None);
    let nodes: Vec<&Value> = nodes.iter().collect();
    let pods = server.store().list("", "pods", Some("kube-system"));
    let all_ips: Vec<String> = expected
        .control_planes
        .iter()
        .map(|(ip, _)| ip.clone())
        .chain(expected.workers.iter().cloned())
        .collect();
    let static_pods = match expected.control_planes.iter().find(|(_, running)| !running) {
        Some((ip, _)) => {
            let missing: Vec<String> = STATIC_PODS.iter().map(|p| format!("kube-system/{p}")).collect();
            Err(format!("missing static pods on node {ip}: {}", plain(&missing)))
        }
        None => Ok(Outcome::Passed),
    };
    let names_where = |pred: &dyn Fn(&Value) -> bool| -> Vec<String> {
        nodes.iter().filter(|n| pred(n)).filter_map(|n| meta_str(n, "name")).map(str::to_owned).collect()
    };
    let not_ready = names_where(&|n| !condition_true(n, "Ready"));
    let cordoned: Vec<String> =
        names_where(&|n| n.pointer("/spec/unschedulable").and_then(Value::as_bool) == Some(true))
            .into_iter()
            .take(1)
            .collect();
    let results: [Check; 7] = [
        nodes_match(&all_ips, &nodes),
        static_pods,
        control_plane_components(expected, &nodes, &pods),
        if not_ready.is_empty() {
            Ok(Outcome::Passed)
        } else {
            Err(format!("some nodes are not ready: {}", plain(&not_ready)))
        },
        addon(server, "daemonsets", "k8s-app=kube-proxy", &pods),
        addon(server, "deployments", "k8s-app=kube-dns", &pods),
        if cordoned.is_empty() {
            Ok(Outcome::Passed)
        } else {
            Err(format!("some nodes are not schedulable: {}", plain(&cordoned)))
        },
    ];
    NAMES.iter().zip(results).map(|(name, result)| HealthStep { name, result }).collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn node(name: &str, ip: &str, ready: bool) -> Value {
        json!({"metadata": {"name": name, "labels": {}}, "status": {"addresses": [{"type": "InternalIP", "address": ip}],
               "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }}]}})
    }

    #[test]
    fn nodes_match_words_errors_like_upstream() {
        let (a, b) = (node("a", "10.0.0.1", true), node("b", "10.0.0.10", true));
        let c = node("c", "10.0.0.9", true);
        assert_eq!(nodes_match(&["10.0.0.1".into(), "10.0.0.10".into()], &[&a, &b]), Ok(Outcome::Passed));
        assert_eq!(
            nodes_match(&["10.0.0.2".into()], &[&a]),
            Err("can't find expected node with IPs [\"10.0.0.2\"]".into())
        );
        assert_eq!(
            nodes_match(&["10.0.0.1".into()], &[&a, &b, &c]),
            Err("unexpected nodes with IPs [\"10.0.0.9\" \"10.0.0.10\"]".into())
        );
    }

    #[test]
    fn pod_readiness_counts_replicas() {
        let ready = json!({"metadata": {"name": "p1"}, "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}});
        let pending = json!({"metadata": {"name": "p2"}, "status": {"phase": "Pending"}});
        assert_eq!(pods_ready(&[&ready], 1, "k8s-app=x"), Ok(Outcome::Passed));
        assert_eq!(pods_ready(&[&ready], 2, "k8s-app=x"), Err("expected 2 ready pods, got 1".into()));
        assert_eq!(
            pods_ready(&[&ready, &pending], 2, "k8s-app=x"),
            Err("some pods are not ready: [p2]".into())
        );
        assert!(pods_ready(&[&pending], 1, "k8s-app=x").is_err_and(|e| e.starts_with("no ready pods")));
        assert!(pods_ready(&[], 1, "k8s-app=x").is_err_and(|e| e.starts_with("no pods found")));
    }
}
