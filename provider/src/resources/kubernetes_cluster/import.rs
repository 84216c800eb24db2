//! Importing a running cluster from its Talos secrets bundle.
//!
//! The import ID is `<control plane address>,<node_cidr>,<path to secrets.yaml>[,key=value...]`.
//! From the secrets bundle the provider signs a fresh `os:admin` client certificate, asks the
//! given control plane for its Talos version, the etcd members (every control plane's hostname
//! and address) and an admin kubeconfig (the cluster name and the API endpoint), and derives
//! fresh `kubeconfig`, `talosconfig` and `access` (they differ from those of the state that
//! created the cluster, then stay byte-stable).
//!
//! What no node can tell comes from the ID or from the product's defaults, so that
//! `terraform plan` with the configuration that created the cluster is empty:
//! - `node_cidr` is required in the ID: a guessed network would plan a replacement;
//! - `topology=` defaults to `dev` for 1 control plane and `production` for 3;
//! - `zones=` (control planes ordered by hostname, `;`-separated) defaults to AZ05, AZ06, AZ07
//!   in order for production and AZ05 for dev;
//! - `pod_cidr=`, `service_cidr=`, `dns_domain=` default as at creation;
//! - `kubernetes_version=` defaults to the provider's default version;
//! - `name=` overrides the name found in the kubeconfig.
//!
//! `config_patches`, `upgrade`, `on_destroy` and `timeouts` come back as their defaults
//! (none, drain with default reboots, `reset`, none): a configuration that sets others shows
//! them in the plan after import.

use super::create::{CLIENT_CERT_VALIDITY, TALOS_PORT, client_configs, created_state, talos_credentials};
use super::plan::{DEFAULT_ON_DESTROY, DEFAULT_POD_CIDR, DEFAULT_SERVICE_CIDR, api_url};
use super::read::live_nodes;
use super::spec::ClusterSpec;
use super::{ZONES, create::talos_failure};
use crate::catalog::Catalog;
use crate::cidr::Cidr;
use crate::talos::client::{EtcdMember, Options, TalosClient, TalosCredentials};
use crate::talos::pki::CaKind;
use crate::talos::talosconfig::{self, ADMIN_ROLE, TalosconfigInput};
use crate::talos::{SecretsBundle, Sensitive};
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;
use tfplugin::resource::Imported;
use tfplugin::{Context, Diagnostic, Diagnostics, Value};

/// The documented form of the import ID.
pub const ID_FORMAT: &str = "<control plane address>,<node_cidr>,<path to secrets.yaml>[,key=value...] with keys \
     name, topology, zones (`;`-separated, control planes ordered by hostname), pod_cidr, service_cidr, dns_domain \
     and kubernetes_version";

/// Keys the ID may add.
const KEYS: [&str; 7] =
    ["name", "topology", "zones", "pod_cidr", "service_cidr", "dns_domain", "kubernetes_version"];

/// A parsed import ID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportId {
    /// The control plane to ask.
    pub control_plane: IpAddr,
    /// The cluster's node network.
    pub node_cidr: String,
    /// Where the secrets bundle is.
    pub secrets_path: PathBuf,
    /// The optional `key=value` parts.
    pub options: BTreeMap<String, String>,
}

fn bad_id(id: &str, why: impl std::fmt::Display) -> Diagnostic {
    Diagnostic::error("Invalid import ID", format!("{id:?}: {why}. The import ID is {ID_FORMAT}."))
}

