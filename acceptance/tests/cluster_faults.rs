//! Interrupted applies of `cloudtemple_kubernetes_cluster` through real terraform: whatever
//! stops a create part way, the state records every node it touched, and the next apply
//! converges without a second bootstrap of the same cluster and without orphaning a node.
//!
//! - A control plane powered off during create: the apply fails naming the node, the other
//!   control planes (already configured with the cluster's secrets) are recorded as a tainted
//!   cluster; once the machine is back, the next apply resets them and creates the cluster once.
//! - The whole emulator restarted in the middle of a create: the provider rides through it
//!   (transient errors are retried), and nothing is left to converge.
//! - Ctrl-C during a create: Terraform asks the provider to stop, the create returns at once
//!   with the configured node recorded, and the next apply converges.
//!
//! Regions run in this process on 127.78.40.x, 127.78.41.x and 127.78.42.x.

mod common;

use acceptance::checks::attr_eq;
use acceptance::command::CommandOutput;
use acceptance::terraform::Terraform;
use acceptance::{CheckError, RunContext, State, Step, TestCase};
use common::hcl::{CLOUDTEMPLE_REQUIRED, ClusterHcl};
use common::{CLOUDTEMPLE, LocalRegion, cluster_nodes, on_each_terraform};
use ct_emulator::faults::FaultKind;
use serde_json::json;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// A cluster `c` on machines `1..=control_planes` (dev with one, production with three), with
/// `timeouts` (a block, or nothing).
fn cluster_config(name: &str, subnet: u8, control_planes: u8, timeouts: &str) -> String {
    let hosts: Vec<u8> = (1..=control_planes).collect();
    let cluster = if control_planes == 1 {
        ClusterHcl::dev(name, [127, 78, subnet])
    } else {
        ClusterHcl::production(name, [127, 78, subnet]).control_planes(&hosts)
    };
    format!("{CLOUDTEMPLE_REQUIRED}{}", cluster.label("c").raw(timeouts))
}

const C: &str = "cloudtemple_kubernetes_cluster.c";

#[test]
fn control_plane_down_during_create_is_recorded_and_the_next_apply_converges() {
    let r = LocalRegion::start([127, 78, 40], 3);
    // A short create timeout: the powered-off node is retried (it might be rebooting) until then.
    let failing = cluster_config("ctflt", 40, 3, "  timeouts {\n    create = \"6s\"\n  }\n");
    let healthy = cluster_config("ctflt", 40, 3, "");
    on_each_terraform(|tf: &Terraform| {
        TestCase::new("control_plane_down_during_create")
            .provider(CLOUDTEMPLE)
            .step(Step::run(|_| {
                r.fault("m3", "*", FaultKind::Down);
                Ok(())
            }))
            .step(
                Step::config(failing.clone()).expect_error("applying the configuration of 127\\.78\\.40\\.3"),
            )
            .step(Step::run(|ctx| {
                // The two nodes that took their configuration are in the state, tainted.
                let state: State = ctx.state()?;
                let c = state.resource(C).ok_or("the partly created cluster must be in the state")?;
                let status = c.attr("status")?.cloned();
                if status != Some(json!("creation failed")) {
                    return Err(format!("status should record the failure, got {status:?}").into());
                }
                let phases = r.phases();
                if phases[..2].contains(&"maintenance") {
                    return Err(format!("m1 and m2 should have left maintenance mode: {phases:?}").into());
                }
                let listed = ctx.terraform_command(&["state", "list"])?;
                if !listed.stdout.contains(C) {
                    return Err(format!("terraform state list lacks the cluster: {}", listed.stdout).into());
                }
                r.clear_faults();
                Ok(())
            }))
            // Tainted: replaced, i.e. the configured nodes are reset first, then one bootstrap.
            .step(
                Step::config(healthy.clone())
                    .expect_actions(C, &["delete", "create"])
                    .check(attr_eq(C, "status", json!("ready")))
                    .check(|state: &State| {
                        let nodes = cluster_nodes(state, C)?;
                        let members = nodes.iter().filter(|n| n["etcd_member"] == json!(true)).count();
                        if members == 3 {
                            Ok(())
                        } else {
                            Err(format!("expected 3 etcd members, got {nodes:?}").into())
                        }
                    }),
            )
            .step(Step::destroy().check(|_before: &State| r.all_in_maintenance()))
            .run_with(tf)
    });
}

