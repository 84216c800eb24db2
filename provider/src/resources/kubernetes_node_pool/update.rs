//! Updating a pool in place, in this order:
//! 1. nodes removed from `nodes` (or whose address changed) are reset to maintenance mode;
//! 2. nodes added are joined in parallel, as at creation;
//! 3. nodes kept whose rendered configuration changed (labels, taints, patches, the cluster's
//!    versions) get it applied, `max_unavailable` nodes at a time, with the apply mode the node's
//!    Talos line calls for ([`TalosContract::apply_plan`]): label and taint changes apply live;
//!    a patch change is taken to need a reboot, which is waited for (the node going down, coming
//!    back configured, its kubelet running) before the next batch.
//!
//! The state records what happened even when a step fails: nodes that joined are in it, nodes
//! that could not be reset stay in it, so the next apply carries on from there.

use super::create::{join, pool_state, wait_for_kubelet};
use super::delete::reset;
use super::read::{NodeHealth, probe};
use super::spec::{PoolNode, PoolSpec};
use crate::resources::kubernetes_cluster::create::{TALOS_PORT, talos_failure};
use crate::talos::client::{
    Backoff, Options, Probe, RebootMode, TalosClient, TalosError, wait_for_configured, wait_until,
};
use crate::talos::version::TalosContract;
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
    hostname: &str,
    node: &PoolNode,
    needs_reboot: bool,
    opts: &Options,
) -> Result<(), Diagnostic> {
    let rendered = spec.render(hostname, node)?;
    let plan = TalosContract::of(spec.cluster.talos_version).apply_plan(needs_reboot);
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
        wait_for_reboot(&client, opts).await.map_err(|e| {
            talos_failure(&format!("waiting for {hostname} ({}) to reboot", node.address), &e)
        })?;
        let (client, _) =
            wait_for_configured(node.address, TALOS_PORT, &spec.cluster.talos, opts).await.map_err(|e| {
                talos_failure(&format!("waiting for {hostname} ({}) to come back", node.address), &e)
            })?;
        wait_for_kubelet(&client, opts).await.map_err(|e| {
            talos_failure(&format!("waiting for the kubelet of {hostname} ({})", node.address), &e)
        })?;
    }
    Ok(())
}

/// How long to look for a node going down after a reboot was applied or requested: Talos starts
/// rebooting right after answering, so a node still up after this either rebooted between two
/// probes or applied live; either way the wait for a configured node decides.
const REBOOT_START: Duration = Duration::from_secs(20);

/// Waits until the node goes down for its reboot (or is seen booting), so that the wait for
/// it to come back does not end on the node as it was before the reboot.
async fn wait_for_reboot(client: &TalosClient, opts: &Options) -> Result<(), TalosError> {
    let start = Backoff { initial: Duration::from_millis(20), ..Backoff::POLL };
    let outcome =
        wait_until("wait for the reboot", &client.target(), &opts.step(REBOOT_START), &start, |step| {
            let client = client.clone();
            async move {
                Ok(match client.service_list(&step).await {
                    Err(e) if e.is_cancelled() => return Err(e),
                    // Refused or reset connections: the node is down.
                    Err(_) => Probe::Ready(()),
                    Ok(services) => match services.iter().find(|s| s.id == "kubelet") {
                        Some(s) if s.state == "Running" => {
                            Probe::NotYet("the node has not gone down yet".into())
                        }
                        // Services restarting: the reboot has happened.
                        _ => Probe::Ready(()),
                    },
                })
            }
        })
        .await;
    match outcome {
        // The reboot can be over before a probe lands (a fast node, a busy provider): the
        // caller's wait for a configured node with its kubelet running is what proves the node
        // is back, so not seeing it go down is no failure.
        Err(e) if e.is_timeout() => {
            tracing::debug!(node = %client.target(), "no downtime observed after the apply; checking the node is back");
            Ok(())
        }
        other => other,
    }
}

/// The kept nodes whose configuration renders differently now.
fn changed_nodes(prior: &PoolSpec, planned: &PoolSpec, kept: &[String]) -> Result<Vec<String>, Diagnostic> {
    let mut changed = Vec::new();
    for hostname in kept {
        let (Some(old), Some(new)) = (prior.nodes.get(hostname), planned.nodes.get(hostname)) else {
            continue;
        };
        if prior.render(hostname, old)?.hash != planned.render(hostname, new)?.hash {
            changed.push(hostname.clone());
        }
    }
    Ok(changed)
}

/// Updates the pool.
pub async fn update(ctx: &Context, req: ApplyRequest<'_>) -> ApplyResponse {
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

    // 1. Removed nodes.
    let removed: Vec<(String, PoolNode)> =
        changes.removed.iter().filter_map(|h| prior.nodes.get(h).map(|n| (h.clone(), n.clone()))).collect();
    let (reset_done, diags) = reset(&prior, &removed, &opts).await;
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

    // 3. Kept nodes whose configuration changed, max_unavailable at a time.
    match changed_nodes(&prior, &spec, &changes.kept) {
        Ok(changed) if !resp.diags.has_errors() => {
            let needs_reboot = prior.config_patches != spec.config_patches;
            for batch in changed.chunks(spec.max_unavailable) {
                let runs = batch.iter().filter_map(|h| spec.nodes.get(h).map(|n| (h, n))).map(|(h, n)| {
                    let opts = &opts;
                    let spec = &spec;
                    async move { reconfigure(spec, h, n, needs_reboot, opts).await }
                });
                let failures: Diagnostics =
                    futures::future::join_all(runs).await.into_iter().filter_map(Result::err).collect();
                if failures.has_errors() {
                    resp.diags.extend(failures);
                    break;
                }
            }
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

    let mut state = pool_state(req.planned, &spec, &present);
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
