//! `cloudtemple_kubernetes_node_pool` through real terraform against the local region: a dev
//! cluster with a 3-node worker pool created from maintenance mode, stable across plans, visible
//! to `kubectl get nodes`, scaled up to 4 and down to 2 (removed nodes back in maintenance mode),
//! and destroyed with every machine back in maintenance mode; a production storage pool that
//! misses a zone is refused at plan.
//!
//! The region runs in this test process on its own loopback addresses (127.78.11.x), with the
//! Talos API on port 50000 as on real machines, and modelled latencies scaled down.

mod common;

use acceptance::checks::{attr_eq, resource_exists};
use acceptance::terraform::Terraform;
use acceptance::{CheckResult, RunContext, State, Step, TestCase};
use common::hcl::{CLOUDTEMPLE_REQUIRED, ClusterHcl, PoolHcl};
use common::kubectl::Kubectl;
use common::{CLOUDTEMPLE, LocalRegion, on_each_terraform, on_each_terraform_in};
use serde_json::json;

/// Subnets of the runs of the worker pool case, one per terraform binary: each run gets a region
/// of its own, so the Kubernetes API on the cluster endpoint is the one of that run's cluster.
const POOL_SUBNETS: [u8; 2] = [11, 13];
/// Subnet of the plan-time case.
const PLAN_SUBNET: u8 = 12;
const POOL: &str = "cloudtemple_kubernetes_node_pool.workers";
const CLUSTER: &str = "cloudtemple_kubernetes_cluster.dev";
const KUBECTL: Kubectl = Kubectl::of(CLUSTER);

/// A dev cluster on machine 1 and a worker pool on the machines `workers` (host numbers).
fn config(subnet: u8, workers: &[u8]) -> String {
    labelled(subnet, workers, "workers")
}

/// [`config`] with the pool label `example.com/pool = <label>`.
fn labelled(subnet: u8, workers: &[u8], label: &str) -> String {
    let net = [127, 78, subnet];
    let pool =
        PoolHcl::workers(net, workers).arg("labels", &format!("{{ \"example.com/pool\" = \"{label}\" }}"));
    format!("{CLOUDTEMPLE_REQUIRED}{}{pool}", ClusterHcl::dev("ctpool", net))
}

/// The pool's `node_status` has exactly `workers`, each ready on the region's Talos version.
fn pool_nodes(workers: &'static [u8]) -> impl Fn(&State) -> CheckResult {
    move |state: &State| {
        let values = &state.resource(POOL).ok_or("no node pool in state")?.values;
        let status =
            values.get("node_status").and_then(|s| s.as_object()).ok_or("node_status is not a map")?;
        let mut names: Vec<&String> = status.keys().collect();
        names.sort();
        let expected: Vec<String> = workers.iter().map(|i| format!("w{i}")).collect();
        if names.iter().map(|s| s.as_str()).ne(expected.iter().map(String::as_str)) {
            return Err(format!("node_status has {names:?}, expected {expected:?}").into());
        }
        for (name, node) in status {
            if node["ready"] != json!(true) || node["talos_version"] != json!("1.14.1") {
                return Err(format!("node {name} is not ready on Talos 1.14.1: {node}").into());
            }
        }
        Ok(())
    }
}

/// Machines `configured` run as workers of the cluster; every other machine but the control
/// plane is in maintenance mode.
fn machines(r: &LocalRegion, configured: &[u8]) -> CheckResult {
    for m in r.machines() {
        let host = match m.addr.ip() {
            std::net::IpAddr::V4(ip) => ip.octets()[3],
            std::net::IpAddr::V6(_) => continue,
        };
        if host == 1 {
            continue;
        }
        let ok = if configured.contains(&host) {
            m.phase == "running" && m.role.as_deref() == Some("worker") && m.hostname == format!("w{host}")
        } else {
            m.phase == "maintenance"
        };
        if !ok {
            return Err(format!(
                "machine {} ({}): phase {}, role {:?}, hostname {}; expected {}",
                m.id,
                m.addr,
                m.phase,
                m.role,
                m.hostname,
                if configured.contains(&host) { "a running worker" } else { "maintenance mode" }
            )
            .into());
        }
    }
    Ok(())
}

/// `kubectl get nodes -l <selector>` with the cluster's kubeconfig lists exactly the pool's
/// nodes `workers`, Ready.
fn kubectl_lists(ctx: &mut RunContext<'_>, selector: &str, workers: &[u8]) -> CheckResult {
    let stdout = KUBECTL.stdout(ctx, &["get", "nodes", "--no-headers", "-l", selector])?;
    let mut listed: Vec<(&str, &str)> =
        stdout.lines().filter_map(|l| l.split_whitespace().next().zip(l.split_whitespace().nth(1))).collect();
    listed.sort_unstable();
    let expected: Vec<String> = workers.iter().map(|i| format!("w{i}")).collect();
    let ready = listed.iter().all(|(_, status)| *status == "Ready");
    if !ready || listed.iter().map(|(n, _)| *n).ne(expected.iter().map(String::as_str)) {
        return Err(
            format!("kubectl get nodes -l {selector}: expected {expected:?} Ready, got:\n{stdout}").into()
        );
    }
    Ok(())
}