#[test]
fn emulator_restarted_mid_create_is_ridden_through() {
    let r = LocalRegion::start_persistent([127, 78, 41], 1);
    // Bootstrap answers slowly, so the restart lands while terraform is inside the create.
    r.fault("m1", "Bootstrap", FaultKind::Delay { ms: 1500 });
    let config = cluster_config("ctrst", 41, 1, "");
    on_each_terraform(|tf: &Terraform| {
        TestCase::new("emulator_restarted_mid_create")
            .provider(CLOUDTEMPLE)
            .step(
                Step::config(config.clone())
                    .plan_only()
                    .expect_non_empty_plan()
                    .expect_actions(C, &["create"]),
            )
            .step(Step::run(|ctx| {
                let out = apply_during_create(ctx, &r, Duration::from_millis(200), "the restart", || {
                    r.restart();
                    Ok(())
                })?;
                if out.success() {
                    Ok(())
                } else {
                    Err(format!("the apply did not ride through the restart:\n{}{}", out.stdout, out.stderr)
                        .into())
                }
            }))
            // Nothing left to do: the same configuration plans empty, with and without refresh.
            .step(Step::config(config.clone()).check(attr_eq(C, "status", json!("ready"))))
            .step(Step::destroy().check(|_before: &State| r.all_in_maintenance()))
            .run_with(tf)
    });
}

/// Runs `terraform apply` in the case's directory and, on another thread, `during` once m1 has
/// left maintenance mode and `settle` more has passed: the create is then part way through.
///
/// # Errors
/// When m1 is never configured, when the apply ended before `during` (named `what`) ran, when
/// `during` fails, or when terraform cannot run; a failed apply is the caller's to judge.
fn apply_during_create(
    ctx: &mut RunContext<'_>,
    r: &LocalRegion,
    settle: Duration,
    what: &str,
    during: impl FnOnce() -> Result<(), String> + Send,
) -> Result<CommandOutput, CheckError> {
    let done = AtomicBool::new(false);
    std::thread::scope(|s| {
        let other = s.spawn(|| -> Result<(), String> {
            r.wait_until_configured(0, Duration::from_secs(60))?;
            std::thread::sleep(settle);
            if done.load(Ordering::SeqCst) {
                return Err(format!("the apply ended before {what}: the test proves nothing"));
            }
            during()
        });
        let out = ctx.terraform_command(&["apply", "-auto-approve", "-input=false"]);
        done.store(true, Ordering::SeqCst);
        other.join().map_err(|_| format!("the thread of {what} panicked"))??;
        Ok(out?)
    })
}

/// The processes of the `terraform apply` running in `dir`, found through `/proc`: the
/// command and, on terraform 1.0, the panicwrap child that does the work, both of which a
/// Ctrl-C in a terminal reaches (the provider ignores SIGINT and waits for StopProvider).
fn terraform_apply_in(dir: &std::path::Path) -> Vec<u32> {
    let Ok(want) = dir.canonicalize() else { return Vec::new() };
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    let mut pids = Vec::new();
    for entry in entries.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
        let cwd = std::fs::read_link(entry.path().join("cwd")).ok();
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline);
        if cwd.as_deref() == Some(want.as_path()) && cmdline.contains("terraform\0apply") {
            pids.push(pid);
        }
    }
    pids
}

#[test]
fn interrupted_create_records_progress_and_the_next_apply_converges() {
    let r = LocalRegion::start([127, 78, 42], 1);
    // Bootstrap answers slowly, so the interrupt lands while the node is configured but the
    // create is not finished.
    r.fault("m1", "Bootstrap", FaultKind::Delay { ms: 3000 });
    let config = cluster_config("ctint", 42, 1, "");
    on_each_terraform(|tf: &Terraform| {
        TestCase::new("interrupted_create")
            .provider(CLOUDTEMPLE)
            .step(
                Step::config(config.clone())
                    .plan_only()
                    .expect_non_empty_plan()
                    .expect_actions(C, &["create"]),
            )
            .step(Step::run(|ctx| {
                let dir = ctx.dir().to_path_buf();
                let started = Instant::now();
                let out = apply_during_create(ctx, &r, Duration::from_millis(300), "the interrupt", || {
                    let pids: Vec<String> = terraform_apply_in(&dir).iter().map(u32::to_string).collect();
                    if pids.is_empty() {
                        return Err("no terraform apply is running".into());
                    }
                    let sent = std::process::Command::new("kill")
                        .arg("-INT")
                        .args(&pids)
                        .status()
                        .map_err(|e| e.to_string())?;
                    if sent.success() { Ok(()) } else { Err(format!("kill -INT {pids:?} failed")) }
                })?;
                if out.success() {
                    return Err(format!("the interrupted apply succeeded:\n{}", out.combined).into());
                }
                // Stopped promptly, not after the create timeout.
                if started.elapsed() > Duration::from_secs(30) {
                    return Err(format!("the interrupted apply took {:?}", started.elapsed()).into());
                }
                let state: State = ctx.state()?;
                let status = state
                    .resource(C)
                    .ok_or("the interrupted cluster must be in the state")?
                    .attr("status")?
                    .cloned();
                if status != Some(json!("creation failed")) {
                    return Err(format!("status should record the interruption, got {status:?}").into());
                }
                Ok(())
            }))
            .step(Step::config(config.clone()).expect_actions(C, &["delete", "create"]).check(attr_eq(
                C,
                "status",
                json!("ready"),
            )))
            .step(Step::destroy().check(|_before: &State| r.all_in_maintenance()))
            .run_with(tf)
    });
}
