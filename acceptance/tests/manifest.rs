//! `cloudtemple_kubernetes_manifest` through real terraform against the local region
//! (127.80.x.y): a dev cluster and, in the same apply, a StorageClass, a Namespace (from YAML), a
//! ConfigMap in it, a CRD and a custom object of that CRD (planned before the CRD exists).
//! `kubectl` sees them; plans are empty after apply with and without refresh. Then:
//! - drift of a YAML object: a label edited by kubectl shows in the plan, and not once restored;
//! - conflict: kubectl takes `.data.color` over with another field manager; the next apply with
//!   `conflict_resolution = "none"` fails naming the field and the manager, `overwrite` converges;
//! - drift: the ConfigMap deleted by kubectl is planned back and restored;
//! - import of the ConfigMap into a fresh directory (with the cluster's access file), plan empty;
//! - removing the manifests from the configuration deletes the objects (kubectl no longer finds
//!   them); destroy removes the rest.

mod common;

use acceptance::checks::{attr_eq, attr_null, plan_unknown};
use acceptance::terraform::Terraform;
use acceptance::{CheckResult, RunContext, Step, TestCase};
use common::access::{import_id, import_with_access};
use common::hcl::{CLOUDTEMPLE_REQUIRED, ClusterHcl};
use common::kubectl::Kubectl;
use common::{CLOUDTEMPLE, LocalRegion, on_each_terraform, on_each_terraform_in};
use serde_json::json;

/// Subnets of the runs, one per terraform binary (each run has a region of its own).
const SUBNETS: [u8; 2] = [1, 2];
const CLUSTER: &str = "cloudtemple_kubernetes_cluster.dev";
const CM: &str = "cloudtemple_kubernetes_manifest.settings";
const TEAM: &str = "cloudtemple_kubernetes_manifest.team";
const WIDGET: &str = "cloudtemple_kubernetes_manifest.widget";
const WIDGET_DEFAULT: &str = "cloudtemple_kubernetes_manifest.widget_default";
const KUBECTL: Kubectl = Kubectl::of(CLUSTER);

/// A dev cluster on machine 1.
fn cluster(subnet: u8) -> String {
    format!("{CLOUDTEMPLE_REQUIRED}{}", ClusterHcl::dev("ctman", [127, 80, subnet]))
}

/// The manifests; `conflict_resolution` of the ConfigMap.
const MANIFESTS: &str = r#"
resource "cloudtemple_kubernetes_manifest" "fast" {
  cluster = cloudtemple_kubernetes_cluster.dev.access
  manifest = {
    apiVersion  = "storage.k8s.io/v1"
    kind        = "StorageClass"
    metadata    = { name = "fast" }
    provisioner = "rook-ceph.rbd.csi.ceph.com"
    parameters  = { pool = "fast" }
  }
}

resource "cloudtemple_kubernetes_manifest" "team" {
  cluster   = cloudtemple_kubernetes_cluster.dev.access
  yaml_body = <<-YAML
    apiVersion: v1
    kind: Namespace
    metadata:
      name: team
      labels:
        owner: platform
  YAML
}

resource "cloudtemple_kubernetes_manifest" "settings" {
  cluster             = cloudtemple_kubernetes_cluster.dev.access
  conflict_resolution = "RESOLUTION"
  manifest = {
    apiVersion = "v1"
    kind       = "ConfigMap"
    metadata   = { name = "settings", namespace = cloudtemple_kubernetes_manifest.team.name }
    data       = { color = "blue", size = "3" }
  }
}

resource "cloudtemple_kubernetes_manifest" "crd" {
  cluster = cloudtemple_kubernetes_cluster.dev.access
  manifest = {
    apiVersion = "apiextensions.k8s.io/v1"
    kind       = "CustomResourceDefinition"
    metadata   = { name = "widgets.example.com" }
    spec = {
      group = "example.com"
      names = { kind = "Widget", plural = "widgets", singular = "widget", listKind = "WidgetList" }
      scope = "Namespaced"
      versions = [{
        name    = "v1"
        served  = true
        storage = true
        schema = { openAPIV3Schema = { type = "object", "x-kubernetes-preserve-unknown-fields" = true } }
      }]
    }
  }
}

