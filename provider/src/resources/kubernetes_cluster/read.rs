//! Refreshing a cluster: every control plane is asked, in parallel, for its Talos version, etcd
//! membership and whether it still runs configured (a node reset out of band answers in
//! maintenance mode). What is found becomes `nodes` and `status`; a Talos version changed out
//! of band shows in `talos_version`, so the plan shows the drift. A cluster whose control
//! planes are all back in maintenance mode no longer exists and is planned for creation.

use super::create::{CREATION_FAILED, TALOS_PORT};
use super::spec::{ClusterSpec, NodeSpec};
use crate::talos::Sensitive;
use crate::talos::client::{Options, TalosClient, TalosCredentials, TalosError};
use std::time::Duration;
use tfplugin::resource::{ReadRequest, ReadResponse};
use tfplugin::{Context, Value};

/// What one control plane answered.
#[derive(Debug)]
pub enum NodeHealth {
    /// Configured and answering.
    Configured {
        /// Running Talos version.
        talos_version: String,
        /// Whether etcd lists the node.
        etcd_member: bool,
    },
    /// Back in maintenance mode: reset out of band.
    Maintenance,
    /// Not answering.
    Unreachable(String),
}

/// Asks one control plane how it runs.
pub async fn probe(node: &NodeSpec, talos: &TalosCredentials, opts: &Options) -> NodeHealth {
    let client = match TalosClient::connect(node.address, TALOS_PORT, talos) {
        Ok(c) => c,
        Err(e) => return NodeHealth::Unreachable(e.to_string()),
    };
    match client.version(opts).await {
        Ok(v) => {
            let etcd_member = client
                .etcd_member_list(opts)
                .await
                .is_ok_and(|members| members.iter().any(|m| m.hostname == node.hostname));
            NodeHealth::Configured { talos_version: v.tag.trim_start_matches('v').to_string(), etcd_member }
        }
        // A reset node has a new self-signed certificate: mTLS fails; ask in maintenance mode.
        Err(e) => maintenance_or(node, opts, e).await,
    }
}

async fn maintenance_or(node: &NodeSpec, opts: &Options, first: TalosError) -> NodeHealth {
    let Ok(client) = TalosClient::maintenance(node.address, TALOS_PORT) else {
        return NodeHealth::Unreachable(first.to_string());
    };
    match client.version(opts).await {
        Err(e) if e.is_maintenance_mode() => NodeHealth::Maintenance,
        _ => NodeHealth::Unreachable(first.to_string()),
    }
}

fn node_value(node: &NodeSpec, health: &NodeHealth, kubernetes_version: &str) -> Value {
    let (talos, etcd, ready) = match health {
        NodeHealth::Configured { talos_version, etcd_member } => {
            (Value::from(talos_version.clone()), *etcd_member, *etcd_member)
        }
        NodeHealth::Maintenance | NodeHealth::Unreachable(_) => (Value::Null, false, false),
    };
    Value::object([
        ("address", Value::from(node.address.to_string())),
        ("hostname", Value::from(node.hostname.clone())),
        ("role", Value::from("controlplane")),
        ("zone", Value::from(node.zone.clone())),
        ("talos_version", talos),
        ("kubelet_version", Value::from(kubernetes_version)),
        ("etcd_member", Value::from(etcd)),
        ("ready", Value::from(ready)),
    ])
}

async fn probe_all(spec: &ClusterSpec, talos: &TalosCredentials, opts: &Options) -> Vec<NodeHealth> {
    futures::future::join_all(spec.control_planes.iter().map(|n| probe(n, talos, opts))).await
}

/// The live `nodes` list of a cluster.
pub async fn live_nodes(spec: &ClusterSpec, talos: &TalosCredentials, opts: &Options) -> Value {
    let health = probe_all(spec, talos, opts).await;
    let k8s = spec.kubernetes_version.to_string();
    Value::List(spec.control_planes.iter().zip(&health).map(|(n, h)| node_value(n, h, &k8s)).collect())
}

/// The Talos credentials recorded in a state's `access`.
pub fn credentials_from_state(state: &Value) -> Option<TalosCredentials> {
    let access = state.get_attr("access")?;
    let field = |k: &str| access.get_attr(k).and_then(Value::as_str).map(str::to_string);
    Some(TalosCredentials {
        ca_pem: field("talos_ca_certificate")?,
        cert_pem: field("talos_client_certificate")?,
        key_pem: Sensitive::new(field("talos_client_key")?),
    })
}

/// Refreshes the cluster.
pub async fn read(ctx: &Context, req: ReadRequest<'_>) -> ReadResponse {
    let mut resp =
        ReadResponse { state: Some(req.state.clone()), private: req.private.to_vec(), ..Default::default() };
    let (Ok(spec), Some(talos)) = (ClusterSpec::from_value(req.state), credentials_from_state(req.state))
    else {
        // A creation that failed before any credential existed: nothing to ask.
        return resp;
    };
    let opts = Options::new(Duration::from_secs(60), ctx.token());
    let health = probe_all(&spec, &talos, &opts).await;
    if health.iter().all(|h| matches!(h, NodeHealth::Maintenance)) {
        tracing::info!(cluster = %spec.name, "every control plane is back in maintenance mode: the cluster is gone");
        resp.state = None;
        return resp;
    }
    let k8s = spec.kubernetes_version.to_string();
    let nodes: Vec<Value> =
        spec.control_planes.iter().zip(&health).map(|(n, h)| node_value(n, h, &k8s)).collect();
    let mut problems = Vec::new();
    let mut versions = Vec::new();
    for (node, h) in spec.control_planes.iter().zip(&health) {
        match h {
            NodeHealth::Configured { talos_version, etcd_member } => {
                versions.push(talos_version.clone());
                if !etcd_member {
                    problems.push(format!("{} is not an etcd member", node.hostname));
                }
            }
            NodeHealth::Maintenance => {
                problems.push(format!("{} was reset to maintenance mode", node.hostname));
            }
            NodeHealth::Unreachable(e) => {
                tracing::warn!(node = %node.address, error = %e, "control plane not answering");
                problems.push(format!("{} is not answering", node.hostname));
            }
        }
    }
    let mut state = req.state.clone();
    // Every answering node on one version that is not the recorded one: changed out of band.
    if let Some(first) = versions.first()
        && versions.iter().all(|v| v == first)
        && Some(first.as_str()) != state.get_attr("talos_version").and_then(Value::as_str)
    {
        tracing::info!(cluster = %spec.name, live = %first, "Talos version changed outside Terraform");
        let _ = state.set_attr("talos_version", Value::from(first.clone()));
    }
    let creation_failed = state.get_attr("status").and_then(Value::as_str) == Some(CREATION_FAILED);
    let status = if creation_failed {
        // Sticky until replaced: delete relies on it to know etcd may never have formed.
        CREATION_FAILED.to_string()
    } else if problems.is_empty() {
        "ready".to_string()
    } else {
        format!("degraded: {}", problems.join("; "))
    };
    let _ = state.set_attr("nodes", Value::List(nodes));
    let _ = state.set_attr("status", Value::from(status));
    resp.state = Some(state);
    resp
}
