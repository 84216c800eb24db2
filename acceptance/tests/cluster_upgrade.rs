//! In-place changes of `cloudtemple_kubernetes_cluster`, with its node pool following, through
//! real terraform against the local region:
//! - a dev cluster and its worker pool upgraded from Kubernetes 1.35 to 1.36: planned as an
//!   update (not a replacement), the kubelets of every node move (as `kubectl get nodes` shows),
//!   the kubeconfig stays byte for byte, and the plans after apply are empty;
//! - a production cluster (3 control planes) and its worker pool upgraded from Talos 1.13 to
//!   1.14 one control plane at a time (the pool in batches of `max_unavailable`), with etcd
//!   quorum watched throughout; then a `config_patches` change that the plan says reboots every
//!   control plane; then a control plane reset out of band, shown by the plan as an update and
//!   repaired by apply.
//!
//! Each run gets a region of its own on 127.79.x.y, in this test process, with modelled
//! latencies scaled down.

mod common;

use acceptance::checks::attr_eq;
use acceptance::terraform::Terraform;
use acceptance::{CheckResult, RunContext, State, Step, TestCase};
use common::hcl::{CLOUDTEMPLE_REQUIRED, ClusterHcl, PoolHcl};
use common::kubectl::{Kubectl, kubeconfig};
use common::{CLOUDTEMPLE, LocalRegion, on_each_terraform_in};
use serde_json::json;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

const DEV: &str = "cloudtemple_kubernetes_cluster.dev";
const PROD: &str = "cloudtemple_kubernetes_cluster.prod";
const POOL: &str = "cloudtemple_kubernetes_node_pool.workers";

/// A pool patch Talos cannot apply to a running node (`machine.env`): every node reboots.
const ENV_PATCH: &str =
    "[yamlencode({ machine = { env = { HTTP_PROXY = \"http://proxy.internal:3128\" } } })]";

/// A dev cluster on machine 1 with Kubernetes `k8s`, and a pool of workers on machines 2 and 3
/// with the `config_patches` `patches` (if any).
fn dev_config(subnet: u8, k8s: &str, patches: Option<&str>) -> String {
    let net = [127, 79, subnet];
    let cluster = ClusterHcl::dev("ctupg1", net).arg("kubernetes_version", &format!("\"{k8s}\""));
    let pool = PoolHcl::workers(net, &[2, 3]);
    let pool = match patches {
        Some(patches) => pool.arg("config_patches", patches),
        None => pool,
    };
    format!("{CLOUDTEMPLE_REQUIRED}{cluster}{pool}")
}

/// A production cluster on machines 1-3 with Talos `talos` and `extra` cluster arguments, and
/// a pool of workers on machines 4 and 5 changed two at a time.
fn prod_config(subnet: u8, talos: &str, extra: &str) -> String {
    let net = [127, 79, subnet];
    let cluster = ClusterHcl::production("ctupg", net)
        .arg("kubernetes_version", "\"1.35.9\"")
        .arg("talos_version", &format!("\"{talos}\""))
        .raw(extra);
    let pool = PoolHcl::workers(net, &[4, 5]).of("prod").across_zones().arg("max_unavailable", "2");
    format!("{CLOUDTEMPLE_REQUIRED}{cluster}{pool}")
}

/// Every control plane in `nodes` of `cluster` runs `talos` with kubelet `k8s`, ready and an
/// etcd member.
fn cluster_nodes(
    cluster: &'static str,
    talos: &'static str,
    k8s: &'static str,
) -> impl Fn(&State) -> CheckResult {
    move |state: &State| {
        for n in common::cluster_nodes(state, cluster)? {
            if n["talos_version"] != json!(talos)
                || n["kubelet_version"] != json!(k8s)
                || n["ready"] != json!(true)
                || n["etcd_member"] != json!(true)
            {
                return Err(format!(
                    "expected every control plane ready on Talos {talos}, kubelet {k8s}: {n}"
                )
                .into());
            }
        }
        let status = state.resource(cluster).and_then(|r| r.values.get("status"));
        if status != Some(&json!("ready")) {
            return Err(format!("status: {status:?}").into());
        }
        Ok(())
    }
}