/// Parses an import ID.
pub fn parse_id(id: &str) -> Result<ImportId, Diagnostic> {
    let parts: Vec<&str> = id.split(',').map(str::trim).collect();
    let [address, node_cidr, path, rest @ ..] = parts.as_slice() else {
        return Err(bad_id(id, "expected at least three comma-separated parts"));
    };
    let control_plane =
        address.parse().map_err(|_| bad_id(id, format!("{address:?} is not an IP address")))?;
    Cidr::parse(node_cidr).map_err(|e| bad_id(id, format!("node_cidr {node_cidr:?}: {e}")))?;
    if path.is_empty() {
        return Err(bad_id(id, "the secrets.yaml path is empty"));
    }
    let mut options = BTreeMap::new();
    for part in rest {
        let Some((key, value)) = part.split_once('=') else {
            return Err(bad_id(id, format!("{part:?} is not key=value")));
        };
        let key = key.trim();
        if !KEYS.contains(&key) {
            return Err(bad_id(id, format!("unknown key {key:?}")));
        }
        options.insert(key.to_string(), value.trim().to_string());
    }
    Ok(ImportId {
        control_plane,
        node_cidr: (*node_cidr).to_string(),
        secrets_path: PathBuf::from(path),
        options,
    })
}

/// The address in an etcd peer URL or API server URL (`https://10.0.0.1:2380`,
/// `https://[fd00::1]:6443`).
pub fn peer_address(url: &str) -> Option<IpAddr> {
    let host_port = url.split("://").nth(1).unwrap_or(url);
    let host_port = host_port.split('/').next()?;
    if let Some(v6) = host_port.strip_prefix('[') {
        return v6.split(']').next()?.parse().ok();
    }
    host_port.split(':').next()?.parse().ok()
}

/// The first address among a member's peer URLs.
pub fn member_address(member: &EtcdMember) -> Option<IpAddr> {
    member.peer_urls.iter().find_map(|u| peer_address(u))
}

/// Cluster name and API server URL of a kubeconfig.
fn kubeconfig_cluster(yaml: &str) -> Option<(String, String)> {
    let doc: serde_norway::Value = serde_norway::from_str(yaml).ok()?;
    let cluster = doc.get("clusters")?.get(0)?;
    let name = cluster.get("name")?.as_str()?.to_string();
    let server = cluster.get("cluster")?.get("server")?.as_str()?.to_string();
    Some((name, server))
}

/// Talos credentials signed now from the bundle, to reach the nodes.
fn signing_credentials(bundle: &SecretsBundle, node: IpAddr) -> Result<TalosCredentials, Diagnostic> {
    let endpoints = [node.to_string()];
    let config = talosconfig::generate(
        bundle,
        &TalosconfigInput {
            cluster_name: "import",
            endpoints: &endpoints,
            nodes: &endpoints,
            roles: &[ADMIN_ROLE],
            not_before: time::OffsetDateTime::now_utc(),
            validity: CLIENT_CERT_VALIDITY,
        },
    )
    .map_err(|e| Diagnostic::error("Error signing a Talos client certificate", e.to_string()))?;
    Ok(TalosCredentials {
        ca_pem: bundle.ca(CaKind::Os).cert_pem().to_string(),
        cert_pem: config.client_cert_pem,
        key_pem: config.client_key_pem,
    })
}

/// What the control plane reported.
struct Live {
    talos_version: String,
    members: Vec<(String, IpAddr)>,
    name: String,
    endpoint: IpAddr,
}

async fn ask(node: IpAddr, talos: &TalosCredentials, opts: &Options) -> Result<Live, Diagnostic> {
    let client = TalosClient::connect(node, TALOS_PORT, talos)
        .map_err(|e| talos_failure(&format!("connecting to {node}"), &e))?;
    let version = client
        .version(opts)
        .await
        .map_err(|e| talos_failure(&format!("reading the version of {node}"), &e))?;
    let members = client
        .etcd_member_list(opts)
        .await
        .map_err(|e| talos_failure(&format!("listing the etcd members from {node}"), &e))?;
    let mut found = Vec::new();
    for m in &members {
        let address = member_address(m).ok_or_else(|| {
            Diagnostic::error(
                "Cannot import the cluster",
                format!("etcd member {:?} has no peer URL with an IP address.", m.hostname),
            )
        })?;
        found.push((m.hostname.clone(), address));
    }
    found.sort();
    let kubeconfig: Sensitive = client
        .kubeconfig(opts)
        .await
        .map_err(|e| talos_failure(&format!("reading the kubeconfig from {node}"), &e))?;
    let (name, server) = kubeconfig_cluster(kubeconfig.expose()).ok_or_else(|| {
        Diagnostic::error("Cannot import the cluster", "The node's kubeconfig names no cluster and server.")
    })?;
    let endpoint = peer_address(&server).ok_or_else(|| {
        Diagnostic::error(
            "Cannot import the cluster",
            format!("The API server {server:?} is not an IP address."),
        )
    })?;
    Ok(Live {
        talos_version: version.tag.trim_start_matches('v').to_string(),
        members: found,
        name,
        endpoint,
    })
}

