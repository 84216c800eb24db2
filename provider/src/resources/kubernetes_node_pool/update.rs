//! Updating a pool in place, in this order:
//! 1. nodes removed from `nodes` (or whose address changed) are cordoned, drained, reset to
//!    maintenance mode and their Node objects deleted ([`super::delete::remove`]);
//! 2. nodes added are joined in parallel, as at creation (on the cluster's current versions);
//! 3. when the cluster's Talos version changed, kept nodes are upgraded `max_unavailable` at a
//!    time: each installs the new release, reboots into it and is waited for (running the new
//!    release, its kubelet up) before the next batch; a node already on it is skipped; with
//!    `drain` (the default) each node is cordoned and drained before and uncordoned after;
//! 4. nodes kept whose rendered configuration changed (labels, taints, patches, the cluster's
//!    versions: a Kubernetes upgrade rewrites the kubelet image) get it applied,
//!    `max_unavailable` nodes at a time, with the apply mode the node's Talos line calls for
//!    ([`TalosContract::apply_plan`]): what Talos applies live (labels, taints, kubelet,
//!    sysctls...) is applied live; a change it cannot ([`reboot_reason`]) reboots the node, which
//!    is waited for (going down, coming back configured, its kubelet running) before the next
//!    batch, cordoned and drained before and uncordoned after as for an upgrade.
//!
//! The state records what happened even when a step fails: nodes that joined are in it, nodes
//! that could not be reset stay in it, so the next apply carries on from there.

use super::create::{join, pool_state, wait_for_kubelet};
use super::delete::remove;
use super::drain::Drainer;
use super::read::{NodeHealth, probe};
use super::spec::{PoolNode, PoolSpec};
use crate::resources::kubernetes_cluster::create::{TALOS_PORT, talos_failure};
use crate::resources::kubernetes_cluster::rollout::installer_image;
use crate::talos::client::{
    Options, RebootMode, TalosClient, UpgradeSpec, wait_for_configured, wait_for_reboot_start,
    wait_for_version,
};
use crate::talos::patch::parse_documents;
use crate::talos::version::{TalosContract, reboot_reason};
use std::collections::BTreeMap;
use std::time::Duration;
use tfplugin::resource::{ApplyRequest, ApplyResponse};
use tfplugin::{Context, Diagnostic, Diagnostics, Value};

/// What an update does to the nodes.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct NodeChanges {
    /// Hostnames to reset.
    pub removed: Vec<String>,
    /// Hostnames to join.
    pub added: Vec<String>,
    /// Hostnames in both, same address.
    pub kept: Vec<String>,
}

/// Compares the prior and planned `nodes`.
pub fn node_changes(prior: &BTreeMap<String, PoolNode>, planned: &BTreeMap<String, PoolNode>) -> NodeChanges {
    let mut changes = NodeChanges::default();
    for (hostname, node) in prior {
        match planned.get(hostname) {
            Some(p) if p.address == node.address => changes.kept.push(hostname.clone()),
            _ => changes.removed.push(hostname.clone()),
        }
    }
    for (hostname, node) in planned {
        if prior.get(hostname).is_none_or(|p| p.address != node.address) {
            changes.added.push(hostname.clone());
        }
    }
    changes
}

/// Applies a new configuration to one running node; reboots it when the change needs it.
async fn reconfigure(
    spec: &PoolSpec,
    drainer: &Drainer,
    hostname: &str,
    node: &PoolNode,
    needs_reboot: bool,
    opts: &Options,
) -> Result<(), Diagnostic> {
    let rendered = spec.render(hostname, node)?;
    let plan = TalosContract::of(spec.cluster.talos_version).apply_plan(needs_reboot);
    if needs_reboot {
        drainer.before_reboot(spec, hostname).await?;
    }
    let client = TalosClient::connect(node.address, TALOS_PORT, &spec.cluster.talos)
        .map_err(|e| talos_failure(&format!("connecting to {hostname} ({})", node.address), &e))?;
    tracing::info!(node = %node.address, %hostname, mode = ?plan.mode, "applying the changed configuration");
    client.apply_configuration(&rendered.yaml, plan.mode, false, opts).await.map_err(|e| {
        talos_failure(&format!("applying the configuration of {hostname} ({})", node.address), &e)
    })?;
    if plan.reboot_after_apply {
        client
            .reboot(RebootMode::Default, opts)
            .await
            .map_err(|e| talos_failure(&format!("rebooting {hostname} ({})", node.address), &e))?;
    }
    if needs_reboot {
        wait_for_reboot_start(&client, REBOOT_START, opts).await.map_err(|e| {
            talos_failure(&format!("waiting for {hostname} ({}) to reboot", node.address), &e)
        })?;
        let (client, _) =
            wait_for_configured(node.address, TALOS_PORT, &spec.cluster.talos, opts).await.map_err(|e| {
                talos_failure(&format!("waiting for {hostname} ({}) to come back", node.address), &e)
            })?;
        wait_for_kubelet(&client, opts).await.map_err(|e| {
            talos_failure(&format!("waiting for the kubelet of {hostname} ({})", node.address), &e)
        })?;
        drainer.after_reboot(spec, hostname).await?;
    }
    Ok(())
}

