//! The bootstrap manifests Talos applies once the API server is up: CoreDNS (Deployment and the
//! `kube-dns` Service), kube-proxy and, with the default CNI, flannel. They go through the API
//! as the admin, and only what is missing is created (as at every boot of a control plane), so
//! a user's changes stand and the controllers bring the pods up like any other workload.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::{Value, json};
use tower::ServiceExt as _;

use super::view::Addons;
use crate::kube::{ApiServer, Identity};

const COREDNS_IMAGE: &str = "registry.k8s.io/coredns/coredns:v1.12.1";
const FLANNEL_IMAGE: &str = "ghcr.io/siderolabs/flannel:v0.26.7";

fn daemonset(name: &str, app_label: (&str, &str), image: &str) -> Value {
    let (k, v) = app_label;
    json!({"apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": {"name": name, "namespace": "kube-system", "labels": {k: v, "tier": "node"}},
        "spec": {"selector": {"matchLabels": {k: v}},
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
            "template": {"metadata": {"labels": {k: v, "tier": "node"}},
                "spec": {"hostNetwork": true, "priorityClassName": "system-node-critical",
                    "serviceAccountName": name, "tolerations": [{"operator": "Exists"}],
                    "containers": [{"name": name, "image": image}]}}}})
}

/// The objects of the bootstrap manifests, as (collection path, object).
fn manifests(addons: &Addons, version: &str) -> Vec<(&'static str, Value)> {
    let mut out = Vec::new();
    if addons.coredns {
        let labels = json!({"k8s-app": "kube-dns", "kubernetes.io/name": "CoreDNS"});
        out.push(("/apis/apps/v1/namespaces/kube-system/deployments", json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "coredns", "namespace": "kube-system", "labels": labels},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"k8s-app": "kube-dns"}},
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
                "template": {"metadata": {"labels": {"k8s-app": "kube-dns"}},
                    "spec": {"priorityClassName": "system-cluster-critical", "serviceAccountName": "coredns",
                        "tolerations": [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"},
                                        {"key": "CriticalAddonsOnly", "operator": "Exists"}],
                        "containers": [{"name": "coredns", "image": COREDNS_IMAGE, "args": ["-conf", "/etc/coredns/Corefile"],
                            "ports": [{"name": "dns", "containerPort": 53, "protocol": "UDP"},
                                      {"name": "dns-tcp", "containerPort": 53, "protocol": "TCP"},
                                      {"name": "metrics", "containerPort": 9153, "protocol": "TCP"}]}]}}}})));
        out.push((
            "/api/v1/namespaces/kube-system/services",
            json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "kube-dns", "namespace": "kube-system", "labels": labels},
            "spec": {"selector": {"k8s-app": "kube-dns"}, "clusterIP": "10.96.0.10",
                "ports": [{"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
                          {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53},
                          {"name": "metrics", "port": 9153, "protocol": "TCP", "targetPort": 9153}]}}),
        ));
    }
    if addons.kube_proxy {
        let image = format!("registry.k8s.io/kube-proxy:{version}");
        out.push((
            "/apis/apps/v1/namespaces/kube-system/daemonsets",
            daemonset("kube-proxy", ("k8s-app", "kube-proxy"), &image),
        ));
    }
    if addons.flannel {
        out.push((
            "/apis/apps/v1/namespaces/kube-system/daemonsets",
            daemonset("kube-flannel", ("k8s-app", "flannel"), FLANNEL_IMAGE),
        ));
    }
    out
}

/// Creates the missing bootstrap objects (409 AlreadyExists means the object stands).
pub(crate) async fn apply(server: &ApiServer, addons: &Addons, version: &str) {
    for (path, object) in manifests(addons, version) {
        let name = object["metadata"]["name"].as_str().unwrap_or_default().to_owned();
        let request = Request::builder()
            .method(Method::POST)
            .uri(format!("{path}?fieldManager=talos"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(object.to_string()));
        let Ok(mut request) = request else { continue };
        request.extensions_mut().insert(Identity::admin());
        let status = match server.router().oneshot(request).await {
            Ok(response) => response.status(),
            Err(never) => match never {},
        };
        if status != StatusCode::CREATED && status != StatusCode::CONFLICT {
            tracing::warn!(object = %name, %status, "bootstrap manifest not applied");
        }
    }
}