resource "cloudtemple_kubernetes_manifest" "widget" {
  cluster = cloudtemple_kubernetes_cluster.dev.access
  manifest = {
    apiVersion = "example.com/v1"
    kind       = "Widget"
    metadata   = { name = "w1", namespace = "team" }
    spec       = { size = 3 }
  }
  depends_on = [cloudtemple_kubernetes_manifest.crd, cloudtemple_kubernetes_manifest.team]
}

# No namespace and no depends_on: the plan cannot tell the scope of a kind the cluster does not
# serve yet (namespace and id unknown); the apply waits for the kind and resolves it.
resource "cloudtemple_kubernetes_manifest" "widget_default" {
  cluster = cloudtemple_kubernetes_cluster.dev.access
  manifest = {
    apiVersion = "example.com/v1"
    kind       = "Widget"
    metadata   = { name = "w2" }
    spec       = { size = 1 }
  }
}
"#;

fn config(subnet: u8, resolution: &str) -> String {
    format!("{}{}", cluster(subnet), MANIFESTS.replace("RESOLUTION", resolution))
}

/// kubectl sees every object of the configuration.
fn kubectl_sees_everything(ctx: &mut RunContext<'_>) -> CheckResult {
    for (args, expected) in [
        &["get", "storageclass", "fast", "-o", "jsonpath={.parameters.pool}"][..],
        &["get", "namespace", "team", "-o", "jsonpath={.metadata.labels.owner}"],
        &["get", "configmap", "settings", "-n", "team", "-o", "jsonpath={.data.color}"],
        &["get", "widgets.example.com", "w1", "-n", "team", "-o", "jsonpath={.spec.size}"],
        &["get", "widgets.example.com", "w2", "-n", "default", "-o", "jsonpath={.spec.size}"],
    ]
    .into_iter()
    .zip(["fast", "platform", "blue", "3", "1"])
    {
        KUBECTL.prints(ctx, args, expected)?;
    }
    Ok(())
}

/// Another field manager takes `.data.color` over, as an operator with kubectl would.
fn kubectl_takes_color(ctx: &mut RunContext<'_>) -> CheckResult {
    let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: team\ndata:\n  color: red\n";
    KUBECTL.apply(
        ctx,
        &["apply", "--server-side", "--field-manager=other", "--force-conflicts", "-f", "-"],
        cm,
    )
}

