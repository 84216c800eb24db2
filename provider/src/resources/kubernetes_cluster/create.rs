//! Creating a cluster: generate the secrets bundle, render every control plane's configuration,
//! apply them all in parallel from maintenance mode, wait for the nodes to come back configured,
//! bootstrap etcd exactly once (on the first control plane; `AlreadyExists` means done), wait
//! for every etcd member, then derive the client configurations.
//!
//! Creation does not wait for Kubernetes nodes to be Ready: with the CNI installed as an add-on
//! (Cilium), nodes are NotReady until it is, and a create that waited for them would never end
//! (the Talos provider's most reported hang). The add-ons wait for readiness themselves. Progress is logged at info level so `TF_LOG=info` shows where it is.

use super::read::live_nodes;
use super::spec::{ClusterSpec, NodeSpec};
use crate::talos::client::{
    Options, TalosClient, TalosCredentials, TalosError, wait_for_configured, wait_for_etcd_healthy,
};
use crate::talos::kubeconfig::{self, KubeCredentials, KubeconfigInput};
use crate::talos::machine_config::render;
use crate::talos::pki::CaKind;
use crate::talos::talosconfig::{self, TalosconfigInput};
use crate::talos::version::ApplyMode;
use crate::talos::{SecretsBundle, Sensitive};
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;
use tfplugin::resource::{ApplyRequest, ApplyResponse};
use tfplugin::{Context, Diagnostic, Diagnostics, Value};

/// Port of the Talos API.
pub const TALOS_PORT: u16 = 50000;
/// Lifetime of the admin client certificates in kubeconfig and talosconfig.
pub const CLIENT_CERT_VALIDITY: time::Duration = time::Duration::days(365);

/// Turns a Talos error into a diagnostic that says which step failed on which node.
pub fn talos_failure(step: &str, e: &TalosError) -> Diagnostic {
    let hint = if e.is_cancelled() {
        "Terraform asked to stop; the cluster is recorded as far as it got."
    } else if e.is_timeout() {
        "The operation ran out of time; raise the matching `timeouts` value if the nodes are slow."
    } else {
        "Check that the node is reachable on port 50000 and in the expected state."
    };
    Diagnostic::error(format!("Error while {step}"), format!("{e}. {hint}"))
}

/// Everything derived once at creation and kept byte for byte afterwards (the bundle and
/// client configurations print redacted).
#[derive(Debug)]
pub struct Credentials {
    /// Talos secrets bundle.
    pub bundle: SecretsBundle,
    /// Admin talosconfig.
    pub talosconfig: talosconfig::Talosconfig,
    /// Admin kubeconfig.
    pub kubeconfig: Sensitive,
}

/// Generates the client configurations of a cluster.
pub fn client_configs(spec: &ClusterSpec, bundle: SecretsBundle) -> Result<Credentials, Diagnostic> {
    let now = time::OffsetDateTime::now_utc();
    let endpoints: Vec<String> = spec.control_planes.iter().map(|n| n.address.to_string()).collect();
    let talosconfig = talosconfig::generate(
        &bundle,
        &TalosconfigInput {
            cluster_name: &spec.name,
            endpoints: &endpoints,
            nodes: &endpoints[..1],
            roles: &["os:admin"],
            not_before: now,
            validity: CLIENT_CERT_VALIDITY,
        },
    )
    .map_err(|e| Diagnostic::error("Error generating the talosconfig", e.to_string()))?;
    let url = spec.api_url();
    let kubeconfig = kubeconfig::generate(
        &bundle,
        &KubeconfigInput {
            cluster_name: &spec.name,
            server: &url,
            not_before: now,
            validity: CLIENT_CERT_VALIDITY,
        },
        None,
    )
    .map_err(|e| Diagnostic::error("Error generating the kubeconfig", e.to_string()))?;
    Ok(Credentials { bundle, talosconfig, kubeconfig })
}

/// The Talos credentials of a talosconfig.
pub fn talos_credentials(creds: &Credentials) -> TalosCredentials {
    TalosCredentials {
        ca_pem: creds.bundle.ca(CaKind::Os).cert_pem().to_string(),
        cert_pem: creds.talosconfig.client_cert_pem.clone(),
        key_pem: creds.talosconfig.client_key_pem.clone(),
    }
}

