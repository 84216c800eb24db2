//! Draining pool nodes through real terraform against the local region: a dev cluster, a
//! 3-node worker pool and a Deployment (a `cloudtemple_kubernetes_manifest`) whose pods run on
//! the pool's nodes.
//! - scale-down: the leaving node is cordoned and its pods evicted before it is reset (no pod
//!   is left bound to it; the log shows the drain before the reset), plan empty after;
//! - import of the pool into a fresh directory with the cluster's access file, plan empty;
//! - a `config_patches` change Talos cannot apply live: each node is cordoned and drained before
//!   its reboot and uncordoned once back (log order; every node schedulable after);
//! - a control plane reboot (a cluster `config_patches` change): cordoned before, uncordoned after;
//! - a Talos upgrade (1.13.9 to 1.14.1): the control plane cordoned around its reboot, each pool
//!   node drained before its upgrade and uncordoned after;
//! - destroy: every machine back in maintenance mode.
//!
//! The region runs in this test process on its own loopback addresses (127.82.<run>.x).

mod common;

use acceptance::checks::attr_eq;
use acceptance::terraform::Terraform;
use acceptance::{CheckError, CheckResult, RunContext, State, Step, TestCase};
use common::access::{import_id, import_with_access};
use common::hcl::{CLOUDTEMPLE_REQUIRED, ClusterHcl, PoolHcl};
use common::kubectl::Kubectl;
use common::{CLOUDTEMPLE, LocalRegion, LogFile, on_each_terraform_in};
use serde_json::json;

/// One subnet per terraform binary (each run has a region and a Kubernetes API of its own).
const SUBNETS: [u8; 2] = [1, 2];
const POOL: &str = "cloudtemple_kubernetes_node_pool.workers";
const CLUSTER: &str = "cloudtemple_kubernetes_cluster.dev";
const KUBECTL: Kubectl = Kubectl::of(CLUSTER);

/// Cluster on machine 1 (Talos 1.13.9), pool on `workers`, a 3-replica Deployment on the pool,
/// and `extra` pool arguments.
fn config(subnet: u8, workers: &[u8], extra: &str) -> String {
    on_talos(subnet, workers, extra, "1.13.9")
}

/// [`config`] with the cluster on Talos `talos`.
fn on_talos(subnet: u8, workers: &[u8], extra: &str, talos: &str) -> String {
    let net = [127, 82, subnet];
    let cluster = ClusterHcl::dev("ctdrain", net)
        .arg("kubernetes_version", "\"1.35.9\"")
        .arg("talos_version", &format!("\"{talos}\""));
    let pool = PoolHcl::workers(net, workers).arg("labels", "{ \"example.com/team\" = \"apps\" }").raw(extra);
    format!(
        r#"{CLOUDTEMPLE_REQUIRED}{cluster}{pool}
resource "cloudtemple_kubernetes_manifest" "web" {{
  cluster    = cloudtemple_kubernetes_cluster.dev.access
  depends_on = [cloudtemple_kubernetes_node_pool.workers]
  manifest = {{
    apiVersion = "apps/v1"
    kind       = "Deployment"
    metadata   = {{ name = "web", namespace = "default" }}
    spec = {{
      replicas = 3
      selector = {{ matchLabels = {{ app = "web" }} }}
      template = {{
        metadata = {{ labels = {{ app = "web" }} }}
        spec = {{
          nodeSelector = {{ "node-pools.cloudtemple.com/name" = "workers" }}
          containers   = [{{ name = "web", image = "nginx:1.27" }}]
        }}
      }}
    }}
  }}
}}
"#
    )
}

/// A patch Talos cannot apply to a running node (`machine.env`): every node reboots.
const REBOOT_PATCH: &str =
    "  config_patches = [yamlencode({ machine = { env = { HTTP_PROXY = \"http://proxy:3128\" } } })]\n";

/// The node of each `web` pod.
fn web_pods(ctx: &mut RunContext<'_>) -> Result<Vec<String>, CheckError> {
    let out =
        KUBECTL.stdout(ctx, &["get", "pods", "-l", "app=web", "-o", "jsonpath={.items[*].spec.nodeName}"])?;
    let mut nodes: Vec<String> = out.split_whitespace().map(str::to_string).collect();
    nodes.sort();
    Ok(nodes)
}

/// The web pods run one on each of `workers`.
fn pods_on(ctx: &mut RunContext<'_>, workers: &[&str]) -> CheckResult {
    let nodes = web_pods(ctx)?;
    if nodes.iter().map(String::as_str).ne(workers.iter().copied()) {
        return Err(format!("web pods run on {nodes:?}, expected one on each of {workers:?}").into());
    }
    Ok(())
}

