//! The `kube-prometheus-stack` add-on through real terraform against the local region
//! (127.84.x.y): one apply creates a dev cluster, a worker pool, cilium, rook-ceph (the storage
//! class the monitoring volumes use) and kube-prometheus-stack with a configuration; `kubectl`
//! sees the operator CRDs, the `Prometheus` resource carrying that configuration (replicas,
//! retention, volume size and class), Alertmanager, Grafana reading its admin account from the
//! user's Secret, kube-state-metrics, node-exporter and the ServiceMonitors. Then disabling
//! Alertmanager prunes its objects and drops the alerting section of Prometheus, and removing
//! the add-on deletes its namespace and CRDs.
//!
//! A first test, without terraform, renders the templates of every catalog version with a
//! non-default configuration and checks the objects the configuration drives.

mod common;

use acceptance::checks::attr_eq;
use acceptance::terraform::Terraform;
use acceptance::{CheckResult, RunContext, State, Step, TestCase};
use cloudtemple::catalog::{Catalog, Version};
use common::hcl::{CILIUM_ADDON, CLOUDTEMPLE_REQUIRED, ClusterHcl, PoolHcl};
use common::kubectl::Kubectl;
use common::{CLOUDTEMPLE, LocalRegion, on_each_terraform_in};
use serde_json::{Value, json};

/// Subnets of the runs, one per terraform binary (127.84.<subnet>.x).
const SUBNETS: [u8; 2] = [1, 2];
const CLUSTER: &str = "cloudtemple_kubernetes_cluster.dev";
const KUBECTL: Kubectl = Kubectl::of(CLUSTER);
const MONITORING: &str = "cloudtemple_kubernetes_addon.monitoring";
const NEWEST: &str = "88.1.3";

fn render(version: &str, config: &Value) -> Vec<Value> {
    let addon = Catalog::embedded().addon("kube-prometheus-stack").expect("in the catalog").addon;
    assert!(addon.validate_configuration(config).is_empty(), "{config}");
    addon.render(Version::parse(version).expect("a version"), config).expect("renders")
}

fn find<'a>(objects: &'a [Value], kind: &str, name: &str) -> Option<&'a Value> {
    objects.iter().find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
}