/// The `access` object.
pub fn access(spec: &ClusterSpec, creds: &Credentials) -> Result<Value, Diagnostic> {
    let kube = kubeconfig::parse(creds.kubeconfig.expose())
        .map_err(|e| Diagnostic::error("Error reading the kubeconfig", e.to_string()))?;
    let (cert, key) = match kube.credentials {
        KubeCredentials::ClientCertificate { cert_pem, key_pem } => (cert_pem, key_pem.expose().to_string()),
        KubeCredentials::Token { .. } => {
            return Err(Diagnostic::error(
                "Unexpected kubeconfig",
                "The admin kubeconfig has no client certificate.",
            ));
        }
    };
    Ok(Value::object([
        ("cluster_id", Value::from(spec.name.clone())),
        ("cluster_name", Value::from(spec.name.clone())),
        ("topology", Value::from(spec.topology.clone())),
        ("api_url", Value::from(spec.api_url())),
        ("ca_certificate", Value::from(creds.bundle.ca(CaKind::Kubernetes).cert_pem())),
        ("client_certificate", Value::from(cert)),
        ("client_key", Value::from(key)),
        (
            "talos_endpoints",
            Value::List(spec.control_planes.iter().map(|n| Value::from(n.address.to_string())).collect()),
        ),
        ("talos_ca_certificate", Value::from(creds.bundle.ca(CaKind::Os).cert_pem())),
        ("talos_client_certificate", Value::from(creds.talosconfig.client_cert_pem.clone())),
        ("talos_client_key", Value::from(creds.talosconfig.client_key_pem.expose())),
        ("kubernetes_version", Value::from(spec.kubernetes_version.to_string())),
        ("talos_version", Value::from(spec.talos_version.to_string())),
        ("secrets", Value::from(creds.bundle.to_yaml().expose())),
        ("pod_cidr", Value::from(spec.network.pod_cidrs.first().cloned().unwrap_or_default())),
        ("service_cidr", Value::from(spec.network.service_cidrs.first().cloned().unwrap_or_default())),
        ("dns_domain", Value::from(spec.network.dns_domain.clone())),
    ]))
}

/// Fills the computed attributes of `planned` for a created cluster.
pub fn created_state(
    planned: &Value,
    spec: &ClusterSpec,
    creds: &Credentials,
    nodes: Value,
) -> Result<Value, Diagnostic> {
    let mut state = planned.clone();
    let set = |state: &mut Value, k: &str, v: Value| {
        let _ = state.set_attr(k, v);
    };
    set(&mut state, "id", Value::from(spec.name.clone()));
    set(&mut state, "api_url", Value::from(spec.api_url()));
    set(&mut state, "ca_certificate", Value::from(creds.bundle.ca(CaKind::Kubernetes).cert_pem()));
    set(&mut state, "kubeconfig", Value::from(creds.kubeconfig.expose()));
    set(&mut state, "talosconfig", Value::from(creds.talosconfig.yaml.expose()));
    set(&mut state, "access", access(spec, creds)?);
    set(&mut state, "nodes", nodes);
    set(&mut state, "status", Value::from("ready"));
    Ok(state)
}

/// The machine configuration of one control plane of `spec`.
pub fn control_plane_config(
    spec: &ClusterSpec,
    node: &NodeSpec,
    bundle: &SecretsBundle,
) -> Result<Sensitive, Diagnostic> {
    let url = spec.api_url();
    let labels = BTreeMap::new();
    render(&spec.cluster_input(&url), &ClusterSpec::node_input(node, &labels), bundle, &spec.config_patches)
        .map(|r| r.yaml)
        .map_err(|e| Diagnostic::error("Invalid machine configuration", format!("{}: {e}", node.hostname)))
}

/// Applies `yaml` to a node in maintenance mode (its certificate trusted on first use),
/// retrying transient errors within `opts`.
///
/// # Errors
/// The last Talos error once `opts` runs out, or a permanent one at once.
pub async fn apply_in_maintenance(
    address: IpAddr,
    yaml: &Sensitive,
    opts: &Options,
) -> Result<(), TalosError> {
    let client = TalosClient::maintenance(address, TALOS_PORT)?;
    crate::talos::client::retry(opts, &crate::talos::client::Backoff::POLL, |step| {
        let client = client.clone();
        let yaml = yaml.clone();
        async move { client.apply_configuration(&yaml, ApplyMode::Auto, false, &step).await }
    })
    .await
    .map(|_| ())
}

