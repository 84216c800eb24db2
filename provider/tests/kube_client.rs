//! The Kubernetes client (`cloudtemple::kube`) against the emulated API server started
//! in-process on 127.80.200.x: a set with a Namespace, a CRD and an object of that CRD listed
//! before it, applied in one pass; workloads waited for; conflicts naming field and manager, and
//! force; drift after an edit and a delete; prune and delete with a wait; retries under injected
//! 429s; the fields a manager owns; cordon and drain.

use cloudtemple::kube::{
    ApplyOptions, Budget, DrainOptions, DriftKind, Inventory, KubeAccess, KubeClient, KubeError, ObjectRef,
    owned_by,
};
use cloudtemple::talos::Sensitive;
use ct_emulator::kube::certs::{self, IssuedCert};
use ct_emulator::kube::{ApiServer, ApiServerConfig, KubeFaults, Store, Timings};
use serde_json::{Value, json};
use std::time::Duration;
use tfplugin::Context;
use tokio::sync::oneshot;

struct Served {
    server: ApiServer,
    access: KubeAccess,
    _dir: tempfile::TempDir,
    _stop: oneshot::Sender<()>,
}

/// An API server on 127.80.200.`host`, with fast controllers.
async fn serve(host: u8) -> Served {
    let ip = format!("127.80.200.{host}");
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = certs::generate_ca("kubernetes").expect("ca");
    let admin: IssuedCert =
        certs::issue_client_cert(&ca.cert_pem, &ca.key_pem, "admin", Some("system:masters")).expect("admin");
    let serving = certs::issue_server_cert(&ca.cert_pem, &ca.key_pem, &[&ip]).expect("serving");
    let config = ApiServerConfig {
        kubernetes_version: "1.32.3".into(),
        cluster_ca_pem: ca.cert_pem.clone(),
        server_cert_pem: serving.cert_pem,
        server_key_pem: serving.key_pem,
        timings: Timings { workload_ready_ms: 300, ..Timings::fast() },
        ..ApiServerConfig::default()
    };
    let server =
        ApiServer::new(config, Store::open(dir.path().join("kube")).expect("store")).expect("server");
    server.upsert_node("w1", &[], "v1.32.3", true).expect("node");
    let listener = tokio::net::TcpListener::bind(format!("{ip}:6443")).await.expect("bind");
    let (tx, rx) = oneshot::channel::<()>();
    let s = server.clone();
    tokio::spawn(async move {
        let _ = s
            .serve(listener, async move {
                let _ = rx.await;
            })
            .await;
    });
    let access = KubeAccess {
        api_url: format!("https://{ip}:6443"),
        ca_certificate: ca.cert_pem,
        client_certificate: admin.cert_pem,
        client_key: Sensitive::new(admin.key_pem),
    };
    Served { server, access, _dir: dir, _stop: tx }
}

fn budget() -> Budget {
    Budget::new(&Context::background(), Duration::from_secs(60))
}

fn widget_crd() -> Value {
    json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced",
                 "names": {"kind": "Widget", "plural": "widgets", "singular": "widget", "listKind": "WidgetList"},
                 "versions": [{"name": "v1", "served": true, "storage": true,
                               "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]}})
}

fn config_map(color: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings", "namespace": "team"},
           "data": {"color": color, "size": "3"}})
}

