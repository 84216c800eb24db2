//! Router-level tests of the controllers: workloads ready after the modelled delay, DaemonSets
//! per fitting Ready node, LoadBalancer addresses from MetalLB pools (selected by label or the
//! default pool), PVCs binding to a provisioned volume, Nodes from the Talos side.

mod kube_support;

use std::time::Duration;

use axum::http::{Method, StatusCode};
use ct_emulator::kube::{NodeInfo, Timings};
use kube_support::Cluster;
use serde_json::{Value, json};

fn timings(ready_ms: u64) -> Timings {
    Timings {
        time_scale: 1.0,
        tick_ms: 10,
        workload_ready_ms: ready_ms,
        pvc_bind_ms: ready_ms,
        lb_assign_ms: ready_ms,
    }
}

async fn get(c: &Cluster, uri: &str) -> Value {
    let (s, v) = c.admin(Method::GET, uri, "").await;
    assert_eq!(s, StatusCode::OK, "{uri}: {v}");
    v
}

#[tokio::test]
async fn workloads_become_ready_after_the_modelled_delay() {
    let c = Cluster::new(timings(300));
    c.server
        .upsert_node_info(&NodeInfo {
            name: "cp-1".into(),
            taints: vec![(
                "node-role.kubernetes.io/control-plane".into(),
                String::new(),
                "NoSchedule".into(),
            )],
            kubelet_version: "v1.32.3".into(),
            ready: true,
            ..NodeInfo::default()
        })
        .expect("node");
    c.server.upsert_node("w-1", &[("zone", "az05")], "v1.32.3", true).expect("node");
    c.server.upsert_node("w-2", &[("zone", "az06")], "v1.32.3", false).expect("node");
    let pod = json!({"spec": {"containers": [{"name": "c", "image": "i"}]}});
    let d = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": {"replicas": 3, "template": pod}});
    c.admin(Method::POST, "/apis/apps/v1/namespaces/default/deployments", &d.to_string()).await;
    let ds = json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent"}, "spec": {"template": pod}});
    c.admin(Method::POST, "/apis/apps/v1/namespaces/default/daemonsets", &ds.to_string()).await;
    let sts = json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db"}, "spec": {"replicas": 2, "template": pod}});
    c.admin(Method::POST, "/apis/apps/v1/namespaces/default/statefulsets", &sts.to_string()).await;

    c.server.reconcile_once();
    let d = get(&c, "/apis/apps/v1/namespaces/default/deployments/web").await;
    assert_eq!(
        (d["status"]["observedGeneration"].as_i64(), d["status"]["updatedReplicas"].as_i64()),
        (Some(1), Some(3))
    );
    assert!(d["status"].get("readyReplicas").is_none(), "not ready before the delay: {d}");
    assert_eq!(
        d["status"]["conditions"][0],
        json!({"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable",
        "message": "Deployment does not have minimum availability.", "lastTransitionTime": d["status"]["conditions"][0]["lastTransitionTime"],
        "lastUpdateTime": d["status"]["conditions"][0]["lastUpdateTime"]})
    );
    let managers = d["metadata"]["managedFields"].as_array().expect("managers");
    assert!(
        managers.iter().any(|m| m["manager"] == "kube-controller-manager" && m["subresource"] == "status")
    );

    tokio::time::sleep(Duration::from_millis(350)).await;
    c.server.reconcile_once();
    let d = get(&c, "/apis/apps/v1/namespaces/default/deployments/web").await;
    assert_eq!(
        (d["status"]["readyReplicas"].as_i64(), d["status"]["availableReplicas"].as_i64()),
        (Some(3), Some(3))
    );
    assert_eq!(d["status"]["conditions"][0]["status"], "True");
    let ds = get(&c, "/apis/apps/v1/namespaces/default/daemonsets/agent").await;
    assert_eq!(
        (ds["status"]["desiredNumberScheduled"].as_i64(), ds["status"]["numberReady"].as_i64()),
        (Some(1), Some(1)),
        "only w-1 is Ready and untainted"
    );
    let sts = get(&c, "/apis/apps/v1/namespaces/default/statefulsets/db").await;
    assert_eq!(sts["status"]["readyReplicas"].as_i64(), Some(2));

    // A restarted emulator (same state directory, fresh clocks) keeps what was ready ready.
    let reopened = ct_emulator::kube::ApiServer::new(
        ct_emulator::kube::ApiServerConfig { timings: timings(60_000), ..Default::default() },
        ct_emulator::kube::Store::open(c.dir.path().join("kube")).expect("reopen"),
    )
    .expect("server");
    reopened.reconcile_once();
    let d = reopened
        .store()
        .get(&ct_emulator::kube::ObjectKey::new("apps", "deployments", "default", "web"))
        .expect("kept");
    assert_eq!(d["status"]["conditions"][0]["status"], "True", "{d}");

    // A new generation starts the delay again.
    c.patch(
        "/apis/apps/v1/namespaces/default/deployments/web",
        "application/merge-patch+json",
        r#"{"spec":{"replicas":5}}"#,
    )
    .await;
    c.server.reconcile_once();
    let d = get(&c, "/apis/apps/v1/namespaces/default/deployments/web").await;
    assert_eq!(
        (d["status"]["observedGeneration"].as_i64(), d["status"]["conditions"][0]["status"].as_str()),
        (Some(2), Some("False"))
    );

    // Nodes follow the Talos side.
    c.server.upsert_node("w-2", &[], "v1.33.0", true).expect("node");
    let n = get(&c, "/api/v1/nodes/w-2").await;
    assert_eq!(
        (n["status"]["nodeInfo"]["kubeletVersion"].as_str(), n["metadata"]["labels"]["zone"].as_str()),
        (Some("v1.33.0"), Some("az06"))
    );
    c.server.remove_node("w-2").expect("remove");
    assert_eq!(c.server.nodes(), ["cp-1", "w-1"]);
}

