//! Importing `cloudtemple_kubernetes_cluster` and reading it with the
//! `cloudtemple_kubernetes_cluster` data source, through real terraform against a local region
//! (127.78.20.x and up): a cluster created by one configuration is imported into a fresh
//! directory from a control plane address, its node network and its secrets bundle, and the plan
//! with the same configuration is then empty.
//!
//! The import compares every attribute but `kubeconfig`, `talosconfig` and `access`: the import
//! signs fresh client certificates from the secrets bundle (the original ones exist only in the
//! state that created the cluster), so these legitimately differ; they are then byte-stable,
//! which the empty plan after import shows.

mod common;

use acceptance::checks::attr_eq;
use acceptance::terraform::Terraform;
use acceptance::{CheckError, State, Step, TestCase};
use common::hcl::{CLOUDTEMPLE_REQUIRED, ClusterHcl};
use common::{CLOUDTEMPLE, LocalRegion, on_each_terraform};
use serde_json::json;
use std::path::Path;

/// Attributes an import regenerates (see the module documentation).
const REGENERATED: [&str; 3] = ["kubeconfig", "talosconfig", "access"];

/// The data source read through an access naming one machine too many (127.78.29.9 is in no region).
const DEGRADED: &str = "data.cloudtemple_kubernetes_cluster.degraded";

/// `cluster`, read by the data source `live` through its access and by `degraded` through an
/// access that also names a machine that does not answer.
fn config(cluster: &ClusterHcl, resource: &str) -> String {
    format!(
        r#"{CLOUDTEMPLE_REQUIRED}{cluster}
data "cloudtemple_kubernetes_cluster" "live" {{
  access = cloudtemple_kubernetes_cluster.{resource}.access
}}

# The same cluster seen through an access that also names a machine that does not answer.
data "cloudtemple_kubernetes_cluster" "degraded" {{
  access = merge(cloudtemple_kubernetes_cluster.{resource}.access, {{
    talos_endpoints = concat(cloudtemple_kubernetes_cluster.{resource}.access.talos_endpoints, ["127.78.29.9"])
  }})
}}
"#
    )
}

fn dev_config(subnet: u8) -> String {
    config(&ClusterHcl::dev("ctimp1", [127, 78, subnet]), "dev")
}

fn production_config(subnet: u8) -> String {
    config(
        &ClusterHcl::production("ctimp", [127, 78, subnet]).network_arg("pod_cidr", "\"10.241.0.0/16\""),
        "prod",
    )
}

/// Writes the secrets bundle recorded in the original state to `dir/secrets.yaml`, as an
/// operator keeps it, and returns the import ID naming it.
fn import_id(state: &State, address: &str, dir: &Path, head: &str, tail: &str) -> Result<String, CheckError> {
    let secrets = state
        .resource(address)
        .and_then(|r| r.attr("access.secrets").ok().flatten().cloned())
        .and_then(|v| v.as_str().map(str::to_string))
        .ok_or("the cluster state has no access.secrets")?;
    let path = dir.join("secrets.yaml");
    std::fs::write(&path, secrets)?;
    Ok(format!("{head},{}{tail}", path.display()))
}

fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new().prefix("ct-import-").tempdir().expect("a temporary directory")
}

#[test]
fn dev_cluster_imports_with_an_empty_plan_and_reads_as_data() {
    const C: &str = "cloudtemple_kubernetes_cluster.dev";
    const D: &str = "data.cloudtemple_kubernetes_cluster.live";
    let r = LocalRegion::start([127, 78, 20], 1);
    let dir = tempdir();
    on_each_terraform(|tf: &Terraform| {
        TestCase::new("cluster_import_dev")
            .provider(CLOUDTEMPLE)
            .step(
                Step::config(dev_config(20))
                    .check(attr_eq(C, "status", json!("ready")))
                    .check(attr_eq(D, "status", json!("ready")))
                    .check(attr_eq(D, "name", json!("ctimp1")))
                    .check(attr_eq(D, "talos_version", json!("1.14.1")))
                    .check(attr_eq(D, "nodes.0.hostname", json!("ctimp1-cp-1")))
                    .check(attr_eq(D, "nodes.0.ready", json!(true)))
                    .check(attr_eq(D, "etcd_members.0.address", json!("127.78.20.1")))
                    .check(attr_eq(DEGRADED, "nodes.1.ready", json!(false)))
                    .check(attr_eq(DEGRADED, "nodes.1.talos_version", json!(null)))
                    .check(attr_eq(DEGRADED, "status", json!("degraded: 127.78.29.9 is not answering"))),
            )
            .step(
                Step::import(C)
                    .id("127.78.20.1,127.78.20.0/24,/nonexistent/secrets.yaml")
                    .expect_error("Cannot read the secrets bundle"),
            )
            .step(Step::import(C).id("127.78.20.1,./secrets.yaml").expect_error("Invalid import ID"))
            .step(
                Step::import(C)
                    .id_with(|state| import_id(state, C, dir.path(), "127.78.20.1,127.78.20.0/24", ""))
                    .ignore(&REGENERATED)
                    .check(attr_eq(C, "control_plane.0.hostname", json!("ctimp1-cp-1"))),
            )
            .step(Step::destroy().check(|_before: &State| r.all_in_maintenance()))
            .run_with(tf)
    });
}

#[test]
fn production_cluster_imports_with_its_pod_network() {
    const P: &str = "cloudtemple_kubernetes_cluster.prod";
    const D: &str = "data.cloudtemple_kubernetes_cluster.live";
    let r = LocalRegion::start([127, 78, 21], 3);
    let dir = tempdir();
    on_each_terraform(|tf: &Terraform| {
        TestCase::new("cluster_import_production")
            .provider(CLOUDTEMPLE)
            .step(
                Step::config(production_config(21))
                    .check(attr_eq(P, "status", json!("ready")))
                    .check(attr_eq(D, "status", json!("ready")))
                    .check(attr_eq(D, "nodes.2.etcd_member", json!(true))),
            )
            .step(
                Step::import(P)
                    // Any control plane will do: the others come from the etcd members.
                    .id_with(|state| {
                        import_id(
                            state,
                            P,
                            dir.path(),
                            "127.78.21.2,127.78.21.0/24",
                            ",pod_cidr=10.241.0.0/16",
                        )
                    })
                    .ignore(&REGENERATED)
                    .check(attr_eq(P, "topology", json!("production")))
                    .check(attr_eq(P, "control_plane.2.zone", json!("AZ07"))),
            )
            .step(Step::destroy().check(|_before: &State| r.all_in_maintenance()))
            .run_with(tf)
    });
}
