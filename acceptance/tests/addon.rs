//! `cloudtemple_kubernetes_addon` through real terraform against the local region
//! (127.81.x.y): one apply creates a dev cluster, a worker pool (the Ceph nodes of a dev
//! cluster) and the add-ons cilium, hubble (following cilium's version), metallb,
//! ingress-nginx, rook-ceph and kyverno; `kubectl` sees the product objects (storage classes,
//! ingress classes, MetalLB pools, workloads); plans are empty after every apply with and
//! without refresh. Then:
//! - upgrade of metallb in place (images move to the new tag) with a configuration change of
//!   ingress-nginx that drops the `nginx-external-secured` class: its objects are pruned;
//! - a downgrade and an invalid configuration are refused at plan (the JSON path is named);
//! - conflict: kubectl takes a field of Kyverno's ConfigMap with another field manager; `none`
//!   fails naming the manager, `overwrite` converges;
//! - drift: a Deployment deleted by kubectl is planned back and restored;
//! - import of the kyverno add-on into a fresh directory, plan empty;
//! - removing add-ons from the configuration deletes their objects (rook-ceph's namespace and
//!   classes, ingress-nginx's classes), except kyverno's with `preserve`, and nothing else (a
//!   ConfigMap of the user and MetalLB stay).
//!
//! A second case shows a missing dependency (hubble without cilium) reported clearly; a third
//! installs Rook-Ceph on the dedicated storage nodes of a production cluster (one per zone),
//! with the zone failure domain.

mod common;

use acceptance::checks::attr_eq;
use acceptance::terraform::Terraform;
use acceptance::{CheckResult, RunContext, State, Step, TestCase};
use common::access::{import_id, import_with_access};
use common::hcl::{CILIUM_ADDON, CLOUDTEMPLE_REQUIRED, ClusterHcl, PoolHcl};
use common::kubectl::Kubectl;
use common::{CLOUDTEMPLE, LocalRegion, on_each_terraform_in};
use serde_json::{Value, json};

/// Subnets of the runs of the main case, one per terraform binary.
const SUBNETS: [u8; 2] = [1, 2];
/// Subnets of the dependency case.
const DEPENDENCY_SUBNETS: [u8; 2] = [3, 4];
const CLUSTER: &str = "cloudtemple_kubernetes_cluster.dev";
const METALLB: &str = "cloudtemple_kubernetes_addon.metallb";
const INGRESS: &str = "cloudtemple_kubernetes_addon.ingress";
const KYVERNO: &str = "cloudtemple_kubernetes_addon.kyverno";
const ROOK: &str = "cloudtemple_kubernetes_addon.rook";
const KUBECTL: Kubectl = Kubectl::of(CLUSTER);

/// A dev cluster `name` on machine 1.
fn cluster(subnet: u8, name: &str) -> String {
    format!("{CLOUDTEMPLE_REQUIRED}{}", ClusterHcl::dev(name, [127, 81, subnet]))
}

/// What varies between the steps of the main case.
#[derive(Clone, Copy)]
struct Knobs {
    metallb_version: &'static str,
    metallb_internal: &'static str,
    secured: bool,
    kyverno_resolution: &'static str,
    kyverno_preserve: bool,
    with_rook_and_ingress: bool,
    with_kyverno: bool,
}

const START: Knobs = Knobs {
    metallb_version: "0.14.9",
    metallb_internal: "127.81.SUBNET.100-127.81.SUBNET.127",
    secured: true,
    kyverno_resolution: "none",
    kyverno_preserve: false,
    with_rook_and_ingress: true,
    with_kyverno: true,
};

