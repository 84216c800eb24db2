//! The real-client suite through kube-rs (kube 5 + k8s-openapi): typed get/list/patch with
//! server-side apply, conflicts and force, optimistic concurrency, watch, discovery and delete,
//! over HTTPS with the admin client certificate.

mod kube_support;

use std::time::Duration;

use ct_emulator::kube::Timings;
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Node};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config, Discovery};
use kube_support::Cluster;
use serde_json::json;

async fn client(c: &Cluster) -> Client {
    let kc = Kubeconfig::from_yaml(&c.kubeconfig_for(&c.admin)).expect("kubeconfig");
    let config = Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default()).await.expect("config");
    Client::try_from(config).expect("client")
}

fn deployment(replicas: i32, image: &str) -> serde_json::Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "labels": {"app": "web"}},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "web", "image": image}]}}}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_apply_conflicts_force_list_and_delete() {
    let mut c = Cluster::serve(Timings { workload_ready_ms: 500, ..Timings::fast() }).await;
    let client = client(&c).await;
    let info = client.apiserver_version().await.expect("version");
    assert_eq!((info.git_version.as_str(), info.minor.as_str()), ("v1.32.3", "32"));

    let api: Api<Deployment> = Api::namespaced(client.clone(), "default");
    let created = api
        .patch("web", &PatchParams::apply("provider"), &Patch::Apply(deployment(2, "nginx:1")))
        .await
        .expect("apply");
    assert_eq!(created.spec.replicas, Some(2));
    let managers = created.metadata.managed_fields.clone().unwrap_or_default();
    assert!(
        managers
            .iter()
            .any(|m| m.manager.as_deref() == Some("provider") && m.operation.as_deref() == Some("Apply"))
    );
    // Re-applying the same configuration changes nothing (the controllers may have written status).
    let again = api
        .patch("web", &PatchParams::apply("provider"), &Patch::Apply(deployment(2, "nginx:1")))
        .await
        .expect("apply");
    assert_eq!(again.metadata.generation, created.metadata.generation);

    let err = api
        .patch("web", &PatchParams::apply("other"), &Patch::Apply(deployment(5, "nginx:1")))
        .await
        .expect_err("conflict");
    let kube::Error::Api(status) = err else { panic!("an API error, got {err:?}") };
    assert_eq!((status.code, status.reason.as_str()), (409, "Conflict"));
    assert_eq!(status.message, "Apply failed with 1 conflict: conflict with \"provider\": .spec.replicas");
    let forced = api
        .patch("web", &PatchParams::apply("other").force(), &Patch::Apply(deployment(5, "nginx:1")))
        .await
        .expect("forced");
    assert_eq!(forced.spec.replicas, Some(5));

    let merged = api
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"tier": "front"}}})),
        )
        .await
        .expect("merge");
    assert_eq!(
        merged.metadata.labels.as_ref().and_then(|l| l.get("tier")).map(String::as_str),
        Some("front")
    );
    let strategic = api
        .patch("web", &PatchParams::default(), &Patch::Strategic(json!({"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:2"}]}}}})))
        .await
        .expect("strategic");
    let containers = strategic.spec.template.spec.map(|s| s.containers).unwrap_or_default();
    assert_eq!((containers.len(), containers[0].image.as_deref()), (1, Some("nginx:2")));

    // Optimistic concurrency: a stale resourceVersion is refused.
    let mut stale = created.clone();
    stale.metadata.managed_fields = None;
    let err = api.replace("web", &PostParams::default(), &stale).await.expect_err("stale");
    assert!(matches!(err, kube::Error::Api(ref s) if s.code == 409 && s.reason == "Conflict"), "{err:?}");

    let listed = api.list(&ListParams::default().labels("app=web,tier in (front)")).await.expect("list");
    assert_eq!(listed.items.len(), 1);
    assert!(api.list(&ListParams::default().labels("app!=web")).await.expect("list").items.is_empty());
    let all: Api<Deployment> = Api::all(client.clone());
    assert_eq!(
        all.list(&ListParams::default().fields("metadata.namespace=default"))
            .await
            .expect("list")
            .items
            .len(),
        1
    );

    let deleted = api.delete("web", &DeleteParams::default()).await.expect("delete");
    assert!(deleted.is_right(), "removed at once: a Status");
    let err = api.get("web").await.expect_err("gone");
    assert!(matches!(err, kube::Error::Api(ref s) if s.code == 404 && s.reason == "NotFound"), "{err:?}");
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_nodes_discovery_and_finalizers() {
    let mut c = Cluster::serve(Timings { workload_ready_ms: 300, ..Timings::fast() }).await;
    c.server.upsert_node("cp-1", &[("topology.kubernetes.io/zone", "az05")], "v1.32.3", true).expect("node");
    let client = client(&c).await;
    let nodes: Api<Node> = Api::all(client.clone());
    let listed = nodes.list(&ListParams::default()).await.expect("nodes");
    assert_eq!(listed.items.len(), 1);
    let node = &listed.items[0];
    assert_eq!(
        node.status.as_ref().and_then(|s| s.node_info.as_ref()).map(|i| i.kubelet_version.as_str()),
        Some("v1.32.3")
    );

    // A watch from the list's resourceVersion sees the deployment become available.
    let api: Api<Deployment> = Api::namespaced(client.clone(), "default");
    let rv =
        api.list(&ListParams::default()).await.expect("list").metadata.resource_version.unwrap_or_default();
    let mut stream = api
        .watch(&WatchParams::default().fields("metadata.name=web").timeout(20), &rv)
        .await
        .expect("watch")
        .boxed();
    api.patch("web", &PatchParams::apply("provider"), &Patch::Apply(deployment(1, "nginx:1")))
        .await
        .expect("apply");
    let available = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(event) = stream.try_next().await.expect("event") {
            if let WatchEvent::Modified(d) | WatchEvent::Added(d) = event {
                let conds = d.status.and_then(|s| s.conditions).unwrap_or_default();
                if conds
                    .iter()
                    .any(|c| c.type_.as_deref() == Some("Available") && c.status.as_deref() == Some("True"))
                {
                    return true;
                }
            }
        }
        false
    })
    .await
    .expect("in time");
    assert!(available);

    // Discovery sees built-ins.
    let discovery = Discovery::new(client.clone()).run().await.expect("discovery");
    assert!(discovery.groups().any(|g| g.name() == "apps"));

    // Finalizers hold a deletion until they are removed; namespaces cascade.
    let ns: Api<Namespace> = Api::all(client.clone());
    ns.create(
        &PostParams::default(),
        &serde_json::from_value(json!({"metadata": {"name": "team"}})).expect("ns"),
    )
    .await
    .expect("create ns");
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "team");
    let cm = serde_json::from_value(
        json!({"metadata": {"name": "held", "finalizers": ["example.com/hold"]}, "data": {"a": "b"}}),
    )
    .expect("cm");
    cms.create(&PostParams::default(), &cm).await.expect("create cm");
    let pending = cms.delete("held", &DeleteParams::default()).await.expect("delete");
    let held = pending.left().expect("still there, marked");
    assert!(held.metadata.deletion_timestamp.is_some());
    cms.patch("held", &PatchParams::default(), &Patch::Merge(json!({"metadata": {"finalizers": null}})))
        .await
        .expect("release");
    assert!(cms.get_opt("held").await.expect("get").is_none());
    cms.create(
        &PostParams::default(),
        &serde_json::from_value(json!({"metadata": {"name": "other"}})).expect("cm"),
    )
    .await
    .expect("create");
    ns.delete("team", &DeleteParams::default()).await.expect("delete ns");
    let gone = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if ns.get_opt("team").await.expect("get").is_none() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(gone.is_ok(), "namespace removed once emptied");
    assert!(cms.get_opt("other").await.expect("get").is_none());
    c.stop().await;
}