/// The web pods run on the pool's `workers` only (three of them), none elsewhere.
fn pods_only_on(ctx: &mut RunContext<'_>, workers: &[&str]) -> CheckResult {
    let nodes = web_pods(ctx)?;
    if nodes.len() != 3 || nodes.iter().any(|n| !workers.contains(&n.as_str())) {
        return Err(format!("web pods run on {nodes:?}, expected 3 on {workers:?}").into());
    }
    Ok(())
}

/// No node of the cluster is cordoned, and the pool's nodes are exactly `workers`.
fn schedulable(ctx: &mut RunContext<'_>, workers: &[&str]) -> CheckResult {
    let out = KUBECTL.stdout(
        ctx,
        &[
            "get",
            "nodes",
            "-l",
            "node-pools.cloudtemple.com/name=workers",
            "-o",
            "jsonpath={range .items[*]}{.metadata.name}={.spec.unschedulable}{\"\\n\"}{end}",
        ],
    )?;
    // An uncordoned node has `unschedulable` false or absent.
    let mut lines: Vec<&str> =
        out.lines().filter(|l| !l.is_empty()).map(|l| l.strip_suffix("false").unwrap_or(l)).collect();
    lines.sort_unstable();
    let expected: Vec<String> = workers.iter().map(|w| format!("{w}=")).collect();
    if lines.iter().copied().ne(expected.iter().map(String::as_str)) {
        return Err(format!("pool nodes (name=unschedulable): {lines:?}, expected {expected:?}").into());
    }
    Ok(())
}

/// Index of the first log line that contains every needle.
fn line_of(log: &str, needles: &[&str]) -> Option<usize> {
    log.lines().position(|l| needles.iter().all(|n| l.contains(n)))
}

/// In the log, `before` (for `hostname`) comes before `after`, which comes before `then`
/// (when given).
fn in_order(log: &LogFile, hostname: &str, steps: &[&str]) -> CheckResult {
    let text = log.read()?;
    let host = format!("hostname={hostname}");
    let mut last = None;
    for step in steps {
        let at = line_of(&text, &[step, &host]).ok_or_else(|| {
            format!("no log line {step:?} for {hostname}; lines: {:?}", common::lines_with(&text, &host))
        })?;
        if last.is_some_and(|l| at < l) {
            return Err(format!("for {hostname}, {step:?} comes before the previous step {steps:?}").into());
        }
        last = Some(at);
    }
    Ok(())
}

/// Around the last `event` line for `hostname`: a `before` line after any earlier `after` line,
/// and an `after` line following it (a node cordoned for that reboot and uncordoned after).
fn around(log: &LogFile, hostname: &str, before: &str, event: &str, after: &str) -> CheckResult {
    let text = log.read()?;
    let host = format!("hostname={hostname}");
    let lines: Vec<&str> = text.lines().collect();
    let is = |i: usize, what: &str| lines[i].contains(what) && lines[i].contains(&host);
    let at =
        (0..lines.len()).rev().find(|&i| is(i, event)).ok_or(format!("no {event:?} line for {hostname}"))?;
    let cordoned = (0..at).rev().find(|&i| is(i, before) || is(i, after));
    if !cordoned.is_some_and(|i| is(i, before)) {
        return Err(format!("{hostname}: no {before:?} before its {event:?}").into());
    }
    if !(at..lines.len()).any(|i| is(i, after)) {
        return Err(format!("{hostname}: no {after:?} after its {event:?}").into());
    }
    Ok(())
}