fn config(subnet: u8, k: &Knobs) -> String {
    let mut text = cluster(subnet, "ctaddon");
    text.push_str(&PoolHcl::workers([127, 81, subnet], &[2, 3, 4]).to_string());
    text.push_str(CILIUM_ADDON);
    text.push_str(&format!(
        r#"
resource "cloudtemple_kubernetes_addon" "hubble" {{
  cluster    = cloudtemple_kubernetes_cluster.dev.access
  name       = "hubble"
  depends_on = [cloudtemple_kubernetes_addon.cilium]
}}

resource "cloudtemple_kubernetes_addon" "metallb" {{
  cluster = cloudtemple_kubernetes_cluster.dev.access
  name    = "metallb"
  version = "{version}"
  configuration_values = jsonencode({{
    internal_pool = {{ addresses = ["{internal}"] }}
    external_pool = {{ addresses = ["127.81.{subnet}.128-127.81.{subnet}.160"] }}
  }})
  depends_on = [cloudtemple_kubernetes_addon.cilium]
}}
"#,
        version = k.metallb_version,
        internal = k.metallb_internal.replace("SUBNET", &subnet.to_string()),
    ));
    if k.with_rook_and_ingress {
        text.push_str(&format!(
            r#"
resource "cloudtemple_kubernetes_addon" "ingress" {{
  cluster              = cloudtemple_kubernetes_cluster.dev.access
  name                 = "ingress-nginx"
  configuration_values = jsonencode({{ replicas = 1, external_secured = {{ enabled = {secured} }} }})
  depends_on           = [cloudtemple_kubernetes_addon.metallb]
}}

resource "cloudtemple_kubernetes_addon" "rook" {{
  cluster              = cloudtemple_kubernetes_cluster.dev.access
  name                 = "rook-ceph"
  configuration_values = jsonencode({{ failure_domain = "host" }})
  depends_on           = [cloudtemple_kubernetes_node_pool.workers]
}}
"#,
            secured = k.secured,
        ));
    }
    if k.with_kyverno {
        text.push_str(&format!(
            r#"
resource "cloudtemple_kubernetes_addon" "kyverno" {{
  cluster             = cloudtemple_kubernetes_cluster.dev.access
  name                = "kyverno"
  conflict_resolution = "{resolution}"
  preserve            = {preserve}
}}
"#,
            resolution = k.kyverno_resolution,
            preserve = k.kyverno_preserve,
        ));
    }
    text
}

/// kubectl sees the product objects of every add-on.
fn kubectl_sees_the_platform(ctx: &mut RunContext<'_>) -> CheckResult {
    let default_class = "jsonpath={.metadata.annotations.storageclass\\.kubernetes\\.io/is-default-class}";
    KUBECTL.prints(ctx, &["get", "storageclass", "ceph-block", "-o", default_class], "true")?;
    for class in ["ceph-filesystem", "ceph-block-norepl"] {
        KUBECTL.prints(ctx, &["get", "storageclass", class, "-o", "jsonpath={.metadata.name}"], class)?;
    }
    for class in ["nginx-internal", "nginx-external", "nginx-external-secured"] {
        KUBECTL.prints(
            ctx,
            &["get", "ingressclass", class, "-o", "jsonpath={.spec.controller}"],
            "nginx.org/ingress-controller",
        )?;
    }
    KUBECTL.prints(
        ctx,
        &[
            "get",
            "ipaddresspools.metallb.io",
            "-n",
            "metallb-system",
            "-o",
            "jsonpath={.items[*].metadata.name}",
        ],
        "external internal",
    )?;
    KUBECTL.prints(
        ctx,
        &[
            "get",
            "ipaddresspools.metallb.io",
            "external",
            "-n",
            "metallb-system",
            "-o",
            "jsonpath={.spec.serviceAllocation.serviceSelectors[0].matchLabels.lb-type}",
        ],
        "external",
    )?;
    KUBECTL.finds(
        ctx,
        &["get", "l2advertisements.metallb.io", "cloudtemple", "-n", "metallb-system"],
        true,
    )?;
    // The external ingress got its address from the external pool, the internal one from the default.
    let run = KUBECTL.run(
        ctx,
        &[
            "get",
            "service",
            "nginx-external",
            "-n",
            "ingress-nginx",
            "-o",
            "jsonpath={.status.loadBalancer.ingress[0].ip}",
        ],
        None,
    )?;
    let (ok, out) = (run.success, run.combined());
    let last = out.trim().rsplit('.').next().and_then(|n| n.parse::<u8>().ok());
    if !ok || !last.is_some_and(|n| (128..=160).contains(&n)) {
        return Err(format!("nginx-external should have an external-pool address, got: {out}").into());
    }
    KUBECTL.prints(
        ctx,
        &["get", "daemonset", "cilium", "-n", "kube-system", "-o", "jsonpath={.metadata.name}"],
        "cilium",
    )?;
    KUBECTL.prints(
        ctx,
        &[
            "get",
            "deployment",
            "hubble-relay",
            "-n",
            "kube-system",
            "-o",
            "jsonpath={.spec.template.spec.containers[0].image}",
        ],
        "quay.io/cilium/hubble-relay:v1.20.3",
    )?;
    KUBECTL.prints(
        ctx,
        &[
            "get",
            "deployment",
            "rook-ceph-operator",
            "-n",
            "rook-ceph",
            "-o",
            "jsonpath={.spec.template.spec.containers[0].image}",
        ],
        "docker.io/rook/ceph:v1.20.7",
    )?;
    KUBECTL.prints(
        ctx,
        &["get", "deployments", "-n", "kyverno", "-o", "jsonpath={.items[*].metadata.name}"],
        "kyverno-admission-controller kyverno-background-controller kyverno-cleanup-controller kyverno-reports-controller",
    )?;
    KUBECTL.finds(ctx, &["get", "clusterpolicy", "disallow-privileged-containers"], true)
}

