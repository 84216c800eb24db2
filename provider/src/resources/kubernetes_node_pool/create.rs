//! Joining nodes: each node's configuration is rendered from the cluster's secrets bundle and
//! versions, applied from maintenance mode, and the node is waited for until it answers mTLS
//! with the cluster's OS CA (workers serve their own Talos API, so each is reached directly).
//! All nodes join in parallel; a node that fails does not stop the others, and the state
//! records exactly the nodes that joined so that the next apply joins only the rest.

use super::read::{node_status, status_map};
use super::spec::{PoolNode, PoolSpec};
use crate::resources::kubernetes_cluster::create::{TALOS_PORT, talos_failure};
use crate::talos::client::{
    Backoff, Options, Probe, TalosClient, TalosError, retry, wait_for_configured, wait_until,
};
use crate::talos::version::ApplyMode;
use std::collections::BTreeMap;
use tfplugin::resource::{ApplyRequest, ApplyResponse};
use tfplugin::{Context, Diagnostic, Diagnostics, Value};

/// Joins one node from maintenance mode and returns the Talos version it runs configured.
async fn join_one(
    spec: &PoolSpec,
    hostname: &str,
    node: &PoolNode,
    opts: &Options,
) -> Result<String, Diagnostic> {
    let rendered = spec.render(hostname, node)?;
    for warning in &rendered.warnings {
        tracing::warn!(node = %node.address, %warning, "machine configuration");
    }
    let client = TalosClient::maintenance(node.address, TALOS_PORT)
        .map_err(|e| talos_failure(&format!("connecting to {}", node.address), &e))?;
    tracing::info!(node = %node.address, %hostname, pool = %spec.name, "applying the node configuration");
    retry(opts, &Backoff::POLL, |step| {
        let client = client.clone();
        let yaml = rendered.yaml.clone();
        async move { client.apply_configuration(&yaml, ApplyMode::Auto, false, &step).await }
    })
    .await
    .map_err(|e| {
        talos_failure(&format!("applying the configuration of {hostname} ({})", node.address), &e)
    })?;
    let (_, version) =
        wait_for_configured(node.address, TALOS_PORT, &spec.cluster.talos, opts).await.map_err(|e| {
            talos_failure(&format!("waiting for {hostname} ({}) to boot configured", node.address), &e)
        })?;
    tracing::info!(node = %node.address, %hostname, talos = %version.tag, "node joined");
    Ok(version.tag.trim_start_matches('v').to_string())
}

/// Waits until the node's kubelet service runs and is healthy. The Talos API answers while the
/// node still boots (services starting), so answering alone does not mean the node is up.
pub async fn wait_for_kubelet(client: &TalosClient, opts: &Options) -> Result<(), TalosError> {
    wait_until("wait for the kubelet", &client.target(), opts, &Backoff::POLL, |step| {
        let client = client.clone();
        async move {
            let services = client.service_list(&step).await?;
            Ok(match services.iter().find(|s| s.id == "kubelet") {
                Some(s) if s.state == "Running" && s.healthy != Some(false) => Probe::Ready(()),
                Some(s) => Probe::NotYet(format!("kubelet {}: {}", s.state, s.last_message)),
                None => Probe::NotYet("no kubelet service yet".into()),
            })
        }
    })
    .await
}

/// Joins `hostnames` of the pool in parallel. Returns the Talos version of each node that
/// joined, and the diagnostics of those that did not.
pub async fn join(
    spec: &PoolSpec,
    hostnames: &[String],
    opts: &Options,
) -> (BTreeMap<String, String>, Diagnostics) {
    let joins = hostnames
        .iter()
        .filter_map(|h| spec.nodes.get(h).map(|n| (h, n)))
        .map(|(h, n)| async move { (h.clone(), join_one(spec, h, n, opts).await) });
    let mut joined = BTreeMap::new();
    let mut diags = Diagnostics::new();
    for (hostname, result) in futures::future::join_all(joins).await {
        match result {
            Ok(version) => {
                joined.insert(hostname, version);
            }
            Err(d) => diags.push(d),
        }
    }
    (joined, diags)
}

/// The state of a pool whose nodes `present` run with the given Talos versions (`None`: not
/// answering): `nodes` keeps only those (so a node that did not join is planned again), and
/// `node_status` describes them.
pub fn pool_state(planned: &Value, spec: &PoolSpec, present: &BTreeMap<String, Option<String>>) -> Value {
    let mut state = planned.clone();
    let set = |state: &mut Value, k: &str, v: Value| {
        let _ = state.set_attr(k, v);
    };
    if let Some(Value::Map(nodes)) = planned.get_attr("nodes") {
        let kept =
            nodes.iter().filter(|(h, _)| present.contains_key(*h)).map(|(h, n)| (h.clone(), n.clone()));
        set(&mut state, "nodes", Value::map(kept));
    }
    set(&mut state, "id", Value::from(spec.id()));
    set(&mut state, "kubernetes_version", Value::from(spec.cluster.kubernetes_version.to_string()));
    set(&mut state, "talos_version", Value::from(spec.cluster.talos_version.to_string()));
    let status = spec
        .nodes
        .iter()
        .filter_map(|(h, n)| present.get(h).map(|v| (h.clone(), node_status(spec, n, v.as_ref()))));
    set(&mut state, "node_status", status_map(status));
    state
}

/// Creates the pool.
pub async fn create(ctx: &Context, req: ApplyRequest<'_>) -> ApplyResponse {
    let mut resp = ApplyResponse::default();
    let spec = match PoolSpec::from_value(req.planned) {
        Ok(s) => s,
        Err(d) => {
            resp.diags.push(d);
            return resp;
        }
    };
    let opts = Options::new(spec.timeouts.create, ctx.token());
    let hostnames: Vec<String> = spec.nodes.keys().cloned().collect();
    let (joined, diags) = join(&spec, &hostnames, &opts).await;
    resp.diags.extend(diags);
    // Record the nodes that joined even if others failed: nothing is orphaned, and the next
    // apply joins the rest (Terraform marks a failed create tainted).
    if !joined.is_empty() || !resp.diags.has_errors() {
        let present = joined.into_iter().map(|(h, v)| (h, Some(v))).collect();
        resp.state = Some(pool_state(req.planned, &spec, &present));
    }
    resp
}