#[test]
fn worker_pool_is_created_scaled_and_destroyed_back_to_maintenance() {
    on_each_terraform_in(&POOL_SUBNETS, |tf: &Terraform, subnet| {
        let r = LocalRegion::start([127, 78, subnet], 5);
        // A patch that may need a reboot.
        let patched = labelled(subnet, &[2, 3], "blue").replace(
            "  nodes = {",
            "  config_patches = [yamlencode({ machine = { sysctls = { \"vm.max_map_count\" = \"262144\" } } })]\n  nodes = {",
        );
        let report = TestCase::new("worker_pool")
            .provider(CLOUDTEMPLE)
            .step(
                Step::config(config(subnet, &[2, 3, 4]))
                    .expect_actions(CLUSTER, &["create"])
                    .expect_actions(POOL, &["create"])
                    .check(resource_exists(POOL))
                    .check(attr_eq(POOL, "id", json!("ctpool/workers")))
                    .check(pool_nodes(&[2, 3, 4]))
                    .check(|_: &State| machines(&r, &[2, 3, 4])),
            )
            .step(Step::run(|ctx| kubectl_lists(ctx, "example.com/pool=workers", &[2, 3, 4])))
            .step(
                Step::config(config(subnet, &[2, 3, 4, 5]))
                    .expect_actions(POOL, &["update"])
                    .check(pool_nodes(&[2, 3, 4, 5]))
                    .check(|_: &State| machines(&r, &[2, 3, 4, 5])),
            )
            .step(
                Step::config(config(subnet, &[2, 3]))
                    .expect_actions(POOL, &["update"])
                    .check(pool_nodes(&[2, 3]))
                    .check(|_: &State| machines(&r, &[2, 3])),
            )
            // A label change is applied in place to the running nodes (no reboot).
            .step(
                Step::config(labelled(subnet, &[2, 3], "blue"))
                    .expect_actions(POOL, &["update"])
                    .check(attr_eq(POOL, "labels", json!({"example.com/pool": "blue"})))
                    .check(pool_nodes(&[2, 3]))
                    .check(|_: &State| machines(&r, &[2, 3])),
            )
            .step(Step::run(|ctx| kubectl_lists(ctx, "example.com/pool=blue", &[2, 3])))
            // A patch change may need a reboot: applied one node at a time, each waited for.
            .step(
                Step::config(patched.clone())
                    .expect_actions(POOL, &["update"])
                    .check(pool_nodes(&[2, 3]))
                    .check(|_: &State| machines(&r, &[2, 3])),
            )
            // Drift: a node reset behind Terraform's back is planned back in and re-joined.
            .step(Step::run(|ctx| r.reset_out_of_band(&ctx.state()?, CLUSTER, 3)))
            .step(
                Step::config(patched)
                    .expect_actions(POOL, &["update"])
                    .check(pool_nodes(&[2, 3]))
                    .check(|_: &State| machines(&r, &[2, 3])),
            )
            .step(Step::destroy().check(|_before: &State| r.all_in_maintenance()))
            .run_with(tf);
        drop(r);
        report
    });
}

#[test]
fn production_storage_pool_in_one_zone_fails_at_plan() {
    let r = LocalRegion::start([127, 78, PLAN_SUBNET], 1);
    // The cluster's access is known only after apply; a literal access object with the
    // production topology lets the rule run at plan without creating anything.
    let cfg = format!("{CLOUDTEMPLE_REQUIRED}{STORAGE_WITH_LITERAL_ACCESS}");
    on_each_terraform(|tf: &Terraform| {
        TestCase::new("storage_zones")
            .provider(CLOUDTEMPLE)
            .step(
                Step::config(cfg.as_str())
                    .expect_error("Storage pool not spread across zones")
                    .expect_error_path("nodes"),
            )
            .run_with(tf)
    });
    r.all_in_maintenance().unwrap_or_else(|e| panic!("{e}"));
}

/// A production storage pool on two zones, of a cluster given as a literal access object.
const STORAGE_WITH_LITERAL_ACCESS: &str = r#"
resource "cloudtemple_kubernetes_node_pool" "storage" {
  cluster = {
    cluster_id = "ctprd", cluster_name = "ctprd", topology = "production", api_url = "https://127.78.12.20:6443",
    ca_certificate = "", client_certificate = "", client_key = "", talos_endpoints = ["127.78.12.1"],
    talos_ca_certificate = "", talos_client_certificate = "", talos_client_key = "",
    kubernetes_version = "1.35.0", talos_version = "1.14.1", secrets = "",
    pod_cidr = "10.244.0.0/16", service_cidr = "10.96.0.0/12", dns_domain = "ctprd-cluster.local"
  }
  name = "ceph"
  role = "storage"
  nodes = {
    s1 = { address = "127.78.12.1", zone = "AZ05" }
    s2 = { address = "127.78.12.2", zone = "AZ06" }
  }
}
"#;