async fn apply_one(
    spec: &ClusterSpec,
    node_index: usize,
    bundle: &SecretsBundle,
    opts: &Options,
) -> Result<(), Diagnostic> {
    let node = &spec.control_planes[node_index];
    let yaml = control_plane_config(spec, node, bundle)?;
    tracing::info!(node = %node.address, hostname = %node.hostname, "applying the control plane configuration");
    apply_in_maintenance(node.address, &yaml, opts)
        .await
        .map_err(|e| talos_failure(&format!("applying the configuration of {}", node.address), &e))
}

/// Creates the cluster.
pub async fn create(ctx: &Context, req: ApplyRequest<'_>) -> ApplyResponse {
    let mut resp = ApplyResponse::default();
    let spec = match ClusterSpec::from_value(req.planned) {
        Ok(s) => s,
        Err(d) => {
            resp.diags.push(d);
            return resp;
        }
    };
    let opts = Options::new(spec.timeouts.create, ctx.token());
    let bundle = match SecretsBundle::generate(time::OffsetDateTime::now_utc()) {
        Ok(b) => b,
        Err(e) => {
            resp.diags.error("Error generating the cluster secrets", e.to_string());
            return resp;
        }
    };

    // Credentials first: once a node is configured, the state must be able to reach it.
    let creds = match client_configs(&spec, bundle) {
        Ok(c) => c,
        Err(d) => {
            resp.diags.push(d);
            return resp;
        }
    };

    // Every control plane at once: they are independent until bootstrap.
    let applies = (0..spec.control_planes.len()).map(|i| apply_one(&spec, i, &creds.bundle, &opts));
    let results = futures::future::join_all(applies).await;
    let failures: Diagnostics = results.into_iter().filter_map(Result::err).collect();
    if failures.has_errors() {
        // Other nodes may already run with this bundle, and a failed call may still have
        // reached its node: record the cluster (Terraform marks it tainted) so no node is
        // orphaned; its replacement resets the configured nodes before creating anew.
        resp.diags.extend(failures);
        resp.state = failed_state(req.planned, &spec, &creds);
        return resp;
    }
    let talos = talos_credentials(&creds);
    if let Err(d) = bring_up(&spec, &talos, &opts).await {
        // The nodes are configured with this bundle: record the cluster (Terraform marks it
        // tainted) so that nothing is orphaned; destroying it resets the nodes.
        resp.diags.push(d);
        resp.state = failed_state(req.planned, &spec, &creds);
        return resp;
    }
    let nodes = live_nodes(&spec, &talos, &Options::new(Duration::from_secs(60), ctx.token())).await;
    match created_state(req.planned, &spec, &creds, nodes) {
        Ok(state) => resp.state = Some(state),
        Err(d) => resp.diags.push(d),
    }
    resp
}

/// Status recorded for a cluster whose creation stopped part way.
pub const CREATION_FAILED: &str = "creation failed";

/// The state of a cluster whose creation stopped part way: complete credentials (so destroy
/// can reach and reset every configured node) and no live nodes.
fn failed_state(planned: &Value, spec: &ClusterSpec, creds: &Credentials) -> Option<Value> {
    let mut state = created_state(planned, spec, creds, Value::List(Vec::new())).ok()?;
    let _ = state.set_attr("status", Value::from(CREATION_FAILED));
    Some(state)
}

/// After the configurations are applied: wait for the nodes, bootstrap, wait for health.
async fn bring_up(spec: &ClusterSpec, talos: &TalosCredentials, opts: &Options) -> Result<(), Diagnostic> {
    let waits = spec.control_planes.iter().map(|n| wait_for_configured(n.address, TALOS_PORT, talos, opts));
    let mut first = None;
    for (node, result) in spec.control_planes.iter().zip(futures::future::join_all(waits).await) {
        let (client, version) = result
            .map_err(|e| talos_failure(&format!("waiting for {} to boot configured", node.address), &e))?;
        tracing::info!(node = %node.address, talos = %version.tag, "control plane configured");
        first.get_or_insert(client);
    }
    let Some(client) = first else { return Ok(()) };
    tracing::info!(node = %spec.control_planes[0].address, "bootstrapping etcd");
    crate::talos::client::retry(opts, &crate::talos::client::Backoff::POLL, |step| {
        let client = client.clone();
        async move { client.bootstrap(&step).await }
    })
    .await
    .map_err(|e| talos_failure("bootstrapping etcd", &e))?;
    wait_for_etcd_healthy(&client, spec.control_planes.len(), opts)
        .await
        .map_err(|e| talos_failure("waiting for etcd members", &e))?;
    tracing::info!(cluster = %spec.name, "cluster ready");
    Ok(())
}