#[test]
fn templates_follow_the_configuration_at_every_version() {
    let configured = json!({
        "prometheus": {"replicas": 2, "retention": "30d", "storage_gib": 80},
        "storage_class": "ceph-block-norepl",
        "grafana": {"ingress_host": "grafana.external-secured.ctodev.mk.ms-cloud-temple.com", "admin_secret": "ops-grafana"},
    });
    for (version, prometheus_image, operator_image) in [
        ("88.1.3", "quay.io/prometheus/prometheus:v3.13.2-distroless", "v0.93.0"),
        ("84.1.1", "quay.io/prometheus/prometheus:v3.11.2", "v0.90.1"),
        ("80.4.1", "quay.io/prometheus/prometheus:v3.8.0", "v0.87.1"),
    ] {
        let objects = render(version, &configured);
        let prometheus =
            find(&objects, "Prometheus", "kube-prometheus-stack-prometheus").expect("Prometheus");
        assert_eq!(prometheus["metadata"]["namespace"], "monitoring");
        assert_eq!(prometheus["spec"]["replicas"], 2);
        assert_eq!(prometheus["spec"]["retention"], "30d");
        assert_eq!(prometheus["spec"]["image"], prometheus_image);
        let claim = &prometheus["spec"]["storage"]["volumeClaimTemplate"]["spec"];
        assert_eq!(claim["storageClassName"], "ceph-block-norepl");
        assert_eq!(claim["resources"]["requests"]["storage"], "80Gi");
        assert_eq!(
            prometheus["spec"]["alerting"]["alertmanagers"][0]["name"],
            "kube-prometheus-stack-alertmanager"
        );
        let operator = find(&objects, "Deployment", "kube-prometheus-stack-operator").expect("operator");
        let container = &operator["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(
            container["image"],
            format!("quay.io/prometheus-operator/prometheus-operator:{operator_image}")
        );
        let reloader = format!(
            "--prometheus-config-reloader=quay.io/prometheus-operator/prometheus-config-reloader:{operator_image}"
        );
        assert!(container["args"].as_array().expect("args").iter().any(|a| a == reloader.as_str()));
        let alertmanager =
            find(&objects, "Alertmanager", "kube-prometheus-stack-alertmanager").expect("Alertmanager");
        assert_eq!(
            alertmanager["spec"]["storage"]["volumeClaimTemplate"]["spec"]["storageClassName"],
            "ceph-block-norepl"
        );
        // The admin password never appears in the catalog: Grafana reads the user's Secret.
        let grafana = find(&objects, "Deployment", "kube-prometheus-stack-grafana").expect("Grafana");
        let env = &grafana["spec"]["template"]["spec"]["containers"][0]["env"];
        assert_eq!(env[0]["valueFrom"]["secretKeyRef"], json!({"name": "ops-grafana", "key": "admin-user"}));
        assert_eq!(
            env[1]["valueFrom"]["secretKeyRef"],
            json!({"name": "ops-grafana", "key": "admin-password"})
        );
        assert!(!objects.iter().any(|o| o["kind"] == "Secret"), "{version}: the add-on creates no Secret");
        let ingress = find(&objects, "Ingress", "kube-prometheus-stack-grafana").expect("ingress");
        assert_eq!(ingress["spec"]["ingressClassName"], "nginx-external-secured");
        assert_eq!(
            ingress["spec"]["rules"][0]["host"],
            "grafana.external-secured.ctodev.mk.ms-cloud-temple.com"
        );
        assert_eq!(
            find(&objects, "PersistentVolumeClaim", "kube-prometheus-stack-grafana").expect("volume")["spec"]
                ["storageClassName"],
            "ceph-block-norepl"
        );
        for (kind, name) in [
            ("CustomResourceDefinition", "servicemonitors.monitoring.coreos.com"),
            ("DaemonSet", "kube-prometheus-stack-prometheus-node-exporter"),
            ("Deployment", "kube-prometheus-stack-kube-state-metrics"),
            ("Service", "kube-prometheus-stack-prometheus"),
            ("ServiceMonitor", "kube-prometheus-stack-kubelet"),
            ("PrometheusRule", "kube-prometheus-stack-general"),
        ] {
            assert!(find(&objects, kind, name).is_some(), "{version}: no {kind} {name}");
        }
    }
    // Defaults: one replica, 15 days, 50 GiB on ceph-block, no ingress.
    let objects = render(NEWEST, &json!({}));
    let prometheus = find(&objects, "Prometheus", "kube-prometheus-stack-prometheus").expect("Prometheus");
    assert_eq!(prometheus["spec"]["replicas"], 1);
    assert_eq!(prometheus["spec"]["retention"], "15d");
    let claim = &prometheus["spec"]["storage"]["volumeClaimTemplate"]["spec"];
    assert_eq!(
        (claim["storageClassName"].as_str(), claim["resources"]["requests"]["storage"].as_str()),
        (Some("ceph-block"), Some("50Gi"))
    );
    assert!(!objects.iter().any(|o| o["kind"] == "Ingress"));
    // Alertmanager and Grafana off: their objects go (the CRDs stay), Prometheus sends alerts
    // nowhere.
    let objects = render(NEWEST, &json!({"alertmanager": {"enabled": false}, "grafana": {"enabled": false}}));
    assert!(!objects.iter().any(|o| o["kind"] == "Alertmanager"));
    let theirs = |o: &&Value| {
        o["kind"] != "CustomResourceDefinition"
            && o["metadata"]["name"]
                .as_str()
                .is_some_and(|n| n.contains("grafana") || n.contains("alertmanager"))
    };
    assert_eq!(objects.iter().filter(theirs).count(), 0);
    let prometheus = find(&objects, "Prometheus", "kube-prometheus-stack-prometheus").expect("Prometheus");
    assert!(prometheus["spec"].get("alerting").is_none());
}

