//! The add-on templates: every add-on renders at every version with its default (or example)
//! configuration into well-formed objects, and the product objects are what Cloud Temple
//! documents.

use super::{catalog, v};
use crate::catalog::manifests::{ObjectRef, check_rendered};
use serde_json::{Value, json};

fn example(addon: &crate::catalog::Addon) -> Value {
    addon.manifests.as_ref().and_then(|m| m.example_configuration.clone()).unwrap_or_else(|| json!({}))
}

fn render(name: &str, version: &str, config: &Value) -> Vec<Value> {
    let addon = catalog().addon(name).unwrap().addon;
    addon.render(v(version), config).unwrap_or_else(|e| panic!("{name} {version}: {e}"))
}

fn ids(objects: &[Value]) -> Vec<String> {
    objects.iter().map(|o| ObjectRef::of(o).unwrap().to_string()).collect()
}

#[test]
fn every_addon_renders_at_every_version_with_its_defaults() {
    let catalog = catalog();
    for addon in catalog.addons().filter(|a| a.manifests.is_some()) {
        let config = example(addon);
        assert!(
            addon.validate_configuration(&config).is_empty(),
            "{}: example configuration invalid",
            addon.name
        );
        for version in addon.versions() {
            let objects = addon.render(version.version, &config).unwrap_or_else(|e| {
                panic!("{} {}: {e}", addon.name, version.version);
            });
            // CRDs of dependencies may be used (e.g. a ServiceMonitor of kube-prometheus-stack).
            let mut known = Vec::new();
            for dependency in &addon.dependencies {
                let dep = catalog.addon(&dependency.name).unwrap().addon;
                let dep_version = dep.versions()[0].version;
                known.extend(dep.render(dep_version, &example(dep)).unwrap());
            }
            let problems = check_rendered(&objects, &known);
            assert!(problems.is_empty(), "{} {}: {problems:#?}", addon.name, version.version);
            for object in &objects {
                let kind = object["kind"].as_str().unwrap();
                if kind != "Namespace" && !matches!(kind, "ClusterRole" | "ClusterRoleBinding") {
                    continue;
                }
                assert!(object["metadata"]["labels"]["addons.cloudtemple.com/name"] == addon.name.as_str());
            }
        }
    }
}

#[test]
fn every_addon_has_templates_with_workloads() {
    let without: Vec<&str> =
        catalog().addons().filter(|a| a.manifests.is_none()).map(|a| a.name.as_str()).collect();
    assert!(without.is_empty(), "add-ons without templates: {without:?}");
    for addon in catalog().addons().filter(|a| a.manifests.is_some()) {
        let objects = addon.render(addon.versions()[0].version, &example(addon)).unwrap();
        let workload =
            |o: &&Value| matches!(o["kind"].as_str(), Some("Deployment" | "DaemonSet" | "StatefulSet"));
        assert!(objects.iter().any(|o| workload(&o)), "{}", addon.name);
    }
}

#[test]
fn metallb_pools_follow_the_product() {
    let objects = render("metallb", "0.15.3", &example(catalog().addon("metallb").unwrap().addon));
    let external =
        objects.iter().find(|o| o["kind"] == "IPAddressPool" && o["metadata"]["name"] == "external").unwrap();
    assert_eq!(
        external["spec"]["serviceAllocation"]["serviceSelectors"][0]["matchLabels"],
        json!({"lb-type": "external"})
    );
    assert_eq!(external["spec"]["addresses"], json!(["10.20.1.128-10.20.1.254"]));
    assert!(
        ids(&objects).contains(&"metallb.io/v1beta1/L2Advertisement/metallb-system/cloudtemple".to_owned())
    );
    let controller = objects.iter().find(|o| o["kind"] == "Deployment").unwrap();
    assert_eq!(
        controller["spec"]["template"]["spec"]["containers"][0]["image"],
        "quay.io/metallb/controller:v0.15.3"
    );
    // Objects come out in apply order: the namespace and CRDs before anything else.
    assert_eq!(objects[0]["kind"], "Namespace");
    assert_eq!(objects[1]["kind"], "CustomResourceDefinition");
}

