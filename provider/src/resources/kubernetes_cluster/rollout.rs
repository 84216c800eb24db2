//! What an in-place update does to the control planes, worked out the same way at plan (to
//! tell which nodes reboot, and why) and at apply (to do it), in this order:
//! 0. **move** (production only, one control plane per apply, nothing else changing): the new
//!    machine is configured and joins etcd (4 members), then the old one leaves etcd and is
//!    reset to maintenance mode, so quorum never rests on fewer than the usual members;
//! 1. **repair**: a control plane found back in maintenance mode gets its configuration again
//!    and rejoins etcd (its stale etcd member is removed first);
//! 2. **Talos upgrade**: each control plane in turn installs the new release and reboots into
//!    it; the next one starts only when it runs the new release and etcd is healthy on every
//!    member, so quorum is never at stake;
//! 3. **reconfiguration**: each control plane whose rendered configuration changes (a new
//!    Kubernetes version rewrites the kubelet and control plane component images, new
//!    `config_patches`, the installer image after a Talos upgrade) gets it in turn, rebooting
//!    only when Talos cannot apply the change live ([`reboot_reason`]).
//!
//! Plan also makes the computed attributes honest: `access` carries the new versions (known,
//! so node pools plan their own rollout), and `nodes` and `status` are unknown whenever the
//! nodes change.

use super::spec::{ClusterSpec, NodeSpec};
use crate::catalog::Version;
use crate::talos::machine_config::preview;
use crate::talos::version::reboot_reason;
use std::collections::BTreeMap;
use tfplugin::{AttributePath, Diagnostics, Value};

/// Installer image repository (the renderer's default: nodes install from it).
pub const INSTALLER: &str = "ghcr.io/siderolabs/installer";

/// The installer image of a Talos release.
pub fn installer_image(version: Version) -> String {
    format!("{INSTALLER}:{}", version.to_tag())
}

/// One control plane whose configuration changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reconfiguration {
    /// Index in `control_plane`.
    pub index: usize,
    /// Hostname.
    pub hostname: String,
    /// The first changed path Talos cannot apply live; `None` when the change applies live.
    pub reboot: Option<String>,
}

/// The Talos move, when the version changes.
pub fn talos_upgrade(prior: &ClusterSpec, planned: &ClusterSpec) -> Option<(Version, Version)> {
    (prior.talos_version != planned.talos_version).then_some((prior.talos_version, planned.talos_version))
}

/// The control planes whose configuration renders differently, in order.
///
/// # Errors
/// A patch that does not apply (validate and plan report it first).
pub fn reconfigurations(
    prior: &ClusterSpec,
    planned: &ClusterSpec,
) -> Result<Vec<Reconfiguration>, crate::talos::error::ConfigError> {
    let (prior_url, planned_url) = (prior.api_url(), planned.api_url());
    let labels = BTreeMap::new();
    let mut out = Vec::new();
    for (index, node) in planned.control_planes.iter().enumerate() {
        let before_node = prior.control_planes.get(index).unwrap_or(node);
        let before = preview(
            &prior.cluster_input(&prior_url),
            &ClusterSpec::node_input(before_node, &labels),
            &prior.config_patches,
        )?;
        let after = preview(
            &planned.cluster_input(&planned_url),
            &ClusterSpec::node_input(node, &labels),
            &planned.config_patches,
        )?;
        if before != after {
            out.push(Reconfiguration {
                index,
                hostname: node.hostname.clone(),
                reboot: reboot_reason(&before, &after),
            });
        }
    }
    Ok(out)
}

/// A control plane moved to another machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Move {
    /// Index in `control_plane`.
    pub index: usize,
    /// The machine it leaves.
    pub from: NodeSpec,
    /// The machine it moves to.
    pub to: NodeSpec,
}

/// The control plane move between two plans, or why it cannot be done in place.
///
/// # Errors
/// The reason, for a diagnostic on `control_plane`.
pub fn control_plane_move(prior: &ClusterSpec, planned: &ClusterSpec) -> Result<Option<Move>, String> {
    if prior.control_planes.len() != planned.control_planes.len() {
        return Err("the number of control planes is fixed by the topology".into());
    }
    let moved: Vec<usize> = (0..planned.control_planes.len())
        .filter(|&i| prior.control_planes[i] != planned.control_planes[i])
        .collect();
    let [index] = moved.as_slice() else {
        return if moved.is_empty() {
            Ok(None)
        } else {
            Err("move one control plane per apply, so that etcd keeps quorum throughout".into())
        };
    };
    let (from, to) = (&prior.control_planes[*index], &planned.control_planes[*index]);
    if planned.topology != "production" {
        return Err(
            "a dev cluster has a single control plane, which cannot move: create a new cluster".into()
        );
    }
    if from.address == to.address {
        return Err("only the machine of a control plane can change (its address, with its zone)".into());
    }
    if prior.kubernetes_version != planned.kubernetes_version
        || prior.talos_version != planned.talos_version
        || prior.config_patches != planned.config_patches
    {
        return Err("move a control plane in an apply of its own, without version or patch changes".into());
    }
    Ok(Some(Move { index: *index, from: from.clone(), to: to.clone() }))
}