fn metallb_crd() -> String {
    json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": {"name": "ipaddresspools.metallb.io"},
        "spec": {"group": "metallb.io", "scope": "Namespaced", "names": {"plural": "ipaddresspools", "singular": "ipaddresspool", "kind": "IPAddressPool"},
                 "versions": [{"name": "v1beta1", "served": true, "storage": true}]}}).to_string()
}

fn service(name: &str, labels: &Value) -> String {
    json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "labels": labels},
           "spec": {"type": "LoadBalancer", "ports": [{"port": 443}]}})
    .to_string()
}

#[tokio::test]
async fn load_balancers_get_addresses_from_metallb_pools() {
    let c = Cluster::new(timings(0));
    let svcs = "/api/v1/namespaces/default/services";
    let (_, plain) = c.admin(Method::POST, svcs, &service("plain", &json!({}))).await;
    assert_eq!(
        (plain["spec"]["ports"][0]["protocol"].as_str(), plain["spec"]["ports"][0]["nodePort"].as_i64()),
        (Some("TCP"), Some(30000))
    );
    assert!(plain["spec"]["clusterIP"].as_str().is_some_and(|ip| ip.starts_with("10.96.")));
    c.server.reconcile_once();
    assert!(
        get(&c, &format!("{svcs}/plain")).await["status"]["loadBalancer"].get("ingress").is_none(),
        "no MetalLB yet"
    );

    c.admin(Method::POST, "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", &metallb_crd()).await;
    c.admin(
        Method::POST,
        "/api/v1/namespaces",
        &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "metallb-system"}}).to_string(),
    )
    .await;
    let pools = "/apis/metallb.io/v1beta1/namespaces/metallb-system/ipaddresspools";
    let internal = json!({"apiVersion": "metallb.io/v1beta1", "kind": "IPAddressPool", "metadata": {"name": "internal"},
        "spec": {"addresses": ["10.10.0.10-10.10.0.11"]}});
    let external = json!({"apiVersion": "metallb.io/v1beta1", "kind": "IPAddressPool", "metadata": {"name": "external"},
        "spec": {"addresses": ["203.0.113.0/30"], "autoAssign": false,
                 "serviceAllocation": {"serviceSelectors": [{"matchLabels": {"lb-type": "external"}}]}}});
    for p in [internal, external] {
        assert_eq!(c.admin(Method::POST, pools, &p.to_string()).await.0, StatusCode::CREATED);
    }
    c.admin(Method::POST, svcs, &service("public", &json!({"lb-type": "external"}))).await;
    c.admin(Method::POST, svcs, &service("second", &json!({}))).await;
    c.admin(Method::POST, svcs, &service("third", &json!({}))).await;
    c.server.reconcile_once();
    let ip = |v: Value| v["status"]["loadBalancer"]["ingress"][0]["ip"].as_str().map(str::to_owned);
    assert_eq!(ip(get(&c, &format!("{svcs}/plain")).await).as_deref(), Some("10.10.0.10"));
    assert_eq!(ip(get(&c, &format!("{svcs}/second")).await).as_deref(), Some("10.10.0.11"));
    assert_eq!(ip(get(&c, &format!("{svcs}/third")).await), None, "the default pool is exhausted");
    assert_eq!(ip(get(&c, &format!("{svcs}/public")).await).as_deref(), Some("203.0.113.0"));
    c.admin(Method::DELETE, &format!("{svcs}/plain"), "").await;
    c.server.reconcile_once();
    assert_eq!(
        ip(get(&c, &format!("{svcs}/third")).await).as_deref(),
        Some("10.10.0.10"),
        "a released address is reused"
    );
}