/// Every pool node runs `talos` with kubelet `k8s`, ready.
fn pool_nodes(talos: &'static str, k8s: &'static str) -> impl Fn(&State) -> CheckResult {
    move |state: &State| {
        let values = &state.resource(POOL).ok_or("no pool in state")?.values;
        let status =
            values.get("node_status").and_then(|s| s.as_object()).ok_or("node_status is not a map")?;
        if status.len() != 2 {
            return Err(format!("expected 2 pool nodes, got {status:?}").into());
        }
        for (name, n) in status {
            if n["talos_version"] != json!(talos)
                || n["kubelet_version"] != json!(k8s)
                || n["ready"] != json!(true)
            {
                return Err(format!("pool node {name}: expected Talos {talos}, kubelet {k8s}: {n}").into());
            }
        }
        if values.get("talos_version") != Some(&json!(talos))
            || values.get("kubernetes_version") != Some(&json!(k8s))
        {
            return Err("the pool's versions do not follow the cluster".into());
        }
        Ok(())
    }
}

/// The machines the region runs for the cluster report Talos `version`.
fn machines_on(r: &LocalRegion, version: &str) -> CheckResult {
    for m in r.machines() {
        if m.phase != "running" || m.talos_version.trim_start_matches('v') != version {
            return Err(format!(
                "machine {} ({}): {} on {}, expected running {version}",
                m.id, m.addr, m.phase, m.talos_version
            )
            .into());
        }
    }
    Ok(())
}

/// `kubectl get nodes` with the cluster's kubeconfig lists `count` nodes, all on kubelet `version`.
fn kubelets_on(ctx: &mut RunContext<'_>, cluster: &'static str, count: usize, version: &str) -> CheckResult {
    let stdout = Kubectl::of(cluster).stdout(ctx, &["get", "nodes", "--no-headers"])?;
    let versions: Vec<&str> = stdout.lines().filter_map(|l| l.split_whitespace().nth(4)).collect();
    if versions.len() != count || versions.iter().any(|v| *v != version) {
        return Err(format!("kubectl get nodes: expected {count} nodes on {version}, got:\n{stdout}").into());
    }
    Ok(())
}

/// Records the kubeconfig of `cluster` the first time, and fails if it changes afterwards.
fn same_kubeconfig<'a>(
    cluster: &'static str,
    seen: &'a RefCell<Option<String>>,
) -> impl Fn(&State) -> CheckResult + 'a {
    move |state: &State| {
        let now = kubeconfig(state, cluster)?;
        let mut seen = seen.borrow_mut();
        match seen.as_ref() {
            None => {
                *seen = Some(now);
                Ok(())
            }
            Some(before) if *before == now => Ok(()),
            Some(_) => Err("the kubeconfig changed".into()),
        }
    }
}