#[test]
fn rook_ceph_and_ingress_classes_follow_the_product() {
    let objects = render("rook-ceph", "1.20.7", &json!({}));
    let class =
        |name: &str| objects.iter().find(|o| o["kind"] == "StorageClass" && o["metadata"]["name"] == name);
    let block = class("ceph-block").expect("ceph-block");
    assert_eq!(block["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"], "true");
    assert_eq!(block["provisioner"], "rook-ceph.rbd.csi.ceph.com");
    assert_eq!(class("ceph-block-norepl").unwrap()["parameters"]["pool"], "replicapool-norepl");
    assert_eq!(class("ceph-filesystem").unwrap()["provisioner"], "rook-ceph.cephfs.csi.ceph.com");
    // Not the default class any more: the annotation goes, the class stays.
    let objects = render("rook-ceph", "1.20.7", &json!({"ceph_block": {"default_class": false}}));
    let block = objects
        .iter()
        .find(|o| o["kind"] == "StorageClass" && o["metadata"]["name"] == "ceph-block")
        .unwrap();
    assert!(block["metadata"].get("annotations").is_none());

    let objects = render(
        "ingress-nginx",
        "5.5.3",
        &json!({"external_secured": {"allowed_source_ranges": ["203.0.113.0/24"]}}),
    );
    let classes: Vec<(&str, bool)> = objects
        .iter()
        .filter(|o| o["kind"] == "IngressClass")
        .map(|o| (o["metadata"]["name"].as_str().unwrap(), o["metadata"].get("annotations").is_some()))
        .collect();
    assert_eq!(
        classes,
        [("nginx-internal", true), ("nginx-external", false), ("nginx-external-secured", false)]
    );
    let service = |name: &str| {
        objects.iter().find(|o| o["kind"] == "Service" && o["metadata"]["name"] == name).unwrap()
    };
    assert_eq!(service("nginx-external")["metadata"]["labels"]["lb-type"], "external");
    assert_eq!(
        service("nginx-external-secured")["spec"]["loadBalancerSourceRanges"],
        json!(["203.0.113.0/24"])
    );
    assert!(service("nginx-internal")["spec"].get("loadBalancerIP").is_none());
}

#[test]
fn kube_prometheus_stack_follows_the_configuration() {
    let objects = render(
        "kube-prometheus-stack",
        "88.1.3",
        &json!({"prometheus": {"replicas": 2, "storage_gib": 80, "retention": "30d"},
                "storage_class": "ceph-block-norepl",
                "grafana": {"ingress_host": "grafana.external-secured.ctodev.mk.ms-cloud-temple.com"}}),
    );
    let find = |kind: &str, name: &str| {
        objects.iter().find(|o| o["kind"] == kind && o["metadata"]["name"] == name).unwrap()
    };
    let prometheus = find("Prometheus", "kube-prometheus-stack-prometheus");
    assert_eq!(prometheus["spec"]["replicas"], 2);
    assert_eq!(prometheus["spec"]["retention"], "30d");
    assert_eq!(prometheus["spec"]["image"], "quay.io/prometheus/prometheus:v3.13.2-distroless");
    let claim = &prometheus["spec"]["storage"]["volumeClaimTemplate"]["spec"];
    assert_eq!(claim["storageClassName"], "ceph-block-norepl");
    assert_eq!(claim["resources"]["requests"]["storage"], "80Gi");
    assert!(prometheus["spec"]["alerting"].is_object());
    assert_eq!(
        find("Ingress", "kube-prometheus-stack-grafana")["spec"]["ingressClassName"],
        "nginx-external-secured"
    );
    // The admin password is never in the catalog: Grafana reads it from the user's Secret.
    let grafana = find("Deployment", "kube-prometheus-stack-grafana");
    let env = &grafana["spec"]["template"]["spec"]["containers"][0]["env"];
    assert_eq!(
        env[1]["valueFrom"]["secretKeyRef"],
        json!({"name": "grafana-admin", "key": "admin-password"})
    );
    // Without Alertmanager: no Alertmanager objects and no alerting section.
    let objects = render(
        "kube-prometheus-stack",
        "80.4.1",
        &json!({"alertmanager": {"enabled": false}, "grafana": {"enabled": false}}),
    );
    assert!(
        !objects
            .iter()
            .any(|o| o["kind"] == "Alertmanager" || o["metadata"]["name"] == "kube-prometheus-stack-grafana")
    );
    let prometheus = objects.iter().find(|o| o["kind"] == "Prometheus").unwrap();
    assert!(prometheus["spec"].get("alerting").is_none());
    assert_eq!(prometheus["spec"]["image"], "quay.io/prometheus/prometheus:v3.8.0");
}