fn config(subnet: u8, alertmanager: bool, with_monitoring: bool) -> String {
    let net = [127, 84, subnet];
    let cluster = ClusterHcl::dev("ctmon", net);
    let workers = PoolHcl::workers(net, &[2, 3]);
    let mut text = format!(
        r#"{CLOUDTEMPLE_REQUIRED}{cluster}{workers}{CILIUM_ADDON}
resource "cloudtemple_kubernetes_addon" "rook" {{
  cluster              = cloudtemple_kubernetes_cluster.dev.access
  name                 = "rook-ceph"
  configuration_values = jsonencode({{ failure_domain = "host" }})
  depends_on           = [cloudtemple_kubernetes_node_pool.workers, cloudtemple_kubernetes_addon.cilium]
}}
"#
    );
    if with_monitoring {
        text.push_str(&format!(
            r#"
resource "cloudtemple_kubernetes_addon" "monitoring" {{
  cluster = cloudtemple_kubernetes_cluster.dev.access
  name    = "kube-prometheus-stack"
  configuration_values = jsonencode({{
    prometheus   = {{ replicas = 2, retention = "30d", storage_gib = 20 }}
    alertmanager = {{ enabled = {alertmanager} }}
    grafana      = {{ ingress_host = "grafana.external-secured.ctmon.mk.ms-cloud-temple.com" }}
  }})
  depends_on = [cloudtemple_kubernetes_addon.rook]
}}
"#
        ));
    }
    text
}

/// The objects the configuration drives, as kubectl sees them.
fn kubectl_sees_the_stack(ctx: &mut RunContext<'_>) -> CheckResult {
    let ns = ["-n", "monitoring"];
    let get = |what: &[&'static str], path: &'static str| -> Vec<&'static str> {
        let mut args = vec!["get"];
        args.extend_from_slice(what);
        args.extend_from_slice(&ns);
        args.extend_from_slice(&["-o", path]);
        args
    };
    for crd in ["prometheuses", "alertmanagers", "servicemonitors", "podmonitors", "prometheusrules"] {
        let name = format!("{crd}.monitoring.coreos.com");
        KUBECTL.prints(
            ctx,
            &["get", "crd", &name, "-o", "jsonpath={.spec.group}"],
            "monitoring.coreos.com",
        )?;
    }
    let prometheus = ["prometheuses.monitoring.coreos.com", "kube-prometheus-stack-prometheus"];
    KUBECTL.prints(ctx, &get(&prometheus, "jsonpath={.spec.replicas}"), "2")?;
    KUBECTL.prints(ctx, &get(&prometheus, "jsonpath={.spec.retention}"), "30d")?;
    KUBECTL.prints(
        ctx,
        &get(&prometheus, "jsonpath={.spec.storage.volumeClaimTemplate.spec.resources.requests.storage}"),
        "20Gi",
    )?;
    KUBECTL.prints(
        ctx,
        &get(&prometheus, "jsonpath={.spec.storage.volumeClaimTemplate.spec.storageClassName}"),
        "ceph-block",
    )?;
    KUBECTL.prints(
        ctx,
        &get(&prometheus, "jsonpath={.spec.alerting.alertmanagers[0].name}"),
        "kube-prometheus-stack-alertmanager",
    )?;
    KUBECTL.prints(
        ctx,
        &get(
            &["alertmanagers.monitoring.coreos.com", "kube-prometheus-stack-alertmanager"],
            "jsonpath={.spec.image}",
        ),
        "quay.io/prometheus/alertmanager:v0.33.1",
    )?;
    KUBECTL.prints(
        ctx,
        &get(
            &["deployment", "kube-prometheus-stack-operator"],
            "jsonpath={.spec.template.spec.containers[0].image}",
        ),
        "quay.io/prometheus-operator/prometheus-operator:v0.93.0",
    )?;
    let grafana = ["deployment", "kube-prometheus-stack-grafana"];
    KUBECTL.prints(
        ctx,
        &get(&grafana, "jsonpath={.spec.template.spec.containers[0].image}"),
        "docker.io/grafana/grafana:13.1.1",
    )?;
    KUBECTL.prints(
        ctx,
        &get(&grafana, "jsonpath={.spec.template.spec.containers[0].env[1].valueFrom.secretKeyRef.name}"),
        "grafana-admin",
    )?;
    KUBECTL.prints(
        ctx,
        &get(&["ingress", "kube-prometheus-stack-grafana"], "jsonpath={.spec.rules[0].host}"),
        "grafana.external-secured.ctmon.mk.ms-cloud-temple.com",
    )?;
    KUBECTL.prints(
        ctx,
        &get(&["pvc", "kube-prometheus-stack-grafana"], "jsonpath={.status.phase}"),
        "Bound",
    )?;
    KUBECTL.prints(
        ctx,
        &get(
            &["daemonset", "kube-prometheus-stack-prometheus-node-exporter"],
            "jsonpath={.spec.template.spec.hostNetwork}",
        ),
        "true",
    )?;
    KUBECTL.finds(
        ctx,
        &["get", "deployment", "kube-prometheus-stack-kube-state-metrics", "-n", "monitoring"],
        true,
    )?;
    KUBECTL.prints(
        ctx,
        &get(&["servicemonitors.monitoring.coreos.com"], "jsonpath={.items[*].metadata.name}"),
        "kube-prometheus-stack-alertmanager kube-prometheus-stack-grafana kube-prometheus-stack-kube-state-metrics \
         kube-prometheus-stack-kubelet kube-prometheus-stack-operator kube-prometheus-stack-prometheus \
         kube-prometheus-stack-prometheus-node-exporter",
    )?;
    // The namespace lets node-exporter use the host's namespaces and file systems.
    KUBECTL.prints(
        ctx,
        &[
            "get",
            "namespace",
            "monitoring",
            "-o",
            "jsonpath={.metadata.labels.pod-security\\.kubernetes\\.io/enforce}",
        ],
        "privileged",
    )
}

