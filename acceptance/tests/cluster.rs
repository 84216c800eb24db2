//! `cloudtemple_kubernetes_cluster` through real terraform against the local region: a dev
//! cluster created from maintenance mode, stable across plans (no perpetual kubeconfig diff),
//! and destroyed back to maintenance mode; a downgrade refused at plan with nothing changed, and
//! a network change planned as a replacement.
//!
//! The region runs in this test process on its own loopback addresses (127.78.x.y), with the
//! Talos API on port 50000 as on real machines, and modelled latencies scaled down.

mod common;

use acceptance::checks::{attr_eq, attr_matches, resource_exists};
use acceptance::terraform::Terraform;
use acceptance::{CheckResult, State, Step, TestCase};
use common::hcl::{CLOUDTEMPLE_REQUIRED, ClusterHcl};
use common::kubectl::Kubectl;
use common::{CLOUDTEMPLE, LocalRegion, cluster_nodes, on_each_terraform};
use serde_json::json;

const C: &str = "cloudtemple_kubernetes_cluster.dev";

/// A dev cluster on machine 1 with `extra` arguments, and an output of its kubeconfig's hash.
fn dev_config(subnet: u8, extra: &str) -> String {
    format!(
        r#"{CLOUDTEMPLE_REQUIRED}{}
output "kubeconfig_sha" {{
  value     = sha256(cloudtemple_kubernetes_cluster.dev.kubeconfig)
  sensitive = true
}}
"#,
        ClusterHcl::dev("ctdev1", [127, 78, subnet]).raw(extra)
    )
}

fn nodes_ready(state: &State) -> CheckResult {
    let nodes = cluster_nodes(state, C)?;
    if nodes.len() != 1 || nodes[0]["ready"] != json!(true) || nodes[0]["etcd_member"] != json!(true) {
        return Err(format!("expected one ready etcd member, got {nodes:?}").into());
    }
    Ok(())
}

#[test]
fn dev_cluster_is_created_stable_and_destroyed_back_to_maintenance() {
    let r = LocalRegion::start([127, 78, 1], 1);
    let catalog_default = cloudtemple::catalog::Catalog::embedded().default_kubernetes().to_string();
    on_each_terraform(|tf: &Terraform| {
        TestCase::new("dev_cluster")
            .provider(CLOUDTEMPLE)
            .step(
                Step::config(dev_config(1, ""))
                    .expect_actions(C, &["create"])
                    .check(resource_exists(C))
                    .check(attr_eq(C, "status", json!("ready")))
                    .check(attr_eq(C, "kubernetes_version", json!(catalog_default.clone())))
                    .check(attr_eq(C, "api_url", json!("https://127.78.1.20:6443")))
                    .check(attr_eq(C, "control_plane.0.hostname", json!("ctdev1-cp-1")))
                    .check(attr_eq(C, "network.dns_domain", json!("ctdev1-cluster.local")))
                    .check(attr_matches(C, "kubeconfig", "(?s)server: https://127.78.1.20:6443"))
                    .check(attr_matches(C, "talosconfig", "(?s)endpoints:.*127.78.1.1"))
                    .check(nodes_ready),
            )
            // The Kubernetes API answers with this cluster's certificates: on the second
            // terraform, this is a new cluster at the endpoint the first one was destroyed from.
            .step(Step::run(|ctx| {
                let nodes = Kubectl::of(C).stdout(ctx, &["get", "nodes", "--no-headers"])?;
                if nodes.contains("ctdev1-cp-1") {
                    Ok(())
                } else {
                    Err(format!("kubectl get nodes: {nodes}").into())
                }
            }))
            // A Talos downgrade is refused at plan, before touching anything.
            .step(
                Step::config(dev_config(1, "  talos_version = \"1.13.9\"\n"))
                    .expect_error("Talos version change refused"),
            )
            // The cluster networks cannot change in place: a new pod CIDR is a replacement.
            .step(
                Step::config(dev_config(1, "").replace(
                    "node_cidr = \"127.78.1.0/24\"",
                    "node_cidr = \"127.78.1.0/24\"\n    pod_cidr  = \"10.250.0.0/16\"",
                ))
                .plan_only()
                .expect_non_empty_plan()
                .expect_actions(C, &["delete", "create"]),
            )
            .step(Step::destroy().check(|_before: &State| r.all_in_maintenance()))
            .run_with(tf)
    });
}

/// A production cluster on machines 1-3 with explicit pod and service networks.
fn production_config(subnet: u8) -> String {
    let cluster = ClusterHcl::production("ctprd", [127, 78, subnet])
        .network_arg("pod_cidr", "\"10.241.0.0/16\"")
        .network_arg("service_cidr", "\"10.96.0.0/12\"");
    format!("{CLOUDTEMPLE_REQUIRED}{cluster}")
}

#[test]
fn production_cluster_has_three_etcd_members_and_resets_them_all() {
    const P: &str = "cloudtemple_kubernetes_cluster.prod";
    let r = LocalRegion::start([127, 78, 3], 3);
    on_each_terraform(|tf: &Terraform| {
        TestCase::new("production_cluster")
            .provider(CLOUDTEMPLE)
            .step(
                Step::config(production_config(3))
                    .expect_actions(P, &["create"])
                    .check(attr_eq(P, "status", json!("ready")))
                    .check(attr_eq(P, "control_plane.2.hostname", json!("ctprd-cp-3")))
                    .check(|state: &State| {
                        let nodes = cluster_nodes(state, P)?;
                        let members = nodes
                            .iter()
                            .filter(|n| n["etcd_member"] == json!(true) && n["ready"] == json!(true))
                            .count();
                        if members == 3 {
                            Ok(())
                        } else {
                            Err(format!("{members} ready etcd members: {nodes:?}").into())
                        }
                    }),
            )
            .step(Step::destroy().check(|_before: &State| r.all_in_maintenance()))
            .run_with(tf)
    });
}

#[test]
fn invalid_clusters_fail_at_plan_with_their_path() {
    let r = LocalRegion::start([127, 78, 2], 1);
    on_each_terraform(|tf: &Terraform| {
        TestCase::new("invalid_cluster")
            .provider(CLOUDTEMPLE)
            .step(
                Step::config(dev_config(2, "").replace("127.78.2.20", "127.99.0.20"))
                    .expect_error("Address outside the node network")
                    .expect_error_path("endpoint"),
            )
            .step(
                Step::config(dev_config(2, "").replace("topology = \"dev\"", "topology = \"production\""))
                    .expect_error("Wrong number of control planes"),
            )
            .step(
                Step::config(dev_config(2, "  kubernetes_version = \"1.20.0\"\n"))
                    .expect_error("Unsupported Kubernetes version")
                    .expect_error_path("kubernetes_version"),
            )
            .run_with(tf)
    });
    r.all_in_maintenance().unwrap_or_else(|e| panic!("nothing was configured: {e}"));
}