/// Plans a control plane move: the new Talos endpoints in `access` and `talosconfig` (same
/// credentials), and a warning that says what apply does. Returns whether the plan is valid.
fn plan_move(
    prior: &Value,
    before: &ClusterSpec,
    after: &ClusterSpec,
    planned: &mut Value,
    diags: &mut Diagnostics,
) -> bool {
    let path = AttributePath::root().attr("control_plane");
    let m = match control_plane_move(before, after) {
        Ok(Some(m)) => m,
        Ok(None) => return true,
        Err(reason) => {
            diags.error_at(
                path,
                "Control plane change not supported",
                format!("This control plane change cannot be done in place: {reason}. Nothing was changed."),
            );
            return false;
        }
    };
    let endpoints: Vec<String> = after.control_planes.iter().map(|n| n.address.to_string()).collect();
    if let Some(access) = planned.get_attr_mut("access").filter(|a| a.is_known() && !a.is_null()) {
        let _ = access
            .set_attr("talos_endpoints", Value::List(endpoints.iter().cloned().map(Value::from).collect()));
    }
    if let Some(yaml) = prior.get_attr("talosconfig").and_then(Value::as_str)
        && let Ok(moved) = crate::talos::talosconfig::with_endpoints(yaml, &endpoints, &endpoints[..1])
    {
        let _ = planned.set_attr("talosconfig", Value::from(moved.expose()));
    }
    diags.warning_at(
        path,
        "Control plane moves to another machine",
        format!(
            "{} moves from {} to {}: the new machine is configured and joins etcd, then {} leaves etcd and is \
             reset to maintenance mode. The other control planes are not touched.",
            m.to.hostname, m.from.address, m.to.address, m.from.address
        ),
    );
    true
}

/// Control planes the prior state saw not running configured (reset out of band, or down).
fn unconfigured(prior: &Value) -> Vec<String> {
    prior
        .get_attr("nodes")
        .and_then(Value::as_list)
        .unwrap_or_default()
        .iter()
        .filter(|n| n.get_attr("talos_version").is_none_or(Value::is_null))
        .filter_map(|n| n.get_attr("hostname").and_then(Value::as_str).map(str::to_string))
        .collect()
}