/// How long to look for a node going down after a reboot was applied or requested.
const REBOOT_START: Duration = Duration::from_secs(20);

/// Upgrades one node to the cluster's Talos version, unless it runs it already.
async fn upgrade(
    spec: &PoolSpec,
    drainer: &Drainer,
    hostname: &str,
    node: &PoolNode,
    opts: &Options,
) -> Result<(), Diagnostic> {
    let to = spec.cluster.talos_version;
    let fail = |step: &str, e: &crate::talos::client::TalosError| {
        talos_failure(&format!("{step} {hostname} ({})", node.address), e)
    };
    let client = TalosClient::connect(node.address, TALOS_PORT, &spec.cluster.talos)
        .map_err(|e| fail("connecting to", &e))?;
    let running = client.version(opts).await.map_err(|e| fail("asking the version of", &e))?;
    if running.tag.trim_start_matches('v') == to.to_string() {
        return Ok(());
    }
    drainer.before_reboot(spec, hostname).await?;
    tracing::info!(node = %node.address, %hostname, from = %running.tag, %to, "upgrading Talos");
    let upgrade = UpgradeSpec {
        image: installer_image(to),
        stage: false,
        force: false,
        preserve: true,
        reboot_mode: RebootMode::Default,
    };
    client.upgrade(&upgrade, opts).await.map_err(|e| fail("upgrading", &e))?;
    wait_for_reboot_start(&client, REBOOT_START, opts).await.map_err(|e| fail("rebooting", &e))?;
    let (client, _) = wait_for_version(node.address, TALOS_PORT, &spec.cluster.talos, &to.to_string(), opts)
        .await
        .map_err(|e| fail("waiting for the upgraded", &e))?;
    wait_for_kubelet(&client, opts).await.map_err(|e| fail("waiting for the kubelet of", &e))?;
    drainer.after_reboot(spec, hostname).await
}

/// Runs `step` on `hostnames`, `max_unavailable` at a time; stops after a batch with failures.
async fn in_batches<'a, F, Fut>(spec: &'a PoolSpec, hostnames: &'a [String], step: F) -> Diagnostics
where
    F: Fn(&'a str, &'a PoolNode) -> Fut,
    Fut: std::future::Future<Output = Result<(), Diagnostic>>,
{
    for batch in hostnames.chunks(spec.max_unavailable) {
        let runs = batch.iter().filter_map(|h| spec.nodes.get(h).map(|n| step(h.as_str(), n)));
        let failures: Diagnostics =
            futures::future::join_all(runs).await.into_iter().filter_map(Result::err).collect();
        if failures.has_errors() {
            return failures;
        }
    }
    Diagnostics::new()
}

/// The kept nodes whose configuration renders differently now (by hostname), each with whether
/// Talos needs a reboot to take the change ([`reboot_reason`], the rule plans warn with).
pub fn changed_nodes(
    prior: &PoolSpec,
    planned: &PoolSpec,
    kept: &[String],
) -> Result<BTreeMap<String, bool>, Diagnostic> {
    let docs = |hostname: &str, yaml: &crate::talos::Sensitive| {
        parse_documents(yaml.expose())
            .map_err(|e| Diagnostic::error("Invalid machine configuration", format!("node {hostname}: {e}")))
    };
    let mut changed = BTreeMap::new();
    for hostname in kept {
        let (Some(old), Some(new)) = (prior.nodes.get(hostname), planned.nodes.get(hostname)) else {
            continue;
        };
        let (before, after) = (prior.render(hostname, old)?, planned.render(hostname, new)?);
        if before.hash != after.hash {
            let reboot = reboot_reason(&docs(hostname, &before.yaml)?, &docs(hostname, &after.yaml)?);
            changed.insert(hostname.clone(), reboot.is_some());
        }
    }
    Ok(changed)
}

