//! Destroying a cluster: with `on_destroy = "reset"`, every control plane is reset gracefully
//! (leaving etcd first; the last member cannot leave, so it is reset outright), last one first
//! so quorum is kept as long as possible, and the
//! provider waits until each answers in maintenance mode again, ready for a new cluster. With
//! `keep` the nodes are left running and only forgotten. A node that cannot be reset fails the
//! destroy and the cluster stays in state, so nothing is lost track of.

use super::create::{CREATION_FAILED, TALOS_PORT, talos_failure};
use super::read::credentials_from_state;
use super::spec::ClusterSpec;
use crate::talos::client::{Options, TalosClient, WipeMode, wait_for_maintenance};
use tfplugin::resource::DeleteRequest;
use tfplugin::{Context, Diagnostics, Value};

/// Destroys the cluster.
pub async fn delete(ctx: &Context, req: DeleteRequest<'_>) -> Diagnostics {
    let mut diags = Diagnostics::new();
    let spec = match ClusterSpec::from_value(req.prior) {
        Ok(s) => s,
        Err(d) => {
            diags.push(d);
            return diags;
        }
    };
    if spec.on_destroy == "keep" {
        tracing::info!(cluster = %spec.name, "on_destroy = keep: leaving the nodes running");
        return diags;
    }
    let Some(talos) = credentials_from_state(req.prior) else {
        // Created no further than the secrets: the nodes never left maintenance mode.
        return diags;
    };
    let opts = Options::new(spec.timeouts.delete, ctx.token());
    let creation_failed = req.prior.get_attr("status").and_then(Value::as_str) == Some(CREATION_FAILED);
    for (i, node) in spec.control_planes.iter().enumerate().rev() {
        let client = match TalosClient::connect(node.address, TALOS_PORT, &talos) {
            Ok(c) => c,
            Err(e) => {
                diags.push(talos_failure(&format!("connecting to {}", node.address), &e));
                continue;
            }
        };
        match client.version(&opts).await {
            Ok(_) => {
                // A graceful reset leaves etcd first: only possible for a member of an etcd
                // with other members. The last member cannot leave (Talos refuses and does not
                // reset), nor can a node whose creation stopped before etcd formed.
                let graceful = i > 0 && !creation_failed && etcd_peers(&client, &opts).await > 1;
                tracing::info!(node = %node.address, graceful, "resetting the node to maintenance mode");
                if let Err(e) = client.reset(graceful, true, WipeMode::All, &opts).await {
                    diags.push(talos_failure(&format!("resetting {}", node.address), &e));
                }
            }
            // Already reset (out of band, or by an earlier destroy attempt).
            Err(_)
                if wait_for_maintenance(
                    node.address,
                    TALOS_PORT,
                    &opts.step(std::time::Duration::from_secs(5)),
                )
                .await
                .is_ok() => {}
            Err(e) => diags.push(talos_failure(&format!("reaching {}", node.address), &e)),
        }
    }
    if diags.has_errors() {
        return diags;
    }
    let waits = spec.control_planes.iter().map(|n| wait_for_maintenance(n.address, TALOS_PORT, &opts));
    for (node, result) in spec.control_planes.iter().zip(futures::future::join_all(waits).await) {
        if let Err(e) = result {
            diags.push(talos_failure(
                &format!("waiting for {} to return to maintenance mode", node.address),
                &e,
            ));
        }
    }
    diags
}

/// How many etcd members the node sees (0 when it runs no etcd or does not answer).
async fn etcd_peers(client: &TalosClient, opts: &Options) -> usize {
    client.etcd_member_list(&opts.step(std::time::Duration::from_secs(10))).await.map_or(0, |m| m.len())
}