/// The addon's `managed_objects` has `id`, or lacks it.
fn inventory_has(address: &'static str, id: &'static str, present: bool) -> impl Fn(&State) -> CheckResult {
    move |state: &State| {
        let values = &state.resource(address).ok_or("no add-on in state")?.values;
        let list = values.get("managed_objects").and_then(Value::as_array).ok_or("no managed_objects")?;
        if list.iter().any(|v| v == id) == present {
            Ok(())
        } else {
            Err(format!(
                "{address}.managed_objects {} {id}: {list:?}",
                if present { "lacks" } else { "still has" }
            )
            .into())
        }
    }
}

#[test]
fn addons_install_upgrade_prune_conflict_drift_import_and_delete() {
    on_each_terraform_in(&SUBNETS, |tf: &Terraform, subnet| {
        let region = LocalRegion::start([127, 81, subnet], 4);
        let dir = tempfile::Builder::new().prefix("ct-addon-").tempdir().expect("tempdir");
        let upgraded = Knobs { metallb_version: "0.15.3", secured: false, ..START };
        let overwrite = Knobs { kyverno_resolution: "overwrite", ..upgraded };
        let preserved = Knobs { kyverno_preserve: true, ..upgraded };
        let removed = Knobs { with_rook_and_ingress: false, with_kyverno: false, ..upgraded };
        let report = TestCase::new("addon")
            .provider(CLOUDTEMPLE)
            .step(
                Step::config(config(subnet, &START))
                    .expect_actions(METALLB, &["create"])
                    .expect_actions(KYVERNO, &["create"])
                    .check(attr_eq(METALLB, "status", json!("ready")))
                    .check(attr_eq(METALLB, "namespace", json!("metallb-system")))
                    .check(attr_eq(ROOK, "version", json!("1.20.7")))
                    .check(inventory_has(ROOK, "storage.k8s.io/v1//StorageClass//ceph-block", true))
                    .check(inventory_has(
                        INGRESS,
                        "networking.k8s.io/v1//IngressClass//nginx-external-secured",
                        true,
                    )),
            )
            .step(Step::run(kubectl_sees_the_platform))
            .step(Step::run(|ctx| {
                // A ConfigMap of the user, which no add-on operation may touch.
                let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: mine\n  namespace: default\ndata:\n  a: b\n";
                KUBECTL.apply(ctx, &["apply", "-f", "-"], cm)
            }))
            // Upgrade in place, and a configuration change that drops a class: pruned.
            .step(
                Step::config(config(subnet, &upgraded))
                    .expect_actions(METALLB, &["update"])
                    .expect_actions(INGRESS, &["update"])
                    .check(attr_eq(METALLB, "version", json!("0.15.3")))
                    .check(inventory_has(
                        INGRESS,
                        "networking.k8s.io/v1//IngressClass//nginx-external-secured",
                        false,
                    )),
            )
            .step(Step::run(|ctx| {
                KUBECTL.prints(
                    ctx,
                    &["get", "deployment", "controller", "-n", "metallb-system", "-o", "jsonpath={.spec.template.spec.containers[0].image}"],
                    "quay.io/metallb/controller:v0.15.3",
                )?;
                KUBECTL.finds(ctx, &["get", "ingressclass", "nginx-external-secured"], false)?;
                KUBECTL.finds(ctx, &["get", "deployment", "nginx-external-secured", "-n", "ingress-nginx"], false)?;
                KUBECTL.finds(ctx, &["get", "ingressclass", "nginx-external"], true)
            }))
            // Downgrade and invalid configuration: refused at plan.
            .step(
                Step::config(config(subnet, &Knobs { metallb_version: "0.14.9", ..upgraded }))
                    .expect_error("(?i)downgrade")
                    .expect_error_path("version"),
            )
            .step(
                Step::config(config(subnet, &Knobs { metallb_internal: "not-an-address", ..upgraded }))
                    .expect_error(r"\$\.internal_pool\.addresses\[0\]")
                    .expect_error_path("configuration_values"),
            )
            // Conflict: another field manager owns a field Kyverno's ConfigMap sets.
            .step(Step::run(|ctx| {
                let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: kyverno\n  namespace: kyverno\ndata:\n  defaultRegistry: ghcr.io\n";
                KUBECTL.apply(
                    ctx,
                    &["apply", "--server-side", "--field-manager=other", "--force-conflicts", "-f", "-"],
                    cm,
                )
            }))
            .step(Step::config(config(subnet, &upgraded)).expect_error(r#"(?s)defaultRegistry.*"other""#))
            .step(Step::config(config(subnet, &overwrite)).expect_actions(KYVERNO, &["update"]))
            .step(Step::run(|ctx| {
                KUBECTL.prints(ctx, &["get", "configmap", "kyverno", "-n", "kyverno", "-o", "jsonpath={.data.defaultRegistry}"], "docker.io")
            }))
            // Drift: a Deployment deleted behind Terraform's back is planned back and restored.
            .step(Step::run(|ctx| {
                KUBECTL.succeeds(ctx, &["delete", "deployment", "kyverno-cleanup-controller", "-n", "kyverno"])
            }))
            .step(Step::config(config(subnet, &upgraded)).expect_actions(KYVERNO, &["update"]))
            .step(Step::run(|ctx| KUBECTL.finds(ctx, &["get", "deployment", "kyverno-cleanup-controller", "-n", "kyverno"], true)))
            // Import into a fresh directory: plan empty.
            .step(import_with_access(
                tf,
                KYVERNO,
                &config(subnet, &upgraded),
                "  cluster             = cloudtemple_kubernetes_cluster.dev.access\n  name                = \"kyverno\"",
                |state| import_id(state, CLUSTER, dir.path(), "kyverno"),
            ))
            // Removal: preserve keeps Kyverno's objects; rook-ceph and ingress-nginx go, nothing else.
            .step(Step::config(config(subnet, &preserved)).expect_actions(KYVERNO, &["update"]))
            .step(Step::config(config(subnet, &removed)).expect_actions(ROOK, &["delete"]).expect_actions(KYVERNO, &["delete"]))
            .step(Step::run(|ctx| {
                KUBECTL.finds(ctx, &["get", "storageclass", "ceph-block"], false)?;
                KUBECTL.finds(ctx, &["get", "namespace", "rook-ceph"], false)?;
                KUBECTL.finds(ctx, &["get", "ingressclass", "nginx-internal"], false)?;
                KUBECTL.finds(ctx, &["get", "deployment", "kyverno-admission-controller", "-n", "kyverno"], true)?;
                KUBECTL.finds(ctx, &["get", "configmap", "mine", "-n", "default"], true)?;
                KUBECTL.finds(ctx, &["get", "ipaddresspools.metallb.io", "internal", "-n", "metallb-system"], true)?;
                KUBECTL.finds(ctx, &["get", "namespace", "kube-system"], true)
            }))
            .step(Step::destroy())
            .run_with(tf);
        drop(region);
        report
    });
}

#[test]
fn a_missing_dependency_is_reported_clearly() {
    on_each_terraform_in(&DEPENDENCY_SUBNETS, |tf: &Terraform, subnet| {
        let region = LocalRegion::start([127, 81, subnet], 1);
        let base = cluster(subnet, "ctdeps");
        let with_hubble = format!(
            "{base}{}",
            r#"
resource "cloudtemple_kubernetes_addon" "hubble" {
  cluster = cloudtemple_kubernetes_cluster.dev.access
  name    = "hubble"
}
"#
        );
        let report = TestCase::new("addon_dependency")
            .provider(CLOUDTEMPLE)
            .step(Step::config(base.clone()))
            .step(
                Step::config(with_hubble)
                    .expect_error("hubble needs the cilium add-on, which is not installed"),
            )
            .step(Step::config(base))
            .step(Step::destroy())
            .run_with(tf);
        drop(region);
        report
    });
}

/// Subnets of the production case.
const PRODUCTION_SUBNETS: [u8; 2] = [5, 6];

#[test]
fn production_storage_nodes_carry_ceph_across_zones() {
    on_each_terraform_in(&PRODUCTION_SUBNETS, |tf: &Terraform, subnet| {
        let region = LocalRegion::start([127, 81, subnet], 6);
        // A production cluster under the resource label `dev`, with a storage node per zone.
        let net = [127, 81, subnet];
        let cluster = ClusterHcl::production("ctprd", net).label("dev");
        let storage = PoolHcl::storage(net, &[4, 5, 6]);
        let config = format!(
            r#"{CLOUDTEMPLE_REQUIRED}{cluster}{storage}{CILIUM_ADDON}
resource "cloudtemple_kubernetes_addon" "rook" {{
  cluster              = cloudtemple_kubernetes_cluster.dev.access
  name                 = "rook-ceph"
  configuration_values = jsonencode({{ failure_domain = "zone" }})
  depends_on           = [cloudtemple_kubernetes_node_pool.storage, cloudtemple_kubernetes_addon.cilium]
}}
"#
        );
        let report = TestCase::new("addon_production")
            .provider(CLOUDTEMPLE)
            .step(Step::config(config).expect_actions(ROOK, &["create"]).check(attr_eq(
                ROOK,
                "status",
                json!("ready"),
            )))
            .step(Step::run(|ctx| {
                KUBECTL.prints(
                    ctx,
                    &[
                        "get",
                        "cephblockpools.ceph.rook.io",
                        "replicapool",
                        "-n",
                        "rook-ceph",
                        "-o",
                        "jsonpath={.spec.failureDomain}",
                    ],
                    "zone",
                )?;
                KUBECTL.prints(
                    ctx,
                    &["get", "storageclass", "-o", "jsonpath={.items[*].metadata.name}"],
                    "ceph-block ceph-block-norepl ceph-filesystem",
                )
            }))
            .step(Step::destroy())
            .run_with(tf);
        drop(region);
        report
    });
}
