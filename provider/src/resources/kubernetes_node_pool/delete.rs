//! Removing nodes: each node is reset (wiping its disks) and waited for until it answers in
//! maintenance mode again, ready for another pool or cluster. Pool nodes are not etcd members,
//! so the reset needs no graceful etcd leave. Nodes are reset in parallel; a node already in
//! maintenance mode counts as removed. A node that cannot be reset is reported, and the pool
//! stays in state so that it is not lost track of.
//!
//! Workloads are not drained first: that needs a Kubernetes API client, which this build does
//! not have yet.

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

/// Resets `nodes` (hostname and node) in parallel; returns the hostnames that are back in
/// maintenance mode and the diagnostics of the others.
pub async fn reset(
    spec: &PoolSpec,
    nodes: &[(String, PoolNode)],
    opts: &Options,
) -> (Vec<String>, Diagnostics) {
    let resets = nodes.iter().map(|(h, n)| async move { (h.clone(), reset_one(spec, h, n, opts).await) });
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
pub async fn delete(ctx: &Context, req: DeleteRequest<'_>) -> Diagnostics {
    let spec = match PoolSpec::from_value(req.prior) {
        Ok(s) => s,
        Err(d) => return d.into(),
    };
    let opts = Options::new(spec.timeouts.delete, ctx.token());
    let nodes: Vec<(String, PoolNode)> = spec.nodes.iter().map(|(h, n)| (h.clone(), n.clone())).collect();
    reset(&spec, &nodes, &opts).await.1
}
