//! Removing nodes: every leaving node is cordoned at once, then each is drained (see
//! [`super::drain`]), reset (wiping its disks) and waited for until it answers in maintenance
//! mode again, ready for another pool or cluster; its Node object is then deleted. Pool nodes
//! are not etcd members, so the reset needs no graceful etcd leave. Nodes are removed in
//! parallel; a node already in maintenance mode counts as removed. A node that cannot be
//! drained or reset is reported and stays in state, so that it is not lost track of.

use super::drain::Drainer;
use super::spec::{PoolNode, PoolSpec};
use crate::resources::kubernetes_cluster::create::{TALOS_PORT, talos_failure};
use crate::talos::client::{Options, TalosClient, WipeMode, wait_for_maintenance};
use std::time::Duration;
use tfplugin::resource::DeleteRequest;
use tfplugin::{Context, Diagnostic, Diagnostics};

async fn reset_one(
    spec: &PoolSpec,
    hostname: &str,
    node: &PoolNode,
    opts: &Options,
) -> Result<(), Diagnostic> {
    let client = TalosClient::connect(node.address, TALOS_PORT, &spec.cluster.talos)
        .map_err(|e| talos_failure(&format!("connecting to {hostname} ({})", node.address), &e))?;
    match client.version(opts).await {
        Ok(_) => {
            tracing::info!(node = %node.address, %hostname, pool = %spec.name, "resetting the node to maintenance mode");
            client
                .reset(false, true, WipeMode::All, opts)
                .await
                .map_err(|e| talos_failure(&format!("resetting {hostname} ({})", node.address), &e))?;
        }
        // Already reset (out of band, or by an earlier attempt): the wait below confirms it.
        Err(e) => {
            if wait_for_maintenance(node.address, TALOS_PORT, &opts.step(Duration::from_secs(5)))
                .await
                .is_err()
            {
                return Err(talos_failure(&format!("reaching {hostname} ({})", node.address), &e));
            }
        }
    }
    wait_for_maintenance(node.address, TALOS_PORT, opts).await.map_err(|e| {
        talos_failure(&format!("waiting for {hostname} ({}) to return to maintenance mode", node.address), &e)
    })?;
    Ok(())
}

async fn remove_one(
    spec: &PoolSpec,
    drainer: &Drainer,
    hostname: &str,
    node: &PoolNode,
    opts: &Options,
) -> Result<(), Diagnostic> {
    drainer.before_removal(spec, hostname, node, opts).await?;
    reset_one(spec, hostname, node, opts).await?;
    drainer.forget(hostname).await;
    Ok(())
}

/// Removes `nodes` (hostname and node) in parallel: cordon all, then drain and reset each.
/// Returns the hostnames that are back in maintenance mode and the diagnostics of the others.
pub async fn remove(
    spec: &PoolSpec,
    drainer: &Drainer,
    nodes: &[(String, PoolNode)],
    opts: &Options,
) -> (Vec<String>, Diagnostics) {
    if nodes.is_empty() {
        return (Vec::new(), Diagnostics::new());
    }
    let hostnames: Vec<&str> = nodes.iter().map(|(h, _)| h.as_str()).collect();
    drainer.cordon_all(&hostnames).await;
    let resets =
        nodes.iter().map(|(h, n)| async move { (h.clone(), remove_one(spec, drainer, h, n, opts).await) });
    let mut done = Vec::new();
    let mut diags = Diagnostics::new();
    for (hostname, result) in futures::future::join_all(resets).await {
        match result {
            Ok(()) => done.push(hostname),
            Err(d) => diags.push(d),
        }
    }
    (done, diags)
}

/// Destroys the pool.
pub async fn delete(ctx: &Context, field_manager: &str, req: DeleteRequest<'_>) -> Diagnostics {
    let spec = match PoolSpec::from_value(req.prior) {
        Ok(s) => s,
        Err(d) => return d.into(),
    };
    let opts = Options::new(spec.timeouts.delete, ctx.token());
    let drainer =
        Drainer::new(ctx, &spec, req.prior.get_attr("cluster"), field_manager, spec.timeouts.delete);
    let nodes: Vec<(String, PoolNode)> = spec.nodes.iter().map(|(h, n)| (h.clone(), n.clone())).collect();
    remove(&spec, &drainer, &nodes, &opts).await.1
}
