//! Refreshing a pool: every node is asked, in parallel, for its Talos version over mTLS with the
//! cluster's credentials. A node that answers in maintenance mode was reset out of band: it is
//! dropped from `nodes` and `node_status`, so the plan shows an update that joins it again. A
//! node that does not answer stays, with `ready = false`. Nothing else changes, so a refresh of
//! a healthy pool leaves the state byte for byte as it was.

use super::spec::{PoolNode, PoolSpec};
use crate::resources::kubernetes_cluster::create::TALOS_PORT;
use crate::talos::client::{Options, TalosClient, TalosCredentials, TalosError};
use std::collections::BTreeMap;
use std::time::Duration;
use tfplugin::resource::{ReadRequest, ReadResponse};
use tfplugin::{Context, Value};

/// What one node answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeHealth {
    /// Configured for this cluster, running this Talos version.
    Configured(String),
    /// Back in maintenance mode.
    Maintenance,
    /// Not answering (or answering for another cluster).
    Unreachable(String),
}

/// Asks one node how it runs.
pub async fn probe(node: &PoolNode, talos: &TalosCredentials, opts: &Options) -> NodeHealth {
    let client = match TalosClient::connect(node.address, TALOS_PORT, talos) {
        Ok(c) => c,
        Err(e) => return NodeHealth::Unreachable(e.to_string()),
    };
    match client.version(opts).await {
        Ok(v) => NodeHealth::Configured(v.tag.trim_start_matches('v').to_string()),
        // A reset node presents a new self-signed certificate: ask in maintenance mode.
        Err(e) => maintenance_or(node, opts, &e).await,
    }
}

async fn maintenance_or(node: &PoolNode, opts: &Options, first: &TalosError) -> NodeHealth {
    let Ok(client) = TalosClient::maintenance(node.address, TALOS_PORT) else {
        return NodeHealth::Unreachable(first.to_string());
    };
    match client.version(opts).await {
        Err(e) if e.is_maintenance_mode() => NodeHealth::Maintenance,
        _ => NodeHealth::Unreachable(first.to_string()),
    }
}

/// Probes every node of the pool in parallel.
pub async fn probe_all(spec: &PoolSpec, opts: &Options) -> BTreeMap<String, NodeHealth> {
    let probes =
        spec.nodes.iter().map(|(h, n)| async move { (h.clone(), probe(n, &spec.cluster.talos, opts).await) });
    futures::future::join_all(probes).await.into_iter().collect()
}

/// The `node_status` entry of a node; `talos_version` is `None` when it does not answer.
pub fn node_status(spec: &PoolSpec, node: &PoolNode, talos_version: Option<&String>) -> Value {
    Value::object([
        ("address", Value::from(node.address.to_string())),
        ("zone", Value::from(node.zone.clone())),
        ("talos_version", talos_version.map_or(Value::Null, |v| Value::from(v.clone()))),
        ("kubelet_version", Value::from(spec.cluster.kubernetes_version.to_string())),
        ("ready", Value::from(talos_version.is_some())),
    ])
}

/// The `node_status` map.
pub fn status_map(entries: impl IntoIterator<Item = (String, Value)>) -> Value {
    Value::map(entries)
}

/// The state after a probe: nodes back in maintenance mode are dropped.
pub fn refreshed(state: &Value, spec: &PoolSpec, health: &BTreeMap<String, NodeHealth>) -> Value {
    let mut state = state.clone();
    let gone = |h: &String| matches!(health.get(h), Some(NodeHealth::Maintenance));
    if let Some(Value::Map(nodes)) = state.get_attr("nodes") {
        let kept: Vec<(String, Value)> =
            nodes.iter().filter(|(h, _)| !gone(h)).map(|(h, n)| (h.clone(), n.clone())).collect();
        let _ = state.set_attr("nodes", Value::map(kept));
    }
    let status = spec.nodes.iter().filter(|(h, _)| !gone(h)).map(|(h, n)| {
        let version = match health.get(h) {
            Some(NodeHealth::Configured(v)) => Some(v),
            _ => None,
        };
        (h.clone(), node_status(spec, n, version))
    });
    let _ = state.set_attr("node_status", status_map(status));
    state
}

/// Refreshes the pool.
pub async fn read(ctx: &Context, req: ReadRequest<'_>) -> ReadResponse {
    let mut resp =
        ReadResponse { state: Some(req.state.clone()), private: req.private.to_vec(), ..Default::default() };
    let Ok(spec) = PoolSpec::from_value(req.state) else {
        // No usable cluster access recorded: nothing can be asked.
        return resp;
    };
    let opts = Options::new(Duration::from_secs(60), ctx.token());
    let health = probe_all(&spec, &opts).await;
    for (hostname, h) in &health {
        match h {
            NodeHealth::Maintenance => {
                tracing::info!(pool = %spec.name, %hostname, "node back in maintenance mode: it will be joined again");
            }
            NodeHealth::Unreachable(e) => {
                tracing::warn!(pool = %spec.name, %hostname, error = %e, "node not answering");
            }
            NodeHealth::Configured(_) => {}
        }
    }
    resp.state = Some(refreshed(req.state, &spec, &health));
    resp
}