#[test]
fn kubernetes_upgrade_in_place_moves_every_kubelet() {
    on_each_terraform_in(&[1, 2], |tf: &Terraform, subnet| {
        let r = LocalRegion::start([127, 79, subnet], 3);
        let kubeconfig = RefCell::new(None);
        let watch = Watch::start(r.region());
        let reboots = RefCell::new(BTreeMap::new());
        let mark = || *reboots.borrow_mut() = watch.reboots();
        let pool_patched = dev_config(subnet, "1.36.4", Some(ENV_PATCH));
        let report = TestCase::new("kubernetes_upgrade")
            .provider(CLOUDTEMPLE)
            .step(
                Step::config(dev_config(subnet, "1.35.9", None))
                    .expect_actions(DEV, &["create"])
                    .expect_actions(POOL, &["create"])
                    .check(cluster_nodes(DEV, "1.14.1", "1.35.9"))
                    .check(pool_nodes("1.14.1", "1.35.9"))
                    .check(same_kubeconfig(DEV, &kubeconfig)),
            )
            .step(Step::run(|ctx| kubelets_on(ctx, DEV, 3, "v1.35.9")))
            // Skipping a minor is refused at plan, with nothing changed.
            .step(
                Step::config(dev_config(subnet, "1.37.0", None))
                    .expect_error("Kubernetes version change refused")
                    .expect_error_path("kubernetes_version"),
            )
            // Moving the only control plane of a dev cluster is refused at plan.
            .step(
                Step::config(dev_config(subnet, "1.35.9", None).replace(
                    &format!("address = \"127.79.{subnet}.1\""),
                    &format!("address = \"127.79.{subnet}.9\""),
                ))
                .expect_error("a dev cluster has a single control plane, which cannot move")
                .expect_error_path("control_plane"),
            )
            .step(
                Step::config(dev_config(subnet, "1.36.4", None))
                    .expect_actions(DEV, &["update"])
                    .expect_actions(POOL, &["update"])
                    .plan_check(|plan| {
                        let after = &plan.change(DEV).ok_or("no cluster change")?.change.after;
                        if after["access"]["kubernetes_version"] != json!("1.36.4") {
                            return Err("the planned access does not carry the new version".into());
                        }
                        Ok(())
                    })
                    .check(attr_eq(DEV, "kubernetes_version", json!("1.36.4")))
                    .check(attr_eq(DEV, "access.kubernetes_version", json!("1.36.4")))
                    .check(cluster_nodes(DEV, "1.14.1", "1.36.4"))
                    .check(pool_nodes("1.14.1", "1.36.4"))
                    .check(same_kubeconfig(DEV, &kubeconfig)),
            )
            .step(Step::run(|ctx| kubelets_on(ctx, DEV, 3, "v1.36.4")))
            // A pool patch Talos cannot apply live: the plan names the pool nodes that reboot.
            .step(Step::run(|ctx| {
                mark();
                plan_says(ctx, &pool_patched, &["Pool nodes will reboot", "w2, w3, 1 at a time"])
            }))
            .step(
                Step::config(pool_patched.clone())
                    .expect_actions(DEV, &["no-op"])
                    .expect_actions(POOL, &["update"])
                    .check(pool_nodes("1.14.1", "1.36.4"))
                    .check(|_: &State| watch.rebooted_only(&reboots.borrow(), &["m2", "m3"])),
            )
            .run_with(tf);
        drop(watch);
        drop(r);
        report
    });
}

/// What the watcher saw of the region while a case ran.
#[derive(Debug, Default)]
struct Seen {
    /// The lowest number of healthy members of a bootstrapped 3-member etcd.
    lowest_healthy: Option<usize>,
    /// The most control planes (machines m1-m3) down at the same time.
    most_control_planes_down: usize,
    /// Reboots of each machine (entries into the `rebooting` phase), by machine id.
    reboots: BTreeMap<String, usize>,
}

/// Watches the region while a case runs (every 2 ms: a reboot lasts 75 ms at this time scale).
struct Watch {
    stop: Arc<AtomicBool>,
    seen: Arc<Mutex<Seen>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Watch {
    fn start(region: ct_emulator::Region) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(Mutex::new(Seen::default()));
        let thread = {
            let (stop, seen) = (stop.clone(), seen.clone());
            std::thread::spawn(move || {
                let mut phases: BTreeMap<String, &'static str> = BTreeMap::new();
                while !stop.load(Ordering::Relaxed) {
                    let mut s = seen.lock().unwrap();
                    let mut formed = false;
                    for c in region.clusters() {
                        if c.bootstrapped && c.members == 3 {
                            formed = true;
                            s.lowest_healthy = Some(
                                s.lowest_healthy.map_or(c.healthy_members, |l| l.min(c.healthy_members)),
                            );
                        }
                    }
                    let machines = region.machines();
                    // Once etcd has formed (creation installs every node at once).
                    let down = machines
                        .iter()
                        .filter(|m| formed && ["m1", "m2", "m3"].contains(&m.id.as_str()))
                        .filter(|m| !["running", "booting", "upgrading"].contains(&m.phase))
                        .count();
                    s.most_control_planes_down = s.most_control_planes_down.max(down);
                    for m in machines {
                        let before = phases.insert(m.id.clone(), m.phase);
                        if m.phase == "rebooting" && before.is_some_and(|b| b != "rebooting") {
                            *s.reboots.entry(m.id.clone()).or_default() += 1;
                        }
                    }
                    drop(s);
                    std::thread::sleep(std::time::Duration::from_millis(2));
                }
            })
        };
        Self { stop, seen, thread: Some(thread) }
    }

    fn reboots(&self) -> BTreeMap<String, usize> {
        self.seen.lock().unwrap().reboots.clone()
    }