#[tokio::test]
async fn claims_bind_when_their_storage_class_exists() {
    let c = Cluster::new(timings(0));
    let pvcs = "/api/v1/namespaces/default/persistentvolumeclaims";
    let pvc = |name: &str, class: Option<&str>| {
        let mut v = json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "5Gi"}}}});
        if let Some(cl) = class {
            v["spec"]["storageClassName"] = json!(cl);
        }
        v.to_string()
    };
    c.admin(Method::POST, pvcs, &pvc("data", Some("ceph-block"))).await;
    c.admin(Method::POST, pvcs, &pvc("default-class", None)).await;
    c.server.reconcile_once();
    assert_eq!(get(&c, &format!("{pvcs}/data")).await["status"]["phase"], "Pending");
    let sc = json!({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "ceph-block",
        "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}}, "provisioner": "rook-ceph.rbd.csi.ceph.com", "reclaimPolicy": "Delete"});
    c.admin(Method::POST, "/apis/storage.k8s.io/v1/storageclasses", &sc.to_string()).await;
    c.server.reconcile_once();
    for name in ["data", "default-class"] {
        let v = get(&c, &format!("{pvcs}/{name}")).await;
        assert_eq!(
            (v["status"]["phase"].as_str(), v["status"]["capacity"]["storage"].as_str()),
            (Some("Bound"), Some("5Gi")),
            "{v}"
        );
        assert_eq!(v["spec"]["storageClassName"], "ceph-block");
        let pv = get(
            &c,
            &format!("/api/v1/persistentvolumes/{}", v["spec"]["volumeName"].as_str().expect("volume")),
        )
        .await;
        assert_eq!(
            (pv["status"]["phase"].as_str(), pv["spec"]["claimRef"]["name"].as_str()),
            (Some("Bound"), Some(name))
        );
    }
    let (_, pvc_created) = c.admin(Method::POST, pvcs, &pvc("later", None)).await;
    assert_eq!(
        pvc_created["spec"]["storageClassName"], "ceph-block",
        "the default class is assigned at creation"
    );
    c.admin(Method::DELETE, &format!("{pvcs}/data"), "").await;
    c.server.reconcile_once();
    assert_eq!(
        c.server.store().list("", "persistentvolumes", None).len(),
        2,
        "the deleted claim's volume is reclaimed"
    );
}

#[tokio::test]
async fn pods_follow_their_workloads() {
    let c = Cluster::new(timings(0));
    c.server.upsert_node("w-1", &[], "v1.32.3", true).expect("node");
    c.server.upsert_node("w-2", &[("disk", "ssd")], "v1.32.3", true).expect("node");
    let pod = |image: &str| json!({"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": image}]}});
    let d = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}}, "template": pod("a")}});
    let deployments = "/apis/apps/v1/namespaces/default/deployments";
    c.admin(Method::POST, deployments, &d.to_string()).await;
    let mut ds = json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent"}, "spec": {"template": pod("x")}});
    ds["spec"]["template"]["spec"]["nodeSelector"] = json!({"disk": "ssd"});
    c.admin(Method::POST, "/apis/apps/v1/namespaces/default/daemonsets", &ds.to_string()).await;
    let sts = json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db"}, "spec": {"replicas": 2, "template": pod("y")}});
    c.admin(Method::POST, "/apis/apps/v1/namespaces/default/statefulsets", &sts.to_string()).await;
    c.server.reconcile_once();
    c.server.reconcile_once();
    let pods = || c.server.store().list("", "pods", Some("default"));
    let names = |prefix: &str| -> Vec<String> {
        let mut n: Vec<String> = pods()
            .iter()
            .filter_map(|p| p["metadata"]["name"].as_str().map(str::to_owned))
            .filter(|n| n.starts_with(prefix))
            .collect();
        n.sort();
        n
    };
    assert_eq!(names("web-").len(), 3);
    assert_eq!(names("db-"), ["db-0", "db-1"]);
    let agents: Vec<Value> = pods()
        .into_iter()
        .filter(|p| p["metadata"]["name"].as_str().is_some_and(|n| n.starts_with("agent-")))
        .collect();
    assert_eq!(
        (agents.len(), agents[0]["spec"]["nodeName"].as_str()),
        (1, Some("w-2")),
        "only the ssd node fits"
    );
    assert!(
        pods().iter().all(|p| p["status"]["phase"] == "Running" && p["status"]["podIP"].is_string()),
        "{:?}",
        pods()
    );
    let rs = c.server.store().list("apps", "replicasets", Some("default"));
    assert_eq!((rs.len(), rs[0]["spec"]["replicas"].as_i64()), (1, Some(3)));
    assert_eq!(rs[0]["metadata"]["ownerReferences"][0]["kind"], "Deployment");

    // A new template rolls to a new ReplicaSet; the old one is scaled to zero.
    c.patch(
        &format!("{deployments}/web"),
        "application/strategic-merge-patch+json",
        r#"{"spec":{"template":{"spec":{"containers":[{"name":"c","image":"b"}]}}}}"#,
    )
    .await;
    c.server.reconcile_once();
    c.server.reconcile_once();
    let rs = c.server.store().list("apps", "replicasets", Some("default"));
    let mut replicas: Vec<i64> = rs.iter().filter_map(|r| r["spec"]["replicas"].as_i64()).collect();
    replicas.sort_unstable();
    assert_eq!(replicas, [0, 3]);
    assert!(
        pods()
            .iter()
            .filter(|p| p["metadata"]["name"].as_str().is_some_and(|n| n.starts_with("web-")))
            .all(|p| p["spec"]["containers"][0]["image"] == "b")
    );
    assert_eq!(names("web-").len(), 3);

    // A deleted pod is replaced; deleting the Deployment takes its ReplicaSets and pods.
    let victim = names("web-")[0].clone();
    c.admin(Method::DELETE, &format!("/api/v1/namespaces/default/pods/{victim}"), "").await;
    c.server.reconcile_once();
    assert!(names("web-").len() == 3 && !names("web-").contains(&victim));
    c.admin(Method::DELETE, &format!("{deployments}/web"), "").await;
    assert!(names("web-").is_empty());
    assert!(c.server.store().list("apps", "replicasets", None).is_empty());
}