/// The add-on's `managed_objects` has `id`, or lacks it.
fn inventory_has(id: &'static str, present: bool) -> impl Fn(&State) -> CheckResult {
    move |state: &State| {
        let values = &state.resource(MONITORING).ok_or("no add-on in state")?.values;
        let list = values.get("managed_objects").and_then(Value::as_array).ok_or("no managed_objects")?;
        if list.iter().any(|v| v == id) == present {
            Ok(())
        } else {
            Err(format!("managed_objects {} {id}: {list:?}", if present { "lacks" } else { "still has" })
                .into())
        }
    }
}

#[test]
fn monitoring_stack_installs_reconfigures_and_goes() {
    on_each_terraform_in(&SUBNETS, |tf: &Terraform, subnet| {
        let _region = LocalRegion::start([127, 84, subnet], 3);
        TestCase::new("addon_monitoring")
            .provider(CLOUDTEMPLE)
            .step(
                Step::config(config(subnet, true, true))
                    .expect_actions(MONITORING, &["create"])
                    .check(attr_eq(MONITORING, "status", json!("ready")))
                    .check(attr_eq(MONITORING, "version", json!(NEWEST)))
                    .check(attr_eq(MONITORING, "namespace", json!("monitoring")))
                    .check(inventory_has(
                        "apiextensions.k8s.io/v1//CustomResourceDefinition//prometheuses.monitoring.coreos.com",
                        true,
                    ))
                    .check(inventory_has(
                        "monitoring.coreos.com/v1//Alertmanager//monitoring//kube-prometheus-stack-alertmanager",
                        true,
                    )),
            )
            .step(Step::run(kubectl_sees_the_stack))
            // Alertmanager off: its objects are pruned, Prometheus no longer points at it.
            .step(
                Step::config(config(subnet, false, true))
                    .expect_actions(MONITORING, &["update"])
                    .check(inventory_has(
                        "monitoring.coreos.com/v1//Alertmanager//monitoring//kube-prometheus-stack-alertmanager",
                        false,
                    )),
            )
            .step(Step::run(|ctx| {
                KUBECTL.finds(
                    ctx,
                    &["get", "alertmanagers.monitoring.coreos.com", "kube-prometheus-stack-alertmanager", "-n", "monitoring"],
                    false,
                )?;
                KUBECTL.finds(ctx, &["get", "service", "kube-prometheus-stack-alertmanager", "-n", "monitoring"], false)?;
                KUBECTL.prints(
                    ctx,
                    &[
                        "get",
                        "prometheuses.monitoring.coreos.com",
                        "kube-prometheus-stack-prometheus",
                        "-n",
                        "monitoring",
                        "-o",
                        "jsonpath={.spec.alerting.alertmanagers}",
                    ],
                    "",
                )
            }))
            // Removing the add-on deletes its namespace and CRDs, and leaves Rook's classes.
            .step(Step::config(config(subnet, false, false)).expect_actions(MONITORING, &["delete"]))
            .step(Step::run(|ctx| {
                KUBECTL.finds(ctx, &["get", "namespace", "monitoring"], false)?;
                KUBECTL.finds(ctx, &["get", "crd", "prometheuses.monitoring.coreos.com"], false)?;
                KUBECTL.finds(ctx, &["get", "storageclass", "ceph-block"], true)
            }))
            .step(Step::destroy())
            .run_with(tf)
    });
}