fn deployment() -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_pass_apply_conflicts_drift_prune_and_delete() {
    let s = serve(1).await;
    let client = KubeClient::new(&s.access, "terraform-provider-cloudtemple").expect("client");
    let b = budget();
    // The custom object comes first in the list, and its CRD does not exist yet.
    let widget = json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w1"}, "spec": {"size": 3}});
    let set = vec![
        widget.clone(),
        config_map("blue"),
        widget_crd(),
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}}),
        deployment(),
    ];
    let opts = ApplyOptions { wait: true, default_namespace: Some("team".into()), ..ApplyOptions::default() };
    let applied = client.apply_set(&set, &opts, &b).await.expect("applied in one pass");
    let ids: Vec<String> = Inventory::from_applied(&applied).ids();
    assert_eq!(ids[0], "v1//Namespace//team");
    assert_eq!(ids[1], "apiextensions.k8s.io/v1//CustomResourceDefinition//widgets.example.com");
    assert!(ids.contains(&"example.com/v1//Widget//team//w1".to_string()), "{ids:?}");
    assert!(ids.contains(&"apps/v1//Deployment//team//web".to_string()), "{ids:?}");
    let web = client
        .get(&ObjectRef::parse_id("apps/v1//Deployment//team//web").unwrap(), &b)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(web["status"]["readyReplicas"], 2, "waited for the rollout");

    // Nothing drifted.
    assert!(client.drift(&set, &opts, &b).await.expect("drift").is_empty());

    // Another manager takes .data.color over; our apply without force names field and manager.
    let other = KubeClient::new(&s.access, "other").expect("client");
    let force = ApplyOptions { force: true, ..ApplyOptions::default() };
    let red = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings", "namespace": "team"},
                     "data": {"color": "red"}});
    other.apply_set(std::slice::from_ref(&red), &force, &b).await.expect("forced by other");
    let drift = client.drift(&set, &opts, &b).await.expect("drift");
    assert_eq!(drift.len(), 1);
    match &drift[0].kind {
        DriftKind::Changed { fields, live } => {
            assert_eq!(fields, &vec![".data.color".to_string()]);
            assert_eq!(live["data"], json!({"color": "red", "size": "3"}));
        }
        DriftKind::Missing => panic!("changed, not missing"),
    }
    let err =
        client.apply_set(&[config_map("blue")], &ApplyOptions::default(), &b).await.expect_err("conflict");
    let KubeError::Conflict { object, conflicts } = &err else { panic!("a conflict, got {err:?}") };
    assert_eq!(object.to_id(), "v1//ConfigMap//team//settings");
    assert_eq!((conflicts[0].field.as_str(), conflicts[0].manager.as_str()), (".data.color", "\"other\""));
    assert!(!err.is_transient());
    client.apply_set(&[config_map("blue")], &force, &b).await.expect("overwrite");
    let owned = owned_by(
        &client
            .get(&ObjectRef::parse_id("v1//ConfigMap//team//settings").unwrap(), &b)
            .await
            .unwrap()
            .unwrap(),
        "terraform-provider-cloudtemple",
    );
    assert_eq!(owned, config_map("blue"), "what we own is what we applied");

    // Deleted out of band → Missing.
    let cm = ObjectRef::parse_id("v1//ConfigMap//team//settings").unwrap();
    client.delete_set(std::slice::from_ref(&cm), true, &b).await.expect("deleted");
    let drift = client.drift(&[config_map("blue")], &ApplyOptions::default(), &b).await.expect("drift");
    assert_eq!(drift[0].kind, DriftKind::Missing);

    // Prune what left the set, then delete the rest (reverse order, waited for).
    let before = Inventory::from_applied(&applied);
    let after = Inventory(before.0.iter().filter(|r| r.kind != "Deployment").cloned().collect());
    let pruned = client.prune(&before, &after, true, &b).await.expect("pruned");
    assert_eq!(
        pruned.iter().map(ObjectRef::to_id).collect::<Vec<_>>(),
        vec!["apps/v1//Deployment//team//web"]
    );
    assert!(client.get(&pruned[0], &b).await.expect("get").is_none());
    client.delete_set(&after.0, true, &b).await.expect("delete all");
    for r in &after.0 {
        assert!(client.get(r, &b).await.expect("get").is_none(), "{r} is gone");
    }
    drop(s.server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_is_retried_and_unknown_kinds_and_cancellation_are_reported() {
    let s = serve(2).await;
    let client = KubeClient::new(&s.access, "terraform-provider-cloudtemple").expect("client");
    s.server.set_faults(KubeFaults { throttle_rate: 0.5, retry_after_secs: 1, ..KubeFaults::default() });
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"k": "v"}});
    for _ in 0..3 {
        client
            .apply_set(std::slice::from_ref(&cm), &ApplyOptions::default(), &budget())
            .await
            .expect("retried");
    }
    s.server.set_faults(KubeFaults::default());

    let short = Budget::new(&Context::background(), Duration::from_secs(2));
    let gadget = json!({"apiVersion": "example.com/v1", "kind": "Gadget", "metadata": {"name": "g"}});
    let err = client.apply_set(&[gadget], &ApplyOptions::default(), &short).await.expect_err("unknown kind");
    assert!(matches!(err, KubeError::UnknownKind { ref kind, .. } if kind == "Gadget"), "{err:?}");

    let token = tokio_util::sync::CancellationToken::new();
    let stopped = Budget::new(&Context::new(token.clone()), Duration::from_secs(60));
    token.cancel();
    let err = client
        .wait_ready(&[ObjectRef::parse_id("apps/v1//Deployment//default//none").unwrap()], &stopped)
        .await;
    assert!(matches!(err, Err(KubeError::Cancelled)), "{err:?}");

    let bad = KubeAccess { ca_certificate: "not a certificate".into(), ..s.access.clone() };
    assert!(matches!(KubeClient::new(&bad, "m"), Err(KubeError::Access { field: "ca_certificate", .. })));

    // Another cluster's CA: the server is not trusted, and that fails at once, not at the
    // deadline (a cluster re-created at the same address with stale access).
    let other = certs::generate_ca("kubernetes").expect("ca");
    let stranger = KubeClient::new(&KubeAccess { ca_certificate: other.cert_pem, ..s.access.clone() }, "m")
        .expect("client");
    let started = std::time::Instant::now();
    let err = stranger.resolve("v1", "ConfigMap", &budget()).await.expect_err("untrusted server");
    assert!(matches!(err, KubeError::Certificate { .. }) && !err.is_transient(), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(5), "not retried: {:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drain_evicts_workload_pods_and_cordons() {
    let s = serve(3).await;
    let client = KubeClient::new(&s.access, "terraform-provider-cloudtemple").expect("client");
    let b = budget();
    let opts = ApplyOptions { wait: true, ..ApplyOptions::default() };
    client.apply_set(&[deployment()], &opts, &b).await.expect("deployment ready");
    let report = client.drain("w1", &DrainOptions::default(), &b).await.expect("drained");
    assert!(!report.evicted.is_empty(), "{report:?}");
    let node = client.get(&ObjectRef::parse_id("v1//Node//w1").unwrap(), &b).await.unwrap().unwrap();
    assert_eq!(node["spec"]["unschedulable"], true);
    client.uncordon("w1", &b).await.expect("uncordon");
    assert!(
        client.drain("nope", &DrainOptions::default(), &b).await.expect("absent node").evicted.is_empty()
    );
}