    /// etcd never lost quorum and at most one control plane was down at a time.
    fn quorum_kept(&self) -> CheckResult {
        let s = self.seen.lock().unwrap();
        match s.lowest_healthy {
            Some(l) if l >= 2 && s.most_control_planes_down <= 1 => Ok(()),
            _ => Err(format!("etcd quorum at risk: {s:?}").into()),
        }
    }

    /// Since `before`, machines `ids` rebooted at least once and no other machine did.
    fn rebooted_only(&self, before: &BTreeMap<String, usize>, ids: &[&str]) -> CheckResult {
        let now = self.reboots();
        for (id, n) in &now {
            let rebooted = *n > before.get(id).copied().unwrap_or(0);
            if rebooted != ids.contains(&id.as_str()) {
                return Err(format!(
                    "expected reboots of exactly {ids:?}; reboots before {before:?}, now {now:?}"
                )
                .into());
            }
        }
        Ok(())
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// `terraform plan` of `config` succeeds and its output mentions every pattern.
fn plan_says(ctx: &mut RunContext<'_>, config: &str, patterns: &[&str]) -> CheckResult {
    ctx.workdir().write_config(&[("main.tf".to_string(), config.to_string())])?;
    let out = ctx.workdir().plan(&[])?;
    if out.code != Some(2) {
        return Err(
            format!("expected a plan with changes, got {}:\n{}", out.status_text(), out.combined).into()
        );
    }
    let text = acceptance::checks::normalize_diagnostics(&out.combined);
    for p in patterns {
        if !text.contains(p) {
            return Err(format!("the plan does not say {p:?}:\n{}", out.combined).into());
        }
    }
    Ok(())
}

#[test]
fn production_talos_upgrade_patches_and_repair_keep_etcd_quorum() {
    let env_patch = format!("  config_patches = {ENV_PATCH}\n");
    on_each_terraform_in(&[3, 4], |tf: &Terraform, subnet| {
        let r = LocalRegion::start([127, 79, subnet], 5);
        let watch = Watch::start(r.region());
        let patched = prod_config(subnet, "1.14.1", &env_patch);
        let reboots = RefCell::new(BTreeMap::new());
        // Remembers the reboots seen so far, before a step whose reboots are checked.
        let mark = || *reboots.borrow_mut() = watch.reboots();
        let report = TestCase::new("talos_upgrade")
            .provider(CLOUDTEMPLE)
            .step(
                Step::config(prod_config(subnet, "1.13.9", ""))
                    .expect_actions(PROD, &["create"])
                    .check(cluster_nodes(PROD, "1.13.9", "1.35.9"))
                    .check(pool_nodes("1.13.9", "1.35.9"))
                    .check(|_: &State| machines_on(&r, "1.13.9")),
            )
            .step(Step::run(|ctx| {
                mark();
                plan_says(
                    ctx,
                    &prod_config(subnet, "1.14.1", ""),
                    &[
                        "Control plane nodes will reboot",
                        "ctupg-cp-1, ctupg-cp-2, ctupg-cp-3",
                        "Pool nodes will reboot",
                        "w4, w5 upgrade and reboot, 2 at a time",
                    ],
                )
            }))
            .step(
                Step::config(prod_config(subnet, "1.14.1", ""))
                    .expect_actions(PROD, &["update"])
                    .expect_actions(POOL, &["update"])
                    .check(attr_eq(PROD, "talos_version", json!("1.14.1")))
                    .check(attr_eq(PROD, "access.talos_version", json!("1.14.1")))
                    .check(cluster_nodes(PROD, "1.14.1", "1.35.9"))
                    .check(pool_nodes("1.14.1", "1.35.9"))
                    .check(|_: &State| machines_on(&r, "1.14.1"))
                    .check(|_: &State| watch.quorum_kept())
                    .check(|_: &State| {
                        watch.rebooted_only(&reboots.borrow(), &["m1", "m2", "m3", "m4", "m5"])
                    }),
            )
            // A patch Talos cannot apply live: the plan names the nodes that reboot and why.
            .step(Step::run(|ctx| {
                mark();
                plan_says(
                    ctx,
                    &patched,
                    &[
                        "Control plane nodes will reboot",
                        "ctupg-cp-1, ctupg-cp-2, ctupg-cp-3",
                        "machine.env.HTTP_PROXY",
                    ],
                )
            }))
            .step(
                Step::config(patched.clone())
                    .expect_actions(PROD, &["update"])
                    .expect_actions(POOL, &["no-op"])
                    .check(cluster_nodes(PROD, "1.14.1", "1.35.9"))
                    .check(|_: &State| watch.quorum_kept())
                    .check(|_: &State| watch.rebooted_only(&reboots.borrow(), &["m1", "m2", "m3"])),
            )
            // Drift: a control plane reset behind Terraform's back is planned as an update and repaired.
            .step(Step::run(|ctx| r.reset_out_of_band(&ctx.state()?, PROD, 2)))
            .step(Step::run(|ctx| plan_says(ctx, &patched, &["ctupg-cp-2 not running configured"])))
            .step(
                Step::config(patched.clone())
                    .expect_actions(PROD, &["update"])
                    .expect_actions(POOL, &["no-op"])
                    .check(cluster_nodes(PROD, "1.14.1", "1.35.9"))
                    .check(|_: &State| machines_on(&r, "1.14.1"))
                    .check(|_: &State| watch.quorum_kept()),
            )
            .run_with(tf);
        drop(watch);
        drop(r);
        report
    });
}

/// A production cluster on machines 1-3 (or `hosts`), nothing else.
fn moved_config(subnet: u8, hosts: [u8; 3]) -> String {
    format!(
        "{CLOUDTEMPLE_REQUIRED}{}",
        ClusterHcl::production("ctmov", [127, 79, subnet]).control_planes(&hosts)
    )
}

#[test]
fn production_control_plane_moves_to_another_machine() {
    on_each_terraform_in(&[5, 6], |tf: &Terraform, subnet| {
        let r = LocalRegion::start([127, 79, subnet], 4);
        let watch = Watch::start(r.region());
        let kubeconfig = RefCell::new(None);
        let phases = |expected: [&'static str; 4]| {
            let r = &r;
            move |_: &State| -> CheckResult {
                let got = r.phases();
                if got == expected {
                    Ok(())
                } else {
                    Err(format!("machine phases {got:?}, expected {expected:?}").into())
                }
            }
        };
        let report = TestCase::new("control_plane_move")
            .provider(CLOUDTEMPLE)
            .step(
                Step::config(moved_config(subnet, [1, 2, 3]))
                    .expect_actions(PROD, &["create"])
                    .check(phases(["running", "running", "running", "maintenance"]))
                    .check(same_kubeconfig(PROD, &kubeconfig)),
            )
            // Two control planes at once, or the dev topology, stay refused.
            .step(
                Step::config(moved_config(subnet, [1, 4, 5]))
                    .expect_error("Control plane change not supported")
                    .expect_error_path("control_plane"),
            )
            .step(Step::run(|ctx| {
                plan_says(
                    ctx,
                    &moved_config(subnet, [1, 4, 3]),
                    &[
                        "Control plane moves to another machine",
                        &format!("ctmov-cp-2 moves from 127.79.{subnet}.2 to 127.79.{subnet}.4"),
                    ],
                )
            }))
            .step(
                Step::config(moved_config(subnet, [1, 4, 3]))
                    .expect_actions(PROD, &["update"])
                    .check(attr_eq(PROD, "control_plane.1.address", json!(format!("127.79.{subnet}.4"))))
                    .check(attr_eq(
                        PROD,
                        "access.talos_endpoints",
                        json!([
                            format!("127.79.{subnet}.1"),
                            format!("127.79.{subnet}.4"),
                            format!("127.79.{subnet}.3")
                        ]),
                    ))
                    .check(acceptance::checks::attr_matches(
                        PROD,
                        "talosconfig",
                        &format!("127\\.79\\.{subnet}\\.4"),
                    ))
                    .check(cluster_nodes(PROD, "1.14.1", "1.36.4"))
                    .check(phases(["running", "maintenance", "running", "running"]))
                    .check(same_kubeconfig(PROD, &kubeconfig))
                    .check(|_: &State| watch.quorum_kept()),
            )
            .run_with(tf);
        drop(watch);
        drop(r);
        report
    });
}