/// Updates the pool.
pub async fn update(ctx: &Context, field_manager: &str, req: ApplyRequest<'_>) -> ApplyResponse {
    let mut resp = ApplyResponse::default();
    let Some(prior_value) = req.prior else {
        resp.diags
            .error("Missing prior state", "An update needs the prior state. This is a bug in the provider.");
        return resp;
    };
    let (prior, spec) = match (PoolSpec::from_value(prior_value), PoolSpec::from_value(req.planned)) {
        (Ok(p), Ok(s)) => (p, s),
        (Err(d), _) | (_, Err(d)) => {
            resp.diags.push(d);
            return resp;
        }
    };
    let opts = Options::new(spec.timeouts.update, ctx.token());
    let changes = node_changes(&prior.nodes, &spec.nodes);
    // `drain` as planned: `drain = false` in the same apply removes nodes without a drain.
    let drainer =
        Drainer::new(ctx, &spec, req.planned.get_attr("cluster"), field_manager, spec.timeouts.update);

    // 1. Removed nodes.
    let removed: Vec<(String, PoolNode)> =
        changes.removed.iter().filter_map(|h| prior.nodes.get(h).map(|n| (h.clone(), n.clone()))).collect();
    let (reset_done, diags) = remove(&prior, &drainer, &removed, &opts).await;
    resp.diags.extend(diags);
    let not_reset: Vec<&(String, PoolNode)> =
        removed.iter().filter(|(h, _)| !reset_done.contains(h)).collect();

    // 2. Added nodes (only once the removed ones are gone: an address may move between keys).
    let mut present: BTreeMap<String, Option<String>> = BTreeMap::new();
    if !resp.diags.has_errors() {
        let (joined, diags) = join(&spec, &changes.added, &opts).await;
        resp.diags.extend(diags);
        present.extend(joined.into_iter().map(|(h, v)| (h, Some(v))));
    }

    // 3. Talos upgrade of the kept nodes, max_unavailable at a time.
    if !resp.diags.has_errors() && prior.cluster.talos_version != spec.cluster.talos_version {
        let (spec, opts, drainer) = (&spec, &opts, &drainer);
        resp.diags.extend(in_batches(spec, &changes.kept, |h, n| upgrade(spec, drainer, h, n, opts)).await);
    }

    // 4. Kept nodes whose configuration changed, max_unavailable at a time.
    match changed_nodes(&prior, &spec, &changes.kept) {
        Ok(changed) if !resp.diags.has_errors() => {
            let hostnames: Vec<String> = changed.keys().cloned().collect();
            let (spec, opts, changed, drainer) = (&spec, &opts, &changed, &drainer);
            resp.diags.extend(
                in_batches(spec, &hostnames, |h, n| {
                    reconfigure(spec, drainer, h, n, changed.get(h).copied().unwrap_or(true), opts)
                })
                .await,
            );
        }
        Ok(_) => {}
        Err(d) => resp.diags.push(d),
    }
    for hostname in &changes.kept {
        if let Some(node) = spec.nodes.get(hostname) {
            let version = match probe(node, &spec.cluster.talos, &opts).await {
                NodeHealth::Configured(v) => Some(v),
                NodeHealth::Maintenance | NodeHealth::Unreachable(_) => None,
            };
            present.insert(hostname.clone(), version);
        }
    }

    let rollout_failed = resp.diags.has_errors();
    let mut state = pool_state(req.planned, &spec, &present);
    if rollout_failed {
        // Nodes may still run the prior versions: record the prior cluster so that the next
        // plan shows the update again and the next apply carries on (upgraded nodes are skipped).
        for attr in ["cluster", "kubernetes_version", "talos_version"] {
            if let Some(v) = prior_value.get_attr(attr) {
                let _ = state.set_attr(attr, v.clone());
            }
        }
    }
    // Nodes that could not be reset stay recorded, so the next apply tries again.
    if !not_reset.is_empty() {
        keep_recorded(&mut state, prior_value, &not_reset);
    }
    resp.state = Some(state);
    resp
}

fn keep_recorded(state: &mut Value, prior: &Value, nodes: &[&(String, PoolNode)]) {
    for attr in ["nodes", "node_status"] {
        let (Some(Value::Map(prior_map)), Some(Value::Map(map))) =
            (prior.get_attr(attr), state.get_attr_mut(attr))
        else {
            continue;
        };
        for (hostname, _) in nodes {
            if let Some(v) = prior_map.get(hostname) {
                map.insert(hostname.clone(), v.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nodes(entries: &[(&str, &str)]) -> BTreeMap<String, PoolNode> {
        entries
            .iter()
            .map(|(h, a)| ((*h).to_string(), PoolNode { address: a.parse().unwrap(), zone: "AZ05".into() }))
            .collect()
    }

    #[test]
    fn scaling_plans_exactly_the_nodes_that_change() {
        let prior = nodes(&[("w1", "10.0.0.1"), ("w2", "10.0.0.2"), ("w3", "10.0.0.3")]);
        let planned = nodes(&[("w1", "10.0.0.1"), ("w3", "10.0.0.9"), ("w4", "10.0.0.4")]);
        let c = node_changes(&prior, &planned);
        assert_eq!(c.kept, vec!["w1"]);
        assert_eq!(c.removed, vec!["w2", "w3"]);
        assert_eq!(c.added, vec!["w3", "w4"]);
        assert_eq!(
            node_changes(&prior, &prior),
            NodeChanges { kept: vec!["w1".into(), "w2".into(), "w3".into()], ..NodeChanges::default() }
        );
    }
}