#[test]
fn manifests_apply_conflict_drift_import_and_delete() {
    on_each_terraform_in(&SUBNETS, |tf: &Terraform, subnet| {
        let _region = LocalRegion::start([127, 80, subnet], 1);
        let dir = tempfile::Builder::new().prefix("ct-manifest-").tempdir().expect("tempdir");
        TestCase::new("manifest")
            .provider(CLOUDTEMPLE)
            .step(
                Step::config(config(subnet, "none"))
                    .expect_actions(CM, &["create"])
                    .expect_actions(WIDGET, &["create"])
                    .plan_check(plan_unknown(WIDGET_DEFAULT, "namespace"))
                    .plan_check(plan_unknown(WIDGET_DEFAULT, "id"))
                    .check(attr_eq(WIDGET_DEFAULT, "namespace", json!("default")))
                    .check(attr_eq(WIDGET_DEFAULT, "id", json!("example.com/v1//Widget//default//w2")))
                    .check(attr_eq(CM, "id", json!("v1//ConfigMap//team//settings")))
                    .check(attr_eq(WIDGET, "namespace", json!("team")))
                    .check(attr_null("cloudtemple_kubernetes_manifest.fast", "namespace"))
                    .check(attr_eq(
                        "cloudtemple_kubernetes_manifest.fast",
                        "id",
                        json!("storage.k8s.io/v1//StorageClass//fast"),
                    )),
            )
            .step(Step::run(kubectl_sees_everything))
            // Drift of a YAML object: a label edited by kubectl shows as an update of yaml_body.
            .step(Step::run(|ctx| {
                KUBECTL.succeeds(ctx, &["label", "namespace", "team", "owner=other", "--overwrite"])
            }))
            .step(
                Step::config(config(subnet, "none"))
                    .plan_only()
                    .expect_non_empty_plan()
                    .expect_actions(TEAM, &["update"]),
            )
            .step(Step::run(|ctx| {
                KUBECTL.succeeds(ctx, &["label", "namespace", "team", "owner=platform", "--overwrite"])
            }))
            .step(Step::config(config(subnet, "none")).plan_only())
            .step(Step::run(kubectl_takes_color))
            .step(Step::config(config(subnet, "none")).expect_error(r#"\.data\.color is owned by "other""#))
            .step(Step::config(config(subnet, "overwrite")).expect_actions(CM, &["update"]))
            .step(Step::run(|ctx| KUBECTL.finds(ctx, &["get", "configmap", "settings", "-n", "team"], true)))
            .step(Step::run(|ctx| KUBECTL.succeeds(ctx, &["delete", "configmap", "settings", "-n", "team"])))
            .step(Step::config(config(subnet, "overwrite")).expect_actions(CM, &["create"]))
            .step(Step::run(kubectl_sees_everything))
            .step(Step::config(config(subnet, "none")).expect_actions(CM, &["update"]))
            .step(import_with_access(
                tf,
                CM,
                &config(subnet, "none"),
                "  cluster             = cloudtemple_kubernetes_cluster.dev.access",
                |state| import_id(state, CLUSTER, dir.path(), "v1//ConfigMap//team//settings"),
            ))
            .step(Step::config(cluster(subnet)))
            .step(Step::run(|ctx| KUBECTL.finds(ctx, &["get", "configmap", "settings", "-n", "team"], false)))
            .step(Step::run(|ctx| KUBECTL.finds(ctx, &["get", "storageclass", "fast"], false)))
            .step(Step::run(|ctx| KUBECTL.finds(ctx, &["get", "crd", "widgets.example.com"], false)))
            .step(Step::run(|ctx| KUBECTL.finds(ctx, &["get", "namespace", "team"], false)))
            .step(Step::destroy())
            .run_with(tf)
    });
}

/// A manifest resource on the cluster of [`cluster`], with `body` as its object arguments.
fn one_manifest(body: &str) -> String {
    format!(
        "{}\nresource \"cloudtemple_kubernetes_manifest\" \"bad\" {{\n  cluster = cloudtemple_kubernetes_cluster.dev.access\n{body}\n}}\n",
        cluster(9)
    )
}

#[test]
fn invalid_objects_are_refused_before_any_remote_call() {
    on_each_terraform(|tf: &Terraform| {
        TestCase::new("manifest_validation")
            .provider(CLOUDTEMPLE)
            .step(
                Step::validate(one_manifest(
                    "  manifest = {\n    apiVersion = \"storage.k8s.io/v1\"\n    kind = \"StorageClass\"\n    metadata = { name = \"f\", namespace = \"x\" }\n  }",
                ))
                .expect_error("StorageClass is cluster-scoped")
                .expect_error_path("manifest"),
            )
            .step(
                Step::validate(one_manifest(
                    "  manifest = {\n    apiVersion = \"v1\"\n    kind = \"ConfigMap\"\n    metadata = { labels = {} }\n  }",
                ))
                .expect_error("metadata.name: is required")
                .expect_error_path("manifest"),
            )
            .step(
                Step::validate(one_manifest(
                    "  yaml_body = \"apiVersion: v1\\nkind: ConfigMap\\nmetadata:\\n  name: a\\n\"\n  manifest = { apiVersion = \"v1\" }",
                ))
                .expect_error("Set exactly one of `manifest`")
                .expect_error_path("yaml_body"),
            )
            .step(
                Step::validate(one_manifest("  yaml_body = \"kind: ConfigMap\\nmetadata:\\n  name: a\\n\""))
                    .expect_error("apiVersion: is required")
                    .expect_error_path("yaml_body"),
            )
            .run_with(tf)
    });
}