/// The resource state of the cluster, before the refresh that follows an import.
fn state(id: &ImportId, live: &Live) -> Result<Value, Diagnostic> {
    let opt = |k: &str| id.options.get(k).cloned();
    let name = opt("name").unwrap_or_else(|| live.name.clone());
    let count = live.members.len();
    let topology =
        opt("topology").unwrap_or_else(|| if count == 1 { "dev" } else { "production" }.to_string());
    let zones: Vec<String> = match opt("zones") {
        Some(z) => z.split(';').map(|s| s.trim().to_string()).collect(),
        None if count == ZONES.len() => ZONES.iter().map(|z| (*z).to_string()).collect(),
        None => vec![ZONES[0].to_string(); count],
    };
    if zones.len() != count {
        return Err(Diagnostic::error(
            "Invalid import ID",
            format!("zones lists {} zones for {count} control planes.", zones.len()),
        ));
    }
    let control_plane = live
        .members
        .iter()
        .zip(&zones)
        .map(|((hostname, address), zone)| {
            Value::object([
                ("address", Value::from(address.to_string())),
                ("zone", Value::from(zone.clone())),
                ("hostname", Value::from(hostname.clone())),
            ])
        })
        .collect();
    let kubernetes_version =
        opt("kubernetes_version").unwrap_or_else(|| Catalog::embedded().default_kubernetes().to_string());
    let endpoint = live.endpoint.to_string();
    Ok(Value::object([
        ("id", Value::from(name.clone())),
        ("name", Value::from(name.clone())),
        ("topology", Value::from(topology)),
        ("endpoint", Value::from(endpoint.clone())),
        ("kubernetes_version", Value::from(kubernetes_version)),
        ("talos_version", Value::from(live.talos_version.clone())),
        (
            "network",
            Value::object([
                ("node_cidr", Value::from(id.node_cidr.clone())),
                ("pod_cidr", Value::from(opt("pod_cidr").unwrap_or_else(|| DEFAULT_POD_CIDR.into()))),
                (
                    "service_cidr",
                    Value::from(opt("service_cidr").unwrap_or_else(|| DEFAULT_SERVICE_CIDR.into())),
                ),
                (
                    "dns_domain",
                    Value::from(opt("dns_domain").unwrap_or_else(|| format!("{name}-cluster.local"))),
                ),
            ]),
        ),
        ("control_plane", Value::List(control_plane)),
        ("config_patches", Value::Null),
        ("upgrade", Value::object([("drain", Value::from(true)), ("reboot_mode", Value::from("default"))])),
        ("on_destroy", Value::from(DEFAULT_ON_DESTROY)),
        ("api_url", Value::from(api_url(&endpoint))),
        ("ca_certificate", Value::Null),
        ("kubeconfig", Value::Null),
        ("talosconfig", Value::Null),
        ("access", Value::Null),
        ("nodes", Value::Null),
        ("status", Value::Null),
        ("timeouts", Value::Null),
    ]))
}