/// Refines the plan of an in-place update (after [`super::plan::refine`], never on
/// replacement): the new versions in `access`, `nodes` and `status` unknown when the nodes
/// change, a control plane move checked and planned, and a warning for every node that
/// reboots, moves or is repaired.
pub fn plan_update(prior: &Value, planned: &mut Value, diags: &mut Diagnostics) {
    for attr in ["kubernetes_version", "talos_version"] {
        let Some(v) = planned.get_attr(attr).filter(|v| v.is_known()).cloned() else { continue };
        if let Some(access) = planned.get_attr_mut("access").filter(|a| a.is_known() && !a.is_null()) {
            let _ = access.set_attr(attr, v);
        }
    }
    let degraded = prior.get_attr("status").and_then(Value::as_str).is_some_and(|s| s != "ready");
    let repaired = unconfigured(prior);
    if degraded {
        // A degraded cluster plans a repair, so that `terraform plan` shows it.
        let _ = planned.set_attr("status", Value::Unknown);
        let _ = planned.set_attr("nodes", Value::Unknown);
    }
    if !repaired.is_empty() {
        diags.warning(
            "Control planes will be repaired",
            format!(
                "{} not running configured: apply configures {} again from maintenance mode, one at a time, and \
                 waits until {} back in etcd with every member healthy.",
                repaired.join(", "),
                if repaired.len() == 1 { "it" } else { "them" },
                if repaired.len() == 1 { "it is" } else { "they are" },
            ),
        );
    }
    let (Ok(before), Ok(after)) = (ClusterSpec::from_value(prior), ClusterSpec::from_value(planned)) else {
        return;
    };
    if !plan_move(prior, &before, &after, planned, diags) {
        return;
    }
    let hostnames: Vec<&str> = after.control_planes.iter().map(|n| n.hostname.as_str()).collect();
    if let Some((from, to)) = talos_upgrade(&before, &after) {
        diags.warning_at(
            AttributePath::root().attr("talos_version"),
            "Control plane nodes will reboot",
            format!(
                "Upgrading Talos from {from} to {to} reboots {}, one at a time: each must come back running {to} \
                 with etcd healthy on every member before the next one starts.",
                hostnames.join(", ")
            ),
        );
    }
    // Patch errors are reported by validate with their path; nothing to add here.
    let Ok(changes) = reconfigurations(&before, &after) else { return };
    if !changes.is_empty() {
        let _ = planned.set_attr("nodes", Value::Unknown);
        let _ = planned.set_attr("status", Value::Unknown);
    }
    let rebooting: Vec<&Reconfiguration> = changes.iter().filter(|c| c.reboot.is_some()).collect();
    if let Some(first) = rebooting.first() {
        let names: Vec<&str> = rebooting.iter().map(|c| c.hostname.as_str()).collect();
        let path = first.reboot.as_deref().unwrap_or_default();
        diags.warning_at(
            AttributePath::root().attr("config_patches"),
            "Control plane nodes will reboot",
            format!(
                "This change reboots {}, one at a time (etcd healthy on every member before the next): Talos \
                 cannot apply a change of `{path}` to a running node. Changes to `cluster`, `machine.kubelet`, \
                 `machine.network`, `machine.sysctls`, labels and taints apply without a reboot.",
                names.join(", ")
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cluster(k8s: &str, talos: &str, patches: &[&str]) -> Value {
        let node = |i: u8, zone: &str| {
            Value::object([
                ("address", Value::from(format!("10.20.0.{i}"))),
                ("zone", Value::from(zone)),
                ("hostname", Value::from(format!("ctprd-cp-{i}"))),
            ])
        };
        let access = Value::object([
            ("kubernetes_version", Value::from(k8s)),
            ("talos_version", Value::from(talos)),
            ("cluster_name", Value::from("ctprd")),
        ]);
        Value::object([
            ("name", Value::from("ctprd")),
            ("topology", Value::from("production")),
            ("endpoint", Value::from("10.20.0.20")),
            ("kubernetes_version", Value::from(k8s)),
            ("talos_version", Value::from(talos)),
            (
                "network",
                Value::object([
                    ("node_cidr", Value::from("10.20.0.0/22")),
                    ("pod_cidr", Value::from("10.244.0.0/16")),
                    ("service_cidr", Value::from("10.96.0.0/12")),
                    ("dns_domain", Value::from("ctprd-cluster.local")),
                ]),
            ),
            ("control_plane", Value::List(vec![node(1, "AZ05"), node(2, "AZ06"), node(3, "AZ07")])),
            ("config_patches", Value::List(patches.iter().map(|p| Value::from(*p)).collect())),
            ("access", access),
            ("status", Value::from("ready")),
            ("nodes", Value::List(Vec::new())),
        ])
    }

    fn plan(prior: &Value, planned: &Value) -> (Value, Diagnostics) {
        let mut planned = planned.clone();
        let mut diags = Diagnostics::new();
        plan_update(prior, &mut planned, &mut diags);
        (planned, diags)
    }

    #[test]
    fn kubernetes_upgrade_reconfigures_every_node_live() {
        let (prior, next) = (cluster("1.35.9", "1.14.1", &[]), cluster("1.36.4", "1.14.1", &[]));
        let (planned, diags) = plan(&prior, &next);
        assert!(diags.is_empty(), "{diags}");
        assert_eq!(
            planned.get_attr("access").and_then(|a| a.get_attr("kubernetes_version")),
            Some(&Value::from("1.36.4"))
        );
        assert_eq!(planned.get_attr("nodes"), Some(&Value::Unknown));
        let changes = reconfigurations(
            &ClusterSpec::from_value(&prior).unwrap(),
            &ClusterSpec::from_value(&next).unwrap(),
        )
        .unwrap();
        assert_eq!(changes.len(), 3);
        assert!(changes.iter().all(|c| c.reboot.is_none()), "{changes:?}");
    }

    #[test]
    fn talos_upgrade_warns_that_every_node_reboots() {
        let (_, diags) = plan(&cluster("1.35.9", "1.13.9", &[]), &cluster("1.35.9", "1.14.1", &[]));
        let d = diags.iter().next().expect("a warning");
        assert!(!d.is_error());
        assert_eq!(d.attribute.as_ref().unwrap().to_string(), "talos_version");
        assert!(d.detail.contains("ctprd-cp-1, ctprd-cp-2, ctprd-cp-3"), "{}", d.detail);
    }

    #[test]
    fn patches_say_which_nodes_reboot_and_why() {
        let prior = cluster("1.35.9", "1.14.1", &[]);
        let live = cluster("1.35.9", "1.14.1", &["machine:\n  sysctls:\n    vm.max_map_count: \"262144\"\n"]);
        let (_, diags) = plan(&prior, &live);
        assert!(diags.is_empty(), "a sysctl applies live: {diags}");
        let reboot = cluster("1.35.9", "1.14.1", &["machine:\n  env:\n    HTTP_PROXY: http://proxy:3128\n"]);
        let (planned, diags) = plan(&prior, &reboot);
        let d = diags.iter().next().expect("a warning");
        assert_eq!(d.attribute.as_ref().unwrap().to_string(), "config_patches");
        assert!(d.detail.contains("machine.env.HTTP_PROXY"), "{}", d.detail);
        assert!(d.detail.contains("ctprd-cp-1, ctprd-cp-2, ctprd-cp-3"), "{}", d.detail);
        assert_eq!(planned.get_attr("status"), Some(&Value::Unknown));
    }

    fn moved(mut v: Value, index: usize, address: &str) -> Value {
        if let Some(Value::List(nodes)) = v.get_attr_mut("control_plane") {
            nodes[index].set_attr("address", Value::from(address)).unwrap();
        }
        v
    }

    #[test]
    fn one_production_control_plane_moves_per_apply() {
        let mut prior = cluster("1.35.9", "1.14.1", &[]);
        prior.set_attr("talosconfig", Value::from("context: ctprd\ncontexts:\n  ctprd:\n    endpoints: [10.20.0.1, 10.20.0.2, 10.20.0.3]\n    nodes: [10.20.0.1]\n    ca: a\n    crt: b\n    key: c\n")).unwrap();
        prior.set_attr("access", Value::object([("talos_endpoints", Value::List(Vec::new()))])).unwrap();
        let next = moved(prior.clone(), 1, "10.20.0.4");
        let (planned, diags) = plan(&prior, &next);
        assert!(!diags.has_errors(), "{diags}");
        let d = diags.iter().next().expect("a warning");
        assert!(d.detail.starts_with("ctprd-cp-2 moves from 10.20.0.2 to 10.20.0.4"), "{}", d.detail);
        let endpoints = planned.get_attr("access").and_then(|a| a.get_attr("talos_endpoints")).unwrap();
        assert_eq!(endpoints.as_list().unwrap()[1], Value::from("10.20.0.4"));
        let talosconfig = planned.get_attr("talosconfig").and_then(Value::as_str).unwrap();
        assert!(talosconfig.contains("10.20.0.4") && talosconfig.contains("key: c"), "{talosconfig}");

        for (bad, why) in [
            (moved(next, 2, "10.20.0.5"), "one control plane per apply"),
            (moved(cluster("1.36.4", "1.14.1", &[]), 1, "10.20.0.4"), "apply of its own"),
        ] {
            let (_, diags) = plan(&prior, &bad);
            let d = diags.iter().find(|d| d.is_error()).expect("an error");
            assert_eq!(d.attribute.as_ref().unwrap().to_string(), "control_plane");
            assert!(d.detail.contains(why), "{}", d.detail);
        }
    }

    #[test]
    fn a_degraded_cluster_plans_a_repair() {
        let mut prior = cluster("1.35.9", "1.14.1", &[]);
        prior.set_attr("status", Value::from("degraded: ctprd-cp-2 was reset to maintenance mode")).unwrap();
        let node = |i: u8, talos: Value| {
            Value::object([("hostname", Value::from(format!("ctprd-cp-{i}"))), ("talos_version", talos)])
        };
        prior
            .set_attr(
                "nodes",
                Value::List(vec![
                    node(1, Value::from("1.14.1")),
                    node(2, Value::Null),
                    node(3, Value::from("1.14.1")),
                ]),
            )
            .unwrap();
        let (planned, diags) = plan(&prior, &prior.clone());
        assert_eq!(planned.get_attr("status"), Some(&Value::Unknown));
        assert_eq!(planned.get_attr("nodes"), Some(&Value::Unknown));
        let d = diags.iter().next().expect("a warning");
        assert!(d.detail.starts_with("ctprd-cp-2 not running configured"), "{}", d.detail);
    }
}