#[test]
fn pool_nodes_are_drained_before_they_leave_or_reboot() {
    on_each_terraform_in(&SUBNETS, |tf: &Terraform, subnet| {
        let region = LocalRegion::start([127, 82, subnet], 4);
        let log = LogFile::new();
        let dir = tempfile::Builder::new().prefix("ct-pool-import-").tempdir().expect("tempdir");
        let import = import_with_access(
            tf,
            POOL,
            &config(subnet, &[2, 3], ""),
            "  cluster = cloudtemple_kubernetes_cluster.dev.access\n  name    = \"workers\"",
            |state| import_id(state, CLUSTER, dir.path(), "ctdrain/workers"),
        );
        let report = TestCase::new("node_pool_drain")
            .provider(CLOUDTEMPLE)
            .env("TF_LOG", "info")
            .env("TF_LOG_PATH", log.path_str())
            .step(
                Step::config(config(subnet, &[2, 3, 4], ""))
                    .expect_actions(POOL, &["create"])
                    .check(attr_eq(POOL, "drain", json!(true))),
            )
            .step(Step::run(|ctx| pods_on(ctx, &["w2", "w3", "w4"])))
            // Scale-down: w4 is cordoned and drained, then reset.
            .step(Step::config(config(subnet, &[2, 3], "")).expect_actions(POOL, &["update"]))
            .step(Step::run(|_| {
                in_order(
                    &log,
                    "w4",
                    &[
                        "cordoning and draining the node before it leaves the pool",
                        "node drained",
                        "resetting the node",
                    ],
                )
            }))
            .step(Step::run(|_| {
                let text = log.read()?;
                match line_of(&text, &["node drained", "hostname=w4"]) {
                    Some(i) if text.lines().nth(i).is_some_and(|l| l.contains("default/web-")) => Ok(()),
                    _ => Err(format!(
                        "w4's drain evicted no web pod: {:?}",
                        common::lines_with(&text, "node drained")
                    )
                    .into()),
                }
            }))
            .step(Step::run(|ctx| pods_only_on(ctx, &["w2", "w3"])))
            .step(Step::run(|ctx| schedulable(ctx, &["w2", "w3"])))
            .step(Step::run(|_| {
                let phases = region.phases();
                if phases[3] == "maintenance" { Ok(()) } else { Err(format!("m4 is {}", phases[3]).into()) }
            }))
            .step(import)
            // A patch that needs a reboot: each node drained before and uncordoned after.
            .step(Step::config(config(subnet, &[2, 3], REBOOT_PATCH)).expect_actions(POOL, &["update"]))
            .step(Step::run(|_| {
                for w in ["w2", "w3"] {
                    in_order(
                        &log,
                        w,
                        &[
                            "cordoning and draining the node before it reboots",
                            "applying the changed configuration",
                            "node back: uncordoned",
                        ],
                    )?;
                }
                Ok(())
            }))
            .step(Step::run(|ctx| schedulable(ctx, &["w2", "w3"])))
            .step(Step::run(|ctx| pods_only_on(ctx, &["w2", "w3"])))
            // A control plane that reboots is cordoned, not drained, and uncordoned once back.
            .step(
                Step::config(
                    config(subnet, &[2, 3], REBOOT_PATCH)
                        .replace("  control_plane = [", &format!("{REBOOT_PATCH}  control_plane = [")),
                )
                .expect_actions(CLUSTER, &["update"]),
            )
            .step(Step::run(|_| {
                in_order(
                    &log,
                    "ctdrain-cp-1",
                    &["control plane cordoned before its reboot", "control plane back: uncordoned"],
                )
            }))
            .step(Step::run(|ctx| {
                let out = KUBECTL
                    .stdout(ctx, &["get", "node", "ctdrain-cp-1", "-o", "jsonpath={.spec.unschedulable}"])?;
                if matches!(out.trim(), "" | "false") {
                    Ok(())
                } else {
                    Err(format!("ctdrain-cp-1 is still cordoned: unschedulable={out}").into())
                }
            }))
            // A Talos upgrade: the control plane cordoned around its reboot, each pool node
            // drained before its upgrade and uncordoned after.
            .step(
                Step::config(
                    on_talos(subnet, &[2, 3], REBOOT_PATCH, "1.14.1")
                        .replace("  control_plane = [", &format!("{REBOOT_PATCH}  control_plane = [")),
                )
                .expect_actions(CLUSTER, &["update"])
                .expect_actions(POOL, &["update"])
                .check(attr_eq(POOL, "node_status.w2.talos_version", json!("1.14.1"))),
            )
            .step(Step::run(|_| {
                around(
                    &log,
                    "ctdrain-cp-1",
                    "control plane cordoned before its reboot",
                    "upgrading Talos",
                    "control plane back: uncordoned",
                )?;
                for w in ["w2", "w3"] {
                    around(
                        &log,
                        w,
                        "cordoning and draining the node before it reboots",
                        "upgrading Talos",
                        "node back: uncordoned",
                    )?;
                }
                Ok(())
            }))
            .step(Step::run(|ctx| schedulable(ctx, &["w2", "w3"])))
            .step(Step::run(|ctx| pods_only_on(ctx, &["w2", "w3"])))
            .step(Step::destroy().check(|_before: &State| region.all_in_maintenance()))
            .run_with(tf);
        drop(region);
        report
    });
}