/// Imports the cluster named by `id`.
pub async fn import(ctx: &Context, id: &str) -> Result<Vec<Imported>, Diagnostics> {
    let parsed = parse_id(id)?;
    let text = std::fs::read_to_string(&parsed.secrets_path).map_err(|e| {
        Diagnostic::error(
            "Cannot read the secrets bundle",
            format!("{}: {e}. The import ID is {ID_FORMAT}.", parsed.secrets_path.display()),
        )
    })?;
    let bundle = SecretsBundle::from_yaml(&text).map_err(|e| {
        Diagnostic::error("Invalid secrets bundle", format!("{}: {e}", parsed.secrets_path.display()))
    })?;
    let opts = Options::new(Duration::from_secs(120), ctx.token());
    let talos = signing_credentials(&bundle, parsed.control_plane)?;
    let live = ask(parsed.control_plane, &talos, &opts).await?;
    if !live.members.iter().any(|(_, a)| *a == parsed.control_plane) {
        return Err(Diagnostic::error(
            "Cannot import the cluster",
            format!("{} is not an etcd member of the cluster it answers for.", parsed.control_plane),
        )
        .into());
    }
    let mut state = state(&parsed, &live)?;
    let spec = ClusterSpec::from_value(&state)?;
    let creds = client_configs(&spec, bundle)?;
    let nodes = live_nodes(&spec, &talos_credentials(&creds), &opts).await;
    state = created_state(&state, &spec, &creds, nodes)?;
    Ok(vec![Imported { state, private: Vec::new() }])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_id() {
        let id = parse_id("10.20.0.21,10.20.0.0/22,./secrets.yaml,topology=production,zones=AZ05;AZ06;AZ07")
            .expect("valid");
        assert_eq!(id.control_plane, "10.20.0.21".parse::<IpAddr>().unwrap());
        assert_eq!(id.node_cidr, "10.20.0.0/22");
        assert_eq!(id.secrets_path, PathBuf::from("./secrets.yaml"));
        assert_eq!(id.options.get("zones").map(String::as_str), Some("AZ05;AZ06;AZ07"));
    }

    #[test]
    fn rejects_bad_ids() {
        for bad in [
            "10.20.0.21,./secrets.yaml",
            "cp1,10.20.0.0/22,./secrets.yaml",
            "10.20.0.21,10.20.0.0/99,./secrets.yaml",
            "10.20.0.21,10.20.0.0/22,",
            "10.20.0.21,10.20.0.0/22,s.yaml,colour=blue",
            "10.20.0.21,10.20.0.0/22,s.yaml,topology",
        ] {
            assert!(parse_id(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn reads_peer_urls() {
        assert_eq!(peer_address("https://10.0.0.1:2380"), Some("10.0.0.1".parse().unwrap()));
        assert_eq!(peer_address("https://[fd00::1]:2380"), Some("fd00::1".parse().unwrap()));
        assert_eq!(peer_address("https://node:2380"), None);
    }

    #[test]
    fn reads_the_kubeconfig_cluster() {
        let yaml = "clusters:\n- name: ctdev1\n  cluster:\n    server: https://10.0.0.20:6443\n";
        assert_eq!(
            kubeconfig_cluster(yaml),
            Some(("ctdev1".to_string(), "https://10.0.0.20:6443".to_string()))
        );
    }

    #[test]
    fn defaults_zones_and_topology_by_control_plane_count() {
        let id = parse_id("10.0.0.1,10.0.0.0/24,s.yaml").unwrap();
        let live = Live {
            talos_version: "1.14.1".into(),
            members: (1..=3).map(|i| (format!("c-cp-{i}"), IpAddr::from([10, 0, 0, i]))).collect(),
            name: "c".into(),
            endpoint: IpAddr::from([10, 0, 0, 20]),
        };
        let s = state(&id, &live).unwrap();
        assert_eq!(s.get_attr("topology").and_then(Value::as_str), Some("production"));
        let cps = s.get_attr("control_plane").and_then(Value::as_list).unwrap();
        let zones: Vec<_> = cps.iter().filter_map(|c| c.get_attr("zone").and_then(Value::as_str)).collect();
        assert_eq!(zones, ZONES);
        let bad = parse_id("10.0.0.1,10.0.0.0/24,s.yaml,zones=AZ05").unwrap();
        assert!(state(&bad, &live).is_err());
    }
}
